/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a program run knows of its hook: the entry point fills it once
 * (hook_init()), and the classifier, identity resolution and events read
 * it.
 */
#ifndef NETSEG_BPF_HOOK_H
#define NETSEG_BPF_HOOK_H

#include <netseg/bpf/maps.h>

struct netseg_hook_ctx {
	void *ctx;   /* struct __sk_buff * or struct xdp_md * */
	__u64 now;   /* CLOCK_MONOTONIC_COARSE: see hook_init() */
	__u64 owner; /* ifindex, or cgroup id for cgroup hooks */
	__u32 ifindex;
	__u8 hook;	 /* enum netseg_hook: a compile-time constant */
	__u8 src_nohost; /* the source is not in the host hash: src_is_local() */
	__u8 pad[2];
	__u32 ep_id;  /* XDP, TC: the endpoint behind ifindex, else NETSEG_ID_ANY */
	__u32 src_id; /* the source's ipcache identity once looked up, else NETSEG_ID_ANY */
	struct netseg_config *cfg;
};

/* -1: no configuration (the daemon hasn't written it yet). */
static __always_inline int hook_init(struct netseg_hook_ctx *h, void *ctx, __u8 hook, __u32 ifindex,
				     __u64 owner)
{
	__u32 zero = 0;

	h->cfg = bpf_map_lookup_elem(&ns_config, &zero);
	if (!h->cfg)
		return -1;
	h->ctx = ctx;
	/*
	 * Every packet reads the clock once, for timeouts measured in seconds
	 * (conntrack, fragments) and the event token bucket: the coarse clock
	 * (one tick, a few ms) costs half of bpf_ktime_get_ns().  All of them
	 * compare only with each other or with the daemon's CLOCK_MONOTONIC,
	 * which the coarse clock trails by at most a tick.  What needs the ns
	 * (flow ids, event times) reads the fine clock itself.
	 */
	h->now = bpf_ktime_get_coarse_ns();
	h->ifindex = ifindex;
	h->owner = owner;
	h->hook = hook;
	h->ep_id = NETSEG_ID_ANY;
	h->src_id = NETSEG_ID_ANY;
	h->src_nohost = 0;
	return 0;
}

#endif
