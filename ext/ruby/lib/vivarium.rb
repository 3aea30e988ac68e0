# frozen_string_literal: true

# Vivarium for Ruby: which method of your program made the kernel do that.
#
#   require "vivarium"
#
#   Vivarium.observe do
#     File.read("/etc/passwd")
#   end
#
# The kernel side records what this process and every process it spawns
# do (files, exec, signals, privileges, sockets, DNS); at each method
# boundary of the thread that caused them they are printed with the Ruby
# stack. The records come from libvivarium, through a vivarium daemon when
# one runs (no privileges needed) or, as root, from a kernel side this
# process loads for itself.

module Vivarium
  # Raised when observation cannot start (no daemon and not root, ...).
  class Error < StandardError; end

  DEFAULT_BPF_PIN_DIR = "/sys/fs/bpf/vivarium"
end

begin
  require "vivarium/vivarium_ext"
rescue LoadError
  # Run from a source tree: the extension is built under .output/.
  require File.expand_path("../../../.output/ruby/vivarium/vivarium_ext",
                           __dir__)
end

require_relative "vivarium/formatter"
require_relative "vivarium/observer"

module Vivarium
  VERSION = Native::VERSION

  class << self
    attr_writer :bpf_pin_dir

    # Where the daemon pinned the kernel side, so where to find its
    # socket: set here, else $VIVARIUM_BPF_PIN_DIR, else the default.
    def bpf_pin_dir
      return @bpf_pin_dir if @bpf_pin_dir && !@bpf_pin_dir.empty?

      env = ENV["VIVARIUM_BPF_PIN_DIR"]
      env && !env.empty? ? env : DEFAULT_BPF_PIN_DIR
    end

    # Observe the block and return its value; observation stops when it
    # ends, by return or by exception (which is raised again). Without a
    # block, the same as top_observe.
    #
    # Options: format (:human, :json, or an object with #format(batch)),
    # destination (an IO or a path to append to; default $stdout),
    # pin_dir (default bpf_pin_dir), connect (:auto, :daemon, :local).
    def observe(**opts)
      return top_observe(**opts) unless block_given?

      observation = Observer.start(opts, "observe")
      begin
        yield
      ensure
        observation.stop
      end
    end

    # Observe from here until #stop (or until the process exits) and
    # return the observation. Takes the options of observe.
    def top_observe(**opts)
      Observer.start(opts, "top_observe")
    end

    # Names of every event the kernel side can report.
    def event_names
      Native.event_names
    end
  end
end
