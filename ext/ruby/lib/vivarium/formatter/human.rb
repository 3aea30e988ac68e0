# frozen_string_literal: true

module Vivarium
  module Formatter
    # The default: the gem's layout, one header per batch, one line per
    # event, then the stack. High severity events are red on a terminal.
    #
    #   [vivarium] 1 event(s) at demo.rb:12:in 'File.open'
    #     1234.567890123 pid=4321 tid=4321 medium path_open path=/tmp/x ...
    #     1234.567990123 pid=4330 (cat) tid=4330 medium path_open path=/tmp ...
    #     stack:
    #       demo.rb:12:in 'File.open'
    #       demo.rb:12:in 'write_file'
    #
    # A pid is followed by its command when a proc_exec of it was seen.
    module Human
      RED = "\e[31m"
      RESET = "\e[0m"

      def self.seconds(ns)
        ns = ns.to_i
        Kernel.format("%d.%09d", ns / 1_000_000_000, ns % 1_000_000_000)
      end

      def self.paint(line, batch, high)
        batch.color && high ? "#{RED}#{line}#{RESET}" : line
      end

      def self.format(batch)
        events = batch.events || []
        out = ["[vivarium] #{events.size} event(s) at " \
               "#{batch.location || "?"}:in '#{batch.function || "?"}'"]
        events.each do |e|
          pid = e.comm ? "#{e.pid} (#{e.comm})" : e.pid.to_s
          line = +"#{seconds(e.ktime_ns)} pid=#{pid} tid=#{e.tid} " \
                  "#{e.severity || "medium"} #{e.name || "?"}"
          line << " " << e.payload if e.payload && !e.payload.empty?
          out << "  #{paint(line, batch, e.severity == "high")}"
        end
        lost = batch.lost.to_i
        if lost.positive?
          line = "#{lost} event(s) lost before this point (ring full)"
          out << "  #{paint(line, batch, true)}"
        end
        out << "  stack:"
        (batch.stack || []).each { |frame| out << "    #{frame}" }
        "#{out.join("\n")}\n"
      end
    end
  end
end
