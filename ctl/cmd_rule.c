// SPDX-License-Identifier: GPL-2.0-only
/*
 * allow RULE [--audit] [--log] [--comment TEXT]
 * deny RULE [--log] [--comment TEXT]
 * remove { ID | RULE }
 * rule set ID [--audit on|off] [--log on|off] [--comment TEXT]
 * list
 *
 * RULE may span several words (`frontend to api port 443`); they are
 * joined with spaces and the daemon parses them, so its messages are the
 * same as for a rule file.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "netsegctl.h"
#include "output.h"

struct rule_args {
	char **words; /* the rule's words, in argv */
	int n;
	bool audit, log;
	const char *comment;
};

/* One flag at argv[*i]: 1 if it was one, 0 if not, -EINVAL (reported). */
static int rule_flag(int argc, char **argv, int *i, bool allow, struct rule_args *a)
{
	const char *val;
	int ret;

	if (!strcmp(argv[*i], "--log")) {
		a->log = true;
		return 1;
	}
	if (!strcmp(argv[*i], "--audit")) {
		if (!allow) {
			usage_err("--audit applies only to allow rules");
			return -EINVAL;
		}
		a->audit = true;
		return 1;
	}
	ret = arg_value(argc, argv, i, "--comment", &val);
	if (ret <= 0)
		return ret;
	if (a->comment) {
		usage_err("--comment given twice");
		return -EINVAL;
	}
	a->comment = val;
	return 1;
}

/* Words and flags in any order; the words are gathered at the front of
 * argv.  "--" ends the flags.  0 or -EINVAL (reported). */
static int rule_args_parse(int argc, char **argv, bool allow, struct rule_args *a)
{
	bool flags = true;
	int i, ret;

	memset(a, 0, sizeof(*a));
	a->words = argv;
	for (i = 0; i < argc; i++) {
		if (flags && !strcmp(argv[i], "--")) {
			flags = false;
			continue;
		}
		ret = flags ? rule_flag(argc, argv, &i, allow, a) : 0;
		if (ret < 0)
			return ret;
		if (ret)
			continue;
		if (flags && !strncmp(argv[i], "--", 2)) {
			usage_err("unknown flag '%s'", argv[i]);
			return -EINVAL;
		}
		a->words[a->n++] = argv[i];
	}
	if (!a->n) {
		usage_err("missing RULE");
		return -EINVAL;
	}
	return 0;
}

static cJSON *rule_add_req(const char *action, const char *text, const struct rule_args *a)
{
	cJSON *req = req_new("rule.add");
	bool ok;

	if (!req)
		return NULL;
	ok = cJSON_AddStringToObject(req, "action", action) &&
	     cJSON_AddStringToObject(req, "rule", text) &&
	     cJSON_AddBoolToObject(req, "audit", a->audit) &&
	     cJSON_AddBoolToObject(req, "log", a->log) &&
	     (!a->comment || cJSON_AddStringToObject(req, "comment", a->comment));
	if (ok)
		return req;
	cJSON_Delete(req);
	return NULL;
}

static int number_field(const cJSON *reply, const char *key, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, key);

	if (!cJSON_IsNumber(v))
		return proto_err("\"%s\" is not a number", key);
	cell_text(v, buf, len);
	return 0;
}

static int print_added(const cJSON *reply)
{
	const cJSON *existing = cJSON_GetObjectItemCaseSensitive(reply, "existing");
	char id[32], rev[32];

	if (number_field(reply, "id", id, sizeof(id)) ||
	    number_field(reply, "revision", rev, sizeof(rev)))
		return -EPROTO;
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(reply, "changes"), *c;

	if (cJSON_IsTrue(existing) && cJSON_GetArraySize(ch) > 0) {
		/* The rule as typed replaced the existing one's flags. */
		printf("updated rule %s:", id);
		cJSON_ArrayForEach(c, ch) {
			printf("%s", c == ch->child ? " " : ", ");
			fput_clean(cJSON_IsString(c) ? c->valuestring : "?", stdout);
		}
		printf(" (revision %s)\n", rev);
	} else if (cJSON_IsTrue(existing))
		printf("rule %s already exists, nothing changed (revision %s)\n", id, rev);
	else
		printf("added rule %s (revision %s)\n", id, rev);
	return 0;
}

/* Send a rule-carrying request, with the note if the rule was repaired
 * after a shell redirection. */
