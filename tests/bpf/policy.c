// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy decisions through the real TC program (docs/architecture.md,
 * "Policy semantics"): deny beats allow across the four lookups, wildcard
 * identities, port ranges stored as prefixes, ICMP types in the port field,
 * default deny vs. traffic that touches no endpoint, audit identities and
 * audit rules, spoofed sources on endpoint interfaces.  One table; each row
 * is one frame on a clean conntrack table, so every verdict below is a
 * policy decision.
 */
#include <netinet/in.h>

#include "bpfx.h"
#include "tap.h"

enum {
	ID_A = 256,
	ID_B,
	ID_C,
	ID_AUD,
	ID_E,
	ID_F,
	ID_H,
	ID_K,
	ID_L,
	ID_M,
	ID_N,
	ID_AUD2,
};

#define IP_A "198.18.1.1"
#define IP_B "198.18.1.2"
#define IP_C "198.18.1.3"
#define IP_AUD "198.18.1.4"
#define IP_E "198.18.1.5"
#define IP_F "198.18.1.6"
#define IP_H "198.18.1.7"
#define IP_K "198.18.1.8"
#define IP_L "198.18.1.9"
#define IP_M "198.18.1.10"
#define IP_N "198.18.1.11"
#define IP_AUD2 "198.18.1.12"
#define IP_HOST "198.18.0.254"
#define IP_WORLD "198.19.200.1"
#define IP_A2 "198.18.1.21" /* a second address of A, owned by lo */
#define IP6_A "fd00::1:1"
#define IP6_B "fd00::1:2"
#define IP6_C "fd00::1:3"

static const struct {
	__u32 id, flags;
	const char *v4, *v6;
} ids[] = {
	{ ID_A, NETSEG_IDF_ENDPOINT, IP_A, IP6_A },
	{ ID_B, NETSEG_IDF_ENDPOINT, IP_B, IP6_B },
	{ ID_C, NETSEG_IDF_ENDPOINT, IP_C, IP6_C },
	{ ID_AUD, NETSEG_IDF_ENDPOINT | NETSEG_IDF_AUDIT, IP_AUD, NULL },
	{ ID_E, NETSEG_IDF_ENDPOINT, IP_E, NULL },
	{ ID_F, NETSEG_IDF_ENDPOINT, IP_F, NULL },
	{ ID_H, NETSEG_IDF_ENDPOINT, IP_H, NULL },
	{ ID_K, NETSEG_IDF_ENDPOINT, IP_K, NULL },
	{ ID_L, NETSEG_IDF_ENDPOINT, IP_L, NULL },
	{ ID_M, NETSEG_IDF_ENDPOINT, IP_M, NULL },
	{ ID_N, NETSEG_IDF_ENDPOINT, IP_N, NULL },
	{ ID_AUD2, NETSEG_IDF_ENDPOINT | NETSEG_IDF_AUDIT, IP_AUD2, NULL },
};

#define ALLOW NETSEG_VERDICT_ALLOW
#define DENY NETSEG_VERDICT_DENY
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ANY NETSEG_ID_ANY

static struct netseg_policy_entry rules[64];
static size_t nrules;

static void add(struct netseg_policy_entry e)
{
	rules[nrules++] = e;
}

