/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel side: load, configure, attach and pin the programs of bpf/,
 * or open the maps a daemon pinned; choose each event's backend; register
 * and retire observers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "vivarium.skel.h"

#define VMLINUX_BTF		"/sys/kernel/btf/vmlinux"
#define LSM_LIST		"/sys/kernel/security/lsm"
/* libbpf 1.1 reads tracepoint ids under debugfs when it is there. */
#define DEBUGFS_TRACING		"/sys/kernel/debug/tracing"
#define TRACEFS			"/sys/kernel/tracing"
#define LINK_PREFIX		"link_"
#define LSM_SEC			"lsm/"
#define LSM_FUNC_PREFIX		"bpf_lsm_"

#define VIV_EVENTS_ALL		(((1U << VIV_KIND_MAX) - 1) & ~1U)
/* Rings made before giving up on a free lost-counter slot. */
#define ID_ATTEMPTS		16
/* struct viv_kernel_opts.path_prefixes: as many as bpf/common.h holds. */
#define PREFIX_MAX		8
#define PREFIX_LEN		64

#define WHY_OFF			"switched off in the configuration"
#define WHY_NO_TP		"the kernel has no syscall tracepoints for it " \
				"(CONFIG_FTRACE_SYSCALLS)"
#define WHY_NOT_PINNED		"not observed by the daemon: switched off " \
				"in its configuration, or unavailable on " \
				"this kernel (see its log)"

/* One program of an event on one backend. */
struct viv_hook {
	const char *prog;
	bool optional;		/* the kernel may lack this hook */
};

struct viv_backend_progs {
	const char *name;
	const struct viv_hook *hooks;	/* NULL: none on this backend */
	size_t n;
	/* Why the event is unavailable when a hook it needs is missing;
	 * NULL: WHY_NO_TP. */
	const char *missing;
};

/*
 * Which programs observe each event, per backend. An event runs on its
 * LSM programs or on its tracepoint programs, never on both; one without
 * LSM programs (no LSM hook sees what it reports) runs on its tracepoint
 * programs whatever the backend. An event is available on a backend when
 * its hooks that are not optional exist, and at least one does. Every
 * program belongs to one event: a pinned link of it tells open_pinned
 * that the event is on, and on which backend.
 */
struct viv_event_progs {
	enum viv_kind kind;
	struct viv_backend_progs lsm;
	struct viv_backend_progs tracepoint;
};

#define HOOKS(a)	a, VIV_ARRAY_SIZE(a)
#define LSM(a)		{ "lsm", HOOKS(a) }
#define TP(a)		{ "tracepoint", HOOKS(a) }
#define TP_WHY(a, why)	{ "tracepoint", HOOKS(a), why }
#define NONE		{ NULL }

static const struct viv_hook path_open_lsm[] = {
	{ "viv_lsm_file_open" },
};

static const struct viv_hook path_open_tp[] = {
	{ "viv_openat_exit" },
	{ "viv_openat_enter" },
	{ "viv_openat2_enter", true },
	{ "viv_openat2_exit", true },
	{ "viv_open_enter", true },
	{ "viv_open_exit", true },
	{ "viv_creat_enter", true },
	{ "viv_creat_exit", true },
};

static const struct viv_hook proc_exec_tp[] = {
	{ "viv_sched_process_exec" },
	{ "viv_execve_enter" },
	{ "viv_execve_exit" },
	{ "viv_execveat_enter", true },
	{ "viv_execveat_exit", true },
};

static const struct viv_hook sock_connect_lsm[] = {
	{ "viv_lsm_socket_connect" },
};

static const struct viv_hook sock_connect_tp[] = {
	{ "viv_connect_exit" },
	{ "viv_connect_enter" },
};

static const struct viv_hook symlink_lsm[] = {
	{ "viv_lsm_path_symlink" },
};

static const struct viv_hook symlink_tp[] = {
	{ "viv_symlinkat_exit" },
	{ "viv_symlinkat_enter" },
	{ "viv_symlink_enter", true },
	{ "viv_symlink_exit", true },
};

static const struct viv_hook hardlink_lsm[] = {
	{ "viv_lsm_path_link" },
};

static const struct viv_hook hardlink_tp[] = {
	{ "viv_linkat_exit" },
	{ "viv_linkat_enter" },
	{ "viv_link_enter", true },
	{ "viv_link_exit", true },
};

static const struct viv_hook rename_lsm[] = {
	{ "viv_lsm_path_rename" },
};

static const struct viv_hook rename_tp[] = {
	{ "viv_renameat2_exit" },
	{ "viv_renameat2_enter" },
	{ "viv_renameat_enter", true },
	{ "viv_renameat_exit", true },
	{ "viv_rename_enter", true },
	{ "viv_rename_exit", true },
};

static const struct viv_hook chmod_lsm[] = {
	{ "viv_lsm_path_chmod" },
};

static const struct viv_hook chmod_tp[] = {
	{ "viv_fchmodat_exit" },
	{ "viv_fchmodat_enter" },
	{ "viv_fchmod_enter" },
	{ "viv_fchmod_exit" },
	{ "viv_chmod_enter", true },
	{ "viv_chmod_exit", true },
	{ "viv_fchmodat2_enter", true },
	{ "viv_fchmodat2_exit", true },
};

static const struct viv_hook getdents_tp[] = {
	{ "viv_getdents64_exit" },
	{ "viv_getdents64_enter" },
	{ "viv_getdents_enter", true },
	{ "viv_getdents_exit", true },
};

static const struct viv_hook ptrace_lsm[] = {
	{ "viv_lsm_ptrace_access_check" },
};

static const struct viv_hook ptrace_tp[] = {
	{ "viv_ptrace_exit" },
	{ "viv_ptrace_enter" },
};

