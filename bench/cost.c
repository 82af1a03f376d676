// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/cost: netseg's per-packet cost per path, with the benchmark's rule
 * model at each rule count (the method of tests/bpf/cost.c).
 *
 *   cost [-r "10 100 ..."] [-n REPEAT] [-p PODS]
 *
 * -p adds PODS more /32 ipcache entries (198.18.64.0 on, up to 16384): a
 * node's ipcache holds every pod of the cluster, and lookups cost more in
 * a bigger map.
 *
 * Prints CSV rows `cost,PATH,RULES,NS_PER_PACKET` on stdout.
 *
 * Method: BPF_PROG_TEST_RUN's `duration` is the kernel's own time per run
 * averaged over `repeat`, without the syscall.  A path one frame can take
 * over and over (XDP early drop, CT hits) is measured with a big repeat.
 * A new flow needs a fresh 5-tuple per packet, which repeat can't give, so
 * the new-flow path is measured as single runs with distinct tuples, minus
 * single runs of the established path (their difference is what creating
 * the flow costs), plus the established repeat figure.  Each figure is
 * the best of three.
 *
 * The datapath is opened unpinned in a private network namespace, with
 * the daemon's defaults (deny events on, rate-limited): the maps and
 * programs go away with the process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#include "compile.h"
#include "datapath.h"
#include "log.h"
#include "frame.h"

#define ID_POD 256
#define SINGLES 2000
#define TRIES 3	  /* each figure is the best of this many measurements */
#define NCIDR 256 /* source networks: 198.19.0.0/24 .. 198.19.255.0/24 */

struct ids {
	char cidr[NCIDR][32];
};

static int resolve(const char *sel, __u32 *id, void *ctx)
{
	struct ids *ids = ctx;

	if (!strcmp(sel, "pod"))
		return *id = ID_POD, 0;
	for (int j = 0; j < NCIDR; j++)
		if (!strcmp(sel, ids->cidr[j]))
			return *id = NETSEG_ID_USER_MIN + 1 + j, 0;
	return -ENOENT;
}

/* The rule model of bench/scenarios/lib.sh: rule i allows
 * 198.19.(i % 256).0/24 -> pod on udp 1000 + i / 256. */
static int load_policy(struct netseg_dp *dp, struct ids *ids, size_t n)
{
	struct netseg_resolver res = { .resolve = resolve, .ctx = ids };
	struct netseg_rule *rules = calloc(n, sizeof(*rules));
	struct netseg_policy pol = {};
	struct netseg_err err = {};
	int ret;

	if (!rules)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		netseg_rule_init(&rules[i]);
		rules[i].id = i + 1;
		rules[i].action = NETSEG_VERDICT_ALLOW;
		rules[i].proto = IPPROTO_UDP;
		rules[i].nports = 1;
		rules[i].ports[0].lo = rules[i].ports[0].hi = 1000 + i / 256;
		snprintf(rules[i].src, sizeof(rules[i].src), "%s", ids->cidr[i % NCIDR]);
		snprintf(rules[i].dst, sizeof(rules[i].dst), "pod");
	}
	ret = netseg_compile(rules, n, &res, 0, &pol, &err);
	if (ret)
		fprintf(stderr, "error: compiling %zu rules: %s\n", n, err.msg);
	else
		ret = netseg_dp_policy_swap(dp, pol.v, pol.n, NULL);
	netseg_policy_free(&pol);
	free(rules);
	return ret;
}

static int load_identities(struct netseg_dp *dp, struct ids *ids, __u32 pods)
{
	struct netseg_prefix p;
	__u8 a[16] = {};
	int err;

	err = netseg_dp_identity_set(dp, ID_POD, NETSEG_IDF_ENDPOINT);
	/* The runs arrive on ifindex 1; the bench attaches its node's uplink,
	 * so its checks (anti-spoofing) are part of the cost. */
	err = err ?: netseg_dp_uplink_set(dp, 1);
	inet_pton(AF_INET, "198.18.1.2", a);
	err = err ?: netseg_prefix_set(&p, NETSEG_AF_INET, a, 32);
	err = err ?: netseg_dp_ipcache_set(dp, &p, ID_POD, 0);
	for (int j = 0; !err && j < NCIDR; j++) {
		snprintf(ids->cidr[j], sizeof(ids->cidr[j]), "198.19.%d.0/24", j);
		a[0] = 198, a[1] = 19, a[2] = j, a[3] = 0;
		err = netseg_prefix_set(&p, NETSEG_AF_INET, a, 24);
		err = err ?: netseg_dp_ipcache_set(dp, &p, NETSEG_ID_USER_MIN + 1 + j, 0);
	}
	for (__u32 i = 0; !err && i < pods && i < 16384; i++) {
		a[0] = 198, a[1] = 18, a[2] = 64 + i / 256, a[3] = i % 256;
		err = netseg_prefix_set(&p, NETSEG_AF_INET, a, 32);
		err = err ?: netseg_dp_ipcache_set(dp, &p, ID_POD, 0);
	}
	return err;
}

