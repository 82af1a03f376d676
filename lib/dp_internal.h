/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by datapath.c and attach.c only. */
#ifndef NETSEG_DP_INTERNAL_H
#define NETSEG_DP_INTERNAL_H

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
	char pin_dir[256];	/* "" = not pinned; short enough for pin paths */
	/* libxdp programs we attached in this process, by ifindex. */
	struct {
		int ifindex;
		struct xdp_program *prog;
		struct prefilter_bpf *skel;
	} xdp_att[NETSEG_XDP_MAX_IFACES];
};

void netseg_dp_xdp_close(struct netseg_dp *dp);
int netseg_dp_reuse_maps(struct netseg_dp *dp, struct bpf_object *to);

#endif
