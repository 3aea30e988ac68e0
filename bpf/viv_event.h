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

#define VIV_MOUNT_SRC_MAX	128
#define VIV_FSTYPE_MAX		32
#define VIV_DNS_MAX		256

/* Numbers are part of the wire format: append, never renumber. */
enum viv_kind {
	VIV_KIND_NONE		= 0,
	VIV_KIND_PATH_OPEN	= 1,
	VIV_KIND_PROC_EXEC	= 2,
	VIV_KIND_SOCK_CONNECT	= 3,
	VIV_KIND_FILE_SYMLINK	= 4,
	VIV_KIND_FILE_HARDLINK	= 5,
	VIV_KIND_FILE_RENAME	= 6,
	VIV_KIND_FILE_CHMOD	= 7,
	VIV_KIND_FILE_GETDENTS	= 8,
	VIV_KIND_PTRACE_CHECK	= 9,
	VIV_KIND_SB_MOUNT	= 10,
	VIV_KIND_KERNEL_READ_FILE = 11,
	VIV_KIND_TASK_KILL	= 12,
	VIV_KIND_SETID_CHANGE	= 13,
	VIV_KIND_CAPABLE_CHECK	= 14,
	VIV_KIND_BPRM_CREDS	= 15,
	VIV_KIND_ODD_SOCKET	= 16,
	VIV_KIND_DNS_REQ	= 17,
	VIV_KIND_MAX,
};

/* Bits of struct viv_config.events: which event kinds are switched on. */
#define VIV_EVENT_BIT(kind)	(1U << (kind))

struct viv_event_hdr {
	__u16 kind;		/* enum viv_kind */
	__u16 size;		/* sizeof the whole record */
	__u32 pid;		/* tgid of the task that caused it */
	__u32 tid;		/* its thread id */
	/*
	 * The observer's own thread this record descends from: tid itself
	 * for the observer's threads, and for a descendant process the
	 * observer thread that forked its ancestor. Lets a host with several
	 * threads report each record at the boundary of the thread that
	 * caused it.
	 */
	__u32 origin;
	__u64 ktime_ns;		/* bpf_ktime_get_ns(), CLOCK_MONOTONIC */
};

/*
 * Where a path came from (the `resolved` members). LSM hooks see the
 * kernel's objects and give absolute paths; syscall tracepoints see the
 * caller's string and rebuild relative ones from the file when they can.
 */
#define VIV_PATH_AS_GIVEN	0	/* path is the user's string */
#define VIV_PATH_FROM_DENTRY	1	/* rebuilt from the file's dentries */
#define VIV_PATH_D_PATH		2	/* bpf_d_path() in an LSM hook */

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

/*
 * file_symlink, file_hardlink and file_rename: two names of one object.
 *   symlink: old = the link's target text, new = the link created
 *   hardlink: old = the existing file, new = the new name
 *   rename: old = the source, new = the destination
 */
struct viv_file_pair {
	struct viv_event_hdr hdr;
	__s32 ret;		/* 0, or -errno; 0 from an LSM hook */
	__u32 flags;		/* renameat2 flags, linkat flags */
	__u32 old_resolved;	/* VIV_PATH_* */
	__u32 new_resolved;
	char old_path[VIV_PATH_MAX];
	char new_path[VIV_PATH_MAX];
};

struct viv_file_chmod {
	struct viv_event_hdr hdr;
	__s32 ret;
	__u32 mode;		/* the mode asked for */
	__s32 fd;		/* fchmod's descriptor, or -1 */
	__u32 resolved;
	char path[VIV_PATH_MAX];
};

struct viv_file_getdents {
	struct viv_event_hdr hdr;
	__s32 ret;		/* bytes returned, or -errno */
	__s32 fd;
	__u32 count;		/* buffer size asked for */
	__u32 resolved;
	char path[VIV_PATH_MAX];	/* the directory */
};

struct viv_ptrace_check {
	struct viv_event_hdr hdr;
	__s32 ret;
	__u32 request;		/* PTRACE_* request (tracepoint) or PTRACE_MODE_* (LSM) */
	__u32 target_pid;	/* tgid of the tracee */
	__u32 is_mode;		/* 1: request holds PTRACE_MODE_* bits */
	char target_comm[VIV_COMM_LEN];
};