struct frame {
	__u8 buf[128];
	size_t len;
};

/* Flow f of the allowed (last rule's) or denied traffic, as gen sends it. */
static void frame(struct frame *fr, size_t n, bool denied, __u32 f)
{
	struct gen_spec s = { .sport0 = 1024, .nflows = 1 << 30 };
	size_t last = n - 1;

	memset(s.dmac, 0x02, 6);
	memset(s.smac, 0x04, 6);
	inet_pton(AF_INET, denied ? "198.18.128.0" : "198.19.0.0", s.saddr);
	if (!denied)
		s.saddr[2] = last % NCIDR;
	inet_pton(AF_INET, "198.18.1.2", s.daddr);
	s.dport = 1000 + last / 256;
	fr->len = IMIX_SMALL - FCS;
	frame_build(&s, f, fr->buf, fr->len, false);
}

static int run(struct netseg_dp *dp, int hook, const struct frame *fr, __u32 repeat, __u32 *retval,
	       __u32 *dur)
{
	struct __sk_buff skb = { .ifindex = 1 };
	struct xdp_md xmd = { .ingress_ifindex = 1, .data_end = fr->len };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fr->buf, .data_size_in = fr->len,
		    .repeat = repeat);

	if (hook == NETSEG_HOOK_XDP) {
		o.ctx_in = &xmd;
		o.ctx_size_in = sizeof(xmd);
	} else {
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	}
	if (bpf_prog_test_run_opts(netseg_dp_prog_fd(dp, hook), &o))
		return -errno;
	*retval = o.retval;
	*dur = o.duration;
	return 0;
}

/* The best of TRIES repeat runs: other work on a shared machine only
 * ever adds time. */
static int path(struct netseg_dp *dp, const char *name, size_t n, int hook, const struct frame *fr,
		__u32 repeat, __u32 want, double *ns)
{
	__u32 ret = 0, dur, best = ~0U;
	int err = 0;

	for (int t = 0; !err && t < TRIES; t++) {
		err = run(dp, hook, fr, repeat, &ret, &dur);
		if (!err && ret != want)
			err = -EINVAL;
		best = dur < best ? dur : best;
	}
	if (err) {
		fprintf(stderr, "error: %s with %zu rules: %s (verdict %u, expected %u)\n", name, n,
			err == -EINVAL ? "wrong verdict" : strerror(-err), ret, want);
		return err;
	}
	if (ns)
		*ns = best;
	printf("cost,%s,%zu,%u\n", name, n, best);
	return 0;
}

/* Mean kernel time of single runs over flows f0 .. f0 + SINGLES - 1 (or
 * SINGLES runs of flow f0 when !distinct): allowed ones through TC
 * ingress, or denied ones through XDP. */
static int singles(struct netseg_dp *dp, size_t n, __u32 f0, bool distinct, bool denied, double *ns)
{
	int hook = denied ? NETSEG_HOOK_XDP : NETSEG_HOOK_TC_INGRESS;
	__u32 want = denied ? XDP_DROP : (__u32)TC_ACT_UNSPEC;
	__u64 sum = 0;
	struct frame fr;
	__u32 ret, dur;

	for (__u32 i = 0; i < SINGLES; i++) {
		frame(&fr, n, denied, distinct ? f0 + i : f0);
		if (run(dp, hook, &fr, 1, &ret, &dur) || ret != want)
			return -EINVAL;
		sum += dur;
	}
	*ns = (double)sum / SINGLES;
	return 0;
}

