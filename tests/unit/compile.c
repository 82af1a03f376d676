// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy compiler: port ranges become minimal prefix sets, keys carry the
 * documented prefix lengths, deny precedence is flattened inside a pair,
 * unknown identities get suggestions and the map size limit holds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile.h"
#include "tap.h"

/* ------------------------------------------------------------ resolver */

static const char *const names[] = {
	"frontend", "api", "db", "api1", "api2", "a", "b", "198.18.0.0/15",
};

static int resolve(const char *sel, __u32 *id, void *ctx)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(sel, names[i])) {
			*id = NETSEG_ID_USER_MIN + (__u32)i;
			return 0;
		}
	}
	return -ENOENT;
}

static const struct netseg_resolver res = {
	.resolve = resolve,
	.names = names,
	.nnames = sizeof(names) / sizeof(names[0]),
};

#define FRONTEND 256
#define API 257
#define DB 258
#define A 261
#define B 262

/* Rules from .rules lines, numbered by the caller. */
static size_t rules_from(struct netseg_rule *rules, const char *const *lines, const __u32 *ids,
			 size_t n)
{
	struct netseg_err e;
	size_t i;

	for (i = 0; i < n; i++) {
		if (netseg_rule_parse_line(lines[i], &rules[i], &e))
			bail("test rule \"%s\" doesn't parse: %s", lines[i], e.msg);
		rules[i].id = ids ? ids[i] : (__u32)i + 1;
	}
	return n;
}

static const struct netseg_policy_entry *find(const struct netseg_policy *p, __u32 plen, __u32 dst,
					      __u32 src, __u8 proto, __u16 port)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct netseg_policy_key *k = &p->v[i].key;

		if (k->prefixlen == plen && k->dst_id == dst && k->src_id == src &&
		    k->proto == proto && ntohs(k->dport) == port && !k->pad)
			return &p->v[i];
	}
	return NULL;
}

static bool has(const struct netseg_policy *p, __u32 plen, __u32 dst, __u32 src, __u8 proto,
		__u16 port, __u8 verdict, __u32 rule_id, __u8 flags, const char *what)
{
	const struct netseg_policy_entry *e = find(p, plen, dst, src, proto, port);

	if (!ok(e && e->val.verdict == verdict && e->val.rule_id == rule_id &&
			e->val.flags == flags,
		"%s", what)) {
		if (e)
			diag("entry: verdict %u rule %u flags %u", e->val.verdict, e->val.rule_id,
			     e->val.flags);
		else
			diag("no entry /%u dst %u src %u proto %u port %u", plen, dst, src, proto,
			     port);
		return false;
	}
	return true;
}

/* ------------------------------------------------------- port prefixes */

static void check_prefixes(__u16 lo, __u16 hi, unsigned int want)
{
	struct netseg_port_prefix pp[NETSEG_PORT_PREFIXES_MAX];
	static unsigned char cover[65536];
	unsigned int n, i, p;
	bool aligned = true, exact = true;

	n = netseg_port_prefixes(lo, hi, pp);
	is_int(n, want, "%u-%u: %u prefixes", lo, hi, want);
	memset(cover, 0, sizeof(cover));
	for (i = 0; i < n && i < NETSEG_PORT_PREFIXES_MAX; i++) {
		__u32 size = 1U << (16 - pp[i].len);

		if (pp[i].value & (size - 1))
			aligned = false;
		for (p = pp[i].value; p < pp[i].value + size; p++)
			cover[p]++;
	}
	for (p = 0; p < 65536; p++)
		if (cover[p] != (p >= lo && p <= hi))
			exact = false;
	ok(aligned && exact, "%u-%u: aligned prefixes covering exactly the range, once", lo, hi);
}

static void test_port_prefixes(void)
{
	struct netseg_port_prefix pp[NETSEG_PORT_PREFIXES_MAX];

	check_prefixes(443, 443, 1);
	check_prefixes(1000, 1999, 7);
	check_prefixes(1, 65535, 16);
	check_prefixes(1, 65534, 30);
	check_prefixes(32767, 32768, 2); /* straddles 0x8000 */
	check_prefixes(0x7000, 0x8fff, 2);
	check_prefixes(32768, 65535, 1);
	check_prefixes(1024, 65535, 6);
	check_prefixes(0, 65535, 1);
	check_prefixes(65535, 65535, 1);
	netseg_port_prefixes(1000, 1999, pp);
	ok(pp[0].value == 1000 && pp[0].len == 13 && pp[2].value == 1024 && pp[2].len == 7 &&
		   pp[6].value == 1984 && pp[6].len == 12,
	   "1000-1999: 1000/13 ... 1024/7 ... 1984/12");
}

