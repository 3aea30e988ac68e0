/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * vivbench: the C half of `make bench`; bench/run.sh drives it and turns
 * what it prints ("key value" lines) into the table.
 *
 *   vivbench unobserved   syscall loops of a process nobody observes, with
 *                         nothing loaded, with every event loaded, and
 *                         with one empty tracepoint program attached
 *   vivbench observed     open+close loops observed through a daemon
 *                         ($VIVARIUM_SOCKET) against the same loops
 *                         unobserved: the cost of each delivered event
 *   vivbench drain        records drained and decoded per second, from a
 *                         real ring and from a replay of its records
 *   vivbench replay       the replay alone, on made-up records: no
 *                         kernel, so callgrind can count it
 *   vivbench rate         the highest open rate a child can keep up with
 *                         zero loss while its observer drains at
 *                         boundaries
 *   vivbench profile      run time per BPF program (BPF_ENABLE_STATS)
 *   vivbench memory       kernel memory of the maps, programs and ring
 *
 * The machines this runs on are shared and noisy, so every figure is a
 * ratio or a difference against a baseline taken in the same run, the
 * two interleaved (A B B A ...), and the median over rounds is reported.
 * Loops are timed in the thread's CPU time, which counts the kernel's
 * work on our behalf (BPF programs included) but not other processes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <bpf/bpf.h>

#include "ring.h"
#include "vivarium.h"

#define TRACEFS		"/sys/kernel/tracing"
/* The syscall the empty program is attached to: nothing else uses it. */
#define EMPTY_TP	"syscalls/sys_enter_getppid"
#define RECORD_STEP	((sizeof(struct viv_path_open) + VIV_RING_HDR_SZ + 7) & ~7UL)
#define MAX_ROUNDS	64

static const char *open_path = "/dev/null";
static int rounds = 7;
static double scale = 1.0;

/* ---- helpers ----------------------------------------------------------- */

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	if (n <= 0)
		return 0;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static long iters(long n)
{
	long k = n * scale;

	return k > 0 ? k : 1;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "vivbench: %s: %s\n", what, viv_errstr(err));
	exit(1);
}

/*
 * The least of three runs of a loop: a run that another process's
 * interrupts or cache traffic slowed down says nothing about ours, and
 * the least is what the code costs when left alone.
 */
static double least_of3(double (*loop)(long n), long n)
{
	double best = loop(n / 3), v;

	for (int i = 1; i < 3; i++) {
		v = loop(n / 3);
		if (v < best)
			best = v;
	}
	return best;
}

/* open+close pairs: the ns of CPU time one pair costs. */
static double loop_open(long n)
{
	uint64_t t0 = cpu_ns();
	int fd;

	for (long i = 0; i < n; i++) {
		fd = open(open_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
	}
	return (double)(cpu_ns() - t0) / n;
}

/* A syscall no program watches; syscall() because glibc may cache. */
static double loop_getpid(long n)
{
	uint64_t t0 = cpu_ns();

	for (long i = 0; i < n; i++)
		syscall(SYS_getpid);
	return (double)(cpu_ns() - t0) / n;
}

/* ---- the empty tracepoint ---------------------------------------------- */

static int tracepoint_id(const char *tp)
{
	char path[256];
	FILE *f;
	int id = -1;

	snprintf(path, sizeof(path), TRACEFS "/events/%s/id", tp);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%d", &id) != 1)
		id = -EINVAL;
	fclose(f);
	return id;
}

/*
 * "return 0" attached to one syscall tracepoint nobody calls: what the
 * kernel charges every other syscall once any syscall tracepoint has a
 * program (the syscall slow path), before any program of ours runs.
 * Returns the perf event fd holding it; with @prog_out, the program's fd
 * too.
 */
static int empty_tp_attach_to(const char *tp, int *prog_out)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.sample_period = 1,
		.wakeup_events = 1,
	};
	int prog, pfd, id, err;

	id = tracepoint_id(tp);
	if (id < 0)
		return id;
	attr.config = id;
	prog = bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, "vivbench_empty",
			     "GPL", insns, 2, NULL);
	if (prog < 0)
		return prog;
	pfd = syscall(SYS_perf_event_open, &attr, -1 /* any pid */,
		      0 /* cpu */, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0) {
		err = -errno;
		close(prog);
		return err;
	}
	if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog) ||
	    ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0)) {
		err = -errno;
		close(pfd);
		close(prog);
		return err;
	}
	/* The perf event holds the program now. */
	if (prog_out)
		*prog_out = prog;
	else
		close(prog);
	return pfd;
}

