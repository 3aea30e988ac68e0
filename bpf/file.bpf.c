// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * path_open: every open(2) family call of an observed task, with the path
 * as the task gave it or, for a relative path that opened, rebuilt from
 * the dentry it opened.
 */
#include "common.h"

/*
 * Path of the file at descriptor @fd of the current task, written into
 * @s->buf, as the task sees it: the walk up stops at the task's root
 * directory (chroot, pivot_root) or at the root of its mount tree. The
 * struct file and struct dentry offsets come from user space (lib/btf.c,
 * overridable from the environment); everything else is CO-RE.
 */
static __always_inline long path_from_fd(struct viv_scratch *s, long fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 mnt_off = bpf_core_field_offset(struct mount, mnt);
	struct dentry *dentry, *parent, *root, *top;
	struct vfsmount *vfs, *top_mnt;
	struct fdtable *fdt;
	struct file **fds;
	struct mount *mnt;
	struct file *file;
	struct path *path;
	long off = 0;
	int i, n;

	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return -1;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return -1;
	path = (void *)file + viv_config.file_f_path_off;
	vfs = BPF_CORE_READ(path, mnt);
	dentry = BPF_CORE_READ(path, dentry);
	mnt = (void *)vfs - mnt_off;
	top = BPF_CORE_READ(task, fs, root.dentry);
	top_mnt = BPF_CORE_READ(task, fs, root.mnt);
	s->depth = 0;

	for (i = 0; i < VIV_DENTRY_DEPTH + VIV_MOUNT_DEPTH; i++) {
		if (dentry == top && vfs == top_mnt)
			break;
		root = BPF_CORE_READ(vfs, mnt_root);
		if (dentry == root) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			/* The root mount of a tree is its own parent. */
			if (up == mnt)
				break;
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vfs = (void *)up + mnt_off;
			continue;
		}
		parent = BPF_CORE_READ(dentry, d_parent);
		/* A file system root that is not a mount's root: detached. */
		if (parent == dentry || s->depth >= VIV_DENTRY_DEPTH)
			return -1;
		s->dentries[s->depth & (VIV_DENTRY_DEPTH - 1)] = dentry;
		s->depth++;
		dentry = parent;
	}
	if (i == VIV_DENTRY_DEPTH + VIV_MOUNT_DEPTH)
		return -1;

	for (i = 0; i < VIV_DENTRY_DEPTH; i++) {
		struct qstr *name;

		if (i >= s->depth || off >= VIV_PATH_MAX - 1)
			break;
		dentry = s->dentries[(s->depth - 1 - i) &
				     (VIV_DENTRY_DEPTH - 1)];
		name = (void *)dentry + viv_config.dentry_d_name_off;
		s->buf[off & VIV_SCRATCH_MASK] = '/';
		off++;
		n = bpf_probe_read_kernel_str(&s->buf[off & VIV_SCRATCH_MASK],
					      VIV_PATH_MAX,
					      BPF_CORE_READ(name, name));
		if (n <= 0)
			return -1;
		off += n - 1;
	}
	/* Cut short: the relative path as given says more. */
	if (off >= VIV_PATH_MAX - 1)
		return -1;
	if (!off)
		s->buf[off++] = '/';
	return off;
}

static __always_inline int path_open_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_path_open *e;
	struct viv_scratch *s;
	struct viv_args args;
	struct open_how how;
	long len;

	if (!viv_take(VIV_KIND_PATH_OPEN, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(args.id, VIV_KIND_PATH_OPEN, sizeof(*e), pid_tgid);
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
	if (bpf_probe_read_user_str(e->path, sizeof(e->path),
				    (void *)args.a[0]) < 0) {
		e->path[0] = '\0';
		viv_stat(VIV_STAT_READ_FAIL);
	}
	if (ret >= 0 && e->path[0] != '/' && (s = viv_scratch_get())) {
		len = path_from_fd(s, ret);
		/* Copy only the path: the rest of the scratch buffer holds
		 * other observers' data. */
		if (len > 0 && len < VIV_PATH_MAX &&
		    !bpf_probe_read_kernel(e->path, len, s->buf)) {
			e->path[len & (VIV_PATH_MAX - 1)] = '\0';
			e->resolved = VIV_PATH_FROM_DENTRY;
		}
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
	return viv_save(VIV_KIND_PATH_OPEN, ctx->args[1], ctx->args[2],
			ctx->args[3], 0);
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
	return viv_save(VIV_KIND_PATH_OPEN, ctx->args[1], 0, 0, ctx->args[2]);
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
	return viv_save(VIV_KIND_PATH_OPEN, ctx->args[0], ctx->args[1],
			ctx->args[2], 0);
}

SEC("tracepoint/syscalls/sys_exit_open")
int viv_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return path_open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int viv_creat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_PATH_OPEN, ctx->args[0],
			VIV_O_CREAT | VIV_O_WRONLY | VIV_O_TRUNC,
			ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int viv_creat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return path_open_exit(ctx->ret);
}
