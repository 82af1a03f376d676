// SPDX-License-Identifier: GPL-2.0-only
/* Identity store: definitions, ids, CIDR identities, JSON form. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "identity.h"
#include "prefix.h"
#include "text.h"

void netseg_idstore_init(struct netseg_idstore *s)
{
	memset(s, 0, sizeof(*s));
	s->next_id = NETSEG_ID_USER_MIN;
	s->next_cidr_id = NETSEG_ID_CIDR_MIN;
}

void netseg_idstore_free(struct netseg_idstore *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

int netseg_idstore_copy(struct netseg_idstore *dst, const struct netseg_idstore *src)
{
	*dst = *src;
	dst->v = NULL;
	if (!src->n)
		return dst->cap = 0, 0;
	dst->v = malloc(src->n * sizeof(*src->v));
	if (!dst->v)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->n * sizeof(*src->v));
	dst->cap = src->n;
	return 0;
}

struct netseg_iddef *netseg_id_by_name(const struct netseg_idstore *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return &s->v[i];
	return NULL;
}

struct netseg_iddef *netseg_id_by_id(const struct netseg_idstore *s, __u32 id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].id == id)
			return &s->v[i];
	return NULL;
}

const char *netseg_id_name(const struct netseg_idstore *s, __u32 id, char *buf, size_t len)
{
	const struct netseg_iddef *d;

	switch (id) {
	case NETSEG_ID_ANY:
		return "*";
	case NETSEG_ID_HOST:
		return "host";
	case NETSEG_ID_WORLD:
		return "world";
	}
	d = netseg_id_by_id(s, id);
	if (d)
		return d->name;
	snprintf(buf, len, "id:%u", id);
	return buf;
}

static bool valid_name(const char *n)
{
	size_t len = strlen(n);

	if (!len || len >= NETSEG_NAME_MAX || !isalnum((unsigned char)n[0]) || n[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)n[i]) && !strchr("_.-", n[i]))
			return false;
	return strcmp(n, "world") && strcmp(n, "host") && strcmp(n, "any");
}

#define NS_RULE \
	"1-63 lower-case letters, digits and '-', starting and ending with a letter or digit"

/*
 * The selector parsed and put back in canonical form, so that the state
 * file, `identity list` and the compiler all see one spelling of it.
 */
static int validate_selector(struct netseg_iddef *d, struct netseg_err *err)
{
	struct netseg_labelsel sel;
	struct netseg_err pe = {};
	char why[72], *canon;
	int r;

	if (!d->has_selector) {
		if (d->ns[0])
			return netseg_err_set(
				err, 0,
				"identity %s: a namespace only limits a label selector; give a selector too",
				d->name);
		d->selector[0] = '\0';
		return 0;
	}
	if (d->ns[0] && !netseg_dns_label_ok(d->ns))
		return netseg_err_set(err, 0,
				      "identity %s: namespace \"%s\" must be a DNS label: " NS_RULE,
				      d->name, netseg_printable(d->ns, why, sizeof(why)));
	r = netseg_labelsel_parse(d->selector, &sel, &pe);
	if (r == -EINVAL)
		return netseg_err_set(err, 0, "identity %s: selector \"%s\", column %d: %s",
				      d->name, netseg_printable(d->selector, why, sizeof(why)),
				      pe.col, pe.msg);
	if (!r) {
		r = netseg_labelsel_format(&sel, &canon);
		netseg_labelsel_free(&sel);
	}
	if (r) {
		netseg_err_set(err, 0, "identity %s: selector: %s", d->name, strerror(-r));
		return r;
	}
	if (strlen(canon) >= sizeof(d->selector))
		r = netseg_err_set(
			err, 0,
			"identity %s: selector too long: %zu bytes in canonical form, at most %zu",
			d->name, strlen(canon), sizeof(d->selector) - 1);
	else
		strcpy(d->selector, canon);
	free(canon);
	return r;
}

static int validate(struct netseg_iddef *d, struct netseg_err *err)
{
	char why[128];

	if (!valid_name(d->name))
		return netseg_err_set(
			err, 0,
			"invalid identity name \"%s\": use letters, digits, '_', '.', '-' (not world/host/any), at most %d characters",
			netseg_printable(d->name, why, 65), NETSEG_NAME_MAX - 1);
	/* Globs and paths are echoed in tables, logs and the state file:
	 * text.h's rules, and the message never repeats a bad byte. */
	for (unsigned int i = 0; i < d->nifaces; i++) {
		if (netseg_ifname_check(d->ifaces[i], 16 + 8, why, sizeof(why)))
			return netseg_err_set(err, 0, "identity %s: interface glob #%u: %s",
					      d->name, i + 1, why);
	}
	for (unsigned int i = 0; i < d->ncgroups; i++) {
		if (netseg_path_check(d->cgroups[i], NETSEG_PATH_MAX, why, sizeof(why)))
			return netseg_err_set(err, 0, "identity %s: cgroup path #%u: %s", d->name,
					      i + 1, why);
	}
	for (unsigned int i = 0; i < d->ncidrs; i++) {
		struct netseg_prefix p;
		struct netseg_err pe;

		if (netseg_prefix_parse(d->cidrs[i], &p, &pe))
			return netseg_err_set(err, 0, "identity %s: CIDR \"%s\", column %d: %s",
					      d->name,
					      netseg_printable(d->cidrs[i], why, sizeof(why)),
					      pe.col, pe.msg);
		netseg_prefix_format(&p, d->cidrs[i], sizeof(d->cidrs[i]));
	}
	return validate_selector(d, err);
}

