/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-thread draining (lib/thread.c) against a fake daemon: a thread that
 * speaks the daemon's protocol on a socket in a temporary directory and
 * hands out memfds laid out as the kernel lays out a ring, whose records
 * the test writes itself with any origin it likes. Needs neither root nor
 * BPF.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"
#include "protocol.h"
#include "ring.h"
#include "vivarium.h"

#define RING_SIZE	(64U * 1024)

/* ---- the fake daemon and its ring -------------------------------------- */

struct fake_ring {
	unsigned long *consumer;
	unsigned long *producer;
	char *data;		/* first copy; the second follows it */
	void *map;
	size_t map_len;
};

static char dir[] = "/tmp/viv-thread-test.XXXXXX";
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct fake_ring ring;	/* of the last observer registered */
static pthread_t server;
static int listen_fd = -1;
static uint32_t next_id = 7;

static pid_t self_tid(void)
{
	return syscall(SYS_gettid);
}

/*
 * The kernel maps the data area twice back to back; one linear memfd
 * cannot, so the writer stores every byte in both copies.
 */
static int make_ring(int *ring_fd, int *lost_fd)
{
	size_t page = sysconf(_SC_PAGESIZE);
	size_t lost_len = (VIV_MAX_OBSERVERS * sizeof(struct viv_lost) + page - 1) &
			  ~(page - 1);
	int fd, lfd;

	fd = memfd_create("viv-thread-ring", MFD_CLOEXEC);
	lfd = memfd_create("viv-thread-lost", MFD_CLOEXEC);
	if (fd < 0 || lfd < 0 || ftruncate(fd, 2 * page + 2 * RING_SIZE) ||
	    ftruncate(lfd, lost_len))
		return -errno;
	if (ring.map)
		munmap(ring.map, ring.map_len);
	ring.map_len = 2 * page + 2 * RING_SIZE;
	ring.map = mmap(NULL, ring.map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring.map == MAP_FAILED)
		return -errno;
	ring.consumer = ring.map;
	ring.producer = (unsigned long *)((char *)ring.map + page);
	ring.data = (char *)ring.map + 2 * page;
	*ring_fd = fd;
	*lost_fd = lfd;
	return 0;
}

static void *serve(void *arg)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct viv_msg_welcome w;
	struct viv_msg_hello h;
	struct msghdr msg;
	struct cmsghdr *cm;
	struct iovec iov;
	int c, fds[2];

	for (;;) {
		c = accept(listen_fd, NULL, NULL);
		if (c < 0)
			return NULL;
		if (recv(c, &h, sizeof(h), 0) != sizeof(h) ||
		    make_ring(&fds[0], &fds[1])) {
			close(c);
			continue;
		}
		memset(&w, 0, sizeof(w));
		w.magic = VIV_MSG_MAGIC;
		w.version = VIV_MSG_VERSION;
		w.type = VIV_MSG_WELCOME;
		w.id = next_id++;
		w.ring_size = RING_SIZE;
		w.lost_slot = w.id % VIV_MAX_OBSERVERS;

		iov.iov_base = &w;
		iov.iov_len = sizeof(w);
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		sendmsg(c, &msg, MSG_NOSIGNAL);
		close(fds[0]);
		close(fds[1]);
		/* The connection stays open: its close would deregister. */
	}
}

static int server_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!mkdtemp(dir))
		return -errno;
	snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
	strcpy(sa.sun_path, sock_path);
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 8))
		return -errno;
	setenv("VIVARIUM_SOCKET", sock_path, 1);
	return pthread_create(&server, NULL, serve, NULL) ? -EAGAIN : 0;
}

static void server_stop(void)
{
	shutdown(listen_fd, SHUT_RDWR);
	pthread_join(server, NULL);
	close(listen_fd);
	unlink(sock_path);
	rmdir(dir);
	if (ring.map)
		munmap(ring.map, ring.map_len);
}

