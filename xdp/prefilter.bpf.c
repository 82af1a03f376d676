// SPDX-License-Identifier: GPL-2.0-only
/*
 * Uplink prefilter: drops before an skb exists.  Source CIDR deny lists,
 * malformed and impossible packets, and new flows the policy denies (same
 * classifier and maps as TC).  Known flows and replies go on to TC.
 * Loaded through libxdp's dispatcher: priority 10, chained on XDP_PASS.
 */
#include <linux/bpf.h>
#include <xdp/xdp_helpers.h>
#include <netseg/bpf/classify.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(netseg_xdp_prefilter);

static __always_inline bool prefilter_hit(const struct netseg_pkt *p)
{
	struct netseg_prefilter_val *v;
	struct netseg_lpm_key k = {};

	k.family = p->family;
	k.prefixlen = NETSEG_LPM_PLEN_HDR + (p->family == NETSEG_AF_INET ? 32 : 128);
	__builtin_memcpy(k.addr, p->saddr, 16);
	v = bpf_map_lookup_elem(&ns_prefilter, &k);
	if (!v)
		return false;
	__sync_fetch_and_add(&v->hits, 1);
	return true;
}

SEC("xdp")
int netseg_xdp_prefilter(struct xdp_md *ctx)
{
	struct netseg_hook_ctx h = {};
	struct netseg_pkt p = {};
	struct netseg_cursor c;
	__be16 proto;
	int r;

	if (hook_init(&h, ctx, NETSEG_HOOK_XDP, ctx->ingress_ifindex,
		      ctx->ingress_ifindex) < 0)
		return XDP_PASS;
	c.pos = (void *)(long)ctx->data;
	c.end = (void *)(long)ctx->data_end;
	p.len = c.end - c.pos;
	/* A cut VLAN header is as malformed as a cut IP header. */
	if (parse_eth(&c, &proto) < 0)
		return drop_reason(&h, &p, NETSEG_REASON_MALFORMED), XDP_DROP;
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return netseg_pass_non_ip(p.len) ? XDP_DROP : XDP_PASS;
	r = parse_l3(&c, proto, &p);
	if (r >= 0 && prefilter_hit(&p))
		return drop_reason(&h, &p, NETSEG_REASON_PREFILTER), XDP_DROP;
	return netseg_run(&h, NETSEG_HOOK_XDP, &p, r) ? XDP_DROP : XDP_PASS;
}
