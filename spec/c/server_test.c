/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A daemon's socket end to end on the running kernel: a server on a
 * socket in a private directory, an observer registering through it, one
 * that does so after dropping to an unprivileged user, the status query,
 * malformed clients, local and automatic modes. Needs root; without it,
 * only the socket path rules are checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "check.h"
#include "protocol.h"
#include "vivarium.h"

#define NOBODY		65534
#define MAX_IDS		128
#define LOSSY_OPENS	100

static char dir[] = "/tmp/viv-server-test.XXXXXX";
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
/* Programs and maps of every kernel side loaded here, checked gone at the
 * end. */
static uint32_t progs[MAX_IDS], maps[MAX_IDS];
static int nprogs, nmaps;
/* The last warning the library printed: failures expected here are
 * checked for their message instead of cluttering the output. */
static char last_warn[512];

static int capture(enum viv_log_level level, const char *fmt, va_list ap)
{
	if (level == VIV_WARN)
		vsnprintf(last_warn, sizeof(last_warn), fmt, ap);
	else if (level <= viv_log_level())
		vfprintf(stderr, fmt, ap);
	return 0;
}

/* ---- socket path rules (no root needed) ---------------------------------- */

static void test_socket_path(void)
{
	char buf[128], small[20], out[256];

	unsetenv("VIVARIUM_SOCKET");
	CHECK(!viv_socket_path(NULL, buf, sizeof(buf)) &&
	      !strcmp(buf, "/run/vivarium/vivarium.sock"), "NULL: %s", buf);
	CHECK(!viv_socket_path("/sys/fs/bpf/vivarium", buf, sizeof(buf)) &&
	      !strcmp(buf, "/run/vivarium/vivarium.sock"), "default: %s", buf);
	CHECK(!viv_socket_path("/sys/fs/bpf/vivarium/", buf, sizeof(buf)) &&
	      !strcmp(buf, "/run/vivarium/vivarium.sock"), "trailing slash: %s", buf);
	CHECK(!viv_socket_path("/sys/fs/bpf/test", buf, sizeof(buf)) &&
	      !strcmp(buf, "/run/vivarium/sys-fs-bpf-test.sock"), "other: %s", buf);
	CHECK(!viv_socket_path("/sys/fs/bpf/a/b/", buf, sizeof(buf)) &&
	      !strcmp(buf, "/run/vivarium/sys-fs-bpf-a-b.sock"), "nested: %s", buf);
	CHECK(viv_socket_path("/sys/fs/bpf/test", small, sizeof(small)) == -ENAMETOOLONG,
	      "buffer too small");
	memset(buf, 'a', sizeof(buf) - 1);
	buf[0] = '/';
	buf[sizeof(buf) - 1] = '\0';
	CHECK(viv_socket_path(buf, out, sizeof(out)) == -ENAMETOOLONG, "longer than sun_path");
	setenv("VIVARIUM_SOCKET", "/tmp/x.sock", 1);
	CHECK(!viv_socket_path("/sys/fs/bpf/test", buf, sizeof(buf)) &&
	      !strcmp(buf, "/tmp/x.sock"), "env: %s", buf);
	unsetenv("VIVARIUM_SOCKET");
}

/* ---- protocol parsing (no root needed) ----------------------------------- */

