/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel side against the running kernel (root only): load, register
 * this process, make it and its children open, exec and connect, and read
 * each record back with libbpf's ring buffer reader. Then the pinned
 * life cycle: pin, attach through the pins, close, nothing left behind.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "vivarium.h"

#define RING_SIZE	(256 * 1024)
#define MAX_RECORDS	8192
#define MAX_IDS		256

static int passed, failed;

#define ASSERT(cond, fmt, ...) do {					\
	if (cond) {							\
		passed++;						\
	} else {							\
		failed++;						\
		fprintf(stderr, "FAIL %s:%d: %s: " fmt "\n", __func__,	\
			__LINE__, #cond, ##__VA_ARGS__);		\
	}								\
} while (0)

struct records {
	size_t n;
	void *rec[MAX_RECORDS];
};

static struct records recs;

static int collect(void *ctx, void *data, size_t size)
{
	struct records *r = ctx;
	void *copy;

	if (r->n == MAX_RECORDS)
		return 0;
	copy = malloc(size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, size);
	r->rec[r->n++] = copy;
	return 0;
}

static void clear(struct records *r)
{
	while (r->n)
		free(r->rec[--r->n]);
}

static int drain(int ring_fd)
{
	struct ring_buffer *rb;
	int n;

	rb = ring_buffer__new(ring_fd, collect, &recs, NULL);
	if (!rb)
		return -errno;
	n = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return n;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const struct viv_path_open *find_open(pid_t pid, const char *path)
{
	size_t i;

	for (i = 0; i < recs.n; i++) {
		const struct viv_path_open *e = recs.rec[i];

		if (e->hdr.kind == VIV_KIND_PATH_OPEN && e->hdr.pid == (__u32)pid &&
		    !strcmp(e->path, path))
			return e;
	}
	return NULL;
}

static const struct viv_proc_exec *find_exec(pid_t pid)
{
	size_t i;

	for (i = 0; i < recs.n; i++) {
		const struct viv_proc_exec *e = recs.rec[i];

		if (e->hdr.kind == VIV_KIND_PROC_EXEC && e->hdr.pid == (__u32)pid)
			return e;
	}
	return NULL;
}

static const struct viv_sock_connect *find_connect(pid_t pid)
{
	size_t i;

	for (i = 0; i < recs.n; i++) {
		const struct viv_sock_connect *e = recs.rec[i];

		if (e->hdr.kind == VIV_KIND_SOCK_CONNECT &&
		    e->hdr.pid == (__u32)pid)
			return e;
	}
	return NULL;
}

static void check_sizes(void)
{
	size_t i;

	for (i = 0; i < recs.n; i++) {
		const struct viv_event_hdr *h = recs.rec[i];
		size_t want = h->kind == VIV_KIND_PATH_OPEN ?
			sizeof(struct viv_path_open) :
			h->kind == VIV_KIND_PROC_EXEC ?
			sizeof(struct viv_proc_exec) :
			sizeof(struct viv_sock_connect);

		if (h->size != want) {
			ASSERT(h->size == want, "record %zu kind %u size %u",
			       i, h->kind, h->size);
			return;
		}
	}
	passed++;
}

static pid_t run_child(const char *open_path, const char *exec_path,
		       char *const argv[])
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	if (open_path) {
		fd = open(open_path, O_CREAT | O_WRONLY, 0600);
		_exit(fd < 0);
	}
	execv(exec_path, argv);
	_exit(errno == ENOENT ? 0 : 1);
}

static int wait_child(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Program ids of loaded programs whose name starts with viv_. */
static size_t viv_prog_ids(__u32 *ids, size_t max)
{
	__u32 id = 0;
	size_t n = 0;

	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    !strncmp(info.name, "viv_", 4) && n < max)
			ids[n++] = id;
		close(fd);
	}
	return n;
}

static bool has_id(const __u32 *ids, size_t n, __u32 id)
{
	while (n--) {
		if (ids[n] == id)
			return true;
	}
	return false;
}

/* Programs loaded between @before and @after that are still there; the
 * kernel drops ids as the last reference goes, allow it a moment. */
