// SPDX-License-Identifier: GPL-2.0-only
/*
 * Events (include/netseg/bpf/events.h): every field of a deny record,
 * flow-start records for --log rules and for NETSEG_CFG_LOG_ALLOWED, the
 * history-only flow-start (NETSEG_EV_FLOW_SEEN) of every other allowed
 * new flow within its own bucket, the per-CPU deny token bucket (burst,
 * then refill at `rate`, the rest counted as lost to the rate limit), and
 * records lost to a full ring counted as such.  Drops counted by reason
 * and direction (include/netseg/bpf/counters.h) at every hook.
 *
 * The process is pinned to one CPU (bpfx_init), so one bucket is in play.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A 256
#define ID_B 257
#define IP_A "198.18.6.1"
#define IP_B "198.18.6.2"
#define IP6_A "fd00::6:1"
#define IP6_B "fd00::6:2"

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void check_deny_record(struct bpfx *x)
{
	struct pkt_flow f = { .af = 4,
			      .src = IP_A,
			      .dst = IP_B,
			      .proto = IPPROTO_TCP,
			      .sport = 40000,
			      .dport = 23,
			      .tcp_flags = PKT_TCP_SYN | PKT_TCP_PSH };
	struct bpfx_result r;
	__u64 t0, t1;
	struct pkt p;
	__u8 a[16];

	pkt_flow_build(&p, &f);
	t0 = mono_ns();
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	t1 = mono_ns();
	bpfx_expect("A->B tcp/23 denied by rule 7", &r, false, NETSEG_REASON_POLICY);
	if (!ok(r.nev == 1, "exactly one record for the drop"))
		return;
	const struct netseg_event *e = &r.ev[0];
	ok(e->type == NETSEG_EV_DENY && e->reason == NETSEG_REASON_POLICY && e->rule_id == 7 &&
		   e->src_id == ID_A && e->dst_id == ID_B,
	   "record: type deny, reason policy, rule 7, ids A->B");
	ok(e->hook == NETSEG_HOOK_TC_INGRESS && e->ifindex == 1 && e->family == NETSEG_AF_INET &&
		   e->proto == IPPROTO_TCP && e->tcp_flags == (PKT_TCP_SYN | PKT_TCP_PSH) &&
		   e->pkt_len == p.len,
	   "record: hook, ifindex, family, proto, tcp flags, length %zu", p.len);
	pkt_addr(4, IP_A, a);
	ok(!memcmp(e->saddr, a, 16) && (pkt_addr(4, IP_B, a), !memcmp(e->daddr, a, 16)) &&
		   ntohs(e->sport) == 40000 && ntohs(e->dport) == 23,
	   "record: addresses and ports");
	ok(e->ts_ns >= t0 && e->ts_ns <= t1 && e->flow_id != 0 && e->pad == 0,
	   "record: timestamp within the run (CLOCK_MONOTONIC), flow id set");

	f = (struct pkt_flow){ .af = 6,
			       .src = IP6_A,
			       .dst = IP6_B,
			       .proto = IPPROTO_ICMPV6,
			       .sport = 99,
			       .icmp_type = 1,
			       .icmp_code = 4 };
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_EGRESS, &p, 0, &r);
	e = &r.ev[0];
	ok(r.nev == 1 && e->type == NETSEG_EV_DENY && e->reason == NETSEG_REASON_DEFAULT_DENY &&
		   e->rule_id == 0 && e->hook == NETSEG_HOOK_TC_EGRESS &&
		   e->family == NETSEG_AF_INET6 && e->proto == IPPROTO_ICMPV6 &&
		   e->icmp_type == 1 && e->icmp_code == 4 &&
		   (pkt_addr(6, IP6_B, a), !memcmp(e->daddr, a, 16)),
	   "v6 icmp unreachable record: default deny, egress, type/code, addresses");
}

static void check_flow_start(struct bpfx *x)
{
	struct pkt_flow f = { .af = 4,
			      .src = IP_A,
			      .dst = IP_B,
			      .proto = IPPROTO_TCP,
			      .sport = 40001,
			      .dport = 8000,
			      .tcp_flags = PKT_TCP_SYN };
	struct netseg_ct_entry e;
	struct bpfx_result r;
	struct pkt p;

	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 1 && r.ev[0].type == NETSEG_EV_FLOW_START && r.ev[0].rule_id == 8 &&
		   r.ev[0].reason == NETSEG_REASON_NONE && r.ev[0].src_id == ID_A &&
		   r.ev[0].dst_id == ID_B,
	   "--log rule 8: new flow emits one flow-start record");
	ok(!bpfx_ct_get(x, &f, &e) && r.nev == 1 && e.flow_id == r.ev[0].flow_id &&
		   (e.flags & NETSEG_CTF_LOG),
	   "flow-start record carries the CT entry's flow id; entry has the log flag");
	f.tcp_flags = PKT_TCP_ACK;
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 0, "second packet of the logged flow: no record");

	f = (struct pkt_flow){ .af = 4,
			       .src = IP_A,
			       .dst = IP_B,
			       .proto = IPPROTO_TCP,
			       .sport = 40002,
			       .dport = 443,
			       .tcp_flags = PKT_TCP_SYN };
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 0, "rule without --log: no flow-start record");

	netseg_dp_config_set_events(x->dp, 1000000, 1000000, NETSEG_CFG_LOG_ALLOWED);
	f.sport = 40003;
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 1 && r.ev[0].type == NETSEG_EV_FLOW_START && r.ev[0].rule_id == 9,
	   "NETSEG_CFG_LOG_ALLOWED: every new allowed flow emits flow-start");
	netseg_dp_config_set_events(x->dp, 1000000, 1000000, 0);
}

/*
 * Allowed new flows no rule logs: one NETSEG_EV_FLOW_SEEN record (the
 * daemon keeps it for `observe`, no sink gets it), never for a flow's
 * later packets nor beside a logged flow-start; past NETSEG_SEEN_BURST at
 * once, counted as left out.
 */