static const struct viv_hook mount_lsm[] = {
	{ "viv_lsm_sb_mount" },
	{ "viv_lsm_move_mount" },
};

static const struct viv_hook mount_tp[] = {
	{ "viv_mount_exit" },
	{ "viv_mount_enter" },
	{ "viv_move_mount_enter", true },
	{ "viv_move_mount_exit", true },
};

static const struct viv_hook read_file_lsm[] = {
	{ "viv_lsm_kernel_read_file" },
};

static const struct viv_hook read_file_tp[] = {
	{ "viv_finit_module_exit", true },
	{ "viv_finit_module_enter", true },
	{ "viv_init_module_enter", true },
	{ "viv_init_module_exit", true },
	{ "viv_kexec_file_load_enter", true },
	{ "viv_kexec_file_load_exit", true },
};

static const struct viv_hook kill_lsm[] = {
	{ "viv_lsm_task_kill" },
};

static const struct viv_hook kill_tp[] = {
	{ "viv_kill_exit" },
	{ "viv_kill_enter" },
	{ "viv_tkill_enter" },
	{ "viv_tkill_exit" },
	{ "viv_tgkill_enter" },
	{ "viv_tgkill_exit" },
	{ "viv_pidfd_send_signal_enter", true },
	{ "viv_pidfd_send_signal_exit", true },
};

/* task_fix_setgid came in 5.19: without it, no LSM for setid_change. */
static const struct viv_hook setid_lsm[] = {
	{ "viv_lsm_task_fix_setuid" },
	{ "viv_lsm_task_fix_setgid" },
};

static const struct viv_hook setid_tp[] = {
	{ "viv_setuid_exit" },
	{ "viv_setuid_enter" },
	{ "viv_setreuid_enter" },
	{ "viv_setreuid_exit" },
	{ "viv_setresuid_enter" },
	{ "viv_setresuid_exit" },
	{ "viv_setfsuid_enter" },
	{ "viv_setfsuid_exit" },
	{ "viv_setgid_enter" },
	{ "viv_setgid_exit" },
	{ "viv_setregid_enter" },
	{ "viv_setregid_exit" },
	{ "viv_setresgid_enter" },
	{ "viv_setresgid_exit" },
	{ "viv_setfsgid_enter" },
	{ "viv_setfsgid_exit" },
};

static const struct viv_hook capable_lsm[] = {
	{ "viv_lsm_capable" },
};

static const struct viv_hook capable_tp[] = {
	{ "viv_cap_capable" },
};

static const struct viv_hook bprm_creds_lsm[] = {
	{ "viv_lsm_bprm_creds_from_file" },
};

static const struct viv_hook bprm_creds_tp[] = {
	{ "viv_creds_process_exec" },
	{ "viv_creds_execve_enter" },
	{ "viv_creds_execveat_enter", true },
};

static const struct viv_hook odd_socket_lsm[] = {
	{ "viv_lsm_socket_create" },
};

static const struct viv_hook odd_socket_tp[] = {
	{ "viv_socket_exit" },
	{ "viv_socket_enter" },
};

static const struct viv_hook dns_tp[] = {
	{ "viv_sendto_exit" },
	{ "viv_sendto_enter" },
	{ "viv_sendmsg_enter" },
	{ "viv_sendmsg_exit" },
	{ "viv_sendmmsg_enter" },
	{ "viv_sendmmsg_exit" },
};

static const struct viv_event_progs event_progs[] = {
	{ VIV_KIND_PATH_OPEN, LSM(path_open_lsm), TP(path_open_tp) },
	{ VIV_KIND_PROC_EXEC, NONE, TP(proc_exec_tp) },
	{ VIV_KIND_SOCK_CONNECT, LSM(sock_connect_lsm), TP(sock_connect_tp) },
	{ VIV_KIND_FILE_SYMLINK, LSM(symlink_lsm), TP(symlink_tp) },
	{ VIV_KIND_FILE_HARDLINK, LSM(hardlink_lsm), TP(hardlink_tp) },
	{ VIV_KIND_FILE_RENAME, LSM(rename_lsm), TP(rename_tp) },
	{ VIV_KIND_FILE_CHMOD, LSM(chmod_lsm), TP(chmod_tp) },
	{ VIV_KIND_FILE_GETDENTS, NONE, TP(getdents_tp) },
	{ VIV_KIND_PTRACE_CHECK, LSM(ptrace_lsm), TP(ptrace_tp) },
	{ VIV_KIND_SB_MOUNT, LSM(mount_lsm), TP(mount_tp) },
	{ VIV_KIND_KERNEL_READ_FILE, LSM(read_file_lsm),
	  TP_WHY(read_file_tp, "BPF LSM is not in use, and the kernel has "
		 "neither module loading nor kexec_file_load system calls "
		 "(CONFIG_MODULES, CONFIG_KEXEC_FILE); the other files it "
		 "reads (firmware, IMA policy) only BPF LSM sees") },
	{ VIV_KIND_TASK_KILL, LSM(kill_lsm), TP(kill_tp) },
	{ VIV_KIND_SETID_CHANGE, LSM(setid_lsm), TP(setid_tp) },
	{ VIV_KIND_CAPABLE_CHECK, LSM(capable_lsm),
	  TP_WHY(capable_tp, "BPF LSM is not in use, and the kernel has no "
		 "cap_capable tracepoint (Linux 6.14 or later)") },
	{ VIV_KIND_BPRM_CREDS, LSM(bprm_creds_lsm), TP(bprm_creds_tp) },
	{ VIV_KIND_ODD_SOCKET, LSM(odd_socket_lsm), TP(odd_socket_tp) },
	{ VIV_KIND_DNS_REQ, NONE, TP(dns_tp) },
};

