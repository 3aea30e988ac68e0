-- The Lua side of an observed script, measured from inside one:
--
--   vivarium observe -o /dev/null bench/observe.lua hook [ROUNDS [CALLS]]
--   vivarium observe -o /dev/null bench/observe.lua events DIR [ROUNDS [N]]
--
-- hook: what the boundary hook costs a Lua call and return when no event
-- is pending. The real hook (bin/lua_core.c, with its real observer) is
-- set and cleared in turn inside one process, and a loop of calls to a
-- small Lua function is timed in CPU time (os.clock) under four settings:
--
--   hook_jit     the hook set, JIT compiler on (how scripts run observed)
--   hook_interp  the hook set, jit.off()
--   bare_interp  no hook, jit.off(): the baseline that isolates the hook
--   bare_jit     no hook, JIT on: how the script runs unobserved
--
-- events: what one delivered event costs the script end to end (kernel,
-- drain, decode into Lua, stack, formatter, write), from a loop of
-- io.open + close with the hook set against the same loop with it
-- cleared; then the pieces, each per event: the native drain into Lua
-- tables, the stack walk, and the human and json formatters.
--
-- Settings rotate from round to round and each figure is the median of
-- its rounds. Prints "key value" lines on stderr (stdout carries the
-- events), each key prefixed with $BENCH_TAG. Under a plain luajit the
-- hook settings are skipped.

local mode = arg and arg[1] or "hook"

local clock = os.clock


local function median(t)
  local s = {}
  for i, v in ipairs(t) do
    s[i] = v
  end
  table.sort(s)
  local n = #s
  if n == 0 then
    return 0
  end
  if n % 2 == 1 then
    return s[(n + 1) / 2]
  end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end


-- BENCH_TAG prefixes the keys, to tell runs with different formatters
-- apart.
local tag = os.getenv("BENCH_TAG") or ""

local function report(key, value)
  io.stderr:write(("%s%s %.2f\n"):format(tag, key, value))
end


-- The observer and the hook handler of `vivarium observe`, found through
-- the observer module's upvalues: the benchmark needs to clear and set
-- the very hook the host installed, and no public API does that. The
-- host's bytecode carries no upvalue names, so the state table is told
-- by its fields.
local function find_host()
  local ok, core = pcall(require, "vivarium.core")
  if not ok then
    return nil
  end
  local observer = require "vivarium.observer"
  local i = 1
  while true do
    local name, value = debug.getupvalue(observer.mode, i)
    if not name then
      return nil
    end
    if type(value) == "table" and value.obs and value.sinks then
      return {
        core = core,
        observer = observer,
        state = value,
        set = function()
          core.sethook(value.obs, observer.on_boundary)
        end,
        clear = function()
          core.clearhook()
        end,
      }
    end
    i = i + 1
  end
end


-- ---- hook ------------------------------------------------------------------

