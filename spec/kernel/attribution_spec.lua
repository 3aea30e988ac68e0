-- Attribution accuracy on the real kernel: a generated script whose every
-- function does one system action nobody else does (a path, a command, a
-- port of its own), called many times in a shuffled order with the JIT on
-- and hot loops in every function. Each event of those actions must name
-- the function that caused it; the measured rate is printed. Needs root.

local support = require "spec.kernel.support"

local quote = support.quote

-- Enough calls that one misattributed event in a thousand shows.
local PER_KIND = 30
local RENAMES = 20
local REPS = 12
local PORT_BASE = 21000
local MIN_RATE = 0.999


-- The script, and for each function its id, kind and defining line.
local function generate(tag, dir)
  local lines, funcs = {}, {}
  local function add(s)
    for l in (s .. "\n"):gmatch("([^\n]*)\n") do
      lines[#lines + 1] = l
    end
  end
  add([[
local ffi = require "ffi"
ffi.cdef [=[
int open(const char *path, int flags, ...);
int close(int fd);
int socket(int domain, int type, int protocol);
int connect(int fd, const void *addr, uint32_t len);
]=]
local C = ffi.C
local sa = ffi.new("uint8_t[16]")
sa[0] = 2
sa[4], sa[5], sa[6], sa[7] = 127, 0, 0, 1
local funcs = {}]])
  local kinds = {}
  for _ = 1, PER_KIND do
    kinds[#kinds + 1] = "io_open"
    kinds[#kinds + 1] = "ffi_open"
    kinds[#kinds + 1] = "ffi_connect"
    kinds[#kinds + 1] = "execute"
  end
  for _ = 1, RENAMES do
    kinds[#kinds + 1] = "rename"
  end
  for i, kind in ipairs(kinds) do
    local path = ("%s/%s-%d"):format(dir, tag, i)
    funcs[i] = { kind = kind, line = #lines + 1, path = path,
      port = PORT_BASE + i }
    add(("function f%d()"):format(i))
    -- a hot loop the JIT compiles (it runs far more than 56 times)
    add("  local s = 0\n  for j = 1, 64 do s = s + j * j end")
    if kind == "io_open" then
      add(("  local f = io.open(%q, 'w')\n  f:close()"):format(path))
    elseif kind == "ffi_open" then
      -- O_WRONLY | O_CREAT
      add(("  local fd = C.open(%q, 65, 420)\n  C.close(fd)"):format(path))
    elseif kind == "ffi_connect" then
      add(("  local fd = C.socket(2, 1, 0)\n  sa[2], sa[3] = %d, %d\n"
        .. "  C.connect(fd, sa, 16)\n  C.close(fd)"):format(
        math.floor(funcs[i].port / 256), funcs[i].port % 256))
    elseif kind == "execute" then
      add(("  os.execute('/bin/true %s-%d')"):format(tag, i))
    else
      add(("  assert(os.rename(%q, %q))\n  assert(os.rename(%q, %q))")
        :format(path .. "-a", path .. "-b", path .. "-b", path .. "-a"))
    end
    add(("  return s\nend\nfuncs[%d] = f%d"):format(i, i))
  end
  add(([[
local order = {}
for _ = 1, %d do
  for i = 1, #funcs do
    order[#order + 1] = i
  end
end
math.randomseed(tonumber(arg[1]))
for i = #order, 2, -1 do
  local j = math.random(i)
  order[i], order[j] = order[j], order[i]
end
for _, i in ipairs(order) do
  funcs[i]()
end
io.write("jit ", tostring((jit.status())), "\n")]]):format(REPS))
  return table.concat(lines, "\n") .. "\n", funcs
end


-- Which function's unique action an event belongs to, or nil.
local function owner(e, tag, by_path, n)
  local f = e.fields or {}
  if e.event == "path_open" then
    return by_path[f.path]
  elseif e.event == "proc_exec" then
    for _, a in ipairs(f.argv or {}) do
      local i = tonumber(a:match("^.*" .. tag:gsub("%-", "%%-") .. "%-(%d+)$"))
      if i then
        return i
      end
    end
  elseif e.event == "sock_connect" and f.addr == "127.0.0.1" then
    local i = (f.port or 0) - PORT_BASE
    if i >= 1 and i <= n then
      return i
    end
  elseif e.event == "file_rename" then
    local old = tostring(f.old_path or f.old or ""):gsub("%-[ab]$", "")
    return by_path[old]
  end
  return nil
end


describe("attribution #kernel", function()
  local env, dir

  before_each(function()
    env = support.private_env()
    dir = support.tmpdir()
  end)

  after_each(function()
    os.execute("rm -rf " .. quote(dir) .. " " .. quote(env.run_dir))
  end)

  it("gives at least 99.9% of the events of unique actions to the function "
    .. "that caused them", function()
      local tag = ("viv-attr-%d"):format(math.random(1e9))
      local files = dir .. "/files"
      os.execute("mkdir -p " .. quote(files))
      local source, funcs = generate(tag, files)
      local by_path = {}
      for i, f in ipairs(funcs) do
        by_path[f.path] = i
        if f.kind == "rename" then
          support.write(f.path .. "-a", "x")
        end
      end

      local script = dir .. "/attribution.lua"
      local out = dir .. "/events.json"
      support.write(script, source, "0644")
      local t0 = support.now()
      local rc, stdout, err = support.sh(support.observe_cmd(env, script, out,
        { args = { tostring(math.random(1e6)) } }))
      local elapsed = support.now() - t0
      assert.equal(0, rc, err)
      assert.matches("jit true", stdout)

      local events = support.json_lines(support.slurp(out))
      local total, right, wrong, renames = 0, 0, {}, 0
      local per_kind = {}
      for _, e in ipairs(events) do
        local i = owner(e, tag, by_path, #funcs)
        if i then
          local f = funcs[i]
          local fn = e["function"]
          local ok = fn == "f" .. i
            or fn == ("<%s:%d>"):format(script:match("[^/]*$"), f.line)
            or fn:match(":(%d+)>$") == tostring(f.line)
          total = total + 1
          per_kind[f.kind] = (per_kind[f.kind] or 0) + 1
          if e.event == "file_rename" then
            renames = renames + 1
          end
          if ok then
            right = right + 1
          elseif #wrong < 10 then
            wrong[#wrong + 1] = ("%s of f%d (%s) went to %s at %s"):format(
              e.event, i, f.kind, fn, e.boundary)
          end
        end
      end

      -- every action made at least its event: nothing was silently lost
      local calls = #funcs * REPS
      assert.is_true(per_kind.io_open >= PER_KIND * REPS, "io.open events")
      assert.is_true(per_kind.ffi_open >= PER_KIND * REPS, "FFI open events")
      assert.is_true(per_kind.ffi_connect >= PER_KIND * REPS,
        "FFI connect events")
      assert.is_true(per_kind.execute >= PER_KIND * REPS, "exec events")
      local rate = right / total
      print(("\nattribution: %d of %d events of %d calls to the right "
        .. "function (%.3f%%), %d renames seen, %.1f s"):format(right, total,
        calls, rate * 100, renames, elapsed))
      if renames == 0 then
        print("attribution: no file_rename events: os.rename counted "
          .. "only if the kernel side records renames")
      end
      assert.is_true(rate >= MIN_RATE, table.concat(wrong, "\n"))
      assert.same({}, support.leftovers(env))
    end)
end)
