-- The process's one observer, the boundary hook that drains it, and the
-- batches that go to the formatters.
--
-- Every observation (an observe() call, a top_observe(), the script run by
-- `vivarium observe`) pushes a sink: a formatter and a destination. The
-- first opens the observer and sets the hook; nested ones reuse it and the
-- innermost sink gets the batches; the last one to stop drains what is
-- left and closes the observer.

local core = require "vivarium.core"
local formatter = require "vivarium.formatter"

local getinfo = debug.getinfo
local concat = table.concat

local M = {}

-- How deep a stack goes into a batch; deeper frames become "...".
local MAX_FRAMES = 64

-- The chunk name vivarium's own wrapper code is loaded under.
M.HOST_CHUNK = "=vivarium"

-- Hide vivarium's own frames from stacks (VIVARIUM_FILTER_INTERNAL_FRAMES=0
-- shows them).
M.filter_internal = os.getenv("VIVARIUM_FILTER_INTERNAL_FRAMES") ~= "0"

local state = {
  obs = nil,
  sinks = {},
  lost = 0,
  draining = false,
  reported = {},
  -- pid -> the command it runs, learnt from successful proc_exec records
  commands = {},
  n_commands = 0,
}

-- Past this many processes the table starts afresh: a long run that keeps
-- spawning must not grow without bound, and a recent exec is the one
-- whose pid is most likely to show up again.
local MAX_COMMANDS = 4096


-- Embedded in the host, modules are chunks named after themselves
-- ("vivarium.observer"); loaded from files they are "@<dir>/vivarium/...".
local SELF = getinfo(1, "S").source
local LUA_DIR = SELF:match("^(@.*[/\\])vivarium[/\\]observer%.lua$")


