// SPDX-License-Identifier: GPL-2.0-only
/*
 * apply -f FILE [--dry-run] [--expect-revision N]
 *   (a Kubernetes manifest goes to cmd_k8s.c: the content decides)
 * diff -f FILE
 * (FILE "-" is stdin.)
 *
 * The file is read (file_text.c) and sent whole, with its name as given,
 * so the daemon's errors read "FILE:line:col: ..." like a compiler's.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "file.h"
#include "netsegctl.h"
#include "output.h"

struct file_args {
	const char *file; /* as messages name it */
	const char *path; /* as given: "-" is stdin */
	bool dry_run;
	bool has_rev;
	uint64_t rev;
};

/* The value of --expect-revision: 1 (a flag was taken) or -EINVAL. */
static int set_rev(struct file_args *a, const char *s)
{
	char *end;

	errno = 0;
	a->rev = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || errno || *end) {
		usage_err("--expect-revision needs a revision number, not '%s'", s);
		return -EINVAL;
	}
	a->has_rev = true;
	return 1;
}

/* -f FILE plus, for apply, --dry-run and --expect-revision.  0 or
 * -EINVAL (reported). */
static int file_args_parse(int argc, char **argv, bool apply, struct file_args *a)
{
	const char *val;
	int i, ret;

	for (i = 0; i < argc; i++) {
		if (apply && !strcmp(argv[i], "--dry-run")) {
			a->dry_run = true;
			continue;
		}
		ret = arg_value(argc, argv, &i, "-f", &a->file);
		if (!ret)
			ret = arg_value(argc, argv, &i, "--file", &a->file);
		if (!ret && apply) {
			ret = arg_value(argc, argv, &i, "--expect-revision", &val);
			if (ret > 0)
				ret = set_rev(a, val);
		}
		if (ret < 0)
			return ret;
		if (!ret) {
			usage_err("unexpected argument '%s'", argv[i]);
			return -EINVAL;
		}
	}
	if (!a->file) {
		usage_err("missing -f FILE");
		return -EINVAL;
	}
	/* Messages and the daemon's errors name stdin, not "-". */
	a->path = a->file;
	a->file = file_label(a->file);
	return 0;
}

/* ------------------------------------------------------------- apply */

static struct file_args apply_args;

/* "added"/"removed" as counts: numbers, or the rules themselves. */
static void count_cell(const cJSON *reply, const char *key, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, key);

	if (cJSON_IsArray(v))
		snprintf(buf, len, "%d", cJSON_GetArraySize(v));
	else
		cell_text(v, buf, len);
}

static int print_applied(const cJSON *reply)
{
	char rev[32], rules[32], added[32], removed[32], changed[32], entries[32];

	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "revision"), rev, sizeof(rev));
	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "rules"), rules, sizeof(rules));
	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "entries"), entries, sizeof(entries));
	count_cell(reply, "added", added, sizeof(added));
	count_cell(reply, "removed", removed, sizeof(removed));
	count_cell(reply, "changed", changed, sizeof(changed));
	if (apply_args.dry_run)
		printf("dry run: %s would give %s rules (%s added, %s removed, %s changed), %s policy map entries; nothing applied\n",
		       apply_args.file, rules, added, removed, changed, entries);
	else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "unchanged")))
		printf("%s: no changes; nothing applied (revision %s)\n", apply_args.file, rev);
	else
		printf("applied %s: revision %s, %s rules (%s added, %s removed, %s changed), %s policy map entries\n",
		       apply_args.file, rev, rules, added, removed, changed, entries);
	return 0;
}

int do_apply(int argc, char **argv)
{
	struct file_args *a = &apply_args;
	cJSON *req;
	char *text;
	int code;

	if (file_args_parse(argc, argv, true, a))
		return CTL_EXIT_USAGE;
	code = file_text(a->path, &text);
	if (code)
		return code;
	/* The content says what the file is, whatever its name. */
	if (k8s_manifest(text)) {
		code = a->has_rev ?
			       usage_err(
				       "--expect-revision is for rule files; %s holds Kubernetes objects",
				       a->file) :
			       k8s_apply(a->path, text, a->dry_run);
		free(text);
		return code;
	}
	code = text_req("apply", a->path, text, &req);
	free(text);
	if (code)
		return code;
	if (!cJSON_AddBoolToObject(req, "dry_run", a->dry_run) ||
	    (a->has_rev && !cJSON_AddNumberToObject(req, "expect_revision", a->rev))) {
		cJSON_Delete(req);
		req = NULL;
	}
	return ctl_run(req, print_applied);
}

