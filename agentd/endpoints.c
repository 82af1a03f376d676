// SPDX-License-Identifier: GPL-2.0-only
/*
 * Endpoints (docs/architecture.md, "Identities").  An interface is an endpoint when an identity's
 * --iface glob matches its name or its alias is "netseg:NAME"; a cgroup is
 * one when an identity names its path.  rtnl.c tells us about interfaces,
 * routes, neighbours and addresses as they come and go; this file turns
 * that into the endpoint map, TC attachments and ipcache entries, and
 * takes each back exactly when its cause goes away.
 *
 * The ipcache is always a function of the claims in d->eps.ips (lib/iptable.h)
 * and the interfaces' identities: every change recomputes the prefixes it
 * touches and writes only what differs.  Anything that changes how an
 * address or interface resolves sets gen_dirty; the loop bumps the policy
 * generation once per batch so cached verdicts are decided again.
 */
#include <errno.h>
#include <fnmatch.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <cjson/cJSON.h>

#include "hook.h"
#include "log.h"
#include "netsegd.h"

int netsegd_endpoints_init(struct netsegd *d)
{
	/* An array of list heads (pointers): sizeof(pointer) is meant. */
	d->eps.links = calloc(NETSEGD_LINK_BUCKETS,
			      sizeof(*d->eps.links)); // NOLINT(bugprone-sizeof-expression)
	if (!d->eps.links)
		return -ENOMEM;
	netseg_iptable_init(&d->eps.ips);
	return 0;
}

void netsegd_endpoints_free(struct netsegd *d)
{
	for (size_t b = 0; d->eps.links && b < NETSEGD_LINK_BUCKETS; b++) {
		struct netsegd_link *l = d->eps.links[b], *next;

		for (; l; l = next) {
			next = l->next;
			free(l);
		}
	}
	free(d->eps.links);
	d->eps.links = NULL;
	free(d->eps.cgs);
	d->eps.cgs = NULL;
	netseg_iptable_free(&d->eps.ips);
}

void netsegd_flush_generation(struct netsegd *d)
{
	if (!d->eps.gen_dirty)
		return;
	if (!netseg_dp_bump_generation(d->dp, NULL))
		d->eps.gen_dirty = false;
}

/* ------------------------------------------------------------ link table */

static struct netsegd_link **link_slot(struct netsegd *d, __u32 ifindex)
{
	struct netsegd_link **pp = &d->eps.links[ifindex & (NETSEGD_LINK_BUCKETS - 1)];

	while (*pp && (*pp)->ifindex != ifindex)
		pp = &(*pp)->next;
	return pp;
}

static struct netsegd_link *link_find(const struct netsegd *d, __u32 ifindex)
{
	struct netsegd_link *l = d->eps.links[ifindex & (NETSEGD_LINK_BUCKETS - 1)];

	while (l && l->ifindex != ifindex)
		l = l->next;
	return l;
}

const struct netsegd_link *netsegd_link_get(const struct netsegd *d, __u32 ifindex)
{
	return d->eps.links ? link_find(d, ifindex) : NULL;
}

static void links_foreach(struct netsegd *d, void (*fn)(struct netsegd *, struct netsegd_link *))
{
	for (size_t b = 0; b < NETSEGD_LINK_BUCKETS; b++) {
		struct netsegd_link *l = d->eps.links[b], *next;

		for (; l; l = next) {
			next = l->next; /* fn may remove l */
			fn(d, l);
		}
	}
}

static bool is_uplink(const struct netsegd *d, const char *name);

const struct netsegd_link *netsegd_link_by_name(const struct netsegd *d, const char *name)
{
	for (size_t b = 0; b < NETSEGD_LINK_BUCKETS; b++)
		for (const struct netsegd_link *l = d->eps.links[b]; l; l = l->next)
			if (!strcmp(l->name, name))
				return l;
	return NULL;
}

bool netsegd_link_is_uplink(const struct netsegd *d, const struct netsegd_link *l)
{
	return (l->flags & IFF_LOOPBACK) || is_uplink(d, l->name);
}

__u32 netsegd_endpoint_id(const struct netsegd *d, __u32 ifindex)
{
	const struct netsegd_link *l = link_find(d, ifindex);

	return l ? l->id : 0;
}

static __u32 ep_id_of(void *ctx, __u32 ifindex)
{
	return netsegd_endpoint_id(ctx, ifindex);
}

/* ------------------------------------------------------------- ipcache */

static bool val_eq(const struct netseg_ipcache_val *a, const struct netseg_ipcache_val *b)
{
	return a->id == b->id && a->ifindex == b->ifindex;
}

/* Makes the map hold what the claims on e say, then forgets an entry that
 * nothing claims any more.  e may be freed. */
