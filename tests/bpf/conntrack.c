// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conntrack (include/netseg/bpf/ct.h): a new allowed flow writes an entry
 * holding the verdict, rule, identities and generation; replies pass from
 * it and move the TCP state and the per-direction counters; a policy swap
 * (generation bump) makes the next packet of every flow re-decide, so
 * removing the allow rule cuts established flows in both directions, and
 * putting it back lets them through again.
 *
 * Each table is a sequence: rows continue one another's flows, and after
 * every row the CT entry must be exactly in the state the row names.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/if_ether.h>

#include <bpf/bpf.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A 256
#define ID_B 257
#define IP_A "198.18.2.1"
#define IP_B "198.18.2.2"
#define IP6_A "fd00::2:1"
#define IP6_B "fd00::2:2"

#define SYN PKT_TCP_SYN
#define ACK PKT_TCP_ACK
#define FIN PKT_TCP_FIN
#define RST PKT_TCP_RST

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
#define UDP4(s, d, sp, dp)                                                            \
	{                                                                             \
		.af = 4, .src = (s), .dst = (d), .proto = IPPROTO_UDP, .sport = (sp), \
		.dport = (dp)                                                         \
	}

#define ING NETSEG_HOOK_TC_INGRESS
#define EGR NETSEG_HOOK_TC_EGRESS

/* A row and the CT entry it must leave behind (ct_state < 0: no entry). */
struct step {
	struct bpfx_row row;
	int ct_state;	    /* enum netseg_tcp_state, or -1 = no entry */
	__u64 pkts0, pkts1; /* packets[ORIG], packets[REPLY] */
	__u8 verdict;
	__u32 rule; /* CT rule_id */
	bool seen_reply;
};

#define PASS_NEW .pass = true, .stat = NETSEG_STAT_PASS
#define PASS_HIT .pass = true, .stat = NETSEG_STAT_CT_HIT, .keep_ct = true

