-- The default formatter: the gem's layout, one header per batch, one line
-- per event, then the stack. High severity events are red on a terminal.
--
--   [vivarium] 2 event(s) at script.lua:12 in function 'a'
--     1234.567890123 pid=4321 tid=4321 medium path_open path=/tmp/x ret=3
--     1234.567990123 pid=4330 (cat) tid=4330 medium path_open path=/tmp/x ret=3
--     stack:
--       script.lua:12: in function 'a'
--
-- A pid is followed by its command when a proc_exec of it was seen.

local concat = table.concat
local floor = math.floor
local format = string.format

local M = {}

local RED = "\27[31m"
local RESET = "\27[0m"


local function seconds(ns)
  ns = tonumber(ns) or 0
  local s = floor(ns / 1e9)
  return format("%d.%09d", s, ns - s * 1e9)
end


local function where(batch)
  local func = batch.func or "?"
  if func == "main chunk" then
    return "in main chunk"
  end
  if func:sub(1, 1) == "<" or func == "?" then
    return "in function " .. func
  end
  return "in function '" .. func .. "'"
end


function M.format(batch)
  local events = batch.events or {}
  local out = {
    format("[vivarium] %d event(s) at %s %s", #events,
      batch.location or "?", where(batch)),
  }
  for _, e in ipairs(events) do
    local pid = tostring(e.pid)
    if e.comm then
      pid = pid .. " (" .. tostring(e.comm) .. ")"
    end
    local line = format("%s pid=%s tid=%s %s %s", seconds(e.ktime_ns),
      pid, tostring(e.tid), e.severity or "medium", e.name or "?")
    if e.payload and e.payload ~= "" then
      line = line .. " " .. e.payload
    end
    if batch.color and e.severity == "high" then
      line = RED .. line .. RESET
    end
    out[#out + 1] = "  " .. line
  end
  if (batch.lost or 0) > 0 then
    local line = format("%d event(s) lost before this point (ring full)",
      batch.lost)
    if batch.color then
      line = RED .. line .. RESET
    end
    out[#out + 1] = "  " .. line
  end
  out[#out + 1] = "  stack:"
  for _, frame in ipairs(batch.stack or {}) do
    out[#out + 1] = "    " .. frame
  end
  return concat(out, "\n") .. "\n"
end


return M
