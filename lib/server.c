/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's socket: registers each process that connects, and only that
 * process, then hands it its ring. Protocol in protocol.h.
 *
 * Everything the server waits on (the listening socket, every connection,
 * a timer for connections that never say hello) sits in one epoll set, so
 * a host polls the single descriptor viv_server__fd() for POLLIN and calls
 * viv_server__process() when it fires; a closed observer connection wakes
 * it too. Nothing here blocks. Calling process() more often is harmless.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "protocol.h"

/* Linux 6.5 hands out a pidfd of the connecting process; older headers do
 * not name it. The number is the generic one, which these machines use. */
#if !defined(SO_PEERPIDFD) && (defined(__x86_64__) || defined(__i386__) || \
	defined(__aarch64__) || defined(__arm__) || defined(__riscv) || \
	defined(__s390__) || defined(__loongarch__) || defined(__powerpc__))
#define SO_PEERPIDFD	77
#endif

#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)
#define LISTEN_BACKLOG	64
/* Connections that have not said hello yet; more are refused at once so
 * that idle connections cannot crowd out observers. */
#define MAX_PENDING	64
#define EPOLL_BATCH	32

/* ---- socket path -------------------------------------------------------- */

int viv_socket_path(const char *pin_dir, char *buf, size_t len)
{
	size_t max = len < SUN_PATH_MAX ? len : SUN_PATH_MAX;
	const char *env = getenv("VIVARIUM_SOCKET");
	size_t n, dl, i, pos;

	if (!buf || !len)
		return -EINVAL;
	if (env && *env) {
		n = strlen(env);
		if (n >= max)
			return -ENAMETOOLONG;
		memcpy(buf, env, n + 1);
		return 0;
	}

	if (!pin_dir || !*pin_dir)
		pin_dir = VIV_DEFAULT_PIN_DIR;
	while (*pin_dir == '/')
		pin_dir++;
	dl = strlen(pin_dir);
	while (dl && pin_dir[dl - 1] == '/')
		dl--;

	/* The default pin dir gets the short, documented name. */
	if (dl == strlen(VIV_DEFAULT_PIN_DIR) - 1 &&
	    !memcmp(pin_dir, &VIV_DEFAULT_PIN_DIR[1], dl)) {
		n = snprintf(buf, len, "%s/vivarium.sock", VIV_DEFAULT_RUN_DIR);
		return n >= max ? -ENAMETOOLONG : 0;
	}

	pos = strlen(VIV_DEFAULT_RUN_DIR) + 1;
	if (pos + dl + strlen(".sock") >= max)
		return -ENAMETOOLONG;
	memcpy(buf, VIV_DEFAULT_RUN_DIR "/", pos);
	for (i = 0; i < dl; i++)
		buf[pos++] = pin_dir[i] == '/' ? '-' : pin_dir[i];
	memcpy(buf + pos, ".sock", sizeof(".sock"));
	return 0;
}

/* ---- message parsing: pure, (buf, len) only ----------------------------- */

struct msg_head {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
};

static int head_check(const void *buf, size_t len, uint16_t type)
{
	struct msg_head h;

	if (!buf || len < sizeof(h))
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != VIV_MSG_MAGIC)
		return -EPROTO;
	if (h.version != VIV_MSG_VERSION)
		return -EPROTONOSUPPORT;
	if (type && h.type != type)
		return -EPROTO;
	return 0;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static bool is_errno(int32_t err)
{
	return err <= 0 && err > -4096;
}

int viv_msg_hello__parse(const void *buf, size_t len, struct viv_msg_hello *out)
{
	struct viv_msg_hello h;
	int err;

	err = head_check(buf, len, 0);
	if (err)
		return err;
	if (len != sizeof(h))
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (h.type != VIV_MSG_REGISTER && h.type != VIV_MSG_STATUS)
		return -EPROTO;
	if (h.pad || (h.ring_size && !is_pow2(h.ring_size)))
		return -EPROTO;
	if (h.type == VIV_MSG_STATUS && h.ring_size)
		return -EPROTO;
	*out = h;
	return 0;
}

int viv_msg_welcome__parse(const void *buf, size_t len,
			   struct viv_msg_welcome *out)
{
	struct viv_msg_welcome w;
	unsigned int i;
	int err;