static int empty_tp_attach(int *prog_out)
{
	return empty_tp_attach_to(EMPTY_TP, prog_out);
}

/* ---- unobserved -------------------------------------------------------- */

/*
 * ST_FLOOR: empty programs on sys_enter_openat and sys_exit_openat, the
 * two tracepoints path_open needs: what any tracepoint design pays on
 * every open before its programs do any work.
 */
enum { ST_BARE, ST_VIV, ST_EMPTY, ST_FLOOR, ST_MAX };

static int cmd_unobserved(void)
{
	double open_ns[ST_MAX][MAX_ROUNDS], pid_ns[ST_MAX][MAX_ROUNDS];
	double ratio[MAX_ROUNDS], tax[MAX_ROUNDS], etax[MAX_ROUNDS];
	double eotax[MAX_ROUNDS], otax[MAX_ROUNDS], load_s[MAX_ROUNDS];
	double ftax[MAX_ROUNDS];
	static const int order[2][ST_MAX] = {
		{ ST_BARE, ST_VIV, ST_EMPTY, ST_FLOOR },
		{ ST_FLOOR, ST_EMPTY, ST_VIV, ST_BARE },
	};
	struct viv_kernel_opts kopts = { .events = 0 /* all */ };
	long n_open = iters(15000), n_pid = iters(150000);
	/* Short states, many of them: the noise here drifts slowly, and a
	 * tax of a few percent hides under a single slow stretch. */
	int nr = rounds * 2 + 1 < MAX_ROUNDS ? rounds * 2 + 1 : MAX_ROUNDS;
	struct viv_kernel *k = NULL;
	int r, i, st, fd = -1, fd2 = -1;
	uint64_t t0;

	loop_open(n_open / 4);
	loop_getpid(n_pid / 4);
	for (r = 0; r < nr; r++) {
		for (i = 0; i < ST_MAX; i++) {
			st = order[r % 2][i];
			if (st == ST_VIV) {
				t0 = clock_ns(CLOCK_MONOTONIC);
				k = viv_kernel__load(&kopts);
				if (!k)
					die("load the kernel side", errno);
				load_s[r] = (clock_ns(CLOCK_MONOTONIC) - t0) / 1e9;
			} else if (st == ST_EMPTY) {
				fd = empty_tp_attach(NULL);
				if (fd < 0)
					die("attach an empty tracepoint", fd);
			} else if (st == ST_FLOOR) {
				fd = empty_tp_attach_to("syscalls/sys_enter_openat",
							NULL);
				fd2 = empty_tp_attach_to("syscalls/sys_exit_openat",
							 NULL);
				if (fd < 0 || fd2 < 0)
					die("attach empty openat tracepoints",
					    fd < 0 ? fd : fd2);
			}
			open_ns[st][r] = least_of3(loop_open, n_open);
			pid_ns[st][r] = least_of3(loop_getpid, n_pid);
			if (k) {
				viv_kernel__close(k);
				k = NULL;
			}
			if (fd >= 0) {
				close(fd);
				fd = -1;
			}
			if (fd2 >= 0) {
				close(fd2);
				fd2 = -1;
			}
		}
		ratio[r] = open_ns[ST_VIV][r] / open_ns[ST_BARE][r];
		otax[r] = open_ns[ST_VIV][r] - open_ns[ST_BARE][r];
		eotax[r] = open_ns[ST_EMPTY][r] - open_ns[ST_BARE][r];
		ftax[r] = open_ns[ST_FLOOR][r] - open_ns[ST_BARE][r];
		tax[r] = pid_ns[ST_VIV][r] - pid_ns[ST_BARE][r];
		etax[r] = pid_ns[ST_EMPTY][r] - pid_ns[ST_BARE][r];
	}
	printf("unobserved_rounds %d\n", nr);
	printf("open_bare_ns %.1f\n", median(open_ns[ST_BARE], nr));
	printf("open_viv_ns %.1f\n", median(open_ns[ST_VIV], nr));
	printf("open_ratio %.4f\n", median(ratio, nr));
	printf("open_tax_ns %.1f\n", median(otax, nr));
	printf("open_empty_tax_ns %.1f\n", median(eotax, nr));
	printf("open_floor_tax_ns %.1f\n", median(ftax, nr));
	printf("getpid_bare_ns %.1f\n", median(pid_ns[ST_BARE], nr));
	printf("getpid_tax_ns %.1f\n", median(tax, nr));
	printf("getpid_empty_tax_ns %.1f\n", median(etax, nr));
	printf("load_s %.3f\n", median(load_s, nr));
	return 0;
}

