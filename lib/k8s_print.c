// SPDX-License-Identifier: GPL-2.0-only
/*
 * Canonical output of imported Kubernetes objects: one cJSON tree per
 * object, printed as JSON or turned into a YAML document.  Every default
 * is written out (policyTypes, protocol), selectors are sorted, so the
 * output imports back to the same objects.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include <cjson/cJSON.h>

#include "k8s.h"
#include "proto.h"

static cJSON *labels_json(const struct netseg_labels *l)
{
	cJSON *o = cJSON_CreateObject();
	size_t i;

	for (i = 0; o && i < l->n; i++)
		if (!cJSON_AddStringToObject(o, l->v[i].key, l->v[i].value))
			goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

static bool add(cJSON *o, const char *k, cJSON *v)
{
	if (!v)
		return false;
	if (!cJSON_IsArray(o) ? !cJSON_AddItemToObject(o, k, v) : !cJSON_AddItemToArray(o, v)) {
		cJSON_Delete(v);
		return false;
	}
	return true;
}

static cJSON *sel_json(const struct netseg_labelsel *s)
{
	cJSON *o = cJSON_CreateObject(), *exprs;
	size_t i, j;

	if (!o)
		return NULL;
	if (s->match.n && !add(o, "matchLabels", labels_json(&s->match)))
		goto fail;
	if (!s->nreqs)
		return o;
	exprs = cJSON_CreateArray();
	if (!add(o, "matchExpressions", exprs))
		goto fail;
	for (i = 0; i < s->nreqs; i++) {
		cJSON *e = cJSON_CreateObject(), *vals;

		if (!add(exprs, NULL, e) || !cJSON_AddStringToObject(e, "key", s->reqs[i].key) ||
		    !cJSON_AddStringToObject(e, "operator", netseg_label_op_name(s->reqs[i].op)))
			goto fail;
		if (!s->reqs[i].nvalues)
			continue;
		vals = cJSON_CreateArray();
		if (!add(e, "values", vals))
			goto fail;
		for (j = 0; j < s->reqs[i].nvalues; j++)
			if (!add(vals, NULL, cJSON_CreateString(s->reqs[i].values[j])))
				goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

static cJSON *cidr_json(const struct netseg_k8s_cidr *x)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN + 8];

	inet_ntop(x->family, x->addr, a, sizeof(a));
	snprintf(b, sizeof(b), "%s/%u", a, x->plen);
	return cJSON_CreateString(b);
}

static cJSON *peer_json(const struct netseg_k8s_peer *p)
{
	cJSON *o = cJSON_CreateObject(), *ib, *ex;
	size_t i;

	if (!o)
		return NULL;
	if (p->has_pod_sel && !add(o, "podSelector", sel_json(&p->pod_sel)))
		goto fail;
	if (p->has_ns_sel && !add(o, "namespaceSelector", sel_json(&p->ns_sel)))
		goto fail;
	if (!p->has_ipblock)
		return o;
	ib = cJSON_CreateObject();
	if (!add(o, "ipBlock", ib) || !add(ib, "cidr", cidr_json(&p->cidr)))
		goto fail;
	if (!p->nexcept)
		return o;
	ex = cJSON_CreateArray();
	if (!add(ib, "except", ex))
		goto fail;
	for (i = 0; i < p->nexcept; i++)
		if (!add(ex, NULL, cidr_json(&p->except[i])))
			goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

static const char *proto_name(__u8 proto)
{
	const char *n = netseg_proto_k8s_name(proto);

	return n ? n : "TCP";
}

static cJSON *rule_json(const struct netseg_k8s_rule *r, const char *peers)
{
	cJSON *o = cJSON_CreateObject(), *a;
	size_t i;

	if (!o)
		return NULL;
	if (r->npeers) {
		a = cJSON_CreateArray();
		if (!add(o, peers, a))
			goto fail;
		for (i = 0; i < r->npeers; i++)
			if (!add(a, NULL, peer_json(&r->peers[i])))
				goto fail;
	}
	if (r->nports) {
		a = cJSON_CreateArray();
		if (!add(o, "ports", a))
			goto fail;
		for (i = 0; i < r->nports; i++) {
			cJSON *p = cJSON_CreateObject();

			if (!add(a, NULL, p) ||
			    !cJSON_AddStringToObject(p, "protocol",
						     proto_name(r->ports[i].proto)) ||
			    (r->ports[i].port &&
			     !cJSON_AddNumberToObject(p, "port", r->ports[i].port)) ||
			    (r->ports[i].end_port &&
			     !cJSON_AddNumberToObject(p, "endPort", r->ports[i].end_port)))
				goto fail;
		}
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

static cJSON *rules_json(const struct netseg_k8s_rule *r, size_t n, const char *peers)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; a && i < n; i++)
		if (!add(a, NULL, rule_json(&r[i], peers))) {
			cJSON_Delete(a);
			return NULL;
		}
	return a;
}

static cJSON *head(const char *api, const char *kind, cJSON **meta)
{
	cJSON *o = cJSON_CreateObject();

	*meta = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "apiVersion", api) ||
	    !cJSON_AddStringToObject(o, "kind", kind) || !add(o, "metadata", *meta)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *ns_json(const struct netseg_k8s_namespace *ns)
{
	cJSON *meta, *o = head("v1", "Namespace", &meta);

	if (o && (!cJSON_AddStringToObject(meta, "name", ns->name) ||
		  !add(meta, "labels", labels_json(&ns->labels)))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *policy_json(const struct netseg_k8s_policy *p)
{
	cJSON *meta, *o = head("networking.k8s.io/v1", "NetworkPolicy", &meta);
	cJSON *spec, *types;

	if (!o)
		return NULL;
	spec = cJSON_CreateObject();
	types = cJSON_CreateArray();
	if (!add(o, "spec", spec) || !add(spec, "podSelector", sel_json(&p->pod_sel)) ||
	    !add(spec, "policyTypes", types) || !cJSON_AddStringToObject(meta, "name", p->name) ||
	    !cJSON_AddStringToObject(meta, "namespace", p->ns) ||
	    (p->labels.n && !add(meta, "labels", labels_json(&p->labels))) ||
	    ((p->types & NETSEG_K8S_INGRESS) && !add(types, NULL, cJSON_CreateString("Ingress"))) ||
	    ((p->types & NETSEG_K8S_EGRESS) && !add(types, NULL, cJSON_CreateString("Egress"))) ||
	    (p->ningress && !add(spec, "ingress", rules_json(p->ingress, p->ningress, "from"))) ||
	    (p->negress && !add(spec, "egress", rules_json(p->egress, p->negress, "to")))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Every object, namespaces first, as one kubectl-style List. */