static int ip_apply(struct netsegd *d, struct netseg_ipent *e)
{
	struct netseg_ipcache_val want;
	char text[64];
	int err = 0;

	if (netseg_ipent_resolve(e, ep_id_of, d, &want)) {
		if (!e->in_map || !val_eq(&e->val, &want)) {
			err = netseg_dp_ipcache_set(d->dp, &e->pfx, want.id, want.ifindex);
			if (!err) {
				e->in_map = true;
				e->val = want;
				d->eps.gen_dirty = true;
				d->eps.stats.ip_writes++;
			} else {
				netseg_ipent_format(e, text, sizeof(text));
				pr_warn("couldn't map %s to identity %u: %s", text, want.id,
					strerror(-err));
			}
		}
	} else if (e->in_map) {
		err = netseg_dp_ipcache_del(d->dp, &e->pfx);
		if (err == -ENOENT)
			err = 0;
		if (!err) {
			e->in_map = false;
			d->eps.gen_dirty = true;
			d->eps.stats.ip_deletes++;
		} else {
			netseg_ipent_format(e, text, sizeof(text));
			pr_warn("couldn't remove %s from the ipcache: %s", text, strerror(-err));
		}
	}
	netseg_iptable_release(&d->eps.ips, e);
	return err;
}

static const char *ipsrc_what(__u8 kind)
{
	switch (kind) {
	case NETSEG_IPSRC_NEIGH:
		return "a neighbour entry";
	case NETSEG_IPSRC_PEER:
		return "a peer address";
	case NETSEG_IPSRC_ROUTE:
		return "a host route";
	case NETSEG_IPSRC_POD:
		return "a pod registration";
	default:
		return "a claim";
	}
}

static const char *link_name(const struct netsegd *d, __u32 ifindex)
{
	const struct netsegd_link *l = link_find(d, ifindex);

	return l ? l->name : "?";
}

/*
 * A new claim s for an address another endpoint claims too (rival): one of
 * them is wrong, a misconfiguration or a pod making the node believe it
 * owns someone else's address.  Said and counted, whoever kept it.
 */
static void ip_conflict(struct netsegd *d, const struct netseg_ipent *e,
			const struct netseg_ipsrc *s, const struct netseg_ipsrc *rival)
{
	__u32 owner = e->in_map ? e->val.ifindex : 0;
	char text[64];

	d->eps.stats.ip_conflicts++;
	netseg_ipent_format(e, text, sizeof(text));
	pr_warn("%s: %s on %s (ifindex %u) claims it, but %s on %s (ifindex %u) does too; "
		"%s (ifindex %u) keeps it",
		text, ipsrc_what(s->kind), link_name(d, s->ifindex), s->ifindex,
		ipsrc_what(rival->kind), link_name(d, rival->ifindex), rival->ifindex,
		owner ? link_name(d, owner) : "no endpoint", owner);
}

int netsegd_ip_update(struct netsegd *d, int family, const void *addr, int plen,
		      const struct netseg_ipsrc *s, enum netsegd_ip_op op)
{
	bool add = op == NETSEGD_IP_CLAIM || op == NETSEGD_IP_MOVE;
	const struct netseg_ipsrc *rival = NULL;
	struct netseg_ipsrc any;
	struct netseg_ipent *e;
	struct netseg_prefix p;
	int r;

	if (netseg_prefix_set(&p, family, addr, plen))
		return add ? -EINVAL : 0;
	e = netseg_iptable_get(&d->eps.ips, &p, add);
	if (!e)
		return add ? -errno : 0;
	if (op == NETSEGD_IP_MOVE)
		netseg_ipent_unclaim_moved(e, s);
	if (op == NETSEGD_IP_FORGET) {
		any = *s;
		any.ifindex = 0; /* no interface's: "other" than each */
		if (!netseg_ipent_unclaim_moved(e, &any))
			return 0;
	} else if (add) {
		r = netseg_ipent_claim(e, s);
		if (r < 0) {
			netseg_iptable_release(&d->eps.ips, e);
			return r;
		}
		/* Only a new claim: a dump restating it is no new conflict. */
		rival = r ? netseg_ipent_rival(e, s, ep_id_of, d) : NULL;
	} else if (!netseg_ipent_unclaim(e, s)) {
		return 0;
	}
	r = ip_apply(d, e); /* keeps e and its claims: s is one */
	if (rival)
		ip_conflict(d, e, s, rival);
	return r;
}

struct ip_filter {
	struct netsegd *d;
	__u32 kinds;   /* claims to drop (0 = none, only re-resolve) */
	__u32 ifindex; /* 0 = any */
	int family;    /* 0 = any */
	bool stale_only;
};

