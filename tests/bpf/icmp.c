// SPDX-License-Identifier: GPL-2.0-only
/*
 * ICMP and ND through the real TC/XDP programs:
 *  - errors are related to a flow only when they go to the host that sent
 *    the quoted packet, and that packet is one the flow carried: a quote of
 *    someone else's flow is an ICMP packet for the policy (a pod holding
 *    frontend->api:443 can't reach db's raw socket with it, nor can world
 *    quote its own flow to reach pods);
 *  - neighbour discovery passes only as link-local traffic: hop limit 255
 *    (MLD: 1), no extension header, no fragment, a link-scope destination;
 *  - ICMP queries pair with their replies (timestamp, information,
 *    address mask, ICMPv6 echo and node information, as echo), and the
 *    peer's own request with the same identifier is no reply.
 */
#include <errno.h>
#include <netinet/in.h>
#include <linux/if_ether.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A BPFX_ID_A /* frontend */
#define ID_B BPFX_ID_B /* api */
#define ID_C BPFX_ID_C /* db */
#define IP_A "198.18.4.1"
#define IP_B "198.18.4.2"
#define IP_C "198.18.4.3"
#define IP6_A "fd00::4:1"
#define IP6_B "fd00::4:2"
#define IP6_C "fd00::4:3"
#define IP_R "198.19.99.1" /* a router: world */
#define IP6_R "fd00::99:1"
#define IP_W "198.19.7.1" /* world hosts, no endpoint */
#define IP_W2 "198.19.7.2"

#define ING NETSEG_HOOK_TC_INGRESS
#define EGR NETSEG_HOOK_TC_EGRESS
#define XDP NETSEG_HOOK_XDP

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
#define SYN PKT_TCP_SYN
#define SYNACK (PKT_TCP_SYN | PKT_TCP_ACK)

static struct netseg_policy_entry policy[16];
static size_t npolicy;

/* ---------------------------------------------------------- ICMP errors */

/* An ICMP(v6) error src -> dst quoting flow q (its IP header and 8 bytes), plus `extra`. */
static void error_frame(struct pkt *p, int af, const char *src, const char *dst, __u8 type,
			__u8 code, const struct pkt_flow *q, size_t extra)
{
	struct pkt in;

	pkt_flow_build(&in, q);
	pkt_init(p);
	pkt_eth(p, af == 6 ? ETH_P_IPV6 : ETH_P_IP);
	if (af == 6)
		pkt_ipv6(p, src, dst, IPPROTO_ICMPV6);
	else
		pkt_ipv4(p, &(struct pkt_ip4){ .src = src, .dst = dst, .proto = IPPROTO_ICMP });
	pkt_icmp(p, type, code, 0, af == 6 ? 1280 : 1400);
	pkt_bytes(p, in.buf + in.l3_off, in.l4_off - in.l3_off + 8);
	pkt_payload(p, extra, 0x5a);
	pkt_finish(p);
}

static void send_flow_on(struct bpfx *x, int hook, const struct pkt_flow *f, __u32 ifindex)
{
	struct bpfx_result r;
	struct pkt p;

	pkt_flow_build(&p, f);
	bpfx_send(x, hook, &p, ifindex, &r);
	if (r.err || !r.pass)
		bail("setting up flow %s -> %s failed (err %d pass %d)", f->src, f->dst, r.err,
		     r.pass);
}

static void send_flow(struct bpfx *x, int hook, const struct pkt_flow *f)
{
	send_flow_on(x, hook, f, 0);
}

struct err_row {
	const char *desc;
	int af;
	struct pkt_flow flow;  /* set up first: its packet at ING ... */
	bool replied;	       /* ... and its reply at EGR */
	const char *src, *dst; /* the error's outer addresses */
	__u8 type, code;
	struct pkt_flow quoted;
	size_t extra;
	int hook;
	__u32 ifindex; /* 0: lo */
	bool pass;
	__u8 reason; /* when dropped */
};

#define DU4 3, 3  /* port unreachable */
#define FN4 3, 4  /* fragmentation needed */
#define PTB6 2, 0 /* packet too big */
#define DU6 1, 4  /* port unreachable */

