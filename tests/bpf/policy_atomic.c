// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy changes are atomic for packets: while the main thread swaps
 * between two large rule sets X and Y, a second thread pushes frames
 * through the real TC program (BPF_PROG_TEST_RUN) and every verdict must
 * be one that X or Y gives.  X and Y answer the probes the same way
 * through different entries and different wildcard lookups, so any
 * in-between state (a half-patched map, the new map read with the old
 * map's wildcard flags, a map rewritten while a packet still uses it)
 * shows up as a wrong verdict.  Then: one rule added/removed with 10k
 * entries loaded must not rebuild the map (timed, median printed).
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A BPFX_ID_A
#define ID_B BPFX_ID_B
#define IP_A "198.18.1.1"
#define IP_B "198.18.1.2"
#define FILLER 10000
#define SWAPS 60

#define ALLOW NETSEG_VERDICT_ALLOW
#define DENY NETSEG_VERDICT_DENY
#define ANY NETSEG_ID_ANY

static struct netseg_policy_entry set_x[FILLER + 2], set_y[FILLER + 2];

/*
 * X: A->B tcp/443 allowed by the exact pair, tcp/22 denied by the exact
 * pair, no wildcard.  Y: tcp/0-1023 allowed from ANY to B, tcp/0-31
 * denied ANY->ANY.  Both: 443 passes, 22 drops.  Fillers differ (ports),
 * so every change rewrites 2 x FILLER entries of the idle map.
 */
static void build_sets(void)
{
	for (int i = 0; i < FILLER; i++) {
		set_x[i] = bpfx_rule(1000 + i, ID_B, IPPROTO_TCP, 2000 + i % 50000, 16, ALLOW,
				     10 + i, 0);
		set_y[i] = bpfx_rule(1000 + i, ID_B, IPPROTO_UDP, 3000 + i % 50000, 16, ALLOW,
				     10 + i, 0);
	}
	set_x[FILLER] = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 443, 16, ALLOW, 1, 0);
	set_x[FILLER + 1] = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 22, 16, DENY, 2, 0);
	set_y[FILLER] = bpfx_rule(ANY, ID_B, IPPROTO_TCP, 0, 6, ALLOW, 3, 0);
	set_y[FILLER + 1] = bpfx_rule(ANY, ANY, IPPROTO_TCP, 0, 11, DENY, 4, 0);
}

struct hammer {
	struct bpfx *x;
	atomic_bool stop;
	atomic_long runs, bad;
	long bad_port;
	__u32 bad_retval;
};

/* Unpinned (bpfx_init pins the process): runs on the other core while
 * the main thread changes the policy. */
static void *hammer_fn(void *p)
{
	struct hammer *h = p;
	cpu_set_t all;
	__u16 sport = 1024;

	CPU_ZERO(&all);
	for (int c = 0; c < CPU_SETSIZE; c++)
		CPU_SET(c, &all);
	sched_setaffinity(0, sizeof(all), &all);
	while (!atomic_load(&h->stop)) {
		for (int probe = 0; probe < 2; probe++) {
			/* A fresh source port each time: a new flow, so a
			 * policy lookup rather than a conntrack hit. */
			struct pkt_flow f = { .af = 4,
					      .src = IP_A,
					      .dst = IP_B,
					      .proto = IPPROTO_TCP,
					      .sport = sport++,
					      .dport = probe ? 22 : 443,
					      .tcp_flags = 0x02 };
			__u32 ret;
			struct pkt pk;
			bool want = !probe;

			if (sport < 1024)
				sport = 1024;
			pkt_flow_build(&pk, &f);
			if (bpfx_run(h->x, NETSEG_HOOK_TC_INGRESS, &pk, 0, 1, &ret, NULL))
				continue;
			atomic_fetch_add(&h->runs, 1);
			if (bpfx_is_pass(NETSEG_HOOK_TC_INGRESS, ret) != want &&
			    atomic_fetch_add(&h->bad, 1) == 0) {
				h->bad_port = f.dport;
				h->bad_retval = ret;
			}
		}
	}
	return NULL;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void check_swaps(struct bpfx *x)
{
	struct hammer h = { .x = x };
	pthread_t t;
	long before;

	bpfx_policy(x, set_x, FILLER + 2);
	if (pthread_create(&t, NULL, hammer_fn, &h))
		bail("couldn't start the lookup thread");
	while (atomic_load(&h.runs) < 100)
		sched_yield();
	before = atomic_load(&h.runs);
	for (int i = 0; i < SWAPS; i++)
		bpfx_policy(x, i % 2 ? set_x : set_y, FILLER + 2);
	atomic_store(&h.stop, true);
	pthread_join(t, NULL);
	diag("%ld lookups during %d swaps of %d entries", h.runs - before, SWAPS, FILLER + 2);
	ok(h.runs - before >= SWAPS, "lookups ran while the policy changed");
	if (!ok(h.bad == 0, "every verdict was the old or the new rule set's"))
		diag("  %ld wrong verdicts, first: tcp/%ld retval %u", (long)h.bad, h.bad_port,
		     h.bad_retval);
}

static double median_change_ms(struct bpfx *x, int gap_us, double *max)
{
	double ms[20];

	for (int i = 0; i < 20; i++) {
		double t0;

		usleep(gap_us);
		t0 = now_ms();
		bpfx_policy(x, set_x, FILLER + 1 + (i % 2));
		ms[i] = now_ms() - t0;
	}
	qsort(ms, 20, sizeof(ms[0]), dbl_cmp);
	*max = ms[19];
	return ms[10];
}

/*
 * One rule in, one out, 10k loaded, changes 50 ms apart (a person or a
 * script with a client per change): patches the idle map, no rebuild and
 * no RCU wait on the path.  The bound is loose for a loaded machine; a
 * whole-map rebuild plus a map-in-map update (which waits for an RCU
 * grace period, 13-26 ms here) takes longer.  Back-to-back changes wait
 * for the previous flip's grace period: printed, not checked.
 */
static void check_one_change(struct bpfx *x)
{
	double med, max;

	set_x[FILLER + 1] = bpfx_rule(ID_A, ID_B, IPPROTO_UDP, 53, 16, ALLOW, 5, 0);
	med = median_change_ms(x, 0, &max);
	diag("one-rule change with %d entries, back to back: median %.2f ms, max %.2f ms", FILLER,
	     med, max);
	med = median_change_ms(x, 50000, &max);
	diag("one-rule change with %d entries, 50 ms apart: median %.2f ms, max %.2f ms", FILLER,
	     med, max);
	ok(med < 8.0, "one-rule change with %d entries: median %.2f ms < 8 ms", FILLER, med);
}

int main(void)
{
	struct bpfx x;

	bpfx_init(&x, "policy_atomic");
	bpfx_identity(&x, ID_A, NETSEG_IDF_ENDPOINT);
	bpfx_identity(&x, ID_B, NETSEG_IDF_ENDPOINT);
	bpfx_host(&x, 4, IP_A, ID_A, 0);
	bpfx_host(&x, 4, IP_B, ID_B, 0);
	build_sets();
	check_swaps(&x);
	check_one_change(&x);
	bpfx_fini(&x);
	return tap_done();
}
