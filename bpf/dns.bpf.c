// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * dns_req, on both backends: a UDP message to port 53 sent with
 * sendto(2), sendmsg(2) or sendmmsg(2), with its server and the first
 * VIV_DNS_MAX bytes of the message, which lib/ decodes (the names asked
 * for). No LSM hook gives the message bytes (socket_sendmsg sees a
 * kernel iterator), hence syscall tracepoints everywhere; BPF on them
 * since 4.7.
 *
 * The server is the address the call names or, for a connected socket
 * (glibc's resolver connects its UDP socket and sends with send() or
 * sendmmsg()), the socket's peer. Misses write(2) on a connected socket,
 * io_uring, and DNS over TCP or TLS.
 */
#include "path.h"
#include <bpf/bpf_endian.h>

#define VIV_S_IFMT		0170000
#define VIV_S_IFSOCK		0140000
#define VIV_IPPROTO_UDP		17
#define VIV_DNS_PORT		53
/* Messages of one sendmmsg looked at: glibc sends two (A and AAAA). */
#define VIV_DNS_MMSG		4
/* Buffers of one sendmsg counted in len; the query is the first's. */
#define VIV_DNS_IOV		4

enum { DNS_SENDTO, DNS_SENDMSG, DNS_SENDMMSG };

/* The struct sock behind descriptor @fd if it is an IPv4 or IPv6 UDP
 * socket, else 0. */
static __always_inline __u64 udp_sock(long fd)
{
	struct file *file = (void *)viv_fd_file(fd);
	struct socket *sock;
	struct sock *sk;
	__u16 family;

	if (!file)
		return 0;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & VIV_S_IFMT) != VIV_S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != VIV_IPPROTO_UDP)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != VIV_AF_INET && family != VIV_AF_INET6)
		return 0;
	return (__u64)sk;
}

/*
 * Save a[0] the buffer, message or vector, a[1] its length or count,
 * a[2] and a[3] the address and its length (sendto), a[4] the socket,
 * a[5] which call. Only UDP sockets of observed tasks are saved; the port
 * is known only at exit, once the address can be read.
 */
static __always_inline int dns_enter(long fd, __u64 buf, __u64 len,
				     __u64 addr, __u64 addr_len, int call)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_owner who;
	__u64 sk;

	if (!viv_enabled(VIV_KIND_DNS_REQ) || !viv_target(pid_tgid, &who))
		return 0;
	sk = udp_sock(fd);
	if (!sk)
		return 0;
	return viv_stash((__u32)pid_tgid, &who, VIV_KIND_DNS_REQ, buf, len, addr,
			 addr_len, sk, call);
}

/*
 * One record for a message of @len bytes at @buf sent to the address at
 * @name (user memory, @name_len bytes) or, without one, to the socket's
 * peer; nothing unless that is port 53.
 */
