#!/usr/bin/env bash
# Run a command as root inside a QEMU guest that boots Debian 12's stock
# kernel, whose configuration has BPF LSM active.  The kernel tests run there
# on a second kernel, and the LSM backend, which cannot load on a host that
# refuses BPF trampolines, gets tested at all.
#
#   spec/vm/run.sh [--timeout SECS] -- COMMAND...
#
# COMMAND (its words joined by spaces, as ssh does) runs through `sh -c` in
# the guest, in the current directory when that lies inside the project,
# else in the project root.  The guest sees the host's / read-only and the
# project read-write at the same path, both over 9p, so host-built binaries,
# LuaJIT and libbpf run unchanged.  It has tmpfs on /tmp, /run and
# /dev/shm, and proc, sysfs, devtmpfs, securityfs, bpffs, tracefs, debugfs
# and cgroup2 at their usual places, loopback up and no other network.  The
# console (kernel warnings, the command's stdout and stderr, merged) is
# copied to stdout; this script's own messages go to stderr.
#
# Exit status: COMMAND's; 124 when the timeout (default 600 s) expired;
# 125 when the guest ended without reporting a status (kernel panic, init
# failure) or could not set the command up; 1 when the VM cannot run on
# this machine at all (then set VIVARIUM_SKIP_VM=1 to skip on purpose);
# 2 for a usage error.
#
# Environment, on the host:
#   VIVARIUM_SKIP_VM=1      skip: print that the VM tests were skipped, exit 0
#   VIVARIUM_VM_CACHE       cache directory, default /var/cache/vivarium-vm
#   VIVARIUM_VM_KERNEL_PKG  kernel package instead of the one that Debian's
#                           linux-image-amd64 depends on
#   VIVARIUM_VM_SMP         guest vCPUs, default 1
#   VIVARIUM_VM_ENV         more variable names to pass to the guest
# Passed to the command: VIVARIUM and VIVARIUM_*, TERM, LANG, LC_ALL and the
# names in VIVARIUM_VM_ENV, when set; the guest adds VIVARIUM_IN_VM=1, PATH
# and HOME=/root.  Nothing else crosses, so a test sees the same
# environment on every machine.
#
# Why it is built this way (measured on the development machines):
# - TCG, not KVM: /dev/kvm may exist there yet be a paravirtual flavour
#   that fails on a stock kernel after minutes ("emulation failure") and
#   then leaves qemu paused.  Hence also `timeout` around qemu.
# - One vCPU: two boot no faster and make loading the BPF programs about
#   a quarter slower (RCU and IPIs under TCG).
# - The kernel package is fetched with `apt-get download`, never installed,
#   and only vmlinuz and a few modules are kept, in the cache, keyed by
#   package and version.  The ELF vmlinux inside the bzImage boots about
#   4 s faster under TCG than the bzImage, so it is unpacked once.
# - The initramfs is busybox, spec/vm/init.sh and the virtio and 9p
#   modules; it is rebuilt when init.sh or busybox changes.
# - multidevs=remap on the shares: without it inode numbers of different
#   host file systems collide in the guest.
# - The guest ends by printing a marker, random per run, and its exit
#   status; no marker means the guest died or hung, never a pass.

set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
project=$(cd "$here/../.." && pwd -P)
cache=${VIVARIUM_VM_CACHE:-/var/cache/vivarium-vm}
smp=${VIVARIUM_VM_SMP:-1}
timeout_s=600
host_pkgs=(qemu-system-x86 busybox-static xz-utils)
# the guest needs these to mount the shares; their dependencies are added
# from each module's own depends= list
root_modules=(virtio_pci 9pnet_virtio 9p)
busybox=/bin/busybox
cleanup=()

say() {
	printf 'vm: %s\n' "$*" >&2
}

usage() {
	echo "usage: spec/vm/run.sh [--timeout SECS] -- COMMAND..." >&2
	exit 2
}

unavailable() {
	say "$*"
	say "*** the VM tests cannot run on this machine;" \
		"set VIVARIUM_SKIP_VM=1 to skip them on purpose ***"
	exit 1
}

