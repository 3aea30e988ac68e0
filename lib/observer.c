/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The consumer side: a ring of records about this process, registered
 * through a daemon's socket or with a kernel side loaded here.
 *
 * Once open, an observer only touches its mmapped pages: pending() makes
 * no system call, so it neither blocks nor fails when a daemon goes away
 * (its ring then simply stays quiet). drain() and close() look once,
 * without blocking, whether the daemon closed its end of the connection,
 * and say so: the user would otherwise take the silence for inactivity.
 */
#include <errno.h>
#include <pthread.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "protocol.h"
#include "ring.h"

struct viv_observer {
	/* First: pending() reads nothing else. */
	struct viv_ring ring;
	const struct viv_lost *lost;
	size_t lost_len;
	uint64_t lost_base;	/* the slot's count when we opened */
	uint64_t invalid;	/* records that failed to decode */
	struct viv_kernel *k;	/* local mode */
	uint32_t id;
	uint32_t slot;
	unsigned int generation; /* fork_generation at open */
	pid_t pid;		/* who registered: a forked child must not
				 * deregister its parent */
	int sock;		/* daemon mode: closing it deregisters */
	uint64_t checked_ms;	/* when check_daemon() last polled */
	bool draining;
	bool daemon_gone;	/* reported; atomic, drains may run on
				 * several threads (lib/thread.c) */
};

/*
 * A forked child shares its parent's ring mappings (MAP_SHARED): a drain
 * there would consume, and print, the parent's records, and a Lua or Ruby
 * hook inherited by the child would do just that at its first boundary.
 * Every fork bumps the generation in the child, and an observer opened in
 * an older generation hands nothing over. The parent keeps reporting the
 * child's records, attributed to its own code that forked.
 */
static unsigned int fork_generation;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void bump_generation(void)
{
	fork_generation++;
}

static void watch_forks(void)
{
	pthread_atfork(NULL, NULL, bump_generation);
}

/* ---- talking to a daemon ------------------------------------------------ */

static int daemon_connect(const char *path, int *fdp)
{
	struct timeval tv = {
		.tv_sec = VIV_MSG_TIMEOUT_MS / 1000,
		.tv_usec = VIV_MSG_TIMEOUT_MS % 1000 * 1000,
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A daemon that hangs must not hang us: both timeouts also bound
	 * connect() on a full backlog. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err == -EAGAIN ? -ETIMEDOUT : err;
	}
	*fdp = fd;
	return 0;
}

