// SPDX-License-Identifier: GPL-2.0-only
/*
 * NetworkPolicy and Namespace import from YAML (libyaml's document tree),
 * strict like `kubectl apply --validate=strict`: every field is either
 * understood or refused with file:line:col.  See k8s.h, docs/kubernetes.md.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include <cjson/cJSON.h>

#include "file.h"
#include "k8s.h"
#include "prefix.h"
#include "proto.h"
#include "text.h"

/* Field paths ("spec.ingress[0].from[1].ipBlock.except[2]") are far
 * shorter than their buffers; a cut one would only shorten a message. */
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

struct ctx {
	const char *file;
	yaml_document_t *doc;
	struct netseg_errlist *errs;
	int ret;       /* -EINVAL or -ENOMEM once anything failed */
	char obj[600]; /* "policy NS/NAME" */
};

static __attribute__((format(printf, 3, 4))) int fail(struct ctx *c, const yaml_node_t *n,
						      const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (netseg_errlist_add(c->errs, "%s:%zu:%zu: %s", c->file, n->start_mark.line + 1,
			       n->start_mark.column + 1, msg))
		c->ret = -ENOMEM;
	else if (!c->ret)
		c->ret = -EINVAL;
	return -EINVAL;
}

static yaml_node_t *node(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static bool plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (!plain(n))
		return false;
	s = sval(n);
	return !*s || !strcmp(s, "~") || !strcasecmp(s, "null");
}

/* What a plain scalar would be read as by the apiserver's YAML decoder;
 * such strings are printed quoted so they stay strings. */
static bool looks_bool(const char *s)
{
	static const char *const b[] = { "true", "false", "yes", "no", "on", "off", "y", "n" };
	size_t i;

	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (!strcasecmp(s, b[i]))
			return true;
	return false;
}

static bool looks_number(const char *s)
{
	char *end;

	if (!*s || !strchr("+-.0123456789", *s))
		return false;
	strtod(s, &end);
	return !*end || (s[0] == '0' && (s[1] == 'x' || s[1] == 'o'));
}

static bool looks_nonstring(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcasecmp(s, "null") || looks_bool(s) || looks_number(s);
}

static const char *type_name(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (is_null(n))
		return "null";
	if (plain(n) && looks_bool(sval(n)))
		return "a boolean";
	if (plain(n) && looks_number(sval(n)))
		return "a number";
	return "a string";
}

/* A string field; numbers and booleans must be quoted, as for kubectl. */
static int get_str(struct ctx *c, const yaml_node_t *n, const char *where, const char **out)
{
	if (n->type != YAML_SCALAR_NODE || (plain(n) && looks_nonstring(sval(n))))
		return fail(c, n, "expected a string for %s, found %s%s", where, type_name(n),
			    n->type == YAML_SCALAR_NODE ? " (quote it)" : "");
	*out = sval(n);
	return 0;
}

/* A plain integer in [lo, hi]. */
static int get_int(struct ctx *c, const yaml_node_t *n, const char *where, long lo, long hi,
		   long *out)
{
	const char *s = n->type == YAML_SCALAR_NODE ? sval(n) : "";
	char *end;
	long v;

	if (!plain(n) || !looks_number(s))
		return fail(c, n, "expected a number for %s, found %s", where, type_name(n));
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return fail(c, n, "%s %s out of range %ld-%ld", where, s, lo, hi);
	*out = v;
	return 0;
}

struct field {
	const char *name;
	yaml_node_t *node; /* NULL: absent or null */
	yaml_node_t *key;
};

/* Pick the known fields of mapping @map; refuse unknown and repeated
 * ones.  Null values count as absent, as in the apiserver. */
