/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Header cursor parsing shared by XDP, TC and cgroup_skb programs.  Each
 * parser bounds-checks, advances the cursor and returns the next protocol
 * or a negative value (NETSEG_PARSE_*) on a malformed packet.
 */
#ifndef NETSEG_BPF_PARSE_H
#define NETSEG_BPF_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <netseg/abi.h>

#define NETSEG_PARSE_MALFORMED (-1)
#define NETSEG_PARSE_IMPOSSIBLE (-2)

/* linux/icmp.h drags in libc socket headers, which -target bpf lacks. */
#define NETSEG_ICMP_ECHOREPLY 0
#define NETSEG_ICMP_ECHO 8
#define NETSEG_ICMP6_ECHO 128
#define NETSEG_ICMP6_ECHOREPLY 129
#define NETSEG_ND_HOP_LIMIT 255 /* RFC 4861: proves the packet wasn't routed */

struct netseg_icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 csum;
	__be16 id; /* echo request/reply only */
	__be16 seq;
};
#define NETSEG_VLAN_MAX 2 /* 802.1Q/802.1ad tags skipped */

enum netseg_frag {
	NETSEG_FRAG_NONE = 0,
	NETSEG_FRAG_FIRST, /* offset 0, more fragments follow */
	NETSEG_FRAG_LATER, /* offset > 0: no L4 header here */
};

/* What the classifier needs of a packet, filled by the parsers. */
struct netseg_pkt {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;	    /* ICMP echo: the echo id */
	__be16 dport;	    /* ICMP echo: the echo id */
	__be16 policy_port; /* dport, or htons(type << 8 | code) for ICMP */
	__u8 family;	    /* NETSEG_AF_INET or NETSEG_AF_INET6 */
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 frag;    /* enum netseg_frag */
	__u8 tracked; /* has a conntrack tuple (not ICMP errors etc.) */
	/* IPv6, for icmpv6_is_nd(): hop limit, first next header, and the next after a hop-by-hop */
	__u8 hop_limit;
	__u8 ip6_next;
	__u8 ip6_hbh_next;
	__u32 frag_id;
	__u32 len; /* bytes, for counters and events */
	/* ICMP errors: the flow of the quoted packet (as it was sent). */
	struct {
		__u8 saddr[16];
		__u8 daddr[16];
		__be16 sport;
		__be16 dport;
		__u8 proto;
		__u8 valid;
	} inner;
};

struct netseg_cursor {
	void *pos;
	void *end;
};

struct netseg_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10
#define TCPF_URG 0x20

/* Returns the EtherType (network order) after up to two VLAN tags; more is malformed. */
static __always_inline int parse_eth(struct netseg_cursor *c, __be16 *proto)
{
	struct ethhdr *eth = c->pos;
	struct netseg_vlan_hdr *vh;
	__be16 p;

	if ((void *)(eth + 1) > c->end)
		return NETSEG_PARSE_MALFORMED;
	c->pos = eth + 1;
	p = eth->h_proto;
#pragma unroll
	for (int i = 0; i < NETSEG_VLAN_MAX; i++) {
		if (p != bpf_htons(ETH_P_8021Q) && p != bpf_htons(ETH_P_8021AD))
			break;
		vh = c->pos;
		if ((void *)(vh + 1) > c->end)
			return NETSEG_PARSE_MALFORMED;
		c->pos = vh + 1;
		p = vh->proto;
	}
	/*
	 * More tags than we walk: the frame can't be inspected, so it is
	 * refused rather than passed as non-IP -- a host with stacked VLAN
	 * devices would otherwise deliver its IP packet unseen.
	 */
	if (p == bpf_htons(ETH_P_8021Q) || p == bpf_htons(ETH_P_8021AD))
		return NETSEG_PARSE_MALFORMED;
	*proto = p;
	return 0;
}

static __always_inline void copy_v4(__u8 *dst, __be32 a)
{
	__builtin_memset(dst, 0, 16);
	__builtin_memcpy(dst, &a, 4);
}

