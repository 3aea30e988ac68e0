# A forked child is sent TERM with Process.kill: a task_kill event (high
# severity), attributed to the method that sent it.
# Run: ruby -I ext/ruby/lib -I .output/ruby examples/ruby/signal_kill_demo.rb

require "vivarium"

def start_child
  fork do
    sleep 10
    exit!(0)
  end
end

def terminate(pid)
  Process.kill("TERM", pid)
end

def reap(pid)
  Process.wait(pid)
  $?
end

Vivarium.observe do
  pid = start_child
  sleep 0.1
  terminate(pid)
  reap(pid)
end
