// SPDX-License-Identifier: GPL-2.0-only
/*
 * NetworkPolicy compiler: policies, namespaces, labelled endpoints and
 * native rules -> one flat native rule set over numeric identities
 * (k8s_compile.h says what it produces, docs/kubernetes.md why).
 *
 * Everything the datapath can tell apart is a "party": a pod identity,
 * the host, world, a native identity, or an ipBlock prefix.  For every
 * ordered pair of parties that involves a pod, the two sides are decided
 * here -- a port set each, "everything" for a side that isn't isolated --
 * and their intersection becomes allow rules for that exact pair.  The
 * datapath then only has to take the per-pair answer it already takes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_compile.h"

enum party_kind { P_POD, P_HOST, P_WORLD, P_NATIVE, P_CUT };

struct party {
	enum party_kind kind;
	__u32 id, flags;
	const struct netseg_k8s_endpoint *ep; /* P_POD: any member will do */
	const struct netseg_k8s_addr *addrs;  /* P_POD, P_HOST */
	size_t naddrs;
	const struct netseg_k8s_cidr *cidrs; /* P_NATIVE, P_CUT */
	size_t ncidrs;
	char *key;	      /* P_POD: its identity key */
	bool iso_in, iso_out; /* P_POD: isolated that way */
};

/* A namespace's labels: declared, or just its metadata.name label. */
struct nslabels {
	const char *name;
	const struct netseg_labels *labels;
	struct netseg_labels own;
};

/* A distinct ipBlock and its text ("CIDR!EXCEPT!..."), for identity keys. */
struct block {
	const struct netseg_k8s_peer *peer;
	char *text;
};

struct ctx {
	const struct netseg_k8s_input *in;
	struct netseg_err *err;
	struct netseg_k8s_compiled *out;
	struct block *blocks; /* sorted by text */
	size_t nblocks;
	struct party *parties;
	size_t nparties;
	struct nslabels *ns;
	size_t nns;
	__u32 next_rule;
};

/* -------------------------------------------------------------- prefixes */

/* Is every address of @a inside @b? */
static bool cidr_in(const struct netseg_k8s_cidr *a, const struct netseg_k8s_cidr *b)
{
	struct netseg_k8s_addr x = { .family = a->family };

	memcpy(x.addr, a->addr, sizeof(x.addr));
	return a->plen >= b->plen && netseg_k8s_addr_in(&x, b);
}

static bool cidr_same(const struct netseg_k8s_cidr *a, const struct netseg_k8s_cidr *b)
{
	return a->family == b->family && a->plen == b->plen && cidr_in(a, b);
}

static void cidr_text(const struct netseg_k8s_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->plen);
}

/* ---------------------------------------------------------------- blocks */

static bool block_same(const struct netseg_k8s_peer *a, const struct netseg_k8s_peer *b)
{
	size_t i;

	if (!cidr_same(&a->cidr, &b->cidr) || a->nexcept != b->nexcept)
		return false;
	for (i = 0; i < a->nexcept; i++)
		if (!cidr_same(&a->except[i], &b->except[i]))
			return false;
	return true;
}

/* An address is in an ipBlock when it is in its cidr and in no except. */
static bool addr_in_block(const struct netseg_k8s_addr *a, const struct netseg_k8s_peer *b)
{
	size_t i;

	if (!netseg_k8s_addr_in(a, &b->cidr))
		return false;
	for (i = 0; i < b->nexcept; i++)
		if (netseg_k8s_addr_in(a, &b->except[i]))
			return false;
	return true;
}

/*
 * Every ipBlock prefix is an ipcache prefix of its own, so a prefix the
 * party owns lies wholly inside or wholly outside the block: inside the
 * cidr and in no except.  A party with several addresses (a dual-stack
 * pod, a native identity of several CIDRs) matches when all of its
 * addresses of the block's family do: an identity carries no address
 * family, so the grant reaches its other family too (docs/kubernetes.md).
 */
static bool block_matches(const struct party *p, const struct netseg_k8s_peer *b)
{
	bool any = false;
	size_t i, j;

	for (i = 0; i < p->naddrs; i++) {
		if (p->addrs[i].family != b->cidr.family)
			continue;
		if (!addr_in_block(&p->addrs[i], b))
			return false;
		any = true;
	}
	for (i = 0; i < p->ncidrs; i++) {
		if (p->cidrs[i].family != b->cidr.family)
			continue;
		if (!cidr_in(&p->cidrs[i], &b->cidr))
			return false;
		for (j = 0; j < b->nexcept; j++)
			if (cidr_in(&p->cidrs[i], &b->except[j]))
				return false;
		any = true;
	}
	return any;
}

