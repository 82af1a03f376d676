// SPDX-License-Identifier: GPL-2.0-only
/*
 * Identities (add, set, list, remove) and the endpoint list.  Every change
 * is a candidate identity store committed with the rules in force.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "log.h"
#include "netsegd.h"

static int sel_array(const cJSON *req, const char *key, char *out, size_t stride, unsigned int *n)
{
	const cJSON *a = cJSON_GetObjectItem(req, key);

	*n = 0;
	if (!a)
		return 0;
	return netseg_json_strs(a, out, stride, stride, NETSEG_SEL_MAX, n);
}

/* "selector" and "namespace" of a request: pods that are members too. */
static int pod_selector_arg(const cJSON *req, struct netseg_iddef *def, struct netseg_err *err)
{
	const cJSON *sel = cJSON_GetObjectItem(req, "selector");
	const cJSON *ns = cJSON_GetObjectItem(req, "namespace");

	if ((sel && !cJSON_IsString(sel)) || (ns && !cJSON_IsString(ns)))
		return netseg_err_set(err, 0, "selector and namespace must be strings");
	if (!sel && !ns)
		return 0;
	return netseg_iddef_set_selector(def, sel ? sel->valuestring : NULL,
					 ns ? ns->valuestring : NULL, err);
}

cJSON *cmd_identity_add(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const char *name = cmd_arg_str(req, "name");
	struct netseg_iddef def = {};
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	struct netseg_err err = {};
	cJSON *o;
	int r;

	if (!name)
		return netsegd_reply_error("usage", "identity add needs a name");
	if (strlen(name) >= sizeof(def.name))
		return netsegd_reply_error("rejected",
					   "invalid identity name: %zu bytes, at most %zu",
					   strlen(name), sizeof(def.name) - 1);
	strcpy(def.name, name);
	def.audit = cmd_arg_bool(req, "audit");
	if (sel_array(req, "ifaces", def.ifaces[0], sizeof(def.ifaces[0]), &def.nifaces) ||
	    sel_array(req, "cgroups", def.cgroups[0], sizeof(def.cgroups[0]), &def.ncgroups) ||
	    sel_array(req, "cidrs", def.cidrs[0], sizeof(def.cidrs[0]), &def.ncidrs))
		return netsegd_reply_error(
			"rejected",
			"selectors must be lists of at most %d strings, each short enough",
			NETSEG_SEL_MAX);
	if (pod_selector_arg(req, &def, &err))
		return netsegd_reply_error("rejected", "%s", err.msg);
	if (netseg_idstore_copy(&ids, &d->pol.ids) || cmd_ruleset_copy(&rules, &d->pol.rules))
		return netsegd_reply_error("internal", "out of memory");
	r = netseg_id_add(&ids, &def, &err);
	if (r) {
		netseg_idstore_free(&ids);
		netseg_ruleset_free(&rules);
		return netsegd_reply_error("rejected", "%s", err.msg);
	}
	if (!cmd_commit(d, &rules, &ids, &o))
		cJSON_AddItemToObject(o, "identity",
				      netseg_iddef_to_json(
					      netseg_id_by_name(&d->pol.ids, def.name)));
	return o;
}

/*
 * One selector list of an identity edited: @rm's entries must be there,
 * @add's must not, and the list stays within NETSEG_SEL_MAX.  CIDRs are
 * compared in canonical form.  Each change is appended to @ch.
 */
static int sel_edit(char *list, size_t stride, unsigned int *n, const cJSON *add, const cJSON *rm,
		    const char *what, bool cidr, cJSON *ch, struct netseg_err *err)
{
	char canon[NETSEG_PREFIX_STRLEN], line[NETSEG_PATH_MAX + 32];
	struct netseg_prefix p;
	const char *v;
	const cJSON *e;
	unsigned int i;

	for (int pass = 0; pass < 2; pass++) {
		const cJSON *arr = pass ? add : rm;

		cJSON_ArrayForEach(e, arr) {
			if (!cJSON_IsString(e) || strlen(e->valuestring) >= stride)
				return netseg_err_set(err, 0, "%s: not a string short enough",
						      what);
			v = e->valuestring;
			if (cidr && !netseg_prefix_parse(v, &p, NULL)) {
				netseg_prefix_format(&p, canon, sizeof(canon));
				v = canon;
			}
			for (i = 0; i < *n && strcmp(list + i * stride, v); i++)
				;
			if (!pass && i == *n)
				return netseg_err_set(err, 0, "the identity has no %s \"%s\"", what,
						      v);
			if (pass && i < *n)
				return netseg_err_set(err, 0, "the identity has %s \"%s\" already",
						      what, v);
			if (pass && *n == NETSEG_SEL_MAX)
				return netseg_err_set(err, 0, "at most %d %ss per identity",
						      NETSEG_SEL_MAX, what);
			snprintf(line, sizeof(line), "%s%s %s", pass ? "+" : "-", what, v);
			cJSON_AddItemToArray(ch, cJSON_CreateString(line));
			if (pass) {
				strcpy(list + (*n)++ * stride, v);
			} else {
				--*n;
				memmove(list + i * stride, list + (i + 1) * stride,
					(*n - i) * stride);
			}
		}
	}
	return 0;
}