/* ---- observed ---------------------------------------------------------- */

struct tally {
	long n;
	long bad;
	char buf[1024];
};

static int count_event(void *ctx, const struct viv_event *ev)
{
	struct tally *t = ctx;

	t->n++;
	if (ev->kind != VIV_KIND_PATH_OPEN)
		t->bad++;
	return 0;
}

static int payload_event(void *ctx, const struct viv_event *ev)
{
	struct tally *t = ctx;

	t->n++;
	viv_event__payload(ev, t->buf, sizeof(t->buf));
	return 0;
}

static void skip_field(void *ctx, const struct viv_field *f)
{
	struct tally *t = ctx;

	t->buf[0] ^= (char)f->type;
}

static int fields_event(void *ctx, const struct viv_event *ev)
{
	struct tally *t = ctx;

	t->n++;
	viv_event__fields(ev, skip_field, t);
	return 0;
}

static struct viv_observer *observer_open(void)
{
	struct viv_observer_opts opts = { .connect = VIV_CONNECT_DAEMON };
	struct viv_observer *o;

	if (!getenv("VIVARIUM_SOCKET")) {
		fprintf(stderr, "vivbench: set VIVARIUM_SOCKET to a daemon's "
			"socket\n");
		exit(2);
	}
	o = viv_observer__open(&opts);
	if (!o)
		die("register with the daemon", errno);
	return o;
}

/* open+close pairs, draining every @every of them when @o is set. */
static double loop_open_drain(long n, struct viv_observer *o, long every,
			      struct tally *t)
{
	uint64_t t0 = cpu_ns();
	int fd;

	for (long i = 0; i < n; i++) {
		fd = open(open_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		if (o && (i + 1) % every == 0 && viv_observer__pending(o))
			viv_observer__drain(o, count_event, t);
	}
	if (o)
		viv_observer__drain(o, count_event, t);
	return (double)(cpu_ns() - t0) / n;
}

static int cmd_observed(void)
{
	static const long every[] = { 1, 64 };
	double base[MAX_ROUNDS], obs[2][MAX_ROUNDS], add[2][MAX_ROUNDS];
	long n = iters(30000), lost = 0, bad = 0, missing = 0;
	struct viv_observer *o;
	struct tally t;
	int r, j, i, k;
	double v;

	loop_open(n / 4);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < 3; i++) {
			/* bare first in even rounds, last in odd ones */
			j = r % 2 ? 2 - i : i;
			if (j == 0) {
				base[r] = least_of3(loop_open, n);
				continue;
			}
			o = observer_open();
			obs[j - 1][r] = 0;
			for (k = 0; k < 3; k++) {
				memset(&t, 0, sizeof(t));
				v = loop_open_drain(n / 3, o, every[j - 1], &t);
				if (!k || v < obs[j - 1][r])
					obs[j - 1][r] = v;
				bad += t.bad;
				if (t.n < n / 3)
					missing += n / 3 - t.n;
			}
			lost += viv_observer__lost(o);
			viv_observer__close(o);
		}
		for (j = 0; j < 2; j++)
			add[j][r] = obs[j][r] - base[r];
	}
	printf("rounds %d\n", rounds);
	printf("open_unobserved_ns %.1f\n", median(base, rounds));
	printf("open_observed_each_ns %.1f\n", median(obs[0], rounds));
	printf("open_observed_batch_ns %.1f\n", median(obs[1], rounds));
	printf("event_cost_each_ns %.1f\n", median(add[0], rounds));
	printf("event_cost_batch_ns %.1f\n", median(add[1], rounds));
	printf("observed_lost %ld\n", lost);
	printf("observed_missing %ld\n", missing);
	printf("observed_other_kinds %ld\n", bad);
	return 0;
}

