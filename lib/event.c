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
 *   path_open        path STR, flags STR, mode INT, ret INT, resolved STR
 *   proc_exec        path STR, argv STRS, argc INT, comm STR, ret INT
 *   sock_connect     family STR, addr STR, port INT, ret INT, fd INT
 *   file_symlink     target STR, link STR, ret INT, resolved STR
 *   file_hardlink    old STR, new STR, flags STR, ret INT,
 *                    old_resolved STR, new_resolved STR
 *   file_rename      as file_hardlink
 *   file_chmod       path STR, mode INT, fd INT, ret INT, resolved STR
 *   file_getdents    path STR, fd INT, count INT, ret INT, resolved STR
 *   ptrace_check     target_pid INT, target_comm STR, request STR,
 *                    mode STR, ret INT
 *   sb_mount         call STR, source STR, target STR, fstype STR, flags STR,
 *                    ret INT
 *   kernel_read_file path STR, id STR, contents INT, ret INT, resolved STR
 *   task_kill        sig STR, target_pid INT, target_tid INT,
 *                    target_comm STR, via STR, ret INT
 *   setid_change     call STR, ids STR, old_real INT, old_effective INT,
 *                    old_saved INT, new_id INT, new_real INT,
 *                    new_effective INT, new_saved INT, ret INT
 *   capable_check    cap STR, opts STR, ret INT
 *   bprm_creds       path STR, file_mode INT, setid STR, file_uid INT,
 *                    file_gid INT, old_euid INT, old_egid INT, ret INT
 *   odd_socket       family STR, type STR, protocol STR, ret INT
 *   dns_req          server STR, port INT, id INT, opcode STR, qname STR,
 *                    qtype STR, qclass STR, len INT, malformed INT, ret INT
 *
 * A STR field's @n is its length; a STRS field's @n is how many strings.
 * No STR field holds a NUL: hosts may treat them as C strings.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/mount.h>
#include <linux/netlink.h>
#include <linux/ptrace.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
_Static_assert(sizeof(struct viv_file_pair) == 24 + 16 + 2 * VIV_PATH_MAX,
	       "viv_file_pair size");
_Static_assert(sizeof(struct viv_file_chmod) == 24 + 16 + VIV_PATH_MAX,
	       "viv_file_chmod size");
_Static_assert(sizeof(struct viv_file_getdents) == 24 + 16 + VIV_PATH_MAX,
	       "viv_file_getdents size");
_Static_assert(sizeof(struct viv_ptrace_check) == 24 + 16 + VIV_COMM_LEN,
	       "viv_ptrace_check size");
_Static_assert(sizeof(struct viv_sb_mount) ==
	       24 + 16 + VIV_MOUNT_SRC_MAX + VIV_FSTYPE_MAX + VIV_PATH_MAX,
	       "viv_sb_mount size");
_Static_assert(sizeof(struct viv_kernel_read_file) == 24 + 16 + VIV_PATH_MAX,
	       "viv_kernel_read_file size");
_Static_assert(sizeof(struct viv_task_kill) == 24 + 24 + VIV_COMM_LEN,
	       "viv_task_kill size");
/* 60 bytes of members; the 8-byte alignment of the header adds 4. */
_Static_assert(sizeof(struct viv_setid_change) == 24 + 40,
	       "viv_setid_change size");
_Static_assert(sizeof(struct viv_capable_check) == 24 + 16,
	       "viv_capable_check size");
_Static_assert(sizeof(struct viv_bprm_creds) == 24 + 24 + VIV_PATH_MAX,
	       "viv_bprm_creds size");
_Static_assert(sizeof(struct viv_odd_socket) == 24 + 16,
	       "viv_odd_socket size");
_Static_assert(sizeof(struct viv_dns_req) == 24 + 32 + VIV_DNS_MAX,
	       "viv_dns_req size");
_Static_assert(sizeof(struct viv_lost) == 16, "viv_lost size");
_Static_assert(sizeof(struct viv_config) == 16, "viv_config size");
_Static_assert(VIV_SOCKADDR_MAX >= sizeof(struct sockaddr_un),
	       "a unix address fits the record");

/*
 * The gem's names and severities: it rates setid_change, capable_check,
 * bprm_creds, task_kill, ptrace_check, sb_mount and kernel_read_file high,
 * everything else medium.
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
	[VIV_KIND_FILE_SYMLINK] = { "file_symlink", VIV_SEV_MEDIUM,
				    sizeof(struct viv_file_pair) },
	[VIV_KIND_FILE_HARDLINK] = { "file_hardlink", VIV_SEV_MEDIUM,
				     sizeof(struct viv_file_pair) },
	[VIV_KIND_FILE_RENAME] = { "file_rename", VIV_SEV_MEDIUM,
				   sizeof(struct viv_file_pair) },
	[VIV_KIND_FILE_CHMOD] = { "file_chmod", VIV_SEV_MEDIUM,
				  sizeof(struct viv_file_chmod) },
	[VIV_KIND_FILE_GETDENTS] = { "file_getdents", VIV_SEV_MEDIUM,
				     sizeof(struct viv_file_getdents) },
	[VIV_KIND_PTRACE_CHECK] = { "ptrace_check", VIV_SEV_HIGH,
				    sizeof(struct viv_ptrace_check) },
	[VIV_KIND_SB_MOUNT] = { "sb_mount", VIV_SEV_HIGH,
				sizeof(struct viv_sb_mount) },
	[VIV_KIND_KERNEL_READ_FILE] = { "kernel_read_file", VIV_SEV_HIGH,
					sizeof(struct viv_kernel_read_file) },
	[VIV_KIND_TASK_KILL] = { "task_kill", VIV_SEV_HIGH,
				 sizeof(struct viv_task_kill) },
	[VIV_KIND_SETID_CHANGE] = { "setid_change", VIV_SEV_HIGH,
				    sizeof(struct viv_setid_change) },
	[VIV_KIND_CAPABLE_CHECK] = { "capable_check", VIV_SEV_HIGH,
				     sizeof(struct viv_capable_check) },
	[VIV_KIND_BPRM_CREDS] = { "bprm_creds", VIV_SEV_HIGH,
				  sizeof(struct viv_bprm_creds) },
	[VIV_KIND_ODD_SOCKET] = { "odd_socket", VIV_SEV_MEDIUM,
				  sizeof(struct viv_odd_socket) },
	[VIV_KIND_DNS_REQ] = { "dns_req", VIV_SEV_MEDIUM,
			       sizeof(struct viv_dns_req) },
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
	const struct viv_kernel_read_file *kr;
	const struct viv_file_getdents *gd;
	const struct viv_ptrace_check *pc;
	const struct viv_file_chmod *fc;
	const struct viv_bprm_creds *bc;
	const struct viv_proc_exec *pe;
	const struct viv_path_open *po;
	const struct viv_file_pair *fp;
	const struct viv_task_kill *tk;
	const struct viv_sb_mount *sm;

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
	case VIV_KIND_FILE_SYMLINK:
	case VIV_KIND_FILE_HARDLINK:
	case VIV_KIND_FILE_RENAME:
		fp = rec;
		if (!terminated(fp->old_path, sizeof(fp->old_path)) ||
		    !terminated(fp->new_path, sizeof(fp->new_path)))
			return -EINVAL;
		break;
	case VIV_KIND_FILE_CHMOD:
		fc = rec;
		if (!terminated(fc->path, sizeof(fc->path)))
			return -EINVAL;
		break;
	case VIV_KIND_FILE_GETDENTS:
		gd = rec;
		if (!terminated(gd->path, sizeof(gd->path)))
			return -EINVAL;
		break;
	case VIV_KIND_PTRACE_CHECK:
		pc = rec;
		if (!terminated(pc->target_comm, sizeof(pc->target_comm)))
			return -EINVAL;
		break;
	case VIV_KIND_SB_MOUNT:
		sm = rec;
		if (!terminated(sm->source, sizeof(sm->source)) ||
		    !terminated(sm->fstype, sizeof(sm->fstype)) ||
		    !terminated(sm->target, sizeof(sm->target)))
			return -EINVAL;
		break;
	case VIV_KIND_KERNEL_READ_FILE:
		kr = rec;
		if (!terminated(kr->path, sizeof(kr->path)))
			return -EINVAL;
		break;
	case VIV_KIND_TASK_KILL:
		tk = rec;
		if (!terminated(tk->target_comm, sizeof(tk->target_comm)))
			return -EINVAL;
		break;
	case VIV_KIND_BPRM_CREDS:
		bc = rec;
		if (!terminated(bc->path, sizeof(bc->path)))
			return -EINVAL;
		break;
	/* Numbers only: any value decodes, an unknown one prints as a
	 * number. dns_req's message is parsed within min(len, VIV_DNS_MAX)
	 * bytes; a bad one is reported as malformed, not refused. */
	case VIV_KIND_SOCK_CONNECT:
	case VIV_KIND_SETID_CHANGE:
	case VIV_KIND_CAPABLE_CHECK:
	case VIV_KIND_ODD_SOCKET:
	case VIV_KIND_DNS_REQ:
		break;
	}

	ev->kind = hdr->kind;
	ev->pid = hdr->pid;
	ev->tid = hdr->tid;
	ev->origin = hdr->origin;
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