static void build_policy(void)
{
	/* Plain allows A -> B. */
	add(bpfx_rule(ID_A, ID_B, TCP, 443, 16, ALLOW, 100, 0));
	add(bpfx_rule(ID_A, ID_B, UDP, 53, 16, ALLOW, 101, 0));
	add(bpfx_rule(ID_A, ID_B, IPPROTO_SCTP, 9899, 16, ALLOW, 102, 0));
	/* A -> C denied outright (identities only, prefix 72). */
	add(bpfx_rule(ID_A, ID_C, -1, 0, 0, DENY, 110, 0));
	/* (dst,src) allow vs. (ANY,src) deny: E -> B:443. */
	add(bpfx_rule(ID_E, ID_B, TCP, 443, 16, ALLOW, 120, 0));
	add(bpfx_rule(ID_E, ANY, -1, 0, 0, DENY, 121, 0));
	/* (dst,src) allow vs. (dst,ANY) deny (protocol prefix 80): F -> H. */
	add(bpfx_rule(ID_F, ID_H, TCP, 443, 16, ALLOW, 130, 0));
	add(bpfx_rule(ANY, ID_H, TCP, 0, 0, DENY, 131, 0));
	/* (dst,src) allow all TCP vs. (ANY,ANY) deny tcp/23: K -> B. */
	add(bpfx_rule(ID_K, ID_B, TCP, 0, 0, ALLOW, 150, 0));
	add(bpfx_rule(ANY, ANY, TCP, 23, 16, DENY, 140, 0));
	/* Wildcard allows: L -> * tcp/8080, * -> M tcp/5432. */
	add(bpfx_rule(ID_L, ANY, TCP, 8080, 16, ALLOW, 160, 0));
	add(bpfx_rule(ANY, ID_M, TCP, 5432, 16, ALLOW, 170, 0));
	/* A -> N tcp/1000-1999 as its aligned prefixes (what the compiler
	 * emits): 1000/13 1008/12 1024/7 1536/8 1792/9 1920/10 1984/12. */
	add(bpfx_rule(ID_A, ID_N, TCP, 1000, 13, ALLOW, 180, 0));
	add(bpfx_rule(ID_A, ID_N, TCP, 1008, 12, ALLOW, 180, 0));
	add(bpfx_rule(ID_A, ID_N, TCP, 1024, 7, ALLOW, 180, 0));
	add(bpfx_rule(ID_A, ID_N, TCP, 1536, 8, ALLOW, 180, 0));
	add(bpfx_rule(ID_A, ID_N, TCP, 1792, 9, ALLOW, 180, 0));
	add(bpfx_rule(ID_A, ID_N, TCP, 1920, 10, ALLOW, 180, 0));
	add(bpfx_rule(ID_A, ID_N, TCP, 1984, 12, ALLOW, 180, 0));
	/* ICMP types: allow echo, deny timestamp; ICMPv6 echo. */
	add(bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMP, 8, ALLOW, 190));
	add(bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMP, 13, DENY, 191));
	add(bpfx_icmp_rule(ID_A, ID_B, IPPROTO_ICMPV6, 128, ALLOW, 192));
	/* Audit: a deny towards the audit identity; an audit-mode allow. */
	add(bpfx_rule(ID_A, ID_AUD, TCP, 22, 16, DENY, 200, 0));
	add(bpfx_rule(ID_A, ID_B, TCP, 8443, 16, ALLOW, 210, NETSEG_RULEF_AUDIT));
	/* "deny * -> C:tcp/22" with AUD in audit mode; an audit allow under a deny. */
	add(bpfx_rule(ANY, ID_C, TCP, 22, 16, DENY, 201, 0));
	add(bpfx_rule(ID_A, ID_B, TCP, 8444, 16, ALLOW, 211, NETSEG_RULEF_AUDIT));
	add(bpfx_rule(ID_A, ID_B, TCP, 8444, 16, DENY, 212, 0));
}

#define T4(s, d, sp, dp)                                                                     \
	{                                                                                    \
		.af = 4, .src = (s), .dst = (d), .proto = TCP, .sport = (sp), .dport = (dp), \
		.tcp_flags = PKT_TCP_SYN                                                     \
	}
#define T6(s, d, sp, dp)                                                                     \
	{                                                                                    \
		.af = 6, .src = (s), .dst = (d), .proto = TCP, .sport = (sp), .dport = (dp), \
		.tcp_flags = PKT_TCP_SYN                                                     \
	}
#define PASS .pass = true, .stat = NETSEG_STAT_PASS
#define ALLOWED(r, s, d) PASS, .rule = (r), .src = (s), .dst = (d)
#define DROP(r) .pass = false, .stat = (r), .ev = NETSEG_EV_DENY, .reason = (r)