/*
 * capable_check without opts->caps: the capabilities that let a process
 * step outside its user's rights or take over the machine. CAP_KILL is
 * left out: task_kill already reports every signal, and the check only
 * runs for signals to other users' processes.
 */
static const uint32_t default_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
	CAP_SETGID, CAP_SETUID, CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_MODULE,
	CAP_SYS_RAWIO, CAP_SYS_CHROOT, CAP_SYS_PTRACE, CAP_SYS_ADMIN,
	CAP_SYS_BOOT, CAP_SETFCAP, CAP_MAC_OVERRIDE, CAP_MAC_ADMIN,
	CAP_PERFMON, CAP_BPF,
};

const uint32_t *viv_kernel__default_caps(size_t *n)
{
	*n = VIV_ARRAY_SIZE(default_caps);
	return default_caps;
}

/* Pinned under the gem's names, which its users' tools already know. */
#define MAP_ROOT	"config_root_targets"
#define MAP_SPAWNED	"config_spawned_targets"
#define MAP_RINGS	"viv_rings"
#define MAP_LOST	"viv_lost"
#define MAP_STATS	"viv_stats"

struct viv_kernel {
	struct vivarium_bpf *skel;	/* NULL when attached to pins */
	char *pin_dir;			/* pins made here, or used */
	uint32_t events;		/* switched on and attached */
	const char *why[VIV_KIND_MAX];	/* why an event is off */
	const char *backend[VIV_KIND_MAX];	/* "lsm", "tracepoint" */
	int root_fd;
	int spawned_fd;
	int rings_fd;
	int lost_fd;
	int stats_fd;
};

static int join(char *buf, const char *dir, const char *prefix,
		const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s%s", dir, prefix, name);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

static int check_privileges(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (!syscall(SYS_capget, &hdr, data) &&
	    (has_cap(data, CAP_SYS_ADMIN) ||
	     (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON))))
		return 0;
	pr_warn("loading the kernel side needs root; start the daemon with "
		"`sudo vivarium daemon` and observe without root\n");
	return -EPERM;
}

static const char *tracefs_events(void)
{
	if (!access(DEBUGFS_TRACING, F_OK))
		return DEBUGFS_TRACING "/events";
	if (!access(TRACEFS "/events", F_OK))
		return TRACEFS "/events";
	return NULL;
}

static int check_kernel(const char **events_dir)
{
	if (access(VMLINUX_BTF, R_OK)) {
		pr_warn("the kernel has no BTF at %s: boot one built with "
			"CONFIG_DEBUG_INFO_BTF=y\n", VMLINUX_BTF);
		return -ENOENT;
	}
	*events_dir = tracefs_events();
	if (!*events_dir) {
		pr_warn("tracefs is not mounted: mount it with "
			"`mount -t tracefs tracefs %s`\n", TRACEFS);
		return -ENOENT;
	}
	return 0;
}

/* The pin dir must sit on bpffs and hold no pins yet. */
static int prepare_pin_dir(const char *dir)
{
	char parent[PATH_MAX];
	struct dirent *ent;
	struct statfs st;
	char *slash;
	DIR *d;
	int err;

	if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent))
		return -ENAMETOOLONG;
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	else
		strcpy(parent, slash ? "/" : ".");
	if (statfs(parent, &st) || st.f_type != BPF_FS_MAGIC) {
		pr_warn("pin dir '%s': %s is not a bpf file system; mount one "
			"with `mount -t bpf bpf /sys/fs/bpf`\n", dir, parent);
		return -ENOENT;
	}
	if (!mkdir(dir, 0700))
		return 0;
	err = -errno;
	if (err != -EEXIST) {
		pr_warn("pin dir '%s': failed to create: %s\n", dir,
			viv_errstr(err));
		return err;
	}
	d = opendir(dir);
	if (!d) {
		err = -errno;
		pr_warn("pin dir '%s': failed to open: %s\n", dir,
			viv_errstr(err));
		return err;
	}
	err = 0;
	while ((ent = readdir(d))) {
		if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..")) {
			err = -EEXIST;
			break;
		}
	}
	closedir(d);
	if (err)
		pr_warn("pin dir '%s': already holds pins: another daemon runs "
			"there, or one died; stop it, or remove the directory "
			"if none runs\n", dir);
	return err;
}

/* @hook's program, or NULL (logged) when the object lacks it. */
static struct bpf_program *hook_prog(struct bpf_object *obj,
				     const struct viv_hook *hook)
{
	struct bpf_program *prog;

	prog = bpf_object__find_program_by_name(obj, hook->prog);
	if (!prog)
		pr_warn("prog '%s': not in the object\n", hook->prog);
	return prog;
}

/*
 * Whether the kernel has what @prog attaches to: a syscall tracepoint
 * (tracefs), a BTF tracepoint of any subsystem (tp_btf/cap_capable is
 * 6.14), or an LSM hook, which must be in @btf (NULL: not looked for).
 */
static bool hook_exists(const struct bpf_program *prog, const char *events_dir,
			const struct btf *btf)
{
	const char *sec = bpf_program__section_name(prog);
	const char *tp = "tracepoint/", *tp_btf = "tp_btf/";
	char path[PATH_MAX];
	glob_t g;
	bool found;

	if (!strncmp(sec, tp, strlen(tp)))
		return !join(path, events_dir, "", sec + strlen(tp)) &&
		       !access(path, F_OK);
	if (!strncmp(sec, tp_btf, strlen(tp_btf))) {
		if (join(path, events_dir, "*/", sec + strlen(tp_btf)))
			return false;
		found = !glob(path, GLOB_NOSORT, NULL, &g);
		globfree(&g);
		return found;
	}
	if (!strncmp(sec, LSM_SEC, strlen(LSM_SEC))) {
		if (!btf)
			return true;
		if (snprintf(path, sizeof(path), LSM_FUNC_PREFIX "%s",
			     sec + strlen(LSM_SEC)) >= (int)sizeof(path))
			return false;
		return btf__find_by_name_kind(btf, path, BTF_KIND_FUNC) > 0;
	}
	return true;
}

