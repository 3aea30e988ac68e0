/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Decoding, payload text and fields of records crafted by hand, and the
 * refusal of malformed ones. Needs neither root nor BPF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vivarium.h"

static int passed, failed;

#define CHECK(cond, ...)						\
	do {								\
		if (cond) {						\
			passed++;					\
		} else {						\
			failed++;					\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
		}							\
	} while (0)

#define CHECK_STR(got, want)						\
	CHECK(!strcmp((got), (want)), "got '%s', want '%s'", (got), (want))

/* Records are 8-byte aligned in a ring; keep them so here. */
union record {
	struct viv_event_hdr hdr;
	struct viv_path_open po;
	struct viv_proc_exec pe;
	struct viv_sock_connect sc;
	char bytes[1024];
};

static void hdr_init(struct viv_event_hdr *h, enum viv_kind kind, size_t size)
{
	h->kind = kind;
	h->size = size;
	h->pid = 100;
	h->tid = 101;
	h->ktime_ns = 123456789;
}

static struct viv_path_open *path_open(union record *r, const char *path, int flags,
				       unsigned int mode, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_PATH_OPEN, sizeof(r->po));
	snprintf(r->po.path, sizeof(r->po.path), "%s", path);
	r->po.flags = flags;
	r->po.mode = mode;
	r->po.ret = ret;
	return &r->po;
}

/* argv as one string with '|' between arguments. */
static struct viv_proc_exec *proc_exec(union record *r, const char *path, const char *argv,
				       unsigned int argc, int ret)
{
	size_t i, n = strlen(argv);

	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_PROC_EXEC, sizeof(r->pe));
	snprintf(r->pe.path, sizeof(r->pe.path), "%s", path);
	snprintf(r->pe.comm, sizeof(r->pe.comm), "sh");
	for (i = 0; i < n; i++)
		r->pe.args[i] = argv[i] == '|' ? '\0' : argv[i];
	r->pe.args_len = n ? n + 1 : 0;
	r->pe.argc = argc;
	r->pe.ret = ret;
	return &r->pe;
}

static struct viv_sock_connect *sock_connect(union record *r, const void *addr,
					     size_t addr_len, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_SOCK_CONNECT, sizeof(r->sc));
	memcpy(r->sc.addr, addr, addr_len < VIV_SOCKADDR_MAX ? addr_len : VIV_SOCKADDR_MAX);
	r->sc.addr_len = addr_len;
	r->sc.ret = ret;
	r->sc.fd = 5;
	return &r->sc;
}

/* Payload of a record, or "<invalid>" when it does not decode. */
static const char *payload(const union record *r)
{
	static char buf[2048];
	struct viv_event ev;
	int n;

	if (viv_event__decode(r, r->hdr.size, &ev))
		return "<invalid>";
	n = viv_event__payload(&ev, buf, sizeof(buf));
	if (n < 0 || (size_t)n != strlen(buf))
		return "<bad length>";
	return buf;
}

/* Fields flattened into "name=value;" text; STRS as a|b|c. */
struct flat {
	char buf[2048];
	size_t pos;
};

static void flatten(void *ctx, const struct viv_field *f)
{
	struct flat *fl = ctx;
	char *p = fl->buf + fl->pos;
	size_t room = sizeof(fl->buf) - fl->pos, i, off = 0;
	int n = 0;

	switch (f->type) {
	case VIV_FIELD_INT:
		n = snprintf(p, room, "%s=%lld;", f->name, (long long)f->i);
		break;
	case VIV_FIELD_STR:
		if (strlen(f->s) != f->n)
			n = snprintf(p, room, "%s=<n %zu>;", f->name, f->n);
		else
			n = snprintf(p, room, "%s=%s;", f->name, f->s);
		break;
	case VIV_FIELD_STRS:
		n = snprintf(p, room, "%s=", f->name);
		for (i = 0; i < f->n; i++) {
			n += snprintf(p + n, room - n, "%s%s", i ? "|" : "", f->s + off);
			off += strlen(f->s + off) + 1;
		}
		n += snprintf(p + n, room - n, ";");
		break;
	}
	fl->pos += n;
}

