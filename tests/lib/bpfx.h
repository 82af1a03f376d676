/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fixture helpers for the BPF tier (tests/bpf): a private network
 * namespace, an unpinned datapath handle, frames through the real programs
 * with BPF_PROG_TEST_RUN, and the maps, counters and ring buffer records
 * each run left behind.
 *
 * A row runs through bpfx_send(): it drains the ring, snapshots the
 * counters, runs the frame, and returns the verdict, the counter deltas
 * and the events that row produced.  bpfx_expect() turns that into one TAP
 * point (verdict + the counter slot the verdict must have moved).
 */
#ifndef NETSEG_TEST_BPFX_H
#define NETSEG_TEST_BPFX_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include <netseg/abi.h>
#include "datapath.h"
#include "pkt.h"
#include "tap.h"

#define BPFX_EV_MAX 256

/* Test addresses: 198.18.0.0/15 and fd00::/8 only (benchmarking and
 * unique-local space, never routed off the test's namespaces). */
#define BPFX_ID_A 256 /* "frontend" */
#define BPFX_ID_B 257 /* "api" */
#define BPFX_ID_C 258 /* "db" */
#define BPFX_ID_D 259 /* audit-mode identity */

struct bpfx {
	struct netseg_dp *dp;
	struct ring_buffer *rb;
	struct netseg_event ev[BPFX_EV_MAX];
	size_t nev;
	size_t ev_overflow; /* records beyond BPFX_EV_MAX */
	/*
	 * Keep NETSEG_EV_FLOW_SEEN records (flow starts no rule logs, for the
	 * daemon's history) too.  Off by default: the tables are about what
	 * is decided and logged, and say "no event" of an unlogged allow.
	 */
	bool keep_seen;
	int cpu; /* the CPU this process is pinned to */
};

struct bpfx_result {
	int err; /* bpf_prog_test_run_opts: 0 or -errno */
	__u32 retval;
	bool pass; /* retval means "pass" for the hook */
	__u32 duration;
	struct netseg_counter delta[NETSEG_STAT_MAX];
	size_t nev;
	struct netseg_event ev[16];
};

/*
 * Root + BPF + private netns or Bail out.  Pins the process to one CPU (the
 * deny token bucket and the per-CPU maps are per CPU), brings lo up,
 * opens the datapath with nothing pinned, sets a generous deny-event rate
 * so rows never starve each other of events.
 */
void bpfx_init(struct bpfx *x, const char *test);
void bpfx_fini(struct bpfx *x);

/* veth pair inside the private netns; returns the first end's ifindex. */
int bpfx_veth(const char *name, const char *peer);

/* Hook return values. */
bool bpfx_is_pass(int hook, __u32 retval);
__u32 bpfx_ret(int hook, bool pass);
const char *bpfx_hook_name(int hook);

/* One run; ifindex 0 = lo (1). */
int bpfx_run(struct bpfx *x, int hook, const struct pkt *p, __u32 ifindex, int repeat,
	     __u32 *retval, __u32 *duration);
int bpfx_send(struct bpfx *x, int hook, const struct pkt *p, __u32 ifindex, struct bpfx_result *r);
/* diag lines: what a row did (verdict, counters moved, events). */
void bpfx_diag_result(const struct bpfx_result *r, bool pass, int stat);
void bpfx_diag_event(const struct netseg_event *e);
bool bpfx_event_is(const struct netseg_event *e, __u8 type, __u8 reason, __u32 rule_id,
		   __u32 src_id, __u32 dst_id);

/* Counters (summed over CPUs). */
int bpfx_counters(struct bpfx *x, struct netseg_counter out[NETSEG_STAT_MAX]);
/* Drains the ring into x->ev (appending); returns records read. */
size_t bpfx_events(struct bpfx *x);
void bpfx_events_clear(struct bpfx *x);

/* Conntrack: the key the datapath builds for a packet of flow f. */
bool bpfx_ct_key(const struct pkt_flow *f, struct netseg_ct_key *k);
/* The same from raw fields: addresses 16 bytes (v4 in the first 4), ports host order. */
bool bpfx_ct_key_of(int af, const __u8 src[16], const __u8 dst[16], __u16 sport, __u16 dport,
		    __u8 proto, struct netseg_ct_key *k);
/*
 * ICMP queries: the key's request type and requester side (abi.h), for a
 * packet of `type` whose pair starts with `request` (bpfx_icmp_request()).
 */
void bpfx_ct_key_icmp(struct netseg_ct_key *k, bool swapped, bool same_addr, __u8 type,
		      __u8 request);
__u8 bpfx_icmp_request(__u8 proto, __u8 type);
/* Entry for flow f (either direction); *swapped as in ct_make_key. */
int bpfx_ct_get(struct bpfx *x, const struct pkt_flow *f, struct netseg_ct_entry *e);
int bpfx_ct_count(struct bpfx *x);
void bpfx_ct_flush(struct bpfx *x);
void bpfx_frags_flush(struct bpfx *x);

/* Per-rule counter (summed over CPUs); 0 when absent. */
__u64 bpfx_rule_packets(struct bpfx *x, __u32 rule_id);
/* Prefilter entry hits for the entry matching addr. */
int bpfx_prefilter_hits(struct bpfx *x, int af, const char *addr, __u64 *hits);

/* ipcache entry for one host address (/32 or /128). */
void bpfx_host(struct bpfx *x, int af, const char *addr, __u32 id, __u32 ifindex);
/* @p filled from a NETSEG_AF_* family, address bytes and length; bails
 * out on a bad one.  Returns @p. */
const struct netseg_prefix *bpfx_prefix(struct netseg_prefix *p, int family, const void *addr,
					int plen);
