// SPDX-License-Identifier: GPL-2.0-only
/*
 * Differential test: compiler + kernel LPM trie vs the reference evaluator.
 *
 * Random rule sets (seeded; NETSEG_SEED=N reproduces a run) are compiled,
 * written into a real BPF_MAP_TYPE_LPM_TRIE and queried the way the
 * datapath does (include/netseg/bpf/policy.h): four lookups per tuple,
 * (dst,src), (dst,ANY), (ANY,src), (ANY,ANY), any deny wins with the lowest
 * rule id, else the lowest allow.  Verdict, rule id and flags must equal
 * netseg_ref_eval()'s for every tuple.  Needs root; never skips.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "compile.h"
#include "randpol.h"
#include "tap.h"

#define NSETS 200    /* random rule sets */
#define NTUPLES 1000 /* random tuples per set */
#define MAX_RULES 96 /* rules per set, at most */
#define NIDS 8	     /* identities 256..263 */

/* ----------------------------------------------------------- resolver */

static char id_names[NIDS][16];
static const char *id_name_ptrs[NIDS];

static int resolve(const char *sel, __u32 *id, void *ctx)
{
	int i;

	for (i = 0; i < NIDS; i++) {
		if (!strcmp(sel, id_names[i])) {
			*id = NETSEG_ID_USER_MIN + i;
			return 0;
		}
	}
	return -ENOENT;
}

static const struct netseg_resolver res = {
	.resolve = resolve,
	.names = id_name_ptrs,
	.nnames = NIDS,
};

/* ------------------------------------------------------------- tuples */

static __u32 pick_id(void)
{
	__u32 r = rp_below(12);

	if (r < NIDS)
		return NETSEG_ID_USER_MIN + r;
	if (r == 8)
		return NETSEG_ID_HOST;
	if (r == 9)
		return NETSEG_ID_WORLD;
	return NETSEG_ID_USER_MIN + 100; /* in no rule */
}

/* A port near one a rule names, so tuples probe range edges. */
static __u16 rule_port(const struct netseg_rule *rules, size_t n)
{
	const struct netseg_rule *r = &rules[rp_below((__u32)n)];
	int p, d = (int)rp_below(3) - 1;

	if (!r->nports)
		return rp_port();
	p = rp_below(2) ? r->ports[rp_below(r->nports)].lo : r->ports[rp_below(r->nports)].hi;
	p += d;
	return p < 0 ? 0 : p > 65535 ? 65535 : (__u16)p;
}

static void random_tuple(const struct netseg_rule *rules, size_t n, struct netseg_tuple *t)
{
	static const __u8 protos[] = {
		IPPROTO_TCP,  IPPROTO_TCP,  IPPROTO_TCP,  IPPROTO_UDP,	  IPPROTO_UDP,
		IPPROTO_SCTP, IPPROTO_ICMP, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_GRE,
	};

	t->src_id = pick_id();
	t->dst_id = pick_id();
	t->proto = protos[rp_below(sizeof(protos))];
	if (t->proto == IPPROTO_ICMP || t->proto == IPPROTO_ICMPV6)
		t->port = (__u16)((rp_below(4) ? rp_below(13) : rp_below(256)) << 8 | rp_below(4));
	else if (rp_below(3))
		t->port = rule_port(rules, n);
	else
		t->port = (__u16)rp_below(65536);
}

/* ------------------------------------------------------ kernel side */

static int load_map(const struct netseg_policy *p, int *fdp)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	size_t i;
	int fd, ret = 0;

	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "ns_policy_diff",
			    sizeof(struct netseg_policy_key), sizeof(struct netseg_policy_val),
			    p->n ? (__u32)p->n : 1, &opts);
	if (fd < 0)
		return -errno;
	for (i = 0; i < p->n; i++) {
		/* NOEXIST: a prefix emitted twice is a compiler bug. */
		if (bpf_map_update_elem(fd, &p->v[i].key, &p->v[i].val, BPF_NOEXIST)) {
			ret = -errno;
			diag("map update of entry %zu (/%u dst %u src %u proto %u port %u): %s", i,
			     p->v[i].key.prefixlen, p->v[i].key.dst_id, p->v[i].key.src_id,
			     p->v[i].key.proto, ntohs(p->v[i].key.dport), strerror(errno));
			close(fd);
			return ret;
		}
	}
	*fdp = fd;
	return 0;
}

/* Exactly the datapath's policy_rules()/policy_one() combination. */
static int kernel_eval(int fd, const struct netseg_tuple *t, struct netseg_policy_val *out)
{
	const __u32 pairs[4][2] = {
		{ t->dst_id, t->src_id },
		{ t->dst_id, NETSEG_ID_ANY },
		{ NETSEG_ID_ANY, t->src_id },
		{ NETSEG_ID_ANY, NETSEG_ID_ANY },
	};
	struct netseg_policy_val v, deny = { 0 }, allow = { 0 };
	struct netseg_policy_key k = {
		.prefixlen = NETSEG_POLICY_PLEN_FULL,
		.proto = t->proto,
		.dport = htons(t->port),
	};
	int i;

	for (i = 0; i < 4; i++) {
		k.dst_id = pairs[i][0];
		k.src_id = pairs[i][1];
		if (bpf_map_lookup_elem(fd, &k, &v)) {
			if (errno != ENOENT)
				return -errno;
			continue;
		}
		if (v.verdict == NETSEG_VERDICT_DENY && (!deny.verdict || v.rule_id < deny.rule_id))
			deny = v;
		else if (v.verdict == NETSEG_VERDICT_ALLOW &&
			 (!allow.verdict || v.rule_id < allow.rule_id))
			allow = v;
	}
	*out = deny.verdict ? deny : allow;
	return 0;
}

