/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maps and helpers shared by every program of the kernel side.
 *
 * Each file of bpf/ is compiled on its own and `bpftool gen object`
 * links them into one object. libbpf's static linker (1.1) accepts a map
 * or a global variable defined in several input files when every
 * definition is __weak and identical (same type, key, value, max_entries,
 * inner map); it keeps one and points every reference at it. So the maps
 * are defined here, __weak, and any file can be dropped from the build
 * without another one having to own them. (An `extern` declaration in all
 * files but one would link too, but ties the maps to that one file.)
 */
#ifndef VIV_COMMON_H
#define VIV_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "viv_event.h"

/* Bytes of the ring the loader creates viv_rings with. The kernel compares
 * only type, key, value and flags of inner maps (bpf_map_meta_equal), so
 * each observer's ring may have any size. */
#define VIV_RING_TEMPLATE_SIZE	4096

/* Directory components rebuilt from a dentry; deeper paths stay as given. */
#define VIV_DENTRY_DEPTH	32
/* Mount points crossed on the way up, on top of the components. */
#define VIV_MOUNT_DEPTH		8
/* Pointers of a failed execve's argv read (argc stops counting there). */
#define VIV_ARGV_SCAN		64

/* Open flags, which vmlinux.h cannot carry (they are macros). */
#define VIV_O_WRONLY		01
#define VIV_O_CREAT		0100
#define VIV_O_TRUNC		01000

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIV_MAX_OBSERVERS);
	__type(key, __u32);	/* observer tgid */
	__type(value, __u32);	/* observer id */
} config_root_targets SEC(".maps") __weak;

/*
 * Who a task is observed for: its observer, and the observer's thread it
 * descends from (struct viv_event_hdr.origin). The value of
 * config_spawned_targets; lib/kernel.c reads it with the same layout.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIV_MAX_TASKS);
	__type(key, __u32);	/* descendant tid */
	__type(value, struct viv_owner);
} config_spawned_targets SEC(".maps") __weak;

struct viv_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, VIV_RING_TEMPLATE_SIZE);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, VIV_MAX_OBSERVERS);
	__type(key, __u32);	/* observer id */
	__array(values, struct viv_ring);
} viv_rings SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VIV_MAX_OBSERVERS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct viv_lost);
} viv_lost SEC(".maps") __weak;

/* Syscall arguments saved at enter, read at exit: a user string read at
 * enter fails with -EFAULT when its page is not mapped yet. */
struct viv_args {
	struct viv_owner who;	/* whom the thread was observed for */
	__u32 kind;		/* enum viv_kind of the syscall */
	__u32 pad;
	__u64 a[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIV_MAX_TASKS);
	__type(key, __u32);	/* tid */
	__type(value, struct viv_args);
} viv_inflight SEC(".maps") __weak;

/* bprm_creds on the tracepoint backend: the caller's effective ids from
 * execve enter to sched_process_exec (priv.bpf.c). */
struct viv_exec_creds {
	__u32 euid;
	__u32 egid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIV_MAX_TASKS);
	__type(key, __u32);	/* tid */
	__type(value, struct viv_exec_creds);
} viv_exec_creds SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VIV_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} viv_stats SEC(".maps") __weak;

/*
 * Room to assemble a path or an argv. The verifier checks a read at a
 * variable offset against the largest offset plus the largest size, so
 * offsets are masked to a power of two and the buffer has room for a whole
 * field past the largest masked offset. Per CPU: tracepoint programs run
 * with preemption off (syscall tracepoints since 6.13 fault in user pages
 * first, then disable preemption before calling us), but LSM programs run
 * from a trampoline with only migration off, so on a preemptible kernel
 * another task may take the CPU half way; `busy` makes it go without.
 */
#define VIV_SCRATCH_MASK	511	/* >= VIV_ARGS_MAX, VIV_PATH_MAX - 1 */
#define VIV_SCRATCH_SIZE	(VIV_SCRATCH_MASK + 1 + VIV_ARGS_MAX)