static const struct err_row err_rows[] = {
	/* The forged errors of the report: old code let every one of them through. */
	{ "A quotes its own A->B:443 in an error to C (db): not related -> default deny", 4,
	  TCP4(IP_A, IP_B, 40100, 443, SYN), true, IP_A, IP_C, DU4,
	  TCP4(IP_A, IP_B, 40100, 443, SYN), 0, ING, 0, false, NETSEG_REASON_DEFAULT_DENY },
	{ "v6: A quotes A->B:443 in an error to C: not related -> default deny", 6,
	  TCP6(IP6_A, IP6_B, 40101, 443, SYN), true, IP6_A, IP6_C, DU6,
	  TCP6(IP6_A, IP6_B, 40101, 443, SYN), 0, ING, 0, false, NETSEG_REASON_DEFAULT_DENY },
	{ "v6: A sends C a 1 KB packet-too-big quoting A->B:443 -> default deny", 6,
	  TCP6(IP6_A, IP6_B, 40102, 443, SYN), true, IP6_A, IP6_C, PTB6,
	  TCP6(IP6_A, IP6_B, 40102, 443, SYN), 1024, EGR, 0, false, NETSEG_REASON_DEFAULT_DENY },
	{ "world quotes its own world->world flow in an error to A -> default deny", 4,
	  TCP4(IP_W, IP_W2, 40103, 80, SYN), true, IP_W2, IP_A, DU4,
	  TCP4(IP_W, IP_W2, 40103, 80, SYN), 0, EGR, 0, false, NETSEG_REASON_DEFAULT_DENY },
	{ "error to B (the responder) quoting A's A->B:443 packet: B never sent it -> deny", 4,
	  TCP4(IP_A, IP_B, 40104, 443, SYN), true, IP_R, IP_B, DU4,
	  TCP4(IP_A, IP_B, 40104, 443, SYN), 0, EGR, 0, false, NETSEG_REASON_DEFAULT_DENY },
	{ "error to B quoting B->A (reply direction) before B replied -> default deny", 4,
	  TCP4(IP_A, IP_B, 40105, 443, SYN), false, IP_R, IP_B, FN4,
	  TCP4(IP_B, IP_A, 443, 40105, SYNACK), 0, EGR, 0, false, NETSEG_REASON_DEFAULT_DENY },
	/* What stays related. */
	{ "router -> A frag-needed quoting A->B:443 passes (related, PMTU)", 4,
	  TCP4(IP_A, IP_B, 40110, 443, SYN), true, IP_R, IP_A, FN4,
	  TCP4(IP_A, IP_B, 40110, 443, SYN), 0, EGR, 0, true, 0 },
	{ "v6: router -> A packet-too-big (1 KB) quoting A->B:443 passes (related)", 6,
	  TCP6(IP6_A, IP6_B, 40111, 443, SYN), true, IP6_R, IP6_A, PTB6,
	  TCP6(IP6_A, IP6_B, 40111, 443, SYN), 1024, EGR, 0, true, 0 },
	{ "B -> A port unreachable quoting A->B:443 passes (the peer itself)", 4,
	  TCP4(IP_A, IP_B, 40112, 443, SYN), false, IP_B, IP_A, DU4,
	  TCP4(IP_A, IP_B, 40112, 443, SYN), 0, ING, 0, true, 0 },
	{ "router -> B frag-needed quoting B's SYN-ACK (reply direction) passes", 4,
	  TCP4(IP_A, IP_B, 40113, 443, SYN), true, IP_R, IP_B, FN4,
	  TCP4(IP_B, IP_A, 443, 40113, SYNACK), 0, EGR, 0, true, 0 },
	{ "v6: router -> B packet-too-big quoting B->A (reply direction) passes", 6,
	  TCP6(IP6_A, IP6_B, 40114, 443, SYN), true, IP6_R, IP6_B, PTB6,
	  TCP6(IP6_B, IP6_A, 443, 40114, SYNACK), 0, EGR, 0, true, 0 },
	{ "XDP: router -> A frag-needed quoting A->B:443 passes", 4,
	  TCP4(IP_A, IP_B, 40115, 443, SYN), true, IP_R, IP_A, FN4,
	  TCP4(IP_A, IP_B, 40115, 443, SYN), 0, XDP, 0, true, 0 },
	{ "XDP: A's forged error to C is dropped early", 4, TCP4(IP_A, IP_B, 40116, 443, SYN), true,
	  IP_A, IP_C, DU4, TCP4(IP_A, IP_B, 40116, 443, SYN), 0, XDP, 0, false,
	  NETSEG_REASON_DEFAULT_DENY },
};