static int push(struct netseg_idstore *s, const struct netseg_iddef *d)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct netseg_iddef *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *d;
	return 0;
}

int netseg_id_add(struct netseg_idstore *s, struct netseg_iddef *def, struct netseg_err *err)
{
	int r = validate(def, err);

	if (r)
		return r;
	if (netseg_id_by_name(s, def->name)) {
		netseg_err_set(err, 0, "identity \"%s\" already exists", def->name);
		return -EEXIST;
	}
	if (s->next_id >= NETSEG_ID_CIDR_MIN) {
		netseg_err_set(err, 0, "out of identity ids");
		return -ENOSPC;
	}
	def->id = s->next_id++;
	def->cidr_only = false;
	return push(s, def);
}

int netseg_id_replace(struct netseg_idstore *s, struct netseg_iddef *def, struct netseg_err *err)
{
	struct netseg_iddef *cur = netseg_id_by_name(s, def->name);
	int r;

	if (!cur || cur->cidr_only) {
		netseg_err_set(err, 0, "no identity \"%s\"", def->name);
		return -ENOENT;
	}
	r = validate(def, err);
	if (r)
		return r;
	/* The id stays: rules, conntrack and flow records keep naming it. */
	def->id = cur->id;
	def->cidr_only = false;
	*cur = *def;
	return 0;
}

int netseg_id_remove(struct netseg_idstore *s, const char *name)
{
	struct netseg_iddef *d = netseg_id_by_name(s, name);

	if (!d)
		return -ENOENT;
	*d = s->v[--s->n];
	return 0;
}

int netseg_id_cidr(struct netseg_idstore *s, const char *cidr, __u32 *id)
{
	struct netseg_iddef d = {};
	struct netseg_iddef *e = netseg_id_by_name(s, cidr);
	int r;

	if (e) {
		*id = e->id;
		return 0;
	}
	if (!cidr || strlen(cidr) >= sizeof(d.cidrs[0]))
		return -EINVAL;
	memcpy(d.name, cidr, strlen(cidr) + 1); /* fits: name is as wide as cidrs[0] */
	strcpy(d.cidrs[0], cidr);
	d.ncidrs = 1;
	d.cidr_only = true;
	d.id = s->next_cidr_id++;
	r = push(s, &d);
	if (!r)
		*id = d.id;
	return r;
}

int netseg_iddef_set_selector(struct netseg_iddef *d, const char *text, const char *ns,
			      struct netseg_err *err)
{
	struct netseg_iddef t = *d;
	char why[72];
	int r;

	ns = ns ? ns : "";
	t.has_selector = text != NULL;
	t.selector[0] = '\0';
	if (text && strlen(text) >= sizeof(t.selector))
		return netseg_err_set(err, 0,
				      "identity %s: selector too long: %zu bytes, at most %zu",
				      d->name, strlen(text), sizeof(t.selector) - 1);
	if (strlen(ns) >= sizeof(t.ns))
		return netseg_err_set(err, 0,
				      "identity %s: namespace \"%s\" must be a DNS label: " NS_RULE,
				      d->name, netseg_printable(ns, why, sizeof(why)));
	if (text)
		strcpy(t.selector, text);
	strcpy(t.ns, ns);
	r = validate_selector(&t, err);
	if (!r)
		*d = t;
	return r;
}

int netseg_iddef_selector(const struct netseg_iddef *d, struct netseg_labelsel *out)
{
	netseg_labelsel_init(out);
	if (!d->has_selector)
		return -ENOENT;
	return netseg_labelsel_parse(d->selector, out, NULL);
}

__u32 netseg_id_flags(const struct netseg_iddef *d)
{
	__u32 f = 0;

	if (d->nifaces || d->ncgroups)
		f |= NETSEG_IDF_ENDPOINT;
	if (d->audit)
		f |= NETSEG_IDF_AUDIT;
	return f;
}

/* ----------------------------------------------------------------- JSON */

/* Selector arrays differ in width: walk them by stride. */
static cJSON *str_array(const char *base, unsigned int n, size_t stride)
{
	cJSON *a = cJSON_CreateArray();

	for (unsigned int i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(base + i * stride));
	return a;
}