-- The timed loop, compiled afresh for every measurement. LuaJIT tries
-- to record a hot loop even while a hook is set, aborts ("hook called
-- during recording") and after a few aborts blacklists the loop's
-- bytecode for good, jit.flush() or not; a loop shared by all settings
-- would then never be compiled again once a hooked setting ran. The
-- callee is a separate function so that the interpreter makes a real
-- call and return each time.
local LOOP = [[
local clock = ...
local function work(x)
  return x + 1
end
return function(n)
  local s = 0
  local t0 = clock()
  for _ = 1, n do
    s = work(s)
  end
  local dt = clock() - t0
  assert(s == n)
  return dt * 1e9 / n
end
]]


local function run_loop(n)
  local loop = assert(loadstring(LOOP, "=hook_loop"))(clock)
  return loop(n)
end


local function bench_hook(host)
  local rounds = tonumber(arg[2]) or 7
  local calls = tonumber(arg[3]) or 2000000
  local settings = { "bare_interp", "bare_jit" }
  if host then
    settings = { "hook_jit", "hook_interp", "bare_interp", "bare_jit" }
  end

  -- The hook first: setting or clearing it may switch the compiler.
  local function enter(setting)
    if host then
      if setting:find("^hook") then
        host.set()
      else
        host.clear()
      end
    end
    if setting:find("interp", 1, true) then
      jit.off()
    else
      jit.on()
    end
    jit.flush()
  end

  local results = {}
  for _, s in ipairs(settings) do
    results[s] = {}
  end
  run_loop(calls / 10)
  for r = 1, rounds do
    for k = 1, #settings do
      local s = settings[(k + r - 2) % #settings + 1]
      enter(s)
      results[s][r] = run_loop(calls)
    end
  end
  jit.on()
  if host then
    host.set()
  end

  for _, s in ipairs(settings) do
    report("hook_" .. s .. "_ns", median(results[s]))
  end
  if host then
    local cost = {}
    for r = 1, rounds do
      cost[r] = results.hook_interp[r] - results.bare_interp[r]
    end
    report("hook_cost_ns", median(cost))
  end
end


-- ---- events ----------------------------------------------------------------

local function open_loop(path, n)
  local t0 = clock()
  for _ = 1, n do
    io.open(path, "r"):close()
  end
  return (clock() - t0) * 1e9 / n
end


-- The pieces of a boundary, timed on @k events made with the hook off.
-- They run as they do inside the hook: interpreted (no trace is recorded
-- in a hook) and without hooks firing (LuaJIT runs none inside one).
-- Returns ns per event of the drain into Lua, ns per stack walk, and ns
-- per event of the human and json formatters.
local function pieces(host, path, k)
  local core, observer, state = host.core, host.observer, host.state
  host.clear()
  jit.off()
  for _ = 1, k do
    io.open(path, "r"):close()
  end
  local t0 = clock()
  local events = core.drain(state.obs)
  local t_drain = clock() - t0
  local n = #events
  if n == 0 then
    jit.on()
    host.set()
    return nil
  end
  observer.name_processes(events)

  t0 = clock()
  local lines, func, location
  for _ = 1, 100 do
    lines, func, location = observer.stack(1)
  end
  local t_stack = (clock() - t0) / 100

  local batch = {
    events = events, lost = 0, boundary = "call", func = func or "?",
    location = location or "?", stack = lines, color = false,
  }
  local out = {}
  for _, name in ipairs({ "human", "json" }) do
    local fmt = require("vivarium.formatter." .. name)
    t0 = clock()
    fmt.format(batch)
    out[name] = (clock() - t0) * 1e9 / n
  end
  jit.on()
  host.set()
  return t_drain * 1e9 / n, t_stack * 1e9, out.human, out.json
end


local function bench_events(host)
  local dir = assert(arg[2], "events: expected a directory")
  local rounds = tonumber(arg[3]) or 7
  local n = tonumber(arg[4]) or 1000
  local path = dir .. "/observe-events.txt"
  local f = assert(io.open(path, "w"))
  f:write("x")
  f:close()

  local hooked, bare, cost = {}, {}, {}
  local drain, stack, human, json = {}, {}, {}, {}
  open_loop(path, n / 10)
  for r = 1, rounds do
    local order = r % 2 == 1 and { true, false } or { false, true }
    for _, on in ipairs(order) do
      if on then
        host.set()
        hooked[r] = open_loop(path, n)
      else
        host.clear()
        bare[r] = open_loop(path, n)
        -- what piled up goes out now, before the next timed loop
        host.set()
        open_loop(path, 1)
      end
    end
    cost[r] = hooked[r] - bare[r]
    drain[r], stack[r], human[r], json[r] = pieces(host, path, n)
  end
  os.remove(path)
  report("events_open_hooked_ns", median(hooked))
  report("events_open_bare_ns", median(bare))
  report("events_cost_ns", median(cost))
  report("events_drain_ns", median(drain))
  report("events_stack_ns", median(stack))
  report("events_human_ns", median(human))
  report("events_json_ns", median(json))
end


local host = find_host()
if mode == "hook" then
  bench_hook(host)
elseif mode == "events" then
  assert(host, "events: run under `vivarium observe`")
  bench_events(host)
else
  error("observe.lua: unknown mode " .. tostring(mode))
end