/* ---------------------------------------------------------------- keys */

static void test_keys(void)
{
	static const char *const lines[] = {
		"allow frontend -> api:443 --log",
		"allow a -> b:icmp/8",
		"allow a -> b:icmp",
		"allow a -> b:icmpv6/128",
		"allow a -> b",
		"allow * -> db:udp/53",
		"allow frontend -> *:sctp",
		"allow world -> host:22",
		"allow 198.18.0.0/15 -> api:8080",
	};
	struct netseg_rule rules[16];
	struct netseg_policy p = { 0 };
	struct netseg_err e;
	size_t n = rules_from(rules, lines, NULL, sizeof(lines) / sizeof(lines[0]));

	if (!is_int(netseg_compile(rules, n, &res, 0, &p, &e), 0, "compile key shapes")) {
		diag("%s", e.msg);
		goto out;
	}
	is_int(p.n, n, "one entry per rule");
	has(&p, 96, API, FRONTEND, IPPROTO_TCP, 443, NETSEG_VERDICT_ALLOW, 1, NETSEG_RULEF_LOG,
	    "tcp/443: /96, dport 443, flags carried");
	has(&p, 88, B, A, IPPROTO_ICMP, 8 << 8, NETSEG_VERDICT_ALLOW, 2, 0,
	    "icmp/8: /88 with the type in the high byte of dport");
	has(&p, 80, B, A, IPPROTO_ICMP, 0, NETSEG_VERDICT_ALLOW, 3, 0, "icmp: /80");
	has(&p, 88, B, A, IPPROTO_ICMPV6, 128 << 8, NETSEG_VERDICT_ALLOW, 4, 0, "icmpv6/128: /88");
	has(&p, 72, B, A, 0, 0, NETSEG_VERDICT_ALLOW, 5, 0, "any protocol: /72");
	has(&p, 96, DB, NETSEG_ID_ANY, IPPROTO_UDP, 53, NETSEG_VERDICT_ALLOW, 6, 0,
	    "* as source: src_id ANY");
	has(&p, 80, NETSEG_ID_ANY, FRONTEND, IPPROTO_SCTP, 0, NETSEG_VERDICT_ALLOW, 7, 0,
	    "* as destination: dst_id ANY");
	has(&p, 96, NETSEG_ID_HOST, NETSEG_ID_WORLD, IPPROTO_TCP, 22, NETSEG_VERDICT_ALLOW, 8, 0,
	    "world and host are the reserved ids");
	has(&p, 96, API, 263, IPPROTO_TCP, 8080, NETSEG_VERDICT_ALLOW, 9, 0,
	    "CIDR selector through the resolver");
out:
	netseg_policy_free(&p);
}

static void test_range_entries(void)
{
	static const char *const lines[] = { "deny a -> b:1000-1999,32767-32768" };
	struct netseg_rule rules[1];
	struct netseg_policy p = { 0 };
	struct netseg_err e;

	rules_from(rules, lines, NULL, 1);
	if (!is_int(netseg_compile(rules, 1, &res, 0, &p, &e), 0, "compile ranges"))
		goto out;
	is_int(p.n, 9, "7 + 2 prefixes");
	has(&p, 80 + 7, B, A, IPPROTO_TCP, 1024, NETSEG_VERDICT_DENY, 1, 0, "1024/7 entry");
	has(&p, 80 + 12, B, A, IPPROTO_TCP, 1984, NETSEG_VERDICT_DENY, 1, 0, "1984/12 entry");
	has(&p, 96, B, A, IPPROTO_TCP, 32768, NETSEG_VERDICT_DENY, 1, 0, "32768/16 entry");
out:
	netseg_policy_free(&p);
}

/* ---------------------------------------------------------- flattening */

