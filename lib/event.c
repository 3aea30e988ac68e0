/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records from a ring, checked and turned into text and fields.
 *
 * Decoding is copy-free: a viv_event points into the ring, which the
 * observer maps read-only, so a malformed record is rejected rather than
 * repaired. Every string that decode() accepts has a NUL inside its array.
 *
 * Fields, per kind, in this order (docs/EVENTS.md explains each):
 *
 *   path_open     path STR, flags STR, mode INT, ret INT, resolved STR
 *   proc_exec     path STR, argv STRS, argc INT, comm STR, ret INT
 *   sock_connect  family STR, addr STR, port INT, ret INT, fd INT
 *
 * A STR field's @n is its length; a STRS field's @n is how many strings.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "internal.h"

_Static_assert(sizeof(struct viv_event_hdr) == 24, "viv_event_hdr size");
_Static_assert(sizeof(struct viv_path_open) == 24 + 16 + VIV_PATH_MAX,
	       "viv_path_open size");
_Static_assert(sizeof(struct viv_proc_exec) ==
	       24 + 16 + VIV_COMM_LEN + VIV_PATH_MAX + VIV_ARGS_MAX,
	       "viv_proc_exec size");
_Static_assert(sizeof(struct viv_sock_connect) == 24 + 16 + VIV_SOCKADDR_MAX,
	       "viv_sock_connect size");
_Static_assert(sizeof(struct viv_lost) == 16, "viv_lost size");
_Static_assert(sizeof(struct viv_config) == 16, "viv_config size");
_Static_assert(VIV_SOCKADDR_MAX >= sizeof(struct sockaddr_un),
	       "a unix address fits the record");

/*
 * The gem's names and severities. Kinds still to come slot in here; the
 * gem rates setid_change, capable_check, bprm_creds, task_kill,
 * ptrace_check, sb_mount and kernel_read_file high, everything else medium.
 */
static const struct {
	const char *name;
	enum viv_severity sev;
	uint16_t size;
} kinds[VIV_KIND_MAX] = {
	[VIV_KIND_PATH_OPEN] = { "path_open", VIV_SEV_MEDIUM,
				 sizeof(struct viv_path_open) },
	[VIV_KIND_PROC_EXEC] = { "proc_exec", VIV_SEV_MEDIUM,
				 sizeof(struct viv_proc_exec) },
	[VIV_KIND_SOCK_CONNECT] = { "sock_connect", VIV_SEV_MEDIUM,
				    sizeof(struct viv_sock_connect) },
};

const char *viv_event__name(enum viv_kind kind)
{
	if ((unsigned int)kind >= VIV_KIND_MAX)
		return NULL;
	return kinds[kind].name;
}

enum viv_kind viv_event__kind(const char *name)
{
	unsigned int i;

	if (!name)
		return VIV_KIND_NONE;
	for (i = 0; i < VIV_KIND_MAX; i++)
		if (kinds[i].name && !strcmp(kinds[i].name, name))
			return i;
	return VIV_KIND_NONE;
}

enum viv_severity viv_event__severity(enum viv_kind kind)
{
	if ((unsigned int)kind >= VIV_KIND_MAX)
		return VIV_SEV_MEDIUM;
	return kinds[kind].sev;
}

const char *viv_severity__name(enum viv_severity sev)
{
	switch (sev) {
	case VIV_SEV_MEDIUM:
		return "medium";
	case VIV_SEV_HIGH:
		return "high";
	}
	return "unknown";
}

static bool terminated(const char *s, size_t max)
{
	return memchr(s, '\0', max) != NULL;
}