	err = head_check(buf, len, VIV_MSG_WELCOME);
	if (err)
		return err;
	if (len != sizeof(w))
		return -EPROTO;
	memcpy(&w, buf, sizeof(w));
	if (!is_errno(w.err) || w.pad)
		return -EPROTO;
	if (w.err)
		goto out;
	if (!w.id || w.lost_slot != w.id % VIV_MAX_OBSERVERS ||
	    !is_pow2(w.ring_size))
		return -EPROTO;
	for (i = 0; i < VIV_MSG_KINDS; i++)
		if (w.backends[i] > VIV_MSG_BACKEND_LSM)
			return -EPROTO;
out:
	*out = w;
	return 0;
}

int viv_msg_status__parse(const void *buf, size_t len,
			  struct viv_msg_status *out, const char **text)
{
	struct viv_msg_status h;
	int err;

	err = head_check(buf, len, VIV_MSG_STATUS_TEXT);
	if (err)
		return err;
	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (!is_errno(h.err) || h.len > VIV_STATUS_MAX ||
	    len != sizeof(h) + h.len)
		return -EPROTO;
	*out = h;
	*text = (const char *)buf + sizeof(h);
	return 0;
}

/* ---- the server --------------------------------------------------------- */

enum conn_state {
	CONN_HELLO,	/* accepted, waiting for its hello */
	CONN_OBSERVER,	/* registered; its close retires it */
};

struct conn {
	struct conn *next;
	struct conn **pprev;
	int fd;
	enum conn_state state;
	uint32_t id;
	pid_t pid;
	uint64_t deadline_ms;	/* CONN_HELLO: dropped after this */
	/* Read at registration: at retirement the process is often gone. */
	char comm[32];
};

struct viv_server {
	struct viv_kernel *k;
	struct conn *conns;
	uint32_t ring_size;
	int listen_fd;
	int epoll_fd;
	int timer_fd;
	int observers;
	int pending;
	bool listen_paused;
	dev_t dev;
	ino_t ino;
	char path[SUN_PATH_MAX];
};

/* epoll tags for the two descriptors that are not connections */
static char listen_tag, timer_tag;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int epoll_set(struct viv_server *s, int op, int fd, uint32_t events,
		     void *tag)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };

	if (epoll_ctl(s->epoll_fd, op, fd, &ev))
		return -errno;
	return 0;
}

static void read_comm(pid_t pid, char *buf, size_t len)
{
	char path[32];
	ssize_t n;
	int fd;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void conn_free(struct viv_server *s, struct conn *c)
{
	if (c->state == CONN_HELLO)
		s->pending--;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	/* Closing removes it from the epoll set. */
	close(c->fd);
	free(c);

	/* Out of descriptors earlier: one is free again. */
	if (s->listen_paused &&
	    !epoll_set(s, EPOLL_CTL_MOD, s->listen_fd, EPOLLIN, &listen_tag))
		s->listen_paused = false;
}

static void retire(struct viv_server *s, struct conn *c, const char *why)
{
	int err;

	err = viv_kernel__remove_observer(s->k, c->id, c->pid);
	if (err)
		pr_warn("observer %u: failed to deregister pid %d (%s): %s\n",
			c->id, (int)c->pid, c->comm, viv_errstr(err));
	else
		pr_info("observer %u: retired pid %d (%s): %s\n", c->id,
			(int)c->pid, c->comm, why);
	s->observers--;
	conn_free(s, c);
}

static void arm_timer(struct viv_server *s)
{
	struct itimerspec its = { 0 };
	uint64_t first = UINT64_MAX, now = now_ms(), wait;
	struct conn *c;

	for (c = s->conns; c; c = c->next)
		if (c->state == CONN_HELLO && c->deadline_ms < first)
			first = c->deadline_ms;
	if (first != UINT64_MAX) {
		/* A zero it_value would disarm the timer. */
		wait = first > now ? first - now : 1;
		its.it_value.tv_sec = wait / 1000;
		its.it_value.tv_nsec = (wait % 1000) * 1000000;
	}
	timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void expire_hellos(struct viv_server *s)
{
	struct conn *c, *next;
	uint64_t now = now_ms(), ticks;

	while (read(s->timer_fd, &ticks, sizeof(ticks)) > 0)
		;
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->state != CONN_HELLO || c->deadline_ms > now)
			continue;
		pr_debug("server: dropping a connection that sent no hello\n");
		conn_free(s, c);
	}
	arm_timer(s);
}