static cJSON *objects_json(const struct netseg_k8s_objects *o)
{
	cJSON *list = cJSON_CreateObject(), *items = cJSON_CreateArray();
	size_t i;

	if (!list || !cJSON_AddStringToObject(list, "apiVersion", "v1") ||
	    !cJSON_AddStringToObject(list, "kind", "List") || !add(list, "items", items))
		goto fail;
	for (i = 0; i < o->nnamespaces; i++)
		if (!add(items, NULL, ns_json(&o->namespaces[i])))
			goto fail;
	for (i = 0; i < o->npolicies; i++)
		if (!add(items, NULL, policy_json(&o->policies[i])))
			goto fail;
	return list;
fail:
	cJSON_Delete(list);
	return NULL;
}

int netseg_k8s_print_json(FILE *f, const struct netseg_k8s_objects *o)
{
	cJSON *j = objects_json(o);
	char *s = j ? cJSON_Print(j) : NULL;
	int ret = 0;

	if (!s)
		ret = -ENOMEM;
	else if (fprintf(f, "%s\n", s) < 0)
		ret = -EIO;
	free(s);
	cJSON_Delete(j);
	return ret;
}

/* Strings a YAML decoder would read as something else are quoted. */
static bool needs_quotes(const char *s)
{
	static const char *const words[] = { "true", "false", "yes", "no",   "on",
					     "off",  "y",     "n",   "null", "~" };
	size_t i;
	char *end;

	if (!*s)
		return true;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	if (strchr("+-.0123456789", *s)) {
		strtod(s, &end);
		if (!*end || (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')))
			return true;
	}
	return false;
}

/* Node id of @j added to @d, 0 on failure.  Recursion is bounded by the
 * depth of a policy object (about ten levels). */
static int yaml_node(yaml_document_t *d, const cJSON *j) // NOLINT(misc-no-recursion)
{
	const cJSON *c;
	char num[32];
	int id, k, v;

	if (cJSON_IsString(j))
		return yaml_document_add_scalar(d, NULL, (yaml_char_t *)j->valuestring, -1,
						needs_quotes(j->valuestring) ?
							YAML_DOUBLE_QUOTED_SCALAR_STYLE :
							YAML_ANY_SCALAR_STYLE);
	if (cJSON_IsNumber(j)) {
		snprintf(num, sizeof(num), "%d", j->valueint);
		return yaml_document_add_scalar(d, NULL, (yaml_char_t *)num, -1,
						YAML_PLAIN_SCALAR_STYLE);
	}
	if (cJSON_IsArray(j)) {
		id = yaml_document_add_sequence(d, NULL,
						j->child ? YAML_BLOCK_SEQUENCE_STYLE :
							   YAML_FLOW_SEQUENCE_STYLE);
		cJSON_ArrayForEach(c, j) {
			v = yaml_node(d, c);
			if (!id || !v || !yaml_document_append_sequence_item(d, id, v))
				return 0;
		}
		return id;
	}
	id = yaml_document_add_mapping(d, NULL,
				       j->child ? YAML_BLOCK_MAPPING_STYLE :
						  YAML_FLOW_MAPPING_STYLE);
	cJSON_ArrayForEach(c, j) {
		k = yaml_document_add_scalar(d, NULL, (yaml_char_t *)c->string, -1,
					     YAML_ANY_SCALAR_STYLE);
		v = yaml_node(d, c);
		if (!id || !k || !v || !yaml_document_append_mapping_pair(d, id, k, v))
			return 0;
	}
	return id;
}

int netseg_k8s_print_yaml(FILE *f, const struct netseg_k8s_objects *o)
{
	cJSON *list = objects_json(o), *item;
	yaml_emitter_t e;
	yaml_document_t d;
	int ret = 0, first = 1;

	if (!list)
		return -ENOMEM;
	if (!yaml_emitter_initialize(&e)) {
		cJSON_Delete(list);
		return -ENOMEM;
	}
	yaml_emitter_set_output_file(&e, f);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	if (!yaml_emitter_open(&e))
		ret = -EIO;
	cJSON_ArrayForEach(item, cJSON_GetObjectItem(list, "items")) {
		if (ret)
			break;
		if (!yaml_document_initialize(&d, NULL, NULL, NULL, first, 1)) {
			ret = -ENOMEM;
			break;
		}
		first = 0;
		if (!yaml_node(&d, item)) {
			yaml_document_delete(&d);
			ret = -ENOMEM;
		} else if (!yaml_emitter_dump(&e, &d)) { /* frees @d */
			ret = -EIO;
		}
	}
	if (!ret && !yaml_emitter_close(&e))
		ret = -EIO;
	yaml_emitter_delete(&e);
	cJSON_Delete(list);
	return ret;
}

static bool cidr_same(const struct netseg_k8s_cidr *a, const struct netseg_k8s_cidr *b)
{
	return a->family == b->family && a->plen == b->plen && !memcmp(a->addr, b->addr, 16);
}

static bool peer_same(const struct netseg_k8s_peer *a, const struct netseg_k8s_peer *b)
{
	size_t i;

	if (a->has_pod_sel != b->has_pod_sel || a->has_ns_sel != b->has_ns_sel ||
	    a->has_ipblock != b->has_ipblock || a->nexcept != b->nexcept ||
	    !netseg_labelsel_same(&a->pod_sel, &b->pod_sel) ||
	    !netseg_labelsel_same(&a->ns_sel, &b->ns_sel))
		return false;
	if (a->has_ipblock && !cidr_same(&a->cidr, &b->cidr))
		return false;
	for (i = 0; i < a->nexcept; i++)
		if (!cidr_same(&a->except[i], &b->except[i]))
			return false;
	return true;
}

static bool rules_same(const struct netseg_k8s_rule *a, const struct netseg_k8s_rule *b, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (a[i].npeers != b[i].npeers || a[i].nports != b[i].nports ||
		    (a[i].nports &&
		     memcmp(a[i].ports, b[i].ports, a[i].nports * sizeof(*a[i].ports))))
			return false;
		for (j = 0; j < a[i].npeers; j++)
			if (!peer_same(&a[i].peers[j], &b[i].peers[j]))
				return false;
	}
	return true;
}

bool netseg_k8s_policy_same(const struct netseg_k8s_policy *a, const struct netseg_k8s_policy *b)
{
	return !strcmp(a->ns, b->ns) && !strcmp(a->name, b->name) && a->types == b->types &&
	       a->ningress == b->ningress && a->negress == b->negress &&
	       netseg_labels_same(&a->labels, &b->labels) &&
	       netseg_labelsel_same(&a->pod_sel, &b->pod_sel) &&
	       rules_same(a->ingress, b->ingress, a->ningress) &&
	       rules_same(a->egress, b->egress, a->negress);
}

char *netseg_k8s_print_str(const struct netseg_k8s_objects *o, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!f)
		return NULL;
	r = json ? netseg_k8s_print_json(f, o) : netseg_k8s_print_yaml(f, o);
	if (fclose(f) || r) {
		free(buf);
		return NULL;
	}
	return buf;
}