static const char *fields(const union record *r)
{
	static struct flat fl;
	struct viv_event ev;

	memset(&fl, 0, sizeof(fl));
	if (viv_event__decode(r, r->hdr.size, &ev))
		return "<invalid>";
	if (viv_event__fields(&ev, flatten, &fl))
		return "<error>";
	return fl.buf;
}

static void test_names(void)
{
	CHECK_STR(viv_event__name(VIV_KIND_PATH_OPEN), "path_open");
	CHECK_STR(viv_event__name(VIV_KIND_PROC_EXEC), "proc_exec");
	CHECK_STR(viv_event__name(VIV_KIND_SOCK_CONNECT), "sock_connect");
	CHECK(!viv_event__name(VIV_KIND_NONE), "no name for NONE");
	CHECK(!viv_event__name(VIV_KIND_MAX), "no name past the end");
	CHECK(!viv_event__name((enum viv_kind)-1), "no name for -1");
	CHECK(viv_event__kind("path_open") == VIV_KIND_PATH_OPEN, "kind of path_open");
	CHECK(viv_event__kind("sock_connect") == VIV_KIND_SOCK_CONNECT, "kind of sock_connect");
	CHECK(viv_event__kind("nope") == VIV_KIND_NONE, "unknown name");
	CHECK(viv_event__kind("") == VIV_KIND_NONE, "empty name");
	CHECK(viv_event__kind(NULL) == VIV_KIND_NONE, "NULL name");
	CHECK(viv_event__severity(VIV_KIND_PROC_EXEC) == VIV_SEV_MEDIUM, "proc_exec medium");
	CHECK(viv_event__severity(VIV_KIND_MAX + 5) == VIV_SEV_MEDIUM, "unknown kind medium");
	CHECK_STR(viv_severity__name(VIV_SEV_HIGH), "high");
	CHECK_STR(viv_severity__name(VIV_SEV_MEDIUM), "medium");
	CHECK(viv_severity__name((enum viv_severity)9) != NULL, "never NULL");
}

static void test_decode(void)
{
	struct viv_event ev;
	union record r;

	path_open(&r, "/tmp/x", O_RDONLY, 0, 3);
	CHECK(!viv_event__decode(&r, sizeof(r.po), &ev), "valid path_open");
	CHECK(ev.kind == VIV_KIND_PATH_OPEN && ev.pid == 100 && ev.tid == 101 &&
	      ev.ktime_ns == 123456789 && ev.size == sizeof(r.po) &&
	      ev.raw == &r.hdr, "header copied");
	/* A ring record may be longer than the struct it carries. */
	CHECK(!viv_event__decode(&r, sizeof(r.po) + 8, &ev), "longer buffer ok");
}