/* ---- drain rate -------------------------------------------------------- */

/* Records a drain hands over, copied for the replay. */
struct capture {
	char *buf;
	size_t len;
	size_t cap;
	long n;
};

static int capture_event(void *ctx, const struct viv_event *ev)
{
	struct capture *c = ctx;
	size_t step = (ev->size + VIV_RING_HDR_SZ + 7) & ~7UL;
	uint32_t *hdr;

	if (c->len + step > c->cap)
		return 1;
	hdr = (uint32_t *)(c->buf + c->len);
	hdr[0] = ev->size;
	hdr[1] = 0;
	memcpy(hdr + 2, ev->raw, ev->size);
	c->len += step;
	c->n++;
	return 0;
}

static void produce(long n)
{
	int fd;

	for (long i = 0; i < n; i++) {
		fd = open(open_path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
	}
}

/*
 * Memory laid out as the kernel maps a ring, holding the captured
 * records, so that the consumer runs on the same bytes again and again
 * with no kernel involved: steady numbers, and fit for callgrind.
 */
struct replay {
	unsigned long *cons;
	char *prod;
	uint32_t size;
	size_t page;
};

static int replay_init(struct replay *rp, const struct capture *c)
{
	size_t page = sysconf(_SC_PAGESIZE);
	uint32_t size = page;

	while (size < c->len + 8)
		size <<= 1;
	rp->page = page;
	rp->size = size;
	rp->cons = aligned_alloc(page, page);
	rp->prod = aligned_alloc(page, page + 2 * (size_t)size);
	if (!rp->cons || !rp->prod)
		return -ENOMEM;
	memset(rp->prod, 0, page + 2 * (size_t)size);
	memcpy(rp->prod + page, c->buf, c->len);
	memcpy(rp->prod + page + size, c->buf, c->len);
	*(unsigned long *)rp->prod = c->len;
	return 0;
}

struct replay_ctx {
	int (*fn)(void *ctx, const struct viv_event *ev);
	struct tally *t;
};

static int replay_ring_only(void *ctx, const void *rec, uint32_t len)
{
	struct replay_ctx *rc = ctx;

	rc->t->n++;
	rc->t->buf[0] ^= *(const char *)rec;
	return 0;
}

static int replay_decode(void *ctx, const void *rec, uint32_t len)
{
	struct replay_ctx *rc = ctx;
	struct viv_event ev;

	if (viv_event__decode(rec, len, &ev))
		return 0;
	return rc->fn(rc->t, &ev);
}

/* ns per record of one pass over the replayed ring, best of @passes. */
static double replay_pass(struct replay *rp, viv_ring_fn fn,
			  int (*efn)(void *, const struct viv_event *),
			  int passes)
{
	struct replay_ctx rc;
	struct viv_ring ring;
	struct tally t;
	double v[MAX_ROUNDS];
	uint64_t t0;
	int p;

	if (passes > MAX_ROUNDS)
		passes = MAX_ROUNDS;
	for (p = 0; p < passes; p++) {
		memset(&t, 0, sizeof(t));
		rc.fn = efn;
		rc.t = &t;
		*rp->cons = 0;
		viv_ring__attach(&ring, rp->cons, rp->prod, rp->size);
		t0 = cpu_ns();
		viv_ring__consume(&ring, fn, &rc);
		v[p] = (double)(cpu_ns() - t0) / (t.n ? t.n : 1);
	}
	return median(v, passes);
}

static int cmd_drain(void)
{
	static const struct {
		const char *name;
		int (*fn)(void *ctx, const struct viv_event *ev);
	} kinds[] = {
		{ "decode", count_event },
		{ "payload", payload_event },
		{ "fields", fields_event },
	};
	double ns[3][MAX_ROUNDS];
	struct capture c = { 0 };
	struct viv_observer *o;
	struct replay rp;
	long batch = 2500;	/* of 304-byte records: 3/4 of a 1 MiB ring */
	struct tally t;
	uint64_t t0;
	int r, j, n;

	o = observer_open();
	produce(100);
	memset(&t, 0, sizeof(t));
	viv_observer__drain(o, count_event, &t);
	for (r = 0; r < rounds; r++) {
		for (j = 0; j < 3; j++) {
			produce(batch);
			memset(&t, 0, sizeof(t));
			t0 = cpu_ns();
			n = viv_observer__drain(o, kinds[j].fn, &t);
			ns[j][r] = (double)(cpu_ns() - t0) / (n > 0 ? n : 1);
		}
	}
	for (j = 0; j < 3; j++)
		printf("drain_%s_ns %.1f\n", kinds[j].name,
		       median(ns[j], rounds));
	printf("drain_lost %llu\n", (unsigned long long)viv_observer__lost(o));

	/* The same records again from plain memory. */
	c.cap = batch * RECORD_STEP;
	c.buf = malloc(c.cap);
	if (!c.buf)
		die("capture", ENOMEM);
	produce(batch);
	viv_observer__drain(o, capture_event, &c);
	viv_observer__close(o);
	if (replay_init(&rp, &c))
		die("replay", ENOMEM);
	printf("replay_records %ld\n", c.n);
	printf("replay_ring_ns %.1f\n",
	       replay_pass(&rp, replay_ring_only, NULL, 31));
	for (j = 0; j < 3; j++)
		printf("replay_%s_ns %.1f\n", kinds[j].name,
		       replay_pass(&rp, replay_decode, kinds[j].fn, 31));
	return 0;
}

/* Only the replay, no kernel: `valgrind --tool=callgrind vivbench
 * replay` counts the consumer's instructions per record. */
static int cmd_replay(void)
{
	struct capture c = { 0 };
	struct viv_path_open rec;
	struct replay rp;
	int i, n = 2500;

	memset(&rec, 0, sizeof(rec));
	rec.hdr.kind = VIV_KIND_PATH_OPEN;
	rec.hdr.size = sizeof(rec);
	rec.hdr.pid = rec.hdr.tid = rec.hdr.origin = 4242;
	rec.hdr.ktime_ns = 123456789;
	rec.ret = 3;
	rec.flags = O_RDONLY | O_CLOEXEC;
	snprintf(rec.path, sizeof(rec.path), "/tmp/vivarium-bench/file.txt");

	c.cap = n * RECORD_STEP;
	c.buf = malloc(c.cap);
	if (!c.buf)
		die("replay", ENOMEM);
	for (i = 0; i < n; i++) {
		struct viv_event ev;

		if (viv_event__decode(&rec, sizeof(rec), &ev))
			die("decode a made-up record", EINVAL);
		capture_event(&c, &ev);
	}
	if (replay_init(&rp, &c))
		die("replay", ENOMEM);
	printf("replay_ring_ns %.1f\n",
	       replay_pass(&rp, replay_ring_only, NULL, 5));
	printf("replay_decode_ns %.1f\n",
	       replay_pass(&rp, replay_decode, count_event, 5));
	printf("replay_payload_ns %.1f\n",
	       replay_pass(&rp, replay_decode, payload_event, 5));
	printf("replay_fields_ns %.1f\n",
	       replay_pass(&rp, replay_decode, fields_event, 5));
	return 0;
}

/* ---- sustained rate ---------------------------------------------------- */

#define MAX_PRODUCERS	4

struct shared {
	volatile long produced[MAX_PRODUCERS];
	volatile long ns[MAX_PRODUCERS];
};

/* A child opening at @rate per second (0: flat out) for @secs, paced in
 * steps of at most 64 opens. */
static void producer(struct shared *sh, int me, double rate, double secs)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), now;
	long n = 0, due;
	int fd;

	for (;;) {
		now = clock_ns(CLOCK_MONOTONIC);
		if (now - t0 >= secs * 1e9)
			break;
		due = rate > 0 ? (long)((now - t0) / 1e9 * rate) + 1 : n + 64;
		if (n >= due) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
			continue;
		}
		if (due > n + 64)
			due = n + 64;
		while (n < due) {
			fd = open(open_path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
			n++;
		}
	}
	sh->produced[me] = n;
	sh->ns[me] = (long)(clock_ns(CLOCK_MONOTONIC) - t0);
	_exit(0);
}

