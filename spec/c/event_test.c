/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Decoding, payload text and fields of records crafted by hand, and the
 * refusal of malformed ones. Needs neither root nor BPF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/mount.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "vivarium.h"

/* Records are 8-byte aligned in a ring; keep them so here. */
union record {
	struct viv_event_hdr hdr;
	struct viv_path_open po;
	struct viv_proc_exec pe;
	struct viv_sock_connect sc;
	struct viv_file_pair fp;
	struct viv_file_chmod fc;
	struct viv_file_getdents gd;
	struct viv_ptrace_check pc;
	struct viv_sb_mount sm;
	struct viv_kernel_read_file kr;
	struct viv_task_kill tk;
	struct viv_setid_change si;
	struct viv_capable_check cc;
	struct viv_bprm_creds bc;
	struct viv_odd_socket os;
	struct viv_dns_req dr;
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

static struct viv_file_pair *file_pair(union record *r, enum viv_kind kind, const char *old,
				       const char *new, unsigned int flags, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, kind, sizeof(r->fp));
	snprintf(r->fp.old_path, sizeof(r->fp.old_path), "%s", old);
	snprintf(r->fp.new_path, sizeof(r->fp.new_path), "%s", new);
	r->fp.flags = flags;
	r->fp.ret = ret;
	return &r->fp;
}

static struct viv_file_chmod *file_chmod(union record *r, const char *path, unsigned int mode,
					 int fd, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_FILE_CHMOD, sizeof(r->fc));
	snprintf(r->fc.path, sizeof(r->fc.path), "%s", path);
	r->fc.mode = mode;
	r->fc.fd = fd;
	r->fc.ret = ret;
	return &r->fc;
}

static struct viv_file_getdents *file_getdents(union record *r, const char *path, int fd,
					       unsigned int count, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_FILE_GETDENTS, sizeof(r->gd));
	snprintf(r->gd.path, sizeof(r->gd.path), "%s", path);
	r->gd.fd = fd;
	r->gd.count = count;
	r->gd.ret = ret;
	return &r->gd;
}

static struct viv_ptrace_check *ptrace_check(union record *r, unsigned int request,
					     bool is_mode, const char *comm, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_PTRACE_CHECK, sizeof(r->pc));
	r->pc.request = request;
	r->pc.is_mode = is_mode;
	r->pc.target_pid = 1234;
	snprintf(r->pc.target_comm, sizeof(r->pc.target_comm), "%s", comm);
	r->pc.ret = ret;
	return &r->pc;
}

static struct viv_sb_mount *sb_mount(union record *r, const char *source, const char *target,
				     const char *fstype, unsigned long long flags, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_SB_MOUNT, sizeof(r->sm));
	snprintf(r->sm.source, sizeof(r->sm.source), "%s", source);
	snprintf(r->sm.target, sizeof(r->sm.target), "%s", target);
	snprintf(r->sm.fstype, sizeof(r->sm.fstype), "%s", fstype);
	r->sm.flags = flags;
	r->sm.ret = ret;
	return &r->sm;
}

static struct viv_kernel_read_file *kernel_read_file(union record *r, const char *path,
						     unsigned int id, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_KERNEL_READ_FILE, sizeof(r->kr));
	snprintf(r->kr.path, sizeof(r->kr.path), "%s", path);
	r->kr.id = id;
	r->kr.contents = 1;
	r->kr.resolved = VIV_PATH_D_PATH;
	r->kr.ret = ret;
	return &r->kr;
}

static struct viv_task_kill *task_kill(union record *r, int sig, int pid, unsigned int tid,
				       const char *comm, unsigned int via, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_TASK_KILL, sizeof(r->tk));
	r->tk.sig = sig;
	r->tk.target_pid = pid;
	r->tk.target_tid = tid;
	snprintf(r->tk.target_comm, sizeof(r->tk.target_comm), "%s", comm);
	r->tk.via = via;
	r->tk.ret = ret;
	return &r->tk;
}

#define NONE ((unsigned int)-1)

static struct viv_setid_change *setid_change(union record *r, unsigned int call,
					     const unsigned int old[3], unsigned int n0,
					     unsigned int n1, unsigned int n2, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_SETID_CHANGE, sizeof(r->si));
	r->si.call = call;
	memcpy(r->si.old_ids, old, sizeof(r->si.old_ids));
	r->si.new_ids[0] = n0;
	r->si.new_ids[1] = n1;
	r->si.new_ids[2] = n2;
	r->si.ret = ret;
	return &r->si;
}

static struct viv_capable_check *capable_check(union record *r, unsigned int cap,
					       unsigned int opts, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_CAPABLE_CHECK, sizeof(r->cc));
	r->cc.cap = cap;
	r->cc.opts = opts;
	r->cc.ret = ret;
	return &r->cc;
}

static struct viv_bprm_creds *bprm_creds(union record *r, const char *path, unsigned int mode,
					 int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_BPRM_CREDS, sizeof(r->bc));
	snprintf(r->bc.path, sizeof(r->bc.path), "%s", path);
	r->bc.file_mode = mode;
	r->bc.file_uid = 0;
	r->bc.file_gid = 0;
	r->bc.old_euid = 1000;
	r->bc.old_egid = 1000;
	r->bc.ret = ret;
	return &r->bc;
}

static struct viv_odd_socket *odd_socket(union record *r, unsigned int family, unsigned int type,
					 unsigned int protocol, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_ODD_SOCKET, sizeof(r->os));
	r->os.family = family;
	r->os.type = type;
	r->os.protocol = protocol;
	r->os.ret = ret;
	return &r->os;
}

/* A DNS message to @server; @len may differ from @msg_len (what the record holds). */
static struct viv_dns_req *dns_req(union record *r, const char *server, const void *msg,
				   size_t msg_len, unsigned int len, int ret)
{
	memset(r, 0, sizeof(*r));
	hdr_init(&r->hdr, VIV_KIND_DNS_REQ, sizeof(r->dr));
	if (strchr(server, ':')) {
		r->dr.family = AF_INET6;
		inet_pton(AF_INET6, server, r->dr.addr);
	} else if (*server) {
		r->dr.family = AF_INET;
		inet_pton(AF_INET, server, r->dr.addr);
	}
	r->dr.port = *server ? 53 : 0;
	memcpy(r->dr.query, msg, msg_len < VIV_DNS_MAX ? msg_len : VIV_DNS_MAX);
	r->dr.len = len;
	r->dr.ret = ret;
	return &r->dr;
}

/*
 * A one-question DNS message: id 0x1234, @flags, the name in dotted form
 * (each '.' starts a new label; "" is the root), @qtype, @qclass. Returns
 * its length.
 */