static size_t leftover(const __u32 *before, size_t nb, const __u32 *after,
		       size_t na)
{
	__u32 now[MAX_IDS];
	size_t i, n, left = 0;
	int tries;

	for (tries = 0; tries < 50; tries++) {
		n = viv_prog_ids(now, MAX_IDS);
		left = 0;
		for (i = 0; i < na; i++) {
			if (!has_id(before, nb, after[i]) &&
			    has_id(now, n, after[i]))
				left++;
		}
		if (!left)
			break;
		usleep(20000);
	}
	return left;
}

static char last_msg[512];

static int capture(enum viv_log_level level, const char *fmt, va_list ap)
{
	if (level == VIV_WARN)
		vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	return 0;
}

static void test_prerequisites(void)
{
	struct viv_kernel_opts lsm = { .backend = VIV_BACKEND_LSM };
	struct viv_kernel_opts bad = { .events = 1U << 30 };
	struct viv_kernel_opts nofs = { .pin_dir = "/tmp/viv-kt-not-bpffs" };
	viv_print_fn old = viv_set_print(capture);
	struct viv_kernel *k;

	k = viv_kernel__load(&lsm);
	ASSERT(!k && errno == EOPNOTSUPP, "lsm backend: errno %d", errno);
	ASSERT(strstr(last_msg, "the LSM programs are not part of this build"),
	       "message: %s", last_msg);
	k = viv_kernel__load(&bad);
	ASSERT(!k && errno == EINVAL, "unknown event bit: errno %d", errno);
	k = viv_kernel__load(&nofs);
	ASSERT(!k && errno == ENOENT, "pin dir off bpffs: errno %d", errno);
	ASSERT(strstr(last_msg, "mount -t bpf bpf /sys/fs/bpf"), "message: %s",
	       last_msg);
	k = viv_kernel__open_pinned("/sys/fs/bpf/viv-kt-none");
	ASSERT(!k && errno == ENOENT, "open_pinned nothing: errno %d", errno);
	ASSERT(strstr(last_msg, "sudo vivarium daemon"), "message: %s",
	       last_msg);
	viv_set_print(old);
}

/*
 * A child observed on a one-page ring opens more files than fit: its
 * losses land in its viv_lost slot, which the programs claim on the first
 * loss. The child is also our descendant; its own registration wins.
 */
static void test_lost(struct viv_kernel *k, const struct viv_lost *lost)
{
	struct viv_registration reg;
	int go[2], i, err;
	uint64_t stats[VIV_STAT_MAX];
	pid_t child;
	char c;

	if (pipe(go))
		return;
	child = fork();
	if (!child) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		for (i = 0; i < 64; i++)
			close(open("/", O_RDONLY));
		_exit(0);
	}
	close(go[0]);
	err = viv_kernel__add_observer(k, child, 4096, &reg);
	ASSERT(!err, "add child observer: %s", viv_errstr(err));
	ASSERT(write(go[1], "x", 1) == 1, "start child");
	close(go[1]);
	ASSERT(wait_child(child) == 0, "child");
	if (err)
		return;
	ASSERT(lost[reg.id % VIV_MAX_OBSERVERS].id == reg.id &&
	       lost[reg.id % VIV_MAX_OBSERVERS].count > 0,
	       "lost slot %u count %llu", lost[reg.id % VIV_MAX_OBSERVERS].id,
	       (unsigned long long)lost[reg.id % VIV_MAX_OBSERVERS].count);
	ASSERT(!viv_kernel__stats(k, stats) && stats[VIV_STAT_LOST] > 0,
	       "lost stat");
	ASSERT(!viv_kernel__remove_observer(k, reg.id, child), "remove child");
	close(reg.ring_fd);
	close(reg.lost_fd);
}

/*
 * Relative opens: across mount points (/dev, then /dev/shm, both tmpfs
 * on most systems) the path is rebuilt; deeper than the walk goes, it
 * stays as given.
 */
