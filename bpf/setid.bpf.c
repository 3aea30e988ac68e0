// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * setid_change on the tracepoint backend: the eight set*id(2) calls, with
 * the ids asked for, the real, effective and saved ids before, and the
 * result, refusals included. BPF on syscall tracepoints since 4.7.
 * lsm_task.bpf.c has the LSM programs. glibc's setuid() in a threaded
 * process makes every thread call it: one record per thread.
 */
#include "common.h"

/* a[0] the call, a[1..3] the ids asked for ((__u32)-1: unchanged), a[4]
 * the old real and effective ids, a[5] the old saved id. */
static __always_inline int setid_enter(__u32 call, __u32 r, __u32 e,
				       __u32 s)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	const struct cred *cred = BPF_CORE_READ(task, cred);
	__u32 old[3];

	if (call >= VIV_SETID_SETGID) {
		old[0] = BPF_CORE_READ(cred, gid.val);
		old[1] = BPF_CORE_READ(cred, egid.val);
		old[2] = BPF_CORE_READ(cred, sgid.val);
	} else {
		old[0] = BPF_CORE_READ(cred, uid.val);
		old[1] = BPF_CORE_READ(cred, euid.val);
		old[2] = BPF_CORE_READ(cred, suid.val);
	}
	return viv_save6(VIV_KIND_SETID_CHANGE, call, r, e, s,
			 old[0] | (__u64)old[1] << 32, old[2]);
}

static __always_inline int setid_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_setid_change *e;
	struct viv_args args;

	if (!viv_take(VIV_KIND_SETID_CHANGE, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_SETID_CHANGE, sizeof(*e),
			pid_tgid);
	if (!e)
		return 0;
	e->ret = ret;
	e->call = args.a[0];
	e->new_ids[0] = args.a[1];
	e->new_ids[1] = args.a[2];
	e->new_ids[2] = args.a[3];
	e->old_ids[0] = (__u32)args.a[4];
	e->old_ids[1] = args.a[4] >> 32;
	e->old_ids[2] = args.a[5];
	e->pad = 0;
	viv_submit(e);
	return 0;
}

/* setuid(uid) and the like: the one id asked for goes in new_ids[0]. */
#define SETID1(name, call)						\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int viv_##name##_enter(struct trace_event_raw_sys_enter *ctx)		\
{									\
	return setid_enter(call, ctx->args[0], -1, -1);			\
}									\
									\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int viv_##name##_exit(struct trace_event_raw_sys_exit *ctx)		\
{									\
	return setid_exit(ctx->ret);					\
}

#define SETID3(name, call)						\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int viv_##name##_enter(struct trace_event_raw_sys_enter *ctx)		\
{									\
	return setid_enter(call, ctx->args[0], ctx->args[1],		\
			   ctx->args[2]);				\
}									\
									\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int viv_##name##_exit(struct trace_event_raw_sys_exit *ctx)		\
{									\
	return setid_exit(ctx->ret);					\
}

/* setreuid and setregid take two ids: args[2] is not theirs. */
#define SETID2(name, call)						\
SEC("tracepoint/syscalls/sys_enter_" #name)				\
int viv_##name##_enter(struct trace_event_raw_sys_enter *ctx)		\
{									\
	return setid_enter(call, ctx->args[0], ctx->args[1], -1);	\
}									\
									\
SEC("tracepoint/syscalls/sys_exit_" #name)				\
int viv_##name##_exit(struct trace_event_raw_sys_exit *ctx)		\
{									\
	return setid_exit(ctx->ret);					\
}

SETID1(setuid, VIV_SETID_SETUID)
SETID2(setreuid, VIV_SETID_SETREUID)
SETID3(setresuid, VIV_SETID_SETRESUID)
SETID1(setfsuid, VIV_SETID_SETFSUID)
SETID1(setgid, VIV_SETID_SETGID)
SETID2(setregid, VIV_SETID_SETREGID)
SETID3(setresgid, VIV_SETID_SETRESGID)
SETID1(setfsgid, VIV_SETID_SETFSGID)
