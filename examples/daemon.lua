-- An example daemon configuration: every setting `vivarium daemon` reads.
-- Run: sudo vivarium daemon examples/daemon.lua (options override it)

return {
  -- Where maps and links are pinned; observers use the same directory
  -- (VIVARIUM_BPF_PIN_DIR) to find the daemon's socket.
  pin_dir = "/sys/fs/bpf/vivarium",

  -- The events to switch on; leave the key out for all of them.
  events = { "path_open", "proc_exec", "sock_connect", "capable_check" },

  -- "auto" picks BPF LSM where it works, tracepoints elsewhere.
  backend = "auto",

  -- "stderr" (the journal, under systemd), or a file appended to.
  log = "stderr",

  -- "warn", "info" (registrations and departures) or "debug".
  log_level = "info",

  -- Bytes of ring buffer per observer: a power of two, at least 4096. An
  -- observer may ask for less (`observe --ring-size`), never more.
  ring_size = 1048576,

  -- The capabilities capable_check reports (capabilities(7) names); leave
  -- the key out for the built-in list of high-risk ones.
  caps = { "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SETUID", "CAP_SETGID",
    "CAP_DAC_OVERRIDE", "CAP_BPF" },

  -- Per-event filters, applied in the kernel: path_open reports only
  -- paths under these prefixes (at most 8, 63 bytes each).
  -- filters = { path_open = { prefixes = { "/etc/", "/tmp/", "/home/" } } },

  -- true: the kernel side also writes a line per record to the trace pipe
  -- and the daemon copies those lines into its log (debugging only: the
  -- trace pipe has one reader system-wide).
  debug = false,
}

-- SIGHUP (systemctl reload vivarium) reads this file again: log and
-- log_level change at once; the other keys need a restart, and the log
-- says which changed.
