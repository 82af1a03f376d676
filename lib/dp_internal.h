/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by datapath.c and attach.c only. */
#ifndef NETSEG_DP_INTERNAL_H
#define NETSEG_DP_INTERNAL_H

#include <pthread.h>
#include <limits.h>
#include "datapath.h"

struct policy_bpf;
struct prefilter_bpf;
struct xdp_program;
struct bpf_object;

#define NETSEG_XDP_MAX_IFACES 64

struct netseg_dp {
	struct policy_bpf *tc;
	struct prefilter_bpf *xdp;
	int fds[NETSEG_DPM_MAX];
	/* Programs re-opened from the pinned cache, by NETSEG_HOOK_*; -1 =
	 * use the skeleton's own (loaded and verified by this process). */
	int prog_fds[NETSEG_HOOK_CG_EGRESS + 1];
	char pin_dir[256]; /* "" = not pinned; short enough for pin paths */
	/*
	 * XDP programs this process put on an interface, by ifindex: a libxdp
	 * program of its own (prog, skel), or our main prefilter replacing a
	 * previous run's in place (prog NULL).  fd is the program's, not
	 * owned: knowing it, a detach or a second attach needs no
	 * BPF_PROG_GET_FD_BY_ID, so no CAP_SYS_ADMIN after setup.
	 */
	struct {
		bool used;
		int ifindex;
		int fd;
		struct xdp_program *prog;
		struct prefilter_bpf *skel;
	} xdp_att[NETSEG_XDP_MAX_IFACES];
	/*
	 * The two policy slots (ns_policy[0], [1]; the config's policy_slot
	 * says which one enforces): each slot's inner map fd and a sorted
	 * copy of what it holds, so a change patches only the entries that
	 * differ.  known[i] is false until this process filled slot i.
	 * grace: a thread waiting out the RCU grace period after a flip; the
	 * retired slot isn't touched before it is joined.
	 */
	struct {
		int fd[2];
		struct netseg_policy_entry *v[2];
		size_t n[2];
		bool known[2];
		int active;
		bool grace_pending;
		pthread_t grace;
	} pol;
};

/* Empties xdp_att[i]: closes its libxdp program and skeleton. */
void netseg_dp_xdp_slot_free(struct netseg_dp *dp, int i);
int netseg_dp_reuse_maps(struct netseg_dp *dp, struct bpf_object *to);
/* Removes the pinned program caches under the pin dir. */
void netseg_dp_cache_remove(struct netseg_dp *dp);

#endif
