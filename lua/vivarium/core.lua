-- The one module that calls into C. Everything else in vivarium talks to
-- the native observer through these functions, so the specs replace this
-- module (package.loaded["vivarium.core"] = fake) and run without root.
--
-- The native module is registered by the vivarium host as
-- package.preload["vivarium.native"]; under a plain luajit it is missing
-- and open() says how to run the script instead.

local ok, native = pcall(require, "vivarium.native")

local M = {}


local NO_NATIVE = "vivarium.native is not available: run the script with "
  .. "`vivarium observe script.lua`"

-- The event names the kernel side knows, in kind order, when the host is
-- not there to ask: daemon.lua validation needs them in specs too.
local EVENT_NAMES = {
  "path_open", "proc_exec", "sock_connect", "file_symlink", "file_hardlink",
  "file_rename", "file_chmod", "file_getdents", "ptrace_check", "sb_mount",
  "kernel_read_file", "task_kill", "setid_change", "capable_check",
  "bprm_creds", "odd_socket", "dns_req",
}


-- Start observing this process. @opts: pin_dir (string or nil), connect
-- ("auto", "daemon" or "local"), ring_size (bytes or nil). Returns an
-- observer or nil and an error.
function M.open(opts)
  if not ok then
    return nil, NO_NATIVE
  end
  return native.open(opts)
end


-- Decoded events waiting in @obs's ring, oldest first: an array of
-- { name, kind, severity, pid, tid, ktime_ns, payload, fields }.
function M.drain(obs)
  return obs:drain()
end


function M.pending(obs)
  return obs:pending()
end


-- Records the kernel dropped for @obs since it opened.
function M.lost(obs)
  return obs:lost()
end


-- "daemon" or "local".
function M.mode(obs)
  return obs:mode()
end


function M.close(obs)
  obs:close()
end


-- Call @handler("call" | "return") at Lua function boundaries while @obs
-- has records waiting. Inside @handler, stack level 2 is the function the
-- boundary belongs to, as in a debug.sethook hook.
function M.sethook(obs, handler)
  native.sethook(obs, handler)
  -- Traces compiled before the hook was set never call it.
  jit.flush()
end


function M.clearhook()
  if ok then
    native.clearhook()
  end
end


-- True when the file handle @fh writes to a terminal.
function M.isatty(fh)
  if not ok then
    return false
  end
  return native.isatty(fh)
end


-- The library's version (VIV_VERSION), nil outside the vivarium host.
M.version = ok and native.version or nil


-- Names of the events the kernel side can record.
function M.event_names()
  if not ok then
    return EVENT_NAMES
  end
  return native.event_names()
end


return M