static void test_flatten(void)
{
	static const char *const lines[] = {
		"deny frontend -> api:tcp",	   /* id 5 */
		"allow frontend -> api:443 --log", /* id 1 */
		"allow frontend -> api:8000-8080", /* id 2 */
		"allow a -> b:tcp --log",	   /* id 3 */
		"deny a -> b:8000-8080",	   /* id 9 */
		"allow a -> b",			   /* id 7 */
		"allow a -> b:443",		   /* id 4 */
		"allow a -> b:443 --log",	   /* id 8: same prefix as id 4 */
		"deny a -> b:icmp --log",	   /* id 6 */
		"allow a -> b:icmp/8",		   /* id 10 */
		"allow frontend -> db:443",	   /* id 30 */
		"allow frontend -> db:443 --log",  /* id 20: same prefix, later */
		"deny frontend -> db:udp/53",	   /* id 32 */
		"deny frontend -> db:udp --log",   /* id 31 */
	};
	static const __u32 ids[] = { 5, 1, 2, 3, 9, 7, 4, 8, 6, 10, 30, 20, 32, 31 };
	struct netseg_rule rules[16];
	struct netseg_policy p = { 0 };
	struct netseg_err e;
	size_t n = rules_from(rules, lines, ids, sizeof(lines) / sizeof(lines[0]));
	size_t i, dups = 0;

	if (!is_int(netseg_compile(rules, n, &res, 0, &p, &e), 0, "compile flattening set")) {
		diag("%s", e.msg);
		goto out;
	}
	has(&p, 80, API, FRONTEND, IPPROTO_TCP, 0, NETSEG_VERDICT_DENY, 5, 0,
	    "deny frontend->api:tcp entry");
	has(&p, 96, API, FRONTEND, IPPROTO_TCP, 443, NETSEG_VERDICT_DENY, 5, 0,
	    "deny beats the more specific allow :443 (value is the deny's)");
	has(&p, 80 + 10, API, FRONTEND, IPPROTO_TCP, 8000, NETSEG_VERDICT_DENY, 5, 0,
	    "deny beats the more specific allow 8000-8080");
	has(&p, 72, B, A, 0, 0, NETSEG_VERDICT_ALLOW, 7, 0, "a->b any: allow 7");
	has(&p, 80, B, A, IPPROTO_TCP, 0, NETSEG_VERDICT_ALLOW, 3, NETSEG_RULEF_LOG,
	    "a->b:tcp: allow 3 beats ancestor allow 7, with its flags");
	has(&p, 96, B, A, IPPROTO_TCP, 443, NETSEG_VERDICT_ALLOW, 3, NETSEG_RULEF_LOG,
	    ":443 keeps the lower ancestor id 3 over its own 4 and 8");
	has(&p, 80 + 10, B, A, IPPROTO_TCP, 8000, NETSEG_VERDICT_DENY, 9, 0,
	    "deny 8000-8080 inside allow tcp");
	has(&p, 96, B, A, IPPROTO_TCP, 8080, NETSEG_VERDICT_DENY, 9, 0, "... up to 8080");
	has(&p, 80, B, A, IPPROTO_ICMP, 0, NETSEG_VERDICT_DENY, 6, NETSEG_RULEF_LOG, "deny icmp");
	has(&p, 88, B, A, IPPROTO_ICMP, 8 << 8, NETSEG_VERDICT_DENY, 6, NETSEG_RULEF_LOG,
	    "allow icmp/8 flattened to the enclosing deny");
	has(&p, 96, DB, FRONTEND, IPPROTO_TCP, 443, NETSEG_VERDICT_ALLOW, 20, NETSEG_RULEF_LOG,
	    "same prefix: the lower id wins, not the earlier rule");
	has(&p, 96, DB, FRONTEND, IPPROTO_UDP, 53, NETSEG_VERDICT_DENY, 31, NETSEG_RULEF_LOG,
	    "nested denies: the lower id wins, not the longer prefix");
	for (i = 0; i < p.n; i++)
		if (find(&p, p.v[i].key.prefixlen, p.v[i].key.dst_id, p.v[i].key.src_id,
			 p.v[i].key.proto, ntohs(p.v[i].key.dport)) != &p.v[i])
			dups++;
	is_int(dups, 0, "every prefix emitted once");
out:
	netseg_policy_free(&p);
}

