// SPDX-License-Identifier: GPL-2.0-only
/* Control requests: a table of commands, each one JSON object in and out. */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#include "log.h"
#include "flowlog.h"
#include "netsegd.h"
#include "version.h"

struct cJSON *netsegd_reply_error(const char *kind, const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddStringToObject(o, "error", msg);
	cJSON_AddStringToObject(o, "kind", kind);
	return o;
}

static cJSON *reply_ok(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", true);
	return o;
}

static const char *arg_str(const cJSON *req, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(req, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool arg_bool(const cJSON *req, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(req, key));
}

static int ruleset_copy(struct netseg_ruleset *dst, const struct netseg_ruleset *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		if (netseg_ruleset_add(dst, &src->rules[i]))
			return -ENOMEM;
	return 0;
}

static const char *verdict_name(__u8 v)
{
	return v == NETSEG_VERDICT_ALLOW ? "allow" : v == NETSEG_VERDICT_DENY ? "deny" :
	       v == NETSEG_VERDICT_AUDIT ? "audit" : "none";
}

static cJSON *rule_json(const struct netseg_rule *r)
{
	cJSON *o = cJSON_CreateObject();
	char text[1024];

	netseg_rule_format(r, text, sizeof(text));
	cJSON_AddNumberToObject(o, "id", r->id);
	cJSON_AddStringToObject(o, "action", verdict_name(r->action));
	cJSON_AddStringToObject(o, "rule", text);
	cJSON_AddBoolToObject(o, "audit", r->flags & NETSEG_RULEF_AUDIT);
	cJSON_AddBoolToObject(o, "log", r->flags & NETSEG_RULEF_LOG);
	cJSON_AddStringToObject(o, "comment", r->comment);
	return o;
}

/* Candidate = current state + change, through the one commit path. */
static cJSON *commit(struct netsegd *d, struct netseg_ruleset *rules,
		     struct netseg_idstore *ids)
{
	struct netseg_err err = {};
	int r = netsegd_commit(d, rules, ids, &err);
	cJSON *o;

	netseg_ruleset_free(rules);
	netseg_idstore_free(ids);
	if (r)
		return netsegd_reply_error(r == -EINVAL || r == -ENOENT || r == -E2BIG ?
					   "rejected" : "internal", "%s",
					   err.msg[0] ? err.msg : strerror(-r));
	o = reply_ok();
	cJSON_AddNumberToObject(o, "revision", d->revision);
	return o;
}

/* ----------------------------------------------------------- status */

static cJSON *cmd_status(struct netsegd *d, const cJSON *req)
{
	struct netseg_config cfg = {};
	cJSON *o = reply_ok();
	size_t user = 0;

	netseg_dp_config_get(d->dp, &cfg);
	for (size_t i = 0; i < d->ids.n; i++)
		user += !d->ids.v[i].cidr_only;
	cJSON_AddStringToObject(o, "version", NETSEG_VERSION);
	cJSON_AddStringToObject(o, "node", d->cfg.node_name);
	cJSON_AddNumberToObject(o, "revision", d->revision);
	cJSON_AddNumberToObject(o, "generation", cfg.generation);
	cJSON_AddNumberToObject(o, "rules", d->rules.n);
	cJSON_AddNumberToObject(o, "entries", d->entries);
	cJSON_AddNumberToObject(o, "identities", user);
	cJSON_AddNumberToObject(o, "endpoints", netsegd_endpoint_count(d));
	cJSON_AddNumberToObject(o, "uplinks", d->cfg.nuplinks);
	cJSON_AddStringToObject(o, "pin_dir", d->cfg.pin_dir);
	cJSON_AddNumberToObject(o, "uptime_s", time(NULL) - d->started);
	cJSON_AddNumberToObject(o, "events_seen", d->events_seen);
	cJSON_AddItemToObject(o, "netlink", netsegd_rtnl_json(d));
	return o;
}

static cJSON *counter_json(__u64 packets, __u64 bytes)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddNumberToObject(c, "packets", packets);
	cJSON_AddNumberToObject(c, "bytes", bytes);
	return c;
}

static int id_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* The hash map's order is no order: rows by rule id, with the rule. */
static cJSON *rule_stats(struct netsegd *d)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_RULE_STATS);
	int ncpu = libbpf_num_possible_cpus();
	struct netseg_counter *per = calloc(ncpu, sizeof(*per));
	__u32 *ids = calloc(NETSEG_RULE_STATS_MAX, sizeof(*ids));
	cJSON *a = cJSON_CreateArray();
	__u32 key, *prev = NULL;
	size_t n = 0;
	char text[1024];

	while (per && ids && n < NETSEG_RULE_STATS_MAX && !bpf_map_get_next_key(fd, prev, &key)) {
		ids[n++] = key;
		prev = &ids[n - 1];
	}
	if (ids)
		qsort(ids, n, sizeof(*ids), id_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct netseg_rule *r = NULL;
		__u64 p = 0, b = 0;
		cJSON *o;

		if (bpf_map_lookup_elem(fd, &ids[i], per))
			continue;
		for (int c = 0; c < ncpu; c++) {
			p += per[c].packets;
			b += per[c].bytes;
		}
		for (size_t j = 0; ids[i] && j < d->rules.n; j++)
			if (d->rules.rules[j].id == ids[i])
				r = &d->rules.rules[j];
		if (r)
			netseg_rule_format(r, text, sizeof(text));
		else
			snprintf(text, sizeof(text), "%s", ids[i] ? "(rule removed)" : "(default deny)");
		o = counter_json(p, b);
		cJSON_AddNumberToObject(o, "id", ids[i]);
		cJSON_AddStringToObject(o, "text", text);
		cJSON_AddItemToArray(a, o);
	}
	free(ids);
	free(per);
	return a;
}