/* 1 when @be can observe its event here, 0 when not, or -ENOENT. */
static int backend_usable(struct bpf_object *obj,
			  const struct viv_backend_progs *be,
			  const char *events_dir, const struct btf *btf)
{
	struct bpf_program *prog;
	size_t j, found = 0;

	if (!be->hooks)
		return 0;
	for (j = 0; j < be->n; j++) {
		prog = hook_prog(obj, &be->hooks[j]);
		if (!prog)
			return -ENOENT;
		if (hook_exists(prog, events_dir, btf))
			found++;
		else if (!be->hooks[j].optional)
			return 0;
	}
	return found > 0;
}

/*
 * Load, and attach if @attach, an LSM program that allows everything:
 * proof that this kernel takes BPF LSM programs, where listing `bpf` in
 * the active LSMs is not (a platform may refuse BPF trampolines).
 */
static int lsm_probe(int btf_id, bool attach)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = BPF_LSM_MAC,
		    .attach_btf_id = btf_id);
	int fd, link, err = 0;

	fd = bpf_prog_load(BPF_PROG_TYPE_LSM, "viv_lsm_probe", "GPL", insns,
			   VIV_ARRAY_SIZE(insns), &opts);
	if (fd < 0)
		return -errno;
	if (attach) {
		link = bpf_raw_tracepoint_open(NULL, fd);
		if (link < 0)
			err = -errno;
		else
			close(link);
	}
	close(fd);
	return err;
}

static bool lsm_listed(void)
{
	char list[512], *tok, *save;
	bool found = false;
	ssize_t n;
	int fd;

	fd = open(LSM_LIST, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, list, sizeof(list) - 1);
	close(fd);
	if (n <= 0)
		return false;
	list[n] = '\0';
	for (tok = strtok_r(list, ",\n", &save); tok && !found;
	     tok = strtok_r(NULL, ",\n", &save))
		found = !strcmp(tok, "bpf");
	return found;
}

/*
 * NULL when BPF LSM programs run on this kernel, else why not (in @buf
 * when it carries an error). Cheapest test first: a kernel that refuses
 * every LSM program says so to one with a bogus attach target, before
 * the 15 ms it takes to parse the kernel's BTF for the real one. @btf
 * receives that BTF, for the hooks' existence, when it was parsed.
 */
static const char *lsm_unusable(char *buf, size_t len, struct btf **btf)
{
	int id, err;

	if (!lsm_listed())
		return "bpf is not in the active LSM list (" LSM_LIST "); "
		       "boot with lsm=...,bpf";
	/* A kernel that takes LSM programs rejects this one as invalid. */
	err = lsm_probe(1 /* not a function */, false);
	if (err != -EINVAL)
		goto refused;
	*btf = btf__load_vmlinux_btf();
	if (!*btf) {
		snprintf(buf, len, "cannot read the kernel's BTF: %s",
			 viv_errstr(-errno));
		return buf;
	}
	id = btf__find_by_name_kind(*btf, LSM_FUNC_PREFIX "file_open",
				    BTF_KIND_FUNC);
	if (id <= 0)
		return "the kernel has no BPF LSM hooks (CONFIG_BPF_LSM)";
	err = lsm_probe(id, true);
	if (!err)
		return NULL;
refused:
	snprintf(buf, len, "the kernel refuses BPF LSM programs: %s",
		 viv_errstr(err));
	return buf;
}

/*
 * Set @lsm to the events that will run on their LSM programs: under
 * VIV_BACKEND_AUTO those whose hooks exist when BPF LSM works; under
 * VIV_BACKEND_LSM all that have LSM programs, or fail.
 */
static int choose_backends(struct viv_kernel *k, enum viv_backend backend,
			   const char *events_dir, struct btf **btf,
			   uint32_t *lsm)
{
	struct bpf_object *obj = k->skel->obj;
	const char *why = NULL;
	uint32_t want = 0;
	char buf[160];
	size_t i;
	int ok;

	*lsm = 0;
	if (backend == VIV_BACKEND_TRACEPOINT)
		return 0;
	for (i = 0; i < VIV_ARRAY_SIZE(event_progs); i++) {
		if (event_progs[i].lsm.hooks &&
		    (k->events & VIV_EVENT_BIT(event_progs[i].kind)))
			want |= VIV_EVENT_BIT(event_progs[i].kind);
	}
	if (!want)
		return 0;
	why = lsm_unusable(buf, sizeof(buf), btf);
	if (why) {
		if (backend == VIV_BACKEND_LSM) {
			pr_warn("backend 'lsm': %s; use the tracepoint backend\n",
				why);
			return -EOPNOTSUPP;
		}
		pr_info("backend: %s; using tracepoints\n", why);
		return 0;
	}
	for (i = 0; i < VIV_ARRAY_SIZE(event_progs); i++) {
		const struct viv_event_progs *ev = &event_progs[i];

		if (!(want & VIV_EVENT_BIT(ev->kind)))
			continue;
		ok = backend_usable(obj, &ev->lsm, events_dir, *btf);
		if (ok < 0)
			return ok;
		if (ok) {
			*lsm |= VIV_EVENT_BIT(ev->kind);
			continue;
		}
		if (backend == VIV_BACKEND_LSM) {
			pr_warn("backend 'lsm': event '%s': the kernel lacks "
				"its LSM hook; use the tracepoint backend\n",
				viv_event__name(ev->kind));
			return -EOPNOTSUPP;
		}
		pr_info("event '%s': the kernel lacks its LSM hook; using "
			"tracepoints\n", viv_event__name(ev->kind));
	}
	return 0;
}

