# frozen_string_literal: true

# The process's one observer, the handler the boundary hook calls, and the
# batches that go to the formatters (lua/vivarium/observer.lua does the
# same for Lua).
#
# Every observation (observe, top_observe) pushes a sink: a formatter and
# a destination. The first opens the observer and enables the hook;
# nested ones share it and the innermost sink gets the batches; the last
# one to stop drains what is left and closes the observer.

module Vivarium
  # What a formatter gets: the records one thread caused, drained at one
  # of its boundaries, with the stack they are attributed to.
  #
  # events    Vivarium::Event each (name, kind, severity, pid, tid,
  #           origin, ktime_ns, payload, fields, comm: the command the
  #           process runs once a proc_exec of its pid went by, else nil)
  # lost      records lost since the last batch (0 mostly)
  # boundary  "call", "return", "c_call", "c_return" or "stop"
  # function  label of the frame the events are attributed to
  # location  its "path:lineno"
  # stack     "path:lineno:in 'label'" lines, innermost first
  # color     whether high severity may be coloured (a terminal)
  # tid       the thread whose boundary it is
  Batch = Struct.new(:events, :lost, :boundary, :function, :location,
                     :stack, :color, :tid, keyword_init: true)

  # A running observation, as observe and top_observe start it.
  class Observation
    def initialize(sink)
      @sink = sink
    end

    # Print what is left and stop; true the first time, then false.
    def stop
      !@sink.nil? && Observer.finish(@sink)
    end

    def stopped?
      @sink.nil? || !Observer.active?(@sink)
    end

    # "daemon" or "local"; nil once stopped, and in a forked child whose
    # parent observes it.
    def mode
      stopped? ? nil : Observer.mode
    end
  end

  # Internal: only the hook and the code above call it.
  module Observer
    # How deep a stack goes into a batch; deeper frames become "...".
    MAX_FRAMES = 64

    # Frames in these files are vivarium's own.
    LIB_DIR = File.expand_path("..", __dir__)
    SELF_FILE = File.join(LIB_DIR, "vivarium.rb")
    SELF_DIR = File.join(LIB_DIR, "vivarium", "")

    OPTIONS = %i[format destination pin_dir connect ring_size color].freeze

    MIN_RING = 4096
    MAX_RING = 1 << 30

    # Past this many processes the pid -> command table starts afresh: a
    # long run that keeps spawning must not grow without bound, and a
    # recent exec is the one whose pid is most likely to show up again.
    MAX_COMMANDS = 4096

    Sink = Struct.new(:formatter, :name, :out, :close_out, :color)

    @lock = Mutex.new
    @obs = nil
    @pid = nil
    @sinks = []
    @reported = {}
    @commands = {}

    class << self
      # Hide vivarium's frames (VIVARIUM_FILTER_INTERNAL_FRAMES=0 shows
      # them).
      attr_accessor :filter_internal

      def internal?(path)
        !path.nil? && (path == SELF_FILE || path.start_with?(SELF_DIR))
      end

      # Called by the hook (ext/ruby/vivarium_ext.c) when records of the
      # calling thread wait: @event is :call, :return, :c_call or
      # :c_return of method @mid of @klass.
      def boundary(event, mid, klass)
        obs = @obs
        return unless obs

        events, lost = obs.drain(false)
        return if events.empty? && lost.zero?

        # Frame 0 is this method; 1 is the frame the hook fired in.
        frames = frames_of(caller_locations(1), event, mid, klass)
        emit(@sinks.last, events, lost, event.to_s, frames)
      rescue StandardError => e
        report_once(:drain, "cannot read events: #{e.message}")
      end

      def start(opts, who)
        check(opts, who)
        formatter, name = Formatter.load(opts.fetch(:format, :human), who)
        out, close_out = open_destination(opts[:destination], who)
        color = opts.fetch(:color) { default_color(out) }

        @lock.synchronize do
          # A child forked while its parent observed: the parent's
          # observer already reports what it does, at the parent's
          # boundaries. A second observer here would add nothing but the
          # cost of loading one.
          if @pid && @pid != Process.pid
            close_sink(Sink.new(nil, nil, out, close_out))
            return Observation.new(nil)
          end
          begin
            open_observer(opts) unless @obs
          rescue StandardError
            out.close if close_out
            raise
          end
          sink = Sink.new(formatter, name, out, close_out, color)
          @sinks << sink
          Observation.new(sink)
        end
      end

      # End the observation of @sink: drain what is left on behalf of its
      # caller, then close the observer if it was the last one.
      def finish(sink)
        @lock.synchronize do
          return false unless @sinks.include?(sink)

          drain_all(sink) if @obs && @pid == Process.pid
          @sinks.delete(sink)
          close_sink(sink)
          close_observer if @sinks.empty?
          true
        end
      end

      # Stop every observation, innermost first (at exit).
      def finish_all
        finish(@sinks.last) until @sinks.empty?
      end

      def active?(sink)
        @sinks.include?(sink)
      end

      def mode
        @obs&.mode
      end

      private

      def check(opts, who)
        opts.each_key do |key|
          next if OPTIONS.include?(key)

          raise ArgumentError, "#{who}: unknown option #{key.inspect}"
        end
        pin_dir = opts[:pin_dir]
        unless pin_dir.nil? || pin_dir.is_a?(String)
          raise ArgumentError,
                "#{who}: pin_dir must be a String, got #{pin_dir.class}"
        end
        connect = opts.fetch(:connect, :auto)
        unless %w[auto daemon local].include?(connect.to_s) &&
               (connect.is_a?(Symbol) || connect.is_a?(String))
          raise ArgumentError, "#{who}: connect must be :auto, :daemon or " \
                               ":local, got #{connect.inspect}"
        end
        ring = opts[:ring_size]
        return if ring.nil? || power_of_two?(ring)

        raise ArgumentError, "#{who}: ring_size must be a power of two from " \
                             "#{MIN_RING} to #{MAX_RING}, got #{ring.inspect}"
      end

      def power_of_two?(n)
        n.is_a?(Integer) && n.between?(MIN_RING, MAX_RING) &&
          (n & (n - 1)).zero?
      end

      def open_destination(dest, who)
        return [$stdout, false] if dest.nil?
        return [dest, false] if dest.respond_to?(:write)

        unless dest.is_a?(String)
          raise ArgumentError, "#{who}: destination must be an IO or a " \
                               "path, got #{dest.class}"
        end
        [File.open(dest, "a"), true]
      rescue SystemCallError => e
        raise Error, "cannot open destination: #{e.message}"
      end

      def default_color(out)
        out.respond_to?(:tty?) && out.tty? && ENV.fetch("NO_COLOR", "").empty?
      rescue IOError
        false
      end

      def open_observer(opts)
        connect = opts.fetch(:connect, :auto).to_sym
        obs = Native.open(opts[:pin_dir] || Vivarium.bpf_pin_dir, connect,
                          opts[:ring_size])
        @obs = obs
        @pid = Process.pid
        @commands = {}
        Native.enable_hook(obs, self)
      end

      def close_observer
        obs = @obs
        return unless obs

        @obs = nil
        Native.disable_hook
        obs.close
      end

      def close_sink(sink)
        sink.out.close if sink.close_out
      rescue IOError, SystemCallError
        nil
      end

      # Every thread's records, at stop: later there is nobody to print
      # them.
      def drain_all(sink)
        events, lost = @obs.drain(true)
        return if events.empty? && lost.zero?

        frames = frames_of(caller_locations(1), :stop, nil, nil)
        emit(sink, events, lost, "stop", frames)
      rescue Error => e
        report_once(:drain, "cannot read events: #{e.message}")
      end

      Frame = Struct.new(:path, :lineno, :label, :internal)

      # The frames a batch is attributed to, from the hook's point of view:
      # at :call the called method has not run yet, so what waits was done
      # by its caller; at :c_return the C method that returned did it (it
      # is no longer on the stack, so it is put back on top).
      def frames_of(locations, event, mid, klass)
        frames = locations.map do |l|
          Frame.new(l.path, l.lineno, l.label,
                    internal?(l.absolute_path || l.path))
        end
        callee = nil
        case event
        when :call
          callee = frames.shift
        when :c_return
          top = frames.first
          if top
            frames.unshift(Frame.new(top.path, top.lineno,
                                     c_label(klass, mid), top.internal))
          end
        end
        return frames unless filter_internal

        shown = frames.reject(&:internal)
        # Everything from the caller up is vivarium's own: the called
        # method is the user's.
        shown = [callee] + shown if shown.empty? && callee && !callee.internal
        shown
      end

      # "File.open", "Kernel#system": the owner is not on the stack.
      def c_label(klass, mid)
        return mid.to_s if klass.nil?

        if klass.singleton_class?
          owner = klass.inspect[/\A#<Class:(.*)>\z/m, 1] || klass.inspect
          "#{owner}.#{mid}"
        else
          "#{klass.name || klass.inspect}##{mid}"
        end
      rescue StandardError
        mid.to_s
      end

      # Give each event the command its process runs, when a proc_exec of
      # that pid went by: a forked child is told apart from the script by
      # its pid, and from its siblings by what it executed.
      def name_processes(events)
        events.each do |e|
          f = e.fields
          if e.name == "proc_exec" && f["ret"] == 0 &&
             f["comm"].is_a?(String) && !f["comm"].empty?
            if @commands.size >= MAX_COMMANDS && !@commands.key?(e.pid)
              @commands = {}
            end
            @commands[e.pid] = f["comm"]
          end
          e.comm = @commands[e.pid]
        end
      end

      def emit(sink, events, lost, boundary, frames)
        return unless sink

        name_processes(events)
        stack = frames.first(MAX_FRAMES).map do |f|
          "#{f.path}:#{f.lineno}:in '#{f.label}'"
        end
        stack << "..." if frames.size > MAX_FRAMES
        top = frames.first
        batch = Batch.new(events: events, lost: lost, boundary: boundary,
                          function: top ? top.label : "?",
                          location: top ? "#{top.path}:#{top.lineno}" : "?",
                          stack: stack, color: sink.color,
                          tid: Native.tid)
        write(sink, format_batch(sink, batch))
      end

      def format_batch(sink, batch)
        sink.formatter.format(batch)
      rescue StandardError => e
        report_once(:"format_#{sink.name}",
                    "formatter #{sink.name} failed: #{e.class}: " \
                    "#{e.message}; printing with human from now on")
        sink.formatter = Formatter::Human
        sink.name = "human"
        Formatter::Human.format(batch)
      end

      def write(sink, text)
        return if text.nil? || text.empty?

        sink.out.write(text)
        sink.out.flush if sink.out.respond_to?(:flush)
      rescue IOError, SystemCallError => e
        report_once(:write, "cannot write events: #{e.message}")
      end

      def report_once(key, msg)
        return if @reported[key]

        @reported[key] = true
        $stderr.write("vivarium: #{msg}\n")
      end
    end

    self.filter_internal = ENV["VIVARIUM_FILTER_INTERNAL_FRAMES"] != "0"
  end
end

at_exit { Vivarium::Observer.finish_all }
