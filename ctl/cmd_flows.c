// SPDX-License-Identifier: GPL-2.0-only
/*
 * flows: the daemon's recent flow records, then (with --follow) live ones,
 * until Ctrl-C or a closed pipe; the stream and its readable lines are
 * observe's too (cmd_observe.c).  logs verify: checks hash-chained
 * flow-log files offline.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "flowrec.h"
#include "netsegctl.h"
#include "output.h"

const char *flow_format; /* -o ocsf|ecs|cef|json for flows */
bool flow_text_asked;
bool flow_observe;
bool flow_no_color;

/* Readable lines on a terminal or with -o text (observe: unless -o asks
 * for records); a pipe without -o gets flows' native JSON records, as
 * scripts reading it always have. */
static bool flow_text(void)
{
	if (flow_format || out_format != OUT_TEXT)
		return false;
	return flow_observe || flow_text_asked || isatty(STDOUT_FILENO);
}

/* Colours only for a person at a terminal who hasn't said no: --no-color,
 * or NO_COLOR set to anything (no-color.org).  Decided once, after the
 * arguments: not a getenv and an ioctl per coloured word. */
static bool flow_color(void)
{
	static int on = -1;
	const char *no;

	if (on < 0) {
		no = getenv("NO_COLOR");
		on = !flow_no_color && !(no && *no) && isatty(STDOUT_FILENO);
	}
	return on;
}

#define SGR_DIM "\033[2m"
#define SGR_BOLD "\033[1m"
#define SGR_RED "\033[1;31m"
#define SGR_GREEN "\033[32m"
#define SGR_YELLOW "\033[33m"
#define SGR_CYAN "\033[36m"
#define SGR_OFF "\033[0m"

static void sgr(const char *code)
{
	if (flow_color())
		fputs(code, stdout);
}

static const char *verdict_color(const char *verdict)
{
	if (!strcmp(verdict, "allowed"))
		return SGR_GREEN;
	if (!strcmp(verdict, "denied"))
		return SGR_RED;
	if (!strcmp(verdict, "audit"))
		return SGR_YELLOW;
	return SGR_CYAN;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int flows_request(int argc, char **argv, cJSON *req)
{
	const char *v;
	int i, r;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f")) {
			cJSON_AddBoolToObject(req, "follow", true);
			continue;
		}
		if (!strcmp(argv[i], "--no-color")) {
			flow_no_color = true;
			continue;
		}
		if ((r = arg_value(argc, argv, &i, "--verdict", &v))) {
			if (r < 0)
				return CTL_EXIT_USAGE;
			if (strcmp(v, "allowed") && strcmp(v, "denied") && strcmp(v, "audit") &&
			    strcmp(v, "end"))
				return usage_err(
					"--verdict takes allowed, denied, audit or end, not '%s'",
					v);
			cJSON_AddStringToObject(req, "verdict", v);
			continue;
		}
		if ((r = arg_value(argc, argv, &i, "--identity", &v))) {
			if (r < 0)
				return CTL_EXIT_USAGE;
			cJSON_AddStringToObject(req, "identity", v);
			continue;
		}
		if ((r = arg_value(argc, argv, &i, "--rule", &v))) {
			char *end;
			long id;

			if (r < 0)
				return CTL_EXIT_USAGE;
			id = strtol(v, &end, 10);
			if (*end || id < 0 || id > 0xffffffffL)
				return usage_err("--rule takes a rule id, not '%s'", v);
			cJSON_AddNumberToObject(req, "rule", id);
			continue;
		}
		return usage_err("unexpected argument '%s'", argv[i]);
	}
	cJSON_AddStringToObject(req, "format", flow_format ? flow_format : "json");
	return 0;
}