/*
 * A flood of denied packets, each a new 5-tuple (no cached deny can
 * answer): single runs of distinct denied flows, minus single runs of one
 * denied flow, plus the repeat figure of that flow (`deny`, as for
 * tc-new-flow).
 */
static int deny_new(struct netseg_dp *dp, size_t n, double deny, __u32 *next_flow)
{
	double s_new = 1e18, s_one = 1e18;
	int err = 0;

	for (int t = 0; !err && t < TRIES; t++) {
		double a, b;

		err = singles(dp, n, *next_flow, true, true, &a);
		err = err ?: singles(dp, n, 0, false, true, &b);
		*next_flow += SINGLES;
		s_new = a < s_new ? a : s_new;
		s_one = b < s_one ? b : s_one;
	}
	if (!err)
		printf("cost,xdp-deny-new-flow,%zu,%.0f\n", n, deny + s_new - s_one);
	return err;
}

static int measure(struct netseg_dp *dp, size_t n, __u32 repeat, __u32 *next_flow)
{
	double est, s_new, s_est, deny_ns;
	struct frame deny, est_fr, new_fr;
	int err;

	frame(&deny, n, true, 0);
	frame(&est_fr, n, false, 0);
	frame(&new_fr, n, false, 1); /* no CT entry: XDP decides it afresh */
	err = path(dp, "xdp-deny", n, NETSEG_HOOK_XDP, &deny, repeat, XDP_DROP, &deny_ns);
	err = err ?: deny_new(dp, n, deny_ns, next_flow);
	err = err ?: path(dp, "xdp-allow-new", n, NETSEG_HOOK_XDP, &new_fr, repeat, XDP_PASS, NULL);
	/* The first run creates the entry; all the others are CT hits. */
	err = err   ?:
		      path(dp, "tc-established", n, NETSEG_HOOK_TC_INGRESS, &est_fr, repeat,
			   (__u32)TC_ACT_UNSPEC, &est);
	err = err   ?:
		      path(dp, "xdp-established", n, NETSEG_HOOK_XDP, &est_fr, repeat, XDP_PASS,
			   NULL);
	s_new = s_est = 1e18;
	for (int t = 0; !err && t < TRIES; t++) {
		double a, b;

		err = singles(dp, n, *next_flow, true, false, &a);
		err = err ?: singles(dp, n, 0, false, false, &b);
		*next_flow += SINGLES;
		s_new = a < s_new ? a : s_new;
		s_est = b < s_est ? b : s_est;
	}
	if (!err)
		printf("cost,tc-new-flow,%zu,%.0f\n", n, est + s_new - s_est);
	return err;
}

int main(int argc, char **argv)
{
	const char *counts = "10 100 1000 10000 100000";
	__u32 repeat = 1 << 18, next_flow = 2, pods = 0;
	struct netseg_dp *dp = NULL;
	struct ids ids;
	char *list, *tok, *save;
	int c, err;

	while ((c = getopt(argc, argv, "r:n:p:h")) != -1) {
		if (c == 'r')
			counts = optarg;
		else if (c == 'n')
			repeat = strtoul(optarg, NULL, 0);
		else if (c == 'p')
			pods = strtoul(optarg, NULL, 0);
		else
			return fprintf(c == 'h' ? stdout : stderr,
				       "usage: cost [-r \"RULE COUNTS\"] [-n REPEAT] [-p PODS]\n"),
			       c != 'h';
	}
	netseg_log_hook_libs();
	if (unshare(CLONE_NEWNET))
		return fprintf(stderr, "error: needs root: unshare: %s\n", strerror(errno)), 1;
	err = netseg_dp_open(&dp, &(struct netseg_dp_opts){ .pin_dir = NULL });
	if (err)
		return fprintf(stderr, "error: couldn't open the datapath: %s\n", strerror(-err)),
		       1;
	err = load_identities(dp, &ids, pods);
	list = strdup(counts);
	for (tok = strtok_r(list, " ,", &save); !err && tok; tok = strtok_r(NULL, " ,", &save)) {
		size_t n = strtoul(tok, NULL, 10);

		err = n ? load_policy(dp, &ids, n) : -EINVAL;
		err = err ?: measure(dp, n, repeat, &next_flow);
		fflush(stdout);
	}
	free(list);
	netseg_dp_close(dp);
	if (err)
		fprintf(stderr, "error: cost: %s\n", strerror(-err));
	return err ? 1 : 0;
}
