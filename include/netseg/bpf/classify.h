/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one classifier.  XDP, TC and cgroup_skb entry points parse into a
 * struct netseg_pkt and call netseg_run(); it returns a neutral
 * NETSEG_ACT_PASS/DROP that each entry point translates for its hook.
 */
#ifndef NETSEG_BPF_CLASSIFY_H
#define NETSEG_BPF_CLASSIFY_H

#include <linux/errno.h>
#include <netseg/bpf/ct.h>
#include <netseg/bpf/policy.h>

enum netseg_action {
	NETSEG_ACT_PASS = 0,
	NETSEG_ACT_DROP = 1,
};

static __always_inline int act_drop(struct netseg_hook_ctx *h, const struct netseg_pkt *p,
				    const struct netseg_flow_info *fi)
{
	netseg_count_drop(h->hook, h->ifindex, h->ep_id, fi->reason, p->len);
	count_if(h->ifindex, true, h->hook == NETSEG_HOOK_XDP, p->len);
	emit_event(h, p, NETSEG_EV_DENY, fi);
	return NETSEG_ACT_DROP;
}

static __always_inline int drop_reason(struct netseg_hook_ctx *h, const struct netseg_pkt *p,
				       __u8 reason)
{
	struct netseg_flow_info fi = { .reason = reason };

	return act_drop(h, p, &fi);
}

static __always_inline int act_pass(struct netseg_hook_ctx *h, const struct netseg_pkt *p)
{
	count_stat(NETSEG_STAT_PASS, p->len);
	count_if(h->ifindex, false, false, p->len);
	return NETSEG_ACT_PASS;
}

static __always_inline bool frag_same(const struct netseg_frag_val *a,
				      const struct netseg_frag_val *b)
{
	return a->sport == b->sport && a->dport == b->dport && a->policy_port == b->policy_port &&
	       a->tracked == b->tracked;
}

/*
 * A first fragment claims its datagram's id, first writer wins: a second
 * first fragment with other ports (an overlapping fragment at offset 0)
 * must not re-point the tail of a datagram already let through.  The same
 * one again (a retransmission, or the next hook) passes.  A claim older
 * than NETSEG_FRAG_TIMEOUT yields: the id wrapped, a new datagram.
 */
static __always_inline __u8 frag_first(const struct netseg_frag_key *k, struct netseg_frag_val *v)
{
	struct netseg_frag_val *old;

	if (!bpf_map_update_elem(&ns_frags, k, v, BPF_NOEXIST))
		return NETSEG_REASON_NONE;
	old = bpf_map_lookup_elem(&ns_frags, k);
	if (old && frag_same(old, v))
		return NETSEG_REASON_NONE;
	/* Not "now - first_ns": another CPU's claim may be a little younger. */
	if (old && old->first_ns + NETSEG_FRAG_TIMEOUT >= v->first_ns)
		return NETSEG_REASON_FRAG_CONFLICT;
	if (bpf_map_update_elem(&ns_frags, k, v, BPF_ANY))
		count_stat(NETSEG_STAT_FRAG_FAIL, 0);
	return NETSEG_REASON_NONE;
}

/*
 * Non-first fragments carry no ports: take them from the first fragment,
 * which must have been seen (and recorded) before.  Returns the drop
 * reason, or NETSEG_REASON_NONE to go on.
 */
static __always_inline __u8 frag_track(const struct netseg_pkt *p, struct netseg_pkt *out,
				       __u64 now)
{
	struct netseg_frag_key k = {};
	struct netseg_frag_val v = {}, *f;

	if (p->frag == NETSEG_FRAG_NONE)
		return NETSEG_REASON_NONE;
	__builtin_memcpy(k.saddr, p->saddr, 16);
	__builtin_memcpy(k.daddr, p->daddr, 16);
	k.id = p->frag_id;
	k.proto = p->proto;
	k.family = p->family;
	if (p->frag == NETSEG_FRAG_FIRST) {
		v.first_ns = now;
		v.sport = p->sport;
		v.dport = p->dport;
		v.policy_port = p->policy_port;
		v.tracked = p->tracked;
		return frag_first(&k, &v);
	}
	f = bpf_map_lookup_elem(&ns_frags, &k);
	if (!f)
		return NETSEG_REASON_FRAG_UNKNOWN;
	out->sport = f->sport;
	out->dport = f->dport;
	out->policy_port = f->policy_port;
	out->tracked = f->tracked;
	return NETSEG_REASON_NONE;
}

