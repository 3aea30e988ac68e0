/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel side against the running kernel (root only): load, register
 * this process, make it and its children cause every event, and check the
 * raw fields of each record (lib/event.c's decoding has its own tests) on
 * whichever backend the kernel gives the event; an event the kernel cannot
 * observe must say so. Then the options (path prefixes, capabilities,
 * kprint) and the pinned life cycle: pin, attach through the pins, close,
 * nothing left behind.
 *
 * VIVARIUM_TEST_BACKEND=auto|lsm|tracepoint forces a backend. In the QEMU
 * guest of spec/vm/run.sh (VIVARIUM_IN_VM=1) BPF LSM works, and auto must
 * choose it for every event that has LSM programs; on a host that refuses
 * BPF LSM, auto must fall back to the tracepoints.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "vivarium.h"

#define RING_SIZE	(4 * 1024 * 1024)
#define MAX_RECORDS	32768
#define MAX_IDS		16384
#define NOBODY		65534
#define TRACEFS_EVENTS	"/sys/kernel/tracing/events/"

struct records {
	size_t n;
	void *rec[MAX_RECORDS];
};

static struct records recs;

/* The backend asked for (VIVARIUM_TEST_BACKEND), and whether BPF LSM
 * works here: in the guest it does, on the development hosts not. */
static enum viv_backend want_backend;
static bool lsm_works;
/* The kernel side the checks ask about backends. */
static struct viv_kernel *K;
/* This program's command name, which its children inherit. */
static char comm[16];

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

static bool lsm(enum viv_kind kind)
{
	const char *b = viv_kernel__backend(K, kind, NULL);

	return b && !strcmp(b, "lsm");
}

static bool observed(enum viv_kind kind)
{
	return viv_kernel__backend(K, kind, NULL);
}

/* Events with no LSM program: on the tracepoints whatever the backend. */
static bool has_lsm_progs(enum viv_kind kind)
{
	return kind != VIV_KIND_PROC_EXEC && kind != VIV_KIND_FILE_GETDENTS &&
	       kind != VIV_KIND_DNS_REQ;
}

/* The next record of @kind from process @pid (any if 0) at or after *i. */
static const void *next_rec(enum viv_kind kind, pid_t pid, size_t *i)
{
	for (; *i < recs.n; (*i)++) {
		const struct viv_event_hdr *h = recs.rec[*i];

		if (h->kind == kind && (!pid || h->pid == (__u32)pid))
			return recs.rec[(*i)++];
	}
	return NULL;
}

static const struct viv_path_open *find_open(pid_t pid, const char *path)
{
	const struct viv_path_open *e;
	size_t i = 0;

	while ((e = next_rec(VIV_KIND_PATH_OPEN, pid, &i))) {
		if (!strcmp(e->path, path))
			return e;
	}
	return NULL;
}

static const struct viv_proc_exec *find_exec(pid_t pid)
{
	size_t i = 0;

	return next_rec(VIV_KIND_PROC_EXEC, pid, &i);
}

static size_t rec_size(unsigned int kind)
{
	switch (kind) {
	case VIV_KIND_PATH_OPEN:	return sizeof(struct viv_path_open);
	case VIV_KIND_PROC_EXEC:	return sizeof(struct viv_proc_exec);
	case VIV_KIND_SOCK_CONNECT:	return sizeof(struct viv_sock_connect);
	case VIV_KIND_FILE_SYMLINK:
	case VIV_KIND_FILE_HARDLINK:
	case VIV_KIND_FILE_RENAME:	return sizeof(struct viv_file_pair);
	case VIV_KIND_FILE_CHMOD:	return sizeof(struct viv_file_chmod);
	case VIV_KIND_FILE_GETDENTS:	return sizeof(struct viv_file_getdents);
	case VIV_KIND_PTRACE_CHECK:	return sizeof(struct viv_ptrace_check);
	case VIV_KIND_SB_MOUNT:		return sizeof(struct viv_sb_mount);
	case VIV_KIND_KERNEL_READ_FILE:
		return sizeof(struct viv_kernel_read_file);
	case VIV_KIND_TASK_KILL:	return sizeof(struct viv_task_kill);
	case VIV_KIND_SETID_CHANGE:	return sizeof(struct viv_setid_change);
	case VIV_KIND_CAPABLE_CHECK:	return sizeof(struct viv_capable_check);
	case VIV_KIND_BPRM_CREDS:	return sizeof(struct viv_bprm_creds);
	case VIV_KIND_ODD_SOCKET:	return sizeof(struct viv_odd_socket);
	case VIV_KIND_DNS_REQ:		return sizeof(struct viv_dns_req);
	}
	return 0;
}

/*
 * Every record: its size, and an origin that is the observer's thread it
 * descends from: the main thread (the pid) for everything but what the
 * second thread @tid did and the child @child it forked.
 */
static void check_headers(pid_t me, pid_t tid, pid_t child)
{
	size_t i;

	for (i = 0; i < recs.n; i++) {
		const struct viv_event_hdr *h = recs.rec[i];
		bool second = h->tid == (__u32)tid || h->pid == (__u32)child;
		__u32 want = second ? (__u32)tid : (__u32)me;

		if (h->size != rec_size(h->kind) || h->origin != want ||
		    !h->ktime_ns) {
			ASSERT(0, "record %zu: kind %u size %u tid %u origin %u",
			       i, h->kind, h->size, h->tid, h->origin);
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

static bool exists(const char *path)
{
	return !access(path, F_OK);
}

static bool lsm_listed(void)
{
	char list[512] = "";
	FILE *f = fopen("/sys/kernel/security/lsm", "r");

	if (!f)
		return false;
	if (!fgets(list, sizeof(list), f))
		list[0] = '\0';
	fclose(f);
	return strstr(list, "bpf") != NULL;
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


/* How many programs appeared between @before and @after (other tests may
 * load and unload theirs meanwhile), and the biggest, by the instructions
 * the verifier went through. */
static size_t report_programs(const __u32 *before, size_t nb,
			      const __u32 *after, size_t na)
{
	struct { char name[BPF_OBJ_NAME_LEN]; __u32 insns; } top[5] = {};
	unsigned long total = 0;
	size_t i, j, n = 0;

	for (i = 0; i < na; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd;

		if (has_id(before, nb, after[i]))
			continue;
		fd = bpf_prog_get_fd_by_id(after[i]);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			if (getenv("VIVARIUM_TEST_VERBOSE"))
				printf("  prog %-16s verified %u, %u insns\n",
				       info.name, info.verified_insns,
				       info.xlated_prog_len / 8);
			n++;
			total += info.verified_insns;
			for (j = 0; j < 5; j++) {
				if (info.verified_insns <= top[j].insns)
					continue;
				memmove(&top[j + 1], &top[j],
					(4 - j) * sizeof(top[0]));
				snprintf(top[j].name, sizeof(top[j].name), "%s",
					 info.name);
				top[j].insns = info.verified_insns;
				break;
			}
		}
		close(fd);
	}
	printf("programs: %zu, verified instructions: %lu; biggest:", n,
	       total);
	for (j = 0; j < 5 && top[j].insns; j++)
		printf(" %s %u", top[j].name, top[j].insns);
	printf("\n");
	return n;
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
	const char *many[9] = { "/a", "/b", "/c", "/d", "/e", "/f", "/g",
				"/h", "/i" };
	const char *empty[] = { "" };
	char long_prefix[80];
	const char *too_long[] = { long_prefix };
	const uint32_t bad_cap[] = { 64 };
	struct viv_kernel_opts lsm_only = { .backend = VIV_BACKEND_LSM };
	struct viv_kernel_opts bad = { .events = 1U << 30 };
	struct viv_kernel_opts nofs = { .pin_dir = "/tmp/viv-kt-not-bpffs" };
	struct viv_kernel_opts opts = {};
	viv_print_fn old = viv_set_print(capture);
	struct viv_kernel *k;

	if (!lsm_works) {
		k = viv_kernel__load(&lsm_only);
		ASSERT(!k && errno == EOPNOTSUPP, "lsm backend: errno %d", errno);
		ASSERT(strstr(last_msg, "backend 'lsm'") &&
		       strstr(last_msg, "use the tracepoint backend"),
		       "message: %s", last_msg);
		viv_kernel__close(k);
	}
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

	opts.path_prefixes = many;
	opts.n_path_prefixes = 9;
	k = viv_kernel__load(&opts);
	ASSERT(!k && errno == E2BIG, "9 prefixes: errno %d", errno);
	ASSERT(strstr(last_msg, "at most 8"), "message: %s", last_msg);
	memset(long_prefix, 'x', sizeof(long_prefix) - 1);
	long_prefix[0] = '/';
	long_prefix[sizeof(long_prefix) - 1] = '\0';
	opts.path_prefixes = too_long;
	opts.n_path_prefixes = 1;
	k = viv_kernel__load(&opts);
	ASSERT(!k && errno == E2BIG, "long prefix: errno %d", errno);
	opts.path_prefixes = empty;
	k = viv_kernel__load(&opts);
	ASSERT(!k && errno == EINVAL, "empty prefix: errno %d", errno);
	opts = (struct viv_kernel_opts){ .caps = bad_cap, .n_caps = 1 };
	k = viv_kernel__load(&opts);
	ASSERT(!k && errno == EINVAL, "capability 64: errno %d", errno);
	ASSERT(strstr(last_msg, "64 is not a capability"), "message: %s",
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


/* Where every event is made to happen: one directory under /tmp. */
struct paths {
	char dir[64];
	char abs[96];
	char rel[96];
	char norel[96];
	char nofile[96];
	char child[96];
	char sym[96];
	char hl[96];
	char ren_a[96];
	char ren_b[96];
	char mnt[96];
	char suid[96];
	char mod[96];
	char thread[96];
	char thread_child[96];
};

/* What the triggers did, for the checks. */
struct run {
	const struct paths *p;
	pid_t me;
	pid_t thread, c_thread;
	pid_t c_open, c_true, c_missing;
	pid_t c_ptrace, c_pidfd, c_mount, c_priv, c_cap;
	int fchmod_fd;
	int nl_sock, raw_sock;
	int cli;
	struct sockaddr_in tcp;
	bool dns;
};

/* PTRACE_MODE_ATTACH of the kernel's ptrace_may_access(). */
#define VIV_PTRACE_MODE_ATTACH	0x02

static void paths_init(struct paths *p, pid_t me)
{
	snprintf(p->dir, sizeof(p->dir), "/tmp/viv-kt-%d", me);
#define P(f, name) snprintf(p->f, sizeof(p->f), "%s/%s", p->dir, name)
	P(abs, "abs");
	P(rel, "rel");
	P(norel, "no-such-rel");
	P(nofile, "no/such/file");
	P(child, "child");
	P(sym, "sym");
	P(hl, "hl");
	P(ren_a, "ren-a");
	P(ren_b, "ren-b");
	P(mnt, "mnt");
	P(suid, "suid");
	P(mod, "mod");
	P(thread, "thread");
	P(thread_child, "thread-child");
#undef P
}

static void paths_remove(const struct paths *p)
{
	const char *files[] = { p->abs, p->rel, p->child, p->sym, p->hl,
				p->ren_a, p->ren_b, p->suid, p->mod,
				p->thread, p->thread_child };
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(p->mnt);
	rmdir(p->dir);
}

/* A set-user-ID root copy of /bin/true, and a file that is no module. */
static void make_files(const struct paths *p)
{
	char buf[65536];
	int in, out;
	ssize_t n;

	ASSERT(!mkdir(p->dir, 0755), "mkdir %s: %s", p->dir, strerror(errno));
	ASSERT(!mkdir(p->mnt, 0755), "mkdir %s", p->mnt);
	in = open("/bin/true", O_RDONLY | O_CLOEXEC);
	out = open(p->suid, O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
	ASSERT(in >= 0 && out >= 0, "copy /bin/true");
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ASSERT(write(out, buf, n) == n, "write %s", p->suid);
	ASSERT(!fchmod(out, 04755), "chmod u+s %s", p->suid);
	close(in);
	close(out);
	out = open(p->mod, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT(out >= 0 && write(out, "not a module\n", 13) == 13, "%s",
	       p->mod);
	close(out);
}

static void trigger_files(const struct paths *p, struct run *r)
{
	struct open_how how = { .flags = O_RDONLY };
	struct dirent *de;
	char cwd[4096];
	int fd, dfd, n = 0;
	DIR *d;

	fd = open(p->abs, O_CREAT | O_WRONLY | O_CLOEXEC, 0640);
	ASSERT(fd >= 0, "open %s", p->abs);
	close(fd);
	ASSERT(getcwd(cwd, sizeof(cwd)), "getcwd");
	ASSERT(!chdir(p->dir), "chdir %s", p->dir);
	fd = open("rel", O_CREAT | O_RDWR, 0600);
	ASSERT(fd >= 0, "open rel");
	close(fd);
	ASSERT(open("no-such-rel", O_RDONLY) < 0, "no-such-rel opened");
	ASSERT(!symlink("viv-target-text", "sym"), "symlink");
	ASSERT(!link("abs", "hl"), "link");
	close(open("ren-a", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	dfd = open(p->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	ASSERT(!renameat2(AT_FDCWD, "ren-a", dfd, "ren-b", RENAME_NOREPLACE),
	       "renameat2: %s", strerror(errno));
	close(dfd);
	ASSERT(!chdir(cwd), "chdir back");

	ASSERT(!chmod(p->abs, 0600), "chmod");
	r->fchmod_fd = open(p->abs, O_RDONLY | O_CLOEXEC);
	ASSERT(!fchmod(r->fchmod_fd, 0644), "fchmod");
	close(r->fchmod_fd);
	fd = syscall(SYS_openat2, AT_FDCWD, p->abs, &how, sizeof(how));
	ASSERT(fd >= 0, "openat2 %s", p->abs);
	close(fd);
	ASSERT(open(p->nofile, O_RDONLY) < 0, "missing file opened");
	d = opendir(p->dir);
	ASSERT(d, "opendir");
	while (d && (de = readdir(d)))
		n++;
	if (d)
		closedir(d);
	ASSERT(n > 2, "entries of %s: %d", p->dir, n);
}

static void check_files(const struct paths *p, const struct run *r)
{
	const struct viv_file_getdents *gd;
	const struct viv_file_chmod *ch;
	const struct viv_file_pair *fp;
	const struct viv_path_open *po;
	bool more = false, end = false;
	size_t i;

	po = find_open(r->me, p->abs);
	if (lsm(VIV_KIND_PATH_OPEN)) {
		/* The file's f_flags: O_CLOEXEC belongs to the descriptor. */
		ASSERT(po && po->ret == 0 && po->resolved == VIV_PATH_D_PATH &&
		       (po->flags & O_CREAT) && !(po->flags & O_CLOEXEC) &&
		       (po->flags & O_ACCMODE) == O_WRONLY && po->mode == 0640 &&
		       po->hdr.tid == (__u32)r->me, "lsm: open %s", p->abs);
		po = find_open(r->me, p->rel);
		ASSERT(po && po->ret == 0 && po->resolved == VIV_PATH_D_PATH &&
		       (po->flags & O_ACCMODE) == O_RDWR &&
		       (po->flags & O_CREAT) && po->mode == 0600,
		       "lsm: relative open as %s", p->rel);
		ASSERT(!find_open(r->me, p->nofile) &&
		       !find_open(r->me, p->norel), "lsm: failed opens");
	} else {
		ASSERT(po && po->ret >= 0 && po->resolved == VIV_PATH_AS_GIVEN &&
		       (po->flags & (O_CREAT | O_CLOEXEC)) ==
		       (O_CREAT | O_CLOEXEC) && po->mode == 0640 &&
		       po->hdr.tid == (__u32)r->me, "open %s", p->abs);
		po = find_open(r->me, p->rel);
		ASSERT(po && po->ret >= 0 &&
		       po->resolved == VIV_PATH_FROM_DENTRY &&
		       po->flags == (O_CREAT | O_RDWR) && po->mode == 0600,
		       "relative open rebuilt as %s", p->rel);
		po = find_open(r->me, p->norel);
		ASSERT(po && po->ret == -ENOENT &&
		       po->resolved == VIV_PATH_FROM_DENTRY,
		       "failed relative open as %s", p->norel);
		po = find_open(r->me, p->nofile);
		ASSERT(po && po->ret == -ENOENT &&
		       po->resolved == VIV_PATH_AS_GIVEN, "failed open");
	}
	po = find_open(r->c_open, p->child);
	ASSERT(po && po->ret >= 0 && po->hdr.tid == (__u32)r->c_open,
	       "child open");

	i = 0;
	fp = next_rec(VIV_KIND_FILE_SYMLINK, r->me, &i);
	ASSERT(fp && fp->ret == 0 && fp->flags == 0 &&
	       !strcmp(fp->old_path, "viv-target-text") &&
	       fp->old_resolved == VIV_PATH_AS_GIVEN &&
	       !strcmp(fp->new_path, p->sym) &&
	       fp->new_resolved == VIV_PATH_FROM_DENTRY,
	       "symlink: %s -> %s", fp ? fp->new_path : "-",
	       fp ? fp->old_path : "-");
	i = 0;
	fp = next_rec(VIV_KIND_FILE_HARDLINK, r->me, &i);
	ASSERT(fp && fp->ret == 0 && fp->flags == 0 &&
	       !strcmp(fp->old_path, p->abs) && !strcmp(fp->new_path, p->hl) &&
	       fp->old_resolved == VIV_PATH_FROM_DENTRY &&
	       fp->new_resolved == VIV_PATH_FROM_DENTRY,
	       "hardlink: %s %s", fp ? fp->old_path : "-",
	       fp ? fp->new_path : "-");
	i = 0;
	fp = next_rec(VIV_KIND_FILE_RENAME, r->me, &i);
	ASSERT(fp && fp->ret == 0 && fp->flags == RENAME_NOREPLACE &&
	       !strcmp(fp->old_path, p->ren_a) &&
	       !strcmp(fp->new_path, p->ren_b) &&
	       fp->old_resolved == VIV_PATH_FROM_DENTRY &&
	       fp->new_resolved == VIV_PATH_FROM_DENTRY,
	       "rename: %s %s", fp ? fp->old_path : "-",
	       fp ? fp->new_path : "-");

	i = 0;
	while ((ch = next_rec(VIV_KIND_FILE_CHMOD, r->me, &i)) &&
	       strcmp(ch->path, p->abs))
		;
	ASSERT(ch && ch->ret == 0 && (ch->mode & 07777) == 0600 &&
	       ch->fd == -1 && ch->resolved == (lsm(VIV_KIND_FILE_CHMOD) ?
			VIV_PATH_FROM_DENTRY : VIV_PATH_AS_GIVEN),
	       "chmod %s", p->abs);
	ch = next_rec(VIV_KIND_FILE_CHMOD, r->me, &i);
	ASSERT(ch && ch->ret == 0 && (ch->mode & 07777) == 0644 &&
	       !strcmp(ch->path, p->abs) &&
	       ch->fd == (lsm(VIV_KIND_FILE_CHMOD) ? -1 : r->fchmod_fd) &&
	       ch->resolved == VIV_PATH_FROM_DENTRY, "fchmod %s: %s",
	       p->abs, ch ? ch->path : "-");

	i = 0;
	while ((gd = next_rec(VIV_KIND_FILE_GETDENTS, r->me, &i))) {
		if (strcmp(gd->path, p->dir) || gd->fd < 0 || !gd->count ||
		    gd->resolved != VIV_PATH_FROM_DENTRY)
			continue;
		more |= gd->ret > 0;
		end |= gd->ret == 0;
	}
	ASSERT(more && end, "getdents of %s", p->dir);
}

/* A second thread of the observer opens a file and forks a child that
 * opens another: their records name that thread as their origin. */
static void *second_thread(void *arg)
{
	struct run *r = arg;

	r->thread = syscall(SYS_gettid);
	close(open(r->p->thread, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	r->c_thread = run_child(r->p->thread_child, NULL, NULL);
	ASSERT(wait_child(r->c_thread) == 0, "second thread's child");
	return NULL;
}

static void trigger_thread(struct run *r)
{
	pthread_t t;

	ASSERT(!pthread_create(&t, NULL, second_thread, r), "thread");
	pthread_join(t, NULL);
}

static void check_thread(const struct run *r)
{
	const struct viv_path_open *po;

	po = find_open(r->me, r->p->thread);
	ASSERT(po && po->hdr.tid == (__u32)r->thread &&
	       po->hdr.origin == (__u32)r->thread, "second thread's open");
	po = find_open(r->c_thread, r->p->thread_child);
	ASSERT(po && po->hdr.origin == (__u32)r->thread,
	       "open by the second thread's child");
}

static void trigger_execs(const struct paths *p, struct run *r)
{
	char *true_argv[] = { "true", "--viv-test-arg", NULL };
	/* On the stack: a failed exec's argv is read from the child's
	 * memory, and a fresh child has not touched its .rodata pages. */
	char arg0[] = "viv-missing", arg1[] = "x";
	char *missing_argv[] = { arg0, arg1, NULL };

	r->c_open = run_child(p->child, NULL, NULL);
	ASSERT(wait_child(r->c_open) == 0, "child open");
	r->c_true = run_child(NULL, "/bin/true", true_argv);
	ASSERT(wait_child(r->c_true) == 0, "child exec");
	r->c_missing = run_child(NULL, "/nonexistent-viv/viv-missing",
				 missing_argv);
	ASSERT(wait_child(r->c_missing) == 0, "child failed exec");
}

static void check_execs(const struct run *r)
{
	const struct viv_proc_exec *ex;

	ex = find_exec(r->c_true);
	ASSERT(ex && ex->ret == 0 && !strcmp(ex->path, "/bin/true") &&
	       !strcmp(ex->comm, "true") && ex->argc == 2 &&
	       ex->args_len == sizeof("true\0--viv-test-arg") &&
	       !memcmp(ex->args, "true\0--viv-test-arg", ex->args_len),
	       "exec of /bin/true");
	ASSERT(find_open(r->c_true, "/etc/ld.so.cache"),
	       "the exec'd child's own opens");
	ex = find_exec(r->c_missing);
	ASSERT(ex && ex->ret == -ENOENT &&
	       !strcmp(ex->path, "/nonexistent-viv/viv-missing") &&
	       ex->argc == 2 && ex->args_len == sizeof("viv-missing\0x") &&
	       !memcmp(ex->args, "viv-missing\0x", ex->args_len),
	       "failed exec");
}

static pid_t sleeper(void)
{
	pid_t c = fork();

	if (!c) {
		for (;;)
			pause();
	}
	return c;
}

static void trigger_signals(struct run *r)
{
	int st, pidfd;

	r->c_ptrace = sleeper();
	ASSERT(!ptrace(PTRACE_ATTACH, r->c_ptrace, 0, 0), "attach: %s",
	       strerror(errno));
	ASSERT(waitpid(r->c_ptrace, &st, 0) == r->c_ptrace && WIFSTOPPED(st),
	       "tracee stopped");
	ASSERT(!ptrace(PTRACE_DETACH, r->c_ptrace, 0, 0), "detach");
	ASSERT(!kill(r->c_ptrace, SIGTERM), "kill");
	ASSERT(waitpid(r->c_ptrace, &st, 0) == r->c_ptrace, "wait tracee");

	r->c_pidfd = sleeper();
	pidfd = syscall(SYS_pidfd_open, r->c_pidfd, 0);
	ASSERT(pidfd >= 0, "pidfd_open");
	ASSERT(!syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0),
	       "pidfd_send_signal");
	close(pidfd);
	ASSERT(waitpid(r->c_pidfd, &st, 0) == r->c_pidfd, "wait");
}

static void check_signals(const struct run *r)
{
	const struct viv_ptrace_check *pt;
	const struct viv_task_kill *tk;
	bool lsm_pt = lsm(VIV_KIND_PTRACE_CHECK);
	bool lsm_tk = lsm(VIV_KIND_TASK_KILL);
	bool attach = false, term = false, pidfd = false;
	size_t i = 0;

	while ((pt = next_rec(VIV_KIND_PTRACE_CHECK, r->me, &i))) {
		if (pt->target_pid != (__u32)r->c_ptrace || pt->ret)
			continue;
		if (lsm_pt)
			attach |= pt->is_mode == 1 &&
				  (pt->request & VIV_PTRACE_MODE_ATTACH) &&
				  !strcmp(pt->target_comm, comm);
		else
			attach |= pt->is_mode == 0 &&
				  pt->request == PTRACE_ATTACH;
	}
	ASSERT(attach, "ptrace attach of %d", r->c_ptrace);

	i = 0;
	while ((tk = next_rec(VIV_KIND_TASK_KILL, r->me, &i))) {
		if (tk->ret)
			continue;
		if (tk->target_pid == r->c_ptrace && tk->sig == SIGTERM)
			term |= lsm_tk ? tk->via == VIV_KILL_LSM &&
					 tk->target_tid == (__u32)r->c_ptrace &&
					 !strcmp(tk->target_comm, comm) :
					 tk->via == VIV_KILL_KILL &&
					 tk->target_tid == 0;
		if (tk->target_pid == r->c_pidfd && tk->sig == SIGKILL)
			pidfd |= tk->via == (lsm_tk ? VIV_KILL_LSM :
						       VIV_KILL_PIDFD);
	}
	ASSERT(term, "kill(%d, SIGTERM)", r->c_ptrace);
	ASSERT(pidfd, "pidfd_send_signal to %d", r->c_pidfd);
}

/* In a mount namespace of its own: mount(2), then the new mount API. */
static pid_t trigger_mounts(const struct paths *p)
{
	pid_t c = fork();
	int fs, m;

	if (c)
		return c;
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		_exit(1);
	if (mount("viv-kt", p->mnt, "tmpfs", MS_NOSUID, "size=64k") ||
	    umount(p->mnt))
		_exit(2);
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "source", "viv-kt-new", 0) ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		_exit(3);
	m = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (m < 0 || move_mount(m, "", AT_FDCWD, p->mnt,
				MOVE_MOUNT_F_EMPTY_PATH))
		_exit(4);
	/* The descriptor holds the mount busy. */
	close(m);
	close(fs);
	_exit(umount(p->mnt) ? 5 : 0);
}

static void check_mounts(const struct paths *p, const struct run *r)
{
	const struct viv_sb_mount *sm;
	bool old_api = false, new_api = false;
	size_t i = 0;

	while ((sm = next_rec(VIV_KIND_SB_MOUNT, r->c_mount, &i))) {
		if (sm->ret || strcmp(sm->fstype, "tmpfs") ||
		    strcmp(sm->target, p->mnt))
			continue;
		old_api |= !strcmp(sm->source, "viv-kt") &&
			   (sm->flags & MS_NOSUID);
		new_api |= !strcmp(sm->source, "viv-kt-new") &&
			   sm->flags == (lsm(VIV_KIND_SB_MOUNT) ? 0 :
					 MOVE_MOUNT_F_EMPTY_PATH);
	}
	ASSERT(old_api, "mount tmpfs on %s", p->mnt);
	ASSERT(new_api, "move_mount tmpfs to %s", p->mnt);
}

static void trigger_read_file(const struct paths *p)
{
	int fd;

	if (!observed(VIV_KIND_KERNEL_READ_FILE))
		return;
	fd = open(p->mod, O_RDONLY | O_CLOEXEC);
	ASSERT(fd >= 0, "open %s", p->mod);
	ASSERT(syscall(SYS_finit_module, fd, "", 0) < 0, "a module loaded");
	close(fd);
}

static void check_read_file(const struct paths *p, const struct run *r)
{
	const struct viv_kernel_read_file *rf;
	bool lsm_rf = lsm(VIV_KIND_KERNEL_READ_FILE);
	const char *why = NULL;
	size_t i = 0;

	if (!observed(VIV_KIND_KERNEL_READ_FILE)) {
		viv_kernel__backend(K, VIV_KIND_KERNEL_READ_FILE, &why);
		ASSERT(why && strstr(why, "CONFIG_MODULES"), "why: %s", why);
		return;
	}
	while ((rf = next_rec(VIV_KIND_KERNEL_READ_FILE, r->me, &i))) {
		if (!strcmp(rf->path, p->mod))
			break;
	}
	/* READING_MODULE is 2 since 5.10. */
	ASSERT(rf && rf->id == 2 && rf->contents == 1 &&
	       (lsm_rf ? rf->ret == 0 && rf->resolved == VIV_PATH_D_PATH :
			 rf->ret < 0 && rf->resolved == VIV_PATH_FROM_DENTRY),
	       "finit_module of %s", p->mod);
}

/* setgid and setuid to nobody, then exec the set-user-ID copy. */
static pid_t trigger_privileges(const struct paths *p)
{
	pid_t c = fork();

	if (c)
		return c;
	if (setgid(NOBODY) || setuid(NOBODY))
		_exit(1);
	execl(p->suid, "viv-suid", (char *)NULL);
	_exit(2);
}

static bool ids_are(const __u32 ids[3], __u32 a, __u32 b, __u32 c)
{
	return ids[0] == a && ids[1] == b && ids[2] == c;
}

static void check_privileges(const struct paths *p, const struct run *r)
{
	const struct viv_setid_change *sc;
	const struct viv_bprm_creds *bc;
	bool lsm_sc = lsm(VIV_KIND_SETID_CHANGE);
	bool gid = false, uid = false;
	size_t i = 0;

	while ((sc = next_rec(VIV_KIND_SETID_CHANGE, r->c_priv, &i))) {
		if (sc->ret || !ids_are(sc->old_ids, 0, 0, 0))
			continue;
		if (lsm_sc) {
			gid |= sc->call == VIV_SETID_SETGID &&
			       ids_are(sc->new_ids, NOBODY, NOBODY, NOBODY);
			uid |= sc->call == VIV_SETID_SETUID &&
			       ids_are(sc->new_ids, NOBODY, NOBODY, NOBODY);
		} else {
			gid |= sc->call == VIV_SETID_SETGID &&
			       ids_are(sc->new_ids, NOBODY, -1, -1);
			uid |= sc->call == VIV_SETID_SETUID &&
			       ids_are(sc->new_ids, NOBODY, -1, -1);
		}
	}
	ASSERT(gid, "setgid(%d)", NOBODY);
	ASSERT(uid, "setuid(%d)", NOBODY);

	i = 0;
	bc = next_rec(VIV_KIND_BPRM_CREDS, r->c_priv, &i);
	ASSERT(bc && bc->ret == 0 && (bc->file_mode & S_ISUID) &&
	       bc->file_uid == 0 && bc->old_euid == NOBODY &&
	       bc->old_egid == NOBODY && !strcmp(bc->path, p->suid),
	       "exec of set-user-ID %s: %s", p->suid, bc ? bc->path : "-");
	i = 0;
	while ((bc = next_rec(VIV_KIND_BPRM_CREDS, 0, &i)))
		ASSERT(bc->file_mode & (S_ISUID | S_ISGID),
		       "exec of %s reported", bc->path);
}

static void check_capable(const struct run *r)
{
	const struct viv_capable_check *cc;
	const char *why = NULL;
	size_t i = 0;

	if (!observed(VIV_KIND_CAPABLE_CHECK)) {
		viv_kernel__backend(K, VIV_KIND_CAPABLE_CHECK, &why);
		ASSERT(why && strstr(why, "cap_capable"), "why: %s", why);
		return;
	}
	while ((cc = next_rec(VIV_KIND_CAPABLE_CHECK, r->c_cap, &i))) {
		if (cc->cap == CAP_SYS_ADMIN && cc->ret == 0)
			break;
	}
	ASSERT(cc, "CAP_SYS_ADMIN for unshare(CLONE_NEWUTS)");
	/* The built-in list leaves CAP_KILL out, for one. */
	i = 0;
	while ((cc = next_rec(VIV_KIND_CAPABLE_CHECK, 0, &i)))
		ASSERT(cc->cap != CAP_KILL && cc->cap != CAP_SYS_RESOURCE,
		       "capability %u reported", cc->cap);
}

static void trigger_sockets(struct run *r)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sa_len = sizeof(sa);
	int lsn;

	r->nl_sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ASSERT(r->nl_sock >= 0, "netlink socket");
	r->raw_sock = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	ASSERT(r->raw_sock >= 0, "raw socket");
	close(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	close(r->nl_sock);
	close(r->raw_sock);

	lsn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT(!bind(lsn, (struct sockaddr *)&sa, sizeof(sa)) &&
	       !listen(lsn, 1) &&
	       !getsockname(lsn, (struct sockaddr *)&sa, &sa_len), "listen");
	r->cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT(!connect(r->cli, (struct sockaddr *)&sa, sizeof(sa)), "connect");
	r->tcp = sa;
	close(r->cli);
	close(lsn);
}

static void check_sockets(const struct run *r)
{
	const struct viv_sock_connect *sc;
	const struct viv_odd_socket *os;
	bool lsm_os = lsm(VIV_KIND_ODD_SOCKET);
	bool nl = false, raw = false, dgram = false, tcp = false;
	size_t i = 0;

	while ((os = next_rec(VIV_KIND_ODD_SOCKET, r->me, &i))) {
		nl |= os->family == AF_NETLINK && os->protocol == NETLINK_ROUTE &&
		      (lsm_os ? os->type == SOCK_RAW && os->ret == 0 :
				os->type == (SOCK_RAW | SOCK_CLOEXEC) &&
				os->ret == r->nl_sock);
		raw |= os->family == AF_INET && os->type == SOCK_RAW &&
		       os->protocol == IPPROTO_ICMP &&
		       os->ret == (lsm_os ? 0 : r->raw_sock);
		dgram |= os->family == AF_INET && (os->type & 0xf) != SOCK_RAW;
	}
	ASSERT(nl && raw && !dgram, "odd sockets: netlink %d raw %d dgram %d",
	       nl, raw, dgram);

	i = 0;
	while ((sc = next_rec(VIV_KIND_SOCK_CONNECT, r->me, &i))) {
		if (sc->addr_len != sizeof(r->tcp) ||
		    memcmp(sc->addr, &r->tcp, sizeof(r->tcp)))
			continue;
		tcp |= sc->ret == 0 && sc->fd == (lsm(VIV_KIND_SOCK_CONNECT) ?
						 -1 : r->cli);
	}
	ASSERT(tcp, "connect to 127.0.0.1:%u", ntohs(r->tcp.sin_port));
}

/* A DNS query for www.example.com, type A, told apart by its id. */
static const unsigned char dns_query[] = {
	0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o',
	'm', 0, 0x00, 0x01, 0x00, 0x01,
};

#define DNS_QUERIES	5
#define DNS_OTHER_PORT	0x0f

static void query(unsigned char *q, int id)
{
	memcpy(q, dns_query, sizeof(dns_query));
	q[0] = 0x7e;
	q[1] = id;
}

/*
 * To a listener of ours on 127.0.0.1:53: sendto with the address, then
 * connected as glibc's resolver does (send, sendmsg, sendmmsg of two), and
 * one to another port, which must not count.
 */
static void trigger_dns(struct run *r)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(53) };
	struct sockaddr_in other = { .sin_family = AF_INET,
				     .sin_port = htons(5353) };
	unsigned char q[DNS_QUERIES + 1][sizeof(dns_query)];
	struct mmsghdr mm[2] = {};
	struct iovec iov[3];
	struct msghdr msg = {};
	int srv, c, i;

	for (i = 0; i <= DNS_QUERIES; i++)
		query(q[i], i ? i : DNS_OTHER_PORT);
	sa.sin_addr.s_addr = other.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r->dns = !bind(srv, (struct sockaddr *)&sa, sizeof(sa));
	ASSERT(r->dns, "bind 127.0.0.1:53: %s", strerror(errno));
	if (!r->dns)
		goto out;
	c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT(sendto(c, q[0], sizeof(q[0]), 0, (struct sockaddr *)&other,
		      sizeof(other)) == sizeof(q[0]), "sendto :5353");
	close(c);
	c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT(sendto(c, q[1], sizeof(q[1]), 0, (struct sockaddr *)&sa,
		      sizeof(sa)) == sizeof(q[1]), "sendto :53");
	ASSERT(!connect(c, (struct sockaddr *)&sa, sizeof(sa)), "connect :53");
	ASSERT(send(c, q[2], sizeof(q[2]), 0) == sizeof(q[2]), "send");
	iov[0] = (struct iovec){ q[3], sizeof(q[3]) };
	msg.msg_iov = &iov[0];
	msg.msg_iovlen = 1;
	ASSERT(sendmsg(c, &msg, 0) == sizeof(q[3]), "sendmsg");
	iov[1] = (struct iovec){ q[4], sizeof(q[4]) };
	iov[2] = (struct iovec){ q[5], sizeof(q[5]) };
	mm[0].msg_hdr.msg_iov = &iov[1];
	mm[0].msg_hdr.msg_iovlen = 1;
	mm[1].msg_hdr.msg_iov = &iov[2];
	mm[1].msg_hdr.msg_iovlen = 1;
	ASSERT(sendmmsg(c, mm, 2, 0) == 2, "sendmmsg");
	close(c);
out:
	close(srv);
}

static void check_dns(const struct run *r)
{
	const __u8 loopback[4] = { 127, 0, 0, 1 };
	const struct viv_dns_req *dr;
	unsigned char q[sizeof(dns_query)];
	int seen[DNS_QUERIES + 1] = {}, id, n = 0;
	size_t i = 0;

	if (!r->dns)
		return;
	while ((dr = next_rec(VIV_KIND_DNS_REQ, r->me, &i))) {
		id = dr->query[1];
		query(q, id);
		if (id == DNS_OTHER_PORT) {
			seen[0]++;
			continue;
		}
		if (id < 1 || id > DNS_QUERIES || dr->family != AF_INET ||
		    dr->port != 53 || memcmp(dr->addr, loopback, 4) ||
		    dr->len != sizeof(q) || dr->ret != sizeof(q) ||
		    memcmp(dr->query, q, sizeof(q)))
			continue;
		seen[id]++;
		n++;
	}
	ASSERT(!seen[0], "query to port 5353 reported");
	for (id = 1; id <= DNS_QUERIES; id++)
		ASSERT(seen[id] == 1, "dns query %d: seen %d times", id,
		       seen[id]);
	ASSERT(n == DNS_QUERIES, "%d dns records", n);
}

/* Where each event must be: LSM where it has programs and BPF LSM works
 * (unless the tracepoints are forced), else its tracepoints, else
 * unavailable with the reason. */
static void check_backends(struct viv_kernel *k)
{
	bool read_file_tp = exists(TRACEFS_EVENTS "syscalls/sys_enter_finit_module") ||
		exists(TRACEFS_EVENTS "syscalls/sys_enter_init_module") ||
		exists(TRACEFS_EVENTS "syscalls/sys_enter_kexec_file_load");
	bool cap_tp = exists(TRACEFS_EVENTS "capability/cap_capable");
	uint32_t want = 0;
	int kind;

	for (kind = VIV_KIND_NONE + 1; kind < VIV_KIND_MAX; kind++) {
		bool use_lsm = has_lsm_progs(kind) && lsm_works &&
			       want_backend != VIV_BACKEND_TRACEPOINT;
		const char *why = NULL, *b = viv_kernel__backend(k, kind, &why);

		if (!use_lsm && ((kind == VIV_KIND_KERNEL_READ_FILE &&
				  !read_file_tp) ||
				 (kind == VIV_KIND_CAPABLE_CHECK && !cap_tp))) {
			ASSERT(!b && why && strlen(why) > 20,
			       "%s: unavailable, why: %s",
			       viv_event__name(kind), why);
			continue;
		}
		want |= VIV_EVENT_BIT(kind);
		ASSERT(b && !strcmp(b, use_lsm ? "lsm" : "tracepoint"),
		       "%s: backend %s (%s)", viv_event__name(kind),
		       b ? b : "none", why ? why : "");
	}
	ASSERT(viv_kernel__events(k) == want, "events 0x%x, want 0x%x",
	       viv_kernel__events(k), want);
}

/*
 * Relative opens: across mount points (/dev, then /dev/shm, both tmpfs
 * on most systems) the path is rebuilt; deeper than the walk goes, it
 * stays as given on the tracepoints, while bpf_d_path() has no such
 * limit below 256 bytes.
 */
static void test_relative(int ring_fd)
{
	char name[64], want[96], deep[64], cwd[4096], leaf[256];
	const struct viv_path_open *po;
	bool by_lsm = lsm(VIV_KIND_PATH_OPEN);
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
	snprintf(leaf, sizeof(leaf), "%s", deep);
	for (i = 0; i < 40; i++) {
		ASSERT(!mkdir("d", 0700) && !chdir("d"), "deep dir %d", i);
		strcat(leaf, "/d");
	}
	strcat(leaf, "/leaf");
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
		ASSERT(po && po->resolved == (by_lsm ? VIV_PATH_D_PATH :
					      VIV_PATH_FROM_DENTRY),
		       "%s across mounts", want);
	}
	if (by_lsm) {
		po = find_open(me, leaf);
		ASSERT(po && po->ret == 0 && po->resolved == VIV_PATH_D_PATH,
		       "deep path from bpf_d_path");
	} else {
		po = find_open(me, "leaf");
		ASSERT(po && po->ret >= 0 && po->resolved == VIV_PATH_AS_GIVEN,
		       "deep path kept as given");
	}
	clear(&recs);
}

static enum viv_backend backend_from_env(void)
{
	const char *b = getenv("VIVARIUM_TEST_BACKEND");

	if (b && !strcmp(b, "lsm"))
		return VIV_BACKEND_LSM;
	if (b && !strcmp(b, "tracepoint"))
		return VIV_BACKEND_TRACEPOINT;
	return VIV_BACKEND_AUTO;
}

static void test_events(void)
{
	struct viv_kernel_opts opts = { .backend = want_backend };
	__u32 before[MAX_IDS], after[MAX_IDS];
	struct viv_registration reg, dup;
	uint64_t stats[VIV_STAT_MAX];
	struct run r = { .me = getpid() };
	struct viv_lost *lost;
	struct viv_kernel *k;
	struct paths p;
	viv_print_fn old;
	const char *why;
	size_t nb, na;
	double t0, t1;
	int n;

	paths_init(&p, r.me);
	r.p = &p;
	paths_remove(&p);
	nb = viv_prog_ids(before, MAX_IDS);
	t0 = now_ms();
	k = viv_kernel__load(&opts);
	t1 = now_ms();
	ASSERT(k, "load: %s", viv_errstr(errno));
	if (!k)
		return;
	K = k;
	printf("load+attach: %.1f ms\n", t1 - t0);
	na = viv_prog_ids(after, MAX_IDS);
	ASSERT(report_programs(before, nb, after, na) > 0,
	       "no viv_ programs appeared");
	check_backends(k);
	ASSERT(!viv_kernel__backend(k, VIV_KIND_NONE, &why) &&
	       !strcmp(why, "not an event kind"), "kind 0");

	old = viv_set_print(capture);
	ASSERT(viv_kernel__add_observer(k, r.me, 12345, &reg) == -EINVAL,
	       "odd ring size accepted");
	ASSERT(viv_kernel__add_observer(k, r.me, 1024, &reg) == -EINVAL,
	       "ring below a page accepted");
	viv_set_print(old);
	make_files(&p);
	n = viv_kernel__add_observer(k, r.me, RING_SIZE, &reg);
	ASSERT(!n, "add_observer: %s", viv_errstr(n));
	if (n)
		goto out;
	ASSERT(reg.id && reg.ring_size == RING_SIZE && reg.ring_fd >= 0 &&
	       reg.lost_fd >= 0, "registration %u %u %d %d", reg.id,
	       reg.ring_size, reg.ring_fd, reg.lost_fd);
	old = viv_set_print(capture);
	ASSERT(viv_kernel__add_observer(k, r.me, RING_SIZE, &dup) == -EEXIST,
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

	trigger_files(&p, &r);
	trigger_execs(&p, &r);
	trigger_signals(&r);
	r.c_mount = trigger_mounts(&p);
	ASSERT(wait_child(r.c_mount) == 0, "mounts child");
	trigger_read_file(&p);
	r.c_priv = trigger_privileges(&p);
	ASSERT(wait_child(r.c_priv) == 0, "set*id and exec child");
	r.c_cap = fork();
	if (!r.c_cap)
		_exit(unshare(CLONE_NEWUTS) ? 1 : 0);
	ASSERT(wait_child(r.c_cap) == 0, "unshare child");
	trigger_sockets(&r);
	trigger_dns(&r);
	trigger_thread(&r);

	n = drain(reg.ring_fd);
	ASSERT(n > 0, "drain: %d", n);
	check_headers(r.me, r.thread, r.c_thread);
	check_thread(&r);
	check_files(&p, &r);
	check_execs(&r);
	check_signals(&r);
	check_mounts(&p, &r);
	check_read_file(&p, &r);
	check_privileges(&p, &r);
	check_capable(&r);
	check_sockets(&r);
	check_dns(&r);

	ASSERT(!viv_kernel__stats(k, stats), "stats");
	ASSERT(stats[VIV_STAT_EMITTED] >= recs.n && !stats[VIV_STAT_LOST],
	       "emitted %llu lost %llu", (unsigned long long)stats[0],
	       (unsigned long long)stats[VIV_STAT_LOST]);
	clear(&recs);
	if (lost != MAP_FAILED)
		test_lost(k, lost);
	test_relative(reg.ring_fd);
	/* The stats read above opened a sysfs file: flush its record. */
	drain(reg.ring_fd);
	clear(&recs);

	ASSERT(!viv_kernel__remove_observer(k, reg.id, r.me), "remove");
	ASSERT(!viv_kernel__remove_observer(k, reg.id, r.me), "remove twice");
	close(open(p.abs, O_RDONLY));
	/* The bpf() calls of the removal itself may show as capability
	 * checks (CAP_BPF) before the target goes; the open must not. */
	drain(reg.ring_fd);
	ASSERT(!find_open(r.me, p.abs), "records after remove");
	clear(&recs);
	if (lost != MAP_FAILED)
		munmap(lost, VIV_MAX_OBSERVERS * sizeof(*lost));
	close(reg.ring_fd);
	close(reg.lost_fd);
out:
	t0 = now_ms();
	viv_kernel__close(k);
	printf("close: %.1f ms\n", now_ms() - t0);
	K = NULL;
	ASSERT(leftover(before, nb, after, na) == 0, "programs left loaded");
	paths_remove(&p);
	clear(&recs);
}

/* Whether the trace buffer holds a kprint line of process @pid. */
static bool kprint_seen(pid_t pid, const char *kind)
{
	char line[1024], want[64];
	bool seen = false;
	FILE *f;

	f = fopen("/sys/kernel/tracing/trace", "r");
	if (!f)
		f = fopen("/sys/kernel/debug/tracing/trace", "r");
	if (!f)
		return false;
	snprintf(want, sizeof(want), "vivarium: pid=%d ", pid);
	while (!seen && fgets(line, sizeof(line), f))
		seen = strstr(line, want) && strstr(line, kind);
	fclose(f);
	return seen;
}

/*
 * The options: only paths under a prefix, only the capabilities asked
 * for, and a trace_pipe line per record.
 */
static void test_options(void)
{
	char dir[64], yes[96], no[96], pfx[96];
	const char *prefixes[] = { pfx, "/viv-kt-never" };
	const uint32_t caps[] = { CAP_SYS_CHROOT };
	struct viv_kernel_opts opts = {
		.events = VIV_EVENT_BIT(VIV_KIND_PATH_OPEN) |
			  VIV_EVENT_BIT(VIV_KIND_CAPABLE_CHECK),
		.backend = want_backend,
		.path_prefixes = prefixes,
		.n_path_prefixes = 2,
		.caps = caps,
		.n_caps = 1,
		.kprint = true,
	};
	const struct viv_capable_check *cc;
	const struct viv_path_open *po;
	struct viv_registration reg;
	bool chroot_seen = false;
	pid_t me = getpid(), c;
	struct viv_kernel *k;
	size_t i = 0;
	int err;

	snprintf(dir, sizeof(dir), "/tmp/viv-kt-%d-opt", me);
	snprintf(pfx, sizeof(pfx), "%s/pfx", dir);
	snprintf(yes, sizeof(yes), "%s/pfx-yes", dir);
	snprintf(no, sizeof(no), "%s/other", dir);
	ASSERT(!mkdir(dir, 0700), "mkdir %s", dir);
	k = viv_kernel__load(&opts);
	ASSERT(k, "load with options: %s", viv_errstr(errno));
	if (!k)
		goto out;
	K = k;
	err = viv_kernel__add_observer(k, me, RING_SIZE, &reg);
	ASSERT(!err, "add_observer: %s", viv_errstr(err));
	if (err)
		goto out_close;
	close(open(yes, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	close(open(no, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	c = fork();
	if (!c)
		_exit(chroot("/") || unshare(CLONE_NEWUTS));
	ASSERT(wait_child(c) == 0, "chroot child");
	drain(reg.ring_fd);

	ASSERT(find_open(me, yes), "open under the prefix");
	while ((po = next_rec(VIV_KIND_PATH_OPEN, 0, &i)))
		ASSERT(!strncmp(po->path, pfx, strlen(pfx)),
		       "open outside the prefixes: %s", po->path);
	i = 0;
	while ((cc = next_rec(VIV_KIND_CAPABLE_CHECK, 0, &i))) {
		ASSERT(cc->cap == CAP_SYS_CHROOT, "capability %u", cc->cap);
		chroot_seen |= cc->hdr.pid == (__u32)c;
	}
	ASSERT(chroot_seen || !observed(VIV_KIND_CAPABLE_CHECK),
	       "CAP_SYS_CHROOT check");
	ASSERT(kprint_seen(me, "kind=path_open"), "kprint line");
	clear(&recs);
	viv_kernel__remove_observer(k, reg.id, me);
	close(reg.ring_fd);
	close(reg.lost_fd);
out_close:
	viv_kernel__close(k);
	K = NULL;
out:
	unlink(yes);
	unlink(no);
	rmdir(dir);
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
	struct viv_kernel_opts opts = {
		.events = VIV_EVENT_BIT(VIV_KIND_PATH_OPEN),
		.backend = want_backend,
	};
	const char *backend;
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
	backend = viv_kernel__backend(k, VIV_KIND_PATH_OPEN, NULL);
	snprintf(path, sizeof(path), "%s/link_%s", dir,
		 backend && !strcmp(backend, "lsm") ? "viv_lsm_file_open" :
						      "viv_openat_exit");
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
	ASSERT(backend && viv_kernel__backend(a, VIV_KIND_PATH_OPEN, NULL) &&
	       !strcmp(viv_kernel__backend(a, VIV_KIND_PATH_OPEN, NULL),
		       backend), "backend through the pins");
	ASSERT(!viv_kernel__backend(a, VIV_KIND_SOCK_CONNECT, &why) &&
	       why && strstr(why, "daemon"), "why through the pins");
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
	ssize_t n;
	int fd;

	if (geteuid()) {
		printf("kernel_test: skipped: needs root\n");
		return 0;
	}
	umask(022);
	fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : 0;
	if (n > 0 && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
	close(fd);
	want_backend = backend_from_env();
	lsm_works = getenv("VIVARIUM_IN_VM") && lsm_listed();
	printf("backend asked: %s; BPF LSM %s\n",
	       want_backend == VIV_BACKEND_LSM ? "lsm" :
	       want_backend == VIV_BACKEND_TRACEPOINT ? "tracepoint" : "auto",
	       lsm_works ? "works (guest)" : "refused or absent");
	test_prerequisites();
	test_events();
	test_options();
	test_pinned();
	return check_report();
}
