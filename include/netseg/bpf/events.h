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
#include <netseg/bpf/hook.h>

/*
 * A new flow's id: the ns clock (unique per CPU, where the coarse h->now
 * is not) and the CPU.  A denied new flow's id is only needed if its event
 * is sent: NETSEG_FLOW_ID_NEW asks emit_event() to make it from the clock
 * it reads anyway.
 */
#define NETSEG_FLOW_ID_NEW (~0ULL)

static __always_inline __u64 flow_id_at(__u64 ns)
{
	return ns << 8 | (bpf_get_smp_processor_id() & 0xff);
}

/* Flow identity and decision, carried from the classifier to an event. */
struct netseg_flow_info {
	__u64 flow_id;
	__u32 src_id;
	__u32 dst_id;
	__u32 rule_id;
	__u8 reason;
};

static __always_inline bool bucket_take(struct netseg_hook_ctx *h, __u32 slot, __u32 rate,
					__u32 burst)
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

static __always_inline void emit_event(struct netseg_hook_ctx *h, const struct netseg_pkt *p,
				       __u8 type, const struct netseg_flow_info *fi)
{
	struct netseg_event *e;
	__u64 ns;

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
	ns = bpf_ktime_get_ns(); /* flow records order by it: not a tick */
	e->ts_ns = ns;
	e->flow_id = fi->flow_id == NETSEG_FLOW_ID_NEW ? flow_id_at(ns) : fi->flow_id;
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
