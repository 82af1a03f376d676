// SPDX-License-Identifier: GPL-2.0-only
/*
 * Flow records through every format.  JSON outputs are parsed back with
 * cJSON and checked by name, type and value; OCSF ids against the class
 * arithmetic and the per-kind table (docs/flow-records.md, "Verdicts");
 * CEF byte for byte, escaping included, with hostile names and rule
 * comments carrying | = \ newlines, quotes, ] and non-ASCII (valid and
 * invalid UTF-8).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "flowrec.h"
#include "ocsf.h"
#include "tap.h"

#define T0 1784800815123000000ULL /* 2026-07-23T10:00:15.123Z */

/* Hostile text: every character some format must escape, plus UTF-8. */
#define EVIL_NAME "fr|on=t\\e\nd\"x]\r\xc3\xa9"
#define EVIL_COMMENT "a|b=c\\d\r\ne \"q\" ]] caf\xc3\xa9 \xff!"
/* The comment after UTF-8 repair: \xff -> U+FFFD. */
#define EVIL_COMMENT_UTF8 "a|b=c\\d\r\ne \"q\" ]] caf\xc3\xa9 \xef\xbf\xbd!"

static const struct netseg_flowfmt_opts opts = {
	.vendor = "netseg",
	.product = "netseg",
	.version = "1.0.0",
	.ruleset = "microseg",
};

static int ident(void *ctx, __u32 id, char *buf, size_t len)
{
	switch (id) {
	case 300:
		snprintf(buf, len, "frontend");
		return 0;
	case 301:
		snprintf(buf, len, "api");
		return 0;
	case 666:
		snprintf(buf, len, "%s", EVIL_NAME);
		return 0;
	}
	return -ENOENT;
}

static int iface(void *ctx, __u32 ifindex, char *buf, size_t len)
{
	snprintf(buf, len, ifindex == 9 ? "eth0" : "veth-fe");
	return ifindex == 9 ? NETSEG_IFK_UPLINK : NETSEG_IFK_ENDPOINT;
}

static int rule(void *ctx, __u32 id, char *text, size_t tlen, char *comment, size_t clen)
{
	switch (id) {
	case 42:
		snprintf(text, tlen, "deny-db");
		return 0;
	case 7:
		snprintf(text, tlen, "allow frontend -> api:tcp/443");
		return 0;
	case 13:
		snprintf(text, tlen, "deny * -> db");
		snprintf(comment, clen, "%s", EVIL_COMMENT);
		return 0;
	}
	return -ENOENT;
}

static const struct netseg_flow_names names = {
	.identity = ident,
	.iface = iface,
	.rule = rule,
	.node = "node-7",
};

/* ------------------------------------------------------------- records */

static void ev_addrs(struct netseg_event *ev, int af, const char *s, const char *d)
{
	ev->family = af == AF_INET ? NETSEG_AF_INET : NETSEG_AF_INET6;
	if (inet_pton(af, s, ev->saddr) != 1 || inet_pton(af, d, ev->daddr) != 1)
		bail("bad test address");
}

static struct netseg_flowrec from_event(const struct netseg_event *ev,
					const struct netseg_flow_names *nm)
{
	struct netseg_flowrec r;

	if (netseg_flowrec_from_event(ev, T0 - ev->ts_ns, nm, &r))
		bail("netseg_flowrec_from_event failed");
	return r;
}

/* A denied TCP flow: 198.18.1.2:51514 -> 198.18.3.2:5432 by r-42. */
static struct netseg_flowrec rec_denied(void)
{
	struct netseg_event ev = {
		.ts_ns = 5,
		.type = NETSEG_EV_DENY,
		.reason = NETSEG_REASON_POLICY,
		.hook = NETSEG_HOOK_XDP,
		.proto = IPPROTO_TCP,
		.tcp_flags = 0x02,
		.rule_id = 42,
		.pkt_len = 60,
		.sport = htons(51514),
		.dport = htons(5432),
	};

	ev_addrs(&ev, AF_INET, "198.18.1.2", "198.18.3.2");
	return from_event(&ev, &names);
}

/* A --log flow from frontend to api, seen on the pod's veth. */
static struct netseg_flowrec rec_allowed(void)
{
	struct netseg_event ev = {
		.ts_ns = 5,
		.flow_id = 0xabcdef0123456789ULL,
		.type = NETSEG_EV_FLOW_START,
		.hook = NETSEG_HOOK_TC_INGRESS,
		.ifindex = 5,
		.proto = IPPROTO_TCP,
		.tcp_flags = 0x02,
		.rule_id = 7,
		.src_id = 300,
		.dst_id = 301,
		.pkt_len = 74,
		.sport = htons(51600),
		.dport = htons(443),
	};

	ev_addrs(&ev, AF_INET, "198.18.1.2", "198.18.2.2");
	return from_event(&ev, &names);
}

/* Would-deny on IPv6 UDP from a hostile-named identity, default deny. */
static struct netseg_flowrec rec_audit(void)
{
	struct netseg_event ev = {
		.ts_ns = 5,
		.flow_id = 99,
		.type = NETSEG_EV_AUDIT,
		.reason = NETSEG_REASON_DEFAULT_DENY,
		.hook = NETSEG_HOOK_TC_EGRESS,
		.ifindex = 5,
		.proto = IPPROTO_UDP,
		.src_id = NETSEG_ID_WORLD,
		.dst_id = 666,
		.pkt_len = 90,
		.sport = htons(5353),
		.dport = htons(53),
	};

	ev_addrs(&ev, AF_INET6, "fd00::9", "fd00::1:2");
	return from_event(&ev, &names);
}

/* ICMP echo allowed, rule with a hostile comment, hostile source name. */
static struct netseg_flowrec rec_icmp(void)
{
	struct netseg_event ev = {
		.ts_ns = 5,
		.flow_id = 1,
		.type = NETSEG_EV_FLOW_START,
		.hook = NETSEG_HOOK_CG_EGRESS,
		.proto = IPPROTO_ICMP,
		.icmp_type = 8,
		.rule_id = 13,
		.src_id = 666,
		.dst_id = 301,
		.pkt_len = 84,
		.sport = htons(77),
		.dport = htons(77),
	};

	ev_addrs(&ev, AF_INET, "198.18.1.2", "198.18.2.2");
	return from_event(&ev, &names);
}