static void run_err_row(struct bpfx *x, const struct err_row *e, __u32 ifindex)
{
	struct bpfx_result r;
	struct pkt p;

	bpfx_ct_flush(x);
	send_flow(x, ING, &e->flow);
	/* Towards an endpoint the flow also meets its veth's TC egress, which
	 * records that the verdict covers that endpoint (ct_covered()). */
	if (ifindex && e->pass)
		send_flow_on(x, EGR, &e->flow, ifindex);
	if (e->replied) {
		struct pkt_flow back = pkt_flow_reverse(&e->flow);

		back.tcp_flags = SYNACK;
		send_flow(x, EGR, &back);
	}
	error_frame(&p, e->af, e->src, e->dst, e->type, e->code, &e->quoted, e->extra);
	bpfx_send(x, e->hook, &p, ifindex, &r);
	bpfx_expect(e->desc, &r, e->pass,
		    e->pass ? (e->hook == XDP ? NETSEG_STAT_PASS : NETSEG_STAT_CT_HIT) : e->reason);
}

/*
 * From an endpoint's own interface the error must come from the quoted
 * destination: an endpoint is no router.  B's veth, B's address.
 */
static void check_endpoint_source(struct bpfx *x)
{
	int ifx = bpfx_veth("nsb-icmp-b", "nsb-icmp-bp");
	const struct err_row rows[] = {
		{ "B's interface: B -> A port unreachable quoting A->B:443 passes", 4,
		  TCP4(IP_A, IP_B, 40120, 443, SYN), false, IP_B, IP_A, DU4,
		  TCP4(IP_A, IP_B, 40120, 443, SYN), 0, ING, 0, true, 0 },
		{ "B's interface: B -> A error quoting A->C:443 (not B's peer) -> deny", 4,
		  TCP4(IP_A, IP_C, 40121, 443, SYN), true, IP_B, IP_A, FN4,
		  TCP4(IP_A, IP_C, 40121, 443, SYN), 0, ING, 0, false, NETSEG_REASON_DEFAULT_DENY },
		/* The flow never met B's veth: its verdict says nothing about B. */
		{ "B's interface: error about a flow never decided for B -> policy (deny)", 4,
		  TCP4(IP_A, IP_B, 40122, 443, SYN), false, IP_B, IP_A, DU4,
		  TCP4(IP_A, IP_B, 40122, 443, SYN), 0, ING, 0, false, NETSEG_REASON_DEFAULT_DENY },
	};

	if (ifx < 0)
		bail("couldn't create a veth pair: %s", strerror(-ifx));
	if (netseg_dp_endpoint_set(x->dp, ifx, ID_B))
		bail("couldn't map ifindex %d to identity B", ifx);
	bpfx_host(x, 4, IP_B, ID_B, ifx);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++)
		run_err_row(x, &rows[i], ifx);
	netseg_dp_endpoint_del(x->dp, ifx);
	bpfx_host(x, 4, IP_B, ID_B, 0);
}

/* A logged flow records its related errors under its own flow id. */
static void check_related_event(struct bpfx *x)
{
	struct pkt_flow f = TCP4(IP_A, IP_B, 40130, 8443, SYN);
	struct pkt_flow back = pkt_flow_reverse(&f);
	struct netseg_ct_entry e;
	struct bpfx_result r;
	struct pkt p;

	bpfx_ct_flush(x);
	send_flow(x, ING, &f);
	back.tcp_flags = SYNACK;
	send_flow(x, EGR, &back);
	if (bpfx_ct_get(x, &f, &e))
		bail("no CT entry for the logged flow");
	error_frame(&p, 4, IP_R, IP_A, FN4, &f, 0);
	bpfx_send(x, EGR, &p, 0, &r);
	bpfx_expect("router -> A frag-needed about a logged flow passes", &r, true,
		    NETSEG_STAT_CT_HIT);
	if (bpfx_expect_event("related error of a logged flow", &r, NETSEG_EV_FLOW_START, 0, 121,
			      ID_B, ID_A))
		ok(r.ev[0].flow_id == e.flow_id && r.ev[0].icmp_type == 3 && r.ev[0].icmp_code == 4,
		   "related error's record: the flow's id, the error's type/code");
	else
		ok(false, "related error's record: the flow's id, the error's type/code");
}

