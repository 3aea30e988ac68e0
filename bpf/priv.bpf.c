// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ptrace_check, task_kill, capable_check and bprm_creds on the tracepoint
 * backend. lsm_task.bpf.c has the LSM programs; setid.bpf.c the set*id
 * calls. Syscall tracepoints since 4.7: the arguments as passed and the
 * result, refusals included.
 */
#include "path.h"

#define VIV_S_ISUID		04000
#define VIV_S_ISGID		02000

/*
 * ptrace(2): every request, with the pid as passed (a thread id) and the
 * result; the tracee's comm is not known here. Misses the accesses the
 * LSM hook also sees (/proc/<pid>/mem, process_vm_readv, ...).
 */
SEC("tracepoint/syscalls/sys_enter_ptrace")
int viv_ptrace_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_PTRACE_CHECK, ctx->args[0], ctx->args[1],
			0, 0);
}

SEC("tracepoint/syscalls/sys_exit_ptrace")
int viv_ptrace_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_ptrace_check *e;
	struct viv_args args;

	if (!viv_take(VIV_KIND_PTRACE_CHECK, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_PTRACE_CHECK, sizeof(*e),
			pid_tgid);
	if (!e)
		return 0;
	e->ret = ctx->ret;
	e->request = args.a[0];
	e->target_pid = args.a[1];
	e->is_mode = 0;
	__builtin_memset(e->target_comm, 0, sizeof(e->target_comm));
	viv_submit(e);
	return 0;
}

/* a[0] VIV_KILL_*, a[1] pid as passed, a[2] thread or 0, a[3] signal. */
static __always_inline int kill_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_task_kill *e;
	struct viv_args args;

	if (!viv_take(VIV_KIND_TASK_KILL, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_TASK_KILL, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = ret;
	e->via = args.a[0];
	e->target_pid = args.a[1];
	e->target_tid = args.a[2];
	e->sig = args.a[3];
	e->pad = 0;
	__builtin_memset(e->target_comm, 0, sizeof(e->target_comm));
	viv_submit(e);
	return 0;
}

/*
 * kill(2), tkill(2), tgkill(2) and pidfd_send_signal(2) (5.1): the
 * target as passed (kill's 0 and negative group ids included), and the
 * result. Misses rt_sigqueueinfo(2) and rt_tgsigqueueinfo(2).
 */
SEC("tracepoint/syscalls/sys_enter_kill")
int viv_kill_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_TASK_KILL, VIV_KILL_KILL, ctx->args[0], 0,
			ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_kill")
int viv_kill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tkill")
int viv_tkill_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_TASK_KILL, VIV_KILL_TKILL, ctx->args[0],
			ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_tkill")
int viv_tkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_tgkill")
int viv_tgkill_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_TASK_KILL, VIV_KILL_TGKILL, ctx->args[0],
			ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_tgkill")
int viv_tgkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx->ret);
}

/* The pid a pidfd stands for: its struct pid is the file's private_data
 * on an anonymous inode before 6.9, the inode's i_private on pidfs
 * since. 0 if neither is there. */
static __always_inline __s32 pidfd_pid(long fd)
{
	struct file *file = (void *)viv_fd_file(fd);
	struct pid *pid;

	if (!file)
		return 0;
	pid = BPF_CORE_READ(file, private_data);
	if (!pid)
		pid = BPF_CORE_READ(file, f_inode, i_private);
	if (!pid)
		return 0;
	return BPF_CORE_READ(pid, numbers[0].nr);
}

SEC("tracepoint/syscalls/sys_enter_pidfd_send_signal")
int viv_pidfd_send_signal_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_TASK_KILL, VIV_KILL_PIDFD,
			pidfd_pid(ctx->args[0]), 0, ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_pidfd_send_signal")
int viv_pidfd_send_signal_exit(struct trace_event_raw_sys_exit *ctx)
{
	return kill_exit(ctx->ret);
}