/* Returns the L4 protocol, or a negative NETSEG_PARSE_* value. */
static __always_inline int parse_ipv4(struct netseg_cursor *c, struct netseg_pkt *p)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;
	__u16 frag;

	if ((void *)(ip + 1) > c->end)
		return NETSEG_PARSE_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return NETSEG_PARSE_MALFORMED;
	hlen = ip->ihl * 4;
	if (c->pos + hlen > c->end || bpf_ntohs(ip->tot_len) < hlen)
		return NETSEG_PARSE_MALFORMED;
	/* A multicast or limited-broadcast source can't start a flow. */
	if ((ip->saddr & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000) || ip->saddr == 0xffffffff)
		return NETSEG_PARSE_IMPOSSIBLE;
	p->family = NETSEG_AF_INET;
	p->proto = ip->protocol;
	copy_v4(p->saddr, ip->saddr);
	copy_v4(p->daddr, ip->daddr);
	frag = bpf_ntohs(ip->frag_off);
	p->frag_id = bpf_ntohs(ip->id);
	if (frag & 0x1fff)
		p->frag = NETSEG_FRAG_LATER;
	else if (frag & 0x2000)
		p->frag = NETSEG_FRAG_FIRST;
	c->pos += hlen;
	return ip->protocol;
}

struct netseg_ipv6_opt {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct netseg_ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

/* Skips extension headers; records the fragment header if there is one. */
static __always_inline int parse_ipv6_ext(struct netseg_cursor *c, struct netseg_pkt *p, __u8 next)
{
	struct netseg_ipv6_opt *o;
	struct netseg_ipv6_frag *f;
	__u16 off;

	/* One more round than headers skipped: the last finds the L4 header. */
#pragma unroll
	for (int i = 0; i <= NETSEG_IPV6_EXT_MAX; i++) {
		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			o = c->pos;
			if ((void *)(o + 1) > c->end)
				return NETSEG_PARSE_MALFORMED;
			/* AH counts 4-byte units minus 2, the others 8-byte. */
			c->pos += next == IPPROTO_AH ? (o->hdrlen + 2) * 4 : (o->hdrlen + 1) * 8;
			next = o->nexthdr;
			break;
		case IPPROTO_FRAGMENT:
			f = c->pos;
			if ((void *)(f + 1) > c->end)
				return NETSEG_PARSE_MALFORMED;
			next = f->nexthdr;
			off = bpf_ntohs(f->frag_off);
			p->frag_id = bpf_ntohl(f->identification);
			if (off & 0xfff8)
				p->frag = NETSEG_FRAG_LATER;
			else if (off & 1)
				p->frag = NETSEG_FRAG_FIRST;
			c->pos = f + 1;
			break;
		default:
			return next;
		}
	}
	/* Longer chains than we walk are refused rather than guessed at. */
	return NETSEG_PARSE_MALFORMED;
}

static __always_inline int parse_ipv6(struct netseg_cursor *c, struct netseg_pkt *p)
{
	struct ipv6hdr *ip6 = c->pos;
	struct netseg_ipv6_opt *o;
	int next;

	if ((void *)(ip6 + 1) > c->end)
		return NETSEG_PARSE_MALFORMED;
	if (ip6->version != 6)
		return NETSEG_PARSE_MALFORMED;
	if (ip6->saddr.in6_u.u6_addr8[0] == 0xff)
		return NETSEG_PARSE_IMPOSSIBLE;
	p->family = NETSEG_AF_INET6;
	p->hop_limit = ip6->hop_limit;
	p->ip6_next = ip6->nexthdr;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	c->pos = ip6 + 1;
	/*
	 * Copied from the packet, not tracked through the walk below: the
	 * verifier then sees one unknown value rather than one per path.
	 */
	o = c->pos;
	if ((void *)(o + 1) <= c->end)
		p->ip6_hbh_next = o->nexthdr;
	next = parse_ipv6_ext(c, p, ip6->nexthdr);
	if (next >= 0)
		p->proto = next;
	return next;
}

/* TCP flag combinations no stack sends: scans and evasion attempts. */
static __always_inline bool tcp_flags_impossible(__u8 f)
{
	if (!(f & (TCPF_SYN | TCPF_ACK | TCPF_RST | TCPF_FIN)))
		return true;
	if ((f & TCPF_SYN) && (f & (TCPF_FIN | TCPF_RST)))
		return true;
	if ((f & (TCPF_FIN | TCPF_PSH | TCPF_URG)) == (TCPF_FIN | TCPF_PSH | TCPF_URG) &&
	    !(f & TCPF_ACK))
		return true;
	return false;
}

