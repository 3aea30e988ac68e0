-- Loss is counted and shown: with a ring of one page and a burst of opens
-- that no boundary drains, the records the kernel dropped plus those
-- delivered make exactly the number of opens, and the batch where the
-- loss was noticed says so. Locally (--ring-size) and through the daemon
-- (the size asked for in the hello). Needs root.

local support = require "spec.kernel.support"

local quote = support.quote

local BURST = 2000
local TINY = 4096


-- A forked child opens the file BURST times while the parent waits in
-- waitpid(): no Lua boundary in between, so nothing drains until burst()
-- returns. The child turns the hook, the JIT and the collector off so
-- that it makes no system call but the opens (an mmap would add a
-- capable_check record and spoil the count).
local SCRIPT = [[
local ffi = require "ffi"
ffi.cdef [=[
int open(const char *path, int flags, ...);
int close(int fd);
int fork(void);
void _exit(int status);
int waitpid(int pid, int *status, int options);
]=]
local C = ffi.C
local path, n = arg[1], tonumber(arg[2])

function burst()
  local pid = C.fork()
  if pid == 0 then
    debug.sethook()
    jit.off()
    collectgarbage("stop")
    for _ = 1, n do
      C.close(C.open(path, 0))
    end
    C._exit(0)
  end
  C.waitpid(pid, nil, 0)
end

burst()
]]


-- Delivered opens of @path, the lost lines, and the other events.
local function tally(events, path)
  local delivered, lost, lines = 0, 0, {}
  for _, e in ipairs(events) do
    if e.event == "lost" then
      lost = lost + e.count
      lines[#lines + 1] = e
    elseif e.event == "path_open" and e.fields.path == path then
      delivered = delivered + 1
    end
  end
  return delivered, lost, lines
end


describe("lost records #kernel", function()
  local env, dir, target

  before_each(function()
    env = support.private_env()
    dir = support.tmpdir()
    target = dir .. "/burst-target"
    support.write(target, "x", "0644")
  end)

  after_each(function()
    os.execute("rm -rf " .. quote(dir) .. " " .. quote(env.run_dir))
  end)

  local function check(events, label)
    local delivered, lost, lines = tally(events, target)
    print(("\nloss (%s): %d opens, %d delivered, %d reported lost")
      :format(label, BURST, delivered, lost))
    assert.is_true(lost > 0, "a one-page ring held every record")
    assert.equal(BURST, delivered + lost)
    -- where: in burst(), at its return, or already at its call of
    -- waitpid() when the child was quick to fill the ring
    assert.is_true(#lines >= 1)
    for _, l in ipairs(lines) do
      assert.equal("burst", l["function"])
      assert.matches("script%.lua:%d+$", l.location)
      assert.equal("high", l.severity)
    end
  end

  it("adds up exactly with a one-page local ring, and says where",
    function()
      local rc, events, err = support.observe(env, dir, SCRIPT, {
        args = { target, tostring(BURST) }, ring_size = TINY,
      })
      assert.equal(0, rc, err)
      check(events, "local, " .. TINY .. " byte ring")

      -- the same burst with the default ring loses nothing
      rc, events, err = support.observe(env, dir, SCRIPT, {
        args = { target, tostring(BURST) },
      })
      assert.equal(0, rc, err)
      local delivered, lost = tally(events, target)
      assert.same({ BURST, 0 }, { delivered, lost })
      assert.same({}, support.leftovers(env))
    end)

  it("says so in the human format", function()
    local rc, text, err = support.observe(env, dir, SCRIPT, {
      args = { target, tostring(BURST) }, ring_size = TINY, format = "human",
    })
    assert.equal(0, rc, err)
    assert.matches("%[vivarium%] %d+ event%(s%) at [^\n]*script%.lua:%d+ in "
      .. "function 'burst'\n", text)
    assert.matches("\n  %d+ event%(s%) lost before this point %(ring full%)\n",
      text)
  end)

  it("adds up exactly through the daemon, which grants the size asked for",
    function()
      local pid, log = support.start_daemon(env)
      local ok, rc, events, err = pcall(support.observe, env, dir, SCRIPT, {
        args = { target, tostring(BURST) }, ring_size = TINY, user = "65534",
        connect = "daemon",
      })
      local stopped = support.stop_daemon(pid)
      assert(ok, rc)
      assert.equal(0, rc, err)
      check(events, "daemon, " .. TINY .. " byte ring")
      assert.matches("registered pid %d+ %([^)]*%) uid 65534, " .. TINY
        .. " byte ring", support.slurp(log))
      assert.is_true(stopped)
      assert.same({}, support.leftovers(env))
    end)

  it("refuses a ring size that is not a power of two", function()
    local rc, _, err = support.sh(("%s observe --ring-size 5000 x.lua")
      :format(quote(support.binary)))
    assert.equal(2, rc)
    assert.matches("%-%-ring%-size must be a power of two", err)
  end)
end)
