/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Ring buffer consumer on mmapped pages; see ring.h for the layout. The
 * protocol mirrors the kernel's producer (kernel/bpf/ringbuf.c): it
 * publishes producer_pos with a release store after reserving, and a
 * record's length word with a release store when committing; we pair both
 * with acquire loads, and publish consumer_pos with a release store once a
 * record's bytes are no longer needed, which is when the kernel may
 * reserve over them.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "ring.h"

static int check_size(uint32_t size, size_t page)
{
	if (!size || (size & (size - 1)) || size % page)
		return -EINVAL;
	return 0;
}

int viv_ring__attach(struct viv_ring *r, unsigned long *consumer,
		     const void *producer, uint32_t size)
{
	size_t page = sysconf(_SC_PAGESIZE);
	int err;

	err = check_size(size, page);
	if (err)
		return err;

	memset(r, 0, sizeof(*r));
	r->consumer_pos = consumer;
	r->producer_pos = producer;
	r->data = (const char *)producer + page;
	r->mask = size - 1;
	r->page = page;
	r->cons = __atomic_load_n(consumer, __ATOMIC_ACQUIRE);
	return 0;
}

int viv_ring__map(struct viv_ring *r, int fd, uint32_t size)
{
	size_t page = sysconf(_SC_PAGESIZE);
	void *cons, *prod;
	size_t prod_len;
	int err;

	err = check_size(size, page);
	if (err) {
		pr_warn("ring: size %u is not a power of two multiple of a "
			"page\n", size);
		return err;
	}

	cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cons == MAP_FAILED) {
		err = -errno;
		pr_warn("ring: failed to mmap consumer page: %s\n",
			viv_errstr(err));
		return err;
	}

	/* The kernel maps the data twice so records never need stitching. */
	prod_len = page + 2 * (size_t)size;
	prod = mmap(NULL, prod_len, PROT_READ, MAP_SHARED, fd, page);
	if (prod == MAP_FAILED) {
		err = -errno;
		pr_warn("ring: failed to mmap data pages: %s\n",
			viv_errstr(err));
		munmap(cons, page);
		return err;
	}

	viv_ring__attach(r, cons, prod, size);
	r->cons_map = cons;
	r->prod_map = prod;
	r->prod_len = prod_len;
	return 0;
}

void viv_ring__unmap(struct viv_ring *r)
{
	if (r->prod_map)
		munmap(r->prod_map, r->prod_len);
	if (r->cons_map)
		munmap(r->cons_map, r->page);
	memset(r, 0, sizeof(*r));
}

int viv_ring__consume(struct viv_ring *r, viv_ring_fn fn, void *ctx)
{
	unsigned long cons = r->cons, prod, step;
	const uint32_t *hdr;
	uint32_t len, size;
	int n = 0, stop;

	/*
	 * One snapshot of the producer: a drain handles what was there when
	 * it started, so a process that keeps producing cannot hold its own
	 * host in here. Positions are compared by difference because an
	 * unsigned long wraps on 32-bit machines.
	 */
	prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
	/* The kernel never lets the producer get more than the data size
	 * ahead; if it seems to, the pages are not a ring's, and walking
	 * them could take for ever. */
	if (prod - cons > r->mask + 1)
		return -EBADMSG;
	while (prod - cons > 0) {
		hdr = (const uint32_t *)(r->data + (cons & r->mask));
		len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (len & VIV_RING_BUSY_BIT)
			break;

		size = len & ~(VIV_RING_BUSY_BIT | VIV_RING_DISCARD_BIT);
		step = ((unsigned long)size + VIV_RING_HDR_SZ + 7) & ~7UL;
		if (step > prod - cons || step > r->mask + 1)
			return n ? n : -EBADMSG;

		stop = 0;
		if (!(len & VIV_RING_DISCARD_BIT)) {
			stop = fn(ctx, (const char *)hdr + VIV_RING_HDR_SZ,
				  size);
			n++;
		}
		cons += step;
		__atomic_store_n(&r->cons, cons, __ATOMIC_RELAXED);
		__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
		if (stop)
			break;
	}
	return n;
}
