-- Descendants on the real kernel: what a forked child, an exec'd one, a
-- double-forked orphan and a daemonized process do reaches the observer,
-- and the output tells which process did it (pid, and the command of a
-- process whose exec went by). Needs root.

local support = require "spec.kernel.support"
local cjson = require "cjson"

local quote = support.quote


local SCRIPT = [[
local ffi = require "ffi"
ffi.cdef "int getpid(void);"
local dir, tag = arg[1], arg[2]

local function path(what)
  return dir .. "/" .. tag .. "-" .. what
end

local function wait_for(file)
  for _ = 1, 200 do
    local f = io.open(file)
    if f then
      f:close()
      return
    end
    os.execute("sleep 0.05")
  end
  error("timed out waiting for " .. file)
end

-- a subshell that forks and never execs opens the file itself
function forks()
  os.execute("sh -c '( : < " .. path("fork") .. " ); true'")
end

function execs()
  os.execute("cat " .. path("exec") .. " > /dev/null")
end

-- the grandchild is orphaned at once and reparented to init
function double_forks()
  os.execute("sh -c '(cat " .. path("double") .. " > /dev/null; touch "
    .. path("double-done") .. ") &'")
  wait_for(path("double-done"))
end

-- a new session, no terminal, its parent gone: a daemon
function daemonizes()
  os.execute("setsid sh -c 'sleep 0.1; cat " .. path("daemon")
    .. " > /dev/null; touch " .. path("daemon-done")
    .. "' < /dev/null > /dev/null 2>&1 &")
  wait_for(path("daemon-done"))
end

io.write("pid ", ffi.C.getpid(), "\n")
io.flush()
forks()
execs()
double_forks()
daemonizes()
]]


local function one(events, want)
  local found = support.find(events, want)
  assert.is_true(#found >= 1, "no event matching "
    .. cjson.encode(want.fields or want))
  return found[1]
end


describe("descendants #kernel", function()
  local env, dir, tag

  before_each(function()
    env = support.private_env()
    dir = support.tmpdir()
    tag = ("viv-child-%d"):format(math.random(1e9))
    for _, what in ipairs({ "fork", "exec", "double", "daemon" }) do
      support.write(("%s/%s-%s"):format(dir, tag, what), "x", "0644")
    end
  end)

  after_each(function()
    os.execute("rm -rf " .. quote(dir) .. " " .. quote(env.run_dir))
  end)

  local function run(format)
    local script = dir .. "/children.lua"
    local out = dir .. "/children." .. format
    support.write(script, SCRIPT, "0644")
    local rc, stdout, err = support.sh(support.observe_cmd(env, script, out,
      { args = { dir, tag }, format = format }))
    assert.equal(0, rc, err)
    return support.slurp(out), tonumber(stdout:match("pid (%d+)"))
  end

  local function path(what)
    return ("%s/%s-%s"):format(dir, tag, what)
  end

  it("reaches the observer from forked, exec'd, double-forked and "
    .. "daemonized descendants, naming their commands", function()
      local text, self = run("json")
      local events = support.json_lines(text)

      local fork = one(events, { event = "path_open",
        fields = { path = path("fork") } })
      assert.are_not.equal(self, fork.pid)
      assert.equal("forks", fork["function"])
      -- it never exec'd: no command to name
      assert.equal(cjson.null, fork.comm)

      local exec = one(events, { event = "path_open", comm = "cat",
        fields = { path = path("exec") } })
      assert.are_not.equal(self, exec.pid)
      assert.equal("execs", exec["function"])
      local ran = one(events, { event = "proc_exec", pid = exec.pid })
      assert.equal("cat", ran.fields.comm)
      assert.equal("cat", ran.comm)

      local double = one(events, { event = "path_open", comm = "cat",
        fields = { path = path("double") } })
      assert.are_not.equal(self, double.pid)
      one(events, { event = "path_open",
        fields = { path = path("double-done") } })

      local daemon = one(events, { event = "path_open", comm = "cat",
        fields = { path = path("daemon") } })
      assert.are_not.equal(self, daemon.pid)
      one(events, { event = "path_open", comm = "touch",
        fields = { path = path("daemon-done") } })

      -- each one its own process
      local pids = {}
      for _, e in ipairs({ fork, exec, double, daemon }) do
        assert.is_nil(pids[e.pid])
        pids[e.pid] = true
      end
      -- the script's own events carry its pid (wait_for's io.open)
      local own = one(events, { event = "path_open", pid = self,
        fields = { path = path("daemon-done") } })
      assert.equal(cjson.null, own.comm)
      assert.same({}, support.leftovers(env))
    end)

  it("prints pid=N (command) in the human format", function()
    local text = run("human")
    local escaped = path("exec"):gsub("%p", "%%%0")
    assert.matches("pid=%d+ %(cat%) tid=%d+ medium path_open path="
      .. escaped .. " ", text)
    escaped = path("fork"):gsub("%p", "%%%0")
    assert.matches("pid=%d+ tid=%d+ medium path_open path=" .. escaped
      .. " ", text)
  end)
end)