static int run_rule_req(cJSON *req, const struct rule_words *rw, const char *done,
			reply_printer print)
{
	cJSON *reply = NULL;
	int code;

	if (!req) {
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	code = ctl_call(req, &reply);
	cJSON_Delete(req);
	rule_words_note(rw, code ? NULL : done);
	if (!code)
		code = ctl_print(reply, print);
	cJSON_Delete(reply);
	return code;
}

static int rule_add(const char *action, int argc, char **argv)
{
	struct rule_words rw;
	struct rule_args a;
	int code;

	if (rule_args_parse(argc, argv, !strcmp(action, "allow"), &a))
		return CTL_EXIT_USAGE;
	code = rule_words_get(action, a.words, a.n, &rw);
	if (code)
		return code;
	code = run_rule_req(rule_add_req(action, rw.text, &a), &rw, "applied", print_added);
	rule_words_free(&rw);
	return code;
}

int do_allow(int argc, char **argv)
{
	return rule_add("allow", argc, argv);
}

int do_deny(int argc, char **argv)
{
	return rule_add("deny", argc, argv);
}

/* ------------------------------------------------------------ remove */

static int print_removed(const cJSON *reply)
{
	char id[32], rev[32];

	if (number_field(reply, "removed", id, sizeof(id)) ||
	    number_field(reply, "revision", rev, sizeof(rev)))
		return -EPROTO;
	printf("removed rule %s (revision %s)\n", id, rev);
	return 0;
}

int do_remove(int argc, char **argv)
{
	struct rule_words rw;
	cJSON *req;
	int i, code;

	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "--", 2))
			return usage_err("unknown flag '%s'", argv[i]);
	if (!argc)
		return usage_err("missing rule ID or RULE");
	/* An id is a rule too as far as the redirection check goes: it
	 * can't end in '-', so it passes through unchanged. */
	code = rule_words_get("remove", argv, argc, &rw);
	if (code)
		return code;
	req = req_new("rule.remove");
	if (req && !cJSON_AddStringToObject(req, "target", rw.text)) {
		cJSON_Delete(req);
		req = NULL;
	}
	code = run_rule_req(req, &rw, "removed the rule", print_removed);
	rule_words_free(&rw);
	return code;
}

/* --------------------------------------------------------------- set */

/* "on" or "off" after @flag: 0, or -EINVAL (reported). */
static int on_off(const char *flag, const char *val, int *out)
{
	if (!strcmp(val, "on") || !strcmp(val, "off")) {
		*out = !strcmp(val, "on");
		return 0;
	}
	usage_err("%s takes on or off, not '%s'", flag, val);
	return -EINVAL;
}

static int print_set(const cJSON *reply)
{
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(reply, "changes");
	char id[32], rev[32];

	if (number_field(reply, "id", id, sizeof(id)) ||
	    number_field(reply, "revision", rev, sizeof(rev)))
		return -EPROTO;
	print_changes("rule", id, ch, rev);
	return 0;
}

/* rule set ID [--audit on|off] [--log on|off] [--comment TEXT] */
static int rule_set(int argc, char **argv)
{
	int audit = -1, log = -1, i, ret;
	const char *comment = NULL, *val;
	unsigned long id;
	cJSON *req;
	char *end;

	if (!argc)
		return usage_err("missing rule ID");
	id = strtoul(argv[0], &end, 10);
	if (!*argv[0] || *end || argv[0][0] == '-' || id > 0xffffffffUL)
		return usage_err("'%s' is not a rule id (a number, as `list` shows)", argv[0]);
	for (i = 1; i < argc; i++) {
		if ((ret = arg_value(argc, argv, &i, "--audit", &val)) != 0) {
			if (ret < 0 || on_off("--audit", val, &audit))
				return CTL_EXIT_USAGE;
		} else if ((ret = arg_value(argc, argv, &i, "--log", &val)) != 0) {
			if (ret < 0 || on_off("--log", val, &log))
				return CTL_EXIT_USAGE;
		} else if ((ret = arg_value(argc, argv, &i, "--comment", &val)) != 0) {
			if (ret < 0)
				return CTL_EXIT_USAGE;
			comment = val;
		} else if (!strncmp(argv[i], "-", 1)) {
			return usage_err("unknown flag '%s'", argv[i]);
		} else {
			return usage_err("unexpected argument '%s'", argv[i]);
		}
	}
	if (audit < 0 && log < 0 && !comment)
		return usage_err("nothing to set: give --audit, --log or --comment");
	req = req_new("rule.set");
	if (req && (!cJSON_AddNumberToObject(req, "id", id) ||
		    (audit >= 0 && !cJSON_AddBoolToObject(req, "audit", audit)) ||
		    (log >= 0 && !cJSON_AddBoolToObject(req, "log", log)) ||
		    (comment && !cJSON_AddStringToObject(req, "comment", comment)))) {
		cJSON_Delete(req);
		req = NULL;
	}
	return ctl_run(req, print_set);
}

