// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kubernetes NetworkPolicy and Namespace objects with kubectl's verbs:
 *   k8s.apply  {name, text, dry_run}          merge a file's objects
 *   k8s.delete {name, text, ignore_not_found}  remove a file's objects
 *   k8s.delete {kind, namespace, name}         remove one
 *   k8s.get    {kind?, namespace?, format}     yaml, json or table rows
 * A change is a candidate copy of the objects in force, merged or cut,
 * made the one in force by netsegd_k8s_commit_objs(): all or nothing.
 * docs/kubernetes.md says what is imported and what is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "netsegd.h"

static const char *kind_name(enum netseg_k8s_kind k)
{
	return k == NETSEG_K8S_NAMESPACE ? "Namespace" : "NetworkPolicy";
}

/* How kubectl names a kind before "/NAME". */
static const char *display(int k)
{
	return k == NETSEG_K8S_NAMESPACE ? "namespace/" : "networkpolicy.networking.k8s.io/";
}

/* "NetworkPolicy", "Namespace" (as in a manifest); -1 for anything else. */
static int kind_parse(const char *s)
{
	if (s && !strcmp(s, "NetworkPolicy"))
		return NETSEG_K8S_POLICY;
	if (s && !strcmp(s, "Namespace"))
		return NETSEG_K8S_NAMESPACE;
	return -1;
}

/* {"kind", "namespace" (policies only), "name", "line"}, the object a
 * reply reports on. */
static cJSON *obj_ref(enum netseg_k8s_kind kind, const char *ns, const char *name, int line)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "kind", kind_name(kind));
	if (kind == NETSEG_K8S_POLICY)
		cJSON_AddStringToObject(o, "namespace", ns);
	cJSON_AddStringToObject(o, "name", name);
	if (line > 0)
		cJSON_AddNumberToObject(o, "line", line);
	return o;
}

/* Every object of @o as obj_ref()s, in file order (a file's namespaces
 * and policies are kept apart; their lines say how they were mixed):
 * o->policies[] and o->namespaces[] each keep their order in it.  NULL on
 * ENOMEM. */
