// SPDX-License-Identifier: GPL-2.0-only
/* ipcache claims: a hash of prefixes, each with the sources claiming it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "iptable.h"

#define IPTABLE_MIN_BUCKETS 256

void netseg_iptable_init(struct netseg_iptable *t)
{
	memset(t, 0, sizeof(*t));
}

static void ent_free(struct netseg_ipent *e)
{
	free(e->src);
	free(e);
}

void netseg_iptable_free(struct netseg_iptable *t)
{
	for (size_t b = 0; b < t->nbuckets; b++) {
		struct netseg_ipent *e = t->bucket[b], *next;

		for (; e; e = next) {
			next = e->next;
			ent_free(e);
		}
	}
	free(t->bucket);
	memset(t, 0, sizeof(*t));
}

static size_t key_hash(const struct netseg_prefix *p)
{
	__u64 h = netseg_fnv1a64(NETSEG_FNV64_INIT, &p->family, 1);

	h = netseg_fnv1a64(h, &p->plen, 1);
	return netseg_fnv1a64(h, p->addr, netseg_prefix_max(p->family) / 8);
}

static bool key_eq(const struct netseg_prefix *a, const struct netseg_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static int grow(struct netseg_iptable *t)
{
	size_t nb = t->nbuckets ? t->nbuckets * 2 : IPTABLE_MIN_BUCKETS;
	/* An array of bucket heads (pointers): sizeof(pointer) is meant. */
	struct netseg_ipent **b = calloc(nb, sizeof(*b)); // NOLINT(bugprone-sizeof-expression)

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct netseg_ipent *e = t->bucket[i], *next;

		for (; e; e = next) {
			size_t h = key_hash(&e->pfx) & (nb - 1);

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(t->bucket);
	t->bucket = b;
	t->nbuckets = nb;
	return 0;
}

struct netseg_ipent *netseg_iptable_get(struct netseg_iptable *t, const struct netseg_prefix *p,
					bool create)
{
	struct netseg_prefix key;
	struct netseg_ipent *e;
	size_t h;

	/* Re-masked: a caller's prefix from netlink may carry host bits. */
	if (netseg_prefix_set(&key, p->family, p->addr, p->plen)) {
		errno = EINVAL;
		return NULL;
	}
	if (t->nbuckets) {
		h = key_hash(&key) & (t->nbuckets - 1);
		for (e = t->bucket[h]; e; e = e->next)
			if (key_eq(&e->pfx, &key))
				return e;
	}
	errno = ENOENT;
	if (!create)
		return NULL;
	if (t->n >= t->nbuckets && grow(t)) {
		errno = ENOMEM;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->pfx = key;
	h = key_hash(&key) & (t->nbuckets - 1);
	e->next = t->bucket[h];
	t->bucket[h] = e;
	t->n++;
	return e;
}

void netseg_iptable_release(struct netseg_iptable *t, struct netseg_ipent *e)
{
	struct netseg_ipent **pp;

	if (e->nsrc || e->in_map || !t->nbuckets)
		return;
	pp = &t->bucket[key_hash(&e->pfx) & (t->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			t->n--;
			ent_free(e);
			return;
		}
	}
}

void netseg_iptable_foreach(struct netseg_iptable *t, void (*fn)(struct netseg_ipent *e, void *ctx),
			    void *ctx)
{
	for (size_t b = 0; b < t->nbuckets; b++) {
		struct netseg_ipent *e = t->bucket[b], *next;

		for (; e; e = next) {
			next = e->next; /* fn may free e */
			fn(e, ctx);
		}
	}
}

static bool same_src(const struct netseg_ipsrc *a, const struct netseg_ipsrc *b)
{
	return a->kind == b->kind && a->tag == b->tag && a->id == b->id && a->ifindex == b->ifindex;
}

static struct netseg_ipsrc *find_src(const struct netseg_ipent *e, const struct netseg_ipsrc *s)
{
	for (unsigned int i = 0; i < e->nsrc; i++)
		if (same_src(&e->src[i], s))
			return &e->src[i];
	return NULL;
}

int netseg_ipent_claim(struct netseg_ipent *e, const struct netseg_ipsrc *s)
{
	struct netseg_ipsrc *have = find_src(e, s);

	if (have) {
		have->stale = false;
		return 0;
	}
	if (e->nsrc == e->cap) {
		unsigned int cap = e->cap ? e->cap * 2 : 2;
		struct netseg_ipsrc *v = realloc(e->src, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		e->src = v;
		e->cap = cap;
	}
	e->src[e->nsrc] = *s;
	e->src[e->nsrc].stale = false;
	e->src[e->nsrc++].seq = e->next_seq++;
	return 1;
}

bool netseg_ipent_unclaim(struct netseg_ipent *e, const struct netseg_ipsrc *s)
{
	struct netseg_ipsrc *have = find_src(e, s);

	if (!have)
		return false;
	*have = e->src[--e->nsrc];
	return true;
}

unsigned int netseg_ipent_unclaim_moved(struct netseg_ipent *e, const struct netseg_ipsrc *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < e->nsrc;) {
		const struct netseg_ipsrc *o = &e->src[i];

		if (o->kind == s->kind && o->tag == s->tag && o->id == s->id &&
		    o->ifindex != s->ifindex) {
			e->src[i] = e->src[--e->nsrc];
			n++;
		} else {
			i++;
		}
	}
	return n;
}

unsigned int netseg_ipent_drop(struct netseg_ipent *e, __u32 kinds, __u32 ifindex, bool stale_only)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < e->nsrc;) {
		const struct netseg_ipsrc *s = &e->src[i];

		if ((kinds & NETSEG_IPSRC_BIT(s->kind)) && (!ifindex || s->ifindex == ifindex) &&
		    (!stale_only || s->stale)) {
			e->src[i] = e->src[--e->nsrc];
			n++;
		} else {
			i++;
		}
	}
	return n;
}

