// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the record decoder (lib/event.c). Every host hands
 * ring records to viv_event__decode() and prints what payload() and
 * fields() make of them; a malformed record must be refused, and a record
 * that passes must decode without reading outside itself.
 *
 * The first byte steers: with bit 0 set the header gets a known kind and
 * that kind's size, and the record is zero-filled past the input, so most
 * inputs reach the per-kind decoders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vivarium.h"

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

struct walk {
	const char *start;
	const char *end;
	unsigned long sum;
};

/* Strings handed out point into the record or at constants: read each
 * byte so that the sanitizer sees any overrun. */
static void on_field(void *ctx, const struct viv_field *f)
{
	struct walk *w = ctx;
	const char *s;
	size_t i;

	CHECK(f->name && *f->name);
	switch (f->type) {
	case VIV_FIELD_INT:
		w->sum += (unsigned long)f->i;
		break;
	case VIV_FIELD_STR:
		for (s = f->s; s && *s; s++)
			w->sum += (unsigned char)*s;
		break;
	case VIV_FIELD_STRS:
		s = f->s;
		for (i = 0; s && i < f->n; i++) {
			CHECK(s >= w->start && s < w->end);
			s += strlen(s) + 1;
			CHECK(s <= w->end);
		}
		break;
	default:
		abort();
	}
}

/* The size of a record of @kind: found by asking the decoder, which
 * refuses any other. */
static uint16_t kind_size(uint16_t kind)
{
	static uint16_t sizes[VIV_KIND_MAX];
	static bool known;
	uint64_t rec[512];
	struct viv_event ev;
	struct viv_event_hdr *h = (void *)rec;

	if (!known) {
		for (uint16_t k = 0; k < VIV_KIND_MAX; k++) {
			for (uint32_t sz = sizeof(*h); sz <= sizeof(rec); sz += 8) {
				memset(rec, 0, sizeof(rec));
				h->kind = k;
				h->size = sz;
				if (!viv_event__decode(rec, sz, &ev)) {
					sizes[k] = sz;
					break;
				}
			}
		}
		known = true;
	}
	return kind < VIV_KIND_MAX ? sizes[kind] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct viv_event_hdr *h;
	struct viv_event ev;
	struct walk w;
	char small[17], big[4096];
	size_t len;
	uint64_t *rec;
	uint16_t want;
	int n, m;

	if (size < 2)
		return 0;
	len = size - 2;
	if (data[0] & 1) {
		want = kind_size(data[1] % VIV_KIND_MAX);
		if (want)
			len = want;
	}
	/* Ring records are 8-byte aligned; malloc's are. Exactly @len bytes
	 * so that a read past the record is caught. */
	rec = malloc(len ? len : 1);
	if (!rec)
		return 0;
	memset(rec, 0, len);
	memcpy(rec, data + 2, size - 2 < len ? size - 2 : len);
	h = (void *)rec;
	if ((data[0] & 1) && len >= sizeof(*h)) {
		h->kind = data[1] % VIV_KIND_MAX;
		h->size = len;
	}

	if (!viv_event__decode(rec, len, &ev)) {
		CHECK(ev.size <= len && ev.raw == (void *)rec);
		CHECK(viv_event__name(ev.kind));
		n = viv_event__payload(&ev, big, sizeof(big));
		CHECK(n >= 0 && strlen(big) == (size_t)(n < (int)sizeof(big) ?
							n : sizeof(big) - 1));
		m = viv_event__payload(&ev, small, sizeof(small));
		CHECK(m == n && strlen(small) <= sizeof(small) - 1);
		CHECK(viv_event__payload(&ev, small, 0) == n);
		w.start = (const char *)rec;
		w.end = (const char *)rec + len;
		w.sum = 0;
		viv_event__fields(&ev, on_field, &w);
	}
	free(rec);
	return 0;
}