/* A userspace stand-in for the kernel's LPM trie: longest prefix wins. */
static const struct netseg_policy_val *lpm(const struct netseg_policy *p, __u32 dst, __u32 src,
					   __u8 proto, __u16 port)
{
	const struct netseg_policy_entry *best = NULL;
	__u32 key = (__u32)proto << 16 | port;
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct netseg_policy_key *k = &p->v[i].key;
		__u32 len = k->prefixlen - NETSEG_POLICY_PLEN_IDS;
		__u32 pk = (__u32)k->proto << 16 | ntohs(k->dport);

		if (k->dst_id != dst || k->src_id != src)
			continue;
		if (len && (pk ^ key) >> (24 - len))
			continue;
		if (!best || k->prefixlen > best->key.prefixlen)
			best = &p->v[i];
	}
	return best ? &best->val : NULL;
}

/* The datapath's four lookups (include/netseg/bpf/policy.h). */
static void four_lookups(const struct netseg_policy *p, const struct netseg_tuple *t,
			 struct netseg_policy_val *out)
{
	const __u32 pairs[4][2] = {
		{ t->dst_id, t->src_id },
		{ t->dst_id, 0 },
		{ 0, t->src_id },
		{ 0, 0 },
	};
	const struct netseg_policy_val *v, *deny = NULL, *allow = NULL;
	int i;

	for (i = 0; i < 4; i++) {
		v = lpm(p, pairs[i][0], pairs[i][1], t->proto, t->port);
		if (v && v->verdict == NETSEG_VERDICT_DENY && (!deny || v->rule_id < deny->rule_id))
			deny = v;
		if (v && v->verdict == NETSEG_VERDICT_ALLOW &&
		    (!allow || v->rule_id < allow->rule_id))
			allow = v;
	}
	v = deny ? deny : allow;
	memset(out, 0, sizeof(*out));
	if (v)
		*out = *v;
}

/* Across the four pairs: a wildcard deny with a higher id still wins. */
static void test_cross_pair(void)
{
	static const char *const lines[] = {
		"allow frontend -> api:443", /* id 1 */
		"deny * -> api:443",	     /* id 20 */
		"allow frontend -> *",	     /* id 2 */
		"deny frontend -> api:udp",  /* id 30 */
		"deny * -> *:icmp/5",	     /* id 40 */
	};
	static const __u32 ids[] = { 1, 20, 2, 30, 40 };
	static const struct {
		struct netseg_tuple t;
		__u8 verdict;
		__u32 rule;
	} cases[] = {
		{ { FRONTEND, API, IPPROTO_TCP, 443 }, NETSEG_VERDICT_DENY, 20 },
		{ { FRONTEND, API, IPPROTO_TCP, 80 }, NETSEG_VERDICT_ALLOW, 2 },
		{ { FRONTEND, API, IPPROTO_UDP, 53 }, NETSEG_VERDICT_DENY, 30 },
		{ { FRONTEND, DB, IPPROTO_ICMP, 5 << 8 | 1 }, NETSEG_VERDICT_DENY, 40 },
		{ { FRONTEND, DB, IPPROTO_ICMP, 8 << 8 }, NETSEG_VERDICT_ALLOW, 2 },
		{ { DB, API, IPPROTO_TCP, 443 }, NETSEG_VERDICT_DENY, 20 },
		{ { DB, API, IPPROTO_TCP, 444 }, NETSEG_VERDICT_NONE, 0 },
	};
	struct netseg_policy_val got, want;
	struct netseg_rule rules[8];
	struct netseg_policy p = { 0 };
	struct netseg_err e;
	size_t n = rules_from(rules, lines, ids, 5), i;

	if (!is_int(netseg_compile(rules, n, &res, 0, &p, &e), 0, "compile cross-pair set"))
		goto out;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		four_lookups(&p, &cases[i].t, &got);
		netseg_ref_eval(rules, n, &res, &cases[i].t, &want);
		ok(got.verdict == cases[i].verdict && got.rule_id == cases[i].rule &&
			   want.verdict == got.verdict && want.rule_id == got.rule_id,
		   "case %zu: verdict %u rule %u (lookups and reference agree)", i,
		   cases[i].verdict, cases[i].rule);
	}
out:
	netseg_policy_free(&p);
}

/* ------------------------------------------------------------- errors */

static void expect_unknown(const char *line, const char *msg)
{
	struct netseg_rule rules[2];
	struct netseg_policy p = { 0 };
	struct netseg_err e;
	static const char *const first[] = { "allow a -> b" };

	rules_from(rules, first, NULL, 1);
	if (netseg_rule_parse_line(line, &rules[1], &e))
		bail("test rule \"%s\" doesn't parse", line);
	rules[1].id = 2;
	is_int(netseg_compile(rules, 2, &res, 0, &p, &e), -ENOENT, "%s: unknown identity", line);
	is_str(e.msg, msg, "%s: message", line);
	is_int(e.rule, 1, "%s: rule index", line);
	is_int(p.n, 0, "%s: nothing emitted", line);
	netseg_policy_free(&p);
}