/*
 * Put each event on the backend @lsm says, switch it off when that
 * backend cannot observe it here (saying why), and load only the
 * programs of the chosen backends whose hooks exist.
 */
static int configure_events(struct viv_kernel *k, const char *events_dir,
			    const struct btf *btf, uint32_t lsm,
			    uint32_t asked)
{
	struct bpf_object *obj = k->skel->obj;
	size_t i, j;
	int ok;

	for (i = 0; i < VIV_ARRAY_SIZE(event_progs); i++) {
		const struct viv_event_progs *ev = &event_progs[i];
		const struct viv_backend_progs *be, *other;
		enum viv_kind kind = ev->kind;
		bool on = k->events & VIV_EVENT_BIT(kind);
		struct bpf_program *prog;

		be = lsm & VIV_EVENT_BIT(kind) ? &ev->lsm : &ev->tracepoint;
		other = be == &ev->lsm ? &ev->tracepoint : &ev->lsm;
		k->backend[kind] = NULL;
		if (on) {
			ok = backend_usable(obj, be, events_dir, btf);
			if (ok < 0)
				return ok;
			if (!ok) {
				k->why[kind] = be->missing ? be->missing :
							     WHY_NO_TP;
				/* Asked for by name: the user must know. */
				if (asked & VIV_EVENT_BIT(kind))
					pr_warn("event '%s': %s\n",
						viv_event__name(kind),
						k->why[kind]);
				else
					pr_info("event '%s': unavailable: %s\n",
						viv_event__name(kind),
						k->why[kind]);
				on = false;
			}
		}
		if (on)
			k->backend[kind] = be->name;
		else
			k->events &= ~VIV_EVENT_BIT(kind);
		for (j = 0; j < be->n; j++) {
			prog = hook_prog(obj, &be->hooks[j]);
			if (!prog)
				return -ENOENT;
			bpf_program__set_autoload(prog, on &&
				hook_exists(prog, events_dir, btf));
		}
		for (j = 0; other->hooks && j < other->n; j++) {
			prog = hook_prog(obj, &other->hooks[j]);
			if (!prog)
				return -ENOENT;
			bpf_program__set_autoload(prog, false);
		}
	}
	return 0;
}

/* capable_check's capabilities as a mask, path_open's prefixes checked
 * against what the programs hold. */
static int check_opts(const struct viv_kernel_opts *opts, uint64_t *caps)
{
	const uint32_t *list = opts->caps ? opts->caps : default_caps;
	size_t i, n = opts->caps ? opts->n_caps : VIV_ARRAY_SIZE(default_caps);
	size_t len;

	if (opts->events & ~VIV_EVENTS_ALL) {
		pr_warn("kernel: unknown event bits 0x%x\n",
			opts->events & ~VIV_EVENTS_ALL);
		return -EINVAL;
	}
	if (opts->backend != VIV_BACKEND_AUTO &&
	    opts->backend != VIV_BACKEND_LSM &&
	    opts->backend != VIV_BACKEND_TRACEPOINT) {
		pr_warn("kernel: unknown backend %d\n", opts->backend);
		return -EINVAL;
	}
	*caps = 0;
	for (i = 0; i < n; i++) {
		/* The programs test a 64-bit mask; 6.18 knows 41. */
		if (list[i] > 63) {
			pr_warn("capable_check: %u is not a capability\n",
				list[i]);
			return -EINVAL;
		}
		*caps |= 1ULL << list[i];
	}
	if (opts->n_path_prefixes > PREFIX_MAX) {
		pr_warn("path_open: %zu path prefixes, at most %d\n",
			opts->n_path_prefixes, PREFIX_MAX);
		return -E2BIG;
	}
	for (i = 0; opts->path_prefixes && i < opts->n_path_prefixes; i++) {
		len = opts->path_prefixes[i] ? strlen(opts->path_prefixes[i]) : 0;
		if (!len) {
			pr_warn("path_open: empty path prefix\n");
			return -EINVAL;
		}
		if (len >= PREFIX_LEN) {
			pr_warn("path_open: path prefix '%s' is longer than %d "
				"bytes\n", opts->path_prefixes[i], PREFIX_LEN - 1);
			return -E2BIG;
		}
	}
	return 0;
}

/* Open the object and write the settings the verifier takes as
 * constants. */
static int open_object(struct viv_kernel *k, const struct viv_kernel_opts *opts,
		       const struct viv_offsets *off, uint64_t caps)
{
	struct vivarium_bpf__rodata *ro;
	size_t i;
	int err;

	k->skel = vivarium_bpf__open();
	if (!k->skel) {
		err = -errno;
		pr_warn("kernel: failed to open the BPF object: %s\n",
			viv_errstr(err));
		return err;
	}
	ro = k->skel->rodata;
	ro->viv_config.file_f_path_off = off->file_f_path;
	ro->viv_config.dentry_d_name_off = off->dentry_d_name;
	ro->viv_cap_mask = caps;
	ro->viv_kprint_on = opts->kprint;
	ro->viv_prefixes.n = opts->path_prefixes ? opts->n_path_prefixes : 0;
	for (i = 0; i < ro->viv_prefixes.n; i++) {
		ro->viv_prefixes.len[i] = strlen(opts->path_prefixes[i]);
		memcpy(ro->viv_prefixes.s[i], opts->path_prefixes[i],
		       ro->viv_prefixes.len[i] + 1);
	}
	return 0;
}

