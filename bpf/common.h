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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIV_MAX_TASKS);
	__type(key, __u32);	/* descendant tid */
	__type(value, __u32);	/* observer id */
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
	__u32 id;		/* observer the thread belonged to at enter */
	__u32 kind;		/* enum viv_kind of the syscall */
	__u64 a[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VIV_MAX_TASKS);
	__type(key, __u32);	/* tid */
	__type(value, struct viv_args);
} viv_inflight SEC(".maps") __weak;

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
 * field past the largest masked offset. Per CPU is safe: the programs run
 * with preemption off (syscall tracepoints since 6.13 fault in user pages
 * first, then disable preemption before calling us).
 */
#define VIV_SCRATCH_MASK	511	/* >= VIV_ARGS_MAX, VIV_PATH_MAX - 1 */
#define VIV_SCRATCH_SIZE	(VIV_SCRATCH_MASK + 1 + VIV_ARGS_MAX)

struct viv_scratch {
	char buf[VIV_SCRATCH_SIZE];
	struct dentry *dentries[VIV_DENTRY_DEPTH];
	/* Here, not on the stack: read back from a map it is unknown to the
	 * verifier, so the two branches of each step of a path walk prune
	 * into one; as a constant they stayed apart and the walk did not
	 * verify within a million instructions. */
	__u32 depth;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct viv_scratch);
} viv_scratch SEC(".maps") __weak;

const volatile struct viv_config viv_config __weak = {};

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

/* Observer of the current task, 0 if none. Runs for every task on the
 * system: keep it to the two lookups. */
static __always_inline __u32 viv_target(__u64 pid_tgid)
{
	__u32 tgid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	__u32 *id;

	id = bpf_map_lookup_elem(&config_root_targets, &tgid);
	if (!id)
		id = bpf_map_lookup_elem(&config_spawned_targets, &tid);
	return id ? *id : 0;
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

/* Reserve a record of @size bytes in observer @id's ring and fill its
 * header; NULL (counted) when the ring is gone or full. */
static __always_inline void *viv_reserve(__u32 id, __u16 kind, __u16 size,
					 __u64 pid_tgid)
{
	struct viv_event_hdr *hdr;
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
	hdr->pad = 0;
	hdr->ktime_ns = bpf_ktime_get_ns();
	return hdr;
}

/* The observer polls at its own boundaries: a wake-up per record would
 * cost about 4 us each. */
static __always_inline void viv_submit(void *rec)
{
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	viv_stat(VIV_STAT_EMITTED);
}

/* sys_enter_*: remember the arguments of an observed thread. */
static __always_inline int viv_save(enum viv_kind kind, __u64 a0, __u64 a1,
				    __u64 a2, __u64 a3)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct viv_args args;

	if (!viv_enabled(kind))
		return 0;
	args.id = viv_target(pid_tgid);
	if (!args.id)
		return 0;
	args.kind = kind;
	args.a[0] = a0;
	args.a[1] = a1;
	args.a[2] = a2;
	args.a[3] = a3;
	/* Sized like the spawned targets: full only if entries leak. */
	if (bpf_map_update_elem(&viv_inflight, &tid, &args, BPF_ANY))
		viv_stat(VIV_STAT_TASK_FULL);
	return 0;
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

static __always_inline struct viv_scratch *viv_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&viv_scratch, &zero);
}

#endif /* VIV_COMMON_H */