static void ip_filter_one(struct netseg_ipent *e, void *ctx)
{
	const struct ip_filter *f = ctx;

	if (f->family && e->pfx.family != f->family)
		return;
	if (f->kinds) {
		if (netseg_ipent_drop(e, f->kinds, f->ifindex, f->stale_only))
			ip_apply(f->d, e);
		return;
	}
	if (netseg_ipent_has_ifindex(e, f->ifindex))
		ip_apply(f->d, e);
}

/* The interface's identity changed: re-resolve what it claims. */
static void ip_refresh_ifindex(struct netsegd *d, __u32 ifindex)
{
	struct ip_filter f = { .d = d, .ifindex = ifindex };

	netseg_iptable_foreach(&d->eps.ips, ip_filter_one, &f);
}

static void ip_drop(struct netsegd *d, __u32 kinds, __u32 ifindex, int family)
{
	struct ip_filter f = { .d = d, .kinds = kinds, .ifindex = ifindex, .family = family };

	netseg_iptable_foreach(&d->eps.ips, ip_filter_one, &f);
}

/* ---------------------------------------------------------- identities */

static size_t links_with_id(const struct netsegd *d, __u32 id)
{
	size_t n = 0;

	for (size_t b = 0; b < NETSEGD_LINK_BUCKETS; b++)
		for (const struct netsegd_link *l = d->eps.links[b]; l; l = l->next)
			n += l->id == id;
	return n;
}

/*
 * netseg_id_flags() knows the selectors; here we also know which aliases
 * select an identity.  One made only of a name, or selected through an
 * alias right now, is an endpoint identity: default deny.
 */
__u32 netsegd_identity_flags(const struct netsegd *d, const struct netseg_iddef *def)
{
	__u32 f = netseg_id_flags(def);

	if (!def->cidr_only && (!def->ncidrs || links_with_id(d, def->id)))
		f |= NETSEG_IDF_ENDPOINT;
	return f;
}

static void identity_flags_refresh(struct netsegd *d, __u32 id)
{
	const struct netseg_iddef *def = id ? netseg_id_by_id(&d->pol.ids, id) : NULL;

	if (def && !netseg_dp_identity_set(d->dp, id, netsegd_identity_flags(d, def)))
		d->eps.gen_dirty = true;
}

static bool is_uplink(const struct netsegd *d, const char *name)
{
	for (unsigned int i = 0; i < d->cfg.nuplinks; i++)
		if (!strcmp(d->cfg.uplinks[i], name))
			return true;
	return false;
}

/* The identity selecting an interface: its alias first (it names exactly
 * this interface), then the globs in identity order. */
static const struct netseg_iddef *link_identity(const struct netsegd *d,
						const struct netsegd_link *l, bool *by_alias)
{
	const size_t plen = strlen(NETSEGD_ALIAS_PREFIX);
	const struct netseg_iddef *def;

	*by_alias = false;
	if ((l->flags & IFF_LOOPBACK) || is_uplink(d, l->name))
		return NULL;
	if (!strncmp(l->alias, NETSEGD_ALIAS_PREFIX, plen)) {
		def = netseg_id_by_name(&d->pol.ids, l->alias + plen);
		if (def && !def->cidr_only) {
			*by_alias = true;
			return def;
		}
	}
	for (size_t i = 0; i < d->pol.ids.n; i++) {
		def = &d->pol.ids.v[i];
		for (unsigned int g = 0; !def->cidr_only && g < def->nifaces; g++)
			if (!fnmatch(def->ifaces[g], l->name, 0))
				return def;
	}
	return NULL;
}

/* ------------------------------------------------- interface endpoints */

/* Also after a failed attach: the endpoint entry may be there without
 * l->id, so it always goes (a missing one is fine). */
static void link_detach(struct netsegd *d, struct netsegd_link *l)
{
	if (l->attached & NETSEGD_TC_INGRESS)
		netseg_dp_detach_tc(d->dp, l->ifindex, true);
	if (l->attached & NETSEGD_TC_EGRESS)
		netseg_dp_detach_tc(d->dp, l->ifindex, false);
	netseg_dp_endpoint_del(d->dp, l->ifindex);
	if (l->id)
		d->eps.stats.detaches++;
	l->attached = 0;
}