/* Item 1: handshake, data, close, tuple reuse; v4 and v6; UDP. */
static const struct step handshake[] = {
	{ { "A->B SYN: new flow allowed by rule 100", TCP4(IP_A, IP_B, 40000, 443, SYN), ING,
	    .pass = true, .stat = NETSEG_STAT_CT_NEW },
	  NETSEG_TCP_SYN_SENT,
	  1,
	  0,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  false },
	{ { "B->A SYN-ACK: reply passes from CT", TCP4(IP_B, IP_A, 443, 40000, SYN | ACK), EGR,
	    PASS_HIT },
	  NETSEG_TCP_ESTABLISHED,
	  1,
	  1,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
	{ { "A->B ACK: established", TCP4(IP_A, IP_B, 40000, 443, ACK), ING, PASS_HIT },
	  NETSEG_TCP_ESTABLISHED,
	  2,
	  1,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
	{ { "B->A ACK data", TCP4(IP_B, IP_A, 443, 40000, ACK | PKT_TCP_PSH), EGR, PASS_HIT },
	  NETSEG_TCP_ESTABLISHED,
	  2,
	  2,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
	{ { "A->B FIN: closing", TCP4(IP_A, IP_B, 40000, 443, FIN | ACK), ING, PASS_HIT },
	  NETSEG_TCP_CLOSING,
	  3,
	  2,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
	{ { "A->B SYN reusing the closed tuple: a new flow", TCP4(IP_A, IP_B, 40000, 443, SYN), ING,
	    .pass = true, .stat = NETSEG_STAT_CT_NEW, .keep_ct = true },
	  NETSEG_TCP_SYN_SENT,
	  1,
	  0,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  false },
	{ { "B->A RST: closing", TCP4(IP_B, IP_A, 443, 40000, RST | ACK), EGR, PASS_HIT },
	  NETSEG_TCP_CLOSING,
	  1,
	  1,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },

	{ { "v6 A->B SYN: new flow allowed by rule 100", TCP6(IP6_A, IP6_B, 40001, 443, SYN), ING,
	    .pass = true, .stat = NETSEG_STAT_CT_NEW },
	  NETSEG_TCP_SYN_SENT,
	  1,
	  0,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  false },
	{ { "v6 B->A SYN-ACK: reply passes from CT", TCP6(IP6_B, IP6_A, 443, 40001, SYN | ACK), EGR,
	    PASS_HIT },
	  NETSEG_TCP_ESTABLISHED,
	  1,
	  1,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
	{ { "v6 A->B ACK", TCP6(IP6_A, IP6_B, 40001, 443, ACK), ING, PASS_HIT },
	  NETSEG_TCP_ESTABLISHED,
	  2,
	  1,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },

	{ { "B->A SYN (originator is the key's b side) allowed by rule 300",
	    TCP4(IP_B, IP_A, 40002, 22, SYN), ING, .pass = true, .stat = NETSEG_STAT_CT_NEW },
	  NETSEG_TCP_SYN_SENT,
	  1,
	  0,
	  NETSEG_VERDICT_ALLOW,
	  300,
	  false },
	{ { "A->B SYN-ACK: reply for a b-side originator", TCP4(IP_A, IP_B, 22, 40002, SYN | ACK),
	    EGR, PASS_HIT },
	  NETSEG_TCP_ESTABLISHED,
	  1,
	  1,
	  NETSEG_VERDICT_ALLOW,
	  300,
	  true },

	{ { "A->B udp/53: new flow", UDP4(IP_A, IP_B, 40003, 53), ING, .pass = true,
	    .stat = NETSEG_STAT_CT_NEW },
	  NETSEG_TCP_NONE,
	  1,
	  0,
	  NETSEG_VERDICT_ALLOW,
	  101,
	  false },
	{ { "B->A udp reply passes from CT", UDP4(IP_B, IP_A, 53, 40003), EGR, PASS_HIT },
	  NETSEG_TCP_NONE,
	  1,
	  1,
	  NETSEG_VERDICT_ALLOW,
	  101,
	  true },
	{ { "B->A udp from another source port: not the flow -> default deny",
	    UDP4(IP_B, IP_A, 54, 40003), EGR, .pass = false, .stat = NETSEG_REASON_DEFAULT_DENY,
	    .ev = NETSEG_EV_DENY, .reason = NETSEG_REASON_DEFAULT_DENY, .rule = 0, .src = ID_B,
	    .dst = ID_A, .keep_ct = true },
	  -1,
	  0,
	  0,
	  0,
	  0,
	  false },
};

/* Item 8: the generation revokes established flows; swap back restores. */
static const struct step revoke[] = {
	{ { "flow A->B:443 set up (SYN)", TCP4(IP_A, IP_B, 40010, 443, SYN), ING, .pass = true,
	    .stat = NETSEG_STAT_CT_NEW },
	  NETSEG_TCP_SYN_SENT,
	  1,
	  0,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  false },
	{ { "flow A->B:443 set up (SYN-ACK)", TCP4(IP_B, IP_A, 443, 40010, SYN | ACK), EGR,
	    PASS_HIT },
	  NETSEG_TCP_ESTABLISHED,
	  1,
	  1,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
	/* -- swap to an empty policy here (see run_revoke) -- */
	{ { "after swap to empty policy: A->B data re-decided -> default deny",
	    TCP4(IP_A, IP_B, 40010, 443, ACK), ING, .pass = false,
	    .stat = NETSEG_REASON_DEFAULT_DENY, .ev = NETSEG_EV_DENY,
	    .reason = NETSEG_REASON_DEFAULT_DENY, .rule = 0, .src = ID_A, .dst = ID_B,
	    .keep_ct = true },
	  NETSEG_TCP_ESTABLISHED,
	  1,
	  1,
	  NETSEG_VERDICT_DENY,
	  0,
	  true },
	{ { "after swap to empty policy: B->A reply drops too", TCP4(IP_B, IP_A, 443, 40010, ACK),
	    EGR, .pass = false, .stat = NETSEG_REASON_DEFAULT_DENY, .ev = NETSEG_EV_DENY,
	    .reason = NETSEG_REASON_DEFAULT_DENY, .rule = 0, .src = ID_B,
	    .dst = ID_A, /* packet order */
	    .keep_ct = true },
	  NETSEG_TCP_ESTABLISHED,
	  1,
	  1,
	  NETSEG_VERDICT_DENY,
	  0,
	  true },
	/* -- swap the allow rule back in here -- */
	{ { "after swap back: B->A reply re-decided in flow order -> passes",
	    TCP4(IP_B, IP_A, 443, 40010, ACK), EGR, .pass = true, .stat = NETSEG_STAT_PASS,
	    .keep_ct = true },
	  NETSEG_TCP_ESTABLISHED,
	  1,
	  2,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
	{ { "after swap back: A->B data passes from CT", TCP4(IP_A, IP_B, 40010, 443, ACK), ING,
	    PASS_HIT },
	  NETSEG_TCP_ESTABLISHED,
	  2,
	  2,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
};

static void run_steps(struct bpfx *x, const struct step *s, size_t n, __u64 gen);

/*
 * Any generation bump (an unrelated rule, an identity change) re-decides
 * every flow on its next packet.  When that packet is a reply, the flow
 * must still be decided in flow order: originator's identities *and* the
 * originator's destination port / ICMP request type.
 */
static const struct step rebump[] = {
	{ { "flow A->B:443 (SYN)", TCP4(IP_A, IP_B, 40040, 443, SYN), ING, .pass = true,
	    .stat = NETSEG_STAT_CT_NEW },
	  NETSEG_TCP_SYN_SENT,
	  1,
	  0,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  false },
	{ { "flow A->B:443 (SYN-ACK)", TCP4(IP_B, IP_A, 443, 40040, SYN | ACK), EGR, PASS_HIT },
	  NETSEG_TCP_ESTABLISHED,
	  1,
	  1,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
	/* -- generation bump, same policy -- */
	{ { "after a bump: B->A reply first is re-decided for A->B:443 -> passes",
	    TCP4(IP_B, IP_A, 443, 40040, ACK), EGR, .pass = true, .stat = NETSEG_STAT_PASS,
	    .keep_ct = true },
	  NETSEG_TCP_ESTABLISHED,
	  1,
	  2,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
	{ { "after a bump: A->B continues", TCP4(IP_A, IP_B, 40040, 443, ACK), ING, PASS_HIT },
	  NETSEG_TCP_ESTABLISHED,
	  2,
	  2,
	  NETSEG_VERDICT_ALLOW,
	  100,
	  true },
	{ { "ping A->B (icmp echo, rule 102)",
	    { .af = 4, .src = IP_A, .dst = IP_B, .proto = IPPROTO_ICMP, .sport = 77, .icmp_type = 8 },
	    ING,
	    .pass = true,
	    .stat = NETSEG_STAT_CT_NEW },
	  NETSEG_TCP_NONE,
	  1,
	  0,
	  NETSEG_VERDICT_ALLOW,
	  102,
	  false },
	/* -- generation bump, same policy -- */
	{ { "after a bump: B->A echo reply is re-decided as the echo request -> passes",
	    { .af = 4, .src = IP_B, .dst = IP_A, .proto = IPPROTO_ICMP, .sport = 77, .icmp_type = 0 },
	    EGR,
	    .pass = true,
	    .stat = NETSEG_STAT_PASS,
	    .keep_ct = true },
	  NETSEG_TCP_NONE,
	  1,
	  1,
	  NETSEG_VERDICT_ALLOW,
	  102,
	  true },
};

static struct netseg_policy_entry policy[4];

static void run_rebump(struct bpfx *x)
{
	struct netseg_config cfg;
	__u64 g;

	netseg_dp_config_get(x->dp, &cfg);
	run_steps(x, rebump, 2, cfg.generation);
	if (netseg_dp_bump_generation(x->dp, &g))
		bail("couldn't bump the generation");
	run_steps(x, rebump + 2, 3, g);
	if (netseg_dp_bump_generation(x->dp, &g))
		bail("couldn't bump the generation");
	run_steps(x, rebump + 5, 1, g);
}

static bool check_ct(struct bpfx *x, const struct step *s, __u64 gen)
{
	struct netseg_ct_entry e;
	struct netseg_ct_key k;
	bool swapped = bpfx_ct_key(&s->row.f, &k);
	int err = bpfx_ct_get(x, &s->row.f, &e);
	bool good;

	if (s->ct_state < 0)
		return ok(err == -ENOENT, "%s: no CT entry for the denied tuple", s->row.desc);
	good = !err && e.tcp_state == s->ct_state && e.packets[0] == s->pkts0 &&
	       e.packets[1] == s->pkts1 && e.verdict == s->verdict && e.rule_id == s->rule &&
	       e.generation == gen && !!(e.flags & NETSEG_CTF_SEEN_REPLY) == s->seen_reply;
	if (!ok(good, "%s: CT state", s->row.desc)) {
		if (err) {
			diag("  no CT entry: %s", strerror(-err));
			return false;
		}
		diag("  got state %u packets %llu/%llu verdict %u rule %u gen %llu "
		     "flags %#x (swapped %d)",
		     e.tcp_state, (unsigned long long)e.packets[0],
		     (unsigned long long)e.packets[1], e.verdict, e.rule_id,
		     (unsigned long long)e.generation, e.flags, swapped);
		diag("  want state %d packets %llu/%llu verdict %u rule %u gen %llu "
		     "seen_reply %d",
		     s->ct_state, (unsigned long long)s->pkts0, (unsigned long long)s->pkts1,
		     s->verdict, s->rule, (unsigned long long)gen, s->seen_reply);
	}
	return good;
}

static void run_steps(struct bpfx *x, const struct step *s, size_t n, __u64 gen)
{
	for (size_t i = 0; i < n; i++) {
		bpfx_row_run(x, &s[i].row, NULL);
		check_ct(x, &s[i], gen);
	}
}

/* The first SYN's entry, field by field (item 1). */
static void check_new_entry(struct bpfx *x, __u64 gen)
{
	struct pkt_flow f = TCP4(IP_A, IP_B, 40020, 443, SYN);
	struct bpfx_row row = { "A->B SYN for the field check", f, ING, .pass = true,
				.stat = NETSEG_STAT_CT_NEW };
	struct netseg_ct_entry e;
	struct netseg_ct_key k;
	bool swapped = bpfx_ct_key(&f, &k);

	bpfx_row_run(x, &row, NULL);
	if (!ok(!bpfx_ct_get(x, &f, &e), "CT entry exists under the normalised key"))
		return;
	ok(e.src_id == ID_A && e.dst_id == ID_B && e.rule_id == 100 &&
		   e.verdict == NETSEG_VERDICT_ALLOW && e.reason == NETSEG_REASON_NONE,
	   "CT entry: identities A->B, rule 100, allowed");
	ok(e.tcp_state == NETSEG_TCP_SYN_SENT && e.tcp_flags[0] == SYN && e.tcp_flags[1] == 0 &&
		   e.packets[0] == 1 && e.packets[1] == 0,
	   "CT entry: SYN_SENT, flags[orig]=SYN, packets 1/0");
	ok(e.hook == NETSEG_HOOK_TC_INGRESS && e.ifindex == 1 && e.owner == 1 &&
		   e.generation == gen && e.flow_id != 0 && e.created_ns &&
		   e.created_ns == e.last_seen_ns,
	   "CT entry: hook, ifindex, owner, generation, flow id, timestamps");
	ok(!!(e.flags & NETSEG_CTF_ORIG_IS_B) == swapped && e.bytes[0] == 54 && e.bytes[1] == 0,
	   "CT entry: originator side flag matches the key, bytes[orig] = frame length");
}

/* A reply seen at a hook that doesn't own the flow passes but isn't counted. */
static void check_owner(struct bpfx *x, int ifx, __u64 gen)
{
	const struct step s[] = {
		{ { "A->B SYN at lo (owner: ifindex 1)", TCP4(IP_A, IP_B, 40030, 443, SYN), ING,
		    .pass = true, .stat = NETSEG_STAT_CT_NEW },
		  NETSEG_TCP_SYN_SENT,
		  1,
		  0,
		  NETSEG_VERDICT_ALLOW,
		  100,
		  false },
		{ { "B->A SYN-ACK at another interface: passes, not counted",
		    TCP4(IP_B, IP_A, 443, 40030, SYN | ACK), EGR, .ifindex = ifx, PASS_HIT },
		  NETSEG_TCP_ESTABLISHED,
		  1,
		  0,
		  NETSEG_VERDICT_ALLOW,
		  100,
		  true },
	};
	run_steps(x, s, ARRAY_LEN(s), gen);
}

static void run_revoke(struct bpfx *x, __u64 gen)
{
	__u64 g;

	run_steps(x, revoke, 2, gen);
	g = bpfx_policy(x, NULL, 0);
	ok(g == gen + 1, "swap to an empty policy bumps the generation (%llu)",
	   (unsigned long long)g);
	run_steps(x, revoke + 2, 2, g);
	g = bpfx_policy(x, policy, ARRAY_LEN(policy));
	ok(g == gen + 2, "swap back bumps it again");
	run_steps(x, revoke + 4, 2, g);
}

/*
 * ICMP errors about an allowed flow (nftables' "related", Cilium's
 * CT_RELATED): a router's fragmentation-needed / packet-too-big quoting
 * the flow's own headers must reach the originator, or path-MTU discovery
 * breaks (IPv6 routers never fragment).  The quoted packet is A->B:443.
 */
static void icmp_error(struct pkt *p, int af, const char *router, const char *to,
		       const struct pkt_flow *quoted)
{
	struct pkt in;

	pkt_flow_build(&in, quoted);
	pkt_init(p);
	pkt_eth(p, af == 6 ? ETH_P_IPV6 : ETH_P_IP);
	if (af == 6) {
		pkt_ipv6(p, router, to, IPPROTO_ICMPV6);
		pkt_icmp(p, 2, 0, 0, 1280); /* packet too big, MTU 1280 */
	} else {
		pkt_ipv4(p, &(struct pkt_ip4){ .src = router, .dst = to, .proto = IPPROTO_ICMP });
		pkt_icmp(p, 3, 4, 0, 1400); /* frag needed, MTU 1400 */
	}
	/* The quoted IP header and the first 8 bytes of TCP. */
	pkt_bytes(p, in.buf + in.l3_off, in.l4_off - in.l3_off + 8);
	pkt_finish(p);
}

static void check_related(struct bpfx *x)
{
	static const struct {
		int af;
		const char *router;
		struct pkt_flow flow;	/* the established flow */
		struct pkt_flow quoted; /* what the error quotes */
		bool pass;
		const char *desc;
	} rows[] = {
		{ 4, "198.18.99.1", TCP4(IP_A, IP_B, 40050, 443, SYN),
		  TCP4(IP_A, IP_B, 40050, 443, ACK), true,
		  "ICMP frag-needed from a router quoting established A->B:443 passes (related)" },
		{ 6, "fd00::99:1", TCP6(IP6_A, IP6_B, 40051, 443, SYN),
		  TCP6(IP6_A, IP6_B, 40051, 443, ACK), true,
		  "ICMPv6 packet-too-big quoting established A->B:443 passes (related)" },
		{ 6, "fd00::99:1", TCP6(IP6_A, IP6_B, 40052, 443, SYN),
		  TCP6(IP6_A, IP6_B, 40053, 443, ACK), false,
		  "ICMPv6 packet-too-big quoting an unknown flow -> default deny" },
	};
	struct bpfx_result r;
	struct pkt p;

	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct pkt_flow back = pkt_flow_reverse(&rows[i].flow);

		bpfx_ct_flush(x);
		pkt_flow_build(&p, &rows[i].flow);
		bpfx_send(x, ING, &p, 0, &r);
		back.tcp_flags = SYN | ACK;
		pkt_flow_build(&p, &back);
		bpfx_send(x, EGR, &p, 0, &r);
		icmp_error(&p, rows[i].af, rows[i].router, rows[i].af == 6 ? IP6_A : IP_A,
			   &rows[i].quoted);
		bpfx_send(x, EGR, &p, 0, &r);
		bpfx_expect(rows[i].desc, &r, rows[i].pass,
			    rows[i].pass ? -1 : NETSEG_REASON_DEFAULT_DENY);
	}
}

/*
 * A flow whose entry is gone (evicted from a full LRU table, or flushed)
 * is decided again by policy on its next packet: from its originator an
 * allowed flow is picked up mid-stream (MIDSTREAM, short-lived until a
 * reply confirms it) and counted in ct-midstream; a denied one stays denied.  From the responder's side the
 * reversed tuple is what the policy sees, so with no rule that way the
 * packet is dropped (the originator's next packet sets the flow up again).
 */
static void check_midstream(struct bpfx *x)
{
	struct netseg_config cfg;
	static const struct {
		const char *desc;
		struct pkt_flow f;
		bool pass;
		int midstream; /* ct-midstream delta */
		int ct_state;  /* -1 = no entry */
	} rows[] = {
		{ "A->B:443 ACK with no entry: picked up mid-stream, allowed by rule 100",
		  TCP4(IP_A, IP_B, 40030, 443, ACK | PKT_TCP_PSH), true, 1, NETSEG_TCP_MIDSTREAM },
		{ "A->B:443 SYN with no entry: a new flow, not mid-stream",
		  TCP4(IP_A, IP_B, 40031, 443, SYN), true, 0, NETSEG_TCP_SYN_SENT },
		{ "v6 A->B:443 ACK with no entry: picked up mid-stream",
		  TCP6(IP6_A, IP6_B, 40032, 443, ACK), true, 1, NETSEG_TCP_MIDSTREAM },
		{ "A->B:8080 ACK with no entry: still default deny, no entry",
		  TCP4(IP_A, IP_B, 40033, 8080, ACK), false, 0, -1 },
		{ "B->A ACK of an A->B:443 flow with no entry: the reverse is denied",
		  TCP4(IP_B, IP_A, 443, 40034, ACK), false, 0, -1 },
	};

	netseg_dp_config_get(x->dp, &cfg);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		struct bpfx_result r;
		struct netseg_ct_entry e;
		struct pkt p;
		int err;

		bpfx_ct_flush(x);
		pkt_flow_build(&p, &rows[i].f);
		bpfx_send(x, ING, &p, 0, &r);
		err = bpfx_ct_get(x, &rows[i].f, &e);
		if (!ok(!r.err && r.pass == rows[i].pass &&
				r.delta[NETSEG_STAT_CT_MIDSTREAM].packets ==
					(__u64)rows[i].midstream &&
				(rows[i].ct_state < 0 ? err == -ENOENT :
							!err && e.tcp_state == rows[i].ct_state &&
								e.generation == cfg.generation),
			"%s", rows[i].desc))
			diag("  pass %d ct-midstream +%llu ct %s state %u", r.pass,
			     (unsigned long long)r.delta[NETSEG_STAT_CT_MIDSTREAM].packets,
			     err ? "none" : "present", err ? 0 : e.tcp_state);
	}
}

/* Rewrites flow f's entry: last_seen_ns moved by delta (as if time went by). */
static void ct_shift(struct bpfx *x, const struct pkt_flow *f, __s64 delta)
{
	int fd = netseg_dp_map_fd(x->dp, NETSEG_DPM_CT);
	struct netseg_ct_entry e;
	struct netseg_ct_key k;

	bpfx_ct_key(f, &k);
	if (bpf_map_lookup_elem(fd, &k, &e))
		bail("no CT entry to age");
	e.last_seen_ns += delta;
	if (bpf_map_update_elem(fd, &k, &e, BPF_EXIST))
		bail("couldn't rewrite the CT entry: %s", strerror(errno));
}

struct life {
	const char *desc;
	struct pkt_flow f;
	int hook;
	__s64 shift;  /* move the entry's last_seen_ns first (ns) */
	int stat;     /* counter that must move by one */
	int ct_state; /* the entry's state afterwards */
	int replaced; /* ct-replaced delta */
};

#define SEC_NS ((__s64)NETSEG_NSEC)

/*
 * A lone segment (an ACK with a bad checksum the server drops, or no
 * connection at all) must not hold an entry for hours: MIDSTREAM lives as
 * long as a SYN (60 s) until the other side answers.  Ages are simulated
 * by moving last_seen_ns; the datapath and the GC both judge expiry by
 * netseg_ct_expired(), and an entry stamped by another CPU a little after
 * this packet's clock read is not expired.
 */
static void check_midstream_life(struct bpfx *x)
{
	static const struct life rows[] = {
		{ "lone A->B:443 ACK: MIDSTREAM entry", TCP4(IP_A, IP_B, 40060, 443, ACK), ING, 0,
		  NETSEG_STAT_CT_NEW, NETSEG_TCP_MIDSTREAM, 0 },
		{ "A->B ACK again 30 s later: still the flow", TCP4(IP_A, IP_B, 40060, 443, ACK),
		  ING, -30 * SEC_NS, NETSEG_STAT_CT_HIT, NETSEG_TCP_MIDSTREAM, 0 },
		{ "A->B ACK 61 s after the last, no reply: expired, a new flow",
		  TCP4(IP_A, IP_B, 40060, 443, ACK), ING, -61 * SEC_NS, NETSEG_STAT_CT_NEW,
		  NETSEG_TCP_MIDSTREAM, 1 },
		{ "B->A ACK (reply) confirms it: ESTABLISHED", TCP4(IP_B, IP_A, 443, 40060, ACK),
		  EGR, 0, NETSEG_STAT_CT_HIT, NETSEG_TCP_ESTABLISHED, 0 },
		{ "A->B ACK 61 s later: established flows live for hours",
		  TCP4(IP_A, IP_B, 40060, 443, ACK), ING, -61 * SEC_NS, NETSEG_STAT_CT_HIT,
		  NETSEG_TCP_ESTABLISHED, 0 },
		{ "A->B ACK with last_seen 1 s ahead of the clock (another CPU): not expired",
		  TCP4(IP_A, IP_B, 40060, 443, ACK), ING, SEC_NS, NETSEG_STAT_CT_HIT,
		  NETSEG_TCP_ESTABLISHED, 0 },
		{ "lone A->B:443 ACK from another port: MIDSTREAM",
		  TCP4(IP_A, IP_B, 40061, 443, ACK), ING, 0, NETSEG_STAT_CT_NEW,
		  NETSEG_TCP_MIDSTREAM, 0 },
		{ "B->A RST (the server knows no such connection): CLOSING",
		  TCP4(IP_B, IP_A, 443, 40061, RST), EGR, 0, NETSEG_STAT_CT_HIT, NETSEG_TCP_CLOSING,
		  0 },
		{ "A->B SYN reusing the closed tuple: a new flow replacing the entry",
		  TCP4(IP_A, IP_B, 40061, 443, SYN), ING, 0, NETSEG_STAT_CT_NEW,
		  NETSEG_TCP_SYN_SENT, 1 },
	};
	struct netseg_ct_entry e;
	struct bpfx_result r;
	int short_lived = 0;
	struct pkt p;

	bpfx_ct_flush(x);
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		const struct life *l = &rows[i];
		int err;

		if (l->shift)
			ct_shift(x, &l->f, l->shift);
		pkt_flow_build(&p, &l->f);
		bpfx_send(x, l->hook, &p, 0, &r);
		err = bpfx_ct_get(x, &l->f, &e);
		if (!ok(!r.err && r.pass && r.delta[l->stat].packets == 1 && !err &&
				e.tcp_state == l->ct_state &&
				r.delta[NETSEG_STAT_CT_REPLACED].packets == (__u64)l->replaced,
			"%s", l->desc))
			diag("  pass %d %s +%llu ct-replaced +%llu, entry %s state %u", r.pass,
			     netseg_stat_name(l->stat),
			     (unsigned long long)r.delta[l->stat].packets,
			     (unsigned long long)r.delta[NETSEG_STAT_CT_REPLACED].packets,
			     err ? "none" : "present", err ? 0 : e.tcp_state);
	}
	/* The table can't be filled with long-lived entries from lone ACKs. */
	bpfx_ct_flush(x);
	for (__u16 port = 41000; port < 41064; port++) {
		struct pkt_flow f = TCP4(IP_A, IP_B, port, 443, ACK);

		pkt_flow_build(&p, &f);
		bpfx_send(x, ING, &p, 0, &r);
		if (!bpfx_ct_get(x, &f, &e) && netseg_ct_timeout(&e) <= NETSEG_CT_SYN_TIMEOUT)
			short_lived++;
	}
	ok(short_lived == 64, "64 lone ACKs from 64 ports: %d entries time out within %llu s",
	   short_lived, NETSEG_CT_SYN_TIMEOUT / NETSEG_NSEC);
}

int main(void)
{
	struct bpfx x;
	__u64 gen;
	int ifx;

	bpfx_init(&x, "conntrack");
	bpfx_endpoint(&x, ID_A, IP_A, IP6_A);
	bpfx_endpoint(&x, ID_B, IP_B, IP6_B);
	policy[0] = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 443, 16, NETSEG_VERDICT_ALLOW, 100, 0);
	policy[1] = bpfx_rule(ID_A, ID_B, IPPROTO_UDP, 53, 16, NETSEG_VERDICT_ALLOW, 101, 0);
	policy[2] = bpfx_rule(ID_B, ID_A, IPPROTO_TCP, 22, 16, NETSEG_VERDICT_ALLOW, 300, 0);
	policy[3] = bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMP, 8, NETSEG_VERDICT_ALLOW, 102);
	gen = bpfx_policy(&x, policy, ARRAY_LEN(policy));

	check_new_entry(&x, gen);
	run_steps(&x, handshake, ARRAY_LEN(handshake), gen);
	ifx = bpfx_veth("nsb-ct0", "nsb-ct1");
	if (ifx < 0)
		bail("couldn't create a veth pair: %s", strerror(-ifx));
	check_owner(&x, ifx, gen);
	run_revoke(&x, gen);
	run_rebump(&x);
	check_related(&x);
	check_midstream(&x);
	check_midstream_life(&x);
	bpfx_fini(&x);
	return tap_done();
}
