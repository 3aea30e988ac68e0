-- Privilege on the real kernel: an unprivileged observer works through
-- the daemon, and as the same kind of user a hostile client (peer.lua)
-- cannot reach the pins, another user's observer, more than its own
-- registration, or write what it may only read. Needs root.

local support = require "spec.kernel.support"

local quote = support.quote

local PEER = "spec/kernel/peer.lua"


-- Waits until the test lets it go, so that it is observed meanwhile.
local IDLE = [[
local ffi = require "ffi"
ffi.cdef "int getpid(void); int usleep(unsigned int);"
local ready, go = arg[1], arg[2]
local f = assert(io.open(ready, "w"))
f:write(ffi.C.getpid())
f:close()
for _ = 1, 400 do
  local g = io.open(go)
  if g then
    g:close()
    break
  end
  ffi.C.usleep(50000)
end
]]


local function results(text)
  local out = {}
  for name, value in text:gmatch("(%S+) ([^\n]*)\n") do
    out[name] = value
  end
  return out
end


-- Refused, whichever check of the kernel came first.
local function assert_refused(value, what)
  assert.is_true(value == "EPERM" or value == "EACCES",
    ("%s: expected EPERM or EACCES, got %s"):format(what, tostring(value)))
end


local function mode(path)
  local _, out = support.sh("stat -c '%A %U' " .. quote(path))
  return out:match("^(%S+ %S+)")
end


describe("privilege #kernel", function()
  local env, dir

  before_each(function()
    env = support.private_env()
    dir = support.tmpdir()
  end)

  after_each(function()
    os.execute("rm -rf " .. quote(dir) .. " " .. quote(env.run_dir))
  end)

  it("keeps an unprivileged observer to its own registration and ring",
    function()
      os.execute("chmod 1777 " .. quote(dir))
      local peer = dir .. "/peer.lua"
      support.write(peer, support.slurp(PEER), "0644")
      local daemon, log = support.start_daemon(env, "")
      local ok, perr = pcall(function()
        -- the pins and the socket
        assert.equal("drwx------ root", mode(env.pin_dir))
        assert.equal("-rw------- root", mode(env.pin_dir
          .. "/config_root_targets"))
        assert.equal("srw-rw-rw- root", mode(env.socket))

        -- another user's observer, running
        local ready, go = dir .. "/ready", dir .. "/go"
        local other = support.observe_bg(env, dir, IDLE, {
          name = "other", user = "65533", connect = "daemon",
          args = { ready, go },
        })
        assert(support.wait_for(function()
          return support.slurp(ready):match("%d+")
        end, 10), "the other observer did not start")
        local other_pid = support.slurp(ready):match("%d+")
        local _, fds = support.sh("ls /proc/" .. other_pid .. "/fd")
        fds = fds:gsub("%s+", ",")
        assert.is_true(#fds > 0)

        local rc, out, err = support.sh(("setpriv --reuid=65534 "
          .. "--regid=65534 --clear-groups luajit %s %s %s %s %s"):format(
          quote(peer), quote(env.pin_dir), quote(env.socket), other_pid,
          fds))
        support.write(go, "")
        support.wait_gone(other, 10)
        assert.equal(0, rc, err .. out)
        local r = results(out)

        assert.equal("EACCES", r.open_pin_dir)
        assert.equal("EACCES", r.open_root_targets)
        assert.equal("EACCES", r.open_rings)
        -- unprivileged_bpf_disabled, or the pin's mode: either refuses
        assert_refused(r.bpf_obj_get, "bpf(BPF_OBJ_GET)")
        assert_refused(r.bpf_map_get_fd_by_id, "bpf(BPF_MAP_GET_FD_BY_ID)")
        assert.equal("EACCES", r.open_other_mem)
        assert.equal("EACCES", r.open_other_fds)

        assert.equal("ok", r.register)
        assert.equal("2", r.fds)
        -- asked for 1 GiB, got the daemon's size
        assert.equal(tostring(1024 * 1024), r.ring_size)
        assert.equal("ok", r.mmap_consumer_rw)
        assert.equal("EPERM", r.mmap_data_rw)
        assert.equal("ok", r.mmap_data_ro)
        assert.equal("EACCES", r.mprotect_data_rw)
        assert.equal("EPERM", r.mmap_lost_rw)
        assert.equal("ok", r.mmap_lost_ro)
        assert.are_not.equal("ok", r.bpf_ring_update)
        assert_refused(r.bpf_lost_update, "bpf(BPF_MAP_UPDATE_ELEM) viv_lost")
        print("\nprivilege: pinning its own ring under /sys/fs/bpf: "
          .. tostring(r.bpf_obj_pin_ring) .. " (see docs/LIMITS.md)")
        assert.equal("EEXIST", r.register_again)
        assert.equal("closed", r.hello_with_fd)
        assert.equal("ok", r.done)

        -- the daemon registered the peer's own pid and no other
        local text = support.slurp(log)
        assert.matches("registered pid " .. r.pid .. " %(luajit%) uid 65534",
          text)
        assert.matches("registered pid " .. other_pid .. " %(vivarium%) uid "
          .. "65533", text)
        local _, registered = text:gsub("registered pid", "")
        assert.equal(2, registered)
      end)
      local stopped = support.stop_daemon(daemon)
      assert(ok, perr)
      assert.is_true(stopped)
      assert.same({}, support.leftovers(env))
    end)

  it("lets an unprivileged user read no pinned map with bpftool", function()
    local daemon = support.start_daemon(env, "")
    local rc, _, err = support.sh(("setpriv --reuid=65534 --regid=65534 "
      .. "--clear-groups bpftool map dump pinned %s"):format(
      quote(env.pin_dir .. "/config_root_targets")))
    support.stop_daemon(daemon)
    assert.are_not.equal(0, rc)
    assert.matches("ermission denied", err)
    assert.same({}, support.leftovers(env))
  end)
end)
