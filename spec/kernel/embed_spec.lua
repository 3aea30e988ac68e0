-- The C embedding example, built through pkg-config against
-- libvivarium.a, observes a command it runs. Needs root.

local support = require "spec.kernel.support"

local quote = support.quote
local EXAMPLE = (os.getenv("VIVARIUM_EXAMPLES") or ".output/examples")
  .. "/observe_command"


describe("examples/observe_command.c #kernel", function()
  it("prints the exec and the open of the command it runs", function()
    local env = support.private_env()
    local target = ("/tmp/viv-embed-%d-%d"):format(os.time(), math.random(1e9))
    support.write(target, "x")
    local rc, out, err = support.sh(("%s %s /bin/cat %s"):format(
      support.env_prefix(env), quote(EXAMPLE), quote(target)))
    os.remove(target)
    os.execute("rm -rf " .. quote(env.run_dir))
    assert.equal(0, rc, err)
    assert.matches("medium proc_exec path=/bin/cat", out, 1, true)
    assert.matches("path_open path=" .. target, out, 1, true)
    assert.same({}, support.leftovers(env))
  end)
end)
