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

SEC("xdp")
int netseg_xdp_prefilter(struct xdp_md *ctx)
{
	return netseg_entry(ctx, NETSEG_HOOK_XDP, ctx->ingress_ifindex, ctx->ingress_ifindex) ?
		       XDP_DROP :
		       XDP_PASS;
}