int viv_event__decode(const void *rec, size_t size, struct viv_event *ev)
{
	const struct viv_event_hdr *hdr = rec;
	const struct viv_proc_exec *pe;
	const struct viv_path_open *po;

	/* Ring records are 8-byte aligned; refusing others keeps every field
	 * access below a plain, aligned load. */
	if (!rec || size < sizeof(*hdr) || ((uintptr_t)rec & 7))
		return -EINVAL;
	if (hdr->kind >= VIV_KIND_MAX || !kinds[hdr->kind].name)
		return -EINVAL;
	if (hdr->size != kinds[hdr->kind].size || hdr->size > size)
		return -EINVAL;

	switch (hdr->kind) {
	case VIV_KIND_PATH_OPEN:
		po = rec;
		if (!terminated(po->path, sizeof(po->path)))
			return -EINVAL;
		break;
	case VIV_KIND_PROC_EXEC:
		pe = rec;
		if (!terminated(pe->comm, sizeof(pe->comm)) ||
		    !terminated(pe->path, sizeof(pe->path)))
			return -EINVAL;
		if (pe->args_len > VIV_ARGS_MAX)
			return -EINVAL;
		/* Each argument is stored with its NUL, so the last byte used
		 * must be one; otherwise the last string runs off the end. */
		if (pe->args_len && pe->args[pe->args_len - 1] != '\0')
			return -EINVAL;
		break;
	case VIV_KIND_SOCK_CONNECT:
		break;
	}

	ev->kind = hdr->kind;
	ev->pid = hdr->pid;
	ev->tid = hdr->tid;
	ev->ktime_ns = hdr->ktime_ns;
	ev->raw = hdr;
	ev->size = hdr->size;
	return 0;
}

/* ---- names of numbers --------------------------------------------------- */

#define NAME(x) [x] = #x

static const char *const errno_names[] = {
	NAME(EPERM), NAME(ENOENT), NAME(ESRCH), NAME(EINTR), NAME(EIO),
	NAME(ENXIO), NAME(E2BIG), NAME(ENOEXEC), NAME(EBADF), NAME(ECHILD),
	NAME(EAGAIN), NAME(ENOMEM), NAME(EACCES), NAME(EFAULT), NAME(EBUSY),
	NAME(EEXIST), NAME(EXDEV), NAME(ENODEV), NAME(ENOTDIR), NAME(EISDIR),
	NAME(EINVAL), NAME(ENFILE), NAME(EMFILE), NAME(ENOTTY),
	NAME(ETXTBSY), NAME(EFBIG), NAME(ENOSPC), NAME(ESPIPE), NAME(EROFS),
	NAME(EMLINK), NAME(EPIPE), NAME(ERANGE), NAME(EDEADLK),
	NAME(ENAMETOOLONG), NAME(ENOSYS), NAME(ENOTEMPTY), NAME(ELOOP),
	NAME(EOVERFLOW), NAME(EILSEQ), NAME(ENOTSOCK), NAME(EDESTADDRREQ),
	NAME(EPROTOTYPE), NAME(ENOPROTOOPT), NAME(EPROTONOSUPPORT),
	NAME(EOPNOTSUPP), NAME(EAFNOSUPPORT), NAME(EADDRINUSE),
	NAME(EADDRNOTAVAIL), NAME(ENETDOWN), NAME(ENETUNREACH),
	NAME(ECONNABORTED), NAME(ECONNRESET), NAME(ENOBUFS), NAME(EISCONN),
	NAME(ENOTCONN), NAME(ETIMEDOUT), NAME(ECONNREFUSED),
	NAME(EHOSTUNREACH), NAME(EALREADY), NAME(EINPROGRESS), NAME(ESTALE),
	NAME(EDQUOT), NAME(ECANCELED), NAME(EOWNERDEAD),
};

static const char *errno_name(int err)
{
	if (err <= 0 || (size_t)err >= VIV_ARRAY_SIZE(errno_names))
		return NULL;
	return errno_names[err];
}