static __always_inline int parse_ports(struct netseg_cursor *c, struct netseg_pkt *p, __u32 hdr_min)
{
	__be16 *ports = c->pos;

	if (c->pos + hdr_min > c->end)
		return NETSEG_PARSE_MALFORMED;
	p->sport = ports[0];
	p->dport = ports[1];
	p->policy_port = ports[1];
	p->tracked = 1;
	if (!p->sport || !p->dport)
		return NETSEG_PARSE_IMPOSSIBLE;
	return 0;
}

/*
 * ICMP queries answered by a reply carrying the same identifier (bytes 4-5):
 * echo 8/0, timestamp 13/14, information 15/16, address mask 17/18 (RFC
 * 792, 950); ICMPv6 echo 128/129 and node information 139/140 (RFC 4443,
 * 4620 -- its Qtype sits where the identifier would, and is echoed too).
 * Returns the request type of the pair `type` belongs to, 0 for none.
 */
static __always_inline __u8 icmp_query_of(__u8 proto, __u8 type)
{
	/* Bit n: type n (v4), type 128 + n (v6), is a query or its reply. */
	__u32 n = proto == IPPROTO_ICMP ? type : (__u32)type - 128;
	__u32 mask = proto == IPPROTO_ICMP ? 0x7e101 : 0x1803;

	if (n >= 32 || !((mask >> n) & 1))
		return 0;
	/* Echo's pair is 8/0 (128/129); the others are odd request, even reply. */
	if (n <= 8)
		return proto == IPPROTO_ICMP ? NETSEG_ICMP_ECHO : NETSEG_ICMP6_ECHO;
	return (type - 1) | 1;
}

/* The type of a tracked ICMP packet, from policy_port: fragments keep that. */
static __always_inline __u8 icmp_pkt_type(const struct netseg_pkt *p)
{
	return bpf_ntohs(p->policy_port) >> 8;
}

/* A reply of an ICMP query pair: it never opens a flow of its own. */
static __always_inline bool icmp_is_reply(const struct netseg_pkt *p)
{
	__u8 t = icmp_pkt_type(p);

	if (p->proto != IPPROTO_ICMP && p->proto != IPPROTO_ICMPV6)
		return false;
	return icmp_query_of(p->proto, t) != t;
}

static __always_inline bool icmp_is_error(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP)
		return type == 3 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/*
 * The header quoted by an ICMP error: enough to find the flow it is about
 * in conntrack (nftables' "related").  A quote we can't read is simply not
 * related; the error is then judged as a packet of its own.
 */
static __always_inline void parse_icmp_quote(struct netseg_cursor *c, struct netseg_pkt *p)
{
	void *q = c->pos + sizeof(struct netseg_icmp_hdr);
	struct iphdr *ip = q;
	struct ipv6hdr *ip6 = q;
	__be16 *ports;

	if (p->family == NETSEG_AF_INET) {
		if ((void *)(ip + 1) > c->end || ip->ihl != 5)
			return;
		copy_v4(p->inner.saddr, ip->saddr);
		copy_v4(p->inner.daddr, ip->daddr);
		p->inner.proto = ip->protocol;
		ports = (void *)(ip + 1);
	} else {
		if ((void *)(ip6 + 1) > c->end)
			return;
		__builtin_memcpy(p->inner.saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->inner.daddr, &ip6->daddr, 16);
		p->inner.proto = ip6->nexthdr;
		ports = (void *)(ip6 + 1);
	}
	if (p->inner.proto != IPPROTO_TCP && p->inner.proto != IPPROTO_UDP &&
	    p->inner.proto != IPPROTO_SCTP)
		return;
	if ((void *)(ports + 2) > c->end)
		return;
	p->inner.sport = ports[0];
	p->inner.dport = ports[1];
	p->inner.valid = 1;
}

