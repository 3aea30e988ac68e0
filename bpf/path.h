/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Paths rebuilt from the kernel's dentries, for the programs that cannot
 * call bpf_d_path(): syscall tracepoints (no helper), and LSM hooks outside
 * the kernel's allow-list for it (on 6.1 only the sleepable hooks have it:
 * file_open, sb_mount, kernel_read_file, bprm_creds_from_file, ...; no
 * path_* hook does).
 *
 * The walk is one global function: the verifier checks it once per
 * program, whatever the caller's state, where an inlined copy was checked
 * again for every path a caller took to it. __weak as the maps in
 * common.h, so that every file may include it.
 */
#ifndef VIV_PATH_H
#define VIV_PATH_H

#include "common.h"

#define VIV_AT_FDCWD		-100

/* The struct file at descriptor @fd of the current task, 0 if none. */
static __always_inline __u64 viv_fd_file(long fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct fdtable *fdt;
	struct file **fds;
	struct file *file;

	if (fd < 0)
		return 0;
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return 0;
	return (__u64)file;
}

/* struct file.f_path, at the offset user space resolved (lib/btf.c). */
static __always_inline struct path *viv_file_path(__u64 file)
{
	return (void *)file + viv_config.file_f_path_off;
}

/* The name of a dentry (struct dentry.d_name.name), a kernel string. */
static __always_inline __u64 viv_dentry_name(__u64 dentry)
{
	struct qstr *q = (void *)dentry + viv_config.dentry_d_name_off;

	return (__u64)BPF_CORE_READ(q, name);
}

/*
 * Path of @dentry on mount @vfs, then "/" and the string @name if not 0
 * (in user memory if @user, else in the kernel's), written into @s->buf
 * as the current task sees it: the walk up stops at the task's root
 * directory (chroot, pivot_root) or at the root of its mount tree.
 * Returns its length (NUL not counted), or -1 when the walk fails, the
 * dentry is detached or the path does not fit VIV_PATH_MAX: then the
 * caller keeps what it had. Plain bounded loops: under bpf_loop() the
 * verifier of 6.1 checks a step once, but since 6.7 it checks callbacks
 * until their states converge, and this walk then cost ten times more.
 */
__weak __noinline int viv_path_build(struct viv_scratch *s, __u64 vfs,
				     __u64 dentry, __u64 name, int user)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 mnt_off = bpf_core_field_offset(struct mount, mnt);
	struct dentry *d, *parent, *top;
	struct vfsmount *v, *top_mnt;
	struct mount *mnt, *up;
	__u64 part;
	long off = 0;
	char *dst;
	int i, n;

	if (!s || !dentry || !vfs)
		return -1;
	top = BPF_CORE_READ(task, fs, root.dentry);
	top_mnt = BPF_CORE_READ(task, fs, root.mnt);
	s->depth = 0;
	s->d = dentry;
	s->v = vfs;
	s->mnt = vfs - mnt_off;

	for (i = 0; i < VIV_DENTRY_DEPTH + VIV_MOUNT_DEPTH; i++) {
		d = (void *)s->d;
		v = (void *)s->v;
		if (d == top && v == top_mnt)
			break;
		if (d == BPF_CORE_READ(v, mnt_root)) {
			mnt = (void *)s->mnt;
			up = BPF_CORE_READ(mnt, mnt_parent);
			/* The root mount of a tree is its own parent. */
			if (up == mnt)
				break;
			s->d = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
			s->mnt = (__u64)up;
			s->v = (__u64)up + mnt_off;
			continue;
		}
		parent = BPF_CORE_READ(d, d_parent);
		/* A file system root that is not a mount's root: detached. */
		if (parent == d || s->depth >= VIV_DENTRY_DEPTH)
			return -1;
		s->dentries[s->depth & (VIV_DENTRY_DEPTH - 1)] = (__u64)d;
		s->depth++;
		s->d = (__u64)parent;
	}
	if (i == VIV_DENTRY_DEPTH + VIV_MOUNT_DEPTH)
		return -1;

	for (i = 0; i < VIV_DENTRY_DEPTH; i++) {
		if (i >= s->depth)
			break;
		if (off >= VIV_PATH_MAX - 1)
			return -1;
		part = s->dentries[(s->depth - 1 - i) & (VIV_DENTRY_DEPTH - 1)];
		s->buf[off & VIV_SCRATCH_MASK] = '/';
		off++;
		n = bpf_probe_read_kernel_str(&s->buf[off & VIV_SCRATCH_MASK],
					      VIV_PATH_MAX,
					      (void *)viv_dentry_name(part));
		if (n <= 0)
			return -1;
		off += n - 1;
	}
	if (name) {
		if (off >= VIV_PATH_MAX - 1)
			return -1;
		s->buf[off & VIV_SCRATCH_MASK] = '/';
		off++;
		dst = &s->buf[off & VIV_SCRATCH_MASK];
		if (user)
			n = bpf_probe_read_user_str(dst, VIV_PATH_MAX,
						    (void *)name);
		else
			n = bpf_probe_read_kernel_str(dst, VIV_PATH_MAX,
						      (void *)name);
		if (n <= 0)
			return -1;
		off += n - 1;
	}
	if (off >= VIV_PATH_MAX - 1)
		return -1;
	if (!off) {
		s->buf[0] = '/';
		s->buf[1] = '\0';
		off = 1;
	}
	return off;
}