static void test_relative(int ring_fd)
{
	char name[64], want[96], deep[64], cwd[4096];
	const struct viv_path_open *po;
	pid_t me = getpid();
	int fd, i;

	if (!getcwd(cwd, sizeof(cwd)))
		return;
	snprintf(name, sizeof(name), "viv-kt-%d-shm", me);
	snprintf(want, sizeof(want), "/dev/shm/%s", name);
	if (!chdir("/dev/shm")) {
		fd = open(name, O_CREAT | O_WRONLY, 0600);
		ASSERT(fd >= 0, "open %s", want);
		close(fd);
		unlink(name);
	}
	snprintf(deep, sizeof(deep), "/tmp/viv-kt-%d-deep", me);
	ASSERT(!mkdir(deep, 0700) && !chdir(deep), "%s", deep);
	for (i = 0; i < 40; i++)
		ASSERT(!mkdir("d", 0700) && !chdir("d"), "deep dir %d", i);
	fd = open("leaf", O_CREAT | O_WRONLY, 0600);
	ASSERT(fd >= 0, "deep open");
	close(fd);
	unlink("leaf");
	for (i = 0; i < 40; i++)
		ASSERT(!chdir("..") && !rmdir("d"), "deep dir %d", i);
	ASSERT(!chdir(cwd) && !rmdir(deep), "rmdir %s", deep);

	drain(ring_fd);
	if (!access("/dev/shm", F_OK)) {
		po = find_open(me, want);
		ASSERT(po && po->resolved == VIV_PATH_FROM_DENTRY,
		       "%s across mounts", want);
	}
	po = find_open(me, "leaf");
	ASSERT(po && po->ret >= 0 && po->resolved == VIV_PATH_AS_GIVEN,
	       "deep path kept as given");
	clear(&recs);
}

