// SPDX-License-Identifier: GPL-2.0-only
/*
 * check -f FILE [--offline]: parse and compile a rule file here.
 *
 * Here every identity name is accepted, so what is checked is the grammar,
 * the flags, the rule ids and whether the compiled policy fits the map.
 * Parse errors are all reported, as "FILE:line:col: message"; the compiler
 * stops at its first.  Then, unless --offline, a reachable netsegd checks
 * the names against its identities (an `apply --dry-run`, which changes
 * nothing); without one the output says the identities were not checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "compile.h"
#include "ctlproto.h"
#include "netsegctl.h"
#include "output.h"
#include "rule.h"
#include "text.h"

/* Every selector of the rule set, sorted and unique: the resolver gives
 * each its own id, so the compiled size is the one the daemon will see. */
struct names {
	const char **v;
	size_t n;
};

static int names_collect(const struct netseg_ruleset *rs, struct names *nm)
{
	size_t i, n = 0;

	nm->v = malloc((2 * rs->n + 1) * sizeof(*nm->v));
	if (!nm->v)
		return -ENOMEM;
	for (i = 0; i < rs->n; i++) {
		nm->v[n++] = rs->rules[i].src;
		nm->v[n++] = rs->rules[i].dst;
	}
	qsort(nm->v, n, sizeof(*nm->v), netseg_strp_cmp);
	nm->n = 0;
	for (i = 0; i < n; i++)
		if (!nm->n || strcmp(nm->v[nm->n - 1], nm->v[i]))
			nm->v[nm->n++] = nm->v[i];
	return 0;
}

static int resolve_any(const char *sel, __u32 *id, void *ctx)
{
	const struct names *nm = ctx;
	const char **hit = bsearch(&sel, nm->v, nm->n, sizeof(*nm->v), netseg_strp_cmp);

	if (!hit)
		return -ENOENT;
	*id = NETSEG_ID_USER_MIN + (__u32)(hit - nm->v);
	return 0;
}

/* Rules without an id get one after the highest id the file gave. */
static void assign_ids(struct netseg_ruleset *rs)
{
	__u32 next = 1;
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (rs->rules[i].id >= next)
			next = rs->rules[i].id + 1;
	netseg_ruleset_assign_ids(rs, &next);
}

/*
 * The same test as lib/ruleset.c uses to pick the JSON parser (it is not
 * exported): a ".json" name, or content that opens with '{' or '['.
 */
static bool is_json(const char *name, const char *buf)
{
	size_t n = strlen(name);

	if (n >= 5 && !strcmp(name + n - 5, ".json"))
		return true;
	buf += strspn(buf, " \t\r\n");
	return *buf == '{' || *buf == '[';
}

static int compile_error(const char *file, const char *buf, const struct netseg_err *e,
			 struct netseg_errlist *errs)
{
	if (e->rule < 0)
		return netseg_errlist_add(errs, "%s: %s", file, e->msg);
	/* Only JSON rules carry ids, the one per-rule thing the compiler
	 * can refuse once every name is accepted. */
	if (is_json(file, buf))
		return netseg_errlist_add(errs, "%s: rules[%ld]: %s", file, e->rule, e->msg);
	return netseg_errlist_add(errs, "%s: rule %ld: %s", file, e->rule + 1, e->msg);
}

/* Compile with every name accepted; 0, or an error added to @errs. */
static int compile_all(const char *file, const char *buf, struct netseg_ruleset *rs,
		       size_t *entries, struct netseg_errlist *errs)
{
	struct netseg_policy pol = { 0 };
	struct netseg_err e = { .rule = -1 };
	struct names nm = { 0 };
	struct netseg_resolver res = { .resolve = resolve_any, .ctx = &nm };
	int ret;

	ret = names_collect(rs, &nm);
	if (ret)
		return ret;
	assign_ids(rs);
	ret = netseg_compile(rs->rules, rs->n, &res, 0, &pol, &e);
	*entries = pol.n;
	if (ret && ret != -ENOMEM)
		ret = compile_error(file, buf, &e, errs);
	netseg_policy_free(&pol);
	free(nm.v);
	return ret;
}

