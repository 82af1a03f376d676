// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rules one at a time (add, remove, set, list) and whole rule sets (apply,
 * diff).  Every change is a candidate rule set through cmd_commit().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "log.h"
#include "netsegd.h"

static cJSON *rule_json(const struct netseg_rule *r)
{
	cJSON *o = cJSON_CreateObject();
	char text[1024];

	netseg_rule_format(r, text, sizeof(text));
	cJSON_AddNumberToObject(o, "id", r->id);
	cJSON_AddStringToObject(o, "action", cmd_verdict_name(r->action));
	cJSON_AddStringToObject(o, "rule", text);
	cJSON_AddBoolToObject(o, "audit", r->flags & NETSEG_RULEF_AUDIT);
	cJSON_AddBoolToObject(o, "log", r->flags & NETSEG_RULEF_LOG);
	cJSON_AddStringToObject(o, "comment", r->comment);
	return o;
}

/* The flags and comment of @to that differ from @from, as strings. */
static cJSON *changes_json(const struct netseg_rule *from, const struct netseg_rule *to,
			   unsigned int *n)
{
	char ch[NETSEG_RULE_CHANGES_MAX][NETSEG_RULE_CHANGE_LEN];
	cJSON *a = cJSON_CreateArray();

	*n = netseg_rule_changes(from, to, ch);
	for (unsigned int i = 0; i < *n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(ch[i]));
	return a;
}

/*
 * An allow/deny of a rule that exists: the rule as typed (flags and
 * comment) replaces it, as `apply` of a file holding it would, and the
 * reply says what changed -- or that nothing did.
 */
static cJSON *rule_update(struct netsegd *d, size_t i, const struct netseg_rule *r)
{
	const struct netseg_rule *cur = &d->pol.rules.rules[i];
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	unsigned int n;
	cJSON *ch = changes_json(cur, r, &n), *o;
	__u32 id = cur->id;

	if (!n) {
		o = cmd_reply_ok();
		cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	} else {
		if (netseg_idstore_copy(&ids, &d->pol.ids) ||
		    cmd_ruleset_copy(&rules, &d->pol.rules)) {
			cJSON_Delete(ch);
			return netsegd_reply_error("internal", "out of memory");
		}
		rules.rules[i].flags = r->flags;
		strcpy(rules.rules[i].comment, r->comment);
		if (cmd_commit(d, &rules, &ids, &o)) {
			cJSON_Delete(ch);
			return o;
		}
	}
	cJSON_AddNumberToObject(o, "id", id);
	cJSON_AddBoolToObject(o, "existing", true);
	cJSON_AddBoolToObject(o, "updated", n > 0);
	cJSON_AddItemToObject(o, "changes", ch);
	return o;
}

cJSON *cmd_rule_add(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const char *action = cmd_arg_str(req, "action"), *text = cmd_arg_str(req, "rule");
	const char *comment = cmd_arg_str(req, "comment");
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	struct netseg_err err = {};
	struct netseg_rule r;
	cJSON *o;

	if (!action || (strcmp(action, "allow") && strcmp(action, "deny")) || !text)
		return netsegd_reply_error("usage", "rule.add needs action allow|deny and a rule");
	netseg_rule_init(&r);
	if (netseg_rule_parse(text, &r, &err))
		return netsegd_reply_error("rejected", "%d: %s", err.col, err.msg);
	r.action = strcmp(action, "allow") ? NETSEG_VERDICT_DENY : NETSEG_VERDICT_ALLOW;
	if (cmd_arg_bool(req, "audit")) {
		if (r.action == NETSEG_VERDICT_DENY)
			return netsegd_reply_error(
				"rejected",
				"--audit applies to allow rules only; put the identity in audit mode to test denies");
		r.flags |= NETSEG_RULEF_AUDIT;
	}
	if (cmd_arg_bool(req, "log"))
		r.flags |= NETSEG_RULEF_LOG;
	/* Checked like a .rules comment: never cut, never stored with a
	 * control character the state file would refuse on the next start. */
	if (comment && netseg_comment_check(comment, &err))
		return netsegd_reply_error("rejected", "%s", err.msg);
	if (comment)
		strcpy(r.comment, comment);
	for (size_t i = 0; i < d->pol.rules.n; i++)
		if (netseg_rule_same(&d->pol.rules.rules[i], &r))
			return rule_update(d, i, &r);
	r.id = d->pol.next_rule_id;
	if (netseg_idstore_copy(&ids, &d->pol.ids) || cmd_ruleset_copy(&rules, &d->pol.rules) ||
	    netseg_ruleset_add(&rules, &r))
		return netsegd_reply_error("internal", "out of memory");
	d->pol.next_rule_id++;
	if (cmd_commit(d, &rules, &ids, &o)) {
		d->pol.next_rule_id--;
		return o;
	}
	cJSON_AddNumberToObject(o, "id", r.id);
	cJSON_AddBoolToObject(o, "existing", false);
	return o;
}

