local fake_core = require "spec.fake_core"
local cjson = require "cjson"
local ffi = require "ffi"

ffi.cdef [[
int setenv(const char *name, const char *value, int overwrite);
int unsetenv(const char *name);
]]


local function json_lines(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    out[#out + 1] = cjson.decode(line)
  end
  return out
end


local function write_file(text)
  local path = fake_core.tmp_lua()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end


local function this_line()
  return debug.getinfo(2, "l").currentline
end


describe("vivarium.observer", function()
  local fake, observer, fh, read, done

  before_each(function()
    fake = fake_core.install()
    observer = require "vivarium.observer"
    fh, read, done = fake_core.sink()
  end)

  after_each(function()
    debug.sethook()
    done()
  end)

  describe("on_boundary()", function()
    local sink

    before_each(function()
      sink = observer.start({ format = "json", output = fh })
      -- drive the handler by hand, the way the hook would
      debug.sethook()
    end)

    after_each(function()
      observer.finish(sink, "stop", 1)
    end)

    it("gives events at a return to the returning function", function()
      local line
      local function returning()
        local q = fake.queue
        q[#q + 1] = fake_core.event()
        line = this_line() observer.on_boundary("return")
      end
      returning()
      local e = json_lines(read())[1]
      assert.equal("returning", e["function"])
      assert.equal("return", e.boundary)
      assert.matches("observer_spec%.lua:" .. line .. "$", e.location)
    end)

    it("gives events at a call to the caller of the function called",
      function()
        local function called()
          observer.on_boundary("call")
        end
        local line
        local function caller()
          local q = fake.queue
          q[#q + 1] = fake_core.event()
          line = this_line() called()
        end
        caller()
        local e = json_lines(read())[1]
        assert.equal("caller", e["function"])
        assert.equal("call", e.boundary)
        assert.matches("observer_spec%.lua:" .. line .. "$", e.location)
        assert.matches("in function 'caller'$", e.stack[1])
      end)

    it("prints nothing when nothing is waiting", function()
      observer.on_boundary("return")
      assert.equal("", read())
    end)

    it("reports losses once, as the difference since the last batch",
      function()
        fake.lost_count = 3
        observer.on_boundary("return")
        observer.on_boundary("return")
        fake.lost_count = 5
        local q = fake.queue
        q[#q + 1] = fake_core.event()
        observer.on_boundary("return")
        local lines = json_lines(read())
        assert.equal(3, #lines)
        assert.same({ "lost", 3 }, { lines[1].event, lines[1].count })
        assert.equal("path_open", lines[2].event)
        assert.same({ "lost", 2 }, { lines[3].event, lines[3].count })
      end)
  end)

  describe("process names", function()
    it("names every later event of a pid after its successful exec",
      function()
        local sink = observer.start({ format = "json", output = fh })
        debug.sethook()
        local q = fake.queue
        q[#q + 1] = fake_core.event("path_open", nil, { pid = 50 })
        q[#q + 1] = fake_core.event("proc_exec",
          { path = "/bin/cat", ret = 0, comm = "cat" }, { pid = 50 })
        q[#q + 1] = fake_core.event("path_open", nil, { pid = 50 })
        q[#q + 1] = fake_core.event("proc_exec",
          { path = "/nope", ret = -2, comm = "sh" }, { pid = 51 })
        q[#q + 1] = fake_core.event("path_open", nil, { pid = 51 })
        observer.on_boundary("return")
        observer.finish(sink, "stop", 1)
        local lines = json_lines(read())
        assert.equal(5, #lines)
        assert.equal(cjson.null, lines[1].comm)
        assert.equal("cat", lines[2].comm)
        assert.equal("cat", lines[3].comm)
        -- a failed exec changes nothing
        assert.equal(cjson.null, lines[4].comm)
        assert.equal(cjson.null, lines[5].comm)
      end)

    it("forgets them when a new observer opens", function()
      local sink = observer.start({ format = "json", output = fh })
      debug.sethook()
      local q = fake.queue
      q[#q + 1] = fake_core.event("proc_exec",
        { ret = 0, comm = "cat" }, { pid = 60 })
      observer.on_boundary("return")
      observer.finish(sink, "stop", 1)
      sink = observer.start({ format = "json", output = fh })
      debug.sethook()
      q = fake.queue
      q[#q + 1] = fake_core.event("path_open", nil, { pid = 60 })
      observer.on_boundary("return")
      observer.finish(sink, "stop", 1)
      local lines = json_lines(read())
      assert.equal("cat", lines[1].comm)
      assert.equal(cjson.null, lines[2].comm)
    end)
  end)

  describe("start()", function()
    it("hands pin_dir, connect and ring_size to the core", function()
      local sink = observer.start({ format = "json", output = fh,
        pin_dir = "/p", connect = "daemon", ring_size = 8192 })
      observer.finish(sink, "stop", 1)
      assert.same({ pin_dir = "/p", connect = "daemon", ring_size = 8192 },
        fake.open_opts)
    end)
  end)

  describe("the hook", function()
    -- debug.sethook drives the real handler here: the levels it sees are
    -- the ones the C hook gives it.
    it("attributes an event before a return to the returning function",
      function()
        local function opens()
          local q = fake.queue
          q[#q + 1] = fake_core.event()
        end
        local sink = observer.start({ format = "json", output = fh })
        opens()
        observer.finish(sink, "stop", 1)
        local e = json_lines(read())[1]
        assert.equal("opens", e["function"])
        assert.equal("return", e.boundary)
      end)

    it("attributes an event before a call to the caller", function()
      local function next_step() end
      local line
      local function opens_then_calls()
        local q = fake.queue
        q[#q + 1] = fake_core.event()
        line = debug.getinfo(1, "l").currentline next_step()
      end
      local sink = observer.start({ format = "json", output = fh })
      opens_then_calls()
      observer.finish(sink, "stop", 1)
      local e = json_lines(read())[1]
      assert.equal("opens_then_calls", e["function"])
      assert.equal("call", e.boundary)
      assert.matches("observer_spec%.lua:" .. line .. "$", e.location)
    end)

    it("names anonymous functions by where they are defined", function()
      local sink = observer.start({ format = "json", output = fh })
      local defined = this_line() ;(function()
        local q = fake.queue
        q[#q + 1] = fake_core.event()
      end)()
      observer.finish(sink, "stop", 1)
      local e = json_lines(read())[1]
      assert.matches("^<.*observer_spec%.lua:" .. defined .. ">$",
        e["function"])
    end)
  end)

  describe("internal frames", function()
    local vivarium

    before_each(function()
      vivarium = require "vivarium"
    end)

    after_each(function()
      observer.filter_internal = true
    end)

    local function run()
      vivarium.observe(function()
        local q = fake.queue
        q[#q + 1] = fake_core.event()
      end, { format = "json", output = fh })
      return json_lines(read())[1].stack
    end

    it("are left out of stacks", function()
      local stack = run()
      for _, frame in ipairs(stack) do
        assert.is_nil(frame:find("vivarium", 1, true), frame)
      end
      assert.matches("observer_spec%.lua", stack[2])
    end)

    it("are shown with VIVARIUM_FILTER_INTERNAL_FRAMES=0", function()
      observer.filter_internal = false
      local stack = run()
      local text = table.concat(stack, "\n")
      assert.matches("vivarium.lua:%d+: in function 'observe'", text)
      assert.matches("[C]: in function 'xpcall'", text, 1, true)
    end)

    it("are recognised by source name, embedded or from files", function()
      assert.is_true(observer.is_internal("vivarium.observer"))
      assert.is_true(observer.is_internal("vivarium"))
      assert.is_true(observer.is_internal("=vivarium"))
      assert.is_true(observer.is_internal("@lua/vivarium/formatter.lua"))
      assert.is_true(observer.is_internal("@lua/vivarium.lua"))
      assert.is_false(observer.is_internal("@lua/vivarium_user.lua"))
      assert.is_false(observer.is_internal("@script.lua"))
      assert.is_false(observer.is_internal("=stdin"))
    end)
  end)

  describe("run_script()", function()
    local script, out_path, saved_arg

    before_each(function()
      out_path = os.tmpname()
      saved_arg = rawget(_G, "arg")
    end)

    after_each(function()
      rawset(_G, "arg", saved_arg)
      if script then
        os.remove(script)
      end
      os.remove(out_path)
      ffi.C.unsetenv("VIVARIUM_FORMAT")
    end)

    local function output()
      local f = assert(io.open(out_path))
      local text = f:read("*a")
      f:close()
      return text
    end

    it("runs the script with its arguments, observed", function()
      script = write_file([[
local fake = package.loaded["vivarium.core"]
function work(a, b)
  local q = fake.queue
  q[#q + 1] = { name = "path_open", severity = "medium", pid = 1, tid = 1,
    ktime_ns = 1, payload = a .. b, fields = {} }
end
assert(arg[0] and arg[1] == "x" and select("#", ...) == 2)
work(...)
]])
      local status, msg = observer.run_script(script, { "x", "y" },
        { format = "json", output = out_path })
      assert.is_nil(msg)
      assert.equal(0, status)
      local e = json_lines(output())[1]
      assert.same({ "work", "xy" }, { e["function"], e.payload })
      assert.equal(1, fake.closed)
    end)

    it("returns 1, the error at file:line and a traceback, after printing "
      .. "the events before it", function()
        script = write_file([[
local fake = package.loaded["vivarium.core"]
function before()
  local q = fake.queue
  q[#q + 1] = { name = "path_open", severity = "medium", pid = 1, tid = 1,
    ktime_ns = 1, payload = "", fields = {} }
end
function fails() error("boom") end
before()
fails()
]])
        local status, msg = observer.run_script(script, {},
          { format = "json", output = out_path })
        assert.equal(1, status)
        assert.matches("%.lua:7: boom\nstack traceback:\n\t", msg)
        assert.matches("in function 'fails'", msg)
        assert.is_nil(msg:find("vivarium", 1, true))
        assert.equal("before", json_lines(output())[1]["function"])
        assert.equal(1, fake.closed)
      end)

    it("drains before os.exit", function()
      script = write_file([[
local fake = package.loaded["vivarium.core"]
local q = fake.queue
q[#q + 1] = { name = "path_open", severity = "medium", pid = 1, tid = 1,
  ktime_ns = 1, payload = "", fields = {} }
os.exit(3)
]])
      local real_exit = os.exit
      local seen
      os.exit = function(code)
        seen = { code, fake.closed, output() }
        error("exit called", 0)
      end
      local status = observer.run_script(script, {},
        { format = "json", output = out_path })
      os.exit = real_exit
      assert.equal(1, status)
      assert.equal(3, seen[1])
      assert.equal(1, seen[2])
      assert.equal("path_open", json_lines(seen[3])[1].event)
    end)

    it("returns 1 and the message for a syntax error", function()
      script = write_file("local x = = 1\n")
      local status, msg = observer.run_script(script, {}, {})
      assert.equal(1, status)
      assert.matches("^cannot load .*%.lua: .*%.lua:1: ", msg)
      assert.equal(0, fake.opened)
    end)

    it("returns 1 and one message for a missing script", function()
      local status, msg = observer.run_script("/nonexistent/x.lua", {}, {})
      assert.equal(1, status)
      assert.equal("cannot open /nonexistent/x.lua: No such file or "
        .. "directory", msg)
    end)

    it("returns 2 for an unknown format", function()
      local status, msg = observer.run_script("/nonexistent/x.lua", {},
        { format = "no_such_format" })
      assert.equal(2, status)
      assert.matches("unknown format 'no_such_format'", msg)
    end)

    it("names VIVARIUM_FORMAT when its value is wrong", function()
      ffi.C.setenv("VIVARIUM_FORMAT", "no_such_format", 1)
      local status, msg = observer.run_script("/nonexistent/x.lua", {}, {})
      assert.equal(2, status)
      assert.matches("^VIVARIUM_FORMAT: unknown format 'no_such_format'", msg)
    end)

    it("returns 2 for an output it cannot open", function()
      local status, msg = observer.run_script("/nonexistent/x.lua", {},
        { output = "/nonexistent/dir/out" })
      assert.equal(2, status)
      assert.matches("cannot open output /nonexistent/dir/out", msg)
    end)

    it("returns 1 without a message when the library said why", function()
      script = write_file("local x = 1\n")
      fake.fail, fake.logged = "connection refused", true
      local status, msg = observer.run_script(script, {},
        { output = out_path })
      assert.equal(1, status)
      assert.is_nil(msg)
    end)
  end)
end)