static const char *ns_text(const char *ns)
{
	return ns[0] ? ns : "(every namespace)";
}

/*
 * `identity set`'s "selector", "namespace" and "remove_selector": the
 * pods that are members, edited in @def; each change is appended to @ch.
 */
static int selector_edit(struct netseg_iddef *def, const cJSON *req, cJSON *ch,
			 struct netseg_err *err)
{
	const cJSON *sel = cJSON_GetObjectItem(req, "selector");
	const cJSON *ns = cJSON_GetObjectItem(req, "namespace");
	const cJSON *rm = cJSON_GetObjectItem(req, "remove_selector");
	char old_sel[NETSEG_IDSEL_MAX], old_ns[NETSEG_IDNS_MAX];
	char line[2 * NETSEG_IDSEL_MAX + 64];
	bool had = def->has_selector;
	const char *text;

	if (!sel && !ns && !cJSON_IsTrue(rm))
		return 0;
	if (cJSON_IsTrue(rm)) {
		if (sel || ns)
			return netseg_err_set(
				err, 0,
				"identity %s: removing the selector and setting one at once",
				def->name);
		if (!had)
			return netseg_err_set(err, 0, "identity %s has no selector", def->name);
		snprintf(line, sizeof(line), "-selector \"%s\"%s%s", def->selector,
			 def->ns[0] ? " in namespace " : "", def->ns);
		cJSON_AddItemToArray(ch, cJSON_CreateString(line));
		return netseg_iddef_set_selector(def, NULL, NULL, err);
	}
	strcpy(old_sel, def->selector);
	strcpy(old_ns, def->ns);
	/* What isn't given stays; a namespace without a selector is refused. */
	text = sel ? sel->valuestring : had ? old_sel : NULL;
	if (netseg_iddef_set_selector(def, text, ns ? ns->valuestring : old_ns, err))
		return -EINVAL;
	if (!had || strcmp(old_sel, def->selector)) {
		if (had)
			snprintf(line, sizeof(line), "selector: \"%s\" → \"%s\"", old_sel,
				 def->selector);
		else
			snprintf(line, sizeof(line), "+selector \"%s\"", def->selector);
		cJSON_AddItemToArray(ch, cJSON_CreateString(line));
	}
	if (strcmp(old_ns, def->ns)) {
		snprintf(line, sizeof(line), "namespace: %s → %s", ns_text(old_ns),
			 ns_text(def->ns));
		cJSON_AddItemToArray(ch, cJSON_CreateString(line));
	}
	return 0;
}

/* Another identity holding one of @def's CIDRs: the ipcache can map an
 * address to one identity only. */
static const char *cidr_owner(const struct netseg_idstore *ids, const struct netseg_iddef *def,
			      const char **cidr)
{
	for (size_t i = 0; i < ids->n; i++) {
		const struct netseg_iddef *o = &ids->v[i];

		if (o->cidr_only || !strcmp(o->name, def->name))
			continue;
		for (unsigned int a = 0; a < def->ncidrs; a++)
			for (unsigned int b = 0; b < o->ncidrs; b++)
				if (!strcmp(def->cidrs[a], o->cidrs[b])) {
					*cidr = def->cidrs[a];
					return o->name;
				}
	}
	return NULL;
}

/*
 * `identity set NAME`: edit an identity in place (same id) and commit it
 * with the rules as they are, so the ipcache, endpoints and cgroup
 * attachments follow in one step -- or, on any error, nothing changes.
 */