static __always_inline void flow_info(struct netseg_flow_info *fi, __u64 flow_id, __u32 src,
				      __u32 dst, const struct netseg_decision *d)
{
	fi->flow_id = flow_id;
	fi->src_id = src;
	fi->dst_id = dst;
	fi->rule_id = d->rule_id;
	fi->reason = d->reason;
}

static __always_inline bool log_allowed(struct netseg_hook_ctx *h, __u8 flags)
{
	return (flags & NETSEG_RULEF_LOG) || (h->cfg->flags & NETSEG_CFG_LOG_ALLOWED);
}

/*
 * Write a new flow's entry.  An entry there already is the one that made
 * this a new flow (expired, or a closed TCP flow's tuple reused): replaced,
 * returns 1.  Unless another CPU created this flow's entry since the lookup:
 * kept, -EEXIST, so the flow is counted once.  0: a new entry.
 */
static __always_inline long ct_insert(const struct netseg_ct_key *k,
				      const struct netseg_ct_entry *e, const struct netseg_pkt *p,
				      __u64 now)
{
	struct netseg_ct_entry *old;
	long err;

	err = bpf_map_update_elem(&ns_ct, k, e, BPF_NOEXIST);
	if (err != -EEXIST)
		return err;
	old = bpf_map_lookup_elem(&ns_ct, k);
	if (old && !ct_stale(old, p, now))
		return -EEXIST;
	err = bpf_map_update_elem(&ns_ct, k, e, BPF_ANY);
	return err ? err : old != NULL;
}

/*
 * Which endpoints a conntrack verdict covers.  One flow meets several
 * hooks (uplink TC ingress, then a pod veth's TC egress or a cgroup's
 * ingress; a cgroup's egress, then the uplink's TC egress) and each may
 * resolve the identities differently: at the uplink a listener in a cgroup
 * is just the node (host), and only the cgroup hook knows it is `batch`.
 * A verdict reached without an endpoint says nothing about that
 * endpoint's policy, so an entry is only trusted, by a hook that enforces
 * an endpoint, for the side(s) it was decided for:
 *
 *  - an enforcement point is a cgroup hook (its socket's cgroup id) or TC
 *    on an endpoint interface (NETSEG_CT_POINT_IF | ifindex); the uplink
 *    and lo enforce no endpoint and accept any current entry;
 *  - its endpoint sits on one side of the flow: the packet's source at
 *    cgroup egress and pod-veth TC ingress, its destination at cgroup
 *    ingress and pod-veth TC egress; the entry's `cover` records, per
 *    side, the point that accepted the verdict at its generation;
 *  - a hit at a point not recorded on its side (ct_again()) checks that
 *    the entry's identity on that side is the point's endpoint, and then
 *    records the point; otherwise it decides the flow again with the
 *    endpoint on that side and the entry's identity on the other side
 *    (the other side's own hook knew it best), and records that;
 *  - a verdict taken at a new generation is decided from this hook's view
 *    alone, so it clears every point but this hook's own;
 *  - a deny is never lifted by another side's decision: dropping is safe.
 *
 * The hit path pays one compare; a point's first packet of a flow pays the
 * endpoint lookup and, where its identity was not in the verdict, one
 * policy decision.
 */
static __always_inline __u64 hook_point(struct netseg_hook_ctx *h, __u8 hook)
{
	if (hook == NETSEG_HOOK_CG_INGRESS || hook == NETSEG_HOOK_CG_EGRESS)
		return h->owner;
	if ((hook == NETSEG_HOOK_TC_INGRESS || hook == NETSEG_HOOK_TC_EGRESS) &&
	    h->ep_id != NETSEG_ID_ANY)
		return NETSEG_CT_POINT_IF | h->ifindex;
	return 0;
}