static const struct bpfx_row table[] = {
	/* 2: allow, deny rule, default deny, no endpoint involved */
	{ "A->B tcp/443 allowed by rule 100", T4(IP_A, IP_B, 40001, 443),
	  ALLOWED(100, ID_A, ID_B) },
	{ "A->B tcp/443 allowed by rule 100 (v6)", T6(IP6_A, IP6_B, 40001, 443),
	  ALLOWED(100, ID_A, ID_B) },
	{ "A->B udp/53 allowed by rule 101",
	  { .af = 4, .src = IP_A, .dst = IP_B, .proto = UDP, .sport = 40002, .dport = 53 },
	  ALLOWED(101, ID_A, ID_B) },
	{ "A->B udp/53 allowed by rule 101 (v6)",
	  { .af = 6, .src = IP6_A, .dst = IP6_B, .proto = UDP, .sport = 40002, .dport = 53 },
	  ALLOWED(101, ID_A, ID_B) },
	{ "A->B sctp/9899 allowed by rule 102",
	  { .af = 4, .src = IP_A, .dst = IP_B, .proto = IPPROTO_SCTP, .sport = 40003, .dport = 9899 },
	  ALLOWED(102, ID_A, ID_B) },
	{ "A->C denied by rule 110 (identities-only deny)", T4(IP_A, IP_C, 40004, 443),
	  DROP(NETSEG_REASON_POLICY), .rule = 110, .src = ID_A, .dst = ID_C },
	{ "A->C udp denied by rule 110 (v6)",
	  { .af = 6, .src = IP6_A, .dst = IP6_C, .proto = UDP, .sport = 40005, .dport = 53 },
	  DROP(NETSEG_REASON_POLICY),
	  .rule = 110,
	  .src = ID_A,
	  .dst = ID_C },
	{ "A->B tcp/80: no rule, endpoints -> default deny", T4(IP_A, IP_B, 40006, 80),
	  DROP(NETSEG_REASON_DEFAULT_DENY), .rule = 0, .src = ID_A, .dst = ID_B },
	{ "A->B tcp/80: default deny (v6)", T6(IP6_A, IP6_B, 40006, 80),
	  DROP(NETSEG_REASON_DEFAULT_DENY), .rule = 0, .src = ID_A, .dst = ID_B },
	{ "B->A tcp/443: rules are directional -> default deny", T4(IP_B, IP_A, 40007, 443),
	  DROP(NETSEG_REASON_DEFAULT_DENY), .rule = 0, .src = ID_B, .dst = ID_A },
	{ "world->B tcp/443: default deny for the endpoint", T4(IP_WORLD, IP_B, 40008, 443),
	  DROP(NETSEG_REASON_DEFAULT_DENY), .rule = 0, .src = NETSEG_ID_WORLD, .dst = ID_B },
	{ "world->host tcp/22: no endpoint, no rule -> passes", T4(IP_WORLD, IP_HOST, 40009, 22),
	  PASS },
	{ "world->world udp: no endpoint -> passes",
	  { .af = 4,
	    .src = IP_WORLD,
	    .dst = "198.19.200.2",
	    .proto = UDP,
	    .sport = 40010,
	    .dport = 1234 },
	  PASS },
	/* 3: deny beats a more specific allow, across the four lookups */
	{ "E->B tcp/443: (B,E) allow/96 loses to (ANY,E) deny/72", T4(IP_E, IP_B, 40011, 443),
	  DROP(NETSEG_REASON_POLICY), .rule = 121, .src = ID_E, .dst = ID_B },
	{ "F->H tcp/443: (H,F) allow/96 loses to (H,ANY) tcp deny/80", T4(IP_F, IP_H, 40012, 443),
	  DROP(NETSEG_REASON_POLICY), .rule = 131, .src = ID_F, .dst = ID_H },
	{ "K->B tcp/22: (B,K) allow tcp/80 passes", T4(IP_K, IP_B, 40013, 22),
	  ALLOWED(150, ID_K, ID_B) },
	{ "K->B tcp/23: (B,K) allow/80 loses to (ANY,ANY) tcp/23 deny/96",
	  T4(IP_K, IP_B, 40014, 23), DROP(NETSEG_REASON_POLICY), .rule = 140, .src = ID_K,
	  .dst = ID_B },
	{ "E->B tcp/23: two denies ((ANY,E) 121, (ANY,ANY) 140) -> lowest id",
	  T4(IP_E, IP_B, 40015, 23), DROP(NETSEG_REASON_POLICY), .rule = 121, .src = ID_E,
	  .dst = ID_B },
	{ "A->B tcp/23: (ANY,ANY) deny applies to any pair", T4(IP_A, IP_B, 40016, 23),
	  DROP(NETSEG_REASON_POLICY), .rule = 140, .src = ID_A, .dst = ID_B },
	/* 4: wildcard identities */
	{ "L->B tcp/8080 allowed by (ANY,L) rule 160", T4(IP_L, IP_B, 40017, 8080),
	  ALLOWED(160, ID_L, ID_B) },
	{ "L->C tcp/8080 allowed by (ANY,L) rule 160", T4(IP_L, IP_C, 40018, 8080),
	  ALLOWED(160, ID_L, ID_C) },
	{ "L->world tcp/8080 allowed by (ANY,L) rule 160", T4(IP_L, IP_WORLD, 40019, 8080),
	  ALLOWED(160, ID_L, NETSEG_ID_WORLD) },
	{ "L->B tcp/8081: wildcard rule is port-exact -> default deny", T4(IP_L, IP_B, 40020, 8081),
	  DROP(NETSEG_REASON_DEFAULT_DENY), .rule = 0, .src = ID_L, .dst = ID_B },
	{ "A->M tcp/5432 allowed by (M,ANY) rule 170", T4(IP_A, IP_M, 40021, 5432),
	  ALLOWED(170, ID_A, ID_M) },
	{ "world->M tcp/5432 allowed by (M,ANY) rule 170", T4(IP_WORLD, IP_M, 40022, 5432),
	  ALLOWED(170, NETSEG_ID_WORLD, ID_M) },
	{ "A->M tcp/5433 -> default deny", T4(IP_A, IP_M, 40023, 5433),
	  DROP(NETSEG_REASON_DEFAULT_DENY), .rule = 0, .src = ID_A, .dst = ID_M },
	/* 5: port range 1000-1999 as prefixes: edges in and out */
	{ "A->N tcp/999 (below range) -> default deny", T4(IP_A, IP_N, 40024, 999),
	  DROP(NETSEG_REASON_DEFAULT_DENY), .rule = 0, .src = ID_A, .dst = ID_N },
	{ "A->N tcp/1000 (first port) allowed", T4(IP_A, IP_N, 40025, 1000),
	  ALLOWED(180, ID_A, ID_N) },
	{ "A->N tcp/1007 (end of 1000/13) allowed", T4(IP_A, IP_N, 40026, 1007),
	  ALLOWED(180, ID_A, ID_N) },
	{ "A->N tcp/1008 (start of 1008/12) allowed", T4(IP_A, IP_N, 40027, 1008),
	  ALLOWED(180, ID_A, ID_N) },
	{ "A->N tcp/1535 (end of 1024/7) allowed", T4(IP_A, IP_N, 40028, 1535),
	  ALLOWED(180, ID_A, ID_N) },
	{ "A->N tcp/1999 (last port) allowed", T4(IP_A, IP_N, 40029, 1999),
	  ALLOWED(180, ID_A, ID_N) },
	{ "A->N tcp/2000 (above range) -> default deny", T4(IP_A, IP_N, 40030, 2000),
	  DROP(NETSEG_REASON_DEFAULT_DENY), .rule = 0, .src = ID_A, .dst = ID_N },
	{ "A->N udp/1500: the range is TCP only -> default deny",
	  { .af = 4, .src = IP_A, .dst = IP_N, .proto = UDP, .sport = 40031, .dport = 1500 },
	  DROP(NETSEG_REASON_DEFAULT_DENY),
	  .rule = 0,
	  .src = ID_A,
	  .dst = ID_N },
	/* 6: ICMP types */
	{ "A->B icmp echo request (type 8) allowed by rule 190",
	  { .af = 4, .src = IP_A, .dst = IP_B, .proto = IPPROTO_ICMP, .sport = 7, .icmp_type = 8 },
	  ALLOWED(190, ID_A, ID_B) },
	{ "B->A icmp echo reply (type 0) passes via conntrack",
	  { .af = 4, .src = IP_B, .dst = IP_A, .proto = IPPROTO_ICMP, .sport = 7, .icmp_type = 0 },
	  .pass = true,
	  .stat = NETSEG_STAT_CT_HIT,
	  .keep_ct = true },
	{ "B->A icmp echo reply with no request seen -> default deny",
	  { .af = 4, .src = IP_B, .dst = IP_A, .proto = IPPROTO_ICMP, .sport = 8, .icmp_type = 0 },
	  DROP(NETSEG_REASON_DEFAULT_DENY),
	  .rule = 0,
	  .src = ID_B,
	  .dst = ID_A },
	{ "A->B icmp timestamp (type 13) denied by rule 191",
	  { .af = 4, .src = IP_A, .dst = IP_B, .proto = IPPROTO_ICMP, .icmp_type = 13 },
	  DROP(NETSEG_REASON_POLICY),
	  .rule = 191,
	  .src = ID_A,
	  .dst = ID_B },
	{ "A->B icmp dest-unreachable (type 3) -> default deny",
	  { .af = 4,
	    .src = IP_A,
	    .dst = IP_B,
	    .proto = IPPROTO_ICMP,
	    .icmp_type = 3,
	    .icmp_code = 1 },
	  DROP(NETSEG_REASON_DEFAULT_DENY),
	  .rule = 0,
	  .src = ID_A,
	  .dst = ID_B },
	{ "A->B icmpv6 echo request (128) allowed by rule 192",
	  { .af = 6,
	    .src = IP6_A,
	    .dst = IP6_B,
	    .proto = IPPROTO_ICMPV6,
	    .sport = 9,
	    .icmp_type = 128 },
	  ALLOWED(192, ID_A, ID_B) },
	{ "B->A icmpv6 echo reply (129) passes via conntrack",
	  { .af = 6,
	    .src = IP6_B,
	    .dst = IP6_A,
	    .proto = IPPROTO_ICMPV6,
	    .sport = 9,
	    .icmp_type = 129 },
	  .pass = true,
	  .stat = NETSEG_STAT_CT_HIT,
	  .keep_ct = true },
	{ "A->B icmpv6 packet-too-big (type 2) -> default deny",
	  { .af = 6, .src = IP6_A, .dst = IP6_B, .proto = IPPROTO_ICMPV6, .icmp_type = 2 },
	  DROP(NETSEG_REASON_DEFAULT_DENY),
	  .rule = 0,
	  .src = ID_A,
	  .dst = ID_B },
	{ "A->B icmp (v4) echo rule doesn't allow icmpv6 type 8",
	  { .af = 6,
	    .src = IP6_A,
	    .dst = IP6_B,
	    .proto = IPPROTO_ICMPV6,
	    .sport = 10,
	    .icmp_type = 8 },
	  DROP(NETSEG_REASON_DEFAULT_DENY),
	  .rule = 0,
	  .src = ID_A,
	  .dst = ID_B },
	/* 7: audit */
	/*
	 * Audit relaxes only the audit identity's own default deny: A's and
	 * C's default deny and every deny rule still drop.
	 */
	{ "A->AUD tcp/80: A's own default deny still applies -> drop", T4(IP_A, IP_AUD, 40032, 80),
	  DROP(NETSEG_REASON_DEFAULT_DENY), .rule = 0, .src = ID_A, .dst = ID_AUD },
	{ "AUD->C tcp/80: C's default deny isn't AUD's to relax -> drop",
	  T4(IP_AUD, IP_C, 40035, 80), DROP(NETSEG_REASON_DEFAULT_DENY), .rule = 0, .src = ID_AUD,
	  .dst = ID_C },
	{ "A->AUD tcp/22: deny rule 200 towards an audit identity -> drop",
	  T4(IP_A, IP_AUD, 40033, 22), DROP(NETSEG_REASON_POLICY), .rule = 200, .src = ID_A,
	  .dst = ID_AUD },
	{ "AUD->C tcp/22: deny * -> C:22 (rule 201) from an audit identity -> drop",
	  T4(IP_AUD, IP_C, 40036, 22), DROP(NETSEG_REASON_POLICY), .rule = 201, .src = ID_AUD,
	  .dst = ID_C },
	{ "AUD->world tcp/80: only AUD's default deny applies -> passes with audit event",
	  T4(IP_AUD, IP_WORLD, 40037, 80), .pass = true, .stat = NETSEG_STAT_PASS,
	  .ev = NETSEG_EV_AUDIT, .reason = NETSEG_REASON_DEFAULT_DENY, .rule = 0, .src = ID_AUD,
	  .dst = NETSEG_ID_WORLD },
	{ "AUD->AUD2 tcp/80: both default denies relaxed -> passes with audit event",
	  T4(IP_AUD, IP_AUD2, 40038, 80), .pass = true, .stat = NETSEG_STAT_PASS,
	  .ev = NETSEG_EV_AUDIT, .reason = NETSEG_REASON_DEFAULT_DENY, .rule = 0, .src = ID_AUD,
	  .dst = ID_AUD2 },
	{ "AUD2->AUD tcp/22: deny rule 200 doesn't match, both audit -> audit",
	  T4(IP_AUD2, IP_AUD, 40039, 22), .pass = true, .stat = NETSEG_STAT_PASS,
	  .ev = NETSEG_EV_AUDIT, .reason = NETSEG_REASON_DEFAULT_DENY, .rule = 0, .src = ID_AUD2,
	  .dst = ID_AUD },
	{ "A->B tcp/8444: audit allow 211 never overrides deny 212 -> drop",
	  T4(IP_A, IP_B, 40040, 8444), DROP(NETSEG_REASON_POLICY), .rule = 212, .src = ID_A,
	  .dst = ID_B },
	{ "A->B tcp/8443: audit-mode allow rule 210 -> passes with audit event",
	  T4(IP_A, IP_B, 40034, 8443), .pass = true, .stat = NETSEG_STAT_PASS,
	  .ev = NETSEG_EV_AUDIT, .reason = NETSEG_REASON_NONE, .rule = 210, .src = ID_A,
	  .dst = ID_B },
};

