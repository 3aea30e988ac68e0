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


-- A pin directory nobody else uses, and a socket path that goes with it.
function M.private_env()
  local id = ("%d-%d"):format(C.getpid(), math.random(1e9))
  local run = M.tmpdir()
  return {
    pin_dir = "/sys/fs/bpf/viv-spec-" .. id,
    socket = run .. "/vivarium.sock",
    run_dir = run,
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


-- What a run may leave behind: pins, loaded programs named viv_*, and
-- vivarium processes. The kernel frees a program shortly after its last
-- reference goes, so programs get two seconds to disappear.
function M.leftovers(env)
  local found = {}
  if os.execute("test -e " .. M.quote(env.pin_dir)) == 0 then
    found[#found + 1] = "pin dir " .. env.pin_dir
  end
  local progs
  for _ = 1, 20 do
    _, progs = M.sh("bpftool prog list 2>/dev/null | grep -o 'name viv_[a-z_0-9]*'")
    if progs == "" then
      break
    end
    os.execute("sleep 0.1")
  end
  if progs ~= "" then
    found[#found + 1] = "programs: " .. progs:gsub("\n", " ")
  end
  -- the bracket keeps pgrep from matching the shell that runs it
  local name = M.binary:gsub("^(.*/)(.)", "%1[%2]")
  local _, procs = M.sh("pgrep -f " .. M.quote("^" .. name .. " ") .. " || true")
  if procs ~= "" then
    found[#found + 1] = "processes: " .. procs:gsub("\n", " ")
  end
  return found
end


return M
