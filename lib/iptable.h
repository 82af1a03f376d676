/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who claims which ipcache prefix.  Several sources can claim one prefix
 * at once (an identity's --cidr, the node's own address, a host route, a
 * neighbour entry) and each goes away on its own: the prefix keeps the best
 * remaining claim and leaves the map only with the last one.  That is what
 * lets a route going away undo exactly what it did and no more.
 *
 * Pure data: the daemon writes into the map what netseg_ipent_resolve()
 * says and records it in in_map/val.
 */
#ifndef NETSEG_IPTABLE_H
#define NETSEG_IPTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <netseg/abi.h>

#include "prefix.h"

/* In rising order of precedence within one prefix. */
enum netseg_ipsrc_kind {
	NETSEG_IPSRC_HOST,  /* an address of this node (RTM_NEWADDR) */
	NETSEG_IPSRC_CIDR,  /* an identity's CIDR selector: id */
	NETSEG_IPSRC_RPOD,  /* another node's pod (cluster.c): id */
	NETSEG_IPSRC_NEIGH, /* neighbour entry on an interface */
	NETSEG_IPSRC_PEER,  /* peer of a point-to-point address on an interface */
	NETSEG_IPSRC_ROUTE, /* host route out of an interface */
	NETSEG_IPSRC_POD,   /* a pod's address, as the CNI plugin registered it */
	NETSEG_IPSRC_MAX,
};

#define NETSEG_IPSRC_BIT(k) (1U << (k))
/* Kinds that claim a prefix for the endpoint behind their interface. */
#define NETSEG_IPSRC_LEARNED                                                          \
	(NETSEG_IPSRC_BIT(NETSEG_IPSRC_NEIGH) | NETSEG_IPSRC_BIT(NETSEG_IPSRC_PEER) | \
	 NETSEG_IPSRC_BIT(NETSEG_IPSRC_ROUTE) | NETSEG_IPSRC_BIT(NETSEG_IPSRC_POD))

struct netseg_ipsrc {
	__u8 kind;     /* enum netseg_ipsrc_kind */
	bool stale;    /* not seen again in a resync dump (yet) */
	__u32 ifindex; /* the interface it was learned on (0 for CIDR) */
	__u32 id;      /* CIDR, RPOD: the identity; else 0 */
	__u64 tag;     /* tells sources of one kind apart (route table and metric, ...) */
	__u64 seq;     /* when it was made, within its prefix: older claims win ties */
};

struct netseg_ipent {
	struct netseg_ipent *next; /* hash chain */
	struct netseg_prefix pfx;  /* the key */
	unsigned int nsrc, cap;
	struct netseg_ipsrc *src;
	__u64 next_seq; /* seq of the next new claim */
	bool in_map;	/* the ipcache holds val for this prefix */
	struct netseg_ipcache_val val;
};

struct netseg_iptable {
	struct netseg_ipent **bucket;
	size_t nbuckets, n;
};

/* Identity of the endpoint behind ifindex; 0 when it isn't one. */
typedef __u32 (*netseg_ep_id_fn)(void *ctx, __u32 ifindex);

void netseg_iptable_init(struct netseg_iptable *t);
void netseg_iptable_free(struct netseg_iptable *t);

/* The entry for a prefix; created (empty) when create is set.  NULL when
 * absent, or out of memory, or the prefix is invalid (errno says which). */
struct netseg_ipent *netseg_iptable_get(struct netseg_iptable *t, const struct netseg_prefix *p,
					bool create);
/* Frees an entry nothing claims and the map doesn't hold; else a no-op. */
void netseg_iptable_release(struct netseg_iptable *t, struct netseg_ipent *e);
/* Calls fn on every entry; fn may release the entry it is given. */
void netseg_iptable_foreach(struct netseg_iptable *t, void (*fn)(struct netseg_ipent *e, void *ctx),
			    void *ctx);

/* Adds a claim, or refreshes the same one (same kind, tag, id, ifindex):
 * clears its stale mark.  1 when it is new, 0 when it was there, or -ENOMEM. */
int netseg_ipent_claim(struct netseg_ipent *e, const struct netseg_ipsrc *s);
/* Removes that claim; false when it wasn't there. */
bool netseg_ipent_unclaim(struct netseg_ipent *e, const struct netseg_ipsrc *s);
/* Removes the claims of s's kind and tag on any interface other than s's
 * (a route replaced by one out of another interface); how many went. */
unsigned int netseg_ipent_unclaim_moved(struct netseg_ipent *e, const struct netseg_ipsrc *s);
/* Removes claims of the given kinds (bitmask) on ifindex (0 = any), only
 * the stale ones if stale_only.  Returns how many went. */
unsigned int netseg_ipent_drop(struct netseg_ipent *e, __u32 kinds, __u32 ifindex, bool stale_only);
/* Marks claims of the given kinds stale (before a resync dump). */
void netseg_ipent_mark(struct netseg_ipent *e, __u32 kinds);
bool netseg_ipent_has_ifindex(const struct netseg_ipent *e, __u32 ifindex);
/* A usable learned claim on another interface than s's (s itself is one
 * of e's claims): the endpoint s competes with for the prefix, or NULL. */
const struct netseg_ipsrc *netseg_ipent_rival(const struct netseg_ipent *e,
					      const struct netseg_ipsrc *s, netseg_ep_id_fn ep_id,
					      void *ctx);

/*
 * What the ipcache should hold for the prefix: the learned claim of the
 * highest kind whose interface is an endpoint, else the oldest remote
 * pod's, else the identity CIDR with the lowest id, else the host.  False when nothing claims it (the entry
 * must leave the map).
 *
 * Two learned claims of one kind on different interfaces (two endpoints
 * saying the address is theirs) tie, and the first owner keeps it: the
 * interface the map holds it for while that claim lasts, else the oldest
 * claim.  Breaking the tie by anything the newcomer controls (the lower
 * ifindex, as this once did) let any second claim take a live address
 * from its endpoint, whose packets were then dropped as spoofed.
 */
bool netseg_ipent_resolve(const struct netseg_ipent *e, netseg_ep_id_fn ep_id, void *ctx,
			  struct netseg_ipcache_val *out);

/* The longest prefix the ipcache holds (in_map) for one address: what the
 * datapath's LPM lookup finds.  NULL: none, the datapath says world. */
const struct netseg_ipent *netseg_iptable_lookup(struct netseg_iptable *t, int family,
						 const void *addr);
/* "198.18.1.2" for a host prefix, "198.18.0.0/15" otherwise. */
void netseg_ipent_format(const struct netseg_ipent *e, char *buf, size_t len);

#endif
