// SPDX-License-Identifier: GPL-2.0-only
/*
 * status | stats
 * trace SRC DST [PROTO/]PORT
 * prefilter add|remove CIDR | prefilter list | prefilter apply -f FILE [--dry-run]
 * attach|detach IFACE
 * node list
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>

#include "netsegctl.h"
#include "output.h"
#include "proto.h"

#define NCOLS(c) (sizeof(c) / sizeof((c)[0]))

/* A request with one string argument; NULL on ENOMEM. */
static cJSON *req_str(const char *cmd, const char *key, const char *val)
{
	cJSON *req = req_new(cmd);

	if (req && !cJSON_AddStringToObject(req, key, val)) {
		cJSON_Delete(req);
		req = NULL;
	}
	return req;
}

/* ------------------------------------------------------------ status */

static const char *ordinal_suffix(double v)
{
	unsigned long n = v;

	if (n % 100 >= 11 && n % 100 <= 13)
		return "th";
	return n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
}

/* A status value in words: what the numbers mean, nested objects as
 * "key value, ..." rather than a JSON blob. */
static void status_text(const cJSON *f, char *val, size_t len)
{
	const cJSON *e;
	size_t n = 0;
	char sub[64];

	if (cJSON_IsNumber(f) && !strcmp(f->string, "revision")) {
		snprintf(val, len, "%.0f (the %.0f%s accepted change)", f->valuedouble,
			 f->valuedouble, ordinal_suffix(f->valuedouble));
		return;
	}
	if (cJSON_IsNumber(f) && !strcmp(f->string, "generation")) {
		snprintf(val, len,
			 "%.0f (policy generation: bumped by rule and identity changes; conntrack entries of older generations are re-decided)",
			 f->valuedouble);
		return;
	}
	if (!cJSON_IsObject(f)) {
		cell_text(f, val, len);
		return;
	}
	val[0] = '\0';
	cJSON_ArrayForEach(e, f) {
		cell_text(e, sub, sizeof(sub));
		n += snprintf(val + n, n < len ? len - n : 0, "%s%s %s", n ? ", " : "", e->string,
			      sub);
		if (n >= len)
			break;
	}
}

/* Every field of the reply, in the daemon's order: a new field shows up
 * without a netsegctl release. */
static int print_status(const cJSON *reply)
{
	struct table *t = table_new(2, NULL);
	char val[CELL_TEXT_MAX];
	const char *cells[2];
	const cJSON *f;
	int ret = 0;

	if (!t)
		return -ENOMEM;
	cJSON_ArrayForEach(f, reply) {
		if (!strcmp(f->string, "ok"))
			continue;
		status_text(f, val, sizeof(val));
		cells[0] = f->string;
		cells[1] = val;
		ret = table_add(t, cells);
		if (ret)
			break;
	}
	if (!ret)
		table_print(t);
	table_free(t);
	return ret;
}

int do_status(int argc, char **argv)
{
	if (no_more_args(argc, argv))
		return CTL_EXIT_USAGE;
	return ctl_run(req_new("status"), print_status);
}

/* ------------------------------------------------------------- stats */

static int print_counters(const cJSON *counters)
{
	static const char *const hdr[] = { "COUNTER", "PACKETS", "BYTES" };
	char pk[32], by[32];
	const char *cells[3];
	struct table *t;
	const cJSON *c;
	int ret = 0;

	if (!cJSON_IsObject(counters))
		return proto_err("\"counters\" is not an object");
	t = table_new(3, hdr);
	if (!t)
		return -ENOMEM;
	cJSON_ArrayForEach(c, counters) {
		cell_text(cJSON_GetObjectItemCaseSensitive(c, "packets"), pk, sizeof(pk));
		cell_text(cJSON_GetObjectItemCaseSensitive(c, "bytes"), by, sizeof(by));
		cells[0] = c->string;
		cells[1] = pk;
		cells[2] = by;
		ret = table_add(t, cells);
		if (ret)
			break;
	}
	if (!ret)
		table_print(t);
	table_free(t);
	return ret;
}

static const struct out_col stat_rule_cols[] = {
	OUT_COL("RULE", "id"),
	OUT_COL("TEXT", "text"),
	OUT_COL("PACKETS", "packets"),
	OUT_COL("BYTES", "bytes"),
};