static struct viv_observer *open_observer(void)
{
	struct viv_observer_opts opts = { .connect = VIV_CONNECT_DAEMON };

	return viv_observer__open(&opts);
}

/* Write a path_open record from @origin whose path is "/<seq>"; false when
 * the ring is full. Only one writer at a time. */
static bool produce(uint32_t origin, uint32_t seq)
{
	struct viv_path_open rec;
	unsigned long prod = *ring.producer, cons;
	uint32_t len = sizeof(rec), hdr[2] = { len, 0 };
	unsigned long step = (len + VIV_RING_HDR_SZ + 7) & ~7UL;
	const char *p;
	size_t i, off;

	cons = __atomic_load_n(ring.consumer, __ATOMIC_ACQUIRE);
	if (prod + step - cons > RING_SIZE - 1)
		return false;
	memset(&rec, 0, sizeof(rec));
	rec.hdr.kind = VIV_KIND_PATH_OPEN;
	rec.hdr.size = len;
	rec.hdr.pid = getpid();
	rec.hdr.tid = origin ? origin : 1;
	rec.hdr.origin = origin;
	rec.ret = 3;
	snprintf(rec.path, sizeof(rec.path), "/%u", seq);

	/* The header's length word goes last: it is the commit. */
	for (i = 0; i < len; i++) {
		off = (prod + VIV_RING_HDR_SZ + i) & (RING_SIZE - 1);
		ring.data[off] = ((const char *)&rec)[i];
		ring.data[off + RING_SIZE] = ((const char *)&rec)[i];
	}
	p = (const char *)hdr;
	for (i = 4; i < 8; i++) {
		off = (prod + i) & (RING_SIZE - 1);
		ring.data[off] = p[i];
		ring.data[off + RING_SIZE] = p[i];
	}
	off = prod & (RING_SIZE - 1);
	__atomic_store_n((uint32_t *)(ring.data + off), len, __ATOMIC_RELEASE);
	__atomic_store_n((uint32_t *)(ring.data + off + RING_SIZE), len,
			 __ATOMIC_RELEASE);
	__atomic_store_n(ring.producer, prod + step, __ATOMIC_RELEASE);
	return true;
}

/* ---- helper threads ----------------------------------------------------- */

struct helper {
	pthread_t thread;
	pid_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go;
};

