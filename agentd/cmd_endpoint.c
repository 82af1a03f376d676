// SPDX-License-Identifier: GPL-2.0-only
/*
 * Labelled workloads: the CNI plugin's endpoint.register, .unregister and
 * .check (docs/kubernetes.md, "What netsegd answers"), and labels set by
 * hand with `netsegctl endpoint label|unlabel`.  Every change is a
 * candidate pod set through the one commit path.
 *
 * endpoint.register answers only once the pod is enforced: its interface
 * has both TC programs, its identity is in the identity map, its addresses
 * are in the ipcache on that interface and the recompiled policy is in
 * force.  Anything short of that is refused and leaves nothing behind, so
 * the runtime never starts a pod unenforced.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "log.h"
#include "netsegd.h"

/* rtnetlink reads a pod's brand-new veth before we may act on it. */
#define LINK_WAIT_ROUNDS 64

static const struct netsegd_link *link_wait(struct netsegd *d, const char *iface)
{
	const struct netsegd_link *l = netsegd_link_by_name(d, iface);

	for (int i = 0; !l && i < LINK_WAIT_ROUNDS && if_nametoindex(iface); i++) {
		netsegd_rtnl_event(d);
		l = netsegd_link_by_name(d, iface);
	}
	return l;
}

static bool same_reg(const struct netsegd_pod *p, const char *cid, const char *ifname)
{
	return p->cid[0] && !strcmp(p->cid, cid) && (!ifname[0] || !strcmp(p->ifname, ifname));
}