void bpfx_identity(struct bpfx *x, __u32 id, __u32 flags);
/* bpfx_identity(id, ENDPOINT) plus the ipcache entries of its two addresses. */
void bpfx_endpoint(struct bpfx *x, __u32 id, const char *ip4, const char *ip6);

/*
 * A compiled policy entry built by hand (abi.h key layout).
 * proto < 0: identities only (prefixlen 72); port_bits 0: + protocol (80);
 * port_bits n: + the n high bits of `port` (80 + n).
 */
struct netseg_policy_entry bpfx_rule(__u32 src, __u32 dst, int proto, __u16 port, int port_bits,
				     __u8 verdict, __u32 rule_id, __u8 flags);
/* ICMP type rule: type in dport's high byte, 8 bits (code: 16). */
struct netseg_policy_entry bpfx_icmp_rule(__u32 src, __u32 dst, int proto, __u8 type, __u8 verdict,
					  __u32 rule_id);
/* Swaps the policy in; bails on failure (every later row would lie). */
__u64 bpfx_policy(struct bpfx *x, const struct netseg_policy_entry *e, size_t n);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * One TAP point: the run succeeded, passed or dropped as wanted, and the
 * counter slot `stat` moved by exactly one packet (NETSEG_STAT_PASS,
 * NETSEG_STAT_PASS_NON_IP, NETSEG_STAT_XDP_PASS or a drop reason).
 * stat < 0: don't check counters.  Inline: tap.h's counters are per
 * translation unit, so ok() must be called from the test's own.
 */
static inline bool bpfx_expect(const char *desc, const struct bpfx_result *r, bool pass, int stat)
{
	bool good = !r->err && r->pass == pass;

	if (good && stat >= 0)
		good = r->delta[stat].packets == 1;
	if (!ok(good, "%s", desc))
		bpfx_diag_result(r, pass, stat);
	return good;
}

/* One TAP point for the single event a row must have emitted. */
static inline bool bpfx_expect_event(const char *desc, const struct bpfx_result *r, __u8 type,
				     __u8 reason, __u32 rule_id, __u32 src_id, __u32 dst_id)
{
	bool good = r->nev == 1 && bpfx_event_is(&r->ev[0], type, reason, rule_id, src_id, dst_id);

	if (!ok(good, "%s: event", desc)) {
		diag("  want 1 event type=%u reason=%u rule=%u src_id=%u dst_id=%u, "
		     "got %zu",
		     type, reason, rule_id, src_id, dst_id, r->nev);
		for (size_t i = 0; i < r->nev; i++)
			bpfx_diag_event(&r->ev[i]);
	}
	return good;
}

/*
 * A table row (katran-fixture style): a flow, the hook it goes through, the
 * verdict, the counter slot it must move, and the one event it must emit
 * (ev = 0: it must emit none).
 */
struct bpfx_row {
	const char *desc;
	struct pkt_flow f;
	int hook;      /* 0 = NETSEG_HOOK_TC_INGRESS */
	__u32 ifindex; /* 0 = lo */
	bool pass;
	int stat; /* NETSEG_STAT_* / reason slot, +1 */
	__u8 ev;  /* NETSEG_EV_*, 0 = no event */
	__u8 reason;
	__u32 rule, src, dst;
	bool keep_ct; /* continues an earlier row's flow: no CT flush */
};

/*
 * Checks an event's packet fields against the flow that caused it.  Drops
 * for MALFORMED/IMPOSSIBLE headers stop parsing early: addresses only.
 */
bool bpfx_event_matches_flow(const struct netseg_event *e, const struct pkt_flow *f, int hook);

/* Runs one row: one TAP point, plus one for its event when ev != 0. */
static inline bool bpfx_row_run(struct bpfx *x, const struct bpfx_row *row, struct bpfx_result *res)
{
	int hook = row->hook ? row->hook : NETSEG_HOOK_TC_INGRESS;
	struct bpfx_result local;
	struct pkt p;
	bool good;

	if (!res)
		res = &local;
	if (!row->keep_ct)
		bpfx_ct_flush(x);
	pkt_flow_build(&p, &row->f);
	bpfx_send(x, hook, &p, row->ifindex, res);
	good = !res->err && res->pass == row->pass && res->delta[row->stat].packets == 1 &&
	       (row->ev || res->nev == 0);
	/* An allowed new flow: its CT entry must name the deciding rule. */
	if (good && row->pass && !row->ev && row->rule) {
		struct netseg_ct_entry e;

		good = !bpfx_ct_get(x, &row->f, &e) && e.rule_id == row->rule &&
		       e.src_id == row->src && e.dst_id == row->dst &&
		       e.verdict == NETSEG_VERDICT_ALLOW;
		if (!good)
			diag("  want a CT entry with rule %u, %u -> %u", row->rule, row->src,
			     row->dst);
	}
	if (!ok(good, "%s [%s]", row->desc, bpfx_hook_name(hook))) {
		bpfx_diag_result(res, row->pass, row->stat);
		if (!row->ev && res->nev)
			diag("  want no event, got %zu", res->nev);
	}
	if (!row->ev)
		return good;
	if (!ok(res->nev == 1 &&
			bpfx_event_is(&res->ev[0], row->ev, row->reason, row->rule, row->src,
				      row->dst) &&
			bpfx_event_matches_flow(&res->ev[0], &row->f, hook),
		"%s: event", row->desc)) {
		diag("  want 1 event type=%u reason=%u rule=%u src_id=%u dst_id=%u "
		     "with the frame's addresses/ports, got %zu",
		     row->ev, row->reason, row->rule, row->src, row->dst, res->nev);
		for (size_t i = 0; i < res->nev; i++)
			bpfx_diag_event(&res->ev[i]);
		return false;
	}
	return good;
}

#endif