static void check_seen(struct bpfx *x)
{
	struct netseg_counter c0[NETSEG_STAT_MAX], c1[NETSEG_STAT_MAX];
	struct pkt_flow f = { .af = 4,
			      .src = IP_A,
			      .dst = IP_B,
			      .proto = IPPROTO_TCP,
			      .sport = 40020,
			      .dport = 443,
			      .tcp_flags = PKT_TCP_SYN };
	const int n = 2 * NETSEG_SEEN_BURST;
	struct netseg_ct_entry e;
	struct bpfx_result r;
	size_t nev, bad = 0;
	struct timespec tick;
	__u64 t0, t1, most;
	struct pkt p;
	__u32 ret;

	x->keep_seen = true;
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 1 && r.ev[0].type == NETSEG_EV_FLOW_SEEN && r.ev[0].rule_id == 9 &&
		   r.ev[0].src_id == ID_A && r.ev[0].dst_id == ID_B &&
		   bpfx_event_matches_flow(&r.ev[0], &f, NETSEG_HOOK_TC_INGRESS),
	   "rule 9 without --log: the new flow emits one history-only flow-start");
	ok(!bpfx_ct_get(x, &f, &e) && e.flow_id == r.ev[0].flow_id && !(e.flags & NETSEG_CTF_LOG),
	   "it carries the CT entry's flow id; the entry is not marked logged (no end record)");
	f.tcp_flags = PKT_TCP_ACK;
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 0, "the flow's next packet: no record");
	f = (struct pkt_flow){ .af = 4,
			       .src = IP_A,
			       .dst = IP_B,
			       .proto = IPPROTO_TCP,
			       .sport = 40021,
			       .dport = 8000,
			       .tcp_flags = PKT_TCP_SYN };
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 1 && r.ev[0].type == NETSEG_EV_FLOW_START,
	   "--log rule 8: the logged flow-start alone, no second record");
	f.dport = 23;
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(!r.pass && r.nev == 1 && r.ev[0].type == NETSEG_EV_DENY,
	   "a denied flow: the deny alone");

	/* A storm of new flows: the burst, what refills meanwhile, the rest counted. */
	usleep(300000); /* the bucket refills to its burst */
	f = (struct pkt_flow){ .af = 4,
			       .src = IP_A,
			       .dst = IP_B,
			       .proto = IPPROTO_TCP,
			       .dport = 443,
			       .tcp_flags = PKT_TCP_SYN };
	bpfx_events_clear(x);
	bpfx_counters(x, c0);
	t0 = mono_ns();
	for (int i = 0; i < n; i++) {
		f.sport = 30000 + i;
		pkt_flow_build(&p, &f);
		bad += bpfx_run(x, NETSEG_HOOK_TC_INGRESS, &p, 0, 1, &ret, NULL) ||
		       ret == TC_ACT_SHOT;
	}
	t1 = mono_ns();
	bpfx_counters(x, c1);
	nev = bpfx_events(x);
	/* The bucket reads the coarse clock: up to one of its ticks more than
	 * the run took may count as refill time. */
	clock_getres(CLOCK_MONOTONIC_COARSE, &tick);
	most = NETSEG_SEEN_BURST +
	       (t1 - t0 + tick.tv_sec * 1000000000ULL + tick.tv_nsec) * NETSEG_SEEN_RATE /
		       1000000000ULL +
	       1;
	if (!ok(!bad && nev >= NETSEG_SEEN_BURST && nev <= most,
		"%d new flows at once: %zu records (burst %d, at most %llu with the refill)", n,
		nev, NETSEG_SEEN_BURST, (unsigned long long)most))
		diag("  %zu packets dropped; the run took %llu ns", (size_t)bad,
		     (unsigned long long)(t1 - t0));
	is_int(c1[NETSEG_STAT_EV_LOST_SEEN].packets - c0[NETSEG_STAT_EV_LOST_SEEN].packets, n - nev,
	       "the other %zu counted as left out (events-lost-unlogged-allowed)", n - nev);
	is_int(c1[NETSEG_STAT_EV_LOST_RATE].packets - c0[NETSEG_STAT_EV_LOST_RATE].packets, 0,
	       "the deny bucket is untouched");
	bpfx_ct_flush(x);
	x->keep_seen = false;
}