static int load_and_attach(struct viv_kernel *k)
{
	int err;

	k->skel->rodata->viv_config.events = k->events;
	err = vivarium_bpf__load(k->skel);
	if (err) {
		pr_warn("kernel: failed to load the programs: %s\n",
			viv_errstr(err));
		return err;
	}
	err = vivarium_bpf__attach(k->skel);
	if (err)
		pr_warn("kernel: failed to attach the programs: %s\n",
			viv_errstr(err));
	return err;
}

static void unpin_all(struct viv_kernel *k)
{
	struct bpf_object_skeleton *s = k->skel->skeleton;
	struct bpf_map *map;
	int i;

	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_link *link = *s->progs[i].link;

		if (link && bpf_link__pin_path(link))
			bpf_link__unpin(link);
	}
	bpf_object__for_each_map(map, k->skel->obj) {
		if (bpf_map__is_pinned(map))
			bpf_map__unpin(map, NULL);
	}
	rmdir(k->pin_dir);
}

/* Maps under their own names, links as link_<prog>. */
static int pin_all(struct viv_kernel *k)
{
	struct bpf_object_skeleton *s = k->skel->skeleton;
	char path[PATH_MAX];
	struct bpf_map *map;
	int i, err;

	bpf_object__for_each_map(map, k->skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		err = join(path, k->pin_dir, "", bpf_map__name(map));
		if (!err)
			err = bpf_map__pin(map, path);
		if (err) {
			pr_warn("map '%s': failed to pin in '%s': %s\n",
				bpf_map__name(map), k->pin_dir, viv_errstr(err));
			return err;
		}
	}
	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_link *link = *s->progs[i].link;

		if (!link)
			continue;
		err = join(path, k->pin_dir, LINK_PREFIX, s->progs[i].name);
		if (!err)
			err = bpf_link__pin(link, path);
		if (err) {
			pr_warn("prog '%s': failed to pin its link in '%s': %s\n",
				s->progs[i].name, k->pin_dir, viv_errstr(err));
			return err;
		}
	}
	return 0;
}

static void *destroy_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

/*
 * Closing a syscall tracepoint's perf link waits for an RCU grace period
 * (50-100 ms each on a small VM), so detaching every link one after the
 * other took a second. Detached side by side, the waits overlap.
 */
static void detach_all(struct vivarium_bpf *skel)
{
	struct bpf_object_skeleton *s = skel->skeleton;
	pthread_t *threads;
	int i, n = 0;

	threads = calloc(s->prog_cnt, sizeof(*threads));
	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_link *link = *s->progs[i].link;

		if (!link)
			continue;
		*s->progs[i].link = NULL;
		if (!threads || pthread_create(&threads[n], NULL, destroy_link,
					       link))
			bpf_link__destroy(link);
		else
			n++;
	}
	while (n--)
		pthread_join(threads[n], NULL);
	free(threads);
}

static int map_id(int fd, uint32_t *id)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

struct viv_kernel *viv_kernel__load(const struct viv_kernel_opts *opts)
{
	const struct viv_kernel_opts defaults = {};
	const char *events_dir = NULL;
	struct btf *btf = NULL;
	struct viv_offsets off;
	struct viv_kernel *k;
	uint32_t lsm, want;
	uint64_t caps;
	int err;

	if (!opts)
		opts = &defaults;
	viv_log_libbpf();
	err = check_opts(opts, &caps);
	if (!err)
		err = check_privileges();
	if (!err)
		err = check_kernel(&events_dir);
	if (!err && opts->pin_dir)
		err = prepare_pin_dir(opts->pin_dir);
	if (err) {
		errno = -err;
		return NULL;
	}

	k = calloc(1, sizeof(*k));
	if (!k) {
		err = -ENOMEM;
		goto err_rmdir;
	}
	k->root_fd = k->spawned_fd = k->rings_fd = k->lost_fd = -1;
	k->stats_fd = -1;
	want = opts->events ? opts->events : VIV_EVENTS_ALL;
	k->events = want;
	err = viv_offsets__resolve(&off);
	if (err)
		goto err_free;

	err = open_object(k, opts, &off, caps);
	if (err)
		goto err_free;
	err = choose_backends(k, opts->backend, events_dir, &btf, &lsm);
	if (!err)
		err = configure_events(k, events_dir, btf, lsm, opts->events);
	if (!err)
		err = load_and_attach(k);
	btf__free(btf);
	/*
	 * The probe said LSM programs work, yet these did not: take the
	 * tracepoints for every event rather than fail. Costs a second
	 * load, on kernels where this happens at all.
	 */
	if (err && err != -ENOENT && lsm &&
	    opts->backend == VIV_BACKEND_AUTO) {
		pr_warn("kernel: BPF LSM programs failed (%s); using "
			"tracepoints\n", viv_errstr(err));
		vivarium_bpf__destroy(k->skel);
		k->events = want;
		err = open_object(k, opts, &off, caps);
		if (err)
			goto err_free;
		err = configure_events(k, events_dir, NULL, 0, opts->events);
		if (!err)
			err = load_and_attach(k);
	}
	if (err)
		goto err_destroy;
	k->root_fd = bpf_map__fd(k->skel->maps.config_root_targets);
	k->spawned_fd = bpf_map__fd(k->skel->maps.config_spawned_targets);
	k->rings_fd = bpf_map__fd(k->skel->maps.viv_rings);
	k->lost_fd = bpf_map__fd(k->skel->maps.viv_lost);
	k->stats_fd = bpf_map__fd(k->skel->maps.viv_stats);
	/* Only the programs write viv_lost: frozen, it can be handed to
	 * observers, who can then map it read-only and nothing more. */
	if (bpf_map_freeze(k->lost_fd)) {
		err = -errno;
		pr_warn("map '%s': failed to freeze: %s\n", MAP_LOST,
			viv_errstr(err));
		goto err_destroy;
	}
	if (opts->pin_dir) {
		k->pin_dir = strdup(opts->pin_dir);
		if (!k->pin_dir) {
			err = -ENOMEM;
			goto err_destroy;
		}
		err = pin_all(k);
		if (err)
			goto err_destroy;
	}
	pr_debug("kernel: loaded, events 0x%x (0x%x on BPF LSM), "
		 "file.f_path at %u, dentry.d_name at %u\n", k->events,
		 lsm, off.file_f_path, off.dentry_d_name);
	return k;

err_destroy:
	if (k->pin_dir)
		unpin_all(k);
	vivarium_bpf__destroy(k->skel);
err_free:
	free(k->pin_dir);
	free(k);
err_rmdir:
	/* Only an empty directory goes: one with pins was refused above. */
	if (opts->pin_dir)
		rmdir(opts->pin_dir);
	errno = -err;
	return NULL;
}