static void test_path_open(void)
{
	union record r;

	path_open(&r, "/tmp/x", O_WRONLY | O_CREAT | O_TRUNC, 0644, 3);
	CHECK_STR(payload(&r), "path=/tmp/x flags=O_WRONLY|O_CREAT|O_TRUNC mode=0644 ret=3");
	CHECK_STR(fields(&r), "path=/tmp/x;flags=O_WRONLY|O_CREAT|O_TRUNC;mode=420;"
		  "ret=3;resolved=as_given;");

	path_open(&r, "/etc/nope", O_RDONLY | O_CLOEXEC, 0777, -ENOENT);
	CHECK_STR(payload(&r), "path=/etc/nope flags=O_RDONLY|O_CLOEXEC ret=-2 (ENOENT)");
	CHECK_STR(fields(&r), "path=/etc/nope;flags=O_RDONLY|O_CLOEXEC;mode=0;ret=-2;"
		  "resolved=as_given;");
	r.po.resolved = VIV_PATH_FROM_DENTRY;
	CHECK(strstr(fields(&r), ";resolved=from_dentry;"), "from_dentry");
	r.po.resolved = 7;
	CHECK(strstr(fields(&r), ";resolved=7;"), "later value as a number");

	path_open(&r, "/tmp", O_RDWR | O_TMPFILE, 0600, 4);
	CHECK_STR(payload(&r), "path=/tmp flags=O_RDWR|O_TMPFILE mode=0600 ret=4");

	path_open(&r, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, 5);
	CHECK_STR(payload(&r), "path=d flags=O_RDONLY|O_DIRECTORY|O_NOFOLLOW ret=5");

	path_open(&r, "/f", O_WRONLY | O_SYNC | O_APPEND, 0, 6);
	CHECK_STR(payload(&r), "path=/f flags=O_WRONLY|O_SYNC|O_APPEND ret=6");

	path_open(&r, "/f", O_WRONLY | O_DSYNC, 0, 6);
	CHECK_STR(payload(&r), "path=/f flags=O_WRONLY|O_DSYNC ret=6");

	path_open(&r, "/f", O_RDONLY | 0x80000000, 0, -999);
	CHECK_STR(payload(&r), "path=/f flags=O_RDONLY|0x80000000 ret=-999");

	path_open(&r, "/tmp/with space", O_RDONLY, 0, 3);
	CHECK_STR(payload(&r), "path=\"/tmp/with space\" flags=O_RDONLY ret=3");

	path_open(&r, "/tmp/a\nb\"c\\d\x01", O_RDONLY, 0, 3);
	CHECK_STR(payload(&r), "path=\"/tmp/a\\nb\\\"c\\\\d\\x01\" flags=O_RDONLY ret=3");
	/* Fields carry the bytes; escaping is the formatter's business. */
	CHECK_STR(fields(&r), "path=/tmp/a\nb\"c\\d\x01;flags=O_RDONLY;mode=0;ret=3;"
		  "resolved=as_given;");

	path_open(&r, "/tmp/caf\xc3\xa9", O_RDONLY, 0, 3);
	CHECK_STR(payload(&r), "path=/tmp/caf\xc3\xa9 flags=O_RDONLY ret=3");

	path_open(&r, "/tmp/bad\xff\xc3", O_RDONLY, 0, 3);
	CHECK_STR(payload(&r), "path=\"/tmp/bad\\xff\\xc3\" flags=O_RDONLY ret=3");

	path_open(&r, "", O_RDONLY, 0, -ENOENT);
	CHECK_STR(payload(&r), "path=\"\" flags=O_RDONLY ret=-2 (ENOENT)");
}

static void test_proc_exec(void)
{
	union record r;

	proc_exec(&r, "/usr/bin/echo", "echo|hi there", 2, 0);
	CHECK_STR(payload(&r), "path=/usr/bin/echo argv=[\"echo\",\"hi there\"] ret=0");
	CHECK_STR(fields(&r), "path=/usr/bin/echo;argv=echo|hi there;argc=2;comm=sh;ret=0;");

	proc_exec(&r, "/bin/x", "a|b", 5, 0);
	CHECK_STR(payload(&r), "path=/bin/x argv=[\"a\",\"b\",\xe2\x80\xa6+3 more] ret=0");
	CHECK_STR(fields(&r), "path=/bin/x;argv=a|b;argc=5;comm=sh;ret=0;");

	proc_exec(&r, "/nope", "", 0, -ENOENT);
	CHECK_STR(payload(&r), "path=/nope argv=[] ret=-2 (ENOENT)");
	CHECK_STR(fields(&r), "path=/nope;argv=;argc=0;comm=sh;ret=-2;");

	proc_exec(&r, "/x", "", 2, -E2BIG);
	CHECK_STR(payload(&r), "path=/x argv=[\xe2\x80\xa6+2 more] ret=-7 (E2BIG)");

	proc_exec(&r, "/x", "a\"b|\t|", 3, 0);
	CHECK_STR(payload(&r), "path=/x argv=[\"a\\\"b\",\"\\t\",\"\"] ret=0");
	CHECK_STR(fields(&r), "path=/x;argv=a\"b|\t|;argc=3;comm=sh;ret=0;");
}