/*
 * Drops by direction: towards the endpoint the hook guards (or the node on
 * an uplink) is ingress.  lo is no endpoint: uplink-like.  A pod's veth at
 * TC ingress carries what the pod sends: egress; a malformed frame there
 * is dropped before the interface lookup and still counts as egress.
 */
static void check_drop_direction(struct bpfx *x)
{
	struct netseg_counter in0[NETSEG_REASON_MAX], out0[NETSEG_REASON_MAX];
	struct netseg_counter in1[NETSEG_REASON_MAX], out1[NETSEG_REASON_MAX];
	struct netseg_counter c0[NETSEG_STAT_MAX], c1[NETSEG_STAT_MAX];
	struct pkt_flow deny = { .af = 4,
				 .src = IP_A,
				 .dst = IP_B,
				 .proto = IPPROTO_TCP,
				 .sport = 40030,
				 .dport = 23,
				 .tcp_flags = PKT_TCP_SYN };
	struct pkt_flow back = { .af = 4,
				 .src = IP_B,
				 .dst = IP_A,
				 .proto = IPPROTO_TCP,
				 .sport = 40031,
				 .dport = 9999,
				 .tcp_flags = PKT_TCP_SYN };
	int ifx = bpfx_veth("nsb-ev-a", "nsb-ev-a-p");
	struct netseg_prefix pfx;
	struct pkt pd, pb, pm;
	__u8 a[16];

	if (ifx < 0 || netseg_dp_endpoint_set(x->dp, ifx, ID_A))
		bail("couldn't make a veth A's endpoint interface");
	pkt_addr(4, IP_A, a);
	netseg_dp_ipcache_set(x->dp, bpfx_prefix(&pfx, NETSEG_AF_INET, a, 32), ID_A, ifx);
	pkt_flow_build(&pd, &deny);
	pkt_flow_build(&pb, &back);
	pm = pd;
	pkt_truncate(&pm, 14 + 20 + 10); /* the TCP header cut short */
	const struct {
		const char *desc;
		int hook;
		__u32 ifindex;
		const struct pkt *p;
		int reason;
		bool out;
	} rows[] = {
		{ "XDP (uplinks only): ingress", NETSEG_HOOK_XDP, 0, &pd, NETSEG_REASON_POLICY,
		  false },
		{ "TC ingress on lo (no endpoint): ingress", NETSEG_HOOK_TC_INGRESS, 0, &pd,
		  NETSEG_REASON_POLICY, false },
		{ "TC egress on lo: egress", NETSEG_HOOK_TC_EGRESS, 0, &pd, NETSEG_REASON_POLICY,
		  true },
		{ "cgroup ingress: ingress", NETSEG_HOOK_CG_INGRESS, 0, &pd, NETSEG_REASON_POLICY,
		  false },
		{ "cgroup egress: egress", NETSEG_HOOK_CG_EGRESS, 0, &pd, NETSEG_REASON_POLICY,
		  true },
		{ "TC ingress on A's veth (A sends): egress", NETSEG_HOOK_TC_INGRESS, ifx, &pd,
		  NETSEG_REASON_POLICY, true },
		{ "TC egress on A's veth (to A, no rule): ingress", NETSEG_HOOK_TC_EGRESS, ifx, &pb,
		  NETSEG_REASON_DEFAULT_DENY, false },
		{ "malformed at TC ingress on A's veth: egress", NETSEG_HOOK_TC_INGRESS, ifx, &pm,
		  NETSEG_REASON_MALFORMED, true },
		{ "malformed at TC egress on A's veth: ingress", NETSEG_HOOK_TC_EGRESS, ifx, &pm,
		  NETSEG_REASON_MALFORMED, false },
	};

	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		__u64 din = 0, dout = 0, want_len = rows[i].p->len;
		__u32 ret;
		int err;

		bpfx_ct_flush(x);
		if (netseg_dp_read_drops(x->dp, in0, out0) || bpfx_counters(x, c0))
			bail("couldn't read the counters");
		err = bpfx_run(x, rows[i].hook, rows[i].p, rows[i].ifindex, 1, &ret, NULL);
		if (netseg_dp_read_drops(x->dp, in1, out1) || bpfx_counters(x, c1))
			bail("couldn't read the counters");
		bpfx_events_clear(x);
		for (int r = 0; r < NETSEG_REASON_MAX; r++) {
			din += in1[r].packets - in0[r].packets;
			dout += out1[r].packets - out0[r].packets;
		}
		struct netseg_counter *want = rows[i].out ? out1 : in1;
		struct netseg_counter *was = rows[i].out ? out0 : in0;
		int rs = rows[i].reason;

		if (rows[i].hook == NETSEG_HOOK_CG_INGRESS || rows[i].hook == NETSEG_HOOK_CG_EGRESS)
			want_len -= 14; /* cgroup programs see the packet from the IP header */
		if (!ok(!err && !bpfx_is_pass(rows[i].hook, ret) && din + dout == 1 &&
				want[rs].packets - was[rs].packets == 1 &&
				want[rs].bytes - was[rs].bytes == want_len &&
				c1[rs].packets - c0[rs].packets == 1,
			"drop counted by direction: %s (%s)", rows[i].desc, netseg_reason_name(rs)))
			diag("  err %d ret %u: ingress +%llu, egress +%llu, %s +%llu", err, ret,
			     (unsigned long long)din, (unsigned long long)dout,
			     netseg_reason_name(rs),
			     (unsigned long long)(c1[rs].packets - c0[rs].packets));
	}
	netseg_dp_ipcache_set(x->dp, bpfx_prefix(&pfx, NETSEG_AF_INET, a, 32), ID_A, 0);
	netseg_dp_endpoint_del(x->dp, ifx);
}