static size_t dns_msg(unsigned char *buf, unsigned int flags, const char *name,
		      unsigned int qtype, unsigned int qclass)
{
	size_t pos = 12, n;
	const char *dot;

	memset(buf, 0, 12);
	buf[0] = 0x12;
	buf[1] = 0x34;
	buf[2] = flags >> 8;
	buf[3] = flags & 0xff;
	buf[5] = 1;	/* qdcount */
	while (*name) {
		dot = strchr(name, '.');
		n = dot ? (size_t)(dot - name) : strlen(name);
		buf[pos++] = n;
		memcpy(buf + pos, name, n);
		pos += n;
		name += n + (dot != NULL);
	}
	buf[pos++] = 0;
	buf[pos++] = qtype >> 8;
	buf[pos++] = qtype & 0xff;
	buf[pos++] = qclass >> 8;
	buf[pos++] = qclass & 0xff;
	return pos;
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

static const struct {
	enum viv_kind kind;
	const char *name;
	enum viv_severity sev;
} all_kinds[] = {
	{ VIV_KIND_PATH_OPEN, "path_open", VIV_SEV_MEDIUM },
	{ VIV_KIND_PROC_EXEC, "proc_exec", VIV_SEV_MEDIUM },
	{ VIV_KIND_SOCK_CONNECT, "sock_connect", VIV_SEV_MEDIUM },
	{ VIV_KIND_FILE_SYMLINK, "file_symlink", VIV_SEV_MEDIUM },
	{ VIV_KIND_FILE_HARDLINK, "file_hardlink", VIV_SEV_MEDIUM },
	{ VIV_KIND_FILE_RENAME, "file_rename", VIV_SEV_MEDIUM },
	{ VIV_KIND_FILE_CHMOD, "file_chmod", VIV_SEV_MEDIUM },
	{ VIV_KIND_FILE_GETDENTS, "file_getdents", VIV_SEV_MEDIUM },
	{ VIV_KIND_PTRACE_CHECK, "ptrace_check", VIV_SEV_HIGH },
	{ VIV_KIND_SB_MOUNT, "sb_mount", VIV_SEV_HIGH },
	{ VIV_KIND_KERNEL_READ_FILE, "kernel_read_file", VIV_SEV_HIGH },
	{ VIV_KIND_TASK_KILL, "task_kill", VIV_SEV_HIGH },
	{ VIV_KIND_SETID_CHANGE, "setid_change", VIV_SEV_HIGH },
	{ VIV_KIND_CAPABLE_CHECK, "capable_check", VIV_SEV_HIGH },
	{ VIV_KIND_BPRM_CREDS, "bprm_creds", VIV_SEV_HIGH },
	{ VIV_KIND_ODD_SOCKET, "odd_socket", VIV_SEV_MEDIUM },
	{ VIV_KIND_DNS_REQ, "dns_req", VIV_SEV_MEDIUM },
};

#define N_KINDS (sizeof(all_kinds) / sizeof(all_kinds[0]))

/* A valid record of @kind. */
static void sample(union record *r, enum viv_kind kind)
{
	static const unsigned int ids[3] = { 1000, 1000, 1000 };
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(53) };
	unsigned char msg[64];
	size_t n;

	switch (kind) {
	case VIV_KIND_PATH_OPEN:
		path_open(r, "/tmp/x", O_RDONLY, 0, 3);
		break;
	case VIV_KIND_PROC_EXEC:
		proc_exec(r, "/bin/x", "a|b", 2, 0);
		break;
	case VIV_KIND_SOCK_CONNECT:
		inet_pton(AF_INET, "10.0.0.1", &in.sin_addr);
		sock_connect(r, &in, sizeof(in), 0);
		break;
	case VIV_KIND_FILE_SYMLINK:
	case VIV_KIND_FILE_HARDLINK:
	case VIV_KIND_FILE_RENAME:
		file_pair(r, kind, "/tmp/a", "/tmp/b", 1, 0);
		break;
	case VIV_KIND_FILE_CHMOD:
		file_chmod(r, "/tmp/x", 0644, 3, 0);
		break;
	case VIV_KIND_FILE_GETDENTS:
		file_getdents(r, "/tmp", 3, 4096, 48);
		break;
	case VIV_KIND_PTRACE_CHECK:
		ptrace_check(r, 16, false, "sleep", 0);
		break;
	case VIV_KIND_SB_MOUNT:
		sb_mount(r, "none", "/mnt", "tmpfs", MS_NOSUID, 0);
		break;
	case VIV_KIND_KERNEL_READ_FILE:
		kernel_read_file(r, "/m.ko", 2, 0);
		break;
	case VIV_KIND_TASK_KILL:
		task_kill(r, SIGTERM, 1234, 0, "sleep", VIV_KILL_KILL, 0);
		break;
	case VIV_KIND_SETID_CHANGE:
		setid_change(r, VIV_SETID_SETUID, ids, 0, NONE, NONE, -EPERM);
		break;
	case VIV_KIND_CAPABLE_CHECK:
		capable_check(r, 21, 0, 0);
		break;
	case VIV_KIND_BPRM_CREDS:
		bprm_creds(r, "/usr/bin/su", 0104755, 0);
		break;
	case VIV_KIND_ODD_SOCKET:
		odd_socket(r, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), 3);
		break;
	case VIV_KIND_DNS_REQ:
		n = dns_msg(msg, 0x100, "example.com", 1, 1);
		dns_req(r, "127.0.0.53", msg, n, n, n);
		break;
	default:
		memset(r, 0, sizeof(*r));
		break;
	}
}

