// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * file_symlink, file_hardlink, file_rename and file_chmod on the tracepoint
 * backend: the system calls, with the paths as the task passed them, made
 * absolute from the directory descriptor or the current directory, and
 * the result. lsm_fs.bpf.c has the LSM programs.
 *
 * BPF on syscall tracepoints since 4.7; strings are read at exit (see
 * common.h). All of them miss io_uring (IORING_OP_SYMLINKAT, LINKAT,
 * RENAMEAT since 5.11-5.15), which never enters the system call.
 */
#include "path.h"

/*
 * Saved at enter: a[0] old name, a[1] new name, a[2] old directory fd,
 * a[3] new directory fd, a[4] flags. A symlink's old name is the link's
 * text, not a path of this task: it stays as given.
 */
static __always_inline int pair_exit(enum viv_kind kind, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_file_pair *e;
	struct viv_args args;

	if (!viv_take(kind, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, kind, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = ret;
	e->flags = args.a[4];
	viv_user_str(e->old_path, sizeof(e->old_path), args.a[0]);
	viv_user_str(e->new_path, sizeof(e->new_path), args.a[1]);
	e->old_resolved = VIV_PATH_AS_GIVEN;
	if (kind != VIV_KIND_FILE_SYMLINK)
		e->old_resolved = viv_path_at(e->old_path, args.a[2],
					      args.a[0]);
	e->new_resolved = viv_path_at(e->new_path, args.a[3], args.a[1]);
	viv_submit(e);
	return 0;
}

/* symlink(2) and symlinkat(2); symlink is absent on arm64. */
SEC("tracepoint/syscalls/sys_enter_symlink")
int viv_symlink_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_FILE_SYMLINK, ctx->args[0], ctx->args[1],
			 VIV_AT_FDCWD, VIV_AT_FDCWD, 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_symlink")
int viv_symlink_exit(struct trace_event_raw_sys_exit *ctx)
{
	return pair_exit(VIV_KIND_FILE_SYMLINK, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_symlinkat")
int viv_symlinkat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_FILE_SYMLINK, ctx->args[0], ctx->args[2],
			 VIV_AT_FDCWD, ctx->args[1], 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_symlinkat")
int viv_symlinkat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return pair_exit(VIV_KIND_FILE_SYMLINK, ctx->ret);
}

/* link(2) and linkat(2), whose flags (AT_SYMLINK_FOLLOW, AT_EMPTY_PATH)
 * are kept; link is absent on arm64. */
SEC("tracepoint/syscalls/sys_enter_link")
int viv_link_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_FILE_HARDLINK, ctx->args[0], ctx->args[1],
			 VIV_AT_FDCWD, VIV_AT_FDCWD, 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_link")
int viv_link_exit(struct trace_event_raw_sys_exit *ctx)
{
	return pair_exit(VIV_KIND_FILE_HARDLINK, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_linkat")
int viv_linkat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_FILE_HARDLINK, ctx->args[1], ctx->args[3],
			 ctx->args[0], ctx->args[2], ctx->args[4], 0);
}

SEC("tracepoint/syscalls/sys_exit_linkat")
int viv_linkat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return pair_exit(VIV_KIND_FILE_HARDLINK, ctx->ret);
}

/* rename(2), renameat(2) and renameat2(2) (3.15) with its RENAME_*
 * flags; rename and renameat are absent on arm64. */
SEC("tracepoint/syscalls/sys_enter_rename")
int viv_rename_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_FILE_RENAME, ctx->args[0], ctx->args[1],
			 VIV_AT_FDCWD, VIV_AT_FDCWD, 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_rename")
int viv_rename_exit(struct trace_event_raw_sys_exit *ctx)
{
	return pair_exit(VIV_KIND_FILE_RENAME, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_renameat")
int viv_renameat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_FILE_RENAME, ctx->args[1], ctx->args[3],
			 ctx->args[0], ctx->args[2], 0, 0);
}

SEC("tracepoint/syscalls/sys_exit_renameat")
int viv_renameat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return pair_exit(VIV_KIND_FILE_RENAME, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_renameat2")
int viv_renameat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_FILE_RENAME, ctx->args[1], ctx->args[3],
			 ctx->args[0], ctx->args[2], ctx->args[4], 0);
}

SEC("tracepoint/syscalls/sys_exit_renameat2")
int viv_renameat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return pair_exit(VIV_KIND_FILE_RENAME, ctx->ret);
}

/*
 * Saved at enter: a[0] path, a[1] mode, a[2] directory fd, a[3] the
 * descriptor of fchmod(2) or -1. fchmod names no path: the file's own
 * path stands in.
 */
static __always_inline int chmod_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_file_chmod *e;
	struct viv_args args;

	if (!viv_take(VIV_KIND_FILE_CHMOD, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_FILE_CHMOD, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = ret;
	e->mode = args.a[1];
	e->fd = args.a[3];
	e->path[0] = '\0';
	if (e->fd >= 0) {
		e->resolved = viv_path_of_fd(e->path, e->fd);
	} else {
		viv_user_str(e->path, sizeof(e->path), args.a[0]);
		e->resolved = viv_path_at(e->path, args.a[2], args.a[0]);
	}
	viv_submit(e);
	return 0;
}

/* chmod(2); absent on arm64. */
SEC("tracepoint/syscalls/sys_enter_chmod")
int viv_chmod_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_FILE_CHMOD, ctx->args[0], ctx->args[1],
			VIV_AT_FDCWD, -1);
}

SEC("tracepoint/syscalls/sys_exit_chmod")
int viv_chmod_exit(struct trace_event_raw_sys_exit *ctx)
{
	return chmod_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_fchmodat")
int viv_fchmodat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_FILE_CHMOD, ctx->args[1], ctx->args[2],
			ctx->args[0], -1);
}

SEC("tracepoint/syscalls/sys_exit_fchmodat")
int viv_fchmodat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return chmod_exit(ctx->ret);
}

/* fchmodat2(2), since 6.6, with AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH
 * (then the path is the descriptor's); optional. */
SEC("tracepoint/syscalls/sys_enter_fchmodat2")
int viv_fchmodat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_FILE_CHMOD, ctx->args[1], ctx->args[2],
			ctx->args[0], -1);
}

SEC("tracepoint/syscalls/sys_exit_fchmodat2")
int viv_fchmodat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return chmod_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_fchmod")
int viv_fchmod_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_FILE_CHMOD, 0, ctx->args[1], VIV_AT_FDCWD,
			ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_fchmod")
int viv_fchmod_exit(struct trace_event_raw_sys_exit *ctx)
{
	return chmod_exit(ctx->ret);
}
