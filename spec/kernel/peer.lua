-- A hostile client for privilege_spec.lua, run by LuaJIT as an
-- unprivileged user: it speaks the daemon's protocol by hand and tries
-- what an observer must not be able to do. It prints one "name value"
-- line per attempt (an errno name, "ok", or a number); the spec judges.
--
--   luajit peer.lua PIN_DIR SOCKET OTHER_PID OTHER_FDS
--
-- OTHER_FDS: the descriptors of OTHER_PID, comma-separated (we cannot
-- list them ourselves).

local ffi = require "ffi"
local bit = require "bit"

local C = ffi.C

ffi.cdef [[
typedef long ssize_t;
struct peer_iovec { void *base; size_t len; };
struct peer_msghdr {
  void *name; uint32_t namelen;
  struct peer_iovec *iov; size_t iovlen;
  void *control; size_t controllen;
  int flags;
};
struct peer_sockaddr_un { uint16_t family; char path[108]; };
int socket(int domain, int type, int protocol);
int connect(int fd, const void *addr, uint32_t len);
ssize_t sendmsg(int fd, const struct peer_msghdr *msg, int flags);
ssize_t recvmsg(int fd, struct peer_msghdr *msg, int flags);
int open(const char *path, int flags, ...);
int close(int fd);
void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
int munmap(void *addr, size_t len);
int mprotect(void *addr, size_t len, int prot);
long syscall(long nr, ...);
int getpid(void);
char *strerror(int errnum);
]]

local AF_UNIX, SOCK_SEQPACKET = 1, 5
local SOL_SOCKET, SCM_RIGHTS = 1, 1
local PROT_READ, PROT_WRITE = 1, 2
local MAP_SHARED = 1
local SYS_BPF = 321	-- x86-64
local BPF_MAP_UPDATE_ELEM, BPF_OBJ_GET, BPF_MAP_GET_FD_BY_ID = 2, 7, 14
local PAGE = 4096
local MAGIC, VERSION, REGISTER = 0x76697631, 1, 1

local ERRNO = {
  [1] = "EPERM", [2] = "ENOENT", [9] = "EBADF", [11] = "EAGAIN",
  [13] = "EACCES", [17] = "EEXIST", [22] = "EINVAL", [104] = "ECONNRESET",
  [71] = "EPROTO", [111] = "ECONNREFUSED", [3] = "ESRCH",
  [524] = "ENOTSUPP",
}

local function errname(e)
  return ERRNO[e] or ("errno" .. e)
end


local function say(name, value)
  io.write(name, " ", tostring(value), "\n")
  io.flush()
end


local pin_dir, sock_path, other = arg[1], arg[2], tonumber(arg[3])
local other_fds = arg[4] or ""


local function connect()
  local fd = C.socket(AF_UNIX, SOCK_SEQPACKET, 0)
  assert(fd >= 0)
  local sa = ffi.new("struct peer_sockaddr_un")
  sa.family = AF_UNIX
  ffi.copy(sa.path, sock_path)
  if C.connect(fd, sa, ffi.sizeof(sa)) ~= 0 then
    return nil, errname(ffi.errno())
  end
  return fd
end


-- Send a hello; @pass_fd, if set, goes along as SCM_RIGHTS.
local function hello(fd, ring_size, pass_fd)
  local h = ffi.new("uint32_t[4]")
  h[0] = MAGIC
  h[1] = VERSION + REGISTER * 65536
  h[2] = ring_size or 0
  h[3] = 0
  local iov = ffi.new("struct peer_iovec[1]")
  iov[0].base = h
  iov[0].len = 16
  local msg = ffi.new("struct peer_msghdr")
  msg.iov = iov
  msg.iovlen = 1
  if pass_fd then
    -- struct cmsghdr { size_t len; int level; int type; } + one int
    local ctl = ffi.new("uint8_t[24]")
    local words = ffi.cast("uint64_t *", ctl)
    words[0] = 20
    local ints = ffi.cast("int32_t *", ctl)
    ints[2], ints[3], ints[4] = SOL_SOCKET, SCM_RIGHTS, pass_fd
    msg.control = ctl
    msg.controllen = 24
  end
  return C.sendmsg(fd, msg, 0)
end