static void test_errors(void)
{
	static const char *const lines[] = { "allow a -> b:tcp/1-65534" };
	struct netseg_rule rules[2];
	struct netseg_policy p = { 0 };
	struct netseg_err e;

	expect_unknown("allow frontnd -> api",
		       "unknown identity \"frontnd\" (did you mean \"frontend\"?)");
	expect_unknown("allow api -> fronted:443",
		       "unknown identity \"fronted\" (did you mean \"frontend\"?)");
	expect_unknown("allow api12 -> db",
		       "unknown identity \"api12\" (did you mean \"api1\" or \"api2\"?)");
	expect_unknown("allow api3 -> db",
		       "unknown identity \"api3\" (did you mean \"api\", \"api1\" or \"api2\"?)");
	expect_unknown("allow zzzzzz -> db", "unknown identity \"zzzzzz\"");
	expect_unknown("allow fd00:abcd::/32 -> db", "unknown identity \"fd00:abcd::/32\"");

	rules_from(rules, lines, NULL, 1);
	is_int(netseg_compile(rules, 1, &res, 29, &p, &e), -E2BIG, "30 entries don't fit in 29");
	is_str(e.msg, "policy map is full (29 entries; raise max_rules)", "map full message");
	is_int(p.n, 0, "nothing left behind on E2BIG");
	is_int(netseg_compile(rules, 1, &res, 30, &p, &e), 0, "30 entries fit in 30");
	is_int(p.n, 30, "1-65534 is 30 entries");

	rules[0].id = 0;
	is_int(netseg_compile(rules, 1, &res, 0, &p, &e), -EINVAL, "id 0 refused");
	is_str(e.msg, "rule 1 has no id (every rule needs a unique non-zero id)", "id 0 message");
	rules_from(rules, (const char *const[]){ "allow a -> b", "deny b -> a" },
		   (const __u32[]){ 7, 7 }, 2);
	is_int(netseg_compile(rules, 2, &res, 0, &p, &e), -EINVAL, "duplicate id refused");
	is_str(e.msg, "rule id 7 is used by more than one rule", "duplicate id message");
	is_int(netseg_compile(rules, 0, &res, 0, &p, &e), 0, "empty rule set compiles");
	is_int(p.n, 0, "to nothing");
	netseg_policy_free(&p);
}

/* ------------------------------------------------------------ timings */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Many rules in one identity pair: the case a quadratic flattening can't
 * survive.  Timings are reported, not asserted (machines differ). */
static void time_compile(size_t n)
{
	struct netseg_rule *rules = calloc(n, sizeof(*rules));
	struct netseg_policy p = { 0 };
	struct netseg_err e;
	unsigned int seed = 12345;
	double t0, t1;
	size_t i;
	int ret;

	if (!rules)
		bail("out of memory");
	for (i = 0; i < n; i++) {
		struct netseg_rule *r = &rules[i];
		__u16 lo = 1 + rand_r(&seed) % 65000;

		netseg_rule_init(r);
		r->id = (__u32)i + 1;
		r->action = rand_r(&seed) % 2 ? NETSEG_VERDICT_ALLOW : NETSEG_VERDICT_DENY;
		r->proto = rand_r(&seed) % 2 ? IPPROTO_TCP : IPPROTO_UDP;
		r->nports = 1;
		r->ports[0].lo = lo;
		r->ports[0].hi = lo + (rand_r(&seed) % 4 ? 0 : rand_r(&seed) % 500);
		strcpy(r->src, "frontend");
		strcpy(r->dst, "api");
	}
	t0 = now_ms();
	ret = netseg_compile(rules, n, &res, 0, &p, &e);
	t1 = now_ms();
	is_int(ret, 0, "%zu rules in one pair compile", n);
	diag("compile: %zu rules -> %zu entries in %.1f ms", n, p.n, t1 - t0);
	netseg_policy_free(&p);
	free(rules);
}

int main(void)
{
	test_port_prefixes();
	test_keys();
	test_range_entries();
	test_flatten();
	test_cross_pair();
	test_errors();
	time_compile(10000);
	time_compile(100000);
	return tap_done();
}
