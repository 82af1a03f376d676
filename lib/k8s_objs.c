// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Kubernetes objects in force as kubectl changes them: a deep copy
 * (the daemon's candidate), apply's merge by kind/namespace/name and
 * delete by the same key.  See k8s.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

const char *netseg_k8s_change_name(enum netseg_k8s_change c)
{
	return c == NETSEG_K8S_CREATED	  ? "created" :
	       c == NETSEG_K8S_CONFIGURED ? "configured" :
					    "unchanged";
}

bool netseg_k8s_namespace_same(const struct netseg_k8s_namespace *a,
			       const struct netseg_k8s_namespace *b)
{
	return !strcmp(a->name, b->name) && netseg_labels_same(&a->labels, &b->labels);
}

/* ------------------------------------------------------------- copy */

/* Labels and selectors were validated when imported; adding them again
 * can only fail for memory. */
static int labels_copy(struct netseg_labels *dst, const struct netseg_labels *src)
{
	netseg_labels_init(dst);
	for (size_t i = 0; i < src->n; i++)
		if (netseg_labels_add(dst, src->v[i].key, src->v[i].value, NULL))
			return -ENOMEM;
	return 0;
}

static int sel_copy(struct netseg_labelsel *dst, const struct netseg_labelsel *src)
{
	netseg_labelsel_init(dst);
	if (labels_copy(&dst->match, &src->match))
		return -ENOMEM;
	for (size_t i = 0; i < src->nreqs; i++) {
		const struct netseg_label_req *r = &src->reqs[i];

		if (netseg_labelsel_add_req(dst, r->key, r->op, (const char *const *)r->values,
					    r->nvalues, NULL))
			return -ENOMEM;
	}
	return 0;
}

/* @n elements of @size from @src, one more zeroed (calloc(0) may be NULL,
 * which would read as a failure). */
static void *memdup_n(const void *src, size_t n, size_t size)
{
	void *p = calloc(n + 1, size);

	if (p && n)
		memcpy(p, src, n * size);
	return p;
}

static int peer_copy(struct netseg_k8s_peer *dst, const struct netseg_k8s_peer *src)
{
	*dst = *src;
	netseg_labelsel_init(&dst->pod_sel);
	netseg_labelsel_init(&dst->ns_sel);
	dst->except = memdup_n(src->except, src->nexcept, sizeof(*src->except));
	if (!dst->except) {
		dst->nexcept = 0;
		return -ENOMEM;
	}
	if (sel_copy(&dst->pod_sel, &src->pod_sel) || sel_copy(&dst->ns_sel, &src->ns_sel))
		return -ENOMEM;
	return 0;
}

/*
 * Every array is allocated whole and zeroed first, its count set, so a
 * copy that fails half way is still freed by netseg_k8s_policy_free():
 * the elements not reached are empty.
 */
static int rules_copy(struct netseg_k8s_rule **dst, size_t *ndst, const struct netseg_k8s_rule *src,
		      size_t n)
{
	struct netseg_k8s_rule *r;

	*ndst = 0;
	*dst = r = calloc(n + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*ndst = n;
	for (size_t i = 0; i < n; i++) {
		r[i].ports = memdup_n(src[i].ports, src[i].nports, sizeof(*src[i].ports));
		r[i].peers = calloc(src[i].npeers + 1, sizeof(*r[i].peers));
		if (!r[i].ports || !r[i].peers)
			return -ENOMEM;
		r[i].nports = src[i].nports;
		for (size_t j = 0; j < src[i].npeers; j++) {
			r[i].npeers++;
			if (peer_copy(&r[i].peers[j], &src[i].peers[j]))
				return -ENOMEM;
		}
	}
	return 0;
}

static int policy_copy(struct netseg_k8s_policy *dst, const struct netseg_k8s_policy *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->types = src->types;
	dst->line = src->line;
	dst->revision = src->revision;
	dst->ns = strdup(src->ns);
	dst->name = strdup(src->name);
	if (!dst->ns || !dst->name || labels_copy(&dst->labels, &src->labels) ||
	    sel_copy(&dst->pod_sel, &src->pod_sel) ||
	    rules_copy(&dst->ingress, &dst->ningress, src->ingress, src->ningress) ||
	    rules_copy(&dst->egress, &dst->negress, src->egress, src->negress))
		return -ENOMEM;
	return 0;
}

static int namespace_copy(struct netseg_k8s_namespace *dst, const struct netseg_k8s_namespace *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->line = src->line;
	dst->revision = src->revision;
	dst->name = strdup(src->name);
	if (!dst->name || labels_copy(&dst->labels, &src->labels))
		return -ENOMEM;
	return 0;
}

int netseg_k8s_objects_copy(struct netseg_k8s_objects *dst, const struct netseg_k8s_objects *src)
{
	netseg_k8s_objects_init(dst);
	dst->policies = calloc(src->npolicies + 1, sizeof(*dst->policies));
	dst->namespaces = calloc(src->nnamespaces + 1, sizeof(*dst->namespaces));
	if (!dst->policies || !dst->namespaces)
		goto fail;
	for (size_t i = 0; i < src->npolicies; i++) {
		dst->npolicies++;
		if (policy_copy(&dst->policies[i], &src->policies[i]))
			goto fail;
	}
	for (size_t i = 0; i < src->nnamespaces; i++) {
		dst->nnamespaces++;
		if (namespace_copy(&dst->namespaces[i], &src->namespaces[i]))
			goto fail;
	}
	return 0;
fail:
	netseg_k8s_objects_free(dst);
	return -ENOMEM;
}

/* ------------------------------------------------------ find, remove */

long netseg_k8s_objects_find(const struct netseg_k8s_objects *o, enum netseg_k8s_kind kind,
			     const char *ns, const char *name)
{
	if (kind == NETSEG_K8S_NAMESPACE) {
		for (size_t i = 0; i < o->nnamespaces; i++)
			if (!strcmp(o->namespaces[i].name, name))
				return i;
		return -1;
	}
	for (size_t i = 0; i < o->npolicies; i++)
		if (!strcmp(o->policies[i].ns, ns) && !strcmp(o->policies[i].name, name))
			return i;
	return -1;
}

int netseg_k8s_objects_remove(struct netseg_k8s_objects *o, enum netseg_k8s_kind kind,
			      const char *ns, const char *name)
{
	long i = netseg_k8s_objects_find(o, kind, ns, name);

	if (i < 0)
		return -ENOENT;
	/* memmove, not the last into the hole: `get` lists in apply order. */
	if (kind == NETSEG_K8S_NAMESPACE) {
		netseg_k8s_namespace_free(&o->namespaces[i]);
		memmove(&o->namespaces[i], &o->namespaces[i + 1],
			(--o->nnamespaces - i) * sizeof(*o->namespaces));
	} else {
		netseg_k8s_policy_free(&o->policies[i]);
		memmove(&o->policies[i], &o->policies[i + 1],
			(--o->npolicies - i) * sizeof(*o->policies));
	}
	return 0;
}

/* ------------------------------------------------------------ merge */

int netseg_k8s_objects_merge(struct netseg_k8s_objects *o, struct netseg_k8s_objects *add,
			     enum netseg_k8s_change *pol_chg, enum netseg_k8s_change *ns_chg)
{
	struct netseg_k8s_policy *pv;
	struct netseg_k8s_namespace *nv;
	enum netseg_k8s_change c;
	long at;

	/* Room for every object first: from here on only moves, so a
	 * failure leaves both sets as they were. */
	pv = realloc(o->policies, (o->npolicies + add->npolicies + 1) * sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	o->policies = pv;
	nv = realloc(o->namespaces, (o->nnamespaces + add->nnamespaces + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	o->namespaces = nv;
	for (size_t i = 0; i < add->npolicies; i++) {
		struct netseg_k8s_policy *p = &add->policies[i];

		at = netseg_k8s_objects_find(o, NETSEG_K8S_POLICY, p->ns, p->name);
		if (at < 0) {
			c = NETSEG_K8S_CREATED;
			o->policies[o->npolicies++] = *p;
		} else if (netseg_k8s_policy_same(&o->policies[at], p)) {
			c = NETSEG_K8S_UNCHANGED;
			netseg_k8s_policy_free(p);
		} else {
			c = NETSEG_K8S_CONFIGURED;
			netseg_k8s_policy_free(&o->policies[at]);
			o->policies[at] = *p;
		}
		if (pol_chg)
			pol_chg[i] = c;
	}
	for (size_t i = 0; i < add->nnamespaces; i++) {
		struct netseg_k8s_namespace *ns = &add->namespaces[i];

		at = netseg_k8s_objects_find(o, NETSEG_K8S_NAMESPACE, NULL, ns->name);
		if (at < 0) {
			c = NETSEG_K8S_CREATED;
			o->namespaces[o->nnamespaces++] = *ns;
		} else if (netseg_k8s_namespace_same(&o->namespaces[at], ns)) {
			c = NETSEG_K8S_UNCHANGED;
			netseg_k8s_namespace_free(ns);
		} else {
			c = NETSEG_K8S_CONFIGURED;
			netseg_k8s_namespace_free(&o->namespaces[at]);
			o->namespaces[at] = *ns;
		}
		if (ns_chg)
			ns_chg[i] = c;
	}
	free(add->policies);
	free(add->namespaces);
	netseg_k8s_objects_init(add);
	return 0;
}