/* ------------------------------------------------- neighbour discovery */

#define ND_EXT_NONE 0
#define ND_EXT_HBH 1
#define ND_EXT_DST 2
#define ND_EXT_HBH_DST 3
#define ND_EXT_FRAG 4

static void nd_frame(struct pkt *p, const char *src, const char *dst, __u8 type, __u8 hop, int ext,
		     size_t payload)
{
	__u8 first = ext == ND_EXT_NONE ? IPPROTO_ICMPV6 :
		     ext == ND_EXT_DST	? IPPROTO_DSTOPTS :
		     ext == ND_EXT_FRAG ? IPPROTO_FRAGMENT :
					  IPPROTO_HOPOPTS;

	pkt_init(p);
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, src, dst, first);
	pkt_l3(p)[7] = hop;
	if (ext == ND_EXT_HBH)
		pkt_ip6_ext(p, IPPROTO_HOPOPTS, IPPROTO_ICMPV6, 8);
	else if (ext == ND_EXT_DST)
		pkt_ip6_ext(p, IPPROTO_DSTOPTS, IPPROTO_ICMPV6, 8);
	else if (ext == ND_EXT_HBH_DST) {
		pkt_ip6_ext(p, IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, 8);
		pkt_ip6_ext(p, IPPROTO_DSTOPTS, IPPROTO_ICMPV6, 8);
	} else if (ext == ND_EXT_FRAG) {
		pkt_ip6_frag(p, IPPROTO_ICMPV6, 77, 0, true);
	}
	pkt_icmp(p, type, 0, 0, 0);
	pkt_payload(p, payload, 0);
	pkt_finish(p);
}

static void check_nd(struct bpfx *x)
{
	static const struct {
		const char *desc;
		const char *src, *dst;
		__u8 type, hop;
		int ext;
		size_t payload;
		bool nd;
	} rows[] = {
		{ "NS to the solicited-node group, hop limit 255", IP6_A, "ff02::1:ff04:2", 135,
		  255, ND_EXT_NONE, 16, true },
		{ "NS to a link-local address, hop limit 255", "fe80::1", "fe80::2", 135, 255,
		  ND_EXT_NONE, 16, true },
		{ "NS to a neighbour's global address (NUD), hop limit 255", IP6_A, IP6_B, 135, 255,
		  ND_EXT_NONE, 16, true },
		{ "NA to all-nodes, hop limit 255", IP6_B, "ff02::1", 136, 255, ND_EXT_NONE, 16,
		  true },
		{ "RS to all-routers, hop limit 255", "fe80::1", "ff02::2", 133, 255, ND_EXT_NONE,
		  0, true },
		{ "RA to all-nodes, hop limit 255", "fe80::1", "ff02::1", 134, 255, ND_EXT_NONE, 12,
		  true },
		{ "MLDv2 report to ff02::16, hop limit 1, hop-by-hop (router alert)", "fe80::1",
		  "ff02::16", 143, 1, ND_EXT_HBH, 4, true },
		{ "MLD query to all-nodes, hop limit 1, no extension header", "fe80::1", "ff02::1",
		  130, 1, ND_EXT_NONE, 20, true },
		/* The holes: each passed any policy before. */
		{ "NS with hop limit 64 (routed) to B's global address", IP6_A, IP6_B, 135, 64,
		  ND_EXT_NONE, 1024, false },
		{ "NS with hop limit 254 (forwarded once)", IP6_A, IP6_B, 135, 254, ND_EXT_NONE, 16,
		  false },
		{ "NA to a site-scope group ff05::1", IP6_A, "ff05::1", 136, 255, ND_EXT_NONE, 16,
		  false },
		{ "NS behind a destination-options header", IP6_A, IP6_B, 135, 255, ND_EXT_DST, 16,
		  false },
		{ "NS behind a hop-by-hop header", IP6_A, IP6_B, 135, 255, ND_EXT_HBH, 16, false },
		{ "NS in a first fragment (RFC 6980)", IP6_A, IP6_B, 135, 255, ND_EXT_FRAG, 16,
		  false },
		{ "MLD report with hop limit 64", IP6_A, "ff02::16", 143, 64, ND_EXT_HBH, 4,
		  false },
		{ "MLD report to a unicast address", IP6_A, IP6_B, 143, 1, ND_EXT_HBH, 4, false },
		{ "MLD report behind hop-by-hop and destination options", IP6_A, "ff02::16", 143, 1,
		  ND_EXT_HBH_DST, 4, false },
	};
	static const int hooks[] = { ING, EGR, XDP };

	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		for (size_t h = 0; h < ARRAY_LEN(hooks); h++) {
			struct bpfx_result r;
			struct pkt p;
			char d[160];

			bpfx_ct_flush(x);
			bpfx_frags_flush(x);
			nd_frame(&p, rows[i].src, rows[i].dst, rows[i].type, rows[i].hop,
				 rows[i].ext, rows[i].payload);
			bpfx_send(x, hooks[h], &p, 0, &r);
			snprintf(d, sizeof(d), "%s: %s [%s]", rows[i].desc,
				 rows[i].nd ? "ND, passes" : "an ICMPv6 flow -> default deny",
				 bpfx_hook_name(hooks[h]));
			bpfx_expect(d, &r, rows[i].nd,
				    rows[i].nd ? NETSEG_STAT_PASS_NON_IP :
						 NETSEG_REASON_DEFAULT_DENY);
		}
	}
}

