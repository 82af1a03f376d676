/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy compiler (compile.c) and reference evaluator (refeval.c).
 *
 * The compiler turns rules into LPM_TRIE entries (struct netseg_policy_key
 * -> struct netseg_policy_val, abi.h).  The datapath looks a new flow up
 * four times, with (dst,src), (dst,ANY), (ANY,src) and (ANY,ANY) and a
 * full-length key; any DENY wins with the lowest rule id among the DENY
 * answers, else the lowest id among the ALLOW answers, else no rule.
 *
 * An LPM trie answers with the longest matching prefix only, so inside one
 * (dst,src) pair the compiler flattens deny precedence: every entry already
 * holds the answer for all the rules of its pair that contain it.  The
 * reference evaluator states the same semantics without tries; the
 * differential test (tests/bpf/policy_diff.c) holds the two together.
 */
#ifndef NETSEG_COMPILE_H
#define NETSEG_COMPILE_H

#include <stddef.h>
#include <linux/types.h>

#include <netseg/abi.h>

#include "errors.h"
#include "rule.h"

/*
 * Maps a selector to an identity id: 0 or -ENOENT.  It only sees names
 * and CIDRs: "*", "world" and "host" are fixed by abi.h and resolved by
 * netseg_selector_resolve() itself.
 */
typedef int (*netseg_resolve_fn)(const char *selector, __u32 *id, void *ctx);

struct netseg_resolver {
	netseg_resolve_fn resolve;
	void *ctx;
	const char *const *names; /* known names, for "did you mean" */
	size_t nnames;
};

/* "*" -> NETSEG_ID_ANY, "world", "host", else res->resolve().  0/-ENOENT. */
int netseg_selector_resolve(const struct netseg_resolver *res, const char *sel, __u32 *id);

/* struct netseg_policy_entry (a key/value pair) lives in abi.h. */

/* Compiled policy: entries for one inner LPM_TRIE, each prefix once. */
struct netseg_policy {
	struct netseg_policy_entry *v;
	size_t n;
	size_t cap;
};

void netseg_policy_free(struct netseg_policy *p);

/*
 * Compile @n rules into @out (emptied first).  Every rule needs a unique
 * non-zero id: the datapath reports rule ids and 0 means "no rule".
 * @max_entries bounds the map (0 = NETSEG_POLICY_MAX).
 * Returns 0, -ENOENT (unknown identity, with suggestions in @err),
 * -EINVAL (bad or duplicate id), -E2BIG (policy map full) or -ENOMEM;
 * err->rule is the index of the offending rule when there is one.
 * On error @out holds nothing (freed), so only a success needs
 * netseg_policy_free().
 */
int netseg_compile(const struct netseg_rule *rules, size_t n, const struct netseg_resolver *res,
		   size_t max_entries, struct netseg_policy *out, struct netseg_err *err);

/* One aligned prefix of the 16-bit port space: @len leading bits of @value. */
struct netseg_port_prefix {
	__u16 value;
	__u8 len;
};

#define NETSEG_PORT_PREFIXES_MAX 30 /* 2 * 16 - 2, for [1, 65534] */

/* The minimal set of prefixes covering [lo, hi], ascending; returns count. */
unsigned int netseg_port_prefixes(__u16 lo, __u16 hi,
				  struct netseg_port_prefix out[NETSEG_PORT_PREFIXES_MAX]);

/* ------------------------------------------------- reference evaluator */

/* A new flow as the datapath sees it. */
struct netseg_tuple {
	__u32 src_id;
	__u32 dst_id;
	__u8 proto;
	__u16 port; /* host order: dport, or ICMP (type << 8 | code) */
};

/*
 * The plain semantics: a rule matches when its src is ANY or src_id, its
 * dst is ANY or dst_id, its protocol is any or the tuple's, and the port
 * is in one of its ranges (all if none) or the ICMP type is its type.
 * Deny beats allow; the lowest matching id decides within each.
 * Fills @out (verdict NONE, rule 0 when nothing matches).  0 or -ENOENT
 * for a selector the resolver doesn't know.
 */
int netseg_ref_eval(const struct netseg_rule *rules, size_t n, const struct netseg_resolver *res,
		    const struct netseg_tuple *t, struct netseg_policy_val *out);

/* The whole decision for a new flow, as the datapath takes it. */
struct netseg_ref_decision {
	__u8 verdict;  /* ALLOW, DENY or AUDIT */
	__u8 reason;   /* NONE, POLICY or DEFAULT_DENY */
	__u8 flags;    /* the deciding rule's flags */
	bool enforced; /* false: no rule matched and neither side is an endpoint */
	__u32 rule_id; /* 0 = default */
};

/*
 * The policy's defaults on top of netseg_ref_eval(), given each identity's
 * flags (enum netseg_identity_flags): an allow and no deny passes (audit
 * for an audit rule); a deny rule drops, always; else a flow touching no
 * endpoint passes; else it is each endpoint's default deny, relaxed (audit)
 * only when every endpoint involved is in audit mode.  This is the one statement of the
 * per-flow decision: `netsegctl trace` answers with it and the packet tests
 * check the datapath against it.  0 or -ENOENT.
 */
int netseg_ref_decide(const struct netseg_rule *rules, size_t n, const struct netseg_resolver *res,
		      const struct netseg_tuple *t, __u32 src_flags, __u32 dst_flags,
		      struct netseg_ref_decision *out);

#endif /* NETSEG_COMPILE_H */