cJSON *netseg_iddef_to_json(const struct netseg_iddef *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", d->name);
	cJSON_AddNumberToObject(o, "id", d->id);
	cJSON_AddBoolToObject(o, "audit", d->audit);
	if (d->cidr_only)
		cJSON_AddBoolToObject(o, "cidr_identity", true);
	cJSON_AddItemToObject(o, "ifaces",
			      str_array(d->ifaces[0], d->nifaces, sizeof(d->ifaces[0])));
	cJSON_AddItemToObject(o, "cgroups",
			      str_array(d->cgroups[0], d->ncgroups, sizeof(d->cgroups[0])));
	cJSON_AddItemToObject(o, "cidrs", str_array(d->cidrs[0], d->ncidrs, sizeof(d->cidrs[0])));
	if (d->has_selector) {
		cJSON_AddStringToObject(o, "selector", d->selector);
		cJSON_AddStringToObject(o, "namespace", d->ns);
	}
	return o;
}

cJSON *netseg_idstore_to_json(const struct netseg_idstore *s)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();

	cJSON_AddNumberToObject(o, "next_id", s->next_id);
	cJSON_AddNumberToObject(o, "next_cidr_id", s->next_cidr_id);
	for (size_t i = 0; i < s->n; i++)
		cJSON_AddItemToArray(a, netseg_iddef_to_json(&s->v[i]));
	cJSON_AddItemToObject(o, "identities", a);
	return o;
}

int netseg_json_strs(const cJSON *arr, char *out, size_t stride, size_t width, unsigned int max,
		     unsigned int *n)
{
	const cJSON *it;

	*n = 0;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || *n >= max || strlen(it->valuestring) >= width)
			return -EINVAL;
		strcpy(out + (*n)++ * stride, it->valuestring);
	}
	return 0;
}

/* An optional string member into @out: absent (or null) leaves it "",
 * anything but a string that fits is -EINVAL. */
static int json_str(const cJSON *v, char *out, size_t width, bool *present)
{
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= width)
		return -EINVAL;
	strcpy(out, v->valuestring);
	if (present)
		*present = true;
	return 0;
}

int netseg_iddef_from_json(const cJSON *o, struct netseg_iddef *d)
{
	const cJSON *name = cJSON_GetObjectItem(o, "name");
	const cJSON *id = cJSON_GetObjectItem(o, "id");

	memset(d, 0, sizeof(*d));
	if (!cJSON_IsString(name) || strlen(name->valuestring) >= NETSEG_NAME_MAX)
		return -EINVAL;
	strcpy(d->name, name->valuestring);
	d->id = cJSON_IsNumber(id) ? (__u32)id->valuedouble : 0;
	d->audit = cJSON_IsTrue(cJSON_GetObjectItem(o, "audit"));
	d->cidr_only = cJSON_IsTrue(cJSON_GetObjectItem(o, "cidr_identity"));
	if (netseg_json_strs(cJSON_GetObjectItem(o, "ifaces"), d->ifaces[0], sizeof(d->ifaces[0]),
			     sizeof(d->ifaces[0]), NETSEG_SEL_MAX, &d->nifaces) ||
	    netseg_json_strs(cJSON_GetObjectItem(o, "cgroups"), d->cgroups[0],
			     sizeof(d->cgroups[0]), sizeof(d->cgroups[0]), NETSEG_SEL_MAX,
			     &d->ncgroups) ||
	    netseg_json_strs(cJSON_GetObjectItem(o, "cidrs"), d->cidrs[0], sizeof(d->cidrs[0]),
			     sizeof(d->cidrs[0]), NETSEG_SEL_MAX, &d->ncidrs))
		return -EINVAL;
	/* Both optional: state written before selectors existed has neither. */
	if (json_str(cJSON_GetObjectItem(o, "selector"), d->selector, sizeof(d->selector),
		     &d->has_selector) ||
	    json_str(cJSON_GetObjectItem(o, "namespace"), d->ns, sizeof(d->ns), NULL))
		return -EINVAL;
	return 0;
}

int netseg_idstore_from_json(struct netseg_idstore *s, const cJSON *o, struct netseg_err *err)
{
	const cJSON *it, *arr = cJSON_GetObjectItem(o, "identities");
	struct netseg_err e = {};
	struct netseg_iddef d;
	int r;

	netseg_idstore_init(s);
	if (cJSON_IsNumber(cJSON_GetObjectItem(o, "next_id")))
		s->next_id = cJSON_GetObjectItem(o, "next_id")->valuedouble;
	if (cJSON_IsNumber(cJSON_GetObjectItem(o, "next_cidr_id")))
		s->next_cidr_id = cJSON_GetObjectItem(o, "next_cidr_id")->valuedouble;
	cJSON_ArrayForEach(it, arr) {
		if (netseg_iddef_from_json(it, &d) || !d.id)
			return netseg_err_set(err, 0, "bad identity entry in state");
		/* The compiler parses the selector again: refuse it here, with
		 * the column, rather than lose the identity's pods later. */
		if (validate_selector(&d, &e))
			return netseg_err_set(err, 0, "bad identity entry in state: %s", e.msg);
		r = push(s, &d);
		if (r)
			return r;
	}
	return 0;
}