static int open_pin(const char *dir, const char *name, int *fd)
{
	char path[PATH_MAX];
	int err;

	err = join(path, dir, "", name);
	if (err)
		return err;
	*fd = bpf_obj_get(path);
	if (*fd >= 0)
		return 0;
	err = -errno;
	if (err == -ENOENT)
		pr_warn("pin dir '%s': no kernel side pinned there; start one "
			"with `sudo vivarium daemon`\n", dir);
	else if (err == -EPERM || err == -EACCES)
		pr_warn("pin dir '%s': opening its maps needs root; observe "
			"through the daemon instead\n", dir);
	else
		pr_warn("map '%s': failed to open in '%s': %s\n", name, dir,
			viv_errstr(err));
	return err;
}

/* Whether the daemon pinned a link of any program of @be. */
static bool pinned_any(const char *dir, const struct viv_backend_progs *be)
{
	char path[PATH_MAX];
	size_t j;

	for (j = 0; be->hooks && j < be->n; j++) {
		if (!join(path, dir, LINK_PREFIX, be->hooks[j].prog) &&
		    !access(path, F_OK))
			return true;
	}
	return false;
}

struct viv_kernel *viv_kernel__open_pinned(const char *pin_dir)
{
	struct viv_kernel *k;
	size_t i;
	int err;

	if (!pin_dir)
		pin_dir = VIV_DEFAULT_PIN_DIR;
	viv_log_libbpf();
	k = calloc(1, sizeof(*k));
	if (!k) {
		errno = ENOMEM;
		return NULL;
	}
	k->root_fd = k->spawned_fd = k->rings_fd = k->lost_fd = -1;
	k->stats_fd = -1;
	k->pin_dir = strdup(pin_dir);
	if (!k->pin_dir) {
		err = -ENOMEM;
		goto err_close;
	}
	err = open_pin(pin_dir, MAP_ROOT, &k->root_fd);
	if (!err)
		err = open_pin(pin_dir, MAP_SPAWNED, &k->spawned_fd);
	if (!err)
		err = open_pin(pin_dir, MAP_RINGS, &k->rings_fd);
	if (!err)
		err = open_pin(pin_dir, MAP_LOST, &k->lost_fd);
	if (!err)
		err = open_pin(pin_dir, MAP_STATS, &k->stats_fd);
	if (err)
		goto err_close;

	/* The daemon pinned a link for each program it attached, and the
	 * programs' names say which backend each event is on. */
	for (i = 0; i < VIV_ARRAY_SIZE(event_progs); i++) {
		const struct viv_event_progs *ev = &event_progs[i];

		if (pinned_any(pin_dir, &ev->lsm))
			k->backend[ev->kind] = ev->lsm.name;
		else if (pinned_any(pin_dir, &ev->tracepoint))
			k->backend[ev->kind] = ev->tracepoint.name;
		if (k->backend[ev->kind])
			k->events |= VIV_EVENT_BIT(ev->kind);
		else
			k->why[ev->kind] = WHY_NOT_PINNED;
	}
	return k;

err_close:
	viv_kernel__close(k);
	errno = -err;
	return NULL;
}

void viv_kernel__close(struct viv_kernel *k)
{
	if (!k)
		return;
	if (k->skel) {
		if (k->pin_dir)
			unpin_all(k);
		detach_all(k->skel);
		vivarium_bpf__destroy(k->skel);
	} else {
		if (k->root_fd >= 0)
			close(k->root_fd);
		if (k->spawned_fd >= 0)
			close(k->spawned_fd);
		if (k->rings_fd >= 0)
			close(k->rings_fd);
		if (k->lost_fd >= 0)
			close(k->lost_fd);
		if (k->stats_fd >= 0)
			close(k->stats_fd);
	}
	free(k->pin_dir);
	free(k);
}

const char *viv_kernel__backend(const struct viv_kernel *k, enum viv_kind kind,
				const char **why)
{
	const char *reason;

	if (kind <= VIV_KIND_NONE || kind >= VIV_KIND_MAX)
		reason = "not an event kind";
	else if (k->backend[kind])
		return k->backend[kind];
	else
		reason = k->why[kind] ? k->why[kind] : WHY_OFF;
	if (why)
		*why = reason;
	return NULL;
}

uint32_t viv_kernel__events(const struct viv_kernel *k)
{
	return k->events;
}

const char *viv_kernel__pin_dir(const struct viv_kernel *k)
{
	return k->pin_dir;
}

