// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reference evaluator: the policy semantics (docs/architecture.md,
 * "Policy semantics") written as
 * plainly as possible -- every rule against the tuple, no prefixes, no
 * tries -- so that the compiler and the datapath can be checked against
 * it (tests/bpf/policy_diff.c).  Keep it obvious rather than fast.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "compile.h"

static bool id_matches(__u32 rule_id, __u32 id)
{
	return rule_id == NETSEG_ID_ANY || rule_id == id;
}

static bool port_matches(const struct netseg_rule *r, __u16 port)
{
	unsigned int i;

	if (!r->proto)
		return true;
	if (r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6)
		return r->icmp_type < 0 || r->icmp_type == port >> 8;
	if (!r->nports)
		return true;
	for (i = 0; i < r->nports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return true;
	return false;
}

static int rule_matches(const struct netseg_rule *r, const struct netseg_resolver *res,
			const struct netseg_tuple *t, bool *match)
{
	__u32 src, dst;

	if (netseg_selector_resolve(res, r->src, &src) ||
	    netseg_selector_resolve(res, r->dst, &dst))
		return -ENOENT;
	*match = id_matches(src, t->src_id) && id_matches(dst, t->dst_id) &&
		 (!r->proto || r->proto == t->proto) && port_matches(r, t->port);
	return 0;
}

int netseg_ref_eval(const struct netseg_rule *rules, size_t n, const struct netseg_resolver *res,
		    const struct netseg_tuple *t, struct netseg_policy_val *out)
{
	const struct netseg_rule *deny = NULL, *allow = NULL, *r;
	bool match;
	size_t i;

	for (i = 0; i < n; i++) {
		r = &rules[i];
		if (rule_matches(r, res, t, &match))
			return -ENOENT;
		if (!match)
			continue;
		if (r->action == NETSEG_VERDICT_DENY) {
			if (!deny || r->id < deny->id)
				deny = r;
		} else if (!allow || r->id < allow->id) {
			allow = r;
		}
	}
	r = deny ? deny : allow;
	out->verdict = deny  ? NETSEG_VERDICT_DENY :
		       allow ? NETSEG_VERDICT_ALLOW :
			       NETSEG_VERDICT_NONE;
	out->flags = r ? r->flags : 0;
	out->pad = 0;
	out->rule_id = r ? r->id : 0;
	return 0;
}

/* Its own default deny: an identity that is no endpoint has none. */
static bool default_relaxed(__u32 flags)
{
	return !(flags & NETSEG_IDF_ENDPOINT) || (flags & NETSEG_IDF_AUDIT);
}

int netseg_ref_decide(const struct netseg_rule *rules, size_t n, const struct netseg_resolver *res,
		      const struct netseg_tuple *t, __u32 src_flags, __u32 dst_flags,
		      struct netseg_ref_decision *out)
{
	struct netseg_policy_val v;
	int err = netseg_ref_eval(rules, n, res, t, &v);

	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	out->enforced = true;
	out->rule_id = v.rule_id;
	out->flags = v.flags;
	if (v.verdict == NETSEG_VERDICT_ALLOW) {
		out->verdict = v.flags & NETSEG_RULEF_AUDIT ? NETSEG_VERDICT_AUDIT :
							      NETSEG_VERDICT_ALLOW;
		out->reason = NETSEG_REASON_NONE;
	} else if (v.verdict == NETSEG_VERDICT_DENY) {
		out->verdict = NETSEG_VERDICT_DENY;
		out->reason = NETSEG_REASON_POLICY;
	} else if (!((src_flags | dst_flags) & NETSEG_IDF_ENDPOINT)) {
		/* Touches no endpoint: only the prefilter applies. */
		out->verdict = NETSEG_VERDICT_ALLOW;
		out->reason = NETSEG_REASON_NONE;
		out->enforced = false;
	} else {
		out->verdict = default_relaxed(src_flags) && default_relaxed(dst_flags) ?
				       NETSEG_VERDICT_AUDIT :
				       NETSEG_VERDICT_DENY;
		out->reason = NETSEG_REASON_DEFAULT_DENY;
	}
	return 0;
}
