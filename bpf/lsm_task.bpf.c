// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The privilege events on the LSM backend: ptrace_check, task_kill,
 * setid_change, capable_check and bprm_creds.
 *
 * BPF LSM since 5.7, where `bpf` is in the active LSM list. As for the
 * file hooks (lsm_fs.bpf.c): the BPF LSM runs last and only when every
 * LSM before it allowed the operation, so a record means "allowed so far
 * and about to happen", ret is 0, and denied attempts leave none. Every
 * program returns 0.
 */
#include "path.h"

#define VIV_LSM_SETID_ID	1
#define VIV_LSM_SETID_RE	2
#define VIV_LSM_SETID_RES	4
#define VIV_LSM_SETID_FS	8

#define VIV_S_ISUID		04000
#define VIV_S_ISGID		02000

/*
 * ptrace_access_check: every ptrace_may_access() on another process:
 * PTRACE_ATTACH and PTRACE_SEIZE, but also /proc/<pid>/mem, environ,
 * maps and fd, process_vm_readv, pidfd_getfd and kcmp. request holds the
 * PTRACE_MODE_* bits (is_mode 1). PTRACE_TRACEME takes another hook
 * (ptrace_traceme) and is not reported.
 */
SEC("lsm/ptrace_access_check")
int BPF_PROG(viv_lsm_ptrace_access_check, struct task_struct *child,
	     unsigned int mode)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_ptrace_check *e;
	struct viv_owner who;

	if (!viv_enabled(VIV_KIND_PTRACE_CHECK) || !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_PTRACE_CHECK, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->request = mode;
	e->target_pid = BPF_CORE_READ(child, tgid);
	e->is_mode = 1;
	if (bpf_probe_read_kernel_str(e->target_comm, sizeof(e->target_comm),
				      &child->comm) < 0)
		e->target_comm[0] = '\0';
	viv_submit(e);
	return 0;
}

/*
 * task_kill: each task a signal sent by a task is about to reach, after
 * the permission check (kill, tkill, tgkill, pidfd_send_signal,
 * rt_sigqueueinfo; one record per member of a process group). Signals
 * the kernel raises (SIGCHLD, SIGPIPE, SIGSEGV) do not pass here.
 */
SEC("lsm/task_kill")
int BPF_PROG(viv_lsm_task_kill, struct task_struct *p,
	     struct kernel_siginfo *info, int sig, const struct cred *cred)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_task_kill *e;
	struct viv_owner who;

	if (!viv_enabled(VIV_KIND_TASK_KILL) || !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_TASK_KILL, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->sig = sig;
	e->target_pid = BPF_CORE_READ(p, tgid);
	e->target_tid = BPF_CORE_READ(p, pid);
	e->via = VIV_KILL_LSM;
	e->pad = 0;
	if (bpf_probe_read_kernel_str(e->target_comm, sizeof(e->target_comm),
				      &p->comm) < 0)
		e->target_comm[0] = '\0';
	viv_submit(e);
	return 0;
}

/* Which call an LSM_SETID_* flag stands for; the gid calls follow the
 * uid ones in VIV_SETID_*. */
static __always_inline __u32 setid_call(int flags, bool gid)
{
	__u32 call = VIV_SETID_SETUID;

	if (flags & VIV_LSM_SETID_RE)
		call = VIV_SETID_SETREUID;
	else if (flags & VIV_LSM_SETID_RES)
		call = VIV_SETID_SETRESUID;
	else if (flags & VIV_LSM_SETID_FS)
		call = VIV_SETID_SETFSUID;
	return gid ? call + VIV_SETID_SETGID - VIV_SETID_SETUID : call;
}

/*
 * The ids the hook sees: old_ids real, effective and saved before, new_ids
 * the same after (setfsuid/setfsgid: the fs id in new_ids[0], the rest
 * -1). The kernel calls the hook only when the change is allowed.
 */