static const char *const family_names[] = {
	NAME(AF_UNSPEC), NAME(AF_UNIX), NAME(AF_INET), NAME(AF_AX25),
	NAME(AF_IPX), NAME(AF_APPLETALK), NAME(AF_X25), NAME(AF_INET6),
	NAME(AF_KEY), NAME(AF_NETLINK), NAME(AF_PACKET), NAME(AF_RDS),
	NAME(AF_LLC), NAME(AF_IB), NAME(AF_MPLS), NAME(AF_CAN), NAME(AF_TIPC),
	NAME(AF_BLUETOOTH), NAME(AF_ALG), NAME(AF_VSOCK), NAME(AF_KCM),
	NAME(AF_QIPCRTR), NAME(AF_SMC), NAME(AF_XDP), NAME(AF_MCTP),
};

static const char *family_name(unsigned int family)
{
	if (family >= VIV_ARRAY_SIZE(family_names))
		return NULL;
	return family_names[family];
}

/*
 * glibc spells O_LARGEFILE 0 on 64-bit machines, but the kernel keeps its
 * own bit, which shows up in flags read from a struct file. Its value
 * depends on the architecture.
 */
#if defined(__aarch64__) || defined(__arm__)
#define VIV_O_LARGEFILE	0400000
#elif defined(__powerpc__)
#define VIV_O_LARGEFILE	0200000
#else
#define VIV_O_LARGEFILE	0100000
#endif

static const struct {
	unsigned int bits;
	const char *name;
} open_flags[] = {
	/* Longer masks first: O_TMPFILE contains O_DIRECTORY and O_SYNC
	 * contains O_DSYNC. */
	{ O_TMPFILE, "O_TMPFILE" },
	{ O_SYNC, "O_SYNC" },
	{ O_CREAT, "O_CREAT" },
	{ O_EXCL, "O_EXCL" },
	{ O_NOCTTY, "O_NOCTTY" },
	{ O_TRUNC, "O_TRUNC" },
	{ O_APPEND, "O_APPEND" },
	{ O_NONBLOCK, "O_NONBLOCK" },
	{ O_DSYNC, "O_DSYNC" },
	{ O_ASYNC, "O_ASYNC" },
	{ O_DIRECT, "O_DIRECT" },
	{ VIV_O_LARGEFILE, "O_LARGEFILE" },
	{ O_DIRECTORY, "O_DIRECTORY" },
	{ O_NOFOLLOW, "O_NOFOLLOW" },
	{ O_NOATIME, "O_NOATIME" },
	{ O_CLOEXEC, "O_CLOEXEC" },
	{ O_PATH, "O_PATH" },
};

/* ---- a bounded text writer that counts like snprintf -------------------- */

struct out {
	char *buf;
	size_t len;
	size_t pos;	/* bytes wanted so far, may exceed len */
};

static void put_mem(struct out *o, const char *s, size_t n)
{
	size_t room;

	if (o->pos < o->len) {
		room = o->len - 1 - o->pos;
		memcpy(o->buf + o->pos, s, n < room ? n : room);
	}
	o->pos += n;
}

