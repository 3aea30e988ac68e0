#!/bin/bash
# `make bench`: run every benchmark of bench/ and print one table,
# figure | measured | target | verdict. Method: docs/PERFORMANCE.md.
#
#   VIVARIUM=.output/vivarium BENCH_BIN=.output/bench bash bench/run.sh
#
# Root only: it loads the kernel side. Everything it starts (a daemon, an
# empty tracepoint program, kernel sides loaded by vivbench, bpftrace) is
# stopped and unpinned before it exits, on errors and ^C too. The raw
# "key value" lines of every benchmark are kept in $BENCH_BIN/results.txt.
#
# BENCH_ROUNDS (default 7) rounds per figure; BENCH_SCALE (default 1)
# multiplies loop lengths; BENCH_QUICK=1 runs 3 rounds, for trying it out.

set -u

: "${VIVARIUM:?set VIVARIUM to the vivarium binary}"
: "${BENCH_BIN:?set BENCH_BIN to the directory of vivbench and gem_host}"
here=$(cd "$(dirname "$0")" && pwd)
rounds=${BENCH_ROUNDS:-7}
[ "${BENCH_QUICK:-0}" = 1 ] && rounds=3
sbs_rounds=$(( rounds > 5 ? 5 : rounds ))
export BENCH_ROUNDS=$rounds

if [ "$(id -u)" != 0 ]; then
	echo "bench: run as root: it loads the kernel side" >&2
	exit 1
