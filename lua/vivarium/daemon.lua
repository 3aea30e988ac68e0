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
--     caps = { "CAP_SYS_ADMIN", "CAP_NET_RAW" }, -- capable_check reports
--     filters = { path_open = { prefixes = { "/etc/", "/tmp/" } } },
--     debug = false,                     -- kernel trace lines in the log
--   }
--
-- validate() hands caps back as CAP_* numbers, the form the kernel side
-- takes; names may be written "CAP_SYS_ADMIN", "sys_admin" or as numbers.
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

-- What the kernel side can hold (bpf/common.h): VIV_PREFIX_MAX prefixes
-- of VIV_PREFIX_LEN bytes with the NUL.
local MAX_PREFIXES = 8
local MAX_PREFIX_LEN = 63

-- linux/capability.h, in number order.
local CAP_NAMES = {
  [0] = "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
  "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
  "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
}
-- The kernel side keeps a 64-bit mask: numbers newer than this list fit.
local MAX_CAP = 63

local CAP_NUMBERS = {}
for n = 0, #CAP_NAMES do
  CAP_NUMBERS[CAP_NAMES[n]] = n
end
M.CAP_NAMES = CAP_NAMES

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


-- A list: keys 1..n and nothing else.
local function is_list(v)
  local n = 0
  for k in pairs(v) do
    n = n + 1
    if type(k) ~= "number" or k ~= floor(k) or k < 1 or v[k] == nil then
      return false
    end
  end
  return true, n
end


local function cap_number(c)
  if type(c) == "number" then
    if c == floor(c) and c >= 0 and c <= MAX_CAP then
      return c
    end
    return nil
  end
  if type(c) ~= "string" then
    return nil
  end
  local name = c:upper()
  if name:sub(1, 4) ~= "CAP_" then
    name = "CAP_" .. name
  end
  return CAP_NUMBERS[name]
end


local function check_caps(key, v)
  if type(v) ~= "table" or not is_list(v) then
    return nil, ("'caps' must be a list of capability names, got %s")
      :format(type(v) == "table" and "a map" or type(v))
  end
  if #v == 0 then
    return nil, "'caps' is empty; leave it out for the built-in list, or "
      .. "leave capable_check out of 'events'"
  end
  for i, c in ipairs(v) do
    if not cap_number(c) then
      return nil, ("caps[%d]: unknown capability '%s' (names as in "
        .. "capabilities(7), e.g. CAP_SYS_ADMIN, or numbers 0 to %d)")
        :format(i, tostring(c), MAX_CAP)
    end
  end
  return true
end


local function check_prefixes(v)
  local where = "filters.path_open.prefixes"
  if type(v) ~= "table" or not is_list(v) or #v == 0 then
    return nil, ("'%s' must be a non-empty list of path prefixes")
      :format(where)
  end
  if #v > MAX_PREFIXES then
    return nil, ("'%s' holds %d prefixes; the kernel side takes at most %d")
      :format(where, #v, MAX_PREFIXES)
  end
  for i, p in ipairs(v) do
    if type(p) ~= "string" or p == "" then
      return nil, ("%s[%d] must be a non-empty string"):format(where, i)
    end
    if #p > MAX_PREFIX_LEN then
      return nil, ("%s[%d] is %d bytes long; at most %d fit"):format(where,
        i, #p, MAX_PREFIX_LEN)
    end
    if p:find("\0", 1, true) then
      return nil, ("%s[%d] holds a NUL byte"):format(where, i)
    end
  end
  return true
end


local function check_filters(key, v)
  if type(v) ~= "table" then
    return nil, ("'filters' must be a table of per-event filters, got %s")
      :format(type(v))
  end
  for event, f in pairs(v) do
    if event ~= "path_open" then
      return nil, ("filters: only path_open can be filtered, got '%s'")
        :format(tostring(event))
    end
    if type(f) ~= "table" then
      return nil, ("'filters.path_open' must be a table, got %s")
        :format(type(f))
    end
    for k in pairs(f) do
      if k ~= "prefixes" then
        return nil, ("filters.path_open: unknown key '%s' (known: prefixes)")
          :format(tostring(k))
      end
    end
    if f.prefixes == nil then
      return nil, "'filters.path_open' needs 'prefixes'"
    end
    local ok, err = check_prefixes(f.prefixes)
    if not ok then
      return nil, err
    end
  end
  return true
end


local CHECKS = {
  pin_dir = check_string,
  caps = check_caps,
  filters = check_filters,
  debug = function(key, v)
    if type(v) ~= "boolean" then
      return nil, ("'debug' must be true or false, got %s"):format(type(v))
    end
    return true
  end,
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
  if out.caps then
    local numbers, seen = {}, {}
    for _, c in ipairs(out.caps) do
      local n = cap_number(c)
      if not seen[n] then
        seen[n] = true
        numbers[#numbers + 1] = n
      end
    end
    out.caps = numbers
  end
  if out.filters and out.filters.path_open then
    local prefixes = {}
    for i, p in ipairs(out.filters.path_open.prefixes) do
      prefixes[i] = p
    end
    out.filters = { path_open = { prefixes = prefixes } }
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