cJSON *cmd_identity_set(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	static const char *const keys[] = {
		"add_ifaces",	  "remove_ifaces", "add_cgroups",
		"remove_cgroups", "add_cidrs",	   "remove_cidrs",
	};
	const char *name = cmd_arg_str(req, "name"), *owner, *cidr = NULL;
	const cJSON *audit = cJSON_GetObjectItem(req, "audit"), *k[6];
	const cJSON *sel = cJSON_GetObjectItem(req, "selector");
	const cJSON *ns = cJSON_GetObjectItem(req, "namespace");
	const cJSON *rm_sel = cJSON_GetObjectItem(req, "remove_selector");
	const struct netseg_iddef *cur;
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	struct netseg_err err = {};
	struct netseg_iddef def;
	cJSON *ch, *o;
	bool any = audit || sel || ns || rm_sel;

	if (!name || (audit && !cJSON_IsBool(audit)) || (rm_sel && !cJSON_IsBool(rm_sel)) ||
	    (sel && !cJSON_IsString(sel)) || (ns && !cJSON_IsString(ns)))
		return netsegd_reply_error(
			"usage",
			"identity.set needs a name and boolean audit or selector lists, a string selector or namespace, or boolean remove_selector");
	for (int i = 0; i < 6; i++) {
		k[i] = cJSON_GetObjectItem(req, keys[i]);
		if (k[i] && !cJSON_IsArray(k[i]))
			return netsegd_reply_error("usage", "identity.set: %s must be a list",
						   keys[i]);
		any |= k[i] != NULL;
	}
	if (!any)
		return netsegd_reply_error(
			"usage", "identity.set needs audit or a selector to add or remove");
	cur = netseg_id_by_name(&d->pol.ids, name);
	if (!cur || cur->cidr_only)
		return netsegd_reply_error("rejected", "no identity \"%s\"", name);
	def = *cur;
	ch = cJSON_CreateArray();
	if (audit && cJSON_IsTrue(audit) != def.audit) {
		cJSON_AddItemToArray(ch, cJSON_CreateString(def.audit ? "--audit: on → off" :
									"--audit: off → on"));
		def.audit = cJSON_IsTrue(audit);
	}
	if (sel_edit(def.ifaces[0], sizeof(def.ifaces[0]), &def.nifaces, k[0], k[1], "iface", false,
		     ch, &err) ||
	    sel_edit(def.cgroups[0], sizeof(def.cgroups[0]), &def.ncgroups, k[2], k[3], "cgroup",
		     false, ch, &err) ||
	    sel_edit(def.cidrs[0], sizeof(def.cidrs[0]), &def.ncidrs, k[4], k[5], "cidr", true, ch,
		     &err)) {
		cJSON_Delete(ch);
		return netsegd_reply_error("rejected", "identity %s: %s", name, err.msg);
	}
	if (selector_edit(&def, req, ch, &err)) { /* its messages name the identity */
		cJSON_Delete(ch);
		return netsegd_reply_error("rejected", "%s", err.msg);
	}
	owner = cidr_owner(&d->pol.ids, &def, &cidr);
	if (owner) {
		cJSON_Delete(ch);
		return netsegd_reply_error("rejected",
					   "identity %s: CIDR %s belongs to identity %s", name,
					   cidr, owner);
	}
	if (!cJSON_GetArraySize(ch)) {
		o = cmd_reply_ok();
		cJSON_AddNumberToObject(o, "revision", d->pol.revision);
		cJSON_AddItemToObject(o, "changes", ch);
		return o;
	}
	if (netseg_idstore_copy(&ids, &d->pol.ids) || cmd_ruleset_copy(&rules, &d->pol.rules)) {
		cJSON_Delete(ch);
		return netsegd_reply_error("internal", "out of memory");
	}
	if (netseg_id_replace(&ids, &def, &err)) {
		netseg_idstore_free(&ids);
		netseg_ruleset_free(&rules);
		cJSON_Delete(ch);
		return netsegd_reply_error("rejected", "%s", err.msg);
	}
	if (!cmd_commit(d, &rules, &ids, &o))
		cJSON_AddItemToObject(o, "changes", ch);
	else
		cJSON_Delete(ch);
	return o;
}

cJSON *cmd_identity_list(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	cJSON *o = cmd_reply_ok(), *a = cJSON_CreateArray();

	for (size_t i = 0; i < d->pol.ids.n; i++)
		if (!d->pol.ids.v[i].cidr_only)
			cJSON_AddItemToArray(a, netseg_iddef_to_json(&d->pol.ids.v[i]));
	cJSON_AddItemToObject(o, "identities", a);
	return o;
}

cJSON *cmd_identity_remove(struct netsegd *d, const cJSON *req,
			   const struct netsegd_follower_io *io)
{
	const char *name = cmd_arg_str(req, "name");
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	const struct netseg_iddef *def;
	cJSON *o;

	if (!name)
		return netsegd_reply_error("usage", "identity remove needs a name");
	def = netseg_id_by_name(&d->pol.ids, name);
	if (!def || def->cidr_only)
		return netsegd_reply_error("rejected", "no identity \"%s\"", name);
	for (size_t i = 0; i < d->pol.rules.n; i++)
		if (!strcmp(d->pol.rules.rules[i].src, name) ||
		    !strcmp(d->pol.rules.rules[i].dst, name))
			return netsegd_reply_error(
				"rejected",
				"identity \"%s\" is used by rule %u; remove the rule first", name,
				d->pol.rules.rules[i].id);
	if (netseg_idstore_copy(&ids, &d->pol.ids) || cmd_ruleset_copy(&rules, &d->pol.rules))
		return netsegd_reply_error("internal", "out of memory");
	netseg_id_remove(&ids, name);
	cmd_commit(d, &rules, &ids, &o);
	return o;
}

cJSON *cmd_endpoint_list(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	cJSON *o = cmd_reply_ok();

	cJSON_AddItemToObject(o, "endpoints", netsegd_endpoints_json(d));
	return o;
}
