// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Kubernetes side of the one commit path (docs/kubernetes.md, "How it
 * is enforced"): NetworkPolicies, Namespaces and labelled pods go through
 * lib/k8s_compile.c with the native rules and identities, and what it
 * makes (pod identities, ipBlock prefixes, generated rules) is written to
 * the maps around the same policy swap as every other change.
 *
 * A change is a candidate set (objects and pods) that netsegd_commit()
 * compiles; entering it swaps it with the set in force, undoing it swaps
 * back, so a refused or failed change leaves the old set in force.  Pods
 * are held by pointer: a candidate shares the pods it doesn't change.
 *
 * The identity allocator hands out one id per key ("pod:NS:LABELS",
 * "cidr:PREFIX") from its own range and keeps it while the compile in
 * force uses it; a key nothing uses is forgotten at the end of the
 * commit, and ids are handed out round-robin so a forgotten one is not
 * soon reused (flows and counters still name it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>

#include "log.h"
#include "netsegd.h"

void netsegd_k8s_init(struct netsegd *d)
{
	memset(&d->k8s, 0, sizeof(d->k8s));
	netseg_k8s_objects_init(&d->k8s.set.objs);
	d->k8s.next_id = NETSEGD_K8S_ID_MIN;
}

void netsegd_k8s_free(struct netsegd *d)
{
	struct netsegd_k8s *k = &d->k8s;

	netseg_k8s_objects_free(&k->set.objs);
	for (size_t i = 0; i < k->set.npods; i++)
		netsegd_pod_free(k->set.pods[i]);
	free(k->set.pods);
	netseg_k8s_compiled_free(&k->compiled);
	netseg_k8s_compiled_free(&k->next);
	for (size_t i = 0; i < k->nkeys; i++)
		free(k->keys[i].key);
	free(k->keys);
	memset(k, 0, sizeof(*k));
}

/* The set a compile works on: a pending candidate, else the one in force. */
static const struct netsegd_k8s_set *compiling(const struct netsegd *d)
{
	return d->k8s.cand && d->k8s.cand_state == NETSEGD_CAND_PENDING ? d->k8s.cand : &d->k8s.set;
}

bool netsegd_k8s_active(const struct netsegd *d)
{
	const struct netsegd_k8s_set *s = compiling(d);

	return s->npods || s->objs.npolicies || s->objs.nnamespaces;
}

/* ------------------------------------------------------------ allocator */

static bool id_taken(const struct netsegd_k8s *k, __u32 id)
{
	for (size_t i = 0; i < k->nkeys; i++)
		if (k->keys[i].id == id)
			return true;
	return false;
}

static int alloc_cb(const char *key, __u32 *id, void *ctx)
{
	struct netsegd_k8s *k = ctx;
	const __u32 span = NETSEGD_K8S_ID_MAX - NETSEGD_K8S_ID_MIN + 1;
	struct netsegd_k8s_idkey *v;

	for (size_t i = 0; i < k->nkeys; i++) {
		if (!strcmp(k->keys[i].key, key)) {
			k->keys[i].in_next = true;
			*id = k->keys[i].id;
			return 0;
		}
	}
	if (k->nkeys >= span)
		return -ENOSPC;
	if (k->next_id < NETSEGD_K8S_ID_MIN || k->next_id > NETSEGD_K8S_ID_MAX)
		k->next_id = NETSEGD_K8S_ID_MIN;
	while (id_taken(k, k->next_id))
		k->next_id = k->next_id == NETSEGD_K8S_ID_MAX ? NETSEGD_K8S_ID_MIN : k->next_id + 1;
	v = realloc(k->keys, (k->nkeys + 1) * sizeof(*k->keys));
	if (!v)
		return -ENOMEM;
	k->keys = v;
	v = &k->keys[k->nkeys];
	v->key = strdup(key);
	if (!v->key)
		return -ENOMEM;
	v->id = k->next_id;
	v->in_force = false;
	v->in_next = true;
	k->nkeys++;
	*id = k->next_id;
	k->next_id = k->next_id == NETSEGD_K8S_ID_MAX ? NETSEGD_K8S_ID_MIN : k->next_id + 1;
	return 0;
}

/* Keeps the keys the compile in force uses, nothing else. */
static void keys_sweep(struct netsegd_k8s *k)
{
	size_t n = 0;

	for (size_t i = 0; i < k->nkeys; i++) {
		if (!k->keys[i].in_force) {
			free(k->keys[i].key);
			continue;
		}
		k->keys[i].in_next = false;
		k->keys[n++] = k->keys[i];
	}
	k->nkeys = n;
}

/* ------------------------------------------------------------ compiling */

static void to_kcidr(const struct netseg_prefix *p, struct netseg_k8s_cidr *c)
{
	memset(c, 0, sizeof(*c));
	c->family = p->family == NETSEG_AF_INET ? AF_INET : AF_INET6;
	memcpy(c->addr, p->addr, sizeof(c->addr));
	c->plen = p->plen;
}

struct natives {
	struct netseg_k8s_native *v;
	struct netseg_labelsel *sels; /* of identities defined by a selector */
	size_t nsels;
	/* Their namespaces, copied: the store may move while the compiler
	 * resolves a new CIDR selector into it. */
	char (*sel_ns)[NETSEG_IDNS_MAX];
	struct netseg_k8s_cidr *cidrs;
	struct netseg_k8s_addr *host;
	size_t nhost, caphost;
};

static void natives_free(struct natives *n)
{
	for (size_t i = 0; i < n->nsels; i++)
		netseg_labelsel_free(&n->sels[i]);
	free(n->sels);
	free(n->sel_ns);
	free(n->v);
	free(n->cidrs);
	free(n->host);
}

/* Every native identity with the prefixes it owns, for the ipBlocks. */
static int natives_build(const struct netsegd *d, const struct netseg_idstore *ids,
			 struct natives *n)
{
	size_t nc = 0, k = 0;
	struct netseg_prefix p;
	int r;

	n->v = calloc(ids->n + 1, sizeof(*n->v));
	n->sels = calloc(ids->n + 1, sizeof(*n->sels));
	n->sel_ns = calloc(ids->n + 1, sizeof(*n->sel_ns));
	n->cidrs = calloc(ids->n * NETSEG_SEL_MAX + 1, sizeof(*n->cidrs));
	if (!n->v || !n->sels || !n->sel_ns || !n->cidrs)
		return -ENOMEM;
	for (size_t i = 0; i < ids->n; i++) {
		const struct netseg_iddef *def = &ids->v[i];
		struct netseg_k8s_native *nv = &n->v[k++];

		nv->id = def->id;
		nv->flags = netsegd_identity_flags(d, def);
		/* Its pods: native rules naming it are copied for each. */
		r = netseg_iddef_selector(def, &n->sels[n->nsels]);
		if (r == -ENOENT)
			r = 0;
		else if (r)
			return r;
		else {
			snprintf(n->sel_ns[n->nsels], sizeof(n->sel_ns[0]), "%s", def->ns);
			nv->sel_ns = n->sel_ns[n->nsels];
			nv->sel = &n->sels[n->nsels++];
		}
		nv->cidrs = &n->cidrs[nc];
		for (unsigned int c = 0; c < def->ncidrs; c++) {
			if (netseg_prefix_parse(def->cidrs[c], &p, NULL))
				continue; /* validated when added */
			to_kcidr(&p, &n->cidrs[nc++]);
			nv->ncidrs++;
		}
		if (def->cidr_only && !def->ncidrs && !netseg_prefix_parse(def->name, &p, NULL)) {
			/* A rule's CIDR selector: the identity is named by it. */
			to_kcidr(&p, &n->cidrs[nc++]);
			nv->ncidrs++;
		}
	}
	return 0;
}

static void host_addr_one(struct netseg_ipent *e, void *ctx)
{
	struct natives *n = ctx;
	struct netseg_k8s_addr *a;

	if (!netseg_prefix_is_host(&e->pfx))
		return;
	for (unsigned int i = 0; i < e->nsrc; i++) {
		if (e->src[i].kind != NETSEG_IPSRC_HOST)
			continue;
		if (n->nhost == n->caphost) {
			size_t cap = n->caphost ? 2 * n->caphost : 16;

			a = realloc(n->host, cap * sizeof(*a));
			if (!a)
				return;
			n->host = a;
			n->caphost = cap;
		}
		a = &n->host[n->nhost++];
		memset(a, 0, sizeof(*a));
		a->family = e->pfx.family == NETSEG_AF_INET ? AF_INET : AF_INET6;
		memcpy(a->addr, e->pfx.addr, sizeof(a->addr));
		return;
	}
}

/* The first rule id above every native one, and at least the generated range. */
static __u32 first_rule_id(const struct netseg_ruleset *rules)
{
	__u32 max = NETSEGD_K8S_RULE_MIN - 1;

	for (size_t i = 0; i < rules->n; i++)
		if (rules->rules[i].id > max)
			max = rules->rules[i].id;
	return max == 0xffffffffU ? 0 : max + 1; /* 0: the compiler says no ids are left */
}

int netsegd_k8s_compile(struct netsegd *d, const struct netseg_ruleset *rules,
			struct netseg_idstore *ids, const struct netseg_resolver *native,
			struct netseg_policy *out, struct netseg_err *err)
{
	const struct netsegd_k8s_set *set = compiling(d);
	struct netseg_k8s_endpoint *eps = NULL;
	struct netseg_k8s_input in = { 0 };
	struct netseg_resolver res;
	struct natives nat = { 0 };
	int r;

	netseg_k8s_compiled_free(&d->k8s.next);
	for (size_t i = 0; i < d->k8s.nkeys; i++)
		d->k8s.keys[i].in_next = false;
	/* Every CIDR identity the rules name exists before the natives are
	 * taken from the store (resolving one adds it), so ipBlocks see it. */
	for (size_t i = 0; i < rules->n; i++) {
		__u32 id;

		netseg_selector_resolve(native, rules->rules[i].src, &id);
		netseg_selector_resolve(native, rules->rules[i].dst, &id);
	}
	eps = calloc(set->npods + 1, sizeof(*eps));
	r = eps ? natives_build(d, ids, &nat) : -ENOMEM;
	if (r)
		goto out;
	netseg_iptable_foreach(&d->eps.ips, host_addr_one, &nat);
	for (size_t i = 0; i < set->npods; i++) {
		const struct netsegd_pod *p = set->pods[i];

		eps[i] = (struct netseg_k8s_endpoint){
			.ns = p->ns,
			.name = p->name[0] ? p->name : p->iface,
			.labels = &p->labels,
			.addrs = p->ips,
			.naddrs = p->nips,
		};
	}
	in.objs = &set->objs;
	in.eps = eps;
	in.neps = set->npods;
	in.rules = rules->rules;
	in.nrules = rules->n;
	in.res = native;
	in.natives = nat.v;
	in.nnatives = ids->n;
	in.host_addrs = nat.host;
	in.nhost = nat.nhost;
	in.host_to_pods = d->cfg.host_to_pods;
	in.alloc = alloc_cb;
	in.alloc_ctx = &d->k8s;
	in.first_rule_id = first_rule_id(rules);
	r = netseg_k8s_compile(&in, &d->k8s.next, err);
	if (r)
		goto out;
	netseg_k8s_resolver(native, &res);
	r = netseg_compile(d->k8s.next.rules.rules, d->k8s.next.rules.n, &res, d->cfg.max_entries,
			   out, err);
	if (r)
		netseg_k8s_compiled_free(&d->k8s.next);
out:
	if (r == -ENOMEM && err && !err->msg[0])
		netseg_err_set(err, 0, "out of memory compiling NetworkPolicies");
	natives_free(&nat);
	free(eps);
	return r;
}

void netsegd_k8s_compile_none(struct netsegd *d)
{
	netseg_k8s_compiled_free(&d->k8s.next);
	for (size_t i = 0; i < d->k8s.nkeys; i++)
		d->k8s.keys[i].in_next = false;
}

/* ------------------------------------------------------ entering a set */

static void swap_sets(struct netsegd_k8s_set *a, struct netsegd_k8s_set *b)
{
	struct netsegd_k8s_set t = *a;

	*a = *b;
	*b = t;
}

void netsegd_k8s_enter(struct netsegd *d)
{
	struct netsegd_k8s *k = &d->k8s;
	struct netseg_k8s_compiled t = k->compiled;

	k->compiled = k->next;
	k->next = t;
	for (size_t i = 0; i < k->nkeys; i++) {
		bool f = k->keys[i].in_force;

		k->keys[i].in_force = k->keys[i].in_next;
		k->keys[i].in_next = f;
	}
	if (k->cand && k->cand_state == NETSEGD_CAND_PENDING) {
		swap_sets(&k->set, k->cand);
		k->cand_state = NETSEGD_CAND_IN;
	}
	for (size_t i = 0; i < k->set.npods; i++)
		k->set.pods[i]->id = k->compiled.ep_ids ? k->compiled.ep_ids[i] : 0;
}

void netsegd_k8s_undo(struct netsegd *d)
{
	struct netsegd_k8s *k = &d->k8s;

	if (k->cand && k->cand_state == NETSEGD_CAND_IN)
		swap_sets(&k->set, k->cand);
	if (k->cand)
		k->cand_state = NETSEGD_CAND_UNDONE;
}

void netsegd_k8s_settle(struct netsegd *d)
{
	netseg_k8s_compiled_free(&d->k8s.next);
	keys_sweep(&d->k8s);
}

/* ----------------------------------------------------------- the maps */

static bool has_id(const struct netseg_k8s_compiled *c, __u32 id)
{
	for (size_t i = 0; c && i < c->nids; i++)
		if (c->ids[i].id == id)
			return true;
	return false;
}

static bool has_prefix(const struct netseg_k8s_compiled *c, const struct netseg_k8s_prefix *p)
{
	for (size_t i = 0; c && i < c->nprefixes; i++)
		if (c->prefixes[i].id == p->id && c->prefixes[i].cidr.family == p->cidr.family &&
		    c->prefixes[i].cidr.plen == p->cidr.plen &&
		    !memcmp(c->prefixes[i].cidr.addr, p->cidr.addr, 16))
			return true;
	return false;
}

static int prefix_claim(struct netsegd *d, const struct netseg_k8s_prefix *p, bool add)
{
	struct netseg_ipsrc s = { .kind = NETSEG_IPSRC_CIDR, .id = p->id };
	int fam = p->cidr.family == AF_INET ? NETSEG_AF_INET : NETSEG_AF_INET6;

	return netsegd_ip_update(d, fam, p->cidr.addr, p->cidr.plen, &s,
				 add ? NETSEGD_IP_CLAIM : NETSEGD_IP_UNCLAIM);
}

/*
 * Claims are a set, not counted: the same claim made by a pod leaving and
 * by its replacement (a relisted remote pod, a CNI ADD retried) is one,
 * and must not go with the one leaving.  Does a pod of @keep other than
 * @p hold @a with the claim @p made?
 */
static bool held(const struct netsegd_k8s_set *keep, const struct netsegd_pod *p,
		 const struct netseg_k8s_addr *a)
{
	for (size_t i = 0; keep && i < keep->npods; i++) {
		const struct netsegd_pod *q = keep->pods[i];

		if (q == p || !!q->node[0] != !!p->node[0])
			continue;
		if (p->node[0] ? q->claimed != p->claimed : q->ifindex != p->ifindex)
			continue;
		for (unsigned int j = 0; j < q->nips; j++)
			if (q->ips[j].family == a->family && !memcmp(q->ips[j].addr, a->addr, 16))
				return true;
	}
	return false;
}

static int addr_claim(struct netsegd *d, const struct netseg_k8s_addr *a,
		      const struct netseg_ipsrc *s, bool claim)
{
	int fam = a->family == AF_INET ? NETSEG_AF_INET : NETSEG_AF_INET6;

	return netsegd_ip_update(d, fam, a->addr, fam == NETSEG_AF_INET ? 32 : 128, s,
				 claim ? NETSEGD_IP_CLAIM : NETSEGD_IP_UNCLAIM);
}

/* Another node's pod: its addresses claimed with its identity (no
 * interface here); a new identity replaces the old claim.  Going (!add),
 * what @keep's pods hold stays. */
static int remote_claims(struct netsegd *d, struct netsegd_pod *p, bool add,
			 const struct netsegd_k8s_set *keep)
{
	struct netseg_ipsrc s = { .kind = NETSEG_IPSRC_RPOD };
	int r = 0;

	for (int pass = 0; pass < 2; pass++) {
		bool claim = pass == 1;

		s.id = claim ? p->id : p->claimed;
		if (!s.id || (claim && !add) || (!claim && add && p->claimed == p->id))
			continue;
		for (unsigned int i = 0; i < p->nips && !r; i++)
			if (claim || !held(keep, p, &p->ips[i]))
				r = addr_claim(d, &p->ips[i], &s, claim);
		p->claimed = claim && !r ? p->id : 0;
	}
	return add ? r : 0;
}

/* A pod's registered addresses claim their /32 and /128 for its interface,
 * so the source-address check knows them before any route is learned.
 * Going (!add), what @keep's pods hold stays. */
static int pod_claims(struct netsegd *d, struct netsegd_pod *p, bool add,
		      const struct netsegd_k8s_set *keep)
{
	struct netseg_ipsrc s = { .kind = NETSEG_IPSRC_POD, .ifindex = p->ifindex };
	int r = 0;

	if (p->node[0])
		return remote_claims(d, p, add, keep);
	for (unsigned int i = 0; i < p->nips && !r; i++)
		if (add || !held(keep, p, &p->ips[i]))
			r = addr_claim(d, &p->ips[i], &s, add);
	return add ? r : 0;
}

/*
 * After netsegd_k8s_enter(): identity flags and ipBlock prefixes of the
 * compile in force, pods' address claims; what only the previous compile
 * (k8s.next) and the previous set had goes.
 */
int netsegd_k8s_sync_maps(struct netsegd *d)
{
	struct netsegd_k8s *k = &d->k8s;
	const struct netseg_k8s_compiled *now = &k->compiled, *old = &k->next;
	/* The candidate holds the other set once entered or undone. */
	const struct netsegd_k8s_set *was = k->cand && k->cand_state >= NETSEGD_CAND_IN ? k->cand :
											  NULL;
	int r = 0;

	for (size_t i = 0; i < now->nids && !r; i++)
		r = netseg_dp_identity_set(d->dp, now->ids[i].id, now->ids[i].flags);
	for (size_t i = 0; i < now->nprefixes && !r; i++)
		r = prefix_claim(d, &now->prefixes[i], true);
	for (size_t i = 0; i < k->set.npods && !r; i++)
		r = pod_claims(d, k->set.pods[i], true, NULL);
	if (r) /* undone next: what is in force must not lose anything */
		return r;
	for (size_t i = 0; i < old->nprefixes; i++)
		if (!has_prefix(now, &old->prefixes[i]))
			prefix_claim(d, &old->prefixes[i], false);
	for (size_t i = 0; i < old->nids; i++)
		if (!has_id(now, old->ids[i].id) && !netseg_dp_identity_del(d->dp, old->ids[i].id))
			d->eps.gen_dirty = true;
	for (size_t i = 0; was && i < was->npods; i++)
		if (!netsegd_set_has(&k->set, was->pods[i]))
			pod_claims(d, was->pods[i], false, &k->set);
	return r;
}

/* --------------------------------------------------------------- lookups */

const struct netseg_rule *netsegd_rule_by_id(const struct netsegd *d, __u32 id)
{
	const struct netseg_ruleset *rs = d->k8s.compiled.rules.n ? &d->k8s.compiled.rules :
								    &d->pol.rules;

	for (size_t i = 0; i < rs->n; i++)
		if (rs->rules[i].id == id)
			return &rs->rules[i];
	return NULL;
}
