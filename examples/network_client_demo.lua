-- Connections on loopback only: a listener this script opens itself, and a
-- client that connects to it. Run: vivarium observe network_client_demo.lua
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local posix = require "demo_support"


local function start_server()
  return posix.listen_loopback()
end


local function connect_client(port)
  local fd = posix.connect_loopback(port)
  posix.close(fd)
end


local server, port = start_server()
connect_client(port)
posix.close(server)