/* The flow side (enum netseg_ct_dir) of the hook's endpoint, for a packet in dir. */
static __always_inline __u8 point_side(__u8 hook, __u8 dir)
{
	bool src = hook == NETSEG_HOOK_CG_EGRESS || hook == NETSEG_HOOK_TC_INGRESS;

	return src == (dir == NETSEG_DIR_ORIG) ? NETSEG_DIR_ORIG : NETSEG_DIR_REPLY;
}

/* The endpoint identity behind the hook's point, or NETSEG_ID_ANY. */
static __always_inline __u32 point_id(struct netseg_hook_ctx *h, __u8 hook)
{
	if (hook == NETSEG_HOOK_CG_INGRESS || hook == NETSEG_HOOK_CG_EGRESS)
		return cgroup_id_of_skb(h->ctx);
	return h->ep_id;
}

static __always_inline bool ct_covered(struct netseg_hook_ctx *h, __u8 hook,
				       const struct netseg_ct_entry *e, __u8 dir)
{
	__u64 pt = hook_point(h, hook);

	return !pt || e->cover[point_side(hook, dir) & 1] == pt;
}

static __always_inline int ct_create(struct netseg_hook_ctx *h, __u8 hook,
				     const struct netseg_pkt *p, const struct netseg_ct_key *k,
				     bool swapped, struct netseg_flow_info *fi,
				     const struct netseg_decision *d)
{
	struct netseg_ct_entry e = {};
	long ret;

	e.created_ns = h->now;
	e.last_seen_ns = h->now;
	e.flow_id = fi->flow_id;
	e.generation = h->cfg->generation;
	e.owner = h->owner;
	e.cover[point_side(hook, NETSEG_DIR_ORIG) & 1] = hook_point(h, hook);
	e.packets[NETSEG_DIR_ORIG] = 1;
	e.bytes[NETSEG_DIR_ORIG] = p->len;
	e.src_id = fi->src_id;
	e.dst_id = fi->dst_id;
	e.rule_id = d->rule_id;
	e.ifindex = h->ifindex;
	e.verdict = d->verdict;
	e.reason = d->reason;
	e.tcp_state = ct_initial_tcp_state(p);
	e.tcp_flags[NETSEG_DIR_ORIG] = p->tcp_flags;
	e.hook = h->hook;
	e.flags = swapped ? NETSEG_CTF_ORIG_IS_B : 0;
	if (d->verdict == NETSEG_VERDICT_AUDIT || log_allowed(h, d->flags))
		e.flags |= NETSEG_CTF_LOG;
	ret = ct_insert(k, &e, p, h->now);
	/* 1: another CPU's entry stands, and that CPU reports the flow. */
	if (ret == -EEXIST)
		return 1;
	if (ret < 0) {
		count_stat(NETSEG_STAT_CT_FAIL, 0);
		return -1;
	}
	count_stat(NETSEG_STAT_CT_NEW, 0);
	if (ret)
		count_stat(NETSEG_STAT_CT_REPLACED, 0);
	if (e.tcp_state == NETSEG_TCP_MIDSTREAM)
		count_stat(NETSEG_STAT_CT_MIDSTREAM, 0);
	return 0;
}

/* One branch for the verifier, not one per word. */
static __always_inline bool addr_eq(const __u8 *a, const __u8 *b)
{
	return !((*(__u64 *)a ^ *(__u64 *)b) | (*(__u64 *)(a + 8) ^ *(__u64 *)(b + 8)));
}

/*
 * XDP's deny cache (struct netseg_deny_val): a memo of new_flow()'s deny
 * for (source, destination, protocol, policy port) at one generation.
 * The generation is read before the policy (deny_cache_gen()): a verdict
 * from the old rule set is never cached under the new generation.
 */
static __always_inline __u64 deny_cache_gen(struct netseg_hook_ctx *h)
{
	__u64 gen = *(volatile __u64 *)&h->cfg->generation;

	asm volatile("" ::: "memory");
	return gen;
}

