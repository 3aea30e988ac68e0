-- The side-by-side workload of `make bench`: what an ordinary script does
-- that Vivarium reports. Each iteration writes a file, reads it back twice
-- and checksums it in Lua (a C call per byte); one iteration in
-- CONNECT_EVERY also connects to a listening socket on loopback and
-- accepts the connection, and one in CMD_EVERY runs a command through the
-- shell. Run bare (luajit), under `vivarium observe`,
-- under strace, under bpftrace or under the gem's drain
-- (bench/gem_host): the same script, the same work.
--
--   luajit bench/workload.lua DIR [ITERATIONS]
--
-- DIR is a directory the script may write in. Prints
-- "workload_ns <wall ns>" on stderr, timed from the first iteration to the
-- last, so that a tool's start-up (loading BPF, compiling a bpftrace
-- script) is not counted: what is compared is how much slower the script
-- runs.

local ffi = require "ffi"

local dir = assert(arg and arg[1], "usage: workload.lua DIR [ITERATIONS]")
local iterations = tonumber(arg[2]) or 1000

local CONNECT_EVERY = 2
local CMD_EVERY = 40
local AF_INET = 2
local SOCK_STREAM = 1
local CLOCK_MONOTONIC = 1
local SOL_SOCKET = 1
local SO_LINGER = 13

-- Names of our own, so that they clash with nothing a host defines.
ffi.cdef [[
typedef struct { long sec; long nsec; } wl_timespec;
typedef struct {
  uint16_t family;
  uint16_t port;
  uint32_t addr;
  uint8_t zero[8];
} wl_sockaddr_in;
int clock_gettime(int clock, wl_timespec *ts);
int socket(int domain, int type, int protocol);
int bind(int fd, const void *addr, unsigned int len);
int listen(int fd, int backlog);
int getsockname(int fd, void *addr, unsigned int *len);
int connect(int fd, const void *addr, unsigned int len);
int accept(int fd, void *addr, unsigned int *len);
int setsockopt(int fd, int level, int name, const void *val,
               unsigned int len);
int close(int fd);
]]

local C = ffi.C


local function now_ns()
  local ts = ffi.new("wl_timespec")
  C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.sec) * 1e9 + tonumber(ts.nsec)
end


-- A listening socket on 127.0.0.1 and a port the kernel picked.
local function listener()
  local fd = C.socket(AF_INET, SOCK_STREAM, 0)
  assert(fd >= 0, "socket failed")
  local sa = ffi.new("wl_sockaddr_in")
  sa.family = AF_INET
  sa.addr = 0x0100007f    -- 127.0.0.1 in network order (little endian)
  assert(C.bind(fd, sa, ffi.sizeof(sa)) == 0, "bind failed")
  assert(C.listen(fd, 64) == 0, "listen failed")
  local len = ffi.new("unsigned int[1]", ffi.sizeof(sa))
  assert(C.getsockname(fd, sa, len) == 0, "getsockname failed")
  return fd, sa
end


local function write_file(path, data)
  local f = assert(io.open(path, "w"))
  f:write(data)
  f:close()
end


local function read_file(path)
  local f = assert(io.open(path, "r"))
  local data = f:read("*a")
  f:close()
  return data
end


local function checksum(data)
  local h = 0
  for i = 1, #data do
    h = (h * 31 + data:byte(i)) % 4294967296
  end
  return h
end


-- The client resets the connection (SO_LINGER 0) so that no TIME_WAIT
-- socket is left behind: thousands of them make later connects slower
-- and the runs would drift.
local function connect_once(lfd, sa)
  local fd = C.socket(AF_INET, SOCK_STREAM, 0)
  assert(fd >= 0, "socket failed")
  assert(C.connect(fd, sa, ffi.sizeof(sa)) == 0, "connect failed")
  local cfd = C.accept(lfd, nil, nil)
  assert(cfd >= 0, "accept failed")
  local linger = ffi.new("int[2]", 1, 0)
  C.setsockopt(fd, SOL_SOCKET, SO_LINGER, linger, ffi.sizeof(linger))
  C.close(fd)
  C.close(cfd)
end


local function run_command(i)
  assert(os.execute("exit " .. i % 2) ~= nil)
end


local function iteration(i, lfd, sa, payload)
  local path = ("%s/file-%d.txt"):format(dir, i % 16)
  write_file(path, payload)
  local sum = checksum(read_file(path))
  assert(sum == checksum(read_file(path)))
  if i % CONNECT_EVERY == 0 then
    connect_once(lfd, sa)
  end
  if i % CMD_EVERY == 0 then
    run_command(i)
  end
  return sum
end


local lfd, sa = listener()
local payload = ("vivarium bench "):rep(16)
local t0 = now_ns()
for i = 1, iterations do
  iteration(i, lfd, sa, payload)
end
local elapsed = now_ns() - t0
C.close(lfd)
io.stderr:write(("workload_ns %.0f\n"):format(elapsed))