/* A flow end, on IPv6, originator in the key's b. */
static struct netseg_flowrec rec_end(__u8 verdict)
{
	struct netseg_ct_key k = { .proto = IPPROTO_TCP, .family = NETSEG_AF_INET6 };
	struct netseg_ct_entry e = {
		.created_ns = 1000,
		.last_seen_ns = 1000 + 184750000000ULL,
		.flow_id = 123,
		.packets = { 12, 10 },
		.bytes = { 1840, 9120 },
		.src_id = 300,
		.dst_id = 301,
		.rule_id = 7,
		.ifindex = 5,
		.verdict = verdict,
		.tcp_flags = { 0x1b, 0x12 },
		.hook = NETSEG_HOOK_TC_INGRESS,
		.flags = NETSEG_CTF_ORIG_IS_B,
		.reason = verdict == NETSEG_VERDICT_DENY ? NETSEG_REASON_POLICY : 0,
	};
	struct netseg_flowrec r;

	inet_pton(AF_INET6, "fd00::2:2", k.a_addr);
	inet_pton(AF_INET6, "fd00::1:2", k.b_addr);
	k.a_port = htons(443);
	k.b_port = htons(51600);
	/* created at 2026-07-23T09:58:02.500Z, ended 184.75 s later. */
	if (netseg_flowrec_from_ct(&k, &e, 1784800682500000000LL - 1000, &names, &r))
		bail("netseg_flowrec_from_ct failed");
	return r;
}

static struct netseg_flowrec rec_lost(void)
{
	struct netseg_flowrec r;

	netseg_flowrec_lost(&r, T0, 5, 6, 7, "node-7");
	return r;
}

/* --------------------------------------------------------- JSON checks */

static char buf[NETSEG_FLOWFMT_MAX];

