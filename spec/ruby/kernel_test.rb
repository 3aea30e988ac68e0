# frozen_string_literal: true

# Fixture scripts observed on the running kernel (root): attribution of
# events to the Ruby methods that caused them, threads, JSON, frame
# filtering, local mode, and an unprivileged run through a daemon.

require "etc"
require "minitest"
require_relative "support"

class KernelTest < Minitest::Test
  include VivSpec

  def setup
    skip "needs root (bpf, a daemon)" unless root?
    @dir = tmpdir
  end

  def teardown
    FileUtils.rm_rf(@dir) if @dir
  end

  def run_json(fixture, env: {})
    status, out, err = run_fixture(fixture, env: VivSpec.daemon.env.merge(
      "VIV_DIR" => @dir).merge(env))
    assert status.success?, "#{fixture} failed (#{status}):\n#{err}"
    [json_lines(out), err]
  end

  def test_attribution_of_open_exec_connect
    events, err = run_json("attribution.rb")
    port = err[/port=(\d+)/, 1].to_i
    pid = err[/pid=(\d+)/, 1].to_i
    methods = %w[do_open do_exec do_connect]

    open = find(events, "path_open", "path" => "#{@dir}/opened")
    assert_equal 1, open.size, "one open of the file"
    assert_equal "do_open", first_of(open[0], methods)
    assert_equal pid, open[0]["pid"]
    assert_match(%r{fixtures/attribution\.rb:\d+\z}, open[0]["location"])

    exec = find(events, "proc_exec", "argv" => ["/bin/true", "viv-rb-exec", @dir])
    assert_equal 1, exec.size, "one exec"
    assert_equal "do_exec", first_of(exec[0], methods)
    refute_equal pid, exec[0]["pid"], "the exec is the child's"
    assert_equal "true", exec[0]["comm"], "a pid is named after its exec"

    conn = find(events, "sock_connect", "port" => port, "addr" => "127.0.0.1")
    assert_equal 1, conn.size, "one connect"
    assert_equal "do_connect", first_of(conn[0], methods)

    assert_match(/value=block_value/, err, "observe returns the block's value")
    assert_match(/mode=daemon/, err)
  end

  def test_json_lines_parse_with_the_lua_layout
    events, = run_json("attribution.rb")
    refute_empty events
    boundaries = %w[call return c_call c_return stop]
    events.each do |e|
      if e["event"] == "lost"
        assert_equal %w[event count severity function location stack boundary], e.keys
        next
      end
      assert_equal EVENT_KEYS, e.keys
      assert_includes boundaries, e["boundary"]
      assert_kind_of Hash, e["fields"]
      assert_kind_of Integer, e["ktime_ns"]
      e["stack"].each { |line| assert_match(/\A.+:\d+:in '.+'\z/, line) }
    end
  end

  def test_human_layout_and_internal_frames
    status, out, err = run_fixture("attribution.rb", env: VivSpec.daemon.env.merge(
      "VIV_DIR" => @dir, "VIV_FORMAT" => "human"))
    assert status.success?, err
    assert_match(/^\[vivarium\] \d+ event\(s\) at .*attribution\.rb:\d+:in '[^']+'$/, out)
    assert_match(/^    .*attribution\.rb:\d+:in 'do_open'$/, out)
    refute_match(%r{ext/ruby/lib/vivarium}, out)

    status, out, err = run_fixture("attribution.rb", env: VivSpec.daemon.env.merge(
      "VIV_DIR" => @dir, "VIV_FORMAT" => "human",
      "VIVARIUM_FILTER_INTERNAL_FRAMES" => "0"))
    assert status.success?, err
    assert_match(%r{ext/ruby/lib/vivarium\.rb:\d+:in 'observe'}, out,
                 "VIVARIUM_FILTER_INTERNAL_FRAMES=0 shows them")
  end

  def test_threads_see_their_own_events
    events, err = run_json("threads.rb")
    t1 = err[/t1=(\d+)/, 1].to_i
    t2 = err[/t2=(\d+)/, 1].to_i
    methods = %w[t1_work t2_work t1_busy t2_spawn]

    e1 = find(events, "path_open", "path" => "#{@dir}/t1")
    e2 = find(events, "path_open", "path" => "#{@dir}/t2")
    assert_equal 200, e1.size, "every open of thread 1"
    assert_equal 200, e2.size, "every open of thread 2"
    e1.each do |e|
      assert_equal t1, e["tid"]
      assert_equal "t1_work", first_of(e, methods), e["stack"].join("\n")
    end
    e2.each do |e|
      assert_equal t2, e["tid"]
      assert_equal "t2_work", first_of(e, methods), e["stack"].join("\n")
    end

    exec = find(events, "proc_exec", "argv" => ["/bin/true", "viv-rb-t2", @dir])
    assert_equal 1, exec.size
    status, probe, = run_fixture("origin_probe.rb", env: VivSpec.daemon.env)
    assert status.success?
    skip "the kernel side does not mark descendants' records with the " \
         "thread that spawned them yet" unless probe.strip == "yes"
    assert_equal "t2_spawn", first_of(exec[0], methods),
                 "a child's exec is reported at its spawning thread's boundary"
  end

  def test_a_forked_child_is_reported_by_its_parent
    events, err = run_json("fork.rb")
    child = err[/child value="x" pid=(\d+)/, 1]
    refute_nil child, "observe in the child returns the block's value: #{err}"
    opens = find(events, "path_open", "path" => "#{@dir}/forked")
    assert_equal 1, opens.size, "reported once"
    assert_equal child.to_i, opens[0]["pid"]
  end

  def test_local_mode_without_a_daemon
    env = { "VIV_DIR" => @dir,
            "VIVARIUM_BPF_PIN_DIR" => "/sys/fs/bpf/viv-rb-none-#{Process.pid}",
            "VIVARIUM_SOCKET" => File.join(@dir, "no.sock") }
    status, out, err = run_fixture("attribution.rb", env: env)
    assert status.success?, err
    assert_match(/mode=local/, err)
    events = json_lines(out)
    open = find(events, "path_open", "path" => "#{@dir}/opened")
    assert_equal "do_open", first_of(open[0], %w[do_open do_exec do_connect])
    refute File.exist?(env["VIVARIUM_BPF_PIN_DIR"]), "nothing pinned"
  end

  def test_unprivileged_through_a_daemon
    nobody = 65_534
    d = Daemon.new.start
    begin
      File.chown(nobody, nobody, @dir)
      status, out, err = run_fixture("attribution.rb", user: nobody,
                                     env: d.env.merge("VIV_DIR" => @dir))
      assert status.success?, "as uid #{nobody}: #{err}"
      assert_match(/mode=daemon/, err)
      events = json_lines(out)
      open = find(events, "path_open", "path" => "#{@dir}/opened")
      assert_equal 1, open.size
      assert_equal "do_open", first_of(open[0], %w[do_open do_exec do_connect])
      exec = find(events, "proc_exec", "argv" => ["/bin/true", "viv-rb-exec", @dir])
      assert_equal 1, exec.size
    ensure
      left = d.stop
    end
    assert_empty left, "left behind by the daemon"
  end
end