/* Every fixed-size string of every record. */
#define STR_MEMBER(kind, type, m)					\
	{ kind, offsetof(struct type, m), sizeof(((struct type *)0)->m), #type "." #m }

static const struct {
	enum viv_kind kind;
	size_t off;
	size_t len;
	const char *what;
} str_members[] = {
	STR_MEMBER(VIV_KIND_PATH_OPEN, viv_path_open, path),
	STR_MEMBER(VIV_KIND_PROC_EXEC, viv_proc_exec, comm),
	STR_MEMBER(VIV_KIND_PROC_EXEC, viv_proc_exec, path),
	STR_MEMBER(VIV_KIND_FILE_SYMLINK, viv_file_pair, old_path),
	STR_MEMBER(VIV_KIND_FILE_SYMLINK, viv_file_pair, new_path),
	STR_MEMBER(VIV_KIND_FILE_HARDLINK, viv_file_pair, old_path),
	STR_MEMBER(VIV_KIND_FILE_HARDLINK, viv_file_pair, new_path),
	STR_MEMBER(VIV_KIND_FILE_RENAME, viv_file_pair, old_path),
	STR_MEMBER(VIV_KIND_FILE_RENAME, viv_file_pair, new_path),
	STR_MEMBER(VIV_KIND_FILE_CHMOD, viv_file_chmod, path),
	STR_MEMBER(VIV_KIND_FILE_GETDENTS, viv_file_getdents, path),
	STR_MEMBER(VIV_KIND_PTRACE_CHECK, viv_ptrace_check, target_comm),
	STR_MEMBER(VIV_KIND_SB_MOUNT, viv_sb_mount, source),
	STR_MEMBER(VIV_KIND_SB_MOUNT, viv_sb_mount, fstype),
	STR_MEMBER(VIV_KIND_SB_MOUNT, viv_sb_mount, target),
	STR_MEMBER(VIV_KIND_KERNEL_READ_FILE, viv_kernel_read_file, path),
	STR_MEMBER(VIV_KIND_TASK_KILL, viv_task_kill, target_comm),
	STR_MEMBER(VIV_KIND_BPRM_CREDS, viv_bprm_creds, path),
};

#define N_STR_MEMBERS (sizeof(str_members) / sizeof(str_members[0]))

static void test_names(void)
{
	size_t i;

	for (i = 0; i < N_KINDS; i++) {
		CHECK_STR(viv_event__name(all_kinds[i].kind), all_kinds[i].name);
		CHECK(viv_event__kind(all_kinds[i].name) == all_kinds[i].kind, "kind of %s",
		      all_kinds[i].name);
		CHECK(viv_event__severity(all_kinds[i].kind) == all_kinds[i].sev, "severity of %s",
		      all_kinds[i].name);
	}
	CHECK(N_KINDS == VIV_KIND_MAX - 1, "every kind listed here");
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

	r.hdr.origin = 99;
	CHECK(!viv_event__decode(&r, sizeof(r.po), &ev) && ev.origin == 99, "origin copied");
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

static void test_file_pair(void)
{
	union record r;

	file_pair(&r, VIV_KIND_FILE_SYMLINK, "../etc/passwd", "/tmp/link", 0, 0);
	CHECK_STR(payload(&r), "target=../etc/passwd link=/tmp/link ret=0");
	CHECK_STR(fields(&r), "target=../etc/passwd;link=/tmp/link;ret=0;resolved=as_given;");
	r.fp.new_resolved = VIV_PATH_FROM_DENTRY;
	CHECK(strstr(fields(&r), ";resolved=from_dentry;"), "link from_dentry");

	file_pair(&r, VIV_KIND_FILE_SYMLINK, "a target", "/tmp/l", 0, -EEXIST);
	CHECK_STR(payload(&r), "target=\"a target\" link=/tmp/l ret=-17 (EEXIST)");

	file_pair(&r, VIV_KIND_FILE_HARDLINK, "/tmp/a", "/tmp/b", 0, 0);
	CHECK_STR(payload(&r), "old=/tmp/a new=/tmp/b ret=0");
	CHECK_STR(fields(&r), "old=/tmp/a;new=/tmp/b;flags=;ret=0;old_resolved=as_given;"
		  "new_resolved=as_given;");

	file_pair(&r, VIV_KIND_FILE_HARDLINK, "", "/tmp/b", AT_EMPTY_PATH | AT_SYMLINK_FOLLOW,
		  -ENOENT);
	r.fp.old_resolved = VIV_PATH_FROM_DENTRY;
	r.fp.new_resolved = VIV_PATH_D_PATH;
	CHECK_STR(payload(&r), "old=\"\" new=/tmp/b flags=AT_SYMLINK_FOLLOW|AT_EMPTY_PATH "
		  "ret=-2 (ENOENT)");
	CHECK_STR(fields(&r), "old=;new=/tmp/b;flags=AT_SYMLINK_FOLLOW|AT_EMPTY_PATH;ret=-2;"
		  "old_resolved=from_dentry;new_resolved=d_path;");

	file_pair(&r, VIV_KIND_FILE_RENAME, "/tmp/a", "/tmp/c", 0, 0);
	CHECK_STR(payload(&r), "old=/tmp/a new=/tmp/c ret=0");

	file_pair(&r, VIV_KIND_FILE_RENAME, "/tmp/a", "/tmp/c", RENAME_NOREPLACE, -EEXIST);
	CHECK_STR(payload(&r), "old=/tmp/a new=/tmp/c flags=RENAME_NOREPLACE ret=-17 (EEXIST)");
	CHECK_STR(fields(&r), "old=/tmp/a;new=/tmp/c;flags=RENAME_NOREPLACE;ret=-17;"
		  "old_resolved=as_given;new_resolved=as_given;");

	file_pair(&r, VIV_KIND_FILE_RENAME, "/a", "/b",
		  RENAME_EXCHANGE | RENAME_WHITEOUT | 0x80, -EINVAL);
	CHECK_STR(payload(&r), "old=/a new=/b flags=RENAME_EXCHANGE|RENAME_WHITEOUT|0x80 "
		  "ret=-22 (EINVAL)");

	/* A symlink has no flags to show; a later version's bits stay out. */
	file_pair(&r, VIV_KIND_FILE_SYMLINK, "t", "/l", 0x4, 0);
	CHECK_STR(payload(&r), "target=t link=/l ret=0");
}

static void test_file_chmod(void)
{
	union record r;

	file_chmod(&r, "/tmp/x", 0600, -1, 0);
	CHECK_STR(payload(&r), "path=/tmp/x mode=0600 ret=0");
	CHECK_STR(fields(&r), "path=/tmp/x;mode=384;fd=-1;ret=0;resolved=as_given;");

	file_chmod(&r, "/tmp/x", 04755, 3, 0);
	r.fc.resolved = VIV_PATH_FROM_DENTRY;
	CHECK_STR(payload(&r), "path=/tmp/x mode=04755 fd=3 ret=0");
	CHECK_STR(fields(&r), "path=/tmp/x;mode=2541;fd=3;ret=0;resolved=from_dentry;");

	file_chmod(&r, "/tmp/d", 01777, -1, -EPERM);
	CHECK_STR(payload(&r), "path=/tmp/d mode=01777 ret=-1 (EPERM)");

	file_chmod(&r, "", 0, 0, -EBADF);
	CHECK_STR(payload(&r), "path=\"\" mode=0000 fd=0 ret=-9 (EBADF)");

	file_chmod(&r, "/f", 06007, -1, 0);
	CHECK_STR(payload(&r), "path=/f mode=06007 ret=0");
}

static void test_file_getdents(void)
{
	union record r;

	file_getdents(&r, "/tmp", 3, 32768, 120);
	r.gd.resolved = VIV_PATH_FROM_DENTRY;
	CHECK_STR(payload(&r), "path=/tmp fd=3 count=32768 ret=120");
	CHECK_STR(fields(&r), "path=/tmp;fd=3;count=32768;ret=120;resolved=from_dentry;");

	file_getdents(&r, "", 99, 4096, -EBADF);
	CHECK_STR(payload(&r), "path=\"\" fd=99 count=4096 ret=-9 (EBADF)");
	CHECK_STR(fields(&r), "path=;fd=99;count=4096;ret=-9;resolved=as_given;");
}

static void test_ptrace_check(void)
{
	union record r;

	ptrace_check(&r, 16 /* PTRACE_ATTACH */, false, "sleep", 0);
	CHECK_STR(payload(&r), "target_pid=1234 target_comm=sleep request=PTRACE_ATTACH ret=0");
	CHECK_STR(fields(&r), "target_pid=1234;target_comm=sleep;request=PTRACE_ATTACH;mode=;"
		  "ret=0;");

	ptrace_check(&r, 0x4206 /* PTRACE_SEIZE */, false, "", -EPERM);
	CHECK_STR(payload(&r), "target_pid=1234 request=PTRACE_SEIZE ret=-1 (EPERM)");
	CHECK_STR(fields(&r), "target_pid=1234;target_comm=;request=PTRACE_SEIZE;mode=;ret=-1;");

	ptrace_check(&r, 0, false, "sh", 0);
	CHECK_STR(payload(&r), "target_pid=1234 target_comm=sh request=PTRACE_TRACEME ret=0");

	ptrace_check(&r, 0x420e, false, "sh", 0);
	CHECK_STR(payload(&r), "target_pid=1234 target_comm=sh request=PTRACE_GET_SYSCALL_INFO "
		  "ret=0");

	ptrace_check(&r, 0x5000, false, "sh", -EIO);
	CHECK_STR(payload(&r), "target_pid=1234 target_comm=sh request=20480 ret=-5 (EIO)");

	ptrace_check(&r, 0x02 | 0x10, true, "sleep", 0);
	CHECK_STR(payload(&r), "target_pid=1234 target_comm=sleep "
		  "mode=PTRACE_MODE_ATTACH|PTRACE_MODE_REALCREDS ret=0");
	CHECK_STR(fields(&r), "target_pid=1234;target_comm=sleep;request=;"
		  "mode=PTRACE_MODE_ATTACH|PTRACE_MODE_REALCREDS;ret=0;");

	ptrace_check(&r, 0x01 | 0x04 | 0x08, true, "x", -EACCES);
	CHECK_STR(payload(&r), "target_pid=1234 target_comm=x "
		  "mode=PTRACE_MODE_READ|PTRACE_MODE_NOAUDIT|PTRACE_MODE_FSCREDS ret=-13 (EACCES)");

	ptrace_check(&r, 0x41, true, "x", 0);
	CHECK_STR(payload(&r), "target_pid=1234 target_comm=x mode=PTRACE_MODE_READ|0x40 ret=0");
	ptrace_check(&r, 0, true, "x", 0);
	CHECK_STR(payload(&r), "target_pid=1234 target_comm=x mode=0 ret=0");

	ptrace_check(&r, 16, false, "a b", 0);
	CHECK_STR(payload(&r), "target_pid=1234 target_comm=\"a b\" request=PTRACE_ATTACH ret=0");
}

static void test_sb_mount(void)
{
	union record r;

	sb_mount(&r, "/dev/sda1", "/mnt", "ext4", MS_RDONLY | MS_NOSUID, 0);
	CHECK_STR(payload(&r), "source=/dev/sda1 target=/mnt fstype=ext4 flags=MS_RDONLY|MS_NOSUID "
		  "ret=0");
	CHECK_STR(fields(&r), "call=mount;source=/dev/sda1;target=/mnt;fstype=ext4;"
		  "flags=MS_RDONLY|MS_NOSUID;ret=0;");

	sb_mount(&r, "/tmp/a", "/mnt", "", MS_BIND | MS_REC, -EPERM);
	CHECK_STR(payload(&r), "source=/tmp/a target=/mnt flags=MS_BIND|MS_REC ret=-1 (EPERM)");
	CHECK_STR(fields(&r), "call=mount;source=/tmp/a;target=/mnt;fstype=;"
		  "flags=MS_BIND|MS_REC;ret=-1;");

	sb_mount(&r, "tmpfs", "/tmp/m", "tmpfs", 0, 0);
	CHECK_STR(payload(&r), "source=tmpfs target=/tmp/m fstype=tmpfs ret=0");
	CHECK_STR(fields(&r), "call=mount;source=tmpfs;target=/tmp/m;fstype=tmpfs;flags=;ret=0;");

	/* move_mount's flags are not MS_* flags: 0x4 is not MS_NODEV here */
	sb_mount(&r, "", "/mnt", "", 0x04 | 0x40, 0)->call = VIV_MOUNT_MOVE;
	CHECK_STR(payload(&r), "target=/mnt flags=MOVE_MOUNT_F_EMPTY_PATH|"
		  "MOVE_MOUNT_T_EMPTY_PATH ret=0");
	CHECK_STR(fields(&r), "call=move_mount;source=;target=/mnt;fstype=;"
		  "flags=MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH;ret=0;");

	sb_mount(&r, "", "/", "", MS_REMOUNT | MS_RDONLY | MS_NOSYMFOLLOW | MS_LAZYTIME, 0);
	CHECK_STR(payload(&r), "target=/ flags=MS_RDONLY|MS_REMOUNT|MS_NOSYMFOLLOW|MS_LAZYTIME "
		  "ret=0");

	sb_mount(&r, "", "/mnt", "", MS_PRIVATE | MS_REC | MS_SHARED | MS_SLAVE | MS_UNBINDABLE,
		 0);
	CHECK_STR(payload(&r), "target=/mnt "
		  "flags=MS_REC|MS_UNBINDABLE|MS_PRIVATE|MS_SLAVE|MS_SHARED ret=0");

	/* The magic of callers older than Linux 2.4. */
	sb_mount(&r, "/dev/x", "/mnt", "ext2", MS_MGC_VAL | MS_RDONLY, 0);
	CHECK_STR(payload(&r), "source=/dev/x target=/mnt fstype=ext2 flags=MS_MGC_VAL|MS_RDONLY "
		  "ret=0");
	sb_mount(&r, "/dev/x", "/mnt", "ext2", MS_MGC_VAL, 0);
	CHECK_STR(payload(&r), "source=/dev/x target=/mnt fstype=ext2 flags=MS_MGC_VAL ret=0");

	sb_mount(&r, "a b", "/m n", "x", (1ULL << 40) | (1U << 30) | MS_NOEXEC, 0);
	CHECK_STR(payload(&r), "source=\"a b\" target=\"/m n\" fstype=x "
		  "flags=MS_NOEXEC|0x10040000000 ret=0");
}

static void test_kernel_read_file(void)
{
	union record r;

	kernel_read_file(&r, "/lib/firmware/x.bin", 1, 0);
	CHECK_STR(payload(&r), "path=/lib/firmware/x.bin id=READING_FIRMWARE ret=0");
	CHECK_STR(fields(&r), "path=/lib/firmware/x.bin;id=READING_FIRMWARE;contents=1;ret=0;"
		  "resolved=d_path;");

	kernel_read_file(&r, "/tmp/m.ko", 2, -EPERM);
	CHECK_STR(payload(&r), "path=/tmp/m.ko id=READING_MODULE ret=-1 (EPERM)");

	kernel_read_file(&r, "/boot/vmlinuz", 3, 0);
	CHECK_STR(payload(&r), "path=/boot/vmlinuz id=READING_KEXEC_IMAGE ret=0");
	kernel_read_file(&r, "/boot/initrd", 4, 0);
	CHECK_STR(payload(&r), "path=/boot/initrd id=READING_KEXEC_INITRAMFS ret=0");
	kernel_read_file(&r, "/p", 5, 0);
	CHECK_STR(payload(&r), "path=/p id=READING_POLICY ret=0");
	kernel_read_file(&r, "/c", 6, 0);
	CHECK_STR(payload(&r), "path=/c id=READING_X509_CERTIFICATE ret=0");
	kernel_read_file(&r, "", 0, 0);
	CHECK_STR(payload(&r), "path=\"\" id=READING_UNKNOWN ret=0");
	kernel_read_file(&r, "/x", 7, 0);
	CHECK_STR(payload(&r), "path=/x id=7 ret=0");
	CHECK_STR(fields(&r), "path=/x;id=7;contents=1;ret=0;resolved=d_path;");
}

static void test_task_kill(void)
{
	union record r;

	task_kill(&r, SIGTERM, 1234, 0, "sleep", VIV_KILL_KILL, 0);
	CHECK_STR(payload(&r), "sig=SIGTERM target_pid=1234 target_comm=sleep via=kill ret=0");
	CHECK_STR(fields(&r), "sig=SIGTERM;target_pid=1234;target_tid=0;target_comm=sleep;"
		  "via=kill;ret=0;");

	task_kill(&r, 0, 1234, 0, "", VIV_KILL_KILL, -ESRCH);
	CHECK_STR(payload(&r), "sig=0 (probe) target_pid=1234 via=kill ret=-3 (ESRCH)");
	CHECK_STR(fields(&r), "sig=0;target_pid=1234;target_tid=0;target_comm=;via=kill;ret=-3;");

	task_kill(&r, SIGUSR1, 1234, 1240, "worker", VIV_KILL_TGKILL, 0);
	CHECK_STR(payload(&r), "sig=SIGUSR1 target_pid=1234 target_tid=1240 target_comm=worker "
		  "via=tgkill ret=0");
	CHECK_STR(fields(&r), "sig=SIGUSR1;target_pid=1234;target_tid=1240;target_comm=worker;"
		  "via=tgkill;ret=0;");

	task_kill(&r, SIGKILL, 0, 1240, "", VIV_KILL_TKILL, 0);
	CHECK_STR(payload(&r), "sig=SIGKILL target_pid=0 target_tid=1240 via=tkill ret=0");
	task_kill(&r, SIGHUP, -1, 0, "", VIV_KILL_PIDFD, 0);
	CHECK_STR(payload(&r), "sig=SIGHUP target_pid=-1 via=pidfd_send_signal ret=0");
	task_kill(&r, SIGCHLD, -77, 0, "", VIV_KILL_LSM, 0);
	CHECK_STR(payload(&r), "sig=SIGCHLD target_pid=-77 via=lsm ret=0");
	task_kill(&r, SIGSYS, 1, 0, "", 9, 0);
	CHECK_STR(payload(&r), "sig=SIGSYS target_pid=1 via=9 ret=0");
	CHECK(strstr(fields(&r), ";via=9;"), "unknown via as a number");

	task_kill(&r, SIGSTOP, 1, 0, "", VIV_KILL_KILL, 0);
	CHECK_STR(payload(&r), "sig=SIGSTOP target_pid=1 via=kill ret=0");
	task_kill(&r, SIGWINCH, 1, 0, "", VIV_KILL_KILL, 0);
	CHECK_STR(payload(&r), "sig=SIGWINCH target_pid=1 via=kill ret=0");

	/* Real-time signals count from the kernel's SIGRTMIN, 32. */
	task_kill(&r, 32, 1, 0, "", VIV_KILL_KILL, 0);
	CHECK_STR(payload(&r), "sig=SIGRTMIN target_pid=1 via=kill ret=0");
	task_kill(&r, 34, 1, 0, "", VIV_KILL_KILL, 0);
	CHECK_STR(payload(&r), "sig=SIGRTMIN+2 target_pid=1 via=kill ret=0");
	CHECK(strstr(fields(&r), "sig=SIGRTMIN+2;"), "realtime field");
	task_kill(&r, 63, 1, 0, "", VIV_KILL_KILL, 0);
	CHECK_STR(payload(&r), "sig=SIGRTMIN+31 target_pid=1 via=kill ret=0");
	task_kill(&r, 64, 1, 0, "", VIV_KILL_KILL, 0);
	CHECK_STR(payload(&r), "sig=SIGRTMAX target_pid=1 via=kill ret=0");
	task_kill(&r, 65, 1, 0, "", VIV_KILL_KILL, -EINVAL);
	CHECK_STR(payload(&r), "sig=65 target_pid=1 via=kill ret=-22 (EINVAL)");
	task_kill(&r, -5, 1, 0, "", VIV_KILL_KILL, -EINVAL);
	CHECK_STR(payload(&r), "sig=-5 target_pid=1 via=kill ret=-22 (EINVAL)");
	CHECK(strstr(fields(&r), "sig=-5;"), "negative signal field");
}

static void test_setid_change(void)
{
	static const unsigned int root[3] = { 0, 0, 0 }, user[3] = { 1000, 1000, 1000 };
	static const unsigned int mixed[3] = { 1000, 0, 0 };
	union record r;

	setid_change(&r, VIV_SETID_SETUID, root, 65534, NONE, NONE, 0);
	CHECK_STR(payload(&r), "call=setuid new_uid=65534 old=0/0/0 ret=0");
	CHECK_STR(fields(&r), "call=setuid;ids=uid;old_real=0;old_effective=0;old_saved=0;"
		  "new_id=65534;new_real=-1;new_effective=-1;new_saved=-1;ret=0;");

	setid_change(&r, VIV_SETID_SETGID, user, 0, NONE, NONE, -EPERM);
	CHECK_STR(payload(&r), "call=setgid new_gid=0 old=1000/1000/1000 ret=-1 (EPERM)");
	CHECK_STR(fields(&r), "call=setgid;ids=gid;old_real=1000;old_effective=1000;"
		  "old_saved=1000;new_id=0;new_real=-1;new_effective=-1;new_saved=-1;ret=-1;");

	setid_change(&r, VIV_SETID_SETFSUID, root, 1000, NONE, NONE, 0);
	CHECK_STR(payload(&r), "call=setfsuid new_fsuid=1000 old=0/0/0 ret=0");
	setid_change(&r, VIV_SETID_SETFSGID, root, 100, NONE, NONE, 0);
	CHECK_STR(payload(&r), "call=setfsgid new_fsgid=100 old=0/0/0 ret=0");
	CHECK(strstr(fields(&r), "call=setfsgid;ids=gid;"), "setfsgid ids");

	setid_change(&r, VIV_SETID_SETREUID, mixed, 1000, NONE, NONE, 0);
	CHECK_STR(payload(&r), "call=setreuid new=1000/-1 old=1000/0/0 ret=0");
	CHECK_STR(fields(&r), "call=setreuid;ids=uid;old_real=1000;old_effective=0;old_saved=0;"
		  "new_id=-1;new_real=1000;new_effective=-1;new_saved=-1;ret=0;");

	setid_change(&r, VIV_SETID_SETREGID, root, NONE, 100, NONE, 0);
	CHECK_STR(payload(&r), "call=setregid new=-1/100 old=0/0/0 ret=0");

	setid_change(&r, VIV_SETID_SETRESUID, mixed, 0, 0, 0, 0);
	CHECK_STR(payload(&r), "call=setresuid new=0/0/0 old=1000/0/0 ret=0");
	CHECK_STR(fields(&r), "call=setresuid;ids=uid;old_real=1000;old_effective=0;old_saved=0;"
		  "new_id=-1;new_real=0;new_effective=0;new_saved=0;ret=0;");

	setid_change(&r, VIV_SETID_SETRESGID, user, 100, 100, NONE, -EPERM);
	CHECK_STR(payload(&r), "call=setresgid new=100/100/-1 old=1000/1000/1000 ret=-1 (EPERM)");
	CHECK(strstr(fields(&r), "call=setresgid;ids=gid;"), "setresgid ids");

	/* A call of a later version: its number and all three ids. */
	setid_change(&r, 42, root, 1, 2, 3, 0);
	CHECK_STR(payload(&r), "call=42 new=1/2/3 old=0/0/0 ret=0");
	CHECK_STR(fields(&r), "call=42;ids=;old_real=0;old_effective=0;old_saved=0;"
		  "new_id=-1;new_real=1;new_effective=2;new_saved=3;ret=0;");
	setid_change(&r, 0, root, NONE, NONE, NONE, 0);
	CHECK_STR(payload(&r), "call=0 new=-1/-1/-1 old=0/0/0 ret=0");
}

static void test_capable_check(void)
{
	union record r;

	capable_check(&r, 21, 0, 0);
	CHECK_STR(payload(&r), "cap=CAP_SYS_ADMIN ret=0");
	CHECK_STR(fields(&r), "cap=CAP_SYS_ADMIN;opts=;ret=0;");

	capable_check(&r, 0, 0x2, -EPERM);
	CHECK_STR(payload(&r), "cap=CAP_CHOWN opts=CAP_OPT_NOAUDIT ret=-1 (EPERM)");
	CHECK_STR(fields(&r), "cap=CAP_CHOWN;opts=CAP_OPT_NOAUDIT;ret=-1;");

	capable_check(&r, 7, 0x6, 0);
	CHECK_STR(payload(&r), "cap=CAP_SETUID opts=CAP_OPT_NOAUDIT|CAP_OPT_INSETID ret=0");
	capable_check(&r, 16, 0x9, 0);
	CHECK_STR(payload(&r), "cap=CAP_SYS_MODULE opts=0x9 ret=0");
	capable_check(&r, 19, 0, 0);
	CHECK_STR(payload(&r), "cap=CAP_SYS_PTRACE ret=0");
	capable_check(&r, 39, 0, 0);
	CHECK_STR(payload(&r), "cap=CAP_BPF ret=0");
	capable_check(&r, 40, 0, 0);
	CHECK_STR(payload(&r), "cap=CAP_CHECKPOINT_RESTORE ret=0");
	capable_check(&r, 41, 0, 0);
	CHECK_STR(payload(&r), "cap=41 ret=0");
	CHECK_STR(fields(&r), "cap=41;opts=;ret=0;");
	capable_check(&r, 0xffffffff, 0, 0);
	CHECK_STR(payload(&r), "cap=4294967295 ret=0");
}

static void test_bprm_creds(void)
{
	union record r;

	bprm_creds(&r, "/usr/bin/passwd", S_IFREG | 04755, 0);
	CHECK_STR(payload(&r), "path=/usr/bin/passwd file_mode=04755 setid=S_ISUID file_uid=0 "
		  "file_gid=0 old_euid=1000 old_egid=1000 ret=0");
	CHECK_STR(fields(&r), "path=/usr/bin/passwd;file_mode=2541;setid=S_ISUID;file_uid=0;"
		  "file_gid=0;old_euid=1000;old_egid=1000;ret=0;");

	bprm_creds(&r, "/usr/bin/wall", S_IFREG | 02755, 0);
	r.bc.file_gid = 5;
	CHECK_STR(payload(&r), "path=/usr/bin/wall file_mode=02755 setid=S_ISGID file_uid=0 "
		  "file_gid=5 old_euid=1000 old_egid=1000 ret=0");

	bprm_creds(&r, "/x", 06711, -EACCES);
	CHECK_STR(payload(&r), "path=/x file_mode=06711 setid=S_ISUID|S_ISGID file_uid=0 "
		  "file_gid=0 old_euid=1000 old_egid=1000 ret=-13 (EACCES)");

	bprm_creds(&r, "/bin/true", S_IFREG | 0755, 0);
	r.bc.old_euid = (unsigned int)-1;
	CHECK_STR(payload(&r), "path=/bin/true file_mode=0755 file_uid=0 file_gid=0 "
		  "old_euid=-1 old_egid=1000 ret=0");
	CHECK_STR(fields(&r), "path=/bin/true;file_mode=493;setid=;file_uid=0;file_gid=0;"
		  "old_euid=-1;old_egid=1000;ret=0;");
}

static void test_odd_socket(void)
{
	union record r;

	odd_socket(&r, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), 3);
	CHECK_STR(payload(&r), "family=AF_PACKET type=SOCK_RAW protocol=ETH_P_ALL ret=3");
	CHECK_STR(fields(&r), "family=AF_PACKET;type=SOCK_RAW;protocol=ETH_P_ALL;ret=3;");

	odd_socket(&r, AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_IP), 4);
	CHECK_STR(payload(&r), "family=AF_PACKET type=SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC "
		  "protocol=ETH_P_IP ret=4");
	odd_socket(&r, AF_PACKET, SOCK_RAW, htons(0x88b5), 4);
	CHECK_STR(payload(&r), "family=AF_PACKET type=SOCK_RAW protocol=0x88b5 ret=4");
	odd_socket(&r, AF_PACKET, SOCK_RAW, 0, 4);
	CHECK_STR(payload(&r), "family=AF_PACKET type=SOCK_RAW protocol=0 ret=4");
	odd_socket(&r, AF_PACKET, SOCK_RAW, 0x10000, -EINVAL);
	CHECK_STR(payload(&r), "family=AF_PACKET type=SOCK_RAW protocol=65536 ret=-22 (EINVAL)");
	odd_socket(&r, AF_PACKET, SOCK_PACKET, htons(ETH_P_ARP), -EPERM);
	CHECK_STR(payload(&r), "family=AF_PACKET type=SOCK_PACKET protocol=ETH_P_ARP "
		  "ret=-1 (EPERM)");

	odd_socket(&r, AF_INET, SOCK_RAW, IPPROTO_ICMP, 5);
	CHECK_STR(payload(&r), "family=AF_INET type=SOCK_RAW protocol=IPPROTO_ICMP ret=5");
	odd_socket(&r, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, 5);
	CHECK_STR(payload(&r), "family=AF_INET6 type=SOCK_RAW protocol=IPPROTO_ICMPV6 ret=5");
	CHECK_STR(fields(&r), "family=AF_INET6;type=SOCK_RAW;protocol=IPPROTO_ICMPV6;ret=5;");
	odd_socket(&r, AF_INET, SOCK_STREAM, 0, 5);
	CHECK_STR(payload(&r), "family=AF_INET type=SOCK_STREAM protocol=IPPROTO_IP ret=5");
	odd_socket(&r, AF_INET, SOCK_RAW, IPPROTO_RAW, 5);
	CHECK_STR(payload(&r), "family=AF_INET type=SOCK_RAW protocol=IPPROTO_RAW ret=5");
	odd_socket(&r, AF_INET, SOCK_STREAM, 262, 5);
	CHECK_STR(payload(&r), "family=AF_INET type=SOCK_STREAM protocol=IPPROTO_MPTCP ret=5");
	odd_socket(&r, AF_INET, SOCK_RAW, 200, 5);
	CHECK_STR(payload(&r), "family=AF_INET type=SOCK_RAW protocol=200 ret=5");

	odd_socket(&r, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 15, 6);
	CHECK_STR(payload(&r), "family=AF_NETLINK type=SOCK_RAW|SOCK_CLOEXEC "
		  "protocol=NETLINK_KOBJECT_UEVENT ret=6");
	odd_socket(&r, AF_NETLINK, SOCK_RAW, 99, 6);
	CHECK_STR(payload(&r), "family=AF_NETLINK type=SOCK_RAW protocol=99 ret=6");

	odd_socket(&r, AF_ALG, SOCK_SEQPACKET, 0, 7);
	CHECK_STR(payload(&r), "family=AF_ALG type=SOCK_SEQPACKET protocol=0 ret=7");
	odd_socket(&r, AF_BLUETOOTH, SOCK_RAW, 1, 7);
	CHECK_STR(payload(&r), "family=AF_BLUETOOTH type=SOCK_RAW protocol=1 ret=7");
	odd_socket(&r, AF_DECnet, SOCK_STREAM, 0, -EAFNOSUPPORT);
	CHECK_STR(payload(&r), "family=AF_DECnet type=SOCK_STREAM protocol=0 "
		  "ret=-97 (EAFNOSUPPORT)");
	odd_socket(&r, AF_MCTP, SOCK_DGRAM, 0, 7);
	CHECK_STR(payload(&r), "family=AF_MCTP type=SOCK_DGRAM protocol=0 ret=7");
	odd_socket(&r, 46, 7, 3, -EAFNOSUPPORT);
	CHECK_STR(payload(&r), "family=46 type=7 protocol=3 ret=-97 (EAFNOSUPPORT)");
	CHECK_STR(fields(&r), "family=46;type=7;protocol=3;ret=-97;");
	odd_socket(&r, 0xffffffff, SOCK_STREAM | 0x100, 0xffffffff, -EINVAL);
	CHECK_STR(payload(&r), "family=4294967295 type=SOCK_STREAM|0x100 protocol=4294967295 "
		  "ret=-22 (EINVAL)");
}