fi
for f in "$VIVARIUM" "$BENCH_BIN/vivbench" "$BENCH_BIN/gem_host"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing; run \`make bench\`" >&2
		exit 1
	fi
done

# tmpfs when there is one: a journaled disk makes file writes slow and
# erratic, and the workload writes files.
base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
work=$(mktemp -d "$base/vivbench.XXXXXX") || exit 1
pin=/sys/fs/bpf/vivbench-$$
sock=$work/vivarium.sock
results=$BENCH_BIN/results.txt
log=$BENCH_BIN/bench.log
daemon_pid=

stop_daemon() {
	[ -n "$daemon_pid" ] || return 0
	kill -TERM "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=
	# a daemon that died without unpinning leaves its pins behind
	[ -e "$pin" ] && rm -rf "$pin"
	return 0
}

cleanup() {
	stop_daemon
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: > "$results"
: > "$log"

say() {
	printf '  %-8s %s\n' BENCH "$*" >&2
}

# Append a benchmark's "key value" lines to the results; its other
# output goes to the log.
record() {
	local out rc

	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" >> "$log"
	printf '%s\n' "$out" | grep -E '^[a-z_][a-z0-9_]* -?[0-9.]+$' >> "$results"
	return $rc
}

val() {
	awk -v k="$1" '$1 == k { v = $2 } END { if (v != "") print v }' \
		"$results"
}

# median of the numbers on stdin
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) exit
		if (NR % 2) print v[(NR + 1) / 2]
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---- what else runs here ----------------------------------------------------

# Programs of other processes on syscall tracepoints tax every syscall of
# the baselines too; say so next to the numbers.
foreign=$(bpftool perf 2>/dev/null | grep -c 'tracepoint  sys_')
echo "foreign_tracepoint_programs $foreign" >> "$results"

# ---- unobserved processes: nothing loaded, everything, an empty program -----

say "unobserved process: syscall loops, nothing / all events / empty tp loaded"
printf 'x\n' > "$work/file"
export BENCH_OPEN_PATH=$work/file
record "$BENCH_BIN/vivbench" unobserved || say "unobserved: failed, see $log"

# ---- side by side, with nothing else of ours loaded -------------------------

luajit_bin=$(readlink -f "$(command -v luajit)")
wl=$here/workload.lua
wdir=$work/wl
mkdir -p "$wdir"

# Run one arm of the side by side; prints the workload's ns or nothing.
arm() {
	local name=$1 out
	shift

	out=$("$@" 2>&1 >/dev/null)
	printf '%s: %s\n' "$name" "$out" >> "$log"
	printf '%s\n' "$out" | awk '$1 == "workload_ns" { print $2 }' | tail -n 1
}

have_strace=0
if command -v strace >/dev/null &&
   strace -k -qq -e trace=getpid -o /dev/null true 2>/dev/null; then
	have_strace=1
fi
have_bpftrace=0
if command -v bpftrace >/dev/null &&
   bpftrace -e 'tracepoint:syscalls:sys_enter_getppid { exit(); } BEGIN { exit(); }' \
	>/dev/null 2>&1; then
	have_bpftrace=1
fi
echo "have_strace_k $have_strace" >> "$results"
echo "have_bpftrace $have_bpftrace" >> "$results"

say "side by side: bare, vivarium observe, strace -f -k, bpftrace ($sbs_rounds rounds)"
sbs_ratio() {
	# $1: arm name; per-round ratio against that round's bare run
	paste "$work/sbs.bare" "$work/sbs.$1" 2>/dev/null |
		awk 'NF == 2 && $1 > 0 && $2 > 0 { print $2 / $1 }' | median
}
: > "$work/sbs.bare"
: > "$work/sbs.observe"
: > "$work/sbs.strace"
: > "$work/sbs.bpftrace"
for r in $(seq 1 "$sbs_rounds"); do
	b=$(arm bare "$luajit_bin" "$wl" "$wdir")
	o=$(arm observe "$VIVARIUM" observe --connect local -o /dev/null \
		"$wl" "$wdir")
	s=0
	[ $have_strace = 1 ] && s=$(arm strace strace -f -k -qq \
		-e trace=open,openat,openat2,creat,execve,execveat,connect \
		-o /dev/null "$luajit_bin" "$wl" "$wdir")
	t=0
	[ $have_bpftrace = 1 ] && t=$(arm bpftrace bpftrace -o /dev/null \
		-c "$luajit_bin $wl $wdir" "$here/workload.bt")
	echo "${b:-0}" >> "$work/sbs.bare"
	echo "${o:-0}" >> "$work/sbs.observe"
	echo "${s:-0}" >> "$work/sbs.strace"
	echo "${t:-0}" >> "$work/sbs.bpftrace"
done
{
	echo "sbs_bare_ns $(median < "$work/sbs.bare")"
	echo "sbs_observe_ratio $(sbs_ratio observe)"
	echo "sbs_strace_ratio $(sbs_ratio strace)"
	echo "sbs_bpftrace_ratio $(sbs_ratio bpftrace)"
} | grep -E ' [0-9]' >> "$results"

# The gem's drain makes a thousand map lookups per boundary: a few
# iterations are plenty, against bare runs of the same few.
say "side by side: the gem's drain strategy (gem_host)"
gem_iters=3
: > "$work/sbs.small"
: > "$work/sbs.gem"
for r in $(seq 1 3); do
	b=$(arm bare-small "$luajit_bin" "$wl" "$wdir" $gem_iters)
	g=$(arm gem "$BENCH_BIN/gem_host" "$wl" "$wdir" $gem_iters)
	echo "${b:-0}" >> "$work/sbs.small"
	echo "${g:-0}" >> "$work/sbs.gem"
done
paste "$work/sbs.small" "$work/sbs.gem" |
	awk 'NF == 2 && $1 > 0 && $2 > 0 { print $2 / $1 }' | median |
	sed 's/^/sbs_gem_ratio /' >> "$results"
record "$BENCH_BIN/gem_host" --drains 100

# ---- observed processes, through a daemon -----------------------------------

say "starting a daemon (pin dir $pin)"
VIVARIUM_SOCKET=$sock "$VIVARIUM" daemon --pin-dir "$pin" \
	--log "$work/daemon.log" >> "$log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 300); do
	[ -S "$sock" ] && break
	kill -0 "$daemon_pid" 2>/dev/null || break
	sleep 0.1
done
if [ ! -S "$sock" ]; then
	echo "bench: the daemon did not start; see $work/daemon.log" >&2
	cat "$work/daemon.log" >&2
	exit 1
fi
export VIVARIUM_SOCKET=$sock

say "observed process: cost per delivered event"
record "$BENCH_BIN/vivbench" observed
say "drain and decode rate"
record "$BENCH_BIN/vivbench" drain
say "highest zero-loss event rate"
record "$BENCH_BIN/vivbench" rate
say "boundary hook (vivarium observe bench/observe.lua hook)"
record "$VIVARIUM" observe --connect daemon -o /dev/null "$here/observe.lua" \
	hook "$rounds"
say "events end to end in Lua (human, json)"
record "$VIVARIUM" observe --connect daemon -o /dev/null "$here/observe.lua" \
	events "$work" "$rounds"
BENCH_TAG=json_ record "$VIVARIUM" observe --connect daemon -f json \
	-o /dev/null "$here/observe.lua" events "$work" "$rounds"

say "memory"
rss() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null
}
echo "daemon_rss_kb $(rss "$daemon_pid")" >> "$results"
cat > "$work/rss.lua" <<'EOF'
for line in io.lines("/proc/self/status") do
  local kb = line:match("^VmRSS:%s+(%d+)")
  if kb then
    io.stderr:write("rss_kb ", kb, "\n")
  end
end
EOF
o=$("$VIVARIUM" observe --connect daemon -o /dev/null "$work/rss.lua" 2>&1 |
	awk '$1 == "rss_kb" { print $2 }')
b=$("$luajit_bin" "$work/rss.lua" 2>&1 | awk '$1 == "rss_kb" { print $2 }')
echo "observer_rss_kb ${o:-0}" >> "$results"
echo "luajit_rss_kb ${b:-0}" >> "$results"
stop_daemon
unset VIVARIUM_SOCKET
record "$BENCH_BIN/vivbench" memory

say "BPF program run time (BPF_ENABLE_STATS)"
record "$BENCH_BIN/vivbench" profile
grep '^prog ' "$log" > "$BENCH_BIN/profile.txt"

# ---- the table --------------------------------------------------------------

# v KEY [SCALE] [FORMAT]: a result divided by SCALE, printed with FORMAT;
# "n/a" when the benchmark gave nothing.
v() {
	awk -v x="$(val "$1")" -v d="${2:-1}" -v f="${3:-%.0f}" 'BEGIN {
		if (x == "") print "n/a"; else printf f, x / d }'
}

# the raw number, for verdicts
raw() {
	local x

	x=$(val "$1")
	echo "${x:-nan}"
}

# per(KEY): 1e9 / value, a rate from ns per record
per() {
	awk -v x="$(val "$1")" 'BEGIN { if (x > 0) print 1e9 / x; else print "nan" }'
}

# the BPF run time of a program in a phase, less an empty program's
own() {
	awk -v ph="$1" -v name="$2" -v e="$(val profile_empty_ns)" '
		$1 == "prog" && $2 == ph && $3 == name {
			sub("ns_per_run=", "", $5); x = $5 }
		END { if (x == "" || e == "") print "n/a"; else printf "%.0f", x - e }' \
		"$BENCH_BIN/profile.txt"
}

row() {
	printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"
}

# verdict VALUE OP LIMIT: pass when VALUE OP LIMIT holds
verdict() {
	awk -v x="$1" -v op="$2" -v lim="$3" 'BEGIN {
		if (x == "nan" || x == "") { print "no data"; exit }
		ok = op == "<=" ? x + 0 <= lim + 0 : x + 0 >= lim + 0
		print ok ? "pass" : "FAIL" }'
}

echo
echo "Vivarium benchmarks: $rounds rounds, medians of paired runs" \
	"(docs/PERFORMANCE.md)"
if [ "${foreign:-0}" -gt 0 ]; then
	echo "note: $foreign programs of other processes sit on syscall" \
		"tracepoints; every baseline below pays for them too"
fi
echo
row figure measured target verdict
row --- --- --- ---

row "unobserved process, open+close, all events loaded vs nothing" \
	"$(v open_ratio 1 %.3fx) ($(v open_tax_ns 1 %+.0f) ns on \
$(v open_bare_ns) ns; empty programs on the two openat tracepoints alone: \
$(v open_floor_tax_ns 1 %+.0f) ns)" \
	"<= 1.08x" "$(verdict "$(raw open_ratio)" '<=' 1.08)"

row "unobserved process, getpid loop: tax per unrelated syscall" \
	"$(v getpid_tax_ns 1 %+.0f) ns on $(v getpid_bare_ns) ns; one empty \
tracepoint program: $(v getpid_empty_tax_ns 1 %+.0f) ns" \
	"reported" "info"

x=$(awk -v x="$(raw event_cost_batch_ns)" 'BEGIN { print x / 1000 }')
row "observed process, cost per delivered path_open event" \
	"$(v event_cost_batch_ns 1000 %.2f) us (drain every 64); \
$(v event_cost_each_ns 1000 %.2f) us (drain after each)" \
	"<= 0.7 us" "$(verdict "$x" '<=' 0.7)"

x=$(per drain_payload_ns)
row "events drained per second, one core: drain+decode; + payload text" \
	"$(awk -v x="$(per drain_decode_ns)" 'BEGIN { printf "%.0f", x }')/s; \
$(awk -v x="$x" 'BEGIN { printf "%.0f", x }')/s" \
	">= 1,000,000/s" "$(verdict "$x" '>=' 1000000)"

row "observe hook per Lua call+return, nothing pending" \
	"$(v hook_cost_ns 1 %.1f) ns (interpreter $(v hook_bare_interp_ns 1 %.1f) \
-> $(v hook_hook_interp_ns 1 %.1f) ns; JIT on: $(v hook_bare_jit_ns 1 %.1f) ns \
bare, $(v hook_hook_jit_ns 1 %.1f) ns hooked)" \
	"<= 50 ns" "$(verdict "$(raw hook_cost_ns)" '<=' 50)"

row "highest zero-loss event rate, 1 MiB ring, boundary every 1 ms" \
	"$(v rate_zero_loss_gap1000us)/s (every 10 ms: \
$(v rate_zero_loss_gap10000us)/s; every 100 ms: \
$(v rate_zero_loss_gap100000us)/s)" \
	">= 200,000/s" "$(verdict "$(raw rate_zero_loss_gap1000us)" '>=' 200000)"

row "memory: daemon RSS; observer RSS (bare luajit)" \
	"$(v daemon_rss_kb 1024 %.1f) MiB; $(v observer_rss_kb 1024 %.1f) MiB \
($(v luajit_rss_kb 1024 %.1f) MiB)" \
	"reported" "info"

row "memory: kernel maps; programs; ring per observer" \
	"$(v kernel_maps_bytes 1048576 %.1f) MiB; \
$(v kernel_progs_bytes 1048576 %.1f) MiB; $(v ring_bytes 1048576 %.2f) MiB \
= $(v ring_records) path_open records" \
	"reported" "info"

row "workload (files, commands, loopback connects): bare luajit" \
	"1.00x ($(v sbs_bare_ns 1e6) ms)" "reported" "info"
row "  under vivarium observe (kernel side loaded by it)" \
	"$(v sbs_observe_ratio 1 %.2fx)" "reported" "info"
if [ "$have_strace" = 1 ]; then
	row "  under strace -f -k, the same syscalls" \
		"$(v sbs_strace_ratio 1 %.2fx)" "reported" "info"
else
	row "  under strace -f -k" "not run: strace without -k here" \
		"reported" "info"
fi
if [ "$have_bpftrace" = 1 ]; then
	row "  under bpftrace (bench/workload.bt, with ustack)" \
		"$(v sbs_bpftrace_ratio 1 %.2fx)" "reported" "info"
else
	row "  under bpftrace" "not run: bpftrace missing or cannot attach" \
		"reported" "info"
fi
row "  under the gem's drain (1024 lookups per boundary)" \
	"$(v sbs_gem_ratio 1 %.0fx) ($(v gem_drain_us) us per boundary)" \
	"reported" "info"

row "BPF run time per open, beyond an empty program's \
($(v profile_empty_ns) ns)" \
	"unobserved: enter $(own unobserved_open viv_openat_ente) + exit \
$(own unobserved_open viv_openat_exit) ns; observed: enter \
$(own observed_open viv_openat_ente) + exit \
$(own observed_open viv_openat_exit) ns" \
	"reported" "info"

row "observed Lua script, cost per event end to end (human)" \
	"$(v events_cost_ns 1000 %.1f) us (json: \
$(v json_events_cost_ns 1000 %.1f) us): stack $(v events_stack_ns 1000 %.1f) \
us/batch, drain to Lua $(v events_drain_ns 1000 %.1f) us, human \
$(v events_human_ns 1000 %.1f) us, json $(v events_json_ns 1000 %.1f) us" \
	"reported" "info"