/* Item 12: rate 1/s, burst 5: 50 denies -> 5 records, 45 counted lost. */
static void check_token_bucket(struct bpfx *x)
{
	struct netseg_counter c0[NETSEG_STAT_MAX], c1[NETSEG_STAT_MAX];
	struct pkt_flow f = { .af = 4,
			      .src = IP_A,
			      .dst = IP_B,
			      .proto = IPPROTO_UDP,
			      .sport = 40010,
			      .dport = 9 };
	size_t bad = 0, nev;
	__u64 t0, t1, want;
	__u32 ret;
	struct pkt p;

	if (netseg_dp_config_set_events(x->dp, 1, 5, 0))
		bail("couldn't set the deny event rate");
	pkt_flow_build(&p, &f);
	bpfx_events_clear(x);
	bpfx_counters(x, c0);
	t0 = mono_ns();
	for (int i = 0; i < 50; i++)
		bad += bpfx_run(x, NETSEG_HOOK_TC_INGRESS, &p, 0, 1, &ret, NULL) ||
		       ret != TC_ACT_SHOT;
	t1 = mono_ns();
	bpfx_counters(x, c1);
	nev = bpfx_events(x);
	/* The bucket starts full (5) and refills 1/s while we run. */
	want = 5 + (t1 - t0) / 1000000000ULL;
	ok(!bad && c1[NETSEG_REASON_DEFAULT_DENY].packets -
				   c0[NETSEG_REASON_DEFAULT_DENY].packets ==
			   50,
	   "50 denied packets dropped and counted");
	if (!is_int(nev, want, "rate 1/s burst 5: %llu deny records in the ring",
		    (unsigned long long)want))
		diag("  (runs took %llu ns)", (unsigned long long)(t1 - t0));
	is_int(c1[NETSEG_STAT_EV_LOST_RATE].packets - c0[NETSEG_STAT_EV_LOST_RATE].packets,
	       50 - want, "the other %llu counted as lost to the rate limit",
	       (unsigned long long)(50 - want));
	is_int(c1[NETSEG_STAT_EV_SENT].packets - c0[NETSEG_STAT_EV_SENT].packets, want,
	       "events-sent counts the records written");

	/* Refill: after >= 2 s idle, two more tokens (burst cap 5).  The
	 * bucket reads the coarse clock, up to a tick behind: 2 s and a margin. */
	usleep(2100000);
	bpfx_events_clear(x);
	t0 = mono_ns();
	bpfx_run(x, NETSEG_HOOK_TC_INGRESS, &p, 0, 10, &ret, NULL);
	t1 = mono_ns();
	nev = bpfx_events(x);
	ok(nev >= 2 && nev <= 3,
	   "after 2 s idle at 1/s: %zu records for 10 denies "
	   "(2, or 3 if the run crossed a second)",
	   nev);

	/* rate 0: no deny records at all. */
	netseg_dp_config_set_events(x->dp, 0, 5, 0);
	sleep(1);
	bpfx_events_clear(x);
	bpfx_counters(x, c0);
	bpfx_run(x, NETSEG_HOOK_TC_INGRESS, &p, 0, 20, &ret, NULL);
	bpfx_counters(x, c1);
	ok(bpfx_events(x) == 0 &&
		   c1[NETSEG_STAT_EV_LOST_RATE].packets - c0[NETSEG_STAT_EV_LOST_RATE].packets ==
			   20,
	   "deny rate 0: no records, all 20 counted as rate-limited");
	(void)t0;
	(void)t1;
}