static __always_inline struct netseg_deny_val *deny_cache_slot(const struct netseg_pkt *p)
{
	__u64 x = *(__u64 *)p->saddr ^ *(__u64 *)(p->saddr + 8) * 0xff51afd7ed558ccdULL;
	__u32 idx;

	x ^= (*(__u64 *)p->daddr ^ *(__u64 *)(p->daddr + 8) * 0xc4ceb9fe1a85ec53ULL) >> 1;
	x ^= (__u64)p->policy_port << 16 | (__u64)p->proto << 8 | p->family;
	idx = (x * 0x9e3779b97f4a7c15ULL) >> (64 - NETSEG_DENY_CACHE_BITS);
	return bpf_map_lookup_elem(&ns_deny_cache, &idx);
}

static __always_inline void deny_cache_put(struct netseg_hook_ctx *h, const struct netseg_pkt *p,
					   const struct netseg_flow_info *fi, __u64 gen)
{
	struct netseg_deny_val *v = deny_cache_slot(p);

	if (!v)
		return;
	__builtin_memcpy(v->saddr, p->saddr, 16);
	__builtin_memcpy(v->daddr, p->daddr, 16);
	v->policy_port = p->policy_port;
	v->proto = p->proto;
	v->family = p->family;
	v->ifindex = h->ifindex;
	v->src_id = fi->src_id;
	v->dst_id = fi->dst_id;
	v->rule_id = fi->rule_id;
	v->reason = fi->reason;
	v->generation = gen;
}

/* A cached deny for this packet: *fi says how it was decided, for act_drop(). */
static __always_inline bool deny_cache_hit(struct netseg_hook_ctx *h, const struct netseg_pkt *p,
					   struct netseg_flow_info *fi)
{
	struct netseg_deny_val *v = deny_cache_slot(p);

	if (!v || v->generation != h->cfg->generation || v->ifindex != h->ifindex ||
	    !addr_eq(v->saddr, p->saddr) || !addr_eq(v->daddr, p->daddr) ||
	    v->policy_port != p->policy_port || v->proto != p->proto || v->family != p->family)
		return false;
	fi->flow_id = NETSEG_FLOW_ID_NEW;
	fi->src_id = v->src_id;
	fi->dst_id = v->dst_id;
	fi->rule_id = v->rule_id;
	fi->reason = v->reason;
	count_stat(NETSEG_STAT_DENY_CACHED, 0);
	count_rule(v->rule_id, p->len);
	return true;
}

/* A flow with no (usable) conntrack entry: resolve, look up, record. */
static __always_inline int new_flow(struct netseg_hook_ctx *h, __u8 hook,
				    const struct netseg_pkt *p, const struct netseg_ct_key *k,
				    bool swapped)
{
	struct netseg_flow_info fi = {};
	struct netseg_decision d = {};
	bool tracked = false;
	__u64 gen = 0;
	__u8 ev = 0;
	__u32 src, dst;

	if (hook == NETSEG_HOOK_XDP)
		gen = deny_cache_gen(h);
	src = resolve_src(h, hook, p);
	dst = resolve_dst(h, hook, p);
	policy_decide(src, dst, p->proto, p->policy_port, h->cfg->policy_flags, &d);
	count_rule(d.rule_id, p->len);
	flow_info(&fi, NETSEG_FLOW_ID_NEW, src, dst, &d);
	if (d.verdict == NETSEG_VERDICT_DENY) {
		if (hook == NETSEG_HOOK_XDP)
			deny_cache_put(h, p, &fi, gen);
		return act_drop(h, p, &fi);
	}
	/* XDP only drops early; TC and cgroup hooks own the flow table. */
	if (hook == NETSEG_HOOK_XDP)
		return act_pass(h, p);
	if (d.verdict == NETSEG_VERDICT_AUDIT)
		count_stat(NETSEG_STAT_AUDIT, p->len);
	fi.flow_id = flow_id_at(bpf_ktime_get_ns());
	/* A reply with no request on record is judged, never remembered. */
	if (p->tracked && !icmp_is_reply(p))
		tracked = ct_create(h, hook, p, k, swapped, &fi, &d) == 0;
	/* One call site: each inlined emit_event() is verified on its own. */
	if (d.verdict == NETSEG_VERDICT_AUDIT)
		ev = NETSEG_EV_AUDIT;
	else if (log_allowed(h, d.flags))
		ev = NETSEG_EV_FLOW_START;
	else if (tracked) /* for the daemon's history: `observe` shows it */
		ev = NETSEG_EV_FLOW_SEEN;
	if (ev)
		emit_event(h, p, ev, &fi);
	return act_pass(h, p);
}