/* Follow-up checks on state a row left: CT fields and rule counters. */
static void check_ct_and_rule_stats(struct bpfx *x)
{
	struct pkt_flow f = T4(IP_A, IP_N, 40099, 1500);
	struct bpfx_row row = { "A->N tcp/1500 (inside 1024/7) allowed", f, PASS };
	struct netseg_ct_entry e;
	__u64 before = bpfx_rule_packets(x, 180);

	bpfx_row_run(x, &row, NULL);
	ok(!bpfx_ct_get(x, &f, &e) && e.verdict == NETSEG_VERDICT_ALLOW && e.rule_id == 180 &&
		   e.src_id == ID_A && e.dst_id == ID_N,
	   "range flow's CT entry records rule 180 and identities A->N");
	is_int(bpfx_rule_packets(x, 180) - before, 1, "rule 180's counter moved by one");

	f = (struct pkt_flow)T4(IP_AUD, IP_WORLD, 40098, 22);
	row = (struct bpfx_row){ "AUD->world tcp/22 again (audit)",
				 f,
				 .pass = true,
				 .stat = NETSEG_STAT_AUDIT,
				 .ev = NETSEG_EV_AUDIT,
				 .reason = NETSEG_REASON_DEFAULT_DENY,
				 .rule = 0,
				 .src = ID_AUD,
				 .dst = NETSEG_ID_WORLD };
	bpfx_row_run(x, &row, NULL);
	ok(!bpfx_ct_get(x, &f, &e) && e.verdict == NETSEG_VERDICT_AUDIT && e.rule_id == 0 &&
		   e.reason == NETSEG_REASON_DEFAULT_DENY && (e.flags & NETSEG_CTF_LOG),
	   "audited flow's CT entry: verdict AUDIT, default deny, log flag");
}