static void test_events(void)
{
	char abs_path[64], rel_name[32], rel_path[64], child_path[64];
	char *true_argv[] = { "true", "--viv-test-arg", NULL };
	/* On the stack: a failed exec's argv is read from the child's
	 * memory, and a fresh child has not touched its .rodata pages. */
	char arg0[] = "viv-missing", arg1[] = "x";
	char *missing_argv[] = { arg0, arg1, NULL };
	const struct viv_sock_connect *sc;
	const struct viv_proc_exec *ex;
	const struct viv_path_open *po;
	struct viv_registration reg, dup;
	struct sockaddr_in sa = {};
	socklen_t sa_len = sizeof(sa);
	__u32 before[MAX_IDS], after[MAX_IDS];
	size_t nb, na;
	struct open_how how = { .flags = O_RDONLY };
	pid_t me = getpid(), c1, c2, c3;
	uint64_t stats[VIV_STAT_MAX];
	int fd, lsn, cli, n;
	struct viv_lost *lost;
	struct viv_kernel *k;
	viv_print_fn old;
	const char *why;
	char cwd[4096];
	double t0, t1;

	nb = viv_prog_ids(before, MAX_IDS);
	t0 = now_ms();
	k = viv_kernel__load(&(struct viv_kernel_opts){ 0 });
	t1 = now_ms();
	ASSERT(k, "load: %s", viv_errstr(errno));
	if (!k)
		return;
	printf("load+attach: %.1f ms\n", t1 - t0);
	na = viv_prog_ids(after, MAX_IDS);
	ASSERT(na > nb, "no viv_ programs appeared");

	ASSERT(viv_kernel__events(k) == 0xe, "events 0x%x",
	       viv_kernel__events(k));
	ASSERT(!strcmp(viv_kernel__backend(k, VIV_KIND_PATH_OPEN, NULL),
		       "tracepoint"), "path_open backend");
	ASSERT(!viv_kernel__backend(k, VIV_KIND_NONE, &why) &&
	       !strcmp(why, "not an event kind"), "kind 0");

	old = viv_set_print(capture);
	ASSERT(viv_kernel__add_observer(k, me, 12345, &reg) == -EINVAL,
	       "odd ring size accepted");
	ASSERT(viv_kernel__add_observer(k, me, 1024, &reg) == -EINVAL,
	       "ring below a page accepted");
	viv_set_print(old);
	n = viv_kernel__add_observer(k, me, RING_SIZE, &reg);
	ASSERT(!n, "add_observer: %s", viv_errstr(n));
	if (n)
		goto out;
	ASSERT(reg.id && reg.ring_size == RING_SIZE && reg.ring_fd >= 0 &&
	       reg.lost_fd >= 0, "registration %u %u %d %d", reg.id,
	       reg.ring_size, reg.ring_fd, reg.lost_fd);
	old = viv_set_print(capture);
	ASSERT(viv_kernel__add_observer(k, me, RING_SIZE, &dup) == -EEXIST,
	       "second registration of the same process");
	ASSERT(strstr(last_msg, "already observed"), "message: %s", last_msg);
	viv_set_print(old);

	/* The lost counters: mapped read-only, and only read-only. */
	lost = mmap(NULL, VIV_MAX_OBSERVERS * sizeof(*lost), PROT_READ,
		    MAP_SHARED, reg.lost_fd, 0);
	ASSERT(lost != MAP_FAILED, "mmap lost_fd: %s", strerror(errno));
	ASSERT(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
		    reg.lost_fd, 0) == MAP_FAILED, "lost_fd mapped writable");
	ASSERT(bpf_map_update_elem(reg.lost_fd, &(__u32){ 0 },
				   &(struct viv_lost){ 0 }, BPF_ANY),
	       "lost_fd written");

	snprintf(abs_path, sizeof(abs_path), "/tmp/viv-kt-%d-abs", me);
	snprintf(rel_name, sizeof(rel_name), "viv-kt-%d-rel", me);
	snprintf(rel_path, sizeof(rel_path), "/tmp/%s", rel_name);
	snprintf(child_path, sizeof(child_path), "/tmp/viv-kt-%d-child", me);

	fd = open(abs_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0640);
	ASSERT(fd >= 0, "open %s", abs_path);
	close(fd);
	ASSERT(getcwd(cwd, sizeof(cwd)), "getcwd");
	ASSERT(!chdir("/tmp"), "chdir /tmp");
	fd = open(rel_name, O_CREAT | O_RDWR, 0600);
	ASSERT(fd >= 0, "open %s", rel_name);
	close(fd);
	ASSERT(!chdir(cwd), "chdir back");
	fd = syscall(SYS_openat2, AT_FDCWD, abs_path, &how, sizeof(how));
	ASSERT(fd >= 0, "openat2 %s", abs_path);
	close(fd);
	fd = open("/tmp/viv-kt-no/such/file", O_RDONLY);
	ASSERT(fd < 0, "missing file opened");

	c1 = run_child(child_path, NULL, NULL);
	ASSERT(wait_child(c1) == 0, "child open");
	c2 = run_child(NULL, "/bin/true", true_argv);
	ASSERT(wait_child(c2) == 0, "child exec");
	c3 = run_child(NULL, "/nonexistent-viv/viv-missing", missing_argv);
	ASSERT(wait_child(c3) == 0, "child failed exec");

	lsn = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT(!bind(lsn, (struct sockaddr *)&sa, sizeof(sa)) &&
	       !listen(lsn, 1) &&
	       !getsockname(lsn, (struct sockaddr *)&sa, &sa_len), "listen");
	cli = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT(!connect(cli, (struct sockaddr *)&sa, sizeof(sa)), "connect");

	n = drain(reg.ring_fd);
	ASSERT(n > 0, "drain: %d", n);
	check_sizes();

	po = find_open(me, abs_path);
	ASSERT(po && po->ret >= 0 && po->resolved == VIV_PATH_AS_GIVEN &&
	       (po->flags & (O_CREAT | O_CLOEXEC)) == (O_CREAT | O_CLOEXEC) &&
	       po->mode == 0640 && po->hdr.tid == (__u32)me &&
	       po->hdr.ktime_ns, "absolute open");
	po = find_open(me, rel_path);
	ASSERT(po && po->ret >= 0 && po->resolved == VIV_PATH_FROM_DENTRY &&
	       po->flags == (O_CREAT | O_RDWR) && po->mode == 0600,
	       "relative open rebuilt as %s", rel_path);
	po = find_open(me, "/tmp/viv-kt-no/such/file");
	ASSERT(po && po->ret == -ENOENT && po->resolved == VIV_PATH_AS_GIVEN,
	       "failed open");
	po = find_open(c1, child_path);
	ASSERT(po && po->ret >= 0 && po->hdr.tid == (__u32)c1, "child open");

	ex = find_exec(c2);
	ASSERT(ex && ex->ret == 0 && !strcmp(ex->path, "/bin/true") &&
	       !strcmp(ex->comm, "true") && ex->argc == 2 &&
	       ex->args_len == sizeof("true\0--viv-test-arg") &&
	       !memcmp(ex->args, "true\0--viv-test-arg", ex->args_len),
	       "exec of /bin/true");
	po = find_open(c2, "/etc/ld.so.cache");
	ASSERT(po, "the exec'd child's own opens");
	ex = find_exec(c3);
	ASSERT(ex && ex->ret == -ENOENT &&
	       !strcmp(ex->path, "/nonexistent-viv/viv-missing") &&
	       ex->argc == 2 && ex->args_len == sizeof("viv-missing\0x") &&
	       !memcmp(ex->args, "viv-missing\0x", ex->args_len),
	       "failed exec");

	sc = find_connect(me);
	ASSERT(sc && sc->ret == 0 && sc->fd == cli &&
	       sc->addr_len == sizeof(sa) && !memcmp(sc->addr, &sa, sizeof(sa)),
	       "connect to 127.0.0.1:%u", ntohs(sa.sin_port));
	close(cli);
	close(lsn);

	ASSERT(!viv_kernel__stats(k, stats), "stats");
	ASSERT(stats[VIV_STAT_EMITTED] >= recs.n && !stats[VIV_STAT_LOST],
	       "emitted %llu lost %llu", (unsigned long long)stats[0],
	       (unsigned long long)stats[VIV_STAT_LOST]);
	if (lost != MAP_FAILED)
		test_lost(k, lost);
	test_relative(reg.ring_fd);
	/* The stats read above opened a sysfs file: flush its record. */
	drain(reg.ring_fd);
	clear(&recs);

	ASSERT(!viv_kernel__remove_observer(k, reg.id, me), "remove");
	ASSERT(!viv_kernel__remove_observer(k, reg.id, me), "remove twice");
	fd = open(abs_path, O_RDONLY);
	close(fd);
	ASSERT(drain(reg.ring_fd) == 0, "records after remove");
	if (lost != MAP_FAILED)
		munmap(lost, VIV_MAX_OBSERVERS * sizeof(*lost));
	close(reg.ring_fd);
	close(reg.lost_fd);