/*
 * The port the flow's originator asked for: for a reply that is the
 * packet's source port, or the request type of an ICMP query's reply.
 */
static __always_inline __be16 flow_policy_port(const struct netseg_pkt *p, __u8 dir)
{
	if (dir != NETSEG_DIR_REPLY)
		return p->policy_port;
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
		return bpf_htons((__u16)icmp_query_of(p->proto, icmp_pkt_type(p)) << 8);
	return p->sport;
}

/*
 * The flow's pair as this hook must judge it, in flow order.  Policy moved
 * on (stale): both identities as this hook resolves them.  Else the entry's
 * pair with the hook's endpoint on its side.  false: no new decision is
 * needed (the entry already covers the point, or it is a deny).
 */
static __always_inline bool again_pair(struct netseg_hook_ctx *h, __u8 hook,
				       const struct netseg_pkt *p, const struct netseg_ct_entry *e,
				       __u8 dir, bool stale, __u32 *src, __u32 *dst)
{
	__u8 side = point_side(hook, dir);
	__u32 id, t;

	if (stale) {
		*src = resolve_src(h, hook, p);
		*dst = resolve_dst(h, hook, p);
		if (dir == NETSEG_DIR_REPLY) {
			t = *src;
			*src = *dst;
			*dst = t;
		}
		return true;
	}
	id = point_id(h, hook);
	*src = side == NETSEG_DIR_ORIG ? id : e->src_id;
	*dst = side == NETSEG_DIR_ORIG ? e->dst_id : id;
	return e->verdict != NETSEG_VERDICT_DENY && id != NETSEG_ID_ANY &&
	       id != (side == NETSEG_DIR_ORIG ? e->src_id : e->dst_id);
}

/*
 * A hit this hook can't take as it is: the policy changed since the flow
 * was decided, or the verdict doesn't cover this hook's endpoint (see
 * hook_point()).  Decide again for the flow's originator and remember it.
 * -1: nothing to decide, the entry stands (ct_established()).
 */
static __always_inline int ct_again(struct netseg_hook_ctx *h, __u8 hook,
				    const struct netseg_pkt *p, struct netseg_ct_entry *e, __u8 dir)
{
	bool stale = e->generation != h->cfg->generation;
	__u8 side = point_side(hook, dir) & 1, ev = 0;
	struct netseg_flow_info fi = {};
	struct netseg_decision d = {};
	__u32 src, dst;

	if (!again_pair(h, hook, p, e, dir, stale, &src, &dst)) {
		e->cover[side] = hook_point(h, hook);
		return -1;
	}
	/* Look the flow up as its originator opened it. */
	policy_decide(src, dst, p->proto, flow_policy_port(p, dir), h->cfg->policy_flags, &d);
	count_stat(NETSEG_STAT_CT_REDECIDE, 0);
	e->generation = h->cfg->generation;
	e->verdict = d.verdict;
	e->reason = d.reason;
	e->rule_id = d.rule_id;
	e->src_id = src;
	e->dst_id = dst;
	if (stale)
		e->cover[side ^ 1] = 0;
	e->cover[side] = hook_point(h, hook);
	/* Events describe the packet: identities in packet order. */
	if (dir == NETSEG_DIR_REPLY)
		flow_info(&fi, e->flow_id, dst, src, &d);
	else
		flow_info(&fi, e->flow_id, src, dst, &d);
	if (d.verdict == NETSEG_VERDICT_DENY)
		return act_drop(h, p, &fi);
	/* First verdict for this endpoint: logged as a new flow's would be. */
	if (!stale && d.verdict == NETSEG_VERDICT_AUDIT) {
		count_stat(NETSEG_STAT_AUDIT, p->len);
		ev = NETSEG_EV_AUDIT;
	} else if (!stale && log_allowed(h, d.flags)) {
		ev = NETSEG_EV_FLOW_START;
	}
	if (ev) {
		e->flags |= NETSEG_CTF_LOG;
		emit_event(h, p, ev, &fi);
	}
	ct_account(e, p, dir, h->owner, h->now);
	return act_pass(h, p);
}