static const struct out_col stat_if_cols[] = {
	OUT_COL("IFINDEX", "ifindex"),	     OUT_COL("INTERFACE", "name"),
	OUT_COL("PASS", "pass_packets"),     OUT_COL("DROP", "drop_packets"),
	OUT_COL("DROP_BYTES", "drop_bytes"), OUT_COL("XDP_DROP", "xdp_drop_packets"),
};

static const struct out_col stat_sink_cols[] = {
	OUT_COL("FLOW LOG", "sink"),	   OUT_COL("FORMAT", "format"),
	OUT_COL("WRITTEN", "written"),	   OUT_COL("QUEUED", "queued"),
	OUT_COL("DROPPED", "dropped"),	   OUT_COL("SEND_ERRORS", "send_errors"),
	OUT_COL("TRUNCATED", "truncated"), OUT_COL("CONNECTED", "connected"),
};

/* One line: "conntrack  ENTRIES of MAX entries, N evicted, N expired". */
static void print_conntrack(const cJSON *ct)
{
	static const char *const keys[] = { "entries", "max", "evicted", "expired" };
	char v[4][32];

	const cJSON *max = cJSON_GetObjectItemCaseSensitive(ct, "max");

	/* The daemon learns the table's size on its first walk, a second
	 * after start; "0 of 0" read like a table of no entries. */
	if (cJSON_IsNumber(max) && max->valuedouble == 0) {
		printf("conntrack  not counted yet (netsegd walks the table once a second)\n");
		return;
	}
	for (int k = 0; k < 4; k++)
		cell_text(cJSON_GetObjectItemCaseSensitive(ct, keys[k]), v[k], sizeof(v[k]));
	printf("conntrack  %s of %s entries, %s evicted, %s expired\n", v[0], v[1], v[2], v[3]);
}

/* One line of the daemon's own guard counters. */
static void print_guard(const cJSON *g)
{
	static const char *const keys[] = { "ipcache_conflicts", "untrusted_routes",
					    "control_refused", "control_timed_out",
					    "control_nul_refused" };
	char v[5][32];

	for (int k = 0; k < 5; k++)
		cell_text(cJSON_GetObjectItemCaseSensitive(g, keys[k]), v[k], sizeof(v[k]));
	printf("daemon     %s address conflicts, %s untrusted routes ignored; control clients: "
	       "%s refused, %s timed out, %s NUL requests\n",
	       v[0], v[1], v[2], v[3], v[4]);
}

/* Counters, conntrack, then rules, interfaces and flow-log sinks, one
 * blank line apart; a section the daemon left out is skipped rather than
 * shown empty. */
static int print_stats(const cJSON *reply)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(reply, "counters");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(reply, "rules");
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(reply, "interfaces");
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(reply, "conntrack");
	const cJSON *fl = cJSON_GetObjectItemCaseSensitive(reply, "flow_logs");
	const cJSON *au = cJSON_GetObjectItemCaseSensitive(reply, "alias_unknown");
	int ret = 0;

	if (c)
		ret = print_counters(c);
	if (!ret && r) {
		if (c)
			putchar('\n');
		ret = print_rows(r, "rules", stat_rule_cols, NCOLS(stat_rule_cols));
	}
	if (!ret && i) {
		if (c || r)
			putchar('\n');
		ret = print_rows(i, "interfaces", stat_if_cols, NCOLS(stat_if_cols));
	}
	if (!ret && cJSON_IsObject(ct)) {
		putchar('\n');
		print_conntrack(ct);
	}
	if (!ret && cJSON_IsNumber(au))
		printf("aliases    %.0f interface(s) with an alias naming an unknown identity (not endpoints; see endpoint list)\n",
		       au->valuedouble);
	if (!ret && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(reply, "daemon")))
		print_guard(cJSON_GetObjectItemCaseSensitive(reply, "daemon"));
	if (!ret && cJSON_GetArraySize(fl) > 0) {
		putchar('\n');
		ret = print_rows(fl, "flow_logs", stat_sink_cols, NCOLS(stat_sink_cols));
	}
	return ret;
}

int do_stats(int argc, char **argv)
{
	if (no_more_args(argc, argv))
		return CTL_EXIT_USAGE;
	return ctl_run(req_new("stats"), print_stats);
}

/* ------------------------------------------------------------- trace */