static void test_dns_req(void)
{
	unsigned char msg[600];
	char name[300], want[1200];
	union record r;
	size_t n, i;

	n = dns_msg(msg, 0x0100 /* RD */, "example.com", 1, 1);
	dns_req(&r, "127.0.0.53", msg, n, n, n);
	CHECK_STR(payload(&r), "server=127.0.0.53 port=53 query=example.com qtype=A ret=29");
	CHECK_STR(fields(&r), "server=127.0.0.53;port=53;id=4660;opcode=QUERY;qname=example.com;"
		  "qtype=A;qclass=IN;len=29;malformed=0;ret=29;");

	n = dns_msg(msg, 0x0100, "example.com", 28, 1);
	dns_req(&r, "::1", msg, n, n, n);
	CHECK_STR(payload(&r), "server=[::1] port=53 query=example.com qtype=AAAA ret=29");
	CHECK_STR(fields(&r), "server=::1;port=53;id=4660;opcode=QUERY;qname=example.com;"
		  "qtype=AAAA;qclass=IN;len=29;malformed=0;ret=29;");
	dns_req(&r, "2001:db8::35", msg, n, n, -ENETUNREACH);
	CHECK_STR(payload(&r), "server=[2001:db8::35] port=53 query=example.com qtype=AAAA "
		  "ret=-101 (ENETUNREACH)");

	n = dns_msg(msg, 0, "_dns.resolver.arpa", 64, 1);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK(strstr(payload(&r), "query=_dns.resolver.arpa qtype=SVCB "), "%s", payload(&r));
	n = dns_msg(msg, 0, "example.com", 65, 1);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK(strstr(payload(&r), " qtype=HTTPS "), "%s", payload(&r));
	n = dns_msg(msg, 0, "1.0.0.127.in-addr.arpa", 12, 1);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK(strstr(payload(&r), "query=1.0.0.127.in-addr.arpa qtype=PTR "), "%s", payload(&r));
	n = dns_msg(msg, 0, "example.com", 255, 1);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK(strstr(payload(&r), " qtype=ANY "), "%s", payload(&r));
	n = dns_msg(msg, 0, "example.com", 15, 1);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK(strstr(payload(&r), " qtype=MX "), "%s", payload(&r));
	n = dns_msg(msg, 0, "example.com", 16, 1);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK(strstr(payload(&r), " qtype=TXT "), "%s", payload(&r));
	n = dns_msg(msg, 0, "_x._tcp.example.com", 33, 1);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK(strstr(payload(&r), " qtype=SRV "), "%s", payload(&r));

	/* An unknown type and class in RFC 3597 form; classes other than IN
	 * are shown. */
	n = dns_msg(msg, 0, "version.bind", 16, 3);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=version.bind qtype=TXT qclass=CH "
		  "ret=30");
	n = dns_msg(msg, 0, "a", 1234, 0x8001);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=a qtype=TYPE1234 qclass=CLASS32769 "
		  "ret=19");
	CHECK(strstr(fields(&r), ";qtype=TYPE1234;qclass=CLASS32769;"), "%s", fields(&r));

	n = dns_msg(msg, 0, "", 2, 1);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=. qtype=NS ret=17");

	/* An UPDATE (opcode 5) and an unassigned opcode. */
	n = dns_msg(msg, 5 << 11, "example.com", 6, 1);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=example.com qtype=SOA opcode=UPDATE "
		  "ret=29");
	CHECK(strstr(fields(&r), ";opcode=UPDATE;"), "%s", fields(&r));
	n = dns_msg(msg, 3 << 11, "example.com", 1, 1);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK(strstr(payload(&r), " opcode=3 "), "%s", payload(&r));

	/* Bytes a label may hold but a hostname may not, in master-file
	 * escapes; the payload quotes the backslashes. */
	n = dns_msg(msg, 0, "a_b.x", 1, 1);
	msg[14] = '.';
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"a\\\\.b.x\" qtype=A ret=23");
	CHECK(strstr(fields(&r), ";qname=a\\.b.x;"), "%s", fields(&r));
	n = dns_msg(msg, 0, "sp ceX.\\.\"q", 1, 1);
	msg[13 + 4] = 0;
	msg[13 + 5] = 0x80;
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK_STR(fields(&r), "server=9.9.9.9;port=53;id=4660;opcode=QUERY;"
		  "qname=sp\\032c\\000\\128.\\\\.\"q;qtype=A;qclass=IN;len=29;malformed=0;ret=29;");
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"sp\\\\032c\\\\000\\\\128.\\\\\\\\."
		  "\\\"q\" qtype=A ret=29");

	/* The longest name a record holds: 12 + 240 + 4 bytes = VIV_DNS_MAX. */
	memset(name, 0, sizeof(name));
	memset(name, 'a', 63);
	name[63] = '.';
	memset(name + 64, 'b', 63);
	name[127] = '.';
	memset(name + 128, 'c', 63);
	name[191] = '.';
	memset(name + 192, 'd', 46);
	n = dns_msg(msg, 0, name, 1, 1);
	CHECK(n == VIV_DNS_MAX, "longest name fills the record: %zu", n);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	snprintf(want, sizeof(want), "server=9.9.9.9 port=53 query=%s qtype=A ret=256", name);
	CHECK_STR(payload(&r), want);
	/* A longer message: the record keeps its first VIV_DNS_MAX bytes. */
	dns_req(&r, "9.9.9.9", msg, n, 1000, 1000);
	snprintf(want, sizeof(want), "server=9.9.9.9 port=53 query=%s qtype=A ret=1000", name);
	CHECK_STR(payload(&r), want);
	CHECK(strstr(fields(&r), ";len=1000;malformed=0;"), "len beyond the record");

	/* A 255-byte name (the most DNS allows) does not fit: malformed. */
	memset(name, 0, sizeof(name));
	for (i = 0; i < 4; i++) {
		memset(name + i * 64, 'a' + i, 63);
		name[i * 64 + 63] = '.';
	}
	name[192 + 61] = '\0';
	n = dns_msg(msg, 0, name, 1, 1);
	CHECK(n == 12 + 255 + 4, "255-byte name: %zu", n);
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=271");
	CHECK_STR(fields(&r), "server=9.9.9.9;port=53;id=4660;opcode=QUERY;qname=;qtype=;"
		  "qclass=;len=271;malformed=1;ret=271;");

	/* Truncated: in the header, in the name, before the type. */
	n = dns_msg(msg, 0, "example.com", 1, 1);
	dns_req(&r, "9.9.9.9", msg, n, 5, 5);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=5");
	CHECK_STR(fields(&r), "server=9.9.9.9;port=53;id=0;opcode=;qname=;qtype=;qclass=;len=5;"
		  "malformed=1;ret=5;");
	dns_req(&r, "9.9.9.9", msg, n, 0, -EINVAL);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=-22 (EINVAL)");
	dns_req(&r, "9.9.9.9", msg, n, 12, 12);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=12");
	dns_req(&r, "9.9.9.9", msg, n, 20, 20);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=20");
	dns_req(&r, "9.9.9.9", msg, n, n - 1, n - 1);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=28");
	CHECK(strstr(fields(&r), ";id=4660;"), "id of a truncated message");

	/* No question. */
	n = dns_msg(msg, 0, "example.com", 1, 1);
	msg[5] = 0;
	dns_req(&r, "9.9.9.9", msg, n, n, n);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=29");

	/* Compression pointers: to itself, back into the header, forward. */
	n = dns_msg(msg, 0, "", 1, 1);
	memcpy(msg + 12, "\xc0\x0c\x00\x01\x00\x01", 6);
	dns_req(&r, "9.9.9.9", msg, 18, 18, 18);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=18");
	memcpy(msg + 12, "\x03www\xc0\x0c\x00\x01\x00\x01", 10);
	dns_req(&r, "9.9.9.9", msg, 22, 22, 22);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=22");
	memcpy(msg + 12, "\x03www\xc0\x00\x00\x01\x00\x01", 10);
	dns_req(&r, "9.9.9.9", msg, 22, 22, 22);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=22");
	memcpy(msg + 12, "\xc0\x12\x00\x01\x00\x01\x01x\x00\x00\x01\x00\x01", 13);
	dns_req(&r, "9.9.9.9", msg, 25, 25, 25);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=25");
	/* Extended (0x40) and reserved (0x80) label types. */
	memcpy(msg + 12, "\x41x\x00\x00\x01\x00\x01", 7);
	dns_req(&r, "9.9.9.9", msg, 19, 19, 19);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=19");
	memcpy(msg + 12, "\x81x\x00\x00\x01\x00\x01", 7);
	dns_req(&r, "9.9.9.9", msg, 19, 19, 19);
	CHECK_STR(payload(&r), "server=9.9.9.9 port=53 query=\"\" malformed=1 ret=19");

	/* A connected socket's send names no server. */
	n = dns_msg(msg, 0, "example.com", 1, 1);
	dns_req(&r, "", msg, n, n, n);
	CHECK_STR(payload(&r), "query=example.com qtype=A ret=29");
	CHECK_STR(fields(&r), "server=;port=0;id=4660;opcode=QUERY;qname=example.com;qtype=A;"
		  "qclass=IN;len=29;malformed=0;ret=29;");
	r.dr.family = AF_UNIX;
	r.dr.port = 53;
	CHECK_STR(payload(&r), "port=53 query=example.com qtype=A ret=29");
}