static void accept_all(struct viv_server *s)
{
	struct conn *c;
	int fd, err;

	for (;;) {
		fd = accept4(s->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			if (err == -EINTR || err == -ECONNABORTED)
				continue;
			if (err == -EMFILE || err == -ENFILE) {
				/* Level-triggered: stop listening until a
				 * connection closes, or the host would spin. */
				pr_warn("server: out of file descriptors, not accepting "
					"observers until one leaves\n");
				if (!epoll_set(s, EPOLL_CTL_MOD, s->listen_fd,
					       0, &listen_tag))
					s->listen_paused = true;
			} else if (err != -EAGAIN) {
				pr_warn("server: failed to accept: %s\n",
					viv_errstr(err));
			}
			return;
		}
		if (s->pending >= MAX_PENDING) {
			pr_debug("server: too many connections without "
				 "hello, refusing one\n");
			close(fd);
			continue;
		}

		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = CONN_HELLO;
		c->deadline_ms = now_ms() + VIV_MSG_TIMEOUT_MS;
		err = epoll_set(s, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP, c);
		if (err) {
			pr_warn("server: failed to watch a connection: %s\n",
				viv_errstr(err));
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		c->pprev = &s->conns;
		if (s->conns)
			s->conns->pprev = &c->next;
		s->conns = c;
		s->pending++;
		if (s->pending == 1)
			arm_timer(s);
	}
}

/*
 * Receive one message and up to @max descriptors with it. More
 * descriptors than that, or a message that does not fit, is -EPROTO and
 * every descriptor received is closed. -errno of recvmsg() otherwise.
 */
ssize_t viv_msg_recv(int fd, int flags, void *buf, size_t len, int *fds, int max,
		     int *nfds)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	bool bad = false;
	size_t i, n;
	ssize_t ret;
	int *fdp;

	*nfds = 0;
	ret = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
	if (ret < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fdp = (int *)CMSG_DATA(cm);
		for (i = 0; i < n; i++) {
			if (*nfds < max) {
				fds[(*nfds)++] = fdp[i];
			} else {
				close(fdp[i]);
				bad = true;
			}
		}
	}
	if (bad || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		while (*nfds)
			close(fds[--*nfds]);
		return -EPROTO;
	}
	return ret;
}

static int send_msg(int fd, const void *buf, size_t len, const int *fds,
		    int nfds)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfds > 2)
		return -EINVAL;
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

static void welcome_init(struct viv_msg_welcome *w, int err)
{
	memset(w, 0, sizeof(*w));
	w->magic = VIV_MSG_MAGIC;
	w->version = VIV_MSG_VERSION;
	w->type = VIV_MSG_WELCOME;
	w->err = err;
}

static uint8_t backend_code(const char *name)
{
	if (!name)
		return VIV_MSG_BACKEND_NONE;
	if (!strcmp(name, "lsm"))
		return VIV_MSG_BACKEND_LSM;
	return VIV_MSG_BACKEND_TRACEPOINT;
}

/*
 * The process that connected, as a pidfd, so that a pid which was reused
 * between its connect() and our registration is caught. -1 where the
 * kernel (before 6.5) cannot say.
 */
static int peer_pidfd(int fd)
{
#ifdef SO_PEERPIDFD
	socklen_t len = sizeof(int);
	int pidfd;

	if (!getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len))
		return pidfd;
#endif
	return -1;
}

static bool pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

