/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The datapath handle: loads the BPF skeletons, shares and pins their maps,
 * attaches programs (TCX or clsact, cgroup links, XDP through libxdp's
 * dispatcher), swaps policy maps atomically and edits the identity maps.
 * Every function returns 0 or -errno and logs what failed, on what, and why.
 */
#ifndef NETSEG_DATAPATH_H
#define NETSEG_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <netseg/abi.h>

#include "prefix.h"

#define NETSEG_DEFAULT_PIN_DIR "/sys/fs/bpf/netseg"

struct netseg_dp;

struct netseg_dp_opts {
	/* bpffs directory for maps and links; NULL = nothing pinned (tests). */
	const char *pin_dir;
	__u32 ct_max;	     /* 0 = NETSEG_CT_MAX */
	__u32 prefilter_max; /* 0 = NETSEG_PREFILTER_MAX */
	__u32 deny_rate;     /* applied only when the config map is fresh */
	__u32 deny_burst;
};

enum netseg_dp_map {
	NETSEG_DPM_POLICY,
	NETSEG_DPM_CONFIG,
	NETSEG_DPM_CT,
	NETSEG_DPM_IPCACHE,
	NETSEG_DPM_ENDPOINTS,
	NETSEG_DPM_CGROUPS,
	NETSEG_DPM_IDENTITIES,
	NETSEG_DPM_FRAGS,
	NETSEG_DPM_PREFILTER,
	NETSEG_DPM_COUNTERS,
	NETSEG_DPM_RULE_STATS,
	NETSEG_DPM_IF_STATS,
	NETSEG_DPM_BUCKETS,
	NETSEG_DPM_EVENTS,
	NETSEG_DPM_IPCACHE_HOST,
	NETSEG_DPM_DENY_CACHE,
	NETSEG_DPM_MAX,
};

int netseg_dp_open(struct netseg_dp **dpp, const struct netseg_dp_opts *opts);
/* 0 when @dir is on a bpf filesystem (or would be, once created); else
 * -ENOTSUP after logging where to mount one.  Touches nothing. */
int netseg_dp_check_pin_dir(const char *dir);
/* netseg_dp_check_pin_dir(), then creates @dir and its parents (0700). */
int netseg_dp_make_pin_dir(const char *dir);
/* Closes fds; pinned maps and links stay (enforcement outlives us). */
void netseg_dp_close(struct netseg_dp *dp);

int netseg_dp_map_fd(const struct netseg_dp *dp, enum netseg_dp_map m);
/* Program fds by hook (enum netseg_hook): for BPF_PROG_TEST_RUN. */
int netseg_dp_prog_fd(const struct netseg_dp *dp, int hook);

/*
 * Builds a new inner LPM map holding exactly `entries`, swaps it into the
 * policy slot in one update, then bumps the generation (in that order, so
 * no packet caches an old verdict under the new generation).  On any error
 * the old policy stays in force.  *generation gets the new generation.
 */
int netseg_dp_policy_swap(struct netseg_dp *dp, const struct netseg_policy_entry *entries, size_t n,
			  __u64 *generation);
int netseg_dp_bump_generation(struct netseg_dp *dp, __u64 *generation);
int netseg_dp_config_get(struct netseg_dp *dp, struct netseg_config *cfg);
int netseg_dp_config_set_events(struct netseg_dp *dp, __u32 deny_rate, __u32 deny_burst,
				__u32 flags);

/* -EINVAL for a prefix of no known family or too long. */
int netseg_dp_ipcache_set(struct netseg_dp *dp, const struct netseg_prefix *p, __u32 id,
			  __u32 ifindex);
int netseg_dp_ipcache_del(struct netseg_dp *dp, const struct netseg_prefix *p);
int netseg_dp_endpoint_set(struct netseg_dp *dp, __u32 ifindex, __u32 id);
int netseg_dp_endpoint_del(struct netseg_dp *dp, __u32 ifindex);
/*
 * Marks an interface as an uplink (an interface-map entry with no
 * endpoint): XDP and TC ingress there drop, as spoofed, packets whose
 * source is a local endpoint's or the node's own address.  Set it before
 * attaching; netseg_dp_endpoint_del() removes it.
 */
int netseg_dp_uplink_set(struct netseg_dp *dp, __u32 ifindex);
int netseg_dp_cgroup_set(struct netseg_dp *dp, __u64 cgid, __u32 id);
int netseg_dp_cgroup_del(struct netseg_dp *dp, __u64 cgid);
int netseg_dp_identity_set(struct netseg_dp *dp, __u32 id, __u32 flags);
int netseg_dp_identity_del(struct netseg_dp *dp, __u32 id);
int netseg_dp_prefilter_set(struct netseg_dp *dp, const struct netseg_prefix *p);
int netseg_dp_prefilter_del(struct netseg_dp *dp, const struct netseg_prefix *p);

/*
 * Attachments.  TC uses a TCX link (pinned, so it outlives the daemon) where
 * the kernel has TCX, else a clsact filter.  Attaching again where netseg is
 * already attached replaces the program in place: no gap in enforcement.
 */
int netseg_dp_attach_tc(struct netseg_dp *dp, int ifindex, bool ingress);
int netseg_dp_detach_tc(struct netseg_dp *dp, int ifindex, bool ingress);
int netseg_dp_attach_cgroup(struct netseg_dp *dp, const char *path, __u64 *cgid);
int netseg_dp_detach_cgroup(struct netseg_dp *dp, __u64 cgid);
int netseg_dp_attach_xdp(struct netseg_dp *dp, int ifindex);
int netseg_dp_detach_xdp(struct netseg_dp *dp, int ifindex);
/* Points every pinned link at this handle's programs (after a restart). */
int netseg_dp_replace_links(struct netseg_dp *dp);
/* Detaches and unpins everything netseg attached or pinned. */
int netseg_dp_cleanup(struct netseg_dp *dp);

/* Sums of the per-CPU counters. */
int netseg_dp_read_counters(struct netseg_dp *dp, struct netseg_counter out[NETSEG_STAT_MAX]);
/* Drops by reason (index) and direction: towards the endpoint or node
 * (@in) and from it (@out); their sum is the reason's counter. */
int netseg_dp_read_drops(struct netseg_dp *dp, struct netseg_counter in[NETSEG_REASON_MAX],
			 struct netseg_counter out[NETSEG_REASON_MAX]);

/* Human name of a reason/stat slot ("policy", "default-deny", ...). */
const char *netseg_reason_name(int reason);
const char *netseg_stat_name(int stat);

/* cgroup v2 id of a path (its inode number), or -errno. */
int netseg_cgroup_id(const char *path, __u64 *cgid);

#endif