static cJSON *format_json(int fmt, const struct netseg_flowrec *r, const char *what)
{
	int n = netseg_flowfmt(fmt, r, &opts, buf, sizeof(buf));
	cJSON *doc;

	if (!ok(n > 0 && (size_t)n == strlen(buf), "%s %s: formatted (%d)",
		netseg_flowfmt_name(fmt), what, n))
		return NULL;
	ok(!strchr(buf, '\n') && !strchr(buf, '\r'), "%s %s: one line", netseg_flowfmt_name(fmt),
	   what);
	doc = cJSON_Parse(buf);
	if (!ok(cJSON_IsObject(doc), "%s %s: parses as a JSON object", netseg_flowfmt_name(fmt),
		what)) {
		diag("%s", buf);
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* @s for a TAP description: control characters would break the line. */
static const char *tapsafe(const char *s)
{
	static char out[4][256];
	static int k;
	char *o = out[k++ % 4];
	size_t i;

	for (i = 0; s[i] && i < 255; i++)
		o[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	o[i] = '\0';
	return o;
}

/* "a.b.c" or "a.0.b" (array index). */
static cJSON *at(cJSON *doc, const char *path)
{
	char p[256], *save = NULL, *tok;
	cJSON *cur = doc;

	snprintf(p, sizeof(p), "%s", path);
	for (tok = strtok_r(p, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
		if (cJSON_IsArray(cur))
			cur = cJSON_GetArrayItem(cur, (int)strtol(tok, NULL, 10));
		else
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
	}
	return cur;
}

static bool jnum(cJSON *doc, const char *path, double want)
{
	cJSON *v = at(doc, path);
	bool r = ok(cJSON_IsNumber(v) && v->valuedouble == want, "%s is the number %.0f", path,
		    want);

	if (!r)
		diag("got %s", v ? cJSON_PrintUnformatted(v) : "(absent)");
	return r;
}

static bool jstr(cJSON *doc, const char *path, const char *want)
{
	cJSON *v = at(doc, path);
	bool r = ok(cJSON_IsString(v) && !strcmp(v->valuestring, want), "%s is the string \"%s\"",
		    path, tapsafe(want));

	if (!r)
		diag("got %s", v ? tapsafe(cJSON_PrintUnformatted(v)) : "(absent)");
	return r;
}

static bool jbool(cJSON *doc, const char *path, bool want)
{
	cJSON *v = at(doc, path);

	return ok(cJSON_IsBool(v) && !!cJSON_IsTrue(v) == want, "%s is %s", path,
		  want ? "true" : "false");
}

static bool jabsent(cJSON *doc, const char *path)
{
	return ok(!at(doc, path), "%s absent", path);
}

/* An array of strings, exactly these. */
static bool jarr(cJSON *doc, const char *path, int n, const char *const *want)
{
	cJSON *v = at(doc, path);
	int i;

	if (!ok(cJSON_IsArray(v) && cJSON_GetArraySize(v) == n, "%s is an array of %d", path, n))
		return false;
	for (i = 0; i < n; i++) {
		cJSON *e = cJSON_GetArrayItem(v, i);

		if (!cJSON_IsString(e) || strcmp(e->valuestring, want[i]))
			return ok(false, "%s[%d] is \"%s\"", path, i, want[i]);
	}
	return true;
}

/* u64 members past 2^53: the exact digits must be in the text. */
static bool raw_int(const char *key, const char *digits)
{
	char pat[128];

	snprintf(pat, sizeof(pat), "\"%s\":%s", key, digits);
	return ok(strstr(buf, pat) != NULL, "exact integer %s", pat);
}

static bool matches(const char *s, const char *re, const char *what)
{
	regex_t rx;
	bool r;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB))
		bail("bad regex %s", re);
	r = !regexec(&rx, s, 0, NULL, 0);
	regfree(&rx);
	if (!ok(r, "%s", what))
		diag("\"%s\" !~ /%s/", s, re);
	return r;
}

/* ---------------------------------------------------------- native JSON */

static void test_json(void)
{
	static const char *const syn[] = { "syn" };
	static const char *const flags_out[] = { "fin", "syn", "psh", "ack" };
	static const char *const flags_in[] = { "syn", "ack" };
	struct netseg_flowrec r;
	cJSON *d;

	r = rec_allowed();
	d = format_json(NETSEG_FMT_JSON, &r, "allowed");
	if (d) {
		jstr(d, "time", "2026-07-23T10:00:15.123000000Z");
		ok(cJSON_IsNumber(at(d, "time_ns")), "time_ns is a number");
		raw_int("time_ns", "1784800815123000000");
		jstr(d, "verdict", "allowed");
		jstr(d, "flow_id", "abcdef0123456789");
		jnum(d, "rule.id", 7);
		jstr(d, "rule.text", "allow frontend -> api:tcp/443");
		jabsent(d, "rule.comment");
		jabsent(d, "reason");
		jstr(d, "direction", "lateral"); /* pod to pod */
		jstr(d, "hook", "tc-ingress");
		jstr(d, "interface.name", "veth-fe");
		jnum(d, "interface.index", 5);
		jstr(d, "node", "node-7");
		jstr(d, "family", "ipv4");
		jnum(d, "proto", 6);
		jstr(d, "proto_name", "tcp");
		jstr(d, "src.identity", "frontend");
		jnum(d, "src.identity_id", 300);
		jstr(d, "src.ip", "198.18.1.2");
		jnum(d, "src.port", 51600);
		jstr(d, "dst.identity", "api");
		jnum(d, "dst.port", 443);
		jarr(d, "tcp_flags", 1, syn);
		jnum(d, "packet_len", 74);
		jstr(d, "community_id", "1:YL3IY+ho8TLKzXFCzozEBFxcrmw=");
		jabsent(d, "icmp");
		jabsent(d, "packets_out");
		ok(cJSON_IsString(at(d, "message")), "message is a string");
	}
	cJSON_Delete(d);

	r = rec_icmp();
	d = format_json(NETSEG_FMT_JSON, &r, "icmp, hostile strings");
	if (d) {
		jnum(d, "icmp.type", 8);
		jnum(d, "icmp.code", 0);
		jabsent(d, "src.port");
		jabsent(d, "tcp_flags");
		jstr(d, "src.identity", EVIL_NAME);
		jstr(d, "rule.comment", EVIL_COMMENT_UTF8);
		jstr(d, "direction", "lateral");
		jabsent(d, "interface");
	}
	cJSON_Delete(d);

	r = rec_end(NETSEG_VERDICT_ALLOW);
	d = format_json(NETSEG_FMT_JSON, &r, "end");
	if (d) {
		jstr(d, "verdict", "end");
		jstr(d, "flow_id", "000000000000007b");
		jstr(d, "src.ip", "fd00::1:2");
		jnum(d, "src.port", 51600);
		jstr(d, "family", "ipv6");
		jnum(d, "packets_out", 12);
		jnum(d, "packets_in", 10);
		jnum(d, "bytes_out", 1840);
		jnum(d, "bytes_in", 9120);
		jnum(d, "duration_ns", 184750000000.0);
		jstr(d, "start", "2026-07-23T09:58:02.500000000Z");
		raw_int("start_ns", "1784800682500000000");
		jstr(d, "time", "2026-07-23T10:01:07.250000000Z");
		jstr(d, "flow_verdict", "allowed");
		jarr(d, "tcp_flags", 4, flags_out);
		jarr(d, "tcp_flags_reply", 2, flags_in);
		jabsent(d, "packet_len");
	}
	cJSON_Delete(d);

	r = rec_lost();
	d = format_json(NETSEG_FMT_JSON, &r, "lost");
	if (d) {
		jstr(d, "verdict", "lost");
		jnum(d, "lost.ring", 5);
		jnum(d, "lost.rate", 6);
		jnum(d, "lost.queue", 7);
		jnum(d, "lost.total", 18);
		jabsent(d, "src");
		jstr(d, "message",
		     "18 flow records lost (ring buffer full 5, rate limit 6, sink queue full 7)");
	}
	cJSON_Delete(d);
}

/* ----------------------------------------------------------------- OCSF */

struct ocsf_row {
	const char *what;
	struct netseg_flowrec r;
	int activity, action, disposition, severity;
	bool alert;
};

static void ocsf_common(cJSON *d, const struct ocsf_row *row)
{
	static const char *const profiles[] = { "security_control", "host" };
	cJSON *cu = at(d, "class_uid"), *ac = at(d, "activity_id"), *tu = at(d, "type_uid");

	diag("OCSF %s", row->what);
	jnum(d, "class_uid", 4001);
	jnum(d, "category_uid", 4);
	ok(cJSON_IsNumber(cu) && cJSON_IsNumber(at(d, "category_uid")) &&
		   cu->valueint == at(d, "category_uid")->valueint * 1000 + 1,
	   "class_uid = category_uid * 1000 + 1");
	ok(cJSON_IsNumber(tu) && cJSON_IsNumber(ac) && cJSON_IsNumber(cu) &&
		   tu->valueint == cu->valueint * 100 + ac->valueint,
	   "type_uid = class_uid * 100 + activity_id");
	jnum(d, "activity_id", row->activity);
	jnum(d, "type_uid", 400100 + row->activity);
	jnum(d, "action_id", row->action);
	jnum(d, "disposition_id", row->disposition);
	jnum(d, "severity_id", row->severity);
	jbool(d, "is_alert", row->alert);
	jnum(d, "time", (double)(__u64)(row->r.time_ns / 1000000)); /* whole ms */
	jstr(d, "metadata.version", "1.8.0");
	jarr(d, "metadata.profiles", 2, profiles);
	jstr(d, "metadata.product.name", "netseg");
	jstr(d, "metadata.product.vendor_name", "netseg");
	jstr(d, "metadata.product.version", "1.0.0");
	jstr(d, "device.hostname", "node-7");
	jnum(d, "device.type_id", 1);
	ok(cJSON_IsNumber(at(d, "connection_info.direction_id")), "direction_id present");
	ok(cJSON_IsString(at(d, "message")), "message is a string");
	ok(cJSON_IsObject(at(d, "src_endpoint")) || cJSON_IsObject(at(d, "dst_endpoint")),
	   "at least one endpoint");
	ok(!ocsf_unknown_attr(d), "every top-level key is a 4001 attribute (%s)",
	   ocsf_unknown_attr(d) ? ocsf_unknown_attr(d) : "all are");
}

static void test_ocsf(void)
{
	struct ocsf_row rows[] = {
		{ "allowed", rec_allowed(), 1, 1, 1, 1, false },
		{ "denied", rec_denied(), 5, 2, 2, 3, true },
		{ "audit", rec_audit(), 1, 3, 15, 2, true },
		{ "end", rec_end(NETSEG_VERDICT_ALLOW), 2, 1, 1, 1, false },
		{ "end of a flow cut by policy", rec_end(NETSEG_VERDICT_DENY), 2, 2, 2, 1, false },
		{ "end of an audit flow", rec_end(NETSEG_VERDICT_AUDIT), 2, 3, 15, 1, false },
	};
	struct netseg_flowrec r;
	size_t i;
	cJSON *d;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		d = format_json(NETSEG_FMT_OCSF, &rows[i].r, rows[i].what);
		if (d)
			ocsf_common(d, &rows[i]);
		cJSON_Delete(d);
	}

	/* The denied example, field by field. */
	r = rec_denied();
	d = format_json(NETSEG_FMT_OCSF, &r, "denied detail");
	if (d) {
		jstr(d, "activity_name", "Refuse");
		jstr(d, "action", "Denied");
		jstr(d, "disposition", "Blocked");
		jnum(d, "time", 1784800815123.0);
		jstr(d, "src_endpoint.ip", "198.18.1.2");
		jnum(d, "src_endpoint.port", 51514);
		jabsent(d, "src_endpoint.interface_name");
		jstr(d, "dst_endpoint.ip", "198.18.3.2");
		jnum(d, "dst_endpoint.port", 5432);
		jnum(d, "connection_info.protocol_num", 6);
		jstr(d, "connection_info.protocol_name", "tcp");
		jnum(d, "connection_info.protocol_ver_id", 4);
		jnum(d, "connection_info.direction_id", 1);
		jstr(d, "connection_info.community_uid", "1:Nu21VklU4Azyn4xXTsx9E6Xlkbc=");
		jabsent(d, "connection_info.uid"); /* untracked drop */
		jstr(d, "firewall_rule.uid", "42");
		jstr(d, "firewall_rule.name", "deny-db");
		jnum(d, "observables.0.type_id", 2);
		jstr(d, "observables.0.name", "src_endpoint.ip");
		jstr(d, "observables.0.value", "198.18.1.2");
		jstr(d, "observables.1.value", "198.18.3.2");
		jabsent(d, "traffic");
		jstr(d, "unmapped.reason", "policy");
		jstr(d, "message",
		     "tcp 198.18.1.2:51514 -> 198.18.3.2:5432 denied (policy) by deny-db");
	}
	cJSON_Delete(d);

	r = rec_allowed();
	d = format_json(NETSEG_FMT_OCSF, &r, "allowed detail");
	if (d) {
		jstr(d, "connection_info.uid", "abcdef0123456789");
		jnum(d, "connection_info.direction_id", 3); /* pod to pod: Lateral */
		jnum(d, "connection_info.boundary_id", 2);
		jstr(d, "src_endpoint.interface_name", "veth-fe");
		jstr(d, "src_endpoint.name", "frontend");
		jabsent(d, "dst_endpoint.interface_name");
		jnum(d, "connection_info.tcp_flags", 2);
	}
	cJSON_Delete(d);

	r = rec_audit();
	d = format_json(NETSEG_FMT_OCSF, &r, "audit detail");
	if (d) {
		jstr(d, "action", "Observed");
		jstr(d, "disposition", "Detected");
		jnum(d, "connection_info.protocol_ver_id", 6);
		jstr(d, "connection_info.protocol_name", "udp");
		jnum(d, "connection_info.boundary_id", 3); /* world */
		jnum(d, "connection_info.direction_id", 1);
		jstr(d, "dst_endpoint.interface_name", "veth-fe");
		jstr(d, "dst_endpoint.name", EVIL_NAME);
		jstr(d, "firewall_rule.uid", "default-deny");
		jstr(d, "firewall_rule.name", "default-deny");
	}
	cJSON_Delete(d);

	r = rec_end(NETSEG_VERDICT_ALLOW);
	d = format_json(NETSEG_FMT_OCSF, &r, "end detail");
	if (d) {
		jnum(d, "traffic.packets_out", 12);
		jnum(d, "traffic.packets_in", 10);
		jnum(d, "traffic.packets", 22);
		jnum(d, "traffic.bytes_out", 1840);
		jnum(d, "traffic.bytes_in", 9120);
		jnum(d, "traffic.bytes", 10960);
		jnum(d, "start_time", 1784800682500.0);
		jnum(d, "end_time", 1784800867250.0);
		jnum(d, "time", 1784800867250.0);
		jnum(d, "duration", 184750);
		jstr(d, "connection_info.uid", "000000000000007b");
		jnum(d, "connection_info.protocol_ver_id", 6);
		jstr(d, "firewall_rule.uid", "7");
	}
	cJSON_Delete(d);

	/* Times that don't fall on a ms: 0.6 ms to 1.4 ms after a whole ms is
	 * 0.8 ms long, but end_time - start_time is 1 ms; duration must say 1. */
	{
		struct netseg_ct_key k = { .proto = IPPROTO_UDP, .family = NETSEG_AF_INET };
		struct netseg_ct_entry e = { .created_ns = 600000,
					     .last_seen_ns = 1400000,
					     .flow_id = 5,
					     .src_id = 300,
					     .dst_id = 301 };
		cJSON *s, *t, *du;

		inet_pton(AF_INET, "198.18.1.2", k.a_addr);
		inet_pton(AF_INET, "198.18.2.2", k.b_addr);
		if (netseg_flowrec_from_ct(&k, &e, 1784800682000000000LL, &names, &r))
			bail("netseg_flowrec_from_ct failed");
		d = format_json(NETSEG_FMT_OCSF, &r, "end off the ms grid");
		s = at(d, "start_time");
		t = at(d, "end_time");
		du = at(d, "duration");
		ok(s && t && du && du->valuedouble == t->valuedouble - s->valuedouble,
		   "duration = end_time - start_time exactly (%.0f = %.0f - %.0f)",
		   du ? du->valuedouble : -1, t ? t->valuedouble : -1, s ? s->valuedouble : -1);
		cJSON_Delete(d);
		/* And a flow with no time at all. */
		e.last_seen_ns = e.created_ns;
		netseg_flowrec_from_ct(&k, &e, 1784800682000000000LL, &names, &r);
		d = format_json(NETSEG_FMT_OCSF, &r, "end of a zero-length flow");
		if (d)
			jnum(d, "duration", 0);
		cJSON_Delete(d);
	}

	r = rec_icmp();
	d = format_json(NETSEG_FMT_OCSF, &r, "icmp detail");
	if (d) {
		jstr(d, "connection_info.protocol_name", "icmp");
		jabsent(d, "src_endpoint.port");
		jnum(d, "unmapped.icmp_type", 8);
		jstr(d, "firewall_rule.desc", EVIL_COMMENT_UTF8);
	}
	cJSON_Delete(d);

	/* A sanity drop (no policy involved) is Dropped, not Blocked. */
	{
		struct netseg_event ev = {
			.ts_ns = 5,
			.type = NETSEG_EV_DENY,
			.reason = NETSEG_REASON_SPOOFED,
			.hook = NETSEG_HOOK_TC_INGRESS,
			.ifindex = 5,
			.proto = IPPROTO_UDP,
			.sport = htons(53),
			.dport = htons(53),
		};

		ev_addrs(&ev, AF_INET, "198.18.9.9", "198.18.2.2");
		r = from_event(&ev, &names);
	}
	d = format_json(NETSEG_FMT_OCSF, &r, "spoofed drop");
	if (d) {
		jnum(d, "disposition_id", 6);
		jstr(d, "disposition", "Dropped");
		jnum(d, "activity_id", 5);
		jnum(d, "action_id", 2);
		jabsent(d, "firewall_rule");
		jstr(d, "unmapped.reason", "spoofed");
	}
	cJSON_Delete(d);

	r = rec_lost();
	d = format_json(NETSEG_FMT_OCSF, &r, "lost");
	if (d) {
		jnum(d, "class_uid", 1008);
		ok(!ocsf_unknown_attr(d), "lost: every top-level key is a 1008 attribute (%s)",
		   ocsf_unknown_attr(d) ? ocsf_unknown_attr(d) : "all are");
		jnum(d, "category_uid", 1);
		jnum(d, "activity_id", 99);
		jnum(d, "type_uid", 100899);
		jnum(d, "count", 18);
		jnum(d, "unmapped.lost_queue", 7);
		jstr(d, "log_name", "flow");
		jstr(d, "metadata.version", "1.8.0");
		jnum(d, "device.type_id", 1);
	}
	cJSON_Delete(d);
}

/* ------------------------------------------------------------------ ECS */

static void ecs_common(cJSON *d)
{
	static const char *const network[] = { "network" };

	matches(cJSON_IsString(at(d, "@timestamp")) ? at(d, "@timestamp")->valuestring : "",
		"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3,9}Z$",
		"@timestamp is RFC 3339 UTC with a fraction");
	jstr(d, "ecs.version", "9.4.0");
	jarr(d, "event.category", 1, network);
	jstr(d, "event.dataset", "netseg.flow");
	jstr(d, "observer.type", "firewall");
	jstr(d, "observer.vendor", "netseg");
	jstr(d, "observer.product", "netseg");
	jstr(d, "observer.version", "1.0.0");
	jstr(d, "observer.hostname", "node-7");
	jstr(d, "host.name", "node-7");
}

static void test_ecs(void)
{
	static const char *const t_denied[] = { "connection", "denied" };
	static const char *const t_allowed[] = { "connection", "start", "allowed" };
	static const char *const t_audit[] = { "connection", "allowed" };
	static const char *const t_end[] = { "connection", "end" };
	static const char *const t_cut[] = { "connection", "end", "denied" };
	static const char *const t_info[] = { "info" };
	static const char *const related[] = { "198.18.1.2", "198.18.3.2" };
	struct netseg_flowrec r;
	cJSON *d;

	r = rec_denied();
	d = format_json(NETSEG_FMT_ECS, &r, "denied");
	if (d) {
		ecs_common(d);
		jstr(d, "@timestamp", "2026-07-23T10:00:15.123000000Z");
		jstr(d, "event.kind", "event");
		jarr(d, "event.type", 2, t_denied);
		jstr(d, "event.action", "blocked");
		jstr(d, "event.outcome", "success");
		jstr(d, "event.reason", "policy");
		jstr(d, "source.ip", "198.18.1.2");
		jnum(d, "source.port", 51514);
		jstr(d, "destination.ip", "198.18.3.2");
		jnum(d, "destination.port", 5432);
		jstr(d, "network.transport", "tcp");
		jstr(d, "network.iana_number", "6");
		jstr(d, "network.type", "ipv4");
		jstr(d, "network.direction", "inbound"); /* XDP: from outside */
		jstr(d, "network.community_id", "1:Nu21VklU4Azyn4xXTsx9E6Xlkbc=");
		jstr(d, "rule.id", "42");
		jstr(d, "rule.name", "deny-db");
		jstr(d, "rule.ruleset", "microseg");
		jarr(d, "related.ip", 2, related);
		jabsent(d, "event.duration");
		jabsent(d, "source.bytes");
	}
	cJSON_Delete(d);

	r = rec_allowed();
	d = format_json(NETSEG_FMT_ECS, &r, "allowed");
	if (d) {
		ecs_common(d);
		jarr(d, "event.type", 3, t_allowed);
		jstr(d, "event.action", "allowed");
		jstr(d, "network.direction", "internal"); /* pod to pod */
		jstr(d, "observer.ingress.interface.name", "veth-fe");
		jstr(d, "netseg.flow_id", "abcdef0123456789");
		jstr(d, "netseg.source.identity", "frontend");
		jnum(d, "netseg.source.identity_id", 300);
	}
	cJSON_Delete(d);

	r = rec_audit();
	d = format_json(NETSEG_FMT_ECS, &r, "audit");
	if (d) {
		ecs_common(d);
		jarr(d, "event.type", 2, t_audit);
		jstr(d, "event.action", "audit-deny");
		jstr(d, "event.reason", "default-deny");
		jstr(d, "network.type", "ipv6");
		jstr(d, "network.transport", "udp");
		jstr(d, "network.iana_number", "17");
		jstr(d, "observer.egress.interface.name", "veth-fe");
		jstr(d, "rule.id", "default-deny");
		jstr(d, "netseg.destination.identity", EVIL_NAME);
	}
	cJSON_Delete(d);

	r = rec_end(NETSEG_VERDICT_ALLOW);
	d = format_json(NETSEG_FMT_ECS, &r, "end");
	if (d) {
		ecs_common(d);
		jarr(d, "event.type", 2, t_end);
		jnum(d, "event.duration", 184750000000.0);
		jstr(d, "event.start", "2026-07-23T09:58:02.500000000Z");
		jstr(d, "event.end", "2026-07-23T10:01:07.250000000Z");
		jnum(d, "source.bytes", 1840);
		jnum(d, "source.packets", 12);
		jnum(d, "destination.bytes", 9120);
		jnum(d, "destination.packets", 10);
		jnum(d, "network.bytes", 10960);
		jnum(d, "network.packets", 22);
		jstr(d, "source.ip", "fd00::1:2");
	}
	cJSON_Delete(d);

	r = rec_end(NETSEG_VERDICT_DENY);
	d = format_json(NETSEG_FMT_ECS, &r, "end of a cut flow");
	if (d)
		jarr(d, "event.type", 3, t_cut);
	cJSON_Delete(d);

	r = rec_icmp();
	d = format_json(NETSEG_FMT_ECS, &r, "icmp");
	if (d) {
		jstr(d, "network.transport", "icmp");
		jstr(d, "network.iana_number", "1");
		jnum(d, "netseg.icmp.type", 8);
		jstr(d, "rule.description", EVIL_COMMENT_UTF8);
		jabsent(d, "source.port");
	}
	cJSON_Delete(d);

	r = rec_lost();
	d = format_json(NETSEG_FMT_ECS, &r, "lost");
	if (d) {
		ecs_common(d);
		jstr(d, "event.kind", "metric");
		jarr(d, "event.type", 1, t_info);
		jnum(d, "netseg.lost.total", 18);
		jabsent(d, "source");
	}
	cJSON_Delete(d);
}

/* ------------------------------------------------------------------ CEF */

static const char *cef(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o)
{
	int n = netseg_flowfmt_cef(r, o, buf, sizeof(buf));

	return n > 0 && (size_t)n == strlen(buf) ? buf : "(error)";
}

static bool has(const char *s, const char *want, const char *what)
{
	bool r = ok(strstr(s, want) != NULL, "%s", what);

	if (!r)
		diag("\"%s\" not in \"%s\"", want, s);
	return r;
}

static void test_cef(void)
{
	struct netseg_flowfmt_opts hostile = opts;
	struct netseg_flowrec r;
	char vendor[80];

	/* docs/flow-records.md's CEF example: our numeric rule id, the drop reason. */
	r = rec_denied();
	is_str(cef(&r, &opts),
	       "CEF:0|netseg|netseg|1.0.0|flow-deny|Flow denied|7|rt=1784800815123 src=198.18.1.2 "
	       "spt=51514 dst=198.18.3.2 dpt=5432 proto=TCP act=blocked deviceDirection=0 "
	       "dvchost=node-7 cs1Label=ruleId cs1=42 cs2Label=ruleName cs2=deny-db "
	       "cs3Label=communityId cs3=1:Nu21VklU4Azyn4xXTsx9E6Xlkbc\\= reason=policy",
	       "denied: byte-exact");

	r = rec_icmp();
	is_str(cef(&r, &opts),
	       "CEF:0|netseg|netseg|1.0.0|flow-allow|Flow allowed|1|rt=1784800815123 "
	       "src=198.18.1.2 dst=198.18.2.2 proto=ICMP act=allow "
	       "dvchost=node-7 cs1Label=ruleId cs1=13 cs2Label=ruleName cs2=deny * -> db "
	       "cs3Label=communityId cs3=1:vPoDQDXs6CMcDfpioHdANDYL9vI\\= "
	       "cs4Label=srcIdentity cs4=fr|on\\=t\\\\e\\nd\"x]\\r\xc3\xa9 "
	       "cs5Label=dstIdentity cs5=api externalId=0000000000000001 "
	       "flexString1Label=ruleComment "
	       "flexString1=a|b\\=c\\\\d\\r\\ne \"q\" ]] caf\xc3\xa9 \xef\xbf\xbd! "
	       "flexString2Label=icmpTypeCode flexString2=8/0",
	       "icmp with hostile identity and comment: byte-exact escaping");

	r = rec_audit();
	cef(&r, &opts);
	has(buf, "|flow-audit|Flow audit (would be denied)|5|", "audit: class, name, severity 5");
	has(buf, " act=audit ", "audit: act=audit");
	has(buf,
	    "c6a2Label=Source IPv6 Address c6a2=fd00::9 spt=5353 "
	    "c6a3Label=Destination IPv6 Address c6a3=fd00::1:2 dpt=53 proto=UDP",
	    "IPv6 addresses in c6a2/c6a3 with labels");
	ok(!strstr(buf, " src=") && !strstr(buf, " dst="), "no src=/dst= for IPv6");
	has(buf, " deviceOutboundInterface=veth-fe", "tc egress: outbound interface");
	has(buf, " cs1Label=ruleId cs1=default-deny ", "default deny as the rule id");

	r = rec_end(NETSEG_VERDICT_ALLOW);
	cef(&r, &opts);
	has(buf, "|flow-end|Flow ended|1|rt=1784800867250 ", "end: header and rt = end time");
	has(buf, " act=allow ", "end: act=allow");
	has(buf,
	    " start=1784800682500 end=1784800867250 in=1840 out=9120 cn1Label=packetsOut "
	    "cn1=12 cn2Label=packetsIn cn2=10",
	    "end: start/end, in = src->dst bytes, packet counts");
	ok(!strstr(buf, "cs6"), "cs6 is left for the hash chain");

	r = rec_end(NETSEG_VERDICT_DENY);
	cef(&r, &opts);
	has(buf, " act=blocked ", "end of a cut flow: act=blocked");

	r = rec_lost();
	is_str(cef(&r, &opts),
	       "CEF:0|netseg|netseg|1.0.0|flow-lost|Flow records lost|6|rt=1784800815123 "
	       "dvchost=node-7 cnt=18 cn1Label=lostRingFull cn1=5 cn2Label=lostRateLimit cn2=6 "
	       "cn3Label=lostSinkQueueFull cn3=7 msg=18 flow records lost (ring buffer full 5, "
	       "rate limit 6, sink queue full 7)",
	       "lost: byte-exact");

	/* Header: | and \ escaped, line breaks blanked, limits in bytes. */
	memset(vendor, 'v', 62);
	memcpy(vendor + 62, "\xc3\xa9", 3); /* 64 bytes: é doesn't fit in 63 */
	hostile.vendor = vendor;
	hostile.product = "pro|duct\\x\ny";
	hostile.version = "1234567890123456789012345678901234567890";
	r = rec_denied();
	cef(&r, &hostile);
	ok(!strncmp(buf, "CEF:0|", 6) && !strncmp(buf + 6, vendor, 62) && buf[68] == '|',
	   "vendor cut to 62 bytes, not inside the 2-byte character");
	has(buf, "|pro\\|duct\\\\x y|", "product: \\| \\\\ and the newline blanked");
	has(buf, "|1234567890123456789012345678901|flow-deny|", "version cut to 31 bytes");
	ok(!strchr(buf, '\n'), "one line");

	/* An interface name the kernel allows: ESC, BEL, a C1 CSI.  CEF has
	 * no escape for them: spaces, in the header and in extension values. */
	r = rec_denied();
	snprintf(r.ifname, sizeof(r.ifname),
		 "e\x1b[2J\a\xc2\x9b"
		 "0m");
	cef(&r, &opts);
	ok(!strchr(buf, 0x1b) && !strchr(buf, '\a') && !strstr(buf, "\xc2\x9b"),
	   "no ESC, BEL or C1 in a CEF line");
	has(buf, "e [2J  0m", "control characters in an extension value became spaces");
	r = rec_denied();
	snprintf(r.ifname, sizeof(r.ifname),
		 "e\x1b[2J\a\xc2\x9b"
		 "0m");
	for (int f = NETSEG_FMT_JSON; f <= NETSEG_FMT_ECS; f++) {
		int n = netseg_flowfmt(f, &r, &opts, buf, sizeof(buf));

		ok(n > 0 && !strchr(buf, 0x1b) && !strchr(buf, '\a') && strstr(buf, "\\u001b"),
		   "%s: ESC and BEL written as \\u escapes", netseg_flowfmt_name(f));
	}
}

/* ------------------------------------------------------ sizes and errors */

/*
 * One direction per flow, from the identities, whichever hook logged it:
 * each flow is logged at the source's hook and at the destination's, and
 * every format must say the same of both.
 */
static void test_direction(void)
{
	const __u32 cidr = (1U << 24) + 3, H = NETSEG_ID_HOST, W = NETSEG_ID_WORLD;
	static const struct {
		const char *what;
		__u32 src, dst;
		int hook[2], ifindex[2]; /* where it was logged: 5 a pod veth, 9 an uplink */
		int ocsf, boundary;
		const char *native, *ocsf_name, *ecs, *cef;
	} t[] = {
		{ "pod -> pod",
		  300,
		  301,
		  { NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_TC_EGRESS },
		  { 5, 5 },
		  3,
		  2,
		  "lateral",
		  "Lateral",
		  "internal",
		  NULL },
		{ "cgroup -> cgroup",
		  300,
		  301,
		  { NETSEG_HOOK_CG_EGRESS, NETSEG_HOOK_CG_INGRESS },
		  { 0, 0 },
		  3,
		  2,
		  "lateral",
		  "Lateral",
		  "internal",
		  NULL },
		{ "world -> pod",
		  W,
		  301,
		  { NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_TC_EGRESS },
		  { 9, 5 },
		  1,
		  3,
		  "inbound",
		  "Inbound",
		  "inbound",
		  "deviceDirection=0" },
		{ "pod -> world",
		  300,
		  W,
		  { NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_TC_EGRESS },
		  { 5, 9 },
		  2,
		  3,
		  "outbound",
		  "Outbound",
		  "outbound",
		  "deviceDirection=1" },
		{ "CIDR identity -> pod",
		  cidr,
		  301,
		  { NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_TC_EGRESS },
		  { 9, 5 },
		  1,
		  3,
		  "inbound",
		  "Inbound",
		  "inbound",
		  "deviceDirection=0" },
		{ "pod -> CIDR identity",
		  300,
		  cidr,
		  { NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_TC_EGRESS },
		  { 5, 9 },
		  2,
		  3,
		  "outbound",
		  "Outbound",
		  "outbound",
		  "deviceDirection=1" },
		{ "host -> pod",
		  H,
		  301,
		  { NETSEG_HOOK_TC_EGRESS, NETSEG_HOOK_CG_INGRESS },
		  { 5, 0 },
		  3,
		  2,
		  "lateral",
		  "Lateral",
		  "internal",
		  NULL },
		{ "pod -> host",
		  300,
		  H,
		  { NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_CG_EGRESS },
		  { 5, 0 },
		  3,
		  2,
		  "lateral",
		  "Lateral",
		  "internal",
		  NULL },
		{ "host -> host",
		  H,
		  H,
		  { NETSEG_HOOK_CG_EGRESS, NETSEG_HOOK_CG_INGRESS },
		  { 0, 0 },
		  4,
		  1,
		  "local",
		  "Local",
		  "internal",
		  NULL },
		{ "world -> CIDR (forwarded)",
		  W,
		  cidr,
		  { NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_TC_EGRESS },
		  { 9, 9 },
		  99,
		  3,
		  "transit",
		  "Transit",
		  "external",
		  NULL },
		{ "no identities, at XDP",
		  0,
		  0,
		  { NETSEG_HOOK_XDP, NETSEG_HOOK_XDP },
		  { 9, 9 },
		  1,
		  3,
		  "inbound",
		  "Inbound",
		  "inbound",
		  "deviceDirection=0" },
		{ "no identities, at TC",
		  0,
		  0,
		  { NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_TC_EGRESS },
		  { 5, 5 },
		  0,
		  0,
		  NULL,
		  "Unknown",
		  "unknown",
		  NULL },
	};
	size_t i;
	int h;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (h = 0; h < 2; h++) {
			struct netseg_event ev = {
				.ts_ns = 5,
				.flow_id = 7,
				.type = NETSEG_EV_FLOW_START,
				.hook = t[i].hook[h],
				.ifindex = t[i].ifindex[h],
				.proto = IPPROTO_UDP,
				.src_id = t[i].src,
				.dst_id = t[i].dst,
				.sport = htons(5000),
				.dport = htons(53),
			};
			struct netseg_flowrec r;
			const char *c;
			cJSON *d;

			ev_addrs(&ev, AF_INET, "198.18.1.2", "198.18.2.2");
			r = from_event(&ev, &names);
			diag("direction: %s, logged at %s", t[i].what,
			     netseg_hook_name(t[i].hook[h]));
			d = format_json(NETSEG_FMT_JSON, &r, t[i].what);
			if (d && t[i].native)
				jstr(d, "direction", t[i].native);
			else if (d)
				jabsent(d, "direction");
			cJSON_Delete(d);
			d = format_json(NETSEG_FMT_OCSF, &r, t[i].what);
			if (d) {
				jnum(d, "connection_info.direction_id", t[i].ocsf);
				jstr(d, "connection_info.direction", t[i].ocsf_name);
				jnum(d, "connection_info.boundary_id", t[i].boundary);
			}
			cJSON_Delete(d);
			d = format_json(NETSEG_FMT_ECS, &r, t[i].what);
			if (d)
				jstr(d, "network.direction", t[i].ecs);
			cJSON_Delete(d);
			c = cef(&r, &opts);
			if (t[i].cef)
				has(c, t[i].cef, "CEF direction");
			else
				ok(!strstr(c, "deviceDirection="), "CEF: no deviceDirection");
		}
	}
}

