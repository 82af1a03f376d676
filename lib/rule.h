/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy model: one rule, its grammar and canonical text (rule.c), and
 * rule sets read from .rules or JSON files (ruleset.c).  What a rule set
 * means: docs/architecture.md, "Policy semantics".
 *
 *   RULE  := SRC '->' DST [':' PORTS]  |  SRC 'to' DST ['port' PORTS]
 *   SRC, DST := name | '*' | world | host | CIDR
 *   PORTS := [PROTO '/'] SPEC [',' SPEC]...  |  PROTO
 *   SPEC  := port | port '-' port
 *   PROTO := tcp | udp | sctp | icmp[/type] | icmpv6[/type] | any
 *
 * A .rules line is `allow RULE [--audit] [--log] [--comment TEXT]` or
 * `deny RULE [--log] [--comment TEXT]`; `#` starts a comment.
 *
 * Parsed rules are canonical: CIDRs are written back by inet_ntop, port
 * ranges are sorted and merged, `:any` is the same as no ports.  So two
 * rules that match the same traffic compare equal in netseg_rule_same().
 */
#ifndef NETSEG_RULE_H
#define NETSEG_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include <netseg/abi.h>

#include "errors.h"
#include "proto.h"

#define NETSEG_RULE_MAX_PORTS 64 /* port specs in one rule, as written */
#define NETSEG_SELECTOR_MAX 64	 /* selector text incl. NUL: names <= 63 */
#define NETSEG_COMMENT_MAX 256	 /* comment bytes incl. NUL */

struct netseg_port_range {
	__u16 lo, hi; /* inclusive, host order, 1 <= lo <= hi */
};

struct netseg_rule {
	__u32 id;	     /* assigned by the daemon; 0 = not yet */
	__u8 action;	     /* NETSEG_VERDICT_ALLOW or NETSEG_VERDICT_DENY */
	__u8 flags;	     /* NETSEG_RULEF_AUDIT | NETSEG_RULEF_LOG */
	__u8 proto;	     /* 0 any, IPPROTO_TCP/UDP/SCTP/ICMP/ICMPV6 */
	int icmp_type;	     /* -1 = any (icmp/icmpv6 only) */
	unsigned int nports; /* 0 = all ports; sorted, disjoint, merged */
	struct netseg_port_range ports[NETSEG_RULE_MAX_PORTS];
	char src[NETSEG_SELECTOR_MAX]; /* name, "*", "world", "host", CIDR */
	char dst[NETSEG_SELECTOR_MAX];
	char comment[NETSEG_COMMENT_MAX];
};

/*
 * A comment is free text: valid UTF-8, no control characters, shorter than
 * NETSEG_COMMENT_MAX.  0 or -EINVAL with @err ("comment: ...", column 0).
 */
int netseg_comment_check(const char *s, struct netseg_err *err);

/* An allow rule matching nothing yet: any protocol, no selectors. */
void netseg_rule_init(struct netseg_rule *r);

/*
 * Parse RULE (the CLI form: no action word, no flags) into @r, keeping
 * r->id, r->action, r->flags and r->comment as they are.
 * 0 or -EINVAL with @err (column 1-based in @text).
 */
int netseg_rule_parse(const char *text, struct netseg_rule *r, struct netseg_err *err);

/*
 * Parse one .rules line: `allow|deny RULE [flags] [# comment]`.
 * Returns 0 with @r filled, 1 for a blank or comment-only line (@r
 * untouched), or -EINVAL with @err.
 */
int netseg_rule_parse_line(const char *line, struct netseg_rule *r, struct netseg_err *err);

/* One SRC/DST on its own (JSON split form): canonical text into @out. */
int netseg_selector_parse(const char *text, char out[NETSEG_SELECTOR_MAX], struct netseg_err *err);

/* PORTS on its own ("tcp/80,443", "443", "icmp/8", "any"): sets r->proto,
 * r->icmp_type, r->nports and r->ports. */
int netseg_ports_parse(const char *text, struct netseg_rule *r, struct netseg_err *err);

/* Canonical match text, "frontend -> api:tcp/443".  0 or -ENOSPC. */
int netseg_rule_format(const struct netseg_rule *r, char *buf, size_t len);

/* The .rules line: `allow frontend -> api:tcp/443 --log --comment "x"`. */
int netseg_rule_format_line(const struct netseg_rule *r, char *buf, size_t len);

/* Same match and action (id, flags and comment ignored): idempotent add. */
bool netseg_rule_same(const struct netseg_rule *a, const struct netseg_rule *b);

/* netseg_proto_name(), the grammar's protocol words, is in proto.h. */

/* ----------------------------------------------------------- rule sets */

struct cJSON;

struct netseg_ruleset {
	struct netseg_rule *rules;
	size_t n;
	size_t cap;
};

int netseg_ruleset_add(struct netseg_ruleset *rs, const struct netseg_rule *r);
void netseg_ruleset_free(struct netseg_ruleset *rs);

/* Give every rule whose id is 0 the next id from *@next_id. */
void netseg_ruleset_assign_ids(struct netseg_ruleset *rs, __u32 *next_id);

/*
 * What differs between two versions of the same rule (netseg_rule_same())
 * besides the id: its flags and comment, one string each into @out[],
 * "--log: on → off" or "--comment: \"a\" → none".  Returns how many.
 */
#define NETSEG_RULE_CHANGES_MAX 3
#define NETSEG_RULE_CHANGE_LEN (2 * NETSEG_COMMENT_MAX + 32)
unsigned int netseg_rule_changes(const struct netseg_rule *from, const struct netseg_rule *to,
				 char out[NETSEG_RULE_CHANGES_MAX][NETSEG_RULE_CHANGE_LEN]);

/*
 * Parse a whole rule set, .rules or JSON (a ".json" name or a buffer that
 * starts with '{' or '['), appending to @rs.  Parsing goes on after an
 * error so that every error is reported, each as "name:line:col: message"
 * (JSON: "name: rules[i]: message").  0, or -EINVAL when @errs got any
 * message (@rs then holds only the good rules: discard it), or -ENOMEM.
 */
int netseg_ruleset_parse_buf(const char *name, const char *buf, size_t len,
			     struct netseg_ruleset *rs, struct netseg_errlist *errs);

/* Read @path and parse it as above; an unreadable file is one error. */
int netseg_ruleset_parse_file(const char *path, struct netseg_ruleset *rs,
			      struct netseg_errlist *errs);

/*
 * JSON form, for the state file and the control protocol:
 *   {"id":7,"action":"allow","rule":"frontend -> api:tcp/443",
 *    "audit":false,"log":true,"comment":"..."}
 * from_json also takes the split form, "src", "dst", "proto" and "ports"
 * (strings such as "5432" or "6000-6010", or numbers) instead of "rule".
 * to_json returns a new object (free with cJSON_Delete) or NULL on ENOMEM.
 */
struct cJSON *netseg_rule_to_json(const struct netseg_rule *r);
int netseg_rule_from_json(const struct cJSON *obj, struct netseg_rule *r, struct netseg_err *err);

/* {"rules":[...]}; from_json also accepts a bare array. */
struct cJSON *netseg_ruleset_to_json(const struct netseg_ruleset *rs);
int netseg_ruleset_from_json(const struct cJSON *root, const char *name, struct netseg_ruleset *rs,
			     struct netseg_errlist *errs);

#endif /* NETSEG_RULE_H */
