// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The socket events on the LSM backend: odd_socket and sock_connect.
 * BPF LSM since 5.7 (CONFIG_SECURITY_NETWORK), where `bpf` is in the
 * active LSM list; as in lsm_fs.bpf.c a record means "allowed so far",
 * ret is 0, and every program returns 0.
 */
#include "common.h"

/*
 * socket_create: socket(2), socketpair(2) and io_uring's socket, before
 * the socket exists (so no descriptor: ret 0). Sockets the kernel makes
 * for itself (kern != 0) are not the task's doing. type has no
 * SOCK_NONBLOCK or SOCK_CLOEXEC bits here: the kernel strips them first.
 */
SEC("lsm/socket_create")
int BPF_PROG(viv_lsm_socket_create, int family, int type, int protocol,
	     int kern)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_odd_socket *e;
	struct viv_owner who;

	if (!viv_enabled(VIV_KIND_ODD_SOCKET) || kern ||
	    !viv_odd_socket(family, type) || !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_ODD_SOCKET, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->family = family;
	e->type = type;
	e->protocol = protocol;
	viv_submit(e);
	return 0;
}

/*
 * socket_connect: connect(2) and io_uring's connect, with the kernel's
 * copy of the address. Not for TCP fast open (sendmsg with MSG_FASTOPEN)
 * nor sendto(2) with an address, which never call connect. The socket's
 * descriptor is not known here: fd is -1.
 */
SEC("lsm/socket_connect")
int BPF_PROG(viv_lsm_socket_connect, struct socket *sock,
	     struct sockaddr *address, int addrlen)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct viv_sock_connect *e;
	struct viv_owner who;
	__u64 len = (__u32)addrlen;

	if (!viv_enabled(VIV_KIND_SOCK_CONNECT) || !viv_target(pid_tgid, &who))
		return 0;
	e = viv_reserve(&who, VIV_KIND_SOCK_CONNECT, sizeof(*e), pid_tgid);
	if (!e)
		return 0;
	e->ret = 0;
	e->fd = -1;
	e->addr_len = addrlen;
	e->pad = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	if (len > VIV_SOCKADDR_MAX)
		len = VIV_SOCKADDR_MAX;
	if (len && bpf_probe_read_kernel(e->addr, len, address))
		viv_stat(VIV_STAT_READ_FAIL);
	viv_submit(e);
	return 0;
}
