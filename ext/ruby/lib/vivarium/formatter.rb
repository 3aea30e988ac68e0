# frozen_string_literal: true

require_relative "formatter/human"
require_relative "formatter/json"

module Vivarium
  # Formatters turn a Batch into text: format(batch) returns a String (or
  # nil for nothing). :human and :json are built in; any object with a
  # public #format(batch), or a callable, will do.
  module Formatter
    # A callable as a formatter.
    Callable = Struct.new(:fn) do
      def format(batch)
        fn.call(batch)
      end
    end

    # The formatter for the format option, and a name to report it by.
    def self.load(spec, who = "observe")
      case spec
      when :human, "human" then [Human, "human"]
      when :json, "json" then [Json, "json"]
      else
        return [spec, spec.inspect] if spec.respond_to?(:format)
        return [Callable.new(spec), spec.inspect] if spec.respond_to?(:call)

        raise ArgumentError, "#{who}: format must be :human, :json or an " \
                             "object with #format, got #{spec.inspect}"
      end
    end
  end
end
