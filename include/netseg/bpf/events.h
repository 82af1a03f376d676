/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Flow events to the one ring buffer.  Denies first pass a per-CPU token
 * bucket so a flood of denied packets can't flood userspace, and so do the
 * flow starts no rule logs (NETSEG_EV_FLOW_SEEN, a bucket of their own: a
 * connection storm must not crowd out denies); every record lost (bucket
 * empty or ring full) is counted.
 */
#ifndef NETSEG_BPF_EVENTS_H
#define NETSEG_BPF_EVENTS_H

#include <netseg/bpf/maps.h>
#include <netseg/bpf/counters.h>
#include <netseg/bpf/parse.h>

struct netseg_hook_ctx {
	void *ctx;		/* struct __sk_buff * or struct xdp_md * */
	__u64 now;
	__u64 owner;		/* ifindex, or cgroup id for cgroup hooks */
	__u32 ifindex;
	__u8 hook;		/* enum netseg_hook: a compile-time constant */
	__u8 pad[3];
	__u32 ep_id;		/* XDP, TC: the endpoint behind ifindex, else NETSEG_ID_ANY */
	__u32 src_id;		/* the source's ipcache identity once looked up, else NETSEG_ID_ANY */
	struct netseg_config *cfg;
};

/* Flow identity and decision, carried from the classifier to an event. */
struct netseg_flow_info {
	__u64 flow_id;
	__u32 src_id;
	__u32 dst_id;
	__u32 rule_id;
	__u8 reason;
};

static __always_inline bool bucket_take(struct netseg_hook_ctx *h, __u32 slot,
					__u32 rate, __u32 burst)
{
	struct netseg_bucket *b = bpf_map_lookup_elem(&ns_buckets, &slot);
	__u64 cap, elapsed;

	if (!b || !rate)
		return false;
	cap = (__u64)burst * NETSEG_NSEC;
	elapsed = h->now - b->last_ns;
	/* Bound the product: a long-idle bucket is simply full. */
	if (elapsed > 100 * NETSEG_NSEC)
		elapsed = 100 * NETSEG_NSEC;
	b->tokens += elapsed * rate;
	if (b->tokens > cap)
		b->tokens = cap;
	b->last_ns = h->now;
	if (b->tokens < NETSEG_NSEC)
		return false;
	b->tokens -= NETSEG_NSEC;
	return true;
}

static __always_inline void emit_event(struct netseg_hook_ctx *h,
				       const struct netseg_pkt *p, __u8 type,
				       const struct netseg_flow_info *fi)
{
	struct netseg_event *e;

	if (type == NETSEG_EV_DENY &&
	    !bucket_take(h, NETSEG_BUCKET_DENY, h->cfg->deny_rate, h->cfg->deny_burst)) {
		count_stat(NETSEG_STAT_EV_LOST_RATE, 0);
		return;
	}
	if (type == NETSEG_EV_FLOW_SEEN &&
	    !bucket_take(h, NETSEG_BUCKET_SEEN, NETSEG_SEEN_RATE, NETSEG_SEEN_BURST)) {
		count_stat(NETSEG_STAT_EV_LOST_SEEN, 0);
		return;
	}
	e = bpf_ringbuf_reserve(&ns_events, sizeof(*e), 0);
	if (!e) {
		count_stat(NETSEG_STAT_EV_LOST_RING, 0);
		return;
	}
	e->ts_ns = h->now;
	e->flow_id = fi->flow_id;
	e->type = type;
	e->reason = fi->reason;
	e->hook = h->hook;
	e->family = p->family;
	e->proto = p->proto;
	e->tcp_flags = p->tcp_flags;
	e->icmp_type = p->icmp_type;
	e->icmp_code = p->icmp_code;
	e->ifindex = h->ifindex;
	e->rule_id = fi->rule_id;
	e->src_id = fi->src_id;
	e->dst_id = fi->dst_id;
	e->pkt_len = p->len;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	e->sport = p->sport;
	e->dport = p->dport;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	count_stat(NETSEG_STAT_EV_SENT, 0);
}

#endif
