// SPDX-License-Identifier: GPL-2.0-only
/*
 * A pod as JSON, one shape for the control protocol (what netseg-cni
 * sends in endpoint.register, docs/kubernetes.md) and the state file, so
 * one parser checks both: container_id, ifname, iface, netns, namespace,
 * pod, labels {key: value}, ips ["198.18.1.10", "fd00::10"].
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>

#include "netsegd.h"
#include "text.h"

/* An optional string member into @out (@len bytes): printable, fits. */
static int get_text(const cJSON *o, const char *key, char *out, size_t len, bool required,
		    struct netseg_err *err)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);
	char why[96];

	if (!v) {
		if (required)
			return netseg_err_set(err, 0, "\"%s\" is missing", key);
		return 0;
	}
	if (!cJSON_IsString(v))
		return netseg_err_set(err, 0, "\"%s\" must be a string", key);
	if (netseg_text_check(v->valuestring, len, why, sizeof(why)))
		return netseg_err_set(err, 0, "\"%s\": %s", key, why);
	if (required && !v->valuestring[0])
		return netseg_err_set(err, 0, "\"%s\" is empty", key);
	snprintf(out, len, "%s", v->valuestring);
	return 0;
}

static int get_labels(const cJSON *o, struct netseg_labels *l, struct netseg_err *err)
{
	const cJSON *v = cJSON_GetObjectItem(o, "labels"), *it;
	struct netseg_err le = { 0 };
	int r;

	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return netseg_err_set(err, 0, "\"labels\" must be an object of strings");
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it))
			return netseg_err_set(err, 0, "label \"%.64s\": the value must be a string",
					      it->string);
		r = netseg_labels_add(l, it->string, it->valuestring, &le);
		if (r == -ENOMEM)
			return netsegd_oom(err);
		if (r)
			return netseg_err_set(err, 0, "label \"%.64s\": %s", it->string, le.msg);
	}
	return 0;
}

static int get_ips(const cJSON *o, struct netsegd_pod *p, struct netseg_err *err)
{
	const cJSON *v = cJSON_GetObjectItem(o, "ips"), *it;
	char shown[64];

	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return netseg_err_set(err, 0, "\"ips\" must be a list of addresses");
	cJSON_ArrayForEach(it, v) {
		if (p->nips == NETSEGD_POD_IPS)
			return netseg_err_set(err, 0, "at most %d addresses per pod",
					      NETSEGD_POD_IPS);
		if (!cJSON_IsString(it) || netseg_k8s_addr_parse(it->valuestring, &p->ips[p->nips]))
			return netseg_err_set(err, -EINVAL,
					      "\"ips\": \"%s\" is not an IPv4 or IPv6 address",
					      cJSON_IsString(it) ?
						      netseg_printable(it->valuestring, shown,
								       sizeof(shown)) :
						      "(not a string)");
		for (unsigned int i = 0; i < p->nips; i++)
			if (p->ips[i].family == p->ips[p->nips].family &&
			    !memcmp(p->ips[i].addr, p->ips[p->nips].addr, 16))
				return netseg_err_set(err, 0, "\"ips\": %s is listed twice",
						      it->valuestring);
		p->nips++;
	}
	return 0;
}