static void test_parse(void)
{
	struct viv_msg_hello h = {
		.magic = VIV_MSG_MAGIC, .version = VIV_MSG_VERSION, .type = VIV_MSG_REGISTER,
	}, out;
	struct viv_msg_welcome w = {
		.magic = VIV_MSG_MAGIC, .version = VIV_MSG_VERSION, .type = VIV_MSG_WELCOME,
		.id = 1025, .ring_size = 4096, .lost_slot = 1,
	}, wout;
	char big[64] = { 0 };

	CHECK(!viv_msg_hello__parse(&h, sizeof(h), &out), "hello");
	CHECK(viv_msg_hello__parse(&h, sizeof(h) - 1, &out) == -EPROTO, "hello short");
	memcpy(big, &h, sizeof(h));
	CHECK(viv_msg_hello__parse(big, sizeof(h) + 1, &out) == -EPROTO, "hello long");
	CHECK(viv_msg_hello__parse(NULL, 0, &out) == -EPROTO, "hello NULL");
	h.version = 2;
	CHECK(viv_msg_hello__parse(&h, sizeof(h), &out) == -EPROTONOSUPPORT, "hello v2");
	h.version = VIV_MSG_VERSION;
	h.magic ^= 1;
	CHECK(viv_msg_hello__parse(&h, sizeof(h), &out) == -EPROTO, "hello magic");
	h.magic ^= 1;
	h.type = VIV_MSG_WELCOME;
	CHECK(viv_msg_hello__parse(&h, sizeof(h), &out) == -EPROTO, "hello type");
	h.type = VIV_MSG_REGISTER;
	h.ring_size = 3000;
	CHECK(viv_msg_hello__parse(&h, sizeof(h), &out) == -EPROTO, "hello ring size");
	h.ring_size = 0;
	h.pad = 1;
	CHECK(viv_msg_hello__parse(&h, sizeof(h), &out) == -EPROTO, "hello pad");

	CHECK(!viv_msg_welcome__parse(&w, sizeof(w), &wout) && wout.id == 1025, "welcome");
	w.lost_slot = 2;
	CHECK(viv_msg_welcome__parse(&w, sizeof(w), &wout) == -EPROTO, "welcome slot");
	w.lost_slot = 1;
	w.backends[3] = 7;
	CHECK(viv_msg_welcome__parse(&w, sizeof(w), &wout) == -EPROTO, "welcome backend");
	w.backends[3] = 0;
	w.err = 5;
	CHECK(viv_msg_welcome__parse(&w, sizeof(w), &wout) == -EPROTO, "welcome err > 0");
	w.err = -EBUSY;
	w.id = 0;
	CHECK(!viv_msg_welcome__parse(&w, sizeof(w), &wout) && wout.err == -EBUSY,
	      "welcome with an error");
	w.err = 0;
	CHECK(viv_msg_welcome__parse(&w, sizeof(w), &wout) == -EPROTO, "welcome id 0");
}

/* ---- helpers ----------------------------------------------------------------- */

struct server_thread {
	struct viv_server *s;
	pthread_t thread;
	int observers;
	int stop;
};

static void *serve(void *arg)
{
	struct server_thread *st = arg;
	struct pollfd p = { .fd = viv_server__fd(st->s), .events = POLLIN };
	int n;

	while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
		poll(&p, 1, 20 /* ms */);
		n = viv_server__process(st->s);
		if (n >= 0)
			__atomic_store_n(&st->observers, n, __ATOMIC_RELEASE);
	}
	return NULL;
}

static bool wait_observers(struct server_thread *st, int want)
{
	int i;

	for (i = 0; i < 300; i++) {
		if (__atomic_load_n(&st->observers, __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(10000);
	}
	return false;
}

struct find {
	const char *path;
	pid_t pid;
	int found;
	int events;
};

static int find_open(void *ctx, const struct viv_event *ev)
{
	const struct viv_path_open *po = (const void *)ev->raw;
	struct find *f = ctx;

	f->events++;
	if (ev->kind == VIV_KIND_PATH_OPEN && ev->pid == (uint32_t)f->pid &&
	    !strcmp(po->path, f->path) && po->ret >= 0)
		f->found++;
	return 0;
}

/* Open @path and look for its path_open in @o. Returns how often seen. */
static int open_and_find(struct viv_observer *o, const char *path, int flags)
{
	struct find f = { .path = path, .pid = getpid() };
	int fd, i;

	fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	for (i = 0; i < 50 && !f.found; i++) {
		if (viv_observer__pending(o) && viv_observer__drain(o, find_open, &f) < 0)
			return -EIO;
		if (!f.found)
			usleep(10000);
	}
	return f.found;
}

static int count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* opendir's own */
}

/* Ids of the BPF programs and maps this process holds descriptors of. */
static int held_ids(const char *key, uint32_t *ids, int max)
{
	char path[300], line[128];
	struct dirent *de;
	DIR *d = opendir("/proc/self/fdinfo");
	unsigned int id;
	int n = 0;
	FILE *f;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, key, &id) == 1 && n < max)
				ids[n++] = id;
		fclose(f);
	}
	closedir(d);
	return n;
}

static void remember_ids(void)
{
	nprogs += held_ids("prog_id:\t%u", progs + nprogs, MAX_IDS - nprogs);
	nmaps += held_ids("map_id:\t%u", maps + nmaps, MAX_IDS - nmaps);
}

