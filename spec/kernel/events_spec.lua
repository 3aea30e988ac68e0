-- Every event, triggered from an observed Lua script on the real kernel:
-- each must arrive with its decoded payload and under the function that
-- caused it, or be reported unavailable by the daemon with a reason.
-- VIVARIUM_SPEC_BACKEND=tracepoint|lsm forces the daemon's backend (the
-- QEMU guest runs this file on both). Needs root.

local support = require "spec.kernel.support"

local quote = support.quote
local BACKEND = os.getenv("VIVARIUM_SPEC_BACKEND")


-- One function per event; `arg[1]` is a fresh scratch directory.
local SCRIPT = [=[
local dir, port = arg[1], tonumber(arg[2])
package.path = arg[3] .. "/?.lua;" .. package.path
local demo = require "demo_support"
local ffi = require "ffi"
ffi.cdef [[
long ptrace(long request, int pid, void *addr, void *data);
long syscall(long number, ...);
int open(const char *path, int flags, ...);
]]

function ev_path_open()
  io.open(dir .. "/opened", "w"):close()
end

function ev_file_symlink()
  demo.symlink("symlink-target", dir .. "/symlink")
end

function ev_file_hardlink()
  demo.link(dir .. "/opened", dir .. "/hardlink")
end

function ev_file_rename()
  assert(os.rename(dir .. "/hardlink", dir .. "/renamed"))
end

function ev_file_chmod()
  demo.chmod(dir .. "/renamed", tonumber("640", 8))
end

function ev_file_getdents()
  demo.list(dir)
end

function ev_proc_exec()
  os.execute("/bin/true proc-exec-arg")
end

function ev_ptrace_check()
  local pid = demo.fork_sleeper()
  ffi.C.ptrace(16, pid, nil, nil) -- PTRACE_ATTACH
  demo.kill(pid, 9)
  demo.wait(pid)
  return pid
end

function ev_sb_mount()
  os.execute("mkdir -p " .. dir .. "/mnt && unshare -m mount -t tmpfs " ..
    "vivarium-spec " .. dir .. "/mnt")
end

function ev_kernel_read_file()
  -- not a module: the kernel reads it, then refuses it (an empty file is
  -- refused before the read, and before the LSM hook)
  local f = io.open(dir .. "/module", "w")
  f:write("not a module\n")
  f:close()
  local fd = ffi.C.open(dir .. "/module", 0)
  -- finit_module on x86_64; variadic arguments must be C integers, or
  -- the FFI passes Lua numbers as doubles
  ffi.C.syscall(313, ffi.cast("long", fd), "", ffi.cast("long", 0))
end

function ev_task_kill()
  local pid = demo.fork_sleeper()
  demo.kill(pid, 15)
  demo.wait(pid)
  return pid
end

function ev_setid_change()
  os.execute("setpriv --reuid=65534 --regid=65534 --clear-groups true")
end

function ev_capable_check()
  os.execute("unshare -u true")
end

function ev_bprm_creds()
  os.execute("cp /bin/true " .. dir .. "/setuid-true && chmod 4755 " ..
    dir .. "/setuid-true && " .. dir .. "/setuid-true")
end

function ev_odd_socket()
  demo.odd_sockets()
end

function ev_sock_connect()
  demo.close(demo.connect_loopback(port))
end

function ev_dns_req()
  demo.dns_sendto(demo.dns_query("sendto.vivarium.example", 1))
  demo.dns_send_connected(demo.dns_query("connected.vivarium.example", 2))
end

-- Called by name, so that stacks name them.
ev_path_open()
ev_file_symlink()
ev_file_hardlink()
ev_file_rename()
ev_file_chmod()
ev_file_getdents()
ev_proc_exec()
local ptraced = ev_ptrace_check()
ev_sb_mount()
ev_kernel_read_file()
local killed = ev_task_kill()
ev_setid_change()
ev_capable_check()
ev_bprm_creds()
ev_odd_socket()
ev_sock_connect()
ev_dns_req()
local f = io.open(dir .. "/pids", "w")
f:write(("%d %d\n"):format(ptraced, killed))
f:close()
]=]


local env, dir, daemon, events, status, pids

local function available(name)
  return status[name] ~= nil and not status[name]:match("^unavailable")
end

