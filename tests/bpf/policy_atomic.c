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
#include <bpf/bpf.h>

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
static struct netseg_policy_entry sorted_x[FILLER + 2], sorted_y[FILLER + 2];

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

/*
 * The order netseg_compile() emits entries in: identity pair (dst, src),
 * then protocol, port, prefix length.  The swap diffs a slot's old and new
 * entries in that order and sorts only input that isn't in it, so the
 * swaps run twice: entries shuffled (each set its own way: sorted by the
 * swap) and in this order (taken as they come, as a compile's output is).
 */
static int compiler_order(const void *a, const void *b)
{
	const struct netseg_policy_key *x = &((const struct netseg_policy_entry *)a)->key;
	const struct netseg_policy_key *y = &((const struct netseg_policy_entry *)b)->key;

	if (x->dst_id != y->dst_id)
		return x->dst_id < y->dst_id ? -1 : 1;
	if (x->src_id != y->src_id)
		return x->src_id < y->src_id ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->dport != y->dport)
		return ntohs(x->dport) < ntohs(y->dport) ? -1 : 1;
	return x->prefixlen < y->prefixlen ? -1 : x->prefixlen > y->prefixlen;
}

/*
 * Entries of the map in force that aren't @want's (or hold another value),
 * plus @want's entries it lacks.  The probes can't see a stale entry that
 * agrees with them (X's exact pair left in a patched Y, say): this can.
 */
static long slot_diff(struct bpfx *x, const struct netseg_policy_entry *want, size_t n)
{
	struct netseg_policy_entry *w = malloc(n * sizeof(*w));
	struct netseg_policy_key k, next, *prev = NULL;
	struct netseg_policy_val v;
	struct netseg_config cfg;
	__u32 slot, id;
	long bad = 0, seen = 0;
	int fd;

	if (!w || netseg_dp_config_get(x->dp, &cfg))
		bail("couldn't read the config");
	slot = cfg.policy_flags & NETSEG_POL_SLOT1 ? 1 : 0;
	if (bpf_map_lookup_elem(netseg_dp_map_fd(x->dp, NETSEG_DPM_POLICY), &slot, &id))
		bail("no map in policy slot %u", slot);
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		bail("couldn't open policy map id %u", id);
	memcpy(w, want, n * sizeof(*w));
	qsort(w, n, sizeof(*w), compiler_order);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct netseg_policy_entry e = { .key = next };
		const struct netseg_policy_entry *m;

		k = next;
		prev = &k;
		seen++;
		m = bsearch(&e, w, n, sizeof(*w), compiler_order);
		if (!m || bpf_map_lookup_elem(fd, &k, &v) || memcmp(&v, &m->val, sizeof(v)))
			bad++;
	}
	close(fd);
	free(w);
	return bad + labs((long)n - seen);
}

/* Fisher-Yates with a fixed seed: each set in an order of its own. */
static void shuffle(struct netseg_policy_entry *e, size_t n, unsigned int seed)
{
	struct netseg_policy_entry t;

	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rand_r(&seed) % (i + 1);

		t = e[i];
		e[i] = e[j];
		e[j] = t;
	}
}

static void check_swaps(struct bpfx *x, const struct netseg_policy_entry *sx,
			const struct netseg_policy_entry *sy, const char *how)
{
	struct hammer h = { .x = x };
	int wrong_maps = 0;
	pthread_t t;
	long before;

	bpfx_policy(x, sx, FILLER + 2);
	if (pthread_create(&t, NULL, hammer_fn, &h))
		bail("couldn't start the lookup thread");
	while (atomic_load(&h.runs) < 100)
		sched_yield();
	before = atomic_load(&h.runs);
	for (int i = 0; i < SWAPS; i++) {
		bpfx_policy(x, i % 2 ? sx : sy, FILLER + 2);
		if (slot_diff(x, i % 2 ? sx : sy, FILLER + 2))
			wrong_maps++;
	}
	atomic_store(&h.stop, true);
	pthread_join(t, NULL);
	diag("%ld lookups during %d swaps of %d entries (%s)", h.runs - before, SWAPS, FILLER + 2,
	     how);
	ok(h.runs - before >= SWAPS, "lookups ran while the policy changed (%s)", how);
	if (!ok(h.bad == 0, "every verdict was the old or the new rule set's (%s)", how))
		diag("  %ld wrong verdicts, first: tcp/%ld retval %u", (long)h.bad, h.bad_port,
		     h.bad_retval);
	ok(wrong_maps == 0,
	   "after each swap the map in force holds exactly the new set (%s): %d of %d not", how,
	   wrong_maps, SWAPS);
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
	memcpy(sorted_x, set_x, sizeof(set_x));
	memcpy(sorted_y, set_y, sizeof(set_y));
	shuffle(sorted_x, FILLER + 2, 1);
	shuffle(sorted_y, FILLER + 2, 2);
	check_swaps(&x, sorted_x, sorted_y, "entries shuffled");
	qsort(sorted_x, FILLER + 2, sizeof(sorted_x[0]), compiler_order);
	qsort(sorted_y, FILLER + 2, sizeof(sorted_y[0]), compiler_order);
	check_swaps(&x, sorted_x, sorted_y, "entries in the compiler's order");
	check_one_change(&x);
	bpfx_fini(&x);
	return tap_done();
}