int viv_kernel__stats(const struct viv_kernel *k, uint64_t stats[VIV_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	uint32_t i;
	int c, err = 0;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < VIV_STAT_MAX; i++) {
		if (bpf_map_lookup_elem(k->stats_fd, &i, vals)) {
			err = -errno;
			pr_warn("map '%s': failed to read: %s\n", MAP_STATS,
				viv_errstr(err));
			break;
		}
		stats[i] = 0;
		for (c = 0; c < ncpu; c++)
			stats[i] += vals[c];
	}
	free(vals);
	return err;
}

/*
 * The programs claim slot id % VIV_MAX_OBSERVERS of viv_lost on an
 * observer's first loss, unless an observer that still has a ring holds
 * it. Refuse an id that shares its slot with a live observer, so that
 * every observer's losses can be counted.
 */
static int lost_slot_free(struct viv_kernel *k, uint32_t id)
{
	uint32_t key, next;
	int more;

	more = !bpf_map_get_next_key(k->rings_fd, NULL, &key);
	while (more) {
		if (key != id && key % VIV_MAX_OBSERVERS == id % VIV_MAX_OBSERVERS)
			return -EBUSY;
		more = !bpf_map_get_next_key(k->rings_fd, &key, &next);
		key = next;
	}
	return 0;
}

/*
 * A ring in viv_rings under an id nobody else holds. The id is the ring's
 * own kernel map id: the kernel hands those out cyclically across the
 * whole system, so processes registering side by side through the same
 * pins never collide, and an id comes back only after 2^31 maps.
 */
static int make_ring(struct viv_kernel *k, uint32_t size, int *ring_fd,
		     uint32_t *id)
{
	int err, attempt;

	for (attempt = 0; attempt < ID_ATTEMPTS; attempt++) {
		*ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "viv_ring", 0, 0,
					  size, NULL);
		if (*ring_fd < 0) {
			err = -errno;
			pr_warn("ring: failed to create %u bytes: %s\n", size,
				viv_errstr(err));
			return err;
		}
		err = map_id(*ring_fd, id);
		if (err) {
			pr_warn("ring: failed to get its id: %s\n",
				viv_errstr(err));
			goto err_close;
		}
		if (lost_slot_free(k, *id)) {
			close(*ring_fd);
			continue;
		}
		if (bpf_map_update_elem(k->rings_fd, id, ring_fd, BPF_NOEXIST)) {
			err = -errno;
			pr_warn("ring '%u': failed to add to %s: %s\n", *id,
				MAP_RINGS, viv_errstr(err));
			goto err_close;
		}
		return 0;
	}
	pr_warn("ring: no free %s slot after %d tries: too many observers\n",
		MAP_LOST, ID_ATTEMPTS);
	return -EBUSY;

err_close:
	close(*ring_fd);
	return err;
}

int viv_kernel__add_observer(struct viv_kernel *k, pid_t tgid,
			     uint32_t ring_size, struct viv_registration *reg)
{
	long page = sysconf(_SC_PAGESIZE);
	uint32_t key = tgid, id;
	int ring_fd, lost_fd;
	int err;

	if (tgid <= 0 || ring_size < page || (ring_size & (ring_size - 1))) {
		pr_warn("observer %d: ring size %u is not a power of two of at "
			"least %ld bytes\n", tgid, ring_size, page);
		return -EINVAL;
	}
	err = make_ring(k, ring_size, &ring_fd, &id);
	if (err)
		return err;
	lost_fd = fcntl(k->lost_fd, F_DUPFD_CLOEXEC, 0);
	if (lost_fd < 0) {
		err = -errno;
		pr_warn("map '%s': failed to duplicate: %s\n", MAP_LOST,
			viv_errstr(err));
		goto err_ring;
	}
	/* Last: records start to flow once the target is in. */
	if (bpf_map_update_elem(k->root_fd, &key, &id, BPF_NOEXIST)) {
		err = -errno;
		if (err == -EEXIST)
			pr_warn("observer %d: the process is already observed\n",
				tgid);
		else
			pr_warn("observer %d: failed to add to %s: %s\n", tgid,
				MAP_ROOT, viv_errstr(err));
		close(lost_fd);
		goto err_ring;
	}
	reg->id = id;
	reg->ring_size = ring_size;
	reg->ring_fd = ring_fd;
	reg->lost_fd = lost_fd;
	pr_debug("observer %d: id %u, ring of %u bytes\n", tgid, id, ring_size);
	return 0;

err_ring:
	bpf_map_delete_elem(k->rings_fd, &id);
	close(ring_fd);
	return err;
}

/* Delete every descendant of observer @id; descendants being forked right
 * now may land after the walk and stay until they exit (as no_ring). */
static void remove_spawned(struct viv_kernel *k, uint32_t id)
{
	struct viv_owner val;
	uint32_t key, next;
	int more;

	more = !bpf_map_get_next_key(k->spawned_fd, NULL, &key);
	while (more) {
		more = !bpf_map_get_next_key(k->spawned_fd, &key, &next);
		if (!bpf_map_lookup_elem(k->spawned_fd, &key, &val) &&
		    val.id == id)
			bpf_map_delete_elem(k->spawned_fd, &key);
		key = next;
	}
}

int viv_kernel__remove_observer(struct viv_kernel *k, uint32_t id, pid_t tgid)
{
	uint32_t key = tgid, val;

	if (!id)
		return -EINVAL;
	/* The process may be gone and its pid reused by a new observer. */
	if (!bpf_map_lookup_elem(k->root_fd, &key, &val) && val == id)
		bpf_map_delete_elem(k->root_fd, &key);
	remove_spawned(k, id);
	/* Its viv_lost slot is free for the programs once the ring goes. */
	bpf_map_delete_elem(k->rings_fd, &id);
	pr_debug("observer %d: id %u removed\n", tgid, id);
	return 0;
}