/* The pods in force but those @drop says, plus @add; NULL on ENOMEM. */
static struct netsegd_pod **pods_but(const struct netsegd *d,
				     bool (*drop)(const struct netsegd_pod *, const void *),
				     const void *ctx, struct netsegd_pod *add, size_t *n)
{
	const struct netsegd_k8s_set *s = &d->k8s.set;
	struct netsegd_pod **v = malloc((s->npods + 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < s->npods; i++)
		if (!drop(s->pods[i], ctx))
			v[(*n)++] = s->pods[i];
	if (add)
		v[(*n)++] = add;
	return v;
}

/* Is the address in the ipcache for this pod, on its interface? */
static bool ip_enforced(struct netsegd *d, const struct netsegd_pod *p,
			const struct netseg_k8s_addr *a)
{
	int fam = a->family == AF_INET ? NETSEG_AF_INET : NETSEG_AF_INET6;
	const struct netseg_ipent *e = netseg_iptable_lookup(&d->eps.ips, fam, a->addr);

	return e && e->val.id == p->id && e->val.ifindex == p->ifindex &&
	       netseg_prefix_is_host(&e->pfx);
}

/* Why @p is not enforced, NULL when it is. */
static const char *not_enforced(struct netsegd *d, const struct netsegd_pod *p)
{
	const struct netsegd_link *l = netsegd_link_get(d, p->ifindex);

	if (!l || strcmp(l->name, p->iface))
		return "its interface is gone";
	if (!p->id || l->id != p->id)
		return "its interface is not an endpoint of its identity (attaching failed)";
	if ((l->attached & (NETSEGD_TC_INGRESS | NETSEGD_TC_EGRESS)) !=
	    (NETSEGD_TC_INGRESS | NETSEGD_TC_EGRESS))
		return "its TC programs are not both attached";
	for (unsigned int i = 0; i < p->nips; i++)
		if (!ip_enforced(d, p, &p->ips[i]))
			return "an address of it is not in the ipcache on its interface";
	return NULL;
}

static cJSON *attached_json(const struct netsegd *d, const struct netsegd_pod *p)
{
	const struct netsegd_link *l = netsegd_link_get(d, p->ifindex);
	cJSON *a = cJSON_CreateArray();

	if (l && (l->attached & NETSEGD_TC_INGRESS))
		cJSON_AddItemToArray(a, cJSON_CreateString("tc-ingress"));
	if (l && (l->attached & NETSEGD_TC_EGRESS))
		cJSON_AddItemToArray(a, cJSON_CreateString("tc-egress"));
	return a;
}

static const char *reply_kind(int r)
{
	return r == -EINVAL || r == -ENOENT || r == -E2BIG || r == -ENOSPC ? "rejected" :
									     "internal";
}

/* Why @a can't be a pod's address, NULL if it can: not a unicast
 * address, or one of this node's own (a registration outranks every other
 * claim, so it would turn the node's address into the pod's). */
static const char *bad_pod_addr(struct netsegd *d, const struct netseg_k8s_addr *a)
{
	const __u8 *b = a->addr;
	struct netseg_ipent *e;
	struct netseg_prefix p;
	static const __u8 zero[16];

	if (a->family == AF_INET) {
		if (!memcmp(b, zero, 4) || b[0] == 127 || b[0] >= 224)
			return "is not a unicast address";
	} else if (!memcmp(b, zero, 16) || b[0] == 0xff ||
		   (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
		   (!memcmp(b, zero, 15) && b[15] == 1)) {
		return "is not a global unicast address";
	}
	if (netseg_prefix_set(&p, a->family == AF_INET ? NETSEG_AF_INET : NETSEG_AF_INET6, b,
			      a->family == AF_INET ? 32 : 128))
		return "is not an address";
	e = netseg_iptable_get(&d->eps.ips, &p, false);
	for (unsigned int i = 0; e && i < e->nsrc; i++)
		if (e->src[i].kind == NETSEG_IPSRC_HOST)
			return "is this node's own address";
	return NULL;
}

struct reg_key {
	const char *cid, *ifname;
	__u32 ifindex;
};

/* The registration replaced: the same container and interface, or the
 * hand labels of the same interface. */
static bool drop_reg(const struct netsegd_pod *p, const void *ctx)
{
	const struct reg_key *k = ctx;

	return same_reg(p, k->cid, k->ifname) || (!p->cid[0] && p->ifindex == k->ifindex);
}

static bool drop_one(const struct netsegd_pod *p, const void *ctx)
{
	return p == ctx;
}

cJSON *cmd_endpoint_register(struct netsegd *d, const cJSON *req,
			     const struct netsegd_follower_io *io)
{
	struct netseg_err err = { 0 };
	const struct netsegd_link *l;
	const struct netsegd_pod *other;
	struct netsegd_pod *p, **pods;
	struct reg_key key;
	char what[400];
	const char *why;
	size_t n;
	cJSON *o;
	int r;

	r = netsegd_pod_from_json(req, true, &p, &err);
	if (r)
		return netsegd_reply_error(reply_kind(r), "endpoint.register: %s", err.msg);
	if (p->node[0]) { /* only the cluster store says a pod is another node's */
		netsegd_pod_free(p);
		return netsegd_reply_error("rejected", "endpoint.register: \"node\" is not a "
						       "registration field (pods are this node's)");
	}
	for (unsigned int i = 0; i < p->nips; i++) {
		const char *why = bad_pod_addr(d, &p->ips[i]);
		char text[INET6_ADDRSTRLEN] = "?";

		if (!why)
			continue;
		inet_ntop(p->ips[i].family, p->ips[i].addr, text, sizeof(text));
		netsegd_pod_free(p);
		return netsegd_reply_error("rejected", "endpoint.register: %s %s", text, why);
	}
	l = link_wait(d, p->iface);
	if (!l || netsegd_link_is_uplink(d, l)) {
		o = netsegd_reply_error("rejected", "endpoint.register: interface %s %s", p->iface,
					l ? "is loopback or an uplink, never a pod's" :
					    "does not exist in netsegd's network namespace");
		netsegd_pod_free(p);
		return o;
	}
	p->ifindex = l->ifindex;
	other = netsegd_pod_by_ifindex(d, l->ifindex);
	if (other && other->cid[0] && !same_reg(other, p->cid, p->ifname)) {
		o = netsegd_reply_error("rejected",
					"endpoint.register: interface %s is already pod %s/%s's "
					"(container %.32s)",
					p->iface, other->ns, other->name, other->cid);
		netsegd_pod_free(p);
		return o;
	}
	/* p may be freed by a failed commit: messages use copies. */
	snprintf(what, sizeof(what), "pod %s/%s (container %.12s) on %s", p->ns,
		 p->name[0] ? p->name : "-", p->cid, p->iface);
	key = (struct reg_key){ .cid = p->cid, .ifname = p->ifname, .ifindex = p->ifindex };
	pods = pods_but(d, drop_reg, &key, p, &n);
	if (!pods) {
		netsegd_pod_free(p);
		return netsegd_reply_error("internal", "out of memory");
	}
	r = netsegd_k8s_commit_pods(d, pods, n, &err); /* takes pods, frees p on failure */
	if (r)
		return netsegd_reply_error(reply_kind(r), "endpoint.register of %s: %s", what,
					   err.msg);
	why = not_enforced(d, p);
	if (why) {
		pods = pods_but(d, drop_one, p, NULL, &n);
		if (!pods || netsegd_k8s_commit_pods(d, pods, n, &err))
			pr_err("couldn't remove %s after a failed registration: %s", what, err.msg);
		return netsegd_reply_error("internal",
					   "endpoint.register: %s is not enforced: %s; nothing kept",
					   what, why);
	}
	o = cmd_reply_ok();
	cJSON_AddNumberToObject(o, "identity", p->id);
	cJSON_AddNumberToObject(o, "ifindex", p->ifindex);
	cJSON_AddItemToObject(o, "attached", attached_json(d, p));
	cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	pr_info("%s: identity %u, enforced", what, p->id);
	return o;
}

static struct netsegd_pod *find_reg(const struct netsegd *d, const char *cid, const char *ifname)
{
	for (size_t i = 0; i < d->k8s.set.npods; i++)
		if (same_reg(d->k8s.set.pods[i], cid, ifname))
			return d->k8s.set.pods[i];
	return NULL;
}

cJSON *cmd_endpoint_unregister(struct netsegd *d, const cJSON *req,
			       const struct netsegd_follower_io *io)
{
	const char *cid = cmd_arg_str(req, "container_id");
	const char *ifname = cmd_arg_str(req, "ifname") ?: "";
	struct netseg_err err = { 0 };
	struct netsegd_pod *p, **pods;
	size_t n;
	cJSON *o;
	int r;

	if (!cid || !cid[0])
		return netsegd_reply_error("usage", "endpoint.unregister needs \"container_id\"");
	p = find_reg(d, cid, ifname);
	o = p ? NULL : cmd_reply_ok();
	if (o) { /* DEL is idempotent: unknown is no error */
		cJSON_AddBoolToObject(o, "removed", false);
		return o;
	}
	pods = pods_but(d, drop_one, p, NULL, &n);
	if (!pods)
		return netsegd_reply_error("internal", "out of memory");
	pr_info("pod %s/%s (container %.12s) on %s: unregistered", p->ns, p->name, p->cid,
		p->iface);
	r = netsegd_k8s_commit_pods(d, pods, n, &err);
	if (r)
		return netsegd_reply_error(reply_kind(r), "endpoint.unregister %.64s: %s", cid,
					   err.msg);
	o = cmd_reply_ok();
	cJSON_AddBoolToObject(o, "removed", true);
	cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	return o;
}

cJSON *cmd_endpoint_check(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const char *cid = cmd_arg_str(req, "container_id");
	const char *ifname = cmd_arg_str(req, "ifname") ?: "";
	const char *iface = cmd_arg_str(req, "iface");
	const struct netsegd_pod *p;
	const char *why;
	cJSON *o;

	if (!cid || !cid[0])
		return netsegd_reply_error("usage", "endpoint.check needs \"container_id\"");
	p = find_reg(d, cid, ifname);
	why = !p			       ? "netsegd has no registration for it" :
	      iface && strcmp(iface, p->iface) ? "it is registered on another interface" :
						 not_enforced(d, p);
	o = cmd_reply_ok();
	cJSON_AddBoolToObject(o, "enforced", !why);
	if (why)
		cJSON_AddStringToObject(o, "why", why);
	else
		cJSON_AddNumberToObject(o, "identity", p->id);
	return o;
}

static bool drop_hand(const struct netsegd_pod *p, const void *ctx)
{
	return !p->cid[0] && p->ifindex == *(const __u32 *)ctx;
}

cJSON *cmd_endpoint_label(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	struct netseg_err err = { 0 };
	const struct netsegd_pod *other;
	const struct netsegd_link *l;
	struct netsegd_pod *p, **pods;
	size_t n;
	cJSON *o;
	int r;

	r = netsegd_pod_from_json(req, false, &p, &err);
	if (r)
		return netsegd_reply_error(reply_kind(r), "endpoint label: %s", err.msg);
	p->cid[0] = '\0'; /* hand labels: no container, no addresses, this node's */
	p->node[0] = '\0';
	p->nips = 0;
	p->name[0] = '\0';
	l = netsegd_link_by_name(d, p->iface);
	other = l ? netsegd_pod_by_ifindex(d, l->ifindex) : NULL;
	if (!l || netsegd_link_is_uplink(d, l) || (other && other->cid[0])) {
		o = netsegd_reply_error("rejected", "endpoint label: interface %s %s", p->iface,
					!l    ? "does not exist" :
					other ? "is a CNI pod's: its labels come from the runtime" :
						"is loopback or an uplink, never an endpoint");
		netsegd_pod_free(p);
		return o;
	}
	p->ifindex = l->ifindex;
	pods = pods_but(d, drop_hand, &p->ifindex, p, &n);
	if (!pods) {
		netsegd_pod_free(p);
		return netsegd_reply_error("internal", "out of memory");
	}
	r = netsegd_k8s_commit_pods(d, pods, n, &err);
	if (r)
		return netsegd_reply_error(reply_kind(r), "endpoint label %s: %s", l->name,
					   err.msg);
	o = cmd_reply_ok();
	cJSON_AddNumberToObject(o, "identity", p->id);
	cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	return o;
}

cJSON *cmd_endpoint_unlabel(struct netsegd *d, const cJSON *req,
			    const struct netsegd_follower_io *io)
{
	const char *iface = cmd_arg_str(req, "iface");
	const struct netsegd_link *l = iface ? netsegd_link_by_name(d, iface) : NULL;
	const struct netsegd_pod *p = l ? netsegd_pod_by_ifindex(d, l->ifindex) : NULL;
	struct netseg_err err = { 0 };
	struct netsegd_pod **pods;
	size_t n;
	cJSON *o;
	int r;

	if (!iface)
		return netsegd_reply_error("usage", "endpoint unlabel needs an interface");
	if (!p || p->cid[0])
		return netsegd_reply_error("rejected",
					   "endpoint unlabel: %s has no labels set by hand", iface);
	pods = pods_but(d, drop_hand, &p->ifindex, NULL, &n);
	if (!pods)
		return netsegd_reply_error("internal", "out of memory");
	r = netsegd_k8s_commit_pods(d, pods, n, &err);
	if (r)
		return netsegd_reply_error(reply_kind(r), "endpoint unlabel %s: %s", iface,
					   err.msg);
	o = cmd_reply_ok();
	cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	return o;
}
