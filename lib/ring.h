/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Consumer of a BPF_MAP_TYPE_RINGBUF through its mmapped pages alone.
 *
 * The kernel lays a ring out for user space as: one page holding the
 * consumer position (the only page user space may write), one page
 * holding the producer position, then the data area mapped twice back to
 * back so that a record that crosses the end of the area can be read as
 * one piece. Each record starts with an 8-byte header whose first word is
 * the payload length, with BUSY set while the producer still writes it and
 * DISCARD set when it gave the space back. Positions count bytes since the
 * ring was created and are reduced modulo the data size only to index.
 *
 * Reading needs no bpf() system call, which is what lets an unprivileged
 * process consume a ring that a daemon created for it.
 */
#ifndef VIV_RING_H
#define VIV_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIV_RING_BUSY_BIT	(1U << 31)
#define VIV_RING_DISCARD_BIT	(1U << 30)
#define VIV_RING_HDR_SZ		8

struct viv_ring {
	/* Read on every pending() check: kept together, first. */
	const unsigned long *producer_pos;
	unsigned long cons;		/* our copy of *consumer_pos */
	unsigned long *consumer_pos;
	const char *data;
	unsigned long mask;		/* data size - 1 */
	void *cons_map;			/* set by viv_ring__map() */
	void *prod_map;
	size_t prod_len;
	size_t page;
};

/*
 * Map the ring of BPF_MAP_TYPE_RINGBUF @fd with @size bytes of data. The
 * fd may be closed afterwards: the mappings keep the ring alive.
 */
int viv_ring__map(struct viv_ring *r, int fd, uint32_t size);

/*
 * Use memory laid out as the kernel maps a ring: @consumer is the consumer
 * page, @producer the producer page followed by the data area twice. Tests
 * build such memory by hand; viv_ring__unmap() leaves it alone.
 */
int viv_ring__attach(struct viv_ring *r, unsigned long *consumer,
		     const void *producer, uint32_t size);

void viv_ring__unmap(struct viv_ring *r);

/*
 * True when the producer has reserved anything we have not consumed: one
 * acquire load, cheap enough for every function call and return. A record
 * still being written counts as pending; consume() then stops short of it.
 */
static inline bool viv_ring__pending(const struct viv_ring *r)
{
	/* cons is written by a drain that may run on another thread
	 * (lib/thread.c): relaxed is enough, a stale value only means a
	 * drain that finds nothing or one boundary later. */
	return __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&r->cons, __ATOMIC_RELAXED);
}

/* @rec is @len bytes in the ring, 8-byte aligned, valid only during the
 * call. Return non-zero to stop; that record counts as consumed. */
typedef int (*viv_ring_fn)(void *ctx, const void *rec, uint32_t len);

/*
 * Hand every committed record, oldest first, to @fn and give its space
 * back to the kernel. Stops at a record still being written. Returns the
 * number of records handed over, or -EBADMSG when a record header cannot
 * be right (the ring is then left as it is).
 */
int viv_ring__consume(struct viv_ring *r, viv_ring_fn fn, void *ctx);

#endif /* VIV_RING_H */
