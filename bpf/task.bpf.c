// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Who is observed: an observer's process (config_root_targets, by tgid,
 * which covers its threads) and every task it spawns from the moment it
 * registered (config_spawned_targets, by tid). These programs load with
 * every configuration; the event programs only read the two maps.
 */
#include "common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/*
 * sched_process_fork runs in the parent after the child is fully set up and
 * before it is woken, so the child cannot run a single instruction
 * unobserved. tp_btf since 5.5. Misses nothing that clone() creates;
 * tasks that were already running when their observer registered are not
 * descendants and are not added.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(viv_sched_process_fork, struct task_struct *parent,
	     struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ptid = BPF_CORE_READ(parent, pid);
	struct viv_owner who, *spawned;
	__u32 ctid;
	__u32 *id;

	id = bpf_map_lookup_elem(&config_root_targets, &ptgid);
	if (id) {
		/* A new thread of the observer itself matches by tgid. */
		if (BPF_CORE_READ(child, tgid) == ptgid)
			return 0;
		/* The observer's thread that forked is the origin. */
		who.id = *id;
		who.origin = ptid;
	} else {
		spawned = bpf_map_lookup_elem(&config_spawned_targets, &ptid);
		if (!spawned)
			return 0;
		who = *spawned;
	}
	ctid = BPF_CORE_READ(child, pid);
	if (bpf_map_update_elem(&config_spawned_targets, &ctid, &who, BPF_ANY))
		viv_stat(VIV_STAT_TASK_FULL);
	return 0;
}

/*
 * sched_process_exit runs in do_exit() after signal->live was decremented,
 * so live == 0 says the whole thread group is gone (6.18 also passes
 * group_dead, 6.1 does not; the field read works on both). The observer's
 * own entry goes with its last thread, so a crashed observer leaves no
 * target behind for a reused pid. A thread killed inside a syscall never
 * reaches sys_exit, so its saved arguments are dropped here too, with the
 * ids a failed exec kept (priv.bpf.c). tp_btf since 5.5. Misses nothing.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(viv_sched_process_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u32 tid = BPF_CORE_READ(p, pid);

	bpf_map_delete_elem(&config_spawned_targets, &tid);
	bpf_map_delete_elem(&viv_inflight, &tid);
	bpf_map_delete_elem(&viv_exec_creds, &tid);
	if (BPF_CORE_READ(p, signal, live.counter) == 0)
		bpf_map_delete_elem(&config_root_targets, &tgid);
	return 0;
}

/*
 * An execve from a non-leader thread kills the other threads and takes
 * over the leader's pid (de_thread()): the leader's spawned entry went with
 * its exit, and the caller's old tid would linger. Move the entry to the
 * new tid. tp_btf since 5.5. The root entry is keyed by tgid, which exec
 * keeps.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(viv_sched_process_exec_task, struct task_struct *p,
	     pid_t old_pid)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct viv_owner *who;
	__u32 old = old_pid;

	if (tid == old)
		return 0;
	who = bpf_map_lookup_elem(&config_spawned_targets, &old);
	if (!who)
		return 0;
	if (bpf_map_update_elem(&config_spawned_targets, &tid, who, BPF_ANY))
		viv_stat(VIV_STAT_TASK_FULL);
	bpf_map_delete_elem(&config_spawned_targets, &old);
	return 0;
}
