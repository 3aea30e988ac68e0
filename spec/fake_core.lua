-- A stand-in for vivarium.core, so the specs need neither root nor BPF.
-- Events are queued by the spec (fake.queue[#fake.queue + 1] = event: no
-- function call, so no boundary of its own) and drained like the real
-- ring. The hook is a real debug.sethook hook that hands over to the
-- handler only while events wait, as the C hook does; the tail call keeps
-- the stack levels the same as under the C hook.

local M = {}


function M.new()
  local fake = {
    queue = {},
    lost_count = 0,
    opened = 0,
    closed = 0,
    hooked = false,
    tty = false,
    fail = nil,
    logged = false,
    open_opts = nil,
    names = { "path_open", "proc_exec", "sock_connect" },
  }

  function fake.open(opts)
    fake.open_opts = opts
    if fake.fail then
      return nil, fake.fail, fake.logged
    end
    fake.opened = fake.opened + 1
    return { id = fake.opened }
  end

  function fake.drain()
    local q = fake.queue
    fake.queue = {}
    return q
  end

  function fake.pending()
    return #fake.queue > 0
  end

  function fake.lost()
    return fake.lost_count
  end

  function fake.mode()
    return "daemon"
  end

  function fake.close()
    fake.closed = fake.closed + 1
  end

  function fake.sethook(_, handler)
    fake.hooked = true
    debug.sethook(function(event)
      if #fake.queue > 0 or fake.lost_count > 0 then
        return handler(event)
      end
    end, "cr")
  end

  function fake.clearhook()
    fake.hooked = false
    debug.sethook()
  end

  function fake.isatty()
    return fake.tty
  end

  function fake.event_names()
    return fake.names
  end

  return fake
end


-- An event as the native module decodes it.
function M.event(name, fields, extra)
  local e = {
    name = name or "path_open",
    kind = 1,
    severity = "medium",
    pid = 4321,
    tid = 4322,
    ktime_ns = 1234567890123,
    payload = "path=/tmp/x ret=3",
    fields = fields or { path = "/tmp/x", ret = 3 },
  }
  for k, v in pairs(extra or {}) do
    e[k] = v
  end
  return e
end


-- Fresh vivarium modules on top of a fresh fake core.
function M.install()
  for name in pairs(package.loaded) do
    if name == "vivarium" or name:find("^vivarium%.") then
      package.loaded[name] = nil
    end
  end
  local fake = M.new()
  package.loaded["vivarium.core"] = fake
  return fake
end


-- A fresh path ending in .lua; os.tmpname() creates its file, which goes.
function M.tmp_lua()
  local base = assert(os.tmpname())
  os.remove(base)
  return base .. ".lua"
end


-- A file handle collecting what is written to it.
function M.sink()
  local path = os.tmpname()
  local fh = assert(io.open(path, "w+"))
  return fh, function()
    fh:flush()
    local r = assert(io.open(path, "r"))
    local text = r:read("*a")
    r:close()
    return text
  end, function()
    fh:close()
    os.remove(path)
  end
end


return M
