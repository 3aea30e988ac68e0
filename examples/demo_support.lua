-- The few POSIX calls the Lua demos need and plain Lua lacks (sockets,
-- links, chmod, directory listing), through LuaJIT's FFI.
-- The demos find it next to themselves (see their first lines).

local ffi = require "ffi"

local C = ffi.C

ffi.cdef [[
typedef struct { uint16_t family; uint16_t port; uint32_t addr;
                 uint8_t zero[8]; } viv_demo_sockaddr_in;
int socket(int domain, int type, int protocol);
int bind(int fd, const void *addr, uint32_t len);
int listen(int fd, int backlog);
int connect(int fd, const void *addr, uint32_t len);
int getsockname(int fd, void *addr, uint32_t *len);
int close(int fd);
uint16_t htons(uint16_t v);
uint16_t ntohs(uint16_t v);
int symlink(const char *target, const char *linkpath);
int link(const char *oldpath, const char *newpath);
int chmod(const char *path, uint32_t mode);
char *strerror(int errnum);
]]

local AF_INET = 2
local SOCK_STREAM = 1
local LOOPBACK = 0x0100007f -- 127.0.0.1 in network byte order

local M = {}


local function check(ret, what)
  if ret < 0 then
    error(what .. ": " .. ffi.string(C.strerror(ffi.errno())), 2)
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


-- A file name that no earlier run left behind.
function M.scratch(tag)
  return ("/tmp/vivarium-demo-%s-%d-%d"):format(tag, os.time(),
    math.random(1e6))
end


return M