/*
 * One trial: the observer forks @np producers (descendants, so observed)
 * sharing @rate, and drains at each of its boundaries, one every @gap_us
 * of sleeping. Returns the rate achieved; *lost gets the records that
 * never arrived.
 */
static double rate_trial(int np, double rate, double secs, long gap_us,
			 long *lost)
{
	struct timespec gap = { gap_us / 1000000, gap_us % 1000000 * 1000 };
	pid_t pids[MAX_PRODUCERS];
	struct viv_observer *o;
	long produced = 0, ns = 0;
	int i, left = np, status;
	struct shared *sh;
	struct tally t;
	uint64_t base;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap", errno);
	memset(sh, 0, sizeof(*sh));
	o = observer_open();
	base = viv_observer__lost(o);
	memset(&t, 0, sizeof(t));
	for (i = 0; i < np; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork", errno);
		if (pids[i] == 0)
			producer(sh, i, rate / np, secs);
	}
	while (left) {
		nanosleep(&gap, NULL);
		if (viv_observer__pending(o))
			viv_observer__drain(o, count_event, &t);
		for (i = 0; i < np; i++)
			if (pids[i] > 0 &&
			    waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				pids[i] = 0;
				left--;
			}
	}
	viv_observer__drain(o, count_event, &t);
	for (i = 0; i < np; i++) {
		produced += sh->produced[i];
		if (sh->ns[i] > ns)
			ns = sh->ns[i];
	}
	*lost = viv_observer__lost(o) - base;
	/* the count says what the kernel dropped; missing records too */
	if (t.n + *lost < produced)
		*lost = produced - t.n;
	viv_observer__close(o);
	munmap(sh, sizeof(*sh));
	return ns ? produced / (ns / 1e9) : 0;
}