static void test_sock_connect(void)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(8080) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct sockaddr_storage ss;
	union record r;
	uint16_t fam;

	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	sock_connect(&r, &in, sizeof(in), 0);
	CHECK_STR(payload(&r), "family=AF_INET addr=127.0.0.1 port=8080 ret=0");
	CHECK_STR(fields(&r), "family=AF_INET;addr=127.0.0.1;port=8080;ret=0;fd=5;");

	/* Callers often pass a whole sockaddr_storage, more than we keep. */
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &in, sizeof(in));
	sock_connect(&r, &ss, sizeof(ss), -EINPROGRESS);
	CHECK_STR(payload(&r), "family=AF_INET addr=127.0.0.1 port=8080 ret=-115 (EINPROGRESS)");

	/* Too short for an address: the family alone. */
	sock_connect(&r, &in, 4, -EINVAL);
	CHECK_STR(payload(&r), "family=AF_INET ret=-22 (EINVAL)");
	CHECK_STR(fields(&r), "family=AF_INET;addr=;port=0;ret=-22;fd=5;");

	sock_connect(&r, &in, 0, -EINVAL);
	CHECK_STR(payload(&r), "ret=-22 (EINVAL)");
	CHECK_STR(fields(&r), "family=;addr=;port=0;ret=-22;fd=5;");

	inet_pton(AF_INET6, "::1", &in6.sin6_addr);
	sock_connect(&r, &in6, sizeof(in6), -ECONNREFUSED);
	CHECK_STR(payload(&r), "family=AF_INET6 addr=[::1] port=443 ret=-111 (ECONNREFUSED)");
	CHECK_STR(fields(&r), "family=AF_INET6;addr=::1;port=443;ret=-111;fd=5;");

	inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
	in6.sin6_scope_id = 2;
	sock_connect(&r, &in6, sizeof(in6), 0);
	CHECK_STR(payload(&r), "family=AF_INET6 addr=[fe80::1%2] port=443 ret=0");

	/* The scope id is optional in a 24-byte address (RFC 2133 size). */
	sock_connect(&r, &in6, 24, 0);
	CHECK_STR(payload(&r), "family=AF_INET6 addr=[fe80::1] port=443 ret=0");

	strcpy(un.sun_path, "/run/x");
	sock_connect(&r, &un, offsetof(struct sockaddr_un, sun_path) + 7, 0);
	CHECK_STR(payload(&r), "family=AF_UNIX path=/run/x ret=0");
	CHECK_STR(fields(&r), "family=AF_UNIX;addr=/run/x;port=0;ret=0;fd=5;");

	sock_connect(&r, &un, sizeof(un), 0);
	CHECK_STR(payload(&r), "family=AF_UNIX path=/run/x ret=0");

	memset(un.sun_path, 0, sizeof(un.sun_path));
	memcpy(un.sun_path, "\0name", 5);
	sock_connect(&r, &un, offsetof(struct sockaddr_un, sun_path) + 5, 0);
	CHECK_STR(payload(&r), "family=AF_UNIX path=@name ret=0");
	CHECK_STR(fields(&r), "family=AF_UNIX;addr=@name;port=0;ret=0;fd=5;");

	memcpy(un.sun_path, "\0a\0b c", 6);
	sock_connect(&r, &un, offsetof(struct sockaddr_un, sun_path) + 6, 0);
	CHECK_STR(payload(&r), "family=AF_UNIX path=\"@a\\x00b c\" ret=0");
	CHECK_STR(fields(&r), "family=AF_UNIX;addr=@a\\x00b c;port=0;ret=0;fd=5;");

	sock_connect(&r, &un, offsetof(struct sockaddr_un, sun_path), -EINVAL);
	CHECK_STR(payload(&r), "family=AF_UNIX path=\"\" ret=-22 (EINVAL)");

	memset(&ss, 0, sizeof(ss));
	fam = AF_NETLINK;
	memcpy(&ss, &fam, sizeof(fam));
	sock_connect(&r, &ss, sizeof(fam) + 10, 0);
	CHECK_STR(payload(&r), "family=AF_NETLINK ret=0");
	CHECK_STR(fields(&r), "family=AF_NETLINK;addr=;port=0;ret=0;fd=5;");

	fam = 200;
	sock_connect(&r, &fam, sizeof(fam), -EAFNOSUPPORT);
	CHECK_STR(payload(&r), "family=200 ret=-97 (EAFNOSUPPORT)");
	CHECK_STR(fields(&r), "family=200;addr=;port=0;ret=-97;fd=5;");
}