static int decode(const void *rec, size_t size)
{
	struct viv_event ev;

	return viv_event__decode(rec, size, &ev);
}

/* Each kind: sizes of its own or others refused, strings unterminated. */
static void test_malformed_kinds(void)
{
	union record r;
	size_t i, j, size;

	for (i = 0; i < N_KINDS; i++) {
		sample(&r, all_kinds[i].kind);
		size = r.hdr.size;
		CHECK(!decode(&r, size), "%s sample", all_kinds[i].name);
		CHECK(decode(&r, size - 1) == -EINVAL, "%s one byte short", all_kinds[i].name);
		r.hdr.size = size + 8;
		CHECK(decode(&r, sizeof(r)) == -EINVAL, "%s size too large", all_kinds[i].name);
		r.hdr.size = size - 8;
		CHECK(decode(&r, sizeof(r)) == -EINVAL, "%s size too small", all_kinds[i].name);
		for (j = 0; j < N_KINDS; j++) {
			sample(&r, all_kinds[j].kind);
			if (r.hdr.size == size)
				continue;
			r.hdr.kind = all_kinds[i].kind;
			CHECK(decode(&r, sizeof(r)) == -EINVAL, "%s with the size of %s",
			      all_kinds[i].name, all_kinds[j].name);
		}
	}

	for (i = 0; i < N_STR_MEMBERS; i++) {
		sample(&r, str_members[i].kind);
		memset(r.bytes + str_members[i].off, 'a', str_members[i].len);
		CHECK(decode(&r, r.hdr.size) == -EINVAL, "%s unterminated", str_members[i].what);
		r.bytes[str_members[i].off + str_members[i].len - 1] = '\0';
		CHECK(!decode(&r, r.hdr.size), "%s of full length", str_members[i].what);
		CHECK(strlen(payload(&r)) > 0 && strlen(fields(&r)) > 0, "%s full length printed",
		      str_members[i].what);
	}

	/* Numbers of any value decode, and print. */
	sample(&r, VIV_KIND_SETID_CHANGE);
	memset(r.bytes + sizeof(r.hdr), 0xff, sizeof(r.si) - sizeof(r.hdr));
	CHECK(!decode(&r, r.hdr.size), "setid_change of any bytes");
	CHECK_STR(payload(&r), "call=4294967295 new=-1/-1/-1 old=-1/-1/-1 ret=-1 (EPERM)");
	sample(&r, VIV_KIND_DNS_REQ);
	memset(r.bytes + sizeof(r.hdr), 0xff, sizeof(r.dr) - sizeof(r.hdr));
	CHECK(!decode(&r, r.hdr.size), "dns_req of any bytes");
	CHECK_STR(payload(&r), "port=65535 query=\"\" opcode=15 malformed=1 ret=-1 (EPERM)");
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

	test_malformed_kinds();
}