/* ---------------------------------------------------------------- run */

struct stats {
	size_t tuples, entries, rules;
	size_t verdicts[3]; /* NONE, ALLOW, DENY from the reference */
	size_t mismatches;
};

static void dump_set(const struct netseg_rule *rules, size_t n)
{
	char line[1024];
	size_t i;

	for (i = 0; i < n; i++) {
		netseg_rule_format_line(&rules[i], line, sizeof(line));
		diag("  id %-4u %s", rules[i].id, line);
	}
}

static void report_mismatch(const struct netseg_rule *rules, size_t n, const struct netseg_tuple *t,
			    const struct netseg_policy_val *got,
			    const struct netseg_policy_val *want)
{
	diag("tuple src %u dst %u proto %u port %u (0x%04x)", t->src_id, t->dst_id, t->proto,
	     t->port, t->port);
	diag("kernel: verdict %u rule %u flags %u; reference: verdict %u rule %u flags %u",
	     got->verdict, got->rule_id, got->flags, want->verdict, want->rule_id, want->flags);
	diag("rule set:");
	dump_set(rules, n);
}

/* One rule set: compile, load, compare every tuple.  0 or -errno. */
static int run_set(int set, struct stats *st, bool *first_mismatch)
{
	static struct netseg_rule rules[MAX_RULES];
	struct netseg_policy p = { 0 };
	struct netseg_policy_val got = { 0 }, want = { 0 };
	struct netseg_tuple t;
	struct netseg_err e;
	size_t n = rp_rules(rules, MAX_RULES, id_name_ptrs, NIDS), i, bad = 0;
	int fd = -1, ret;

	ret = netseg_compile(rules, n, &res, 0, &p, &e);
	if (ret) {
		diag("set %d: compile failed: %s", set, e.msg);
		goto out;
	}
	ret = load_map(&p, &fd);
	if (ret) {
		diag("set %d: loading %zu entries into an LPM trie failed: %s", set, p.n,
		     strerror(-ret));
		goto out;
	}
	for (i = 0; i < NTUPLES; i++) {
		random_tuple(rules, n, &t);
		ret = kernel_eval(fd, &t, &got);
		if (!ret)
			ret = netseg_ref_eval(rules, n, &res, &t, &want);
		if (ret)
			goto out;
		st->verdicts[want.verdict]++;
		if (got.verdict == want.verdict && got.rule_id == want.rule_id &&
		    got.flags == want.flags)
			continue;
		if (!bad++ && *first_mismatch) {
			*first_mismatch = false;
			report_mismatch(rules, n, &t, &got, &want);
		}
	}
	st->tuples += NTUPLES;
	st->entries += p.n;
	st->rules += n;
	st->mismatches += bad;
	ret = bad ? -EBADMSG : 0;
out:
	if (fd >= 0)
		close(fd);
	netseg_policy_free(&p);
	return ret;
}

static void check_bpf(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	int fd;

	if (geteuid())
		bail("policy_diff needs root to create BPF maps (run the suite as root)");
	/* Kernels before memcg accounting charge maps to RLIMIT_MEMLOCK. */
	setrlimit(RLIMIT_MEMLOCK, &rl);
	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "ns_probe", sizeof(struct netseg_policy_key),
			    sizeof(struct netseg_policy_val), 1, &opts);
	if (fd < 0)
		bail("can't create a BPF LPM trie: %s", strerror(errno));
	close(fd);
}

int main(void)
{
	struct stats st = { 0 };
	bool first_mismatch = true;
	int set, ret, failed_sets = 0;
	__u32 seed = rp_seed_from_env("NETSEG_SEED");

	check_bpf();
	diag("seed %u (rerun with NETSEG_SEED=%u)", seed, seed);
	rp_seed(seed);
	for (set = 0; set < 8; set++) {
		snprintf(id_names[set], sizeof(id_names[set]), "id%d", NETSEG_ID_USER_MIN + set);
		id_name_ptrs[set] = id_names[set];
	}
	for (set = 0; set < NSETS; set++) {
		ret = run_set(set, &st, &first_mismatch);
		if (ret)
			failed_sets++;
		if (ret && ret != -EBADMSG)
			ok(false, "set %d: %s", set, strerror(-ret));
		else
			ok(!ret, "set %d: kernel LPM lookups agree with the reference", set);
	}
	diag("%d sets, %zu rules, %zu entries, %zu tuples: %zu none, %zu allow, %zu deny", NSETS,
	     st.rules, st.entries, st.tuples, st.verdicts[0], st.verdicts[1], st.verdicts[2]);
	is_int(st.mismatches, 0, "no tuple disagrees across all sets");
	/* A run that never allows or never denies would prove little. */
	ok(st.tuples >= (size_t)NSETS * NTUPLES && st.verdicts[0] * 20 > st.tuples &&
		   st.verdicts[1] * 20 > st.tuples && st.verdicts[2] * 20 > st.tuples,
	   "tuples cover none, allow and deny (each over 5%%)");
	return tap_done();
}