static int decode(const void *rec, size_t size)
{
	struct viv_event ev;

	return viv_event__decode(rec, size, &ev);
}

static void test_malformed(void)
{
	union record r;

	path_open(&r, "/x", 0, 0, 0);
	CHECK(decode(NULL, 100) == -EINVAL, "NULL");
	CHECK(decode(&r, 0) == -EINVAL, "empty");
	CHECK(decode(&r, sizeof(r.hdr) - 1) == -EINVAL, "shorter than a header");
	CHECK(decode(&r, sizeof(r.po) - 1) == -EINVAL, "shorter than hdr.size");
	CHECK(decode(r.bytes + 4, sizeof(r.po)) == -EINVAL, "misaligned");

	r.hdr.size = sizeof(r.po) - 8;
	CHECK(decode(&r, sizeof(r.po)) == -EINVAL, "hdr.size too small for kind");
	r.hdr.size = sizeof(r.po) + 8;
	CHECK(decode(&r, sizeof(r)) == -EINVAL, "hdr.size too large for kind");
	r.hdr.size = sizeof(r.po);

	r.hdr.kind = VIV_KIND_NONE;
	CHECK(decode(&r, sizeof(r.po)) == -EINVAL, "kind NONE");
	r.hdr.kind = VIV_KIND_MAX;
	CHECK(decode(&r, sizeof(r.po)) == -EINVAL, "kind MAX");
	r.hdr.kind = 0xffff;
	CHECK(decode(&r, sizeof(r.po)) == -EINVAL, "kind 0xffff");

	/* The size of another kind. */
	r.hdr.kind = VIV_KIND_PROC_EXEC;
	CHECK(decode(&r, sizeof(r)) == -EINVAL, "proc_exec with path_open size");

	path_open(&r, "", 0, 0, 0);
	memset(r.po.path, 'a', sizeof(r.po.path));
	CHECK(decode(&r, sizeof(r.po)) == -EINVAL, "path_open path unterminated");
	r.po.path[VIV_PATH_MAX - 1] = '\0';
	CHECK(!decode(&r, sizeof(r.po)), "path_open path of full length");

	proc_exec(&r, "/x", "a|b", 2, 0);
	memset(r.pe.comm, 'c', sizeof(r.pe.comm));
	CHECK(decode(&r, sizeof(r.pe)) == -EINVAL, "proc_exec comm unterminated");

	proc_exec(&r, "/x", "a|b", 2, 0);
	memset(r.pe.path, 'p', sizeof(r.pe.path));
	CHECK(decode(&r, sizeof(r.pe)) == -EINVAL, "proc_exec path unterminated");

	proc_exec(&r, "/x", "a|b", 2, 0);
	r.pe.args_len = VIV_ARGS_MAX + 1;
	CHECK(decode(&r, sizeof(r.pe)) == -EINVAL, "args_len > VIV_ARGS_MAX");
	r.pe.args_len = 0xffffffff;
	CHECK(decode(&r, sizeof(r.pe)) == -EINVAL, "args_len huge");
	r.pe.args_len = 3;
	CHECK(decode(&r, sizeof(r.pe)) == -EINVAL, "args cut inside a string");
	memset(r.pe.args, 'x', VIV_ARGS_MAX);
	r.pe.args_len = VIV_ARGS_MAX;
	CHECK(decode(&r, sizeof(r.pe)) == -EINVAL, "args unterminated at max");
	r.pe.args[VIV_ARGS_MAX - 1] = '\0';
	CHECK(!decode(&r, sizeof(r.pe)), "args of full length");

	/* Any sockaddr bytes decode; addr_len is only a hint. */
	sock_connect(&r, "", 0, 0);
	r.sc.addr_len = 0xffffffff;
	memset(r.sc.addr, 0xff, sizeof(r.sc.addr));
	CHECK(!decode(&r, sizeof(r.sc)), "sock_connect of any bytes");
	CHECK(strlen(payload(&r)) > 0, "payload of garbage sockaddr");
	r.sc.addr[0] = AF_UNIX;
	r.sc.addr[1] = 0;
	CHECK(strstr(payload(&r), "path=\"\\xff"), "unix garbage escaped: %s", payload(&r));
}

