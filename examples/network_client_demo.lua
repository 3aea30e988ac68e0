-- Network activity on loopback only: a TCP connection to a listener this
-- script opens, DNS queries to 127.0.0.1:53 (sent, connected and not), and
-- sockets of unusual kinds. Run: vivarium observe network_client_demo.lua
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local demo = require "demo_support"


local function connect_client(port)
  local fd = demo.connect_loopback(port)
  demo.close(fd)
end


-- A local stand-in for a resolver: the queries never leave the machine.
-- Binding port 53 needs root; without it the queries still go out (and
-- are still the event), nobody answers them.
local function start_dns_listener()
  local fd, why = demo.udp_listen(53)
  if not fd then
    io.stderr:write("network demo: no local DNS listener (", why, ")\n")
  end
  return fd
end


local function resolve_names()
  demo.dns_sendto(demo.dns_query("vivarium.example", 0x1234))
  demo.dns_send_connected(demo.dns_query("connected.vivarium.example", 0x4321))
end


local function open_odd_sockets()
  return demo.odd_sockets()
end


local server, port = demo.listen_loopback()
connect_client(port)
demo.close(server)

local dns = start_dns_listener()
resolve_names()
if dns then
  demo.close(dns)
end

open_odd_sockets()
