// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The file events on the LSM backend: path_open, file_symlink,
 * file_hardlink, file_rename, file_chmod, sb_mount and kernel_read_file.
 *
 * BPF LSM since 5.7, and only where `bpf` is in the active LSM list. A
 * hook sees the kernel's own objects after the lookup, so paths are
 * absolute and say what was touched, whatever the task passed, and
 * io_uring is seen too. It runs after the other LSMs and only when they
 * all allowed the operation, and before the file system does it: a
 * record means "about to happen", ret is 0, and operations that fail
 * earlier (a missing file, no permission) leave none. Every program
 * returns 0: observing never denies anything.
 */
#include "path.h"

#define VIV_O_CREAT_LSM		0100
/* f_mode bit set when this open created the file (since 4.19). */
#define VIV_FMODE_CREATED	0x100000
#define VIV_S_IMODE		07777

/* struct file.f_path as a pointer the verifier types as struct path, for
 * bpf_d_path(): the offset is a constant from .rodata. */
static __always_inline struct path *file_path(struct file *file)
{
	return (void *)file + viv_config.file_f_path_off;
}

/*
 * file_open runs for every open that found its file, from any system
 * call (open, openat2, io_uring, the kernel opening an exec'd binary and
 * its interpreter), with the path from bpf_d_path(): absolute, symlinks
 * resolved, as the task's root sees it. Not for O_PATH descriptors, nor
 * for opens that failed before (ENOENT, EACCES). bpf_d_path() is allowed
 * in this hook since 5.11. mode is the new file's mode (umask applied)
 * when the open created it, else 0.
 */
SEC("lsm/file_open")
int BPF_PROG(viv_lsm_file_open, struct file *file)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_path_open *e;
	struct viv_owner who;
	__u32 fmode;

	if (!viv_enabled(VIV_KIND_PATH_OPEN) || !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_PATH_OPEN, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->flags = BPF_CORE_READ(file, f_flags);
	fmode = BPF_CORE_READ(file, f_mode);
	e->mode = 0;
	if (fmode & VIV_FMODE_CREATED)
		e->mode = BPF_CORE_READ(file, f_inode, i_mode) & VIV_S_IMODE;
	e->resolved = VIV_PATH_D_PATH;
	if (bpf_d_path(file_path(file), e->path, sizeof(e->path)) < 0)
		e->resolved = viv_path_last(e->path, file_path(file));
	if (!viv_prefix_match(e->path)) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return 0;
	}
	viv_submit(e);
	return 0;
}

/* A file_pair record for an LSM hook, or NULL. */
static __always_inline struct viv_file_pair *pair_reserve(enum viv_kind kind,
							  __u32 flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_file_pair *e;
	struct viv_owner who;

	if (!viv_enabled(kind) || !viv_target(pid_tgid, &who))
		return NULL;
	e = viv_reserve(&who, kind, sizeof(*e), pid_tgid);
	if (!e)
		return NULL;
	e->ret = 0;
	e->flags = flags;
	e->old_path[0] = '\0';
	e->new_path[0] = '\0';
	e->old_resolved = VIV_PATH_AS_GIVEN;
	e->new_resolved = VIV_PATH_AS_GIVEN;
	return e;
}

/*
 * path_symlink, path_link and path_rename (CONFIG_SECURITY_PATH, which
 * AppArmor and TOMOYO select) rather than the gem's inode_* hooks: they
 * get the directory as a struct path, mount included, so the names are
 * absolute; the inode hooks get dentries only and could not say on which
 * mount. bpf_d_path() is not allowed in these hooks (6.1 allows it only
 * in the sleepable ones), hence the dentry walk. Called from the system
 * calls and io_uring; not for links made by the kernel itself (overlayfs
 * copy-up, cachefiles).
 */
SEC("lsm/path_symlink")
int BPF_PROG(viv_lsm_path_symlink, const struct path *dir,
	     struct dentry *dentry, const char *old_name)
{
	struct viv_file_pair *e;

	e = pair_reserve(VIV_KIND_FILE_SYMLINK, 0);
	if (!e)
		return 0;
	if (bpf_probe_read_kernel_str(e->old_path, sizeof(e->old_path),
				      old_name) < 0)
		viv_stat(VIV_STAT_READ_FAIL);
	e->new_resolved = viv_path_of(e->new_path, (struct path *)dir,
				      viv_dentry_name((__u64)dentry), 0);
	viv_submit(e);
	return 0;
}

/* A hard link never crosses mounts: the old name is on new_dir's. */
SEC("lsm/path_link")
int BPF_PROG(viv_lsm_path_link, struct dentry *old_dentry,
	     const struct path *new_dir, struct dentry *new_dentry)
{
	struct viv_file_pair *e;
	struct viv_scratch *s;
	__u64 mnt;

	e = pair_reserve(VIV_KIND_FILE_HARDLINK, 0);
	if (!e)
		return 0;
	mnt = (__u64)BPF_CORE_READ(new_dir, mnt);
	s = viv_scratch_get();
	if (s) {
		if (viv_path_copy(e->old_path, s, viv_path_build(s, mnt,
				(__u64)BPF_CORE_READ(old_dentry, d_parent),
				viv_dentry_name((__u64)old_dentry), 0)))
			e->old_resolved = VIV_PATH_FROM_DENTRY;
		viv_scratch_put(s);
	}
	e->new_resolved = viv_path_of(e->new_path, (struct path *)new_dir,
				      viv_dentry_name((__u64)new_dentry), 0);
	viv_submit(e);
	return 0;
}

