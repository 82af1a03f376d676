// SPDX-License-Identifier: GPL-2.0-only
/*
 * The datapath's two clocks.  Per packet it reads the coarse clock
 * (CLOCK_MONOTONIC_COARSE, one tick): conntrack stamps come from it, so
 * they are never ahead of that clock read after the run.  Flow ids and
 * event times need the ns clock: flows opened within one tick on one CPU
 * still get distinct ids.
 */
#include <netinet/in.h>
#include <time.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A 256
#define ID_B 257
#define NFLOWS 20

static __u64 coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(void)
{
	struct netseg_policy_entry rule;
	struct netseg_ct_entry e[NFLOWS];
	struct pkt_flow f[NFLOWS];
	bool ahead = false, same = false, missing = false;
	__u64 after;
	struct pkt p;
	__u32 ret;
	struct bpfx x;

	bpfx_init(&x, "clock");
	bpfx_endpoint(&x, ID_A, "198.18.23.1", "fd00::23:1");
	bpfx_endpoint(&x, ID_B, "198.18.23.2", "fd00::23:2");
	rule = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 443, 16, NETSEG_VERDICT_ALLOW, 1, 0);
	bpfx_policy(&x, &rule, 1);
	/* Back to back: well within one tick of the coarse clock. */
	for (int i = 0; i < NFLOWS; i++) {
		f[i] = (struct pkt_flow){ .af = 4,
					  .src = "198.18.23.1",
					  .dst = "198.18.23.2",
					  .proto = IPPROTO_TCP,
					  .sport = 42000 + i,
					  .dport = 443,
					  .tcp_flags = PKT_TCP_SYN };
		pkt_flow_build(&p, &f[i]);
		if (bpfx_run(&x, NETSEG_HOOK_TC_INGRESS, &p, 0, 1, &ret, NULL))
			bail("couldn't run flow %d", i);
	}
	after = coarse_ns();
	for (int i = 0; i < NFLOWS; i++) {
		missing |= bpfx_ct_get(&x, &f[i], &e[i]) != 0;
		ahead |= e[i].created_ns > after || e[i].last_seen_ns > after;
		for (int j = 0; j < i; j++)
			same |= e[i].flow_id == e[j].flow_id;
	}
	ok(!missing, "%d new flows, each with a conntrack entry", NFLOWS);
	ok(!ahead,
	   "their stamps are the coarse clock's: none ahead of CLOCK_MONOTONIC_COARSE after");
	ok(!same, "their flow ids are distinct (the ns clock, not the tick)");
	bpfx_fini(&x);
	return tap_done();
}