struct trace_args {
	const char *src, *dst;
	char proto[8];
	unsigned int port;
};

static struct trace_args trace;

/* [PROTO/]PORT; a bare port is TCP, as in the rule grammar.  For ICMP
 * the "port" is the type, 0-255. */
static int parse_port_arg(const char *arg, struct trace_args *t)
{
	const char *slash = strchr(arg, '/'), *num = slash ? slash + 1 : arg;
	size_t n = slash ? (size_t)(slash - arg) : 0;
	unsigned long v, max;
	char *end;
	int p;

	snprintf(t->proto, sizeof(t->proto), "tcp");
	if (slash) {
		/* "any" names no one protocol a packet could have. */
		p = netseg_proto_by_name(arg, n);
		if (p <= 0)
			return usage_err(
				"unknown protocol '%.*s' (expected tcp, udp, sctp, icmp or icmpv6)",
				(int)n, arg);
		snprintf(t->proto, sizeof(t->proto), "%s", netseg_proto_name(p));
	}
	max = !strncmp(t->proto, "icmp", 4) ? 255 : 65535;
	if (*num < '0' || *num > '9')
		return usage_err("'%s' is not a [PROTO/]PORT", arg);
	errno = 0;
	v = strtoul(num, &end, 10);
	if (errno || *end || v > max || (max == 65535 && !v))
		return usage_err("%s '%s' out of range (%s)", max == 255 ? "ICMP type" : "port",
				 num, max == 255 ? "0-255" : "1-65535");
	t->port = (unsigned int)v;
	return 0;
}

/* "198.18.3.2 → db (endpoint veth-db, ipcache 198.18.3.2)": what an
 * address (or CIDR) resolved to; nothing for a side given by its name. */
static void print_trace_side(const cJSON *side)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(side, "input");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(side, "identity");
	const cJSON *by = cJSON_GetObjectItemCaseSensitive(side, "resolved_by");

	if (!cJSON_IsString(in) || !cJSON_IsString(id) || !cJSON_IsString(by) ||
	    !strcmp(in->valuestring, id->valuestring))
		return;
	fput_clean(in->valuestring, stdout);
	printf(" → ");
	fput_clean(id->valuestring, stdout);
	printf(" (");
	fput_clean(by->valuestring, stdout);
	printf(")\n");
}

static int print_trace(const cJSON *reply)
{
	const cJSON *verdict = cJSON_GetObjectItemCaseSensitive(reply, "verdict");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "rule_id");
	const cJSON *rule = cJSON_GetObjectItemCaseSensitive(reply, "rule");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(reply, "reason");
	const cJSON *expl = cJSON_GetObjectItemCaseSensitive(reply, "explanation");
	char rid[32], text[CELL_TEXT_MAX];

	if (!cJSON_IsString(verdict))
		return proto_err("\"verdict\" is not a string");
	print_trace_side(cJSON_GetObjectItemCaseSensitive(reply, "src"));
	print_trace_side(cJSON_GetObjectItemCaseSensitive(reply, "dst"));
	printf("%s -> %s %s/%u: ", trace.src, trace.dst, trace.proto, trace.port);
	fput_clean(verdict->valuestring, stdout);
	if (cJSON_IsNumber(id) && id->valuedouble > 0) {
		cell_text(id, rid, sizeof(rid));
		cell_text(rule, text, sizeof(text));
		printf(" by rule %s (", rid);
		fput_clean(text, stdout);
		printf(")\n");
		return 0;
	}
	if (cJSON_IsString(reason) && reason->valuestring[0]) {
		printf(": ");
		fput_clean(reason->valuestring, stdout);
	}
	if (cJSON_IsString(expl) && expl->valuestring[0]) {
		printf(" (");
		fput_clean(expl->valuestring, stdout);
		printf(")");
	}
	putchar('\n');
	return 0;
}