static void conn_register(struct viv_server *s, struct conn *c,
			  const struct viv_msg_hello *h)
{
	struct viv_registration reg = { .ring_fd = -1, .lost_fd = -1 };
	size_t page = sysconf(_SC_PAGESIZE);
	socklen_t len = sizeof(struct ucred);
	struct ucred cred = { .pid = 0 };
	struct viv_msg_welcome w;
	int fds[2], err, pidfd = -1;
	uint32_t size;
	unsigned int i;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		err = -errno;
		goto reply;
	}
	/* 0 when the peer's pid is not visible in our pid namespace. */
	if (cred.pid <= 0) {
		err = -ESRCH;
		goto reply;
	}
	pidfd = peer_pidfd(c->fd);

	/* Rings are charged to the daemon: an observer may ask for less than
	 * the daemon's size, never more. */
	size = h->ring_size && h->ring_size < s->ring_size ? h->ring_size
							   : s->ring_size;
	if (size < page) {
		err = -EINVAL;
		goto reply;
	}

	err = viv_kernel__add_observer(s->k, cred.pid, size, &reg);
	if (err)
		goto reply;

	/* The connecting process may have exited and its pid been reused
	 * before we registered it: then we would watch a stranger. While it
	 * lives its pid cannot be reused, and once registered its exit
	 * removes the entry in the kernel. */
	if (pidfd >= 0 && pidfd_exited(pidfd)) {
		viv_kernel__remove_observer(s->k, reg.id, cred.pid);
		err = -ESRCH;
		goto reply;
	}

	welcome_init(&w, 0);
	w.id = reg.id;
	w.ring_size = reg.ring_size;
	w.events = viv_kernel__events(s->k);
	w.lost_slot = reg.id % VIV_MAX_OBSERVERS;
	for (i = 0; i < VIV_KIND_MAX; i++)
		w.backends[i] =
			backend_code(viv_kernel__backend(s->k, i, NULL));
	fds[0] = reg.ring_fd;
	fds[1] = reg.lost_fd;
	err = send_msg(c->fd, &w, sizeof(w), fds, 2);
	if (err) {
		viv_kernel__remove_observer(s->k, reg.id, cred.pid);
		/* The client went away: its business, not the daemon's. */
		pr_debug("observer %u: failed to send its ring to pid %d: %s\n",
			 reg.id, (int)cred.pid, viv_errstr(err));
		goto out_drop;
	}

	/* The ring lives on in viv_rings and in the observer's copy. */
	close(reg.ring_fd);
	close(reg.lost_fd);
	if (pidfd >= 0)
		close(pidfd);
	c->state = CONN_OBSERVER;
	c->id = reg.id;
	c->pid = cred.pid;
	s->pending--;
	s->observers++;
	read_comm(cred.pid, c->comm, sizeof(c->comm));
	pr_info("observer %u: registered pid %d (%s) uid %u, %u byte ring\n",
		reg.id, (int)cred.pid, c->comm, (unsigned int)cred.uid,
		reg.ring_size);
	return;

reply:
	/* A client that asked for what it cannot have is not the operator's
	 * concern; the daemon failing to serve one is. */
	if (err == -EEXIST || err == -ESRCH || err == -EINVAL)
		pr_debug("server: refused to register pid %d: %s\n",
			 (int)cred.pid, viv_errstr(err));
	else
		pr_warn("server: failed to register pid %d: %s\n",
			(int)cred.pid, viv_errstr(err));
	welcome_init(&w, err);
	send_msg(c->fd, &w, sizeof(w), NULL, 0);
out_drop:
	if (reg.ring_fd >= 0)
		close(reg.ring_fd);
	if (reg.lost_fd >= 0)
		close(reg.lost_fd);
	if (pidfd >= 0)
		close(pidfd);
	conn_free(s, c);
}

static const char *const stat_names[VIV_STAT_MAX] = {
	[VIV_STAT_EMITTED] = "emitted",
	[VIV_STAT_LOST] = "lost",
	[VIV_STAT_NO_RING] = "no_ring",
	[VIV_STAT_READ_FAIL] = "read_fail",
	[VIV_STAT_TASK_FULL] = "task_full",
};