/* Every family up to AF_MCTP (45, Linux 5.15); aliases (AF_LOCAL,
 * AF_ROUTE) left out. */
static const char *const family_names[] = {
	NAME(AF_UNSPEC), NAME(AF_UNIX), NAME(AF_INET), NAME(AF_AX25),
	NAME(AF_IPX), NAME(AF_APPLETALK), NAME(AF_NETROM), NAME(AF_BRIDGE),
	NAME(AF_ATMPVC), NAME(AF_X25), NAME(AF_INET6), NAME(AF_ROSE),
	NAME(AF_DECnet), NAME(AF_NETBEUI), NAME(AF_SECURITY), NAME(AF_KEY),
	NAME(AF_NETLINK), NAME(AF_PACKET), NAME(AF_ASH), NAME(AF_ECONET),
	NAME(AF_ATMSVC), NAME(AF_RDS), NAME(AF_SNA), NAME(AF_IRDA),
	NAME(AF_PPPOX), NAME(AF_WANPIPE), NAME(AF_LLC), NAME(AF_IB),
	NAME(AF_MPLS), NAME(AF_CAN), NAME(AF_TIPC), NAME(AF_BLUETOOTH),
	NAME(AF_IUCV), NAME(AF_RXRPC), NAME(AF_ISDN), NAME(AF_PHONET),
	NAME(AF_IEEE802154), NAME(AF_CAIF), NAME(AF_ALG), NAME(AF_NFC),
	NAME(AF_VSOCK), NAME(AF_KCM), NAME(AF_QIPCRTR), NAME(AF_SMC),
	NAME(AF_XDP), NAME(AF_MCTP),
};

static const char *family_name(unsigned int family)
{
	if (family >= VIV_ARRAY_SIZE(family_names))
		return NULL;
	return family_names[family];
}

/* The name at @v of a table indexed by value, or NULL. */
static const char *name_at(const char *const *names, size_t n, uint64_t v)
{
	return v < n ? names[v] : NULL;
}

#define NAME_AT(names, v)	name_at(names, VIV_ARRAY_SIZE(names), v)

/* Sparse values: a list searched in order. */
struct val_name {
	uint32_t val;
	const char *name;
};

#define VAL(x) { x, #x }

static const char *val_lookup(const struct val_name *t, size_t n, uint32_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].val == v)
			return t[i].name;
	return NULL;
}

#define VAL_LOOKUP(t, v)	val_lookup(t, VIV_ARRAY_SIZE(t), v)

/* Signal numbers are the architecture's, as this library is built for the
 * machine it observes. The first two real-time signals belong to glibc's
 * threads, so glibc's SIGRTMIN is the kernel's plus two; names here count
 * from the kernel's. */
static const char *const signal_names[] = {
	NAME(SIGHUP), NAME(SIGINT), NAME(SIGQUIT), NAME(SIGILL),
	NAME(SIGTRAP), NAME(SIGABRT), NAME(SIGBUS), NAME(SIGFPE),
	NAME(SIGKILL), NAME(SIGUSR1), NAME(SIGSEGV), NAME(SIGUSR2),
	NAME(SIGPIPE), NAME(SIGALRM), NAME(SIGTERM),
#ifdef SIGSTKFLT
	NAME(SIGSTKFLT),
#endif
#ifdef SIGEMT
	NAME(SIGEMT),
#endif
	NAME(SIGCHLD), NAME(SIGCONT), NAME(SIGSTOP), NAME(SIGTSTP),
	NAME(SIGTTIN), NAME(SIGTTOU), NAME(SIGURG), NAME(SIGXCPU),
	NAME(SIGXFSZ), NAME(SIGVTALRM), NAME(SIGPROF), NAME(SIGWINCH),
	NAME(SIGIO),
#ifdef SIGPWR
	NAME(SIGPWR),
#endif
	NAME(SIGSYS),
};

#define VIV_SIGRTMIN	32
#ifdef __SIGRTMAX
#define VIV_SIGRTMAX	__SIGRTMAX
#else
#define VIV_SIGRTMAX	64
#endif

static const char *const cap_names[] = {
	NAME(CAP_CHOWN), NAME(CAP_DAC_OVERRIDE), NAME(CAP_DAC_READ_SEARCH),
	NAME(CAP_FOWNER), NAME(CAP_FSETID), NAME(CAP_KILL), NAME(CAP_SETGID),
	NAME(CAP_SETUID), NAME(CAP_SETPCAP), NAME(CAP_LINUX_IMMUTABLE),
	NAME(CAP_NET_BIND_SERVICE), NAME(CAP_NET_BROADCAST),
	NAME(CAP_NET_ADMIN), NAME(CAP_NET_RAW), NAME(CAP_IPC_LOCK),
	NAME(CAP_IPC_OWNER), NAME(CAP_SYS_MODULE), NAME(CAP_SYS_RAWIO),
	NAME(CAP_SYS_CHROOT), NAME(CAP_SYS_PTRACE), NAME(CAP_SYS_PACCT),
	NAME(CAP_SYS_ADMIN), NAME(CAP_SYS_BOOT), NAME(CAP_SYS_NICE),
	NAME(CAP_SYS_RESOURCE), NAME(CAP_SYS_TIME), NAME(CAP_SYS_TTY_CONFIG),
	NAME(CAP_MKNOD), NAME(CAP_LEASE), NAME(CAP_AUDIT_WRITE),
	NAME(CAP_AUDIT_CONTROL), NAME(CAP_SETFCAP), NAME(CAP_MAC_OVERRIDE),
	NAME(CAP_MAC_ADMIN), NAME(CAP_SYSLOG), NAME(CAP_WAKE_ALARM),
	NAME(CAP_BLOCK_SUSPEND), NAME(CAP_AUDIT_READ), NAME(CAP_PERFMON),
	NAME(CAP_BPF), NAME(CAP_CHECKPOINT_RESTORE),
};

