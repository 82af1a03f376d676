/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy lookup (docs/architecture.md, "Policy semantics"): four LPM
 * lookups in the inner map held by ns_policy[slot] (the slot
 * bit of cfg->policy_flags) — (dst,src), (dst,ANY),
 * (ANY,src), (ANY,ANY).  Any deny wins (lowest rule id), else any allow
 * (lowest rule id), else the default: deny when an endpoint identity is
 * involved (audit when each endpoint involved is in audit mode), allow
 * otherwise.
 * The compiler flattens deny precedence inside each pair, so the longest
 * prefix of each lookup is already that pair's right answer.
 */
#ifndef NETSEG_BPF_POLICY_H
#define NETSEG_BPF_POLICY_H

#include <netseg/bpf/identity.h>

struct netseg_decision {
	__u32 rule_id;
	__u8 verdict; /* ALLOW, DENY or AUDIT */
	__u8 reason;  /* for DENY and AUDIT: POLICY or DEFAULT_DENY */
	__u8 flags;   /* rule flags */
};

struct netseg_policy_acc {
	__u32 deny_id;
	__u32 allow_id;
	__u8 deny_flags;
	__u8 allow_flags;
	bool deny;
	bool allow;
};

static __always_inline void policy_one(void *inner, struct netseg_policy_key *k, __u32 dst,
				       __u32 src, struct netseg_policy_acc *a)
{
	struct netseg_policy_val *v;

	k->dst_id = dst;
	k->src_id = src;
	v = bpf_map_lookup_elem(inner, k);
	if (!v)
		return;
	if (v->verdict == NETSEG_VERDICT_DENY) {
		if (!a->deny || v->rule_id < a->deny_id) {
			a->deny_id = v->rule_id;
			a->deny_flags = v->flags;
		}
		a->deny = true;
	} else if (v->verdict == NETSEG_VERDICT_ALLOW) {
		if (!a->allow || v->rule_id < a->allow_id) {
			a->allow_id = v->rule_id;
			a->allow_flags = v->flags;
		}
		a->allow = true;
	}
}

static __always_inline void policy_rules(__u32 src, __u32 dst, __u8 proto, __be16 port,
					 __u32 pflags, struct netseg_policy_acc *a)
{
	struct netseg_policy_key k = {};
	__u32 slot = pflags & NETSEG_POL_SLOT1 ? 1 : 0;
	void *inner;

	/* The slot comes with the flags from one read: one inner map for
	 * all four lookups, the old rule set or the new, never a mix. */
	inner = bpf_map_lookup_elem(&ns_policy, &slot);
	if (!inner)
		return; /* no rule set loaded yet: defaults only */
	k.prefixlen = NETSEG_POLICY_PLEN_FULL;
	k.proto = proto;
	k.dport = port;
	policy_one(inner, &k, dst, src, a);
	if (pflags & NETSEG_POL_ANY_SRC)
		policy_one(inner, &k, dst, NETSEG_ID_ANY, a);
	if (pflags & NETSEG_POL_ANY_DST)
		policy_one(inner, &k, NETSEG_ID_ANY, src, a);
	if (pflags & NETSEG_POL_ANY_ANY)
		policy_one(inner, &k, NETSEG_ID_ANY, NETSEG_ID_ANY, a);
}

/*
 * Audit mode relaxes an identity's OWN default deny, nothing else: a flow
 * no rule allows passes as audit only when every endpoint it touches is in
 * audit mode (each one's default deny applies, so each must be relaxed).
 * A deny rule always drops, whatever the identities' modes.
 */
static __always_inline bool audit_relaxes(__u32 flags)
{
	return !(flags & NETSEG_IDF_ENDPOINT) || (flags & NETSEG_IDF_AUDIT);
}

/*
 * src/dst are the flow originator's identities, port the one it asked for
 * (the policy port: a destination port, or an ICMP type and code).
 */
static __always_inline void policy_decide(__u32 src, __u32 dst, __u8 proto, __be16 port,
					  __u32 pflags, struct netseg_decision *d)
{
	struct netseg_policy_acc a = {};
	__u32 sf, df;

	policy_rules(src, dst, proto, port, pflags, &a);
	if (a.allow && !a.deny) {
		d->verdict = a.allow_flags & NETSEG_RULEF_AUDIT ? NETSEG_VERDICT_AUDIT :
								  NETSEG_VERDICT_ALLOW;
		d->rule_id = a.allow_id;
		d->flags = a.allow_flags;
		d->reason = NETSEG_REASON_NONE;
		return;
	}
	if (a.deny) {
		d->verdict = NETSEG_VERDICT_DENY;
		d->reason = NETSEG_REASON_POLICY;
		d->rule_id = a.deny_id;
		d->flags = a.deny_flags;
		return;
	}
	d->rule_id = 0;
	d->flags = 0;
	/* An enforcing (non-audit) endpoint at the destination denies
	 * whatever the source is: the source's flags aren't needed. */
	df = identity_flags(dst);
	if ((df & (NETSEG_IDF_ENDPOINT | NETSEG_IDF_AUDIT)) == NETSEG_IDF_ENDPOINT) {
		d->reason = NETSEG_REASON_DEFAULT_DENY;
		d->verdict = NETSEG_VERDICT_DENY;
		return;
	}
	sf = identity_flags(src);
	if (!((sf | df) & NETSEG_IDF_ENDPOINT)) {
		/* Traffic touching no endpoint: only the prefilter applies. */
		d->verdict = NETSEG_VERDICT_ALLOW;
		d->reason = NETSEG_REASON_NONE;
		return;
	}
	d->reason = NETSEG_REASON_DEFAULT_DENY;
	d->verdict = audit_relaxes(sf) && audit_relaxes(df) ? NETSEG_VERDICT_AUDIT :
							      NETSEG_VERDICT_DENY;
}

#endif
