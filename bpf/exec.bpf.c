// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * proc_exec: every execve(2) and execveat(2) of an observed task, the ones
 * that replaced the program and the ones that failed.
 */
#include "common.h"

static __always_inline __u64 args_len(__u64 n)
{
	return n < VIV_ARGS_MAX ? n : VIV_ARGS_MAX;
}

/* Terminate the last string of @len bytes of args, which may be cut. */
static __always_inline void args_end(struct viv_proc_exec *e, __u64 len)
{
	if (len > 0 && len <= VIV_ARGS_MAX) {
		e->args[len - 1] = '\0';
		e->args_len = len;
	}
}

/* argv[] end to end as the kernel laid it out; the last string is cut
 * (and terminated) if it does not fit. */
static __always_inline void read_args(struct viv_proc_exec *e, __u64 start,
				      __u64 end)
{
	__u64 len;

	if (end <= start)
		return;
	len = args_len(end - start);
	if (bpf_probe_read_user(e->args, len, (void *)start)) {
		viv_stat(VIV_STAT_READ_FAIL);
		return;
	}
	args_end(e, len);
}

/*
 * sched_process_exec fires once the new program is in place: current is
 * the new image, bprm->filename the path it was started by (as given,
 * relative paths included), and the new stack holds argv between
 * mm->arg_start and arg_end. tp_btf since 5.5. Reports successes only;
 * failures come from the syscall exit below. old_pid differs from the
 * current tid when a non-leader thread exec'd (see task.bpf.c).
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(viv_sched_process_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_owner who, *spawned;
	struct viv_proc_exec *e;
	struct mm_struct *mm;
	__u32 old = old_pid;

	if (!viv_enabled(VIV_KIND_PROC_EXEC))
		return 0;
	if (!viv_target(pid_tgid, &who)) {
		/* task.bpf.c may not have moved the entry yet. */
		if (old == (__u32)pid_tgid)
			return 0;
		spawned = bpf_map_lookup_elem(&config_spawned_targets, &old);
		if (!spawned)
			return 0;
		who = *spawned;
	}
	if (old != (__u32)pid_tgid)
		bpf_map_delete_elem(&viv_inflight, &old);
	e = viv_reserve(&who, VIV_KIND_PROC_EXEC, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->args_len = 0;
	e->argc = BPF_CORE_READ(bprm, argc);
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path),
				      BPF_CORE_READ(bprm, filename)) < 0) {
		e->path[0] = '\0';
		viv_stat(VIV_STAT_READ_FAIL);
	}
	mm = BPF_CORE_READ(p, mm);
	read_args(e, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end));
	viv_submit(e);
	return 0;
}

/* Gather a failed execve's argv from the caller's array, still mapped
 * since the old image stays. */
static __always_inline void gather_argv(struct viv_proc_exec *e,
					const char *const *argv)
{
	struct viv_scratch *s;
	__u32 argc = 0;
	const char *arg;
	__u64 len;
	long off = 0, n;
	int i;

	if (!argv)
		return;
	s = viv_scratch_get();
	if (!s)
		return;
	for (i = 0; i < VIV_ARGV_SCAN; i++) {
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i])) {
			viv_stat(VIV_STAT_READ_FAIL);
			break;
		}
		if (!arg)
			break;
		argc++;
		if (off >= VIV_ARGS_MAX)
			continue;
		n = bpf_probe_read_user_str(&s->buf[off & VIV_SCRATCH_MASK],
					    VIV_ARGS_MAX, arg);
		/* A string on a page the task never touched cannot be read
		 * here (6.8+ opens the file before copying argv, so a failed
		 * exec never faulted it in): keep its place, empty. */
		if (n <= 0) {
			viv_stat(VIV_STAT_READ_FAIL);
			s->buf[off & VIV_SCRATCH_MASK] = '\0';
			n = 1;
		}
		off += n;
	}
	e->argc = argc;
	len = args_len(off);
	if (len && !bpf_probe_read_kernel(e->args, len, s->buf))
		args_end(e, len);
	viv_scratch_put(s);
}

static __always_inline int exec_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_proc_exec *e;
	struct viv_args args;

	if (!viv_take(VIV_KIND_PROC_EXEC, (__u32)pid_tgid, &args) || ret >= 0)
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_PROC_EXEC, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = ret;
	e->args_len = 0;
	e->argc = 0;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(e->path, sizeof(e->path),
				    (void *)args.a[0]) < 0) {
		e->path[0] = '\0';
		viv_stat(VIV_STAT_READ_FAIL);
	}
	gather_argv(e, (const char *const *)args.a[1]);
	viv_submit(e);
	return 0;
}

/*
 * sys_enter_execve / sys_exit_execve: only to see failures (ENOENT,
 * EACCES, ENOEXEC...), which never reach sched_process_exec. BPF on
 * syscall tracepoints since 4.7. The path is the caller's string; argv is
 * read from the caller's array, up to VIV_ARGV_SCAN entries.
 */
SEC("tracepoint/syscalls/sys_enter_execve")
int viv_execve_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_PROC_EXEC, ctx->args[0], ctx->args[1], 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int viv_execve_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}

/* execveat(2), since 3.19; a failure's path is relative to its dirfd. */
SEC("tracepoint/syscalls/sys_enter_execveat")
int viv_execveat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_PROC_EXEC, ctx->args[1], ctx->args[2], 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int viv_execveat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx->ret);
}
