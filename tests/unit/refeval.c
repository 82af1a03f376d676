// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference evaluator: the semantics the compiler and the datapath are
 * checked against, pinned down case by case.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "compile.h"
#include "tap.h"

static const char *const names[] = { "fe", "api", "db" };

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

static const struct netseg_resolver res = { .resolve = resolve };

#define FE 256
#define API 257
#define DB 258

static const struct {
	const char *line;
	__u32 id;
} set[] = {
	{ "allow fe -> api:443,8000-8080 --log", 10 },
	{ "allow fe -> api:tcp/443", 3 },
	{ "deny * -> db:5432", 50 },
	{ "allow api -> db", 40 },
	{ "allow fe -> *:icmp/8", 60 },
	{ "deny fe -> api:icmp", 70 },
	{ "allow world -> fe:udp/53", 5 },
	{ "deny api -> db:udp --log", 45 },
};

static const struct {
	const char *what;
	struct netseg_tuple t;
	__u8 verdict;
	__u32 rule;
	__u8 flags;
} cases[] = {
	{ "lowest allow id wins", { FE, API, IPPROTO_TCP, 443 }, NETSEG_VERDICT_ALLOW, 3, 0 },
	{ "range and flags",
	  { FE, API, IPPROTO_TCP, 8080 },
	  NETSEG_VERDICT_ALLOW,
	  10,
	  NETSEG_RULEF_LOG },
	{ "just past the range", { FE, API, IPPROTO_TCP, 8081 }, NETSEG_VERDICT_NONE, 0, 0 },
	{ "protocol must match", { FE, API, IPPROTO_UDP, 443 }, NETSEG_VERDICT_NONE, 0, 0 },
	{ "deny beats a lower-id allow",
	  { API, DB, IPPROTO_TCP, 5432 },
	  NETSEG_VERDICT_DENY,
	  50,
	  0 },
	{ "any-protocol allow", { API, DB, IPPROTO_SCTP, 1 }, NETSEG_VERDICT_ALLOW, 40, 0 },
	{ "lowest deny id wins",
	  { API, DB, IPPROTO_UDP, 5432 },
	  NETSEG_VERDICT_DENY,
	  45,
	  NETSEG_RULEF_LOG },
	{ "icmp type is the high byte",
	  { FE, DB, IPPROTO_ICMP, 8 << 8 | 3 },
	  NETSEG_VERDICT_ALLOW,
	  60,
	  0 },
	{ "other icmp type", { FE, DB, IPPROTO_ICMP, 0 << 8 | 8 }, NETSEG_VERDICT_NONE, 0, 0 },
	{ "icmp deny beats icmp/8 allow",
	  { FE, API, IPPROTO_ICMP, 8 << 8 },
	  NETSEG_VERDICT_DENY,
	  70,
	  0 },
	{ "icmp rule doesn't match icmpv6",
	  { FE, DB, IPPROTO_ICMPV6, 8 << 8 },
	  NETSEG_VERDICT_NONE,
	  0,
	  0 },
	{ "reserved world id",
	  { NETSEG_ID_WORLD, FE, IPPROTO_UDP, 53 },
	  NETSEG_VERDICT_ALLOW,
	  5,
	  0 },
	{ "host is not world", { NETSEG_ID_HOST, FE, IPPROTO_UDP, 53 }, NETSEG_VERDICT_NONE, 0, 0 },
	{ "direction matters", { API, FE, IPPROTO_TCP, 443 }, NETSEG_VERDICT_NONE, 0, 0 },
};

#define EP NETSEG_IDF_ENDPOINT
#define AUD (NETSEG_IDF_ENDPOINT | NETSEG_IDF_AUDIT)

