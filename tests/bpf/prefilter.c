// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP program (xdp/prefilter.bpf.c): source-CIDR deny lists with
 * per-entry hit counters, and the early policy drop — a new flow the policy
 * denies is dropped at XDP, while replies of flows TC allowed, and new
 * allowed flows, go on to TC (XDP never writes conntrack).  ARP passes.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A 256
#define ID_B 257
#define IP_A "198.18.7.1"
#define IP_B "198.18.7.2"
#define IP6_A "fd00::7:1"
#define IP6_B "fd00::7:2"

#define PF4 "198.19.66.0" /* /24 on the deny list */
#define PF6 "fd00:66::"	  /* /64 on the deny list */

#define XDP NETSEG_HOOK_XDP
#define ING NETSEG_HOOK_TC_INGRESS
#define EGR NETSEG_HOOK_TC_EGRESS

#define TCP4(s, d, sp, dp, fl)                                                        \
	{                                                                             \
		.af = 4, .src = (s), .dst = (d), .proto = IPPROTO_TCP, .sport = (sp), \
		.dport = (dp), .tcp_flags = (fl)                                      \
	}
#define TCP6(s, d, sp, dp, fl)                                                        \
	{                                                                             \
		.af = 6, .src = (s), .dst = (d), .proto = IPPROTO_TCP, .sport = (sp), \
		.dport = (dp), .tcp_flags = (fl)                                      \
	}
#define PF_DROP                                                               \
	.pass = false, .stat = NETSEG_REASON_PREFILTER, .ev = NETSEG_EV_DENY, \
	.reason = NETSEG_REASON_PREFILTER

/* Item 13: rows plus the hits of the entry they hit. */
static const struct {
	struct bpfx_row row;
	const char *hit; /* entry whose hit counter must move by 1 */
} prefilter_rows[] = {
	{ { "v4 source inside 198.19.66.0/24 -> XDP_DROP (prefilter)",
	    TCP4("198.19.66.7", IP_B, 40000, 443, PKT_TCP_SYN), XDP, PF_DROP },
	  "198.19.66.7" },
	{ { "v4 source inside, any protocol (udp) -> XDP_DROP",
	    { .af = 4,
	      .src = "198.19.66.255",
	      .dst = IP_B,
	      .proto = IPPROTO_UDP,
	      .sport = 53,
	      .dport = 53 },
	    XDP,
	    PF_DROP },
	  "198.19.66.255" },
	{ { "v4 source just outside (198.19.67.1), no endpoint -> XDP_PASS",
	    TCP4("198.19.67.1", "198.19.90.1", 40000, 443, PKT_TCP_SYN), XDP, .pass = true,
	    .stat = NETSEG_STAT_PASS },
	  NULL },
	{ { "v4 destination inside the CIDR doesn't match (source list)",
	    TCP4("198.19.90.1", "198.19.66.7", 40000, 443, PKT_TCP_SYN), XDP, .pass = true,
	    .stat = NETSEG_STAT_PASS },
	  NULL },
	{ { "v6 source inside fd00:66::/64 -> XDP_DROP (prefilter)",
	    TCP6("fd00:66::1234", IP6_B, 40000, 443, PKT_TCP_SYN), XDP, PF_DROP },
	  "fd00:66::1234" },
	{ { "v6 source just outside (fd00:66:0:1::1), no endpoint -> XDP_PASS",
	    TCP6("fd00:66:0:1::1", "fd00:90::1", 40000, 443, PKT_TCP_SYN), XDP, .pass = true,
	    .stat = NETSEG_STAT_PASS },
	  NULL },
	{ { "prefiltered source even for an allowed flow A->B:443 shape -> XDP_DROP",
	    TCP4("198.19.66.8", IP_B, 40001, 443, PKT_TCP_SYN | PKT_TCP_ACK), XDP, PF_DROP },
	  "198.19.66.8" },
};