/* Endpoint entry first, so the programs never run on it without one. */
static int link_attach(struct netsegd *d, struct netsegd_link *l, __u32 id)
{
	int err = netseg_dp_endpoint_set(d->dp, l->ifindex, id);

	if (!err && !(l->attached & NETSEGD_TC_INGRESS)) {
		err = netseg_dp_attach_tc(d->dp, l->ifindex, true);
		l->attached |= err ? 0 : NETSEGD_TC_INGRESS;
	}
	if (!err && !(l->attached & NETSEGD_TC_EGRESS)) {
		err = netseg_dp_attach_tc(d->dp, l->ifindex, false);
		l->attached |= err ? 0 : NETSEGD_TC_EGRESS;
	}
	if (!err)
		d->eps.stats.attaches++;
	return err;
}

static void link_set_id(struct netsegd *d, struct netsegd_link *l, __u32 id)
{
	char buf[160];
	__u32 old = l->id;

	if (old == id)
		return;
	l->id = id;
	d->eps.gen_dirty = true;
	ip_refresh_ifindex(d, l->ifindex);
	identity_flags_refresh(d, old);
	identity_flags_refresh(d, id);
	if (id)
		pr_info("%s (ifindex %u): endpoint of identity %s (by %s)", l->name, l->ifindex,
			netsegd_id_name(d, id, buf, sizeof(buf)),
			netsegd_pod_by_ifindex(d, l->ifindex) ? "pod registration" :
			l->by_alias			      ? "alias" :
								"interface glob");
	else
		pr_info("%s (ifindex %u): no longer an endpoint", l->name, l->ifindex);
}

/* The NAME of an alias "netseg:NAME" that no identity has; NULL if none. */
static const char *alias_unknown_name(const struct netsegd *d, const struct netsegd_link *l)
{
	const size_t plen = strlen(NETSEGD_ALIAS_PREFIX);
	const struct netseg_iddef *def;

	if ((l->flags & IFF_LOOPBACK) || is_uplink(d, l->name) ||
	    strncmp(l->alias, NETSEGD_ALIAS_PREFIX, plen))
		return NULL;
	def = netseg_id_by_name(&d->pol.ids, l->alias + plen);
	return def && !def->cidr_only ? NULL : l->alias + plen;
}

/*
 * A mistyped alias leaves a pod unmanaged (its traffic is world): said
 * once per link and alias, not on every RTM_NEWLINK, and shown in
 * `endpoint list` and `stats` for as long as it lasts.
 */
static void link_alias_check(struct netsegd *d, struct netsegd_link *l)
{
	const char *name = alias_unknown_name(d, l);

	if (name && !l->alias_unknown)
		pr_warn("%s (ifindex %u): alias \"%s\" names unknown identity \"%s\"; it is not an endpoint (its traffic is world) until that identity exists",
			l->name, l->ifindex, l->alias, name);
	l->alias_unknown = name != NULL;
}

size_t netsegd_alias_unknown_count(const struct netsegd *d)
{
	size_t n = 0;

	for (size_t b = 0; b < NETSEGD_LINK_BUCKETS; b++)
		for (const struct netsegd_link *l = d->eps.links[b]; l; l = l->next)
			n += l->alias_unknown;
	return n;
}

static void link_eval(struct netsegd *d, struct netsegd_link *l)
{
	const struct netsegd_pod *pod = netsegd_pod_by_ifindex(d, l->ifindex);
	const struct netseg_iddef *def = pod ? NULL : link_identity(d, l, &l->by_alias);
	__u32 want = pod ? pod->id : def ? def->id : 0;
	char now[IF_NAMESIZE], idname[80];
	int err;

	link_alias_check(d, l);
	if (want == l->id && !l->retry)
		return;
	l->retry = false;
	netsegd_id_name(d, want, idname, sizeof(idname));
	if (!want) {
		link_detach(d, l);
	} else if (!l->id && !if_indextoname(l->ifindex, now)) {
		/* Behind on events: it is gone already and its RTM_DELLINK is
		 * queued.  Attaching would only fail. */
		want = 0;
		pr_warn("%s (ifindex %u) vanished before it could become an endpoint of %s; "
			"skipped",
			l->name, l->ifindex, idname);
	} else if ((err = link_attach(d, l, want))) {
		/* Gone already (its RTM_DELLINK is on the way) or refused:
		 * leave no half-made endpoint behind. */
		link_detach(d, l);
		want = 0;
		l->retry = err != -ENODEV && err != -ENXIO;
		if (l->retry)
			pr_warn("couldn't make %s an endpoint of %s: %s; retrying", l->name, idname,
				strerror(-err));
		else
			pr_warn("%s (ifindex %u) vanished while becoming an endpoint of %s; "
				"its half-made attachment was removed",
				l->name, l->ifindex, idname);
	}
	link_set_id(d, l, want);
}

static void link_eval_cb(struct netsegd *d, struct netsegd_link *l)
{
	link_eval(d, l);
}

/* IPv4 drops routes through an interface that goes down without telling
 * anyone (IPv6 sends RTM_DELROUTE): forget them as the kernel does. */