static long find_rule(struct netsegd *d, const char *target, struct netseg_err *err)
{
	struct netseg_rule r;
	char *end;
	unsigned long id = strtoul(target, &end, 10);

	if (*target && !*end) {
		for (size_t i = 0; i < d->pol.rules.n; i++)
			if (d->pol.rules.rules[i].id == id)
				return i;
		netseg_err_set(err, 0, "no rule with id %lu", id);
		return -1;
	}
	if (!strncmp(target, "allow ", 6) || !strncmp(target, "deny ", 5))
		target = strchr(target, ' ') + 1;
	netseg_rule_init(&r);
	if (netseg_rule_parse(target, &r, err))
		return -1;
	for (int a = NETSEG_VERDICT_ALLOW; a <= NETSEG_VERDICT_DENY; a++) {
		r.action = a;
		for (size_t i = 0; i < d->pol.rules.n; i++) {
			struct netseg_rule x = d->pol.rules.rules[i];

			x.flags = r.flags; /* flags don't make a rule different */
			if (netseg_rule_same(&x, &r))
				return i;
		}
	}
	netseg_err_set(err, 0, "no rule matches \"%s\"", target);
	return -1;
}

cJSON *cmd_rule_remove(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const char *target = cmd_arg_str(req, "target");
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	struct netseg_err err = {};
	long i;
	__u32 id;
	cJSON *o;

	if (!target)
		return netsegd_reply_error("usage", "remove needs a rule id or rule text");
	i = find_rule(d, target, &err);
	if (i < 0)
		return netsegd_reply_error("rejected", "%s", err.msg);
	id = d->pol.rules.rules[i].id;
	if (netseg_idstore_copy(&ids, &d->pol.ids) || cmd_ruleset_copy(&rules, &d->pol.rules))
		return netsegd_reply_error("internal", "out of memory");
	rules.rules[i] = rules.rules[--rules.n];
	if (!cmd_commit(d, &rules, &ids, &o))
		cJSON_AddNumberToObject(o, "removed", id);
	return o;
}

/*
 * `rule set ID`: change a rule's flags or comment in place, keeping its
 * id, through the same update as an allow of an existing rule.  Only the
 * fields the request names change.
 */
cJSON *cmd_rule_set(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const cJSON *id = cJSON_GetObjectItem(req, "id");
	const cJSON *audit = cJSON_GetObjectItem(req, "audit");
	const cJSON *log = cJSON_GetObjectItem(req, "log");
	const cJSON *comment = cJSON_GetObjectItem(req, "comment");
	struct netseg_err err = {};
	struct netseg_rule r;
	size_t i;

	if (!cJSON_IsNumber(id) || (audit && !cJSON_IsBool(audit)) || (log && !cJSON_IsBool(log)) ||
	    (comment && !cJSON_IsString(comment)))
		return netsegd_reply_error(
			"usage",
			"rule.set needs a numeric id and boolean audit/log or a string comment");
	if (!audit && !log && !comment)
		return netsegd_reply_error("usage", "rule.set needs audit, log or comment");
	for (i = 0; i < d->pol.rules.n; i++)
		if (d->pol.rules.rules[i].id == id->valuedouble)
			break;
	if (i == d->pol.rules.n)
		return netsegd_reply_error("rejected", "no rule with id %.0f", id->valuedouble);
	r = d->pol.rules.rules[i];
	if (cJSON_IsTrue(audit) && r.action == NETSEG_VERDICT_DENY)
		return netsegd_reply_error(
			"rejected",
			"rule %u is a deny rule: --audit applies to allow rules only; put the identity in audit mode to test denies",
			r.id);
	if (audit)
		r.flags = cJSON_IsTrue(audit) ? r.flags | NETSEG_RULEF_AUDIT :
						r.flags & ~NETSEG_RULEF_AUDIT;
	if (log)
		r.flags = cJSON_IsTrue(log) ? r.flags | NETSEG_RULEF_LOG :
					      r.flags & ~NETSEG_RULEF_LOG;
	/* Checked like a .rules comment, as rule.add does. */
	if (comment && netseg_comment_check(comment->valuestring, &err))
		return netsegd_reply_error("rejected", "%s", err.msg);
	if (comment)
		strcpy(r.comment, comment->valuestring);
	return rule_update(d, i, &r);
}

