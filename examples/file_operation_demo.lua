-- File operations under /tmp, one per function, so each event shows up
-- under the function that caused it. Run: vivarium observe file_operation_demo.lua
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local posix = require "demo_support"

local dir = posix.scratch("files")


local function create_file()
  local f = assert(io.open(dir .. "/original.txt", "w"))
  f:write("hello from vivarium\n")
  f:close()
end


local function read_file()
  local f = assert(io.open(dir .. "/original.txt", "r"))
  f:read("*a")
  f:close()
end


local function link_files()
  posix.symlink(dir .. "/original.txt", dir .. "/symlink.txt")
  posix.link(dir .. "/original.txt", dir .. "/hardlink.txt")
end


local function rename_and_chmod()
  assert(os.rename(dir .. "/hardlink.txt", dir .. "/renamed.txt"))
  posix.chmod(dir .. "/renamed.txt", tonumber("600", 8))
end


local function list_directory()
  local p = assert(io.popen("ls " .. dir))
  p:read("*a")
  p:close()
end


local function clean_up()
  os.execute("rm -rf " .. dir)
end


os.execute("mkdir -p " .. dir)
create_file()
read_file()
link_files()
rename_and_chmod()
list_directory()
clean_up()