static int get_fields(struct ctx *c, yaml_node_t *map, const char *where, struct field *f,
		      size_t nf)
{
	yaml_node_pair_t *p;
	char names[256] = "";
	size_t i;
	int ret = 0;

	if (map->type != YAML_MAPPING_NODE)
		return fail(c, map, "expected a mapping for %s, found %s", where, type_name(map));
	for (i = 0; i < nf; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 i ? (i + 1 == nf ? " or " : ", ") : "", f[i].name);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		char b[64];

		if (k->type != YAML_SCALAR_NODE) {
			ret = fail(c, k, "expected a field name in %s, found %s", where,
				   type_name(k));
			continue;
		}
		for (i = 0; i < nf && strcmp(sval(k), f[i].name); i++)
			;
		if (i == nf) {
			ret = fail(c, k, "unknown field \"%s\" in %s (expected %s)",
				   netseg_printable(sval(k), b, sizeof(b)), where, names);
		} else if (f[i].key) {
			ret = fail(c, k, "field %s given twice in %s", f[i].name, where);
		} else {
			f[i].key = k;
			f[i].node = is_null(v) ? NULL : v;
		}
	}
	return ret;
}

// clang-format off
#define FIELDS(...) { __VA_ARGS__ }
// clang-format on
#define NF(f) (sizeof(f) / sizeof((f)[0]))

static int get_seq(struct ctx *c, yaml_node_t *n, const char *where)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "expected a list for %s, found %s", where, type_name(n));
	return 0;
}

/* @it names the loop variable, so it can't be parenthesised. */
#define for_items(c, n, it) /* NOLINTNEXTLINE(bugprone-macro-parentheses) */ \
	for (yaml_node_item_t *it = (n)->data.sequence.items.start;          \
	     (it) < (n)->data.sequence.items.top; (it)++)

static int parse_labels(struct ctx *c, yaml_node_t *n, const char *where, struct netseg_labels *l)
{
	struct netseg_err e;
	yaml_node_pair_t *p;
	int ret = 0, r;

	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "expected a mapping for %s, found %s", where, type_name(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
		const char *ks = "", *vs = "";

		if (get_str(c, k, where, &ks) || (!is_null(v) && get_str(c, v, where, &vs))) {
			ret = -EINVAL;
			continue;
		}
		r = netseg_labels_add(l, ks, vs, &e);
		if (r == -ENOMEM)
			return c->ret = -ENOMEM;
		if (r)
			ret = fail(c, netseg_label_key_check(ks, NULL) ? k : v, "%s: %s", where,
				   e.msg);
	}
	return ret;
}

static const char *const ops[] = {
	[NETSEG_LABEL_IN] = "In",
	[NETSEG_LABEL_NOTIN] = "NotIn",
	[NETSEG_LABEL_EXISTS] = "Exists",
	[NETSEG_LABEL_DOESNOTEXIST] = "DoesNotExist",
};

static int parse_expr(struct ctx *c, yaml_node_t *n, const char *where, struct netseg_labelsel *s)
{
	struct field f[] = FIELDS({ .name = "key" }, { .name = "operator" }, { .name = "values" });
	const char *key = "", *op = "", *vals[64];
	size_t nv = 0, i;
	struct netseg_err e;
	int r;

	if (get_fields(c, n, where, f, NF(f)))
		return -EINVAL;
	if (!f[0].node || !f[1].node)
		return fail(c, n, "%s needs key and operator", where);
	if (get_str(c, f[0].node, where, &key) || get_str(c, f[1].node, where, &op))
		return -EINVAL;
	for (i = 0; i < NF(ops) && strcmp(op, ops[i]); i++)
		;
	if (i == NF(ops))
		return fail(
			c, f[1].node,
			"unknown operator \"%s\" in %s (expected In, NotIn, Exists or DoesNotExist)",
			op, where);
	if (f[2].node) {
		if (get_seq(c, f[2].node, where))
			return -EINVAL;
		for_items(c, f[2].node, it)
		{
			if (nv == NF(vals))
				return fail(c, f[2].node, "%s: more than 64 values", where);
			if (get_str(c, node(c, *it), where, &vals[nv++]))
				return -EINVAL;
		}
	}
	r = netseg_labelsel_add_req(s, key, i, vals, nv, &e);
	if (r == -ENOMEM)
		return c->ret = -ENOMEM;
	return r ? fail(c, n, "%s: %s", where, e.msg) : 0;
}

static int parse_selector(struct ctx *c, yaml_node_t *n, const char *where,
			  struct netseg_labelsel *s)
{
	struct field f[] = FIELDS({ .name = "matchLabels" }, { .name = "matchExpressions" });
	char w[300];
	int ret;