out:
	viv_kernel__close(k);
	ASSERT(leftover(before, nb, after, na) == 0, "programs left loaded");
	unlink(abs_path);
	unlink(rel_path);
	unlink(child_path);
	clear(&recs);
}

/* An observer that exits takes its config_root_targets entry along. */
static void test_observer_exit(struct viv_kernel *a, const char *dir)
{
	struct viv_registration reg;
	char path[128];
	int go[2], fd, err;
	uint32_t key, val;
	pid_t child;
	char c;

	if (pipe(go))
		return;
	child = fork();
	if (!child) {
		close(go[1]);
		_exit(read(go[0], &c, 1) != 1);
	}
	close(go[0]);
	err = viv_kernel__add_observer(a, child, RING_SIZE, &reg);
	ASSERT(!err, "add child: %s", viv_errstr(err));
	snprintf(path, sizeof(path), "%s/config_root_targets", dir);
	fd = bpf_obj_get(path);
	key = child;
	ASSERT(!bpf_map_lookup_elem(fd, &key, &val) && val == reg.id,
	       "child registered");
	ASSERT(write(go[1], "x", 1) == 1, "release child");
	close(go[1]);
	ASSERT(wait_child(child) == 0, "child");
	ASSERT(bpf_map_lookup_elem(fd, &key, &val) && errno == ENOENT,
	       "root entry of an exited observer");
	ASSERT(!viv_kernel__remove_observer(a, reg.id, child), "remove");
	close(fd);
	if (!err) {
		close(reg.ring_fd);
		close(reg.lost_fd);
	}
}

