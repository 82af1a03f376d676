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

static __always_inline void count_if(__u32 ifindex, bool drop, bool xdp,
				     __u32 len)
{
	struct netseg_if_stats *s = bpf_map_lookup_elem(&ns_if_stats, &ifindex);

	if (!s)
		return;	/* ifindex beyond the array: only the breakdown is lost */
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
