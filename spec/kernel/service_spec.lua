-- The daemon as a service, on the real kernel: SIGHUP reloads daemon.lua
-- without losing observers (the log changes at once, the rest waits for a
-- restart and the log says so), the log tells what the daemon did, and
-- the caps, filters and debug settings reach the kernel side. Needs root.

local support = require "spec.kernel.support"

local quote = support.quote


-- Observed until the go file appears; opens @mark after that.
local WAITER = [[
local ffi = require "ffi"
ffi.cdef "int getpid(void); int usleep(unsigned int);"
local ready, go, mark = arg[1], arg[2], arg[3]
local f = assert(io.open(ready, "w"))
f:write(ffi.C.getpid())
f:close()
for _ = 1, 600 do
  local g = io.open(go)
  if g then
    g:close()
    break
  end
  ffi.C.usleep(50000)
end
assert(io.open(mark, "w")):close()
]]


describe("the daemon as a service #kernel", function()
  local env, dir

  before_each(function()
    env = support.private_env()
    dir = support.tmpdir()
    os.execute("chmod 1777 " .. quote(dir))
  end)

  after_each(function()
    os.execute("rm -rf " .. quote(dir) .. " " .. quote(env.run_dir))
  end)

  it("reloads daemon.lua on SIGHUP without losing its observers", function()
    local config = dir .. "/daemon.lua"
    local first, second = env.run_dir .. "/first.log",
      env.run_dir .. "/second.log"
    support.write(config, ("return { log = %q, log_level = 'info', "
      .. "events = { 'path_open', 'proc_exec' } }\n"):format(first))
    local daemon = support.start_daemon(env, quote(config))
    local ok, perr = pcall(function()
      assert(support.wait_for(function()
        return support.slurp(first):find("daemon: ready", 1, true)
      end, 10))
      local ready, go, mark = dir .. "/ready", dir .. "/go", dir .. "/mark"
      local pid, shell, out, err, rc = (function()
        local sh, o, e, r = support.observe_bg(env, dir, WAITER, {
          name = "waiter", user = "65534", connect = "daemon",
          args = { ready, go, mark },
        })
        local p = support.wait_for(function()
          return tonumber(support.slurp(ready):match("%d+"))
        end, 10)
        return p, sh, o, e, r
      end)()
      assert(pid, "the observer did not start")

      -- a broken file is refused and the running configuration kept
      support.write(config, "return { log_level = 'loud' }\n")
      os.execute("kill -HUP " .. daemon)
      assert(support.wait_for(function()
        return support.slurp(first):find("reload failed", 1, true)
      end, 5), support.slurp(first))
      assert.matches("reload failed, keeping the running configuration: .*"
        .. "'log_level' must be one of", support.slurp(first))

      -- the log moves at once; events wait for a restart
      support.write(config, ("return { log = %q, log_level = 'debug', "
        .. "events = { 'path_open' } }\n"):format(second))
      os.execute("kill -HUP " .. daemon)
      assert(support.wait_for(function()
        return support.slurp(second):find("reloaded", 1, true)
      end, 5), support.slurp(first))
      local text = support.slurp(first) .. support.slurp(second)
      assert.matches("reload: 'events' changed; it takes effect when the "
        .. "daemon restarts", text)
      assert.matches("reloaded " .. config:gsub("%p", "%%%0") .. ": log "
        .. second:gsub("%p", "%%%0") .. ", level debug", text)

      -- the observer noticed nothing and its events still flow
      support.write(go, "")
      assert(support.wait_gone(shell, 15), "the observer hung")
      assert.equal("0", support.slurp(rc):match("%d+"), support.slurp(err))
      assert.equal(0, #support.grep(support.slurp(err), "daemon stopped"))
      local events = support.json_lines(support.slurp(out))
      assert.equal(1, #support.find(events, { event = "path_open",
        fields = { path = mark } }))
      -- its departure is in the new log, with pid and command
      assert(support.wait_for(function()
        return support.slurp(second):find("retired pid " .. pid, 1, true)
      end, 5))
      assert.matches("retired pid " .. pid .. " %(vivarium%): disconnected",
        support.slurp(second))
      assert.matches("registered pid " .. pid .. " %(vivarium%) uid 65534",
        support.slurp(first))
    end)
    local stopped = support.stop_daemon(daemon)
    assert(ok, perr)
    assert.is_true(stopped)
    local text = support.slurp(second)
    assert.matches("stopping on SIGTERM", text)
    assert.matches("stopped, programs detached and pins removed", text)
    assert.same({}, support.leftovers(env))
  end)

  it("hands caps, path prefixes and debug to the kernel side", function()
    local inside, outside = dir .. "/in/", dir .. "/out/"
    os.execute(("mkdir -m 0777 %s %s"):format(quote(inside), quote(outside)))
    local config = dir .. "/daemon.lua"
    support.write(config, ([[
return {
  caps = { "CAP_CHOWN" },
  filters = { path_open = { prefixes = { %q } } },
  debug = true,
}
]]):format(inside))
    local daemon, log = support.start_daemon(env, quote(config))
    local ok, rc, events, err = pcall(support.observe, env, dir, ([[
function opens()
  io.open(%q, "w"):close()
  io.open(%q, "w"):close()
end
function chowns()
  os.execute("chown 65534 %s")
end
opens()
chowns()
]]):format(inside .. "a", outside .. "b", inside .. "a"),
      { connect = "daemon" })
    -- the trace pipe is read in the daemon's loop: give it a turn
    os.execute("sleep 0.5")
    local stopped = support.stop_daemon(daemon)
    assert(ok, rc)
    assert.equal(0, rc, err)
    assert.is_true(stopped)

    assert.equal(1, #support.find(events, { event = "path_open",
      fields = { path = inside .. "a" } }))
    assert.equal(0, #support.find(events, { event = "path_open",
      fields = { path = outside .. "b" } }))
    local caps = support.find(events, { event = "capable_check" })
    assert.is_true(#caps >= 1, "no capable_check of CAP_CHOWN")
    for _, e in ipairs(caps) do
      assert.equal("CAP_CHOWN", e.fields.cap)
    end
    local text = support.slurp(log)
    assert.matches("path_open: only paths under " .. inside:gsub("%p", "%%%0"),
      text)
    assert.matches("debug: copying lines of", text)
    assert.matches("kernel: .*vivarium: pid=%d+ ", text)
    assert.same({}, support.leftovers(env))
  end)

  it("refuses an unknown capability before loading anything", function()
    local config = dir .. "/daemon.lua"
    support.write(config, "return { caps = { 'CAP_SYS_ADMN' } }\n")
    local rc, _, err = support.sh(("%s %s daemon --pin-dir %s %s"):format(
      support.env_prefix(env), quote(support.binary), quote(env.pin_dir),
      quote(config)))
    assert.equal(1, rc)
    assert.matches("caps%[1%]: unknown capability 'CAP_SYS_ADMN'", err)
    assert.same({}, support.leftovers(env))
  end)
end)
