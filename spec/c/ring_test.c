/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ring consumer against a ring laid out in memory as the kernel lays
 * it out: a consumer page, then a producer page followed by the data area
 * mapped twice back to back (two mappings of one memfd), so that records
 * crossing the end of the area read as one piece. The producer here is
 * written after kernel/bpf/ringbuf.c. Needs neither root nor BPF.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "ring.h"
#include "vivarium.h"

struct fake {
	unsigned long *consumer;	/* consumer page */
	unsigned long *producer;	/* producer page, data follows twice */
	char *data;
	size_t page;
	uint32_t size;
	char *area;			/* producer page + 2 * size */
	struct viv_ring ring;
};

static int fake_open(struct fake *f, uint32_t size, unsigned long pos)
{
	size_t page = sysconf(_SC_PAGESIZE);
	int fd;

	memset(f, 0, sizeof(*f));
	f->page = page;
	f->size = size;
	f->consumer = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			   -1, 0);
	fd = memfd_create("viv-ring-test", MFD_CLOEXEC);
	if (f->consumer == MAP_FAILED || fd < 0 || ftruncate(fd, page + size))
		return -errno;

	/* Reserve the range, then map the file's data pages a second time
	 * right after the first, as the kernel does. */
	f->area = mmap(NULL, page + 2 * (size_t)size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->area == MAP_FAILED ||
	    mmap(f->area, page + size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0) == MAP_FAILED ||
	    mmap(f->area + page + size, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, page) == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	close(fd);
	f->producer = (unsigned long *)f->area;
	f->data = f->area + page;
	*f->consumer = pos;
	*f->producer = pos;
	return viv_ring__attach(&f->ring, f->consumer, f->producer, size);
}

static void fake_close(struct fake *f)
{
	munmap(f->area, f->page + 2 * (size_t)f->size);
	munmap(f->consumer, f->page);
}

static unsigned long step_of(uint32_t len)
{
	return (len + VIV_RING_HDR_SZ + 7) & ~7UL;
}

/*
 * Reserve @len bytes, fill them with @seq, and commit with @flags (BUSY
 * leaves it uncommitted, DISCARD gives it back). Returns the header, or
 * NULL when the ring is full.
 */
static uint32_t *produce(struct fake *f, uint32_t len, uint32_t seq, uint32_t flags)
{
	unsigned long prod = *f->producer, step = step_of(len);
	uint32_t *hdr;
	char *p;
	uint32_t i;

	/* The kernel never lets the producer get a whole ring ahead. */
	if (prod + step - __atomic_load_n(f->consumer, __ATOMIC_ACQUIRE) > f->size - 1)
		return NULL;
	hdr = (uint32_t *)(f->data + (prod & (f->size - 1)));
	hdr[0] = len | VIV_RING_BUSY_BIT;
	hdr[1] = 0;
	__atomic_store_n(f->producer, prod + step, __ATOMIC_RELEASE);
	/* Written through the first mapping only: bytes past the end land
	 * at the start of the area, and the second mapping shows them. */
	p = (char *)(hdr + 2);
	for (i = 0; i < len; i++) {
		size_t off = (p + i - f->data) % f->size;

		f->data[off] = (char)(seq + i);
	}
	if (!(flags & VIV_RING_BUSY_BIT))
		__atomic_store_n(hdr, len | flags, __ATOMIC_RELEASE);
	return hdr;
}

static void commit(uint32_t *hdr)
{
	__atomic_store_n(hdr, hdr[0] & ~VIV_RING_BUSY_BIT, __ATOMIC_RELEASE);
}

struct seen {
	int n;
	int stop_at;		/* return 1 on this record (1-based), 0: never */
	bool in_order;		/* first bytes must count up from next */
	unsigned char next;
	uint32_t lens[64];
	uint32_t seqs[64];
	int bad;
};

/* Records carry bytes seq, seq+1, ...: check them as one piece. */
static int collect(void *ctx, const void *rec, uint32_t len)
{
	struct seen *s = ctx;
	const unsigned char *p = rec;
	uint32_t i, seq = len ? p[0] : 0;

	if ((uintptr_t)rec & 7)
		s->bad++;
	if (s->in_order && len && p[0] != s->next++)
		s->bad++;
	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(seq + i))
			s->bad++;
	if (s->n < 64) {
		s->lens[s->n] = len;
		s->seqs[s->n] = seq;
	}
	s->n++;
	return s->stop_at && s->n == s->stop_at;
}