local function is_internal(source)
  if source == M.HOST_CHUNK or source == "vivarium"
      or source:sub(1, 9) == "vivarium." then
    return true
  end
  if LUA_DIR and source:sub(1, #LUA_DIR) == LUA_DIR then
    local rest = source:sub(#LUA_DIR + 1)
    return rest == "vivarium.lua" or rest:find("^vivarium[/\\]") ~= nil
  end
  return false
end
M.is_internal = is_internal


local function report_once(key, msg)
  if state.reported[key] then
    return
  end
  state.reported[key] = true
  io.stderr:write("vivarium: ", msg, "\n")
  io.stderr:flush()
end


-- What a traceback line says about one frame, and the function's name as
-- a batch reports it.
local function describe(info)
  local at = info.short_src
  if info.what ~= "C" and info.currentline and info.currentline > 0 then
    at = at .. ":" .. info.currentline
  end
  if info.what == "main" then
    return at .. ": in main chunk", "main chunk", at
  end
  if info.name then
    return at .. ": in function '" .. info.name .. "'", info.name, at
  end
  if info.what == "C" then
    return at .. ": ?", "?", at
  end
  local func = "<" .. info.short_src .. ":" .. info.linedefined .. ">"
  return at .. ": in function " .. func, func, at
end


-- The stack from @level (counted from the caller of stack()), vivarium's
-- frames left out when filtering is on. Returns the traceback lines and
-- the name and location of the first Lua frame among them.
local function stack(level)
  local infos = {}
  level = level + 1
  while true do
    local info = getinfo(level, "nSl")
    if not info then
      break
    end
    infos[#infos + 1] = info
    level = level + 1
  end

  local lines, func, location = {}, nil, nil
  for i, info in ipairs(infos) do
    local keep = true
    if M.filter_internal then
      if info.what == "C" then
        -- pcall, xpcall and friends called by vivarium itself
        local caller = infos[i + 1]
        keep = not (caller and is_internal(caller.source))
      else
        keep = not is_internal(info.source)
      end
    end
    -- A C function at the top (error, or the one being called) did not
    -- run the code that caused the events; its Lua caller did.
    if keep and info.what == "C" and #lines == 0 then
      keep = false
    end
    if keep then
      if #lines == MAX_FRAMES then
        lines[#lines + 1] = "..."
        break
      end
      local text, name, at = describe(info)
      lines[#lines + 1] = text
      if not func then
        func, location = name, at
      end
    end
  end
  return lines, func, location
end
M.stack = stack


-- Give each event the command its process runs (e.comm), when a proc_exec
-- of that pid went by: a forked child is told apart from the script by
-- its pid, and from its siblings by what it executed.
local function name_processes(events)
  local commands = state.commands
  for _, e in ipairs(events) do
    local f = e.fields
    if e.name == "proc_exec" and type(f) == "table" and f.ret == 0
        and type(f.comm) == "string" and f.comm ~= "" then
      if not commands[e.pid] then
        if state.n_commands >= MAX_COMMANDS then
          commands = {}
          state.commands = commands
          state.n_commands = 0
        end
        state.n_commands = state.n_commands + 1
      end
      commands[e.pid] = f.comm
    end
    e.comm = commands[e.pid]
  end
end
M.name_processes = name_processes


local function write(sink, text)
  if not text or text == "" then
    return
  end
  local ok, err = sink.out:write(text)
  if ok then
    ok, err = sink.out:flush()
  end
  if not ok then
    report_once("write", "cannot write events: " .. tostring(err))
  end
end


-- Drain the ring into one batch attributed to the frame at @level
-- (counted from the caller of drain()), or at @fallback when every frame
-- from @level up is vivarium's own. The hook does not fire inside a hook,
-- but explicit drains run with it set: the flag keeps it out meanwhile.
local function drain(boundary, level, fallback)
  local obs = state.obs
  state.draining = true
  local ok, events, err = pcall(core.drain, obs)
  if not ok or not events then
    report_once("drain", "cannot read events: " .. tostring(events or err))
    events = {}
  end
  local lok, total = pcall(core.lost, obs)
  total = lok and tonumber(total) or state.lost
  local lost = total - state.lost
  state.lost = total
  if #events == 0 and lost <= 0 then
    state.draining = false
    return
  end

  name_processes(events)
  local lines, func, location = stack(level + 1)
  if not func and fallback then
    lines, func, location = stack(fallback + 1)
  end
  local sink = state.sinks[#state.sinks]
  local batch = {
    events = events,
    lost = lost > 0 and lost or 0,
    boundary = boundary,
    func = func or "?",
    location = location or "?",
    stack = lines,
    color = sink.color,
  }
  local fok, ferr = pcall(function()
    write(sink, sink.format(batch))
  end)
  state.draining = false
  if not fok then
    report_once("format", "cannot print events: " .. tostring(ferr))
  end
end


-- The hook. Stack level 2 is the function whose call or return fired it.
local function on_boundary(event)
  if state.draining or not state.obs then
    return
  end
  if event == "call" then
    -- The function being called has not run yet: what is waiting was
    -- done by its caller's body, e.g. an io.open that returned, C
    -- functions having no return hook.
    drain("call", 3, 2)
  else
    drain("return", 2)
  end
end
M.on_boundary = on_boundary


-- Drain now, on behalf of the frame at @level counted from the caller.
function M.drain_at(boundary, level)
  if state.obs and not state.draining then
    drain(boundary, level + 1)
  end
end


local function open_output(output)
  if output == nil then
    return io.stdout, false
  end
  if type(output) == "string" then
    local fh, err = io.open(output, "a")
    if not fh then
      return nil, "cannot open output " .. err
    end
    return fh, true
  end
  return output, false
end


-- Begin an observation with @opts (validated by the caller): format,
-- format_name (to report a failing formatter by), output, color, pin_dir,
-- connect, ring_size. Returns a handle for finish(), or nil,
-- an error and whether the library already printed why.
function M.start(opts)
  local fmt, name = formatter.load(opts.format or "human")
  if not fmt then
    return nil, name
  end
  name = opts.format_name or name
  local out, close_out = open_output(opts.output)
  if not out then
    return nil, close_out
  end
  local color = opts.color
  if color == nil then
    color = core.isatty(out) and (os.getenv("NO_COLOR") or "") == ""
  end

  if not state.obs then
    local obs, err, logged = core.open({
      pin_dir = opts.pin_dir,
      connect = opts.connect or "auto",
      ring_size = opts.ring_size,
    })
    if not obs then
      if close_out then
        out:close()
      end
      return nil, err, logged
    end
    state.obs = obs
    state.lost = core.lost(obs)
    state.commands = {}
    state.n_commands = 0
    core.sethook(obs, on_boundary)
  end

  local sink = {
    format = formatter.safe(fmt, name),
    out = out,
    close_out = close_out,
    color = color,
  }
  state.sinks[#state.sinks + 1] = sink
  return sink
end


-- End the observation @sink: drain what is left on behalf of the frame at
-- @level (counted from the caller), then close the observer if it was the
-- last one. Finishing twice does nothing.
function M.finish(sink, boundary, level)
  local idx
  for i, s in ipairs(state.sinks) do
    if s == sink then
      idx = i
    end
  end
  if not idx then
    return false
  end
  if state.obs and not state.draining then
    -- Batches go to the innermost sink; this one should get its own.
    local top = #state.sinks
    state.sinks[idx], state.sinks[top] = state.sinks[top], state.sinks[idx]
    drain(boundary, level + 1)
    state.sinks[idx], state.sinks[top] = state.sinks[top], state.sinks[idx]
  end
  table.remove(state.sinks, idx)
  if sink.close_out then
    sink.out:close()
  end
  if #state.sinks == 0 and state.obs then
    local obs = state.obs
    state.obs = nil
    core.clearhook()
    core.close(obs)
  end
  return true
end


-- The mode of the open observer ("daemon" or "local"), or nil.
function M.mode()
  return state.obs and core.mode(state.obs)
end


-- A traceback of the error point without vivarium's frames.
local function traceback(msg, level)
  local lines = stack(level + 1)
  if #lines == 0 then
    return msg
  end
  return msg .. "\nstack traceback:\n\t" .. concat(lines, "\n\t")
end


local function env_or(value, name)
  if value ~= nil then
    return value, nil
  end
  local env = os.getenv(name)
  if env == "" then
    env = nil
  end
  return env, env and name
end


-- Run the script at @path with arguments @args under observation, for
-- `vivarium observe`. @opts: format, output, pin_dir, connect, ring_size;
-- format and output default to $VIVARIUM_FORMAT and $VIVARIUM_OUTPUT.
-- Returns the exit status (0, 1 for a failure, 2 for a usage error) and a
-- message for stderr, or nil when there is nothing (more) to say.
function M.run_script(path, args, opts)
  local format, format_env = env_or(opts.format, "VIVARIUM_FORMAT")
  local output, output_env = env_or(opts.output, "VIVARIUM_OUTPUT")

  local fmt, name = formatter.load(format or "human")
  if not fmt then
    return 2, (format_env and format_env .. ": " or "") .. name
  end
  local out = io.stdout
  if output then
    local fh, err = io.open(output, "w")
    if not fh then
      return 2, (output_env and output_env .. ": " or "")
        .. "cannot open output " .. err
    end
    out = fh
  end

  local probe, oerr = io.open(path, "r")
  if not probe then
    return 1, "cannot open " .. oerr
  end
  probe:close()
  local chunk, lerr = loadfile(path)
  if not chunk then
    return 1, "cannot load " .. path .. ": " .. lerr
  end

  local argv = { [0] = path }
  for i, a in ipairs(args) do
    argv[i] = a
  end
  rawset(_G, "arg", argv)

  local sink, err, logged = M.start({
    format = fmt,
    format_name = name,
    output = out,
    pin_dir = opts.pin_dir,
    connect = opts.connect,
    ring_size = opts.ring_size,
  })
  if not sink then
    return 1, not logged and err or nil
  end
  sink.close_out = out ~= io.stdout

  -- os.exit skips everything below: drain first, on behalf of its caller.
  local exit = os.exit
  os.exit = function(...)
    M.finish(sink, "stop", 2)
    return exit(...)
  end

  local failure
  local function handler(e)
    -- The stack still stands here: events before the error belong to the
    -- function that raised it.
    M.drain_at("error", 2)
    local msg = e
    if type(e) ~= "string" and type(e) ~= "number" then
      local mt = getmetatable(e)
      msg = mt and mt.__tostring and tostring(e)
        or ("(error object is a %s value)"):format(type(e))
    end
    failure = traceback(msg, 2)
    return e
  end
  local ok = xpcall(chunk, handler, unpack(argv, 1, #argv))
  M.finish(sink, "stop", 1)
  os.exit = exit
  if not ok then
    return 1, failure
  end
  return 0, nil
end


return M
