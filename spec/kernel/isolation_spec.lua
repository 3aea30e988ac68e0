-- Isolation on the real kernel: eight unprivileged observers run at once
-- through one daemon, each opening a file of its own and running `cat` on
-- it; each must see exactly its own events and its children's, all of
-- them, and none of the others'. Needs root.

local support = require "spec.kernel.support"

local quote = support.quote

local OBSERVERS = 8
local ROUNDS = 15


-- Both barriers make the observers overlap for the whole of work().
local SCRIPT = [[
local sync, tag, me, n, rounds = arg[1], arg[2], tonumber(arg[3]),
  tonumber(arg[4]), tonumber(arg[5])

local function exists(path)
  local f = io.open(path)
  if f then
    f:close()
    return true
  end
  return false
end

local function barrier(name)
  assert(io.open(("%s/%s-%d"):format(sync, name, me), "w")):close()
  for _ = 1, 500 do
    local all = true
    for j = 1, n do
      if not exists(("%s/%s-%d"):format(sync, name, j)) then
        all = false
        break
      end
    end
    if all then
      return
    end
    os.execute("sleep 0.02")
  end
  error("timed out at barrier " .. name)
end

function work()
  local own = ("%s/%s-%d"):format(sync, tag, me)
  for _ = 1, rounds do
    assert(io.open(own, "r")):close()
    os.execute("cat " .. own .. " > /dev/null")
  end
end

barrier("start")
work()
barrier("end")
]]


describe("isolation #kernel", function()
  local env, dir

  before_each(function()
    env = support.private_env()
    dir = support.tmpdir()
  end)

  after_each(function()
    os.execute("rm -rf " .. quote(dir) .. " " .. quote(env.run_dir))
  end)

  it("gives each of eight observers at once its own events and its "
    .. "children's, and nobody else's", function()
      local tag = ("viv-iso-%d"):format(math.random(1e9))
      local sync = dir .. "/sync"
      os.execute("mkdir -m 1777 " .. quote(sync))
      for i = 1, OBSERVERS do
        support.write(("%s/%s-%d"):format(sync, tag, i), "x", "0644")
      end

      local daemon, log = support.start_daemon(env)
      local runs = {}
      local ok, perr = pcall(function()
        for i = 1, OBSERVERS do
          local pid, out, err, rc = support.observe_bg(env, dir, SCRIPT, {
            name = "observer" .. i, user = "65534", connect = "daemon",
            args = { sync, tag, tostring(i), tostring(OBSERVERS),
              tostring(ROUNDS) },
          })
          runs[i] = { pid = pid, out = out, err = err, rc = rc }
        end
        for i = 1, OBSERVERS do
          assert(support.wait_gone(runs[i].pid, 60), "observer " .. i
            .. " did not finish")
        end
      end)
      local stopped = support.stop_daemon(daemon)
      assert(ok, perr)

      local owner_of_pid = {}
      for i, run in ipairs(runs) do
        assert.equal("0", support.slurp(run.rc):match("%d+"),
          support.slurp(run.err) .. support.slurp(log))
        local events = support.json_lines(support.slurp(run.out))
        local own_opens, own_cats = 0, 0
        for _, e in ipairs(events) do
          -- no pid shows up at two observers
          local seen = owner_of_pid[e.pid]
          assert.is_true(seen == nil or seen == i, ("pid %d seen by "
            .. "observers %s and %d"):format(e.pid, tostring(seen), i))
          owner_of_pid[e.pid] = i
          local path = e.event == "path_open" and e.fields.path or ""
          local j = tonumber(path:match(tag:gsub("%-", "%%-") .. "%-(%d+)$"))
          if j then
            assert.equal(i, j, ("observer %d saw %s of observer %d")
              :format(i, path, j))
            if e.comm == "cat" then
              own_cats = own_cats + 1
            else
              own_opens = own_opens + 1
            end
          end
          for _, a in ipairs(e.event == "proc_exec" and e.fields.argv or {}) do
            local k = tonumber(a:match(tag:gsub("%-", "%%-") .. "%-(%d+)$"))
            assert.is_true(k == nil or k == i)
          end
        end
        -- every one of its own: none dropped, none doubled
        assert.same({ ROUNDS, ROUNDS }, { own_opens, own_cats })
      end
      local text = support.slurp(log)
      local _, registered = text:gsub("observer %d+: registered pid", "")
      local _, retired = text:gsub("observer %d+: retired pid", "")
      assert.same({ OBSERVERS, OBSERVERS }, { registered, retired })
      assert.is_true(stopped, "daemon ignored SIGTERM")
      assert.same({}, support.leftovers(env))
    end)
end)