static void test_attach(void)
{
	size_t page = sysconf(_SC_PAGESIZE);
	unsigned long cons[2] = { 0 };
	struct viv_ring r;

	CHECK(viv_ring__attach(&r, cons, cons, 0) == -EINVAL, "size 0");
	CHECK(viv_ring__attach(&r, cons, cons, page * 3) == -EINVAL, "not a power of two");
	CHECK(viv_ring__attach(&r, cons, cons, page / 2) == -EINVAL, "less than a page");
	CHECK(viv_ring__map(&r, -1, page) == -EBADF, "map of a bad fd");
}

static void test_basic(void)
{
	struct seen s = { 0 };
	struct fake f;
	int n;

	if (fake_open(&f, 4096, 0)) {
		CHECK(0, "fake ring: %s", strerror(errno));
		return;
	}
	CHECK(!viv_ring__pending(&f.ring), "empty ring not pending");
	CHECK(viv_ring__consume(&f.ring, collect, &s) == 0 && s.n == 0, "empty consume");

	produce(&f, 40, 1, 0);
	CHECK(viv_ring__pending(&f.ring), "pending after produce");
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 1 && s.n == 1 && s.lens[0] == 40 && !s.bad, "one record: n %d", n);
	CHECK(*f.consumer == step_of(40) && *f.consumer == 48, "consumer at %lu",
	      *f.consumer);
	CHECK(!viv_ring__pending(&f.ring), "not pending after consume");

	/* Lengths that are not multiples of 8 still advance by 8s. */
	produce(&f, 1, 2, 0);
	produce(&f, 13, 3, 0);
	memset(&s, 0, sizeof(s));
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 2 && s.lens[0] == 1 && s.lens[1] == 13 && !s.bad, "odd lengths");
	CHECK(*f.consumer == 48 + 16 + 24, "consumer at %lu", *f.consumer);
	fake_close(&f);
}

static void test_busy_discard(void)
{
	struct seen s = { 0 };
	uint32_t *a, *b;
	struct fake f;
	int n;

	if (fake_open(&f, 4096, 0)) {
		CHECK(0, "fake ring: %s", strerror(errno));
		return;
	}
	a = produce(&f, 32, 10, VIV_RING_BUSY_BIT);
	CHECK(viv_ring__pending(&f.ring), "busy record is pending");
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 0 && s.n == 0 && *f.consumer == 0, "busy head stops: n %d", n);

	/* A committed record behind a busy one waits for it. */
	b = produce(&f, 16, 20, 0);
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 0 && *f.consumer == 0, "nothing passes a busy head");
	commit(a);
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 2 && s.seqs[0] == 10 && s.seqs[1] == 20 && !s.bad, "in order once committed");
	(void)b;

	/* Discarded records are skipped but their space is given back. */
	memset(&s, 0, sizeof(s));
	produce(&f, 24, 30, VIV_RING_DISCARD_BIT);
	produce(&f, 8, 40, 0);
	produce(&f, 24, 50, VIV_RING_DISCARD_BIT);
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 1 && s.n == 1 && s.seqs[0] == 40, "discard skipped: n %d", n);
	CHECK(!viv_ring__pending(&f.ring), "discarded tail consumed");
	CHECK(*f.consumer == 40 + 24 + 32 + 16 + 32, "consumer at %lu", *f.consumer);

	/* Busy behind a committed one: the first is handed over. */
	memset(&s, 0, sizeof(s));
	produce(&f, 8, 60, 0);
	a = produce(&f, 8, 70, VIV_RING_BUSY_BIT);
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 1 && s.seqs[0] == 60 && viv_ring__pending(&f.ring), "stops at busy");
	commit(a);
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 1 && s.seqs[1] == 70 && !viv_ring__pending(&f.ring), "then the rest");
	fake_close(&f);
}

static void test_stop(void)
{
	struct seen s = { .stop_at = 2 };
	struct fake f;
	int n, i;

	if (fake_open(&f, 4096, 0)) {
		CHECK(0, "fake ring: %s", strerror(errno));
		return;
	}
	for (i = 0; i < 4; i++)
		produce(&f, 16, i * 16, 0);
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 2 && *f.consumer == 2 * 24, "stopping record is consumed: n %d", n);
	s.stop_at = 0;
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 2 && s.n == 4 && s.seqs[3] == 48, "the rest later");
	fake_close(&f);
}