static void link_went_down(struct netsegd *d, struct netsegd_link *l)
{
	ip_drop(d, NETSEG_IPSRC_BIT(NETSEG_IPSRC_ROUTE), l->ifindex, NETSEG_AF_INET);
}

void netsegd_link_update(struct netsegd *d, const struct netsegd_link_info *li)
{
	struct netsegd_link **pp = link_slot(d, li->ifindex), *l = *pp;
	bool was_up;

	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l) {
			pr_err("out of memory tracking interface %s", li->name);
			return;
		}
		l->ifindex = li->ifindex;
		*pp = l;
		d->eps.nlinks++;
	}
	was_up = l->flags & IFF_UP;
	l->flags = li->flags;
	l->stale = false;
	snprintf(l->name, sizeof(l->name), "%s", li->name);
	if (strcmp(l->alias, li->alias))
		l->alias_unknown = false; /* a new alias: a new warning */
	snprintf(l->alias, sizeof(l->alias), "%s", li->alias);
	if (was_up && !(l->flags & IFF_UP))
		link_went_down(d, l);
	link_eval(d, l);
}

void netsegd_link_gone(struct netsegd *d, __u32 ifindex)
{
	struct netsegd_link **pp = link_slot(d, ifindex), *l = *pp;

	/* The kernel drops its routes, neighbours and addresses with it, not
	 * all with a notification: forget every claim made through it. */
	ip_drop(d, ~(NETSEG_IPSRC_BIT(NETSEG_IPSRC_CIDR) | NETSEG_IPSRC_BIT(NETSEG_IPSRC_RPOD)),
		ifindex, 0);
	netsegd_k8s_link_gone(d, ifindex);
	if (!l)
		return;
	link_detach(d, l);
	link_set_id(d, l, 0);
	*pp = l->next;
	d->eps.nlinks--;
	free(l);
}

/* ---------------------------------------------------- cgroup endpoints */

static struct netsegd_cgroup *cg_find(struct netsegd *d, const char *path)
{
	for (size_t i = 0; i < d->eps.ncgs; i++)
		if (!strcmp(d->eps.cgs[i].path, path))
			return &d->eps.cgs[i];
	return NULL;
}

static void cg_detach(struct netsegd *d, struct netsegd_cgroup *c)
{
	if (!c->attached)
		return;
	netseg_dp_detach_cgroup(d->dp, c->cgid);
	netseg_dp_cgroup_del(d->dp, c->cgid);
	c->attached = false;
	d->eps.gen_dirty = true;
	d->eps.stats.cg_detaches++;
}

static void cg_attach(struct netsegd *d, struct netsegd_cgroup *c, __u64 cgid)
{
	__u64 got;
	int err = netseg_dp_cgroup_set(d->dp, cgid, c->id);

	err = err ?: netseg_dp_attach_cgroup(d->dp, c->path, &got);
	if (err) {
		if (!c->warned)
			pr_warn("couldn't make cgroup %s an endpoint: %s; retrying every second",
				c->path, strerror(-err));
		c->warned = true;
		netseg_dp_detach_cgroup(d->dp, cgid);
		netseg_dp_cgroup_del(d->dp, cgid);
		return;
	}
	c->cgid = cgid;
	c->attached = true;
	c->warned = false;
	d->eps.gen_dirty = true;
	d->eps.stats.cg_attaches++;
	pr_info("cgroup %s (id %llu): endpoint of identity %u", c->path, (unsigned long long)cgid,
		c->id);
}

/* A cgroup that appeared, went, or was made again (a new id) since we last
 * looked: this runs on every identity change and on the 1 s timer. */
static void cg_refresh(struct netsegd *d, struct netsegd_cgroup *c)
{
	__u64 cgid = 0;

	if (netseg_cgroup_id(c->path, &cgid))
		cgid = 0;
	if (c->attached && c->cgid == cgid)
		return;
	cg_detach(d, c);
	if (cgid) {
		cg_attach(d, c, cgid);
	} else if (!c->warned) {
		pr_warn("cgroup %s doesn't exist (yet); it becomes an endpoint when it appears",
			c->path);
		c->warned = true;
	}
}

static bool cg_selected(const struct netsegd *d, const struct netsegd_cgroup *c)
{
	const struct netseg_iddef *def = netseg_id_by_id(&d->pol.ids, c->id);

	for (unsigned int i = 0; def && i < def->ncgroups; i++)
		if (!strcmp(def->cgroups[i], c->path))
			return true;
	return false;
}

