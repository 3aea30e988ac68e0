-- Vivarium: which function of this script made the kernel do that?
--
--   local vivarium = require "vivarium"
--
--   vivarium.observe(function()
--     io.open("/etc/passwd"):close()
--   end)
--
--   local observer = vivarium.top_observe({ format = "json" })
--   -- ... everything from here on is observed ...
--   observer:stop()
--
-- Events of this process and of every process it starts are recorded by
-- the kernel and printed at the next Lua function call or return, with
-- the stack of the function they belong to. Options (all optional):
--
--   format   "human" (default), "json", a module name, a path to a .lua
--            file, or a formatter table (see vivarium/formatter.lua)
--   output   a path (appended to) or a file handle; default io.stdout
--   color    true/false; default: when output is a terminal
--   pin_dir  the daemon's pin directory; default vivarium.bpf_pin_dir
--   connect  "auto" (default: the daemon if it answers, else load the
--            kernel side here, which needs root), "daemon" or "local"
--   ring_size  bytes of ring buffer, a power of two of at least 4096;
--            through a daemon at most the daemon's own size
--
-- Observations nest: the process has one observer, and the innermost
-- observation's format and output apply while it runs. pin_dir, connect
-- and ring_size count only for the outermost one.

local core = require "vivarium.core"
local formatter = require "vivarium.formatter"
local observer = require "vivarium.observer"

local M = {}

-- The library's, so the two cannot drift apart.
M.VERSION = core.version

-- Read when an observation starts; VIVARIUM_BPF_PIN_DIR sets the default.
M.bpf_pin_dir = os.getenv("VIVARIUM_BPF_PIN_DIR") or "/sys/fs/bpf/vivarium"

local CONNECT = { auto = true, daemon = true, ["local"] = true }

local OPTION_TYPES = {
  format = { string = true, table = true },
  output = { string = true, file = true },
  color = { boolean = true },
  pin_dir = { string = true },
  connect = { string = true },
  ring_size = { number = true },
}

local MIN_RING = 4096
local MAX_RING = 2 ^ 30


local function power_of_two(v)
  local p = MIN_RING
  while p < v and p < MAX_RING do
    p = p * 2
  end
  return p == v
end


local function kind(v)
  if io.type(v) == "file" then
    return "file"
  end
  return type(v)
end


-- Check @opts of @what; errors point @level levels above this function.
local function check_opts(what, opts, level)
  if opts == nil then
    return {}
  end
  if type(opts) ~= "table" then
    error(what .. ": expected an options table, got " .. type(opts), level)
  end
  local out = {}
  for k, v in pairs(opts) do
    local types = OPTION_TYPES[k]
    if not types then
      error(("%s: unknown option '%s'"):format(what, tostring(k)), level)
    end
    if not types[kind(v)] then
      error(("%s: option '%s' must not be a %s"):format(what, k, kind(v)),
        level)
    end
    out[k] = v
  end
  if out.connect and not CONNECT[out.connect] then
    error(("%s: option 'connect' must be auto, daemon or local, got '%s'")
      :format(what, out.connect), level)
  end
  if out.ring_size and not power_of_two(out.ring_size) then
    error(("%s: option 'ring_size' must be a power of two from %d to %d, "
      .. "got %s"):format(what, MIN_RING, MAX_RING, tostring(out.ring_size)),
      level)
  end
  if out.pin_dir == nil then
    out.pin_dir = M.bpf_pin_dir
  end
  -- A format that does not load is the caller's mistake, not a failure.
  local fmt, name = formatter.load(out.format or "human")
  if not fmt then
    error(what .. ": " .. name, level)
  end
  out.format = fmt
  out.format_name = name
  return out
end


local function start(what, opts)
  local sink, err = observer.start(opts)
  if not sink then
    return nil, what .. ": " .. err
  end
  return sink
end


local function finish(sink, ok, ...)
  -- level 2: observe() tail-called this, so its caller
  observer.finish(sink, "stop", 2)
  if not ok then
    error((...), 0)
  end
  return ...
end


local function on_error(e)
  -- level 2: the function that raised, while its stack still stands
  observer.drain_at("error", 2)
  return e
end


-- Call fn(...) observed, and return its results. If it raises, the events
-- before the error are printed and the error is raised again. Failing to
-- start observing (no daemon and no root) is an error too: fn does not run.
function M.observe(fn, opts, ...)
  if type(fn) ~= "function" then
    error("observe: expected function, got " .. type(fn), 2)
  end
  opts = check_opts("observe", opts, 3)
  local sink, err = start("observe", opts)
  if not sink then
    error(err, 2)
  end
  return finish(sink, xpcall(fn, on_error, ...))
end


local Observation = {}
Observation.__index = Observation


-- Stop observing: print what is left and, if this was the last
-- observation, release the observer. Stopping twice does nothing.
function Observation:stop()
  if getmetatable(self) ~= Observation then
    error("stop: expected an observation (use observer:stop())", 2)
  end
  if self.sink then
    -- level 2: the caller of stop()
    observer.finish(self.sink, "stop", 2)
    self.sink = nil
  end
end


-- "daemon" or "local" while running, nil once stopped.
function Observation:mode()
  return self.sink and observer.mode() or nil
end


-- Observe from here on until :stop(). Returns the observation, or nil
-- and an error when observing cannot start.
function M.top_observe(opts)
  opts = check_opts("top_observe", opts, 3)
  local sink, err = start("top_observe", opts)
  if not sink then
    return nil, err
  end
  return setmetatable({ sink = sink }, Observation)
end


return M