/* Records lost to a full ring are counted, and nothing is lost silently. */
static void check_ring_full(struct bpfx *x)
{
	struct netseg_counter c0[NETSEG_STAT_MAX], c1[NETSEG_STAT_MAX];
	struct pkt_flow f = { .af = 4,
			      .src = IP_A,
			      .dst = IP_B,
			      .proto = IPPROTO_UDP,
			      .sport = 40011,
			      .dport = 9 };
	const int n = 2 * NETSEG_EVENTS_SIZE / sizeof(struct netseg_event);
	__u64 sent, lost, read = 0;
	__u32 ret;
	struct pkt p;

	netseg_dp_config_set_events(x->dp, 4000000000U, 4000000000U, 0);
	pkt_flow_build(&p, &f);
	bpfx_events_clear(x);
	bpfx_counters(x, c0);
	if (bpfx_run(x, NETSEG_HOOK_TC_INGRESS, &p, 0, n, &ret, NULL))
		bail("couldn't run %d denies", n);
	bpfx_counters(x, c1);
	sent = c1[NETSEG_STAT_EV_SENT].packets - c0[NETSEG_STAT_EV_SENT].packets;
	lost = c1[NETSEG_STAT_EV_LOST_RING].packets - c0[NETSEG_STAT_EV_LOST_RING].packets;
	for (size_t got; (got = bpfx_events(x)) || x->ev_overflow;) {
		read += got + x->ev_overflow;
		x->nev = 0;
		x->ev_overflow = 0;
	}
	ok(lost > 0 && sent + lost == (__u64)n,
	   "%d denies into a %u-byte ring: %llu written + %llu counted lost to a full ring", n,
	   NETSEG_EVENTS_SIZE, (unsigned long long)sent, (unsigned long long)lost);
	is_int(read, sent, "every record counted as sent was in the ring");
	netseg_dp_config_set_events(x->dp, 1000000, 1000000, 0);
}

int main(void)
{
	struct netseg_policy_entry rules[4];
	struct bpfx x;

	bpfx_init(&x, "events");
	bpfx_endpoint(&x, ID_A, IP_A, IP6_A);
	bpfx_endpoint(&x, ID_B, IP_B, IP6_B);
	rules[0] = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 23, 16, NETSEG_VERDICT_DENY, 7, 0);
	rules[1] = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 8000, 16, NETSEG_VERDICT_ALLOW, 8,
			     NETSEG_RULEF_LOG);
	rules[2] = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 443, 16, NETSEG_VERDICT_ALLOW, 9, 0);
	bpfx_policy(&x, rules, 3);

	check_deny_record(&x);
	check_flow_start(&x);
	check_seen(&x);
	check_drop_direction(&x);
	check_token_bucket(&x);
	check_ring_full(&x);
	bpfx_fini(&x);
	return tap_done();
}