static int cmd_rate(void)
{
	static const double rates[] = { 20000, 100000, 200000, 300000, 0 };
	static const long gaps_us[] = { 1000, 10000, 100000 };
	double best, got, secs = 0.4 * scale;
	int g, i, np = 2;
	long lost;

	if (getenv("BENCH_PRODUCERS"))
		np = atoi(getenv("BENCH_PRODUCERS"));
	if (np < 1 || np > MAX_PRODUCERS)
		np = 2;
	for (g = 0; g < 3; g++) {
		best = 0;
		for (i = 0; i < (int)(sizeof(rates) / sizeof(rates[0])); i++) {
			got = rate_trial(np, rates[i], secs, gaps_us[g], &lost);
			printf("rate_trial gap_us=%ld asked=%.0f got=%.0f "
			       "lost=%ld\n", gaps_us[g], rates[i], got, lost);
			if (!lost && got > best)
				best = got;
		}
		printf("rate_zero_loss_gap%ldus %.0f\n", gaps_us[g], best);
	}
	return 0;
}

/* ---- BPF program run time ---------------------------------------------- */

#define MAX_PROGS	256

struct prog_stat {
	int fd;		/* the kernel side's own */
	char name[BPF_OBJ_NAME_LEN];
	__u64 cnt;
	__u64 ns;
};

static void prog_read(struct prog_stat *p)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(p->fd, &info, &len))
		return;
	p->cnt = info.run_cnt;
	p->ns = info.run_time_ns;
	memcpy(p->name, info.name, sizeof(p->name));
}

