// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kubernetes changes through the one commit path (docs/kubernetes.md, "In
 * the daemon"): a candidate set of objects and pods, with the rules and
 * identities in force, committed by netsegd_commit(); afterwards the
 * candidate holds whichever set is not in force, and what only it has is
 * freed.  Above policy.c, which calls k8s.c's compile side.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netsegd.h"

static int copy_rules(struct netseg_ruleset *dst, const struct netseg_ruleset *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		if (netseg_ruleset_add(dst, &src->rules[i]))
			return -ENOMEM;
	return 0;
}

/* The candidate through the one commit path, with the rules and
 * identities in force; afterwards *cand holds the set that isn't. */
static int commit_set(struct netsegd *d, struct netsegd_k8s_set *cand, struct netseg_err *err)
{
	struct netseg_ruleset rules;
	struct netseg_idstore ids;
	int r;

	if (copy_rules(&rules, &d->pol.rules) || netseg_idstore_copy(&ids, &d->pol.ids)) {
		netseg_ruleset_free(&rules);
		return netsegd_oom(err);
	}
	d->k8s.cand = cand;
	d->k8s.cand_state = NETSEGD_CAND_PENDING;
	r = netsegd_commit(d, &rules, &ids, err);
	d->k8s.cand = NULL;
	d->k8s.cand_state = NETSEGD_CAND_NONE;
	netseg_ruleset_free(&rules);
	netseg_idstore_free(&ids);
	return r;
}

int netsegd_recommit(struct netsegd *d, struct netseg_err *err)
{
	return commit_set(d, NULL, err);
}

int netsegd_k8s_commit_objs(struct netsegd *d, struct netseg_k8s_objects *objs,
			    struct netseg_err *err)
{
	struct netsegd_k8s_set cand = { .objs = *objs };
	int r;

	cand.pods = malloc((d->k8s.set.npods + 1) * sizeof(*cand.pods));
	if (!cand.pods)
		return netsegd_oom(err);
	if (d->k8s.set.npods) /* no pods: set.pods may be NULL, memcpy's UB */
		memcpy(cand.pods, d->k8s.set.pods, d->k8s.set.npods * sizeof(*cand.pods));
	cand.npods = d->k8s.set.npods;
	r = commit_set(d, &cand, err);
	if (!r) {
		/* cand is the old set now: its objects go, its pods are the
		 * ones in force. */
		netseg_k8s_objects_free(&cand.objs);
		netseg_k8s_objects_init(objs);
	}
	free(cand.pods);
	return r;
}

int netsegd_k8s_commit_pods(struct netsegd *d, struct netsegd_pod **pods, size_t n,
			    struct netseg_err *err)
{
	struct netsegd_k8s_set cand = { .objs = d->k8s.set.objs, .pods = pods, .npods = n };
	int r = commit_set(d, &cand, err);

	/* Either way cand now holds the set not in force: free the pods only
	 * it has.  The objects are shared with the set in force. */
	for (size_t i = 0; i < cand.npods; i++)
		if (!netsegd_set_has(&d->k8s.set, cand.pods[i]))
			netsegd_pod_free(cand.pods[i]);
	free(cand.pods);
	if (!r && d->k8s.pods_committed) /* the cluster store publishes them */
		d->k8s.pods_committed(d);
	return r;
}

/* Pods whose interface is gone leave (a deleted pod whose DEL never came). */
void netsegd_k8s_flush(struct netsegd *d)
{
	struct netsegd_k8s *k = &d->k8s;
	struct netseg_err err = { 0 };
	struct netsegd_pod **keep;
	size_t n = 0;

	if (!k->pods_dirty)
		return;
	keep = malloc((k->set.npods + 1) * sizeof(*keep));
	if (!keep)
		return; /* the next flush tries again */
	k->pods_dirty = false;
	for (size_t i = 0; i < k->set.npods; i++) {
		const struct netsegd_pod *p = k->set.pods[i];

		const struct netsegd_link *l = netsegd_link_get(d, p->ifindex);

		/* By name too: a new interface may have taken the ifindex. */
		if (p->node[0] || (l && !strcmp(l->name, p->iface)))
			keep[n++] = k->set.pods[i];
		else
			pr_info("pod %s/%s (%s, ifindex %u): interface gone, endpoint removed",
				p->ns, p->name[0] ? p->name : "-", p->iface, p->ifindex);
	}
	if (n == k->set.npods) {
		free(keep);
		return;
	}
	if (netsegd_k8s_commit_pods(d, keep, n, &err)) {
		pr_warn("couldn't remove pods whose interface is gone: %s; retrying", err.msg);
		k->pods_dirty = true;
	}
}
