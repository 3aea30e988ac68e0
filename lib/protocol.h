/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Messages between a daemon (lib/server.c) and its clients (lib/observer.c,
 * `vivarium status`), over a SOCK_SEQPACKET unix socket: each send is one
 * message, so a length mismatch is a malformed message, not a partial one.
 *
 *   client                      daemon
 *   hello {REGISTER}     --->
 *                        <---   welcome + SCM_RIGHTS [ring fd, lost fd]
 *   (connection held open for the observer's lifetime; closing it
 *    deregisters)
 *
 *   hello {STATUS}       --->
 *                        <---   status header + text; the daemon closes
 *
 * Anything else the daemon receives closes that connection. Both ends
 * parse with the pure functions below, which look at nothing but
 * (buf, len), so they can be fuzzed on their own.
 */
#ifndef VIV_PROTOCOL_H
#define VIV_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "vivarium.h"

#define VIV_MSG_MAGIC		0x76697631U	/* "viv1", big-endian */
#define VIV_MSG_VERSION		1

/* How long either side waits for the other's message. */
#define VIV_MSG_TIMEOUT_MS	2000

/* Largest status text a daemon sends. */
#define VIV_STATUS_MAX		4096

/* Kinds a welcome can report a backend for: the events mask is 32 bits. */
#define VIV_MSG_KINDS		32

enum viv_msg_type {
	VIV_MSG_REGISTER	= 1,	/* hello: observe me */
	VIV_MSG_STATUS		= 2,	/* hello: describe yourself */
	VIV_MSG_WELCOME		= 3,	/* reply to REGISTER */
	VIV_MSG_STATUS_TEXT	= 4,	/* reply to STATUS */
};

/* Values of viv_msg_welcome.backends[kind]. */
enum viv_msg_backend {
	VIV_MSG_BACKEND_NONE	= 0,	/* not observed */
	VIV_MSG_BACKEND_TRACEPOINT = 1,
	VIV_MSG_BACKEND_LSM	= 2,
};

struct viv_msg_hello {
	uint32_t magic;
	uint16_t version;
	uint16_t type;		/* VIV_MSG_REGISTER or VIV_MSG_STATUS */
	uint32_t ring_size;	/* REGISTER: 0 for the daemon's size, else at
				 * most that, a power of two */
	uint32_t pad;		/* must be 0 */
};

struct viv_msg_welcome {
	uint32_t magic;
	uint16_t version;
	uint16_t type;		/* VIV_MSG_WELCOME */
	int32_t err;		/* 0, or -errno and nothing else is valid */
	uint32_t id;		/* observer id, never 0 */
	uint32_t ring_size;	/* bytes of ring data */
	uint32_t events;	/* VIV_EVENT_BIT() mask switched on */
	uint32_t lost_slot;	/* viv_lost index: id % VIV_MAX_OBSERVERS */
	uint32_t pad;		/* must be 0 */
	uint8_t backends[VIV_MSG_KINDS];	/* enum viv_msg_backend */
};

/* Followed in the same message by @len bytes of text, not NUL-terminated:
 * one "key value" line each. */
struct viv_msg_status {
	uint32_t magic;
	uint16_t version;
	uint16_t type;		/* VIV_MSG_STATUS_TEXT */
	int32_t err;
	uint32_t len;
};

_Static_assert(sizeof(struct viv_msg_hello) == 16, "viv_msg_hello size");
_Static_assert(sizeof(struct viv_msg_welcome) == 64, "viv_msg_welcome size");
_Static_assert(sizeof(struct viv_msg_status) == 16, "viv_msg_status size");
_Static_assert(VIV_KIND_MAX <= VIV_MSG_KINDS, "kinds fit a welcome");

/*
 * Check a received message and copy it out. Return 0, -EPROTONOSUPPORT
 * for a well-formed header of another version (so the peer can be told),
 * or -EPROTO for anything else.
 */
int viv_msg_hello__parse(const void *buf, size_t len,
			 struct viv_msg_hello *out);
int viv_msg_welcome__parse(const void *buf, size_t len,
			   struct viv_msg_welcome *out);
/* @text points into @buf, @out->len bytes. */
int viv_msg_status__parse(const void *buf, size_t len,
			  struct viv_msg_status *out, const char **text);

/*
 * Ask the daemon listening on @sock_path to describe itself: its socket,
 * observers, events and their backends, counters. The text goes to @buf,
 * NUL-terminated. Needs no privileges. Returns 0 or -errno (-ENOENT or
 * -ECONNREFUSED when no daemon listens).
 */
int viv_daemon__status(const char *sock_path, char *buf, size_t len);

/*
 * Receive one message on @fd (recvmsg @flags) and up to @max descriptors
 * with it into @fds, counted in @nfds. More descriptors than that, or a
 * message longer than @len, is -EPROTO and every descriptor is closed.
 */
ssize_t viv_msg_recv(int fd, int flags, void *buf, size_t len, int *fds, int max,
		     int *nfds);

#endif /* VIV_PROTOCOL_H */
