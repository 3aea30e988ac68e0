local fake_core = require "spec.fake_core"
local cjson = require "cjson"


local function json_lines(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    out[#out + 1] = cjson.decode(line)
  end
  return out
end


describe("vivarium", function()
  local fake, vivarium, fh, read, done

  before_each(function()
    fake = fake_core.install()
    vivarium = require "vivarium"
    fh, read, done = fake_core.sink()
  end)

  after_each(function()
    debug.sethook()
    done()
  end)

  describe("observe()", function()
    it("returns the results of the function", function()
      local a, b = vivarium.observe(function(x)
        return x, "two"
      end, { output = fh }, 1)
      assert.equal(1, a)
      assert.equal("two", b)
    end)

    it("opens the observer for the call and closes it after", function()
      local inside
      vivarium.observe(function()
        inside = { fake.opened, fake.closed, fake.hooked }
      end, { output = fh })
      assert.same({ 1, 0, true }, inside)
      assert.equal(1, fake.closed)
      assert.is_false(fake.hooked)
    end)

    it("stops and raises the error again when the function raises", function()
      local ok, err = pcall(vivarium.observe, function()
        error("boom", 0)
      end, { output = fh })
      assert.is_false(ok)
      assert.equal("boom", err)
      assert.equal(1, fake.closed)
      assert.is_nil(debug.gethook())
    end)

    it("prints the events made before the error, attributed to the raiser",
      function()
        local function raiser()
          local q = fake.queue
          q[#q + 1] = fake_core.event()
          local t = nil
          t.x = 1 -- raises without calling anything
        end
        pcall(vivarium.observe, function()
          raiser()
        end, { output = fh, format = "json" })
        local events = json_lines(read())
        assert.equal(1, #events)
        -- the hook may get there first, at the call of the error handler
        assert.equal("raiser", events[1]["function"])
      end)

    it("rejects a non-function, pointing at the caller", function()
      local ok, err = pcall(function()
        vivarium.observe(42)
      end)
      assert.is_false(ok)
      assert.matches("vivarium_spec%.lua:%d+: observe: expected function, "
        .. "got number", err)
    end)

    it("rejects an unknown option", function()
      assert.has_error(function()
        vivarium.observe(function() end, { fromat = "json" })
      end)
      local ok, err = pcall(vivarium.observe, function() end, { fromat = 1 })
      assert.is_false(ok)
      assert.matches("observe: unknown option 'fromat'", err)
    end)

    it("rejects an option of the wrong type", function()
      local ok, err = pcall(vivarium.observe, function() end, { output = 3 })
      assert.is_false(ok)
      assert.matches("option 'output' must not be a number", err)
    end)

    it("passes ring_size to the core and refuses one that is not a power "
      .. "of two", function()
        vivarium.observe(function() end, { ring_size = 16384 })
        assert.equal(16384, fake.open_opts.ring_size)
        local ok, err = pcall(vivarium.observe, function() end,
          { ring_size = 5000 })
        assert.is_false(ok)
        assert.matches("observe: option 'ring_size' must be a power of two "
          .. "from 4096 to 1073741824, got 5000", err, 1, true)
        ok, err = pcall(vivarium.observe, function() end, { ring_size = 2048 })
        assert.is_false(ok)
      end)

    it("rejects an unknown format before observing", function()
      local ok, err = pcall(vivarium.observe, function() end,
        { format = "no_such_format_module" })
      assert.is_false(ok)
      assert.matches("unknown format 'no_such_format_module': not human, "
        .. "json, a module or a .lua file", err, 1, true)
      assert.equal(0, fake.opened)
    end)

    it("raises when observing cannot start, without running the function",
      function()
        fake.fail = "connection refused"
        local ran = false
        local ok, err = pcall(vivarium.observe, function()
          ran = true
        end, { output = fh })
        assert.is_false(ok)
        assert.matches("observe: connection refused", err)
        assert.is_false(ran)
      end)

    it("passes pin_dir and connect to the observer", function()
      vivarium.observe(function() end,
        { output = fh, pin_dir = "/sys/fs/bpf/x", connect = "daemon" })
      assert.same({ pin_dir = "/sys/fs/bpf/x", connect = "daemon" },
        fake.open_opts)
    end)

    it("uses vivarium.bpf_pin_dir by default", function()
      vivarium.bpf_pin_dir = "/sys/fs/bpf/elsewhere"
      vivarium.observe(function() end, { output = fh })
      assert.equal("/sys/fs/bpf/elsewhere", fake.open_opts.pin_dir)
    end)

    it("rejects a connect mode it does not know", function()
      local ok, err = pcall(vivarium.observe, function() end,
        { connect = "remote" })
      assert.is_false(ok)
      assert.matches("must be auto, daemon or local", err)
    end)

    it("reuses one observer when nested, printing with the innermost format",
      function()
        local function outer_work()
          local q = fake.queue
          q[#q + 1] = fake_core.event()
        end
        local function inner_work()
          local q = fake.queue
          q[#q + 1] = fake_core.event("proc_exec")
        end
        vivarium.observe(function()
          vivarium.observe(function()
            inner_work()
          end, { format = "json", output = fh })
          outer_work()
        end, { format = "human", output = fh })
        assert.equal(1, fake.opened)
        assert.equal(1, fake.closed)
        local text = read()
        assert.matches('{"event":"proc_exec"', text, 1, true)
        assert.matches("[vivarium] 1 event(s) at ", text, 1, true)
        assert.matches("in function 'outer_work'", text, 1, true)
      end)
  end)

  describe("top_observe()", function()
    it("observes until stop()", function()
      local obs = vivarium.top_observe({ output = fh, format = "json" })
      local function work()
        local q = fake.queue
        q[#q + 1] = fake_core.event()
      end
      work()
      obs:stop()
      assert.equal(1, fake.closed)
      local events = json_lines(read())
      assert.equal("work", events[1]["function"])
    end)

    it("stops once however often stop() is called", function()
      local obs = vivarium.top_observe({ output = fh })
      obs:stop()
      obs:stop()
      assert.equal(1, fake.closed)
      assert.is_nil(obs:mode())
    end)

    it("reports the mode while running", function()
      local obs = vivarium.top_observe({ output = fh })
      assert.equal("daemon", obs:mode())
      obs:stop()
    end)

    it("prints what is left at stop(), on behalf of its caller", function()
      local obs = vivarium.top_observe({ output = fh, format = "json" })
      local q = fake.queue
      q[#q + 1] = fake_core.event()
      local line = debug.getinfo(1, "l").currentline obs:stop()
      local events = json_lines(read())
      assert.equal(1, #events)
      assert.matches("vivarium_spec%.lua:" .. line .. "$",
        events[1].location)
    end)

    it("returns nil and an error when observing cannot start", function()
      fake.fail = "no daemon"
      local obs, err = vivarium.top_observe({ output = fh })
      assert.is_nil(obs)
      assert.equal("top_observe: no daemon", err)
    end)

    it("rejects options that are not a table", function()
      local ok, err = pcall(vivarium.top_observe, "json")
      assert.is_false(ok)
      assert.matches("top_observe: expected an options table, got string",
        err)
    end)

    it("rejects stop() called with a dot", function()
      local obs = vivarium.top_observe({ output = fh })
      assert.has_error(function()
        obs.stop()
      end, nil)
      obs:stop()
    end)
  end)
end)