static void run_prefilter(struct bpfx *x)
{
	struct bpfx_result r;
	struct netseg_prefix p;
	__u64 before, after;
	__u8 a[16];

	pkt_addr(4, PF4, a);
	if (netseg_dp_prefilter_set(x->dp, bpfx_prefix(&p, NETSEG_AF_INET, a, 24)))
		bail("couldn't add %s/24 to the prefilter", PF4);
	pkt_addr(6, PF6, a);
	if (netseg_dp_prefilter_set(x->dp, bpfx_prefix(&p, NETSEG_AF_INET6, a, 64)))
		bail("couldn't add %s/64 to the prefilter", PF6);

	for (size_t i = 0; i < ARRAY_LEN(prefilter_rows); i++) {
		const char *hit = prefilter_rows[i].hit;
		int af = prefilter_rows[i].row.f.af;

		before = after = 0;
		if (hit)
			bpfx_prefilter_hits(x, af, hit, &before);
		bpfx_row_run(x, &prefilter_rows[i].row, &r);
		if (!hit)
			continue;
		if (bpfx_prefilter_hits(x, af, hit, &after))
			after = before;
		is_int(after - before, 1, "  ... hits of the %s entry +1 (now %llu)",
		       af == 6 ? "fd00:66::/64" : "198.19.66.0/24", (unsigned long long)after);
	}

	/* Re-adding an entry keeps its counter (lib/datapath.c). */
	bpfx_prefilter_hits(x, 4, "198.19.66.1", &before);
	pkt_addr(4, PF4, a);
	netseg_dp_prefilter_set(x->dp, bpfx_prefix(&p, NETSEG_AF_INET, a, 24));
	bpfx_prefilter_hits(x, 4, "198.19.66.1", &after);
	ok(before == 3 && after == before, "re-adding 198.19.66.0/24 keeps its 3 hits");
}

/*
 * A more specific CIDR added under a covering one must be a real entry:
 * when the covering one is removed, the specific one still drops.
 */
static void run_prefilter_nested(struct bpfx *x)
{
	struct pkt_flow f = TCP4("198.19.5.9", "198.19.90.1", 40000, 80, PKT_TCP_SYN);
	struct bpfx_result r;
	struct netseg_prefix pw, pn;
	__u8 wide[16], narrow[16];
	struct pkt p;

	pkt_addr(4, "198.19.0.0", wide);
	pkt_addr(4, "198.19.5.0", narrow);
	bpfx_prefix(&pw, NETSEG_AF_INET, wide, 16);
	bpfx_prefix(&pn, NETSEG_AF_INET, narrow, 24);
	netseg_dp_prefilter_set(x->dp, &pw);
	netseg_dp_prefilter_set(x->dp, &pn);
	netseg_dp_prefilter_del(x->dp, &pw);
	pkt_flow_build(&p, &f);
	bpfx_send(x, XDP, &p, 0, &r);
	bpfx_expect("198.19.5.0/24 added under 198.19.0.0/16, /16 removed: "
		    "198.19.5.9 still dropped",
		    &r, false, NETSEG_REASON_PREFILTER);
	ok(!netseg_dp_prefilter_del(x->dp, &pn), "  ... and the /24 entry exists to be removed");
	bpfx_send(x, XDP, &p, 0, &r);
	bpfx_expect("after removing it too, 198.19.5.9 passes", &r, true, NETSEG_STAT_PASS);
}

/* Item 14: early policy drop, and what XDP lets through to TC. */
static const struct bpfx_row early[] = {
	{ "new flow A->B:22 the policy denies -> XDP_DROP (default deny)",
	  TCP4(IP_A, IP_B, 41000, 22, PKT_TCP_SYN), XDP, .pass = false,
	  .stat = NETSEG_REASON_DEFAULT_DENY, .ev = NETSEG_EV_DENY,
	  .reason = NETSEG_REASON_DEFAULT_DENY, .src = ID_A, .dst = ID_B },
	{ "new flow A->B:23 a deny rule matches -> XDP_DROP (policy, rule 5)",
	  TCP4(IP_A, IP_B, 41001, 23, PKT_TCP_SYN), XDP, .pass = false,
	  .stat = NETSEG_REASON_POLICY, .ev = NETSEG_EV_DENY, .reason = NETSEG_REASON_POLICY,
	  .rule = 5, .src = ID_A, .dst = ID_B },
	{ "new v6 flow A->B:22 -> XDP_DROP (default deny)",
	  TCP6(IP6_A, IP6_B, 41002, 22, PKT_TCP_SYN), XDP, .pass = false,
	  .stat = NETSEG_REASON_DEFAULT_DENY, .ev = NETSEG_EV_DENY,
	  .reason = NETSEG_REASON_DEFAULT_DENY, .src = ID_A, .dst = ID_B },
	{ "SYN+FIN -> XDP_DROP (impossible)",
	  TCP4(IP_A, IP_B, 41003, 443, PKT_TCP_SYN | PKT_TCP_FIN), XDP, .pass = false,
	  .stat = NETSEG_REASON_IMPOSSIBLE, .ev = NETSEG_EV_DENY,
	  .reason = NETSEG_REASON_IMPOSSIBLE },
};