static int block_add(struct ctx *c, const struct netseg_k8s_peer *peer)
{
	struct block *v;
	char buf[64], *t;
	size_t i, len;

	for (i = 0; i < c->nblocks; i++)
		if (block_same(c->blocks[i].peer, peer))
			return 0;
	v = realloc(c->blocks, (c->nblocks + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->blocks = v;
	len = 64 * (peer->nexcept + 1);
	t = malloc(len);
	if (!t)
		return -ENOMEM;
	cidr_text(&peer->cidr, t, len);
	for (i = 0; i < peer->nexcept; i++) {
		cidr_text(&peer->except[i], buf, sizeof(buf));
		strcat(strcat(t, "!"), buf);
	}
	v[c->nblocks].peer = peer;
	v[c->nblocks++].text = t;
	return 0;
}

static int rules_blocks(struct ctx *c, const struct netseg_k8s_rule *r, size_t n)
{
	size_t i, j;
	int ret;

	for (i = 0; i < n; i++)
		for (j = 0; j < r[i].npeers; j++)
			if (r[i].peers[j].has_ipblock) {
				ret = block_add(c, &r[i].peers[j]);
				if (ret)
					return ret;
			}
	return 0;
}

static int cmp_block(const void *a, const void *b)
{
	return strcmp(((const struct block *)a)->text, ((const struct block *)b)->text);
}

static int collect_blocks(struct ctx *c)
{
	const struct netseg_k8s_objects *o = c->in->objs;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && o && i < o->npolicies; i++) {
		ret = rules_blocks(c, o->policies[i].ingress, o->policies[i].ningress);
		if (!ret)
			ret = rules_blocks(c, o->policies[i].egress, o->policies[i].negress);
	}
	/* Sorted, so that an identity key doesn't depend on policy order. */
	if (!ret && c->nblocks)
		qsort(c->blocks, c->nblocks, sizeof(*c->blocks), cmp_block);
	return ret;
}

/* ------------------------------------------------------------ namespaces */

static const struct netseg_labels *ns_labels(struct ctx *c, const char *ns)
{
	size_t i;

	for (i = 0; i < c->nns; i++)
		if (!strcmp(c->ns[i].name, ns))
			return c->ns[i].labels;
	return NULL; /* not reached: every pod's namespace is listed */
}

static int ns_add(struct ctx *c, const char *name, const struct netseg_labels *l)
{
	struct nslabels *v;
	size_t i;
	int ret;

	for (i = 0; i < c->nns; i++)
		if (!strcmp(c->ns[i].name, name))
			return 0;
	v = realloc(c->ns, (c->nns + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->ns = v;
	v = &c->ns[c->nns];
	memset(v, 0, sizeof(*v));
	v->name = name;
	v->labels = l;
	netseg_labels_init(&v->own);
	if (!l) {
		/* A namespace nobody declared still carries its name label. */
		ret = netseg_labels_add(&v->own, NETSEG_K8S_NS_NAME_LABEL, name, NULL);
		if (ret) {
			netseg_labels_free(&v->own);
			return ret;
		}
	}
	c->nns++;
	return 0;
}

static int collect_ns(struct ctx *c)
{
	const struct netseg_k8s_objects *o = c->in->objs;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && o && i < o->nnamespaces; i++)
		ret = ns_add(c, o->namespaces[i].name, &o->namespaces[i].labels);
	for (i = 0; !ret && i < c->in->neps; i++)
		ret = ns_add(c, c->in->eps[i].ns, NULL);
	/* Pointers into c->ns are stable only once it stops growing. */
	for (i = 0; i < c->nns; i++)
		if (!c->ns[i].labels)
			c->ns[i].labels = &c->ns[i].own;
	return ret;
}

/* --------------------------------------------------------------- parties */

static struct party *party_new(struct ctx *c)
{
	struct party *v = realloc(c->parties, (c->nparties + 1) * sizeof(*v));

	if (!v)
		return NULL;
	c->parties = v;
	v = &v[c->nparties++];
	memset(v, 0, sizeof(*v));
	return v;
}

static bool selects(const struct netseg_k8s_policy *p, const struct netseg_k8s_endpoint *ep,
		    unsigned int dir)
{
	return (p->types & dir) && !strcmp(p->ns, ep->ns) &&
	       netseg_labels_match(&p->pod_sel, ep->labels);
}

static bool isolated(const struct ctx *c, const struct netseg_k8s_endpoint *ep, unsigned int dir)
{
	const struct netseg_k8s_objects *o = c->in->objs;
	size_t i;

	for (i = 0; o && i < o->npolicies; i++)
		if (selects(&o->policies[i], ep, dir))
			return true;
	return false;
}

/* "pod:NS:LABELS", plus the ipBlocks this endpoint's addresses are in. */
static int pod_key(struct ctx *c, const struct netseg_k8s_endpoint *ep, char **out)
{
	struct party tmp = { .kind = P_POD, .addrs = ep->addrs, .naddrs = ep->naddrs };
	bool first = true;
	size_t len, i;
	char *labels, *k;
	int ret;

	ret = netseg_labels_format(ep->labels, &labels);
	if (ret)
		return ret;
	len = strlen(ep->ns) + strlen(labels) + 32;
	for (i = 0; i < c->nblocks; i++)
		len += strlen(c->blocks[i].text) + 1;
	k = malloc(len);
	if (!k) {
		free(labels);
		return -ENOMEM;
	}
	snprintf(k, len, "pod:%s:%s", ep->ns, labels);
	free(labels);
	for (i = 0; i < c->nblocks; i++) {
		if (!block_matches(&tmp, c->blocks[i].peer))
			continue;
		strcat(k, first ? ":ipblocks=" : ",");
		strcat(k, c->blocks[i].text);
		first = false;
	}
	*out = k;
	return 0;
}

static int alloc_id(struct ctx *c, const char *key, __u32 *id)
{
	int ret = c->in->alloc(key, id, c->in->alloc_ctx);

	if (ret) {
		netseg_err_set(c->err, 0, "couldn't allocate an identity for %s: %s", key,
			       strerror(-ret));
		return ret;
	}
	if (*id < NETSEG_ID_USER_MIN)
		return netseg_err_set(c->err, 0, "identity %u for %s is a reserved id", *id, key);
	return 0;
}

static int out_id(struct ctx *c, __u32 id, __u32 flags)
{
	struct netseg_k8s_id *v = realloc(c->out->ids, (c->out->nids + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->out->ids = v;
	v[c->out->nids].id = id;
	v[c->out->nids++].flags = flags;
	return 0;
}

static int pod_parties(struct ctx *c)
{
	const struct netseg_k8s_input *in = c->in;
	struct party *p;
	size_t i, j;
	char *key;
	int ret;

	for (i = 0; i < in->neps; i++) {
		ret = pod_key(c, &in->eps[i], &key);
		if (ret)
			return ret;
		for (j = 0; j < c->nparties; j++)
			if (c->parties[j].kind == P_POD && !strcmp(c->parties[j].key, key))
				break;
		if (j < c->nparties) {
			free(key);
			c->out->ep_ids[i] = c->parties[j].id;
			continue;
		}
		p = party_new(c);
		if (!p) {
			free(key);
			return -ENOMEM;
		}
		p->kind = P_POD;
		p->key = key;
		p->ep = &in->eps[i];
		p->addrs = p->ep->addrs;
		p->naddrs = p->ep->naddrs;
		p->flags = NETSEG_IDF_ENDPOINT;
		p->iso_in = isolated(c, p->ep, NETSEG_K8S_INGRESS);
		p->iso_out = isolated(c, p->ep, NETSEG_K8S_EGRESS);
		ret = alloc_id(c, key, &p->id);
		if (!ret)
			ret = out_id(c, p->id, p->flags);
		if (ret)
			return ret;
		c->out->ep_ids[i] = p->id;
	}
	return 0;
}

/* Is @x already some party's own prefix or address?  Then it needs no cut. */
static bool prefix_taken(const struct ctx *c, const struct netseg_k8s_cidr *x)
{
	const struct netseg_k8s_input *in = c->in;
	int full = x->family == AF_INET ? 32 : 128;
	size_t i, j;

	for (i = 0; i < in->nnatives; i++)
		for (j = 0; j < in->natives[i].ncidrs; j++)
			if (cidr_same(&in->natives[i].cidrs[j], x))
				return true;
	for (i = 0; i < c->out->nprefixes; i++)
		if (cidr_same(&c->out->prefixes[i].cidr, x))
			return true;
	if (x->plen != full)
		return false;
	for (i = 0; i < in->nhost; i++)
		if (netseg_k8s_addr_in(&in->host_addrs[i], x))
			return true;
	for (i = 0; i < in->neps; i++)
		for (j = 0; j < in->eps[i].naddrs; j++)
			if (netseg_k8s_addr_in(&in->eps[i].addrs[j], x))
				return true;
	return false;
}

/* The native identity whose prefix @x is cut from: the longest strictly
 * containing one, else world. */
static void cut_parent(const struct ctx *c, const struct netseg_k8s_cidr *x, __u32 *id,
		       __u32 *flags)
{
	const struct netseg_k8s_input *in = c->in;
	int best = -1;
	size_t i, j;

	*id = NETSEG_ID_WORLD;
	*flags = 0;
	for (i = 0; i < in->nnatives; i++)
		for (j = 0; j < in->natives[i].ncidrs; j++) {
			const struct netseg_k8s_cidr *n = &in->natives[i].cidrs[j];

			if (n->plen < x->plen && cidr_in(x, n) && n->plen > best) {
				best = n->plen;
				*id = in->natives[i].id;
				*flags = in->natives[i].flags;
			}
		}
}

static int cut_one(struct ctx *c, const struct netseg_k8s_cidr *x)
{
	struct netseg_k8s_prefix *v;
	char key[80];
	__u32 flags;
	int ret;

	if (prefix_taken(c, x))
		return 0;
	v = realloc(c->out->prefixes, (c->out->nprefixes + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->out->prefixes = v;
	v = &v[c->out->nprefixes];
	memset(v, 0, sizeof(*v));
	v->cidr = *x;
	cut_parent(c, x, &v->parent, &flags);
	strcpy(key, "cidr:");
	cidr_text(x, key + 5, sizeof(key) - 5);
	ret = alloc_id(c, key, &v->id);
	if (!ret)
		ret = out_id(c, v->id, flags);
	if (!ret)
		c->out->nprefixes++;
	return ret;
}

static int cut_parties(struct ctx *c)
{
	struct party *p;
	size_t i, j;
	int ret;

	for (i = 0; i < c->nblocks; i++) {
		ret = cut_one(c, &c->blocks[i].peer->cidr);
		for (j = 0; !ret && j < c->blocks[i].peer->nexcept; j++)
			ret = cut_one(c, &c->blocks[i].peer->except[j]);
		if (ret)
			return ret;
	}
	for (i = 0; i < c->out->nprefixes; i++) {
		p = party_new(c);
		if (!p)
			return -ENOMEM;
		p->kind = P_CUT;
		p->id = c->out->prefixes[i].id;
		p->flags = c->out->ids[c->out->nids - c->out->nprefixes + i].flags;
		p->cidrs = &c->out->prefixes[i].cidr;
		p->ncidrs = 1;
	}
	return 0;
}

static int other_parties(struct ctx *c)
{
	const struct netseg_k8s_input *in = c->in;
	struct party *p;
	size_t i;

	p = party_new(c);
	if (!p)
		return -ENOMEM;
	p->kind = P_HOST;
	p->id = NETSEG_ID_HOST;
	p->addrs = in->host_addrs;
	p->naddrs = in->nhost;
	p = party_new(c);
	if (!p)
		return -ENOMEM;
	p->kind = P_WORLD;
	p->id = NETSEG_ID_WORLD;
	for (i = 0; i < in->nnatives; i++) {
		p = party_new(c);
		if (!p)
			return -ENOMEM;
		p->kind = P_NATIVE;
		p->id = in->natives[i].id;
		p->flags = in->natives[i].flags;
		p->cidrs = in->natives[i].cidrs;
		p->ncidrs = in->natives[i].ncidrs;
	}
	return 0;
}

/* ------------------------------------------------------------- port sets */

#define NPROTO 3
static const __u8 protos[NPROTO] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };

/* Which (protocol, port)s one side allows. */
struct pset {
	bool all;	    /* every protocol, every port */
	bool whole[NPROTO]; /* every port of that protocol */
	struct netseg_port_range *r[NPROTO];
	size_t n[NPROTO], cap[NPROTO];
	const char *by; /* what granted it first, for comments */
};

static void pset_reset(struct pset *s)
{
	int i;

	s->all = false;
	s->by = NULL;
	for (i = 0; i < NPROTO; i++) {
		s->whole[i] = false;
		s->n[i] = 0;
	}
}

static void pset_free(struct pset *s)
{
	int i;

	for (i = 0; i < NPROTO; i++)
		free(s->r[i]);
	memset(s, 0, sizeof(*s));
}

static int pset_push(struct pset *s, int pi, __u16 lo, __u16 hi)
{
	if (s->n[pi] == s->cap[pi]) {
		size_t cap = s->cap[pi] ? 2 * s->cap[pi] : 8;
		struct netseg_port_range *v = realloc(s->r[pi], cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->r[pi] = v;
		s->cap[pi] = cap;
	}
	s->r[pi][s->n[pi]].lo = lo;
	s->r[pi][s->n[pi]++].hi = hi;
	return 0;
}

static bool pset_empty(const struct pset *s)
{
	int i;

	if (s->all)
		return false;
	for (i = 0; i < NPROTO; i++)
		if (s->whole[i] || s->n[i])
			return false;
	return true;
}

static int proto_index(__u8 proto)
{
	int i;

	for (i = 0; i < NPROTO; i++)
		if (protos[i] == proto)
			return i;
	return -1;
}

/* Union in the ports of one NetworkPolicy rule (none = all of them). */
static int pset_add_rule(struct pset *s, const struct netseg_k8s_rule *r)
{
	size_t i;
	int pi, ret;

	if (!r->nports) {
		s->all = true;
		return 0;
	}
	for (i = 0; i < r->nports; i++) {
		const struct netseg_k8s_port *p = &r->ports[i];

		pi = proto_index(p->proto);
		if (pi < 0)
			return -EINVAL; /* the importer admits only these three */
		if (!p->port) {
			s->whole[pi] = true;
			continue;
		}
		ret = pset_push(s, pi, p->port, p->end_port ? p->end_port : p->port);
		if (ret)
			return ret;
	}
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct netseg_port_range *x = a, *y = b;

	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) : (x->hi < y->hi ? -1 : x->hi > y->hi);
}

/* Sorted, overlapping and adjacent ranges merged: the form rules need. */
static void pset_normalise(struct pset *s, int pi)
{
	size_t i, n = 0;

	if (!s->n[pi])
		return;
	qsort(s->r[pi], s->n[pi], sizeof(*s->r[pi]), cmp_range);
	for (i = 1; i < s->n[pi]; i++) {
		if ((__u32)s->r[pi][i].lo <= (__u32)s->r[pi][n].hi + 1) {
			if (s->r[pi][i].hi > s->r[pi][n].hi)
				s->r[pi][n].hi = s->r[pi][i].hi;
		} else {
			s->r[pi][++n] = s->r[pi][i];
		}
	}
	s->n[pi] = n + 1;
}

static int pset_copy_proto(struct pset *d, const struct pset *s, int pi)
{
	size_t i;
	int ret;

	d->whole[pi] = s->whole[pi] || s->all;
	for (i = 0; !d->whole[pi] && i < s->n[pi]; i++) {
		ret = pset_push(d, pi, s->r[pi][i].lo, s->r[pi][i].hi);
		if (ret)
			return ret;
	}
	return 0;
}

/* @d = @a ∩ @b, both normalised. */
static int pset_intersect(struct pset *d, const struct pset *a, const struct pset *b)
{
	size_t i, j;
	int pi, ret = 0;

	pset_reset(d);
	if (a->all && b->all) {
		d->all = true;
		return 0;
	}
	for (pi = 0; !ret && pi < NPROTO; pi++) {
		if (a->all || a->whole[pi]) {
			ret = pset_copy_proto(d, b, pi);
			continue;
		}
		if (b->all || b->whole[pi]) {
			ret = pset_copy_proto(d, a, pi);
			continue;
		}
		for (i = 0, j = 0; !ret && i < a->n[pi] && j < b->n[pi];) {
			__u16 lo = a->r[pi][i].lo > b->r[pi][j].lo ? a->r[pi][i].lo :
								     b->r[pi][j].lo;
			__u16 hi = a->r[pi][i].hi < b->r[pi][j].hi ? a->r[pi][i].hi :
								     b->r[pi][j].hi;

			if (lo <= hi)
				ret = pset_push(d, pi, lo, hi);
			if (a->r[pi][i].hi < b->r[pi][j].hi)
				i++;
			else
				j++;
		}
	}
	return ret;
}

/* -------------------------------------------------------------- the sides */

static bool peer_matches(struct ctx *c, const struct netseg_k8s_policy *pol,
			 const struct netseg_k8s_peer *peer, const struct party *x)
{
	if (peer->has_ipblock)
		return block_matches(x, peer);
	if (x->kind != P_POD) /* selectors only ever match pods */
		return false;
	if (!peer->has_ns_sel && strcmp(x->ep->ns, pol->ns))
		return false;
	if (peer->has_ns_sel && !netseg_labels_match(&peer->ns_sel, ns_labels(c, x->ep->ns)))
		return false;
	return !peer->has_pod_sel || netseg_labels_match(&peer->pod_sel, x->ep->labels);
}

static bool rule_matches(struct ctx *c, const struct netseg_k8s_policy *pol,
			 const struct netseg_k8s_rule *r, const struct party *x)
{
	size_t i;

	if (!r->npeers)
		return true;
	for (i = 0; i < r->npeers; i++)
		if (peer_matches(c, pol, &r->peers[i], x))
			return true;
	return false;
}

/*
 * What @self's side allows toward @other in direction @dir: everything
 * when @self is no pod or isn't isolated that way, else the union of the
 * matching rules of every policy selecting it for @dir.
 */
static int side(struct ctx *c, const struct party *self, const struct party *other,
		unsigned int dir, struct pset *s)
{
	const struct netseg_k8s_objects *o = c->in->objs;
	size_t i, j, n;
	int pi, ret;

	pset_reset(s);
	if (self->kind != P_POD) {
		s->all = true;
		s->by = "unenforced";
		return 0;
	}
	if (!(dir == NETSEG_K8S_INGRESS ? self->iso_in : self->iso_out)) {
		s->all = true;
		s->by = "not isolated";
		return 0;
	}
	/* Kubelet probes: the node itself reaches every pod. */
	if (dir == NETSEG_K8S_INGRESS && other->kind == P_HOST && c->in->host_to_pods) {
		s->all = true;
		s->by = "host_to_pods";
		return 0;
	}
	for (i = 0; i < o->npolicies; i++) {
		const struct netseg_k8s_policy *pol = &o->policies[i];
		const struct netseg_k8s_rule *r = dir == NETSEG_K8S_INGRESS ? pol->ingress :
									      pol->egress;

		n = dir == NETSEG_K8S_INGRESS ? pol->ningress : pol->negress;
		if (!selects(pol, self->ep, dir))
			continue;
		for (j = 0; j < n; j++) {
			if (!rule_matches(c, pol, &r[j], other))
				continue;
			ret = pset_add_rule(s, &r[j]);
			if (ret)
				return ret;
			if (!s->by)
				s->by = pol->name; /* the first that grants, for trace */
		}
	}
	for (pi = 0; pi < NPROTO; pi++)
		pset_normalise(s, pi);
	return 0;
}

/* ------------------------------------------------------------ rule output */

static void sel_text(__u32 id, char out[NETSEG_SELECTOR_MAX])
{
	if (id == NETSEG_ID_ANY)
		strcpy(out, "*");
	else
		snprintf(out, NETSEG_SELECTOR_MAX, "#%u", id);
}

static int push_rule(struct ctx *c, struct netseg_rule *r)
{
	r->id = c->next_rule++;
	if (!c->next_rule) {
		netseg_err_set(c->err, 0,
			       "rule ids ran out compiling NetworkPolicies (first id %u)",
			       c->in->first_rule_id);
		return -ERANGE;
	}
	return netseg_ruleset_add(&c->out->rules, r);
}

static int emit_pair(struct ctx *c, const struct party *s, const struct party *d,
		     const struct pset *p, const char *why)
{
	struct netseg_rule r;
	size_t k, m;
	int pi, ret;

	netseg_rule_init(&r);
	sel_text(s->id, r.src);
	sel_text(d->id, r.dst);
	snprintf(r.comment, sizeof(r.comment), "%s", why);
	if (p->all)
		return push_rule(c, &r);
	for (pi = 0; pi < NPROTO; pi++) {
		r.proto = protos[pi];
		r.nports = 0;
		if (p->whole[pi]) {
			ret = push_rule(c, &r);
			if (ret)
				return ret;
			continue;
		}
		for (k = 0; k < p->n[pi]; k += m) {
			m = p->n[pi] - k < NETSEG_RULE_MAX_PORTS ? p->n[pi] - k :
								   NETSEG_RULE_MAX_PORTS;
			memcpy(r.ports, &p->r[pi][k], m * sizeof(r.ports[0]));
			r.nports = (unsigned int)m;
			ret = push_rule(c, &r);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Native endpoints (and prefixes cut from them) are decided by native
 * rules alone; pairs of non-pods aren't enforced by NetworkPolicy. */
static bool pair_needs_rules(const struct party *s, const struct party *d)
{
	if (s->kind != P_POD && d->kind != P_POD)
		return false;
	if (s->kind != P_POD && (s->flags & NETSEG_IDF_ENDPOINT))
		return false;
	return d->kind == P_POD || !(d->flags & NETSEG_IDF_ENDPOINT);
}

static int generate(struct ctx *c)
{
	struct pset eg = { 0 }, in = { 0 }, both = { 0 };
	char why[NETSEG_COMMENT_MAX];
	size_t i, j;
	int ret = 0;

	for (i = 0; !ret && i < c->nparties; i++) {
		for (j = 0; !ret && j < c->nparties; j++) {
			const struct party *s = &c->parties[i], *d = &c->parties[j];

			if (!pair_needs_rules(s, d))
				continue;
			ret = side(c, s, d, NETSEG_K8S_EGRESS, &eg);
			if (!ret && !pset_empty(&eg))
				ret = side(c, d, s, NETSEG_K8S_INGRESS, &in);
			if (ret || pset_empty(&eg) || pset_empty(&in))
				continue;
			ret = pset_intersect(&both, &eg, &in);
			if (ret || pset_empty(&both))
				continue;
			snprintf(why, sizeof(why), "NetworkPolicy: egress %s, ingress %s", eg.by,
				 in.by);
			ret = emit_pair(c, s, d, &both, why);
		}
	}
	pset_free(&eg);
	pset_free(&in);
	pset_free(&both);
	return ret;
}

/* ---------------------------------------------------------- native rules */

/* Is pod party @p a member of native identity @n by its selector? */
static bool sel_member(const struct netseg_k8s_native *n, const struct party *p)
{
	if (!n->sel || p->kind != P_POD)
		return false;
	if (n->sel_ns && n->sel_ns[0] && strcmp(n->sel_ns, p->ep->ns))
		return false;
	return netseg_labels_match(n->sel, p->ep->labels);
}

/*
 * Everything identity @id stands for in the compiled rules: itself, the
 * prefixes cut from it, then (from index *@first_pod on) the pod identities its
 * selector matches.  @out has room for every prefix and party.
 */
static size_t children(const struct ctx *c, __u32 id, __u32 *out, size_t *first_pod)
{
	const struct netseg_k8s_native *nat = NULL;
	size_t i, n = 0;

	out[n++] = id;
	for (i = 0; id != NETSEG_ID_ANY && i < c->out->nprefixes; i++)
		if (c->out->prefixes[i].parent == id)
			out[n++] = c->out->prefixes[i].id;
	*first_pod = n;
	for (i = 0; id != NETSEG_ID_ANY && i < c->in->nnatives; i++)
		if (c->in->natives[i].id == id)
			nat = &c->in->natives[i];
	for (i = 0; nat && i < c->nparties; i++)
		if (sel_member(nat, &c->parties[i]))
			out[n++] = c->parties[i].id;
	return n;
}

/*
 * A native rule naming an identity some ipBlock prefix was cut from
 * (world, a CIDR identity) must still cover the addresses of the cut, and
 * one naming an identity with a label selector must cover the pods it
 * matches: one copy per combination, numbered like generated rules.
 */
static int native_copies(struct ctx *c, const struct netseg_rule *r, size_t idx)
{
	size_t ns, nd, sp, dp, i, j, max = c->out->nprefixes + c->nparties + 1;
	__u32 src, dst, *sv, *dv;
	struct netseg_rule copy;
	int ret = 0;

	if (netseg_selector_resolve(c->in->res, r->src, &src) ||
	    netseg_selector_resolve(c->in->res, r->dst, &dst)) {
		netseg_err_set(c->err, 0, "native rule %u names an unknown identity", r->id);
		if (c->err)
			c->err->rule = (long)idx;
		return -ENOENT;
	}
	sv = malloc(2 * max * sizeof(*sv));
	if (!sv)
		return -ENOMEM;
	dv = sv + max;
	ns = children(c, src, sv, &sp);
	nd = children(c, dst, dv, &dp);
	for (i = 0; !ret && i < ns; i++)
		for (j = 0; !ret && j < nd; j++) {
			if (!i && !j)
				continue;
			copy = *r;
			sel_text(sv[i], copy.src);
			sel_text(dv[j], copy.dst);
			snprintf(copy.comment, sizeof(copy.comment), "native rule %u, for %s",
				 r->id,
				 i >= sp || j >= dp ? "pods its identity's selector matches" :
						      "an ipBlock prefix");
			ret = push_rule(c, &copy);
		}
	free(sv);
	return ret;
}

static int native_rules(struct ctx *c)
{
	size_t i;
	int ret;

	for (i = 0; i < c->in->nrules; i++) {
		ret = netseg_ruleset_add(&c->out->rules, &c->in->rules[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < c->in->nrules; i++) {
		ret = native_copies(c, &c->in->rules[i], i);
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------------ API */

void netseg_k8s_compiled_free(struct netseg_k8s_compiled *c)
{
	netseg_ruleset_free(&c->rules);
	free(c->ep_ids);
	free(c->ids);
	free(c->prefixes);
	memset(c, 0, sizeof(*c));
}

static void ctx_free(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nblocks; i++)
		free(c->blocks[i].text);
	free(c->blocks);
	for (i = 0; i < c->nparties; i++)
		free(c->parties[i].key);
	free(c->parties);
	for (i = 0; i < c->nns; i++)
		netseg_labels_free(&c->ns[i].own);
	free(c->ns);
}

int netseg_k8s_compile(const struct netseg_k8s_input *in, struct netseg_k8s_compiled *out,
		       struct netseg_err *err)
{
	struct netseg_k8s_objects none = { 0 };
	struct netseg_k8s_input cin = *in;
	struct ctx c = { .in = &cin, .err = err, .out = out };
	int ret;

	if (!cin.objs)
		cin.objs = &none;
	memset(out, 0, sizeof(*out));
	if (err)
		err->rule = -1;
	c.next_rule = in->first_rule_id;
	if (!c.next_rule || !in->alloc)
		return netseg_err_set(
			err, 0, "NetworkPolicy compiler: no rule ids or identity allocator given");
	out->ep_ids = calloc(in->neps ? in->neps : 1, sizeof(*out->ep_ids));
	ret = out->ep_ids ? 0 : -ENOMEM;
	if (!ret)
		ret = collect_blocks(&c);
	if (!ret)
		ret = collect_ns(&c);
	if (!ret)
		ret = pod_parties(&c);
	if (!ret)
		ret = other_parties(&c);
	if (!ret)
		ret = cut_parties(&c);
	if (!ret)
		ret = native_rules(&c);
	if (!ret)
		ret = generate(&c);
	if (ret == -ENOMEM)
		netseg_err_set(err, 0, "out of memory compiling NetworkPolicies");
	if (ret)
		netseg_k8s_compiled_free(out);
	ctx_free(&c);
	return ret;
}

static int resolve_k8s(const char *sel, __u32 *id, void *ctx)
{
	const struct netseg_resolver *native = ctx;
	unsigned long v;
	char *end;

	if (sel[0] == '#') {
		v = strtoul(sel + 1, &end, 10);
		if (end == sel + 1 || *end || v > 0xffffffffUL)
			return -ENOENT;
		*id = (__u32)v;
		return 0;
	}
	return netseg_selector_resolve(native, sel, id);
}

void netseg_k8s_resolver(const struct netseg_resolver *native, struct netseg_resolver *out)
{
	memset(out, 0, sizeof(*out));
	out->resolve = resolve_k8s;
	out->ctx = (void *)native;
	if (native) {
		out->names = native->names;
		out->nnames = native->nnames;
	}
}