int do_trace(int argc, char **argv)
{
	static const char *const what[] = { "SRC", "DST", "[PROTO/]PORT" };
	const cJSON *verdict;
	bool exit_code = false;
	cJSON *req, *reply = NULL;
	int ret, i, n = 0;

	/* --exit-code anywhere; the rest are the three words, in place. */
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--exit-code"))
			exit_code = true;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	if (argc < 3)
		return usage_err("missing %s", what[argc]);
	if (argc > 3)
		return usage_err("unexpected argument '%s'", argv[3]);
	trace.src = argv[0];
	trace.dst = argv[1];
	ret = parse_port_arg(argv[2], &trace);
	if (ret)
		return ret;
	req = req_new("trace");
	if (req && (!cJSON_AddStringToObject(req, "src", trace.src) ||
		    !cJSON_AddStringToObject(req, "dst", trace.dst) ||
		    !cJSON_AddStringToObject(req, "proto", trace.proto) ||
		    !cJSON_AddNumberToObject(req, "port", trace.port))) {
		cJSON_Delete(req);
		req = NULL;
	}
	if (!exit_code)
		return ctl_run(req, print_trace);
	if (!req) {
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	ret = ctl_call(req, &reply);
	cJSON_Delete(req);
	if (ret)
		return ret;
	/* Like git diff --exit-code: 1 unless the policy allows the flow.
	 * An audit verdict is a deny that audit mode lets through; a script
	 * gating on the policy wants to hear about it. */
	verdict = cJSON_GetObjectItemCaseSensitive(reply, "verdict");
	n = cJSON_IsString(verdict) && strcmp(verdict->valuestring, "allow");
	ret = ctl_print(reply, print_trace);
	cJSON_Delete(reply);
	return ret ? ret : n ? CTL_EXIT_REJECTED : CTL_EXIT_OK;
}

/* --------------------------------------------------------- prefilter */

static const char *pf_verb, *pf_cidr;

static int print_pf_change(const cJSON *reply)
{
	char rev[32];

	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "revision"), rev, sizeof(rev));
	printf("%s prefilter %s (revision %s)\n", pf_verb, pf_cidr, rev);
	return 0;
}

static int pf_change(const char *cmd, const char *verb, int argc, char **argv)
{
	if (!argc)
		return usage_err("missing CIDR");
	if (no_more_args(argc - 1, argv + 1))
		return CTL_EXIT_USAGE;
	pf_verb = verb;
	pf_cidr = argv[0];
	return ctl_run(req_str(cmd, "cidr", argv[0]), print_pf_change);
}

static int pf_add(int argc, char **argv)
{
	return pf_change("prefilter.add", "added", argc, argv);
}

static int pf_remove(int argc, char **argv)
{
	return pf_change("prefilter.remove", "removed", argc, argv);
}

static const struct out_col pf_cols[] = {
	OUT_COL("CIDR", "cidr"),
	OUT_COL("HITS", "hits"),
};

static int print_pf_list(const cJSON *reply)
{
	return print_rows(cJSON_GetObjectItemCaseSensitive(reply, "prefilter"), "prefilter",
			  pf_cols, NCOLS(pf_cols));
}

static int pf_list(int argc, char **argv)
{
	if (no_more_args(argc, argv))
		return CTL_EXIT_USAGE;
	return ctl_run(req_new("prefilter.list"), print_pf_list);
}

static const char *pf_file;
static bool pf_dry;

static void print_pf_lines(const cJSON *reply, const char *key, char sign)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(reply, key)) {
		printf("%c ", sign);
		fput_clean(cJSON_IsString(c) ? c->valuestring : "?", stdout);
		putchar('\n');
	}
}

/* diff(1)'s signs, then one summary line. */
static int print_pf_applied(const cJSON *reply)
{
	const cJSON *added = cJSON_GetObjectItemCaseSensitive(reply, "added");
	const cJSON *removed = cJSON_GetObjectItemCaseSensitive(reply, "removed");
	char rev[32], n[32];

	if (!cJSON_IsArray(added))
		return proto_err("\"added\" is not an array");
	if (!cJSON_IsArray(removed))
		return proto_err("\"removed\" is not an array");
	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "revision"), rev, sizeof(rev));
	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "prefixes"), n, sizeof(n));
	print_pf_lines(reply, "removed", '-');
	print_pf_lines(reply, "added", '+');
	if (pf_dry)
		printf("dry run: %s would give %s prefilter prefixes (%d added, %d removed); nothing applied\n",
		       pf_file, n, cJSON_GetArraySize(added), cJSON_GetArraySize(removed));
	else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "unchanged")))
		printf("%s: no changes; nothing applied (revision %s)\n", pf_file, rev);
	else
		printf("applied %s: revision %s, %s prefilter prefixes (%d added, %d removed)\n",
		       pf_file, rev, n, cJSON_GetArraySize(added), cJSON_GetArraySize(removed));
	return 0;
}

