-- A child process, a SIGTERM sent to it, and the wait for it, so task_kill
-- shows the signal, the target and the function that sent it.
-- Run: vivarium observe signal_kill_demo.lua
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local demo = require "demo_support"

local SIGTERM = 15


local function start_child()
  return demo.fork_sleeper()
end


local function terminate(pid)
  demo.kill(pid, SIGTERM)
  -- not `return demo.wait(pid)`: a tail call would drop this frame from
  -- the stack the kill is reported with
  local status = demo.wait(pid)
  return status
end


local child = start_child()
terminate(child)
