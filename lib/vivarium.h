/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libvivarium: observe what a process and its descendants make the kernel
 * do, and read it back at the moments the host chooses.
 *
 * Three objects:
 *
 *   struct viv_kernel    the BPF side: loaded and attached by this process,
 *                        or attached to a daemon's pinned objects. Needs
 *                        root (CAP_BPF and CAP_PERFMON at least).
 *   struct viv_server    a daemon's unix socket: registers each connecting
 *                        process, and only that process, and hands it its
 *                        ring as a file descriptor.
 *   struct viv_observer  the consumer side: a ring of records about the
 *                        calling process, from a daemon (no privileges
 *                        needed) or from a kernel side it loads itself.
 *
 * Functions return 0 or a negative errno; constructors return NULL and set
 * errno. Messages go through one print callback (viv_set_print()), which
 * also receives libbpf's.
 */
#ifndef VIVARIUM_H
#define VIVARIUM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "viv_event.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIV_VERSION		"0.1.0"
#define VIV_DEFAULT_PIN_DIR	"/sys/fs/bpf/vivarium"
#define VIV_DEFAULT_RUN_DIR	"/run/vivarium"
#define VIV_DEFAULT_RING_SIZE	(1U << 20)

/* ---- logging ----------------------------------------------------------- */

enum viv_log_level {
	VIV_WARN,	/* lost data, or something the user must act on */
	VIV_INFO,	/* rare state changes */
	VIV_DEBUG,	/* step traces */
};

typedef int (*viv_print_fn)(enum viv_log_level level, const char *fmt, va_list ap);

/*
 * Route every message of the library, libbpf's included, to @fn; NULL
 * silences them. The default prints to stderr up to the level named by
 * VIVARIUM_LOG_LEVEL (warn, info or debug; warn when unset). Returns the
 * previous callback.
 */
viv_print_fn viv_set_print(viv_print_fn fn);

/* The level the default printer stops at, after VIVARIUM_LOG_LEVEL. */
enum viv_log_level viv_log_level(void);

/* strerror() for a negative or positive errno; never NULL. */
const char *viv_errstr(int err);

/* ---- offsets from BTF -------------------------------------------------- */

struct viv_offsets {
	uint32_t file_f_path;	/* offsetof(struct file, f_path) */
	uint32_t dentry_d_name;	/* offsetof(struct dentry, d_name) */
};

/*
 * Resolve the offsets the kernel side needs from the running kernel's BTF
 * (/sys/kernel/btf/vmlinux), unless VIVARIUM_FILE_F_PATH_OFFSET or
 * VIVARIUM_DENTRY_D_NAME_OFFSET give them. Returns -EINVAL for an override
 * that is not a number, -ENOENT when the kernel has no BTF and no override
 * covers the gap.
 */
int viv_offsets__resolve(struct viv_offsets *out);

/* Offset in bytes of @member in struct @type of the BTF file at @path. */
int viv_btf__member_offset(const char *path, const char *type, const char *member,
			   uint32_t *off);

/* ---- events ------------------------------------------------------------ */

enum viv_severity {
	VIV_SEV_MEDIUM,
	VIV_SEV_HIGH,
};

/* A record from a ring, validated. @raw points into the ring: it is only
 * valid inside the viv_event_fn that receives it. */
struct viv_event {
	enum viv_kind kind;
	uint32_t pid;
	uint32_t tid;
	uint32_t origin;	/* see struct viv_event_hdr */
	uint64_t ktime_ns;
	const struct viv_event_hdr *raw;
	uint32_t size;
};

/* The gem's name of an event kind ("path_open"), or NULL if unknown. */
const char *viv_event__name(enum viv_kind kind);

/* Kind for a name, or VIV_KIND_NONE. */
enum viv_kind viv_event__kind(const char *name);

enum viv_severity viv_event__severity(enum viv_kind kind);

/* "high" or "medium". */
const char *viv_severity__name(enum viv_severity sev);

/*
 * Check that @size bytes at @rec are a well-formed record (known kind, size
 * matching the kind, strings terminated) and fill @ev. Returns -EINVAL for
 * anything else; never reads past @size.
 */
int viv_event__decode(const void *rec, size_t size, struct viv_event *ev);