/* ------------------------------------------------- query/reply pairing */

#define Q4(s, d, id, t)                                                                \
	{                                                                              \
		.af = 4, .src = (s), .dst = (d), .proto = IPPROTO_ICMP, .sport = (id), \
		.icmp_type = (t)                                                       \
	}
#define Q6(s, d, id, t)                                                                  \
	{                                                                                \
		.af = 6, .src = (s), .dst = (d), .proto = IPPROTO_ICMPV6, .sport = (id), \
		.icmp_type = (t)                                                         \
	}
#define NEW(r_) .pass = true, .stat = NETSEG_STAT_CT_NEW, .rule = (r_), .src = ID_A, .dst = ID_B
#define HIT .pass = true, .stat = NETSEG_STAT_CT_HIT, .keep_ct = true
#define DENIED(s, d)                                                             \
	.pass = false, .stat = NETSEG_REASON_DEFAULT_DENY, .ev = NETSEG_EV_DENY, \
	.reason = NETSEG_REASON_DEFAULT_DENY, .src = (s), .dst = (d), .keep_ct = true

static const struct bpfx_row pairs[] = {
	{ "A->B timestamp request (13)", Q4(IP_A, IP_B, 5, 13), ING, NEW(113) },
	{ "B->A timestamp reply (14) passes as the reply", Q4(IP_B, IP_A, 5, 14), EGR, HIT },
	{ "A->B information request (15)", Q4(IP_A, IP_B, 6, 15), ING, NEW(115) },
	{ "B->A information reply (16) passes", Q4(IP_B, IP_A, 6, 16), EGR, HIT },
	{ "A->B address mask request (17)", Q4(IP_A, IP_B, 7, 17), ING, NEW(117) },
	{ "B->A address mask reply (18) passes", Q4(IP_B, IP_A, 7, 18), EGR, HIT },
	{ "v6 A->B node information query (139)", Q6(IP6_A, IP6_B, 8, 139), ING, NEW(139) },
	{ "v6 B->A node information reply (140) passes", Q6(IP6_B, IP6_A, 8, 140), EGR, HIT },
	{ "v6 A->B echo request (128)", Q6(IP6_A, IP6_B, 9, 128), ING, NEW(128) },
	{ "v6 B->A echo reply (129) passes", Q6(IP6_B, IP6_A, 9, 129), EGR, HIT },
	{ "A->B echo request (8), id 77", Q4(IP_A, IP_B, 77, 8), ING, NEW(108) },
	{ "B->A echo reply (0) passes", Q4(IP_B, IP_A, 77, 0), EGR, HIT },
	{ "B->A echo *request* with A's id: B's own query, not a reply -> default deny",
	  Q4(IP_B, IP_A, 77, 8), EGR, DENIED(ID_B, ID_A) },
	{ "B->A timestamp request with A's id -> default deny", Q4(IP_B, IP_A, 77, 13), EGR,
	  DENIED(ID_B, ID_A) },
	{ "B->A timestamp reply with no request on record -> default deny",
	  Q4(IP_B, IP_A, 1234, 14), EGR, DENIED(ID_B, ID_A) },
};