on_exit() {
	[ ${#cleanup[@]} -eq 0 ] || rm -rf -- "${cleanup[@]}"
}
# qemu runs in the background so that a signal reaches this trap while the
# console is read (bash defers traps until a foreground job ends)
interrupted() {
	say "interrupted"
	[ -z "${qemu_pid:-}" ] || kill -TERM "$qemu_pid" 2>/dev/null
	exit 130
}

trap on_exit EXIT
trap interrupted INT TERM HUP

# single-quote for sh
quote() {
	local s=${1//\'/\'\\\'\'}

	printf "'%s'" "$s"
}

ensure_packages() {
	local p missing=() log=$rundir/apt.log

	for p in "${host_pkgs[@]}"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null |
			grep -q '^ii' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine may have no package lists yet: update only then.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>"$log" 2>&1 && return 0
	apt-get update -qq >>"$log" 2>&1 &&
		apt-get install -y -qq --no-install-recommends "${missing[@]}" \
			>>"$log" 2>&1 && return 0
	tail -n 20 "$log" >&2
	unavailable "cannot install ${missing[*]}"
}

# Sets kpkg and kver: the kernel package and its version.  apt-cache takes
# about 2 s where apt keeps no binary cache, so the answer is kept until the
# package lists change.
resolve_kernel() {
	local out re meta=linux-image-amd64 saved=$cache/resolved

	kpkg=${VIVARIUM_VM_KERNEL_PKG:-}
	if [ -z "$kpkg" ] && [ -s "$saved" ] &&
		[ -z "$(find /var/lib/apt/lists -newer "$saved" -print -quit \
			2>/dev/null)" ]; then
		read -r kpkg kver <"$saved"
		[ -n "$kpkg" ] && [ -n "${kver:-}" ] && return 0
	fi
	out=$(apt-cache show --no-all-versions "${kpkg:-$meta}" 2>/dev/null)
	if [ -z "$out" ]; then
		apt-get update -qq >/dev/null 2>&1
		out=$(apt-cache show --no-all-versions "${kpkg:-$meta}" \
			2>/dev/null)
	fi
	if [ -z "$kpkg" ]; then
		# "Depends: linux-image-6.1.0-57-amd64 (= 6.1.192-3)"
		re='^Depends: \(linux-image-[^ ,]*\) (= \([^)]*\)).*'
		out=$(sed -n "s/$re/\\1 \\2/p" <<<"$out")
		read -r kpkg kver <<<"$out"
		[ -n "$kpkg" ] && [ -n "${kver:-}" ] ||
			unavailable "cannot resolve $meta to a kernel package"
		mkdir -p "$cache" && echo "$kpkg $kver" >"$saved"
		return 0
	fi
	kver=$(sed -n 's/^Version: //p' <<<"$out")
	kver=${kver%%$'\n'*}
	[ -n "$kver" ] || unavailable "no version of $kpkg in the package index"
}

# The kernel tree's extract-vmlinux, for the XZ payload Debian uses: try
# each XZ magic in the bzImage until one decompresses to an ELF image.
extract_vmlinux() {
	local off

	for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" 2>/dev/null |
			cut -d: -f1); do
		tail -c "+$((off + 1))" "$1" | xz -dcq --single-stream >"$2" \
			2>/dev/null
		cmp -s -n 4 "$2" <(printf '\177ELF') && return 0
	done
	rm -f "$2"
	return 1
}

# add_module NAME: copy NAME.ko and, first, its dependencies into $mod_out,
# appending each to load.order after what it needs.  Debian's package ships
# no modules.dep (depmod makes it on install), so the dependencies come from
# the depends= entry of each module's .modinfo.
add_module() {
	local m=$1 d deps

	[ -n "${mod_seen[$m]:-}" ] && return 0
	mod_seen[$m]=1
	if [ -z "${mod_path[$m]:-}" ]; then
		grep -qx "$m" "$mod_out/builtin" && return 0
		say "module $m is neither in $kpkg nor built in"
		return 1
	fi
	# xz -dcf passes an uncompressed module through unchanged
	deps=$(xz -dcf "${mod_path[$m]}" | tr '\0' '\n' |
		sed -n 's/^depends=//p')
	deps=${deps%%$'\n'*}
	for d in ${deps//,/ }; do
		add_module "$d" || return 1
	done
	xz -dcf "${mod_path[$m]}" >"$mod_out/$m.ko" || return 1
	echo "$m" >>"$mod_out/load.order"
}

# Fills $1 (a fresh directory) with vmlinux or vmlinuz, modules/ and
# release from the kernel package.
build_kernel() {
	local dir=$1 deb f n m rel mod_out
	local -A mod_path=() mod_seen=()

	say "fetching $kpkg $kver"
	(cd "$dir" && apt-get download -q -o APT::Sandbox::User=root \
		"$kpkg=$kver") >"$dir/apt.log" 2>&1 || {
		tail -n 5 "$dir/apt.log" >&2
		return 1
	}
	deb=$(echo "$dir"/*.deb)
	mkdir "$dir/x" "$dir/modules" || return 1
	# all modules: which few are needed is known only after reading them,
	# and one pass over the 400 MB tar is the slow part
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir/x" --wildcards \
		'./boot/vmlinuz-*' './lib/modules/*' || return 1
	rm -f "$deb"
	rel=$(cd "$dir/x/lib/modules" && echo *)
	if [ ! -d "$dir/x/lib/modules/$rel" ] ||
		[ ! -f "$dir/x/boot/vmlinuz-$rel" ]; then
		say "unexpected layout in $kpkg"
		return 1
	fi
	echo "$rel" >"$dir/release"
	if ! extract_vmlinux "$dir/x/boot/vmlinuz-$rel" "$dir/vmlinux"; then
		say "no ELF image in the bzImage; booting the bzImage (slower)"
		cp "$dir/x/boot/vmlinuz-$rel" "$dir/vmlinuz" || return 1
	fi

	mod_out=$dir/modules
	: >"$mod_out/load.order"
	sed 's|.*/||; s|\.ko.*||; s|-|_|g' \
		"$dir/x/lib/modules/$rel/modules.builtin" >"$mod_out/builtin"
	while IFS= read -r f; do
		n=${f##*/}
		n=${n%%.ko*}
		mod_path[${n//-/_}]=$f
	done < <(find "$dir/x/lib/modules/$rel/kernel" -name '*.ko*')
	for m in "${root_modules[@]}"; do
		add_module "$m" || return 1
	done
	rm -rf "$dir/x" "$mod_out/builtin" "$dir/apt.log"
}

# Sets kdir, the cache entry of the kernel, building it when missing, and
# initrd.  Under a lock: parallel runs share one cache.
prepare_cache() {
	local key=${kpkg}_$kver tmp sum stage d

	mkdir -p "$cache" || unavailable "cannot create $cache"
	exec 9>"$cache/lock"
	flock 9 || unavailable "cannot lock $cache"
	kdir=$cache/${key//[^A-Za-z0-9._+-]/_}
	if [ ! -e "$kdir/ready" ]; then
		tmp=$(mktemp -d "$cache/.build.XXXXXX") ||
			unavailable "cannot write to $cache"
		cleanup+=("$tmp")
		build_kernel "$tmp" || unavailable "cannot unpack $kpkg $kver"
		touch "$tmp/ready"
		chmod 0755 "$tmp"
		rm -rf "$kdir"
		mv "$tmp" "$kdir" || unavailable "cannot write to $cache"
		# keep only the current kernel: the cache is ~70 MB per entry
		for d in "$cache"/linux-image-*; do
			[ "$d" = "$kdir" ] || rm -rf "$d"
		done
	fi

	sum=$(cat "$here/init.sh" "$busybox" "$kdir/modules/load.order" |
		sha256sum)
	initrd=$kdir/initramfs-${sum:0:16}.cpio.gz
	if [ ! -e "$initrd" ]; then
		stage=$(mktemp -d) ||
			unavailable "cannot create a staging directory"
		cleanup+=("$stage")
		mkdir -p "$stage"/{bin,dev,proc,sys,newroot,vivrun} \
			"$stage/lib/modules" &&
			cp "$busybox" "$stage/bin/busybox" &&
			cp "$here/init.sh" "$stage/init" &&
			chmod 0755 "$stage/init" &&
			cp "$kdir"/modules/* "$stage/lib/modules/" ||
			unavailable "cannot stage the initramfs"
		# the kernel's built-in initramfs has one too; do not rely on it
		mknod -m 0600 "$stage/dev/console" c 5 1 2>/dev/null
		(cd "$stage" && find . | "$busybox" cpio -o -H newc -R 0:0 \
			2>/dev/null) | gzip -6 >"$initrd.tmp" &&
			mv "$initrd.tmp" "$initrd" ||
			unavailable "cannot build the initramfs"
	fi
	# another checkout's init.sh may be booting the others right now
	touch "$initrd"
	find "$kdir" -name 'initramfs-*' -mtime +1 -delete
	flock -u 9
	exec 9>&-

	kernel=$kdir/vmlinux
	[ -e "$kernel" ] || kernel=$kdir/vmlinuz
}

# The run share: conf (paths), env (the allow-list) and cmd.
write_run_share() {
	local share=$1 cwd name extra
	local -A pass=()

	shift

	cwd=$(pwd -P)
	case $cwd/ in
	"$project"/*) ;;
	*) cwd=$project ;;
	esac
	mkdir "$share" || return 1
	{
		echo "viv_project=$(quote "$project")"
		echo "viv_cwd=$(quote "$cwd")"
	} >"$share/conf"

	for name in $(compgen -e); do
		case $name in
		VIVARIUM | VIVARIUM_* | TERM | LANG | LC_ALL) pass[$name]=1 ;;
		esac
	done
	for extra in ${VIVARIUM_VM_ENV:-}; do
		[[ $extra =~ ^[A-Za-z_][A-Za-z0-9_]*$ && -v $extra ]] &&
			pass[$extra]=1
	done
	unset 'pass[VIVARIUM_IN_VM]'
	for name in "${!pass[@]}"; do
		echo "export $name=$(quote "${!name}")"
	done >"$share/env"

	printf '%s\n' "$*" >"$share/cmd"
}

while [ $# -gt 0 ]; do
	case $1 in
	--timeout)
		[ $# -ge 2 ] || usage
		timeout_s=$2
		shift 2
		;;
	--timeout=*)
		timeout_s=${1#*=}
		shift
		;;
	--)
		shift
		break
		;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || usage
[[ $smp =~ ^[1-9][0-9]*$ ]] || usage

if [ "${VIVARIUM_SKIP_VM:-0}" = 1 ]; then
	say "VIVARIUM_SKIP_VM=1: the VM tests were skipped on purpose"
	exit 0
fi
[ "$(id -u)" = 0 ] || unavailable "must run as root: it installs packages" \
	"and shares / with the guest"
[ -d "$project/.git" ] || [ -f "$project/Makefile" ] ||
	unavailable "cannot find the project root from $here"

rundir=$(mktemp -d "${TMPDIR:-/tmp}/vivarium-vm.XXXXXX") ||
	unavailable "cannot create a temporary directory"
cleanup+=("$rundir")

ensure_packages
command -v qemu-system-x86_64 >/dev/null ||
	unavailable "qemu-system-x86_64 is not installed"
resolve_kernel
prepare_cache
write_run_share "$rundir/share" "$@" ||
	unavailable "cannot write the run share"

marker=VIVARIUM-VM-EXIT-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
log=$rundir/console.log
# qemu's -virtfs option list escapes a comma by doubling it
virtfs() {
	printf 'local,path=%s,mount_tag=%s,%s%s' "${1//,/,,}" "$2" \
		security_model=none,multidevs=remap "${3:-}"
}

status=
blank=0
started=$EPOCHREALTIME
mkfifo "$rundir/console" || unavailable "cannot create a fifo in $rundir"
exec 3>"$log"
timeout -k 5 "$timeout_s" qemu-system-x86_64 \
	-nodefaults -no-user-config -accel tcg -cpu max -m 1024 -smp "$smp" \
	-display none -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1 VIVARIUM_VM_MARKER=$marker" \
	-virtfs "$(virtfs / hostroot ,readonly=on)" \
	-virtfs "$(virtfs "$project" project)" \
	-virtfs "$(virtfs "$rundir/share" vivrun ,readonly=on)" \
	</dev/null >"$rundir/console" 2>&1 &
qemu_pid=$!
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%$'\r'}
	case $line in
	*"$marker "*)
		status=${line##*"$marker "}
		line=${line%%"$marker"*}
		[ -n "$line" ] || continue
		;;
	*"] reboot: Power down")
		[ -n "$status" ] && continue
		;;
	'')
		# held back: init prints one before the marker
		blank=$((blank + 1))
		continue
		;;
	esac
	for ((; blank > 0; blank--)); do
		echo
		echo >&3
	done
	printf '%s\n' "$line"
	printf '%s\n' "$line" >&3
done <"$rundir/console"
wait "$qemu_pid"
qemu_rc=$?
qemu_pid=
exec 3>&-

tail_console() {
	say "last console lines:"
	tail -n 30 "$log" | sed 's/^/  | /' >&2
}

case $status in
'')
	if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
		tail_console
		say "no exit status from the guest after ${timeout_s}s: timed out"
		exit 124
	fi
	tail_console
	if [ "$qemu_rc" != 0 ]; then
		unavailable "qemu failed with status $qemu_rc"
	fi
	say "the guest ended without an exit status" \
		"(kernel panic or init failure?)"
	exit 125
	;;
fail)
	say "the guest could not set the command up (see above)"
	exit 125
	;;
*[!0-9]*)
	say "garbled exit status from the guest: '$status'"
	exit 125
	;;
esac
elapsed=$(((${EPOCHREALTIME/./} - ${started/./}) / 100000))
say "exit status $status after $((elapsed / 10)).$((elapsed % 10)) s"
exit "$status"