/*
 * cap_capable (6.14): every capability check commoncap makes, granted or
 * refused (ret 0 or -EPERM), filtered to viv_cap_mask. The tracepoint has
 * no CAP_OPT_* flags: opts is 0. Older kernels have no tracepoint here
 * and, with no kprobes on some, nothing else sees a capability check: the
 * event is then unavailable on this backend.
 */
SEC("tp_btf/cap_capable")
int BPF_PROG(viv_cap_capable, const struct cred *cred,
	     struct user_namespace *target_ns,
	     const struct user_namespace *capable_ns, int cap, int ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_capable_check *e;
	struct viv_owner who;

	if (!viv_enabled(VIV_KIND_CAPABLE_CHECK) || cap < 0 || cap > 63 ||
	    !(viv_cap_mask & (1ULL << cap)) || !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_CAPABLE_CHECK, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = ret;
	e->cap = cap;
	e->opts = 0;
	e->pad = 0;
	viv_submit(e);
	return 0;
}

/*
 * bprm_creds on the tracepoint backend: the caller's effective ids are
 * kept at execve enter (the kernel has replaced them by the time the new
 * program runs), and sched_process_exec reports an exec of a set-user-ID
 * or set-group-ID file. Misses execs that gain privileges through file
 * capabilities only, which the LSM program sees.
 */
static __always_inline int creds_enter(void)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_exec_creds c;
	__u32 tid = (__u32)pid_tgid;
	struct viv_owner who;

	if (!viv_enabled(VIV_KIND_BPRM_CREDS) || !viv_target(pid_tgid, &who))
		return 0;
	c.euid = BPF_CORE_READ(task, cred, euid.val);
	c.egid = BPF_CORE_READ(task, cred, egid.val);
	if (bpf_map_update_elem(&viv_exec_creds, &tid, &c, BPF_ANY))
		viv_stat(VIV_STAT_TASK_FULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int viv_creds_execve_enter(struct trace_event_raw_sys_enter *ctx)
{
	return creds_enter();
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int viv_creds_execveat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return creds_enter();
}

/* After de_thread() a non-leader's exec runs under the leader's tid; the
 * ids were kept under old_pid. A failed exec leaves its entry to the next
 * exec or to sched_process_exit (task.bpf.c). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(viv_creds_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_owner who, *spawned;
	struct viv_exec_creds *c, old;
	struct viv_bprm_creds *e;
	__u32 key = old_pid;
	struct inode *inode;
	struct file *file;
	__u32 mode;

	if (!viv_enabled(VIV_KIND_BPRM_CREDS))
		return 0;
	c = bpf_map_lookup_elem(&viv_exec_creds, &key);
	if (!c)
		return 0;
	old = *c;
	bpf_map_delete_elem(&viv_exec_creds, &key);
	file = BPF_CORE_READ(bprm, file);
	inode = BPF_CORE_READ(file, f_inode);
	mode = BPF_CORE_READ(inode, i_mode);
	if (!(mode & (VIV_S_ISUID | VIV_S_ISGID)))
		return 0;
	if (!viv_target(pid_tgid, &who)) {
		spawned = bpf_map_lookup_elem(&config_spawned_targets, &key);
		if (!spawned)
			return 0;
		who = *spawned;
	}
	e = viv_reserve(&who, VIV_KIND_BPRM_CREDS, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->file_mode = mode;
	e->file_uid = BPF_CORE_READ(inode, i_uid.val);
	e->file_gid = BPF_CORE_READ(inode, i_gid.val);
	e->old_euid = old.euid;
	e->old_egid = old.egid;
	e->path[0] = '\0';
	if (viv_path_of(e->path, viv_file_path((__u64)file), 0, 0) ==
	    VIV_PATH_AS_GIVEN &&
	    bpf_probe_read_kernel_str(e->path, sizeof(e->path),
				      BPF_CORE_READ(bprm, filename)) < 0)
		e->path[0] = '\0';
	viv_submit(e);
	return 0;
}
