/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel side: load, configure, attach and pin the programs of bpf/,
 * or open the maps a daemon pinned; register and retire observers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "vivarium.skel.h"

#define VMLINUX_BTF		"/sys/kernel/btf/vmlinux"
/* libbpf 1.1 reads tracepoint ids under debugfs when it is there. */
#define DEBUGFS_TRACING		"/sys/kernel/debug/tracing"
#define TRACEFS			"/sys/kernel/tracing"
#define LINK_PREFIX		"link_"

#define VIV_EVENTS_ALL		(((1U << VIV_KIND_MAX) - 1) & ~1U)
/* Rings made before giving up on a free lost-counter slot. */
#define ID_ATTEMPTS		16

#define WHY_OFF			"switched off in the configuration"
#define WHY_NO_TP		"the kernel has no syscall tracepoints for it " \
				"(CONFIG_FTRACE_SYSCALLS)"
#define WHY_NOT_PINNED		"switched off in the daemon's configuration"

/* One program of an event on one backend. */
struct viv_hook {
	const char *prog;
	bool optional;		/* the kernel may lack this tracepoint */
};

struct viv_backend_progs {
	const char *name;
	const struct viv_hook *hooks;	/* NULL: not part of this build */
	size_t n;
};

/*
 * Which programs observe each event, per backend. The first hook of a
 * backend is never optional: a pinned link of it tells open_pinned that
 * the event is on. The LSM column stays empty until its programs exist.
 */
struct viv_event_progs {
	enum viv_kind kind;
	struct viv_backend_progs lsm;
	struct viv_backend_progs tracepoint;
};

#define HOOKS(a)	a, VIV_ARRAY_SIZE(a)

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

static const struct viv_hook sock_connect_tp[] = {
	{ "viv_connect_exit" },
	{ "viv_connect_enter" },
};

static const struct viv_event_progs event_progs[] = {
	{ VIV_KIND_PATH_OPEN, { "lsm" },
	  { "tracepoint", HOOKS(path_open_tp) } },
	{ VIV_KIND_PROC_EXEC, { "lsm" },
	  { "tracepoint", HOOKS(proc_exec_tp) } },
	{ VIV_KIND_SOCK_CONNECT, { "lsm" },
	  { "tracepoint", HOOKS(sock_connect_tp) } },
};

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

static bool tracepoint_exists(const struct bpf_program *prog,
			      const char *events_dir)
{
	const char *sec = bpf_program__section_name(prog);
	const char *tp = "tracepoint/";
	char path[PATH_MAX];

	/* tp_btf hooks are scheduler events every kernel has. */
	if (strncmp(sec, tp, strlen(tp)))
		return true;
	if (join(path, events_dir, "", sec + strlen(tp)))
		return false;
	return !access(path, F_OK);
}

/*
 * Switch each event's programs on or off before load, and off for good
 * when a tracepoint it cannot do without is missing.
 */
static int configure_events(struct viv_kernel *k, const char *events_dir)
{
	struct bpf_object *obj = k->skel->obj;
	size_t i, j;

	for (i = 0; i < VIV_ARRAY_SIZE(event_progs); i++) {
		const struct viv_backend_progs *be = &event_progs[i].tracepoint;
		enum viv_kind kind = event_progs[i].kind;
		bool on = k->events & VIV_EVENT_BIT(kind);
		struct bpf_program *prog;

		for (j = 0; on && j < be->n; j++) {
			prog = bpf_object__find_program_by_name(obj,
								be->hooks[j].prog);
			if (!prog) {
				pr_warn("prog '%s': not in the object\n",
					be->hooks[j].prog);
				return -ENOENT;
			}
			if (!be->hooks[j].optional &&
			    !tracepoint_exists(prog, events_dir)) {
				pr_warn("event '%s': %s\n", viv_event__name(kind),
					WHY_NO_TP);
				k->why[kind] = WHY_NO_TP;
				on = false;
			}
		}
		if (!on)
			k->events &= ~VIV_EVENT_BIT(kind);
		for (j = 0; j < be->n; j++) {
			prog = bpf_object__find_program_by_name(obj,
								be->hooks[j].prog);
			if (!prog)
				continue;
			bpf_program__set_autoload(prog, on &&
				tracepoint_exists(prog, events_dir));
		}
	}
	return 0;
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
	struct viv_offsets off;
	struct viv_kernel *k;
	int err;

	if (!opts)
		opts = &defaults;
	viv_log_libbpf();
	if (opts->events & ~VIV_EVENTS_ALL) {
		pr_warn("kernel: unknown event bits 0x%x\n",
			opts->events & ~VIV_EVENTS_ALL);
		errno = EINVAL;
		return NULL;
	}
	if (opts->backend == VIV_BACKEND_LSM) {
		pr_warn("backend 'lsm': the LSM programs are not part of this "
			"build; use the tracepoint backend\n");
		errno = EOPNOTSUPP;
		return NULL;
	}
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
	k->events = opts->events ? opts->events : VIV_EVENTS_ALL;
	err = viv_offsets__resolve(&off);
	if (err)
		goto err_free;

	k->skel = vivarium_bpf__open();
	if (!k->skel) {
		err = -errno;
		pr_warn("kernel: failed to open the BPF object: %s\n",
			viv_errstr(err));
		goto err_free;
	}
	err = configure_events(k, events_dir);
	if (err)
		goto err_destroy;
	k->skel->rodata->viv_config.events = k->events;
	k->skel->rodata->viv_config.file_f_path_off = off.file_f_path;
	k->skel->rodata->viv_config.dentry_d_name_off = off.dentry_d_name;

	err = vivarium_bpf__load(k->skel);
	if (err) {
		pr_warn("kernel: failed to load the programs: %s\n",
			viv_errstr(err));
		goto err_destroy;
	}
	err = vivarium_bpf__attach(k->skel);
	if (err) {
		pr_warn("kernel: failed to attach the programs: %s\n",
			viv_errstr(err));
		goto err_destroy;
	}
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
	pr_debug("kernel: loaded, events 0x%x, file.f_path at %u, "
		 "dentry.d_name at %u\n", k->events, off.file_f_path,
		 off.dentry_d_name);
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

struct viv_kernel *viv_kernel__open_pinned(const char *pin_dir)
{
	char path[PATH_MAX];
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

	/* The daemon pinned a link for each program it attached. */
	for (i = 0; i < VIV_ARRAY_SIZE(event_progs); i++) {
		const struct viv_backend_progs *be = &event_progs[i].tracepoint;
		enum viv_kind kind = event_progs[i].kind;

		if (!join(path, pin_dir, LINK_PREFIX, be->hooks[0].prog) &&
		    !access(path, F_OK))
			k->events |= VIV_EVENT_BIT(kind);
		else
			k->why[kind] = WHY_NOT_PINNED;
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
	size_t i;

	for (i = 0; i < VIV_ARRAY_SIZE(event_progs); i++) {
		if (event_progs[i].kind == kind)
			break;
	}
	if (i == VIV_ARRAY_SIZE(event_progs))
		reason = "not an event kind";
	else if (k->events & VIV_EVENT_BIT(kind))
		return event_progs[i].tracepoint.name;
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
	uint32_t key, next, val;
	int more;

	more = !bpf_map_get_next_key(k->spawned_fd, NULL, &key);
	while (more) {
		more = !bpf_map_get_next_key(k->spawned_fd, &key, &next);
		if (!bpf_map_lookup_elem(k->spawned_fd, &key, &val) && val == id)
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
