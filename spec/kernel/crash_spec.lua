-- Crashes on the real kernel: an observer killed with SIGKILL leaves no
-- target entry (the kernel removes it at exit, even while the daemon is
-- frozen) and no ring (the daemon retires it), and a process that reuses
-- its pid is not observed; a daemon that stops or dies leaves nothing and
-- its observers are told once, without hanging. Needs root.

local support = require "spec.kernel.support"

local quote = support.quote


-- Observed until the test creates the go file; writes its pid when ready.
-- It waits with usleep(), no child process, so that once it is killed
-- nothing of it can emit a record.
local WAITER = [[
local ffi = require "ffi"
ffi.cdef "int getpid(void); int usleep(unsigned int);"
local ready, go, before, after = arg[1], arg[2], arg[3], arg[4]

function before_stop()
  assert(io.open(before, "w")):close()
end

function after_stop()
  assert(io.open(after, "w")):close()
end

before_stop()
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
after_stop()
]]


describe("crashes #kernel", function()
  local env, dir, ready, go, before, after

  before_each(function()
    env = support.private_env()
    dir = support.tmpdir()
    os.execute("chmod 1777 " .. quote(dir))
    ready, go = dir .. "/ready", dir .. "/go"
    before, after = dir .. "/before-stop", dir .. "/after-stop"
  end)

  after_each(function()
    os.execute("rm -rf " .. quote(dir) .. " " .. quote(env.run_dir))
  end)

  local function start_waiter(user)
    local pid, out, err, rc = support.observe_bg(env, dir, WAITER, {
      name = "waiter", user = user or "65534", connect = "daemon",
      args = { ready, go, before, after },
    })
    local vpid = support.wait_for(function()
      return tonumber(support.slurp(ready):match("%d+"))
    end, 10)
    assert(vpid, "the observer did not start: " .. support.slurp(err))
    return vpid, pid, out, err, rc
  end

  local function has(list, v)
    for _, x in ipairs(list) do
      if x == v then
        return true
      end
    end
    return false
  end

  it("leaves no target and no ring behind an observer killed with SIGKILL, "
    .. "and does not observe a process that reuses its pid", function()
      local daemon, log = support.start_daemon(env)
      local ok, perr = pcall(function()
        local pid = start_waiter()
        local root = env.pin_dir .. "/config_root_targets"
        local rings = env.pin_dir .. "/viv_rings"
        assert.is_true(has(assert(support.map_keys(root)), pid))
        assert.equal(1, #assert(support.map_keys(rings)))

        -- Freeze the daemon: whatever goes now, the kernel removed.
        os.execute("kill -STOP " .. daemon)
        os.execute("kill -KILL " .. pid)
        assert(support.wait_gone(pid, 10), "observer survived SIGKILL")
        assert.same({}, assert(support.map_keys(root)))
        -- the daemon, frozen, has not retired the ring yet
        assert.equal(1, #assert(support.map_keys(rings)))

        -- A process with the dead observer's pid, while its ring is
        -- still there: forced through ns_last_pid, tried a few times
        -- (another fork on the machine may take the pid first). "; true"
        -- keeps the shell from exec'ing sh without a fork.
        local emitted = support.stats(env.pin_dir)[0] or 0
        local reused = false
        for _ = 1, 20 do
          local _, out = support.sh(("echo %d > /proc/sys/kernel/ns_last_pid"
            .. " && sh -c 'echo $$; exec cat %s > /dev/null'; true"):format(
            pid - 1,
            quote(ready)))
          if tonumber(out:match("%d+")) == pid then
            reused = true
            break
          end
        end
        if not reused then
          print("\ncrash: could not force the reuse of pid " .. pid
            .. "; checked the targets map only")
        end
        assert.equal(emitted, support.stats(env.pin_dir)[0] or 0,
          "a process reusing the pid was observed")

        os.execute("kill -CONT " .. daemon)
        assert(support.wait_for(function()
          local keys = support.map_keys(rings)
          return keys and #keys == 0
        end, 10), "the daemon did not retire the ring")
        -- the log line is written after the ring goes
        local line = "retired pid " .. pid .. " %(vivarium%): disconnected"
        assert(support.wait_for(function()
          return support.slurp(log):match(line)
        end, 5), "no retirement in the log:\n" .. support.slurp(log))
      end)
      os.execute("kill -CONT " .. daemon)
      local stopped = support.stop_daemon(daemon)
      assert(ok, perr)
      assert.is_true(stopped)
      assert.same({}, support.leftovers(env))
    end)

  it("says once that a daemon stopped with SIGTERM is gone, unpins "
    .. "everything, and lets a new daemon start while the observer runs",
    function()
      local daemon, log = support.start_daemon(env)
      local ok, perr = pcall(function()
        local _, shell, out, err, rc = start_waiter()
        assert.is_true(support.stop_daemon(daemon), "daemon ignored SIGTERM")
        assert.is_false(support.exists(env.pin_dir), "pins left behind")
        assert.is_false(support.exists(env.socket), "socket left behind")
        local text = support.slurp(log)
        assert.matches("stopping on SIGTERM", text)
        assert.matches("retired pid %d+ %(vivarium%): daemon closing", text)
        assert.matches("stopped, programs detached and pins removed", text)

        -- a new daemon takes over the pin dir while the observer runs
        local second = support.start_daemon_as(env, "second")
        support.write(go, "")
        local done = support.wait_gone(shell, 15)
        support.stop_daemon(second)
        assert(done, "the observer hung after the daemon stopped")
        assert.equal("0", support.slurp(rc):match("%d+"), support.slurp(err))
        local warnings = support.grep(support.slurp(err), "vivarium: the "
          .. "daemon stopped; no further events")
        assert.equal(1, #warnings, support.slurp(err))
        local events = support.json_lines(support.slurp(out))
        assert.is_true(#support.find(events, { event = "path_open",
          fields = { path = before } }) == 1)
        -- registered with the first daemon, unknown to the second
        assert.equal(0, #support.find(events, { event = "path_open",
          fields = { path = after } }))
      end)
      support.stop_daemon(daemon)
      assert(ok, perr)
      assert.same({}, support.leftovers(env))
    end)

  it("clears the pins a daemon killed with SIGKILL left, at the next start",
    function()
      local daemon = support.start_daemon(env)
      local ok, perr = pcall(function()
        local _, shell, _, err = start_waiter()
        os.execute("kill -KILL " .. daemon)
        assert(support.wait_gone(daemon, 10))
        assert.is_true(support.exists(env.pin_dir .. "/viv_rings"))

        local second, log = support.start_daemon_as(env, "second")
        assert.matches("removed %d+ pins left in " .. env.pin_dir:gsub("%p",
          "%%%0") .. " by a daemon that is gone", support.slurp(log))
        -- and serves: an observer of its own sees its events
        local rc, events, oerr = support.observe(env, dir,
          ("io.open(%q, 'w'):close()\n"):format(dir .. "/second"),
          { name = "fresh", user = "65534", connect = "daemon" })
        support.write(go, "")
        support.wait_gone(shell, 15)
        support.stop_daemon(second)
        assert.equal(0, rc, oerr)
        assert.equal(1, #support.find(events, { event = "path_open",
          fields = { path = dir .. "/second" } }))
        assert.equal(1, #support.grep(support.slurp(err), "vivarium: the "
          .. "daemon stopped; no further events"))
      end)
      os.execute("kill -KILL " .. daemon .. " 2>/dev/null")
      assert(ok, perr)
      assert.same({}, support.leftovers(env))
    end)
end)