/*
 * 9: spoofing.  A veth end is A's endpoint interface; A's address is
 * registered on it.  Anything else arriving there (B's address, an
 * unknown one, A's address registered on another interface) is spoofed,
 * also when it would match a conntrack entry.
 */
static void check_spoofing(struct bpfx *x)
{
	int ifx = bpfx_veth("nsb-pod-a", "nsb-pod-a-p");
	struct netseg_prefix pfx;
	__u8 a2[16];

	if (ifx < 0)
		bail("couldn't create a veth pair in the test namespace: %s", strerror(-ifx));
	if (netseg_dp_endpoint_set(x->dp, ifx, ID_A))
		bail("couldn't map ifindex %d to identity A", ifx);
	bpfx_host(x, 4, IP_A, ID_A, ifx);
	pkt_addr(4, IP_A2, a2);
	netseg_dp_ipcache_set(x->dp, bpfx_prefix(&pfx, NETSEG_AF_INET, a2, 32), ID_A, 1);

	const struct bpfx_row rows[] = {
		{ "endpoint iface: A's own source -> B:443 allowed", T4(IP_A, IP_B, 41001, 443),
		  .ifindex = ifx, ALLOWED(100, ID_A, ID_B) },
		/* The spoof check comes before conntrack: no injecting into flows. */
		{ "endpoint iface: that flow's reply sent from A's iface as B -> SPOOFED",
		  { .af = 4,
		    .src = IP_B,
		    .dst = IP_A,
		    .proto = TCP,
		    .sport = 443,
		    .dport = 41001,
		    .tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK },
		  .ifindex = ifx,
		  DROP(NETSEG_REASON_SPOOFED),
		  .rule = 0,
		  .src = 0,
		  .dst = 0,
		  .keep_ct = true },
		{ "endpoint iface: B's address as source -> SPOOFED", T4(IP_B, IP_C, 41002, 443),
		  .ifindex = ifx, DROP(NETSEG_REASON_SPOOFED), .rule = 0, .src = 0, .dst = 0 },
		{ "endpoint iface: unknown source -> SPOOFED", T4("198.19.77.7", IP_B, 41003, 443),
		  .ifindex = ifx, DROP(NETSEG_REASON_SPOOFED), .rule = 0, .src = 0, .dst = 0 },
		{ "endpoint iface: A's address owned by another iface -> SPOOFED",
		  T4(IP_A2, IP_B, 41004, 443), .ifindex = ifx, DROP(NETSEG_REASON_SPOOFED),
		  .rule = 0, .src = 0, .dst = 0 },
		{ "non-endpoint iface (lo): A's source, same flow -> allowed",
		  T4(IP_A, IP_B, 41005, 443), ALLOWED(100, ID_A, ID_B) },
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++)
		bpfx_row_run(x, &rows[i], NULL);
	netseg_dp_endpoint_del(x->dp, ifx);
}

int main(void)
{
	struct bpfx x;

	bpfx_init(&x, "policy");
	for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
		bpfx_identity(&x, ids[i].id, ids[i].flags);
		bpfx_host(&x, 4, ids[i].v4, ids[i].id, 0);
		if (ids[i].v6)
			bpfx_host(&x, 6, ids[i].v6, ids[i].id, 0);
	}
	bpfx_host(&x, 4, IP_HOST, NETSEG_ID_HOST, 0);
	build_policy();
	bpfx_policy(&x, rules, nrules);

	for (size_t i = 0; i < ARRAY_LEN(table); i++)
		bpfx_row_run(&x, &table[i], NULL);
	check_ct_and_rule_stats(&x);
	check_spoofing(&x);
	bpfx_fini(&x);
	return tap_done();
}