struct viv_scratch {
	char buf[VIV_SCRATCH_SIZE];
	__u64 dentries[VIV_DENTRY_DEPTH];
	/* Here, not on the stack: read back from a map it is unknown to the
	 * verifier, so the two branches of each step of a path walk prune
	 * into one; as a constant they stayed apart and the walk did not
	 * verify within a million instructions. */
	__u32 depth;
	__u32 busy;
	/* The walk's dentry, vfsmount and mount, for the same reason: in
	 * registers, copies of one pointer stay linked and the state after
	 * a mount crossing never matched the state after a step up. */
	__u64 d;
	__u64 v;
	__u64 mnt;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct viv_scratch);
} viv_scratch SEC(".maps") __weak;

const volatile struct viv_config viv_config __weak = {};

/*
 * More settings the loader writes before load; struct viv_config is part
 * of the wire header, these are the kernel side's own. Frozen in .rodata,
 * so the verifier sees them as constants: a switched-off feature costs no
 * instruction at run time.
 */

/* capable_check: bit n set reports CAP n. */
const volatile __u64 viv_cap_mask __weak = 0;

/* path_open: report only paths that start with one of these. */
#define VIV_PREFIX_MAX		8
#define VIV_PREFIX_LEN		64	/* with the NUL */

/* Anonymous, so that the skeleton spells the type out for lib/. */
const volatile struct {
	__u32 n;
	__u32 len[VIV_PREFIX_MAX];	/* strlen of each, at least 1 */
	char s[VIV_PREFIX_MAX][VIV_PREFIX_LEN];
} viv_prefixes __weak = {};

/* A trace_pipe line per record (struct viv_kernel_opts.kprint). */
const volatile bool viv_kprint_on __weak = false;

static __always_inline void viv_stat(enum viv_stat stat)
{
	__u32 key = stat;
	__u64 *v = bpf_map_lookup_elem(&viv_stats, &key);

	if (v)
		*v += 1;
}

/* The verifier folds this to a constant: .rodata is frozen before load. */
static __always_inline bool viv_enabled(enum viv_kind kind)
{
	return viv_config.events & VIV_EVENT_BIT(kind);
}

/* Whom the current task is observed for; false if nobody. Runs for every
 * task on the system: keep it to the two lookups. */
static __always_inline bool viv_target(__u64 pid_tgid, struct viv_owner *who)
{
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct viv_owner *spawned;
	__u32 *id;

	id = bpf_map_lookup_elem(&config_root_targets, &tgid);
	if (id) {
		who->id = *id;
		who->origin = tid;
		return true;
	}
	spawned = bpf_map_lookup_elem(&config_spawned_targets, &tid);
	if (!spawned)
		return false;
	*who = *spawned;
	return true;
}

/*
 * Charge a dropped record to observer @id in slot id % VIV_MAX_OBSERVERS.
 * The slot is claimed here, on the first loss, and taken over from an
 * observer whose ring is gone: user space never writes viv_lost, so the
 * loader freezes it and hands observers a descriptor they can only map
 * read-only (a BPF_F_RDONLY descriptor cannot be mapped shared at all).
 * Plain stores, not cmpxchg, which needs -mcpu=v3: two observers claiming
 * one slot at the same instant may charge one record to the wrong one.
 */
static __always_inline void viv_count_lost(__u32 id)
{
	__u32 slot = id % VIV_MAX_OBSERVERS;
	struct viv_lost *l;
	__u32 owner;

	viv_stat(VIV_STAT_LOST);
	l = bpf_map_lookup_elem(&viv_lost, &slot);
	if (!l)
		return;
	owner = l->id;
	if (owner != id) {
		if (owner && bpf_map_lookup_elem(&viv_rings, &owner))
			return;
		l->id = id;
		l->count = 0;
	}
	if (l->id == id)
		__sync_fetch_and_add(&l->count, 1);
}

/* Reserve a record of @size bytes in the ring of @who's observer and fill
 * its header; NULL (counted) when the ring is gone or full. */