static __always_inline void dns_emit(struct viv_args *args, __u64 pid_tgid,
				     long ret, __u64 name, __u32 name_len,
				     __u64 buf, __u64 len)
{
	struct sock *sk = (void *)args->a[4];
	struct sockaddr_in6 sa = {};
	struct viv_dns_req *e;
	__u16 family, port;
	__u32 n;

	if (name && name_len >= sizeof(struct sockaddr_in)) {
		/* Constant sizes: the caller's buffer may end right there. */
		n = name_len >= sizeof(sa) ? sizeof(sa) :
					     sizeof(struct sockaddr_in);
		if (bpf_probe_read_user(&sa, n, (void *)name)) {
			viv_stat(VIV_STAT_READ_FAIL);
			return;
		}
		family = sa.sin6_family;
		port = bpf_ntohs(sa.sin6_port);
	} else {
		family = BPF_CORE_READ(sk, __sk_common.skc_family);
		port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	}
	if (port != VIV_DNS_PORT ||
	    (family != VIV_AF_INET && family != VIV_AF_INET6))
		return;
	e = viv_reserve(&args->who, VIV_KIND_DNS_REQ, sizeof(*e), pid_tgid);
	if (!e)
		return;
	e->ret = ret;
	e->len = len;
	e->family = family;
	e->port = port;
	e->pad = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	if (name && name_len >= sizeof(struct sockaddr_in)) {
		if (family == VIV_AF_INET)
			__builtin_memcpy(e->addr,
				&((struct sockaddr_in *)&sa)->sin_addr, 4);
		else
			__builtin_memcpy(e->addr, &sa.sin6_addr, 16);
	} else if (family == VIV_AF_INET) {
		bpf_probe_read_kernel(e->addr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_probe_read_kernel(e->addr, 16,
				      &sk->__sk_common.skc_v6_daddr);
	}
	n = len < VIV_DNS_MAX ? len : VIV_DNS_MAX;
	__builtin_memset(e->query, 0, sizeof(e->query));
	if (n && bpf_probe_read_user(e->query, n, (void *)buf))
		viv_stat(VIV_STAT_READ_FAIL);
	viv_submit(e);
}

/* One struct user_msghdr in user memory: its address and payload. */
static __always_inline void dns_msghdr(struct viv_args *args, __u64 pid_tgid,
				       long ret, __u64 uhdr)
{
	struct iovec iov[VIV_DNS_IOV] = {};
	struct user_msghdr msg;
	__u64 len = 0;
	int i;

	if (bpf_probe_read_user(&msg, sizeof(msg), (void *)uhdr) ||
	    !msg.msg_iov || !msg.msg_iovlen) {
		viv_stat(VIV_STAT_READ_FAIL);
		return;
	}
	if (bpf_probe_read_user(iov, sizeof(iov[0]), msg.msg_iov)) {
		viv_stat(VIV_STAT_READ_FAIL);
		return;
	}
	if (msg.msg_iovlen > 1)
		bpf_probe_read_user(&iov[1], sizeof(iov) - sizeof(iov[0]),
				    msg.msg_iov + 1);
	for (i = 0; i < VIV_DNS_IOV; i++) {
		if (i < msg.msg_iovlen)
			len += iov[i].iov_len;
	}
	dns_emit(args, pid_tgid, ret, (__u64)msg.msg_name, msg.msg_namelen,
		 (__u64)iov[0].iov_base, len);
}

static __always_inline int dns_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct mmsghdr *vec;
	struct viv_args args;
	__u32 sent, n;
	int i;

	if (!viv_take(VIV_KIND_DNS_REQ, (__u32)pid_tgid, &args))
		return 0;
	if (args.a[5] == DNS_SENDTO) {
		dns_emit(&args, pid_tgid, ret, args.a[2], args.a[3], args.a[0],
			 args.a[1]);
		return 0;
	}
	if (args.a[5] == DNS_SENDMSG) {
		dns_msghdr(&args, pid_tgid, ret, args.a[0]);
		return 0;
	}
	/* sendmmsg returns how many went out and sets each msg_len. */
	vec = (void *)args.a[0];
	n = ret < 0 ? args.a[1] : ret;
	for (i = 0; i < VIV_DNS_MMSG; i++) {
		if (i >= n)
			break;
		if (ret >= 0 && bpf_probe_read_user(&sent, sizeof(sent),
						    &vec[i].msg_len))
			break;
		dns_msghdr(&args, pid_tgid, ret < 0 ? ret : sent,
			   (__u64)&vec[i].msg_hdr);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int viv_sendto_enter(struct trace_event_raw_sys_enter *ctx)
{
	return dns_enter(ctx->args[0], ctx->args[1], ctx->args[2],
			 ctx->args[4], ctx->args[5], DNS_SENDTO);
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int viv_sendto_exit(struct trace_event_raw_sys_exit *ctx)
{
	return dns_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int viv_sendmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	return dns_enter(ctx->args[0], ctx->args[1], 1, 0, 0, DNS_SENDMSG);
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int viv_sendmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	return dns_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_sendmmsg")
int viv_sendmmsg_enter(struct trace_event_raw_sys_enter *ctx)
{
	return dns_enter(ctx->args[0], ctx->args[1], ctx->args[2], 0, 0,
			 DNS_SENDMMSG);
}

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int viv_sendmmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	return dns_exit(ctx->ret);
}