/* enum kernel_read_file_id as of Linux 5.10, which dropped
 * READING_FIRMWARE_PREALLOC_BUFFER (2) and renumbered the rest; the
 * kernel side sends these numbers. */
static const char *const read_file_ids[] = {
	"READING_UNKNOWN", "READING_FIRMWARE", "READING_MODULE",
	"READING_KEXEC_IMAGE", "READING_KEXEC_INITRAMFS", "READING_POLICY",
	"READING_X509_CERTIFICATE",
};

static const char *const kill_vias[] = {
	[VIV_KILL_LSM] = "lsm",
	[VIV_KILL_KILL] = "kill",
	[VIV_KILL_TKILL] = "tkill",
	[VIV_KILL_TGKILL] = "tgkill",
	[VIV_KILL_PIDFD] = "pidfd_send_signal",
};

static const char *const setid_calls[] = {
	[VIV_SETID_SETUID] = "setuid",
	[VIV_SETID_SETREUID] = "setreuid",
	[VIV_SETID_SETRESUID] = "setresuid",
	[VIV_SETID_SETFSUID] = "setfsuid",
	[VIV_SETID_SETGID] = "setgid",
	[VIV_SETID_SETREGID] = "setregid",
	[VIV_SETID_SETRESGID] = "setresgid",
	[VIV_SETID_SETFSGID] = "setfsgid",
};

/* Requests every architecture shares, then some of x86's own. */
static const struct val_name ptrace_requests[] = {
	VAL(PTRACE_TRACEME), VAL(PTRACE_PEEKTEXT), VAL(PTRACE_PEEKDATA),
	VAL(PTRACE_PEEKUSR), VAL(PTRACE_POKETEXT), VAL(PTRACE_POKEDATA),
	VAL(PTRACE_POKEUSR), VAL(PTRACE_CONT), VAL(PTRACE_KILL),
	VAL(PTRACE_SINGLESTEP), VAL(PTRACE_ATTACH), VAL(PTRACE_DETACH),
	VAL(PTRACE_SYSCALL), VAL(PTRACE_SETOPTIONS), VAL(PTRACE_GETEVENTMSG),
	VAL(PTRACE_GETSIGINFO), VAL(PTRACE_SETSIGINFO),
	VAL(PTRACE_GETREGSET), VAL(PTRACE_SETREGSET), VAL(PTRACE_SEIZE),
	VAL(PTRACE_INTERRUPT), VAL(PTRACE_LISTEN), VAL(PTRACE_PEEKSIGINFO),
	VAL(PTRACE_GETSIGMASK), VAL(PTRACE_SETSIGMASK),
	VAL(PTRACE_SECCOMP_GET_FILTER), VAL(PTRACE_SECCOMP_GET_METADATA),
	VAL(PTRACE_GET_SYSCALL_INFO),
	{ 0x420f, "PTRACE_GET_RSEQ_CONFIGURATION" },
	{ 0x4210, "PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG" },
	{ 0x4211, "PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG" },
#if defined(__x86_64__) || defined(__i386__)
	VAL(PTRACE_GETREGS), VAL(PTRACE_SETREGS), VAL(PTRACE_GETFPREGS),
	VAL(PTRACE_SETFPREGS), VAL(PTRACE_GETFPXREGS),
	VAL(PTRACE_SETFPXREGS), VAL(PTRACE_ARCH_PRCTL), VAL(PTRACE_SYSEMU),
	VAL(PTRACE_SYSEMU_SINGLESTEP), VAL(PTRACE_SINGLEBLOCK),
#endif
};

static const struct val_name ipprotos[] = {
	VAL(IPPROTO_IP), VAL(IPPROTO_ICMP), VAL(IPPROTO_IGMP),
	VAL(IPPROTO_IPIP), VAL(IPPROTO_TCP), VAL(IPPROTO_EGP),
	VAL(IPPROTO_PUP), VAL(IPPROTO_UDP), VAL(IPPROTO_IDP), VAL(IPPROTO_TP),
	VAL(IPPROTO_DCCP), VAL(IPPROTO_IPV6), VAL(IPPROTO_RSVP),
	VAL(IPPROTO_GRE), VAL(IPPROTO_ESP), VAL(IPPROTO_AH),
	VAL(IPPROTO_ICMPV6), VAL(IPPROTO_MTP), VAL(IPPROTO_BEETPH),
	VAL(IPPROTO_ENCAP), VAL(IPPROTO_PIM), VAL(IPPROTO_COMP),
	{ 115, "IPPROTO_L2TP" }, VAL(IPPROTO_SCTP), VAL(IPPROTO_UDPLITE),
	VAL(IPPROTO_MPLS), VAL(IPPROTO_ETHERNET), VAL(IPPROTO_RAW),
	{ 256, "IPPROTO_SMC" }, VAL(IPPROTO_MPTCP),
};

static const struct val_name eth_protos[] = {
	VAL(ETH_P_802_3), VAL(ETH_P_ALL), VAL(ETH_P_802_2), VAL(ETH_P_CAN),
	VAL(ETH_P_CANFD), VAL(ETH_P_LOOP), VAL(ETH_P_IP), VAL(ETH_P_ARP),
	VAL(ETH_P_RARP), VAL(ETH_P_8021Q), VAL(ETH_P_IPV6), VAL(ETH_P_SLOW),
	VAL(ETH_P_MPLS_UC), VAL(ETH_P_MPLS_MC), VAL(ETH_P_PPP_DISC),
	VAL(ETH_P_PPP_SES), VAL(ETH_P_PAE), VAL(ETH_P_8021AD),
	VAL(ETH_P_TIPC), VAL(ETH_P_LLDP), VAL(ETH_P_MACSEC), VAL(ETH_P_8021AH),
	VAL(ETH_P_1588), VAL(ETH_P_PRP), VAL(ETH_P_FCOE), VAL(ETH_P_HSR),
	VAL(ETH_P_LOOPBACK),
};

static const char *const netlink_protos[] = {
	NAME(NETLINK_ROUTE), NAME(NETLINK_UNUSED), NAME(NETLINK_USERSOCK),
	NAME(NETLINK_FIREWALL), NAME(NETLINK_SOCK_DIAG), NAME(NETLINK_NFLOG),
	NAME(NETLINK_XFRM), NAME(NETLINK_SELINUX), NAME(NETLINK_ISCSI),
	NAME(NETLINK_AUDIT), NAME(NETLINK_FIB_LOOKUP),
	NAME(NETLINK_CONNECTOR), NAME(NETLINK_NETFILTER),
	NAME(NETLINK_IP6_FW), NAME(NETLINK_DNRTMSG),
	NAME(NETLINK_KOBJECT_UEVENT), NAME(NETLINK_GENERIC),
	NAME(NETLINK_SCSITRANSPORT), NAME(NETLINK_ECRYPTFS),
	NAME(NETLINK_RDMA), NAME(NETLINK_CRYPTO), NAME(NETLINK_SMC),
};