-- The welcome: err, id, ring_size and the descriptors that came with it.
local function welcome(fd)
  local buf = ffi.new("uint8_t[128]")
  local ctl = ffi.new("uint8_t[64]")
  local iov = ffi.new("struct peer_iovec[1]")
  iov[0].base = buf
  iov[0].len = 128
  local msg = ffi.new("struct peer_msghdr")
  msg.iov = iov
  msg.iovlen = 1
  msg.control = ctl
  msg.controllen = 64
  local n = C.recvmsg(fd, msg, 0)
  if n <= 0 then
    return nil, n == 0 and "closed" or errname(ffi.errno())
  end
  local w = ffi.cast("int32_t *", buf)
  local fds = {}
  if msg.controllen >= 24 then
    local len = ffi.cast("uint64_t *", ctl)[0]
    local ints = ffi.cast("int32_t *", ctl)
    for i = 0, (tonumber(len) - 16) / 4 - 1 do
      fds[#fds + 1] = ints[4 + i]
    end
  end
  return { err = w[2], id = w[3], ring_size = w[4], fds = fds }
end


local function try_open(name, path, flags)
  local fd = C.open(path, flags or 0)
  if fd >= 0 then
    C.close(fd)
    say(name, "ok")
  else
    say(name, errname(ffi.errno()))
  end
end


local function try_bpf(name, cmd, attr)
  local r = C.syscall(SYS_BPF, ffi.cast("long", cmd), attr,
    ffi.cast("long", ffi.sizeof(attr)))
  say(name, r >= 0 and "ok" or errname(ffi.errno()))
end


local function try_mmap(name, fd, len, prot, off)
  local p = C.mmap(nil, len, prot, MAP_SHARED, fd, off)
  if ffi.cast("intptr_t", p) == -1 then
    say(name, errname(ffi.errno()))
    return nil
  end
  say(name, "ok")
  return p
end


say("pid", C.getpid())

-- the pins: neither the directory nor the bpf() system call lets us in
try_open("open_pin_dir", pin_dir, 0x10000)	-- O_DIRECTORY
try_open("open_root_targets", pin_dir .. "/config_root_targets")
try_open("open_rings", pin_dir .. "/viv_rings")
local attr = ffi.new("uint64_t[4]")
local path = ffi.new("char[?]", #pin_dir + 32, pin_dir
  .. "/config_root_targets")
attr[0] = ffi.cast("uint64_t", ffi.cast("uintptr_t", path))
try_bpf("bpf_obj_get", BPF_OBJ_GET, attr)
local attr2 = ffi.new("uint32_t[8]")
attr2[0] = 1
try_bpf("bpf_map_get_fd_by_id", BPF_MAP_GET_FD_BY_ID, attr2)

-- another user's observer: its memory and descriptors are out of reach
if other then
  try_open("open_other_mem", ("/proc/%d/mem"):format(other))
  local worst = "none"
  for n in other_fds:gmatch("%d+") do
    local fd = C.open(("/proc/%d/fd/%s"):format(other, n), 0)
    if fd >= 0 then
      C.close(fd)
      worst = "ok"
    elseif worst ~= "ok" then
      worst = errname(ffi.errno())
    end
  end
  say("open_other_fds", worst)
end

-- register ourselves: asking for more than the daemon's size gets its size
local fd = assert(connect())
assert(hello(fd, 2 ^ 30) == 16)
local w, werr = welcome(fd)
if not w then
  say("register", werr)
  os.exit(1)
end
say("register", w.err == 0 and "ok" or errname(-w.err))
say("ring_size", w.ring_size)
say("fds", #w.fds)
local ring, lost = w.fds[1], w.fds[2]

-- the ring: only the consumer page may be written
local cons = try_mmap("mmap_consumer_rw", ring, PAGE, PROT_READ + PROT_WRITE, 0)
try_mmap("mmap_data_rw", ring, PAGE + 2 * w.ring_size,
  PROT_READ + PROT_WRITE, PAGE)
local data = try_mmap("mmap_data_ro", ring, PAGE + 2 * w.ring_size, PROT_READ,
  PAGE)
if data then
  local r = C.mprotect(data, PAGE, PROT_READ + PROT_WRITE)
  say("mprotect_data_rw", r == 0 and "ok" or errname(ffi.errno()))
end
if cons then
  C.munmap(cons, PAGE)
end

-- the lost counters: read-only for everyone
try_mmap("mmap_lost_rw", lost, PAGE * 4, PROT_READ + PROT_WRITE, 0)
try_mmap("mmap_lost_ro", lost, PAGE * 4, PROT_READ, 0)

-- Since Linux 6.9 bpf() takes map commands on a descriptor one holds
-- from anyone, whatever unprivileged_bpf_disabled says: the ring has no
-- update operation and the counters are frozen.
local key = ffi.new("uint32_t[1]")
local value = ffi.new("uint64_t[2]")
local function update(map_fd)
  -- union bpf_attr: map_fd, pad, key, value, flags
  local a = ffi.new("uint64_t[4]")
  a[0] = map_fd
  a[1] = ffi.cast("uint64_t", ffi.cast("uintptr_t", key))
  a[2] = ffi.cast("uint64_t", ffi.cast("uintptr_t", value))
  return a
end
try_bpf("bpf_ring_update", BPF_MAP_UPDATE_ELEM, update(ring))
try_bpf("bpf_lost_update", BPF_MAP_UPDATE_ELEM, update(lost))

-- Pinning our own ring where we may write keeps it after we exit (the
-- daemon still drops it from viv_rings): reported, not judged.
local BPF_OBJ_PIN = 6
local pin = ("/sys/fs/bpf/viv-peer-%d"):format(C.getpid())
local pin_path = ffi.new("char[?]", #pin + 1, pin)
local pa = ffi.new("uint64_t[4]")
pa[0] = ffi.cast("uint64_t", ffi.cast("uintptr_t", pin_path))
pa[1] = ring
try_bpf("bpf_obj_pin_ring", BPF_OBJ_PIN, pa)
os.remove(pin)

-- a second registration of the same process is refused
local fd2 = assert(connect())
assert(hello(fd2, 0) == 16)
local w2, w2err = welcome(fd2)
say("register_again", w2 and (w2.err == 0 and "ok" or errname(-w2.err))
  or w2err)
C.close(fd2)

-- a hello that carries a descriptor is dropped without a word
local fd3 = assert(connect())
hello(fd3, 0, 0)
local _, w3err = welcome(fd3)
say("hello_with_fd", w3err or "answered")
C.close(fd3)

C.close(fd)
say("done", "ok")
