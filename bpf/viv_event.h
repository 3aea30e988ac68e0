/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The wire format between the kernel side and every host.
 *
 * BPF programs write these records into an observer's ring buffer; lib/
 * decodes them; the Lua and Ruby hosts only ever see decoded events. The
 * file includes nothing from the kernel so that BPF C (which gets its types
 * from vmlinux.h) and user-space C share one definition. Sizes are fixed
 * and padding is spelled out; lib/event.c asserts every size, so a layout
 * change that forgets one side fails the build instead of printing garbage.
 */
#ifndef VIV_EVENT_H
#define VIV_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Observers are identified by a 32-bit id that the registering side hands
 * out and never reuses while the kernel side is loaded. The lost-record
 * counters live in an array indexed by id % VIV_MAX_OBSERVERS, each entry
 * tagged with the id that owns it, so a stale descendant of a departed
 * observer cannot charge its losses to a newcomer in the same slot.
 */
#define VIV_MAX_OBSERVERS	1024
#define VIV_MAX_TASKS		65536

#define VIV_PATH_MAX		256
#define VIV_ARGS_MAX		384
#define VIV_SOCKADDR_MAX	112
#define VIV_COMM_LEN		16

enum viv_kind {
	VIV_KIND_NONE		= 0,
	VIV_KIND_PATH_OPEN	= 1,
	VIV_KIND_PROC_EXEC	= 2,
	VIV_KIND_SOCK_CONNECT	= 3,
	VIV_KIND_MAX,
};

/* Bits of struct viv_config.events: which event kinds are switched on. */
#define VIV_EVENT_BIT(kind)	(1U << (kind))

struct viv_event_hdr {
	__u16 kind;		/* enum viv_kind */
	__u16 size;		/* sizeof the whole record */
	__u32 pid;		/* tgid of the task that caused it */
	__u32 tid;		/* its thread id */
	__u32 pad;
	__u64 ktime_ns;		/* bpf_ktime_get_ns(), CLOCK_MONOTONIC */
};

/* Flags of struct viv_path_open.resolved */
#define VIV_PATH_AS_GIVEN	0	/* path is the user's string */
#define VIV_PATH_FROM_DENTRY	1	/* path was rebuilt from the opened file */

struct viv_path_open {
	struct viv_event_hdr hdr;
	__s32 ret;		/* fd, or -errno */
	__s32 flags;		/* open(2) flags */
	__u32 mode;		/* creation mode */
	__u32 resolved;		/* VIV_PATH_* */
	char path[VIV_PATH_MAX];
};

struct viv_proc_exec {
	struct viv_event_hdr hdr;
	__s32 ret;		/* 0, or -errno of a failed execve */
	__u32 args_len;		/* bytes used in args */
	__u32 argc;		/* argument count, may exceed what args holds */
	__u32 pad;
	char comm[VIV_COMM_LEN];
	char path[VIV_PATH_MAX];
	/* argv[0..] back to back, each NUL-terminated, truncated at args_len */
	char args[VIV_ARGS_MAX];
};

struct viv_sock_connect {
	struct viv_event_hdr hdr;
	__s32 ret;		/* 0, or -errno (-EINPROGRESS for non-blocking) */
	__u32 addr_len;		/* bytes of addr the caller passed */
	__s32 fd;
	__u32 pad;
	__u8 addr[VIV_SOCKADDR_MAX];	/* the raw struct sockaddr */
};

/* Value of the viv_lost array: losses of one observer. */
struct viv_lost {
	__u32 id;		/* observer owning the slot, 0 when free */
	__u32 pad;
	__u64 count;		/* records dropped because its ring was full */
};

/* Indices of the per-CPU viv_stats array. */
enum viv_stat {
	VIV_STAT_EMITTED = 0,	/* records submitted */
	VIV_STAT_LOST,		/* reserve failed: ring full */
	VIV_STAT_NO_RING,	/* target whose observer has no ring any more */
	VIV_STAT_READ_FAIL,	/* a user or kernel read failed */
	VIV_STAT_TASK_FULL,	/* descendant not tracked: targets map full */
	VIV_STAT_MAX,
};

/*
 * Values the loader writes into .rodata before load. Offsets of fields
 * that older BTF-less tooling could not see are resolved in user space
 * (see lib/btf.c) and overridable from the environment.
 */
struct viv_config {
	__u32 events;		/* VIV_EVENT_BIT() mask */
	__u32 file_f_path_off;	/* offsetof(struct file, f_path) */
	__u32 dentry_d_name_off; /* offsetof(struct dentry, d_name) */
	__u32 pad;
};

#endif /* VIV_EVENT_H */