-- Events @name caused inside function ev_@name (it may have called a
-- helper that made the system call) whose fields include @want.
local function find(name, want)
  local found = {}
  local frame = "in function 'ev_" .. name .. "'"
  for _, e in ipairs(support.find(events, { event = name, fields = want or {} })) do
    for _, line in ipairs(e.stack or {}) do
      if line:find(frame, 1, true) then
        found[#found + 1] = e
        break
      end
    end
  end
  return found
end

-- An `it` body for event @name: @want (a table of fields, or a function
-- returning one, for values known only once the script ran) must match
-- one of its events, and @extra(found) may check more.
local function check(name, want, extra)
  return function()
    if not available(name) then
      assert.is_truthy(status[name], "status does not list " .. name)
      assert.matches("^unavailable: .+", status[name])
      return
    end
    local found = find(name, type(want) == "function" and want() or want)
    assert.is_true(#found >= 1, ("no %s in ev_%s with the expected fields;" ..
      " got %d %s events in all"):format(name, name,
      #support.find(events, { event = name }), name))
    if extra then
      extra(found)
    end
  end
end


describe("every event #kernel", function()
  setup(function()
    env = support.private_env()
    dir = support.tmpdir()
    local args = BACKEND and ("--backend " .. BACKEND) or ""
    daemon = support.start_daemon(env, args)

    local rc, out, err = support.sh(("%s %s status"):format(
      support.env_prefix(env), quote(support.binary)))
    assert.equal(0, rc, err)
    status = {}
    for name, how in out:gmatch("event (%S+) ([^\n]+)") do
      status[name] = how
    end

    local listener = support.listen_tcp()
    local script = dir .. "/events.lua"
    local output = dir .. "/events.json"
    support.write(script, SCRIPT)
    rc, _, err = support.sh(("%s %s observe --format json --output %s %s %s %d %s")
      :format(support.env_prefix(env), quote(support.binary), quote(output),
        quote(script), quote(dir), listener.port,
        quote(support.project .. "/examples")))
    listener.close()
    assert.equal(0, rc, err)
    events = support.json_lines(support.slurp(output))
    pids = {}
    pids.ptrace, pids.kill = support.slurp(dir .. "/pids"):match("(%d+) (%d+)")
  end)

  teardown(function()
    if daemon then
      support.stop_daemon(daemon)
    end
    if dir then
      os.execute("rm -rf " .. quote(dir) .. " " .. quote(env.run_dir))
      assert.same({}, support.leftovers(env))
    end
  end)

  it("lists every event in the status, with its backend", function()
    for _, name in ipairs({ "path_open", "file_symlink", "file_hardlink",
        "file_rename", "file_chmod", "file_getdents", "proc_exec",
        "ptrace_check", "sb_mount", "kernel_read_file", "task_kill",
        "setid_change", "capable_check", "bprm_creds", "odd_socket",
        "sock_connect", "dns_req" }) do
      assert.is_truthy(status[name], "status does not list " .. name)
      if BACKEND == "tracepoint" then
        assert.is_nil(status[name]:match("^lsm"), name .. ": " .. status[name])
      end
    end
  end)

  it("uses the LSM backend where BPF LSM runs", function()
    local lsm = support.slurp("/sys/kernel/security/lsm")
    if BACKEND == "tracepoint" or not os.getenv("VIVARIUM_IN_VM") then
      return -- the host refuses BPF trampolines: nothing to assert here
    end
    assert.matches("bpf", lsm)
    for _, name in ipairs({ "path_open", "file_symlink", "file_rename",
        "task_kill", "setid_change", "odd_socket" }) do
      assert.equal("lsm", status[name], name)
    end
  end)

  it("path_open", check("path_open", function() return { path = dir .. "/opened" } end))

  it("file_symlink", check("file_symlink", function()
    return { target = "symlink-target", link = dir .. "/symlink" }
  end))

  it("file_hardlink", check("file_hardlink", function()
    return { old = dir .. "/opened", new = dir .. "/hardlink" }
  end))

  it("file_rename", check("file_rename", function()
    return { old = dir .. "/hardlink", new = dir .. "/renamed" }
  end))

  it("file_chmod", check("file_chmod",
    function() return { path = dir .. "/renamed" } end,
    function(found)
      assert.equal(tonumber("640", 8), found[1].fields.mode % 4096)
    end))

  it("file_getdents", check("file_getdents", function() return { path = dir } end))

  it("proc_exec", check("proc_exec", { path = "/bin/true" }, function(found)
    assert.same({ "/bin/true", "proc-exec-arg" }, found[1].fields.argv)
  end))

  it("ptrace_check", check("ptrace_check", nil, function(found)
    local hit = false
    for _, e in ipairs(found) do
      hit = hit or tostring(e.fields.target_pid) == pids.ptrace
    end
    assert.is_true(hit, "no ptrace_check of the child " .. tostring(pids.ptrace))
    assert.equal("high", found[1].severity)
  end))

  it("sb_mount", check("sb_mount",
    { fstype = "tmpfs", source = "vivarium-spec" }, function(found)
      assert.is_truthy(found[1].fields.target:find("/mnt", 1, true))
    end))

  it("kernel_read_file", check("kernel_read_file", function()
    return { path = dir .. "/module", id = "READING_MODULE" }
  end))

  it("task_kill", check("task_kill", { sig = "SIGTERM" }, function(found)
    local hit = false
    for _, e in ipairs(found) do
      hit = hit or tostring(e.fields.target_pid) == pids.kill
    end
    assert.is_true(hit, "no SIGTERM to the child " .. tostring(pids.kill))
  end))

  it("setid_change", check("setid_change", { ids = "uid" }, function(found)
    local hit = false
    for _, e in ipairs(found) do
      local f = e.fields
      hit = hit or f.new_id == 65534 or f.new_real == 65534
        or f.new_effective == 65534
    end
    assert.is_true(hit, "no change to uid 65534")
  end))

  it("capable_check", check("capable_check", { cap = "CAP_SYS_ADMIN" }))

  it("bprm_creds", check("bprm_creds",
    function() return { path = dir .. "/setuid-true" } end,
    function(found)
      assert.matches("S_ISUID", found[1].fields.setid)
    end))

  it("odd_socket", check("odd_socket", { family = "AF_NETLINK" }))

  it("sock_connect", check("sock_connect",
    { family = "AF_INET", addr = "127.0.0.1" }))

  it("dns_req", check("dns_req", { qname = "sendto.vivarium.example" },
    function()
      assert.is_true(#find("dns_req",
        { qname = "connected.vivarium.example", qtype = "A", port = 53 }) >= 1,
        "the query on a connected socket was missed")
    end))
end)
