/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Learn mode: what talked to what (the flow history as a graph) and the
 * smallest rule set that allows what was observed.  Pure library over
 * flow records in the native JSON format (flowrec.h); `netsegctl map` and
 * `netsegctl suggest` fetch the records and print the results.
 *
 * Observations are deduplicated by flow id: a flow seen at two hooks (the
 * source's egress, the destination's ingress) or as start and end record
 * is one flow, with the most restrictive verdict any hook gave it
 * (denied, then audit, then allowed).
 *
 * Suggestions:
 *   - one rule per source, destination, protocol and port range; a range
 *     only joins ports that were each seen (443 and 445 stay apart);
 *   - ICMP and ICMPv6 by type (icmp/8), other protocols without ports by
 *     protocol name when the grammar has one, else left out (counted);
 *   - world traffic by exact address (/32, /128): a wider prefix would
 *     allow addresses nobody saw, and an address group is a decision for
 *     the reviewer, not a guess;
 *   - flows a deny rule dropped are left out (deny beats allow: an allow
 *     rule would change nothing), and counted.
 */
#ifndef NETSEG_SUGGEST_H
#define NETSEG_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

struct cJSON;

#define NETSEG_SEL_MAX 64 /* identity name or CIDR text, with the NUL */

/* One flow record, reduced to what learn mode needs. */
struct netseg_obs {
	char src[NETSEG_SEL_MAX], dst[NETSEG_SEL_MAX]; /* identity names */
	char saddr[48], daddr[48];		       /* addresses as text, "" if absent */
	__u8 verdict;				       /* NETSEG_FLOW_ALLOWED/DENIED/AUDIT */
	__u8 proto;				       /* IANA number */
	bool has_port;				       /* TCP, UDP, SCTP: port is dst port */
	bool has_icmp;				       /* ICMP(v6): port is the type */
	__u16 port;
	__u32 rule_id; /* the rule that decided, 0 = default */
	__u64 time_ns;
	__u64 flow_id; /* 0 = untracked */
};

/*
 * A native JSON flow record as an observation.  0; -ENOENT for a record
 * learn mode has no use for (lost records, an identity without a name);
 * -EINVAL for one that isn't a flow record.  End records count with the
 * verdict of their flow.
 */
int netseg_obs_from_json(const struct cJSON *rec, struct netseg_obs *o);

/* Flows between two selectors on one protocol and port (or ICMP type). */
struct netseg_flowagg {
	char src[NETSEG_SEL_MAX], dst[NETSEG_SEL_MAX];
	__u8 proto;
	bool has_port, has_icmp;
	__u16 port;
	__u32 allowed, denied, audit; /* distinct flows by verdict */
	__u32 deny_ruled;	      /* of denied: by a deny rule */
	__u64 first_ns, last_ns;
};

/*
 * Deduplicates @obs (reordering it) and counts flows per (src, dst,
 * proto, port).  @by_addr: world endpoints become their address as a
 * /32 or /128 selector (suggest), else stay "world" (map).  The result,
 * sorted by src, dst, proto, port, is malloc'd into *out.  0 or -ENOMEM.
 */
int netseg_flowagg_build(struct netseg_obs *obs, size_t n, bool by_addr,
			 struct netseg_flowagg **out, size_t *nout);

/* One suggested allow rule and the flows it explains. */
struct netseg_suggestion {
	char src[NETSEG_SEL_MAX], dst[NETSEG_SEL_MAX];
	__u8 proto;
	bool has_port, has_icmp;
	__u16 lo, hi; /* port range, or lo = ICMP type */
	__u32 flows, allowed, denied, audit;
	__u64 first_ns, last_ns;
};

/* Totals of what netseg_suggest() left out. */
struct netseg_suggest_skipped {
	__u32 deny_ruled; /* flows a deny rule dropped */
	__u32 no_grammar; /* flows of a protocol rules can't name */
};

/*
 * The suggestions for @agg (as netseg_flowagg_build() sorted it), keeping
 * only flows that @identity is source or destination of (NULL: all).
 * malloc'd into *out.  0 or -ENOMEM.
 */
int netseg_suggest(const struct netseg_flowagg *agg, size_t n, const char *identity,
		   struct netseg_suggestion **out, size_t *nout,
		   struct netseg_suggest_skipped *skipped);

/* "frontend -> api:tcp/443-445" in @buf.  Length or -ENOSPC/-EINVAL. */
int netseg_suggestion_rule(const struct netseg_suggestion *s, char *buf, size_t len);

/* "tcp/443", "icmp/8", "proto-47" for one aggregate. */
void netseg_flowagg_port(const struct netseg_flowagg *a, char *buf, size_t len);

/* A protocol's name in the rule grammar, or NULL. */
const char *netseg_suggest_proto_name(__u8 proto);

/*
 * The graph as Graphviz DOT on @f: identities as nodes (world and host in
 * shapes of their own), one edge per (src, dst, verdict) labelled with
 * each protocol/port and its flow count; denied red, audit dashed,
 * allowed solid.  0 or -EIO.
 */
int netseg_map_dot(FILE *f, const struct netseg_flowagg *agg, size_t n);

/* @s as a DOT quoted string ("..." with " and \ escaped, controls as
 * spaces).  Length written or -ENOSPC. */
int netseg_dot_quote(const char *s, char *buf, size_t len);

/* "90s", "15m", "2h", "1d" or plain seconds as ns.  0 or -EINVAL. */
int netseg_duration_parse(const char *s, __u64 *ns);

#endif
