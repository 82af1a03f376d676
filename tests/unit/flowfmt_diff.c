// SPDX-License-Identifier: GPL-2.0-only
/*
 * The direct writers of lib/flowfmt.c against the cJSON tree formatters
 * they replaced, byte for byte: thousands of random records (every kind,
 * verdict, reason, direction, hook, v4/v6/none, ports/ICMP/other) with
 * hostile text (control characters, quotes, backslashes, '|' '=' ']',
 * valid UTF-8 up to 4 bytes, C1 controls, U+FFFD, full-length fields)
 * through every format, plain and shortened to fit (netseg_flowfmt_fit).
 *
 * The oracle below is the previous lib/flowfmt.c (cJSON objects per
 * record, then printed), kept verbatim but for the old_ prefix.  It
 * shares netseg_rfc3339() and the Community ID with the library; both
 * have tests of their own (flowrec.c, community_id.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include <cjson/cJSON.h>
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

/* ------------------------------------------------------- shared pieces */

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

static void rule_uid(const struct netseg_flowrec *r, char *buf, size_t len)
{
	if (r->rule_id)
		snprintf(buf, len, "%u", r->rule_id);
	else
		snprintf(buf, len, "default-deny");
}

static const char *rule_name(const struct netseg_flowrec *r, char *buf, size_t len)
{
	if (r->rule[0])
		return r->rule;
	snprintf(buf, len, "rule %u", r->rule_id);
	return buf;
}

static void ep_text(char *buf, size_t len, const char *ip, bool port, __u16 p, const char *name)
{
	bool v6 = strchr(ip, ':');
	int n;

	if (!ip[0])
		n = snprintf(buf, len, "?");
	else if (port)
		n = snprintf(buf, len, v6 ? "[%s]:%u" : "%s:%u", ip, p);
	else
		n = snprintf(buf, len, "%s", ip);
	if (name[0] && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " (%s)", name);
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

/* One line for humans; the record's strings are already valid UTF-8. */
static void message(const struct netseg_flowrec *r, char *buf, size_t len)
{
	char src[160], dst[160], proto[16], rn[32], tail[512] = "";
	const char *pn = netseg_flow_proto_name(r->proto);
	const char *what = netseg_flowrec_kind_name(r->kind);

	if (r->kind == NETSEG_FLOW_LOST) {
		char why[64];
		int n = snprintf(buf, len,
				 "%" PRIu64 " flow records lost (ring buffer full %" PRIu64
				 ", rate limit %" PRIu64 ", sink queue full %" PRIu64,
				 (uint64_t)lost_total(r), (uint64_t)r->lost_ring,
				 (uint64_t)r->lost_rate, (uint64_t)r->lost_queue);

		if (n < 0 || (size_t)n >= len)
			return;
		if (send_error(r, why, sizeof(why)))
			snprintf(buf + n, len - n, ", send error: %s %" PRIu64 ")", why,
				 (uint64_t)r->lost_send);
		else
			snprintf(buf + n, len - n, ")");
		return;
	}
	if (pn)
		snprintf(proto, sizeof(proto), "%s", pn);
	else
		snprintf(proto, sizeof(proto), "proto %u", r->proto);
	ep_text(src, sizeof(src), r->saddr, r->has_ports, r->sport, r->src_name);
	ep_text(dst, sizeof(dst), r->daddr, r->has_ports, r->dport, r->dst_name);
	if (r->has_icmp)
		snprintf(tail, sizeof(tail), " type %u code %u", r->icmp_type, r->icmp_code);
	if (r->kind == NETSEG_FLOW_END) {
		snprintf(tail + strlen(tail), sizeof(tail) - strlen(tail),
			 " ended after %" PRIu64 ".%03" PRIu64 " s: %" PRIu64 " packets %" PRIu64
			 " bytes out, %" PRIu64 " packets %" PRIu64 " bytes in",
			 (uint64_t)(r->duration_ns / NETSEG_NSEC),
			 (uint64_t)(r->duration_ns % NETSEG_NSEC / 1000000),
			 (uint64_t)r->packets[0], (uint64_t)r->bytes[0], (uint64_t)r->packets[1],
			 (uint64_t)r->bytes[1]);
		what = NULL;
	}
	snprintf(buf, len, "%s %s -> %s%s%s%s%s%s%s%s", proto, src, dst, tail, what ? " " : "",
		 what ? what : "", r->reason[0] ? " (" : "", r->reason, r->reason[0] ? ")" : "",
		 r->has_rule ? " by " : "");
	if (r->has_rule)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s", rule_name(r, rn, sizeof(rn)));
}

static const char *tcp_flag_names[8] = { "fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr" };

/* ----------------------------------------------------------- cJSON glue */

/* Sticky failure: after one failed allocation the line is not written. */
struct jb {
	bool fail;
};

static cJSON *jobj(struct jb *j, cJSON *parent, const char *key)
{
	cJSON *o = cJSON_AddObjectToObject(parent, key);

	if (!o)
		j->fail = true;
	return o;
}

static cJSON *jarr(struct jb *j, cJSON *parent, const char *key)
{
	cJSON *a = cJSON_AddArrayToObject(parent, key);

	if (!a)
		j->fail = true;
	return a;
}

static void jstr(struct jb *j, cJSON *o, const char *key, const char *v)
{
	if (v && *v && !cJSON_AddStringToObject(o, key, v))
		j->fail = true;
}

/* Integers as raw text: cJSON's number printer formats each double twice
 * and parses it back, the daemon's hottest path at high record rates. */
static void jint(struct jb *j, cJSON *o, const char *key, long long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", v);
	if (!cJSON_AddRawToObject(o, key, num))
		j->fail = true;
}

static void ju64(struct jb *j, cJSON *o, const char *key, __u64 v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)v);
	if (!cJSON_AddRawToObject(o, key, num))
		j->fail = true;
}

static void jbool(struct jb *j, cJSON *o, const char *key, bool v)
{
	if (!cJSON_AddBoolToObject(o, key, v))
		j->fail = true;
}

static void jpush_str(struct jb *j, cJSON *arr, const char *v)
{
	cJSON *s = cJSON_CreateString(v);

	if (!s || !cJSON_AddItemToArray(arr, s)) {
		cJSON_Delete(s);
		j->fail = true;
	}
}

static void jtime(struct jb *j, cJSON *o, const char *key, __u64 ns, int digits)
{
	char t[NETSEG_RFC3339_MAX];

	if (netseg_rfc3339(t, sizeof(t), ns, digits) < 0)
		j->fail = true;
	else
		jstr(j, o, key, t);
}

static void jtcp_flags(struct jb *j, cJSON *o, const char *key, __u8 flags)
{
	cJSON *a;
	int i;

	if (!flags)
		return;
	a = jarr(j, o, key);
	for (i = 0; i < 8; i++)
		if (flags & (1U << i))
			jpush_str(j, a, tcp_flag_names[i]);
}