/*
 * Write the printable payload of @ev into @buf, as "key=value" pairs:
 * "path=/tmp/x flags=O_RDONLY|O_CLOEXEC ret=3". Always NUL-terminates.
 * Returns the length it needed, like snprintf.
 */
int viv_event__payload(const struct viv_event *ev, char *buf, size_t len);

enum viv_field_type {
	VIV_FIELD_INT,
	VIV_FIELD_STR,
	VIV_FIELD_STRS,	/* @s holds @n NUL-separated strings */
};

struct viv_field {
	const char *name;
	enum viv_field_type type;
	int64_t i;
	const char *s;
	size_t n;
};

typedef void (*viv_field_fn)(void *ctx, const struct viv_field *field);

/* Call @fn for each decoded field of @ev, in a fixed order per kind. */
int viv_event__fields(const struct viv_event *ev, viv_field_fn fn, void *ctx);

/* ---- kernel side ------------------------------------------------------- */

enum viv_backend {
	VIV_BACKEND_AUTO,
	VIV_BACKEND_LSM,
	VIV_BACKEND_TRACEPOINT,
};

struct viv_kernel_opts {
	/* Pin maps and links here; NULL loads for this process's lifetime. */
	const char *pin_dir;
	/* VIV_EVENT_BIT() mask of the events to switch on; 0 means all. */
	uint32_t events;
	enum viv_backend backend;
	/* capable_check reports these CAP_* numbers; NULL: the built-in list
	 * of high-risk capabilities (viv_kernel__default_caps()). */
	const uint32_t *caps;
	size_t n_caps;
	/* path_open reports only paths under one of these prefixes; NULL or
	 * none: every path. */
	const char *const *path_prefixes;
	size_t n_path_prefixes;
	/* Also write a line per observed record to the kernel's trace pipe
	 * (debugging; the daemon copies those lines into its log). */
	bool kprint;
};

struct viv_kernel;

/* The CAP_* numbers capable_check reports unless told otherwise: the
 * capabilities that let a process break out of its privileges. */
const uint32_t *viv_kernel__default_caps(size_t *n);

/* Load, configure and attach the kernel side; pin it if opts->pin_dir. */
struct viv_kernel *viv_kernel__load(const struct viv_kernel_opts *opts);

/* Attach to a kernel side that a daemon pinned at @pin_dir. */
struct viv_kernel *viv_kernel__open_pinned(const char *pin_dir);

/*
 * Free @k. A kernel side this process loaded is detached; if it was pinned,
 * the pins are removed too. An attached one is left as the daemon has it.
 */
void viv_kernel__close(struct viv_kernel *k);

/* Where @kind is observed: "tracepoint", "lsm", or NULL when not at all;
 * @why, if not NULL, receives the reason an event is unavailable. */
const char *viv_kernel__backend(const struct viv_kernel *k, enum viv_kind kind,
				const char **why);

/* The VIV_EVENT_BIT() mask of events switched on. */
uint32_t viv_kernel__events(const struct viv_kernel *k);

/* The directory holding the pins, NULL when nothing is pinned. */
const char *viv_kernel__pin_dir(const struct viv_kernel *k);

/* Sum of the per-CPU counters, indexed by enum viv_stat. */
int viv_kernel__stats(const struct viv_kernel *k, uint64_t stats[VIV_STAT_MAX]);

struct viv_registration {
	uint32_t id;		/* observer id, never 0 */
	uint32_t ring_size;	/* bytes of ring data */
	int ring_fd;		/* BPF_MAP_TYPE_RINGBUF, owned by the caller */
	int lost_fd;		/* read-only fd of the viv_lost array */
};

/*
 * Create a ring of @ring_size bytes (a power of two, at least a page) for
 * the process @tgid and start observing it and every descendant it spawns
 * from now on. The caller owns the returned descriptors.
 */
int viv_kernel__add_observer(struct viv_kernel *k, pid_t tgid, uint32_t ring_size,
			     struct viv_registration *reg);

/* Stop observing @tgid under observer @id and drop its ring from the maps.
 * Entries that already vanished (the kernel removes an observer's own entry
 * when it exits) are not an error. */
int viv_kernel__remove_observer(struct viv_kernel *k, uint32_t id, pid_t tgid);