/* How far the identities were checked, for the report. */
struct id_check {
	bool checked;
	char note[512];
};

/*
 * The daemon's own dry run of the file: its identities, its compiler.
 * CTL_EXIT_OK with @ic filled, or the exit code of a refusal (reported).
 */
static int check_identities(const char *file, const char *buf, bool offline, struct id_check *ic)
{
	cJSON *req, *reply = NULL;
	int fd, code;

	if (offline) {
		snprintf(ic->note, sizeof(ic->note), "identities not checked (--offline)");
		return CTL_EXIT_OK;
	}
	fd = netseg_ctl_connect(ctl.sock);
	if (fd < 0) {
		snprintf(ic->note, sizeof(ic->note),
			 "identities not checked (no daemon at %s); use --offline to skip this",
			 ctl.sock);
		return CTL_EXIT_OK;
	}
	close(fd);
	req = req_new("apply");
	if (req && (!cJSON_AddStringToObject(req, "name", file) ||
		    !cJSON_AddStringToObject(req, "text", buf) ||
		    !cJSON_AddBoolToObject(req, "dry_run", true))) {
		cJSON_Delete(req);
		req = NULL;
	}
	if (!req) {
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	code = ctl_call(req, &reply);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	if (code)
		return code;
	ic->checked = true;
	snprintf(ic->note, sizeof(ic->note), "identities checked by netsegd at %s", ctl.sock);
	return CTL_EXIT_OK;
}

static int report(const char *file, size_t nrules, size_t entries,
		  const struct netseg_errlist *errs, const struct id_check *ic)
{
	char msg[512];
	cJSON *o;

	if (errs->n) {
		snprintf(msg, sizeof(msg), "%s: %zu error%s", file, errs->n,
			 errs->n == 1 ? "" : "s");
		p_err_list(msg, (const char *const *)errs->msgs, errs->n);
		return CTL_EXIT_REJECTED;
	}
	if (!out_json()) {
		printf("%s: %zu rules, %zu policy map entries: ok; %s\n", file, nrules, entries,
		       ic->note);
		return CTL_EXIT_OK;
	}
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "name", file) ||
	    !cJSON_AddNumberToObject(o, "rules", nrules) ||
	    !cJSON_AddNumberToObject(o, "entries", entries) ||
	    !cJSON_AddBoolToObject(o, "identities_checked", ic->checked) ||
	    !cJSON_AddStringToObject(o, "identities", ic->note) || print_json(o)) {
		cJSON_Delete(o);
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	cJSON_Delete(o);
	return CTL_EXIT_OK;
}

static int check_buf(const char *file, const char *buf, size_t len, bool offline)
{
	struct netseg_ruleset rs = { 0 };
	struct netseg_errlist errs = { 0 };
	struct id_check ic = { 0 };
	size_t entries = 0;
	int ret, code;

	ret = netseg_ruleset_parse_buf(file, buf, len, &rs, &errs);
	/* Compiling what parsed would report on a rule set that isn't
	 * the file's: only a clean parse is compiled. */
	if (!ret)
		ret = compile_all(file, buf, &rs, &entries, &errs);
	if (ret == -ENOMEM) {
		p_err("out of memory checking %s", file);
		code = CTL_EXIT_INTERNAL;
	} else {
		code = errs.n ? CTL_EXIT_OK : check_identities(file, buf, offline, &ic);
		if (!code)
			code = report(file, rs.n, entries, &errs, &ic);
	}
	netseg_ruleset_free(&rs);
	netseg_errlist_free(&errs);
	return code;
}

int do_check(int argc, char **argv)
{
	const char *file = NULL;
	bool offline = false;
	char *buf;
	size_t len;
	int ret;

	ret = file_flag_args(argc, argv, "--offline", &offline, &file);
	if (ret)
		return ret;
	ret = read_file(file, &buf, &len);
	file = file_label(file);
	if (ret) {
		p_err("couldn't read %s: %s", file, strerror(-ret));
		return ret == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_USAGE;
	}
	ret = check_buf(file, buf, len, offline);
	free(buf);
	return ret;
}