static void if_stats_row(void *ctx, __u32 ifindex, const struct netseg_if_stats *s)
{
	cJSON *o = cJSON_CreateObject();
	char name[IF_NAMESIZE];

	cJSON_AddNumberToObject(o, "ifindex", ifindex);
	cJSON_AddStringToObject(o, "name", if_indextoname(ifindex, name) ? name : "");
	cJSON_AddNumberToObject(o, "pass_packets", s->pass_packets);
	cJSON_AddNumberToObject(o, "drop_packets", s->drop_packets);
	cJSON_AddNumberToObject(o, "drop_bytes", s->drop_bytes);
	cJSON_AddNumberToObject(o, "xdp_drop_packets", s->xdp_drop_packets);
	cJSON_AddItemToArray(ctx, o);
}

static cJSON *if_stats(struct netsegd *d)
{
	cJSON *a = cJSON_CreateArray();

	netsegd_if_stats_each(d, if_stats_row, a);
	return a;
}

/* As of the last GC walk (once a second). */
static cJSON *ct_stats(struct netsegd *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "entries", d->ct.entries);
	cJSON_AddNumberToObject(o, "max", d->ct.max);
	cJSON_AddNumberToObject(o, "expired", d->ct.removed);
	cJSON_AddNumberToObject(o, "evicted", d->ct.evicted);
	return o;
}

static cJSON *cmd_stats(struct netsegd *d, const cJSON *req)
{
	struct netseg_counter c[NETSEG_STAT_MAX];
	cJSON *o, *counters = cJSON_CreateObject();
	int err = netseg_dp_read_counters(d->dp, c);

	if (err)
		return netsegd_reply_error("internal", "couldn't read counters: %s",
					   strerror(-err));
	for (int i = 0; i < NETSEG_STAT_MAX; i++)
		cJSON_AddItemToObject(counters, netseg_stat_name(i),
				      counter_json(c[i].packets, c[i].bytes));
	o = reply_ok();
	cJSON_AddItemToObject(o, "counters", counters);
	cJSON_AddItemToObject(o, "rules", rule_stats(d));
	cJSON_AddItemToObject(o, "interfaces", if_stats(d));
	cJSON_AddItemToObject(o, "conntrack", ct_stats(d));
	cJSON_AddNumberToObject(o, "alias_unknown", netsegd_alias_unknown_count(d));
	cJSON_AddItemToObject(o, "flow_logs", netsegd_flowlog_stats(d));
	cJSON_AddItemToObject(o, "daemon", netsegd_guard_stats(d));
	return o;
}

/* -------------------------------------------------------- identities */

static int sel_array(const cJSON *req, const char *key, char *out, size_t stride,
		     unsigned int *n)
{
	const cJSON *a = cJSON_GetObjectItem(req, key);

	*n = 0;
	if (!a)
		return 0;
	return netseg_json_strs(a, out, stride, stride, NETSEG_SEL_MAX, n);
}