static __always_inline void *viv_reserve(const struct viv_owner *who,
					 __u16 kind, __u16 size,
					 __u64 pid_tgid)
{
	struct viv_event_hdr *hdr;
	__u32 id = who->id;
	void *ring;

	ring = bpf_map_lookup_elem(&viv_rings, &id);
	if (!ring) {
		viv_stat(VIV_STAT_NO_RING);
		return NULL;
	}
	hdr = bpf_ringbuf_reserve(ring, size, 0);
	if (!hdr) {
		viv_count_lost(id);
		return NULL;
	}
	hdr->kind = kind;
	hdr->size = size;
	hdr->pid = pid_tgid >> 32;
	hdr->tid = (__u32)pid_tgid;
	hdr->origin = who->origin;
	hdr->ktime_ns = bpf_ktime_get_ns();
	return hdr;
}

/*
 * The one place that writes to the trace pipe: a debugging aid the loader
 * switches on (viv_kprint_on), never a way to deliver events. Every
 * record starts with its header and a __s32 ret.
 */
static __always_inline void viv_kprint(void *rec)
{
	struct viv_event_hdr *h = rec;
	const char *name = "", *what = "";
	__s32 ret = *(__s32 *)(h + 1);

	switch (h->kind) {
	case VIV_KIND_PATH_OPEN:
		name = "path_open";
		what = ((struct viv_path_open *)rec)->path;
		break;
	case VIV_KIND_PROC_EXEC:
		name = "proc_exec";
		what = ((struct viv_proc_exec *)rec)->path;
		break;
	case VIV_KIND_SOCK_CONNECT:
		name = "sock_connect";
		break;
	case VIV_KIND_FILE_SYMLINK:
		name = "file_symlink";
		what = ((struct viv_file_pair *)rec)->new_path;
		break;
	case VIV_KIND_FILE_HARDLINK:
		name = "file_hardlink";
		what = ((struct viv_file_pair *)rec)->new_path;
		break;
	case VIV_KIND_FILE_RENAME:
		name = "file_rename";
		what = ((struct viv_file_pair *)rec)->new_path;
		break;
	case VIV_KIND_FILE_CHMOD:
		name = "file_chmod";
		what = ((struct viv_file_chmod *)rec)->path;
		break;
	case VIV_KIND_FILE_GETDENTS:
		name = "file_getdents";
		what = ((struct viv_file_getdents *)rec)->path;
		break;
	case VIV_KIND_PTRACE_CHECK:
		name = "ptrace_check";
		break;
	case VIV_KIND_SB_MOUNT:
		name = "sb_mount";
		what = ((struct viv_sb_mount *)rec)->target;
		break;
	case VIV_KIND_KERNEL_READ_FILE:
		name = "kernel_read_file";
		what = ((struct viv_kernel_read_file *)rec)->path;
		break;
	case VIV_KIND_TASK_KILL:
		name = "task_kill";
		break;
	case VIV_KIND_SETID_CHANGE:
		name = "setid_change";
		break;
	case VIV_KIND_CAPABLE_CHECK:
		name = "capable_check";
		break;
	case VIV_KIND_BPRM_CREDS:
		name = "bprm_creds";
		what = ((struct viv_bprm_creds *)rec)->path;
		break;
	case VIV_KIND_ODD_SOCKET:
		name = "odd_socket";
		break;
	case VIV_KIND_DNS_REQ:
		name = "dns_req";
		break;
	}
	bpf_printk("vivarium: pid=%d tid=%d kind=%s ret=%d %s", /* kprint */
		   h->pid, h->tid, name, ret, what);
}

/* The observer polls at its own boundaries: a wake-up per record would
 * cost about 4 us each. */
static __always_inline void viv_submit(void *rec)
{
	if (viv_kprint_on)
		viv_kprint(rec);
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	viv_stat(VIV_STAT_EMITTED);
}

