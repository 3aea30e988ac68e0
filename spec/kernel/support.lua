-- Helpers for the kernel specs: run the real vivarium binary against the
-- real kernel, in private pin directories and temporary folders, and check
-- that nothing is left behind afterwards.

local ffi = require "ffi"
local cjson = require "cjson.safe"

local C = ffi.C

ffi.cdef [[
struct viv_spec_sockaddr_in {
  uint16_t sin_family;
  uint16_t sin_port;
  uint32_t sin_addr;
  uint8_t sin_zero[8];
};
int socket(int domain, int type, int protocol);
int bind(int fd, const void *addr, uint32_t len);
int listen(int fd, int backlog);
int getsockname(int fd, void *addr, uint32_t *len);
int close(int fd);
uint16_t ntohs(uint16_t v);
int getpid(void);
]]

local AF_INET = 2
local SOCK_STREAM = 1
local INADDR_LOOPBACK_BE = 0x0100007f

local M = {}


M.binary = os.getenv("VIVARIUM") or ".output/vivarium"

-- The checkout the specs run from (make runs them at its top).
do
  local p = io.popen("pwd")
  M.project = p:read("*l")
  p:close()
end


local function slurp(path)
  local f = io.open(path, "rb")
  if not f then
    return ""
  end
  local s = f:read("*a")
  f:close()
  return s
end
M.slurp = slurp


function M.write(path, text, mode)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  if mode then
    assert(os.execute(("chmod %s '%s'"):format(mode, path)) == 0)
  end
end


function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end


-- Run a shell command; return its exit status, standard output and
-- standard error.
function M.sh(cmd)
  local dir = M.tmpdir()
  local rc = os.execute(("(%s) >%s/out 2>%s/err </dev/null"):format(cmd, dir, dir))
  local out, err = slurp(dir .. "/out"), slurp(dir .. "/err")
  os.execute("rm -rf " .. dir)
  -- LuaJIT's os.execute returns the raw wait status
  if rc > 255 then
    rc = math.floor(rc / 256)
  end
  return rc, out, err
end


function M.tmpdir()
  local p = io.popen("mktemp -d /tmp/viv-spec.XXXXXX")
  local dir = p:read("*l")
  p:close()
  os.execute("chmod 0755 " .. dir)
  return dir
end


-- Ids of the loaded BPF programs named viv_*.
local function viv_programs()
  local ids = {}
  local _, out = M.sh("bpftool prog list 2>/dev/null")
  for id, name in out:gmatch("(%d+): %S+%s+name (viv_%S*)") do
    ids[id] = name
  end
  return ids
end


-- A pin directory nobody else uses, and a socket path that goes with it.
function M.private_env()
  local id = ("%d-%d"):format(C.getpid(), math.random(1e9))
  local run = M.tmpdir()
  return {
    pin_dir = "/sys/fs/bpf/viv-spec-" .. id,
    socket = run .. "/vivarium.sock",
    run_dir = run,
    programs = viv_programs(),
  }
end


function M.env_prefix(env)
  return ("VIVARIUM_BPF_PIN_DIR=%s VIVARIUM_SOCKET=%s "):format(
    M.quote(env.pin_dir), M.quote(env.socket))
end


-- A TCP listener on 127.0.0.1 with a kernel-chosen port. Connections land
-- in the backlog; nobody needs to accept them.
function M.listen_tcp()
  local fd = C.socket(AF_INET, SOCK_STREAM, 0)
  assert(fd >= 0, "socket failed")
  local sa = ffi.new("struct viv_spec_sockaddr_in")
  sa.sin_family = AF_INET
  sa.sin_addr = INADDR_LOOPBACK_BE
  assert(C.bind(fd, sa, ffi.sizeof(sa)) == 0, "bind failed")
  assert(C.listen(fd, 16) == 0, "listen failed")
  local len = ffi.new("uint32_t[1]", ffi.sizeof(sa))
  assert(C.getsockname(fd, sa, len) == 0)
  return {
    port = C.ntohs(sa.sin_port),
    close = function() C.close(fd) end,
  }
end


