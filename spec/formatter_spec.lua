local fake_core = require "spec.fake_core"
local cjson = require "cjson"


local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end


local function batch(extra)
  local b = {
    events = {
      fake_core.event("path_open", { path = "/tmp/x", flags = "O_RDONLY",
        ret = 3 }, { payload = "path=/tmp/x flags=O_RDONLY ret=3",
        ktime_ns = 1234567890123 }),
      fake_core.event("proc_exec", { path = "/bin/true", argv = {} },
        { severity = "high", payload = "path=/bin/true argv=[]",
          ktime_ns = 1234600000000 }),
    },
    lost = 0,
    boundary = "return",
    func = "a",
    location = "script.lua:12",
    stack = {
      "script.lua:12: in function 'a'",
      "script.lua:20: in main chunk",
    },
    color = false,
  }
  for k, v in pairs(extra or {}) do
    b[k] = v
  end
  return b
end


describe("vivarium.formatter", function()
  local formatter

  before_each(function()
    fake_core.install()
    formatter = require "vivarium.formatter"
  end)

  describe("load()", function()
    it("finds human and json by name", function()
      local h, name = formatter.load("human")
      assert.equal(require "vivarium.formatter.human", h)
      assert.equal("human", name)
      assert.equal(require "vivarium.formatter.json",
        (formatter.load("json")))
    end)

    it("takes a formatter table as it is", function()
      local t = { format = function() end }
      assert.same({ t, "custom" }, { formatter.load(t) })
    end)

    it("finds a module by name", function()
      package.loaded["spec_formatter_module"] = { format = function() end }
      local f, name = formatter.load("spec_formatter_module")
      assert.equal(package.loaded["spec_formatter_module"], f)
      assert.equal("spec_formatter_module", name)
      package.loaded["spec_formatter_module"] = nil
    end)

    it("loads a .lua file", function()
      local path = fake_core.tmp_lua()
      write_file(path, "return { format = function() return 'x' end }")
      local f, name = formatter.load(path)
      os.remove(path)
      assert.equal(path, name)
      assert.equal("x", f.format({}))
    end)

    it("refuses a name that is nothing it knows", function()
      assert.same({ nil, "unknown format 'no_such_format': not human, json, "
        .. "a module or a .lua file" }, { formatter.load("no_such_format") })
    end)

    it("refuses a .lua file that is not there", function()
      local f, err = formatter.load("/nonexistent/f.lua")
      assert.is_nil(f)
      assert.matches("^format '/nonexistent/f.lua': cannot open", err)
    end)

    it("refuses a file that does not return a formatter", function()
      local path = fake_core.tmp_lua()
      write_file(path, "return 42")
      local f, err = formatter.load(path)
      os.remove(path)
      assert.is_nil(f)
      assert.matches("expected a table with a format function, got number",
        err)
    end)

    it("refuses a module that raises while loading", function()
      package.preload["spec_broken_module"] = function()
        error("broken on purpose")
      end
      local f, err = formatter.load("spec_broken_module")
      package.preload["spec_broken_module"] = nil
      assert.is_nil(f)
      assert.matches("^format 'spec_broken_module': failed to load: .*"
        .. "broken on purpose", err)
    end)

    it("refuses something that is not a string or a table", function()
      local f, err = formatter.load(42)
      assert.is_nil(f)
      assert.matches("got number", err)
    end)
  end)

  describe("safe()", function()
    it("passes the formatter's text through", function()
      local f = formatter.safe({ format = function() return "ok\n" end }, "t")
      assert.equal("ok\n", f(batch()))
    end)

    it("falls back to human for this batch and the next, saying so once",
      function()
        local reports = {}
        local calls = 0
        local f = formatter.safe({
          format = function()
            calls = calls + 1
            error("nope", 0)
          end,
        }, "broken", function(msg)
          reports[#reports + 1] = msg
        end)
        local human = require "vivarium.formatter.human"
        assert.equal(human.format(batch()), f(batch()))
        assert.equal(human.format(batch()), f(batch()))
        assert.same({ "vivarium: formatter 'broken' failed: nope; falling "
          .. "back to human" }, reports)
        assert.equal(1, calls)
      end)

    it("treats a result that is not a string as a failure", function()
      local reports = {}
      local f = formatter.safe({ format = function() return {} end }, "t",
        function(msg) reports[#reports + 1] = msg end)
      assert.matches("^%[vivarium%] 2 event", f(batch()))
      assert.matches("returned a table, expected a string or nil",
        reports[1])
    end)
  end)
end)


describe("vivarium.formatter.human", function()
  local human

  before_each(function()
    fake_core.install()
    human = require "vivarium.formatter.human"
  end)

  it("prints the gem's layout", function()
    assert.equal(table.concat({
      "[vivarium] 2 event(s) at script.lua:12 in function 'a'",
      "  1234.567890123 pid=4321 tid=4322 medium path_open "
        .. "path=/tmp/x flags=O_RDONLY ret=3",
      "  1234.600000000 pid=4321 tid=4322 high proc_exec "
        .. "path=/bin/true argv=[]",
      "  stack:",
      "    script.lua:12: in function 'a'",
      "    script.lua:20: in main chunk",
      "",
    }, "\n"), human.format(batch()))
  end)

  it("follows a pid with its command when it is known", function()
    local b = batch()
    b.events[2].comm = "true"
    local text = human.format(b)
    assert.matches("\n  1234%.600000000 pid=4321 %(true%) tid=4322 high "
      .. "proc_exec", text)
    assert.matches("\n  1234%.567890123 pid=4321 tid=4322 medium", text)
  end)

  it("paints high severity red on a terminal, and only there", function()
    local text = human.format(batch({ color = true }))
    assert.matches("\n  \27%[31m1234%.600000000 [^\n]* high proc_exec "
      .. "[^\n]*\27%[0m\n", text)
    assert.is_nil(text:find("\27[31m1234.567890123", 1, true))
    assert.is_nil(human.format(batch()):find("\27", 1, true))
  end)

  it("says how many events were lost", function()
    local text = human.format(batch({ lost = 7 }))
    assert.matches("\n  7 event%(s%) lost before this point %(ring full%)\n"
      .. "  stack:\n", text)
  end)

  it("names the main chunk and anonymous functions", function()
    assert.matches("^%[vivarium%] 2 event%(s%) at s.lua:1 in main chunk\n",
      human.format(batch({ func = "main chunk", location = "s.lua:1" })))
    assert.matches("in function <s.lua:3>\n",
      human.format(batch({ func = "<s.lua:3>" })))
  end)
end)


describe("vivarium.formatter.json", function()
  local json

  before_each(function()
    fake_core.install()
    json = require "vivarium.formatter.json"
  end)

  local function decode_lines(text)
    local out = {}
    for line in text:gmatch("[^\n]+") do
      out[#out + 1] = cjson.decode(line)
    end
    return out
  end

  it("prints one object per event that parses back with every field",
    function()
      local lines = decode_lines(json.format(batch()))
      assert.equal(2, #lines)
      assert.same({
        event = "path_open",
        severity = "medium",
        ktime_ns = 1234567890123,
        pid = 4321,
        tid = 4322,
        comm = cjson.null,
        payload = "path=/tmp/x flags=O_RDONLY ret=3",
        fields = { path = "/tmp/x", flags = "O_RDONLY", ret = 3 },
        ["function"] = "a",
        location = "script.lua:12",
        stack = {
          "script.lua:12: in function 'a'",
          "script.lua:20: in main chunk",
        },
        boundary = "return",
      }, lines[1])
      assert.equal("high", lines[2].severity)
    end)

  it("names the command of a process whose exec was seen", function()
    local b = batch()
    b.events[1].comm = "cat"
    local lines = decode_lines(json.format(b))
    assert.equal("cat", lines[1].comm)
    assert.equal(cjson.null, lines[2].comm)
  end)

  it("starts each line with the event name and keeps slashes plain",
    function()
      local text = json.format(batch())
      assert.matches('^{"event":"path_open","severity":"medium",', text)
      assert.matches('"path":"/tmp/x"', text, 1, true)
    end)

  it("writes an empty list as an array", function()
    local text = json.format(batch())
    assert.matches('"argv":[]', text, 1, true)
  end)

  it("writes bytes that are not UTF-8 as \\xNN and stays parseable",
    function()
      local b = batch()
      b.events = { fake_core.event("path_open",
        { path = "/tmp/\255bad\195", argv = { "ok\128" } },
        { payload = "path=/tmp/\255bad\195" }) }
      local e = decode_lines(json.format(b))[1]
      assert.equal("/tmp/\\xFFbad\\xC3", e.fields.path)
      assert.equal("ok\\x80", e.fields.argv[1])
      assert.equal("path=/tmp/\\xFFbad\\xC3", e.payload)
    end)

  it("keeps valid UTF-8 and escapes quotes and control characters",
    function()
      local b = batch()
      b.events = { fake_core.event("path_open",
        { path = "/tmp/caf\195\169 \"q\"\n\\" }) }
      local e = decode_lines(json.format(b))[1]
      assert.equal("/tmp/caf\195\169 \"q\"\n\\", e.fields.path)
    end)

  it("prints a line for lost events", function()
    local lines = decode_lines(json.format(batch({ events = {}, lost = 4 })))
    assert.same({
      event = "lost",
      count = 4,
      severity = "high",
      ["function"] = "a",
      location = "script.lua:12",
      stack = {
        "script.lua:12: in function 'a'",
        "script.lua:20: in main chunk",
      },
      boundary = "return",
    }, lines[1])
  end)

  it("prints nothing for an empty batch", function()
    assert.is_nil(json.format(batch({ events = {} })))
  end)
end)