static void *helper_main(void *arg)
{
	struct helper *h = arg;

	pthread_mutex_lock(&h->lock);
	h->tid = self_tid();
	pthread_cond_broadcast(&h->cond);
	while (!h->go)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* A live thread that does nothing until helper_stop(). */
static void helper_start(struct helper *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	pthread_create(&h->thread, NULL, helper_main, h);
	pthread_mutex_lock(&h->lock);
	while (!h->tid)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

static void helper_stop(struct helper *h)
{
	pthread_mutex_lock(&h->lock);
	h->go = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
}

/* ---- collecting --------------------------------------------------------- */

struct seen {
	int n;
	int stop_at;		/* return 1 on this record (1-based) */
	uint32_t origin[64];
	uint32_t seq[64];
};

static int collect(void *ctx, const struct viv_event *ev)
{
	const struct viv_path_open *po = (const void *)ev->raw;
	struct seen *s = ctx;

	if (s->n < 64) {
		s->origin[s->n] = ev->origin;
		s->seq[s->n] = strtoul(po->path + 1, NULL, 10);
	}
	s->n++;
	return s->stop_at && s->n == s->stop_at;
}

static int drain(struct viv_observer *o, pid_t tid, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return viv_observer__drain_thread(o, tid, collect, s);
}

/* ---- tests -------------------------------------------------------------- */

static void test_split(struct viv_observer *o, pid_t a, pid_t b)
{
	struct seen s;
	int n;

	produce(a, 1);
	produce(b, 2);
	produce(a, 3);
	produce(b, 4);
	CHECK(viv_observer__pending_thread(o, a), "a pending");
	n = drain(o, a, &s);
	CHECK(n == 2 && s.n == 2 && s.seq[0] == 1 && s.seq[1] == 3,
	      "a gets its own, in order: n %d seqs %u %u", n, s.seq[0], s.seq[1]);
	CHECK(!viv_observer__pending_thread(o, a), "a has nothing left");
	CHECK(viv_observer__pending_thread(o, b), "b's records are kept");
	CHECK(!viv_observer__pending(o), "ring empty");

	produce(b, 5);
	produce(a, 6);
	n = drain(o, b, &s);
	CHECK(n == 3 && s.seq[0] == 2 && s.seq[1] == 4 && s.seq[2] == 5,
	      "b gets kept then ring records: n %d", n);
	CHECK(!viv_observer__pending_thread(o, b), "b drained");
	CHECK(viv_observer__pending_thread(o, a), "a's new record kept");
	n = drain(o, a, &s);
	CHECK(n == 1 && s.seq[0] == 6, "a's kept record: n %d", n);
	CHECK(!viv_observer__pending_thread(o, a) &&
	      !viv_observer__pending_thread(o, b), "all drained");
}

struct drainer {
	struct viv_observer *o;
	pthread_t thread;
	pid_t tid;
	bool stop;
	struct seen s;
};

/* A thread that drains its own records once, then waits to be told to
 * exit. */
static void *drainer_main(void *arg)
{
	struct drainer *d = arg;

	d->tid = self_tid();
	viv_observer__drain_thread(d->o, d->tid, collect, &d->s);
	__atomic_store_n(&d->s.stop_at, -1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE))
		usleep(1000);
	return NULL;
}

static void drainer_start(struct drainer *d, struct viv_observer *o)
{
	memset(d, 0, sizeof(*d));
	d->o = o;
	pthread_create(&d->thread, NULL, drainer_main, d);
	while (__atomic_load_n(&d->s.stop_at, __ATOMIC_ACQUIRE) != -1)
		usleep(1000);
}

static void drainer_stop(struct drainer *d)
{
	__atomic_store_n(&d->stop, true, __ATOMIC_RELEASE);
	pthread_join(d->thread, NULL);
}

static void test_orphans(struct viv_observer *o, pid_t a, pid_t b)
{
	struct helper never;
	struct drainer x, y;
	struct seen s;
	int n;

	/* x drained and exited: its records are anyone's. */
	drainer_start(&x, o);
	drainer_stop(&x);
	produce(0, 10);
	produce(b, 11);
	produce(x.tid, 12);
	n = drain(o, a, &s);
	CHECK(n == 2 && s.seq[0] == 10 && s.seq[1] == 12,
	      "origin 0 and a gone thread's go to whoever drains: n %d", n);
	n = drain(o, b, &s);
	CHECK(n == 1 && s.seq[0] == 11, "b's stays b's: n %d", n);

	/* y's record is kept while y lives, and orphaned when it exits. */
	drainer_start(&y, o);
	produce(y.tid, 13);
	n = drain(o, a, &s);
	CHECK(n == 0, "y's record kept for y: n %d", n);
	CHECK(!viv_observer__pending_thread(o, a), "not a's while y lives");
	drainer_stop(&y);
	CHECK(viv_observer__pending_thread(o, a), "y's record free once y exits");
	n = drain(o, a, &s);
	CHECK(n == 1 && s.seq[0] == 13, "a takes y's orphan: n %d", n);

	/* A thread that never drained is not known to be gone: its records
	 * wait for it, or for a drain of everything. */
	helper_start(&never);
	helper_stop(&never);
	produce(never.tid, 14);
	n = drain(o, a, &s);
	CHECK(n == 0, "an unknown thread's record is kept: n %d", n);
	n = drain(o, 0, &s);
	CHECK(n == 1 && s.seq[0] == 14, "tid 0 takes it: n %d", n);
}

static void test_all(struct viv_observer *o, pid_t a, pid_t b, pid_t c)
{
	struct seen s;
	int n;

	produce(b, 20);
	produce(c, 21);
	n = drain(o, a, &s);
	CHECK(n == 0, "nothing for a: n %d", n);
	produce(a, 22);
	produce(b, 23);
	CHECK(viv_observer__pending_thread(o, 0), "tid 0 sees everything");
	n = drain(o, 0, &s);
	CHECK(n == 4 && s.seq[0] == 20 && s.seq[1] == 21 && s.seq[2] == 22 &&
	      s.seq[3] == 23, "tid 0 takes all, in order: n %d", n);
	CHECK(!viv_observer__pending_thread(o, b) &&
	      !viv_observer__pending_thread(o, c), "nothing kept after tid 0");
}

static void test_stop(struct viv_observer *o, pid_t a, pid_t b)
{
	struct seen s;
	int n;

	produce(b, 30);
	produce(a, 31);
	produce(b, 32);
	produce(b, 33);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	n = viv_observer__drain_thread(o, b, collect, &s);
	CHECK(n == 1 && s.seq[0] == 30, "stopped after one: n %d", n);
	CHECK(viv_observer__pending_thread(o, b), "rest of b's still pending");
	n = drain(o, b, &s);
	CHECK(n == 2 && s.seq[0] == 32 && s.seq[1] == 33,
	      "rest handed over in order: n %d", n);
	n = drain(o, a, &s);
	CHECK(n == 1 && s.seq[0] == 31, "a unaffected: n %d", n);
}

static void test_bound(struct viv_observer *o, pid_t a, pid_t b)
{
	const uint32_t total = 20000;
	uint32_t seq = 0, lost;
	struct seen s;
	int n;

	while (seq < total) {
		while (seq < total && produce(b, seq))
			seq++;
		n = drain(o, a, &s);
		if (n) {
			CHECK(0, "a got b's records");
			return;
		}
	}
	CHECK(viv_observer__pending_thread(o, b), "b pending");
	CHECK(viv_observer__lost_thread(o, a) == 0, "a lost nothing");
	lost = viv_observer__lost_thread(o, b);
	CHECK(lost > 0 && lost < total, "oldest of b's dropped: %u", lost);
	CHECK(viv_observer__lost_thread(o, b) == 0, "losses reported once");
	memset(&s, 0, sizeof(s));
	n = viv_observer__drain_thread(o, b, collect, &s);
	CHECK(n + lost == total, "kept + lost = produced: %d + %u", n, lost);
	CHECK(s.seq[0] == lost, "the newest were kept: first %u", s.seq[0]);
	CHECK(!viv_observer__pending_thread(o, b), "b drained");
}

static void test_lost_pending(struct viv_observer *o, pid_t a, pid_t b)
{
	uint32_t seq = 0;
	struct seen s;

	/* Over the bound again; then b's losses alone keep it pending. */
	while (seq < 20000) {
		while (seq < 20000 && produce(b, seq))
			seq++;
		drain(o, a, &s);
	}
	drain(o, b, &s);
	CHECK(viv_observer__pending_thread(o, b), "unreported losses pending");
	CHECK(viv_observer__lost_thread(o, b) > 0, "losses reported");
	CHECK(!viv_observer__pending_thread(o, b), "then nothing pending");
}

struct racer {
	struct viv_observer *o;
	pid_t tid;
	uint32_t want;
	uint32_t got;
	uint32_t lost;
	int64_t last;
	int bad;
	struct helper *ready;
};

static int race_collect(void *ctx, const struct viv_event *ev)
{
	const struct viv_path_open *po = (const void *)ev->raw;
	struct racer *r = ctx;
	int64_t seq = strtoul(po->path + 1, NULL, 10);

	/* In order; gaps only where records were dropped for being kept
	 * too long (a racer the scheduler starves). */
	if (ev->origin != (uint32_t)r->tid || seq <= r->last)
		r->bad++;
	r->last = seq;
	__atomic_add_fetch(&r->got, 1, __ATOMIC_RELEASE);
	return 0;
}

static bool running(struct racer *r)
{
	return __atomic_load_n(&r->got, __ATOMIC_ACQUIRE) +
	       __atomic_load_n(&r->lost, __ATOMIC_ACQUIRE) < r->want;
}

static void *race_main(void *arg)
{
	struct racer *r = arg;
	time_t end = time(NULL) + 20;

	r->tid = self_tid();
	r->last = -1;
	__atomic_store_n(&r->ready->go, true, __ATOMIC_RELEASE);
	while (running(r) && time(NULL) < end) {
		if (!viv_observer__pending_thread(r->o, r->tid))
			continue;
		viv_observer__drain_thread(r->o, r->tid, race_collect, r);
		__atomic_add_fetch(&r->lost,
				   viv_observer__lost_thread(r->o, r->tid),
				   __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_race(struct viv_observer *o)
{
	const uint32_t each = 30000;
	struct racer r[2] = {
		{ .o = o, .want = each }, { .o = o, .want = each },
	};
	struct helper ready[2] = { 0 };
	time_t end = time(NULL) + 20;
	uint32_t seq[2] = { 0, 0 };
	int i, turn = 0;
	pthread_t t[2];

	for (i = 0; i < 2; i++) {
		r[i].ready = &ready[i];
		pthread_create(&t[i], NULL, race_main, &r[i]);
		while (!__atomic_load_n(&ready[i].go, __ATOMIC_ACQUIRE))
			usleep(100);
	}
	while ((seq[0] < each || seq[1] < each) && time(NULL) < end) {
		i = turn++ & 1;
		if (seq[i] == each)
			i ^= 1;
		if (produce(r[i].tid, seq[i]))
			seq[i]++;
		else
			sched_yield();
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2; i++)
		CHECK(r[i].got + r[i].lost == each && !r[i].bad && seq[i] == each,
		      "racer %d: each record handed over in order or counted "
		      "lost: %u + %u of %u, bad %d", i, r[i].got, r[i].lost,
		      each, r[i].bad);
}

static void test_stale(pid_t a, pid_t b)
{
	struct viv_observer *o;
	struct seen s;
	int n;

	o = open_observer();
	if (!o) {
		CHECK(0, "open: %s", strerror(errno));
		return;
	}
	produce(b, 40);
	drain(o, a, &s);
	CHECK(viv_observer__pending_thread(o, b), "kept before close");
	viv_observer__close(o);

	/* Whether or not malloc hands the same address back, the new
	 * observer must not see the old one's records. */
	o = open_observer();
	if (!o) {
		CHECK(0, "reopen: %s", strerror(errno));
		return;
	}
	n = drain(o, b, &s);
	CHECK(n == 0, "no records of a closed observer: n %d", n);
	produce(b, 41);
	drain(o, a, &s);
	viv_observer__forget_threads(o);
	CHECK(!viv_observer__pending_thread(o, b), "forgotten");
	viv_observer__close(o);
}

int main(void)
{
	struct helper hb, hc;
	struct viv_observer *o;
	pid_t a = self_tid();
	int err;

	viv_set_print(NULL);
	err = server_start();
	if (err) {
		fprintf(stderr, "fake daemon: %s\n", strerror(-err));
		return 1;
	}
	helper_start(&hb);
	helper_start(&hc);

	o = open_observer();
	CHECK(o != NULL, "open through the fake daemon: %s", strerror(errno));
	if (o) {
		test_split(o, a, hb.tid);
		test_orphans(o, a, hb.tid);
		test_all(o, a, hb.tid, hc.tid);
		test_stop(o, a, hb.tid);
		test_bound(o, a, hb.tid);
		test_lost_pending(o, a, hb.tid);
		test_race(o);
		viv_observer__close(o);
	}
	test_stale(a, hb.tid);

	helper_stop(&hb);
	helper_stop(&hc);
	server_stop();
	return check_report();
}