static int cg_add(struct netsegd *d, const char *path, __u32 id)
{
	struct netsegd_cgroup *c = cg_find(d, path), *v;

	if (c) {
		if (c->id != id && c->attached && !netseg_dp_cgroup_set(d->dp, c->cgid, id))
			d->eps.gen_dirty = true;
		c->id = id;
		return 0;
	}
	v = realloc(d->eps.cgs, (d->eps.ncgs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	d->eps.cgs = v;
	c = &d->eps.cgs[d->eps.ncgs++];
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->id = id;
	return 0;
}

static int cgroups_sync(struct netsegd *d)
{
	int err = 0;

	for (size_t i = 0; i < d->eps.ncgs;) {
		if (cg_selected(d, &d->eps.cgs[i])) {
			i++;
			continue;
		}
		cg_detach(d, &d->eps.cgs[i]);
		d->eps.cgs[i] = d->eps.cgs[--d->eps.ncgs];
	}
	for (size_t i = 0; !err && i < d->pol.ids.n; i++)
		for (unsigned int c = 0; !err && c < d->pol.ids.v[i].ncgroups; c++)
			err = cg_add(d, d->pol.ids.v[i].cgroups[c], d->pol.ids.v[i].id);
	for (size_t i = 0; i < d->eps.ncgs; i++)
		cg_refresh(d, &d->eps.cgs[i]);
	return err;
}

int netsegd_sync_endpoints(struct netsegd *d)
{
	links_foreach(d, link_eval_cb);
	return cgroups_sync(d);
}

static void link_retry_cb(struct netsegd *d, struct netsegd_link *l)
{
	if (l->retry)
		link_eval(d, l);
}

void netsegd_endpoints_tick(struct netsegd *d)
{
	links_foreach(d, link_retry_cb);
	for (size_t i = 0; i < d->eps.ncgs; i++)
		cg_refresh(d, &d->eps.cgs[i]);
}

size_t netsegd_endpoint_count(const struct netsegd *d)
{
	size_t n = 0;

	for (size_t b = 0; b < NETSEGD_LINK_BUCKETS; b++)
		for (const struct netsegd_link *l = d->eps.links[b]; l; l = l->next)
			n += l->id != 0;
	for (size_t i = 0; i < d->eps.ncgs; i++)
		n += d->eps.cgs[i].attached;
	return n;
}

/* -------------------------------------------------------------- resync */

static void ip_mark_one(struct netseg_ipent *e, void *ctx)
{
	netseg_ipent_mark(e, *(__u32 *)ctx);
}

static void link_mark_cb(struct netsegd *d, struct netsegd_link *l)
{
	l->stale = true;
}

static void link_sweep_cb(struct netsegd *d, struct netsegd_link *l)
{
	if (l->stale)
		netsegd_link_gone(d, l->ifindex);
}

void netsegd_resync_mark(struct netsegd *d, __u32 kinds, bool links)
{
	if (links)
		links_foreach(d, link_mark_cb);
	if (kinds)
		netseg_iptable_foreach(&d->eps.ips, ip_mark_one, &kinds);
}

void netsegd_resync_sweep(struct netsegd *d, __u32 kinds, bool links)
{
	struct ip_filter f = { .d = d, .kinds = kinds, .stale_only = true };

	if (links)
		links_foreach(d, link_sweep_cb);
	if (kinds)
		netseg_iptable_foreach(&d->eps.ips, ip_filter_one, &f);
}

/* Keys of a map, collected first: deleting under get_next_key restarts it. */
static void *map_keys(int fd, size_t ksize, size_t *n)
{
	size_t cap = 256;
	char *keys = malloc(cap * ksize), *prev = NULL;

	*n = 0;
	while (keys) {
		if (*n == cap) {
			char *k = realloc(keys, cap * 2 * ksize);

			if (!k)
				break;
			keys = k;
			cap *= 2;
		}
		if (bpf_map_get_next_key(fd, prev, keys + *n * ksize))
			break;
		prev = keys + (*n)++ * ksize;
	}
	return keys;
}

static void reconcile_ipcache(struct netsegd *d)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_IPCACHE);
	struct netseg_lpm_key *k;
	size_t n, gone = 0;

	k = map_keys(fd, sizeof(*k), &n);
	for (size_t i = 0; k && i < n; i++) {
		struct netseg_prefix p;
		bool valid = !netseg_prefix_from_lpm(&p, &k[i]);
		const struct netseg_ipent *e = valid ? netseg_iptable_get(&d->eps.ips, &p, false) :
						       NULL;

		if (e && e->in_map)
			continue;
		/* Through the datapath API: it drops the host hash's copy too.  A
		 * key that holds no prefix can only be in the trie. */
		if (valid ? !netseg_dp_ipcache_del(d->dp, &p) : !bpf_map_delete_elem(fd, &k[i]))
			gone++;
	}
	free(k);
	if (gone) {
		pr_info("removed %zu ipcache entries nothing claims any more", gone);
		d->eps.gen_dirty = true;
	}
}

