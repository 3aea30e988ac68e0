-- A custom formatter: one short line per event, "function: event payload".
-- Run: vivarium observe --format examples/formatter_example.lua script.lua

local M = {}


-- Called once per batch (the events drained at one function boundary);
-- returns the text to print. See lua/vivarium/formatter.lua for the
-- fields of a batch.
function M.format(batch)
  local out = {}
  for _, e in ipairs(batch.events) do
    out[#out + 1] = ("%s (%s): %s %s\n"):format(batch.func, batch.location,
      e.name, e.payload)
  end
  if batch.lost > 0 then
    out[#out + 1] = ("%s: %d event(s) lost\n"):format(batch.func, batch.lost)
  end
  return table.concat(out)
end


return M
