// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Kubernetes part of the state file: the objects as the canonical
 * YAML `netsegctl get -o yaml` prints (it imports back to the same
 * objects), the pods as endpoint.register sent them, and the allocator's
 * keys, so a restart gives every pod the identity it had.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "log.h"
#include "netsegd.h"

cJSON *netsegd_k8s_state_json(const struct netsegd *d)
{
	const struct netsegd_k8s *k = &d->k8s;
	cJSON *o = cJSON_CreateObject(), *pods, *keys, *revs;
	char name[600];
	char *yaml = netseg_k8s_print_str(&k->set.objs, false);

	if (!o || !yaml)
		goto fail;
	cJSON_AddStringToObject(o, "objects", yaml);
	free(yaml);
	yaml = NULL;
	pods = cJSON_AddArrayToObject(o, "pods");
	/* Another node's pods too: a restarted node enforces them until the
	 * cluster store's first list replaces them (fail-static). */
	for (size_t i = 0; pods && i < k->set.npods; i++)
		cJSON_AddItemToArray(pods, netsegd_pod_to_json(NULL, k->set.pods[i]));
	revs = cJSON_AddObjectToObject(o, "revisions");
	for (size_t i = 0; revs && i < k->set.objs.npolicies; i++) {
		const struct netseg_k8s_policy *p = &k->set.objs.policies[i];

		snprintf(name, sizeof(name), "NetworkPolicy/%s/%s", p->ns, p->name);
		cJSON_AddNumberToObject(revs, name, (double)p->revision);
	}
	for (size_t i = 0; revs && i < k->set.objs.nnamespaces; i++) {
		snprintf(name, sizeof(name), "Namespace/%s", k->set.objs.namespaces[i].name);
		cJSON_AddNumberToObject(revs, name, (double)k->set.objs.namespaces[i].revision);
	}
	keys = cJSON_AddObjectToObject(o, "identities");
	for (size_t i = 0; keys && i < k->nkeys; i++)
		if (k->keys[i].in_force)
			cJSON_AddNumberToObject(keys, k->keys[i].key, k->keys[i].id);
	cJSON_AddNumberToObject(o, "next_id", k->next_id);
	if (!pods || !keys)
		goto fail;
	return o;
fail:
	free(yaml);
	cJSON_Delete(o);
	return NULL;
}

static int load_keys(struct netsegd_k8s *k, const cJSON *keys, const char *path)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, keys) {
		double v = cJSON_GetNumberValue(it);
		struct netsegd_k8s_idkey *n;

		if (!cJSON_IsNumber(it) || v < NETSEGD_K8S_ID_MIN || v > NETSEGD_K8S_ID_MAX) {
			pr_err("%s: k8s identity \"%.80s\": id out of range", path, it->string);
			return -EINVAL;
		}
		for (size_t i = 0; i < k->nkeys; i++) {
			if (k->keys[i].id == (__u32)v) {
				pr_err("%s: k8s identity \"%.80s\": id %u given twice", path,
				       it->string, (__u32)v);
				return -EINVAL;
			}
		}
		n = realloc(k->keys, (k->nkeys + 1) * sizeof(*k->keys));
		if (!n)
			return -ENOMEM;
		k->keys = n;
		n = &k->keys[k->nkeys];
		n->key = strdup(it->string);
		if (!n->key)
			return -ENOMEM;
		n->id = (__u32)v;
		/* Kept until the first commit, which keeps what it uses. */
		n->in_force = true;
		n->in_next = false;
		k->nkeys++;
	}
	return 0;
}

static int load_pods(struct netsegd *d, const cJSON *arr, const char *path)
{
	struct netsegd_k8s_set *s = &d->k8s.set;
	struct netseg_err e = { 0 };
	struct netsegd_pod *p;
	const cJSON *it;
	unsigned int ifindex;
	int r;

	cJSON_ArrayForEach(it, arr) {
		r = netsegd_pod_from_json(it, false, &p, &e);
		if (r) {
			pr_err("%s: a saved pod: %s", path, e.msg);
			return r;
		}
		/* Its interface went away while netsegd was down (or came back
		 * as another one): the pod is gone. */
		ifindex = p->node[0] ? 0 : if_nametoindex(p->iface);
		if (!p->node[0] && (!ifindex || ifindex != p->ifindex)) {
			pr_info("pod %s/%s (%s): interface gone while netsegd was stopped; removed",
				p->ns, p->name[0] ? p->name : "-", p->iface);
			netsegd_pod_free(p);
			continue;
		}
		if (!(s->npods & (s->npods + 1)) || !s->pods) {
			void *v = realloc(s->pods, (2 * s->npods + 2) * sizeof(*s->pods));

			if (!v) {
				netsegd_pod_free(p);
				return -ENOMEM;
			}
			s->pods = v;
		}
		s->pods[s->npods++] = p;
	}
	return 0;
}

/* The revision each object was last created or configured at (`get`);
 * an object without one shows none. */
static void load_revisions(struct netseg_k8s_objects *o, const cJSON *revs)
{
	char name[600];
	const cJSON *v;

	for (size_t i = 0; revs && i < o->npolicies; i++) {
		snprintf(name, sizeof(name), "NetworkPolicy/%s/%s", o->policies[i].ns,
			 o->policies[i].name);
		v = cJSON_GetObjectItemCaseSensitive(revs, name);
		if (cJSON_IsNumber(v) && v->valuedouble >= 0)
			o->policies[i].revision = (__u64)v->valuedouble;
	}
	for (size_t i = 0; revs && i < o->nnamespaces; i++) {
		snprintf(name, sizeof(name), "Namespace/%s", o->namespaces[i].name);
		v = cJSON_GetObjectItemCaseSensitive(revs, name);
		if (cJSON_IsNumber(v) && v->valuedouble >= 0)
			o->namespaces[i].revision = (__u64)v->valuedouble;
	}
}

int netsegd_k8s_state_load(struct netsegd *d, const cJSON *o, const char *path)
{
	const cJSON *yaml = cJSON_GetObjectItem(o, "objects");
	struct netseg_errlist errs = { 0 };
	int r = 0;

	if (yaml && !cJSON_IsString(yaml)) {
		pr_err("%s: \"k8s\".\"objects\" must be a string", path);
		return -EINVAL;
	}
	if (yaml)
		r = netseg_k8s_load_buf(path, yaml->valuestring, strlen(yaml->valuestring),
					&d->k8s.set.objs, &errs);
	if (r)
		pr_err("%s: the saved NetworkPolicies don't load: %s", path,
		       errs.n ? errs.msgs[0] : strerror(-r));
	netseg_errlist_free(&errs);
	if (!r)
		load_revisions(&d->k8s.set.objs, cJSON_GetObjectItem(o, "revisions"));
	r = r ?: load_pods(d, cJSON_GetObjectItem(o, "pods"), path);
	r = r ?: load_keys(&d->k8s, cJSON_GetObjectItem(o, "identities"), path);
	if (!r && cJSON_IsNumber(cJSON_GetObjectItem(o, "next_id"))) {
		double v = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "next_id"));

		/* Out of range: the allocator starts its range again. */
		if (v >= NETSEGD_K8S_ID_MIN && v <= NETSEGD_K8S_ID_MAX)
			d->k8s.next_id = (__u32)v;
	}
	return r;
}