static __always_inline int ct_established(struct netseg_hook_ctx *h, const struct netseg_pkt *p,
					  struct netseg_ct_entry *e, __u8 dir)
{
	struct netseg_flow_info fi = {};
	struct netseg_decision d = {};

	if (e->verdict == NETSEG_VERDICT_DENY) {
		d.rule_id = e->rule_id;
		d.reason = e->reason;
		if (dir == NETSEG_DIR_REPLY)
			flow_info(&fi, e->flow_id, e->dst_id, e->src_id, &d);
		else
			flow_info(&fi, e->flow_id, e->src_id, e->dst_id, &d);
		return act_drop(h, p, &fi);
	}
	count_stat(NETSEG_STAT_CT_HIT, 0);
	ct_account(e, p, dir, h->owner, h->now);
	return act_pass(h, p);
}

/*
 * An ICMP error about a flow we let through passes with it (PMTU!), as
 * Linux conntrack's RELATED -- if it is about a packet its receiver sent.
 * The quote is that packet's header as it was sent, so:
 *  - the error goes to the quoted source (outer destination == quoted
 *    source); any other receiver is a third host someone aims a made-up
 *    quote at;
 *  - the quoted packet is one of the flow's, travelling as the flow was
 *    allowed: originator -> responder, or responder -> originator once
 *    the responder has replied (a server learns its SYN-ACK's fate);
 *  - the outer source may be anyone on the path (routers send errors),
 *    but an endpoint is no router: from an endpoint's interface the error
 *    must come from the quoted destination, the peer it was sent to.
 * Anything else is an ICMP packet of its own for the policy.  *dir is the
 * quoted packet's direction in the flow.
 */
static __always_inline struct netseg_ct_entry *icmp_related(struct netseg_hook_ctx *h,
							    const struct netseg_pkt *p, __u8 *dir)
{
	struct netseg_ct_key k = {};
	struct netseg_ct_entry *e;
	bool swapped;

	if (!p->inner.valid || !addr_eq(p->daddr, p->inner.saddr))
		return NULL;
	if (h->hook == NETSEG_HOOK_TC_INGRESS && h->ep_id != NETSEG_ID_ANY &&
	    !addr_eq(p->saddr, p->inner.daddr))
		return NULL;
	swapped = ct_quote_key(p, &k);
	e = bpf_map_lookup_elem(&ns_ct, &k);
	/* A quote has no TCP flags, so only expiry makes the entry stale. */
	if (!e || e->verdict == NETSEG_VERDICT_DENY || netseg_ct_expired(e, h->now))
		return NULL;
	*dir = ct_dir(e, swapped);
	if (*dir == NETSEG_DIR_REPLY && !(e->flags & NETSEG_CTF_SEEN_REPLY))
		return NULL;
	return e;
}

/*
 * A related error passes.  A logged flow records it under its own flow id,
 * identities in the error's direction (against the quoted packet's).
 */
static __always_inline int ct_related(struct netseg_hook_ctx *h, __u8 hook,
				      const struct netseg_pkt *p, const struct netseg_ct_entry *e,
				      __u8 dir)
{
	struct netseg_flow_info fi = {};
	struct netseg_decision d = { .rule_id = e->rule_id };

	count_stat(NETSEG_STAT_CT_HIT, 0);
	if (hook == NETSEG_HOOK_XDP || !(e->flags & NETSEG_CTF_LOG))
		return act_pass(h, p);
	if (dir == NETSEG_DIR_ORIG)
		flow_info(&fi, e->flow_id, e->dst_id, e->src_id, &d);
	else
		flow_info(&fi, e->flow_id, e->src_id, e->dst_id, &d);
	emit_event(h, p,
		   e->verdict == NETSEG_VERDICT_AUDIT ? NETSEG_EV_AUDIT : NETSEG_EV_FLOW_START,
		   &fi);
	return act_pass(h, p);
}