	ret = get_fields(c, n, where, f, NF(f));
	if (f[0].node) {
		snprintf(w, sizeof(w), "%s.matchLabels", where);
		ret |= parse_labels(c, f[0].node, w, &s->match);
	}
	if (f[1].node && !get_seq(c, f[1].node, where)) {
		int i = 0;

		for_items(c, f[1].node, it)
		{
			snprintf(w, sizeof(w), "%s.matchExpressions[%d]", where, i++);
			ret |= parse_expr(c, node(c, *it), w, s);
		}
	}
	return ret ? -EINVAL : 0;
}

/* Kubernetes wants the prefix length written: need_len. */
static int parse_cidr(struct ctx *c, yaml_node_t *n, const char *where, struct netseg_k8s_cidr *out)
{
	struct netseg_prefix p;
	struct netseg_err e = {};
	char buf[64];
	const char *s;
	size_t used;

	if (get_str(c, n, where, &s))
		return -EINVAL;
	if (!netseg_prefix_scan(s, true, &used, &p, &e) && s[used])
		netseg_err_set(&e, (int)used + 1, "unexpected text after the prefix length");
	if (e.msg[0])
		return fail(c, n, "%s \"%s\": %s", where, netseg_printable(s, buf, sizeof(buf)),
			    e.msg);
	out->family = p.family == NETSEG_AF_INET ? AF_INET : AF_INET6;
	memcpy(out->addr, p.addr, sizeof(out->addr));
	out->plen = p.plen;
	return 0;
}