static cJSON *cmd_identity_add(struct netsegd *d, const cJSON *req)
{
	const char *name = arg_str(req, "name");
	struct netseg_iddef def = {};
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	struct netseg_err err = {};
	cJSON *o;
	int r;

	if (!name)
		return netsegd_reply_error("usage", "identity add needs a name");
	if (strlen(name) >= sizeof(def.name))
		return netsegd_reply_error("rejected", "invalid identity name: %zu bytes, at most %zu",
					   strlen(name), sizeof(def.name) - 1);
	strcpy(def.name, name);
	def.audit = arg_bool(req, "audit");
	if (sel_array(req, "ifaces", def.ifaces[0], sizeof(def.ifaces[0]), &def.nifaces) ||
	    sel_array(req, "cgroups", def.cgroups[0], sizeof(def.cgroups[0]), &def.ncgroups) ||
	    sel_array(req, "cidrs", def.cidrs[0], sizeof(def.cidrs[0]), &def.ncidrs))
		return netsegd_reply_error("rejected", "selectors must be lists of at most %d strings, each short enough",
					   NETSEG_SEL_MAX);
	if (netseg_idstore_copy(&ids, &d->ids) || ruleset_copy(&rules, &d->rules))
		return netsegd_reply_error("internal", "out of memory");
	r = netseg_id_add(&ids, &def, &err);
	if (r) {
		netseg_idstore_free(&ids);
		netseg_ruleset_free(&rules);
		return netsegd_reply_error("rejected", "%s", err.msg);
	}
	o = commit(d, &rules, &ids);
	if (cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")))
		cJSON_AddItemToObject(o, "identity",
				      netseg_iddef_to_json(netseg_id_by_name(&d->ids, def.name)));
	return o;
}

/*
 * One selector list of an identity edited: @rm's entries must be there,
 * @add's must not, and the list stays within NETSEG_SEL_MAX.  CIDRs are
 * compared in canonical form.  Each change is appended to @ch.
 */
static int sel_edit(char *list, size_t stride, unsigned int *n, const cJSON *add,
		    const cJSON *rm, const char *what, bool cidr, cJSON *ch,
		    struct netseg_err *err)
{
	char canon[64], line[NETSEG_PATH_MAX + 32];
	const char *v;
	const cJSON *e;
	__u8 addr[16];
	int fam, plen;
	unsigned int i;

	for (int pass = 0; pass < 2; pass++) {
		const cJSON *arr = pass ? add : rm;

		cJSON_ArrayForEach(e, arr) {
			if (!cJSON_IsString(e) || strlen(e->valuestring) >= stride)
				return netseg_err_set(err, 0, "%s: not a string short enough", what);
			v = e->valuestring;
			if (cidr && !netseg_cidr_parse(v, &fam, addr, &plen, canon, sizeof(canon)))
				v = canon;
			for (i = 0; i < *n && strcmp(list + i * stride, v); i++)
				;
			if (!pass && i == *n)
				return netseg_err_set(err, 0, "the identity has no %s \"%s\"", what, v);
			if (pass && i < *n)
				return netseg_err_set(err, 0, "the identity has %s \"%s\" already", what, v);
			if (pass && *n == NETSEG_SEL_MAX)
				return netseg_err_set(err, 0, "at most %d %ss per identity", NETSEG_SEL_MAX, what);
			snprintf(line, sizeof(line), "%s%s %s", pass ? "+" : "-", what, v);
			cJSON_AddItemToArray(ch, cJSON_CreateString(line));
			if (pass) {
				strcpy(list + (*n)++ * stride, v);
			} else {
				--*n;
				memmove(list + i * stride, list + (i + 1) * stride, (*n - i) * stride);
			}
		}
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
static cJSON *cmd_identity_set(struct netsegd *d, const cJSON *req)
{
	static const char *const keys[] = {
		"add_ifaces", "remove_ifaces", "add_cgroups", "remove_cgroups",
		"add_cidrs", "remove_cidrs",
	};
	const char *name = arg_str(req, "name"), *owner, *cidr = NULL;
	const cJSON *audit = cJSON_GetObjectItem(req, "audit"), *k[6];
	const struct netseg_iddef *cur;
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	struct netseg_err err = {};
	struct netseg_iddef def;
	cJSON *ch, *o;
	bool any = audit != NULL;

	if (!name || (audit && !cJSON_IsBool(audit)))
		return netsegd_reply_error("usage", "identity.set needs a name and boolean audit or selector lists");
	for (int i = 0; i < 6; i++) {
		k[i] = cJSON_GetObjectItem(req, keys[i]);
		if (k[i] && !cJSON_IsArray(k[i]))
			return netsegd_reply_error("usage", "identity.set: %s must be a list", keys[i]);
		any |= k[i] != NULL;
	}
	if (!any)
		return netsegd_reply_error("usage", "identity.set needs audit or a selector to add or remove");
	cur = netseg_id_by_name(&d->ids, name);
	if (!cur || cur->cidr_only)
		return netsegd_reply_error("rejected", "no identity \"%s\"", name);
	def = *cur;
	ch = cJSON_CreateArray();
	if (audit && cJSON_IsTrue(audit) != def.audit) {
		cJSON_AddItemToArray(ch, cJSON_CreateString(def.audit ? "--audit: on → off" :
									 "--audit: off → on"));
		def.audit = cJSON_IsTrue(audit);
	}
	if (sel_edit(def.ifaces[0], sizeof(def.ifaces[0]), &def.nifaces, k[0], k[1],
		     "iface", false, ch, &err) ||
	    sel_edit(def.cgroups[0], sizeof(def.cgroups[0]), &def.ncgroups, k[2], k[3],
		     "cgroup", false, ch, &err) ||
	    sel_edit(def.cidrs[0], sizeof(def.cidrs[0]), &def.ncidrs, k[4], k[5],
		     "cidr", true, ch, &err)) {
		cJSON_Delete(ch);
		return netsegd_reply_error("rejected", "identity %s: %s", name, err.msg);
	}
	owner = cidr_owner(&d->ids, &def, &cidr);
	if (owner) {
		cJSON_Delete(ch);
		return netsegd_reply_error("rejected", "identity %s: CIDR %s belongs to identity %s",
					   name, cidr, owner);
	}
	if (!cJSON_GetArraySize(ch)) {
		o = reply_ok();
		cJSON_AddNumberToObject(o, "revision", d->revision);
		cJSON_AddItemToObject(o, "changes", ch);
		return o;
	}
	if (netseg_idstore_copy(&ids, &d->ids) || ruleset_copy(&rules, &d->rules)) {
		cJSON_Delete(ch);
		return netsegd_reply_error("internal", "out of memory");
	}
	if (netseg_id_replace(&ids, &def, &err)) {
		netseg_idstore_free(&ids);
		netseg_ruleset_free(&rules);
		cJSON_Delete(ch);
		return netsegd_reply_error("rejected", "%s", err.msg);
	}
	o = commit(d, &rules, &ids);
	if (cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")))
		cJSON_AddItemToObject(o, "changes", ch);
	else
		cJSON_Delete(ch);
	return o;
}

static cJSON *cmd_identity_list(struct netsegd *d, const cJSON *req)
{
	cJSON *o = reply_ok(), *a = cJSON_CreateArray();

	for (size_t i = 0; i < d->ids.n; i++)
		if (!d->ids.v[i].cidr_only)
			cJSON_AddItemToArray(a, netseg_iddef_to_json(&d->ids.v[i]));
	cJSON_AddItemToObject(o, "identities", a);
	return o;
}

static cJSON *cmd_identity_remove(struct netsegd *d, const cJSON *req)
{
	const char *name = arg_str(req, "name");
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	const struct netseg_iddef *def;

	if (!name)
		return netsegd_reply_error("usage", "identity remove needs a name");
	def = netseg_id_by_name(&d->ids, name);
	if (!def || def->cidr_only)
		return netsegd_reply_error("rejected", "no identity \"%s\"", name);
	for (size_t i = 0; i < d->rules.n; i++)
		if (!strcmp(d->rules.rules[i].src, name) || !strcmp(d->rules.rules[i].dst, name))
			return netsegd_reply_error("rejected",
				"identity \"%s\" is used by rule %u; remove the rule first",
				name, d->rules.rules[i].id);
	if (netseg_idstore_copy(&ids, &d->ids) || ruleset_copy(&rules, &d->rules))
		return netsegd_reply_error("internal", "out of memory");
	netseg_id_remove(&ids, name);
	return commit(d, &rules, &ids);
}

static cJSON *cmd_endpoint_list(struct netsegd *d, const cJSON *req)
{
	cJSON *o = reply_ok();

	cJSON_AddItemToObject(o, "endpoints", netsegd_endpoints_json(d));
	return o;
}

/* ------------------------------------------------------------- rules */

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
	const struct netseg_rule *cur = &d->rules.rules[i];
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	unsigned int n;
	cJSON *ch = changes_json(cur, r, &n), *o;
	__u32 id = cur->id;

	if (!n) {
		o = reply_ok();
		cJSON_AddNumberToObject(o, "revision", d->revision);
	} else {
		if (netseg_idstore_copy(&ids, &d->ids) || ruleset_copy(&rules, &d->rules)) {
			cJSON_Delete(ch);
			return netsegd_reply_error("internal", "out of memory");
		}
		rules.rules[i].flags = r->flags;
		strcpy(rules.rules[i].comment, r->comment);
		o = commit(d, &rules, &ids);
		if (!cJSON_IsTrue(cJSON_GetObjectItem(o, "ok"))) {
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

static cJSON *cmd_rule_add(struct netsegd *d, const cJSON *req)
{
	const char *action = arg_str(req, "action"), *text = arg_str(req, "rule");
	const char *comment = arg_str(req, "comment");
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
	if (arg_bool(req, "audit")) {
		if (r.action == NETSEG_VERDICT_DENY)
			return netsegd_reply_error("rejected", "--audit applies to allow rules only; put the identity in audit mode to test denies");
		r.flags |= NETSEG_RULEF_AUDIT;
	}
	if (arg_bool(req, "log"))
		r.flags |= NETSEG_RULEF_LOG;
	/* Checked like a .rules comment: never cut, never stored with a
	 * control character the state file would refuse on the next start. */
	if (comment && netseg_comment_check(comment, &err))
		return netsegd_reply_error("rejected", "%s", err.msg);
	if (comment)
		strcpy(r.comment, comment);
	for (size_t i = 0; i < d->rules.n; i++)
		if (netseg_rule_same(&d->rules.rules[i], &r))
			return rule_update(d, i, &r);
	r.id = d->next_rule_id;
	if (netseg_idstore_copy(&ids, &d->ids) || ruleset_copy(&rules, &d->rules) ||
	    netseg_ruleset_add(&rules, &r))
		return netsegd_reply_error("internal", "out of memory");
	d->next_rule_id++;
	o = commit(d, &rules, &ids);
	if (!cJSON_IsTrue(cJSON_GetObjectItem(o, "ok"))) {
		d->next_rule_id--;
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
		for (size_t i = 0; i < d->rules.n; i++)
			if (d->rules.rules[i].id == id)
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
		for (size_t i = 0; i < d->rules.n; i++) {
			struct netseg_rule x = d->rules.rules[i];

			x.flags = r.flags;	/* flags don't make a rule different */
			if (netseg_rule_same(&x, &r))
				return i;
		}
	}
	netseg_err_set(err, 0, "no rule matches \"%s\"", target);
	return -1;
}

static cJSON *cmd_rule_remove(struct netsegd *d, const cJSON *req)
{
	const char *target = arg_str(req, "target");
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
	id = d->rules.rules[i].id;
	if (netseg_idstore_copy(&ids, &d->ids) || ruleset_copy(&rules, &d->rules))
		return netsegd_reply_error("internal", "out of memory");
	rules.rules[i] = rules.rules[--rules.n];
	o = commit(d, &rules, &ids);
	if (cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")))
		cJSON_AddNumberToObject(o, "removed", id);
	return o;
}

/*
 * `rule set ID`: change a rule's flags or comment in place, keeping its
 * id, through the same update as an allow of an existing rule.  Only the
 * fields the request names change.
 */
static cJSON *cmd_rule_set(struct netsegd *d, const cJSON *req)
{
	const cJSON *id = cJSON_GetObjectItem(req, "id");
	const cJSON *audit = cJSON_GetObjectItem(req, "audit");
	const cJSON *log = cJSON_GetObjectItem(req, "log");
	const cJSON *comment = cJSON_GetObjectItem(req, "comment");
	struct netseg_err err = {};
	struct netseg_rule r;
	size_t i;

	if (!cJSON_IsNumber(id) || (audit && !cJSON_IsBool(audit)) ||
	    (log && !cJSON_IsBool(log)) || (comment && !cJSON_IsString(comment)))
		return netsegd_reply_error("usage", "rule.set needs a numeric id and boolean audit/log or a string comment");
	if (!audit && !log && !comment)
		return netsegd_reply_error("usage", "rule.set needs audit, log or comment");
	for (i = 0; i < d->rules.n; i++)
		if (d->rules.rules[i].id == id->valuedouble)
			break;
	if (i == d->rules.n)
		return netsegd_reply_error("rejected", "no rule with id %.0f", id->valuedouble);
	r = d->rules.rules[i];
	if (cJSON_IsTrue(audit) && r.action == NETSEG_VERDICT_DENY)
		return netsegd_reply_error("rejected",
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

static cJSON *cmd_rule_list(struct netsegd *d, const cJSON *req)
{
	cJSON *o = reply_ok(), *a = cJSON_CreateArray();

	for (size_t i = 0; i < d->rules.n; i++)
		cJSON_AddItemToArray(a, rule_json(&d->rules.rules[i]));
	cJSON_AddItemToObject(o, "rules", a);
	cJSON_AddNumberToObject(o, "revision", d->revision);
	return o;
}

static cJSON *parse_error_reply(struct netseg_errlist *errs, const char *name)
{
	cJSON *o = netsegd_reply_error("rejected", "%s: %zu error%s; nothing applied",
				       name, errs->n, errs->n == 1 ? "" : "s");
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < errs->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(errs->msgs[i]));
	cJSON_AddItemToObject(o, "errors", a);
	return o;
}

/* Parse a request's rule file; rules equal to current ones keep their id. */
/* 0 and the parsed rules in *rs, or -1 and the error reply in *err (NULL
 * when even that couldn't be allocated: a NULL reply must not read as
 * success, or apply would go on with an unset rule set). */
static int parse_request_rules(struct netsegd *d, const cJSON *req,
			       struct netseg_ruleset *rs, const char **name, cJSON **err)
{
	const char *text = arg_str(req, "text");
	struct netseg_errlist errs = {};

	*name = arg_str(req, "name") ?: "request";
	memset(rs, 0, sizeof(*rs));
	if (!text) {
		*err = netsegd_reply_error("usage", "apply needs the rule file text");
		return -1;
	}
	if (netseg_ruleset_parse_buf(*name, text, strlen(text), rs, &errs)) {
		*err = errs.n ? parse_error_reply(&errs, *name) :
				netsegd_reply_error("internal", "out of memory");
		netseg_errlist_free(&errs);
		netseg_ruleset_free(rs);
		return -1;
	}
	for (size_t i = 0; i < rs->n; i++) {
		rs->rules[i].id = 0;
		for (size_t j = 0; j < d->rules.n; j++)
			if (netseg_rule_same(&rs->rules[i], &d->rules.rules[j]))
				rs->rules[i].id = d->rules.rules[j].id;
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
	for (size_t i = 0; id && i < d->rules.n; i++)
		if (d->rules.rules[i].id == id)
			return &d->rules.rules[i];
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

static cJSON *cmd_apply(struct netsegd *d, const cJSON *req)
{
	const cJSON *exp = cJSON_GetObjectItem(req, "expect_revision");
	struct netseg_policy pol = {};
	struct netseg_ruleset rs;
	struct netseg_idstore ids;
	struct netseg_resolver res;
	struct netseg_err err = {};
	size_t added, removed, changed, nrules;
	const char *name, **names;
	__u32 next_id = d->next_rule_id;
	cJSON *o;
	int r;

	if (exp && !cJSON_IsNumber(exp))
		return netsegd_reply_error("usage", "expect_revision must be a number");
	if (exp && exp->valuedouble != (double)d->revision)
		return netsegd_reply_error("rejected",
			"revision is %llu, not %.0f: someone else changed the rules; re-read and retry",
			(unsigned long long)d->revision, exp->valuedouble);
	if (parse_request_rules(d, req, &rs, &name, &o))
		return o;
	added = count_missing(&rs, &d->rules);
	removed = count_missing(&d->rules, &rs);
	changed = count_changed(d, &rs);
	nrules = rs.n;
	/* On a copy: a dry run (or a failed apply) must not use up ids. */
	netseg_ruleset_assign_ids(&rs, &next_id);
	if (netseg_idstore_copy(&ids, &d->ids)) {
		netseg_ruleset_free(&rs);
		return netsegd_reply_error("internal", "out of memory");
	}
	if (!added && !removed && !changed && !arg_bool(req, "dry_run")) {
		/* Nothing to swap in: the revision stays what it is. */
		netseg_ruleset_free(&rs);
		netseg_idstore_free(&ids);
		o = reply_ok();
		cJSON_AddBoolToObject(o, "unchanged", true);
		cJSON_AddNumberToObject(o, "entries", d->entries);
	} else if (arg_bool(req, "dry_run")) {
		netsegd_resolver(d, &ids, &res, &names);
		r = netseg_compile(rs.rules, rs.n, &res, d->cfg.max_entries, &pol, &err);
		free(names);
		netseg_ruleset_free(&rs);
		netseg_idstore_free(&ids);
		if (r)
			return netsegd_reply_error("rejected", "%s: %s", name, err.msg);
		o = reply_ok();
		cJSON_AddNumberToObject(o, "entries", pol.n);
		netseg_policy_free(&pol);
	} else {
		__u32 saved = d->next_rule_id;

		d->next_rule_id = next_id;	/* saved with the state */
		o = commit(d, &rs, &ids);
		if (!cJSON_IsTrue(cJSON_GetObjectItem(o, "ok"))) {
			d->next_rule_id = saved;
			return o;
		}
		cJSON_AddNumberToObject(o, "entries", d->entries);
	}
	cJSON_AddNumberToObject(o, "rules", nrules);
	cJSON_AddNumberToObject(o, "added", added);
	cJSON_AddNumberToObject(o, "removed", removed);
	cJSON_AddNumberToObject(o, "changed", changed);
	if (!cJSON_GetObjectItem(o, "revision"))
		cJSON_AddNumberToObject(o, "revision", d->revision);
	return o;
}

static cJSON *cmd_diff(struct netsegd *d, const cJSON *req)
{
	struct netseg_ruleset rs;
	const struct netseg_rule *cur;
	cJSON *o, *add, *rem, *chg, *x;
	const char *name;
	unsigned int n;

	if (parse_request_rules(d, req, &rs, &name, &o))
		return o;
	o = reply_ok();
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
		if (!has_same(&d->rules, &rs.rules[i]))
			cJSON_AddItemToArray(add, rule_json(&rs.rules[i]));
	for (size_t i = 0; i < d->rules.n; i++)
		if (!has_same(&rs, &d->rules.rules[i]))
			cJSON_AddItemToArray(rem, rule_json(&d->rules.rules[i]));
	netseg_ruleset_free(&rs);
	return o;
}

/* ------------------------------------------------------------- trace */

static int proto_num(const char *p)
{
	static const struct { const char *n; int v; } t[] = {
		{ "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP }, { "sctp", IPPROTO_SCTP },
		{ "icmp", IPPROTO_ICMP }, { "icmpv6", IPPROTO_ICMPV6 }, { "any", 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(p, t[i].n))
			return t[i].v;
	return -1;
}

/* One side of a trace: the identity it resolved to, and how. */
struct trace_side {
	const char *input;
	__u32 id;
	char name[NETSEG_NAME_MAX];
	char how[192];
};

/* An address as the datapath resolves it: the ipcache's longest prefix
 * (pod IPs learned from netlink, CIDR identities, the node's own
 * addresses as host), else world. */
static void trace_addr(struct netsegd *d, int family, const __u8 *addr, struct trace_side *s)
{
	const struct netseg_ipent *e = netseg_iptable_lookup(&d->ips, family, addr);
	const struct netseg_iddef *def;
	char ifname[IF_NAMESIZE], prefix[64];

	if (!e) {
		s->id = NETSEG_ID_WORLD;
		snprintf(s->how, sizeof(s->how), "no ipcache entry");
		return;
	}
	s->id = e->val.id;
	netseg_ipent_format(e, prefix, sizeof(prefix));
	def = netseg_id_by_id(&d->ids, s->id);
	if (e->val.ifindex)
		snprintf(s->how, sizeof(s->how), "endpoint %s, ipcache %s",
			 if_indextoname(e->val.ifindex, ifname) ? ifname : "(gone)", prefix);
	else if (s->id == NETSEG_ID_HOST)
		snprintf(s->how, sizeof(s->how), "the node's own address, ipcache %s", prefix);
	else if (def && def->cidr_only)
		snprintf(s->how, sizeof(s->how), "CIDR identity, ipcache %s", prefix);
	else
		snprintf(s->how, sizeof(s->how), "CIDR of identity %s, ipcache %s",
			 def ? def->name : "?", prefix);
}

/* A name, a CIDR some identity is made of, or an address ("198.18.3.2",
 * "198.18.3.2/32", "fd00::1"); 0 or -ENOENT/-EINVAL with @err set. */
static int trace_resolve(struct netsegd *d, const char *sel, struct trace_side *s,
			 struct netseg_err *err)
{
	const struct netseg_iddef *def = netseg_id_by_name(&d->ids, sel);
	struct netseg_resolver res;
	const char **names;
	char canon[64], buf[32];
	__u8 addr[16] = {};
	int fam, plen, r;

	s->input = sel;
	s->how[0] = '\0';
	if (inet_pton(AF_INET, sel, addr) == 1) {
		trace_addr(d, NETSEG_AF_INET, addr, s);
	} else if (inet_pton(AF_INET6, sel, addr) == 1) {
		trace_addr(d, NETSEG_AF_INET6, addr, s);
	} else if (strchr(sel, '/')) {
		if (netseg_cidr_parse(sel, &fam, addr, &plen, canon, sizeof(canon)))
			return netseg_err_set(err, 0, "\"%s\" is not an address, a CIDR or an identity name",
					      sel);
		def = netseg_id_by_name(&d->ids, canon);
		if (def) {
			s->id = def->id;
			snprintf(s->how, sizeof(s->how), "%s identity",
				 def->cidr_only ? "CIDR" : "named");
		} else if (plen == (fam == NETSEG_AF_INET ? 32 : 128)) {
			trace_addr(d, fam, addr, s);
		} else {
			return netseg_err_set(err, 0, "%s is a range of addresses that may resolve to different identities; trace one address, or a CIDR a rule or identity names",
					      canon);
		}
	} else if (!strcmp(sel, "*")) {
		return netseg_err_set(err, 0, "trace needs one source and one destination, not \"*\"");
	} else {
		r = netsegd_resolver(d, &d->ids, &res, &names);
		if (r)
			return netseg_err_set(err, 0, "out of memory");
		r = netseg_selector_resolve(&res, sel, &s->id);
		free(names);
		if (r)
			return netseg_err_set(err, 0, "unknown identity \"%s\" (and not an address)",
					      sel);
	}
	/* netseg_id_name() returns the stored name, filling buf only for
	 * ids without one. */
	snprintf(s->name, sizeof(s->name), "%s",
		 netseg_id_name(&d->ids, s->id, buf, sizeof(buf)));
	return 0;
}

static cJSON *trace_side_json(const struct trace_side *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "input", s->input);
	cJSON_AddStringToObject(o, "identity", s->name);
	cJSON_AddNumberToObject(o, "id", s->id);
	cJSON_AddStringToObject(o, "resolved_by", s->how[0] ? s->how : "identity name");
	return o;
}

static __u32 trace_flags(struct netsegd *d, __u32 id)
{
	const struct netseg_iddef *def = netseg_id_by_id(&d->ids, id);

	return def ? netsegd_identity_flags(d, def) : 0;
}

static void trace_explain(const struct netseg_ref_decision *v, const struct trace_side *src,
			  const struct trace_side *dst, __u32 sf, __u32 df, const char *flow,
			  const char **reason, char *why, size_t len)
{
	if (!v->enforced) {
		*reason = "not-enforced";
		snprintf(why, len, "neither %s nor %s is an endpoint (CIDR identities, world and host are not) and no rule matches: not enforced, only the XDP prefilter applies",
			 src->name, dst->name);
		return;
	}
	if (v->reason == NETSEG_REASON_NONE) {
		*reason = "rule";
		snprintf(why, len, "rule %u allows it and no deny rule matches", v->rule_id);
	} else if (v->reason == NETSEG_REASON_POLICY) {
		*reason = "policy";
		snprintf(why, len, "deny rule %u matches (deny beats allow)", v->rule_id);
	} else {
		*reason = "default-deny";
		snprintf(why, len, "no rule allows %s -> %s %s; %s is an endpoint identity (default deny)",
			 src->name, dst->name, flow, sf & NETSEG_IDF_ENDPOINT ? src->name : dst->name);
	}
	if (v->reason != NETSEG_REASON_NONE && v->verdict == NETSEG_VERDICT_AUDIT)
		strncat(why, "; every endpoint involved is in audit mode, so it is logged, not dropped",
			len - strlen(why) - 1);
}

static cJSON *cmd_trace(struct netsegd *d, const cJSON *req)
{
	const char *src = arg_str(req, "src"), *dst = arg_str(req, "dst");
	const char *proto = arg_str(req, "proto") ?: "tcp";
	const cJSON *port = cJSON_GetObjectItem(req, "port");
	struct netseg_ref_decision v;
	struct netseg_resolver res;
	struct netseg_tuple t = {};
	struct netseg_err err = {};
	struct trace_side ss, ds;
	__u32 sf, df;
	const char **names;
	char why[512], rule[1024] = "", flow[32];
	const char *reason;
	cJSON *o;
	int p = proto_num(proto), r, n;

	if (!src || !dst || p < 0 || (port && (!cJSON_IsNumber(port) ||
			port->valuedouble < 0 || port->valuedouble > 65535)))
		return netsegd_reply_error("usage", "trace needs src, dst, a protocol (tcp, udp, sctp, icmp, icmpv6) and a port 0-65535");
	if (trace_resolve(d, src, &ss, &err) || trace_resolve(d, dst, &ds, &err))
		return netsegd_reply_error("rejected", "%s", err.msg);
	t.src_id = ss.id;
	t.dst_id = ds.id;
	t.proto = p;
	t.port = port ? (__u16)port->valuedouble : 0;
	snprintf(flow, sizeof(flow), "%s/%u", proto, t.port);
	if (p == IPPROTO_ICMP || p == IPPROTO_ICMPV6)
		t.port = (__u16)(t.port << 8);	/* the type, any code */
	sf = trace_flags(d, ss.id);
	df = trace_flags(d, ds.id);
	r = netsegd_resolver(d, &d->ids, &res, &names);
	r = r ?: netseg_ref_decide(d->rules.rules, d->rules.n, &res, &t, sf, df, &v);
	free(names);
	if (r)
		return netsegd_reply_error("internal", "couldn't evaluate the rules: %s", strerror(-r));
	trace_explain(&v, &ss, &ds, sf, df, flow, &reason, why, sizeof(why));
	for (size_t i = 0; v.rule_id && i < d->rules.n; i++) {
		const struct netseg_rule *x = &d->rules.rules[i];

		if (x->id != v.rule_id)
			continue;
		n = snprintf(rule, sizeof(rule), "%s ", verdict_name(x->action));
		netseg_rule_format(x, rule + n, sizeof(rule) - n);
	}
	o = reply_ok();
	cJSON_AddStringToObject(o, "verdict", verdict_name(v.verdict));
	cJSON_AddBoolToObject(o, "enforced", v.enforced);
	cJSON_AddNumberToObject(o, "rule_id", v.rule_id);
	cJSON_AddStringToObject(o, "rule", rule);
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddStringToObject(o, "explanation", why);
	cJSON_AddItemToObject(o, "src", trace_side_json(&ss));
	cJSON_AddItemToObject(o, "dst", trace_side_json(&ds));
	return o;
}

/* --------------------------------------------------- prefilter, attach */

static cJSON *cmd_prefilter(struct netsegd *d, const cJSON *req, bool add)
{
	const char *cidr = arg_str(req, "cidr");
	struct netseg_err err = {};
	int r;
	cJSON *o;

	if (!cidr)
		return netsegd_reply_error("usage", "prefilter add|remove needs a CIDR");
	r = netsegd_prefilter_apply(d, cidr, add, &err);
	if (r)
		return netsegd_reply_error(r == -EINVAL || r == -ENOENT ? "rejected" : "internal",
					   "%s", err.msg);
	o = reply_ok();
	cJSON_AddNumberToObject(o, "revision", d->revision);
	return o;
}

static cJSON *cmd_prefilter_add(struct netsegd *d, const cJSON *req)
{
	return cmd_prefilter(d, req, true);
}

static cJSON *cmd_prefilter_remove(struct netsegd *d, const cJSON *req)
{
	return cmd_prefilter(d, req, false);
}

static cJSON *cmd_prefilter_list(struct netsegd *d, const cJSON *req)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_PREFILTER);
	cJSON *o = reply_ok(), *a = cJSON_AddArrayToObject(o, "prefilter");

	for (size_t i = 0; i < d->nprefilter; i++) {
		struct netseg_prefilter_val v = {};
		struct netseg_lpm_key k = {};
		int fam, plen;
		cJSON *x = cJSON_CreateObject();

		if (!netseg_cidr_parse(d->prefilter[i].cidr, &fam, k.addr, &plen, NULL, 0)) {
			k.family = fam;
			k.prefixlen = NETSEG_LPM_PLEN_HDR + plen;
			bpf_map_lookup_elem(fd, &k, &v);
		}
		cJSON_AddStringToObject(x, "cidr", d->prefilter[i].cidr);
		cJSON_AddNumberToObject(x, "hits", v.hits);
		cJSON_AddItemToArray(a, x);
	}
	return o;
}

static cJSON *state_error(struct netsegd *d, int err, const char *what)
{
	struct netseg_err e;

	netsegd_state_error(d, err, what, &e);
	return netsegd_reply_error("internal", "%s", e.msg);
}

static int uplink_index(struct netsegd *d, const char *name)
{
	for (unsigned int i = 0; i < d->cfg.nuplinks; i++)
		if (!strcmp(d->cfg.uplinks[i], name))
			return i;
	return -1;
}

static cJSON *cmd_attach(struct netsegd *d, const cJSON *req)
{
	const char *name = arg_str(req, "iface");
	int ifindex = name ? if_nametoindex(name) : 0, err;
	char idname[NETSEG_NAME_MAX];
	__u32 ep;
	cJSON *o;

	if (!name || strlen(name) >= IF_NAMESIZE)
		return netsegd_reply_error("usage", "attach needs an interface name");
	if (!ifindex)
		return netsegd_reply_error("rejected", "couldn't attach to %s: interface not found", name);
	ep = netsegd_endpoint_id(d, ifindex);
	if (ep)
		/* Its own programs enforce it; as an uplink it would lose them. */
		return netsegd_reply_error("rejected", "%s is the endpoint of identity %s; uplinks are the node's external interfaces",
					   name, netseg_id_name(&d->ids, ep, idname, sizeof(idname)));
	/* Marked first: the programs never run there without anti-spoofing. */
	err = netseg_dp_uplink_set(d->dp, ifindex);
	err = err ?: netseg_dp_attach_xdp(d->dp, ifindex);
	err = err ?: netseg_dp_attach_tc(d->dp, ifindex, true);
	err = err ?: netseg_dp_attach_tc(d->dp, ifindex, false);
	if (err)
		return netsegd_reply_error("internal", "couldn't attach to %s: %s", name, strerror(-err));
	if (uplink_index(d, name) < 0 && d->cfg.nuplinks < NETSEGD_MAX_UPLINKS) {
		strcpy(d->cfg.uplinks[d->cfg.nuplinks++], name);
		err = netsegd_state_save(d);
		if (err) {
			/* Attached but not saved would be forgotten on restart:
			 * undo, as the commit path does. */
			d->cfg.nuplinks--;
			netseg_dp_detach_xdp(d->dp, ifindex);
			netseg_dp_detach_tc(d->dp, ifindex, true);
			netseg_dp_detach_tc(d->dp, ifindex, false);
			netseg_dp_endpoint_del(d->dp, ifindex);
			return state_error(d, err, "nothing attached");
		}
	}
	o = reply_ok();
	cJSON_AddStringToObject(o, "iface", name);
	cJSON_AddNumberToObject(o, "ifindex", ifindex);
	cJSON *a = cJSON_AddArrayToObject(o, "attached");
	cJSON_AddItemToArray(a, cJSON_CreateString("xdp"));
	cJSON_AddItemToArray(a, cJSON_CreateString("tc/ingress"));
	cJSON_AddItemToArray(a, cJSON_CreateString("tc/egress"));
	return o;
}

static cJSON *cmd_detach(struct netsegd *d, const cJSON *req)
{
	const char *name = arg_str(req, "iface");
	int ifindex = name ? if_nametoindex(name) : 0, i, err;
	cJSON *o, *a;

	if (!name)
		return netsegd_reply_error("usage", "detach needs an interface name");
	i = uplink_index(d, name);
	if (i < 0)
		return netsegd_reply_error("rejected", "%s is not an attached uplink", name);
	/* Saved first, detached after: a state file that can't be written
	 * leaves the uplink enforced without a moment's gap. */
	memmove(d->cfg.uplinks[i], d->cfg.uplinks[i + 1],
		(d->cfg.nuplinks - i - 1) * sizeof(d->cfg.uplinks[0]));
	d->cfg.nuplinks--;
	err = netsegd_state_save(d);
	if (err) {
		memmove(d->cfg.uplinks[i + 1], d->cfg.uplinks[i],
			(d->cfg.nuplinks - i) * sizeof(d->cfg.uplinks[0]));
		strcpy(d->cfg.uplinks[i], name);
		d->cfg.nuplinks++;
		return state_error(d, err, "still attached");
	}
	if (ifindex) {
		/* A detach that didn't happen must not look like one. */
		int err = netseg_dp_detach_xdp(d->dp, ifindex);

		if (err)
			return netsegd_reply_error("internal", "couldn't detach the XDP prefilter from %s: %s",
						   name, strerror(-err));
		netseg_dp_detach_tc(d->dp, ifindex, true);
		netseg_dp_detach_tc(d->dp, ifindex, false);
		netseg_dp_endpoint_del(d->dp, ifindex);
	}
	o = reply_ok();
	cJSON_AddStringToObject(o, "iface", name);
	cJSON_AddNumberToObject(o, "ifindex", ifindex);
	a = cJSON_AddArrayToObject(o, "detached");
	if (ifindex) {
		cJSON_AddItemToArray(a, cJSON_CreateString("xdp"));
		cJSON_AddItemToArray(a, cJSON_CreateString("tc/ingress"));
		cJSON_AddItemToArray(a, cJSON_CreateString("tc/egress"));
	}
	return o;
}

static const struct {
	const char *name;
	cJSON *(*fn)(struct netsegd *d, const cJSON *req);
} commands[] = {
	{ "status", cmd_status },
	{ "stats", cmd_stats },
	{ "identity.add", cmd_identity_add },
	{ "identity.list", cmd_identity_list },
	{ "identity.remove", cmd_identity_remove },
	{ "identity.set", cmd_identity_set },
	{ "endpoint.list", cmd_endpoint_list },
	{ "rule.add", cmd_rule_add },
	{ "rule.remove", cmd_rule_remove },
	{ "rule.list", cmd_rule_list },
	{ "rule.set", cmd_rule_set },
	{ "apply", cmd_apply },
	{ "diff", cmd_diff },
	{ "trace", cmd_trace },
	{ "prefilter.add", cmd_prefilter_add },
	{ "prefilter.remove", cmd_prefilter_remove },
	{ "prefilter.list", cmd_prefilter_list },
	{ "attach", cmd_attach },
	{ "detach", cmd_detach },
};

cJSON *netsegd_dispatch(struct netsegd *d, const cJSON *req)
{
	const char *cmd = arg_str(req, "cmd");

	if (!cmd)
		return netsegd_reply_error("usage", "request has no \"cmd\" string");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(d, req);
	return netsegd_reply_error("usage", "unknown command \"%.64s\"", cmd);
}