static cJSON *file_refs(const struct netseg_k8s_objects *o)
{
	cJSON *a = cJSON_CreateArray(), *x;
	size_t p = 0, n = 0;

	while (a && (p < o->npolicies || n < o->nnamespaces)) {
		if (n < o->nnamespaces &&
		    (p == o->npolicies || o->namespaces[n].line < o->policies[p].line)) {
			x = obj_ref(NETSEG_K8S_NAMESPACE, NULL, o->namespaces[n].name,
				    o->namespaces[n].line);
			n++;
		} else {
			x = obj_ref(NETSEG_K8S_POLICY, o->policies[p].ns, o->policies[p].name,
				    o->policies[p].line);
			p++;
		}
		if (!x || !cJSON_AddItemToArray(a, x)) {
			cJSON_Delete(x);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

/* The request's file parsed into @o (initialised here); 0, or -1 and the
 * error reply (every problem, file:line:col) in *reply. */
static int parse_file(const cJSON *req, const char *cmd, struct netseg_k8s_objects *o,
		      const char **name, cJSON **reply)
{
	const char *text = cmd_arg_str(req, "text");
	struct netseg_errlist errs = {};

	*name = cmd_arg_str(req, "name") ?: "request";
	netseg_k8s_objects_init(o);
	if (!text) {
		*reply = netsegd_reply_error("usage", "%s needs the file text", cmd);
		return -1;
	}
	if (netseg_k8s_load_buf(*name, text, strlen(text), o, &errs)) {
		*reply = errs.n ? cmd_errors_reply(&errs, *name) :
				  netsegd_reply_error("internal", "out of memory");
		netseg_errlist_free(&errs);
		return -1;
	}
	return 0;
}

/* The objects @refs names as created or configured get @rev in @o: `get`
 * shows when each was last changed. */
static void stamp(struct netseg_k8s_objects *o, const cJSON *refs, __u64 rev)
{
	const cJSON *x;
	const char *res;
	long at;
	int k;

	cJSON_ArrayForEach(x, refs) {
		res = cmd_arg_str(x, "result");
		if (!res || (strcmp(res, "created") && strcmp(res, "configured")))
			continue;
		k = kind_parse(cmd_arg_str(x, "kind"));
		at = netseg_k8s_objects_find(o, k, cmd_arg_str(x, "namespace"),
					     cmd_arg_str(x, "name"));
		if (at >= 0 && k == NETSEG_K8S_NAMESPACE)
			o->namespaces[at].revision = rev;
		else if (at >= 0)
			o->policies[at].revision = rev;
	}
}

/* @cand in force, or *reply says why not. */
static int commit(struct netsegd *d, struct netseg_k8s_objects *cand, const cJSON *refs,
		  cJSON **reply)
{
	struct netseg_err err = {};
	__u64 next = d->pol.revision + 1;
	int r;

	/* Stamped before, so what is saved with them has it: a change is
	 * one revision. */
	stamp(cand, refs, next);
	r = netsegd_k8s_commit_objs(d, cand, &err);
	if (r) {
		*reply = cmd_commit_error(r, &err);
		return r;
	}
	if (d->pol.revision != next)
		stamp(&d->k8s.set.objs, refs, d->pol.revision);
	*reply = NULL;
	return 0;
}

static cJSON *reply_objects(struct netsegd *d, cJSON *objs, bool dry_run)
{
	cJSON *o = cmd_reply_ok();

	cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	if (dry_run)
		cJSON_AddBoolToObject(o, "dry_run", true);
	cJSON_AddItemToObject(o, "objects", objs);
	return o;
}

/* ------------------------------------------------------------- apply */

cJSON *cmd_k8s_apply(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	struct netseg_k8s_objects add, cand;
	enum netseg_k8s_change *pc = NULL, *nc = NULL, c;
	cJSON *objs = NULL, *reply = NULL, *x;
	size_t p = 0, n = 0, changed = 0;
	const char *name;

	if (parse_file(req, "k8s.apply", &add, &name, &reply))
		return reply;
	netseg_k8s_objects_init(&cand);
	pc = calloc(add.npolicies + 1, sizeof(*pc));
	nc = calloc(add.nnamespaces + 1, sizeof(*nc));
	if (pc && nc)
		objs = file_refs(&add);
	if (!objs || netseg_k8s_objects_copy(&cand, &d->k8s.set.objs) ||
	    netseg_k8s_objects_merge(&cand, &add, pc, nc)) {
		reply = netsegd_reply_error("internal", "out of memory");
		goto out;
	}
	/* objs lists each kind in the order of its array: two cursors. */
	cJSON_ArrayForEach(x, objs) {
		c = kind_parse(cmd_arg_str(x, "kind")) == NETSEG_K8S_NAMESPACE ? nc[n++] : pc[p++];
		cJSON_AddStringToObject(x, "result", netseg_k8s_change_name(c));
		changed += c != NETSEG_K8S_UNCHANGED;
	}
	/* Nothing changed: nothing to swap in, the revision stays. */
	if (changed && !cmd_arg_bool(req, "dry_run") && commit(d, &cand, objs, &reply))
		goto out;
	reply = reply_objects(d, objs, cmd_arg_bool(req, "dry_run"));
	objs = NULL;
out:
	free(pc);
	free(nc);
	cJSON_Delete(objs);
	netseg_k8s_objects_free(&cand);
	netseg_k8s_objects_free(&add);
	return reply;
}

/* ------------------------------------------------------------ delete */

/*
 * Cut the object @x names out of @cand: its "result" becomes "deleted",
 * or, when there is no such object, "not found" with ignore_not_found,
 * else a message in @errs (FILE:LINE: when it came from a file).
 */
static int cut(struct netseg_k8s_objects *cand, cJSON *x, const char *file, bool ignore,
	       struct netseg_errlist *errs)
{
	const char *kind = cmd_arg_str(x, "kind"), *ns = cmd_arg_str(x, "namespace");
	const char *name = cmd_arg_str(x, "name");
	const cJSON *line = cJSON_GetObjectItem(x, "line");
	int k = kind_parse(kind);

	if (!netseg_k8s_objects_remove(cand, k, ns, name)) {
		cJSON_AddStringToObject(x, "result", "deleted");
		return 0;
	}
	if (ignore) {
		cJSON_AddStringToObject(x, "result", "not found");
		return 0;
	}
	if (file ? netseg_errlist_add(errs, "%s:%d:1: %s%s%s%s not found", file,
				      cJSON_IsNumber(line) ? line->valueint : 0, display(k),
				      ns ?: "", ns ? "/" : "", name) :
		   netseg_errlist_add(errs, "%s%s%s%s not found", display(k), ns ?: "",
				      ns ? "/" : "", name))
		return -ENOMEM;
	return -ENOENT;
}

/* One object named by {kind, namespace, name}, as obj_ref() makes it. */
static cJSON *named_ref(const cJSON *req, cJSON **reply)
{
	const char *kind = cmd_arg_str(req, "kind"), *ns = cmd_arg_str(req, "namespace");
	const char *name = cmd_arg_str(req, "name");
	int k = kind_parse(kind);

	if (k < 0 || !name || (k == NETSEG_K8S_POLICY && !ns)) {
		*reply = netsegd_reply_error(
			"usage",
			"k8s.delete needs text, or kind NetworkPolicy with namespace and name, or kind Namespace with name");
		return NULL;
	}
	return obj_ref(k, ns, name, 0);
}

cJSON *cmd_k8s_delete(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	struct netseg_k8s_objects del, cand;
	struct netseg_errlist errs = {};
	bool ignore = cmd_arg_bool(req, "ignore_not_found");
	cJSON *objs = NULL, *reply = NULL, *x, *one;
	const char *file = NULL;
	size_t removed = 0;
	int r = 0;

	netseg_k8s_objects_init(&del);
	netseg_k8s_objects_init(&cand);
	if (cmd_arg_str(req, "text")) {
		if (parse_file(req, "k8s.delete", &del, &file, &reply))
			return reply;
		objs = file_refs(&del);
	} else {
		one = named_ref(req, &reply);
		if (!one)
			return reply;
		objs = cJSON_CreateArray();
		if (!objs || !cJSON_AddItemToArray(objs, one))
			cJSON_Delete(one);
	}
	if (!objs || netseg_k8s_objects_copy(&cand, &d->k8s.set.objs)) {
		reply = netsegd_reply_error("internal", "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(x, objs) {
		r = cut(&cand, x, file, ignore, &errs);
		if (r == -ENOMEM)
			break;
		removed += !r && !strcmp(cmd_arg_str(x, "result"), "deleted");
	}
	if (errs.n) { /* all or nothing, as for apply */
		reply = file ? cmd_errors_reply(&errs, file) :
			       netsegd_reply_error("rejected", "%s", errs.msgs[0]);
		goto out;
	}
	if (r == -ENOMEM) {
		reply = netsegd_reply_error("internal", "out of memory");
		goto out;
	}
	if (removed && commit(d, &cand, objs, &reply))
		goto out;
	reply = reply_objects(d, objs, false);
	objs = NULL;
out:
	cJSON_Delete(objs);
	netseg_errlist_free(&errs);
	netseg_k8s_objects_free(&cand);
	netseg_k8s_objects_free(&del);
	return reply;
}

/* --------------------------------------------------------------- get */

static int pol_cmp(const void *a, const void *b)
{
	const struct netseg_k8s_policy *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);

	return c ? c : strcmp(x->name, y->name);
}

static int ns_cmp(const void *a, const void *b)
{
	return strcmp(((const struct netseg_k8s_namespace *)a)->name,
		      ((const struct netseg_k8s_namespace *)b)->name);
}

/*
 * What `get` shows, sorted by namespace and name as kubectl lists them:
 * shallow copies of the structs in force, so only the two arrays are
 * @v's own (free them, not the objects).  -1 for ENOMEM.
 */
static int view(const struct netsegd *d, int kind, const char *only_ns,
		struct netseg_k8s_objects *v)
{
	const struct netseg_k8s_objects *o = &d->k8s.set.objs;

	netseg_k8s_objects_init(v);
	v->policies = calloc(o->npolicies + 1, sizeof(*v->policies));
	v->namespaces = calloc(o->nnamespaces + 1, sizeof(*v->namespaces));
	if (!v->policies || !v->namespaces)
		return -1;
	for (size_t i = 0; kind != NETSEG_K8S_NAMESPACE && i < o->npolicies; i++)
		if (!only_ns || !strcmp(o->policies[i].ns, only_ns))
			v->policies[v->npolicies++] = o->policies[i];
	/* Namespaces belong to no namespace: -n doesn't filter them. */
	for (size_t i = 0; kind != NETSEG_K8S_POLICY && i < o->nnamespaces; i++)
		v->namespaces[v->nnamespaces++] = o->namespaces[i];
	qsort(v->policies, v->npolicies, sizeof(*v->policies), pol_cmp);
	qsort(v->namespaces, v->nnamespaces, sizeof(*v->namespaces), ns_cmp);
	return 0;
}

static char *types_text(unsigned int t, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", t & NETSEG_K8S_INGRESS ? "Ingress" : "",
		 (t & NETSEG_K8S_INGRESS) && (t & NETSEG_K8S_EGRESS) ? "," : "",
		 t & NETSEG_K8S_EGRESS ? "Egress" : "");
	return buf;
}

/* Table rows: the selector in kubectl's text form ("" = every pod). */
static cJSON *rows(const struct netseg_k8s_objects *v)
{
	cJSON *a = cJSON_CreateArray(), *r;
	char types[32], *t;

	for (size_t i = 0; a && i < v->nnamespaces; i++) {
		r = obj_ref(NETSEG_K8S_NAMESPACE, NULL, v->namespaces[i].name, 0);
		if (netseg_labels_format(&v->namespaces[i].labels, &t))
			goto fail;
		cJSON_AddStringToObject(r, "labels", t);
		free(t);
		cJSON_AddNumberToObject(r, "revision", v->namespaces[i].revision);
		cJSON_AddItemToArray(a, r);
	}
	for (size_t i = 0; a && i < v->npolicies; i++) {
		const struct netseg_k8s_policy *p = &v->policies[i];

		r = obj_ref(NETSEG_K8S_POLICY, p->ns, p->name, 0);
		if (netseg_labelsel_format(&p->pod_sel, &t))
			goto fail;
		cJSON_AddStringToObject(r, "pod_selector", t);
		free(t);
		cJSON_AddStringToObject(r, "policy_types",
					types_text(p->types, types, sizeof(types)));
		cJSON_AddNumberToObject(r, "revision", p->revision);
		cJSON_AddItemToArray(a, r);
	}
	return a;
fail:
	cJSON_Delete(r);
	cJSON_Delete(a);
	return NULL;
}

cJSON *cmd_k8s_get(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const char *kind = cmd_arg_str(req, "kind"), *fmt = cmd_arg_str(req, "format") ?: "table";
	struct netseg_k8s_objects v;
	cJSON *reply = NULL, *items = NULL;
	char *text = NULL;
	int k = -1;

	if (kind && (k = kind_parse(kind)) < 0)
		return netsegd_reply_error(
			"usage",
			"k8s.get: unknown kind \"%.64s\" (expected NetworkPolicy or Namespace)",
			kind);
	if (strcmp(fmt, "table") && strcmp(fmt, "yaml") && strcmp(fmt, "json"))
		return netsegd_reply_error(
			"usage", "k8s.get: unknown format \"%.64s\" (expected table, yaml or json)",
			fmt);
	if (view(d, k, cmd_arg_str(req, "namespace"), &v))
		goto out;
	if (!strcmp(fmt, "table")) {
		items = rows(&v);
		if (!items)
			goto out;
	} else {
		text = netseg_k8s_print_str(&v, !strcmp(fmt, "json"));
		if (!text)
			goto out;
	}
	reply = cmd_reply_ok();
	cJSON_AddNumberToObject(reply, "revision", d->pol.revision);
	if (items)
		cJSON_AddItemToObject(reply, "items", items);
	else
		cJSON_AddStringToObject(reply, "text", text);
out:
	free(text);
	free(v.policies);
	free(v.namespaces);
	return reply ?: netsegd_reply_error("internal", "out of memory");
}