static void check_pairs(struct bpfx *x)
{
	struct pkt_flow unsolicited = Q4(IP_A, IP_B, 99, 0);
	const struct bpfx_row echo_reply_out = {
		"A->B echo reply allowed by rule 150 (type 0) passes ...",
		unsolicited,
		ING,
		.pass = true,
		.stat = NETSEG_STAT_PASS,
		.keep_ct = true
	};
	struct netseg_ct_entry e;

	bpfx_ct_flush(x);
	for (size_t i = 0; i < ARRAY_LEN(pairs); i++)
		bpfx_row_run(x, &pairs[i], NULL);
	/* A reply never opens a flow: the peer's request must not pass as "its reply". */
	bpfx_row_run(x, &echo_reply_out, NULL);
	ok(bpfx_ct_get(x, &unsolicited, &e) == -ENOENT,
	   "... and leaves no CT entry (a reply opens no flow)");
}

/* After a generation bump a reply re-decides as its request (flow order). */
static void check_pair_redecide(struct bpfx *x)
{
	const struct bpfx_row req = { "A->B timestamp request (13), id 21", Q4(IP_A, IP_B, 21, 13),
				      ING, NEW(113) };
	const struct bpfx_row rep = {
		"after a bump: B->A timestamp reply re-decided as 13 -> passes",
		Q4(IP_B, IP_A, 21, 14),
		EGR,
		.pass = true,
		.stat = NETSEG_STAT_PASS,
		.keep_ct = true
	};
	__u64 g;

	bpfx_row_run(x, &req, NULL);
	if (netseg_dp_bump_generation(x->dp, &g))
		bail("couldn't bump the generation");
	bpfx_row_run(x, &rep, NULL);
}

int main(void)
{
	struct bpfx x;

	bpfx_init(&x, "icmp");
	bpfx_endpoint(&x, ID_A, IP_A, IP6_A);
	bpfx_endpoint(&x, ID_B, IP_B, IP6_B);
	bpfx_endpoint(&x, ID_C, IP_C, IP6_C);
	policy[npolicy++] = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 443, 16, NETSEG_VERDICT_ALLOW, 100,
				      0);
	policy[npolicy++] = bpfx_rule(ID_A, ID_C, IPPROTO_TCP, 443, 16, NETSEG_VERDICT_ALLOW, 101,
				      0);
	policy[npolicy++] = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 8443, 16, NETSEG_VERDICT_ALLOW, 121,
				      NETSEG_RULEF_LOG);
	policy[npolicy++] = bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMP, 8, NETSEG_VERDICT_ALLOW, 108);
	policy[npolicy++] = bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMP, 0, NETSEG_VERDICT_ALLOW, 150);
	policy[npolicy++] = bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMP, 13, NETSEG_VERDICT_ALLOW, 113);
	policy[npolicy++] = bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMP, 15, NETSEG_VERDICT_ALLOW, 115);
	policy[npolicy++] = bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMP, 17, NETSEG_VERDICT_ALLOW, 117);
	policy[npolicy++] = bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMPV6, 128, NETSEG_VERDICT_ALLOW,
					   128);
	policy[npolicy++] = bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMPV6, 139, NETSEG_VERDICT_ALLOW,
					   139);
	bpfx_policy(&x, policy, npolicy);

	for (size_t i = 0; i < ARRAY_LEN(err_rows); i++)
		run_err_row(&x, &err_rows[i], 0);
	check_endpoint_source(&x);
	check_related_event(&x);
	check_nd(&x);
	check_pairs(&x);
	check_pair_redecide(&x);
	bpfx_fini(&x);
	return tap_done();
}