static __always_inline int setid(const struct cred *new,
				 const struct cred *old, int flags, bool gid)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_setid_change *e;
	struct viv_owner who;

	if (!viv_enabled(VIV_KIND_SETID_CHANGE) || !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_SETID_CHANGE, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->pad = 0;
	e->call = setid_call(flags, gid);
	if (gid) {
		e->old_ids[0] = BPF_CORE_READ(old, gid.val);
		e->old_ids[1] = BPF_CORE_READ(old, egid.val);
		e->old_ids[2] = BPF_CORE_READ(old, sgid.val);
		e->new_ids[0] = BPF_CORE_READ(new, gid.val);
		e->new_ids[1] = BPF_CORE_READ(new, egid.val);
		e->new_ids[2] = BPF_CORE_READ(new, sgid.val);
	} else {
		e->old_ids[0] = BPF_CORE_READ(old, uid.val);
		e->old_ids[1] = BPF_CORE_READ(old, euid.val);
		e->old_ids[2] = BPF_CORE_READ(old, suid.val);
		e->new_ids[0] = BPF_CORE_READ(new, uid.val);
		e->new_ids[1] = BPF_CORE_READ(new, euid.val);
		e->new_ids[2] = BPF_CORE_READ(new, suid.val);
	}
	if (flags & VIV_LSM_SETID_FS) {
		e->new_ids[0] = gid ? BPF_CORE_READ(new, fsgid.val) :
				      BPF_CORE_READ(new, fsuid.val);
		e->new_ids[1] = -1;
		e->new_ids[2] = -1;
	}
	viv_submit(e);
	return 0;
}

/* task_fix_setuid: setuid, setreuid, setresuid, setfsuid (since 2.6). */
SEC("lsm/task_fix_setuid")
int BPF_PROG(viv_lsm_task_fix_setuid, struct cred *new,
	     const struct cred *old, int flags)
{
	return setid(new, old, flags, false);
}

/* task_fix_setgid (5.19, for SafeSetID): the gid calls. A kernel without
 * it takes the tracepoint backend for setid_change as a whole. */
SEC("lsm/task_fix_setgid")
int BPF_PROG(viv_lsm_task_fix_setgid, struct cred *new,
	     const struct cred *old, int flags)
{
	return setid(new, old, flags, true);
}

/*
 * capable: every capability check of the task, which the kernel makes
 * from all over (file permissions, sockets, mounts), filtered to the
 * capabilities in viv_cap_mask. Only checks that commoncap granted reach
 * a BPF LSM program (call_int_hook stops at the first refusal), so ret
 * is always 0 here: a refused check is not reported on this backend.
 */
SEC("lsm/capable")
int BPF_PROG(viv_lsm_capable, const struct cred *cred,
	     struct user_namespace *ns, int cap, unsigned int opts)
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
	e->ret = 0;
	e->cap = cap;
	e->opts = opts;
	e->pad = 0;
	viv_submit(e);
	return 0;
}

/*
 * bprm_creds_from_file (5.8): an exec once the new credentials are
 * computed from the file, before they are committed. Reported when the
 * file is set-user-ID or set-group-ID, or when commoncap (which ran
 * first) marked the exec secure because file capabilities raise the
 * task's privileges. old_euid and old_egid are the caller's.
 */
SEC("lsm/bprm_creds_from_file")
int BPF_PROG(viv_lsm_bprm_creds_from_file, struct linux_binprm *bprm,
	     struct file *file)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_bprm_creds *e;
	struct viv_owner who;
	__u32 mode;

	if (!viv_enabled(VIV_KIND_BPRM_CREDS) || !viv_target(pid_tgid, &who))
		return 0;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if (!(mode & (VIV_S_ISUID | VIV_S_ISGID)) &&
	    !BPF_CORE_READ_BITFIELD_PROBED(bprm, secureexec))
		return 0;
	e = viv_reserve(&who, VIV_KIND_BPRM_CREDS, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->file_mode = mode;
	e->file_uid = BPF_CORE_READ(file, f_inode, i_uid.val);
	e->file_gid = BPF_CORE_READ(file, f_inode, i_gid.val);
	e->old_euid = BPF_CORE_READ(task, cred, euid.val);
	e->old_egid = BPF_CORE_READ(task, cred, egid.val);
	if (bpf_d_path((void *)file + viv_config.file_f_path_off, e->path,
		       sizeof(e->path)) < 0)
		viv_path_last(e->path, viv_file_path((__u64)file));
	viv_submit(e);
	return 0;
}