/*
 * An endpoint interface vouches only for its own IPs (the ipcache entries
 * the daemon made with its identity), for every packet: before conntrack,
 * or a pod could inject packets into other pods' flows by sending as their
 * peers; before the fragment map, so a spoofed packet changes no state.
 * The endpoint found here is the packet's source identity for
 * resolve_src().  On an uplink (XDP and TC ingress) the reverse holds: a
 * local endpoint's or the node's own address can't arrive from outside
 * (src_is_local()).
 */
static __always_inline bool spoofed(struct netseg_hook_ctx *h, __u8 hook,
				    const struct netseg_pkt *p, bool uplink)
{
	if (hook != NETSEG_HOOK_TC_INGRESS && hook != NETSEG_HOOK_XDP)
		return false;
	/* Only what arrives: the node's own packets leave through egress. */
	if (uplink)
		return src_is_local(h, p);
	return hook == NETSEG_HOOK_TC_INGRESS && h->ep_id != NETSEG_ID_ANY &&
	       !endpoint_owns_src(h->ep_id, h->ifindex, p);
}

/*
 * A known flow's packet on an uplink, its entry current: XDP's hit is the
 * one TC ingress would make there (an uplink enforces no endpoint, so any
 * current entry covers it).  true when the packet carries the mark
 * (struct netseg_xdp_meta): XDP then decides as TC would, and TC doesn't
 * again.  A driver without metadata leaves it all to TC.
 */
static __always_inline bool xdp_meta_put(struct netseg_hook_ctx *h)
{
	struct xdp_md *ctx = h->ctx;
	struct netseg_xdp_meta *m;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return false;
	m = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(m + 1) > data) /* can't be: the verifier wants it */
		return false;
	m->magic = NETSEG_XDP_META_MAGIC;
	m->ifindex = h->ifindex;
	m->generation = h->cfg->generation;
	return true;
}

/* TC ingress: XDP on this interface decided the packet at this generation. */
static __always_inline bool xdp_decided(struct netseg_hook_ctx *h)
{
	struct __sk_buff *skb = h->ctx;
	struct netseg_xdp_meta *m = (void *)(long)skb->data_meta;

	if ((void *)(m + 1) > (void *)(long)skb->data)
		return false;
	return m->magic == NETSEG_XDP_META_MAGIC && m->ifindex == h->ifindex &&
	       m->generation == h->cfg->generation;
}

static __always_inline int classify(struct netseg_hook_ctx *h, __u8 hook, struct netseg_pkt *p)
{
	struct netseg_flow_info fi = {};
	struct netseg_ct_key k = {};
	struct netseg_ct_entry *e;
	bool swapped = false, uplink = false;
	__u8 reason, dir = 0;

	if (hook == NETSEG_HOOK_XDP || hook == NETSEG_HOOK_TC_INGRESS ||
	    hook == NETSEG_HOOK_TC_EGRESS)
		uplink = iface_lookup(h);
	if (spoofed(h, hook, p, uplink))
		return drop_reason(h, p, NETSEG_REASON_SPOOFED);
	reason = frag_track(p, p, h->now);
	if (reason)
		return drop_reason(h, p, reason);
	if (!p->tracked) {
		e = icmp_related(h, p, &dir);
		/* The error travels against the quoted packet; an endpoint's hook
		 * trusts the flow only where its verdict covered that endpoint. */
		if (e && (hook == NETSEG_HOOK_XDP || ct_covered(h, hook, e, dir ^ 1)))
			return ct_related(h, hook, p, e, dir);
		return new_flow(h, hook, p, &k, false);
	}
	swapped = ct_make_key(p, &k);
	e = bpf_map_lookup_elem(&ns_ct, &k);
	if (!e || ct_stale(e, p, h->now)) {
		/* After conntrack: a known flow's packet never meets the cache. */
		if (hook == NETSEG_HOOK_XDP && deny_cache_hit(h, p, &fi))
			return act_drop(h, p, &fi);
		return new_flow(h, hook, p, &k, swapped);
	}
	if (hook == NETSEG_HOOK_XDP) {
		/* Revoked flows stop here; known ones on an uplink are decided
		 * here for TC ingress (xdp_meta_put()), others go on to TC. */
		if (e->generation == h->cfg->generation &&
		    (e->verdict == NETSEG_VERDICT_DENY || (uplink && xdp_meta_put(h))))
			return ct_established(h, p, e, ct_dir(e, swapped));
		count_stat(NETSEG_STAT_XDP_PASS, p->len);
		return NETSEG_ACT_PASS;
	}
	dir = ct_dir(e, swapped);
	if (e->generation != h->cfg->generation || !ct_covered(h, hook, e, dir)) {
		int r = ct_again(h, hook, p, e, dir);

		if (r >= 0)
			return r;
	}
	return ct_established(h, p, e, dir);
}