/* Remember the arguments of thread @tid, observed for @who, until exit. */
static __always_inline int viv_stash(__u32 tid, const struct viv_owner *who,
				     enum viv_kind kind, __u64 a0, __u64 a1,
				     __u64 a2, __u64 a3, __u64 a4, __u64 a5)
{
	struct viv_args args = {
		.who = *who,
		.kind = kind,
		.a = { a0, a1, a2, a3, a4, a5 },
	};

	/* Sized like the spawned targets: full only if entries leak. */
	if (bpf_map_update_elem(&viv_inflight, &tid, &args, BPF_ANY))
		viv_stat(VIV_STAT_TASK_FULL);
	return 0;
}

/* sys_enter_*: remember the arguments of an observed thread. */
static __always_inline int viv_save6(enum viv_kind kind, __u64 a0, __u64 a1,
				     __u64 a2, __u64 a3, __u64 a4, __u64 a5)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_owner who;

	if (!viv_enabled(kind) || !viv_target(pid_tgid, &who))
		return 0;
	return viv_stash((__u32)pid_tgid, &who, kind, a0, a1, a2, a3, a4, a5);
}

static __always_inline int viv_save(enum viv_kind kind, __u64 a0, __u64 a1,
				    __u64 a2, __u64 a3)
{
	return viv_save6(kind, a0, a1, a2, a3, 0, 0);
}

/*
 * sys_exit_*: take the arguments saved at enter, if any. Looking up the
 * thread here replaces the target lookup (the entry exists only for
 * targets) and always consumes the entry. The value is copied out before
 * the delete because a preallocated hash hands freed elements straight to
 * the next update.
 */
static __always_inline bool viv_take(enum viv_kind kind, __u32 tid,
				     struct viv_args *out)
{
	struct viv_args *args;

	args = bpf_map_lookup_elem(&viv_inflight, &tid);
	if (!args)
		return false;
	*out = *args;
	bpf_map_delete_elem(&viv_inflight, &tid);
	return out->kind == kind;
}

/* The per-CPU scratch, or NULL while another program of this CPU holds
 * it; give it back with viv_scratch_put(). */
static __always_inline struct viv_scratch *viv_scratch_get(void)
{
	__u32 zero = 0;
	struct viv_scratch *s;

	s = bpf_map_lookup_elem(&viv_scratch, &zero);
	if (!s || s->busy)
		return NULL;
	s->busy = 1;
	return s;
}

static __always_inline void viv_scratch_put(struct viv_scratch *s)
{
	s->busy = 0;
}

/*
 * True when @path (a record's path field) starts with one of the
 * configured prefixes, or none is configured. bpf_strncmp() (5.17) wants
 * its second string in read-only map memory: .rodata is.
 */
static __always_inline bool viv_prefix_match(const char *path)
{
	__u32 len;
	int i;

	if (!viv_prefixes.n)
		return true;
#pragma unroll
	for (i = 0; i < VIV_PREFIX_MAX; i++) {
		if (i >= viv_prefixes.n)
			break;
		len = viv_prefixes.len[i] & (VIV_PREFIX_LEN - 1);
		if (!bpf_strncmp(path, len, (const char *)viv_prefixes.s[i]))
			return true;
	}
	return false;
}

/* Socket families and types that vmlinux.h cannot carry (macros). */
#define VIV_AF_UNIX		1
#define VIV_AF_INET		2
#define VIV_AF_INET6		10
#define VIV_SOCK_TYPE_MASK	0xf
#define VIV_SOCK_RAW		3
#define VIV_SOCK_PACKET		10

/*
 * odd_socket: any family but unix, IPv4 and IPv6 (netlink, packet, CAN,
 * Bluetooth, vsock, ...), and raw or packet sockets of any family: what
 * an ordinary script has no reason to open.
 */
static __always_inline bool viv_odd_socket(int family, int type)
{
	int t = type & VIV_SOCK_TYPE_MASK;

	if (t == VIV_SOCK_RAW || t == VIV_SOCK_PACKET)
		return true;
	return family != VIV_AF_UNIX && family != VIV_AF_INET &&
	       family != VIV_AF_INET6;
}

#endif /* VIV_COMMON_H */
