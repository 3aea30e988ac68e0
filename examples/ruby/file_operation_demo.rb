# File operations under /tmp, one per method, so each event shows up under
# the method that caused it.
# Run: ruby -I ext/ruby/lib -I .output/ruby examples/ruby/file_operation_demo.rb

require "fileutils"
require "tmpdir"
require "vivarium"

DIR = Dir.mktmpdir("vivarium-demo-files-", "/tmp")

def create_file
  File.write(File.join(DIR, "original.txt"), "hello from vivarium\n")
end

def read_file
  File.read(File.join(DIR, "original.txt"))
end

def link_files
  File.symlink(File.join(DIR, "original.txt"), File.join(DIR, "symlink.txt"))
  File.link(File.join(DIR, "original.txt"), File.join(DIR, "hardlink.txt"))
end

def rename_file
  File.rename(File.join(DIR, "hardlink.txt"), File.join(DIR, "renamed.txt"))
end

def chmod_file
  File.chmod(0o600, File.join(DIR, "renamed.txt"))
end

def list_directory
  Dir.children(DIR)
end

def clean_up
  FileUtils.rm_rf(DIR)
end

Vivarium.observe do
  create_file
  read_file
  link_files
  rename_file
  chmod_file
  list_directory
  clean_up
end
