-- Formatters turn a batch of events into text, and this module finds them
-- by name and keeps a failing one from losing events.
--
-- The formatter interface
-- -----------------------
-- A formatter is a table with one function:
--
--   format(batch) -> string or nil
--
-- called once per batch: the events drained at one Lua function boundary.
-- It returns the text to write (nil or "" writes nothing); vivarium writes
-- it to the destination and flushes. It should not write anything itself.
-- @batch holds:
--
--   events    array of events, oldest first, each
--               name      "path_open", "proc_exec", "sock_connect", ...
--               kind      the numeric kind
--               severity  "medium" or "high"
--               pid, tid  the process and thread that caused it
--               comm      the command that process runs ("cat"), known
--                         once a proc_exec of its pid went by, else nil
--               ktime_ns  CLOCK_MONOTONIC time in nanoseconds (a number)
--               payload   decoded "key=value" text: "path=/tmp/x ret=3"
--               fields    the same, decoded: { path = "/tmp/x", ret = 3,
--                         argv = { "ls", "-l" }, ... }; strings hold the
--                         kernel's bytes, not necessarily UTF-8
--   lost      records the kernel dropped since the previous batch because
--             the ring was full (0 almost always)
--   boundary  "call" or "return": the hook that drained the batch
--   func      the function the events are attributed to: its name, "main
--             chunk", "<file.lua:12>" for an anonymous function, or "?"
--   location  "file.lua:12", where that function was
--   stack     array of traceback lines, innermost first:
--             "file.lua:12: in function 'a'"
--   color     true when the destination is a terminal
--
-- A formatter is named by "human", "json", a module name that require
-- finds, a path to a .lua file returning the table, or given as the table
-- itself. If format() raises or returns something other than a string or
-- nil, vivarium says so once on stderr and formats that batch and every
-- later one with "human", so no event is lost.

local human = require "vivarium.formatter.human"

local M = {}

local BUILTIN = {
  human = "vivarium.formatter.human",
  json = "vivarium.formatter.json",
}


local function check_table(fmt, name)
  if type(fmt) ~= "table" or type(fmt.format) ~= "function" then
    return nil, ("format '%s': expected a table with a format function, "
      .. "got %s"):format(name, type(fmt))
  end
  return fmt
end


local function from_file(path)
  local f, err = io.open(path, "r")
  if not f then
    return nil, ("format '%s': cannot open %s"):format(path, err)
  end
  f:close()
  local chunk, lerr = loadfile(path)
  if not chunk then
    return nil, ("format '%s': cannot load: %s"):format(path, lerr)
  end
  local ok, fmt = pcall(chunk)
  if not ok then
    return nil, ("format '%s': failed to load: %s"):format(path,
      tostring(fmt))
  end
  return check_table(fmt, path)
end


local function from_module(name)
  local ok, fmt = pcall(require, name)
  if ok then
    return check_table(fmt, name)
  end
  -- Tell "there is no such module" from "the module raised".
  if tostring(fmt):find("module '" .. name .. "' not found", 1, true) then
    return nil, ("unknown format '%s': not human, json, a module or a "
      .. ".lua file"):format(name)
  end
  return nil, ("format '%s': failed to load: %s"):format(name, tostring(fmt))
end


-- Find the formatter @spec names. Returns the formatter table and a name
-- to report it by, or nil and an error.
function M.load(spec)
  if type(spec) == "table" then
    local name = tostring(spec.name or "custom")
    local fmt, err = check_table(spec, name)
    if not fmt then
      return nil, err
    end
    return fmt, name
  end
  if type(spec) ~= "string" or spec == "" then
    return nil, "format: expected a name, a module, a .lua path or a "
      .. "formatter table, got " .. (spec == "" and "an empty string"
        or type(spec))
  end
  if BUILTIN[spec] then
    return require(BUILTIN[spec]), spec
  end
  local fmt, err
  if spec:find("%.lua$") or spec:find("/", 1, true) then
    fmt, err = from_file(spec)
  else
    fmt, err = from_module(spec)
  end
  if not fmt then
    return nil, err
  end
  return fmt, spec
end


local function default_report(msg)
  io.stderr:write(msg, "\n")
  io.stderr:flush()
end


-- Wrap @fmt in a function batch -> text that never raises. On the first
-- failure it calls @report (default: a line on stderr) and from then on
-- formats with human.
function M.safe(fmt, name, report)
  local failed = false
  report = report or default_report
  return function(batch)
    if not failed then
      local ok, text = pcall(fmt.format, batch)
      if ok and (text == nil or type(text) == "string") then
        return text
      end
      if ok then
        text = "returned a " .. type(text) .. ", expected a string or nil"
      end
      failed = true
      report(("vivarium: formatter '%s' failed: %s; falling back to human")
        :format(name, tostring(text)))
    end
    return human.format(batch)
  end
end


return M