/*
 * Records cut short right before an unmapped page: decode() must refuse
 * them without touching a byte past @size, or this faults.
 */
static void test_no_overread(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(53) };
	union record recs[3];
	char *area, *end;
	size_t i, k, size;

	area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		CHECK(0, "mmap: %s", strerror(errno));
		return;
	}
	mprotect(area + page, page, PROT_NONE);
	end = area + page;

	path_open(&recs[0], "/tmp/x", O_RDONLY, 0, 3);
	proc_exec(&recs[1], "/bin/x", "a|b", 2, 0);
	inet_pton(AF_INET, "10.0.0.1", &in.sin_addr);
	sock_connect(&recs[2], &in, sizeof(in), 0);
	for (i = 0; i < 3; i++) {
		size = recs[i].hdr.size;
		for (k = 0; k < size; k += 8) {
			memcpy(end - k, &recs[i], k);
			if (decode(end - k, k) != -EINVAL)
				CHECK(0, "kind %u: cut at %zu accepted", recs[i].hdr.kind, k);
		}
		memcpy(end - size, &recs[i], size);
		CHECK(!decode(end - size, size), "kind %u: whole record at the edge",
		      recs[i].hdr.kind);
		CHECK(strlen(payload((const void *)(end - size))) > 0, "payload at the edge");
		/* A header claiming more than there is. */
		((struct viv_event_hdr *)(end - size))->size = size + 8;
		CHECK(decode(end - size, size) == -EINVAL, "hdr.size past the buffer");
	}

	/* An unterminated path that runs up to the guard page. */
	path_open(&recs[0], "", O_RDONLY, 0, 3);
	memset(recs[0].po.path, 'a', sizeof(recs[0].po.path));
	memcpy(end - sizeof(recs[0].po), &recs[0], sizeof(recs[0].po));
	CHECK(decode(end - sizeof(recs[0].po), sizeof(recs[0].po)) == -EINVAL,
	      "unterminated path at the edge");
	munmap(area, 2 * page);
}

static void test_payload_buffer(void)
{
	char full[256], small[16];
	struct viv_event ev;
	union record r;
	int n, m;

	path_open(&r, "/tmp/x", O_WRONLY | O_CREAT | O_TRUNC, 0644, 3);
	viv_event__decode(&r, sizeof(r.po), &ev);
	n = viv_event__payload(&ev, full, sizeof(full));
	memset(small, 'Z', sizeof(small));
	m = viv_event__payload(&ev, small, sizeof(small));
	CHECK(n == m && n == (int)strlen(full), "length needed: %d %d", n, m);
	CHECK(strlen(small) == sizeof(small) - 1 && !strncmp(small, full, sizeof(small) - 1),
	      "truncated prefix '%s'", small);
	CHECK(viv_event__payload(&ev, NULL, 0) == n, "size query");
	small[0] = 'Z';
	CHECK(viv_event__payload(&ev, small, 1) == n && small[0] == '\0', "one byte");

	ev.kind = VIV_KIND_NONE;
	CHECK(viv_event__payload(&ev, small, sizeof(small)) == -EINVAL && !small[0],
	      "unknown kind payload");
	CHECK(viv_event__fields(&ev, flatten, NULL) == -EINVAL, "unknown kind fields");
}

int main(void)
{
	test_names();
	test_decode();
	test_path_open();
	test_proc_exec();
	test_sock_connect();
	test_malformed();
	test_no_overread();
	test_payload_buffer();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