/* Is @in a strict subset of @out? */
static bool cidr_inside(const struct netseg_k8s_cidr *in, const struct netseg_k8s_cidr *out)
{
	int i;

	if (in->family != out->family || in->plen <= out->plen)
		return false;
	for (i = 0; i < out->plen; i++)
		if ((in->addr[i / 8] ^ out->addr[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

static void cidr_str(const struct netseg_k8s_cidr *x, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(x->family, x->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, x->plen);
}

static int parse_ipblock(struct ctx *c, yaml_node_t *n, const char *where,
			 struct netseg_k8s_peer *p)
{
	struct field f[] = FIELDS({ .name = "cidr" }, { .name = "except" });
	char w[300], a[64], b[64];
	int ret, i = 0;

	ret = get_fields(c, n, where, f, NF(f));
	if (!f[0].node)
		return fail(c, n, "%s needs a cidr", where);
	snprintf(w, sizeof(w), "%s.cidr", where);
	ret |= parse_cidr(c, f[0].node, w, &p->cidr);
	if (ret || !f[1].node)
		return ret ? -EINVAL : 0;
	if (get_seq(c, f[1].node, where))
		return -EINVAL;
	p->except = calloc(f[1].node->data.sequence.items.top -
				   f[1].node->data.sequence.items.start + 1,
			   sizeof(*p->except));
	if (!p->except)
		return c->ret = -ENOMEM;
	for_items(c, f[1].node, it)
	{
		struct netseg_k8s_cidr *x = &p->except[p->nexcept];

		snprintf(w, sizeof(w), "%s.except[%d]", where, i++);
		if (parse_cidr(c, node(c, *it), w, x)) {
			ret = -EINVAL;
			continue;
		}
		if (!cidr_inside(x, &p->cidr)) {
			cidr_str(x, a, sizeof(a));
			cidr_str(&p->cidr, b, sizeof(b));
			ret = fail(c, node(c, *it), "%s %s is not inside cidr %s", w, a, b);
			continue;
		}
		p->nexcept++;
	}
	return ret;
}

static int parse_peer(struct ctx *c, yaml_node_t *n, const char *where, struct netseg_k8s_peer *p)
{
	struct field f[] = FIELDS({ .name = "podSelector" }, { .name = "namespaceSelector" },
				  { .name = "ipBlock" });
	char w[300];
	int ret;

	ret = get_fields(c, n, where, f, NF(f));
	if (ret)
		return ret;
	if (!f[0].node && !f[1].node && !f[2].node)
		return fail(c, n,
			    "%s must specify a peer: podSelector, namespaceSelector or ipBlock",
			    where);
	if (f[2].node && (f[0].node || f[1].node))
		return fail(
			c, n,
			"%s: ipBlock can't be combined with podSelector or namespaceSelector in one peer",
			where);
	p->has_pod_sel = f[0].node;
	p->has_ns_sel = f[1].node;
	p->has_ipblock = f[2].node;
	if (f[0].node) {
		snprintf(w, sizeof(w), "%s.podSelector", where);
		ret |= parse_selector(c, f[0].node, w, &p->pod_sel);
	}
	if (f[1].node) {
		snprintf(w, sizeof(w), "%s.namespaceSelector", where);
		ret |= parse_selector(c, f[1].node, w, &p->ns_sel);
	}
	if (f[2].node) {
		snprintf(w, sizeof(w), "%s.ipBlock", where);
		ret |= parse_ipblock(c, f[2].node, w, p);
	}
	return ret ? -EINVAL : 0;
}

static int parse_port(struct ctx *c, yaml_node_t *n, const char *where, struct netseg_k8s_port *p)
{
	struct field f[] = FIELDS({ .name = "protocol" }, { .name = "port" },
				  { .name = "endPort" });
	const char *proto = "TCP";
	char w[300], b[64];
	long v = 0;
	int pn;

	if (get_fields(c, n, where, f, NF(f)))
		return -EINVAL;
	if (f[0].node && get_str(c, f[0].node, where, &proto))
		return -EINVAL;
	pn = netseg_proto_by_k8s_name(proto);
	if (pn > 0)
		p->proto = pn;
	else
		return fail(c, f[0].node,
			    "unknown protocol \"%s\" in %s (expected TCP, UDP or SCTP)",
			    netseg_printable(proto, b, sizeof(b)), where);
	if (f[1].node) {
		yaml_node_t *pn = f[1].node;

		snprintf(w, sizeof(w), "%s.port", where);
		if (pn->type == YAML_SCALAR_NODE && !(plain(pn) && looks_number(sval(pn))))
			return fail(
				c, pn,
				"named port '%s' in %s: container port names are not known to netseg; use a number",
				netseg_printable(sval(pn), b, sizeof(b)), c->obj);
		if (get_int(c, pn, w, 1, 65535, &v))
			return -EINVAL;
		p->port = v;
	}
	if (f[2].node) {
		snprintf(w, sizeof(w), "%s.endPort", where);
		if (get_int(c, f[2].node, w, 1, 65535, &v))
			return -EINVAL;
		if (!p->port)
			return fail(c, f[2].node, "%s needs port", w);
		if (v < p->port)
			return fail(c, f[2].node, "%s %ld is less than port %u", w, v, p->port);
		p->end_port = v;
	}
	return 0;
}

static int parse_rule(struct ctx *c, yaml_node_t *n, const char *where, const char *peers,
		      struct netseg_k8s_rule *r)
{
	struct field f[] = FIELDS({ .name = peers }, { .name = "ports" });
	size_t cnt;
	char w[300];
	int ret, i;

	ret = get_fields(c, n, where, f, NF(f));
	if (f[0].node && !get_seq(c, f[0].node, where)) {
		cnt = f[0].node->data.sequence.items.top - f[0].node->data.sequence.items.start;
		r->peers = calloc(cnt + 1, sizeof(*r->peers));
		if (!r->peers)
			return c->ret = -ENOMEM;
		i = 0;
		for_items(c, f[0].node, it)
		{
			snprintf(w, sizeof(w), "%s.%s[%d]", where, peers, i++);
			ret |= parse_peer(c, node(c, *it), w, &r->peers[r->npeers++]);
		}
	}
	if (f[1].node && !get_seq(c, f[1].node, where)) {
		cnt = f[1].node->data.sequence.items.top - f[1].node->data.sequence.items.start;
		r->ports = calloc(cnt + 1, sizeof(*r->ports));
		if (!r->ports)
			return c->ret = -ENOMEM;
		i = 0;
		for_items(c, f[1].node, it)
		{
			snprintf(w, sizeof(w), "%s.ports[%d]", where, i++);
			ret |= parse_port(c, node(c, *it), w, &r->ports[r->nports++]);
		}
	}
	return ret ? -EINVAL : 0;
}

static int parse_rules(struct ctx *c, yaml_node_t *n, const char *dir, const char *peers,
		       struct netseg_k8s_rule **rules, size_t *nrules)
{
	char where[64];
	int ret = 0, i = 0;

	snprintf(where, sizeof(where), "spec.%s", dir);
	if (get_seq(c, n, where))
		return -EINVAL;
	*rules = calloc(n->data.sequence.items.top - n->data.sequence.items.start + 1,
			sizeof(**rules));
	if (!*rules)
		return c->ret = -ENOMEM;
	for_items(c, n, it)
	{
		snprintf(where, sizeof(where), "spec.%s[%d]", dir, i++);
		ret |= parse_rule(c, node(c, *it), where, peers, &(*rules)[(*nrules)++]);
	}
	return ret ? -EINVAL : 0;
}

static int parse_types(struct ctx *c, yaml_node_t *n, unsigned int *types)
{
	const char *s = "";
	unsigned int t;

	if (get_seq(c, n, "spec.policyTypes"))
		return -EINVAL;
	for_items(c, n, it)
	{
		yaml_node_t *v = node(c, *it);

		if (get_str(c, v, "spec.policyTypes", &s))
			return -EINVAL;
		if (!strcmp(s, "Ingress"))
			t = NETSEG_K8S_INGRESS;
		else if (!strcmp(s, "Egress"))
			t = NETSEG_K8S_EGRESS;
		else
			return fail(
				c, v,
				"unknown policy type \"%s\" in spec.policyTypes (expected Ingress or Egress)",
				s);
		if (*types & t)
			return fail(c, v, "policy type %s given twice in spec.policyTypes", s);
		*types |= t;
	}
	return 0;
}

static int parse_spec(struct ctx *c, yaml_node_t *n, struct netseg_k8s_policy *p)
{
	struct field f[] = FIELDS({ .name = "podSelector" }, { .name = "policyTypes" },
				  { .name = "ingress" }, { .name = "egress" });
	int ret;

	ret = get_fields(c, n, "spec", f, NF(f));
	if (!f[0].node)
		ret = fail(
			c, n,
			"spec.podSelector is required in %s (use {} to select every pod of the namespace)",
			c->obj);
	else
		ret |= parse_selector(c, f[0].node, "spec.podSelector", &p->pod_sel);
	if (f[1].node)
		ret |= parse_types(c, f[1].node, &p->types);
	if (f[2].node)
		ret |= parse_rules(c, f[2].node, "ingress", "from", &p->ingress, &p->ningress);
	if (f[3].node)
		ret |= parse_rules(c, f[3].node, "egress", "to", &p->egress, &p->negress);
	/* The apiserver's defaulting: no policyTypes means Ingress, plus
	 * Egress when there are egress rules. */
	if (!p->types)
		p->types = NETSEG_K8S_INGRESS | (p->negress ? NETSEG_K8S_EGRESS : 0);
	return ret ? -EINVAL : 0;
}

/* RFC 1123 label (namespaces) or subdomain (policy names). */
static bool dns_name_ok(const char *s, size_t max, bool dots)
{
	size_t i, n = strlen(s);

	if (!n || n > max)
		return false;
	for (i = 0; i < n; i++) {
		bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
		bool edge = !i || i + 1 == n || (dots && (s[i - 1] == '.' || s[i + 1] == '.'));

		if (!alnum && (edge || !(s[i] == '-' || (dots && s[i] == '.'))))
			return false;
	}
	return true;
}

struct meta {
	const char *name, *ns;
	yaml_node_t *labels;
};

static int parse_meta(struct ctx *c, yaml_node_t *doc, yaml_node_t *n, bool namespaced,
		      struct meta *m)
{
	struct field f[] = FIELDS({ .name = "name" }, { .name = "labels" },
				  { .name = "annotations" }, { .name = "namespace" });
	char b[64];
	int ret;

	if (!n)
		return fail(c, doc, "missing metadata.name");
	ret = get_fields(c, n, "metadata", f, namespaced ? 4 : 3);
	if (!f[0].node)
		return fail(c, n, "missing metadata.name");
	if (get_str(c, f[0].node, "metadata.name", &m->name))
		return -EINVAL;
	if (!dns_name_ok(m->name, namespaced ? 253 : 63, namespaced))
		ret = fail(
			c, f[0].node,
			"metadata.name \"%s\" must be %s: lower-case letters, digits and '-'%s, starting and ending with a letter or digit",
			netseg_printable(m->name, b, sizeof(b)),
			namespaced ? "a DNS subdomain" : "a DNS label (at most 63 characters)",
			namespaced ? " and '.' (at most 253 characters)" : "");
	m->ns = NETSEG_K8S_DEFAULT_NS;
	if (f[3].node && !get_str(c, f[3].node, "metadata.namespace", &m->ns) &&
	    !dns_name_ok(m->ns, 63, false))
		ret = fail(c, f[3].node, "metadata.namespace \"%s\" must be a DNS label",
			   netseg_printable(m->ns, b, sizeof(b)));
	m->labels = f[1].node;
	/* Annotations carry no semantics for NetworkPolicy; checked for
	 * shape and not kept (docs/kubernetes.md). */
	if (f[2].node) {
		struct netseg_labels tmp;
		yaml_node_pair_t *p;
		const char *s;

		netseg_labels_init(&tmp);
		if (f[2].node->type != YAML_MAPPING_NODE)
			ret = fail(c, f[2].node,
				   "expected a mapping for metadata.annotations, found %s",
				   type_name(f[2].node));
		else
			for (p = f[2].node->data.mapping.pairs.start;
			     p < f[2].node->data.mapping.pairs.top; p++)
				ret |= get_str(c, node(c, p->key), "metadata.annotations", &s) |
				       get_str(c, node(c, p->value), "metadata.annotations", &s);
	}
	return ret ? -EINVAL : 0;
}

static int dup(struct ctx *c, char **dst, const char *s)
{
	*dst = strdup(s);
	return *dst ? 0 : (c->ret = -ENOMEM);
}

static int parse_policy(struct ctx *c, yaml_node_t *root, struct field *f,
			struct netseg_k8s_objects *o)
{
	struct netseg_k8s_policy *p, *v;
	struct meta m = { .name = "", .ns = "" };
	int ret;

	v = realloc(o->policies, (o->npolicies + 1) * sizeof(*v));
	if (!v)
		return c->ret = -ENOMEM;
	o->policies = v;
	p = &v[o->npolicies++];
	memset(p, 0, sizeof(*p));
	p->line = root->start_mark.line + 1;
	if (parse_meta(c, root, f[2].node, true, &m))
		return -EINVAL;
	snprintf(c->obj, sizeof(c->obj), "policy %s/%s", m.ns, m.name);
	if (dup(c, &p->ns, m.ns) || dup(c, &p->name, m.name))
		return -ENOMEM;
	ret = m.labels ? parse_labels(c, m.labels, "metadata.labels", &p->labels) : 0;
	if (!f[3].node)
		return fail(c, root, "missing spec in %s", c->obj);
	return parse_spec(c, f[3].node, p) | ret;
}

static int parse_namespace(struct ctx *c, yaml_node_t *root, struct field *f,
			   struct netseg_k8s_objects *o)
{
	struct netseg_k8s_namespace *ns, *v;
	struct meta m = { .name = "", .ns = "" };
	const char *given;
	int ret;

	if (f[3].node)
		return fail(
			c, f[3].key,
			"unknown field \"spec\" in Namespace (netseg keeps only metadata.name and metadata.labels)");
	v = realloc(o->namespaces, (o->nnamespaces + 1) * sizeof(*v));
	if (!v)
		return c->ret = -ENOMEM;
	o->namespaces = v;
	ns = &v[o->nnamespaces++];
	memset(ns, 0, sizeof(*ns));
	ns->line = root->start_mark.line + 1;
	if (parse_meta(c, root, f[2].node, false, &m))
		return -EINVAL;
	if (dup(c, &ns->name, m.name))
		return -ENOMEM;
	ret = m.labels ? parse_labels(c, m.labels, "metadata.labels", &ns->labels) : 0;
	if (ret)
		return ret;
	given = netseg_labels_get(&ns->labels, NETSEG_K8S_NS_NAME_LABEL);
	if (given && strcmp(given, m.name))
		return fail(c, m.labels, "label %s of namespace %s must be its name, not \"%s\"",
			    NETSEG_K8S_NS_NAME_LABEL, m.name, given);
	if (!given && netseg_labels_add(&ns->labels, NETSEG_K8S_NS_NAME_LABEL, m.name, NULL))
		return c->ret = -ENOMEM;
	return 0;
}

static int parse_doc(struct ctx *c, yaml_node_t *root, struct netseg_k8s_objects *o)
{
	struct field f[] = FIELDS({ .name = "apiVersion" }, { .name = "kind" },
				  { .name = "metadata" }, { .name = "spec" });
	const char *kind = "", *api = "";
	char b[64];

	if (get_fields(c, root, "the document", f, NF(f)))
		return -EINVAL;
	if (!f[1].node)
		return fail(c, root, "missing kind (expected NetworkPolicy or Namespace)");
	if (get_str(c, f[1].node, "kind", &kind) ||
	    (f[0].node && get_str(c, f[0].node, "apiVersion", &api)))
		return -EINVAL;
	if (!strcmp(kind, "NetworkPolicy")) {
		if (strcmp(api, "networking.k8s.io/v1"))
			return fail(
				c, f[0].node ? f[0].node : root,
				"apiVersion \"%s\" is not supported for NetworkPolicy (expected networking.k8s.io/v1)",
				netseg_printable(api, b, sizeof(b)));
		return parse_policy(c, root, f, o);
	}
	if (!strcmp(kind, "Namespace")) {
		if (strcmp(api, "v1"))
			return fail(c, f[0].node ? f[0].node : root,
				    "apiVersion \"%s\" is not supported for Namespace (expected v1)",
				    netseg_printable(api, b, sizeof(b)));
		return parse_namespace(c, root, f, o);
	}
	return fail(c, f[1].node, "unknown kind \"%s\" (expected NetworkPolicy or Namespace)",
		    netseg_printable(kind, b, sizeof(b)));
}

void netseg_k8s_objects_init(struct netseg_k8s_objects *o)
{
	memset(o, 0, sizeof(*o));
}

static void rules_free(struct netseg_k8s_rule *r, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < r[i].npeers; j++) {
			netseg_labelsel_free(&r[i].peers[j].pod_sel);
			netseg_labelsel_free(&r[i].peers[j].ns_sel);
			free(r[i].peers[j].except);
		}
		free(r[i].peers);
		free(r[i].ports);
	}
	free(r);
}

void netseg_k8s_policy_free(struct netseg_k8s_policy *p)
{
	free(p->ns);
	free(p->name);
	netseg_labels_free(&p->labels);
	netseg_labelsel_free(&p->pod_sel);
	rules_free(p->ingress, p->ningress);
	rules_free(p->egress, p->negress);
	memset(p, 0, sizeof(*p));
}

void netseg_k8s_namespace_free(struct netseg_k8s_namespace *ns)
{
	free(ns->name);
	netseg_labels_free(&ns->labels);
	memset(ns, 0, sizeof(*ns));
}

void netseg_k8s_objects_free(struct netseg_k8s_objects *o)
{
	size_t i;

	for (i = 0; i < o->npolicies; i++)
		netseg_k8s_policy_free(&o->policies[i]);
	for (i = 0; i < o->nnamespaces; i++)
		netseg_k8s_namespace_free(&o->namespaces[i]);
	free(o->policies);
	free(o->namespaces);
	netseg_k8s_objects_init(o);
}

/* A (namespace, name) twice, in @add or between @add and @have. */
static int check_dups(struct ctx *c, const struct netseg_k8s_objects *have,
		      const struct netseg_k8s_objects *add)
{
	size_t i, j;

	for (i = 0; i < add->npolicies; i++) {
		const struct netseg_k8s_policy *p = &add->policies[i];

		for (j = 0; j < have->npolicies + i; j++) {
			const struct netseg_k8s_policy *q =
				j < have->npolicies ? &have->policies[j] :
						      &add->policies[j - have->npolicies];

			if (!strcmp(p->ns, q->ns) && !strcmp(p->name, q->name)) {
				netseg_errlist_add(
					c->errs,
					"%s:%d:1: policy %s/%s defined twice (first at line %d)",
					c->file, p->line, p->ns, p->name, q->line);
				c->ret = -EINVAL;
				break;
			}
		}
	}
	for (i = 0; i < add->nnamespaces; i++)
		for (j = 0; j < have->nnamespaces + i; j++) {
			const struct netseg_k8s_namespace *q =
				j < have->nnamespaces ? &have->namespaces[j] :
							&add->namespaces[j - have->nnamespaces];

			if (!strcmp(add->namespaces[i].name, q->name)) {
				netseg_errlist_add(
					c->errs,
					"%s:%d:1: namespace %s defined twice (first at line %d)",
					c->file, add->namespaces[i].line, q->name, q->line);
				c->ret = -EINVAL;
				break;
			}
		}
	return c->ret;
}

static int append(struct netseg_k8s_objects *o, struct netseg_k8s_objects *add)
{
	void *p = realloc(o->policies, (o->npolicies + add->npolicies + 1) * sizeof(*o->policies));
	void *n;

	if (!p)
		return -ENOMEM;
	o->policies = p;
	n = realloc(o->namespaces,
		    (o->nnamespaces + add->nnamespaces + 1) * sizeof(*o->namespaces));
	if (!n)
		return -ENOMEM;
	o->namespaces = n;
	if (add->npolicies)
		memcpy(o->policies + o->npolicies, add->policies,
		       add->npolicies * sizeof(*o->policies));
	if (add->nnamespaces)
		memcpy(o->namespaces + o->nnamespaces, add->namespaces,
		       add->nnamespaces * sizeof(*o->namespaces));
	o->npolicies += add->npolicies;
	o->nnamespaces += add->nnamespaces;
	free(add->policies);
	free(add->namespaces);
	netseg_k8s_objects_init(add);
	return 0;
}

int netseg_k8s_load_buf(const char *name, const char *buf, size_t len, struct netseg_k8s_objects *o,
			struct netseg_errlist *errs)
{
	struct netseg_k8s_objects add;
	struct ctx c = { .file = name, .errs = errs };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;

	netseg_k8s_objects_init(&add);
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_load(&parser, &doc)) {
			netseg_errlist_add(errs, "%s:%zu:%zu: bad YAML: %s%s%s", name,
					   parser.problem_mark.line + 1,
					   parser.problem_mark.column + 1,
					   parser.problem ? parser.problem : "unreadable",
					   parser.context ? " " : "",
					   parser.context ? parser.context : "");
			c.ret = -EINVAL;
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) { /* the end of the stream */
			yaml_document_delete(&doc);
			break;
		}
		c.doc = &doc;
		c.obj[0] = '\0';
		if (!is_null(root)) /* an empty document, as kubectl skips */
			parse_doc(&c, root, &add);
		yaml_document_delete(&doc);
		if (c.ret == -ENOMEM)
			break;
	}
	yaml_parser_delete(&parser);
	if (!c.ret)
		check_dups(&c, o, &add);
	if (!c.ret)
		c.ret = append(o, &add);
	netseg_k8s_objects_free(&add);
	return c.ret;
}

int netseg_k8s_load_file(const char *path, struct netseg_k8s_objects *o,
			 struct netseg_errlist *errs)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	/* "-" is stdin (fd 0), as for kubectl apply -f -. */
	ret = strcmp(path, "-") ? netseg_read_file(path, 0, &buf, &len) :
				  netseg_read_fd(0, 0, &buf, &len);
	if (ret) {
		netseg_errlist_add(errs, "%s: can't read: %s", path, strerror(-ret));
		return ret;
	}
	ret = netseg_k8s_load_buf(path, buf, len, o, errs);
	free(buf);
	return ret;
}