static int jfinish(struct jb *j, cJSON *root, char *buf, size_t len)
{
	size_t n;
	int ret;

	if (j->fail || !root) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	/* Straight into the caller's buffer: no allocation, no copy. */
	if (len < 8 || len > (size_t)INT32_MAX) {
		cJSON_Delete(root);
		return -ENOSPC;
	}
	ret = cJSON_PrintPreallocated(root, buf, (int)len, false);
	if (!ret) {
		/* cJSON wants a few bytes of slack past the end (its docs say
		 * 5), so a line that fits exactly was refused: print it the
		 * allocating way to tell "too small" from "too tight". */
		char *s = cJSON_PrintUnformatted(root);

		cJSON_Delete(root);
		if (!s)
			return -ENOMEM;
		n = strlen(s);
		if (n < len)
			memcpy(buf, s, n + 1);
		cJSON_free(s);
		return n < len ? (int)n : -ENOSPC;
	}
	cJSON_Delete(root);
	n = strlen(buf);
	return (int)n;
}

/* ---------------------------------------------------------- native JSON */

/* @key: records a sink failed to send, @key_error: why (when there are any). */
static void lost_send(struct jb *j, cJSON *o, const char *key, const struct netseg_flowrec *r)
{
	char k[32], why[64];

	if (!send_error(r, why, sizeof(why)))
		return;
	ju64(j, o, key, r->lost_send);
	snprintf(k, sizeof(k), "%s_error", key);
	jstr(j, o, k, why);
}

static void json_ep(struct jb *j, cJSON *root, const char *key, const struct netseg_flowrec *r,
		    bool src)
{
	cJSON *o = jobj(j, root, key);
	__u32 id = src ? r->src_id : r->dst_id;

	jstr(j, o, "identity", src ? r->src_name : r->dst_name);
	if (id)
		jint(j, o, "identity_id", id);
	jstr(j, o, "ip", src ? r->saddr : r->daddr);
	if (r->has_ports)
		jint(j, o, "port", src ? r->sport : r->dport);
}

static void json_flow(struct jb *j, cJSON *root, const struct netseg_flowrec *r, __u16 seed)
{
	char fid[24], cid[NETSEG_COMMUNITY_ID_LEN];
	const char *pn = netseg_flow_proto_name(r->proto);
	cJSON *o;

	if (r->flow_id) {
		snprintf(fid, sizeof(fid), "%016" PRIx64, (uint64_t)r->flow_id);
		jstr(j, root, "flow_id", fid);
	}
	jstr(j, root, "reason", r->reason);
	if (r->has_rule) {
		o = jobj(j, root, "rule");
		jint(j, o, "id", r->rule_id);
		jstr(j, o, "text", r->rule);
		jstr(j, o, "comment", r->comment);
	}
	jstr(j, root, "direction", netseg_node_dir_name(r->node_dir));
	if (r->hook)
		jstr(j, root, "hook", netseg_hook_name(r->hook));
	if (r->ifindex || r->ifname[0]) {
		o = jobj(j, root, "interface");
		jstr(j, o, "name", r->ifname);
		jint(j, o, "index", r->ifindex);
	}
	jstr(j, root, "node", r->node);
	if (r->family)
		jstr(j, root, "family", r->family == NETSEG_AF_INET ? "ipv4" : "ipv6");
	jint(j, root, "proto", r->proto);
	jstr(j, root, "proto_name", pn);
	json_ep(j, root, "src", r, true);
	json_ep(j, root, "dst", r, false);
	if (r->has_icmp) {
		o = jobj(j, root, "icmp");
		jint(j, o, "type", r->icmp_type);
		jint(j, o, "code", r->icmp_code);
	}
	jtcp_flags(j, root, "tcp_flags", r->tcp_flags[0]);
	if (r->kind != NETSEG_FLOW_END && r->pkt_len)
		jint(j, root, "packet_len", r->pkt_len);
	if (!netseg_flowrec_community_id(r, seed, cid))
		jstr(j, root, "community_id", cid);
	if (r->kind != NETSEG_FLOW_END)
		return;
	jtcp_flags(j, root, "tcp_flags_reply", r->tcp_flags[1]);
	jtime(j, root, "start", r->start_ns, 9);
	ju64(j, root, "start_ns", r->start_ns);
	ju64(j, root, "duration_ns", r->duration_ns);
	jstr(j, root, "flow_verdict", verdict_name(r->flow_verdict));
	ju64(j, root, "packets_out", r->packets[0]);
	ju64(j, root, "bytes_out", r->bytes[0]);
	ju64(j, root, "packets_in", r->packets[1]);
	ju64(j, root, "bytes_in", r->bytes[1]);
}

static int old_flowfmt_json(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
			    char *buf, size_t len)
{
	const char *kind = netseg_flowrec_kind_name(r->kind);
	char msg[2048];
	struct jb j = { 0 };
	cJSON *root, *lost;

	if (!kind)
		return -EINVAL;
	root = cJSON_CreateObject();
	jtime(&j, root, "time", r->time_ns, 9);
	ju64(&j, root, "time_ns", r->time_ns);
	jstr(&j, root, "verdict", kind);
	if (r->kind == NETSEG_FLOW_LOST) {
		jstr(&j, root, "node", r->node);
		lost = jobj(&j, root, "lost");
		ju64(&j, lost, "ring", r->lost_ring);
		ju64(&j, lost, "rate", r->lost_rate);
		ju64(&j, lost, "queue", r->lost_queue);
		lost_send(&j, lost, "send", r);
		ju64(&j, lost, "total", lost_total(r));
	} else {
		json_flow(&j, root, r, o ? o->cid_seed : 0);
	}
	message(r, msg, sizeof(msg));
	jstr(&j, root, "message", msg);
	return jfinish(&j, root, buf, len);
}

/* ----------------------------------------------------------------- OCSF */

static void ocsf_metadata(struct jb *j, cJSON *root, const struct netseg_flowfmt_opts *o,
			  bool security_control)
{
	cJSON *m = jobj(j, root, "metadata"), *p, *prof;

	jstr(j, m, "version", NETSEG_OCSF_VERSION);
	prof = jarr(j, m, "profiles");
	if (security_control)
		jpush_str(j, prof, "security_control");
	jpush_str(j, prof, "host");
	p = jobj(j, m, "product");
	jstr(j, p, "name", opt(o ? o->product : NULL, "netseg"));
	jstr(j, p, "vendor_name", opt(o ? o->vendor : NULL, "netseg"));
	jstr(j, p, "version", o ? o->version : NULL);
}

static void ocsf_device(struct jb *j, cJSON *root, const struct netseg_flowrec *r)
{
	cJSON *d = jobj(j, root, "device");

	jstr(j, d, "hostname", r->node);
	jint(j, d, "type_id", 1);
	jstr(j, d, "type", "Server");
}

