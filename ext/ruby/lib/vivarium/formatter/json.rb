# frozen_string_literal: true

module Vivarium
  module Formatter
    # One JSON object per event, one per line, for machines; byte for byte
    # what the Lua host's json formatter writes:
    #
    #   {"event":"path_open","severity":"medium","ktime_ns":1234567890123,
    #    "pid":4321,"tid":4321,"comm":null,"payload":"path=/tmp/x ret=3",
    #    "fields":{"path":"/tmp/x","ret":3},"function":"File.open",
    #    "location":"demo.rb:12","stack":["demo.rb:12:in 'File.open'"],
    #    "boundary":"c_return"}
    #
    # "comm" is the command the process runs, known once a proc_exec of its
    # pid went by ("cat"), else null. Records lost because the ring was
    # full get a line of their own:
    # {"event":"lost","count":3,"severity":"high",...}. Keys come in that
    # fixed order, fields sorted by name; a list is always an array. A
    # byte that is not part of valid UTF-8 becomes the four characters
    # \xNN (as text), so every line stays valid JSON.
    module Json
      ESCAPES = {
        '"' => '\\"', "\\" => "\\\\", "\b" => "\\b", "\f" => "\\f",
        "\n" => "\\n", "\r" => "\\r", "\t" => "\\t",
      }.freeze

      def self.utf8_clean(s)
        s = s.dup.force_encoding(Encoding::UTF_8)
        return s if s.valid_encoding?

        s.scrub do |bad|
          bad.unpack("C*").map { |b| Kernel.format("\\x%02X", b) }.join
        end
      end

      def self.str(s)
        body = utf8_clean(s.to_s).gsub(/["\\\x00-\x1f\x7f]/) do |c|
          ESCAPES[c] || Kernel.format("\\u%04x", c.ord)
        end
        "\"#{body}\""
      end

      def self.value(v)
        case v
        when Integer then v.to_s
        when Float then v.finite? ? Kernel.format("%.17g", v) : "null"
        when true, false then v.to_s
        when nil then "null"
        when Array then "[#{v.map { |x| value(x) }.join(',')}]"
        else str(v)
        end
      end

      def self.object(h)
        pairs = (h || {}).map { |k, v| [k.to_s, v] }.sort_by(&:first)
        "{#{pairs.map { |k, v| "#{str(k)}:#{value(v)}" }.join(',')}}"
      end

      def self.line(pairs)
        "{#{pairs.each_slice(2).map { |k, v| "#{str(k)}:#{v}" }.join(',')}}"
      end

      def self.format(batch)
        func = str(batch.function || "?")
        location = str(batch.location || "?")
        stack = value((batch.stack || []).map(&:to_s))
        boundary = str(batch.boundary || "?")
        out = (batch.events || []).map do |e|
          line(["event", str(e.name || "?"),
                "severity", str(e.severity || "medium"),
                "ktime_ns", e.ktime_ns.to_i.to_s,
                "pid", e.pid.to_i.to_s,
                "tid", e.tid.to_i.to_s,
                "comm", e.comm ? str(e.comm) : "null",
                "payload", str(e.payload || ""),
                "fields", object(e.fields),
                "function", func,
                "location", location,
                "stack", stack,
                "boundary", boundary])
        end
        if batch.lost.to_i.positive?
          out << line(["event", str("lost"),
                       "count", batch.lost.to_i.to_s,
                       "severity", str("high"),
                       "function", func,
                       "location", location,
                       "stack", stack,
                       "boundary", boundary])
        end
        return nil if out.empty?

        "#{out.join("\n")}\n"
      end
    end
  end
end
