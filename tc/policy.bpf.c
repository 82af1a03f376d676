// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-workload enforcement: TC on endpoint and uplink interfaces, and the
 * same classifier as cgroup_skb programs for cgroup endpoints (TC programs
 * may not call bpf_sk_cgroup_id, so TC can't see which cgroup receives a
 * packet: resolve_dst() in identity.h).  These entry points only parse
 * and translate.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <netseg/bpf/classify.h>

char LICENSE[] SEC("license") = "GPL";

/* Bytes of headers we want linear before parsing (eth+vlan+ipv6+ext+l4). */
#define NETSEG_PULL_LEN 128

static __always_inline void tc_pull(struct __sk_buff *skb)
{
	__u32 linear = skb->data_end - skb->data;

	if (linear < NETSEG_PULL_LEN && skb->len > linear)
		bpf_skb_pull_data(skb, skb->len < NETSEG_PULL_LEN ? skb->len : NETSEG_PULL_LEN);
}

static __always_inline int tc_run(struct __sk_buff *skb, __u8 hook)
{
	tc_pull(skb);
	/* UNSPEC, not OK: lets later TCX/clsact programs see the packet. */
	return netseg_entry(skb, hook, skb->ifindex, skb->ifindex) ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

SEC("tc")
int netseg_tc_ingress(struct __sk_buff *skb)
{
	return tc_run(skb, NETSEG_HOOK_TC_INGRESS);
}

SEC("tc")
int netseg_tc_egress(struct __sk_buff *skb)
{
	return tc_run(skb, NETSEG_HOOK_TC_EGRESS);
}

/* cgroup_skb sees the packet from the IP header on; 1 passes, 0 drops. */
static __always_inline int cg_run(struct __sk_buff *skb, __u8 hook)
{
	return netseg_entry(skb, hook, skb->ifindex, bpf_skb_cgroup_id(skb)) ? 0 : 1;
}

SEC("cgroup_skb/ingress")
int netseg_cg_ingress(struct __sk_buff *skb)
{
	return cg_run(skb, NETSEG_HOOK_CG_INGRESS);
}

SEC("cgroup_skb/egress")
int netseg_cg_egress(struct __sk_buff *skb)
{
	return cg_run(skb, NETSEG_HOOK_CG_EGRESS);
}
