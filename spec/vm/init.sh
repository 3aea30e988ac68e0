#!/bin/busybox sh
# /init of the guest that spec/vm/run.sh boots; busybox sh, in an initramfs
# holding busybox, this file and the kernel modules listed in
# /lib/modules/load.order (virtio and 9p, in dependency order).
#
# It mounts the host's / read-only and the project read-write over 9p,
# chroots into that, runs the command from the run share and prints
#   <VIVARIUM_VM_MARKER> <exit status>
# (or "<marker> fail" when the guest could not be set up), then powers off.
# The marker comes from the kernel command line, so even a failure before
# the run share is mounted is reported as such rather than as a hang.

/bin/busybox --install -s /bin
export PATH=/bin

marker=$VIVARIUM_VM_MARKER
unset VIVARIUM_VM_MARKER
root=/newroot

finish() {
	# The project share is written through, but sync anyway: poweroff -f
	# does not unmount.
	sync
	printf '\n%s %s\n' "$marker" "$1"
	poweroff -f
	# poweroff returned: let the kernel panic and -no-reboot end qemu
	exit 1
}

fail() {
	echo "vm: $*"
	finish fail
}

mount_fs() {
	mkdir -p "$3" 2>/dev/null
	mount -t "$1" -o "$4" "$2" "$3" || fail "cannot mount $1 on $3"
}

mount_fs proc proc /proc rw,nosuid,nodev,noexec
mount_fs sysfs sysfs /sys rw,nosuid,nodev,noexec
mount_fs devtmpfs devtmpfs /dev rw,nosuid

for m in $(cat /lib/modules/load.order); do
	insmod "/lib/modules/$m.ko" || fail "cannot load module $m"
done

# msize: twice 6.1's default of 128 KiB read a 110 MB host file in 2.6 s
# instead of 3.3 s.  The read-only root may be cached by the guest; the
# project share is not, so the host sees writes at once.
p9=trans=virtio,version=9p2000.L,msize=262144
mount_fs 9p vivrun /vivrun "$p9,ro"
# "." of a missing file would end the shell, and with it the guest
for f in conf env cmd; do
	[ -r "/vivrun/$f" ] || fail "cannot read /vivrun/$f"
done
. /vivrun/conf
mount_fs 9p hostroot "$root" "$p9,ro,cache=loose"

mount_fs proc proc "$root/proc" rw,nosuid,nodev,noexec
mount_fs sysfs sysfs "$root/sys" rw,nosuid,nodev,noexec
mount_fs devtmpfs devtmpfs "$root/dev" rw,nosuid
mount_fs devpts devpts "$root/dev/pts" rw,nosuid,noexec,gid=5,mode=620
mount_fs tmpfs tmpfs "$root/dev/shm" rw,nosuid,nodev
mount_fs securityfs securityfs "$root/sys/kernel/security" \
	rw,nosuid,nodev,noexec
mount_fs bpf bpf "$root/sys/fs/bpf" rw,nosuid,nodev,noexec,mode=700
mount_fs tracefs tracefs "$root/sys/kernel/tracing" rw,nosuid,nodev,noexec
mount_fs debugfs debugfs "$root/sys/kernel/debug" rw,nosuid,nodev,noexec
mount_fs cgroup2 cgroup2 "$root/sys/fs/cgroup" rw,nosuid,nodev,noexec
mount_fs tmpfs tmpfs "$root/tmp" rw,nosuid,nodev,mode=1777
# the daemon creates /run/vivarium
mount_fs tmpfs tmpfs "$root/run" rw,nosuid,nodev,mode=755
# last, so that a project under /tmp is not hidden by the tmpfs
mount_fs 9p project "$root$viv_project" "$p9,rw"

# Loopback is down in a fresh network namespace; the kernel specs talk to
# 127.0.0.1.  The guest has no other interface.
ip link set lo up || fail "cannot bring up the loopback interface"
hostname vivarium-vm

# An LSM program loads and attaches without bpf in the active list, then
# never runs: refuse to run tests that would pass or fail for that reason.
lsm=$(cat "$root/sys/kernel/security/lsm" 2>/dev/null) ||
	fail "cannot read the active LSM list"
read -r up _ </proc/uptime
echo "vm: linux $(uname -r), lsm $lsm, up ${up}s"
case ",$lsm," in
*,bpf,*) ;;
*) fail "bpf is not in the active LSM list" ;;
esac

# A clean environment: only what the run share's env file exports (the
# allow-list of run.sh) on top of these.
cmd=$(cat /vivrun/cmd)
(
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export HOME=/root TERM=dumb VIVARIUM_IN_VM=1
	. /vivrun/env
	exec chroot "$root" /bin/sh -c \
		'cd "$1" || exit 125; exec /bin/sh -c "$2"' vm "$viv_cwd" "$cmd"
) </dev/null >/dev/console 2>&1
finish $?
