# Programs started several ways (system, a shell, spawn, exec in a fork),
# each from its own method, so every proc_exec shows its argv and caller.
# Run: ruby -I ext/ruby/lib -I .output/ruby examples/ruby/execve_demo.rb

require "vivarium"

def run_with_system
  system("/bin/echo", "hello", "with spaces", out: File::NULL)
end

def run_through_a_shell
  system("echo shell $((1 + 2)) > /dev/null")
end

def run_with_spawn
  pid = Process.spawn("/usr/bin/env", "VIVARIUM_DEMO=1", "/bin/true")
  Process.wait(pid)
end

def run_with_many_arguments
  system("/bin/true", *(1..20).map { |i| "argument-#{i}" })
end

def run_exec_in_a_fork
  pid = fork do
    exec("/bin/echo", "from", "a", "fork", out: File::NULL)
  end
  Process.wait(pid)
end

def run_missing_program
  system("/nonexistent/program", "--flag")
end

Vivarium.observe do
  run_with_system
  run_through_a_shell
  run_with_spawn
  run_with_many_arguments
  run_exec_in_a_fork
  run_missing_program
end
