-- Privilege-related events: set*id calls in a child, reads of sensitive
-- files, and the exec of a setuid program, each in its own function.
-- Run: vivarium observe privilege_event_demo.lua (as root to see the
-- changes succeed; unprivileged they fail, and the attempts are the events)
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local demo = require "demo_support"

local NOBODY = 65534


local function drop_privileges_in_child()
  local pid = demo.fork(function()
    demo.setgid(NOBODY)
    demo.setuid(NOBODY)
  end)
  demo.wait(pid)
end


local function read_sensitive_files()
  for _, path in ipairs({ "/etc/shadow", "/etc/sudoers" }) do
    local f = io.open(path, "r")
    if f then
      f:close()
    end
  end
end


-- Any setuid program will do; `passwd --help` changes nothing.
local function run_setuid_program()
  for _, path in ipairs({ "/usr/bin/passwd", "/bin/su", "/usr/bin/chfn" }) do
    local f = io.open(path, "r")
    if f then
      f:close()
      os.execute(path .. " --help > /dev/null 2>&1")
      return
    end
  end
end


drop_privileges_in_child()
read_sensitive_files()
run_setuid_program()