static int pf_apply(int argc, char **argv)
{
	const char *file = NULL;
	cJSON *req;
	int ret;

	ret = file_flag_args(argc, argv, "--dry-run", &pf_dry, &file);
	if (ret)
		return ret;
	/* The whole file travels: the daemon parses it, so that its errors
	 * (FILE:line:col) and the list it applies come from one parser. */
	ret = file_req("prefilter.replace", file, &req);
	if (ret)
		return ret;
	pf_file = file_label(file);
	if (!cJSON_AddBoolToObject(req, "dry_run", pf_dry)) {
		cJSON_Delete(req);
		req = NULL;
	}
	return ctl_run(req, print_pf_applied);
}

static const struct cmd pf_cmds[] = {
	{ "add", pf_add, "prefilter add CIDR" },
	{ "remove", pf_remove, "prefilter remove CIDR" },
	{ "list", pf_list, "prefilter list" },
	{ "apply", pf_apply, "prefilter apply -f FILE [--dry-run]" },
	{ 0 },
};

int do_prefilter(int argc, char **argv)
{
	return cmd_select(pf_cmds, argc, argv);
}

/* ---------------------------------------------------- attach, detach */

static const char *link_verb;

static int print_link(const cJSON *reply)
{
	char name[128], idx[32], hooks[CELL_TEXT_MAX];

	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "iface"), name, sizeof(name));
	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "ifindex"), idx, sizeof(idx));
	/* "attached" or "detached": the verb is also the reply's list. */
	cell_text(cJSON_GetObjectItemCaseSensitive(reply, link_verb), hooks, sizeof(hooks));
	printf("%s ", link_verb);
	fput_clean(name, stdout);
	printf(" (ifindex %s); %s hooks: ", idx, link_verb);
	fput_clean(hooks, stdout);
	putchar('\n');
	return 0;
}

static int link_cmd(const char *cmd, const char *verb, int argc, char **argv)
{
	if (!argc)
		return usage_err("missing IFACE");
	if (argv[0][0] == '-')
		return usage_err("unknown flag '%s'", argv[0]);
	if (no_more_args(argc - 1, argv + 1))
		return CTL_EXIT_USAGE;
	link_verb = verb;
	return ctl_run(req_str(cmd, "iface", argv[0]), print_link);
}

int do_attach(int argc, char **argv)
{
	return link_cmd("attach", "attached", argc, argv);
}

int do_detach(int argc, char **argv)
{
	return link_cmd("detach", "detached", argc, argv);
}

/* -------------------------------------------------------------- nodes */

static void node_seen(const cJSON *row, char *buf, size_t len)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(row, "last_seen_s");
	const cJSON *self = cJSON_GetObjectItemCaseSensitive(row, "self");

	if (!cJSON_IsNumber(s) || s->valuedouble < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0fs ago%s", s->valuedouble,
			 cJSON_IsTrue(self) ? " (self)" : "");
}

static const struct out_col node_cols[] = {
	OUT_COL("NODE", "name"),	   OUT_COL("ADDRESSES", "addresses"),
	OUT_COL("ENDPOINTS", "endpoints"), OUT_COL_FN("LAST SEEN", node_seen),
	OUT_COL("APPLIED", "applied"),
};

static int print_nodes(const cJSON *reply)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply, "error");

	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "cluster"))) {
		printf("this node runs alone (no \"cluster\" in its config)\n");
		return 0;
	}
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(reply, "reachable"))) {
		printf("the cluster store is unreachable: ");
		fput_clean(cJSON_IsString(err) ? err->valuestring : "?", stdout);
		printf("; showing the nodes as last known\n");
	}
	return print_rows(cJSON_GetObjectItemCaseSensitive(reply, "nodes"), "nodes", node_cols,
			  NCOLS(node_cols));
}

static int node_list(int argc, char **argv)
{
	if (no_more_args(argc, argv))
		return CTL_EXIT_USAGE;
	return ctl_run(req_new("node.list"), print_nodes);
}

static const struct cmd node_cmds[] = {
	{ "list", node_list, "node list" },
	{ 0 },
};

int do_node(int argc, char **argv)
{
	return cmd_select(node_cmds, argc, argv);
}
