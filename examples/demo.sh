#!/bin/sh
# What `make demo` runs: start a daemon on a private pin directory, run the
# example scripts under `vivarium observe`, print their events with the Lua
# stacks that caused them, and stop the daemon.
set -eu

viv=${1:-.output/vivarium}
examples=$(dirname "$0")
run_dir=$(mktemp -d /tmp/vivarium-demo.XXXXXX)
# observers that are not root must be able to reach the socket
chmod 0755 "$run_dir"
export VIVARIUM_BPF_PIN_DIR=/sys/fs/bpf/vivarium-demo-$$
export VIVARIUM_SOCKET=$run_dir/vivarium.sock

daemon=
stop() {
	[ -n "$daemon" ] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" || true
	rm -rf "$run_dir"
}
trap stop EXIT INT TERM

"$viv" daemon >"$run_dir/daemon.log" 2>&1 &
daemon=$!
tries=0
until [ -S "$VIVARIUM_SOCKET" ]; do
	tries=$((tries + 1))
	if [ $tries -gt 100 ] || ! kill -0 "$daemon" 2>/dev/null; then
		echo "demo: the daemon did not start:" >&2
		cat "$run_dir/daemon.log" >&2
		exit 1
	fi
	sleep 0.1
done
cat "$run_dir/daemon.log"

for demo in file_operation_demo network_client_demo execve_demo \
	signal_kill_demo privilege_event_demo; do
	printf '\n=== vivarium observe examples/%s.lua\n' "$demo"
	"$viv" observe "$examples/$demo.lua"
done

printf '\n=== vivarium status\n'
"$viv" status
