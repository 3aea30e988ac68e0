// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sock_connect and odd_socket on the tracepoint backend: every connect(2)
 * of an observed task, with the raw socket address it passed and the
 * result (lib/ decodes the address), and every odd socket(2).
 */
#include "common.h"

/*
 * sys_enter_connect / sys_exit_connect: BPF on syscall tracepoints since
 * 4.7; the address is read at exit from the caller's buffer. Any address
 * family, unix sockets included. Misses connections made without
 * connect(2): sendto(2) with an address on an unconnected socket, TCP fast
 * open (sendmsg with MSG_FASTOPEN) and io_uring IORING_OP_CONNECT.
 */
SEC("tracepoint/syscalls/sys_enter_connect")
int viv_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	return viv_save(VIV_KIND_SOCK_CONNECT, ctx->args[0], ctx->args[1],
			ctx->args[2], 0);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int viv_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_sock_connect *e;
	struct viv_args args;
	__u64 len;

	if (!viv_take(VIV_KIND_SOCK_CONNECT, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_SOCK_CONNECT, sizeof(*e),
			pid_tgid);
	if (!e)
		return 0;
	e->ret = ctx->ret;
	e->fd = args.a[0];
	e->addr_len = args.a[2];
	e->pad = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	len = (__u32)args.a[2];
	if (len > VIV_SOCKADDR_MAX)
		len = VIV_SOCKADDR_MAX;
	if (len && bpf_probe_read_user(e->addr, len, (void *)args.a[1]))
		viv_stat(VIV_STAT_READ_FAIL);
	viv_submit(e);
	return 0;
}

/*
 * sys_enter_socket / sys_exit_socket: odd_socket on the tracepoint
 * backend; only odd creations are saved at enter, so the others cost a
 * target lookup. type keeps SOCK_NONBLOCK and SOCK_CLOEXEC as passed.
 * Misses socketpair(2) (never odd: only unix sockets pair) and io_uring's
 * IORING_OP_SOCKET (5.19).
 */
SEC("tracepoint/syscalls/sys_enter_socket")
int viv_socket_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (!viv_odd_socket(ctx->args[0], ctx->args[1]))
		return 0;
	return viv_save(VIV_KIND_ODD_SOCKET, ctx->args[0], ctx->args[1],
			ctx->args[2], 0);
}

SEC("tracepoint/syscalls/sys_exit_socket")
int viv_socket_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_odd_socket *e;
	struct viv_args args;

	if (!viv_take(VIV_KIND_ODD_SOCKET, (__u32)pid_tgid, &args))
		return 0;
	e = viv_reserve(&args.who, VIV_KIND_ODD_SOCKET, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = ctx->ret;
	e->family = args.a[0];
	e->type = args.a[1];
	e->protocol = args.a[2];
	viv_submit(e);
	return 0;
}
