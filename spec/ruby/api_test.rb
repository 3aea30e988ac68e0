# frozen_string_literal: true

# The gem's API in this process. Misuse is checked without a kernel; the
# rest goes through the specs' daemon (root).

require "minitest"
require "stringio"
require "vivarium"
require_relative "support"

class ApiTest < Minitest::Test
  def test_extension_loads
    assert_match(/\A\d+\.\d+\.\d+\z/, Vivarium::VERSION)
    assert_includes Vivarium.event_names, "path_open"
    assert_includes Vivarium.event_names, "proc_exec"
    assert_kind_of Integer, Vivarium::Native.tid
  end

  def test_bpf_pin_dir
    saved = ENV.delete("VIVARIUM_BPF_PIN_DIR")
    Vivarium.bpf_pin_dir = nil
    assert_equal "/sys/fs/bpf/vivarium", Vivarium.bpf_pin_dir
    ENV["VIVARIUM_BPF_PIN_DIR"] = "/sys/fs/bpf/from-env"
    assert_equal "/sys/fs/bpf/from-env", Vivarium.bpf_pin_dir
    Vivarium.bpf_pin_dir = "/sys/fs/bpf/set"
    assert_equal "/sys/fs/bpf/set", Vivarium.bpf_pin_dir
  ensure
    Vivarium.bpf_pin_dir = nil
    saved ? ENV["VIVARIUM_BPF_PIN_DIR"] = saved : ENV.delete("VIVARIUM_BPF_PIN_DIR")
  end

  def test_misuse_raises_argument_error
    e = assert_raises(ArgumentError) { Vivarium.observe(formt: :json) { 1 } }
    assert_equal "observe: unknown option :formt", e.message
    e = assert_raises(ArgumentError) { Vivarium.top_observe(format: :xml) }
    assert_match(/\Atop_observe: format must be/, e.message)
    assert_raises(ArgumentError) { Vivarium.observe(destination: 3) { 1 } }
    assert_raises(ArgumentError) { Vivarium.observe(connect: :nope) { 1 } }
    e = assert_raises(ArgumentError) { Vivarium.observe(ring_size: 3000) { 1 } }
    assert_match(/ring_size must be a power of two from 4096/, e.message)
  end

  def test_no_daemon_unprivileged_is_an_error
    skip "needs a non-root uid to check" if VivSpec.root?
    with_env("VIVARIUM_SOCKET" => "/nonexistent/vivarium.sock") do
      e = assert_raises(Vivarium::Error) { Vivarium.observe { 1 } }
      assert_match(/cannot start observing/, e.message)
    end
  end

  # ---- through the daemon --------------------------------------------------

  def test_observe_returns_the_value_and_reports
    out = StringIO.new
    value = through_daemon do
      Vivarium.observe(destination: out) { read_hostname }
    end
    assert_equal :done, value
    text = out.string
    assert_match(/^\[vivarium\] \d+ event\(s\) at #{Regexp.escape(__FILE__)}:\d+:in '/, text)
    assert_match(/path_open path=\/etc\/hostname /, text)
    assert_match(/^    #{Regexp.escape(__FILE__)}:\d+:in 'read_hostname'$/, text)
    refute_includes text, "\e[", "no colour on a StringIO"
    refute_match(%r{ext/ruby/lib/vivarium}, text, "own frames hidden")
  end

  def test_observe_reraises_and_stops
    out = StringIO.new
    through_daemon do
      assert_raises(RuntimeError) do
        Vivarium.observe(destination: out) do
          read_hostname
          raise "boom"
        end
      end
      assert_nil Vivarium::Observer.mode, "observer closed after a raise"
    end
    assert_match(/path=\/etc\/hostname/, out.string)
  end

  def test_top_observe_and_idempotent_stop
    out = StringIO.new
    through_daemon do
      observation = Vivarium.top_observe(destination: out, format: :json)
      assert_equal "daemon", observation.mode
      read_hostname
      assert observation.stop
      refute observation.stop, "a second stop does nothing"
      assert observation.stopped?
    end
    lines = VivSpec.json_lines(out.string)
    refute_empty VivSpec.find(lines, "path_open", "path" => "/etc/hostname")
  end

  def test_observe_without_a_block_is_top_observe
    out = StringIO.new
    through_daemon do
      observation = Vivarium.observe(destination: out)
      assert_kind_of Vivarium::Observation, observation
      read_hostname
      observation.stop
    end
    assert_match(/path=\/etc\/hostname/, out.string)
  end

  def test_nested_observations_report_to_the_innermost
    outer = StringIO.new
    inner = StringIO.new
    through_daemon do
      Vivarium.observe(destination: outer) do
        Vivarium.observe(destination: inner, format: :json) { read_hostname }
        File.read("/etc/passwd")
      end
    end
    assert_match(/"path":"\/etc\/hostname"/, inner.string)
    refute_match(/passwd/, inner.string)
    assert_match(/path=\/etc\/passwd/, outer.string)
  end

  def test_destination_path_is_appended
    dir = VivSpec.tmpdir
    path = File.join(dir, "events.txt")
    File.write(path, "before\n")
    through_daemon do
      Vivarium.observe(destination: path) { read_hostname }
    end
    text = File.read(path)
    assert text.start_with?("before\n[vivarium] ")
  ensure
    FileUtils.rm_rf(dir) if dir
  end

  def test_failing_formatter_falls_back_to_human
    out = StringIO.new
    err = capture_stderr do
      through_daemon do
        Vivarium.observe(destination: out, format: ->(_b) { raise "bad" }) do
          read_hostname
        end
      end
    end
    assert_match(/formatter .* failed: RuntimeError: bad/, err)
    assert_match(/path=\/etc\/hostname/, out.string)
  end

  private

  def read_hostname
    File.read("/etc/hostname")
    :done
  end

  def through_daemon(&block)
    skip "needs root for the specs' daemon" unless VivSpec.root?
    d = VivSpec.daemon
    Vivarium.bpf_pin_dir = d.pin_dir
    with_env("VIVARIUM_SOCKET" => d.socket, &block)
  ensure
    Vivarium.bpf_pin_dir = nil
  end

  def with_env(env)
    saved = env.keys.to_h { |k| [k, ENV[k]] }
    env.each { |k, v| ENV[k] = v }
    yield
  ensure
    saved.each { |k, v| v ? ENV[k] = v : ENV.delete(k) }
  end

  def capture_stderr
    saved = $stderr
    $stderr = StringIO.new
    yield
    $stderr.string
  ensure
    $stderr = saved
  end
end
