-- Commands started several ways, each in its own function, so every
-- proc_exec names its argv and its caller. Run: vivarium observe execve_demo.lua


local function run_with_arguments()
  os.execute("/bin/echo hello 'with spaces' > /dev/null")
end


local function run_through_popen()
  local p = assert(io.popen("uname -s"))
  p:read("*a")
  p:close()
end


local function run_missing_program()
  os.execute("/nonexistent/program 2> /dev/null")
end


run_with_arguments()
run_through_popen()
run_missing_program()