static void reconcile_endpoints(struct netsegd *d)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_ENDPOINTS);
	size_t n, gone = 0;
	__u32 *k = map_keys(fd, sizeof(*k), &n);

	for (size_t i = 0; k && i < n; i++) {
		const struct netsegd_link *l = link_find(d, k[i]);

		/* An attached uplink's entry (no endpoint) stays with it. */
		if (l && (l->id || is_uplink(d, l->name)))
			continue;
		netseg_dp_detach_tc(d->dp, k[i], true);
		netseg_dp_detach_tc(d->dp, k[i], false);
		netseg_dp_endpoint_del(d->dp, k[i]);
		gone++;
	}
	free(k);
	if (gone) {
		pr_info("removed %zu endpoint interfaces that are gone or no longer selected",
			gone);
		d->eps.gen_dirty = true;
	}
}

static void reconcile_cgroups(struct netsegd *d)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_CGROUPS);
	size_t n, gone = 0;
	__u64 *k = map_keys(fd, sizeof(*k), &n);

	for (size_t i = 0; k && i < n; i++) {
		bool keep = false;

		for (size_t c = 0; c < d->eps.ncgs && !keep; c++)
			keep = d->eps.cgs[c].attached && d->eps.cgs[c].cgid == k[i];
		if (keep)
			continue;
		netseg_dp_detach_cgroup(d->dp, k[i]);
		netseg_dp_cgroup_del(d->dp, k[i]);
		gone++;
	}
	free(k);
	if (gone) {
		pr_info("removed %zu cgroup endpoints that are gone or no longer selected", gone);
		d->eps.gen_dirty = true;
	}
}

/* Only after a full dump do we know everything that should be there: what
 * else the pinned maps hold was left by an earlier run. */
void netsegd_endpoints_reconcile(struct netsegd *d)
{
	reconcile_ipcache(d);
	reconcile_endpoints(d);
	reconcile_cgroups(d);
}

/* --------------------------------------------------------- endpoint list */

static void add_attached(cJSON *a, bool cgroup, __u8 attached)
{
	if (cgroup ? attached : attached & NETSEGD_TC_INGRESS)
		cJSON_AddItemToArray(a, cJSON_CreateString(netseg_hook_attached_name(
						cgroup ? NETSEG_HOOK_CG_INGRESS :
							 NETSEG_HOOK_TC_INGRESS)));
	if (cgroup ? attached : attached & NETSEGD_TC_EGRESS)
		cJSON_AddItemToArray(a, cJSON_CreateString(netseg_hook_attached_name(
						cgroup ? NETSEG_HOOK_CG_EGRESS :
							 NETSEG_HOOK_TC_EGRESS)));
}

static cJSON *cidrs_json(const struct netseg_iddef *def)
{
	cJSON *a = cJSON_CreateArray();

	for (unsigned int c = 0; def && c < def->ncidrs; c++)
		cJSON_AddItemToArray(a, cJSON_CreateString(def->cidrs[c]));
	return a;
}

static void link_json(struct netsegd *d, struct netsegd_link *l, cJSON *arr)
{
	const struct netseg_iddef *def = netseg_id_by_id(&d->pol.ids, l->id);
	const struct netsegd_pod *pod = netsegd_pod_by_ifindex(d, l->ifindex);
	cJSON *x = cJSON_CreateObject(), *att = cJSON_CreateArray(), *lab;
	char buf[160];

	cJSON_AddStringToObject(x, "kind", "iface");
	cJSON_AddStringToObject(x, "name", l->name);
	cJSON_AddNumberToObject(x, "ifindex", l->ifindex);
	cJSON_AddStringToObject(x, "identity", netsegd_id_name(d, l->id, buf, sizeof(buf)));
	cJSON_AddStringToObject(x, "selected_by",
				pod && pod->cid[0] ? "cni" :
				pod		   ? "labels" :
				l->by_alias	   ? "alias" :
						     "iface");
	if (pod) {
		cJSON_AddStringToObject(x, "namespace", pod->ns);
		if (pod->name[0])
			cJSON_AddStringToObject(x, "pod", pod->name);
		lab = cJSON_AddObjectToObject(x, "labels");
		for (size_t i = 0; lab && i < pod->labels.n; i++)
			cJSON_AddStringToObject(lab, pod->labels.v[i].key, pod->labels.v[i].value);
	}
	cJSON_AddStringToObject(x, "alias", l->alias);
	l->scratch = cJSON_AddArrayToObject(x, "ips");
	cJSON_AddItemToObject(x, "cidrs", cidrs_json(def));
	add_attached(att, false, l->attached);
	cJSON_AddItemToObject(x, "attached", att);
	cJSON_AddItemToArray(arr, x);
}