static __always_inline int parse_icmp(struct netseg_cursor *c, struct netseg_pkt *p)
{
	struct netseg_icmp_hdr *ic = c->pos; /* ICMPv4 and v6 alike */

	if ((void *)(ic + 1) > c->end)
		return NETSEG_PARSE_MALFORMED;
	p->icmp_type = ic->type;
	p->icmp_code = ic->code;
	p->policy_port = bpf_htons((__u16)ic->type << 8 | ic->code);
	if (icmp_query_of(p->proto, icmp_pkt_type(p))) {
		p->sport = ic->id;
		p->dport = ic->id;
		p->tracked = 1;
	} else if (icmp_is_error(p->proto, ic->type)) {
		parse_icmp_quote(c, p);
	}
	return 0;
}

/* Fills ports/ICMP fields; non-first fragments have no L4 header. */
static __always_inline int parse_l4(struct netseg_cursor *c, struct netseg_pkt *p)
{
	struct tcphdr *th;
	__u8 flags;

	if (p->frag == NETSEG_FRAG_LATER)
		return 0;
	switch (p->proto) {
	case IPPROTO_TCP:
		th = c->pos;
		if ((void *)(th + 1) > c->end || th->doff < 5 || c->pos + th->doff * 4 > c->end)
			return NETSEG_PARSE_MALFORMED;
		flags = ((__u8 *)th)[13];
		p->tcp_flags = flags;
		if (tcp_flags_impossible(flags))
			return NETSEG_PARSE_IMPOSSIBLE;
		return parse_ports(c, p, sizeof(*th));
	case IPPROTO_UDP:
		return parse_ports(c, p, sizeof(struct udphdr));
	case IPPROTO_SCTP:
		return parse_ports(c, p, 12);
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return parse_icmp(c, p);
	default:
		return 0; /* other protocols: policy on proto alone */
	}
}

/*
 * Neighbour discovery (RFC 4861: 133-137) and MLD (RFC 2710/3810: 130-132,
 * 143) must pass or IPv6 stops working -- but only as the link-local
 * traffic they are, else any sender reaches a raw ICMPv6 socket anywhere
 * past every rule.  Anything else with these types is an ICMPv6 flow for
 * the policy.
 *  - ND: hop limit 255 (a router would have decremented it, so the packet
 *    was sent on this link), no extension header and no fragment (RFC
 *    6980), a unicast or link-scope multicast (ff02::/16: all-nodes,
 *    all-routers, solicited-node) destination.  Unicast to a global
 *    address is legit (unreachability detection); once the node forwards
 *    such a packet its hop limit is 254 and the next hook judges it.
 *  - MLD: hop limit 1 (never forwarded), a multicast destination, at most
 *    the hop-by-hop header that carries the Router Alert.
 * Only in IPv6: protocol 58 inside IPv4 is no ND.
 */
static __always_inline bool icmpv6_is_nd(const struct netseg_pkt *p)
{
	__u8 t = p->icmp_type;

	if (p->family != NETSEG_AF_INET6 || p->proto != IPPROTO_ICMPV6 ||
	    p->frag != NETSEG_FRAG_NONE)
		return false;
	if (t >= 133 && t <= 137)
		return p->hop_limit == NETSEG_ND_HOP_LIMIT && p->ip6_next == IPPROTO_ICMPV6 &&
		       (p->daddr[0] != 0xff || p->daddr[1] == 0x02);
	if ((t >= 130 && t <= 132) || t == 143)
		return p->hop_limit == 1 && p->daddr[0] == 0xff &&
		       (p->ip6_next == IPPROTO_ICMPV6 ||
			(p->ip6_next == IPPROTO_HOPOPTS && p->ip6_hbh_next == IPPROTO_ICMPV6));
	return false;
}

/* From the IP header on: used by cgroup_skb programs and after parse_eth. */
static __always_inline int parse_l3(struct netseg_cursor *c, __be16 proto, struct netseg_pkt *p)
{
	int r;

	if (proto == bpf_htons(ETH_P_IP))
		r = parse_ipv4(c, p);
	else if (proto == bpf_htons(ETH_P_IPV6))
		r = parse_ipv6(c, p);
	else
		return NETSEG_PARSE_MALFORMED;
	if (r < 0)
		return r;
	return parse_l4(c, p);
}

#endif
