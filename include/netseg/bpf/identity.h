/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Identity resolution (docs/architecture.md, "Identities").  Source: the
 * sending socket's cgroup, then the endpoint interface (whose IPs are
 * checked against the ipcache: anything else is spoofed), then the
 * ipcache, else world.  Destination: the receiving cgroup, the endpoint
 * interface, the ipcache, else world (the node's own addresses are
 * ipcache entries with the host identity).
 */
#ifndef NETSEG_BPF_IDENTITY_H
#define NETSEG_BPF_IDENTITY_H

#include <netseg/bpf/events.h>

/*
 * The hash holds only what the trie answers for its keys, so either lookup
 * order is right; `host` says which is likely to pay: true for an address
 * that is most likely a pod's or the node's (an exact hash hit, no trie
 * walk), false where it is most likely a remote one (world, a CIDR
 * identity: the trie alone, no hash miss first).
 */
static __always_inline const struct netseg_ipcache_val *ipcache_lookup(__u8 family,
								       const __u8 *addr, bool host)
{
	const struct netseg_ipcache_val *v;
	struct netseg_lpm_key k = {};

	k.family = family;
	k.prefixlen = NETSEG_LPM_PLEN_HDR + (family == NETSEG_AF_INET ? 32 : 128);
	__builtin_memcpy(k.addr, addr, 16);
	if (host) {
		v = bpf_map_lookup_elem(&ns_ipcache_host, &k);
		if (v)
			return v;
	}
	return bpf_map_lookup_elem(&ns_ipcache, &k);
}

static __always_inline __u32 ipcache_id(__u8 family, const __u8 *addr, bool host)
{
	const struct netseg_ipcache_val *v = ipcache_lookup(family, addr, host);

	return v ? v->id : NETSEG_ID_WORLD;
}

/* The most specific cgroup on the socket's path that is an endpoint. */
static __always_inline __u32 cgroup_id_of_skb(struct __sk_buff *skb)
{
	struct netseg_endpoint *ep;
	__u64 cg = bpf_skb_cgroup_id(skb);

	if (!cg)
		return NETSEG_ID_ANY;
	ep = bpf_map_lookup_elem(&ns_cgroups, &cg);
	if (ep)
		return ep->id;
		/* Deepest ancestor first; levels past the socket's depth return 0. */
#pragma unroll
	for (int lvl = NETSEG_CGROUP_DEPTH - 1; lvl >= 0; lvl--) {
		cg = bpf_skb_ancestor_cgroup_id(skb, lvl);
		if (!cg)
			continue;
		ep = bpf_map_lookup_elem(&ns_cgroups, &cg);
		if (ep)
			return ep->id;
	}
	return NETSEG_ID_ANY;
}

/*
 * What the interface map says about the hook's interface (XDP, TC): its
 * endpoint into h->ep_id; true when it is an uplink.
 */
static __always_inline bool iface_lookup(struct netseg_hook_ctx *h)
{
	struct netseg_endpoint *ep = bpf_map_lookup_elem(&ns_endpoints, &h->ifindex);

	h->ep_id = ep ? ep->id : NETSEG_ID_ANY;
	return ep && (ep->flags & NETSEG_EPF_UPLINK);
}

/* Source of a packet arriving from an endpoint interface must be its own. */
static __always_inline bool endpoint_owns_src(__u32 ep_id, __u32 ifindex,
					      const struct netseg_pkt *p)
{
	const struct netseg_ipcache_val *v = ipcache_lookup(p->family, p->saddr, true);

	return v && v->id == ep_id && (!v->ifindex || v->ifindex == ifindex);
}

/*
 * Arriving on an uplink: no packet from outside carries the address of a
 * local endpoint (an ipcache entry learned on its interface) or of the
 * node itself (host identity).  Without this a world host could send as a
 * pod or as the node and be judged (and logged) as it.
 */
static __always_inline bool src_is_local(struct netseg_hook_ctx *h, const struct netseg_pkt *p)
{
	const struct netseg_ipcache_val *v;
	struct netseg_lpm_key k = {};

	/*
	 * Local entries are host addresses (NETSEG_CFG_LOCAL_CIDR says when
	 * not): the exact hash answers, and a known flow's packet from a
	 * remote source pays no trie walk.  A new flow's resolve_src() walks
	 * the trie for the identity of a source the hash doesn't hold.
	 */
	k.family = p->family;
	k.prefixlen = NETSEG_LPM_PLEN_HDR + (p->family == NETSEG_AF_INET ? 32 : 128);
	__builtin_memcpy(k.addr, p->saddr, 16);
	v = bpf_map_lookup_elem(&ns_ipcache_host, &k);
	if (!v && (h->cfg->flags & NETSEG_CFG_LOCAL_CIDR)) {
		v = bpf_map_lookup_elem(&ns_ipcache, &k);
		if (!v) {
			h->src_id = NETSEG_ID_WORLD;
			return false;
		}
	}
	if (!v) {
		h->src_nohost = 1;
		return false;
	}
	/* resolve_src() needs the same entry: one lookup, not two. */
	h->src_id = v->id;
	return v->ifindex || v->id == NETSEG_ID_HOST;
}

/*
 * Packet-order identities.  `hook` is a constant at every call site, so
 * the branches for other program types (and their helpers) compile away.
 */
static __always_inline __u32 resolve_src(struct netseg_hook_ctx *h, __u8 hook,
					 const struct netseg_pkt *p)
{
	__u32 id = NETSEG_ID_ANY;

	if (hook == NETSEG_HOOK_CG_EGRESS || hook == NETSEG_HOOK_TC_EGRESS)
		id = cgroup_id_of_skb(h->ctx);
	if (id == NETSEG_ID_ANY && hook == NETSEG_HOOK_TC_INGRESS)
		id = h->ep_id; /* looked up and its source checked by classify() */
	if (id == NETSEG_ID_ANY && (hook == NETSEG_HOOK_XDP || hook == NETSEG_HOOK_TC_INGRESS))
		id = h->src_id; /* src_is_local() on an uplink */
	if (id == NETSEG_ID_ANY)
		id = ipcache_id(p->family, p->saddr, !h->src_nohost);
	return id;
}

static __always_inline __u32 resolve_dst(struct netseg_hook_ctx *h, __u8 hook,
					 const struct netseg_pkt *p)
{
	__u32 id = NETSEG_ID_ANY;

	if (hook == NETSEG_HOOK_CG_INGRESS)
		id = cgroup_id_of_skb(h->ctx);
	if (hook == NETSEG_HOOK_TC_EGRESS)
		id = h->ep_id; /* looked up by classify() */
	if (id == NETSEG_ID_ANY)
		id = ipcache_id(p->family, p->daddr, true);
	return id;
}

static __always_inline __u32 identity_flags(__u32 id)
{
	struct netseg_identity *i = bpf_map_lookup_elem(&ns_identities, &id);

	return i ? i->flags : 0;
}

#endif
