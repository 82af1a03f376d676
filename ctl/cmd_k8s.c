// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kubernetes objects with kubectl's verbs (docs/kubernetes.md):
 *   apply -f FILE|- [--dry-run]             (a manifest; cmd_file.c decides)
 *   delete -f FILE|- [--ignore-not-found]
 *   delete networkpolicy|netpol NS/NAME | -n NS NAME [--ignore-not-found]
 *   delete namespace|ns NAME [--ignore-not-found]
 *   delete ID|RULE                          (a rule: the same as remove)
 *   get KIND[,KIND] [-n NS | -A] [-o yaml|json]
 * and the labels of endpoints:
 *   endpoint label IFACE [--namespace NS] KEY=VALUE...
 *   endpoint unlabel IFACE
 */
#define _GNU_SOURCE /* strchrnul */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>

#include "labels.h"
#include "netsegctl.h"
#include "output.h"

/* A top-level key of a YAML document: "apiVersion:" or "kind:" (quoted
 * or not) at the start of a line. */
static bool k8s_key_line(const char *l)
{
	const char *keys[] = { "apiVersion", "kind" };
	char q = *l == '"' || *l == '\'' ? *l : 0;

	l += !!q;
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(keys[i]);
		const char *p = l + n;

		if (strncmp(l, keys[i], n))
			continue;
		if (q && *p++ != q)
			continue;
		p += strspn(p, " \t");
		if (*p == ':')
			return true;
	}
	return false;
}

/*
 * A native rule file's lines start with allow, deny or '#', and a JSON
 * rule set refuses unknown fields: a line starting with a top-level
 * apiVersion or kind key can only be a manifest's.  A JSON manifest (one
 * line, say) is a top-level object with one of those members.  Anything
 * else is rules, and the rule parser says what is wrong with it.
 */
bool k8s_manifest(const char *text)
{
	const char *p = text;
	cJSON *j;
	bool yes;

	for (; *p; p = strchrnul(p, '\n'), p += !!*p)
		if (k8s_key_line(p))
			return true;
	p = text + strspn(text, " \t\r\n");
	if (*p != '{')
		return false;
	j = cJSON_Parse(p);
	yes = cJSON_IsObject(j) && (cJSON_GetObjectItemCaseSensitive(j, "apiVersion") ||
				    cJSON_GetObjectItemCaseSensitive(j, "kind"));
	cJSON_Delete(j);
	return yes;
}

/* "networkpolicy.networking.k8s.io/NS/NAME", "namespace/NAME". */
static void obj_name(const cJSON *x, char *buf, size_t len)
{
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "kind"));
	const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "namespace"));
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "name"));

	if (kind && !strcmp(kind, "Namespace"))
		snprintf(buf, len, "namespace/%s", name ? name : "?");
	else
		snprintf(buf, len, "networkpolicy.networking.k8s.io/%s/%s", ns ? ns : "?",
			 name ? name : "?");
}

static bool dry_run_reply(const cJSON *reply)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "dry_run"));
}

/* One line per object, as kubectl prints them: "KIND/NAME RESULT". */
static int print_objects(const cJSON *reply)
{
	const cJSON *objs = cJSON_GetObjectItemCaseSensitive(reply, "objects"), *x;
	char name[600];
	const char *res;

	if (!cJSON_IsArray(objs))
		return proto_err("\"objects\" is not an array");
	cJSON_ArrayForEach(x, objs) {
		res = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "result"));
		/* --ignore-not-found: kubectl says nothing of those. */
		if (res && !strcmp(res, "not found"))
			continue;
		obj_name(x, name, sizeof(name));
		fput_clean(name, stdout);
		putchar(' ');
		fput_clean(res ? res : "?", stdout);
		fputs(dry_run_reply(reply) ? " (dry run)\n" : "\n", stdout);
	}
	return 0;
}

int k8s_apply(const char *path, const char *text, bool dry_run)
{
	cJSON *req;
	int code = text_req("k8s.apply", path, text, &req);

	if (code)
		return code;
	if (!cJSON_AddBoolToObject(req, "dry_run", dry_run)) {
		cJSON_Delete(req);
		req = NULL;
	}
	return ctl_run(req, print_objects);
}

/* ------------------------------------------------------------ delete */

enum { KIND_POLICY = 1, KIND_NAMESPACE = 2 };

/* kubectl's names for the two kinds, singular, plural, short. */
static int kind_word(const char *w)
{
	static const char *const pol[] = { "networkpolicy", "networkpolicies", "netpol",
					   "networkpolicy.networking.k8s.io",
					   "networkpolicies.networking.k8s.io" };
	static const char *const ns[] = { "namespace", "namespaces", "ns" };

	for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++)
		if (!strcasecmp(w, pol[i]))
			return KIND_POLICY;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if (!strcasecmp(w, ns[i]))
			return KIND_NAMESPACE;
	return 0;
}

