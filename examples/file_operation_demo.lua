-- File operations under /tmp, one per function, so each event shows up
-- under the function that caused it. Run: vivarium observe file_operation_demo.lua
package.path = (arg[0]:match("^(.*/)") or "./") .. "?.lua;" .. package.path
local demo = require "demo_support"

local dir = demo.scratch("files")


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
  demo.symlink(dir .. "/original.txt", dir .. "/symlink.txt")
  demo.link(dir .. "/original.txt", dir .. "/hardlink.txt")
end


local function rename_and_chmod()
  assert(os.rename(dir .. "/hardlink.txt", dir .. "/renamed.txt"))
  demo.chmod(dir .. "/renamed.txt", tonumber("600", 8))
end


local function list_directory()
  return demo.list(dir)
end


local function clean_up()
  for _, name in ipairs({ "original.txt", "symlink.txt", "renamed.txt" }) do
    os.remove(dir .. "/" .. name)
  end
  os.remove(dir)
end


demo.mkdir(dir)
create_file()
read_file()
link_files()
rename_and_chmod()
list_directory()
clean_up()
