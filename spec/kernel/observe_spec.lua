-- The whole path on the real kernel: a Lua script runs under
-- `vivarium observe`, the kernel records what it and its children do, and
-- each event must come back decoded and attributed to the function that
-- caused it. Needs root; run with `busted --run=kernel`.

local support = require "spec.kernel.support"

local quote = support.quote


-- The observed script: each function does one thing the kernel sees.
local SCRIPT = [[
local unique, port = arg[1], tonumber(arg[2])
local ffi = require "ffi"
ffi.cdef [=[
int socket(int, int, int);
int connect(int, const void *, uint32_t);
int close(int);
]=]

function opens_file()
  local f = assert(io.open("/tmp/" .. unique .. "-a", "w"))
  f:write("x")
  f:close()
end

function runs_command()
  os.execute("/bin/true " .. unique .. "-b")
end

function connects()
  local fd = ffi.C.socket(2, 1, 0)
  local sa = ffi.new("uint8_t[16]")
  sa[0] = 2
  sa[2], sa[3] = math.floor(port / 256), port % 256
  sa[4], sa[5], sa[6], sa[7] = 127, 0, 0, 1
  ffi.C.connect(fd, sa, 16)
  ffi.C.close(fd)
end

function child_opens()
  os.execute("cat /tmp/" .. unique .. "-a > /dev/null")
end

opens_file()
runs_command()
connects()
child_opens()
os.remove("/tmp/" .. unique .. "-a")
]]


local function unique_name()
  return ("viv-spec-%d-%d"):format(os.time(), math.random(1e9))
end


-- Run SCRIPT through `vivarium observe` as @user (nil: root) and return
-- the exit status, the decoded events and standard error.
local function observe(env, dir, user)
  local unique = unique_name()
  local listener = support.listen_tcp()
  local script = dir .. "/script.lua"
  local out = dir .. "/events.json"
  support.write(script, SCRIPT, "0644")
  local cmd = ("%s %s observe --format json --output %s %s %s %d"):format(
    support.env_prefix(env), quote(support.binary), quote(out),
    quote(script), unique, listener.port)
  if user then
    os.execute("touch " .. quote(out) .. " && chown " .. user .. " " .. quote(out))
    cmd = ("setpriv --reuid=%s --regid=%s --clear-groups env %s"):format(
      user, user, cmd)
  end
  local rc, _, err = support.sh(cmd)
  listener.close()
  return rc, support.json_lines(support.slurp(out)), err, unique, listener.port
end


