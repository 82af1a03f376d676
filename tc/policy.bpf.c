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
		bpf_skb_pull_data(skb, skb->len < NETSEG_PULL_LEN ?
					       skb->len : NETSEG_PULL_LEN);
}

static __always_inline int tc_run(struct __sk_buff *skb, __u8 hook)
{
	struct netseg_hook_ctx h = {};
	struct netseg_pkt p = {};
	struct netseg_cursor c;
	__be16 proto;
	int r;

	if (hook_init(&h, skb, hook, skb->ifindex, skb->ifindex) < 0)
		return TC_ACT_UNSPEC;
	tc_pull(skb);
	c.pos = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;
	p.len = skb->len;
	/* A cut VLAN header is as malformed as a cut IP header. */
	if (parse_eth(&c, &proto) < 0)
		return drop_reason(&h, &p, NETSEG_REASON_MALFORMED), TC_ACT_SHOT;
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return netseg_pass_non_ip(p.len) ? TC_ACT_SHOT : TC_ACT_UNSPEC;
	r = parse_l3(&c, proto, &p);
	/* UNSPEC, not OK: lets later TCX/clsact programs see the packet. */
	return netseg_run(&h, hook, &p, r) ? TC_ACT_SHOT : TC_ACT_UNSPEC;
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
	struct netseg_hook_ctx h = {};
	struct netseg_pkt p = {};
	struct netseg_cursor c;
	int r;

	if (hook_init(&h, skb, hook, skb->ifindex, bpf_skb_cgroup_id(skb)) < 0)
		return 1;
	c.pos = (void *)(long)skb->data;
	c.end = (void *)(long)skb->data_end;
	p.len = skb->len;
	if (skb->protocol != bpf_htons(ETH_P_IP) &&
	    skb->protocol != bpf_htons(ETH_P_IPV6))
		return netseg_pass_non_ip(p.len) ? 0 : 1;
	r = parse_l3(&c, skb->protocol, &p);
	return netseg_run(&h, hook, &p, r) ? 0 : 1;
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