/*
 * Records cut short right before an unmapped page: decode() must refuse
 * them without touching a byte past @size, or this faults.
 */
static void test_no_overread(void)
{
	long page = sysconf(_SC_PAGESIZE);
	union record recs[N_KINDS], r;
	char *area, *end;
	size_t i, k, size;

	area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		CHECK(0, "mmap: %s", strerror(errno));
		return;
	}
	mprotect(area + page, page, PROT_NONE);
	end = area + page;

	for (i = 0; i < N_KINDS; i++)
		sample(&recs[i], all_kinds[i].kind);
	for (i = 0; i < N_KINDS; i++) {
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
		CHECK(strlen(fields((const void *)(end - size))) > 0, "fields at the edge");
		/* A header claiming more than there is. */
		((struct viv_event_hdr *)(end - size))->size = size + 8;
		CHECK(decode(end - size, size) == -EINVAL, "hdr.size past the buffer");
	}

	/* Unterminated strings that run up to the guard page. */
	for (i = 0; i < N_STR_MEMBERS; i++) {
		sample(&r, str_members[i].kind);
		size = r.hdr.size;
		memset(r.bytes + str_members[i].off, 'a', size - str_members[i].off);
		memcpy(end - size, &r, size);
		CHECK(decode(end - size, size) == -EINVAL, "%s unterminated at the edge",
		      str_members[i].what);
	}

	/* A DNS message of labels up to the guard page, claiming more. */
	sample(&r, VIV_KIND_DNS_REQ);
	memset(r.dr.query + 12, 0x3f, VIV_DNS_MAX - 12);
	r.dr.len = 0xffffffff;
	memcpy(end - sizeof(r.dr), &r, sizeof(r.dr));
	CHECK(!decode(end - sizeof(r.dr), sizeof(r.dr)), "dns_req at the edge");
	CHECK(strstr(payload((const void *)(end - sizeof(r.dr))), "malformed=1"),
	      "runaway DNS name at the edge");
	CHECK(strstr(fields((const void *)(end - sizeof(r.dr))), "malformed=1"),
	      "runaway DNS name fields at the edge");
	munmap(area, 2 * page);
}