/* -------------------------------------------------------------- diff */

/* `allow frontend -> api:tcp/443 --log --comment "x"`, the .rules form. */
static void print_rule_line(char sign, const cJSON *r)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "comment");
	char action[16], rule[CELL_TEXT_MAX];
	const char *s;

	printf("%c ", sign);
	if (cJSON_IsString(r)) {
		fput_clean(r->valuestring, stdout);
		putchar('\n');
		return;
	}
	cell_text(cJSON_GetObjectItemCaseSensitive(r, "action"), action, sizeof(action));
	cell_text(cJSON_GetObjectItemCaseSensitive(r, "rule"), rule, sizeof(rule));
	fput_clean(action, stdout);
	putchar(' ');
	fput_clean(rule, stdout);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "audit")))
		printf(" --audit");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "log")))
		printf(" --log");
	if (cJSON_IsString(c) && c->valuestring[0]) {
		printf(" --comment \"");
		for (s = c->valuestring; *s; s++)
			printf("%s%c", *s == '"' || *s == '\\' ? "\\" : "",
			       (unsigned char)*s < 0x20 ? '?' : *s);
		printf("\"");
	}
	printf("\n");
}

/* `~ 3 allow a -> b:tcp/80  --log: on → off, --comment: none → "x"` */
static void print_changed_line(const cJSON *r)
{
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(r, "changes"), *c;
	char id[32], action[16], rule[CELL_TEXT_MAX];

	cell_text(cJSON_GetObjectItemCaseSensitive(r, "id"), id, sizeof(id));
	cell_text(cJSON_GetObjectItemCaseSensitive(r, "action"), action, sizeof(action));
	cell_text(cJSON_GetObjectItemCaseSensitive(r, "rule"), rule, sizeof(rule));
	printf("~ %s ", id);
	fput_clean(action, stdout);
	putchar(' ');
	fput_clean(rule, stdout);
	cJSON_ArrayForEach(c, ch) {
		printf("%s", c == ch->child ? "  " : ", ");
		fput_clean(cJSON_IsString(c) ? c->valuestring : "?", stdout);
	}
	putchar('\n');
}

/* Rules the file would add, remove or change; -1 if the reply lacks one. */
static int diff_count(const cJSON *reply)
{
	static const char *const keys[] = { "added", "removed", "changed" };
	int n = 0;

	for (size_t k = 0; k < 3; k++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(reply, keys[k]);

		if (!cJSON_IsArray(a))
			return -1;
		n += cJSON_GetArraySize(a);
	}
	return n;
}

static int print_diff(const cJSON *reply)
{
	const cJSON *added = cJSON_GetObjectItemCaseSensitive(reply, "added");
	const cJSON *removed = cJSON_GetObjectItemCaseSensitive(reply, "removed");
	const cJSON *changed = cJSON_GetObjectItemCaseSensitive(reply, "changed");
	const cJSON *r;

	if (!cJSON_IsArray(added))
		return proto_err("\"added\" is not an array");
	if (!cJSON_IsArray(removed))
		return proto_err("\"removed\" is not an array");
	if (!cJSON_IsArray(changed))
		return proto_err("\"changed\" is not an array");
	cJSON_ArrayForEach(r, removed)
		print_rule_line('-', r);
	cJSON_ArrayForEach(r, changed)
		print_changed_line(r);
	cJSON_ArrayForEach(r, added)
		print_rule_line('+', r);
	if (!diff_count(reply))
		printf("no changes\n");
	return 0;
}

int do_diff(int argc, char **argv)
{
	struct file_args a = { 0 };
	cJSON *req, *reply = NULL;
	int code, n;

	if (file_args_parse(argc, argv, false, &a))
		return CTL_EXIT_USAGE;
	code = file_req("diff", a.path, &req);
	if (code)
		return code;
	/* Like diff(1): 0 when the file matches what runs, 1 when not. */
	code = ctl_call(req, &reply);
	cJSON_Delete(req);
	if (!code) {
		n = diff_count(reply);
		code = ctl_print(reply, print_diff);
		if (!code && n > 0)
			code = CTL_EXIT_REJECTED;
	}
	cJSON_Delete(reply);
	return code;
}
