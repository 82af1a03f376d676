/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-CPU counters: by reason/stat slot, by rule, by interface. */
#ifndef NETSEG_BPF_COUNTERS_H
#define NETSEG_BPF_COUNTERS_H

#include <netseg/bpf/maps.h>

static __always_inline void count_stat(__u32 slot, __u32 len)
{
	struct netseg_counter *c = bpf_map_lookup_elem(&ns_counters, &slot);

	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

/*
 * A drop, by reason and direction (NETSEG_STAT_DROP_IN in abi.h): ingress
 * is towards the endpoint the hook guards, or the node on an uplink, as
 * flow records say it (lib/flowrec.c).  TC ingress on a pod's veth sees
 * what the pod sends (its egress); XDP runs on uplinks only.  A drop
 * before the interface lookup (a malformed header) has no ep_id yet: it
 * is looked up here, on the drop path only.
 *
 * Inlined: as a global function it cost less on XDP and TC (3-5k processed
 * instructions each) but the call split the cgroup programs' states (57k
 * -> 96k each); inlined, the five programs verify in 420k instead of 481k.
 */
static __always_inline int netseg_count_drop(__u32 hook, __u32 ifindex, __u32 ep_id, __u32 reason,
					     __u32 len)
{
	struct netseg_endpoint *ep;
	bool out = hook == NETSEG_HOOK_CG_EGRESS;

	if (hook == NETSEG_HOOK_TC_INGRESS || hook == NETSEG_HOOK_TC_EGRESS) {
		if (ep_id == NETSEG_ID_ANY) {
			ep = bpf_map_lookup_elem(&ns_endpoints, &ifindex);
			ep_id = ep ? ep->id : NETSEG_ID_ANY;
		}
		out = (hook == NETSEG_HOOK_TC_INGRESS) == (ep_id != NETSEG_ID_ANY);
	}
	count_stat((out ? NETSEG_STAT_DROP_OUT : NETSEG_STAT_DROP_IN) + reason, len);
	return 0;
}

/* Rule and interface counters are created on first use; a full map only
 * loses the breakdown, never the packet. */
static __always_inline void count_rule(__u32 rule_id, __u32 len)
{
	struct netseg_counter *c, init = { 1, len };

	c = bpf_map_lookup_elem(&ns_rule_stats, &rule_id);
	if (c) {
		c->packets++;
		c->bytes += len;
	} else {
		bpf_map_update_elem(&ns_rule_stats, &rule_id, &init, BPF_NOEXIST);
	}
}

static __always_inline void count_if(__u32 ifindex, bool drop, bool xdp, __u32 len)
{
	struct netseg_if_stats *s = bpf_map_lookup_elem(&ns_if_stats, &ifindex);

	if (!s)
		return; /* ifindex beyond the array: only the breakdown is lost */
	if (!drop) {
		s->pass_packets++;
		return;
	}
	s->drop_packets++;
	s->drop_bytes += len;
	if (xdp)
		s->xdp_drop_packets++;
}

#endif