static void test_payload_buffer(void)
{
	char full[256], small[16], cut[300];
	struct viv_event ev;
	union record r;
	size_t i, k;
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

	/* Every kind, cut at every length. */
	for (i = 0; i < N_KINDS; i++) {
		sample(&r, all_kinds[i].kind);
		viv_event__decode(&r, r.hdr.size, &ev);
		n = viv_event__payload(&ev, full, sizeof(full));
		CHECK(n > 0 && n == (int)strlen(full), "%s length", all_kinds[i].name);
		for (k = 1; k <= (size_t)n + 1; k++) {
			memset(cut, 'Z', sizeof(cut));
			m = viv_event__payload(&ev, cut, k);
			if (m != n || strlen(cut) != (k - 1 < (size_t)n ? k - 1 : (size_t)n) ||
			    strncmp(cut, full, strlen(cut)) || cut[k] != 'Z')
				CHECK(0, "%s cut at %zu: '%s'", all_kinds[i].name, k, cut);
		}
	}

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
	test_file_pair();
	test_file_chmod();
	test_file_getdents();
	test_ptrace_check();
	test_sb_mount();
	test_kernel_read_file();
	test_task_kill();
	test_setid_change();
	test_capable_check();
	test_bprm_creds();
	test_odd_socket();
	test_dns_req();
	test_malformed();
	test_no_overread();
	test_payload_buffer();
	return check_report();
}