local function assert_attributed(events, unique, port)
  local a = support.find(events, {
    event = "path_open", ["function"] = "opens_file",
    fields = { path = "/tmp/" .. unique .. "-a" },
  })
  assert.is_true(#a >= 1, "no path_open of the unique file in opens_file")
  assert.equal("medium", a[1].severity)
  assert.is_true(a[1].fields.ret >= 0)
  assert.is_truthy(a[1].payload:find("path=/tmp/" .. unique .. "-a", 1, true))

  local b = {}
  for _, e in ipairs(support.find(events, { event = "proc_exec" })) do
    for _, v in ipairs(e.fields.argv or {}) do
      if v == unique .. "-b" then
        b[#b + 1] = e
      end
    end
  end
  assert.is_true(#b >= 1, "no proc_exec with the unique argument")
  assert.equal("runs_command", b[1]["function"])
  assert.equal("/bin/true", b[1].fields.path)

  local c = support.find(events, {
    event = "sock_connect", ["function"] = "connects",
    fields = { family = "AF_INET", addr = "127.0.0.1", port = port },
  })
  assert.is_true(#c >= 1, "no sock_connect to the listener in connects")

  -- the child (cat) opened the file: another pid, same function
  local d = support.find(events, {
    event = "path_open", ["function"] = "child_opens",
    fields = { path = "/tmp/" .. unique .. "-a" },
  })
  assert.is_true(#d >= 1, "no path_open from the forked child")
  assert.are_not.equal(a[1].pid, d[1].pid)
  assert.is_true(#d[1].stack >= 1)
  assert.matches("script%.lua:%d+", d[1].location)
end


describe("vivarium observe #kernel", function()
  local env, dir

  before_each(function()
    env = support.private_env()
    dir = support.tmpdir()
  end)

  after_each(function()
    os.execute("rm -rf " .. quote(dir) .. " " .. quote(env.run_dir))
  end)

  it("attributes an open, an exec, a connect and a child's open, as root without a daemon",
    function()
      local rc, events, err, unique, port = observe(env, dir)
      assert.equal(0, rc, err)
      assert_attributed(events, unique, port)
      assert.same({}, support.leftovers(env))
    end)

  it("works through the daemon for an unprivileged user", function()
    local pid, log = support.start_daemon(env)
    local ok, rc, events, err, unique, port = pcall(observe, env, dir, "65534")
    local stopped = support.stop_daemon(pid)
    assert(ok, rc)
    assert.equal(0, rc, err .. support.slurp(log))
    assert_attributed(events, unique, port)
    for _, e in ipairs(events) do
      assert.are_not.equal(0, e.pid)
    end
    assert.is_true(stopped, "daemon ignored SIGTERM")
    assert.same({}, support.leftovers(env))
  end)

  it("reports a runtime error with file:line, exit 1, and keeps the events before it",
    function()
      local script = dir .. "/bad.lua"
      local target = "/tmp/" .. unique_name()
      support.write(script, ([[
function before() io.open(%q, "w"):close() end
function fails() error("boom") end
before()
fails()
]]):format(target))
      local out = dir .. "/out.json"
      local rc, _, err = support.sh(("%s %s observe --format json --output %s %s")
        :format(support.env_prefix(env), quote(support.binary), quote(out),
          quote(script)))
      os.remove(target)
      assert.equal(1, rc)
      assert.matches("bad%.lua:2:", err)
      assert.matches("boom", err)
      local events = support.json_lines(support.slurp(out))
      assert.is_true(#support.find(events, {
        event = "path_open", ["function"] = "before", fields = { path = target },
      }) >= 1)
      assert.same({}, support.leftovers(env))
    end)

  it("reports a syntax error with file:line and exit 1", function()
    local script = dir .. "/syntax.lua"
    support.write(script, "local x = = 1\n")
    local rc, _, err = support.sh(("%s %s observe %s"):format(
      support.env_prefix(env), quote(support.binary), quote(script)))
    assert.equal(1, rc)
    assert.matches("syntax%.lua:1:", err)
  end)

  it("tells an unprivileged user without a daemon how to start one", function()
    local script = dir .. "/noop.lua"
    support.write(script, "local x = 1\n", "0644")
    local rc, _, err = support.sh(("setpriv --reuid=65534 --regid=65534 " ..
      "--clear-groups env %s %s observe %s"):format(support.env_prefix(env),
      quote(support.binary), quote(script)))
    assert.equal(1, rc)
    assert.matches("sudo vivarium daemon", err)
    assert.equal(1, select(2, err:gsub("\n", "")), "expected one line: " .. err)
  end)

  it("rejects a non-numeric offset override with one message", function()
    local script = dir .. "/noop.lua"
    support.write(script, "local x = 1\n")
    local rc, _, err = support.sh(("VIVARIUM_FILE_F_PATH_OFFSET=abc %s %s observe %s")
      :format(support.env_prefix(env), quote(support.binary), quote(script)))
    assert.equal(1, rc)
    assert.matches("VIVARIUM_FILE_F_PATH_OFFSET", err)
  end)

  it("says so when bpffs is not mounted", function()
    local rc, _, err = support.sh(("%s unshare -m sh -c 'umount -l /sys/fs/bpf && " ..
      "exec %s daemon --pin-dir %s'"):format(support.env_prefix(env),
      quote(support.binary), quote(env.pin_dir)))
    assert.equal(1, rc)
    assert.matches("mount %-t bpf", err)
  end)

  it("says so when the kernel has no BTF", function()
    local script = dir .. "/noop.lua"
    support.write(script, "local x = 1\n")
    local rc, _, err = support.sh(("%s unshare -m sh -c 'mount --bind /dev/null " ..
      "/sys/kernel/btf/vmlinux && exec %s observe %s'"):format(
      support.env_prefix(env), quote(support.binary), quote(script)))
    assert.equal(1, rc)
    assert.matches("BTF", err)
  end)

  it("keeps every event when a formatter raises, and says so once", function()
    local fmt = dir .. "/broken_formatter.lua"
    support.write(fmt, "return { format = function() error('nope') end }\n")
    local script = dir .. "/two.lua"
    local target = "/tmp/" .. unique_name()
    support.write(script, ([[
function one() io.open(%q, "w"):close() end
function two() io.open(%q, "r"):close() end
one()
two()
]]):format(target, target))
    local rc, out, err = support.sh(("%s %s observe --format %s %s"):format(
      support.env_prefix(env), quote(support.binary), quote(fmt), quote(script)))
    os.remove(target)
    assert.equal(0, rc, err)
    local _, reports = err:gsub("nope", "")
    assert.equal(1, reports, err)
    assert.matches("in function 'one'", out)
    assert.matches("in function 'two'", out)
    local _, opens = out:gsub("path_open path=" .. target:gsub("%-", "%%-"), "")
    assert.equal(2, opens, out)
  end)
end)