void netseg_ipent_mark(struct netseg_ipent *e, __u32 kinds)
{
	for (unsigned int i = 0; i < e->nsrc; i++)
		if (kinds & NETSEG_IPSRC_BIT(e->src[i].kind))
			e->src[i].stale = true;
}

bool netseg_ipent_has_ifindex(const struct netseg_ipent *e, __u32 ifindex)
{
	for (unsigned int i = 0; i < e->nsrc; i++)
		if (e->src[i].ifindex == ifindex && e->src[i].kind != NETSEG_IPSRC_CIDR &&
		    e->src[i].kind != NETSEG_IPSRC_RPOD)
			return true;
	return false;
}

static bool learned(const struct netseg_ipsrc *s)
{
	return NETSEG_IPSRC_LEARNED & NETSEG_IPSRC_BIT(s->kind);
}

/* Does s hold the prefix in the map now? */
static bool holder(const struct netseg_ipent *e, const struct netseg_ipsrc *s)
{
	return e->in_map && learned(s) && e->val.ifindex == s->ifindex;
}

/* Is a better than b (both usable claims)? */
static bool better(const struct netseg_ipent *e, const struct netseg_ipsrc *a,
		   const struct netseg_ipsrc *b)
{
	if (a->kind != b->kind)
		return a->kind > b->kind;
	if (a->kind == NETSEG_IPSRC_CIDR)
		return a->id < b->id;
	if (a->ifindex != b->ifindex && holder(e, a) != holder(e, b))
		return holder(e, a);
	return a->seq < b->seq;
}

const struct netseg_ipsrc *netseg_ipent_rival(const struct netseg_ipent *e,
					      const struct netseg_ipsrc *s, netseg_ep_id_fn ep_id,
					      void *ctx)
{
	if (!learned(s) || !ep_id(ctx, s->ifindex))
		return NULL;
	for (unsigned int i = 0; i < e->nsrc; i++) {
		const struct netseg_ipsrc *o = &e->src[i];

		if (learned(o) && o->ifindex != s->ifindex && ep_id(ctx, o->ifindex))
			return o;
	}
	return NULL;
}

bool netseg_ipent_resolve(const struct netseg_ipent *e, netseg_ep_id_fn ep_id, void *ctx,
			  struct netseg_ipcache_val *out)
{
	const struct netseg_ipsrc *best = NULL;
	__u32 best_id = 0;

	for (unsigned int i = 0; i < e->nsrc; i++) {
		const struct netseg_ipsrc *s = &e->src[i];
		__u32 id;

		if (s->kind == NETSEG_IPSRC_HOST)
			id = NETSEG_ID_HOST;
		else if (s->kind == NETSEG_IPSRC_CIDR || s->kind == NETSEG_IPSRC_RPOD)
			id = s->id;
		else
			id = ep_id(ctx, s->ifindex);
		if (!id || (best && !better(e, s, best)))
			continue;
		best = s;
		best_id = id;
	}
	if (!best)
		return false;
	out->id = best_id;
	out->ifindex = learned(best) ? best->ifindex : 0;
	return true;
}

void netseg_ipent_format(const struct netseg_ipent *e, char *buf, size_t len)
{
	char *slash;

	netseg_prefix_format(&e->pfx, buf, len);
	slash = strrchr(buf, '/');
	if (slash && netseg_prefix_is_host(&e->pfx))
		*slash = '\0';
}

const struct netseg_ipent *netseg_iptable_lookup(struct netseg_iptable *t, int family,
						 const void *addr)
{
	const struct netseg_ipent *e;
	struct netseg_prefix p;

	for (int plen = netseg_prefix_max(family); plen >= 0; plen--) {
		if (netseg_prefix_set(&p, family, addr, plen))
			return NULL;
		e = netseg_iptable_get(t, &p, false);
		if (e && e->in_map)
			return e;
	}
	return NULL;
}