/* A record that starts near the end of the area and ends at its start. */
static void test_wrap(void)
{
	struct seen s = { 0 };
	struct fake f;
	unsigned long start = 3 * 4096UL - 24;
	int n;

	if (fake_open(&f, 4096, start)) {
		CHECK(0, "fake ring: %s", strerror(errno));
		return;
	}
	produce(&f, 200, 7, 0);
	produce(&f, 8, 99, 0);
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 2 && s.lens[0] == 200 && s.seqs[0] == 7 && s.seqs[1] == 99 && !s.bad,
	      "record across the end reads whole: n %d bad %d", n, s.bad);
	CHECK(*f.consumer == start + 208 + 16, "consumer at %lu", *f.consumer);

	/* A header that itself sits in the last 8 bytes. */
	fake_close(&f);
	if (fake_open(&f, 4096, 5 * 4096UL - 8)) {
		CHECK(0, "fake ring: %s", strerror(errno));
		return;
	}
	memset(&s, 0, sizeof(s));
	produce(&f, 64, 3, 0);
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 1 && s.lens[0] == 64 && !s.bad, "header at the very end");
	fake_close(&f);
}

/* Positions are free-running counters; they wrap the unsigned long. */
static void test_position_wrap(void)
{
	unsigned long start = -64UL;
	struct seen s = { 0 };
	struct fake f;
	int n, i;

	if (fake_open(&f, 4096, start)) {
		CHECK(0, "fake ring: %s", strerror(errno));
		return;
	}
	for (i = 0; i < 5; i++)
		produce(&f, 24, i * 32, 0);
	CHECK(*f.producer < start, "producer wrapped to %lu", *f.producer);
	CHECK(viv_ring__pending(&f.ring), "pending across the wrap");
	n = viv_ring__consume(&f.ring, collect, &s);
	CHECK(n == 5 && !s.bad && s.seqs[4] == 128, "all five across the wrap: n %d", n);
	CHECK(*f.consumer == start + 5 * 32 && *f.consumer == 96, "consumer at %lu",
	      *f.consumer);
	CHECK(!viv_ring__pending(&f.ring), "drained across the wrap");
	fake_close(&f);
}

static void test_corrupt(void)
{
	struct seen s = { 0 };
	uint32_t *hdr;
	struct fake f;

	if (fake_open(&f, 4096, 0)) {
		CHECK(0, "fake ring: %s", strerror(errno));
		return;
	}
	hdr = produce(&f, 16, 0, 0);
	/* Longer than what the producer published. */
	__atomic_store_n(hdr, 4000, __ATOMIC_RELEASE);
	CHECK(viv_ring__consume(&f.ring, collect, &s) == -EBADMSG && s.n == 0,
	      "length past the producer");
	__atomic_store_n(hdr, 1U << 29, __ATOMIC_RELEASE);
	CHECK(viv_ring__consume(&f.ring, collect, &s) == -EBADMSG && *f.consumer == 0,
	      "length past the ring, nothing consumed");
	fake_close(&f);
}

/* Many rounds of the ring with varied sizes, consumer lagging behind. */
static void test_stress(void)
{
	uint32_t seq = 0, want = 0, len;
	struct fake f;
	int round, bad = 0, got = 0, n;
	struct seen s = { 0 };
	unsigned int rnd = 1;
	unsigned char next = 0;

	if (fake_open(&f, 8192, 1UL << 33)) {
		CHECK(0, "fake ring: %s", strerror(errno));
		return;
	}
	for (round = 0; round < 20000; round++) {
		rnd = rnd * 1103515245 + 12345;
		len = 1 + (rnd >> 16) % 700;
		if (produce(&f, len, seq, 0))
			seq += 1;
		else
			want--;		/* ring full: not produced */
		want++;
		if (round % 7)
			continue;
		memset(&s, 0, sizeof(s));
		s.in_order = true;
		s.next = next;
		n = viv_ring__consume(&f.ring, collect, &s);
		next = s.next;
		got += n;
		bad += s.bad;
	}
	memset(&s, 0, sizeof(s));
	s.in_order = true;
	s.next = next;
	got += viv_ring__consume(&f.ring, collect, &s);
	bad += s.bad;
	CHECK(got == (int)want && !bad && got > 10000, "stress: got %d of %u, bad %d", got,
	      want, bad);
	CHECK(*f.consumer == *f.producer && !viv_ring__pending(&f.ring), "stress drained");
	fake_close(&f);
}

int main(void)
{
	viv_set_print(NULL);
	test_attach();
	test_basic();
	test_busy_discard();
	test_stop();
	test_wrap();
	test_position_wrap();
	test_corrupt();
	test_stress();
	return check_report();
}