static int send_hello(int fd, uint16_t type, uint32_t ring_size)
{
	struct viv_msg_hello h = {
		.magic = VIV_MSG_MAGIC,
		.version = VIV_MSG_VERSION,
		.type = type,
		.ring_size = ring_size,
	};
	ssize_t n;

	n = send(fd, &h, sizeof(h), MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	return 0;
}

/*
 * Register through the connection in o->sock, asking for @ring_size bytes
 * (0: the daemon's size; it grants at most its own); closes the
 * connection on failure.
 */
static int daemon_register(struct viv_observer *o, const char *path,
			   uint32_t ring_size, struct viv_registration *reg)
{
	/* Room for more than a welcome, so a longer message shows as one. */
	char buf[2 * sizeof(struct viv_msg_welcome)];
	struct viv_msg_welcome w;
	int fds[2], nfds, err;
	ssize_t n;

	err = send_hello(o->sock, VIV_MSG_REGISTER, ring_size);
	if (err)
		goto err_warn;

	n = viv_msg_recv(o->sock, 0, buf, sizeof(buf), fds, 2, &nfds);
	if (n == -EAGAIN)	/* SO_RCVTIMEO ran out */
		n = -ETIMEDOUT;
	if (n <= 0) {
		/* A daemon closes without a word on a hello it cannot
		 * read. */
		err = n ? n : -ECONNRESET;
		goto err_warn;
	}
	err = viv_msg_welcome__parse(buf, n, &w);
	if (!err && w.err)
		err = w.err;
	else if (!err && nfds != 2)
		err = -EPROTO;
	if (err) {
		while (nfds)
			close(fds[--nfds]);
		goto err_warn;
	}

	reg->id = w.id;
	reg->ring_size = w.ring_size;
	reg->ring_fd = fds[0];
	reg->lost_fd = fds[1];
	return 0;

err_warn:
	pr_warn("observer: daemon at %s refused to register us: %s\n", path,
		viv_errstr(err));
	close(o->sock);
	o->sock = -1;
	return err;
}

int viv_daemon__status(const char *sock_path, char *buf, size_t len)
{
	char msg[sizeof(struct viv_msg_status) + VIV_STATUS_MAX + 1];
	struct viv_msg_status h;
	const char *text;
	int fd, nfds, err;
	size_t n;
	ssize_t got;

	if (!buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	err = daemon_connect(sock_path, &fd);
	if (err)
		return err;
	err = send_hello(fd, VIV_MSG_STATUS, 0);
	if (err)
		goto out;

	got = viv_msg_recv(fd, 0, msg, sizeof(msg), NULL, 0, &nfds);
	if (got == -EAGAIN)
		got = -ETIMEDOUT;
	if (got <= 0) {
		err = got ? got : -ECONNRESET;
		goto out;
	}
	err = viv_msg_status__parse(msg, got, &h, &text);
	if (!err)
		err = h.err;
	if (err)
		goto out;
	n = h.len < len - 1 ? h.len : len - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
out:
	close(fd);
	return err;
}

/* ---- observer ----------------------------------------------------------- */

static int local_register(struct viv_observer *o,
			  const struct viv_observer_opts *opts,
			  struct viv_registration *reg)
{
	struct viv_kernel_opts kopts = {
		.pin_dir = NULL,	/* ours alone, gone when we exit */
		.events = opts ? opts->events : 0,
	};
	uint32_t size = opts && opts->ring_size ? opts->ring_size
						: VIV_DEFAULT_RING_SIZE;
	int err;

	o->k = viv_kernel__load(&kopts);
	if (!o->k)
		return -errno;
	err = viv_kernel__add_observer(o->k, o->pid, size, reg);
	if (err) {
		viv_kernel__close(o->k);
		o->k = NULL;
	}
	return err;
}

static int map_registration(struct viv_observer *o,
			    const struct viv_registration *reg)
{
	size_t page = sysconf(_SC_PAGESIZE);
	void *lost;
	int err;

	err = viv_ring__map(&o->ring, reg->ring_fd, reg->ring_size);
	if (err)
		return err;
	o->id = reg->id;
	o->slot = reg->id % VIV_MAX_OBSERVERS;

	o->lost_len = (VIV_MAX_OBSERVERS * sizeof(struct viv_lost) + page - 1) &
		      ~(page - 1);
	lost = mmap(NULL, o->lost_len, PROT_READ, MAP_SHARED, reg->lost_fd, 0);
	if (lost == MAP_FAILED) {
		/* Records still flow; only the count of dropped ones is
		 * missing, which the user has to know. */
		pr_warn("observer %u: records the kernel drops will not be counted: "
			"failed to mmap %s: %s\n",
			reg->id, "viv_lost", viv_errstr(errno));
		return 0;
	}
	o->lost = lost;
	if (__atomic_load_n(&o->lost[o->slot].id, __ATOMIC_ACQUIRE) == o->id)
		o->lost_base = __atomic_load_n(&o->lost[o->slot].count,
					       __ATOMIC_RELAXED);
	return 0;
}

static const char *pin_dir_of(const struct viv_observer_opts *opts)
{
	const char *env = getenv("VIVARIUM_BPF_PIN_DIR");

	if (opts && opts->pin_dir && *opts->pin_dir)
		return opts->pin_dir;
	if (env && *env)
		return env;
	return VIV_DEFAULT_PIN_DIR;
}

struct viv_observer *viv_observer__open(const struct viv_observer_opts *opts)
{
	enum viv_connect connect = opts ? opts->connect : VIV_CONNECT_AUTO;
	struct viv_registration reg = { .ring_fd = -1, .lost_fd = -1 };
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	size_t page = sysconf(_SC_PAGESIZE);
	struct viv_observer *o;
	uint32_t ring_size;
	int err;

	if (connect != VIV_CONNECT_AUTO && connect != VIV_CONNECT_DAEMON &&
	    connect != VIV_CONNECT_LOCAL) {
		errno = EINVAL;
		return NULL;
	}
	ring_size = opts ? opts->ring_size : 0;
	if (ring_size && (ring_size < page || (ring_size & (ring_size - 1)))) {
		pr_warn("observer: ring size %u is not a power of two of at "
			"least %zu bytes\n", ring_size, page);
		errno = EINVAL;
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->sock = -1;
	pthread_once(&fork_once, watch_forks);
	o->generation = fork_generation;
	o->pid = getpid();

	if (connect == VIV_CONNECT_LOCAL)
		goto local;

	err = viv_socket_path(pin_dir_of(opts), path, sizeof(path));
	if (err) {
		pr_warn("observer: no socket path for pin dir %s: %s\n",
			pin_dir_of(opts), viv_errstr(err));
		goto err_free;
	}
	err = daemon_connect(path, &o->sock);
	if (!err) {
		err = daemon_register(o, path, ring_size, &reg);
		if (err)
			goto err_free;
		goto map;
	}
	if (connect == VIV_CONNECT_DAEMON ||
	    (err != -ENOENT && err != -ECONNREFUSED)) {
		pr_warn("observer: failed to reach a vivarium daemon at %s: %s\n",
			path, viv_errstr(err));
		goto err_free;
	}
	if (geteuid() != 0) {
		pr_warn("no vivarium daemon at %s and not root: start one with "
			"`sudo vivarium daemon`, or run as root\n", path);
		err = -ECONNREFUSED;
		goto err_free;
	}
	pr_debug("observer: no daemon at %s, loading the kernel side here\n",
		 path);

local:
	err = local_register(o, opts, &reg);
	if (err)
		goto err_free;

map:
	err = map_registration(o, &reg);
	/* The mappings hold the ring and the counters from now on. */
	close(reg.ring_fd);
	close(reg.lost_fd);
	if (err)
		goto err_close;
	pr_debug("observer %u: open (%s, %u byte ring)\n", o->id,
		 viv_observer__mode(o), reg.ring_size);
	return o;

err_close:
	if (o->k) {
		viv_kernel__remove_observer(o->k, reg.id, o->pid);
		viv_kernel__close(o->k);
	}
	if (o->sock >= 0)
		close(o->sock);
err_free:
	free(o);
	errno = -err;
	return NULL;
}

bool viv_observer__pending(const struct viv_observer *o)
{
	return viv_ring__pending(&o->ring) && o->generation == fork_generation;
}

struct drain_ctx {
	struct viv_observer *o;
	viv_event_fn fn;
	void *ctx;
	int n;
};

static int drain_one(void *ctx, const void *rec, uint32_t len)
{
	struct drain_ctx *d = ctx;
	struct viv_event ev;

	if (viv_event__decode(rec, len, &ev)) {
		d->o->invalid++;
		pr_debug("observer %u: dropped a malformed record of %u "
			 "bytes\n", d->o->id, len);
		return 0;
	}
	d->n++;
	return d->fn(d->ctx, &ev);
}

/*
 * A daemon that stops retires its observers first, so no record comes any
 * more; its end of our connection closing is how we learn it. It never
 * sends anything after the welcome, so readable means closed. One poll()
 * that does not block, at drains and at close only: pending() stays free
 * of system calls.
 */
static void check_daemon(struct viv_observer *o, bool always)
{
	struct pollfd p = { .fd = o->sock, .events = POLLIN | POLLRDHUP };
	struct timespec now;
	uint64_t ms;

	if (o->sock < 0 || __atomic_load_n(&o->daemon_gone, __ATOMIC_ACQUIRE))
		return;
	/* A system call per drain is a good part of what a drain costs; the
	 * coarse clock is read in the vDSO. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	ms = now.tv_sec * 1000ULL + now.tv_nsec / 1000000;
	if (!always && ms - o->checked_ms < 100)
		return;
	o->checked_ms = ms;
	if (poll(&p, 1, 0) <= 0)
		return;
	if (__atomic_exchange_n(&o->daemon_gone, true, __ATOMIC_ACQ_REL))
		return;
	pr_warn("the daemon stopped; no further events\n");
}

int viv_observer__drain(struct viv_observer *o, viv_event_fn fn, void *ctx)
{
	struct drain_ctx d = { .o = o, .fn = fn, .ctx = ctx };
	int err;

	if (!o || !fn)
		return -EINVAL;
	/*
	 * A callback that ends up here again (a formatter whose Lua code
	 * trips the boundary hook) would be handed the record it is still
	 * holding, which is consumed only when the callback returns. So the
	 * inner call hands over nothing. The callback must return normally,
	 * not longjmp out, or this observer stays marked as draining.
	 */
	if (o->draining || o->generation != fork_generation)
		return 0;
	o->draining = true;
	err = viv_ring__consume(&o->ring, drain_one, &d);
	o->draining = false;
	check_daemon(o, false);
	if (err < 0) {
		pr_warn("observer %u: ring holds a record header that "
			"cannot be right\n", o->id);
		return err;
	}
	return d.n;
}

uint64_t viv_observer__lost(const struct viv_observer *o)
{
	const struct viv_lost *l = o->lost ? &o->lost[o->slot] : NULL;
	uint64_t count = 0;

	/* The slot belongs to us only while it carries our id. */
	if (l && __atomic_load_n(&l->id, __ATOMIC_ACQUIRE) == o->id)
		count = __atomic_load_n(&l->count, __ATOMIC_RELAXED) -
			o->lost_base;
	return count + o->invalid;
}

const char *viv_observer__mode(const struct viv_observer *o)
{
	return o->k ? "local" : "daemon";
}

uint32_t viv_observer__id(const struct viv_observer *o)
{
	return o->id;
}

struct viv_kernel *viv_observer__kernel(const struct viv_observer *o)
{
	return o->k;
}

void viv_observer__close(struct viv_observer *o)
{
	int err;

	if (!o)
		return;
	check_daemon(o, true);
	viv_observer__forget_threads(o);
	viv_ring__unmap(&o->ring);
	if (o->lost)
		munmap((void *)o->lost, o->lost_len);
	/* A forked child holds copies of the parent's mappings and socket;
	 * only the process that registered deregisters. */
	if (o->k && getpid() == o->pid) {
		err = viv_kernel__remove_observer(o->k, o->id, o->pid);
		if (err)
			pr_warn("observer %u: failed to deregister: %s\n",
				o->id, viv_errstr(err));
		viv_kernel__close(o->k);
	}
	if (o->sock >= 0)
		close(o->sock);
	free(o);
}