/* Defaults and audit mode on top of the rules (netseg_ref_decide). */
static const struct {
	const char *what;
	struct netseg_tuple t;
	__u32 sf, df;
	__u8 verdict, reason;
	bool enforced;
	__u32 rule;
} decisions[] = {
	{ "allow rule",
	  { FE, API, IPPROTO_TCP, 443 },
	  EP,
	  EP,
	  NETSEG_VERDICT_ALLOW,
	  NETSEG_REASON_NONE,
	  true,
	  3 },
	{ "deny rule with the source in audit mode still drops",
	  { API, DB, IPPROTO_TCP, 5432 },
	  AUD,
	  EP,
	  NETSEG_VERDICT_DENY,
	  NETSEG_REASON_POLICY,
	  true,
	  50 },
	{ "deny rule with both in audit mode still drops",
	  { API, DB, IPPROTO_TCP, 5432 },
	  AUD,
	  AUD,
	  NETSEG_VERDICT_DENY,
	  NETSEG_REASON_POLICY,
	  true,
	  50 },
	{ "a deny rule between non-endpoints still denies",
	  { API, DB, IPPROTO_TCP, 5432 },
	  0,
	  0,
	  NETSEG_VERDICT_DENY,
	  NETSEG_REASON_POLICY,
	  true,
	  50 },
	{ "no rule, an endpoint destination: default deny",
	  { FE, API, IPPROTO_TCP, 22 },
	  0,
	  EP,
	  NETSEG_VERDICT_DENY,
	  NETSEG_REASON_DEFAULT_DENY,
	  true,
	  0 },
	{ "no rule, source audit, destination enforcing: drops",
	  { API, FE, IPPROTO_TCP, 1 },
	  AUD,
	  EP,
	  NETSEG_VERDICT_DENY,
	  NETSEG_REASON_DEFAULT_DENY,
	  true,
	  0 },
	{ "no rule, destination audit, source enforcing: drops",
	  { API, FE, IPPROTO_TCP, 1 },
	  EP,
	  AUD,
	  NETSEG_VERDICT_DENY,
	  NETSEG_REASON_DEFAULT_DENY,
	  true,
	  0 },
	{ "no rule, both audit: audit",
	  { API, FE, IPPROTO_TCP, 1 },
	  AUD,
	  AUD,
	  NETSEG_VERDICT_AUDIT,
	  NETSEG_REASON_DEFAULT_DENY,
	  true,
	  0 },
	{ "no rule, audit endpoint to world: audit",
	  { FE, NETSEG_ID_WORLD, IPPROTO_TCP, 1 },
	  AUD,
	  0,
	  NETSEG_VERDICT_AUDIT,
	  NETSEG_REASON_DEFAULT_DENY,
	  true,
	  0 },
	{ "no rule, world to an audit endpoint: audit",
	  { NETSEG_ID_WORLD, FE, IPPROTO_TCP, 1 },
	  0,
	  AUD,
	  NETSEG_VERDICT_AUDIT,
	  NETSEG_REASON_DEFAULT_DENY,
	  true,
	  0 },
	{ "no rule, no endpoint (world to host): not enforced",
	  { NETSEG_ID_WORLD, NETSEG_ID_HOST, IPPROTO_TCP, 1 },
	  0,
	  0,
	  NETSEG_VERDICT_ALLOW,
	  NETSEG_REASON_NONE,
	  false,
	  0 },
	{ "no rule, two CIDR identities: not enforced",
	  { FE, API, IPPROTO_TCP, 22 },
	  0,
	  0,
	  NETSEG_VERDICT_ALLOW,
	  NETSEG_REASON_NONE,
	  false,
	  0 },
	{ "audit flag on a non-endpoint relaxes nothing of the endpoint's",
	  { NETSEG_ID_WORLD, FE, IPPROTO_TCP, 1 },
	  NETSEG_IDF_AUDIT,
	  EP,
	  NETSEG_VERDICT_DENY,
	  NETSEG_REASON_DEFAULT_DENY,
	  true,
	  0 },
};

static void check_decisions(const struct netseg_rule *rules, size_t n)
{
	struct netseg_ref_decision d;

	for (size_t i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++) {
		memset(&d, 0xff, sizeof(d));
		if (!ok(!netseg_ref_decide(rules, n, &res, &decisions[i].t, decisions[i].sf,
					   decisions[i].df, &d) &&
				d.verdict == decisions[i].verdict &&
				d.reason == decisions[i].reason &&
				d.enforced == decisions[i].enforced &&
				d.rule_id == decisions[i].rule,
			"decide: %s", decisions[i].what))
			diag("got verdict %u reason %u enforced %d rule %u", d.verdict, d.reason,
			     d.enforced, d.rule_id);
	}
}

int main(void)
{
	struct netseg_rule rules[16], bad;
	struct netseg_policy_val v;
	struct netseg_err e;
	size_t n = sizeof(set) / sizeof(set[0]), i;

	for (i = 0; i < n; i++) {
		if (netseg_rule_parse_line(set[i].line, &rules[i], &e))
			bail("test rule \"%s\" doesn't parse: %s", set[i].line, e.msg);
		rules[i].id = set[i].id;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&v, 0xff, sizeof(v));
		if (!ok(!netseg_ref_eval(rules, n, &res, &cases[i].t, &v) &&
				v.verdict == cases[i].verdict && v.rule_id == cases[i].rule &&
				v.flags == cases[i].flags && !v.pad,
			"%s", cases[i].what))
			diag("got verdict %u rule %u flags %u", v.verdict, v.rule_id, v.flags);
	}
	check_decisions(rules, n);
	is_int(netseg_ref_eval(rules, 0, &res, &cases[0].t, &v), 0, "empty rule set");
	is_int(v.verdict, NETSEG_VERDICT_NONE, "empty rule set: no verdict");
	netseg_rule_parse_line("allow ghost -> api", &bad, &e);
	is_int(netseg_ref_eval(&bad, 1, &res, &cases[0].t, &v), -ENOENT, "unknown identity");
	return tap_done();
}