static void run_early(struct bpfx *x)
{
	struct pkt_flow syn = TCP4(IP_A, IP_B, 42000, 443, PKT_TCP_SYN);
	struct pkt_flow synack = TCP4(IP_B, IP_A, 443, 42000, PKT_TCP_SYN | PKT_TCP_ACK);
	struct pkt_flow syn6 = TCP6(IP6_A, IP6_B, 42001, 443, PKT_TCP_SYN);
	struct netseg_ct_entry e;
	struct bpfx_result r;
	struct pkt p;
	int n0;

	for (size_t i = 0; i < ARRAY_LEN(early); i++)
		bpfx_row_run(x, &early[i], NULL);

	bpfx_ct_flush(x);
	pkt_flow_build(&p, &syn);
	bpfx_send(x, XDP, &p, 0, &r);
	bpfx_expect("new allowed flow A->B:443 -> XDP_PASS", &r, true, NETSEG_STAT_PASS);
	ok(bpfx_ct_get(x, &syn, &e) == -ENOENT && bpfx_ct_count(x) == 0,
	   "  ... and XDP created no CT entry");
	pkt_flow_build(&p, &syn6);
	n0 = bpfx_ct_count(x);
	bpfx_send(x, XDP, &p, 0, &r);
	ok(r.pass && bpfx_ct_count(x) == n0, "new allowed v6 flow -> XDP_PASS, no CT entry");

	/* TC creates the entry; the reply then passes XDP as a known flow. */
	pkt_flow_build(&p, &syn);
	bpfx_send(x, EGR, &p, 0, &r);
	bpfx_expect("TC egress allows A->B:443 and creates its CT entry", &r, true,
		    NETSEG_STAT_CT_NEW);
	pkt_flow_build(&p, &synack);
	bpfx_send(x, XDP, &p, 0, &r);
	bpfx_expect("reply B->A SYN-ACK of the TC-allowed flow -> XDP_PASS (known flow)", &r, true,
		    NETSEG_STAT_XDP_PASS);
	ok(!bpfx_ct_get(x, &syn, &e) && e.packets[1] == 0 && e.packets[0] == 1 &&
		   e.tcp_state == NETSEG_TCP_SYN_SENT,
	   "  ... XDP left the CT entry alone (TC accounts it)");

	/* Revoked at TC (policy swapped to empty): XDP then drops the flow early. */
	bpfx_policy(x, NULL, 0);
	pkt_flow_build(&p, &syn);
	p.buf[p.l4_off + 13] = PKT_TCP_ACK;
	pkt_finish(&p);
	bpfx_send(x, EGR, &p, 0, &r);
	bpfx_expect("after an empty policy swap, TC re-decides A->B:443 -> drop", &r, false,
		    NETSEG_REASON_DEFAULT_DENY);
	pkt_flow_build(&p, &synack);
	bpfx_send(x, XDP, &p, 0, &r);
	bpfx_expect("the revoked flow's next reply is dropped at XDP", &r, false,
		    NETSEG_REASON_DEFAULT_DENY);
}

static void run_non_ip(struct bpfx *x)
{
	struct bpfx_result r;
	struct pkt p;

	pkt_init(&p);
	pkt_eth(&p, ETH_P_ARP);
	pkt_arp(&p, 1, IP_A, IP_B);
	bpfx_send(x, XDP, &p, 0, &r);
	bpfx_expect("ARP request -> XDP_PASS", &r, true, NETSEG_STAT_PASS_NON_IP);
}

int main(void)
{
	struct netseg_policy_entry rules[2];
	struct bpfx x;

	bpfx_init(&x, "prefilter");
	bpfx_endpoint(&x, ID_A, IP_A, IP6_A);
	bpfx_endpoint(&x, ID_B, IP_B, IP6_B);
	rules[0] = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 443, 16, NETSEG_VERDICT_ALLOW, 4, 0);
	rules[1] = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 23, 16, NETSEG_VERDICT_DENY, 5, 0);
	bpfx_policy(&x, rules, 2);

	run_prefilter(&x);
	run_prefilter_nested(&x);
	run_early(&x);
	run_non_ip(&x);
	bpfx_fini(&x);
	return tap_done();
}