/* The kernel frees programs and maps after an RCU grace period. */
static int ids_alive(const uint32_t *ids, int n, bool prog)
{
	int i, tries, alive = 0, fd;

	for (tries = 0; tries < 300; tries++) {
		alive = 0;
		for (i = 0; i < n; i++) {
			fd = prog ? bpf_prog_get_fd_by_id(ids[i]) : bpf_map_get_fd_by_id(ids[i]);
			if (fd >= 0) {
				alive++;
				close(fd);
			}
		}
		if (!alive)
			break;
		usleep(10000);
	}
	return alive;
}

/* ---- the unprivileged observer ---------------------------------------------- */

struct child_report {
	int stage;	/* how far it got */
	int err;
	int found;
	int auto_errno;
	uint32_t id;
	char auto_msg[sizeof(last_warn)];
};

/* Forked before any thread exists; waits for @go, reports on @out. */
static void child_main(int go, int out, const char *file)
{
	struct viv_observer_opts opts = { .connect = VIV_CONNECT_DAEMON };
	struct child_report rep = { 0 };
	struct viv_observer *o;
	char c;

	if (read(go, &c, 1) != 1)
		_exit(1);
	rep.stage = 1;
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY) || geteuid() != NOBODY) {
		rep.err = errno;
		goto out;
	}
	rep.stage = 2;
	o = viv_observer__open(&opts);
	if (!o) {
		rep.err = errno;
		goto out;
	}
	rep.stage = 3;
	rep.id = viv_observer__id(o);
	rep.found = open_and_find(o, file, O_RDONLY);
	viv_observer__close(o);

	/* Without a daemon and without root, automatic mode must say so. */
	rep.stage = 4;
	setenv("VIVARIUM_SOCKET", "/nonexistent/vivarium.sock", 1);
	opts.connect = VIV_CONNECT_AUTO;
	o = viv_observer__open(&opts);
	rep.auto_errno = o ? 0 : errno;
	snprintf(rep.auto_msg, sizeof(rep.auto_msg), "%s", last_warn);
	viv_observer__close(o);
	rep.stage = 5;
out:
	if (write(out, &rep, sizeof(rep)) != sizeof(rep))
		_exit(1);
	_exit(0);
}

static void make_stale_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	memcpy(sa.sun_path, sock_path, sizeof(sa.sun_path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	CHECK(!bind(fd, (struct sockaddr *)&sa, sizeof(sa)), "stale bind: %s", strerror(errno));
	close(fd);
}

/* Clients that break the protocol lose their connection, nothing else. */
static void test_malformed_clients(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 3 };
	struct viv_msg_hello h = {
		.magic = VIV_MSG_MAGIC, .version = VIV_MSG_VERSION, .type = VIV_MSG_STATUS,
	};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	char buf[256];
	int fd, i;
	ssize_t n;

	memcpy(sa.sun_path, sock_path, sizeof(sa.sun_path));
	for (i = 0; i < 4; i++) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			CHECK(0, "connect: %s", strerror(errno));
			close(fd);
			continue;
		}
		switch (i) {
		case 0:		/* garbage */
			n = send(fd, "hello there, daemon", 19, 0);
			break;
		case 1:		/* a valid hello with a descriptor riding along */
			memset(&ctl, 0, sizeof(ctl));
			msg.msg_control = ctl.buf;
			msg.msg_controllen = sizeof(ctl.buf);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &fd, sizeof(int));
			n = sendmsg(fd, &msg, 0);
			break;
		case 2:		/* a hello of a later version */
			h.version = VIV_MSG_VERSION + 1;
			n = send(fd, &h, sizeof(h), 0);
			h.version = VIV_MSG_VERSION;
			break;
		default:	/* an empty message */
			n = send(fd, "", 0, 0);
			break;
		}
		CHECK(n >= 0, "send %d: %s", i, strerror(errno));
		n = recv(fd, buf, sizeof(buf), 0);
		if (i == 2) {
			struct viv_msg_welcome w;

			memcpy(&w, buf, sizeof(w));
			CHECK(n == sizeof(w) && w.err == -EPROTONOSUPPORT,
			      "newer client is told: n %zd err %d", n, w.err);
			n = recv(fd, buf, sizeof(buf), 0);
		}
		CHECK(n == 0, "malformed client %d closed: n %zd (%s)", i, n,
		      n < 0 ? strerror(errno) : "data");
		close(fd);
	}
}

