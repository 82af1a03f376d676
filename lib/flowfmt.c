// SPDX-License-Identifier: GPL-2.0-only
/*
 * Flow records as SIEM lines: native JSON, OCSF 1.8.0, ECS 9.4.0, CEF:0,
 * and the Community ID they all carry.
 *
 * Each format is one field table (json_fields, ocsf_fields, ecs_fields,
 * cef_fields) that names, in output order, the keys it writes and the
 * record value (enum fv) each key carries.  A value is computed in one
 * place, rec_value(), whichever format asks for it: "flow_id" in JSON,
 * connection_info.uid in OCSF, netseg.flow_id in ECS and externalId in
 * CEF are all FV_FLOW_ID, so the formats can't drift apart.  Which row of
 * a schema's enums each record kind maps to (docs/flow-records.md,
 * "Verdicts") is struct kind_map, also in one place.
 *
 * The writers print straight into the caller's buffer: no tree of nodes
 * per record, no allocation, numbers as exact u64 decimal (times in ns
 * and counters exceed the 2^53 a double holds).  JSON strings are
 * escaped as cJSON escaped them before (the lines are byte for byte what
 * the earlier cJSON formatters wrote; tests/unit/flowfmt_diff.c holds
 * them to it).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include <openssl/evp.h>

#include "flowrec.h"

#define MS(ns) ((ns) / 1000000ULL)

/* ------------------------------------------------------ the mapping table */

struct kind_map {
	int ocsf_activity;    /* 1 Open, 2 Close, 5 Refuse */
	int ocsf_action;      /* 1 Allowed, 2 Denied, 3 Observed */
	int ocsf_disposition; /* 1 Allowed, 2 Blocked, 6 Dropped, 15 Detected */
	int ocsf_severity;    /* 1 Informational, 2 Low, 3 Medium */
	bool is_alert;
	const char *ecs_type[3];
	const char *ecs_action;
	const char *cef_class;
	const char *cef_name;
	const char *cef_act;
	int cef_severity; /* 0-3 Low, 4-6 Medium, 7-8 High */
};

static const struct kind_map km_allowed = {
	.ocsf_activity = 1,
	.ocsf_action = 1,
	.ocsf_disposition = 1,
	.ocsf_severity = 1,
	.ecs_type = { "connection", "start", "allowed" },
	.ecs_action = "allowed",
	.cef_class = "flow-allow",
	.cef_name = "Flow allowed",
	.cef_act = "allow",
	.cef_severity = 1,
};

static const struct kind_map km_denied = {
	.ocsf_activity = 5,
	.ocsf_action = 2,
	.ocsf_disposition = 2,
	.ocsf_severity = 3,
	.is_alert = true,
	.ecs_type = { "connection", "denied" },
	.ecs_action = "blocked",
	.cef_class = "flow-deny",
	.cef_name = "Flow denied",
	.cef_act = "blocked",
	.cef_severity = 7,
};

/*
 * A drop that is no policy decision (malformed, spoofed, ...): OCSF has
 * Dropped for a silent drop; the other formats keep the DENY row.
 */
static const struct kind_map km_dropped = {
	.ocsf_activity = 5,
	.ocsf_action = 2,
	.ocsf_disposition = 6,
	.ocsf_severity = 3,
	.is_alert = true,
	.ecs_type = { "connection", "denied" },
	.ecs_action = "blocked",
	.cef_class = "flow-deny",
	.cef_name = "Flow denied",
	.cef_act = "blocked",
	.cef_severity = 7,
};

/* An audit record: the flow was opened (activity), only observed (action:
 * nothing was blocked), and reported as a detection (disposition). */
static const struct kind_map km_audit = {
	.ocsf_activity = 1,
	.ocsf_action = 3,
	.ocsf_disposition = 15,
	.ocsf_severity = 2,
	.is_alert = true,
	.ecs_type = { "connection", "allowed" },
	.ecs_action = "audit-deny",
	.cef_class = "flow-audit",
	.cef_name = "Flow audit (would be denied)",
	.cef_act = "audit",
	.cef_severity = 5,
};

static const struct kind_map km_end = {
	.ocsf_activity = 2,
	.ocsf_action = 1,
	.ocsf_disposition = 1,
	.ocsf_severity = 1,
	.ecs_type = { "connection", "end" },
	.ecs_action = "ended",
	.cef_class = "flow-end",
	.cef_name = "Flow ended",
	.cef_act = "allow",
	.cef_severity = 1,
};

/* The end of an audit flow keeps the audit row's action, of a cut flow the deny's. */
static const struct kind_map km_end_audit = {
	.ocsf_activity = 2,
	.ocsf_action = 3,
	.ocsf_disposition = 15,
	.ocsf_severity = 1,
	.ecs_type = { "connection", "end" },
	.ecs_action = "ended",
	.cef_class = "flow-end",
	.cef_name = "Flow ended",
	.cef_act = "audit",
	.cef_severity = 1,
};

static const struct kind_map km_end_cut = {
	.ocsf_activity = 2,
	.ocsf_action = 2,
	.ocsf_disposition = 2,
	.ocsf_severity = 1,
	.ecs_type = { "connection", "end", "denied" },
	.ecs_action = "ended",
	.cef_class = "flow-end",
	.cef_name = "Flow ended",
	.cef_act = "blocked",
	.cef_severity = 1,
};

/* OCSF captions of the enum values used above. */
static const char *ocsf_caption(const char *const *names, size_t n, int id)
{
	return id >= 0 && (size_t)id < n && names[id] ? names[id] : "Other";
}

#define CAPTION(tab, id) ocsf_caption(tab, sizeof(tab) / sizeof((tab)[0]), id)

static const char *const activity_names[] = { [1] = "Open", [2] = "Close", [5] = "Refuse" };
static const char *const action_names[] = { [1] = "Allowed", [2] = "Denied", [3] = "Observed" };
static const char *const disposition_names
	[] = { [1] = "Allowed", [2] = "Blocked", [6] = "Dropped", [15] = "Detected" };
static const char *const severity_names[] = { [1] = "Informational", [2] = "Low", [3] = "Medium" };

static bool policy_drop(const struct netseg_flowrec *r)
{
	switch (r->reason_code) {
	case NETSEG_REASON_NONE:
	case NETSEG_REASON_POLICY:
	case NETSEG_REASON_DEFAULT_DENY:
	case NETSEG_REASON_PREFILTER:
		return true;
	}
	return false;
}

static const struct kind_map *kind_map(const struct netseg_flowrec *r)
{
	switch (r->kind) {
	case NETSEG_FLOW_ALLOWED:
		return &km_allowed;
	case NETSEG_FLOW_DENIED:
		return policy_drop(r) ? &km_denied : &km_dropped;
	case NETSEG_FLOW_AUDIT:
		return &km_audit;
	case NETSEG_FLOW_END:
		if (r->flow_verdict == NETSEG_VERDICT_DENY)
			return &km_end_cut;
		if (r->flow_verdict == NETSEG_VERDICT_AUDIT)
			return &km_end_audit;
		return &km_end;
	}
	return NULL;
}

/* ------------------------------------------------------- output buffer */

/*
 * The line being written.  Once something doesn't fit, full sticks and
 * the rest is skipped: the caller gets -ENOSPC, never a cut line.
 */
struct sbuf {
	char *p;
	size_t len, cap;
	bool full;
	bool first; /* JSON: nothing yet in the innermost object or array */
	bool ext;   /* CEF: an extension pair written: the next needs a space */
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->full || b->len + n >= b->cap) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_putc(struct sbuf *b, char c)
{
	if (b->full || b->len + 1 >= b->cap) {
		b->full = true;
		return;
	}
	b->p[b->len++] = c;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* Decimal without printf: the daemon prints a dozen numbers per record. */
static size_t u64_text(char out[21], __u64 v)
{
	char t[20];
	size_t n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = t[n - 1 - i];
	out[n] = '\0';
	return n;
}

static void sb_u64(struct sbuf *b, __u64 v)
{
	char t[21];

	if (b->full || b->len + 21 >= b->cap) {
		sb_put(b, t, u64_text(t, v));
		return;
	}
	b->len += u64_text(b->p + b->len, v);
}

/* Flow ids: 16 lowercase hex digits. */
static void hex16(char out[17], __u64 v)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--, v >>= 4)
		out[i] = hex[v & 15];
	out[16] = '\0';
}

/* The NUL, and the length or -ENOSPC. */
static int sb_finish(struct sbuf *b)
{
	if (b->full) {
		if (b->cap)
			b->p[b->len < b->cap ? b->len : b->cap - 1] = '\0';
		return -ENOSPC;
	}
	b->p[b->len] = '\0';
	return (int)b->len;
}

/*
 * Days since 1970-01-01 as a civil date (proleptic Gregorian; H. Hinnant's
 * civil_from_days): gmtime_r() takes a lock per call.
 */
static void civil_date(__s64 z, __s64 *y, unsigned int *m, unsigned int *d)
{
	__s64 era;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (__s64)yoe + era * 400 + (*m <= 2);
}