/* `parsed` is what parse_l3() returned for the packet. */
static __always_inline int netseg_run(struct netseg_hook_ctx *h, __u8 hook, struct netseg_pkt *p,
				      int parsed)
{
	if (parsed == NETSEG_PARSE_IMPOSSIBLE)
		return drop_reason(h, p, NETSEG_REASON_IMPOSSIBLE);
	if (parsed < 0)
		return drop_reason(h, p, NETSEG_REASON_MALFORMED);
	if (icmpv6_is_nd(p)) {
		count_stat(NETSEG_STAT_PASS_NON_IP, p->len);
		return NETSEG_ACT_PASS;
	}
	return classify(h, hook, p);
}

/* The uplink's source CIDR deny list (XDP only). */
static __always_inline bool prefilter_hit(const struct netseg_pkt *p)
{
	struct netseg_prefilter_val *v;
	struct netseg_lpm_key k = {};

	k.family = p->family;
	k.prefixlen = NETSEG_LPM_PLEN_HDR + (p->family == NETSEG_AF_INET ? 32 : 128);
	__builtin_memcpy(k.addr, p->saddr, 16);
	v = bpf_map_lookup_elem(&ns_prefilter, &k);
	if (!v)
		return false;
	__sync_fetch_and_add(&v->hits, 1);
	return true;
}

/* cgroup_skb sees the packet from the IP header on. */
static __always_inline bool hook_is_cgroup(__u8 hook)
{
	return hook == NETSEG_HOOK_CG_INGRESS || hook == NETSEG_HOOK_CG_EGRESS;
}

/*
 * The one entry sequence of every hook: Ethernet (not at cgroup_skb, which
 * sees the packet from the IP header on), non-IP, L3, classify.  owner:
 * see struct netseg_hook_ctx.  Returns NETSEG_ACT_*; with no configuration
 * yet, everything passes.
 */
static __always_inline int netseg_entry(void *ctx, __u8 hook, __u32 ifindex, __u64 owner)
{
	struct xdp_md *xdp = ctx;
	struct __sk_buff *skb = ctx;
	struct netseg_hook_ctx h = {};
	struct netseg_pkt p = {};
	struct netseg_cursor c;
	__be16 proto;
	int r;

	if (hook_init(&h, ctx, hook, ifindex, owner) < 0)
		return NETSEG_ACT_PASS;
	if (hook == NETSEG_HOOK_TC_INGRESS && xdp_decided(&h))
		return NETSEG_ACT_PASS;
	if (hook == NETSEG_HOOK_XDP) {
		c.pos = (void *)(long)xdp->data;
		c.end = (void *)(long)xdp->data_end;
		p.len = c.end - c.pos;
	} else {
		c.pos = (void *)(long)skb->data;
		c.end = (void *)(long)skb->data_end;
		p.len = skb->len;
	}
	if (hook_is_cgroup(hook))
		proto = skb->protocol;
	/* A cut VLAN header is as malformed as a cut IP header. */
	else if (parse_eth(&c, &proto) < 0)
		return drop_reason(&h, &p, NETSEG_REASON_MALFORMED);
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6)) {
		count_stat(NETSEG_STAT_PASS_NON_IP, p.len);
		return NETSEG_ACT_PASS;
	}
	r = parse_l3(&c, proto, &p);
	if (hook == NETSEG_HOOK_XDP && r >= 0 && prefilter_hit(&p))
		return drop_reason(&h, &p, NETSEG_REASON_PREFILTER);
	return netseg_run(&h, hook, &p, r);
}

#endif