/* Copy the @len bytes viv_path_build() made into a record's path field. */
static __always_inline bool viv_path_copy(char *dst, struct viv_scratch *s,
					  int len)
{
	if (len <= 0 || len >= VIV_PATH_MAX)
		return false;
	if (bpf_probe_read_kernel(dst, len, s->buf))
		return false;
	dst[len & (VIV_PATH_MAX - 1)] = '\0';
	return true;
}

/* @dst = the path of struct path @p, plus "/" @name if not 0. */
static __always_inline __u32 viv_path_of(char *dst, struct path *p,
					 __u64 name, int user)
{
	__u64 mnt = (__u64)BPF_CORE_READ(p, mnt);
	__u64 dentry = (__u64)BPF_CORE_READ(p, dentry);
	struct viv_scratch *s = viv_scratch_get();
	bool ok;

	if (!s)
		return VIV_PATH_AS_GIVEN;
	ok = viv_path_copy(dst, s, viv_path_build(s, mnt, dentry, name, user));
	viv_scratch_put(s);
	return ok ? VIV_PATH_FROM_DENTRY : VIV_PATH_AS_GIVEN;
}

/* @dst = the path of the file at descriptor @fd; untouched if none. */
static __always_inline __u32 viv_path_of_fd(char *dst, long fd)
{
	__u64 file = viv_fd_file(fd);

	if (!file)
		return VIV_PATH_AS_GIVEN;
	return viv_path_of(dst, viv_file_path(file), 0, 0);
}

/*
 * Syscall exit: @dst holds the path string the task passed at @uptr along
 * with directory descriptor @dfd (read by the caller). Make a
 * relative one absolute from the directory's dentries: the current
 * directory for AT_FDCWD, the descriptor's file otherwise, the file
 * itself for an empty path (AT_EMPTY_PATH). The result keeps "." and
 * ".." and is the name as asked, not what it resolves to: the lookup
 * happens in the kernel after us, and may have failed.
 */
static __always_inline __u32 viv_path_at(char *dst, long dfd, __u64 uptr)
{
	struct task_struct *task;
	struct path *base;
	__u64 file;

	if (dst[0] == '/')
		return VIV_PATH_AS_GIVEN;
	if ((int)dfd == VIV_AT_FDCWD) {
		task = (void *)bpf_get_current_task();
		base = (void *)BPF_CORE_READ(task, fs) +
		       bpf_core_field_offset(struct fs_struct, pwd);
	} else {
		file = viv_fd_file(dfd);
		if (!file)
			return VIV_PATH_AS_GIVEN;
		base = viv_file_path(file);
	}
	return viv_path_of(dst, base, dst[0] ? uptr : 0, 1);
}

/*
 * After bpf_d_path() failed (the path does not fit VIV_PATH_MAX: a walk
 * would not fit either): the last component, as the gem showed it.
 */
static __always_inline __u32 viv_path_last(char *dst, struct path *p)
{
	__u64 name = viv_dentry_name((__u64)BPF_CORE_READ(p, dentry));

	if (bpf_probe_read_kernel_str(dst, VIV_PATH_MAX, (void *)name) < 0)
		dst[0] = '\0';
	return VIV_PATH_AS_GIVEN;
}

/* The user string at @uptr into @dst, empty (counted) if unreadable. */
static __always_inline void viv_user_str(char *dst, __u32 size, __u64 uptr)
{
	if (bpf_probe_read_user_str(dst, size, (void *)uptr) < 0) {
		dst[0] = '\0';
		viv_stat(VIV_STAT_READ_FAIL);
	}
}

#endif /* VIV_PATH_H */
