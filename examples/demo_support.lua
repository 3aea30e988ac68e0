-- The POSIX calls the Lua demos need and plain Lua lacks (sockets, links,
-- chmod, directories, fork, signals, set*id), through LuaJIT's FFI.
-- The demos find it next to themselves (see their first lines).

local ffi = require "ffi"
local bit = require "bit"

local C = ffi.C

ffi.cdef [[
typedef struct { uint16_t family; uint16_t port; uint32_t addr;
                 uint8_t zero[8]; } viv_demo_sockaddr_in;
typedef struct viv_demo_dir viv_demo_dir;
int socket(int domain, int type, int protocol);
int bind(int fd, const void *addr, uint32_t len);
int listen(int fd, int backlog);
int connect(int fd, const void *addr, uint32_t len);
int getsockname(int fd, void *addr, uint32_t *len);
long sendto(int fd, const void *buf, size_t len, int flags,
            const void *addr, uint32_t addrlen);
long send(int fd, const void *buf, size_t len, int flags);
int close(int fd);
uint16_t htons(uint16_t v);
uint16_t ntohs(uint16_t v);
int symlink(const char *target, const char *linkpath);
int link(const char *oldpath, const char *newpath);
int chmod(const char *path, uint32_t mode);
int mkdir(const char *path, uint32_t mode);
viv_demo_dir *opendir(const char *name);
void *readdir(viv_demo_dir *d);
int closedir(viv_demo_dir *d);
int fork(void);
int waitpid(int pid, int *status, int options);
int kill(int pid, int sig);
int pause(void);
void _exit(int status);
int setuid(uint32_t uid);
int setgid(uint32_t gid);
int getuid(void);
char *strerror(int errnum);
]]

local AF_INET = 2
local AF_PACKET = 17
local AF_NETLINK = 16
local SOCK_STREAM = 1
local SOCK_DGRAM = 2
local SOCK_RAW = 3
local LOOPBACK = 0x0100007f -- 127.0.0.1 in network byte order

local M = {}


local function errstr()
  return ffi.string(C.strerror(ffi.errno()))
end
M.errstr = errstr


local function check(ret, what)
  if ret < 0 then
    error(what .. ": " .. errstr(), 2)
  end
  return ret
end


local function sockaddr(port)
  local sa = ffi.new("viv_demo_sockaddr_in")
  sa.family = AF_INET
  sa.port = C.htons(port)
  sa.addr = LOOPBACK
  return sa
end


-- Listen on 127.0.0.1 at a port the kernel picks; returns fd, port.
function M.listen_loopback()
  local fd = check(C.socket(AF_INET, SOCK_STREAM, 0), "socket")
  local sa = sockaddr(0)
  check(C.bind(fd, sa, ffi.sizeof(sa)), "bind")
  check(C.listen(fd, 8), "listen")
  local len = ffi.new("uint32_t[1]", ffi.sizeof(sa))
  check(C.getsockname(fd, sa, len), "getsockname")
  return fd, C.ntohs(sa.port)
end


function M.connect_loopback(port)
  local fd = check(C.socket(AF_INET, SOCK_STREAM, 0), "socket")
  local sa = sockaddr(port)
  check(C.connect(fd, sa, ffi.sizeof(sa)), "connect")
  return fd
end


-- A UDP socket bound to 127.0.0.1:@port, or nil and the reason (port 53
-- needs root).
function M.udp_listen(port)
  local fd = check(C.socket(AF_INET, SOCK_DGRAM, 0), "socket")
  local sa = sockaddr(port)
  if C.bind(fd, sa, ffi.sizeof(sa)) < 0 then
    local why = errstr()
    C.close(fd)
    return nil, why
  end
  return fd
end


-- A DNS query for @name, type A, as a resolver would send it.
function M.dns_query(name, id)
  local parts = { string.char(bit.rshift(id, 8), bit.band(id, 255)),
    "\1\0", "\0\1", "\0\0", "\0\0", "\0\0" }
  for label in name:gmatch("[^.]+") do
    parts[#parts + 1] = string.char(#label) .. label
  end
  parts[#parts + 1] = "\0\0\1\0\1"
  return table.concat(parts)
end


-- Send @msg to 127.0.0.1:53 with sendto(), the way a resolver without a
-- connected socket does.
function M.dns_sendto(msg)
  local fd = check(C.socket(AF_INET, SOCK_DGRAM, 0), "socket")
  local sa = sockaddr(53)
  C.sendto(fd, msg, #msg, 0, sa, ffi.sizeof(sa))
  C.close(fd)
end


-- Connect a UDP socket to 127.0.0.1:53 and send(), as glibc's resolver
-- does: the call itself carries no address.
function M.dns_send_connected(msg)
  local fd = check(C.socket(AF_INET, SOCK_DGRAM, 0), "socket")
  local sa = sockaddr(53)
  check(C.connect(fd, sa, ffi.sizeof(sa)), "connect")
  C.send(fd, msg, #msg, 0)
  C.close(fd)
end


-- Sockets an ordinary client does not open. Without CAP_NET_RAW the packet
-- socket fails, but the attempt is the event. Returns what happened.
function M.odd_sockets()
  local result = {}
  for _, s in ipairs({
    { "netlink", AF_NETLINK, SOCK_RAW, 0 },
    { "packet", AF_PACKET, SOCK_RAW, 0x0300 }, -- ETH_P_ALL, network order
    { "raw icmp", AF_INET, SOCK_RAW, 1 },
  }) do
    local fd = C.socket(s[2], s[3], s[4])
    result[#result + 1] = s[1] .. ": " .. (fd >= 0 and "opened" or errstr())
    if fd >= 0 then
      C.close(fd)
    end
  end
  return result
end


function M.close(fd)
  C.close(fd)
end


function M.symlink(target, path)
  check(C.symlink(target, path), "symlink " .. path)
end


function M.link(old, new)
  check(C.link(old, new), "link " .. new)
end


function M.chmod(path, mode)
  check(C.chmod(path, mode), "chmod " .. path)
end


function M.mkdir(path)
  check(C.mkdir(path, tonumber("755", 8)), "mkdir " .. path)
end


-- Read a directory's entries (getdents64 underneath); returns their count.
function M.list(path)
  local d = C.opendir(path)
  if d == nil then
    error("opendir " .. path .. ": " .. errstr(), 2)
  end
  local n = 0
  while C.readdir(d) ~= nil do
    n = n + 1
  end
  C.closedir(d)
  return n
end


-- Run @fn in a child process; returns the child's pid. The child exits
-- with 0 after @fn, 1 if it raised.
function M.fork(fn)
  local pid = check(C.fork(), "fork")
  if pid == 0 then
    local ok = pcall(fn)
    C._exit(ok and 0 or 1)
  end
  return pid
end


-- A child that waits for a signal.
function M.fork_sleeper()
  return M.fork(function() C.pause() end)
end


function M.wait(pid)
  local status = ffi.new("int[1]")
  C.waitpid(pid, status, 0)
  return status[0]
end


function M.kill(pid, sig)
  return C.kill(pid, sig)
end


function M.setuid(uid)
  return C.setuid(uid), errstr()
end


function M.setgid(gid)
  return C.setgid(gid), errstr()
end


function M.getuid()
  return C.getuid()
end


-- A file name that no earlier run left behind.
function M.scratch(tag)
  return ("/tmp/vivarium-demo-%s-%d-%d"):format(tag, os.time(),
    math.random(1e6))
end


return M
