-- The daemon's configuration: a Lua file returning a table, read by
-- `vivarium daemon daemon.lua`. Every key is optional:
--
--   return {
--     pin_dir = "/sys/fs/bpf/vivarium",  -- where maps and links are pinned
--     events = { "path_open", "proc_exec", "sock_connect" }, -- default all
--     backend = "auto",                  -- or "lsm", "tracepoint"
--     log = "stderr",                    -- or a file, appended to
--     log_level = "info",                -- "warn", "info" or "debug"
--     ring_size = 1048576,               -- bytes per observer ring
--   }
--
-- A key this module does not know, an unknown event or a value of the
-- wrong type is an error naming the key: a typo must not silently leave
-- the defaults in place.

local core = require "vivarium.core"

local concat = table.concat
local floor = math.floor

local M = {}

local MIN_RING = 4096
local MAX_RING = 2 ^ 30

local CHOICES = {
  backend = { "auto", "lsm", "tracepoint" },
  log_level = { "warn", "info", "debug" },
}


local function one_of(key, v)
  for _, c in ipairs(CHOICES[key]) do
    if v == c then
      return true
    end
  end
  return nil, ("'%s' must be one of %s, got '%s'"):format(key,
    concat(CHOICES[key], ", "), v)
end


local function check_string(key, v)
  if type(v) ~= "string" or v == "" then
    return nil, ("'%s' must be a non-empty string, got %s"):format(key,
      type(v) == "string" and "an empty string" or type(v))
  end
  return true
end


local function check_events(key, v)
  if type(v) ~= "table" then
    return nil, ("'events' must be a list of event names, got %s")
      :format(type(v))
  end
  local known = {}
  for _, name in ipairs(core.event_names()) do
    known[name] = true
  end
  local n = 0
  for k in pairs(v) do
    n = n + 1
    if type(k) ~= "number" or k ~= floor(k) or k < 1 or v[k] == nil then
      return nil, "'events' must be a list of event names, not a map"
    end
  end
  if n == 0 then
    return nil, "'events' is empty; leave it out to switch every event on"
  end
  for i, name in ipairs(v) do
    if type(name) ~= "string" or not known[name] then
      return nil, ("events[%d]: unknown event '%s' (known: %s)"):format(i,
        tostring(name), concat(core.event_names(), ", "))
    end
  end
  return true
end


local CHECKS = {
  pin_dir = check_string,
  events = check_events,
  log = check_string,
  backend = function(key, v)
    local ok, err = check_string(key, v)
    if not ok then
      return nil, err
    end
    return one_of(key, v)
  end,
  log_level = function(key, v)
    local ok, err = check_string(key, v)
    if not ok then
      return nil, err
    end
    return one_of(key, v)
  end,
  ring_size = function(key, v)
    if type(v) ~= "number" then
      return nil, ("'ring_size' must be a number, got %s"):format(type(v))
    end
    local p = MIN_RING
    while p < v and p < MAX_RING do
      p = p * 2
    end
    if p ~= v then
      return nil, ("'ring_size' must be a power of two from %d to %d, got %s")
        :format(MIN_RING, MAX_RING, tostring(v))
    end
    return true
  end,
}


local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end


-- Check a configuration table. Returns a copy holding the keys that were
-- set, or nil and "<key>: <problem>".
function M.validate(cfg)
  if type(cfg) ~= "table" then
    return nil, "expected a table, got " .. type(cfg)
  end
  local out = {}
  for k, v in pairs(cfg) do
    local check = CHECKS[k]
    if type(k) ~= "string" or not check then
      return nil, ("unknown key '%s' (known: %s)"):format(tostring(k),
        concat(sorted_keys(CHECKS), ", "))
    end
    local ok, err = check(k, v)
    if not ok then
      return nil, err
    end
    out[k] = v
  end
  if out.events then
    local copy = {}
    for i, name in ipairs(out.events) do
      copy[i] = name
    end
    out.events = copy
  end
  return out
end


-- Run the configuration file at @path and validate what it returns.
-- Returns the configuration, or nil and "<path>: <problem>".
function M.load(path)
  if type(path) ~= "string" then
    error("load: expected a path, got " .. type(path), 2)
  end
  local chunk, err = loadfile(path)
  if not chunk then
    return nil, err
  end
  local ok, cfg = pcall(chunk)
  if not ok then
    return nil, ("%s: failed: %s"):format(path, tostring(cfg))
  end
  if type(cfg) ~= "table" then
    return nil, ("%s: expected the file to return a table, got %s")
      :format(path, type(cfg))
  end
  local out, verr = M.validate(cfg)
  if not out then
    return nil, path .. ": " .. verr
  end
  return out
end


return M
