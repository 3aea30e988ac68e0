// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sb_mount and kernel_read_file on the tracepoint backend: mount(2) and
 * move_mount(2), and the system calls that make the kernel read a file
 * on the task's behalf (finit_module, init_module, kexec_file_load).
 * lsm_fs.bpf.c has the LSM programs. BPF on syscall tracepoints since
 * 4.7: the arguments as passed, read at exit, and the result.
 */
#include "path.h"

#define VIV_KEXEC_FILE_NO_INITRAMFS	4

/*
 * mount(2): source, target and type as passed (the target made absolute
 * from the current directory) and the MS_* flags. A bind or move passes
 * no type; a remount may pass no source.
 */
SEC("tracepoint/syscalls/sys_enter_mount")
int viv_mount_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_SB_MOUNT, ctx->args[0], ctx->args[1],
			ctx->args[2], ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_exit_mount")
int viv_mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_sb_mount *e;
	struct viv_args args;

	if (!viv_take(VIV_KIND_SB_MOUNT, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_SB_MOUNT, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = ctx->ret;
	e->call = VIV_MOUNT_MOUNT;
	e->flags = args.a[3];
	e->source[0] = '\0';
	e->fstype[0] = '\0';
	if (args.a[0])
		viv_user_str(e->source, sizeof(e->source), args.a[0]);
	if (args.a[2])
		viv_user_str(e->fstype, sizeof(e->fstype), args.a[2]);
	viv_user_str(e->target, sizeof(e->target), args.a[1]);
	viv_path_at(e->target, VIV_AT_FDCWD, args.a[1]);
	viv_submit(e);
	return 0;
}

/*
 * move_mount(2), 5.2: attaches a mount made with fsopen/fsconfig/fsmount
 * (then the source is the descriptor fsmount returned, and source and
 * type come from that mount) or moves one (then the source is the path
 * as passed). flags holds the MOVE_MOUNT_* flags. fsmount alone is not
 * reported: its mount is invisible until it is moved somewhere.
 */
SEC("tracepoint/syscalls/sys_enter_move_mount")
int viv_move_mount_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save6(VIV_KIND_SB_MOUNT, ctx->args[0], ctx->args[1],
			 ctx->args[2], ctx->args[3], ctx->args[4], 0);
}

SEC("tracepoint/syscalls/sys_exit_move_mount")
int viv_move_mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 mnt_off = bpf_core_field_offset(struct mount, mnt);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_sb_mount *e;
	struct vfsmount *vfs;
	struct viv_args args;
	struct mount *mnt;
	__u64 file;

	if (!viv_take(VIV_KIND_SB_MOUNT, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_SB_MOUNT, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = ctx->ret;
	e->call = VIV_MOUNT_MOVE;
	e->flags = args.a[4];
	e->fstype[0] = '\0';
	viv_user_str(e->source, sizeof(e->source), args.a[1]);
	file = e->source[0] ? 0 : viv_fd_file(args.a[0]);
	if (file) {
		vfs = BPF_CORE_READ(viv_file_path(file), mnt);
		mnt = (void *)vfs - mnt_off;
		if (bpf_probe_read_kernel_str(e->source, sizeof(e->source),
					BPF_CORE_READ(mnt, mnt_devname)) < 0)
			e->source[0] = '\0';
		if (bpf_probe_read_kernel_str(e->fstype, sizeof(e->fstype),
				BPF_CORE_READ(vfs, mnt_sb, s_type, name)) < 0)
			e->fstype[0] = '\0';
	}
	viv_user_str(e->target, sizeof(e->target), args.a[3]);
	viv_path_at(e->target, args.a[2], args.a[3]);
	viv_submit(e);
	return 0;
}

/* a[0] the file's descriptor or -1, a[1] enum kernel_read_file_id, a[2]
 * kexec's initramfs descriptor or -1. These calls read whole files:
 * contents is 1, as the LSM hook would say. */
static __always_inline int read_file_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_kernel_read_file *e;
	struct viv_args args;

	if (!viv_take(VIV_KIND_KERNEL_READ_FILE, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_KERNEL_READ_FILE, sizeof(*e),
			pid_tgid);
	if (!e)
		return 0;
	e->ret = ret;
	e->id = args.a[1];
	e->contents = 1;
	e->path[0] = '\0';
	e->resolved = viv_path_of_fd(e->path, (int)args.a[0]);
	viv_submit(e);
	/* kexec_file_load reads an initramfs too, unless told not to. */
	if ((int)args.a[2] < 0)
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_KERNEL_READ_FILE, sizeof(*e),
			pid_tgid);
	if (!e)
		return 0;
	e->ret = ret;
	e->id = bpf_core_enum_value(enum kernel_read_file_id,
				    READING_KEXEC_INITRAMFS);
	e->contents = 1;
	e->path[0] = '\0';
	e->resolved = viv_path_of_fd(e->path, (int)args.a[2]);
	viv_submit(e);
	return 0;
}

/*
 * finit_module(2) (3.8) and init_module(2): loading a module, from a
 * file or from the caller's memory (then no path). Only kernels with
 * CONFIG_MODULES have them; firmware, IMA policies and certificates the
 * kernel reads are seen by the LSM program only.
 */
SEC("tracepoint/syscalls/sys_enter_finit_module")
int viv_finit_module_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_KERNEL_READ_FILE, ctx->args[0],
			bpf_core_enum_value(enum kernel_read_file_id,
					    READING_MODULE), -1, 0);
}

SEC("tracepoint/syscalls/sys_exit_finit_module")
int viv_finit_module_exit(struct trace_event_raw_sys_exit *ctx)
{
	return read_file_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_init_module")
int viv_init_module_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_KERNEL_READ_FILE, -1,
			bpf_core_enum_value(enum kernel_read_file_id,
					    READING_MODULE), -1, 0);
}

SEC("tracepoint/syscalls/sys_exit_init_module")
int viv_init_module_exit(struct trace_event_raw_sys_exit *ctx)
{
	return read_file_exit(ctx->ret);
}

/* kexec_file_load(2) (3.17, CONFIG_KEXEC_FILE): a kernel image and,
 * unless KEXEC_FILE_NO_INITRAMFS, an initramfs: two records. */
SEC("tracepoint/syscalls/sys_enter_kexec_file_load")
int viv_kexec_file_load_enter(struct trace_event_raw_sys_enter *ctx)
{
	bool initrd = !(ctx->args[4] & VIV_KEXEC_FILE_NO_INITRAMFS);

	return viv_save(VIV_KIND_KERNEL_READ_FILE, ctx->args[0],
			bpf_core_enum_value(enum kernel_read_file_id,
					    READING_KEXEC_IMAGE),
			initrd ? ctx->args[1] : -1, 0);
}

SEC("tracepoint/syscalls/sys_exit_kexec_file_load")
int viv_kexec_file_load_exit(struct trace_event_raw_sys_exit *ctx)
{
	return read_file_exit(ctx->ret);
}
