# Privilege-related attempts without sudo: uid/gid changes in a forked
# child, reads of sensitive files, and running a setuid-root program.
# Run: ruby -I ext/ruby/lib -I .output/ruby examples/ruby/privilege_event_demo.rb

require "vivarium"

NOBODY = 65_534
SETUID_PROGRAMS = %w[/usr/bin/passwd /usr/bin/chfn /usr/bin/newgrp
                     /bin/su /usr/bin/su].freeze

# setid_change, and capable_check when the change needs CAP_SETUID.
def change_ids_in_a_child
  pid = fork do
    begin
      Process::Sys.setgid(NOBODY)
      Process::Sys.setuid(NOBODY)
    rescue SystemCallError
      nil
    end
    exit!(0)
  end
  Process.wait(pid)
end

# path_open of files only root may read (ret=-13 when not root).
def read_sensitive_files
  %w[/etc/shadow /etc/gshadow].each do |path|
    File.read(path)
  rescue SystemCallError
    nil
  end
end

# proc_exec and bprm_creds of a setuid-root program.
def run_a_setuid_program
  program = SETUID_PROGRAMS.find { |p| File.setuid?(p) }
  return warn("no setuid program found; skipping") unless program

  system(program, "--help", out: File::NULL, err: File::NULL)
end

Vivarium.observe do
  change_ids_in_a_child
  read_sensitive_files
  run_a_setuid_program
end