cJSON *cmd_rule_list(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	cJSON *o = cmd_reply_ok(), *a = cJSON_CreateArray();

	for (size_t i = 0; i < d->pol.rules.n; i++)
		cJSON_AddItemToArray(a, rule_json(&d->pol.rules.rules[i]));
	cJSON_AddItemToObject(o, "rules", a);
	cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	return o;
}

/* Parse a request's rule file; rules equal to current ones keep their id. */
/* 0 and the parsed rules in *rs, or -1 and the error reply in *err (NULL
 * when even that couldn't be allocated: a NULL reply must not read as
 * success, or apply would go on with an unset rule set). */
static int parse_request_rules(struct netsegd *d, const cJSON *req, struct netseg_ruleset *rs,
			       const char **name, cJSON **err)
{
	const char *text = cmd_arg_str(req, "text");
	struct netseg_errlist errs = {};

	*name = cmd_arg_str(req, "name") ?: "request";
	memset(rs, 0, sizeof(*rs));
	if (!text) {
		*err = netsegd_reply_error("usage", "apply needs the rule file text");
		return -1;
	}
	if (netseg_ruleset_parse_buf(*name, text, strlen(text), rs, &errs)) {
		*err = errs.n ? cmd_errors_reply(&errs, *name) :
				netsegd_reply_error("internal", "out of memory");
		netseg_errlist_free(&errs);
		netseg_ruleset_free(rs);
		return -1;
	}
	for (size_t i = 0; i < rs->n; i++) {
		rs->rules[i].id = 0;
		for (size_t j = 0; j < d->pol.rules.n; j++)
			if (netseg_rule_same(&rs->rules[i], &d->pol.rules.rules[j]))
				rs->rules[i].id = d->pol.rules.rules[j].id;
	}
	return 0;
}

static bool has_same(const struct netseg_ruleset *rs, const struct netseg_rule *r)
{
	for (size_t i = 0; i < rs->n; i++)
		if (netseg_rule_same(&rs->rules[i], r))
			return true;
	return false;
}

static size_t count_missing(const struct netseg_ruleset *a, const struct netseg_ruleset *b)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		n += !has_same(b, &a->rules[i]);
	return n;
}

/* The current rule a file's rule took its id from (parse_request_rules). */
static const struct netseg_rule *current_rule(const struct netsegd *d, __u32 id)
{
	for (size_t i = 0; id && i < d->pol.rules.n; i++)
		if (d->pol.rules.rules[i].id == id)
			return &d->pol.rules.rules[i];
	return NULL;
}

/* Rules of @rs that exist with other flags or another comment. */
static size_t count_changed(const struct netsegd *d, const struct netseg_ruleset *rs)
{
	char ch[NETSEG_RULE_CHANGES_MAX][NETSEG_RULE_CHANGE_LEN];
	const struct netseg_rule *cur;
	size_t n = 0;

	for (size_t i = 0; i < rs->n; i++) {
		cur = current_rule(d, rs->rules[i].id);
		n += cur && netseg_rule_changes(cur, &rs->rules[i], ch);
	}
	return n;
}

