-- An example daemon configuration: every setting `vivarium daemon` reads.
-- Run: sudo vivarium daemon examples/daemon.lua (options override it)

return {
  -- Where maps and links are pinned; observers use the same directory
  -- (VIVARIUM_BPF_PIN_DIR) to find the daemon's socket.
  pin_dir = "/sys/fs/bpf/vivarium",

  -- The events to switch on; leave the key out for all of them.
  events = { "path_open", "proc_exec", "sock_connect" },

  -- "auto" picks BPF LSM where it works, tracepoints elsewhere.
  backend = "auto",

  -- "stderr", or a file appended to (reopened on SIGHUP, for logrotate).
  log = "stderr",

  -- "warn", "info" (registrations and departures) or "debug".
  log_level = "info",

  -- Bytes of ring buffer per observer: a power of two, at least 4096.
  ring_size = 1048576,
}