int netsegd_pod_from_json(const cJSON *o, bool need_cid, struct netsegd_pod **out,
			  struct netseg_err *err)
{
	struct netsegd_pod *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return netsegd_oom(err);
	netseg_labels_init(&p->labels);
	strcpy(p->ns, NETSEG_K8S_DEFAULT_NS);
	r = get_text(o, "container_id", p->cid, sizeof(p->cid), need_cid, err);
	r = r ?: get_text(o, "ifname", p->ifname, sizeof(p->ifname), false, err);
	/* Another node's pod (from the state file) has no interface here. */
	r = r ?: get_text(o, "node", p->node, sizeof(p->node), false, err);
	r = r ?: get_text(o, "iface", p->iface, sizeof(p->iface), !p->node[0], err);
	r = r ?: get_text(o, "netns", p->netns, sizeof(p->netns), false, err);
	r = r ?: get_text(o, "namespace", p->ns, sizeof(p->ns), false, err);
	r = r ?: get_text(o, "pod", p->name, sizeof(p->name), false, err);
	if (!r && !netseg_dns_label_ok(p->ns))
		r = netseg_err_set(err, -EINVAL,
				   "namespace \"%s\" is not a DNS label (lower-case letters, digits "
				   "and '-', at most 63, alphanumeric at both ends)",
				   p->ns);
	r = r ?: get_labels(o, &p->labels, err);
	r = r ?: get_ips(o, p, err);
	if (!r && cJSON_IsNumber(cJSON_GetObjectItem(o, "ifindex"))) {
		double v = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "ifindex"));

		if (v < 0 || v > 0x7fffffff || v != (double)(__u32)v)
			r = netseg_err_set(err, 0, "\"ifindex\" must be an interface index");
		else
			p->ifindex = (__u32)v;
	}
	if (r) {
		netsegd_pod_free(p);
		return r;
	}
	*out = p;
	return 0;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v[0])
		cJSON_AddStringToObject(o, k, v);
}

cJSON *netsegd_pod_to_json(const struct netsegd *d, const struct netsegd_pod *p)
{
	cJSON *o = cJSON_CreateObject(), *l, *ips;
	char buf[INET6_ADDRSTRLEN];

	if (!o)
		return NULL;
	add_str(o, "container_id", p->cid);
	add_str(o, "ifname", p->ifname);
	add_str(o, "iface", p->iface);
	add_str(o, "node", p->node);
	add_str(o, "netns", p->netns);
	cJSON_AddStringToObject(o, "namespace", p->ns);
	add_str(o, "pod", p->name);
	l = cJSON_AddObjectToObject(o, "labels");
	for (size_t i = 0; l && i < p->labels.n; i++)
		cJSON_AddStringToObject(l, p->labels.v[i].key, p->labels.v[i].value);
	ips = cJSON_AddArrayToObject(o, "ips");
	for (unsigned int i = 0; ips && i < p->nips; i++)
		if (inet_ntop(p->ips[i].family, p->ips[i].addr, buf, sizeof(buf)))
			cJSON_AddItemToArray(ips, cJSON_CreateString(buf));
	cJSON_AddNumberToObject(o, "ifindex", p->ifindex);
	if (d)
		cJSON_AddNumberToObject(o, "identity", p->id);
	return o;
}

void netsegd_pod_free(struct netsegd_pod *p)
{
	if (!p)
		return;
	netseg_labels_free(&p->labels);
	free(p);
}

/* ----------------------------------------------- lookups by the lower files */

bool netsegd_set_has(const struct netsegd_k8s_set *s, const struct netsegd_pod *p)
{
	for (size_t i = 0; s && i < s->npods; i++)
		if (s->pods[i] == p)
			return true;
	return false;
}

const struct netsegd_pod *netsegd_pod_by_ifindex(const struct netsegd *d, __u32 ifindex)
{
	for (size_t i = 0; i < d->k8s.set.npods; i++)
		if (d->k8s.set.pods[i]->ifindex == ifindex && !d->k8s.set.pods[i]->node[0])
			return d->k8s.set.pods[i];
	return NULL;
}

const char *netsegd_id_name(const struct netsegd *d, __u32 id, char *buf, size_t len)
{
	const struct netsegd_k8s *k = &d->k8s;

	if (id >= NETSEGD_K8S_ID_MIN && id <= NETSEGD_K8S_ID_MAX) {
		for (size_t i = 0; i < k->nkeys; i++) {
			if (k->keys[i].id == id) {
				snprintf(buf, len, "%s", k->keys[i].key);
				return buf;
			}
		}
	}
	return netseg_id_name(&d->pol.ids, id, buf, len);
}

void netsegd_k8s_link_gone(struct netsegd *d, __u32 ifindex)
{
	if (netsegd_pod_by_ifindex(d, ifindex))
		d->k8s.pods_dirty = true;
}