static const struct cmd rule_cmds[] = {
	{ "set", rule_set, "rule set ID [--audit on|off] [--log on|off] [--comment TEXT]" },
	{ 0 },
};

int do_rule(int argc, char **argv)
{
	return cmd_select(rule_cmds, argc, argv);
}

/* -------------------------------------------------------------- list */

static void flags_cell(const cJSON *row, char *buf, size_t len)
{
	bool audit = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "audit"));
	bool log = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "log"));

	snprintf(buf, len, "%s", audit && log ? "audit,log" : audit ? "audit" : log ? "log" : "-");
}

static const struct out_col rule_cols[] = {
	OUT_COL("ID", "id"),	       OUT_COL("ACTION", "action"),
	OUT_COL("RULE", "rule"),       OUT_COL_FN("FLAGS", flags_cell),
	OUT_COL("PACKETS", "packets"), OUT_COL("BYTES", "bytes"),
	OUT_COL("COMMENT", "comment"),
};

/* The rule-stats rows of a stats reply, for counters next to each rule
 * (as nft list ruleset shows them); NULL if the daemon didn't answer. */
static cJSON *rule_counters(void)
{
	cJSON *reply = NULL, *req = req_new("stats"), *rules;

	if (!req || ctl_call(req, &reply)) {
		cJSON_Delete(req);
		return NULL;
	}
	cJSON_Delete(req);
	rules = cJSON_DetachItemFromObjectCaseSensitive(reply, "rules");
	cJSON_Delete(reply);
	return rules;
}

/* Each rule row gets "packets" and "bytes": its counters, 0 for a rule
 * that matched nothing yet, "-" if the counters couldn't be read. */
static void add_counters(cJSON *rules, const cJSON *stats)
{
	const cJSON *st, *id, *sid;
	cJSON *row;

	cJSON_ArrayForEach(row, rules) {
		const cJSON *pk = NULL, *by = NULL;

		id = cJSON_GetObjectItemCaseSensitive(row, "id");
		cJSON_ArrayForEach(st, stats) {
			sid = cJSON_GetObjectItemCaseSensitive(st, "id");
			if (cJSON_IsNumber(id) && cJSON_IsNumber(sid) &&
			    id->valuedouble == sid->valuedouble) {
				pk = cJSON_GetObjectItemCaseSensitive(st, "packets");
				by = cJSON_GetObjectItemCaseSensitive(st, "bytes");
				break;
			}
		}
		if (!cJSON_IsObject(row))
			continue;
		if (!stats) {
			cJSON_AddStringToObject(row, "packets", "-");
			cJSON_AddStringToObject(row, "bytes", "-");
			continue;
		}
		cJSON_AddNumberToObject(row, "packets", cJSON_IsNumber(pk) ? pk->valuedouble : 0);
		cJSON_AddNumberToObject(row, "bytes", cJSON_IsNumber(by) ? by->valuedouble : 0);
	}
}

static int print_rules(const cJSON *reply)
{
	return print_rows(cJSON_GetObjectItemCaseSensitive(reply, "rules"), "rules", rule_cols,
			  sizeof(rule_cols) / sizeof(rule_cols[0]));
}

int do_list(int argc, char **argv)
{
	cJSON *req, *reply = NULL, *stats;
	int code;

	if (no_more_args(argc, argv))
		return CTL_EXIT_USAGE;
	req = req_new("rule.list");
	if (!req) {
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	code = ctl_call(req, &reply);
	cJSON_Delete(req);
	if (code)
		return code;
	/* -o json stays the daemon's reply; counters are in stats. */
	if (!out_json()) {
		stats = rule_counters();
		add_counters(cJSON_GetObjectItemCaseSensitive(reply, "rules"), stats);
		cJSON_Delete(stats);
	}
	code = ctl_print(reply, print_rules);
	cJSON_Delete(reply);
	return code;
}
