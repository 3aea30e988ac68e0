// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the ring consumer (lib/ring.c) over memory laid out as
 * the kernel maps a ring, with arbitrary positions and record headers,
 * feeding every record to the decoder as an observer does. Whatever the
 * bytes, consume() must stay inside the ring and come back.
 *
 * Input: 8 bytes of producer position, 8 of consumer position, then the
 * data area (one page, mapped twice as the kernel does).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "vivarium.h"

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

struct seen {
	const char *lo;
	const char *hi;
	int n;
};

static int on_record(void *ctx, const void *rec, uint32_t len)
{
	struct seen *s = ctx;
	struct viv_event ev;
	char buf[256];

	CHECK((const char *)rec >= s->lo &&
	      (const char *)rec + len <= s->hi);
	s->n++;
	if (!viv_event__decode(rec, len, &ev))
		viv_event__payload(&ev, buf, sizeof(buf));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t page = sysconf(_SC_PAGESIZE);
	unsigned long *consumer;
	struct viv_ring r;
	struct seen s;
	uint64_t prod, cons;
	char *producer;
	int n;

	if (size < 16)
		return 0;
	memcpy(&prod, data, 8);
	memcpy(&cons, data + 8, 8);
	consumer = calloc(1, page);
	producer = aligned_alloc(page, 3 * page);
	if (!consumer || !producer)
		goto out;
	memset(producer, 0, 3 * page);
	memcpy(producer + page, data + 16, size - 16 < page ? size - 16 : page);
	memcpy(producer + 2 * page, producer + page, page);
	memcpy(producer, &prod, 8);
	*consumer = cons;

	if (viv_ring__attach(&r, consumer, producer, page))
		abort();
	s.lo = producer + page;
	s.hi = producer + 3 * page;
	s.n = 0;
	n = viv_ring__consume(&r, on_record, &s);
	CHECK(n == -EBADMSG || n == s.n);
out:
	free(consumer);
	free(producer);
	return 0;
}
