// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reference model of NetworkPolicy: a direct transcription of the
 * Kubernetes semantics, written for clarity, not speed.  It is the oracle
 * the compiler and the traffic tests are checked against, so every rule
 * below is one sentence of docs/kubernetes.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "k8s.h"

int netseg_k8s_addr_parse(const char *s, struct netseg_k8s_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = strchr(s, ':') ? AF_INET6 : AF_INET;
	return inet_pton(a->family, s, a->addr) == 1 ? 0 : -EINVAL;
}

bool netseg_k8s_addr_in(const struct netseg_k8s_addr *a, const struct netseg_k8s_cidr *c)
{
	int i;

	if (a->family != c->family)
		return false;
	for (i = 0; i < c->plen; i++)
		if ((a->addr[i / 8] ^ c->addr[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* The labels of namespace @ns; one that isn't declared still carries
 * its kubernetes.io/metadata.name label, as in any cluster. */
static bool ns_match(const struct netseg_k8s_cluster *c, const char *ns,
		     const struct netseg_labelsel *sel)
{
	struct netseg_labels implicit;
	bool m;
	size_t i;

	for (i = 0; i < c->objs->nnamespaces; i++)
		if (!strcmp(c->objs->namespaces[i].name, ns))
			return netseg_labels_match(sel, &c->objs->namespaces[i].labels);
	netseg_labels_init(&implicit);
	netseg_labels_add(&implicit, NETSEG_K8S_NS_NAME_LABEL, ns, NULL);
	m = netseg_labels_match(sel, &implicit);
	netseg_labels_free(&implicit);
	return m;
}

/* Does @peer of a policy in namespace @ns match endpoint @e? */
static bool peer_match(const struct netseg_k8s_cluster *c, const char *ns,
		       const struct netseg_k8s_peer *peer, const struct netseg_k8s_end *e)
{
	size_t i;

	/* ipBlock: the packet's address, pod or not, minus the excepts. */
	if (peer->has_ipblock) {
		if (!netseg_k8s_addr_in(&e->ip, &peer->cidr))
			return false;
		for (i = 0; i < peer->nexcept; i++)
			if (netseg_k8s_addr_in(&e->ip, &peer->except[i]))
				return false;
		return true;
	}
	/* Selectors only ever match pods. */
	if (!e->pod)
		return false;
	/* No namespaceSelector: the policy's own namespace. */
	if (!peer->has_ns_sel && strcmp(e->pod->ns, ns))
		return false;
	if (peer->has_ns_sel && !ns_match(c, e->pod->ns, &peer->ns_sel))
		return false;
	/* No podSelector: every pod of those namespaces. */
	if (peer->has_pod_sel && !netseg_labels_match(&peer->pod_sel, &e->pod->labels))
		return false;
	return true;
}

static bool port_match(const struct netseg_k8s_rule *r, __u8 proto, __u16 port)
{
	size_t i;

	if (!r->nports) /* no ports: every port of every protocol */
		return true;
	for (i = 0; i < r->nports; i++) {
		const struct netseg_k8s_port *p = &r->ports[i];
		__u16 hi = p->end_port ? p->end_port : p->port;

		if (p->proto != proto)
			continue;
		if (!p->port || (port >= p->port && port <= hi))
			return true;
	}
	return false;
}

static bool rule_allows(const struct netseg_k8s_cluster *c, const char *ns,
			const struct netseg_k8s_rule *r, const struct netseg_k8s_end *peer,
			__u8 proto, __u16 port)
{
	size_t i;

	if (!port_match(r, proto, port))
		return false;
	if (!r->npeers) /* no peers: every source / destination */
		return true;
	for (i = 0; i < r->npeers; i++)
		if (peer_match(c, ns, &r->peers[i], peer))
			return true;
	return false;
}

/* Policies select pods of their own namespace only. */
static bool selects(const struct netseg_k8s_policy *p, const struct netseg_k8s_pod *pod,
		    unsigned int dir)
{
	return (p->types & dir) && !strcmp(p->ns, pod->ns) &&
	       netseg_labels_match(&p->pod_sel, &pod->labels);
}

bool netseg_k8s_isolated(const struct netseg_k8s_cluster *c, const struct netseg_k8s_pod *pod,
			 unsigned int dir)
{
	size_t i;

	for (i = 0; i < c->objs->npolicies; i++)
		if (selects(&c->objs->policies[i], pod, dir))
			return true;
	return false;
}

/* May @self (a pod) talk in direction @dir with @peer?  Yes if it isn't
 * isolated that way, or any rule of a policy selecting it allows it:
 * the union of all policies, never an intersection. */
static bool side_allows(const struct netseg_k8s_cluster *c, const struct netseg_k8s_pod *self,
			unsigned int dir, const struct netseg_k8s_end *peer, __u8 proto, __u16 port,
			const char **by)
{
	size_t i, j;

	if (!netseg_k8s_isolated(c, self, dir)) {
		*by = NULL;
		return true;
	}
	for (i = 0; i < c->objs->npolicies; i++) {
		const struct netseg_k8s_policy *p = &c->objs->policies[i];
		const struct netseg_k8s_rule *r = dir == NETSEG_K8S_INGRESS ? p->ingress :
									      p->egress;
		size_t n = dir == NETSEG_K8S_INGRESS ? p->ningress : p->negress;

		if (!selects(p, self, dir))
			continue;
		for (j = 0; j < n; j++)
			if (rule_allows(c, p->ns, &r[j], peer, proto, port)) {
				*by = p->name;
				return true;
			}
	}
	return false;
}

bool netseg_k8s_allowed(const struct netseg_k8s_cluster *c, const struct netseg_k8s_end *src,
			const struct netseg_k8s_end *dst, __u8 proto, __u16 port, char *why,
			size_t whylen)
{
	const char *by = NULL;

	/* An address outside the cluster has no policies of its own. */
	if (src->pod && !side_allows(c, src->pod, NETSEG_K8S_EGRESS, dst, proto, port, &by)) {
		if (why)
			snprintf(why, whylen, "egress of %s/%s is isolated and no rule allows it",
				 src->pod->ns, src->pod->name);
		return false;
	}
	if (dst->pod && !side_allows(c, dst->pod, NETSEG_K8S_INGRESS, src, proto, port, &by)) {
		if (why)
			snprintf(why, whylen, "ingress of %s/%s is isolated and no rule allows it",
				 dst->pod->ns, dst->pod->name);
		return false;
	}
	if (why)
		snprintf(why, whylen, "allowed");
	return true;
}
