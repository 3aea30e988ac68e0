// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: the daemon protocol's parsers (lib/server.c), which
 * the daemon runs on whatever an unprivileged client sends and a client
 * runs on what the socket answers. They must accept only well-formed
 * messages, never read past @len, and hand back text inside the message.
 *
 * The first byte steers: with bit 0 set the input gets a correct magic and
 * version, so that the fuzzer spends its time past the header checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

#define CHECK(cond)	do { if (!(cond)) abort(); } while (0)

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct viv_msg_welcome w;
	struct viv_msg_status st;
	struct viv_msg_hello h;
	const char *text;
	uint8_t *buf;
	uint32_t word;
	uint16_t half;
	size_t len;

	if (!size)
		return 0;
	len = size - 1;
	/* Exactly @len bytes on the heap: a read past them is caught. */
	buf = malloc(len ? len : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	if ((data[0] & 1) && len >= 8) {
		word = VIV_MSG_MAGIC;
		half = VIV_MSG_VERSION;
		memcpy(buf, &word, 4);
		memcpy(buf + 4, &half, 2);
	}

	if (!viv_msg_hello__parse(buf, len, &h)) {
		CHECK(len == sizeof(h));
		CHECK(h.magic == VIV_MSG_MAGIC && h.version == VIV_MSG_VERSION);
		CHECK(h.type == VIV_MSG_REGISTER || h.type == VIV_MSG_STATUS);
		CHECK(!h.pad && (!h.ring_size || pow2(h.ring_size)));
	}
	if (!viv_msg_welcome__parse(buf, len, &w)) {
		CHECK(len == sizeof(w) && w.type == VIV_MSG_WELCOME);
		CHECK(w.err <= 0 && !w.pad);
		CHECK(w.err || (w.id && pow2(w.ring_size)));
	}
	if (!viv_msg_status__parse(buf, len, &st, &text)) {
		CHECK(st.len <= VIV_STATUS_MAX);
		CHECK(text >= (const char *)buf &&
		      text + st.len <= (const char *)buf + len);
		/* touch every byte handed back */
		for (uint32_t i = 0; i < st.len; i++)
			word += (uint8_t)text[i];
	}
	free(buf);
	return 0;
}
