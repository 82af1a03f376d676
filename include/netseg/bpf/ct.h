/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connection tracking: one LRU hash for v4 and v6, keyed by a normalised
 * 5-tuple so that both directions find the same entry.
 */
#ifndef NETSEG_BPF_CT_H
#define NETSEG_BPF_CT_H

#include <netseg/bpf/maps.h>
#include <netseg/bpf/parse.h>

/* Any consistent total order will do; compare as two 64-bit words. */
static __always_inline int addr_cmp(const __u8 *a, const __u8 *b)
{
	__u64 a0 = *(__u64 *)a, a1 = *(__u64 *)(a + 8);
	__u64 b0 = *(__u64 *)b, b1 = *(__u64 *)(b + 8);

	if (a0 != b0)
		return a0 < b0 ? -1 : 1;
	if (a1 != b1)
		return a1 < b1 ? -1 : 1;
	return 0;
}

/*
 * ICMP queries: a reply's sender is the responder, so the requester is "b"
 * when a request's source or a reply's destination is.  With one address
 * on both sides (loopback) there are no sides to tell.
 */
static __always_inline void ct_icmp_key(const struct netseg_pkt *p, struct netseg_ct_key *k,
					bool swap, bool same_addr)
{
	__u8 t = icmp_pkt_type(p);

	k->icmp_type = icmp_query_of(p->proto, t);
	if (!same_addr && swap == (k->icmp_type == t))
		k->icmp_flags = NETSEG_CTK_REQ_IS_B;
}

/* The normalised 5-tuple; true when the source became the key's "b" side. */
static __always_inline bool ct_key_fill(const __u8 *saddr, const __u8 *daddr, __be16 sport,
					__be16 dport, __u8 proto, __u8 family,
					struct netseg_ct_key *k)
{
	int c = addr_cmp(saddr, daddr);
	bool swap = c > 0 || (c == 0 && bpf_ntohs(sport) > bpf_ntohs(dport));

	if (swap) {
		__builtin_memcpy(k->a_addr, daddr, 16);
		__builtin_memcpy(k->b_addr, saddr, 16);
		k->a_port = dport;
		k->b_port = sport;
	} else {
		__builtin_memcpy(k->a_addr, saddr, 16);
		__builtin_memcpy(k->b_addr, daddr, 16);
		k->a_port = sport;
		k->b_port = dport;
	}
	k->proto = proto;
	k->family = family;
	k->icmp_type = 0;
	k->icmp_flags = 0;
	return swap;
}

/* Returns true when the packet's source became the key's "b" side. */
static __always_inline bool ct_make_key(const struct netseg_pkt *p, struct netseg_ct_key *k)
{
	bool swap = ct_key_fill(p->saddr, p->daddr, p->sport, p->dport, p->proto, p->family, k);

	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6)
		ct_icmp_key(p, k, swap, addr_cmp(p->saddr, p->daddr) == 0);
	return swap;
}

/*
 * The key of the packet an ICMP error quotes, built in place: a second
 * struct netseg_pkt on the stack is what pushed the TC programs past the
 * 512-byte BPF stack.  The quote carries no ICMP type (type 0 is assumed,
 * as a zeroed packet would have).
 */
static __always_inline bool ct_quote_key(const struct netseg_pkt *p, struct netseg_ct_key *k)
{
	__u8 proto = p->inner.proto;
	bool swap = ct_key_fill(p->inner.saddr, p->inner.daddr, p->inner.sport, p->inner.dport,
				proto, p->family, k);

	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		k->icmp_type = icmp_query_of(proto, 0);
		if (addr_cmp(p->inner.saddr, p->inner.daddr) != 0 && swap == (k->icmp_type == 0))
			k->icmp_flags = NETSEG_CTK_REQ_IS_B;
	}
	return swap;
}

static __always_inline __u8 ct_dir(const struct netseg_ct_entry *e, bool swapped)
{
	bool orig_is_b = e->flags & NETSEG_CTF_ORIG_IS_B;

	return orig_is_b == swapped ? NETSEG_DIR_ORIG : NETSEG_DIR_REPLY;
}

/*
 * An entry is unusable when it timed out, or when a closed TCP flow's
 * 5-tuple is reused by a fresh SYN: both start a new flow.
 */
static __always_inline bool ct_stale(const struct netseg_ct_entry *e, const struct netseg_pkt *p,
				     __u64 now)
{
	if (netseg_ct_expired(e, now))
		return true;
	return e->tcp_state == NETSEG_TCP_CLOSING && p->proto == IPPROTO_TCP &&
	       (p->tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN;
}

static __always_inline void ct_tcp_update(struct netseg_ct_entry *e, const struct netseg_pkt *p,
					  __u8 dir)
{
	if (p->proto != IPPROTO_TCP)
		return;
	e->tcp_flags[dir & 1] |= p->tcp_flags;
	if (p->tcp_flags & (TCPF_FIN | TCPF_RST))
		e->tcp_state = NETSEG_TCP_CLOSING;
	else if ((e->tcp_state == NETSEG_TCP_SYN_SENT || e->tcp_state == NETSEG_TCP_MIDSTREAM) &&
		 dir == NETSEG_DIR_REPLY)
		e->tcp_state = NETSEG_TCP_ESTABLISHED;
}

/* Counters move only at the hook that owns the flow (see abi.h). */
static __always_inline void ct_account(struct netseg_ct_entry *e, const struct netseg_pkt *p,
				       __u8 dir, __u64 owner, __u64 now)
{
	dir &= 1;
	e->last_seen_ns = now;
	if (dir == NETSEG_DIR_REPLY)
		e->flags |= NETSEG_CTF_SEEN_REPLY;
	ct_tcp_update(e, p, dir);
	if (e->owner != owner)
		return;
	__sync_fetch_and_add(&e->packets[dir], 1);
	__sync_fetch_and_add(&e->bytes[dir], p->len);
}

static __always_inline __u8 ct_initial_tcp_state(const struct netseg_pkt *p)
{
	if (p->proto != IPPROTO_TCP)
		return NETSEG_TCP_NONE;
	if ((p->tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN)
		return NETSEG_TCP_SYN_SENT;
	/*
	 * Picked up mid-stream (entry evicted or flushed) or a lone segment:
	 * established only once the other side answers.  The checksum is not
	 * verified here (README.md, Security): the short timeout is what
	 * keeps junk from holding entries.
	 */
	return NETSEG_TCP_MIDSTREAM;
}

#endif