/*
 * Records a sink couldn't send (a UDP receiver that isn't listening) are
 * reported as send errors with the reason, apart from full queues.
 */
static void test_lost_send(void)
{
	static const char *const msg =
		"22 flow records lost (ring buffer full 5, rate limit 6, sink queue full 7, "
		"send error: connection refused 4)";
	struct netseg_flowrec r = rec_lost();
	const char *c;
	cJSON *d;

	r.lost_send = 4;
	r.lost_send_errno = ECONNREFUSED;
	d = format_json(NETSEG_FMT_JSON, &r, "lost, send errors");
	if (d) {
		jnum(d, "lost.queue", 7);
		jnum(d, "lost.send", 4);
		jstr(d, "lost.send_error", "connection refused");
		jnum(d, "lost.total", 22);
		jstr(d, "message", msg);
	}
	cJSON_Delete(d);
	d = format_json(NETSEG_FMT_OCSF, &r, "lost, send errors");
	if (d) {
		jnum(d, "count", 22);
		jnum(d, "unmapped.lost_queue", 7);
		jnum(d, "unmapped.lost_send", 4);
		jstr(d, "unmapped.lost_send_error", "connection refused");
		ok(!ocsf_unknown_attr(d), "lost, send errors: only 1008 attributes");
	}
	cJSON_Delete(d);
	d = format_json(NETSEG_FMT_ECS, &r, "lost, send errors");
	if (d) {
		jnum(d, "netseg.lost.send", 4);
		jstr(d, "netseg.lost.send_error", "connection refused");
		jnum(d, "netseg.lost.total", 22);
	}
	cJSON_Delete(d);
	c = cef(&r, &opts);
	has(c, " cnt=22 ", "CEF: count includes send errors");
	has(c, " cn3Label=lostSinkQueueFull cn3=7 flexNumber1Label=lostSendError flexNumber1=4 ",
	    "CEF: send errors apart from the queue");
	has(c, "send error: connection refused 4)", "CEF: msg says why");

	r.lost_send = 0;
	d = format_json(NETSEG_FMT_JSON, &r, "lost, no send errors");
	if (d) {
		jabsent(d, "lost.send");
		jabsent(d, "lost.send_error");
	}
	cJSON_Delete(d);
}

