# frozen_string_literal: true

# The formatters, on batches made by hand: no kernel needed.

require "minitest"
require "stringio"
require "vivarium"
require_relative "support"

class FormatterTest < Minitest::Test
  def event(**over)
    Vivarium::Event.new(*{
      name: "path_open", kind: 1, severity: "medium", pid: 42, tid: 43,
      origin: 43, ktime_ns: 1_234_567_890_123,
      payload: "path=/tmp/x flags=O_RDONLY ret=3",
      fields: { "path" => "/tmp/x", "ret" => 3, "flags" => "O_RDONLY" },
      comm: nil,
    }.merge(over).values)
  end

  def batch(**over)
    Vivarium::Batch.new(**{
      events: [event], lost: 0, boundary: "c_return", function: "File.open",
      location: "demo.rb:12", stack: ["demo.rb:12:in 'File.open'",
                                      "demo.rb:12:in 'write_file'"],
      color: false, tid: 43,
    }.merge(over))
  end

  def test_human_layout
    assert_equal(<<~TEXT, Vivarium::Formatter::Human.format(batch))
      [vivarium] 1 event(s) at demo.rb:12:in 'File.open'
        1234.567890123 pid=42 tid=43 medium path_open path=/tmp/x flags=O_RDONLY ret=3
        stack:
          demo.rb:12:in 'File.open'
          demo.rb:12:in 'write_file'
    TEXT
  end

  def test_human_names_the_command
    text = Vivarium::Formatter::Human.format(batch(events: [event(comm: "cat")]))
    assert_includes text, " pid=42 (cat) tid=43 medium path_open "
  end

  def test_human_red_only_with_color_and_high
    high = event(name: "setid_change", severity: "high", payload: "call=setuid")
    plain = Vivarium::Formatter::Human.format(batch(events: [high]))
    refute_includes plain, "\e["
    red = Vivarium::Formatter::Human.format(batch(events: [high, event],
                                                  color: true))
    assert_includes red, "\e[31m"
    assert_equal 1, red.scan("\e[31m").size, "medium stays plain"
  end

  def test_human_lost
    text = Vivarium::Formatter::Human.format(batch(events: [], lost: 3))
    assert_includes text, "[vivarium] 0 event(s) at"
    assert_includes text, "  3 event(s) lost before this point (ring full)\n"
  end

  def test_json_keys_and_values
    lines = Vivarium::Formatter::Json.format(batch).lines
    assert_equal 1, lines.size
    obj = JSON.parse(lines[0])
    assert_equal VivSpec::EVENT_KEYS, obj.keys
    assert_nil obj["comm"]
    with_comm = JSON.parse(Vivarium::Formatter::Json.format(batch(events: [event(comm: "cat")])))
    assert_equal "cat", with_comm["comm"]
    assert_equal 1_234_567_890_123, obj["ktime_ns"]
    assert_equal({ "flags" => "O_RDONLY", "path" => "/tmp/x", "ret" => 3 },
                 obj["fields"])
    assert_equal %w[flags path ret], obj["fields"].keys, "fields sorted"
    assert_equal "c_return", obj["boundary"]
  end

  def test_json_lost_line
    text = Vivarium::Formatter::Json.format(batch(lost: 2))
    lost = JSON.parse(text.lines.last)
    assert_equal %w[event count severity function location stack boundary],
                 lost.keys
    assert_equal ["lost", 2, "high"], lost.values_at("event", "count", "severity")
    assert_nil Vivarium::Formatter::Json.format(batch(events: []))
  end

  def test_json_escapes_like_cjson
    s = "a\"b\\c\n\t\u0001\u007f/é \xFF\xE3\x81".b
    out = Vivarium::Formatter::Json.str(s)
    assert_equal '"a\"b\\\\c\n\t\u0001\u007f/é \\\\xFF\\\\xE3\\\\x81"', out
    assert_equal "a\"b\\c\n\t\u0001\u007f/é \\xFF\\xE3\\x81", JSON.parse(out)
  end

  # The Lua host's json formatter, given the same batch, writes the same
  # bytes.
  def test_json_same_as_lua
    skip "luajit with cjson not found" unless system("luajit -e 'require \"cjson\"'",
                                                     %i[out err] => File::NULL)
    b = batch(events: [event(fields: { "argv" => ["a", "b\xFFc".b], "ret" => -2,
                                       "path" => "/x\"y" }, payload: "p=\xC3\xA9\x01".b),
                         event(comm: "ca\xFEt".b)],
              lost: 1)
    lua = <<~LUA
      package.path = #{File.join(VivSpec::ROOT, 'lua', '?.lua').dump} .. ";" .. package.path
      local json = require "vivarium.formatter.json"
      io.write(json.format(#{lua_value(lua_batch(b))}))
    LUA
    out, err, status = Open3.capture3("luajit", "-", stdin_data: lua)
    assert status.success?, err
    assert_equal out, Vivarium::Formatter::Json.format(b)
  end

  def test_formatter_choice
    assert_equal Vivarium::Formatter::Human, Vivarium::Formatter.load(:human)[0]
    assert_equal Vivarium::Formatter::Json, Vivarium::Formatter.load("json")[0]
    callable = Vivarium::Formatter.load(->(b) { "x#{b.lost}" })[0]
    assert_equal "x0", callable.format(batch)
    e = assert_raises(ArgumentError) { Vivarium::Formatter.load(:xml) }
    assert_match(/format must be :human, :json/, e.message)
  end

  private

  def lua_batch(b)
    {
      "events" => b.events.map do |e|
        { "name" => e.name, "severity" => e.severity, "ktime_ns" => e.ktime_ns,
          "pid" => e.pid, "tid" => e.tid, "payload" => e.payload,
          "fields" => e.fields, "comm" => e.comm }.compact
      end,
      "lost" => b.lost, "boundary" => b.boundary, "func" => b.function,
      "location" => b.location, "stack" => b.stack,
    }
  end

  def lua_value(v)
    case v
    when Hash then "{#{v.map { |k, x| "[#{lua_value(k)}] = #{lua_value(x)}" }.join(', ')}}"
    when Array then "{#{v.map { |x| lua_value(x) }.join(', ')}}"
    when Integer then v.to_s
    else "\"#{v.to_s.b.bytes.map { |c| format('\\%03d', c) }.join}\""
    end
  end
end