static size_t status_text(const struct viv_server *s, char *buf, size_t len)
{
	uint64_t stats[VIV_STAT_MAX];
	const char *name, *backend, *why;
	size_t pos = 0;
	unsigned int i;

#define ADD(...)							\
	do {								\
		if (pos < len)						\
			pos += snprintf(buf + pos, len - pos, __VA_ARGS__); \
	} while (0)

	ADD("version %s\n", VIV_VERSION);
	if (viv_kernel__pin_dir(s->k))
		ADD("pin_dir %s\n", viv_kernel__pin_dir(s->k));
	ADD("socket %s\n", s->path);
	ADD("observers %d\n", s->observers);
	for (i = 0; i < VIV_KIND_MAX; i++) {
		name = viv_event__name(i);
		if (!name)
			continue;
		why = NULL;
		backend = viv_kernel__backend(s->k, i, &why);
		if (backend)
			ADD("event %s %s\n", name, backend);
		else
			ADD("event %s unavailable: %s\n", name,
			    why ? why : "unknown reason");
	}
	if (!viv_kernel__stats(s->k, stats))
		for (i = 0; i < VIV_STAT_MAX; i++)
			ADD("stat %s %llu\n", stat_names[i],
			    (unsigned long long)stats[i]);
#undef ADD
	return pos < len ? pos : len - 1;
}

static void conn_status(struct viv_server *s, struct conn *c)
{
	char msg[sizeof(struct viv_msg_status) + VIV_STATUS_MAX + 1];
	struct viv_msg_status h = {
		.magic = VIV_MSG_MAGIC,
		.version = VIV_MSG_VERSION,
		.type = VIV_MSG_STATUS_TEXT,
	};

	h.len = status_text(s, msg + sizeof(h), VIV_STATUS_MAX + 1);
	memcpy(msg, &h, sizeof(h));
	send_msg(c->fd, msg, sizeof(h) + h.len, NULL, 0);
	conn_free(s, c);
}

static void conn_hello(struct viv_server *s, struct conn *c)
{
	struct viv_msg_welcome w;
	struct viv_msg_hello h;
	/* Room for more than any hello, so a longer message shows as one. */
	char buf[sizeof(h) * 4];
	int err, nfds;
	ssize_t n;

	n = viv_msg_recv(c->fd, MSG_DONTWAIT, buf, sizeof(buf), NULL, 0, &nfds);
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n <= 0) {
		if (n < 0)
			pr_debug("server: dropping a connection: %s\n",
				 viv_errstr(n));
		conn_free(s, c);
		return;
	}

	err = viv_msg_hello__parse(buf, n, &h);
	if (err == -EPROTONOSUPPORT) {
		/* Tell a client of another version, in our version, why. */
		welcome_init(&w, err);
		send_msg(c->fd, &w, sizeof(w), NULL, 0);
	}
	if (err) {
		pr_debug("server: dropping a connection: malformed hello\n");
		conn_free(s, c);
		return;
	}

	if (h.type == VIV_MSG_STATUS)
		conn_status(s, c);
	else
		conn_register(s, c, &h);
}

static void conn_event(struct viv_server *s, struct conn *c)
{
	if (c->state == CONN_HELLO) {
		conn_hello(s, c);
		return;
	}
	/* An observer says nothing after its hello: whatever arrives, data
	 * or end of file, ends it. */
	retire(s, c, "disconnected");
}

int viv_server__process(struct viv_server *s)
{
	struct epoll_event evs[EPOLL_BATCH];
	bool timer = false;
	int n, i, err;

	do {
		n = epoll_wait(s->epoll_fd, evs, EPOLL_BATCH, 0);
		if (n < 0) {
			err = -errno;
			if (err == -EINTR)
				continue;
			pr_warn("server: failed to wait for events: %s\n",
				viv_errstr(err));
			return err;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listen_tag)
				accept_all(s);
			else if (evs[i].data.ptr == &timer_tag)
				/* Later: it may free connections that have
				 * events further on in this batch. */
				timer = true;
			else
				conn_event(s, evs[i].data.ptr);
		}
	} while (n == EPOLL_BATCH);

	if (timer)
		expire_hellos(s);
	return s->observers;
}

int viv_server__fd(const struct viv_server *s)
{
	return s->epoll_fd;
}

/* The run directory is made here when missing, searchable by everyone:
 * observers need no privileges, only the socket's 0666. */