/* A record too long for a datagram: free text shortened, never the line cut. */
static void test_fit(void)
{
	static const char *const keys[][2] = {
		[NETSEG_FMT_JSON] = { "rule.comment", "rule.text" },
		[NETSEG_FMT_OCSF] = { "firewall_rule.desc", "firewall_rule.name" },
		[NETSEG_FMT_ECS] = { "rule.description", "rule.name" },
	};
	struct netseg_flowrec r = rec_icmp();
	char plain[NETSEG_FLOWFMT_MAX];
	size_t max, i;
	bool cut;
	int f, n, m;

	/* Quotes and backslashes: JSON writes each as two bytes. */
	for (i = 0; i + 1 < 256; i++)
		r.comment[i] = i % 2 ? '"' : '\\';
	r.comment[i] = '\0';
	memset(r.rule, 'p', 1000);
	r.rule[1000] = '\0';
	for (f = NETSEG_FMT_JSON; f <= NETSEG_FMT_CEF; f++) {
		const char *fn = netseg_flowfmt_name(f);
		cJSON *d, *c, *t;

		m = netseg_flowfmt(f, &r, &opts, plain, sizeof(plain));
		n = netseg_flowfmt_fit(f, &r, &opts, m, buf, sizeof(buf), &cut);
		ok(n == m && !cut && !strcmp(buf, plain), "%s: a record that fits is left alone",
		   fn);

		max = m - 700; /* all of the comment and some of the rule must go */
		n = netseg_flowfmt_fit(f, &r, &opts, max, buf, sizeof(buf), &cut);
		ok(n > 0 && (size_t)n <= max && n == (int)strlen(buf) && cut,
		   "%s: %d bytes shortened to %d (<= %zu)", fn, m, n, max);
		ok(strstr(buf, NETSEG_FLOWFMT_TRUNCATED) != NULL, "%s: the cut is marked", fn);
		ok((size_t)n + 8 > max, "%s: shortened by what was too much, no more (%d)", fn, n);
		if (f == NETSEG_FMT_CEF) {
			ok(strstr(buf, "flexString1=" NETSEG_FLOWFMT_TRUNCATED " ") ||
				   strstr(buf, NETSEG_FLOWFMT_TRUNCATED " flexString1Label"),
			   "CEF: the comment is the first to go");
			continue;
		}
		d = cJSON_Parse(buf);
		c = at(d, keys[f][0]);
		t = at(d, keys[f][1]);
		ok(cJSON_IsObject(d), "%s: still one JSON object", fn);
		ok(cJSON_IsString(c) && !strcmp(c->valuestring, NETSEG_FLOWFMT_TRUNCATED),
		   "%s: %s is shortened to the marker first", fn, keys[f][0]);
		ok(cJSON_IsString(t) && strlen(t->valuestring) > 100 &&
			   !strncmp(t->valuestring, "ppp", 3) &&
			   strstr(t->valuestring, NETSEG_FLOWFMT_TRUNCATED),
		   "%s: then %s, keeping its start", fn, keys[f][1]);
		if (f == NETSEG_FMT_OCSF)
			ok(!ocsf_unknown_attr(d), "OCSF: shortened, still only 4001 attributes");
		cJSON_Delete(d);

		/* Only the comment needs to go: the rule stays whole. */
		n = netseg_flowfmt_fit(f, &r, &opts, m - 100, buf, sizeof(buf), &cut);
		d = cJSON_Parse(buf);
		t = at(d, keys[f][1]);
		c = at(d, keys[f][0]);
		ok(n > 0 && n <= m - 100 && cut && cJSON_IsString(t) &&
			   strlen(t->valuestring) == 1000 && cJSON_IsString(c) &&
			   strlen(c->valuestring) > 100,
		   "%s: 100 bytes too many: only the comment is cut", fn);
		cJSON_Delete(d);
	}
	is_int(netseg_flowfmt_fit(NETSEG_FMT_OCSF, &r, &opts, 300, buf, sizeof(buf), &cut),
	       -EMSGSIZE, "too small even without the free text: -EMSGSIZE");
}

