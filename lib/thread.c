/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Draining one observer from several threads, each taking the records it
 * caused (struct viv_event_hdr.origin).
 *
 * A ring has one consumer position, so whichever thread drains takes every
 * record; those of other threads are copied out into the observer's keep
 * list, in ring order, until their thread drains. The list is bounded
 * (KEEP_MAX_BYTES): past it the oldest kept records are dropped and
 * charged to their thread, which learns of it from
 * viv_observer__lost_thread(). A thread that drained and exits leaves its
 * records, and its descendants' later ones, to whoever drains next; a
 * thread that never drained is not known to have exited, so its records
 * wait until the observer drains everything (@tid 0) or the bound drops
 * them.
 *
 * pending_thread() runs at every function boundary of every thread, so it
 * takes no lock and makes no system call: the ring's producer position,
 * then per-thread counters read without the lock. Everything else runs
 * under the keep's mutex, and the callback runs outside it: a host's
 * callback may block (a Ruby formatter writing to a pipe gives up the
 * interpreter lock), and the thread it waits for may be about to drain.
 *
 * struct viv_observer has no member for a keep list, so keeps live in a
 * small table here, found by observer address and told apart from a
 * closed observer's by the observer id (a kernel map id, not reused for
 * 2^31 maps).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define KEEP_MAX_BYTES		(4U << 20)
#define KEEP_THREADS		64	/* threads counted without the lock */
#define KEEP_OBSERVERS		16	/* observers of one process at once */
#define GONE_MAX		64	/* exited threads remembered */

struct kept {
	struct kept *next;
	uint32_t origin;
	uint32_t len;
	int slot;		/* in keep.threads; -1: the table was full */
	uint64_t data[];	/* the record, 8-byte aligned as in the ring */
};

/* Written under the keep's lock, read without it: every access atomic. */
struct thread_count {
	pid_t tid;		/* 0: free */
	uint32_t kept;		/* records kept for tid */
	uint64_t lost;		/* dropped and not yet reported */
};

struct keep {
	const struct viv_observer *o;	/* NULL: free; atomic */
	uint32_t id;
	pthread_mutex_t lock;
	struct kept *head;
	struct kept **tail;
	size_t bytes;
	/* Atomic: what pending_thread() looks at. */
	uint64_t waiting;	/* kept records and unreported losses */
	uint64_t untracked;	/* kept records for anyone (origin 0), or of
				 * a thread that found no slot */
	uint64_t lost_any;	/* dropped records whose thread had no slot */
	unsigned int n_threads;	/* slots in use are below this */
	struct thread_count threads[KEEP_THREADS];
};