/* The programs this process holds, which after viv_kernel__load() are
 * the kernel side's and no one else's, whatever others load meanwhile. */
static int ours(struct prog_stat *ps)
{
	char path[64], link[64];
	struct dirent *de;
	int fd, n = 0;
	ssize_t len;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < MAX_PROGS) {
		fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		if (strcmp(link, "anon_inode:bpf-prog"))
			continue;
		ps[n].fd = fd;
		prog_read(&ps[n]);
		n++;
	}
	closedir(d);
	return n;
}

enum { PH_EMPTY, PH_MISS_OPEN, PH_MISS_GETPID, PH_HIT_OPEN, PH_MAX };

static const char *const phase_names[PH_MAX] = {
	"getppid", "unobserved_open", "unobserved_getpid", "observed_open",
};

/* Per program and phase: runs per loop iteration, ns per run, a round
 * each. */
struct prog_rounds {
	double runs[PH_MAX][MAX_ROUNDS];
	double ns[PH_MAX][MAX_ROUNDS];
};

static void prog_sample(struct prog_stat *ps, struct prog_rounds *pr, int n,
			int phase, int round, long ops)
{
	struct prog_stat old;
	__u64 runs;

	for (int i = 0; i < n; i++) {
		old = ps[i];
		prog_read(&ps[i]);
		runs = ps[i].cnt - old.cnt;
		pr[i].runs[phase][round] = (double)runs / ops;
		pr[i].ns[phase][round] = runs ? (double)(ps[i].ns - old.ns) /
						 runs : 0;
	}
}

static void prog_print(struct prog_stat *ps, struct prog_rounds *pr, int n)
{
	double runs;

	for (int ph = 0; ph < PH_MAX; ph++) {
		for (int i = 0; i < n; i++) {
			runs = median(pr[i].runs[ph], rounds);
			/* programs that ran for others in the background */
			if (runs < 0.05)
				continue;
			printf("prog %s %s runs_per_op=%.2f ns_per_run=%.1f\n",
			       phase_names[ph], ps[i].name, runs,
			       median(pr[i].ns[ph], rounds));
		}
	}
}

static int cmd_profile(void)
{
	struct viv_kernel_opts kopts = { .events = 0 };
	static struct prog_rounds pr[MAX_PROGS];
	struct prog_stat ps[MAX_PROGS];
	struct viv_registration reg;
	struct viv_kernel *k;
	struct viv_ring ring;
	long n = iters(10000);
	int np, sfd, efd, err, r, empty;
	struct tally t;

	k = viv_kernel__load(&kopts);
	if (!k)
		die("load the kernel side", errno);
	np = ours(ps);

	/* The empty program runs on getppid: what a run of a program that
	 * does nothing costs, counting included. */
	efd = empty_tp_attach(&ps[np].fd);
	if (efd < 0)
		die("attach an empty tracepoint", efd);
	prog_read(&ps[np]);
	empty = np++;

	/* Counting costs two clock reads per run: on only while we look. */
	sfd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (sfd < 0)
		die("enable BPF run time stats", sfd);
	memset(&t, 0, sizeof(t));
	for (r = 0; r < rounds; r++) {
		prog_sample(ps, pr, np, PH_EMPTY, r, 1);
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		prog_sample(ps, pr, np, PH_EMPTY, r, n);
		prog_sample(ps, pr, np, PH_MISS_OPEN, r, 1);
		loop_open(n);
		prog_sample(ps, pr, np, PH_MISS_OPEN, r, n);
		loop_getpid(n);
		prog_sample(ps, pr, np, PH_MISS_GETPID, r, n);

		err = viv_kernel__add_observer(k, getpid(),
					       VIV_DEFAULT_RING_SIZE, &reg);
		if (err)
			die("add an observer", err);
		err = viv_ring__map(&ring, reg.ring_fd, reg.ring_size);
		if (err)
			die("map the ring", err);
		prog_sample(ps, pr, np, PH_HIT_OPEN, r, 1);
		for (long i = 0; i < n; i += 1000) {
			produce(1000);
			viv_ring__consume(&ring, replay_ring_only,
					  &(struct replay_ctx){ .t = &t });
		}
		prog_sample(ps, pr, np, PH_HIT_OPEN, r, n);
		viv_kernel__remove_observer(k, reg.id, getpid());
		viv_ring__unmap(&ring);
		close(reg.ring_fd);
		close(reg.lost_fd);
	}
	close(sfd);
	prog_print(ps, pr, np);
	printf("profile_empty_ns %.1f\n", median(pr[empty].ns[PH_EMPTY], rounds));
	printf("profile_records %ld\n", t.n);
	close(efd);
	close(ps[empty].fd);
	viv_kernel__close(k);
	return 0;
}

