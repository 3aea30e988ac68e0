# frozen_string_literal: true

# The Ruby host's specs: `make test-ruby` (as root, on the running kernel)
# or `ruby -I ext/ruby/lib -I .output/ruby spec/ruby/run.rb`. Without root
# the kernel specs are skipped. Prints minitest's summary line, then
# whether anything was left behind; exits non-zero on any failure.

require "minitest"
require_relative "support"

Dir[File.join(__dir__, "*_test.rb")].sort.each { |f| require f }

ok = false
begin
  ok = Minitest.run(ARGV)
ensure
  left = VivSpec.stop_daemon + VivSpec.leftovers
end
if left.empty?
  puts "nothing left behind"
else
  puts "left behind: #{left.join(', ')}"
end
exit(ok && left.empty? ? 0 : 1)