static struct keep keeps[KEEP_OBSERVERS] = {
	[0 ... KEEP_OBSERVERS - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER },
};
static unsigned int n_keeps;	/* atomic */
static pthread_mutex_t keeps_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Threads that drained and have exited since. Their records, and those of
 * processes they spawned, have nobody left to wait for: whoever drains
 * next takes them. Liveness is learnt from the threads themselves (a
 * thread-specific value's destructor), never by asking the kernel: the
 * drain runs in an observed process, and a probe such as tgkill(2) would
 * itself be recorded and drained, and probed again.
 */
static pid_t gone[GONE_MAX];
static unsigned int n_gone;
static pthread_mutex_t gone_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t drainer_key;
static pthread_once_t drainer_once = PTHREAD_ONCE_INIT;
static bool drainer_key_made;

static bool is_gone(pid_t tid)
{
	unsigned int i, n;
	bool found = false;

	pthread_mutex_lock(&gone_lock);
	n = n_gone < GONE_MAX ? n_gone : GONE_MAX;
	for (i = 0; i < n && !found; i++)
		found = gone[i] == tid;
	pthread_mutex_unlock(&gone_lock);
	return found;
}

/* A thread id reused by a new thread is no longer gone; 0 is no tid. */
static void set_gone(pid_t tid, bool is)
{
	unsigned int i, n;
	bool found = false;

	pthread_mutex_lock(&gone_lock);
	n = n_gone < GONE_MAX ? n_gone : GONE_MAX;
	for (i = 0; i < n; i++) {
		if (gone[i] != tid)
			continue;
		found = true;
		if (!is)
			gone[i] = 0;
	}
	if (is && !found)
		gone[n_gone++ % GONE_MAX] = tid;
	pthread_mutex_unlock(&gone_lock);
}

#define LOAD(p)		__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define STORE(p, v)	__atomic_store_n(p, v, __ATOMIC_RELEASE)
#define ADD(p, v)	__atomic_add_fetch(p, v, __ATOMIC_ACQ_REL)
#define SUB(p, v)	__atomic_sub_fetch(p, v, __ATOMIC_ACQ_REL)

static struct keep *find_keep(const struct viv_observer *o)
{
	unsigned int i, n = LOAD(&n_keeps);

	for (i = 0; i < n; i++)
		if (LOAD(&keeps[i].o) == o)
			return &keeps[i];
	return NULL;
}

static size_t kept_bytes(const struct kept *r)
{
	return sizeof(*r) + r->len;
}

/* Called with k->lock held; @free_records false leaks them on purpose. */
static void keep_clear(struct keep *k, const struct viv_observer *o,
		       uint32_t id, bool free_records)
{
	struct kept *r, *next;
	unsigned int i;

	for (r = free_records ? k->head : NULL; r; r = next) {
		next = r->next;
		free(r);
	}
	k->head = NULL;
	k->tail = &k->head;
	k->bytes = 0;
	STORE(&k->waiting, 0);
	STORE(&k->untracked, 0);
	STORE(&k->lost_any, 0);
	for (i = 0; i < KEEP_THREADS; i++) {
		STORE(&k->threads[i].tid, 0);
		STORE(&k->threads[i].kept, 0);
		STORE(&k->threads[i].lost, 0);
	}
	STORE(&k->n_threads, 0);
	k->id = id;
	STORE(&k->o, o);
}

static void keep_reset(struct keep *k, const struct viv_observer *o,
		       uint32_t id)
{
	keep_clear(k, o, id, true);
}

/*
 * A forked child has one thread: locks that others held at the fork stay
 * held for good, and the lists they were changing may be half changed.
 * Its keeps belong to the parent's observers anyway; it starts afresh
 * and leaks the copies rather than walk them.
 */
static void after_fork_child(void)
{
	unsigned int i;

	pthread_mutex_init(&keeps_lock, NULL);
	pthread_mutex_init(&gone_lock, NULL);
	for (i = 0; i < KEEP_OBSERVERS; i++) {
		pthread_mutex_init(&keeps[i].lock, NULL);
		keep_clear(&keeps[i], NULL, 0, false);
	}
	n_keeps = 0;
	n_gone = 0;
	/* The forking thread's id is not the child's. */
	if (drainer_key_made)
		pthread_setspecific(drainer_key, NULL);
}

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void fork_init(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}

static bool keep_idle(struct keep *k)
{
	return !LOAD(&k->waiting);
}

/*
 * The keep of @o, locked; NULL when the table is full of other observers'
 * unread records. A keep found under @o's address but another id belonged
 * to an observer closed since: it starts over.
 */
static struct keep *keep_lock(const struct viv_observer *o)
{
	uint32_t id = viv_observer__id(o);
	struct keep *k = NULL;
	unsigned int i, n;

	pthread_once(&fork_once, fork_init);
	pthread_mutex_lock(&keeps_lock);
	k = find_keep(o);
	if (k) {
		pthread_mutex_lock(&k->lock);
		if (k->id != id)
			keep_reset(k, o, id);
		goto out;
	}

	n = LOAD(&n_keeps);
	if (n < KEEP_OBSERVERS) {
		k = &keeps[n];
		pthread_mutex_lock(&k->lock);
		keep_reset(k, o, id);
		STORE(&n_keeps, n + 1);
		goto out;
	}
	/* An empty keep of a closed observer (or an idle open one, which
	 * gets a new keep when it needs one) loses nothing when taken. */
	for (i = 0; i < n; i++) {
		k = &keeps[i];
		pthread_mutex_lock(&k->lock);
		if (keep_idle(k)) {
			keep_reset(k, o, id);
			goto out;
		}
		pthread_mutex_unlock(&k->lock);
	}
	k = NULL;
out:
	pthread_mutex_unlock(&keeps_lock);
	return k;
}

/* The slot counting @tid's records, made if needed; -1 when full. */
static int thread_slot(struct keep *k, pid_t tid)
{
	unsigned int i, n = LOAD(&k->n_threads);
	int free_slot = -1;

	for (i = 0; i < n; i++) {
		pid_t t = LOAD(&k->threads[i].tid);

		if (t == tid)
			return i;
		if (!t && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0 && n < KEEP_THREADS) {
		free_slot = n;
		STORE(&k->threads[n].tid, tid);
		STORE(&k->n_threads, n + 1);
		return free_slot;
	}
	if (free_slot >= 0)
		STORE(&k->threads[free_slot].tid, tid);
	return free_slot;
}

static void slot_maybe_free(struct keep *k, int slot)
{
	struct thread_count *t = &k->threads[slot];

	if (!LOAD(&t->kept) && !LOAD(&t->lost))
		STORE(&t->tid, 0);
}

/* Count @r as kept; its bytes are already in the list. */
static void count_kept(struct keep *k, struct kept *r)
{
	r->slot = r->origin ? thread_slot(k, r->origin) : -1;
	if (r->slot >= 0)
		ADD(&k->threads[r->slot].kept, 1);
	else
		ADD(&k->untracked, 1);
	ADD(&k->waiting, 1);
	k->bytes += kept_bytes(r);
}

static void uncount_kept(struct keep *k, struct kept *r)
{
	k->bytes -= kept_bytes(r);
	SUB(&k->waiting, 1);
	if (r->slot < 0) {
		SUB(&k->untracked, 1);
		return;
	}
	SUB(&k->threads[r->slot].kept, 1);
	slot_maybe_free(k, r->slot);
}

static void count_lost(struct keep *k, int slot)
{
	if (slot >= 0)
		ADD(&k->threads[slot].lost, 1);
	else
		ADD(&k->lost_any, 1);
	ADD(&k->waiting, 1);
}

/* viv_observer__drain() callback: copy every record into the keep list. */
static int keep_one(void *ctx, const struct viv_event *ev)
{
	struct keep *k = ctx;
	struct kept *r;

	r = malloc(sizeof(*r) + ev->size);
	if (!r) {
		count_lost(k, ev->origin ? thread_slot(k, ev->origin) : -1);
		return 0;
	}
	r->next = NULL;
	r->origin = ev->origin && !is_gone(ev->origin) ? ev->origin : 0;
	r->len = ev->size;
	memcpy(r->data, ev->raw, ev->size);
	/*
	 * Counted before the ring's consumer position moves past the
	 * record, so pending_thread() sees it in the ring or in the keep,
	 * never in neither.
	 */
	count_kept(k, r);
	*k->tail = r;
	k->tail = &r->next;
	return 0;
}

/* Hand @tid's kept records and losses to whoever drains next. */
static void orphan(struct keep *k, pid_t tid)
{
	struct thread_count *t;
	struct kept *r;
	uint64_t lost;
	unsigned int i;

	for (r = k->head; r; r = r->next) {
		if (r->origin != (uint32_t)tid)
			continue;
		uncount_kept(k, r);
		r->origin = 0;
		count_kept(k, r);
	}
	for (i = 0; i < LOAD(&k->n_threads); i++) {
		t = &k->threads[i];
		if (LOAD(&t->tid) != tid)
			continue;
		lost = __atomic_exchange_n(&t->lost, 0, __ATOMIC_ACQ_REL);
		ADD(&k->lost_any, lost);
		slot_maybe_free(k, i);
	}
}

static void drainer_exit(void *arg)
{
	pid_t tid = (pid_t)(intptr_t)arg;
	unsigned int i, n;
	struct keep *k;

	set_gone(tid, true);
	pthread_mutex_lock(&keeps_lock);
	n = LOAD(&n_keeps);
	for (i = 0; i < n; i++) {
		k = &keeps[i];
		pthread_mutex_lock(&k->lock);
		if (LOAD(&k->o))
			orphan(k, tid);
		pthread_mutex_unlock(&k->lock);
	}
	pthread_mutex_unlock(&keeps_lock);
}

static void drainer_init(void)
{
	drainer_key_made = !pthread_key_create(&drainer_key, drainer_exit);
	if (!drainer_key_made)
		pr_warn("observer: threads that exit will keep their records "
			"until the observer stops: no thread key\n");
}

/* The calling thread drains as @tid: learn when it exits. */
static void drainer_register(pid_t tid)
{
	pthread_once(&drainer_once, drainer_init);
	if (pthread_getspecific(drainer_key))
		return;
	set_gone(tid, false);
	pthread_setspecific(drainer_key, (void *)(intptr_t)tid);
}

static bool is_for(const struct kept *r, pid_t tid)
{
	/* origin 0: a kernel side that does not tell, or a thread gone. */
	return tid <= 0 || !r->origin || r->origin == (uint32_t)tid;
}

/* Move @tid's records out of the list, in order, onto @out. */
static void take_records(struct keep *k, pid_t tid, struct kept ***out)
{
	struct kept **pp = &k->head, *r;

	while ((r = *pp)) {
		if (!is_for(r, tid)) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		uncount_kept(k, r);
		r->next = NULL;
		**out = r;
		*out = &r->next;
	}
	k->tail = pp;
}

/* Drop the oldest kept records until the list fits its bound again. */
static void trim(struct keep *k)
{
	struct kept *r;
	uint64_t n = 0;

	while (k->bytes > KEEP_MAX_BYTES && (r = k->head)) {
		k->head = r->next;
		if (!k->head)
			k->tail = &k->head;
		uncount_kept(k, r);
		count_lost(k, r->slot >= 0 ? thread_slot(k, r->origin) : -1);
		free(r);
		n++;
	}
	if (n)
		pr_warn("observer %u: dropped %llu records kept for threads "
			"that have not drained (over %u bytes)\n", k->id,
			(unsigned long long)n, KEEP_MAX_BYTES);
}

/* Give back records the callback did not get to, ahead of the rest. */
static void put_back(const struct viv_observer *o, pid_t tid,
		     struct kept *rest)
{
	struct kept *r, **tail, *old_head;
	struct keep *k;

	if (!rest)
		return;
	k = keep_lock(o);
	if (!k) {
		while ((r = rest)) {
			rest = r->next;
			free(r);
		}
		return;
	}
	old_head = k->head;
	for (tail = &rest; (r = *tail); tail = &r->next) {
		/* Back under the thread that took them: an orphan would
		 * otherwise wait for a thread that is gone. */
		if (tid > 0)
			r->origin = tid;
		count_kept(k, r);
	}
	*tail = old_head;
	if (!old_head)
		k->tail = tail;
	k->head = rest;
	pthread_mutex_unlock(&k->lock);
}

int viv_observer__drain_thread(struct viv_observer *o, pid_t tid,
			       viv_event_fn fn, void *ctx)
{
	struct kept *mine = NULL, **mine_tail = &mine, *r;
	struct viv_event ev;
	struct keep *k;
	int n = 0, err;

	if (!o || !fn)
		return -EINVAL;
	if (tid > 0)
		drainer_register(tid);
	k = keep_lock(o);
	if (!k) {
		pr_warn("observer %u: cannot keep other threads' records: "
			"%d observers hold some already\n",
			viv_observer__id(o), KEEP_OBSERVERS);
		return -ENOSPC;
	}
	err = viv_observer__drain(o, keep_one, k);
	if (err >= 0) {
		take_records(k, tid, &mine_tail);
		trim(k);
	}
	pthread_mutex_unlock(&k->lock);
	if (err < 0)
		return err;

	while ((r = mine)) {
		mine = r->next;
		/* Decoded once already; cannot fail. */
		if (viv_event__decode(r->data, r->len, &ev)) {
			free(r);
			continue;
		}
		n++;
		err = fn(ctx, &ev);
		free(r);
		if (err)
			break;
	}
	put_back(o, tid, mine);
	return n;
}

bool viv_observer__pending_thread(struct viv_observer *o, pid_t tid)
{
	const struct thread_count *t;
	unsigned int i, n;
	struct keep *k;

	if (viv_observer__pending(o))
		return true;
	k = find_keep(o);
	if (!k || !LOAD(&k->waiting))
		return false;
	if (tid <= 0 || LOAD(&k->untracked) || LOAD(&k->lost_any))
		return true;
	n = LOAD(&k->n_threads);
	for (i = 0; i < n; i++) {
		t = &k->threads[i];
		if (LOAD(&t->tid) == tid)
			return LOAD(&t->kept) || LOAD(&t->lost);
	}
	return false;
}

uint64_t viv_observer__lost_thread(struct viv_observer *o, pid_t tid)
{
	struct thread_count *t;
	uint64_t n = 0, l;
	struct keep *k;
	unsigned int i;

	if (!o || !find_keep(o))
		return 0;
	k = keep_lock(o);
	if (!k)
		return 0;
	for (i = 0; i < LOAD(&k->n_threads); i++) {
		t = &k->threads[i];
		if (!LOAD(&t->tid) || (tid > 0 && LOAD(&t->tid) != tid))
			continue;
		l = __atomic_exchange_n(&t->lost, 0, __ATOMIC_ACQ_REL);
		SUB(&k->waiting, l);
		n += l;
		slot_maybe_free(k, i);
	}
	/* Losses of threads that had no slot: whoever asks first. */
	l = __atomic_exchange_n(&k->lost_any, 0, __ATOMIC_ACQ_REL);
	SUB(&k->waiting, l);
	n += l;
	pthread_mutex_unlock(&k->lock);
	return n;
}

void viv_observer__forget_threads(const struct viv_observer *o)
{
	struct keep *k;

	pthread_mutex_lock(&keeps_lock);
	k = find_keep(o);
	if (k) {
		pthread_mutex_lock(&k->lock);
		keep_reset(k, NULL, 0);
		pthread_mutex_unlock(&k->lock);
	}
	pthread_mutex_unlock(&keeps_lock);
}