static int make_run_dir(const char *path)
{
	char dir[SUN_PATH_MAX];
	struct stat st;
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (!mkdir(dir, 0755)) {
		/* mkdir() obeys the umask; observers need the x bit. Through
		 * a descriptor, in case the name was swapped for a link. */
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			fchmod(fd, 0755);
			close(fd);
		}
		return 0;
	}
	if (errno != EEXIST) {
		pr_warn("server: failed to create %s: %s\n", dir,
			viv_errstr(errno));
		return -errno;
	}
	if (!stat(dir, &st) && !(st.st_mode & S_IXOTH))
		pr_warn("server: %s is not searchable by other users: unprivileged "
			"observers cannot reach the socket\n",
			dir);
	return 0;
}

/* A socket file left by a daemon that died is removed; a live daemon's is
 * not. */
static int clear_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, err;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		pr_warn("server: %s exists and is not a socket\n", path);
		return -EEXIST;
	}

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	err = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	close(fd);
	if (!err || err == -EAGAIN) {
		pr_warn("server: a daemon already listens on %s\n", path);
		return -EADDRINUSE;
	}
	if (err != -ECONNREFUSED)
		return err;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	pr_info("server: removed stale socket %s\n", path);
	return 0;
}

struct viv_server *viv_server__open(struct viv_kernel *k, const char *path,
				    const struct viv_server_opts *opts)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t page = sysconf(_SC_PAGESIZE);
	struct viv_server *s;
	struct stat st;
	mode_t mask;
	int err;

	if (!k || !path || !*path) {
		errno = EINVAL;
		return NULL;
	}
	if (strlen(path) >= SUN_PATH_MAX) {
		pr_warn("server: socket path %s is too long\n", path);
		errno = ENAMETOOLONG;
		return NULL;
	}

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->k = k;
	s->listen_fd = s->epoll_fd = s->timer_fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->ring_size = opts && opts->ring_size ? opts->ring_size
					       : VIV_DEFAULT_RING_SIZE;
	if (!is_pow2(s->ring_size) || s->ring_size < page) {
		pr_warn("server: ring size %u is not a power of two of at "
			"least a page\n", s->ring_size);
		err = -EINVAL;
		goto err_free;
	}

	err = make_run_dir(path);
	if (err)
		goto err_free;
	err = clear_stale(path);
	if (err)
		goto err_free;

	s->listen_fd = socket(AF_UNIX,
			      SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		err = -errno;
		goto err_warn;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/*
	 * Anyone may connect: the daemon only ever registers the peer. The
	 * socket file takes its mode from the socket's inode less the umask
	 * when bind() creates it. Setting it then, rather than chmod() on the
	 * path afterwards, leaves no window in which someone who can write
	 * the directory swaps the path for a symlink to a file root would
	 * then make world-writable. The umask is the process's: open the
	 * server before starting threads that create files.
	 */
	if (fchmod(s->listen_fd, 0666)) {
		err = -errno;
		goto err_warn;
	}
	mask = umask(0);
	err = bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(mask);
	if (err)
		goto err_warn;
	if (lstat(path, &st)) {
		err = -errno;
		goto err_unlink;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (listen(s->listen_fd, LISTEN_BACKLOG)) {
		err = -errno;
		goto err_unlink;
	}

	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->epoll_fd < 0 || s->timer_fd < 0) {
		err = -errno;
		goto err_unlink;
	}
	err = epoll_set(s, EPOLL_CTL_ADD, s->listen_fd, EPOLLIN, &listen_tag);
	if (!err)
		err = epoll_set(s, EPOLL_CTL_ADD, s->timer_fd, EPOLLIN,
				&timer_tag);
	if (err)
		goto err_unlink;

	pr_info("server: listening on %s\n", path);
	return s;

err_unlink:
	unlink(path);
err_warn:
	pr_warn("server: failed to listen on %s: %s\n", path, viv_errstr(err));
err_free:
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s);
	errno = -err;
	return NULL;
}

void viv_server__close(struct viv_server *s)
{
	struct stat st;

	if (!s)
		return;
	while (s->conns) {
		if (s->conns->state == CONN_OBSERVER)
			retire(s, s->conns, "daemon closing");
		else
			conn_free(s, s->conns);
	}
	close(s->timer_fd);
	close(s->epoll_fd);
	close(s->listen_fd);
	/* Only our own socket: another daemon may have taken the name. */
	if (!lstat(s->path, &st) && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	free(s);
}