static void put_str(struct out *o, const char *s)
{
	put_mem(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void put_fmt(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put_mem(o, tmp,
			(size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void out_end(struct out *o)
{
	if (!o->len)
		return;
	o->buf[o->pos < o->len ? o->pos : o->len - 1] = '\0';
}

/* Length of the valid UTF-8 sequence at @s (at most @n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond Unicode, C1 controls. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp < 0xa0)
		return 0;
	return len;
}

/* True when @s can be printed bare: no space, quote, backslash, control
 * byte or invalid UTF-8, and not empty. */
static bool is_bare(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, l;

	if (!n)
		return false;
	while (i < n) {
		if (u[i] >= 0x80) {
			l = utf8_len(u + i, n - i);
			if (!l)
				return false;
			i += l;
			continue;
		}
		if (u[i] <= ' ' || u[i] == 0x7f || u[i] == '"' || u[i] == '\\')
			return false;
		i++;
	}
	return true;
}

/* @n bytes of @s with control bytes, invalid UTF-8, '"' and '\' escaped. */
static void put_escaped(struct out *o, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		if (u[i] >= 0x80) {
			l = utf8_len(u + i, n - i);
			if (l) {
				put_mem(o, s + i, l);
				i += l;
				continue;
			}
			put_fmt(o, "\\x%02x", u[i]);
		} else if (u[i] == '"' || u[i] == '\\') {
			put_fmt(o, "\\%c", u[i]);
		} else if (u[i] == '\n') {
			put_str(o, "\\n");
		} else if (u[i] == '\t') {
			put_str(o, "\\t");
		} else if (u[i] < ' ' || u[i] == 0x7f) {
			put_fmt(o, "\\x%02x", u[i]);
		} else {
			put_mem(o, s + i, 1);
		}
		i++;
	}
}

static void put_quoted(struct out *o, const char *s, size_t n)
{
	put_str(o, "\"");
	put_escaped(o, s, n);
	put_str(o, "\"");
}

/* A value: bare when that reads unambiguously, quoted otherwise. */
static void put_value(struct out *o, const char *s, size_t n)
{
	if (is_bare(s, n))
		put_mem(o, s, n);
	else
		put_quoted(o, s, n);
}

static void put_ret(struct out *o, int32_t ret)
{
	/* INT32_MIN has no negation; no errno is that large anyway. */
	const char *name = ret < 0 && ret > -4096 ? errno_name(-ret) : NULL;

	put_fmt(o, "ret=%" PRId32, ret);
	if (name)
		put_fmt(o, " (%s)", name);
}

static void put_flags(struct out *o, uint32_t flags)
{
	unsigned int i;

	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		put_str(o, "O_RDONLY");
		break;
	case O_WRONLY:
		put_str(o, "O_WRONLY");
		break;
	case O_RDWR:
		put_str(o, "O_RDWR");
		break;
	default:
		put_str(o, "O_ACCMODE");
		break;
	}
	flags &= ~(uint32_t)O_ACCMODE;
	for (i = 0; i < VIV_ARRAY_SIZE(open_flags); i++) {
		if ((flags & open_flags[i].bits) != open_flags[i].bits)
			continue;
		put_str(o, "|");
		put_str(o, open_flags[i].name);
		flags &= ~open_flags[i].bits;
	}
	if (flags)
		put_fmt(o, "|0x%" PRIx32, flags);
}

/* A value of a later version is shown as its number, not refused. */
static const char *resolved_name(uint32_t resolved, char *num, size_t len)
{
	switch (resolved) {
	case VIV_PATH_AS_GIVEN:
		return "as_given";
	case VIV_PATH_FROM_DENTRY:
		return "from_dentry";
	}
	snprintf(num, len, "%u", resolved);
	return num;
}

static bool creates(uint32_t flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* ---- socket addresses --------------------------------------------------- */

struct sockaddr_text {
	const char *family;	/* name, or NULL when the address has none */
	char family_num[12];
	char addr[INET6_ADDRSTRLEN + 12];	/* inet and inet6 */
	const char *path;	/* unix: sun_path, NULs included if abstract */
	size_t path_len;
	int port;
	bool has_port;
	bool is_unix;
	bool abstract;
};

/*
 * Read what the caller passed to connect(): @addr_len may be more than the
 * record holds (a sockaddr_storage is 128 bytes) or less than the family
 * needs, in which case the address is left empty.
 */
static void sockaddr_decode(const struct viv_sock_connect *sc,
			    struct sockaddr_text *t)
{
	size_t avail = sc->addr_len < VIV_SOCKADDR_MAX ? sc->addr_len
						       : VIV_SOCKADDR_MAX;
	const size_t path_off = offsetof(struct sockaddr_un, sun_path);
	const size_t in_need = offsetof(struct sockaddr_in, sin_addr) +
			       sizeof(struct in_addr);
	struct sockaddr_in6 in6;
	struct sockaddr_in in;
	uint16_t family;
	char ip[INET6_ADDRSTRLEN];

	memset(t, 0, sizeof(*t));
	if (avail < sizeof(family))
		return;
	memcpy(&family, sc->addr, sizeof(family));
	t->family = family_name(family);
	if (!t->family) {
		snprintf(t->family_num, sizeof(t->family_num), "%u", family);
		t->family = t->family_num;
	}

	switch (family) {
	case AF_INET:
		if (avail < in_need)
			return;
		memset(&in, 0, sizeof(in));
		memcpy(&in, sc->addr, in_need);
		inet_ntop(AF_INET, &in.sin_addr, t->addr, sizeof(t->addr));
		t->port = ntohs(in.sin_port);
		t->has_port = true;
		break;
	case AF_INET6:
		if (avail < offsetof(struct sockaddr_in6, sin6_scope_id))
			return;
		memset(&in6, 0, sizeof(in6));
		memcpy(&in6, sc->addr,
		       avail < sizeof(in6) ? avail : sizeof(in6));
		inet_ntop(AF_INET6, &in6.sin6_addr, ip, sizeof(ip));
		if (in6.sin6_scope_id)
			snprintf(t->addr, sizeof(t->addr), "%s%%%u", ip,
				 in6.sin6_scope_id);
		else
			snprintf(t->addr, sizeof(t->addr), "%s", ip);
		t->port = ntohs(in6.sin6_port);
		t->has_port = true;
		break;
	case AF_UNIX:
		t->is_unix = true;
		t->path = (const char *)sc->addr + path_off;
		t->path_len = avail - path_off;
		if (t->path_len && t->path[0] == '\0') {
			/* Abstract: every byte after the first counts. */
			t->abstract = true;
			t->path++;
			t->path_len--;
		} else {
			t->path_len = strnlen(t->path, t->path_len);
		}
		break;
	}
}

/* A unix socket's name as text: the path, or '@' and the escaped abstract
 * name. */
static void put_unix(struct out *o, const struct sockaddr_text *t, bool quote)
{
	if (!t->abstract) {
		if (quote)
			put_value(o, t->path, t->path_len);
		else
			put_mem(o, t->path, t->path_len);
		return;
	}
	if (quote && !is_bare(t->path, t->path_len)) {
		put_str(o, "\"@");
		put_escaped(o, t->path, t->path_len);
		put_str(o, "\"");
		return;
	}
	put_str(o, "@");
	put_escaped(o, t->path, t->path_len);
}

/* ---- payload ------------------------------------------------------------ */

static void payload_path_open(const struct viv_path_open *po, struct out *o)
{
	put_str(o, "path=");
	put_value(o, po->path, strlen(po->path));
	put_str(o, " flags=");
	put_flags(o, po->flags);
	if (creates(po->flags))
		put_fmt(o, " mode=%04" PRIo32, po->mode);
	put_str(o, " ");
	put_ret(o, po->ret);
}

/* Number of NUL-terminated strings in the first @len bytes of @args. */
static size_t count_args(const char *args, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < len; i++)
		n += args[i] == '\0';
	return n;
}

static void payload_proc_exec(const struct viv_proc_exec *pe, struct out *o)
{
	size_t n = 0, off = 0, l;

	put_str(o, "path=");
	put_value(o, pe->path, strlen(pe->path));
	put_str(o, " argv=[");
	while (off < pe->args_len) {
		l = strlen(pe->args + off);
		if (n++)
			put_str(o, ",");
		put_quoted(o, pe->args + off, l);
		off += l + 1;
	}
	if (pe->argc > n)
		put_fmt(o, "%s\xe2\x80\xa6+%zu more", n ? "," : "",
			(size_t)pe->argc - n);
	put_str(o, "] ");
	put_ret(o, pe->ret);
}

static void payload_sock_connect(const struct viv_sock_connect *sc,
				 struct out *o)
{
	struct sockaddr_text t;

	sockaddr_decode(sc, &t);
	if (t.family) {
		put_str(o, "family=");
		put_str(o, t.family);
		put_str(o, " ");
	}
	if (t.is_unix) {
		put_str(o, "path=");
		put_unix(o, &t, true);
		put_str(o, " ");
	} else if (t.addr[0]) {
		if (strchr(t.addr, ':'))
			put_fmt(o, "addr=[%s] ", t.addr);
		else
			put_fmt(o, "addr=%s ", t.addr);
	}
	if (t.has_port)
		put_fmt(o, "port=%d ", t.port);
	put_ret(o, sc->ret);
}

int viv_event__payload(const struct viv_event *ev, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };

	switch (ev->kind) {
	case VIV_KIND_PATH_OPEN:
		payload_path_open((const void *)ev->raw, &o);
		break;
	case VIV_KIND_PROC_EXEC:
		payload_proc_exec((const void *)ev->raw, &o);
		break;
	case VIV_KIND_SOCK_CONNECT:
		payload_sock_connect((const void *)ev->raw, &o);
		break;
	default:
		out_end(&o);
		return -EINVAL;
	}
	out_end(&o);
	return o.pos > INT32_MAX ? INT32_MAX : (int)o.pos;
}

/* ---- fields ------------------------------------------------------------- */

static void field_int(viv_field_fn fn, void *ctx, const char *name, int64_t v)
{
	struct viv_field f = { .name = name, .type = VIV_FIELD_INT, .i = v };

	fn(ctx, &f);
}

static void field_str(viv_field_fn fn, void *ctx, const char *name,
		      const char *s)
{
	struct viv_field f = {
		.name = name, .type = VIV_FIELD_STR, .s = s, .n = strlen(s),
	};

	fn(ctx, &f);
}

int viv_event__fields(const struct viv_event *ev, viv_field_fn fn, void *ctx)
{
	const struct viv_sock_connect *sc;
	const struct viv_proc_exec *pe;
	const struct viv_path_open *po;
	struct sockaddr_text t;
	struct viv_field f;
	char addr[4 * VIV_SOCKADDR_MAX + 2];
	char flags[512], num[12];
	struct out o;

	switch (ev->kind) {
	case VIV_KIND_PATH_OPEN:
		po = (const void *)ev->raw;
		o = (struct out){ .buf = flags, .len = sizeof(flags) };
		put_flags(&o, po->flags);
		out_end(&o);
		field_str(fn, ctx, "path", po->path);
		field_str(fn, ctx, "flags", flags);
		field_int(fn, ctx, "mode", creates(po->flags) ? po->mode : 0);
		field_int(fn, ctx, "ret", po->ret);
		field_str(fn, ctx, "resolved",
			  resolved_name(po->resolved, num, sizeof(num)));
		return 0;
	case VIV_KIND_PROC_EXEC:
		pe = (const void *)ev->raw;
		field_str(fn, ctx, "path", pe->path);
		f = (struct viv_field){
			.name = "argv", .type = VIV_FIELD_STRS, .s = pe->args,
			.n = count_args(pe->args, pe->args_len),
		};
		fn(ctx, &f);
		field_int(fn, ctx, "argc", pe->argc);
		field_str(fn, ctx, "comm", pe->comm);
		field_int(fn, ctx, "ret", pe->ret);
		return 0;
	case VIV_KIND_SOCK_CONNECT:
		sc = (const void *)ev->raw;
		sockaddr_decode(sc, &t);
		if (t.is_unix) {
			o = (struct out){ .buf = addr, .len = sizeof(addr) };
			put_unix(&o, &t, false);
			out_end(&o);
		} else {
			snprintf(addr, sizeof(addr), "%s", t.addr);
		}
		field_str(fn, ctx, "family", t.family ? t.family : "");
		field_str(fn, ctx, "addr", addr);
		field_int(fn, ctx, "port", t.has_port ? t.port : 0);
		field_int(fn, ctx, "ret", sc->ret);
		field_int(fn, ctx, "fd", sc->fd);
		return 0;
	default:
		return -EINVAL;
	}
}