static const char *const sock_types[] = {
	NAME(SOCK_STREAM), NAME(SOCK_DGRAM), NAME(SOCK_RAW), NAME(SOCK_RDM),
	NAME(SOCK_SEQPACKET), NAME(SOCK_DCCP), NAME(SOCK_PACKET),
};

/* The kernel keeps the type in the low four bits, flags above. */
#define VIV_SOCK_TYPE_MASK	0xf

/* RFC 1035 and the IANA registry; "TYPE<n>" for the rest (RFC 3597). */
static const struct val_name dns_types[] = {
	{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" },
	{ 12, "PTR" }, { 13, "HINFO" }, { 15, "MX" }, { 16, "TXT" },
	{ 17, "RP" }, { 18, "AFSDB" }, { 24, "SIG" }, { 25, "KEY" },
	{ 28, "AAAA" }, { 29, "LOC" }, { 33, "SRV" }, { 35, "NAPTR" },
	{ 36, "KX" }, { 37, "CERT" }, { 39, "DNAME" }, { 41, "OPT" },
	{ 42, "APL" }, { 43, "DS" }, { 44, "SSHFP" }, { 45, "IPSECKEY" },
	{ 46, "RRSIG" }, { 47, "NSEC" }, { 48, "DNSKEY" }, { 49, "DHCID" },
	{ 50, "NSEC3" }, { 51, "NSEC3PARAM" }, { 52, "TLSA" },
	{ 53, "SMIMEA" }, { 55, "HIP" }, { 59, "CDS" }, { 60, "CDNSKEY" },
	{ 61, "OPENPGPKEY" }, { 62, "CSYNC" }, { 63, "ZONEMD" },
	{ 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" }, { 249, "TKEY" },
	{ 250, "TSIG" }, { 251, "IXFR" }, { 252, "AXFR" }, { 253, "MAILB" },
	{ 254, "MAILA" }, { 255, "ANY" }, { 256, "URI" }, { 257, "CAA" },
};

static const struct val_name dns_classes[] = {
	{ 1, "IN" }, { 3, "CH" }, { 4, "HS" }, { 254, "NONE" }, { 255, "ANY" },
};

static const char *const dns_opcodes[] = {
	[0] = "QUERY", [1] = "IQUERY", [2] = "STATUS", [4] = "NOTIFY",
	[5] = "UPDATE", [6] = "DSO",
};

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

/* Bit sets: names tried in order, leftover bits shown in hex. */
struct bit_name {
	uint64_t bits;
	const char *name;
};

#define BIT(x) { x, #x }

static const struct bit_name open_flags[] = {
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

static const struct bit_name rename_flags[] = {
	BIT(RENAME_NOREPLACE), BIT(RENAME_EXCHANGE), BIT(RENAME_WHITEOUT),
};

static const struct bit_name link_flags[] = {
	BIT(AT_SYMLINK_FOLLOW), BIT(AT_EMPTY_PATH),
};

/* What mount(2) takes; the kernel's internal superblock flags above
 * MS_LAZYTIME show as hex. */
static const struct bit_name mount_flags[] = {
	BIT(MS_RDONLY), BIT(MS_NOSUID), BIT(MS_NODEV), BIT(MS_NOEXEC),
	BIT(MS_SYNCHRONOUS), BIT(MS_REMOUNT), BIT(MS_MANDLOCK),
	BIT(MS_DIRSYNC), BIT(MS_NOSYMFOLLOW), BIT(MS_NOATIME),
	BIT(MS_NODIRATIME), BIT(MS_BIND), BIT(MS_MOVE), BIT(MS_REC),
	BIT(MS_SILENT), BIT(MS_POSIXACL), BIT(MS_UNBINDABLE), BIT(MS_PRIVATE),
	BIT(MS_SLAVE), BIT(MS_SHARED), BIT(MS_RELATIME), BIT(MS_KERNMOUNT),
	BIT(MS_I_VERSION), BIT(MS_STRICTATIME), BIT(MS_LAZYTIME),
};

/* move_mount(2)'s flags (linux/mount.h). */
static const struct bit_name move_mount_flags[] = {
	{ 0x01, "MOVE_MOUNT_F_SYMLINKS" }, { 0x02, "MOVE_MOUNT_F_AUTOMOUNTS" },
	{ 0x04, "MOVE_MOUNT_F_EMPTY_PATH" }, { 0x10, "MOVE_MOUNT_T_SYMLINKS" },
	{ 0x20, "MOVE_MOUNT_T_AUTOMOUNTS" }, { 0x40, "MOVE_MOUNT_T_EMPTY_PATH" },
	{ 0x100, "MOVE_MOUNT_SET_GROUP" }, { 0x200, "MOVE_MOUNT_BENEATH" },
};

static const struct bit_name sock_flags[] = {
	BIT(SOCK_NONBLOCK), BIT(SOCK_CLOEXEC),
};

/* include/linux/ptrace.h; not part of the UAPI. */
static const struct bit_name ptrace_modes[] = {
	{ 0x01, "PTRACE_MODE_READ" }, { 0x02, "PTRACE_MODE_ATTACH" },
	{ 0x04, "PTRACE_MODE_NOAUDIT" }, { 0x08, "PTRACE_MODE_FSCREDS" },
	{ 0x10, "PTRACE_MODE_REALCREDS" },
};

/* include/linux/security.h; CAP_OPT_NONE is 0. */
static const struct bit_name cap_opts[] = {
	{ 0x2, "CAP_OPT_NOAUDIT" }, { 0x4, "CAP_OPT_INSETID" },
};

static const struct bit_name setid_bits[] = {
	BIT(S_ISUID), BIT(S_ISGID),
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

/* Decimal @v without vsnprintf(): the payload's most common number. */
static void put_int(struct out *o, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do {
		*--p = '0' + u % 10;
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	put_mem(o, p, tmp + sizeof(tmp) - p);
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

/* ASCII bytes that keep a value bare. */
static const bool bare_ascii[128] = {
	['!'] = 1, ['#' ... '['] = 1, [']' ... '~'] = 1,
};

/* True when @s can be printed bare: no space, quote, backslash, control
 * byte or invalid UTF-8, and not empty. */
static bool is_bare(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, l;

	if (!n)
		return false;
	while (i < n) {
		if (u[i] < 0x80) {
			if (!bare_ascii[u[i]])
				return false;
			i++;
			continue;
		}
		l = utf8_len(u + i, n - i);
		if (!l)
			return false;
		i += l;
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

	put_str(o, "ret=");
	put_int(o, ret);
	if (name)
		put_fmt(o, " (%s)", name);
}

/* The names of the bits set in @v, '|' between them; "0" for none. */
static void put_bits(struct out *o, const struct bit_name *t, size_t n,
		     uint64_t v)
{
	bool sep = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!t[i].bits || (v & t[i].bits) != t[i].bits)
			continue;
		if (sep)
			put_str(o, "|");
		put_str(o, t[i].name);
		v &= ~t[i].bits;
		sep = true;
	}
	if (v)
		put_fmt(o, "%s0x%" PRIx64, sep ? "|" : "", v);
	else if (!sep)
		put_str(o, "0");
}

#define PUT_BITS(o, t, v)	put_bits(o, t, VIV_ARRAY_SIZE(t), v)

static void put_flags(struct out *o, uint32_t flags)
{
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
	if (flags) {
		put_str(o, "|");
		PUT_BITS(o, open_flags, flags);
	}
}

/* A value of a later version is shown as its number, not refused. */
static const char *resolved_name(uint32_t resolved, char *num, size_t len)
{
	switch (resolved) {
	case VIV_PATH_AS_GIVEN:
		return "as_given";
	case VIV_PATH_FROM_DENTRY:
		return "from_dentry";
	case VIV_PATH_D_PATH:
		return "d_path";
	}
	snprintf(num, len, "%u", resolved);
	return num;
}

static bool creates(uint32_t flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* A name, or the number when it has none. */
static void put_name(struct out *o, const char *name, uint32_t v)
{
	if (name)
		put_str(o, name);
	else
		put_fmt(o, "%" PRIu32, v);
}

static void put_signal(struct out *o, int32_t sig)
{
	const char *name = sig > 0 ? NAME_AT(signal_names, sig) : NULL;

	if (name)
		put_str(o, name);
	else if (sig == VIV_SIGRTMIN)
		put_str(o, "SIGRTMIN");
	else if (sig == VIV_SIGRTMAX)
		put_str(o, "SIGRTMAX");
	else if (sig > VIV_SIGRTMIN && sig < VIV_SIGRTMAX)
		put_fmt(o, "SIGRTMIN+%d", sig - VIV_SIGRTMIN);
	else
		put_fmt(o, "%" PRId32, sig);
}

/* A mode in octal with at least four digits: 0644, 04755. */
static void put_mode(struct out *o, uint32_t mode)
{
	put_fmt(o, "0%03" PRIo32, mode);
}

/* An id where (__u32)-1 means "none" or "unchanged". */
static void put_id(struct out *o, uint32_t id)
{
	if (id == (uint32_t)-1)
		put_str(o, "-1");
	else
		put_fmt(o, "%" PRIu32, id);
}

/* Real/effective/saved as "0/0/0". */
static void put_ids(struct out *o, const uint32_t *ids, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (i)
			put_str(o, "/");
		put_id(o, ids[i]);
	}
}

static int64_t id_value(uint32_t id)
{
	return id == (uint32_t)-1 ? -1 : (int64_t)id;
}

static void put_ptrace(struct out *o, const struct viv_ptrace_check *pc)
{
	if (pc->is_mode)
		PUT_BITS(o, ptrace_modes, pc->request);
	else
		put_name(o, VAL_LOOKUP(ptrace_requests, pc->request),
			 pc->request);
}

/* MS_MGC_VAL in the top half marks flags of a pre-2.4 caller; the
 * kernel drops it. */
static void put_mount_flags(struct out *o, uint32_t call, uint64_t flags)
{
	if (call == VIV_MOUNT_MOVE) {
		PUT_BITS(o, move_mount_flags, flags);
		return;
	}
	if ((flags & MS_MGC_MSK) == MS_MGC_VAL) {
		put_str(o, "MS_MGC_VAL");
		flags &= ~(uint64_t)MS_MGC_MSK;
		if (!flags)
			return;
		put_str(o, "|");
	}
	PUT_BITS(o, mount_flags, flags);
}

static void put_sock_type(struct out *o, uint32_t type)
{
	uint32_t base = type & VIV_SOCK_TYPE_MASK;

	put_name(o, NAME_AT(sock_types, base), base);
	if (type & ~VIV_SOCK_TYPE_MASK) {
		put_str(o, "|");
		PUT_BITS(o, sock_flags, type & ~VIV_SOCK_TYPE_MASK);
	}
}

/*
 * AF_PACKET takes an ethertype in network order (htons(ETH_P_ALL));
 * INET and INET6 take IPPROTO_*; 0 is the default protocol of the type.
 */
static void put_protocol(struct out *o, uint32_t family, uint32_t protocol)
{
	const char *name;
	uint16_t eth;

	switch (family) {
	case AF_INET:
	case AF_INET6:
		put_name(o, VAL_LOOKUP(ipprotos, protocol), protocol);
		return;
	case AF_PACKET:
		if (!protocol || protocol > 0xffff)
			break;
		eth = ntohs((uint16_t)protocol);
		name = VAL_LOOKUP(eth_protos, eth);
		if (name)
			put_str(o, name);
		else
			put_fmt(o, "0x%04x", eth);
		return;
	case AF_NETLINK:
		put_name(o, NAME_AT(netlink_protos, protocol), protocol);
		return;
	}
	put_fmt(o, "%" PRIu32, protocol);
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

/* ---- DNS ---------------------------------------------------------------- */

#define DNS_HDR_LEN	12
#define DNS_NAME_MAX	255	/* RFC 1035 2.3.4, on the wire */

struct dns_text {
	char server[INET6_ADDRSTRLEN];	/* empty for another family */
	/* Presentation form: at most four characters per byte ("\255"). */
	char qname[4 * DNS_NAME_MAX + 1];
	uint16_t id;
	uint16_t flags;
	uint16_t qdcount;
	uint16_t qtype;
	uint16_t qclass;
	bool header;		/* the 12-byte header was there */
	bool malformed;		/* no readable first question */
};

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The name at @msg + *@off in the master-file form of RFC 1035 5.1: labels
 * joined by '.', a '.' or '\' inside a label escaped with '\', bytes
 * outside '!'..'~' as "\DDD". The first question of a query follows the
 * header, so nothing it could point back to is a name: a compression
 * pointer there (or an extended label type) is malformed, which also
 * leaves no loop to follow.
 */
static bool dns_name(const uint8_t *msg, size_t len, size_t *off,
		     char *buf, size_t size)
{
	struct out o = { .buf = buf, .len = size };
	size_t pos = *off, wire = 0, i;
	uint8_t l, c;

	for (;;) {
		if (pos >= len)
			return false;
		l = msg[pos++];
		wire += 1 + l;
		if ((l & 0xc0) || wire > DNS_NAME_MAX || l > len - pos)
			return false;
		if (!l)
			break;
		if (o.pos)
			put_str(&o, ".");
		for (i = 0; i < l; i++) {
			c = msg[pos + i];
			if (c == '.' || c == '\\')
				put_fmt(&o, "\\%c", c);
			else if (c > ' ' && c < 0x7f)
				put_mem(&o, (const char *)&c, 1);
			else
				put_fmt(&o, "\\%03u", c);
		}
		pos += l;
	}
	if (!o.pos)
		put_str(&o, ".");
	out_end(&o);
	*off = pos;
	return true;
}

/* The server, and the header and first question of the message as far as
 * the record holds it. */
static void dns_decode(const struct viv_dns_req *dr, struct dns_text *t)
{
	size_t len = dr->len < VIV_DNS_MAX ? dr->len : VIV_DNS_MAX;
	const uint8_t *q = dr->query;
	size_t off = DNS_HDR_LEN;

	memset(t, 0, sizeof(*t));
	if (dr->family == AF_INET || dr->family == AF_INET6)
		inet_ntop(dr->family, dr->addr, t->server, sizeof(t->server));
	t->malformed = true;
	if (len < DNS_HDR_LEN)
		return;
	t->header = true;
	t->id = get_be16(q);
	t->flags = get_be16(q + 2);
	t->qdcount = get_be16(q + 4);
	if (!t->qdcount ||
	    !dns_name(q, len, &off, t->qname, sizeof(t->qname)) ||
	    len - off < 4) {
		t->qname[0] = '\0';
		return;
	}
	t->qtype = get_be16(q + off);
	t->qclass = get_be16(q + off + 2);
	t->malformed = false;
}

static unsigned int dns_opcode(const struct dns_text *t)
{
	return t->flags >> 11 & 0xf;
}

static void put_dns_type(struct out *o, uint16_t type)
{
	const char *name = VAL_LOOKUP(dns_types, type);

	if (name)
		put_str(o, name);
	else
		put_fmt(o, "TYPE%u", type);
}

static void put_dns_class(struct out *o, uint16_t class)
{
	const char *name = VAL_LOOKUP(dns_classes, class);

	if (name)
		put_str(o, name);
	else
		put_fmt(o, "CLASS%u", class);
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

/* linkat's flags or renameat2's; symlinkat has none. */
static void put_pair_flags(struct out *o, enum viv_kind kind, uint32_t flags)
{
	if (kind == VIV_KIND_FILE_HARDLINK)
		PUT_BITS(o, link_flags, flags);
	else
		PUT_BITS(o, rename_flags, flags);
}

static void payload_file_pair(const struct viv_file_pair *fp,
			      enum viv_kind kind, struct out *o)
{
	bool symlink = kind == VIV_KIND_FILE_SYMLINK;

	put_str(o, symlink ? "target=" : "old=");
	put_value(o, fp->old_path, strlen(fp->old_path));
	put_str(o, symlink ? " link=" : " new=");
	put_value(o, fp->new_path, strlen(fp->new_path));
	if (fp->flags && !symlink) {
		put_str(o, " flags=");
		put_pair_flags(o, kind, fp->flags);
	}
	put_str(o, " ");
	put_ret(o, fp->ret);
}

static void payload_file_chmod(const struct viv_file_chmod *fc, struct out *o)
{
	put_str(o, "path=");
	put_value(o, fc->path, strlen(fc->path));
	put_str(o, " mode=");
	put_mode(o, fc->mode);
	if (fc->fd >= 0)
		put_fmt(o, " fd=%" PRId32, fc->fd);
	put_str(o, " ");
	put_ret(o, fc->ret);
}

static void payload_file_getdents(const struct viv_file_getdents *gd,
				  struct out *o)
{
	put_str(o, "path=");
	put_value(o, gd->path, strlen(gd->path));
	put_fmt(o, " fd=%" PRId32 " count=%" PRIu32 " ", gd->fd, gd->count);
	put_ret(o, gd->ret);
}

static void payload_ptrace_check(const struct viv_ptrace_check *pc,
				 struct out *o)
{
	put_fmt(o, "target_pid=%" PRIu32, pc->target_pid);
	if (pc->target_comm[0]) {
		put_str(o, " target_comm=");
		put_value(o, pc->target_comm, strlen(pc->target_comm));
	}
	put_str(o, pc->is_mode ? " mode=" : " request=");
	put_ptrace(o, pc);
	put_str(o, " ");
	put_ret(o, pc->ret);
}

static void payload_sb_mount(const struct viv_sb_mount *sm, struct out *o)
{
	if (sm->source[0]) {
		put_str(o, "source=");
		put_value(o, sm->source, strlen(sm->source));
		put_str(o, " ");
	}
	put_str(o, "target=");
	put_value(o, sm->target, strlen(sm->target));
	if (sm->fstype[0]) {
		put_str(o, " fstype=");
		put_value(o, sm->fstype, strlen(sm->fstype));
	}
	if (sm->flags) {
		put_str(o, " flags=");
		put_mount_flags(o, sm->call, sm->flags);
	}
	put_str(o, " ");
	put_ret(o, sm->ret);
}

static void payload_kernel_read_file(const struct viv_kernel_read_file *kr,
				     struct out *o)
{
	put_str(o, "path=");
	put_value(o, kr->path, strlen(kr->path));
	put_str(o, " id=");
	put_name(o, NAME_AT(read_file_ids, kr->id), kr->id);
	put_str(o, " ");
	put_ret(o, kr->ret);
}

static void payload_task_kill(const struct viv_task_kill *tk, struct out *o)
{
	put_str(o, "sig=");
	put_signal(o, tk->sig);
	if (!tk->sig)
		put_str(o, " (probe)");
	put_fmt(o, " target_pid=%" PRId32, tk->target_pid);
	if (tk->target_tid)
		put_fmt(o, " target_tid=%" PRIu32, tk->target_tid);
	if (tk->target_comm[0]) {
		put_str(o, " target_comm=");
		put_value(o, tk->target_comm, strlen(tk->target_comm));
	}
	put_str(o, " via=");
	put_name(o, NAME_AT(kill_vias, tk->via), tk->via);
	put_str(o, " ");
	put_ret(o, tk->ret);
}

static bool setid_gid(uint32_t call)
{
	return call >= VIV_SETID_SETGID && call <= VIV_SETID_SETFSGID;
}

/* How many of new_ids the call asks for: 1, 2 or 3; 0 when unknown. */
static unsigned int setid_args(uint32_t call)
{
	switch (call) {
	case VIV_SETID_SETUID:
	case VIV_SETID_SETFSUID:
	case VIV_SETID_SETGID:
	case VIV_SETID_SETFSGID:
		return 1;
	case VIV_SETID_SETREUID:
	case VIV_SETID_SETREGID:
		return 2;
	case VIV_SETID_SETRESUID:
	case VIV_SETID_SETRESGID:
		return 3;
	}
	return 0;
}

static void payload_setid_change(const struct viv_setid_change *sc,
				 struct out *o)
{
	const char *call = NAME_AT(setid_calls, sc->call);
	unsigned int n = setid_args(sc->call);

	put_str(o, "call=");
	put_name(o, call, sc->call);
	if (n == 1) {
		/* "setfsuid" -> new_fsuid=, "setgid" -> new_gid= */
		put_fmt(o, " new_%s=", call + strlen("set"));
		put_id(o, sc->new_ids[0]);
	} else {
		put_str(o, " new=");
		put_ids(o, sc->new_ids, n ? n : 3);
	}
	put_str(o, " old=");
	put_ids(o, sc->old_ids, 3);
	put_str(o, " ");
	put_ret(o, sc->ret);
}

static void payload_capable_check(const struct viv_capable_check *cc,
				  struct out *o)
{
	put_str(o, "cap=");
	put_name(o, NAME_AT(cap_names, cc->cap), cc->cap);
	if (cc->opts) {
		put_str(o, " opts=");
		PUT_BITS(o, cap_opts, cc->opts);
	}
	put_str(o, " ");
	put_ret(o, cc->ret);
}

static void payload_bprm_creds(const struct viv_bprm_creds *bc, struct out *o)
{
	uint32_t setid = bc->file_mode & (S_ISUID | S_ISGID);

	put_str(o, "path=");
	put_value(o, bc->path, strlen(bc->path));
	put_str(o, " file_mode=");
	put_mode(o, bc->file_mode & 07777);
	if (setid) {
		put_str(o, " setid=");
		PUT_BITS(o, setid_bits, setid);
	}
	put_str(o, " file_uid=");
	put_id(o, bc->file_uid);
	put_str(o, " file_gid=");
	put_id(o, bc->file_gid);
	put_str(o, " old_euid=");
	put_id(o, bc->old_euid);
	put_str(o, " old_egid=");
	put_id(o, bc->old_egid);
	put_str(o, " ");
	put_ret(o, bc->ret);
}

static void payload_odd_socket(const struct viv_odd_socket *os, struct out *o)
{
	put_str(o, "family=");
	put_name(o, family_name(os->family), os->family);
	put_str(o, " type=");
	put_sock_type(o, os->type);
	put_str(o, " protocol=");
	put_protocol(o, os->family, os->protocol);
	put_str(o, " ");
	put_ret(o, os->ret);
}

static void payload_dns_req(const struct viv_dns_req *dr, struct out *o)
{
	struct dns_text t;

	dns_decode(dr, &t);
	if (t.server[0] && dr->family == AF_INET6)
		put_fmt(o, "server=[%s] ", t.server);
	else if (t.server[0])
		put_fmt(o, "server=%s ", t.server);
	if (t.server[0] || dr->port)
		put_fmt(o, "port=%u ", (unsigned int)dr->port);
	put_str(o, "query=");
	put_value(o, t.qname, strlen(t.qname));
	if (!t.malformed) {
		put_str(o, " qtype=");
		put_dns_type(o, t.qtype);
		if (t.qclass != 1 /* IN */) {
			put_str(o, " qclass=");
			put_dns_class(o, t.qclass);
		}
	}
	if (t.header && dns_opcode(&t)) {
		put_str(o, " opcode=");
		put_name(o, NAME_AT(dns_opcodes, dns_opcode(&t)),
			 dns_opcode(&t));
	}
	if (t.malformed)
		put_str(o, " malformed=1");
	put_str(o, " ");
	put_ret(o, dr->ret);
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
	case VIV_KIND_FILE_SYMLINK:
	case VIV_KIND_FILE_HARDLINK:
	case VIV_KIND_FILE_RENAME:
		payload_file_pair((const void *)ev->raw, ev->kind, &o);
		break;
	case VIV_KIND_FILE_CHMOD:
		payload_file_chmod((const void *)ev->raw, &o);
		break;
	case VIV_KIND_FILE_GETDENTS:
		payload_file_getdents((const void *)ev->raw, &o);
		break;
	case VIV_KIND_PTRACE_CHECK:
		payload_ptrace_check((const void *)ev->raw, &o);
		break;
	case VIV_KIND_SB_MOUNT:
		payload_sb_mount((const void *)ev->raw, &o);
		break;
	case VIV_KIND_KERNEL_READ_FILE:
		payload_kernel_read_file((const void *)ev->raw, &o);
		break;
	case VIV_KIND_TASK_KILL:
		payload_task_kill((const void *)ev->raw, &o);
		break;
	case VIV_KIND_SETID_CHANGE:
		payload_setid_change((const void *)ev->raw, &o);
		break;
	case VIV_KIND_CAPABLE_CHECK:
		payload_capable_check((const void *)ev->raw, &o);
		break;
	case VIV_KIND_BPRM_CREDS:
		payload_bprm_creds((const void *)ev->raw, &o);
		break;
	case VIV_KIND_ODD_SOCKET:
		payload_odd_socket((const void *)ev->raw, &o);
		break;
	case VIV_KIND_DNS_REQ:
		payload_dns_req((const void *)ev->raw, &o);
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

/* The text written to @o so far, as a STR field. */
static void field_out(viv_field_fn fn, void *ctx, const char *name,
		      struct out *o)
{
	out_end(o);
	field_str(fn, ctx, name, o->buf);
}

#define OUT(b)	((struct out){ .buf = (b), .len = sizeof(b) })

static void field_resolved(viv_field_fn fn, void *ctx, const char *name,
			   uint32_t resolved)
{
	char num[12];

	field_str(fn, ctx, name, resolved_name(resolved, num, sizeof(num)));
}

static void fields_file_pair(const struct viv_file_pair *fp,
			     enum viv_kind kind, viv_field_fn fn, void *ctx)
{
	char flags[128];
	struct out o = OUT(flags);

	if (kind == VIV_KIND_FILE_SYMLINK) {
		field_str(fn, ctx, "target", fp->old_path);
		field_str(fn, ctx, "link", fp->new_path);
		field_int(fn, ctx, "ret", fp->ret);
		field_resolved(fn, ctx, "resolved", fp->new_resolved);
		return;
	}
	if (fp->flags)
		put_pair_flags(&o, kind, fp->flags);
	field_str(fn, ctx, "old", fp->old_path);
	field_str(fn, ctx, "new", fp->new_path);
	field_out(fn, ctx, "flags", &o);
	field_int(fn, ctx, "ret", fp->ret);
	field_resolved(fn, ctx, "old_resolved", fp->old_resolved);
	field_resolved(fn, ctx, "new_resolved", fp->new_resolved);
}

static void fields_ptrace_check(const struct viv_ptrace_check *pc,
				viv_field_fn fn, void *ctx)
{
	char request[160], mode[160];
	struct out r = OUT(request), m = OUT(mode);

	put_ptrace(pc->is_mode ? &m : &r, pc);
	field_int(fn, ctx, "target_pid", pc->target_pid);
	field_str(fn, ctx, "target_comm", pc->target_comm);
	field_out(fn, ctx, "request", &r);
	field_out(fn, ctx, "mode", &m);
	field_int(fn, ctx, "ret", pc->ret);
}

static void fields_sb_mount(const struct viv_sb_mount *sm, viv_field_fn fn,
			    void *ctx)
{
	char flags[512];
	struct out o = OUT(flags);

	if (sm->flags)
		put_mount_flags(&o, sm->call, sm->flags);
	field_str(fn, ctx, "call",
		  sm->call == VIV_MOUNT_MOVE ? "move_mount" : "mount");
	field_str(fn, ctx, "source", sm->source);
	field_str(fn, ctx, "target", sm->target);
	field_str(fn, ctx, "fstype", sm->fstype);
	field_out(fn, ctx, "flags", &o);
	field_int(fn, ctx, "ret", sm->ret);
}

static void fields_kernel_read_file(const struct viv_kernel_read_file *kr,
				    viv_field_fn fn, void *ctx)
{
	char id[32];
	struct out o = OUT(id);

	put_name(&o, NAME_AT(read_file_ids, kr->id), kr->id);
	field_str(fn, ctx, "path", kr->path);
	field_out(fn, ctx, "id", &o);
	field_int(fn, ctx, "contents", kr->contents);
	field_int(fn, ctx, "ret", kr->ret);
	field_resolved(fn, ctx, "resolved", kr->resolved);
}

static void fields_task_kill(const struct viv_task_kill *tk, viv_field_fn fn,
			     void *ctx)
{
	char sig[24], via[24];
	struct out s = OUT(sig), v = OUT(via);

	put_signal(&s, tk->sig);
	put_name(&v, NAME_AT(kill_vias, tk->via), tk->via);
	field_out(fn, ctx, "sig", &s);
	field_int(fn, ctx, "target_pid", tk->target_pid);
	field_int(fn, ctx, "target_tid", tk->target_tid);
	field_str(fn, ctx, "target_comm", tk->target_comm);
	field_out(fn, ctx, "via", &v);
	field_int(fn, ctx, "ret", tk->ret);
}

static void fields_setid_change(const struct viv_setid_change *sc,
				viv_field_fn fn, void *ctx)
{
	static const char *const old_names[] = {
		"old_real", "old_effective", "old_saved",
	};
	static const char *const new_names[] = {
		"new_real", "new_effective", "new_saved",
	};
	unsigned int i, n = setid_args(sc->call);
	/* One id asked for goes to new_id; two or three to real, effective
	 * and saved in that order. An unknown call shows all three. */
	unsigned int res = n == 1 ? 0 : n ? n : 3;
	const char *ids = "";
	char call[12];
	struct out o = OUT(call);

	if (n)
		ids = setid_gid(sc->call) ? "gid" : "uid";
	put_name(&o, NAME_AT(setid_calls, sc->call), sc->call);
	field_out(fn, ctx, "call", &o);
	field_str(fn, ctx, "ids", ids);
	for (i = 0; i < 3; i++)
		field_int(fn, ctx, old_names[i], id_value(sc->old_ids[i]));
	field_int(fn, ctx, "new_id", n == 1 ? id_value(sc->new_ids[0]) : -1);
	for (i = 0; i < 3; i++)
		field_int(fn, ctx, new_names[i],
			  i < res ? id_value(sc->new_ids[i]) : -1);
	field_int(fn, ctx, "ret", sc->ret);
}

static void fields_capable_check(const struct viv_capable_check *cc,
				 viv_field_fn fn, void *ctx)
{
	char cap[32], opts[64];
	struct out c = OUT(cap), o = OUT(opts);

	put_name(&c, NAME_AT(cap_names, cc->cap), cc->cap);
	if (cc->opts)
		PUT_BITS(&o, cap_opts, cc->opts);
	field_out(fn, ctx, "cap", &c);
	field_out(fn, ctx, "opts", &o);
	field_int(fn, ctx, "ret", cc->ret);
}

static void fields_bprm_creds(const struct viv_bprm_creds *bc,
			      viv_field_fn fn, void *ctx)
{
	uint32_t setid = bc->file_mode & (S_ISUID | S_ISGID);
	char bits[32];
	struct out o = OUT(bits);

	if (setid)
		PUT_BITS(&o, setid_bits, setid);
	field_str(fn, ctx, "path", bc->path);
	field_int(fn, ctx, "file_mode", bc->file_mode & 07777);
	field_out(fn, ctx, "setid", &o);
	field_int(fn, ctx, "file_uid", id_value(bc->file_uid));
	field_int(fn, ctx, "file_gid", id_value(bc->file_gid));
	field_int(fn, ctx, "old_euid", id_value(bc->old_euid));
	field_int(fn, ctx, "old_egid", id_value(bc->old_egid));
	field_int(fn, ctx, "ret", bc->ret);
}

static void fields_odd_socket(const struct viv_odd_socket *os,
			      viv_field_fn fn, void *ctx)
{
	char family[16], type[64], protocol[48];
	struct out f = OUT(family), t = OUT(type), p = OUT(protocol);

	put_name(&f, family_name(os->family), os->family);
	put_sock_type(&t, os->type);
	put_protocol(&p, os->family, os->protocol);
	field_out(fn, ctx, "family", &f);
	field_out(fn, ctx, "type", &t);
	field_out(fn, ctx, "protocol", &p);
	field_int(fn, ctx, "ret", os->ret);
}

static void fields_dns_req(const struct viv_dns_req *dr, viv_field_fn fn,
			   void *ctx)
{
	char opcode[16], qtype[16], qclass[16];
	struct out op = OUT(opcode), ty = OUT(qtype), cl = OUT(qclass);
	struct dns_text t;

	dns_decode(dr, &t);
	if (t.header)
		put_name(&op, NAME_AT(dns_opcodes, dns_opcode(&t)),
			 dns_opcode(&t));
	if (!t.malformed) {
		put_dns_type(&ty, t.qtype);
		put_dns_class(&cl, t.qclass);
	}
	field_str(fn, ctx, "server", t.server);
	field_int(fn, ctx, "port", dr->port);
	field_int(fn, ctx, "id", t.id);
	field_out(fn, ctx, "opcode", &op);
	field_str(fn, ctx, "qname", t.qname);
	field_out(fn, ctx, "qtype", &ty);
	field_out(fn, ctx, "qclass", &cl);
	field_int(fn, ctx, "len", dr->len);
	field_int(fn, ctx, "malformed", t.malformed);
	field_int(fn, ctx, "ret", dr->ret);
}

int viv_event__fields(const struct viv_event *ev, viv_field_fn fn, void *ctx)
{
	const struct viv_file_getdents *gd;
	const struct viv_sock_connect *sc;
	const struct viv_file_chmod *fc;
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
	case VIV_KIND_FILE_SYMLINK:
	case VIV_KIND_FILE_HARDLINK:
	case VIV_KIND_FILE_RENAME:
		fields_file_pair((const void *)ev->raw, ev->kind, fn, ctx);
		return 0;
	case VIV_KIND_FILE_CHMOD:
		fc = (const void *)ev->raw;
		field_str(fn, ctx, "path", fc->path);
		field_int(fn, ctx, "mode", fc->mode);
		field_int(fn, ctx, "fd", fc->fd);
		field_int(fn, ctx, "ret", fc->ret);
		field_resolved(fn, ctx, "resolved", fc->resolved);
		return 0;
	case VIV_KIND_FILE_GETDENTS:
		gd = (const void *)ev->raw;
		field_str(fn, ctx, "path", gd->path);
		field_int(fn, ctx, "fd", gd->fd);
		field_int(fn, ctx, "count", gd->count);
		field_int(fn, ctx, "ret", gd->ret);
		field_resolved(fn, ctx, "resolved", gd->resolved);
		return 0;
	case VIV_KIND_PTRACE_CHECK:
		fields_ptrace_check((const void *)ev->raw, fn, ctx);
		return 0;
	case VIV_KIND_SB_MOUNT:
		fields_sb_mount((const void *)ev->raw, fn, ctx);
		return 0;
	case VIV_KIND_KERNEL_READ_FILE:
		fields_kernel_read_file((const void *)ev->raw, fn, ctx);
		return 0;
	case VIV_KIND_TASK_KILL:
		fields_task_kill((const void *)ev->raw, fn, ctx);
		return 0;
	case VIV_KIND_SETID_CHANGE:
		fields_setid_change((const void *)ev->raw, fn, ctx);
		return 0;
	case VIV_KIND_CAPABLE_CHECK:
		fields_capable_check((const void *)ev->raw, fn, ctx);
		return 0;
	case VIV_KIND_BPRM_CREDS:
		fields_bprm_creds((const void *)ev->raw, fn, ctx);
		return 0;
	case VIV_KIND_ODD_SOCKET:
		fields_odd_socket((const void *)ev->raw, fn, ctx);
		return 0;
	case VIV_KIND_DNS_REQ:
		fields_dns_req((const void *)ev->raw, fn, ctx);
		return 0;
	default:
		return -EINVAL;
	}
}