/* ---- daemon socket ----------------------------------------------------- */

/*
 * The socket a daemon pinning at @pin_dir listens on: $VIVARIUM_SOCKET if
 * set, else a name under /run/vivarium derived from @pin_dir. Returns
 * -ENAMETOOLONG if it does not fit @len or a sockaddr_un.
 */
int viv_socket_path(const char *pin_dir, char *buf, size_t len);

struct viv_server_opts {
	uint32_t ring_size;	/* ring per observer; 0: VIV_DEFAULT_RING_SIZE */
};

struct viv_server;

/* Listen on @path (mode 0666, replacing a stale socket) for observers. */
struct viv_server *viv_server__open(struct viv_kernel *k, const char *path,
				    const struct viv_server_opts *opts);

/* Descriptor to poll for POLLIN; then call viv_server__process(). */
int viv_server__fd(const struct viv_server *s);

/*
 * Accept pending connections, register their processes, and retire the
 * observers whose connection closed. Never blocks. Returns the number of
 * observers connected, or -errno.
 */
int viv_server__process(struct viv_server *s);

/* Deregister every observer, close the socket and unlink it. */
void viv_server__close(struct viv_server *s);

/* ---- observer ---------------------------------------------------------- */

enum viv_connect {
	VIV_CONNECT_AUTO,	/* daemon if its socket answers, else local */
	VIV_CONNECT_DAEMON,	/* daemon only */
	VIV_CONNECT_LOCAL,	/* load the kernel side in this process */
};

struct viv_observer_opts {
	const char *pin_dir;	/* NULL: $VIVARIUM_BPF_PIN_DIR or the default */
	enum viv_connect connect;
	uint32_t ring_size;	/* 0: the default; a daemon caps it at its own size */
	uint32_t events;	/* local mode only; 0: all */
};

struct viv_observer;

/*
 * Start observing the calling process and its future descendants. With no
 * daemon and no privileges, fails with -ECONNREFUSED or -ENOENT and logs
 * how to start one.
 */
struct viv_observer *viv_observer__open(const struct viv_observer_opts *opts);

/* True when records are waiting. One load from shared memory; safe to call
 * on every function call and return. */
bool viv_observer__pending(const struct viv_observer *o);

/* Return non-zero to stop draining; that record is consumed. */
typedef int (*viv_event_fn)(void *ctx, const struct viv_event *ev);

/*
 * Like viv_observer__drain(), but hand over only the records whose origin
 * is thread @tid (struct viv_event_hdr): the events that thread and the
 * processes it spawned caused. Other threads' records are kept, in order
 * and up to a bound, until those threads drain. A thread passes its own
 * id: its first drain registers it, so that its exit is noticed and what
 * it leaves goes to the next drainer. @tid 0 hands over every thread's
 * records, kept ones first. Thread-safe against other callers of the
 * _thread functions.
 */
int viv_observer__drain_thread(struct viv_observer *o, pid_t tid, viv_event_fn fn,
			       void *ctx);

/* True when records of thread @tid are waiting, in the ring or kept. */
bool viv_observer__pending_thread(struct viv_observer *o, pid_t tid);

/* Records dropped from what was kept for @tid (the bound was reached)
 * since the last call; @tid 0 for every thread. */
uint64_t viv_observer__lost_thread(struct viv_observer *o, pid_t tid);

/*
 * Hand every waiting record to @fn, oldest first, and consume it. Records
 * that fail viv_event__decode() are skipped and counted as lost. Returns
 * the number handed over or -errno.
 */
int viv_observer__drain(struct viv_observer *o, viv_event_fn fn, void *ctx);

/* Records the kernel dropped for this observer since it opened. */
uint64_t viv_observer__lost(const struct viv_observer *o);

/* "daemon" or "local". */
const char *viv_observer__mode(const struct viv_observer *o);

/* The observer id. */
uint32_t viv_observer__id(const struct viv_observer *o);

/* The kernel side of a local observer, NULL through a daemon. */
struct viv_kernel *viv_observer__kernel(const struct viv_observer *o);

/* Stop observing and release the ring. */
void viv_observer__close(struct viv_observer *o);

#ifdef __cplusplus
}
#endif

#endif /* VIVARIUM_H */