static const char *str_at(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "frontend(198.18.1.2:40312)", or the address alone without an identity. */
static void put_side(const cJSON *side)
{
	const char *id = str_at(side, "identity"), *ip = str_at(side, "ip");
	const cJSON *port = cJSON_GetObjectItem(side, "port");
	bool v6 = ip && strchr(ip, ':');

	if (id) {
		sgr(SGR_BOLD);
		fput_clean(id, stdout);
		sgr(SGR_OFF);
		putchar('(');
	}
	if (cJSON_IsNumber(port) && v6)
		printf("[%s]:%.0f", ip, port->valuedouble);
	else if (cJSON_IsNumber(port))
		printf("%s:%.0f", ip ? ip : "?", port->valuedouble);
	else
		fputs(ip ? ip : "?", stdout);
	if (id)
		putchar(')');
}

static double num_at(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* How the record was decided: "by rule 1", "default-deny", or for a flow
 * end its verdict and the traffic both ways. */
static void put_outcome(const cJSON *rec, const char *verdict)
{
	const cJSON *rule = cJSON_GetObjectItem(rec, "rule");
	const cJSON *id = cJSON_GetObjectItem(rule, "id");
	const char *reason = str_at(rec, "reason"), *fv;

	sgr(verdict_color(verdict));
	if (!strcmp(verdict, "end")) {
		fv = str_at(rec, "flow_verdict");
		printf("END%s%s", fv ? " " : "", fv ? fv : "");
		sgr(SGR_OFF);
		printf(" %.0f/%.0f pkts %.0f/%.0f bytes (out/in)", num_at(rec, "packets_out"),
		       num_at(rec, "packets_in"), num_at(rec, "bytes_out"),
		       num_at(rec, "bytes_in"));
		return;
	}
	for (const char *c = verdict; *c; c++)
		putchar(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : '?');
	sgr(SGR_OFF);
	if (cJSON_IsNumber(id) && id->valuedouble > 0)
		printf(" by rule %.0f", id->valuedouble);
	else if (reason)
		printf(" %s", reason);
}

/* "12:01:02.345 frontend(198.18.1.2:40312) -> api(198.18.2.2:443) tcp
 * ALLOWED by rule 1": the time of day (UTC) and what a reader asks first. */
static void put_flow_text(const char *json)
{
	cJSON *rec = cJSON_Parse(json);
	const char *time, *verdict, *proto;

	if (!rec) { /* not ours to judge: show it as it came */
		fput_clean(json, stdout);
		return;
	}
	time = str_at(rec, "time");
	verdict = str_at(rec, "verdict");
	proto = str_at(rec, "proto_name");
	if (time && strlen(time) >= 23) {
		sgr(SGR_DIM);
		printf("%.12s", time + 11);
		sgr(SGR_OFF);
		putchar(' ');
	}
	if (!cJSON_GetObjectItem(rec, "src") && str_at(rec, "message")) {
		/* a loss report: no flow to draw, its own sentence */
		fput_clean(str_at(rec, "message"), stdout);
		cJSON_Delete(rec);
		return;
	}
	put_side(cJSON_GetObjectItem(rec, "src"));
	fputs(" -> ", stdout);
	put_side(cJSON_GetObjectItem(rec, "dst"));
	if (proto) {
		putchar(' ');
		fput_clean(proto, stdout);
	}
	putchar(' ');
	put_outcome(rec, verdict ? verdict : "?");
	cJSON_Delete(rec);
}

/* One record per line on stdout; false when stdout is gone. */
static bool print_flow(const cJSON *msg)
{
	const cJSON *line = cJSON_GetObjectItem(msg, "flow");

	if (!cJSON_IsString(line))
		return true;
	if (flow_text()) {
		put_flow_text(line->valuestring);
		if (putchar('\n') == EOF || fflush(stdout))
			return false;
		return true;
	}
	/* Records go to a pipe as they are; on a terminal, cleaned (a JSON
	 * line may carry DEL or a C1 control from an interface name). */
	if (isatty(STDOUT_FILENO))
		fput_clean(line->valuestring, stdout);
	else
		fputs(line->valuestring, stdout);
	if (putchar('\n') == EOF || fflush(stdout))
		return false;
	return true;
}

/* The daemon's word that unlogged allowed flows were left out of the view. */
static void note_unlogged(const cJSON *u)
{
	double n = num_at(u, "left_out");

	if (n <= 0)
		return;
	fprintf(stderr,
		"note: %.0f new allowed flows that no rule logs were left out of this view: "
		"the datapath reports at most %.0f of them per second per CPU (bursts of %.0f); "
		"rules with --log, and log_allowed, record every flow\n",
		n, num_at(u, "rate"), num_at(u, "burst"));
}

int flow_stream(cJSON *req)
{
	struct sigaction sa = { .sa_handler = on_signal };
	cJSON *msg = NULL;
	const cJSON *err, *skipped;
	struct netseg_ctl_conn c;
	int r, ret = CTL_EXIT_OK;

	r = netseg_ctl_open(&c, ctl.sock);
	if (r) {
		cJSON_Delete(req);
		p_err("can't reach netsegd at %s: %s (is it running?)", ctl.sock, strerror(-r));
		return CTL_EXIT_UNREACHABLE;
	}
	/* A reader that goes away (head, a closed pipe) ends us quietly. */
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r = netseg_ctl_send(&c, req);
	cJSON_Delete(req);
	while (!r && !stop) {
		r = netseg_ctl_recv(&c, &msg);
		if (r)
			break;
		if (!cJSON_IsTrue(cJSON_GetObjectItem(msg, "ok"))) {
			err = cJSON_GetObjectItem(msg, "error");
			p_err("%s", cJSON_IsString(err) ? err->valuestring : "flows refused");
			ret = CTL_EXIT_REJECTED;
			break;
		}
		if (cJSON_IsTrue(cJSON_GetObjectItem(msg, "end")))
			break;
		skipped = cJSON_GetObjectItem(msg, "skipped");
		if (cJSON_IsNumber(skipped))
			/* Said where it happened, between the records around it. */
			fprintf(stderr,
				"warning: %.0f flow records skipped here: the daemon's history "
				"overwrote them before this reader took them\n",
				skipped->valuedouble);
		note_unlogged(cJSON_GetObjectItem(msg, "unlogged"));
		if (!print_flow(msg)) {
			/* The reader went away (head, a closed pipe): a clean end. */
			if (!freopen("/dev/null", "w", stdout))
				ret = CTL_EXIT_INTERNAL;
			break;
		}
		cJSON_Delete(msg);
		msg = NULL;
	}
	cJSON_Delete(msg);
	netseg_ctl_close(&c);
	if (r && r != -EINTR && !stop) {
		p_err("flow stream from netsegd ended: %s", strerror(-r));
		return CTL_EXIT_INTERNAL;
	}
	return ret;
}

int do_flows(int argc, char **argv)
{
	cJSON *req = req_new("flows");
	int r;

	if (!req)
		return CTL_EXIT_INTERNAL;
	r = flows_request(argc, argv, req);
	if (r) {
		cJSON_Delete(req);
		return r;
	}
	return flow_stream(req);
}

static int logs_verify(int argc, char **argv)
{
	struct netseg_chain_report rep = {};
	int r;

	if (argc < 2)
		return usage_err("logs verify needs at least one file, oldest first");
	r = netseg_chain_verify((const char *const *)argv + 1, argc - 1, &rep);
	if (r < 0) {
		p_err("couldn't verify: %s", strerror(-r));
		return CTL_EXIT_INTERNAL;
	}
	if (rep.status == NETSEG_CHAIN_OK) {
		if (out_json()) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "status", "ok");
			cJSON_AddNumberToObject(o, "records", rep.records);
			cJSON_AddNumberToObject(o, "first_seq", rep.first_seq);
			cJSON_AddNumberToObject(o, "last_seq", rep.last_seq);
			cJSON_AddBoolToObject(o, "from_genesis", rep.from_genesis);
			cJSON_AddStringToObject(o, "last_hash", rep.last_hash);
			print_json(o);
			cJSON_Delete(o);
		} else {
			printf("OK: %llu records (seq %llu..%llu)%s, last hash %s\n",
			       (unsigned long long)rep.records, (unsigned long long)rep.first_seq,
			       (unsigned long long)rep.last_seq,
			       rep.from_genesis ? " from the start of the chain" :
						  " (older files not given)",
			       rep.last_hash);
		}
		return CTL_EXIT_OK;
	}
	if (out_json()) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "status", netseg_chain_status_name(rep.status));
		cJSON_AddStringToObject(o, "file", rep.path ? rep.path : "");
		cJSON_AddNumberToObject(o, "line", rep.line);
		cJSON_AddStringToObject(o, "detail", rep.detail);
		print_json(o);
		cJSON_Delete(o);
	} else {
		printf("FAILED: %s:%llu: record %s: %s\n", rep.path ? rep.path : "?",
		       (unsigned long long)rep.line, netseg_chain_status_name(rep.status),
		       rep.detail);
	}
	return CTL_EXIT_REJECTED;
}

static int logs_verify_cmd(int argc, char **argv)
{
	return logs_verify(argc + 1, argv - 1); /* argv[-1] is "verify" */
}

/* A table like the other commands', so `logs verify --help` is help. */
static const struct cmd logs_cmds[] = {
	{ "verify", logs_verify_cmd, "logs verify FILE...   (oldest first)" },
	{ 0 },
};

int do_logs(int argc, char **argv)
{
	return cmd_select(logs_cmds, argc, argv);
}