cJSON *cmd_apply(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const cJSON *exp = cJSON_GetObjectItem(req, "expect_revision");
	struct netseg_policy pol = {};
	struct netseg_ruleset rs;
	struct netseg_idstore ids;
	struct netseg_resolver res;
	struct netseg_err err = {};
	size_t added, removed, changed, nrules;
	const char *name, **names;
	__u32 next_id = d->pol.next_rule_id;
	cJSON *o;
	int r;

	if (exp && !cJSON_IsNumber(exp))
		return netsegd_reply_error("usage", "expect_revision must be a number");
	if (exp && exp->valuedouble != (double)d->pol.revision)
		return netsegd_reply_error(
			"rejected",
			"revision is %llu, not %.0f: someone else changed the rules; re-read and retry",
			(unsigned long long)d->pol.revision, exp->valuedouble);
	if (parse_request_rules(d, req, &rs, &name, &o))
		return o;
	added = count_missing(&rs, &d->pol.rules);
	removed = count_missing(&d->pol.rules, &rs);
	changed = count_changed(d, &rs);
	nrules = rs.n;
	/* On a copy: a dry run (or a failed apply) must not use up ids. */
	netseg_ruleset_assign_ids(&rs, &next_id);
	if (netseg_idstore_copy(&ids, &d->pol.ids)) {
		netseg_ruleset_free(&rs);
		return netsegd_reply_error("internal", "out of memory");
	}
	if (!added && !removed && !changed && !cmd_arg_bool(req, "dry_run")) {
		/* Nothing to swap in: the revision stays what it is. */
		netseg_ruleset_free(&rs);
		netseg_idstore_free(&ids);
		o = cmd_reply_ok();
		cJSON_AddBoolToObject(o, "unchanged", true);
		cJSON_AddNumberToObject(o, "entries", d->pol.entries);
	} else if (cmd_arg_bool(req, "dry_run")) {
		netsegd_resolver(d, &ids, &res, &names);
		r = netseg_compile(rs.rules, rs.n, &res, d->cfg.max_entries, &pol, &err);
		free(names);
		netseg_ruleset_free(&rs);
		netseg_idstore_free(&ids);
		if (r)
			return netsegd_reply_error("rejected", "%s: %s", name, err.msg);
		o = cmd_reply_ok();
		cJSON_AddNumberToObject(o, "entries", pol.n);
		netseg_policy_free(&pol);
	} else {
		__u32 saved = d->pol.next_rule_id;

		d->pol.next_rule_id = next_id; /* saved with the state */
		if (cmd_commit(d, &rs, &ids, &o)) {
			d->pol.next_rule_id = saved;
			return o;
		}
		cJSON_AddNumberToObject(o, "entries", d->pol.entries);
	}
	cJSON_AddNumberToObject(o, "rules", nrules);
	cJSON_AddNumberToObject(o, "added", added);
	cJSON_AddNumberToObject(o, "removed", removed);
	cJSON_AddNumberToObject(o, "changed", changed);
	if (!cJSON_GetObjectItem(o, "revision"))
		cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	return o;
}

cJSON *cmd_diff(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	struct netseg_ruleset rs;
	const struct netseg_rule *cur;
	cJSON *o, *add, *rem, *chg, *x;
	const char *name;
	unsigned int n;

	if (parse_request_rules(d, req, &rs, &name, &o))
		return o;
	o = cmd_reply_ok();
	add = cJSON_AddArrayToObject(o, "added");
	rem = cJSON_AddArrayToObject(o, "removed");
	chg = cJSON_AddArrayToObject(o, "changed");
	for (size_t i = 0; i < rs.n; i++) {
		cur = current_rule(d, rs.rules[i].id);
		if (!cur)
			continue;
		x = rule_json(&rs.rules[i]);
		cJSON_AddItemToObject(x, "changes", changes_json(cur, &rs.rules[i], &n));
		if (n)
			cJSON_AddItemToArray(chg, x);
		else
			cJSON_Delete(x);
	}
	for (size_t i = 0; i < rs.n; i++)
		if (!has_same(&d->pol.rules, &rs.rules[i]))
			cJSON_AddItemToArray(add, rule_json(&rs.rules[i]));
	for (size_t i = 0; i < d->pol.rules.n; i++)
		if (!has_same(&rs, &d->pol.rules.rules[i]))
			cJSON_AddItemToArray(rem, rule_json(&d->pol.rules.rules[i]));
	netseg_ruleset_free(&rs);
	return o;
}