static void put2(char *p, unsigned int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* netseg_rfc3339(buf, ns, 9): "2026-07-23T10:00:15.123456789Z" (30 bytes). */
static size_t rfc3339_ns(char out[NETSEG_RFC3339_MAX], __u64 ns)
{
	__u64 sec = ns / NETSEG_NSEC, frac = ns % NETSEG_NSEC;
	unsigned int sod = (unsigned int)(sec % 86400), m, d, i;
	__s64 y;

	/* u64 ns end in 2554: always a four-digit year. */
	civil_date((__s64)(sec / 86400), &y, &m, &d);
	put2(out, (unsigned int)(y / 100));
	put2(out + 2, (unsigned int)(y % 100));
	out[4] = '-';
	put2(out + 5, m);
	out[7] = '-';
	put2(out + 8, d);
	out[10] = 'T';
	put2(out + 11, sod / 3600);
	out[13] = ':';
	put2(out + 14, sod / 60 % 60);
	out[16] = ':';
	put2(out + 17, sod % 60);
	out[19] = '.';
	for (i = 0; i < 9; i++, frac /= 10)
		out[28 - i] = (char)('0' + frac % 10);
	out[29] = 'Z';
	out[30] = '\0';
	return 30;
}

/* ------------------------------------------------------- record values */

/*
 * Every value a format may write.  A value a record doesn't have (a port
 * of an ICMP flow, an empty name, a flow id of 0) is absent: its key is
 * left out in every format.
 */
enum fv {
	FV_NONE,
	FV_TRUE,
	FV_TIME_RFC3339, /* time, ns: "...T10:00:15.123456789Z" */
	FV_TIME_NS,
	FV_TIME_MS,
	FV_KIND,    /* "allowed" "denied" "audit" "end" "lost" */
	FV_FLOW_ID, /* 16 hex digits; absent for 0 */
	FV_REASON,
	FV_RULE_ID,  /* number, 0 = default deny */
	FV_RULE_UID, /* string: the id, or "default-deny" */
	FV_RULE_TEXT,
	FV_RULE_NAME, /* the rule text, or "rule N" */
	FV_COMMENT,
	FV_NODE_DIR_NAME, /* enum netseg_node_dir in our words */
	FV_NODE_DIR,	  /* and its number (OCSF's direction_id) */
	FV_HOOK,	  /* absent for 0 */
	FV_IFNAME,
	FV_IFINDEX,
	FV_NODE,
	FV_FAMILY_NAME, /* "ipv4" "ipv6"; absent without addresses */
	FV_IP_VERSION,	/* 4, 6; likewise */
	FV_PROTO,
	FV_PROTO_NAME,	/* lowercase IANA keyword; absent if we name none */
	FV_PROTO_TEXT,	/* the number as a string */
	FV_PROTO_UPPER, /* the keyword in capitals, or the number */
	FV_SRC_NAME,
	FV_DST_NAME, /* identities */
	FV_SRC_ID,
	FV_DST_ID, /* their numbers; absent for 0 */
	FV_SADDR,
	FV_DADDR,
	FV_SPORT,
	FV_DPORT, /* TCP, UDP, SCTP only */
	FV_ICMP_TYPE,
	FV_ICMP_CODE,	    /* ICMP and ICMPv6 only */
	FV_ICMP_TEXT,	    /* "type/code" */
	FV_TCP_FLAGS,	    /* flags seen (end records: the originator's) */
	FV_TCP_FLAGS_REPLY, /* the responder's */
	FV_TCP_FLAGS_BITS,  /* both as one number */
	FV_PKT_LEN,	    /* event records */
	FV_COMMUNITY_ID,
	FV_MESSAGE, /* one line for humans */
	/* end records */
	FV_START_RFC3339,
	FV_START_NS,
	FV_START_MS,
	FV_DURATION_NS,
	FV_DURATION_MS,	 /* end_time - start_time after both are cut to ms */
	FV_FLOW_VERDICT, /* "allowed" "audit" "denied" */
	FV_PACKETS_OUT,
	FV_BYTES_OUT, /* originator -> responder */
	FV_PACKETS_IN,
	FV_BYTES_IN, /* responder -> originator */
	FV_PACKETS,
	FV_BYTES, /* both ways */
	/* lost records */
	FV_LOST_RING,
	FV_LOST_RATE,
	FV_LOST_QUEUE,
	FV_LOST_SEND,	    /* absent when no send failed */
	FV_LOST_SEND_ERROR, /* why: "connection refused" */
	FV_LOST_TOTAL,
	/* the product (struct netseg_flowfmt_opts) */
	FV_VENDOR,
	FV_PRODUCT,
	FV_VERSION,
	FV_RULESET,
	/* per-schema words for the kind (struct kind_map) and direction */
	FV_OCSF_ACTIVITY,
	FV_OCSF_ACTIVITY_NAME,
	FV_OCSF_TYPE_UID,
	FV_OCSF_TYPE_NAME,
	FV_OCSF_SEVERITY,
	FV_OCSF_SEVERITY_NAME,
	FV_OCSF_ACTION,
	FV_OCSF_ACTION_NAME,
	FV_OCSF_DISPOSITION,
	FV_OCSF_DISPOSITION_NAME,
	FV_OCSF_IS_ALERT,
	FV_OCSF_DIRECTION,
	FV_OCSF_BOUNDARY,
	FV_OCSF_BOUNDARY_NAME,
	FV_OCSF_SRC_IFNAME,
	FV_OCSF_DST_IFNAME, /* the local endpoint's interface */
	FV_ECS_KIND,
	FV_ECS_TYPE0,
	FV_ECS_TYPE1,
	FV_ECS_TYPE2,
	FV_ECS_ACTION,
	FV_ECS_OUTCOME,
	FV_ECS_DIRECTION,
	FV_CEF_ACT,
	FV_CEF_DIRECTION,
};

enum vtype { VT_NONE, VT_STR, VT_NUM, VT_BOOL, VT_FLAGS };

struct val {
	int type; /* enum vtype */
	const char *s;
	__u64 n;
};

/* One record being formatted: what the values are computed from. */
struct fctx {
	const struct netseg_flowrec *r;
	const struct netseg_flowfmt_opts *o;
	const struct kind_map *km; /* NULL for lost records */
	char tmp[2048];		   /* the text of the value just asked for */
};

static const char *opt(const char *v, const char *dflt)
{
	return v && *v ? v : dflt;
}

static const char *verdict_name(int v)
{
	switch (v) {
	case NETSEG_VERDICT_ALLOW:
		return "allowed";
	case NETSEG_VERDICT_DENY:
		return "denied";
	case NETSEG_VERDICT_AUDIT:
		return "audit";
	}
	return NULL;
}

static __u64 lost_total(const struct netseg_flowrec *r)
{
	return r->lost_ring + r->lost_rate + r->lost_queue + r->lost_send;
}

/* "connection refused": why sends failed, in the words of strerror(). */
static const char *send_error(const struct netseg_flowrec *r, char *buf, size_t len)
{
	if (!r->lost_send)
		return NULL;
	snprintf(buf, len, "%s", r->lost_send_errno > 0 ? strerror(r->lost_send_errno) : "unknown");
	if (buf[0])
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static const char *rule_name(const struct netseg_flowrec *r, char *buf)
{
	if (r->rule[0])
		return r->rule;
	memcpy(buf, "rule ", 5);
	u64_text(buf + 5, r->rule_id);
	return buf;
}

/* "1.2.3.4:80 (name)", "[::1]:80", "?" */
static void ep_text(struct sbuf *b, const char *ip, bool port, __u16 p, const char *name)
{
	bool v6 = strchr(ip, ':');

	if (!ip[0]) {
		sb_putc(b, '?');
	} else if (port) {
		if (v6)
			sb_putc(b, '[');
		sb_puts(b, ip);
		sb_puts(b, v6 ? "]:" : ":");
		sb_u64(b, p);
	} else {
		sb_puts(b, ip);
	}
	if (name[0]) {
		sb_put(b, " (", 2);
		sb_puts(b, name);
		sb_putc(b, ')');
	}
}

static void lost_message(struct sbuf *b, const struct netseg_flowrec *r)
{
	char why[64];

	sb_u64(b, lost_total(r));
	sb_puts(b, " flow records lost (ring buffer full ");
	sb_u64(b, r->lost_ring);
	sb_puts(b, ", rate limit ");
	sb_u64(b, r->lost_rate);
	sb_puts(b, ", sink queue full ");
	sb_u64(b, r->lost_queue);
	if (send_error(r, why, sizeof(why))) {
		sb_puts(b, ", send error: ");
		sb_puts(b, why);
		sb_putc(b, ' ');
		sb_u64(b, r->lost_send);
	}
	sb_putc(b, ')');
}

/*
 * One line for humans (the record's strings are already valid UTF-8):
 * "tcp 198.18.1.2:51514 -> 198.18.3.2:5432 denied (policy) by deny-db".
 * The longest record's line is about 1,500 bytes: it always fits.
 */
static const char *message(const struct netseg_flowrec *r, char *buf, size_t len)
{
	struct sbuf b = { .p = buf, .cap = len };
	const char *pn = netseg_flow_proto_name(r->proto);
	const char *what = netseg_flowrec_kind_name(r->kind);
	char rn[32];

	if (r->kind == NETSEG_FLOW_LOST) {
		lost_message(&b, r);
		sb_finish(&b);
		return buf;
	}
	if (pn) {
		sb_puts(&b, pn);
	} else {
		sb_puts(&b, "proto ");
		sb_u64(&b, r->proto);
	}
	sb_putc(&b, ' ');
	ep_text(&b, r->saddr, r->has_ports, r->sport, r->src_name);
	sb_puts(&b, " -> ");
	ep_text(&b, r->daddr, r->has_ports, r->dport, r->dst_name);
	if (r->has_icmp) {
		sb_puts(&b, " type ");
		sb_u64(&b, r->icmp_type);
		sb_puts(&b, " code ");
		sb_u64(&b, r->icmp_code);
	}
	if (r->kind == NETSEG_FLOW_END) {
		char ms[4] = { 0 };
		__u64 frac = r->duration_ns % NETSEG_NSEC / 1000000;

		ms[0] = (char)('0' + frac / 100);
		ms[1] = (char)('0' + frac / 10 % 10);
		ms[2] = (char)('0' + frac % 10);
		sb_puts(&b, " ended after ");
		sb_u64(&b, r->duration_ns / NETSEG_NSEC);
		sb_putc(&b, '.');
		sb_puts(&b, ms);
		sb_puts(&b, " s: ");
		sb_u64(&b, r->packets[0]);
		sb_puts(&b, " packets ");
		sb_u64(&b, r->bytes[0]);
		sb_puts(&b, " bytes out, ");
		sb_u64(&b, r->packets[1]);
		sb_puts(&b, " packets ");
		sb_u64(&b, r->bytes[1]);
		sb_puts(&b, " bytes in");
		what = NULL;
	}
	if (what) {
		sb_putc(&b, ' ');
		sb_puts(&b, what);
	}
	if (r->reason[0]) {
		sb_put(&b, " (", 2);
		sb_puts(&b, r->reason);
		sb_putc(&b, ')');
	}
	if (r->has_rule) {
		sb_puts(&b, " by ");
		sb_puts(&b, rule_name(r, rn));
	}
	sb_finish(&b);
	return buf;
}

/* boundary_id follows from the direction (enum netseg_node_dir). */
static int ocsf_boundary(const struct netseg_flowrec *r)
{
	switch (r->node_dir) {
	case NETSEG_NODE_DIR_LOCAL:
		return 1; /* Localhost */
	case NETSEG_NODE_DIR_LATERAL:
		return 2; /* Internal */
	case NETSEG_NODE_DIR_INBOUND:
	case NETSEG_NODE_DIR_OUTBOUND:
	case NETSEG_NODE_DIR_TRANSIT:
		return 3; /* External */
	}
	return 0;
}

static const char *const boundary_names[] = { "Unknown", "Localhost", "Internal", "External" };

static const char *ocsf_direction(int node_dir)
{
	static const char *const names[] = { "Unknown", "Inbound", "Outbound", "Lateral", "Local" };

	if (node_dir == NETSEG_NODE_DIR_TRANSIT)
		return "Transit"; /* 99 Other: the direction string says what */
	return names[node_dir >= 0 && node_dir <= 4 ? node_dir : 0];
}

/* ECS's words for enum netseg_node_dir: pod to pod or to the node is internal. */
static const char *ecs_direction(int node_dir)
{
	switch (node_dir) {
	case NETSEG_NODE_DIR_INBOUND:
		return "inbound";
	case NETSEG_NODE_DIR_OUTBOUND:
		return "outbound";
	case NETSEG_NODE_DIR_LATERAL:
	case NETSEG_NODE_DIR_LOCAL:
		return "internal";
	case NETSEG_NODE_DIR_TRANSIT:
		return "external";
	}
	return "unknown";
}

/* "TCP": CEF's habit; a protocol we don't name goes as its number. */
static const char *proto_upper(const char *pn, char *buf, size_t len)
{
	size_t i;

	for (i = 0; pn[i] && i + 1 < len; i++)
		buf[i] = pn[i] >= 'a' && pn[i] <= 'z' ? pn[i] - 'a' + 'A' : pn[i];
	buf[i] = '\0';
	return buf;
}

static struct val vstr(const char *s)
{
	return (struct val){ .type = s ? VT_STR : VT_NONE, .s = s };
}

static struct val vnum(__u64 n)
{
	return (struct val){ .type = VT_NUM, .n = n };
}

/* Present only when @cond. */
static struct val vnum_if(bool cond, __u64 n)
{
	return (struct val){ .type = cond ? VT_NUM : VT_NONE, .n = n };
}

static struct val vflags(__u8 flags)
{
	return (struct val){ .type = flags ? VT_FLAGS : VT_NONE, .n = flags };
}

/* The values of the record itself. */
static struct val flow_value(struct fctx *c, int v)
{
	const struct netseg_flowrec *r = c->r;

	switch (v) {
	case FV_TRUE:
		return (struct val){ .type = VT_BOOL, .n = 1 };
	case FV_TIME_RFC3339:
		rfc3339_ns(c->tmp, r->time_ns);
		return vstr(c->tmp);
	case FV_TIME_NS:
		return vnum(r->time_ns);
	case FV_TIME_MS:
		return vnum(MS(r->time_ns));
	case FV_KIND:
		return vstr(netseg_flowrec_kind_name(r->kind));
	case FV_FLOW_ID:
		if (!r->flow_id)
			return vstr(NULL);
		hex16(c->tmp, r->flow_id);
		return vstr(c->tmp);
	case FV_REASON:
		return vstr(r->reason);
	case FV_RULE_ID:
		return vnum(r->rule_id);
	case FV_RULE_UID:
		if (!r->rule_id)
			return vstr("default-deny");
		u64_text(c->tmp, r->rule_id);
		return vstr(c->tmp);
	case FV_RULE_TEXT:
		return vstr(r->rule);
	case FV_RULE_NAME:
		return vstr(rule_name(r, c->tmp));
	case FV_COMMENT:
		return vstr(r->comment);
	case FV_NODE_DIR_NAME:
		return vstr(netseg_node_dir_name(r->node_dir));
	case FV_NODE_DIR:
		return vnum(r->node_dir);
	case FV_HOOK:
		return vstr(r->hook ? netseg_hook_name(r->hook) : NULL);
	case FV_IFNAME:
		return vstr(r->ifname);
	case FV_IFINDEX:
		return vnum(r->ifindex);
	case FV_NODE:
		return vstr(r->node);
	case FV_FAMILY_NAME:
		return vstr(!r->family ? NULL : r->family == NETSEG_AF_INET ? "ipv4" : "ipv6");
	case FV_IP_VERSION:
		return vnum_if(r->family, r->family == NETSEG_AF_INET ? 4 : 6);
	case FV_PROTO:
		return vnum(r->proto);
	case FV_PROTO_NAME:
		return vstr(netseg_flow_proto_name(r->proto));
	case FV_PROTO_TEXT:
		u64_text(c->tmp, r->proto);
		return vstr(c->tmp);
	case FV_PROTO_UPPER:
		if (!netseg_flow_proto_name(r->proto))
			return vnum(r->proto);
		return vstr(proto_upper(netseg_flow_proto_name(r->proto), c->tmp, 16));
	case FV_SRC_NAME:
		return vstr(r->src_name);
	case FV_DST_NAME:
		return vstr(r->dst_name);
	case FV_SRC_ID:
		return vnum_if(r->src_id, r->src_id);
	case FV_DST_ID:
		return vnum_if(r->dst_id, r->dst_id);
	case FV_SADDR:
		return vstr(r->saddr);
	case FV_DADDR:
		return vstr(r->daddr);
	case FV_SPORT:
		return vnum_if(r->has_ports, r->sport);
	case FV_DPORT:
		return vnum_if(r->has_ports, r->dport);
	case FV_ICMP_TYPE:
		return vnum_if(r->has_icmp, r->icmp_type);
	case FV_ICMP_CODE:
		return vnum_if(r->has_icmp, r->icmp_code);
	case FV_ICMP_TEXT: {
		size_t n;

		if (!r->has_icmp)
			return vstr(NULL);
		n = u64_text(c->tmp, r->icmp_type);
		c->tmp[n++] = '/';
		u64_text(c->tmp + n, r->icmp_code);
		return vstr(c->tmp);
	}
	case FV_TCP_FLAGS:
		return vflags(r->tcp_flags[0]);
	case FV_TCP_FLAGS_REPLY:
		return vflags(r->tcp_flags[1]);
	case FV_TCP_FLAGS_BITS:
		return vnum_if(r->tcp_flags[0] | r->tcp_flags[1],
			       r->tcp_flags[0] | r->tcp_flags[1]);
	case FV_PKT_LEN:
		return vnum_if(r->kind != NETSEG_FLOW_END && r->pkt_len, r->pkt_len);
	case FV_COMMUNITY_ID:
		if (netseg_flowrec_community_id(r, c->o ? c->o->cid_seed : 0, c->tmp))
			return vstr(NULL);
		return vstr(c->tmp);
	case FV_MESSAGE:
		return vstr(message(r, c->tmp, sizeof(c->tmp)));
	}
	return vstr(NULL);
}

static struct val end_value(struct fctx *c, int v)
{
	const struct netseg_flowrec *r = c->r;

	switch (v) {
	case FV_START_RFC3339:
		rfc3339_ns(c->tmp, r->start_ns);
		return vstr(c->tmp);
	case FV_START_NS:
		return vnum(r->start_ns);
	case FV_START_MS:
		return vnum(MS(r->start_ns));
	case FV_DURATION_NS:
		return vnum(r->duration_ns);
	case FV_DURATION_MS:
		/* Each time cut to ms on its own, the difference of the
		 * originals could be 1 off end_time - start_time. */
		return vnum(MS(r->time_ns) > MS(r->start_ns) ? MS(r->time_ns) - MS(r->start_ns) :
							       0);
	case FV_FLOW_VERDICT:
		return vstr(verdict_name(r->flow_verdict));
	case FV_PACKETS_OUT:
		return vnum(r->packets[0]);
	case FV_BYTES_OUT:
		return vnum(r->bytes[0]);
	case FV_PACKETS_IN:
		return vnum(r->packets[1]);
	case FV_BYTES_IN:
		return vnum(r->bytes[1]);
	case FV_PACKETS:
		return vnum(r->packets[0] + r->packets[1]);
	case FV_BYTES:
		return vnum(r->bytes[0] + r->bytes[1]);
	case FV_LOST_RING:
		return vnum(r->lost_ring);
	case FV_LOST_RATE:
		return vnum(r->lost_rate);
	case FV_LOST_QUEUE:
		return vnum(r->lost_queue);
	case FV_LOST_SEND:
		return vnum_if(r->lost_send, r->lost_send);
	case FV_LOST_SEND_ERROR:
		return vstr(send_error(r, c->tmp, 64));
	case FV_LOST_TOTAL:
		return vnum(lost_total(r));
	}
	return flow_value(c, v);
}

/* The schemas' own words: kind_map's row for the record, the direction. */
static struct val schema_value(struct fctx *c, int v)
{
	const struct kind_map *km = c->km;
	const struct netseg_flowrec *r = c->r;
	const struct netseg_flowfmt_opts *o = c->o;

	switch (v) {
	case FV_VENDOR:
		return vstr(opt(o ? o->vendor : NULL, "netseg"));
	case FV_PRODUCT:
		return vstr(opt(o ? o->product : NULL, "netseg"));
	case FV_VERSION:
		return vstr(o ? o->version : NULL);
	case FV_RULESET:
		return vstr(opt(o ? o->ruleset : NULL, "netseg"));
	case FV_ECS_KIND:
		return vstr(km ? "event" : "metric");
	case FV_ECS_TYPE0:
		return vstr(km ? km->ecs_type[0] : "info");
	case FV_ECS_TYPE1:
		return vstr(km ? km->ecs_type[1] : NULL);
	case FV_ECS_TYPE2:
		return vstr(km ? km->ecs_type[2] : NULL);
	case FV_ECS_ACTION:
		return vstr(km ? km->ecs_action : "records-lost");
	case FV_ECS_OUTCOME:
		/* "success" from the firewall's point of view: the verdict was
		 * applied, whether it allowed or denied the flow. */
		return vstr(km ? "success" : "unknown");
	case FV_ECS_DIRECTION:
		return vstr(ecs_direction(r->node_dir));
	case FV_OCSF_DIRECTION:
		return vstr(ocsf_direction(r->node_dir));
	case FV_OCSF_BOUNDARY:
		return vnum(ocsf_boundary(r));
	case FV_OCSF_BOUNDARY_NAME:
		return vstr(boundary_names[ocsf_boundary(r)]);
	/* The interface belongs to the local endpoint: the sender on egress. */
	case FV_OCSF_SRC_IFNAME:
		return vstr(r->dir == NETSEG_FLOW_DIR_EGRESS ? r->ifname : NULL);
	case FV_OCSF_DST_IFNAME:
		return vstr(r->dir != NETSEG_FLOW_DIR_EGRESS ? r->ifname : NULL);
	/* CEF knows only 0 inbound and 1 outbound: other flows go without. */
	case FV_CEF_DIRECTION:
		return vstr(r->node_dir == NETSEG_NODE_DIR_INBOUND  ? "0" :
			    r->node_dir == NETSEG_NODE_DIR_OUTBOUND ? "1" :
								      NULL);
	}
	if (!km)
		return end_value(c, v);
	switch (v) {
	case FV_OCSF_ACTIVITY:
		return vnum(km->ocsf_activity);
	case FV_OCSF_ACTIVITY_NAME:
		return vstr(CAPTION(activity_names, km->ocsf_activity));
	case FV_OCSF_TYPE_UID:
		return vnum(4001 * 100 + km->ocsf_activity);
	case FV_OCSF_TYPE_NAME: {
		const char *a = CAPTION(activity_names, km->ocsf_activity);

		memcpy(c->tmp, "Network Activity: ", 18);
		memcpy(c->tmp + 18, a, strlen(a) + 1);
		return vstr(c->tmp);
	}
	case FV_OCSF_SEVERITY:
		return vnum(km->ocsf_severity);
	case FV_OCSF_SEVERITY_NAME:
		return vstr(CAPTION(severity_names, km->ocsf_severity));
	case FV_OCSF_ACTION:
		return vnum(km->ocsf_action);
	case FV_OCSF_ACTION_NAME:
		return vstr(CAPTION(action_names, km->ocsf_action));
	case FV_OCSF_DISPOSITION:
		return vnum(km->ocsf_disposition);
	case FV_OCSF_DISPOSITION_NAME:
		return vstr(CAPTION(disposition_names, km->ocsf_disposition));
	case FV_OCSF_IS_ALERT:
		return (struct val){ .type = VT_BOOL, .n = km->is_alert };
	case FV_CEF_ACT:
		return vstr(km->cef_act);
	}
	return end_value(c, v);
}

/* ------------------------------------------------------- field tables */

enum fop {
	F_DONE,	 /* end of a table */
	F_VAL,	 /* key: the value (absent: no key) */
	F_STR,	 /* key: a constant string */
	F_NUM,	 /* key: a constant number */
	F_OBJ,	 /* key: { the rows up to its F_CLOSE } */
	F_ARR,	 /* key: [ the rows up to its F_CLOSE, without keys ] */
	F_GROUP, /* the rows up to its F_CLOSE, in the enclosing object */
	F_CLOSE,
	F_SUB, /* the rows of another table */
};

/* When a row is written; for F_OBJ, F_ARR and F_GROUP, everything in it. */
enum fwhen {
	W_ALWAYS,
	W_FLOW, /* a flow record (not a loss report) */
	W_LOST, /* a loss report */
	W_END,	/* an end record */
	W_RULE, /* a rule (or the default deny) decided */
	W_ICMP,
	W_FAMILY, /* the record has addresses */
	W_V4,
	W_V6,
	W_V4_V6, /* the family is one of the two */
	W_IFACE, /* an interface index or name */
	W_NODE,	 /* a node name */
	W_SADDR, /* a source address (text) */
	W_ADDRS_DIFFER,
	W_SRC_IDENTITY, /* a source identity, by name or number */
	W_DST_IDENTITY,
	W_SRC_ENDPOINT, /* OCSF: something to say about the source endpoint */
	W_DST_ENDPOINT,
	W_IF_EGRESS,  /* an interface name, seen by TC egress */
	W_IF_INGRESS, /* an interface name, seen by any other hook */
	W_TC_EGRESS,
	W_NOT_TC_EGRESS,
	W_LOST_SEND,
};

struct field {
	unsigned char op;	 /* enum fop */
	unsigned char when;	 /* enum fwhen */
	unsigned char val;	 /* enum fv */
	unsigned char jlen;	 /* of jkey */
	const char *key;	 /* CEF's key; "" inside arrays */
	const char *jkey;	 /* JSON's, quoted, with its colon: "\"time\":" */
	const char *s;		 /* F_STR: the string; CEF F_VAL: the key's label */
	__u64 n;		 /* F_NUM */
	const struct field *sub; /* F_SUB */
};

/* The key as each format writes it, made once by the compiler. */
/* One table row per line: clang-format would spread each over four. */
// clang-format off
#define KEY(k)		.key = k, .jkey = "\"" k "\":", .jlen = sizeof("\"" k "\":") - 1
#define V(k, v)		{ .op = F_VAL, KEY(k), .val = (v) }
#define V_IF(k, v, w)	{ .op = F_VAL, KEY(k), .val = (v), .when = (w) }
#define S(k, str)	{ .op = F_STR, KEY(k), .s = (str) }
#define N(k, num)	{ .op = F_NUM, KEY(k), .n = (num) }
#define OBJ(k)		{ .op = F_OBJ, KEY(k) }
#define OBJ_IF(k, w)	{ .op = F_OBJ, KEY(k), .when = (w) }
#define ARR(k)		{ .op = F_ARR, KEY(k) }
#define ARR_IF(k, w)	{ .op = F_ARR, KEY(k), .when = (w) }
#define IF(w)		{ .op = F_GROUP, .when = (w) }
#define CLOSE		{ .op = F_CLOSE }
#define SUB(t)		{ .op = F_SUB, .sub = (t) }
#define DONE		{ .op = F_DONE }
/* Array elements: no key. */
#define E_V(v)		{ .op = F_VAL, .val = (v) }
#define E_V_IF(v, w)	{ .op = F_VAL, .val = (v), .when = (w) }
#define E_S(str)	{ .op = F_STR, .s = (str) }
#define E_S_IF(str, w)	{ .op = F_STR, .s = (str), .when = (w) }
#define E_OBJ		{ .op = F_OBJ }
/* CEF: "cs1Label=ruleId cs1=VALUE", both only if the value is there. */
#define LABELED(k, label, v, w)	{ .op = F_VAL, KEY(k), .s = (label), .val = (v), .when = (w) }
// clang-format on

static bool when(const struct fctx *c, int w)
{
	const struct netseg_flowrec *r = c->r;

	switch (w) {
	case W_ALWAYS:
		return true;
	case W_FLOW:
		return c->km;
	case W_LOST:
		return !c->km;
	case W_END:
		return r->kind == NETSEG_FLOW_END;
	case W_RULE:
		return r->has_rule;
	case W_ICMP:
		return r->has_icmp;
	case W_FAMILY:
		return r->family;
	case W_V4:
		return r->family == NETSEG_AF_INET;
	case W_V6:
		return r->family == NETSEG_AF_INET6;
	case W_V4_V6:
		return r->family == NETSEG_AF_INET || r->family == NETSEG_AF_INET6;
	case W_IFACE:
		return r->ifindex || r->ifname[0];
	case W_NODE:
		return r->node[0];
	case W_SADDR:
		return r->saddr[0];
	case W_ADDRS_DIFFER:
		return strcmp(r->saddr, r->daddr);
	case W_SRC_IDENTITY:
		return r->src_name[0] || r->src_id;
	case W_DST_IDENTITY:
		return r->dst_name[0] || r->dst_id;
	case W_SRC_ENDPOINT:
		return r->saddr[0] || r->src_name[0] ||
		       (r->dir == NETSEG_FLOW_DIR_EGRESS && r->ifname[0]);
	case W_DST_ENDPOINT:
		return r->daddr[0] || r->dst_name[0] ||
		       (r->dir != NETSEG_FLOW_DIR_EGRESS && r->ifname[0]);
	case W_IF_EGRESS:
		return r->ifname[0] && r->hook == NETSEG_HOOK_TC_EGRESS;
	case W_IF_INGRESS:
		return r->ifname[0] && r->hook != NETSEG_HOOK_TC_EGRESS;
	case W_TC_EGRESS:
		return r->hook == NETSEG_HOOK_TC_EGRESS;
	case W_NOT_TC_EGRESS:
		return r->hook != NETSEG_HOOK_TC_EGRESS;
	case W_LOST_SEND:
		return r->lost_send;
	}
	return false;
}

/* The row after the F_CLOSE of the container that starts at @f. */
static const struct field *skip(const struct field *f)
{
	int depth = 0;

	do {
		if (f->op == F_OBJ || f->op == F_ARR || f->op == F_GROUP)
			depth++;
		else if (f->op == F_CLOSE)
			depth--;
		f++;
	} while (depth > 0);
	return f;
}

/*
 * Native JSON (the members flowrec.h lists).  OCSF and ECS below carry
 * the same values under their schemas' names.
 */
static const struct field json_fields[] = {
	V("time", FV_TIME_RFC3339),
	V("time_ns", FV_TIME_NS),
	V("verdict", FV_KIND),
	IF(W_LOST),
	V("node", FV_NODE),
	OBJ("lost"),
	V("ring", FV_LOST_RING),
	V("rate", FV_LOST_RATE),
	V("queue", FV_LOST_QUEUE),
	V("send", FV_LOST_SEND),
	V("send_error", FV_LOST_SEND_ERROR),
	V("total", FV_LOST_TOTAL),
	CLOSE,
	CLOSE,
	IF(W_FLOW),
	V("flow_id", FV_FLOW_ID),
	V("reason", FV_REASON),
	OBJ_IF("rule", W_RULE),
	V("id", FV_RULE_ID),
	V("text", FV_RULE_TEXT),
	V("comment", FV_COMMENT),
	CLOSE,
	V("direction", FV_NODE_DIR_NAME),
	V("hook", FV_HOOK),
	OBJ_IF("interface", W_IFACE),
	V("name", FV_IFNAME),
	V("index", FV_IFINDEX),
	CLOSE,
	V("node", FV_NODE),
	V("family", FV_FAMILY_NAME),
	V("proto", FV_PROTO),
	V("proto_name", FV_PROTO_NAME),
	OBJ("src"),
	V("identity", FV_SRC_NAME),
	V("identity_id", FV_SRC_ID),
	V("ip", FV_SADDR),
	V("port", FV_SPORT),
	CLOSE,
	OBJ("dst"),
	V("identity", FV_DST_NAME),
	V("identity_id", FV_DST_ID),
	V("ip", FV_DADDR),
	V("port", FV_DPORT),
	CLOSE,
	OBJ_IF("icmp", W_ICMP),
	V("type", FV_ICMP_TYPE),
	V("code", FV_ICMP_CODE),
	CLOSE,
	V("tcp_flags", FV_TCP_FLAGS),
	V("packet_len", FV_PKT_LEN),
	V("community_id", FV_COMMUNITY_ID),
	IF(W_END),
	V("tcp_flags_reply", FV_TCP_FLAGS_REPLY),
	V("start", FV_START_RFC3339),
	V("start_ns", FV_START_NS),
	V("duration_ns", FV_DURATION_NS),
	V("flow_verdict", FV_FLOW_VERDICT),
	V("packets_out", FV_PACKETS_OUT),
	V("bytes_out", FV_BYTES_OUT),
	V("packets_in", FV_PACKETS_IN),
	V("bytes_in", FV_BYTES_IN),
	CLOSE,
	CLOSE,
	V("message", FV_MESSAGE),
	DONE,
};

static const struct field ocsf_metadata[] = {
	OBJ("metadata"),
	S("version", NETSEG_OCSF_VERSION),
	ARR("profiles"),
	E_S_IF("security_control", W_FLOW),
	E_S("host"),
	CLOSE,
	OBJ("product"),
	V("name", FV_PRODUCT),
	V("vendor_name", FV_VENDOR),
	V("version", FV_VERSION),
	CLOSE,
	CLOSE,
	OBJ("device"),
	V("hostname", FV_NODE),
	N("type_id", 1), /* Server */
	S("type", "Server"),
	CLOSE,
	DONE,
};

/*
 * OCSF Network Activity (4001); loss reports are no network activity:
 * Event Log Activity (System category, class 1008), activity Other, the
 * counts in unmapped.  unmapped comes last (netseg_flowfmt_chain_member)
 * and holds what no OCSF attribute does: the drop reason, hook,
 * identities' ids, ICMP.
 */
static const struct field ocsf_fields[] = {
	IF(W_FLOW),
	V("activity_id", FV_OCSF_ACTIVITY),
	V("activity_name", FV_OCSF_ACTIVITY_NAME),
	N("category_uid", 4),
	S("category_name", "Network Activity"),
	N("class_uid", 4001),
	S("class_name", "Network Activity"),
	V("type_uid", FV_OCSF_TYPE_UID),
	V("type_name", FV_OCSF_TYPE_NAME),
	V("time", FV_TIME_MS),
	N("timezone_offset", 0),
	V("severity_id", FV_OCSF_SEVERITY),
	V("severity", FV_OCSF_SEVERITY_NAME),
	V("action_id", FV_OCSF_ACTION),
	V("action", FV_OCSF_ACTION_NAME),
	V("disposition_id", FV_OCSF_DISPOSITION),
	V("disposition", FV_OCSF_DISPOSITION_NAME),
	V("is_alert", FV_OCSF_IS_ALERT),
	V("is_src_dst_assignment_known", FV_TRUE),
	V("message", FV_MESSAGE),
	SUB(ocsf_metadata),
	OBJ_IF("src_endpoint", W_SRC_ENDPOINT),
	V("ip", FV_SADDR),
	V("port", FV_SPORT),
	V("name", FV_SRC_NAME),
	V("interface_name", FV_OCSF_SRC_IFNAME),
	CLOSE,
	OBJ_IF("dst_endpoint", W_DST_ENDPOINT),
	V("ip", FV_DADDR),
	V("port", FV_DPORT),
	V("name", FV_DST_NAME),
	V("interface_name", FV_OCSF_DST_IFNAME),
	CLOSE,
	OBJ("connection_info"),
	V("uid", FV_FLOW_ID),		   /* json flow_id */
	V("protocol_num", FV_PROTO),	   /* json proto */
	V("protocol_name", FV_PROTO_NAME), /* json proto_name */
	V("protocol_ver_id", FV_IP_VERSION),
	V("direction_id", FV_NODE_DIR), /* json direction */
	V("direction", FV_OCSF_DIRECTION),
	V("boundary_id", FV_OCSF_BOUNDARY),
	V("boundary", FV_OCSF_BOUNDARY_NAME),
	V("community_uid", FV_COMMUNITY_ID), /* json community_id */
	V("tcp_flags", FV_TCP_FLAGS_BITS),
	CLOSE,
	IF(W_END),
	OBJ("traffic"),
	V("packets_out", FV_PACKETS_OUT),
	V("packets_in", FV_PACKETS_IN),
	V("packets", FV_PACKETS),
	V("bytes_out", FV_BYTES_OUT),
	V("bytes_in", FV_BYTES_IN),
	V("bytes", FV_BYTES),
	CLOSE,
	V("start_time", FV_START_MS),
	V("end_time", FV_TIME_MS),
	V("duration", FV_DURATION_MS),
	CLOSE,
	OBJ_IF("firewall_rule", W_RULE),
	V("uid", FV_RULE_UID),
	V("name", FV_RULE_NAME),
	V("desc", FV_COMMENT), /* json rule.comment */
	CLOSE,
	ARR_IF("observables", W_SADDR),
	E_OBJ,
	S("name", "src_endpoint.ip"),
	N("type_id", 2),
	S("type", "IP Address"),
	V("value", FV_SADDR),
	CLOSE,
	E_OBJ,
	S("name", "dst_endpoint.ip"),
	N("type_id", 2),
	S("type", "IP Address"),
	V("value", FV_DADDR),
	CLOSE,
	CLOSE,
	OBJ("unmapped"),
	V("verdict", FV_KIND),		 /* json verdict */
	V("reason", FV_REASON),		 /* json reason */
	V("hook", FV_HOOK),		 /* json hook */
	V("src_identity_id", FV_SRC_ID), /* json src.identity_id */
	V("dst_identity_id", FV_DST_ID),
	V("icmp_type", FV_ICMP_TYPE), /* json icmp.type */
	V("icmp_code", FV_ICMP_CODE),
	V_IF("flow_verdict", FV_FLOW_VERDICT, W_END),
	CLOSE,
	CLOSE,
	IF(W_LOST),
	N("activity_id", 99),
	S("activity_name", "Records Lost"),
	N("category_uid", 1),
	S("category_name", "System Activity"),
	N("class_uid", 1008),
	S("class_name", "Event Log Activity"),
	N("type_uid", 1008 * 100 + 99),
	S("type_name", "Event Log Activity: Other"),
	V("time", FV_TIME_MS),
	N("timezone_offset", 0),
	N("severity_id", 3),
	S("severity", "Medium"),
	V("count", FV_LOST_TOTAL), /* json lost.total */
	V("log_provider", FV_PRODUCT),
	S("log_name", "flow"),
	V("message", FV_MESSAGE),
	SUB(ocsf_metadata),
	OBJ("unmapped"),
	V("lost_ring", FV_LOST_RING), /* json lost.ring */
	V("lost_rate", FV_LOST_RATE),
	V("lost_queue", FV_LOST_QUEUE),
	V("lost_send", FV_LOST_SEND),
	V("lost_send_error", FV_LOST_SEND_ERROR),
	CLOSE,
	CLOSE,
	DONE,
};

/* ECS has no place for identities, hooks, ICMP or TCP flags: they go in
 * the custom namespace "netseg", last (netseg_flowfmt_chain_member). */
static const struct field ecs_fields[] = {
	V("@timestamp", FV_TIME_RFC3339), /* json time */
	OBJ("ecs"),
	S("version", NETSEG_ECS_VERSION),
	CLOSE,
	OBJ("event"),
	V("kind", FV_ECS_KIND),
	ARR("category"),
	E_S("network"),
	CLOSE,
	ARR("type"),
	E_V(FV_ECS_TYPE0),
	E_V(FV_ECS_TYPE1),
	E_V(FV_ECS_TYPE2),
	CLOSE,
	V("action", FV_ECS_ACTION),
	V("outcome", FV_ECS_OUTCOME),
	S("dataset", "netseg.flow"),
	V("reason", FV_REASON), /* json reason */
	IF(W_END),
	V("start", FV_START_RFC3339), /* json start */
	V("end", FV_TIME_RFC3339),
	V("duration", FV_DURATION_NS), /* json duration_ns */
	CLOSE,
	CLOSE,
	V("message", FV_MESSAGE),
	OBJ("observer"),
	S("type", "firewall"),
	V("vendor", FV_VENDOR),
	V("product", FV_PRODUCT),
	V("version", FV_VERSION),
	V("hostname", FV_NODE),
	/* TC egress sees the packet leave by the interface. */
	OBJ_IF("egress", W_IF_EGRESS),
	OBJ("interface"),
	V("name", FV_IFNAME),
	CLOSE,
	CLOSE,
	OBJ_IF("ingress", W_IF_INGRESS),
	OBJ("interface"),
	V("name", FV_IFNAME),
	CLOSE,
	CLOSE,
	CLOSE,
	OBJ_IF("host", W_NODE),
	V("name", FV_NODE),
	CLOSE,
	IF(W_LOST),
	OBJ("netseg"),
	OBJ("lost"), /* json lost */
	V("ring", FV_LOST_RING),
	V("rate", FV_LOST_RATE),
	V("queue", FV_LOST_QUEUE),
	V("send", FV_LOST_SEND),
	V("send_error", FV_LOST_SEND_ERROR),
	V("total", FV_LOST_TOTAL),
	CLOSE,
	CLOSE,
	CLOSE,
	IF(W_FLOW),
	OBJ_IF("source", W_FAMILY),
	V("ip", FV_SADDR), /* json src.ip */
	V("port", FV_SPORT),
	V_IF("bytes", FV_BYTES_OUT, W_END), /* json bytes_out */
	V_IF("packets", FV_PACKETS_OUT, W_END),
	CLOSE,
	OBJ_IF("destination", W_FAMILY),
	V("ip", FV_DADDR),
	V("port", FV_DPORT),
	V_IF("bytes", FV_BYTES_IN, W_END),
	V_IF("packets", FV_PACKETS_IN, W_END),
	CLOSE,
	OBJ("network"),
	V("transport", FV_PROTO_NAME),	 /* json proto_name */
	V("iana_number", FV_PROTO_TEXT), /* json proto */
	V("type", FV_FAMILY_NAME),	 /* json family */
	V("direction", FV_ECS_DIRECTION),
	V("community_id", FV_COMMUNITY_ID),
	V_IF("bytes", FV_BYTES, W_END),
	V_IF("packets", FV_PACKETS, W_END),
	CLOSE,
	OBJ_IF("rule", W_RULE),
	V("id", FV_RULE_UID),
	V("name", FV_RULE_NAME),
	V("description", FV_COMMENT), /* json rule.comment */
	V("ruleset", FV_RULESET),
	CLOSE,
	OBJ_IF("related", W_FAMILY),
	ARR("ip"),
	E_V(FV_SADDR),
	E_V_IF(FV_DADDR, W_ADDRS_DIFFER),
	CLOSE,
	CLOSE,
	OBJ("netseg"),
	V("verdict", FV_KIND),
	V("flow_id", FV_FLOW_ID),
	V("hook", FV_HOOK),
	OBJ_IF("source", W_SRC_IDENTITY),
	V("identity", FV_SRC_NAME), /* json src.identity */
	V("identity_id", FV_SRC_ID),
	CLOSE,
	OBJ_IF("destination", W_DST_IDENTITY),
	V("identity", FV_DST_NAME),
	V("identity_id", FV_DST_ID),
	CLOSE,
	OBJ_IF("icmp", W_ICMP),
	V("type", FV_ICMP_TYPE),
	V("code", FV_ICMP_CODE),
	CLOSE,
	V("tcp_flags", FV_TCP_FLAGS),
	IF(W_END),
	V("tcp_flags_reply", FV_TCP_FLAGS_REPLY),
	V("flow_verdict", FV_FLOW_VERDICT),
	CLOSE,
	CLOSE,
	CLOSE,
	DONE,
};

/*
 * CEF extension pairs (the header is cef_headers()).  src/dst are IPv4 in
 * the CEF dictionary: IPv6 goes in c6a2/c6a3.  cs6 is the hash chain's
 * (flowchain.c).
 */
static const struct field cef_fields[] = {
	IF(W_FLOW),
	V("rt", FV_TIME_MS),
	V_IF("src", FV_SADDR, W_V4),
	LABELED("c6a2", "Source IPv6 Address", FV_SADDR, W_V6),
	V_IF("spt", FV_SPORT, W_V4_V6),
	V_IF("dst", FV_DADDR, W_V4),
	LABELED("c6a3", "Destination IPv6 Address", FV_DADDR, W_V6),
	V("dpt", FV_DPORT),
	V("proto", FV_PROTO_UPPER),
	V("act", FV_CEF_ACT),
	V("deviceDirection", FV_CEF_DIRECTION),
	V("dvchost", FV_NODE),
	LABELED("cs1", "ruleId", FV_RULE_UID, W_RULE),
	LABELED("cs2", "ruleName", FV_RULE_NAME, W_RULE),
	LABELED("cs3", "communityId", FV_COMMUNITY_ID, W_ALWAYS),
	LABELED("cs4", "srcIdentity", FV_SRC_NAME, W_ALWAYS),
	LABELED("cs5", "dstIdentity", FV_DST_NAME, W_ALWAYS),
	V_IF("deviceOutboundInterface", FV_IFNAME, W_TC_EGRESS),
	V_IF("deviceInboundInterface", FV_IFNAME, W_NOT_TC_EGRESS),
	V("externalId", FV_FLOW_ID),
	V("reason", FV_REASON),
	LABELED("flexString1", "ruleComment", FV_COMMENT, W_ALWAYS),
	LABELED("flexString2", "icmpTypeCode", FV_ICMP_TEXT, W_ALWAYS),
	IF(W_END),
	V("start", FV_START_MS),
	V("end", FV_TIME_MS),
	/* bytesIn is source-to-destination in CEF (Elastic:
			 * source.bytes), our bytes_out. */
	V("in", FV_BYTES_OUT),
	V("out", FV_BYTES_IN),
	S("cn1Label", "packetsOut"),
	V("cn1", FV_PACKETS_OUT),
	S("cn2Label", "packetsIn"),
	V("cn2", FV_PACKETS_IN),
	CLOSE,
	CLOSE,
	IF(W_LOST),
	V("rt", FV_TIME_MS),
	V("dvchost", FV_NODE),
	V("cnt", FV_LOST_TOTAL),
	S("cn1Label", "lostRingFull"),
	V("cn1", FV_LOST_RING),
	S("cn2Label", "lostRateLimit"),
	V("cn2", FV_LOST_RATE),
	S("cn3Label", "lostSinkQueueFull"),
	V("cn3", FV_LOST_QUEUE),
	IF(W_LOST_SEND),
	S("flexNumber1Label", "lostSendError"),
	V("flexNumber1", FV_LOST_SEND),
	CLOSE,
	V("msg", FV_MESSAGE),
	CLOSE,
	DONE,
};

/* ---------------------------------------------------------------- JSON */

/*
 * A JSON string, escaped as cJSON escapes: '"' '\' and the C0 controls,
 * those with a short form as \b \f \n \r \t, the others \u00XX (lowercase);
 * everything else byte for byte (the record's text is valid UTF-8).
 * json_esc[c] is what follows the backslash, 'u' for \u00XX, 0 for a byte
 * that stands for itself.
 */
static const char json_esc[256] = {
	['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n',  ['\f'] = 'f', ['\r'] = 'r', [0x01] = 'u',
	[0x02] = 'u', [0x03] = 'u', [0x04] = 'u',  [0x05] = 'u', [0x06] = 'u', [0x07] = 'u',
	[0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u',  [0x10] = 'u', [0x11] = 'u', [0x12] = 'u',
	[0x13] = 'u', [0x14] = 'u', [0x15] = 'u',  [0x16] = 'u', [0x17] = 'u', [0x18] = 'u',
	[0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u',  [0x1c] = 'u', [0x1d] = 'u', [0x1e] = 'u',
	[0x1f] = 'u', ['"'] = '"',  ['\\'] = '\\',
};

static void json_string(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	char e[6] = { '\\', 'u', '0', '0' };

	sb_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (!json_esc[c])
			continue;
		sb_put(b, run, s - run);
		run = s + 1;
		e[1] = json_esc[c];
		if (e[1] != 'u') {
			sb_put(b, e, 2);
			continue;
		}
		e[4] = hex[c >> 4];
		e[5] = hex[c & 15];
		sb_put(b, e, 6);
	}
	sb_put(b, run, s - run);
	sb_putc(b, '"');
}

/* The separator, and "key": unless inside an array (@f NULL or keyless). */
static void json_key(struct sbuf *b, const struct field *f)
{
	if (!b->first)
		sb_putc(b, ',');
	b->first = false;
	if (f && f->jlen)
		sb_put(b, f->jkey, f->jlen);
}

static const char *const tcp_flag_names[8] = { "fin", "syn", "rst", "psh",
					       "ack", "urg", "ece", "cwr" };

static void json_value(struct sbuf *b, const struct field *f, struct val v)
{
	int i;

	/* An empty string is no value, but an array keeps its elements. */
	if (v.type == VT_NONE || (f->jlen && v.type == VT_STR && !v.s[0]))
		return;
	json_key(b, f);
	switch (v.type) {
	case VT_STR:
		json_string(b, v.s);
		break;
	case VT_NUM:
		sb_u64(b, v.n);
		break;
	case VT_BOOL:
		sb_puts(b, v.n ? "true" : "false");
		break;
	case VT_FLAGS:
		sb_putc(b, '[');
		b->first = true;
		for (i = 0; i < 8; i++) {
			if (v.n & (1U << i)) {
				json_key(b, NULL);
				json_string(b, tcp_flag_names[i]);
			}
		}
		sb_putc(b, ']');
		b->first = false;
		break;
	}
}

static const struct field *json_rows(struct fctx *c, struct sbuf *b, const struct field *f)
{
	while (f->op != F_DONE && f->op != F_CLOSE) {
		if (!when(c, f->when)) {
			f = f->op == F_OBJ || f->op == F_ARR || f->op == F_GROUP ? skip(f) : f + 1;
			continue;
		}
		switch (f->op) {
		case F_VAL:
			json_value(b, f, schema_value(c, f->val));
			break;
		case F_STR:
			json_value(b, f, vstr(f->s));
			break;
		case F_NUM:
			json_value(b, f, vnum(f->n));
			break;
		case F_SUB:
			json_rows(c, b, f->sub);
			break;
		case F_OBJ:
		case F_ARR: {
			char end = f->op == F_OBJ ? '}' : ']';

			json_key(b, f);
			sb_putc(b, f->op == F_OBJ ? '{' : '[');
			b->first = true;
			f = json_rows(c, b, f + 1); /* to its F_CLOSE */
			sb_putc(b, end);
			b->first = false;
			break;
		}
		case F_GROUP:
			f = json_rows(c, b, f + 1);
			break;
		}
		f++;
	}
	return f;
}

static int json_format(const struct field *table, const struct netseg_flowrec *r,
		       const struct netseg_flowfmt_opts *o, char *buf, size_t len)
{
	struct sbuf b = { .p = buf, .cap = len, .first = true };
	struct fctx c; /* not = {}: that would clear tmp[] per record */

	c.r = r;
	c.o = o;
	c.km = kind_map(r);

	if (!netseg_flowrec_kind_name(r->kind))
		return -EINVAL;
	if (!len)
		return -ENOSPC;
	sb_putc(&b, '{');
	json_rows(&c, &b, table);
	sb_putc(&b, '}');
	return sb_finish(&b);
}

int netseg_flowfmt_json(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
			char *buf, size_t len)
{
	return json_format(json_fields, r, o, buf, len);
}

int netseg_flowfmt_ocsf(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
			char *buf, size_t len)
{
	return json_format(ocsf_fields, r, o, buf, len);
}

int netseg_flowfmt_ecs(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
		       char *buf, size_t len)
{
	return json_format(ecs_fields, r, o, buf, len);
}

/* ------------------------------------------------------------------ CEF */

/* CEF v25 header field limits, in bytes of the unescaped value. */
#define CEF_VENDOR_MAX 63
#define CEF_PRODUCT_MAX 63
#define CEF_VERSION_MAX 31
#define CEF_CLASS_MAX 1023
#define CEF_NAME_MAX 512

/*
 * Bytes of the control character at @s: 1 for C0 and DEL, 2 for a C1
 * (U+0080-U+009F, which some terminals obey as escapes), else 0.
 */
static size_t ctl_char(const char *s)
{
	unsigned char c = s[0];

	if (c < 0x20 || c == 0x7f)
		return 1;
	if (c == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f)
		return 2;
	return 0;
}

/*
 * A header field: only '|' and '\' are escaped (CEF v25); a line break
 * would end the record, so control characters become spaces.  Cut at
 * @max bytes of value, on a UTF-8 character boundary.
 */
static void cef_header(struct sbuf *b, const char *s, size_t max)
{
	char v[CEF_CLASS_MAX + 1];
	size_t i;

	netseg_utf8_copy(v, max + 1 < sizeof(v) ? max + 1 : sizeof(v), s, strlen(s));
	for (i = 0; v[i]; i++) {
		unsigned char c = v[i];
		size_t k = ctl_char(&v[i]);

		if (k) {
			sb_putc(b, ' ');
			i += k - 1;
			continue;
		}
		if (c == '|' || c == '\\')
			sb_putc(b, '\\');
		sb_putc(b, (char)c);
	}
	sb_putc(b, '|');
}

/*
 * An extension value: '\' '=' escaped, CR and LF as the two characters \r
 * \n.  CEF has no escape for other control characters (an interface name
 * may hold ESC): they become spaces, as in the header.
 */
static void cef_value(struct sbuf *b, const char *s)
{
	const char *run = s;
	size_t k;

	for (; *s; s++) {
		unsigned char c = *s;

		if (c >= 0x20 && c != 0x7f && c != 0xc2 && c != '\\' && c != '=')
			continue;
		k = c == '\r' || c == '\n' ? 0 : ctl_char(s);
		if (!k && c == 0xc2)
			continue; /* the lead byte of no C1 control */
		sb_put(b, run, s - run);
		run = s + 1;
		if (k) {
			sb_putc(b, ' ');
			s += k - 1;
			run = s + 1;
			continue;
		}
		switch (c) {
		case '\\':
			sb_put(b, "\\\\", 2);
			break;
		case '=':
			sb_put(b, "\\=", 2);
			break;
		case '\r':
			sb_put(b, "\\r", 2);
			break;
		case '\n':
			sb_put(b, "\\n", 2);
			break;
		}
	}
	sb_put(b, run, s - run);
}

/* " key=value" (the first pair has no leading space); empty: nothing. */
static void cef_kv(struct sbuf *b, const char *key, const char *val)
{
	if (!val || !*val)
		return;
	if (b->ext)
		sb_putc(b, ' ');
	b->ext = true;
	sb_puts(b, key);
	sb_putc(b, '=');
	cef_value(b, val);
}

static void cef_pair(struct sbuf *b, const struct field *f, struct val v)
{
	char num[21];
	const char *s = v.s;

	if (v.type == VT_NUM) {
		u64_text(num, v.n);
		s = num;
	} else if (v.type != VT_STR || !s[0]) {
		return;
	}
	if (f->s) { /* "keyLabel=label": the label can't be empty */
		if (b->ext)
			sb_putc(b, ' ');
		b->ext = true;
		sb_puts(b, f->key);
		sb_puts(b, "Label=");
		cef_value(b, f->s);
	}
	cef_kv(b, f->key, s);
}

static const struct field *cef_rows(struct fctx *c, struct sbuf *b, const struct field *f)
{
	while (f->op != F_DONE && f->op != F_CLOSE) {
		if (!when(c, f->when)) {
			f = f->op == F_GROUP ? skip(f) : f + 1;
			continue;
		}
		switch (f->op) {
		case F_VAL:
			cef_pair(b, f, schema_value(c, f->val));
			break;
		case F_STR:
			cef_kv(b, f->key, f->s);
			break;
		case F_GROUP:
			f = cef_rows(c, b, f + 1);
			break;
		}
		f++;
	}
	return f;
}

int netseg_flowfmt_cef(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
		       char *buf, size_t len)
{
	const struct kind_map *km = kind_map(r);
	struct sbuf b = { .p = buf, .cap = len };
	struct fctx c; /* not = {}: that would clear tmp[] per record */

	c.r = r;
	c.o = o;
	c.km = km;
	char sev[21];

	if (!km && r->kind != NETSEG_FLOW_LOST)
		return -EINVAL;
	if (!len)
		return -ENOSPC;
	sb_puts(&b, "CEF:0|");
	cef_header(&b, opt(o ? o->vendor : NULL, "netseg"), CEF_VENDOR_MAX);
	cef_header(&b, opt(o ? o->product : NULL, "netseg"), CEF_PRODUCT_MAX);
	cef_header(&b, o && o->version ? o->version : "", CEF_VERSION_MAX);
	cef_header(&b, km ? km->cef_class : "flow-lost", CEF_CLASS_MAX);
	cef_header(&b, km ? km->cef_name : "Flow records lost", CEF_NAME_MAX);
	u64_text(sev, km ? km->cef_severity : 6);
	cef_header(&b, sev, 2);
	cef_rows(&c, &b, cef_fields);
	return sb_finish(&b);
}

/* ------------------------------------------------------------- dispatch */

/* Each formatter writes this member last, for the hash chain to go into. */
const char *netseg_flowfmt_chain_member(int fmt)
{
	switch (fmt) {
	case NETSEG_FMT_OCSF:
		return "unmapped"; /* the only place OCSF leaves to us */
	case NETSEG_FMT_ECS:
		return "netseg"; /* our custom field namespace */
	}
	return NULL;
}

int netseg_flowfmt(int fmt, const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
		   char *buf, size_t len)
{
	switch (fmt) {
	case NETSEG_FMT_JSON:
		return netseg_flowfmt_json(r, o, buf, len);
	case NETSEG_FMT_OCSF:
		return netseg_flowfmt_ocsf(r, o, buf, len);
	case NETSEG_FMT_ECS:
		return netseg_flowfmt_ecs(r, o, buf, len);
	case NETSEG_FMT_CEF:
		return netseg_flowfmt_cef(r, o, buf, len);
	}
	return -EINVAL;
}

/* @dst = the first @keep bytes of @src (cut on a character) and the marker. */
static void shorten(char *dst, size_t size, const char *src, size_t keep)
{
	size_t n = netseg_utf8_copy(dst, keep + 1 < size ? keep + 1 : size, src, strlen(src));

	snprintf(dst + n, size - n, "%s", NETSEG_FLOWFMT_TRUNCATED);
}

/* Formats @t with @field (its original @orig) cut to @keep bytes and marked. */
static int fmt_cut(int fmt, struct netseg_flowrec *t, const struct netseg_flowfmt_opts *o,
		   char *field, size_t size, const char *orig, size_t keep, char *buf, size_t len)
{
	shorten(field, size, orig, keep);
	return netseg_flowfmt(fmt, t, o, buf, len);
}

static bool fits(int n, size_t max)
{
	return n >= 0 && (size_t)n <= max;
}

/*
 * The longest start of @field (original @orig) that lets @t fit, by
 * bisection: the text may appear more than once (a rule's text is also
 * in the message) and escaping makes bytes of text and of line differ.
 * Leaves @field cut to it, or to the bare marker if nothing fits; returns
 * the last format's result (buf holds the line when it fits).
 */
static int cut_field(int fmt, struct netseg_flowrec *t, const struct netseg_flowfmt_opts *o,
		     char *field, size_t size, const char *orig, size_t max, char *buf, size_t len)
{
	size_t lo = 0, hi = strlen(orig), mid;
	int n = fmt_cut(fmt, t, o, field, size, orig, 0, buf, len);

	if (!fits(n, max))
		return n; /* not even with none of it */
	while (lo < hi) { /* lo fits; does anything longer? */
		mid = lo + (hi - lo + 1) / 2;
		if (fits(fmt_cut(fmt, t, o, field, size, orig, mid, buf, len), max))
			lo = mid;
		else
			hi = mid - 1;
	}
	return fmt_cut(fmt, t, o, field, size, orig, lo, buf, len);
}

int netseg_flowfmt_fit(int fmt, const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
		       size_t max, char *buf, size_t len, bool *truncated)
{
	struct netseg_flowrec *t;
	int n;

	*truncated = false;
	n = netseg_flowfmt(fmt, r, o, buf, len);
	if (fits(n, max) || (n < 0 && n != -ENOSPC))
		return n;
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = *r;
	*truncated = true;
	/* The comment goes first: the rule text says what decided the flow. */
	if (r->comment[0])
		n = cut_field(fmt, t, o, t->comment, sizeof(t->comment), r->comment, max, buf, len);
	if (!fits(n, max) && r->rule[0])
		n = cut_field(fmt, t, o, t->rule, sizeof(t->rule), r->rule, max, buf, len);
	free(t);
	if (n == -ENOSPC || (n >= 0 && !fits(n, max)))
		return -EMSGSIZE;
	return n;
}

static const char *const fmt_names[] = {
	[NETSEG_FMT_JSON] = "json",
	[NETSEG_FMT_OCSF] = "ocsf",
	[NETSEG_FMT_ECS] = "ecs",
	[NETSEG_FMT_CEF] = "cef",
};

int netseg_flowfmt_parse(const char *name)
{
	size_t i;

	if (!name)
		return -EINVAL;
	if (!strcmp(name, "native"))
		return NETSEG_FMT_JSON;
	for (i = 0; i < sizeof(fmt_names) / sizeof(fmt_names[0]); i++)
		if (!strcmp(name, fmt_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *netseg_flowfmt_name(int fmt)
{
	if (fmt < 0 || fmt >= (int)(sizeof(fmt_names) / sizeof(fmt_names[0])))
		return NULL;
	return fmt_names[fmt];
}

/* --------------------------------------------------------- Community ID */

/* ICMP request/reply pairs (community-id-spec): type -> counterpart. */
static int icmp_counterpart(__u8 proto, __u8 type)
{
	static const __u8 v4[][2] = { { 8, 0 }, { 13, 14 }, { 15, 16 }, { 10, 9 }, { 17, 18 } };
	static const __u8 v6[][2] = { { 128, 129 }, { 133, 134 }, { 135, 136 },
				      { 130, 131 }, { 139, 140 }, { 144, 145 } };
	const __u8(*t)[2] = proto == IPPROTO_ICMP ? v4 : v6;
	size_t n = proto == IPPROTO_ICMP ? sizeof(v4) / sizeof(v4[0]) : sizeof(v6) / sizeof(v6[0]);
	size_t i;

	for (i = 0; i < n; i++) {
		if (t[i][0] == type)
			return t[i][1];
		if (t[i][1] == type)
			return t[i][0];
	}
	return -1;
}

/*
 * SHA-1, looked up once and with one context per thread: EVP_Digest()
 * with EVP_sha1() fetches the algorithm under a lock and allocates a
 * context on every call, a tenth of the daemon's time at high record
 * rates.  Both live as long as the thread.
 */
static int sha1(const unsigned char *in, size_t n, unsigned char *md, unsigned int *mdlen)
{
	static __thread EVP_MD_CTX *ctx;
	static __thread EVP_MD *sha;

	if (!sha)
		sha = EVP_MD_fetch(NULL, "SHA1", NULL);
	if (!ctx)
		ctx = EVP_MD_CTX_new();
	if (!sha || !ctx || !EVP_DigestInit_ex2(ctx, sha, NULL) || !EVP_DigestUpdate(ctx, in, n) ||
	    !EVP_DigestFinal_ex(ctx, md, mdlen))
		return -EIO;
	return 0;
}

int netseg_community_id(int family, const void *saddr, const void *daddr, __u16 sport, __u16 dport,
			__u8 proto, __u16 seed, char out[NETSEG_COMMUNITY_ID_LEN])
{
	size_t alen = family == NETSEG_AF_INET ? 4 : 16;
	const void *a = saddr, *b = daddr;
	bool ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
	bool one_way = false;
	unsigned char in[2 + 16 + 16 + 2 + 4], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	__u16 pa = sport, pb = dport;
	size_t n = 0;
	int cmp, c;

	if (family != NETSEG_AF_INET && family != NETSEG_AF_INET6)
		return -EINVAL;
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		ports = true;
		c = icmp_counterpart(proto, sport);
		if (c < 0)
			one_way = true; /* type, code; never swapped */
		else
			pb = c;
	}
	cmp = memcmp(saddr, daddr, alen);
	if (!one_way && !(cmp < 0 || (cmp == 0 && pa < pb))) {
		__u16 t = pa;

		a = daddr;
		b = saddr;
		pa = pb;
		pb = t;
	}
	in[n++] = seed >> 8;
	in[n++] = seed & 0xff;
	memcpy(in + n, a, alen);
	n += alen;
	memcpy(in + n, b, alen);
	n += alen;
	in[n++] = proto;
	in[n++] = 0;
	if (ports) {
		in[n++] = pa >> 8;
		in[n++] = pa & 0xff;
		in[n++] = pb >> 8;
		in[n++] = pb & 0xff;
	}
	if (sha1(in, n, md, &mdlen) || mdlen != 20)
		return -EIO;
	memcpy(out, "1:",
	       2); // NOLINT(bugprone-not-null-terminated-result): EVP_EncodeBlock terminates it
	/* 20 bytes -> 28 characters with one '=' of padding, plus NUL. */
	if (EVP_EncodeBlock((unsigned char *)out + 2, md, mdlen) != 28)
		return -EIO;
	return 0;
}

int netseg_flowrec_community_id(const struct netseg_flowrec *r, __u16 seed,
				char out[NETSEG_COMMUNITY_ID_LEN])
{
	__u16 sp = r->sport, dp = r->dport;

	if (!r->family || r->kind == NETSEG_FLOW_LOST)
		return -ENOENT;
	if (r->has_icmp) {
		sp = r->icmp_type;
		dp = r->icmp_code;
	} else if (!r->has_ports) {
		sp = dp = 0;
	}
	return netseg_community_id(r->family, r->saddr_raw, r->daddr_raw, sp, dp, r->proto, seed,
				   out);
}