static void test_daemon(void)
{
	struct viv_observer_opts opts = { .connect = VIV_CONNECT_DAEMON };
	struct server_thread st = { 0 };
	struct viv_kernel_opts kopts = { 0 };
	struct child_report rep = { 0 };
	struct viv_observer *o;
	struct viv_kernel *k;
	struct viv_server *s;
	char file[300], nfile[300], status[VIV_STATUS_MAX];
	int go[2], res[2], fd, err, status_code;
	struct stat sb;
	pid_t child;

	k = viv_kernel__load(&kopts);
	CHECK(k, "kernel load: %s", strerror(errno));
	if (!k)
		return;
	remember_ids();
	CHECK(nprogs > 0 && nmaps > 0, "kernel side holds %d programs, %d maps", nprogs,
	      nmaps);
	/* Something that is not a socket is never removed. */
	snprintf(file, sizeof(file), "%s/not-a-socket", dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	close(fd);
	CHECK(!viv_server__open(k, file, NULL) && errno == EEXIST, "not a socket: %s",
	      strerror(errno));
	CHECK(strstr(last_warn, "exists and is not a socket"), "says why: %s", last_warn);
	CHECK(!unlink(file), "regular file left alone");

	/* A socket left by a daemon that died is replaced. */
	make_stale_socket();
	s = viv_server__open(k, sock_path, NULL);
	CHECK(s, "server open: %s", strerror(errno));
	if (!s) {
		viv_kernel__close(k);
		return;
	}
	CHECK(!stat(sock_path, &sb) && S_ISSOCK(sb.st_mode) && (sb.st_mode & 0777) == 0666,
	      "socket mode %o", sb.st_mode);
	CHECK(!viv_server__open(k, sock_path, NULL) && errno == EADDRINUSE,
	      "second server refused: %s", strerror(errno));
	CHECK(strstr(last_warn, "a daemon already listens on"), "says why: %s", last_warn);

	/* A file the unprivileged child may open. */
	snprintf(nfile, sizeof(nfile), "%s/nobody-file", dir);
	fd = open(nfile, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	close(fd);

	/* Fork before the server thread exists: a child of a threaded
	 * process may only call async-signal-safe functions. */
	if (pipe2(go, O_CLOEXEC) || pipe2(res, O_CLOEXEC)) {
		CHECK(0, "pipe: %s", strerror(errno));
		goto out_server;
	}
	child = fork();
	if (child == 0) {
		close(go[1]);
		close(res[0]);
		child_main(go[0], res[1], nfile);
	}
	close(go[0]);
	close(res[1]);

	st.s = s;
	if (pthread_create(&st.thread, NULL, serve, &st)) {
		CHECK(0, "thread");
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		goto out_pipes;
	}

	o = viv_observer__open(&opts);
	CHECK(o, "observer through the daemon: %s", strerror(errno));
	if (o) {
		CHECK(viv_observer__id(o) != 0, "id %u", viv_observer__id(o));
		CHECK(!strcmp(viv_observer__mode(o), "daemon"), "mode %s",
		      viv_observer__mode(o));
		CHECK(!viv_observer__kernel(o), "no kernel through a daemon");
		CHECK(wait_observers(&st, 1), "server counts 1 observer");

		err = viv_daemon__status(sock_path, status, sizeof(status));
		CHECK(!err && strstr(status, "observers 1\n") &&
		      (strstr(status, "event path_open tracepoint\n") ||
		       strstr(status, "event path_open lsm\n")) &&
		      strstr(status, "stat emitted "), "status (%s):\n%s", viv_errstr(err),
		      status);

		snprintf(file, sizeof(file), "%s/open-%d-%ld", dir, (int)getpid(),
			 (long)time(NULL));
		CHECK(open_and_find(o, file, O_CREAT | O_WRONLY) == 1,
		      "own open of %s drained once", file);
		unlink(file);
		CHECK(viv_observer__lost(o) == 0, "nothing lost");
	}

	test_malformed_clients();
	CHECK(wait_observers(&st, o ? 1 : 0), "still serving after bad clients");

	/* The unprivileged child registers, opens a file, drains its own. */
	if (write(go[1], "g", 1) != 1)
		CHECK(0, "go: %s", strerror(errno));
	if (read(res[0], &rep, sizeof(rep)) != sizeof(rep))
		memset(&rep, 0, sizeof(rep));
	waitpid(child, &status_code, 0);
	CHECK(rep.stage == 5, "child stopped at stage %d: %s", rep.stage, strerror(rep.err));
	CHECK(rep.id && (!o || rep.id != viv_observer__id(o)), "child id %u", rep.id);
	CHECK(rep.found == 1, "unprivileged observer drained its own open: %d", rep.found);
	CHECK(rep.auto_errno == ECONNREFUSED, "no daemon, not root: %s",
	      strerror(rep.auto_errno));
	CHECK(strstr(rep.auto_msg, "no vivarium daemon at /nonexistent/vivarium.sock and not "
		     "root: start one with `sudo vivarium daemon`, or run as root"),
	      "one clear message: %s", rep.auto_msg);
	CHECK(wait_observers(&st, o ? 1 : 0), "child retired when it left");

	viv_observer__close(o);
	CHECK(wait_observers(&st, 0), "observer retired on close");

	__atomic_store_n(&st.stop, 1, __ATOMIC_RELEASE);
	pthread_join(st.thread, NULL);
out_pipes:
	close(go[1]);
	close(res[0]);
out_server:
	viv_server__close(s);
	CHECK(access(sock_path, F_OK) && errno == ENOENT, "socket removed");
	unlink(nfile);
	viv_kernel__close(k);
}

/* Local mode: the kernel side loaded for this process alone. */
static void test_local(void)
{
	struct viv_observer_opts opts = { .connect = VIV_CONNECT_LOCAL };
	struct viv_observer *o;
	char file[300];

	o = viv_observer__open(&opts);
	CHECK(o, "local observer: %s", strerror(errno));
	if (!o)
		return;
	CHECK(!strcmp(viv_observer__mode(o), "local") && viv_observer__kernel(o),
	      "local mode");
	remember_ids();
	snprintf(file, sizeof(file), "%s/local-%d", dir, (int)getpid());
	CHECK(open_and_find(o, file, O_CREAT | O_WRONLY) == 1, "local drained its open");
	unlink(file);
	viv_observer__close(o);

	/* A ring too small for the records: every one is drained or counted
	 * as lost, none vanishes. */
	opts.ring_size = 4096;
	o = viv_observer__open(&opts);
	CHECK(o, "local observer with a small ring: %s", strerror(errno));
	if (o) {
		struct find f = { .path = file, .pid = getpid() };
		int fd, i;

		for (i = 0; i < LOSSY_OPENS; i++) {
			fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			close(fd);
		}
		unlink(file);
		viv_observer__drain(o, find_open, &f);
		CHECK(viv_observer__lost(o) > 0 && f.found + viv_observer__lost(o) == LOSSY_OPENS,
		      "drained %d + lost %llu == %d", f.found,
		      (unsigned long long)viv_observer__lost(o), LOSSY_OPENS);
		viv_observer__close(o);
	}
	opts.ring_size = 0;

	/* No daemon at the socket and root: automatic mode loads locally. */
	opts.connect = VIV_CONNECT_AUTO;
	o = viv_observer__open(&opts);
	CHECK(o && !strcmp(viv_observer__mode(o), "local"), "auto falls back to local");
	viv_observer__close(o);

	opts.connect = VIV_CONNECT_DAEMON;
	o = viv_observer__open(&opts);
	CHECK(!o && errno == ENOENT, "daemon mode without a daemon: %s", strerror(errno));
	CHECK(strstr(last_warn, "failed to reach a vivarium daemon at"), "says why: %s",
	      last_warn);
}

int main(void)
{
	int fds;

	viv_set_print(capture);
	test_socket_path();
	test_parse();
	if (geteuid() != 0) {
		printf("server_test: skipped: needs root\n");
		return check_report();
	}

	fds = count_fds();
	if (!mkdtemp(dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	/* The unprivileged child must reach the socket. */
	chmod(dir, 0755);
	snprintf(sock_path, sizeof(sock_path), "%s/vivarium.sock", dir);
	setenv("VIVARIUM_SOCKET", sock_path, 1);

	test_daemon();
	test_local();

	CHECK(!ids_alive(progs, nprogs, true), "programs left behind");
	CHECK(!ids_alive(maps, nmaps, false), "maps left behind");
	CHECK(count_fds() == fds, "descriptors: %d before, %d after", fds, count_fds());
	CHECK(!rmdir(dir), "temp dir empty: %s", strerror(errno));
	return check_report();
}