-- Parse JSON lines; fail loudly on a line that is not JSON.
function M.json_lines(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    local v, err = cjson.decode(line)
    assert(v, ("not JSON (%s): %s"):format(tostring(err), line))
    out[#out + 1] = v
  end
  return out
end


-- Events matching every key of @want (fields compared when given).
function M.find(events, want)
  local found = {}
  for _, e in ipairs(events) do
    local ok = true
    for k, v in pairs(want) do
      if k == "fields" then
        for fk, fv in pairs(v) do
          if type(e.fields) ~= "table" or e.fields[fk] ~= fv then
            ok = false
          end
        end
      elseif e[k] ~= v then
        ok = false
      end
    end
    if ok then
      found[#found + 1] = e
    end
  end
  return found
end


function M.start_daemon(env, args)
  local log = env.run_dir .. "/daemon.log"
  local p = io.popen(("%s setsid %s daemon --pin-dir %s %s >%s 2>&1 & echo $!")
    :format(M.env_prefix(env), M.quote(M.binary), M.quote(env.pin_dir),
      args or "", M.quote(log)))
  local pid = tonumber(p:read("*l"))
  p:close()
  -- wait for the socket, at most ten seconds
  for _ = 1, 100 do
    if os.execute("test -S " .. M.quote(env.socket)) == 0 then
      return pid, log
    end
    if os.execute("kill -0 " .. pid .. " 2>/dev/null") ~= 0 then
      break
    end
    os.execute("sleep 0.1")
  end
  error("daemon did not start:\n" .. slurp(log))
end


function M.stop_daemon(pid)
  os.execute("kill -TERM " .. pid .. " 2>/dev/null")
  for _ = 1, 100 do
    if os.execute("kill -0 " .. pid .. " 2>/dev/null") ~= 0 then
      return true
    end
    os.execute("sleep 0.1")
  end
  os.execute("kill -KILL " .. pid .. " 2>/dev/null")
  return false
end


-- What a spec may leave behind: its pin dir and socket, a daemon on its
-- pin dir, and viv_* programs loaded since private_env() (compared by id,
-- since other runs on the machine may hold their own). The kernel frees a
-- program after its last reference goes, and detaching waits for RCU
-- grace periods, so programs get five seconds to disappear.
function M.leftovers(env)
  local found = {}
  if M.exists(env.pin_dir) then
    found[#found + 1] = "pin dir " .. env.pin_dir
  end
  if M.exists(env.socket) then
    found[#found + 1] = "socket " .. env.socket
  end
  local new
  for _ = 1, 50 do
    new = {}
    for id, name in pairs(viv_programs()) do
      if not env.programs[id] then
        new[#new + 1] = id .. ":" .. name
      end
    end
    if #new == 0 then
      break
    end
    os.execute("sleep 0.1")
  end
  if #new > 0 then
    found[#found + 1] = "programs: " .. table.concat(new, " ")
  end
  -- the bracket keeps pgrep from matching the shell that runs it
  local _, procs = M.sh("pgrep -f " .. M.quote(env.pin_dir:gsub("^/", "[/]"))
    .. " || true")
  if procs ~= "" then
    found[#found + 1] = "processes: " .. procs:gsub("\n", " ")
  end
  return found
end


-- ---- helpers of the attribution and robustness specs ---------------------


-- Seconds since an arbitrary point, with sub-second precision.
ffi.cdef [[
struct viv_spec_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct viv_spec_timespec *ts);
]]
function M.now()
  local ts = ffi.new("struct viv_spec_timespec")
  C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end


-- Wait until @cond() is true, at most @secs seconds; returns its value.
function M.wait_for(cond, secs)
  local deadline = M.now() + (secs or 10)
  repeat
    local v = cond()
    if v then
      return v
    end
    os.execute("sleep 0.05")
  until M.now() > deadline
  return cond()
end


function M.exists(path)
  return os.execute("test -e " .. M.quote(path)) == 0
end


function M.alive(pid)
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == 0
end


-- The command that runs @script under `vivarium observe`, JSON into @out.
-- @opts: args (list), user (uid, run through setpriv), ring_size,
-- connect, format.
function M.observe_cmd(env, script, out, opts)
  opts = opts or {}
  local args = {}
  for i, a in ipairs(opts.args or {}) do
    args[i] = M.quote(a)
  end
  local cmd = ("%s %s observe --format %s --output %s%s%s %s %s"):format(
    M.env_prefix(env), M.quote(M.binary), opts.format or "json",
    M.quote(out),
    opts.ring_size and (" --ring-size " .. opts.ring_size) or "",
    opts.connect and (" --connect " .. opts.connect) or "",
    M.quote(script), table.concat(args, " "))
  if opts.user then
    os.execute(("touch %s && chown %s %s"):format(M.quote(out), opts.user,
      M.quote(out)))
    cmd = ("setpriv --reuid=%s --regid=%s --clear-groups env %s"):format(
      opts.user, opts.user, cmd)
  end
  return cmd
end


-- Run the Lua text @source observed, from a file in @dir; return the exit
-- status, the decoded JSON events (or the raw output for another format),
-- standard error and the script's path.
function M.observe(env, dir, source, opts)
  opts = opts or {}
  local script = dir .. "/" .. (opts.name or "script") .. ".lua"
  local out = dir .. "/" .. (opts.name or "script") .. ".out"
  M.write(script, source, "0644")
  local rc, _, err = M.sh(M.observe_cmd(env, script, out, opts))
  local text = M.slurp(out)
  if (opts.format or "json") == "json" then
    return rc, M.json_lines(text), err, script
  end
  return rc, text, err, script
end


-- Start `vivarium observe` in the background. Returns the pid of the
-- shell around it and the paths of its output, its standard error and a
-- file that receives its exit status when it ends.
function M.observe_bg(env, dir, source, opts)
  opts = opts or {}
  local name = opts.name or "script"
  local script = dir .. "/" .. name .. ".lua"
  local out = dir .. "/" .. name .. ".out"
  local err = dir .. "/" .. name .. ".err"
  local rc = dir .. "/" .. name .. ".rc"
  M.write(script, source, "0644")
  local p = io.popen(("(%s; echo $? > %s) >/dev/null 2>%s </dev/null & "
    .. "echo $!"):format(M.observe_cmd(env, script, out, opts), M.quote(rc),
    M.quote(err)))
  local pid = tonumber(p:read("*l"))
  p:close()
  return pid, out, err, rc
end


-- Wait for the process @pid (not our child) to be gone.
function M.wait_gone(pid, secs)
  return M.wait_for(function()
    return not M.alive(pid)
  end, secs or 20)
end


-- The entries of the pinned map at @path as bpftool decodes them
-- ({ key=, value=, formatted= }), or nil and bpftool's message.
function M.map_dump(path)
  local rc, out, err = M.sh("bpftool -j map dump pinned " .. M.quote(path))
  if rc ~= 0 then
    return nil, err
  end
  return cjson.decode(out) or {}
end


-- A 32-bit little-endian number from bpftool's byte list.
function M.u32(bytes, at)
  at = at or 1
  local v = 0
  for i = 3, 0, -1 do
    v = v * 256 + tonumber(bytes[at + i])
  end
  return v
end


-- Keys of a pinned hash map with 32-bit keys, as numbers.
function M.map_keys(path)
  local entries, err = M.map_dump(path)
  if not entries then
    return nil, err
  end
  local keys = {}
  for _, e in ipairs(entries) do
    keys[#keys + 1] = M.u32(e.key)
  end
  return keys
end


-- The sum over CPUs of each counter of a pinned viv_stats.
function M.stats(pin_dir)
  local entries = assert(M.map_dump(pin_dir .. "/viv_stats"))
  local out = {}
  for _, e in ipairs(entries) do
    local key = M.u32(e.key)
    local sum = 0
    for _, cpu in ipairs(e.values or {}) do
      local v = cpu.value
      -- 8 bytes, little-endian
      local n = 0
      for i = 8, 1, -1 do
        n = n * 256 + tonumber(v[i])
      end
      sum = sum + n
    end
    out[key] = sum
  end
  return out
end



-- Start a daemon logging to run_dir/@name.log and wait until it says it
-- is ready (the socket may already exist: a killed daemon leaves it).
-- Returns its pid and the log's path.
function M.start_daemon_as(env, name, args)
  local log = env.run_dir .. "/" .. name .. ".log"
  local p = io.popen(("%s setsid %s daemon --pin-dir %s %s >%s 2>&1 & echo $!")
    :format(M.env_prefix(env), M.quote(M.binary), M.quote(env.pin_dir),
      args or "", M.quote(log)))
  local pid = tonumber(p:read("*l"))
  p:close()
  local ready = M.wait_for(function()
    return M.slurp(log):find("daemon: ready", 1, true)
      or not M.alive(pid)
  end, 10)
  if not ready or not M.alive(pid) then
    error("daemon did not start:\n" .. M.slurp(log))
  end
  return pid, log
end


-- Lines of @text that contain @needle (plain).
function M.grep(text, needle)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    if line:find(needle, 1, true) then
      out[#out + 1] = line
    end
  end
  return out
end


return M