static int delete_file(int argc, char **argv)
{
	const char *file = NULL;
	bool ignore = false;
	cJSON *req;
	char *text;
	int code;

	code = file_flag_args(argc, argv, "--ignore-not-found", &ignore, &file);
	if (code)
		return code;
	code = file_text(file, &text);
	if (code)
		return code;
	if (!k8s_manifest(text)) {
		free(text);
		p_err("%s holds no Kubernetes objects (no apiVersion or kind); rules are removed one at a time with 'remove ID|RULE', or replaced with 'apply -f'",
		      file_label(file));
		return CTL_EXIT_USAGE;
	}
	code = text_req("k8s.delete", file, text, &req);
	free(text);
	if (code)
		return code;
	if (!cJSON_AddBoolToObject(req, "ignore_not_found", ignore)) {
		cJSON_Delete(req);
		req = NULL;
	}
	return ctl_run(req, print_objects);
}

/* delete networkpolicy NS/NAME (or -n NS NAME), delete namespace NAME */
static int delete_named(int kind, int argc, char **argv)
{
	const char *what = NULL, *slash, *nsflag = NULL, *name;
	bool ignore = false;
	char ns[256];
	cJSON *req;
	int ret;

	for (int i = 0; i < argc; i++) {
		ret = arg_value(argc, argv, &i, "-n", &nsflag);
		if (!ret)
			ret = arg_value(argc, argv, &i, "--namespace", &nsflag);
		if (ret < 0)
			return CTL_EXIT_USAGE;
		if (ret)
			continue;
		if (!strcmp(argv[i], "--ignore-not-found"))
			ignore = true;
		else if (!what)
			what = argv[i];
		else
			return usage_err("unexpected argument '%s'", argv[i]);
	}
	if (!what)
		return usage_err("missing the %s", kind == KIND_POLICY ? "NAMESPACE/NAME" : "NAME");
	slash = strchr(what, '/');
	if (kind == KIND_NAMESPACE && (slash || nsflag))
		return usage_err("a namespace is named NAME, in no namespace: '%s'%s", what,
				 nsflag ? " with -n" : "");
	if (kind == KIND_POLICY && nsflag && slash)
		return usage_err("the namespace twice: -n %s and '%s'", nsflag, what);
	name = what;
	if (kind == KIND_POLICY && nsflag) {
		snprintf(ns, sizeof(ns), "%s", nsflag);
	} else if (kind == KIND_POLICY) {
		if (!slash || slash == what || !slash[1])
			return usage_err(
				"a network policy is NAMESPACE/NAME or -n NAMESPACE NAME, not '%s'",
				what);
		if ((size_t)(slash - what) >= sizeof(ns))
			return usage_err("namespace too long in '%s'", what);
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - what), what);
		name = slash + 1;
	}
	if (kind == KIND_POLICY && strchr(name, '/'))
		return usage_err("a network policy's name has no '/': '%s'", what);
	req = req_new("k8s.delete");
	if (req && kind == KIND_POLICY) {
		if (!cJSON_AddStringToObject(req, "kind", "NetworkPolicy") ||
		    !cJSON_AddStringToObject(req, "namespace", ns) ||
		    !cJSON_AddStringToObject(req, "name", name)) {
			cJSON_Delete(req);
			req = NULL;
		}
	} else if (req && (!cJSON_AddStringToObject(req, "kind", "Namespace") ||
			   !cJSON_AddStringToObject(req, "name", what))) {
		cJSON_Delete(req);
		req = NULL;
	}
	if (req && !cJSON_AddBoolToObject(req, "ignore_not_found", ignore)) {
		cJSON_Delete(req);
		req = NULL;
	}
	return ctl_run(req, print_objects);
}

int do_delete(int argc, char **argv)
{
	int kind;

	if (argc < 1)
		return usage_err("missing what to delete");
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-f") || !strncmp(argv[i], "-f=", 3) ||
		    !strcmp(argv[i], "--file") || !strncmp(argv[i], "--file=", 7))
			return delete_file(argc, argv);
	kind = kind_word(argv[0]);
	if (kind)
		return delete_named(kind, argc - 1, argv + 1);
	/* `delete 7`, `delete 'a->b:80'`: what delete always meant. */
	return do_remove(argc, argv);
}

/* --------------------------------------------------------------- get */

#define NCOLS(c) (sizeof(c) / sizeof((c)[0]))

static const char *get_ns;

static void selector_cell(const cJSON *row, char *buf, size_t len)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "pod_selector"));

	/* kubectl's word for the empty selector, which selects every pod. */
	snprintf(buf, len, "%s", s && *s ? s : "<none>");
}

static void revision_cell(const cJSON *row, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "revision");

	if (cJSON_IsNumber(v) && v->valuedouble > 0)
		cell_text(v, buf, len);
	else
		snprintf(buf, len, "-"); /* not known (from before revisions were kept) */
}

static const struct out_col pol_cols[] = {
	OUT_COL("NAMESPACE", "namespace"),	   OUT_COL("NAME", "name"),
	OUT_COL_FN("POD-SELECTOR", selector_cell), OUT_COL("POLICY-TYPES", "policy_types"),
	OUT_COL_FN("REVISION", revision_cell),
};