/* The interface belongs to the local endpoint: the sender on egress. */
static void ocsf_endpoint(struct jb *j, cJSON *root, const struct netseg_flowrec *r, bool src)
{
	bool local = src ? r->dir == NETSEG_FLOW_DIR_EGRESS : r->dir != NETSEG_FLOW_DIR_EGRESS;
	const char *ip = src ? r->saddr : r->daddr;
	const char *name = src ? r->src_name : r->dst_name;
	cJSON *e;

	if (!ip[0] && !name[0] && !(local && r->ifname[0]))
		return;
	e = jobj(j, root, src ? "src_endpoint" : "dst_endpoint");
	jstr(j, e, "ip", ip);
	if (r->has_ports)
		jint(j, e, "port", src ? r->sport : r->dport);
	jstr(j, e, "name", name);
	if (local)
		jstr(j, e, "interface_name", r->ifname);
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

static const char *ocsf_direction(int node_dir)
{
	static const char *const names[] = { "Unknown", "Inbound", "Outbound", "Lateral", "Local" };

	if (node_dir == NETSEG_NODE_DIR_TRANSIT)
		return "Transit"; /* 99 Other: the direction string says what */
	return names[node_dir >= 0 && node_dir <= 4 ? node_dir : 0];
}

static const char *const boundary_names[] = { "Unknown", "Localhost", "Internal", "External" };

static void ocsf_connection(struct jb *j, cJSON *root, const struct netseg_flowrec *r, __u16 seed)
{
	char fid[24], cid[NETSEG_COMMUNITY_ID_LEN];
	cJSON *c = jobj(j, root, "connection_info");

	if (r->flow_id) {
		snprintf(fid, sizeof(fid), "%016" PRIx64, (uint64_t)r->flow_id);
		jstr(j, c, "uid", fid);
	}
	jint(j, c, "protocol_num", r->proto);
	jstr(j, c, "protocol_name", netseg_flow_proto_name(r->proto));
	if (r->family)
		jint(j, c, "protocol_ver_id", r->family == NETSEG_AF_INET ? 4 : 6);
	/* enum netseg_node_dir is OCSF's direction_id. */
	jint(j, c, "direction_id", r->node_dir);
	jstr(j, c, "direction", ocsf_direction(r->node_dir));
	jint(j, c, "boundary_id", ocsf_boundary(r));
	jstr(j, c, "boundary", boundary_names[ocsf_boundary(r)]);
	if (!netseg_flowrec_community_id(r, seed, cid))
		jstr(j, c, "community_uid", cid);
	if (r->tcp_flags[0] | r->tcp_flags[1])
		jint(j, c, "tcp_flags", r->tcp_flags[0] | r->tcp_flags[1]);
}

static void ocsf_observables(struct jb *j, cJSON *root, const struct netseg_flowrec *r)
{
	const char *names[2] = { "src_endpoint.ip", "dst_endpoint.ip" };
	const char *ips[2] = { r->saddr, r->daddr };
	cJSON *arr, *ob;
	int i;

	if (!r->saddr[0])
		return;
	arr = jarr(j, root, "observables");
	for (i = 0; i < 2; i++) {
		ob = cJSON_CreateObject();
		if (!ob || !cJSON_AddItemToArray(arr, ob)) {
			cJSON_Delete(ob);
			j->fail = true;
			return;
		}
		jstr(j, ob, "name", names[i]);
		jint(j, ob, "type_id", 2);
		jstr(j, ob, "type", "IP Address");
		jstr(j, ob, "value", ips[i]);
	}
}

static void ocsf_end(struct jb *j, cJSON *root, const struct netseg_flowrec *r)
{
	cJSON *t = jobj(j, root, "traffic");

	ju64(j, t, "packets_out", r->packets[0]);
	ju64(j, t, "packets_in", r->packets[1]);
	ju64(j, t, "packets", r->packets[0] + r->packets[1]);
	ju64(j, t, "bytes_out", r->bytes[0]);
	ju64(j, t, "bytes_in", r->bytes[1]);
	ju64(j, t, "bytes", r->bytes[0] + r->bytes[1]);
	/* duration from the rounded times, so that it is end_time - start_time
	 * exactly: each cut to ms on its own, they could differ by 1. */
	ju64(j, root, "start_time", MS(r->start_ns));
	ju64(j, root, "end_time", MS(r->time_ns));
	ju64(j, root, "duration",
	     MS(r->time_ns) > MS(r->start_ns) ? MS(r->time_ns) - MS(r->start_ns) : 0);
}

/* What no OCSF attribute holds: the drop reason, hook, identities' ids, ICMP. */
static void ocsf_unmapped(struct jb *j, cJSON *root, const struct netseg_flowrec *r)
{
	cJSON *u = jobj(j, root, "unmapped");

	jstr(j, u, "verdict", netseg_flowrec_kind_name(r->kind));
	jstr(j, u, "reason", r->reason);
	if (r->hook)
		jstr(j, u, "hook", netseg_hook_name(r->hook));
	if (r->src_id)
		jint(j, u, "src_identity_id", r->src_id);
	if (r->dst_id)
		jint(j, u, "dst_identity_id", r->dst_id);
	if (r->has_icmp) {
		jint(j, u, "icmp_type", r->icmp_type);
		jint(j, u, "icmp_code", r->icmp_code);
	}
	if (r->kind == NETSEG_FLOW_END)
		jstr(j, u, "flow_verdict", verdict_name(r->flow_verdict));
}

static void ocsf_flow(struct jb *j, cJSON *root, const struct netseg_flowrec *r,
		      const struct netseg_flowfmt_opts *o, const struct kind_map *km)
{
	char msg[2048], uid[24], rn[32];
	cJSON *fr;

	jint(j, root, "activity_id", km->ocsf_activity);
	jstr(j, root, "activity_name", CAPTION(activity_names, km->ocsf_activity));
	jint(j, root, "category_uid", 4);
	jstr(j, root, "category_name", "Network Activity");
	jint(j, root, "class_uid", 4001);
	jstr(j, root, "class_name", "Network Activity");
	jint(j, root, "type_uid", 4001 * 100 + km->ocsf_activity);
	snprintf(msg, sizeof(msg), "Network Activity: %s",
		 CAPTION(activity_names, km->ocsf_activity));
	jstr(j, root, "type_name", msg);
	ju64(j, root, "time", MS(r->time_ns));
	jint(j, root, "timezone_offset", 0);
	jint(j, root, "severity_id", km->ocsf_severity);
	jstr(j, root, "severity", CAPTION(severity_names, km->ocsf_severity));
	jint(j, root, "action_id", km->ocsf_action);
	jstr(j, root, "action", CAPTION(action_names, km->ocsf_action));
	jint(j, root, "disposition_id", km->ocsf_disposition);
	jstr(j, root, "disposition", CAPTION(disposition_names, km->ocsf_disposition));
	jbool(j, root, "is_alert", km->is_alert);
	jbool(j, root, "is_src_dst_assignment_known", true);
	message(r, msg, sizeof(msg));
	jstr(j, root, "message", msg);
	ocsf_metadata(j, root, o, true);
	ocsf_device(j, root, r);
	ocsf_endpoint(j, root, r, true);
	ocsf_endpoint(j, root, r, false);
	ocsf_connection(j, root, r, o ? o->cid_seed : 0);
	if (r->kind == NETSEG_FLOW_END)
		ocsf_end(j, root, r);
	if (r->has_rule) {
		fr = jobj(j, root, "firewall_rule");
		rule_uid(r, uid, sizeof(uid));
		jstr(j, fr, "uid", uid);
		jstr(j, fr, "name", rule_name(r, rn, sizeof(rn)));
		jstr(j, fr, "desc", r->comment);
	}
	ocsf_observables(j, root, r);
	ocsf_unmapped(j, root, r); /* last: netseg_flowfmt_chain_member() */
}

/*
 * Loss reports are no network activity: Event Log Activity (System
 * category, class 1008), activity Other, the counts in unmapped.
 */
static void ocsf_lost(struct jb *j, cJSON *root, const struct netseg_flowrec *r,
		      const struct netseg_flowfmt_opts *o)
{
	char msg[512];
	cJSON *u;

	jint(j, root, "activity_id", 99);
	jstr(j, root, "activity_name", "Records Lost");
	jint(j, root, "category_uid", 1);
	jstr(j, root, "category_name", "System Activity");
	jint(j, root, "class_uid", 1008);
	jstr(j, root, "class_name", "Event Log Activity");
	jint(j, root, "type_uid", 1008 * 100 + 99);
	jstr(j, root, "type_name", "Event Log Activity: Other");
	ju64(j, root, "time", MS(r->time_ns));
	jint(j, root, "timezone_offset", 0);
	jint(j, root, "severity_id", 3);
	jstr(j, root, "severity", "Medium");
	ju64(j, root, "count", lost_total(r));
	jstr(j, root, "log_provider", opt(o ? o->product : NULL, "netseg"));
	jstr(j, root, "log_name", "flow");
	message(r, msg, sizeof(msg));
	jstr(j, root, "message", msg);
	ocsf_metadata(j, root, o, false);
	ocsf_device(j, root, r);
	u = jobj(j, root, "unmapped");
	ju64(j, u, "lost_ring", r->lost_ring);
	ju64(j, u, "lost_rate", r->lost_rate);
	ju64(j, u, "lost_queue", r->lost_queue);
	lost_send(j, u, "lost_send", r);
}

static int old_flowfmt_ocsf(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
			    char *buf, size_t len)
{
	const struct kind_map *km = kind_map(r);
	struct jb j = { 0 };
	cJSON *root;

	if (!km && r->kind != NETSEG_FLOW_LOST)
		return -EINVAL;
	root = cJSON_CreateObject();
	if (km)
		ocsf_flow(&j, root, r, o, km);
	else
		ocsf_lost(&j, root, r, o);
	return jfinish(&j, root, buf, len);
}

/* ------------------------------------------------------------------ ECS */

static void ecs_observer(struct jb *j, cJSON *root, const struct netseg_flowrec *r,
			 const struct netseg_flowfmt_opts *o)
{
	cJSON *ob = jobj(j, root, "observer"), *side, *itf;

	jstr(j, ob, "type", "firewall");
	jstr(j, ob, "vendor", opt(o ? o->vendor : NULL, "netseg"));
	jstr(j, ob, "product", opt(o ? o->product : NULL, "netseg"));
	jstr(j, ob, "version", o ? o->version : NULL);
	jstr(j, ob, "hostname", r->node);
	if (r->ifname[0]) {
		/* TC egress sees the packet leave by the interface. */
		side = jobj(j, ob, r->hook == NETSEG_HOOK_TC_EGRESS ? "egress" : "ingress");
		itf = jobj(j, side, "interface");
		jstr(j, itf, "name", r->ifname);
	}
	if (r->node[0])
		jstr(j, jobj(j, root, "host"), "name", r->node);
}

static void ecs_ep(struct jb *j, cJSON *root, const struct netseg_flowrec *r, bool src)
{
	cJSON *e;

	if (!r->family)
		return;
	e = jobj(j, root, src ? "source" : "destination");
	jstr(j, e, "ip", src ? r->saddr : r->daddr);
	if (r->has_ports)
		jint(j, e, "port", src ? r->sport : r->dport);
	if (r->kind == NETSEG_FLOW_END) {
		ju64(j, e, "bytes", r->bytes[src ? 0 : 1]);
		ju64(j, e, "packets", r->packets[src ? 0 : 1]);
	}
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

static void ecs_network(struct jb *j, cJSON *root, const struct netseg_flowrec *r, __u16 seed)
{
	char cid[NETSEG_COMMUNITY_ID_LEN], num[8];
	cJSON *n = jobj(j, root, "network");

	jstr(j, n, "transport", netseg_flow_proto_name(r->proto));
	snprintf(num, sizeof(num), "%u", r->proto);
	jstr(j, n, "iana_number", num);
	if (r->family)
		jstr(j, n, "type", r->family == NETSEG_AF_INET ? "ipv4" : "ipv6");
	jstr(j, n, "direction", ecs_direction(r->node_dir));
	if (!netseg_flowrec_community_id(r, seed, cid))
		jstr(j, n, "community_id", cid);
	if (r->kind == NETSEG_FLOW_END) {
		ju64(j, n, "bytes", r->bytes[0] + r->bytes[1]);
		ju64(j, n, "packets", r->packets[0] + r->packets[1]);
	}
}

/* ECS has no place for identities, hooks, ICMP or TCP flags: custom fields. */
static void ecs_custom(struct jb *j, cJSON *root, const struct netseg_flowrec *r)
{
	cJSON *ns = jobj(j, root, "netseg"), *o;
	char fid[24];

	jstr(j, ns, "verdict", netseg_flowrec_kind_name(r->kind));
	if (r->flow_id) {
		snprintf(fid, sizeof(fid), "%016" PRIx64, (uint64_t)r->flow_id);
		jstr(j, ns, "flow_id", fid);
	}
	if (r->hook)
		jstr(j, ns, "hook", netseg_hook_name(r->hook));
	if (r->src_name[0] || r->src_id) {
		o = jobj(j, ns, "source");
		jstr(j, o, "identity", r->src_name);
		if (r->src_id)
			jint(j, o, "identity_id", r->src_id);
	}
	if (r->dst_name[0] || r->dst_id) {
		o = jobj(j, ns, "destination");
		jstr(j, o, "identity", r->dst_name);
		if (r->dst_id)
			jint(j, o, "identity_id", r->dst_id);
	}
	if (r->has_icmp) {
		o = jobj(j, ns, "icmp");
		jint(j, o, "type", r->icmp_type);
		jint(j, o, "code", r->icmp_code);
	}
	jtcp_flags(j, ns, "tcp_flags", r->tcp_flags[0]);
	if (r->kind == NETSEG_FLOW_END) {
		jtcp_flags(j, ns, "tcp_flags_reply", r->tcp_flags[1]);
		jstr(j, ns, "flow_verdict", verdict_name(r->flow_verdict));
	}
}

static void ecs_event(struct jb *j, cJSON *root, const struct netseg_flowrec *r,
		      const struct kind_map *km)
{
	cJSON *ev = jobj(j, root, "event"), *cat, *type;
	int i;

	jstr(j, ev, "kind", km ? "event" : "metric");
	cat = jarr(j, ev, "category");
	jpush_str(j, cat, "network");
	type = jarr(j, ev, "type");
	for (i = 0; km && i < 3 && km->ecs_type[i]; i++)
		jpush_str(j, type, km->ecs_type[i]);
	if (!km)
		jpush_str(j, type, "info");
	jstr(j, ev, "action", km ? km->ecs_action : "records-lost");
	/* "success" from the firewall's point of view: the verdict was applied,
	 * whether it allowed or denied the flow. */
	jstr(j, ev, "outcome", km ? "success" : "unknown");
	jstr(j, ev, "dataset", "netseg.flow");
	jstr(j, ev, "reason", r->reason);
	if (r->kind == NETSEG_FLOW_END) {
		jtime(j, ev, "start", r->start_ns, 9);
		jtime(j, ev, "end", r->time_ns, 9);
		ju64(j, ev, "duration", r->duration_ns);
	}
}

static int old_flowfmt_ecs(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
			   char *buf, size_t len)
{
	const struct kind_map *km = kind_map(r);
	char msg[2048], uid[24], rn[32];
	struct jb j = { 0 };
	cJSON *root, *ecs, *rule, *rel, *lost;

	if (!km && r->kind != NETSEG_FLOW_LOST)
		return -EINVAL;
	root = cJSON_CreateObject();
	jtime(&j, root, "@timestamp", r->time_ns, 9);
	ecs = jobj(&j, root, "ecs");
	jstr(&j, ecs, "version", NETSEG_ECS_VERSION);
	ecs_event(&j, root, r, km);
	message(r, msg, sizeof(msg));
	jstr(&j, root, "message", msg);
	ecs_observer(&j, root, r, o);
	if (!km) {
		lost = jobj(&j, jobj(&j, root, "netseg"), "lost");
		ju64(&j, lost, "ring", r->lost_ring);
		ju64(&j, lost, "rate", r->lost_rate);
		ju64(&j, lost, "queue", r->lost_queue);
		lost_send(&j, lost, "send", r);
		ju64(&j, lost, "total", lost_total(r));
		return jfinish(&j, root, buf, len);
	}
	ecs_ep(&j, root, r, true);
	ecs_ep(&j, root, r, false);
	ecs_network(&j, root, r, o ? o->cid_seed : 0);
	if (r->has_rule) {
		rule = jobj(&j, root, "rule");
		rule_uid(r, uid, sizeof(uid));
		jstr(&j, rule, "id", uid);
		jstr(&j, rule, "name", rule_name(r, rn, sizeof(rn)));
		jstr(&j, rule, "description", r->comment);
		jstr(&j, rule, "ruleset", opt(o ? o->ruleset : NULL, "netseg"));
	}
	if (r->family) {
		rel = jarr(&j, jobj(&j, root, "related"), "ip");
		jpush_str(&j, rel, r->saddr);
		if (strcmp(r->saddr, r->daddr))
			jpush_str(&j, rel, r->daddr);
	}
	ecs_custom(&j, root, r); /* last: netseg_flowfmt_chain_member() */
	return jfinish(&j, root, buf, len);
}

/* ------------------------------------------------------------------ CEF */

/* CEF v25 header field limits, in bytes of the unescaped value. */
#define CEF_VENDOR_MAX 63
#define CEF_PRODUCT_MAX 63
#define CEF_VERSION_MAX 31
#define CEF_CLASS_MAX 1023
#define CEF_NAME_MAX 512

struct sbuf {
	char *p;
	size_t len, cap;
	bool full;
	bool ext; /* an extension pair written: the next needs a space */
};

static void sb_putc(struct sbuf *b, char c)
{
	if (b->len + 1 >= b->cap) {
		b->full = true;
		return;
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

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
	size_t k;

	for (; *s; s++) {
		k = *s == '\r' || *s == '\n' ? 0 : ctl_char(s);
		if (k) {
			sb_putc(b, ' ');
			s += k - 1;
			continue;
		}
		switch (*s) {
		case '\\':
			sb_puts(b, "\\\\");
			break;
		case '=':
			sb_puts(b, "\\=");
			break;
		case '\r':
			sb_puts(b, "\\r");
			break;
		case '\n':
			sb_puts(b, "\\n");
			break;
		default:
			sb_putc(b, *s);
		}
	}
}

/* " key=value" (the first pair has no leading space). */
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

static void cef_kn(struct sbuf *b, const char *key, __u64 v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)v);
	cef_kv(b, key, num);
}

static void cef_label(struct sbuf *b, const char *key, const char *label, const char *val)
{
	char lk[32];

	if (!val || !*val)
		return;
	snprintf(lk, sizeof(lk), "%sLabel", key);
	cef_kv(b, lk, label);
	cef_kv(b, key, val);
}

static void cef_addrs(struct sbuf *b, const struct netseg_flowrec *r)
{
	char port[8];

	if (r->family == NETSEG_AF_INET) {
		cef_kv(b, "src", r->saddr);
		if (r->has_ports) {
			snprintf(port, sizeof(port), "%u", r->sport);
			cef_kv(b, "spt", port);
		}
		cef_kv(b, "dst", r->daddr);
	} else if (r->family == NETSEG_AF_INET6) {
		/* src/dst are IPv4 in the CEF dictionary. */
		cef_label(b, "c6a2", "Source IPv6 Address", r->saddr);
		if (r->has_ports) {
			snprintf(port, sizeof(port), "%u", r->sport);
			cef_kv(b, "spt", port);
		}
		cef_label(b, "c6a3", "Destination IPv6 Address", r->daddr);
	}
	if (r->has_ports) {
		snprintf(port, sizeof(port), "%u", r->dport);
		cef_kv(b, "dpt", port);
	}
}

static void cef_proto(struct sbuf *b, const struct netseg_flowrec *r)
{
	const char *pn = netseg_flow_proto_name(r->proto);
	char up[16];
	size_t i;

	if (!pn) {
		cef_kn(b, "proto", r->proto);
		return;
	}
	for (i = 0; pn[i] && i + 1 < sizeof(up); i++)
		up[i] = pn[i] >= 'a' && pn[i] <= 'z' ? pn[i] - 'a' + 'A' : pn[i];
	up[i] = '\0';
	cef_kv(b, "proto", up);
}

static void cef_flow(struct sbuf *b, const struct netseg_flowrec *r,
		     const struct netseg_flowfmt_opts *o, const struct kind_map *km)
{
	char uid[24], rn[32], cid[NETSEG_COMMUNITY_ID_LEN], icmp[16], fid[24];

	cef_kn(b, "rt", MS(r->time_ns));
	cef_addrs(b, r);
	cef_proto(b, r);
	cef_kv(b, "act", km->cef_act);
	/* CEF knows only 0 inbound and 1 outbound: other flows go without. */
	if (r->node_dir == NETSEG_NODE_DIR_INBOUND || r->node_dir == NETSEG_NODE_DIR_OUTBOUND)
		cef_kv(b, "deviceDirection", r->node_dir == NETSEG_NODE_DIR_INBOUND ? "0" : "1");
	cef_kv(b, "dvchost", r->node);
	if (r->has_rule) {
		rule_uid(r, uid, sizeof(uid));
		cef_label(b, "cs1", "ruleId", uid);
		cef_label(b, "cs2", "ruleName", rule_name(r, rn, sizeof(rn)));
	}
	if (!netseg_flowrec_community_id(r, o ? o->cid_seed : 0, cid))
		cef_label(b, "cs3", "communityId", cid);
	cef_label(b, "cs4", "srcIdentity", r->src_name);
	cef_label(b, "cs5", "dstIdentity", r->dst_name);
	/* cs6 is the hash chain's (flowchain.c). */
	cef_kv(b,
	       r->hook == NETSEG_HOOK_TC_EGRESS ? "deviceOutboundInterface" :
						  "deviceInboundInterface",
	       r->ifname);
	if (r->flow_id) {
		snprintf(fid, sizeof(fid), "%016" PRIx64, (uint64_t)r->flow_id);
		cef_kv(b, "externalId", fid);
	}
	cef_kv(b, "reason", r->reason);
	cef_label(b, "flexString1", "ruleComment", r->comment);
	if (r->has_icmp) {
		snprintf(icmp, sizeof(icmp), "%u/%u", r->icmp_type, r->icmp_code);
		cef_label(b, "flexString2", "icmpTypeCode", icmp);
	}
	if (r->kind != NETSEG_FLOW_END)
		return;
	/* bytesIn is source-to-destination in CEF (Elastic: source.bytes). */
	cef_kn(b, "start", MS(r->start_ns));
	cef_kn(b, "end", MS(r->time_ns));
	cef_kn(b, "in", r->bytes[0]);
	cef_kn(b, "out", r->bytes[1]);
	cef_kv(b, "cn1Label", "packetsOut");
	cef_kn(b, "cn1", r->packets[0]);
	cef_kv(b, "cn2Label", "packetsIn");
	cef_kn(b, "cn2", r->packets[1]);
}

static void cef_lost(struct sbuf *b, const struct netseg_flowrec *r)
{
	char msg[512];

	cef_kn(b, "rt", MS(r->time_ns));
	cef_kv(b, "dvchost", r->node);
	cef_kn(b, "cnt", lost_total(r));
	cef_kv(b, "cn1Label", "lostRingFull");
	cef_kn(b, "cn1", r->lost_ring);
	cef_kv(b, "cn2Label", "lostRateLimit");
	cef_kn(b, "cn2", r->lost_rate);
	cef_kv(b, "cn3Label", "lostSinkQueueFull");
	cef_kn(b, "cn3", r->lost_queue);
	if (r->lost_send) {
		cef_kv(b, "flexNumber1Label", "lostSendError");
		cef_kn(b, "flexNumber1", r->lost_send);
	}
	message(r, msg, sizeof(msg));
	cef_kv(b, "msg", msg);
}

static int old_flowfmt_cef(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
			   char *buf, size_t len)
{
	const struct kind_map *km = kind_map(r);
	struct sbuf b = { .p = buf, .cap = len };
	char sev[4];

	if (!km && r->kind != NETSEG_FLOW_LOST)
		return -EINVAL;
	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	sb_puts(&b, "CEF:0|");
	cef_header(&b, opt(o ? o->vendor : NULL, "netseg"), CEF_VENDOR_MAX);
	cef_header(&b, opt(o ? o->product : NULL, "netseg"), CEF_PRODUCT_MAX);
	cef_header(&b, o && o->version ? o->version : "", CEF_VERSION_MAX);
	cef_header(&b, km ? km->cef_class : "flow-lost", CEF_CLASS_MAX);
	cef_header(&b, km ? km->cef_name : "Flow records lost", CEF_NAME_MAX);
	snprintf(sev, sizeof(sev), "%d", km ? km->cef_severity : 6);
	cef_header(&b, sev, 2);
	if (km)
		cef_flow(&b, r, o, km);
	else
		cef_lost(&b, r);
	if (b.full)
		return -ENOSPC;
	return (int)b.len;
}

static int old_flowfmt(int fmt, const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
		       char *buf, size_t len)
{
	switch (fmt) {
	case NETSEG_FMT_JSON:
		return old_flowfmt_json(r, o, buf, len);
	case NETSEG_FMT_OCSF:
		return old_flowfmt_ocsf(r, o, buf, len);
	case NETSEG_FMT_ECS:
		return old_flowfmt_ecs(r, o, buf, len);
	case NETSEG_FMT_CEF:
		return old_flowfmt_cef(r, o, buf, len);
	}
	return -EINVAL;
}

/* @dst = the first @keep bytes of @src (cut on a character) and the marker. */
static void old_shorten(char *dst, size_t size, const char *src, size_t keep)
{
	size_t n = netseg_utf8_copy(dst, keep + 1 < size ? keep + 1 : size, src, strlen(src));

	snprintf(dst + n, size - n, "%s", NETSEG_FLOWFMT_TRUNCATED);
}

/* Formats @t with @field (its original @orig) cut to @keep bytes and marked. */
static int old_fmt_cut(int fmt, struct netseg_flowrec *t, const struct netseg_flowfmt_opts *o,
		       char *field, size_t size, const char *orig, size_t keep, char *buf,
		       size_t len)
{
	old_shorten(field, size, orig, keep);
	return old_flowfmt(fmt, t, o, buf, len);
}

static bool old_fits(int n, size_t max)
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
static int old_cut_field(int fmt, struct netseg_flowrec *t, const struct netseg_flowfmt_opts *o,
			 char *field, size_t size, const char *orig, size_t max, char *buf,
			 size_t len)
{
	size_t lo = 0, hi = strlen(orig), mid;
	int n = old_fmt_cut(fmt, t, o, field, size, orig, 0, buf, len);

	if (!old_fits(n, max))
		return n; /* not even with none of it */
	while (lo < hi) { /* lo fits; does anything longer? */
		mid = lo + (hi - lo + 1) / 2;
		if (old_fits(old_fmt_cut(fmt, t, o, field, size, orig, mid, buf, len), max))
			lo = mid;
		else
			hi = mid - 1;
	}
	return old_fmt_cut(fmt, t, o, field, size, orig, lo, buf, len);
}

static int old_flowfmt_fit(int fmt, const struct netseg_flowrec *r,
			   const struct netseg_flowfmt_opts *o, size_t max, char *buf, size_t len,
			   bool *truncated)
{
	struct netseg_flowrec *t;
	int n;

	*truncated = false;
	n = old_flowfmt(fmt, r, o, buf, len);
	if (old_fits(n, max) || (n < 0 && n != -ENOSPC))
		return n;
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = *r;
	*truncated = true;
	/* The comment goes first: the rule text says what decided the flow. */
	if (r->comment[0])
		n = old_cut_field(fmt, t, o, t->comment, sizeof(t->comment), r->comment, max, buf,
				  len);
	if (!old_fits(n, max) && r->rule[0])
		n = old_cut_field(fmt, t, o, t->rule, sizeof(t->rule), r->rule, max, buf, len);
	free(t);
	if (n == -ENOSPC || (n >= 0 && !old_fits(n, max)))
		return -EMSGSIZE;
	return n;
}

/* ====================================================== the generator */

#include <arpa/inet.h>

#include "tap.h"
#include "text.h"
#include "datapath.h"

static __u64 rng_state;

static __u64 rnd(void)
{
	/* xorshift64*: reproducible from the seed the test prints */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned int below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

static bool chance(unsigned int percent)
{
	return below(100) < percent;
}

/* Pieces of hostile text: what some format escapes, UTF-8 of every length, and broken UTF-8. */
static const char *const pieces[] = {
	"a",
	"Z",
	"9",
	" ",
	"-",
	"_",
	".",
	":",
	"/",
	"deny",
	"frontend -> api:tcp/443",
	"\"",
	"\\",
	"|",
	"=",
	"]",
	"[",
	"{",
	"}",
	",",
	"'",
	"<",
	">",
	"&",
	"%s",
	"%n",
	"\n",
	"\r",
	"\t",
	"\b",
	"\f",
	"\x01",
	"\x1b",
	"\x1f",
	"\x7f",
	"\r\n",
	"\\n",
	"\\u0000",
	"\\=",
	"\\|",
	"cs6=1:ab:cd",
	" cs6Label=chain",
	"\xc3\xa9",
	"\xc2\xa0",
	"\xc2\x80",
	"\xc2\x85",
	"\xc2\x9f",
	"\xc2\xbf", /* 2 bytes, C1 */
	"\xe2\x82\xac",
	"\xef\xbf\xbd",
	"\xe2\x80\xa8",
	"\xe2\x80\xa6",
	"\xef\xbb\xbf", /* 3 bytes */
	"\xf0\x9f\x98\x80",
	"\xf4\x8f\xbf\xbf", /* 4 bytes */
	"\xff",
	"\xfe",
	"\x80",
	"\xbf",
	"\xc0\x80",
	"\xc3",
	"\xe2\x82",
	"\xed\xa0\x80",
	"\xf8\x88\x80\x80\x80",
	"\xf0\x9f\x98", /* invalid or cut */
};

static bool valid_utf8(const char *p, size_t k)
{
	size_t i = 0, n;

	while (i < k) {
		n = netseg_utf8_seq((const unsigned char *)p + i, k - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

static void text(char *dst, size_t size, bool valid_only)
{
	size_t n = 0, cap = size - 1, want;

	switch (below(5)) {
	case 0:
		want = 0;
		break;
	case 1:
		want = cap; /* full */
		break;
	default:
		want = below((unsigned int)cap + 1);
	}
	while (n < want) {
		const char *p = pieces[below(sizeof(pieces) / sizeof(pieces[0]))];
		size_t k = strlen(p);

		if (valid_only && !valid_utf8(p, k))
			continue;
		if (n + k > cap)
			break;
		memcpy(dst + n, p, k);
		n += k;
	}
	dst[n] = '\0';
}

static void addrs(struct netseg_flowrec *r)
{
	int af;

	switch (below(10)) {
	case 0:
		r->family = 0;
		return;
	case 1:
		r->family = (__u8)below(256); /* none we know */
		break;
	case 2:
	case 3:
	case 4:
	case 5:
		r->family = NETSEG_AF_INET;
		break;
	default:
		r->family = NETSEG_AF_INET6;
	}
	for (int i = 0; i < 16; i++) {
		r->saddr_raw[i] = (__u8)rnd();
		r->daddr_raw[i] = chance(10) ? r->saddr_raw[i] : (__u8)rnd();
	}
	if (chance(5))
		memcpy(r->daddr_raw, r->saddr_raw, 16);
	af = r->family == NETSEG_AF_INET ? AF_INET : AF_INET6;
	if (chance(3)) { /* text that is no address */
		text(r->saddr, sizeof(r->saddr), false);
		text(r->daddr, sizeof(r->daddr), false);
	} else if (r->family == NETSEG_AF_INET || r->family == NETSEG_AF_INET6) {
		inet_ntop(af, r->saddr_raw, r->saddr, sizeof(r->saddr));
		inet_ntop(af, r->daddr_raw, r->daddr, sizeof(r->daddr));
	}
}

static __u64 num64(void)
{
	switch (below(4)) {
	case 0:
		return 0;
	case 1:
		return below(1000);
	case 2:
		return UINT64_MAX - below(3);
	}
	return rnd() >> below(64);
}

/* Any record at all: the formatters take what the builders could make and more. */
static void random_record(struct netseg_flowrec *r)
{
	static const __u8 protos[] = { 6, 17, 1, 58, 132, 0, 47, 255 };
	static const __u8 dirs[] = { 0, 1, 2, 3, 4, 99, 5, 200 };

	memset(r, 0, sizeof(*r));
	r->kind = (__u8)(chance(2) ? below(8) : 1 + below(5));
	r->dir = (__u8)below(4);
	r->node_dir = dirs[below(sizeof(dirs))];
	r->hook = (__u8)below(7);
	r->proto = chance(10) ? (__u8)rnd() : protos[below(sizeof(protos))];
	r->flow_verdict = (__u8)below(5);
	r->reason_code = (__u8)below(NETSEG_REASON_MAX + 2);
	r->has_ports = chance(50);
	r->has_icmp = chance(30);
	r->has_rule = chance(60);
	r->icmp_type = (__u8)rnd();
	r->icmp_code = (__u8)rnd();
	r->tcp_flags[0] = chance(50) ? (__u8)rnd() : 0;
	r->tcp_flags[1] = chance(50) ? (__u8)rnd() : 0;
	r->sport = (__u16)rnd();
	r->dport = (__u16)rnd();
	r->rule_id = chance(30) ? 0 : (__u32)rnd();
	r->ifindex = chance(30) ? 0 : (__u32)rnd();
	r->src_id = chance(30) ? 0 : (__u32)rnd();
	r->dst_id = chance(30) ? 0 : (__u32)rnd();
	r->pkt_len = chance(20) ? 0 : (__u32)rnd();
	r->time_ns = num64();
	r->flow_id = num64();
	r->start_ns = chance(50) ? r->time_ns - below(1000000000) : num64();
	r->duration_ns = num64();
	for (int i = 0; i < 2; i++) {
		r->packets[i] = num64();
		r->bytes[i] = num64();
	}
	r->lost_ring = num64();
	r->lost_rate = num64();
	r->lost_queue = num64();
	r->lost_send = chance(50) ? 0 : num64();
	r->lost_send_errno = chance(10) ? -(int)below(5) : (int)below(140);
	addrs(r);
	/* The builders hand formatters valid UTF-8; most records keep to that. */
	bool valid = chance(80);

	text(r->reason, sizeof(r->reason), valid);
	if (chance(50))
		snprintf(r->reason, sizeof(r->reason), "%s", netseg_reason_name(r->reason_code));
	text(r->src_name, sizeof(r->src_name), valid);
	text(r->dst_name, sizeof(r->dst_name), valid);
	text(r->ifname, sizeof(r->ifname), valid);
	text(r->node, sizeof(r->node), valid);
	text(r->rule, sizeof(r->rule), valid);
	text(r->comment, sizeof(r->comment), valid);
}

static char opt_text[4][200];

static const struct netseg_flowfmt_opts *random_opts(struct netseg_flowfmt_opts *o)
{
	if (chance(20))
		return NULL;
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < 4; i++)
		text(opt_text[i], chance(80) ? 12 : sizeof(opt_text[i]), chance(70));
	o->vendor = chance(20) ? NULL : opt_text[0];
	o->product = chance(20) ? NULL : opt_text[1];
	o->version = chance(20) ? NULL : opt_text[2];
	o->ruleset = chance(20) ? NULL : opt_text[3];
	o->cid_seed = chance(70) ? 0 : (__u16)rnd();
	return o;
}

/* ---------------------------------------------------- names for builders */

static char hostile[3][300];

static int h_ident(void *ctx, __u32 id, char *buf, size_t len)
{
	if (id % 5 == 0)
		return -ENOENT;
	snprintf(buf, len, "%s", hostile[id % 3]);
	return 0;
}

static int h_iface(void *ctx, __u32 ifindex, char *buf, size_t len)
{
	snprintf(buf, len, "%s", hostile[(ifindex + 1) % 3]);
	return ifindex & 1 ? NETSEG_IFK_UPLINK : NETSEG_IFK_ENDPOINT;
}

static int h_rule(void *ctx, __u32 id, char *t, size_t tlen, char *c, size_t clen)
{
	if (id % 7 == 0)
		return -ENOENT;
	snprintf(t, tlen, "%s", hostile[id % 3]);
	snprintf(c, clen, "%s", hostile[(id + 2) % 3]);
	return 0;
}

/* A record as the daemon makes them: from an event or a conntrack entry. */
static void built_record(struct netseg_flowrec *r)
{
	struct netseg_flow_names nm = { .identity = h_ident,
					.iface = h_iface,
					.rule = h_rule,
					.node = hostile[0] };
	struct netseg_event ev;
	struct netseg_ct_key k;
	struct netseg_ct_entry e;
	unsigned char *p;

	for (int i = 0; i < 3; i++)
		text(hostile[i], sizeof(hostile[i]), false);
	if (chance(20)) {
		netseg_flowrec_lost(r, num64(), num64(), num64(), num64(), hostile[1]);
		r->lost_send = chance(50) ? num64() : 0;
		r->lost_send_errno = (int)below(140);
		return;
	}
	if (chance(50)) {
		p = (unsigned char *)&ev;
		for (size_t i = 0; i < sizeof(ev); i++)
			p[i] = (unsigned char)rnd();
		ev.type = (__u8)(NETSEG_EV_FLOW_START + below(3));
		ev.family = chance(50) ? NETSEG_AF_INET : NETSEG_AF_INET6;
		ev.proto = (__u8)(chance(80) ? (int[]){ 6, 17, 1, 58, 132 }[below(5)] : (int)rnd());
		ev.hook = (__u8)below(7);
		ev.reason = (__u8)below(NETSEG_REASON_MAX + 1);
		if (netseg_flowrec_from_event(&ev, (__s64)(rnd() >> 2), chance(10) ? NULL : &nm, r))
			random_record(r);
		return;
	}
	p = (unsigned char *)&k;
	for (size_t i = 0; i < sizeof(k); i++)
		p[i] = (unsigned char)rnd();
	p = (unsigned char *)&e;
	for (size_t i = 0; i < sizeof(e); i++)
		p[i] = (unsigned char)rnd();
	k.family = chance(50) ? NETSEG_AF_INET : NETSEG_AF_INET6;
	k.proto = (__u8)(chance(80) ? (int[]){ 6, 17, 1, 58, 132 }[below(5)] : (int)rnd());
	e.verdict = (__u8)below(4);
	e.hook = (__u8)below(7);
	e.reason = (__u8)below(NETSEG_REASON_MAX + 1);
	if (netseg_flowrec_from_ct(&k, &e, (__s64)(rnd() >> 2), &nm, r))
		random_record(r);
}

/* --------------------------------------------------------------- checks */

#define NREC 20000

static char a[NETSEG_FLOWFMT_MAX], b[NETSEG_FLOWFMT_MAX];
static int shown;

static void show(const char *what, int fmt, int na, int nb)
{
	if (shown++ >= 3)
		return;
	diag("%s, format %s: old %d, new %d", what, netseg_flowfmt_name(fmt), na, nb);
	if (na >= 0 && nb >= 0) {
		int i = 0;

		while (i < na && a[i] == b[i])
			i++;
		diag("first difference at byte %d:", i);
		diag("old: ...%.160s", a + (i > 60 ? i - 60 : 0));
		diag("new: ...%.160s", b + (i > 60 ? i - 60 : 0));
	}
}

/* Same return, same bytes (NUL included) when it is a line. */
static bool same(int na, int nb)
{
	return na == nb && (na < 0 || !memcmp(a, b, (size_t)na + 1));
}

int main(void)
{
	const char *seed_env = getenv("NETSEG_DIFF_SEED");
	__u64 seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eed0f10f0f0f0ULL;
	unsigned int kinds[8] = { 0 }, hooks[8] = { 0 }, fams[3] = { 0 }, cut = 0, lines = 0;
	unsigned int bad[NETSEG_FMT_CEF + 1] = { 0 }, bad_small = 0, bad_fit = 0, bad_other = 0;
	struct netseg_flowfmt_opts ob;
	struct netseg_flowrec r;

	rng_state = seed | 1;
	diag("seed %#llx (NETSEG_DIFF_SEED=N repeats a run)", (unsigned long long)seed);
	for (int i = 0; i < NREC; i++) {
		const struct netseg_flowfmt_opts *o;

		if (i % 3 == 0)
			built_record(&r);
		else
			random_record(&r);
		o = random_opts(&ob);
		kinds[r.kind < 8 ? r.kind : 7]++;
		hooks[r.hook < 8 ? r.hook : 7]++;
		fams[r.family == NETSEG_AF_INET ? 1 : r.family == NETSEG_AF_INET6 ? 2 : 0]++;
		for (int fmt = NETSEG_FMT_JSON; fmt <= NETSEG_FMT_CEF; fmt++) {
			int na = old_flowfmt(fmt, &r, o, a, sizeof(a));
			int nb = netseg_flowfmt(fmt, &r, o, b, sizeof(b));
			bool ta = false, tb = false;
			size_t len, max;

			lines += na >= 0;
			if (!same(na, nb)) {
				bad[fmt]++;
				show("full buffer", fmt, na, nb);
			}
			/* A buffer around the line's length: -ENOSPC or the line. */
			len = na >= 0 ? (size_t)na + 1 - below(3) : below(64);
			na = old_flowfmt(fmt, &r, o, a, len);
			nb = netseg_flowfmt(fmt, &r, o, b, len);
			if (!same(na, nb)) {
				bad_small++;
				show("small buffer", fmt, na, nb);
			}
			if (i % 8)
				continue;
			/* Shortened to fit a datagram (bisection over the text). */
			max = 300 + below(2000);
			na = old_flowfmt_fit(fmt, &r, o, max, a, sizeof(a), &ta);
			nb = netseg_flowfmt_fit(fmt, &r, o, max, b, sizeof(b), &tb);
			cut += ta;
			if (!same(na, nb) || ta != tb) {
				bad_fit++;
				show("fit", fmt, na, nb);
			}
		}
		/* Formats that don't exist. */
		if (old_flowfmt(4, &r, o, a, sizeof(a)) != netseg_flowfmt(4, &r, o, b, sizeof(b)) ||
		    old_flowfmt(-1, &r, o, a, sizeof(a)) != netseg_flowfmt(-1, &r, o, b, sizeof(b)))
			bad_other++;
	}
	for (int fmt = NETSEG_FMT_JSON; fmt <= NETSEG_FMT_CEF; fmt++)
		ok(!bad[fmt], "%s: %d records, the same bytes as the cJSON formatter (%u differ)",
		   netseg_flowfmt_name(fmt), NREC, bad[fmt]);
	ok(!bad_small,
	   "every format: the same result in a buffer about the line's size (%u differ)",
	   bad_small);
	ok(!bad_fit, "every format: shortened to fit, the same text cut the same way (%u differ)",
	   bad_fit);
	ok(!bad_other, "unknown formats: the same error (%u differ)", bad_other);
	/* The generator reached what it is meant to: else the above proves little. */
	ok(kinds[1] && kinds[2] && kinds[3] && kinds[4] && kinds[5] &&
		   kinds[0] + kinds[6] + kinds[7],
	   "records of every kind and of none (%u %u %u %u %u, %u invalid)", kinds[1], kinds[2],
	   kinds[3], kinds[4], kinds[5], kinds[0] + kinds[6] + kinds[7]);
	ok(hooks[0] && hooks[1] && hooks[2] && hooks[3] && hooks[4] && hooks[5],
	   "records from every hook");
	ok(fams[0] && fams[1] && fams[2], "records with v4, v6 and no addresses (%u %u %u)",
	   fams[1], fams[2], fams[0]);
	ok(lines > NREC * 3 && cut > 100, "%u lines written, %u records shortened to fit", lines,
	   cut);
	return tap_done();
}
