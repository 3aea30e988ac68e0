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
        caps = { 21, 13 },
        filters = { path_open = { prefixes = { "/etc/", "/tmp/" } } },
        debug = true,
      }
      assert.same(cfg, daemon.validate(cfg))
    end)

    describe("caps", function()
      it("turns names into CAP_* numbers, whatever their case", function()
        assert.same({ 21, 13, 0, 40 }, daemon.validate({
          caps = { "CAP_SYS_ADMIN", "net_raw", "cap_chown",
            "CAP_CHECKPOINT_RESTORE", 21 },
        }).caps)
      end)

      it("refuses an unknown name, naming it", function()
        assert.equal("caps[2]: unknown capability 'CAP_SYS_ADMN' (names as "
          .. "in capabilities(7), e.g. CAP_SYS_ADMIN, or numbers 0 to 63)",
          select(2, daemon.validate({ caps = { "CAP_KILL", "CAP_SYS_ADMN" } })))
        assert.matches("^caps%[1%]: unknown capability '64'",
          select(2, daemon.validate({ caps = { 64 } })))
      end)

      it("refuses an empty list, a map and a string", function()
        assert.matches("^'caps' is empty",
          select(2, daemon.validate({ caps = {} })))
        assert.equal("'caps' must be a list of capability names, got a map",
          select(2, daemon.validate({ caps = { admin = true } })))
        assert.equal("'caps' must be a list of capability names, got string",
          select(2, daemon.validate({ caps = "CAP_SYS_ADMIN" })))
      end)
    end)

    describe("filters", function()
      it("takes path_open prefixes", function()
        assert.same({ path_open = { prefixes = { "/etc/" } } },
          daemon.validate({
            filters = { path_open = { prefixes = { "/etc/" } } },
          }).filters)
      end)

      it("refuses other events and other keys", function()
        assert.equal("filters: only path_open can be filtered, got "
          .. "'proc_exec'", select(2, daemon.validate({
            filters = { proc_exec = { prefixes = { "/" } } } })))
        assert.equal("filters.path_open: unknown key 'prefix' (known: "
          .. "prefixes)", select(2, daemon.validate({
            filters = { path_open = { prefix = { "/" } } } })))
      end)

      it("refuses prefixes the kernel side cannot hold", function()
        local many = {}
        for i = 1, 9 do
          many[i] = "/p" .. i
        end
        assert.equal("'filters.path_open.prefixes' holds 9 prefixes; the "
          .. "kernel side takes at most 8", select(2, daemon.validate({
            filters = { path_open = { prefixes = many } } })))
        assert.equal("filters.path_open.prefixes[1] is 64 bytes long; at "
          .. "most 63 fit", select(2, daemon.validate({
            filters = { path_open = { prefixes = { ("x"):rep(64) } } } })))
        assert.equal("filters.path_open.prefixes[1] must be a non-empty "
          .. "string", select(2, daemon.validate({
            filters = { path_open = { prefixes = { "" } } } })))
        assert.matches("must be a non%-empty list", select(2,
          daemon.validate({ filters = { path_open = { prefixes = {} } } })))
      end)
    end)

    it("takes debug as a boolean only", function()
      assert.is_true(daemon.validate({ debug = true }).debug)
      assert.equal("'debug' must be true or false, got string",
        select(2, daemon.validate({ debug = "yes" })))
    end)

    it("accepts an empty table", function()
      assert.same({}, daemon.validate({}))
    end)

    it("refuses an unknown key, naming it", function()
      assert.same({ nil, "unknown key 'pindir' (known: backend, caps, "
        .. "debug, events, filters, log, log_level, pin_dir, ring_size)" },
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
