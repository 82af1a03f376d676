// SPDX-License-Identifier: GPL-2.0-only
/*
 * Events (include/netseg/bpf/events.h): every field of a deny record,
 * flow-start records for --log rules and for NETSEG_CFG_LOG_ALLOWED, the
 * per-CPU deny token bucket (burst, then refill at `rate`, the rest counted
 * as lost to the rate limit), and records lost to a full ring counted as
 * such.
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
	struct pkt_flow f = { .af = 4, .src = IP_A, .dst = IP_B, .proto = IPPROTO_TCP,
			      .sport = 40000, .dport = 23,
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
	ok(e->type == NETSEG_EV_DENY && e->reason == NETSEG_REASON_POLICY &&
		   e->rule_id == 7 && e->src_id == ID_A && e->dst_id == ID_B,
	   "record: type deny, reason policy, rule 7, ids A->B");
	ok(e->hook == NETSEG_HOOK_TC_INGRESS && e->ifindex == 1 &&
		   e->family == NETSEG_AF_INET && e->proto == IPPROTO_TCP &&
		   e->tcp_flags == (PKT_TCP_SYN | PKT_TCP_PSH) && e->pkt_len == p.len,
	   "record: hook, ifindex, family, proto, tcp flags, length %zu", p.len);
	pkt_addr(4, IP_A, a);
	ok(!memcmp(e->saddr, a, 16) && (pkt_addr(4, IP_B, a), !memcmp(e->daddr, a, 16)) &&
		   ntohs(e->sport) == 40000 && ntohs(e->dport) == 23,
	   "record: addresses and ports");
	ok(e->ts_ns >= t0 && e->ts_ns <= t1 && e->flow_id != 0 && e->pad == 0,
	   "record: timestamp within the run (CLOCK_MONOTONIC), flow id set");

	f = (struct pkt_flow){ .af = 6, .src = IP6_A, .dst = IP6_B, .proto = IPPROTO_ICMPV6,
			       .sport = 99, .icmp_type = 1, .icmp_code = 4 };
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_EGRESS, &p, 0, &r);
	e = &r.ev[0];
	ok(r.nev == 1 && e->type == NETSEG_EV_DENY &&
		   e->reason == NETSEG_REASON_DEFAULT_DENY && e->rule_id == 0 &&
		   e->hook == NETSEG_HOOK_TC_EGRESS && e->family == NETSEG_AF_INET6 &&
		   e->proto == IPPROTO_ICMPV6 && e->icmp_type == 1 && e->icmp_code == 4 &&
		   (pkt_addr(6, IP6_B, a), !memcmp(e->daddr, a, 16)),
	   "v6 icmp unreachable record: default deny, egress, type/code, addresses");
}

static void check_flow_start(struct bpfx *x)
{
	struct pkt_flow f = { .af = 4, .src = IP_A, .dst = IP_B, .proto = IPPROTO_TCP,
			      .sport = 40001, .dport = 8000, .tcp_flags = PKT_TCP_SYN };
	struct netseg_ct_entry e;
	struct bpfx_result r;
	struct pkt p;

	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 1 && r.ev[0].type == NETSEG_EV_FLOW_START &&
		   r.ev[0].rule_id == 8 && r.ev[0].reason == NETSEG_REASON_NONE &&
		   r.ev[0].src_id == ID_A && r.ev[0].dst_id == ID_B,
	   "--log rule 8: new flow emits one flow-start record");
	ok(!bpfx_ct_get(x, &f, &e) && r.nev == 1 && e.flow_id == r.ev[0].flow_id &&
		   (e.flags & NETSEG_CTF_LOG),
	   "flow-start record carries the CT entry's flow id; entry has the log flag");
	f.tcp_flags = PKT_TCP_ACK;
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 0, "second packet of the logged flow: no record");

	f = (struct pkt_flow){ .af = 4, .src = IP_A, .dst = IP_B, .proto = IPPROTO_TCP,
			       .sport = 40002, .dport = 443, .tcp_flags = PKT_TCP_SYN };
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 0, "rule without --log: no flow-start record");

	netseg_dp_config_set_events(x->dp, 1000000, 1000000, NETSEG_CFG_LOG_ALLOWED);
	f.sport = 40003;
	pkt_flow_build(&p, &f);
	bpfx_send(x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	ok(r.pass && r.nev == 1 && r.ev[0].type == NETSEG_EV_FLOW_START &&
		   r.ev[0].rule_id == 9,
	   "NETSEG_CFG_LOG_ALLOWED: every new allowed flow emits flow-start");
	netseg_dp_config_set_events(x->dp, 1000000, 1000000, 0);
}

/* Item 12: rate 1/s, burst 5: 50 denies -> 5 records, 45 counted lost. */
static void check_token_bucket(struct bpfx *x)
{
	struct netseg_counter c0[NETSEG_STAT_MAX], c1[NETSEG_STAT_MAX];
	struct pkt_flow f = { .af = 4, .src = IP_A, .dst = IP_B, .proto = IPPROTO_UDP,
			      .sport = 40010, .dport = 9 };
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
				   c0[NETSEG_REASON_DEFAULT_DENY].packets == 50,
	   "50 denied packets dropped and counted");
	if (!is_int(nev, want, "rate 1/s burst 5: %llu deny records in the ring",
		    (unsigned long long)want))
		diag("  (runs took %llu ns)", (unsigned long long)(t1 - t0));
	is_int(c1[NETSEG_STAT_EV_LOST_RATE].packets - c0[NETSEG_STAT_EV_LOST_RATE].packets,
	       50 - want, "the other %llu counted as lost to the rate limit",
	       (unsigned long long)(50 - want));
	is_int(c1[NETSEG_STAT_EV_SENT].packets - c0[NETSEG_STAT_EV_SENT].packets, want,
	       "events-sent counts the records written");

	/* Refill: after >= 2 s idle, two more tokens (burst cap 5). */
	sleep(2);
	bpfx_events_clear(x);
	t0 = mono_ns();
	bpfx_run(x, NETSEG_HOOK_TC_INGRESS, &p, 0, 10, &ret, NULL);
	t1 = mono_ns();
	nev = bpfx_events(x);
	ok(nev >= 2 && nev <= 3, "after 2 s idle at 1/s: %zu records for 10 denies "
	   "(2, or 3 if the run crossed a second)", nev);

	/* rate 0: no deny records at all. */
	netseg_dp_config_set_events(x->dp, 0, 5, 0);
	sleep(1);
	bpfx_events_clear(x);
	bpfx_counters(x, c0);
	bpfx_run(x, NETSEG_HOOK_TC_INGRESS, &p, 0, 20, &ret, NULL);
	bpfx_counters(x, c1);
	ok(bpfx_events(x) == 0 && c1[NETSEG_STAT_EV_LOST_RATE].packets -
					   c0[NETSEG_STAT_EV_LOST_RATE].packets == 20,
	   "deny rate 0: no records, all 20 counted as rate-limited");
	(void)t0;
	(void)t1;
}

/* Records lost to a full ring are counted, and nothing is lost silently. */
static void check_ring_full(struct bpfx *x)
{
	struct netseg_counter c0[NETSEG_STAT_MAX], c1[NETSEG_STAT_MAX];
	struct pkt_flow f = { .af = 4, .src = IP_A, .dst = IP_B, .proto = IPPROTO_UDP,
			      .sport = 40011, .dport = 9 };
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
	   "%d denies into a %u-byte ring: %llu written + %llu counted lost to a full ring",
	   n, NETSEG_EVENTS_SIZE, (unsigned long long)sent, (unsigned long long)lost);
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
	check_token_bucket(&x);
	check_ring_full(&x);
	bpfx_fini(&x);
	return tap_done();
}