static const struct out_col ns_cols[] = {
	OUT_COL("NAME", "name"),
	OUT_COL("LABELS", "labels"),
	OUT_COL_FN("REVISION", revision_cell),
};

/* The rows of one kind, as an array the caller deletes; NULL on ENOMEM. */
static cJSON *rows_of(const cJSON *items, const char *kind)
{
	cJSON *a = cJSON_CreateArray(), *x;
	const cJSON *it;

	cJSON_ArrayForEach(it, items) {
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "kind"));

		if (!a || !k || strcmp(k, kind))
			continue;
		x = cJSON_Duplicate(it, true);
		if (!x || !cJSON_AddItemToArray(a, x)) {
			cJSON_Delete(x);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

static int print_get(const cJSON *reply)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(reply, "items");
	const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "text"));
	cJSON *ns, *pol;
	int ret = -ENOMEM;

	if (text && out_json()) {
		/* Through print_json: -o json-compact is one line here too. */
		cJSON *list = cJSON_Parse(text);
		int ret = list ? print_json(list) : proto_err("\"text\" is not JSON");

		cJSON_Delete(list);
		return ret;
	}
	if (text) {
		fputs(text, stdout);
		return 0;
	}
	if (!cJSON_IsArray(items))
		return proto_err("neither \"items\" nor \"text\" in the reply");
	if (!cJSON_GetArraySize(items)) {
		/* As kubectl: on stderr, so a pipe sees no table. */
		fprintf(stderr, "No resources found%s%s%s.\n", get_ns ? " in " : "",
			get_ns ? get_ns : "", get_ns ? " namespace" : "");
		return 0;
	}
	ns = rows_of(items, "Namespace");
	pol = rows_of(items, "NetworkPolicy");
	if (ns && pol) {
		ret = 0;
		if (cJSON_GetArraySize(ns))
			ret = print_rows(ns, "items", ns_cols, NCOLS(ns_cols));
		if (!ret && cJSON_GetArraySize(ns) && cJSON_GetArraySize(pol))
			putchar('\n');
		if (!ret && cJSON_GetArraySize(pol))
			ret = print_rows(pol, "items", pol_cols, NCOLS(pol_cols));
	}
	cJSON_Delete(ns);
	cJSON_Delete(pol);
	return ret;
}

/* Every format through print_get(): with -o json too, the List itself
 * is printed, as kubectl does, not the reply around it. */
static int get_call(cJSON *req)
{
	cJSON *reply = NULL;
	int code;

	if (!req) {
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	code = ctl_call(req, &reply);
	cJSON_Delete(req);
	if (!code && print_get(reply))
		code = CTL_EXIT_INTERNAL;
	cJSON_Delete(reply);
	return code;
}

/* KIND[,KIND]: KIND_POLICY | KIND_NAMESPACE, 0 if a word is unknown. */
static int kinds_parse(const char *list)
{
	char *dup = strdup(list), *save = NULL, *w;
	int kinds = 0, k;

	if (!dup)
		return 0;
	for (w = strtok_r(dup, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		k = kind_word(w);
		if (!k) {
			kinds = 0;
			break;
		}
		kinds |= k;
	}
	free(dup);
	return kinds;
}

int do_get(int argc, char **argv)
{
	const char *list = NULL, *ns = NULL;
	int kinds, ret;
	cJSON *req;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-A") || !strcmp(argv[i], "--all-namespaces")) {
			ns = NULL;
			continue;
		}
		ret = arg_value(argc, argv, &i, "-n", &ns);
		if (!ret)
			ret = arg_value(argc, argv, &i, "--namespace", &ns);
		if (ret < 0)
			return CTL_EXIT_USAGE;
		if (ret)
			continue;
		if (list)
			return usage_err("unexpected argument '%s'", argv[i]);
		list = argv[i];
	}
	if (!list)
		return usage_err("missing what to get: networkpolicies or namespaces");
	kinds = kinds_parse(list);
	if (!kinds)
		return usage_err(
			"unknown kind in '%s' (expected networkpolicies (netpol), namespaces (ns) or both, comma-separated)",
			list);
	if (learn_format && strcmp(learn_format, "yaml"))
		return usage_err("get has no %s output; use -o yaml or -o json", learn_format);
	get_ns = ns;
	req = req_new("k8s.get");
	if (req &&
	    ((kinds == KIND_POLICY && !cJSON_AddStringToObject(req, "kind", "NetworkPolicy")) ||
	     (kinds == KIND_NAMESPACE && !cJSON_AddStringToObject(req, "kind", "Namespace")) ||
	     (ns && !cJSON_AddStringToObject(req, "namespace", ns)) ||
	     !cJSON_AddStringToObject(req, "format",
				      learn_format ? "yaml" :
				      out_json()   ? "json" :
						     "table"))) {
		cJSON_Delete(req);
		req = NULL;
	}
	return get_call(req);
}
