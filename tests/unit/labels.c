// SPDX-License-Identifier: GPL-2.0-only
/*
 * Labels and selectors: validation of keys and values, canonical text,
 * the kubectl selector syntax (every form, every error with its column)
 * and matching, including NotIn's "absent key matches".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "tap.h"

struct sel_good {
	const char *in, *canon;
};

static const struct sel_good sel_good[] = {
	{ "", "" },
	{ "  ", "" },
	{ "app=web", "app=web" },
	{ "app==web", "app=web" },
	{ "app = web , tier=front", "app=web,tier=front" },
	{ "tier=front,app=web", "app=web,tier=front" },
	{ "env!=prod", "env notin (prod)" },
	{ "tier in (front,back)", "tier in (back,front)" },
	{ "tier in ( front , back, front )", "tier in (back,front)" },
	{ "tier notin (a)", "tier notin (a)" },
	{ "role", "role" },
	{ "!legacy", "!legacy" },
	{ "! legacy", "!legacy" },
	{ "app=web,tier in (front,back),!legacy,env!=prod,role",
	  "app=web,env notin (prod),!legacy,role,tier in (back,front)" },
	{ "app=", "app=" },
	{ "a=1,a=2", "a=1,a in (2)" },
	{ "example.com/app=web", "example.com/app=web" },
	{ "in=notin", "in=notin" },
	{ "x in ()", "x in ()" },
};

struct sel_bad {
	const char *in;
	int col;
	const char *msg;
};

static const struct sel_bad sel_bad[] = {
	{ "app=web,", 9, "expected a label key, found the end of the selector" },
	{ ",a", 1, "expected a label key, found \",\"" },
	{ "a b", 3,
	  "expected '=', '==', '!=', 'in', 'notin', ',' or the end of the selector after the key, found \"b\"" },
	{ "a > 5", 3,
	  "expected '=', '==', '!=', 'in', 'notin', ',' or the end of the selector after the key, found \">\"" },
	{ "a in front", 6, "expected '(' after in/notin, found \"front\"" },
	{ "a in (x y)", 9, "expected ',' or ')' in the value list, found \"y\"" },
	{ "a in (x", 8, "expected ',' or ')' in the value list, found the end of the selector" },
	{ "a=b c", 5, "expected ',' or the end of the selector, found \"c\"" },
	{ "!", 2, "expected a label key, found the end of the selector" },
	{ "-a=b", 1,
	  "label key \"-a\": name must be 1-63 characters of [A-Za-z0-9._-] starting and ending with a letter or digit" },
	{ "a=-b", 3,
	  "label value \"-b\" must be at most 63 characters of [A-Za-z0-9._-] starting and ending with a letter or digit" },
	{ "a in (ok,-b)", 10,
	  "label value \"-b\" must be at most 63 characters of [A-Za-z0-9._-] starting and ending with a letter or digit" },
	{ "Ex.com/a=b", 1,
	  "label key \"Ex.com/a\": prefix \"Ex.com\" is not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)" },
	{ "/a", 1,
	  "label key \"/a\": prefix \"\" is not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)" },
	{ "a/", 1,
	  "label key \"a/\": name must be 1-63 characters of [A-Za-z0-9._-] starting and ending with a letter or digit" },
};

static void test_sel_good(void)
{
	struct netseg_labelsel s, s2;
	struct netseg_err e;
	char *out, *again;
	size_t i;

	for (i = 0; i < sizeof(sel_good) / sizeof(sel_good[0]); i++) {
		if (!is_int(netseg_labelsel_parse(sel_good[i].in, &s, &e), 0,
			    "selector \"%s\" parses", sel_good[i].in)) {
			diag("column %d: %s", e.col, e.msg);
			continue;
		}
		netseg_labelsel_format(&s, &out);
		is_str(out, sel_good[i].canon, "canonical form of \"%s\"", sel_good[i].in);
		netseg_labelsel_parse(out, &s2, &e);
		netseg_labelsel_format(&s2, &again);
		ok(netseg_labelsel_same(&s, &s2) && !strcmp(out, again), "round trip of \"%s\"",
		   out);
		free(out);
		free(again);
		netseg_labelsel_free(&s);
		netseg_labelsel_free(&s2);
	}
}

static void test_sel_bad(void)
{
	struct netseg_labelsel s;
	struct netseg_err e;
	size_t i;

	for (i = 0; i < sizeof(sel_bad) / sizeof(sel_bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (!is_int(netseg_labelsel_parse(sel_bad[i].in, &s, &e), -EINVAL,
			    "selector \"%s\" refused", sel_bad[i].in))
			continue;
		is_str(e.msg, sel_bad[i].msg, "message for \"%s\"", sel_bad[i].in);
		is_int(e.col, sel_bad[i].col, "column for \"%s\"", sel_bad[i].in);
		ok(netseg_labelsel_empty(&s), "selector left empty after \"%s\"", sel_bad[i].in);
	}
}

static void test_keys_values(void)
{
	char k[400];

	memset(k, 'a', 63);
	k[63] = '\0';
	is_int(netseg_label_key_check(k, NULL), 0, "63-character name accepted");
	strcpy(k + 63, "a");
	is_int(netseg_label_key_check(k, NULL), -EINVAL, "64-character name refused");
	is_int(netseg_label_value_check(k, NULL), -EINVAL, "64-character value refused");
	k[63] = '\0';
	is_int(netseg_label_value_check(k, NULL), 0, "63-character value accepted");
	is_int(netseg_label_value_check("", NULL), 0, "empty value accepted");
	is_int(netseg_label_key_check("", NULL), -EINVAL, "empty key refused");
	is_int(netseg_label_key_check("a.b-c_D", NULL), 0, "name with . - _ and capitals");
	is_int(netseg_label_key_check("app.kubernetes.io/name", NULL), 0, "prefixed key");
	is_int(netseg_label_key_check("a-.b/x", NULL), -EINVAL, "prefix label ending in '-'");
	is_int(netseg_label_key_check("a/b/c", NULL), -EINVAL, "two slashes refused");
	memset(k, 'p', 254);
	strcpy(k + 254, "/x");
	is_int(netseg_label_key_check(k, NULL), -EINVAL, "254-character prefix refused");
	is_int(netseg_label_value_check("a b", NULL), -EINVAL, "space in a value refused");
}

static void test_labels(void)
{
	struct netseg_labels l;
	struct netseg_err e;
	char *out;

	is_int(netseg_labels_parse("tier=front, app=web,x=", &l, &e), 0, "label set parses");
	netseg_labels_format(&l, &out);
	is_str(out, "app=web,tier=front,x=", "label set sorted");
	is_str(netseg_labels_get(&l, "x"), "", "empty value kept");
	ok(!netseg_labels_get(&l, "y"), "absent key");
	free(out);
	netseg_labels_free(&l);
	is_int(netseg_labels_parse("a=1,b=2,a=3", &l, &e), -EINVAL, "repeated key refused");
	is_str(e.msg, "label key \"a\" given twice", "message for a repeated key");
	is_int(e.col, 9, "column of the repeated key");
	is_int(netseg_labels_parse("a", &l, &e), -EINVAL, "key without '=' refused");
	is_str(e.msg, "expected '=' after the label key, found the end of the labels", "message");
	is_int(netseg_labels_parse("a=1,", &l, &e), -EINVAL, "trailing comma refused");
	is_int(e.col, 5, "column after the comma");
	is_int(netseg_labels_parse("", &l, &e), 0, "no labels");
	is_int(l.n, 0, "empty set");
}

struct match_row {
	const char *sel, *labels;
	bool want;
};

static const struct match_row match_rows[] = {
	{ "", "", true },
	{ "", "app=web", true },
	{ "app=web", "app=web,tier=front", true },
	{ "app=web", "app=db", false },
	{ "app=web", "", false },
	{ "app=", "app=", true },
	{ "app=", "app=x", false },
	{ "tier in (front,back)", "tier=back", true },
	{ "tier in (front,back)", "tier=db", false },
	{ "tier in (front,back)", "", false },
	{ "tier notin (front)", "", true },
	{ "tier notin (front)", "tier=front", false },
	{ "tier notin (front)", "tier=back", true },
	{ "env!=prod", "", true },
	{ "env!=prod", "env=prod", false },
	{ "role", "role=", true },
	{ "role", "", false },
	{ "!legacy", "", true },
	{ "!legacy", "legacy=true", false },
	{ "app=web,!legacy", "app=web,legacy=1", false },
	{ "a=1,a=2", "a=1", false },
};

static void test_match(void)
{
	struct netseg_labelsel s;
	struct netseg_labels l;
	struct netseg_err e;
	size_t i;

	for (i = 0; i < sizeof(match_rows) / sizeof(match_rows[0]); i++) {
		const struct match_row *r = &match_rows[i];

		if (netseg_labelsel_parse(r->sel, &s, &e) || netseg_labels_parse(r->labels, &l, &e))
			bail("table row %zu doesn't parse: %s", i, e.msg);
		is_int(netseg_labels_match(&s, &l), r->want, "\"%s\" %s {%s}", r->sel,
		       r->want ? "matches" : "doesn't match", r->labels);
		netseg_labelsel_free(&s);
		netseg_labels_free(&l);
	}
}

static void test_reqs(void)
{
	struct netseg_labelsel s;
	struct netseg_err e;
	const char *v[] = { "a" };

	netseg_labelsel_init(&s);
	is_int(netseg_labelsel_add_req(&s, "k", NETSEG_LABEL_IN, NULL, 0, &e), -EINVAL,
	       "In without values refused");
	is_str(e.msg, "operator In on key \"k\" needs at least one value", "message");
	is_int(netseg_labelsel_add_req(&s, "k", NETSEG_LABEL_EXISTS, v, 1, &e), -EINVAL,
	       "Exists with values refused");
	is_str(e.msg, "operator Exists on key \"k\" takes no values", "message");
	is_int(netseg_labelsel_add_req(&s, "k", NETSEG_LABEL_DOESNOTEXIST, NULL, 0, &e), 0,
	       "DoesNotExist without values");
	netseg_labelsel_free(&s);
}

int main(void)
{
	test_sel_good();
	test_sel_bad();
	test_keys_values();
	test_labels();
	test_match();
	test_reqs();
	return tap_done();
}
