// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sock_connect: every connect(2) of an observed task, with the raw socket
 * address it passed and the result; lib/ decodes the address.
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
	e = viv_reserve(args.id, VIV_KIND_SOCK_CONNECT, sizeof(*e), pid_tgid);
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
