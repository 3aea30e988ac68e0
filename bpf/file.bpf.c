// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * path_open on the tracepoint backend: every open(2) family call of an
 * observed task, with the path as the task gave it or, for a relative
 * path, rebuilt from the dentry it opened or the directory it named.
 * file_getdents on both backends: no LSM hook sees a directory read.
 */
#include "path.h"

static __always_inline int path_open_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_path_open *e;
	struct viv_args args;
	struct open_how how;

	if (!viv_take(VIV_KIND_PATH_OPEN, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_PATH_OPEN, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = ret;
	e->flags = args.a[1];
	e->mode = args.a[2];
	e->resolved = VIV_PATH_AS_GIVEN;
	/* openat2 passes flags and mode in a struct open_how. */
	if (args.a[3]) {
		if (bpf_probe_read_user(&how, sizeof(how), (void *)args.a[3])) {
			viv_stat(VIV_STAT_READ_FAIL);
		} else {
			e->flags = how.flags;
			e->mode = how.mode;
		}
	}
	viv_user_str(e->path, sizeof(e->path), args.a[0]);
	/* A relative path that opened: the file's own path, symlinks
	 * followed; one that did not: the directory's path and the name. */
	if (e->path[0] != '/' && ret >= 0)
		e->resolved = viv_path_of_fd(e->path, ret);
	if (e->resolved == VIV_PATH_AS_GIVEN)
		e->resolved = viv_path_at(e->path, args.a[4], args.a[0]);
	if (!viv_prefix_match(e->path)) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return 0;
	}
	viv_submit(e);
	return 0;
}

/*
 * sys_enter_openat / sys_exit_openat: the call glibc's open() and fopen()
 * make. BPF on syscall tracepoints since 4.7; the path is the string the
 * task passed, read at exit. Misses io_uring IORING_OP_OPENAT, which
 * never enters the syscall.
 */
SEC("tracepoint/syscalls/sys_enter_openat")
int viv_openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_PATH_OPEN, ctx->args[1], ctx->args[2],
			 ctx->args[3], 0, ctx->args[0], 0);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int viv_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return path_open_exit(ctx->ret);
}

/*
 * openat2(2), since 5.6: flags and mode sit in struct open_how, read at
 * exit. The tracepoint is absent on older kernels; the loader then skips
 * it. Misses io_uring as openat does.
 */
SEC("tracepoint/syscalls/sys_enter_openat2")
int viv_openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_PATH_OPEN, ctx->args[1], 0, 0, ctx->args[2],
			 ctx->args[0], 0);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int viv_openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return path_open_exit(ctx->ret);
}

/*
 * open(2) and creat(2): legacy entry points that x86-64 still has and
 * arm64 never had; the loader skips a tracepoint the kernel lacks.
 */
SEC("tracepoint/syscalls/sys_enter_open")
int viv_open_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_PATH_OPEN, ctx->args[0], ctx->args[1],
			 ctx->args[2], 0, VIV_AT_FDCWD, 0);
}

SEC("tracepoint/syscalls/sys_exit_open")
int viv_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return path_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int viv_creat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_PATH_OPEN, ctx->args[0],
			 VIV_O_CREAT | VIV_O_WRONLY | VIV_O_TRUNC,
			 ctx->args[1], 0, VIV_AT_FDCWD, 0);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int viv_creat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return path_open_exit(ctx->ret);
}

/*
 * sys_enter_getdents64 / sys_exit_getdents64: every read of a directory's
 * entries (readdir(3), ls), one record per call, so a listing is several
 * records ending with ret 0. No LSM hook runs here (file_permission does,
 * for every read too), hence the tracepoint on both backends. The
 * directory's path comes from the descriptor's file. Misses io_uring,
 * which has no getdents operation on the kernels we support.
 */
SEC("tracepoint/syscalls/sys_enter_getdents64")
int viv_getdents64_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_FILE_GETDENTS, ctx->args[0], ctx->args[2],
			0, 0);
}

static __always_inline int getdents_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_file_getdents *e;
	struct viv_args args;

	if (!viv_take(VIV_KIND_FILE_GETDENTS, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_FILE_GETDENTS, sizeof(*e),
			pid_tgid);
	if (!e)
		return 0;
	e->ret = ret;
	e->fd = args.a[0];
	e->count = args.a[1];
	e->path[0] = '\0';
	e->resolved = viv_path_of_fd(e->path, (int)args.a[0]);
	viv_submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_getdents64")
int viv_getdents64_exit(struct trace_event_raw_sys_exit *ctx)
{
	return getdents_exit(ctx->ret);
}

/* getdents(2), the 32-bit-inode call that x86-64 still has and arm64
 * never had; optional as open(2) is. */
SEC("tracepoint/syscalls/sys_enter_getdents")
int viv_getdents_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_FILE_GETDENTS, ctx->args[0], ctx->args[2],
			0, 0);
}

SEC("tracepoint/syscalls/sys_exit_getdents")
int viv_getdents_exit(struct trace_event_raw_sys_exit *ctx)
{
	return getdents_exit(ctx->ret);
}