static void test_pinned(void)
{
	struct viv_kernel_opts opts = { .events = VIV_EVENT_BIT(VIV_KIND_PATH_OPEN) };
	__u32 before[MAX_IDS], after[MAX_IDS];
	char dir[64], path[128], file[64];
	struct viv_kernel *k, *a, *again;
	struct viv_registration reg;
	viv_print_fn old;
	uint32_t key, next;
	const char *why;
	struct stat st;
	size_t nb, na;
	pid_t child;
	int fd, err;

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/viv-test-%d", getpid());
	snprintf(file, sizeof(file), "/tmp/viv-kt-%d-pinned", getpid());
	opts.pin_dir = dir;
	nb = viv_prog_ids(before, MAX_IDS);
	k = viv_kernel__load(&opts);
	ASSERT(k, "load pinned: %s", viv_errstr(errno));
	if (!k)
		return;
	na = viv_prog_ids(after, MAX_IDS);
	snprintf(path, sizeof(path), "%s/config_root_targets", dir);
	ASSERT(!stat(path, &st), "%s", path);
	snprintf(path, sizeof(path), "%s/link_viv_openat_exit", dir);
	ASSERT(!stat(path, &st), "%s", path);
	snprintf(path, sizeof(path), "%s/link_viv_connect_exit", dir);
	ASSERT(stat(path, &st), "%s pinned while switched off", path);
	ASSERT(!viv_kernel__backend(k, VIV_KIND_SOCK_CONNECT, &why) &&
	       !strcmp(why, "switched off in the configuration"), "why");

	old = viv_set_print(capture);
	again = viv_kernel__load(&opts);
	ASSERT(!again && errno == EEXIST, "second load: errno %d", errno);
	ASSERT(strstr(last_msg, "already holds pins"), "message: %s", last_msg);
	viv_set_print(old);
	viv_kernel__close(again);

	a = viv_kernel__open_pinned(dir);
	ASSERT(a, "open_pinned: %s", viv_errstr(errno));
	if (!a)
		goto out;
	ASSERT(viv_kernel__events(a) == opts.events, "pinned events 0x%x",
	       viv_kernel__events(a));
	err = viv_kernel__add_observer(a, getpid(), RING_SIZE, &reg);
	ASSERT(!err, "add through pins: %s", viv_errstr(err));
	if (err)
		goto out;
	child = run_child(file, NULL, NULL);
	ASSERT(wait_child(child) == 0, "child open");
	ASSERT(drain(reg.ring_fd) > 0 && find_open(child, file),
	       "record through pins");
	clear(&recs);

	/* The child exited: its descendant entry went with it. */
	snprintf(path, sizeof(path), "%s/config_spawned_targets", dir);
	fd = bpf_obj_get(path);
	ASSERT(fd >= 0, "open %s", path);
	key = child;
	ASSERT(bpf_map_lookup_elem(fd, &key, &next), "exited child still tracked");
	ASSERT(!viv_kernel__remove_observer(a, reg.id, getpid()), "remove");
	ASSERT(bpf_map_get_next_key(fd, NULL, &next), "spawned not empty");
	close(fd);
	close(reg.ring_fd);
	close(reg.lost_fd);
	test_observer_exit(a, dir);
out:
	viv_kernel__close(a);
	viv_kernel__close(k);
	ASSERT(stat(dir, &st) && errno == ENOENT, "%s left behind", dir);
	ASSERT(leftover(before, nb, after, na) == 0, "programs left loaded");
	unlink(file);
}

int main(void)
{
	if (geteuid()) {
		printf("kernel_test: skipped: needs root\n");
		return 0;
	}
	test_prerequisites();
	test_events();
	test_pinned();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
