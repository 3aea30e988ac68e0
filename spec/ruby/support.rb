# frozen_string_literal: true

# Helpers for the Ruby specs: fixture scripts run as child processes (so
# the observed code is theirs alone), a daemon in a private pin directory
# and socket, and checks that nothing is left behind.

require "fileutils"
require "json"
require "open3"
require "tmpdir"

module VivSpec
  ROOT = File.expand_path("../..", __dir__)
  OUTPUT = ENV.fetch("OUTPUT", ".output")
  BINARY = ENV.fetch("VIVARIUM") { File.join(ROOT, OUTPUT, "vivarium") }
  LIB_DIR = File.join(ROOT, "ext", "ruby", "lib")
  EXT_DIR = ENV.fetch("VIVARIUM_RUBY_EXT_DIR") { File.join(ROOT, OUTPUT, "ruby") }
  FIXTURES = File.join(__dir__, "fixtures")
  RUBY = ENV.fetch("RUBY", "ruby")
  # A hung child fails its test instead of the whole run.
  TIMEOUT = "20"

  # JSON keys in the order the Lua json formatter writes them.
  EVENT_KEYS = %w[event severity ktime_ns pid tid comm payload fields function
                  location stack boundary].freeze

  module_function

  def root?
    Process.euid.zero?
  end

  def tmpdir
    dir = Dir.mktmpdir("viv-rb-spec.")
    File.chmod(0o755, dir)
    dir
  end

  # A daemon for the specs that need one: its own pin directory under
  # bpffs and its socket in a private directory.
  class Daemon
    attr_reader :pin_dir, :socket, :run_dir, :pid, :log

    def initialize
      @run_dir = VivSpec.tmpdir
      # Named after the spec runner, which checks for leftovers by it.
      @pin_dir = "/sys/fs/bpf/viv-rb-#{Process.pid}-#{rand(1 << 30)}"
      @socket = File.join(@run_dir, "vivarium.sock")
      @log = File.join(@run_dir, "daemon.log")
    end

    def env
      { "VIVARIUM_BPF_PIN_DIR" => @pin_dir, "VIVARIUM_SOCKET" => @socket }
    end

    def start
      @pid = Process.spawn(env, BINARY, "daemon", "--pin-dir", @pin_dir,
                           %i[out err] => @log, :in => File::NULL,
                           :pgroup => true)
      100.times do
        return self if File.socket?(@socket)
        break if Process.waitpid(@pid, Process::WNOHANG)

        sleep 0.1
      end
      raise "daemon did not start:\n#{File.read(@log)}"
    end

    # SIGTERM, then what is left behind, as a list of complaints.
    def stop
      left = []
      if @pid
        Process.kill("TERM", @pid)
        exited = false
        100.times do
          break if (exited = Process.waitpid(@pid, Process::WNOHANG))

          sleep 0.1
        end
        unless exited
          Process.kill("KILL", -@pid)
          Process.waitpid(@pid)
          left << "daemon ignored SIGTERM"
        end
        @pid = nil
      end
      left << "pin dir #{@pin_dir}" if File.exist?(@pin_dir)
      left << "socket #{@socket}" if File.exist?(@socket)
      FileUtils.rm_rf(@run_dir)
      left
    end
  end

  # One daemon shared by the specs of this run (module state, not the
  # test instance's: each test is a new instance).
  @shared = nil

  def self.daemon
    @shared ||= Daemon.new.start
  end

  def self.stop_daemon
    return [] unless @shared

    left = @shared.stop
    @shared = nil
    left
  end

  # Daemons and pin directories of this run that are still there: each
  # is stopped (SIGTERM) and named.
  def self.leftovers
    prefix = "/sys/fs/bpf/viv-rb-#{Process.pid}-"
    pids = daemons_under(prefix)
    pids.each { |pid| Process.kill("TERM", pid) }
    50.times do
      break if daemons_under(prefix).empty?

      Process.waitpid(-1, Process::WNOHANG) rescue nil
      sleep 0.1
    end
    pids.map { |pid| "daemon #{pid}" } +
      Dir.glob("#{prefix}*").map { |d| "pin dir #{d}" }
  end

  def self.daemons_under(prefix)
    Dir.glob("/proc/[0-9]*/cmdline").filter_map do |f|
      args = File.read(f).split("\0")
      next unless args[1] == "daemon" && args[3].to_s.start_with?(prefix)

      f[%r{/proc/(\d+)/}, 1].to_i
    rescue SystemCallError
      nil
    end
  end

  # Run fixture @name with ruby; returns [status, stdout, stderr].
  def run_fixture(name, env: {}, user: nil)
    cmd = [RUBY, "-I", LIB_DIR, "-I", EXT_DIR, File.join(FIXTURES, name)]
    if user
      cmd = ["setpriv", "--reuid=#{user}", "--regid=#{user}",
             "--clear-groups", "--"] + cmd
    end
    out, err, status = Open3.capture3(env, "timeout", TIMEOUT, *cmd,
                                      stdin_data: "")
    [status, out, err]
  end

  def json_lines(text)
    text.each_line.reject { |l| l.strip.empty? }.map { |l| JSON.parse(l) }
  end

  # Events whose fields include every pair of @fields.
  def find(events, name, fields = {})
    events.select do |e|
      e["event"] == name &&
        fields.all? { |k, v| v.is_a?(Regexp) ? e["fields"][k].to_s =~ v : e["fields"][k] == v }
    end
  end

  # Labels of the stack's frames, innermost first.
  def labels(event)
    event["stack"].map { |line| line[/:in '(.*)'\z/, 1] }
  end

  # The first frame whose label is one of @names, or nil.
  def first_of(event, names)
    labels(event).find { |l| names.include?(l) }
  end
end