/* ---- memory ------------------------------------------------------------ */

/* The memlock line of a BPF object's fdinfo: what it charges. */
static long fd_memlock(int fd)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * Sum the memlock of the BPF maps (or programs) this process holds a
 * descriptor of: after viv_kernel__load(), exactly the kernel side's,
 * whatever other processes load meanwhile. With @show, print each map
 * that takes a page or more.
 */
static long sum_held(bool maps, bool show)
{
	const char *want = maps ? "anon_inode:bpf-map" : "anon_inode:bpf-prog";
	struct bpf_map_info info;
	char path[64], link[64];
	struct dirent *de;
	long sum = 0, v;
	ssize_t n;
	__u32 len;
	DIR *d;
	int fd;

	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, want))
			continue;
		v = fd_memlock(fd);
		if (v > 0)
			sum += v;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (show && v >= 4096 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			printf("map %s entries=%u value=%u bytes=%ld\n",
			       info.name, info.max_entries, info.value_size, v);
	}
	closedir(d);
	return sum;
}

static int cmd_memory(void)
{
	struct viv_kernel_opts kopts = { .events = 0 };
	struct viv_registration reg;
	struct viv_kernel *k;
	int err;

	k = viv_kernel__load(&kopts);
	if (!k)
		die("load the kernel side", errno);
	printf("kernel_maps_bytes %ld\n", sum_held(true, true));
	printf("kernel_progs_bytes %ld\n", sum_held(false, false));
	err = viv_kernel__add_observer(k, getpid(), VIV_DEFAULT_RING_SIZE, &reg);
	if (err)
		die("add an observer", err);
	printf("ring_bytes %ld\n", fd_memlock(reg.ring_fd));
	printf("ring_records %lu\n",
	       (unsigned long)(reg.ring_size / RECORD_STEP));
	viv_kernel__remove_observer(k, reg.id, getpid());
	close(reg.ring_fd);
	close(reg.lost_fd);
	viv_kernel__close(k);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

static int quiet(enum viv_log_level level, const char *fmt, va_list ap)
{
	if (level > VIV_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	const char *env;

	if (argc < 2) {
		fprintf(stderr, "usage: vivbench unobserved|observed|drain|"
			"replay|rate|profile|memory\n");
		return 2;
	}
	env = getenv("BENCH_ROUNDS");
	if (env && atoi(env) > 0)
		rounds = atoi(env) < MAX_ROUNDS ? atoi(env) : MAX_ROUNDS;
	env = getenv("BENCH_SCALE");
	if (env && atof(env) > 0)
		scale = atof(env);
	env = getenv("BENCH_OPEN_PATH");
	if (env && *env)
		open_path = env;
	viv_set_print(quiet);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(argv[1], "unobserved"))
		return cmd_unobserved();
	if (!strcmp(argv[1], "observed"))
		return cmd_observed();
	if (!strcmp(argv[1], "drain"))
		return cmd_drain();
	if (!strcmp(argv[1], "replay"))
		return cmd_replay();
	if (!strcmp(argv[1], "rate"))
		return cmd_rate();
	if (!strcmp(argv[1], "profile"))
		return cmd_profile();
	if (!strcmp(argv[1], "memory"))
		return cmd_memory();
	fprintf(stderr, "vivbench: unknown command '%s'\n", argv[1]);
	return 2;
}