SEC("lsm/path_rename")
int BPF_PROG(viv_lsm_path_rename, const struct path *old_dir,
	     struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, unsigned int flags)
{
	struct viv_file_pair *e;

	e = pair_reserve(VIV_KIND_FILE_RENAME, flags);
	if (!e)
		return 0;
	e->old_resolved = viv_path_of(e->old_path, (struct path *)old_dir,
				      viv_dentry_name((__u64)old_dentry), 0);
	e->new_resolved = viv_path_of(e->new_path, (struct path *)new_dir,
				      viv_dentry_name((__u64)new_dentry), 0);
	viv_submit(e);
	return 0;
}

/* path_chmod: chmod, fchmod, fchmodat(2) alike, with the file's path;
 * the descriptor of fchmod is not known here (fd -1). */
SEC("lsm/path_chmod")
int BPF_PROG(viv_lsm_path_chmod, const struct path *path, umode_t mode)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_file_chmod *e;
	struct viv_owner who;

	if (!viv_enabled(VIV_KIND_FILE_CHMOD) || !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_FILE_CHMOD, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->mode = mode;
	e->fd = -1;
	e->path[0] = '\0';
	e->resolved = viv_path_of(e->path, (struct path *)path, 0, 0);
	viv_submit(e);
	return 0;
}

/*
 * sb_mount: every mount(2) (new mounts, binds, moves, remounts,
 * propagation changes) with the kernel's copies of its strings; the
 * target from bpf_d_path(), allowed here since 5.11. The new mount API
 * (fsmount + move_mount, 5.2) does not pass here: see move_mount below.
 */
SEC("lsm/sb_mount")
int BPF_PROG(viv_lsm_sb_mount, const char *dev_name, const struct path *path,
	     const char *type, unsigned long flags, void *data)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_sb_mount *e;
	struct viv_owner who;

	if (!viv_enabled(VIV_KIND_SB_MOUNT) || !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_SB_MOUNT, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->call = VIV_MOUNT_MOUNT;
	e->flags = flags;
	e->source[0] = '\0';
	e->fstype[0] = '\0';
	if (dev_name)
		bpf_probe_read_kernel_str(e->source, sizeof(e->source),
					  dev_name);
	if (type)
		bpf_probe_read_kernel_str(e->fstype, sizeof(e->fstype), type);
	if (bpf_d_path((struct path *)path, e->target, sizeof(e->target)) < 0)
		viv_path_last(e->target, (struct path *)path);
	viv_submit(e);
	return 0;
}

/*
 * move_mount (5.2) attaches a mount made with the new API (fsopen,
 * fsconfig, fsmount) or moves one. The hook gets both paths but not the
 * MOVE_MOUNT_* flags (flags 0); source and fstype are read from the mount
 * being attached, as sb_mount would have shown them.
 */
SEC("lsm/move_mount")
int BPF_PROG(viv_lsm_move_mount, const struct path *from_path,
	     const struct path *to_path)
{
	__u32 mnt_off = bpf_core_field_offset(struct mount, mnt);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	const char *source, *fstype;
	struct viv_sb_mount *e;
	struct vfsmount *vfs;
	struct viv_owner who;
	struct mount *mnt;

	if (!viv_enabled(VIV_KIND_SB_MOUNT) || !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_SB_MOUNT, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->call = VIV_MOUNT_MOVE;
	e->flags = 0;
	e->target[0] = '\0';
	vfs = BPF_CORE_READ(from_path, mnt);
	mnt = (void *)vfs - mnt_off;
	source = BPF_CORE_READ(mnt, mnt_devname);
	fstype = BPF_CORE_READ(vfs, mnt_sb, s_type, name);
	if (bpf_probe_read_kernel_str(e->source, sizeof(e->source),
				      source) < 0)
		e->source[0] = '\0';
	if (bpf_probe_read_kernel_str(e->fstype, sizeof(e->fstype),
				      fstype) < 0)
		e->fstype[0] = '\0';
	viv_path_of(e->target, (struct path *)to_path, 0, 0);
	viv_submit(e);
	return 0;
}

/*
 * kernel_read_file (5.10, the successor of kernel_read_file_from_*):
 * the kernel reading a whole file on the task's behalf: a module
 * (finit_module), a kexec image or initramfs, firmware, an IMA policy,
 * an X.509 certificate. The path from bpf_d_path(), allowed here since
 * 5.11.
 */
SEC("lsm/kernel_read_file")
int BPF_PROG(viv_lsm_kernel_read_file, struct file *file,
	     enum kernel_read_file_id id, bool contents)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_kernel_read_file *e;
	struct viv_owner who;

	if (!viv_enabled(VIV_KIND_KERNEL_READ_FILE) ||
	    !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_KERNEL_READ_FILE, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->id = id;
	e->contents = contents;
	e->resolved = VIV_PATH_D_PATH;
	if (bpf_d_path(file_path(file), e->path, sizeof(e->path)) < 0)
		e->resolved = viv_path_last(e->path, file_path(file));
	viv_submit(e);
	return 0;
}