static void test_limits(void)
{
	struct netseg_flowrec r = rec_end(NETSEG_VERDICT_AUDIT);
	char small[64];
	int f, n;

	/* Worst case: every text field full of characters JSON escapes 6x. */
	memset(r.rule, 1, sizeof(r.rule) - 1);
	memset(r.comment, 1, sizeof(r.comment) - 1);
	memset(r.src_name, 1, sizeof(r.src_name) - 1);
	memset(r.dst_name, 1, sizeof(r.dst_name) - 1);
	memset(r.ifname, 1, sizeof(r.ifname) - 1);
	memset(r.node, 1, sizeof(r.node) - 1);
	memset(r.reason, 1, sizeof(r.reason) - 1);
	r.has_icmp = r.has_rule = true;
	for (f = NETSEG_FMT_JSON; f <= NETSEG_FMT_CEF; f++) {
		n = netseg_flowfmt(f, &r, &opts, buf, sizeof(buf));
		ok(n > 0, "%s: the worst case fits NETSEG_FLOWFMT_MAX (%d bytes)",
		   netseg_flowfmt_name(f), n);
		is_int(netseg_flowfmt(f, &r, &opts, small, sizeof(small)), -ENOSPC,
		       "%s: too small a buffer is -ENOSPC", netseg_flowfmt_name(f));
	}
	r.kind = 0;
	for (f = NETSEG_FMT_JSON; f <= NETSEG_FMT_CEF; f++)
		is_int(netseg_flowfmt(f, &r, &opts, buf, sizeof(buf)), -EINVAL,
		       "%s: a record of no kind is refused", netseg_flowfmt_name(f));
	is_int(netseg_flowfmt(9, &r, &opts, buf, sizeof(buf)), -EINVAL, "unknown format refused");
	is_int(netseg_flowfmt_parse("ocsf"), NETSEG_FMT_OCSF, "\"ocsf\" parses");
	is_int(netseg_flowfmt_parse("native"), NETSEG_FMT_JSON, "\"native\" is json");
	is_int(netseg_flowfmt_parse("xml"), -EINVAL, "\"xml\" refused");

	/* Defaults: no opts at all. */
	r = rec_denied();
	n = netseg_flowfmt_cef(&r, NULL, buf, sizeof(buf));
	ok(n > 0 && !strncmp(buf, "CEF:0|netseg|netseg||flow-deny|", 31),
	   "no opts: netseg vendor/product, empty version");
}

int main(void)
{
	test_json();
	test_ocsf();
	test_ecs();
	test_cef();
	test_direction();
	test_lost_send();
	test_fit();
	test_limits();
	return tap_done();
}