/* Which call a viv_sb_mount record describes, and so what its flags are. */
#define VIV_MOUNT_MOUNT		0	/* mount(2) or sb_mount: MS_* flags */
#define VIV_MOUNT_MOVE		1	/* move_mount(2): MOVE_MOUNT_* flags */

struct viv_sb_mount {
	struct viv_event_hdr hdr;
	__s32 ret;
	__u32 call;		/* VIV_MOUNT_* */
	__u64 flags;
	char source[VIV_MOUNT_SRC_MAX];
	char fstype[VIV_FSTYPE_MAX];
	char target[VIV_PATH_MAX];
};

struct viv_kernel_read_file {
	struct viv_event_hdr hdr;
	__s32 ret;
	__u32 id;		/* enum kernel_read_file_id (READING_*) */
	__u32 contents;		/* LSM: the whole file is read at once */
	__u32 resolved;
	char path[VIV_PATH_MAX];
};

struct viv_task_kill {
	struct viv_event_hdr hdr;
	__s32 ret;
	__s32 sig;
	__s32 target_pid;	/* as passed: may be 0 or negative for groups */
	__u32 target_tid;	/* tgkill/tkill thread, else 0 */
	__u32 via;		/* VIV_KILL_* */
	__u32 pad;
	char target_comm[VIV_COMM_LEN];	/* empty when unknown */
};

#define VIV_KILL_LSM		0
#define VIV_KILL_KILL		1
#define VIV_KILL_TKILL		2
#define VIV_KILL_TGKILL		3
#define VIV_KILL_PIDFD		4

struct viv_setid_change {
	struct viv_event_hdr hdr;
	__s32 ret;
	__u32 call;		/* VIV_SETID_* */
	__u32 old_ids[3];	/* real, effective, saved before */
	__u32 new_ids[3];	/* as asked; (__u32)-1 means unchanged */
	__u32 pad;
};

/* Which call; the LSM hook's LSM_SETID_* flags map onto these too. */
#define VIV_SETID_SETUID	1
#define VIV_SETID_SETREUID	2
#define VIV_SETID_SETRESUID	3
#define VIV_SETID_SETFSUID	4
#define VIV_SETID_SETGID	5
#define VIV_SETID_SETREGID	6
#define VIV_SETID_SETRESGID	7
#define VIV_SETID_SETFSGID	8

struct viv_capable_check {
	struct viv_event_hdr hdr;
	__s32 ret;
	__u32 cap;		/* CAP_* number */
	__u32 opts;		/* CAP_OPT_* */
	__u32 pad;
};

struct viv_bprm_creds {
	struct viv_event_hdr hdr;
	__s32 ret;
	__u32 file_mode;	/* the executable's mode, with S_ISUID/S_ISGID */
	__u32 file_uid;		/* its owner */
	__u32 file_gid;
	__u32 old_euid;		/* before the exec */
	__u32 old_egid;
	char path[VIV_PATH_MAX];
};

struct viv_odd_socket {
	struct viv_event_hdr hdr;
	__s32 ret;		/* fd, or -errno; 0 from an LSM hook */
	__u32 family;
	__u32 type;		/* with SOCK_NONBLOCK / SOCK_CLOEXEC bits */
	__u32 protocol;
};

struct viv_dns_req {
	struct viv_event_hdr hdr;
	__s32 ret;		/* bytes sent, or -errno */
	__u32 len;		/* bytes of the message; query holds at most VIV_DNS_MAX */
	__u16 family;		/* AF_INET or AF_INET6 of the server */
	__u16 port;		/* host order; 53 */
	__u32 pad;
	__u8 addr[16];		/* the server, 4 or 16 bytes used */
	__u8 query[VIV_DNS_MAX];	/* the DNS message from its header on */
};

/* Value of config_spawned_targets: whom a descendant is observed for. */
struct viv_owner {
	__u32 id;		/* observer id */
	__u32 origin;		/* see struct viv_event_hdr */
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
