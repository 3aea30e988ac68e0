local fake_core = require "spec.fake_core"


local function write_file(text)
  local path = fake_core.tmp_lua()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end


describe("vivarium.daemon", function()
  local daemon

  before_each(function()
    fake_core.install()
    daemon = require "vivarium.daemon"
  end)

  describe("validate()", function()
    it("accepts every key with a good value", function()
      local cfg = {
        pin_dir = "/sys/fs/bpf/vivarium",
        events = { "path_open", "sock_connect" },
        backend = "tracepoint",
        log = "stderr",
        log_level = "info",
        ring_size = 1048576,
      }
      assert.same(cfg, daemon.validate(cfg))
    end)

    it("accepts an empty table", function()
      assert.same({}, daemon.validate({}))
    end)

    it("refuses an unknown key, naming it", function()
      assert.same({ nil, "unknown key 'pindir' (known: backend, events, "
        .. "log, log_level, pin_dir, ring_size)" },
        { daemon.validate({ pindir = "/x" }) })
    end)

    it("refuses an unknown event, naming it", function()
      assert.same({ nil, "events[2]: unknown event 'file_open' (known: "
        .. "path_open, proc_exec, sock_connect)" },
        { daemon.validate({ events = { "path_open", "file_open" } }) })
    end)

    it("refuses events that are not a list", function()
      local _, err = daemon.validate({ events = "path_open" })
      assert.equal("'events' must be a list of event names, got string", err)
      _, err = daemon.validate({ events = { path_open = true } })
      assert.equal("'events' must be a list of event names, not a map", err)
      _, err = daemon.validate({ events = {} })
      assert.matches("^'events' is empty", err)
    end)

    it("refuses values of the wrong type, naming the key", function()
      assert.equal("'pin_dir' must be a non-empty string, got number",
        select(2, daemon.validate({ pin_dir = 1 })))
      assert.equal("'log' must be a non-empty string, got an empty string",
        select(2, daemon.validate({ log = "" })))
      assert.equal("'ring_size' must be a number, got string",
        select(2, daemon.validate({ ring_size = "1M" })))
    end)

    it("refuses a ring size that is not a power of two", function()
      assert.matches("^'ring_size' must be a power of two",
        select(2, daemon.validate({ ring_size = 1000000 })))
      assert.matches("^'ring_size' must be a power of two",
        select(2, daemon.validate({ ring_size = 1024 })))
    end)

    it("refuses a log level or backend it does not know", function()
      assert.equal("'log_level' must be one of warn, info, debug, got "
        .. "'verbose'", select(2, daemon.validate({ log_level = "verbose" })))
      assert.equal("'backend' must be one of auto, lsm, tracepoint, got "
        .. "'kprobe'", select(2, daemon.validate({ backend = "kprobe" })))
    end)
  end)

  describe("load()", function()
    local path

    after_each(function()
      if path then
        os.remove(path)
        path = nil
      end
    end)

    it("runs the file and validates what it returns", function()
      path = write_file([[
local dir = "/sys/fs/bpf/" .. "mine"
return { pin_dir = dir, events = { "proc_exec" } }
]])
      assert.same({ pin_dir = "/sys/fs/bpf/mine", events = { "proc_exec" } },
        daemon.load(path))
    end)

    it("prefixes problems with the file name", function()
      path = write_file("return { bogus = 1 }")
      local cfg, err = daemon.load(path)
      assert.is_nil(cfg)
      assert.equal(path .. ": unknown key 'bogus'", err:match("^[^(]*[^ (]"))
    end)

    it("refuses a file that returns no table", function()
      path = write_file("local x = 1")
      assert.equal(path .. ": expected the file to return a table, got nil",
        select(2, daemon.load(path)))
    end)

    it("reports a syntax error and a runtime error with the file name",
      function()
        path = write_file("return {")
        assert.matches("%.lua:1:", select(2, daemon.load(path)))
        os.remove(path)
        path = write_file("error('bad config')")
        assert.matches("%.lua: failed: .*bad config",
          select(2, daemon.load(path)))
      end)

    it("reports a file that is not there", function()
      local cfg, err = daemon.load("/nonexistent/daemon.lua")
      assert.is_nil(cfg)
      assert.matches("/nonexistent/daemon.lua", err)
    end)
  end)
end)
