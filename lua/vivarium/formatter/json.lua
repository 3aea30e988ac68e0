-- One JSON object per event, one per line, for machines:
--
--   {"event":"path_open","severity":"medium","ktime_ns":1234567890123,
--    "pid":4321,"tid":4321,"comm":null,"payload":"path=/tmp/x ret=3",
--    "fields":{"path":"/tmp/x","ret":3},"function":"a",
--    "location":"script.lua:12","stack":["script.lua:12: in function 'a'"],
--    "boundary":"return"}
--
-- "comm" is the command the process runs, known once a proc_exec of its
-- pid went by ("cat"), else null.
-- Records lost because the ring was full get a line of their own:
-- {"event":"lost","count":3,"severity":"high",...}. Keys come in that
-- fixed order; a field holding a list is always an array, even empty.
-- Strings are the kernel's bytes; a byte that is not part of valid UTF-8
-- becomes the four characters \xNN (as text), so every line stays valid
-- JSON and a strange file name still shows what it was.

local cjson = require "cjson"

local byte = string.byte
local concat = table.concat
local floor = math.floor
local format = string.format
local sort = table.sort

local M = {}


-- Replace each byte that is not part of a well-formed UTF-8 sequence.
local function utf8_clean(s)
  if not s:find("[\128-\255]") then
    return s
  end
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = byte(s, i)
    local len = 0
    if c < 0x80 then
      len = 1
    elseif c >= 0xC2 and c <= 0xDF then
      len = 2
    elseif c >= 0xE0 and c <= 0xEF then
      len = 3
    elseif c >= 0xF0 and c <= 0xF4 then
      len = 4
    end
    local good = len > 0 and i + len - 1 <= n
    for j = i + 1, i + len - 1 do
      local cc = good and byte(s, j)
      if not cc or cc < 0x80 or cc > 0xBF then
        good = false
      end
    end
    if good and len >= 3 then
      -- overlong forms, UTF-16 surrogates, beyond U+10FFFF
      local c2 = byte(s, i + 1)
      if (c == 0xE0 and c2 < 0xA0) or (c == 0xED and c2 > 0x9F)
          or (c == 0xF0 and c2 < 0x90) or (c == 0xF4 and c2 > 0x8F) then
        good = false
      end
    end
    if good then
      out[#out + 1] = s:sub(i, i + len - 1)
      i = i + len
    else
      out[#out + 1] = format("\\x%02X", c)
      i = i + 1
    end
  end
  return concat(out)
end


local function quote(s)
  -- cjson escapes "/" as "\/"; every "/" in its output is escaped that
  -- way, so undoing it cannot touch an escaped backslash.
  return (cjson.encode(utf8_clean(s)):gsub("\\/", "/"))
end


-- Quoting costs microseconds (pattern matching in utf8_clean and gsub);
-- the same names, paths and commands come back event after event, so
-- each is quoted once. The cache starts afresh when it fills, which
-- bounds it and keeps what is recent.
local CACHE_MAX = 4096
local cache, cached = {}, 0

local function str(s)
  s = tostring(s)
  local q = cache[s]
  if q then
    return q
  end
  q = quote(s)
  if cached >= CACHE_MAX then
    cache, cached = {}, 0
  end
  cache[s] = q
  cached = cached + 1
  return q
end


local function num(n)
  if n == floor(n) and n > -2 ^ 63 and n < 2 ^ 63 then
    return format("%d", n)
  end
  if n ~= n or n == math.huge or n == -math.huge then
    return "null"
  end
  return format("%.17g", n)
end


local function array(t)
  local out = {}
  for i, v in ipairs(t) do
    out[i] = type(v) == "number" and num(v) or str(v)
  end
  return "[" .. concat(out, ",") .. "]"
end


local function value(v)
  local t = type(v)
  if t == "number" then
    return num(v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "table" then
    return array(v)
  elseif v == nil then
    return "null"
  end
  return str(v)
end


-- Fields in name order, so equal events print equal lines.
local function object(t)
  local keys = {}
  for k in pairs(t or {}) do
    keys[#keys + 1] = tostring(k)
  end
  sort(keys)
  local out = {}
  for i, k in ipairs(keys) do
    out[i] = str(k) .. ":" .. value(t[k])
  end
  return "{" .. concat(out, ",") .. "}"
end


local function line(pairs_)
  local out = {}
  for i = 1, #pairs_, 2 do
    out[#out + 1] = str(pairs_[i]) .. ":" .. pairs_[i + 1]
  end
  return "{" .. concat(out, ",") .. "}"
end


function M.format(batch)
  local func = str(batch.func or "?")
  local location = str(batch.location or "?")
  local stack = array(batch.stack or {})
  local boundary = str(batch.boundary or "?")
  local out = {}
  for _, e in ipairs(batch.events or {}) do
    out[#out + 1] = line({
      "event", str(e.name or "?"),
      "severity", str(e.severity or "medium"),
      "ktime_ns", num(tonumber(e.ktime_ns) or 0),
      "pid", num(tonumber(e.pid) or 0),
      "tid", num(tonumber(e.tid) or 0),
      "comm", e.comm and str(e.comm) or "null",
      "payload", str(e.payload or ""),
      "fields", object(e.fields),
      "function", func,
      "location", location,
      "stack", stack,
      "boundary", boundary,
    })
  end
  if (batch.lost or 0) > 0 then
    out[#out + 1] = line({
      "event", str("lost"),
      "count", num(batch.lost),
      "severity", str("high"),
      "function", func,
      "location", location,
      "stack", stack,
      "boundary", boundary,
    })
  end
  if #out == 0 then
    return nil
  end
  return concat(out, "\n") .. "\n"
end


return M