static void ip_json_one(struct netseg_ipent *e, void *ctx)
{
	struct netsegd *d = ctx;
	struct netsegd_link *l;
	char text[64];

	if (!e->in_map || !e->val.ifindex)
		return;
	l = link_find(d, e->val.ifindex);
	if (!l || !l->scratch)
		return;
	netseg_ipent_format(e, text, sizeof(text));
	cJSON_AddItemToArray(l->scratch, cJSON_CreateString(text));
}

static void cgroup_json(struct netsegd *d, const struct netsegd_cgroup *c, cJSON *arr)
{
	cJSON *x = cJSON_CreateObject(), *att = cJSON_CreateArray();
	char buf[32];

	cJSON_AddStringToObject(x, "kind", "cgroup");
	cJSON_AddStringToObject(x, "name", c->path);
	cJSON_AddNumberToObject(x, "cgroup_id", c->attached ? c->cgid : 0);
	cJSON_AddStringToObject(x, "identity",
				netseg_id_name(&d->pol.ids, c->id, buf, sizeof(buf)));
	cJSON_AddItemToObject(x, "ips", cJSON_CreateArray());
	cJSON_AddItemToObject(x, "cidrs", cidrs_json(netseg_id_by_id(&d->pol.ids, c->id)));
	add_attached(att, true, c->attached);
	cJSON_AddItemToObject(x, "attached", att);
	if (!c->attached)
		cJSON_AddStringToObject(x, "state", "waiting for the cgroup to exist");
	cJSON_AddItemToArray(arr, x);
}

/* IPv4 first, then IPv6, each in text order. */
static int ip_text_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int x6 = !!strchr(x, ':'), y6 = !!strchr(y, ':');

	return x6 != y6 ? x6 - y6 : strcmp(x, y);
}

static void sort_strings(cJSON *arr)
{
	int n = cJSON_GetArraySize(arr);
	const char **v = calloc(n ? n : 1, sizeof(*v));
	cJSON *sorted = cJSON_CreateArray(), *it;
	int i = 0;

	if (!v || !sorted)
		goto out;
	cJSON_ArrayForEach(it, arr)
		v[i++] = it->valuestring;
	qsort(v, n, sizeof(*v), ip_text_cmp);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(sorted, cJSON_CreateString(v[i]));
	/* Swap the children: arr keeps its place in the reply. */
	it = arr->child;
	arr->child = sorted->child;
	sorted->child = it;
out:
	cJSON_Delete(sorted);
	free(v);
}

/* An interface left unmanaged by a mistyped alias. */
static void link_unknown_json(struct netsegd_link *l, cJSON *arr)
{
	cJSON *x = cJSON_CreateObject();
	char state[NETSEGD_ALIAS_MAX + 64];

	snprintf(state, sizeof(state), "alias names unknown identity %s",
		 l->alias + strlen(NETSEGD_ALIAS_PREFIX));
	cJSON_AddStringToObject(x, "kind", "iface");
	cJSON_AddStringToObject(x, "name", l->name);
	cJSON_AddNumberToObject(x, "ifindex", l->ifindex);
	cJSON_AddStringToObject(x, "identity", "");
	cJSON_AddStringToObject(x, "alias", l->alias);
	cJSON_AddItemToObject(x, "ips", cJSON_CreateArray());
	cJSON_AddItemToObject(x, "cidrs", cJSON_CreateArray());
	cJSON_AddItemToObject(x, "attached", cJSON_CreateArray());
	cJSON_AddStringToObject(x, "state", state);
	cJSON_AddItemToArray(arr, x);
}

cJSON *netsegd_endpoints_json(struct netsegd *d)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t b = 0; b < NETSEGD_LINK_BUCKETS; b++)
		for (struct netsegd_link *l = d->eps.links[b]; l; l = l->next) {
			l->scratch = NULL;
			if (l->id)
				link_json(d, l, arr);
			else if (l->alias_unknown)
				link_unknown_json(l, arr);
		}
	netseg_iptable_foreach(&d->eps.ips, ip_json_one, d);
	for (size_t b = 0; b < NETSEGD_LINK_BUCKETS; b++)
		for (struct netsegd_link *l = d->eps.links[b]; l; l = l->next)
			if (l->scratch)
				sort_strings(l->scratch);
	for (size_t i = 0; i < d->eps.ncgs; i++)
		cgroup_json(d, &d->eps.cgs[i], arr);
	return arr;
}
