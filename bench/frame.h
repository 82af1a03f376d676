/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Frames and flows for the benchmark tools (gen.c, cost.c), header-only
 * because every bench/NAME.c builds into a binary of its own.
 *
 * A frame is Ethernet + IPv4/IPv6 (no options) + UDP/TCP (no options) and
 * an all-zero payload.  Flow f (0 <= f < nflows) has source port
 * sport0 + f % span and the source address's last 32 bits + f / span,
 * span = 65536 - sport0 capped at nflows.  gen.bpf.c computes the same
 * mapping per packet; gen reply and bench/run.sh rely on it too.
 */
#ifndef NETSEG_BENCH_FRAME_H
#define NETSEG_BENCH_FRAME_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/types.h>

#define ETH_HDR 14
#define FCS 4	      /* frame sizes on the command line count it */
#define IMIX_SMALL 64 /* Ethernet frame sizes of the 7:4:1 simple IMIX */
#define IMIX_MID 594
#define IMIX_LARGE 1518

struct gen_spec {
	const char *dev; /* send: where packets go out */
	int ifindex;
	int v6, tcp;
	__u8 tcp_flags;
	__u8 smac[6], dmac[6];
	__u8 saddr[16], daddr[16]; /* saddr: flow 0's source */
	__u16 sport0, dport;
	__u32 nflows;
	__u16 len[3];	 /* lengths without FCS, IMIX small/mid/large */
	__u64 rate;	 /* packets per second, 0 = as fast as possible */
	double duration; /* seconds */
	__u64 count;	 /* packets, 0 = until the duration is over */
	__u64 first;	 /* the first packet's flow index */
	int cpu;	 /* -1 = don't pin */
	__u32 batch;	 /* frames per test-run batch (kernel: <= 256) */
	__u64 repeat;	 /* packets per test-run call */
	bool family_set, src_set, smac_set, dmac_set, pktgen;
};

static inline size_t frame_l3_len(const struct gen_spec *s)
{
	return s->v6 ? 40 : 20;
}

static inline size_t frame_l4_hdr_len(const struct gen_spec *s)
{
	return s->tcp ? 20 : 8;
}

/* Smallest frame (no FCS) the headers fit in, at least a 64-byte frame. */
static inline size_t frame_min_len(const struct gen_spec *s)
{
	size_t n = ETH_HDR + frame_l3_len(s) + frame_l4_hdr_len(s);

	return n < IMIX_SMALL - FCS ? IMIX_SMALL - FCS : n;
}

static inline __u32 flow_span(const struct gen_spec *s)
{
	__u32 span = 65536 - s->sport0;

	return s->nflows && s->nflows < span ? s->nflows : span;
}

static inline void flow_tuple(const struct gen_spec *s, __u32 f, __u8 saddr[16], __u16 *sport)
{
	__u32 span = flow_span(s), last;

	memcpy(saddr, s->saddr, 16);
	memcpy(&last, saddr + (s->v6 ? 12 : 0), 4);
	last = htonl(ntohl(last) + f / span);
	memcpy(saddr + (s->v6 ? 12 : 0), &last, 4);
	*sport = s->sport0 + f % span;
}

static inline __u32 csum_add(__u32 s, const void *p, size_t len)
{
	const __u8 *b = p;
	__u16 w;

	for (; len > 1; len -= 2, b += 2) {
		memcpy(&w, b, 2);
		s += w;
	}
	if (len)
		s += *b; /* as stored: the pad byte is zero */
	return s;
}

static inline __u16 csum_fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

static inline void put16(__u8 *p, __u16 host)
{
	__u16 v = htons(host);

	memcpy(p, &v, 2);
}

static inline __u16 get16(const __u8 *p)
{
	__u16 v;

	memcpy(&v, p, 2);
	return ntohs(v);
}

/* Pseudo-header sum for this source and L4 length. */
static inline __u32 pseudo_sum(const struct gen_spec *s, const __u8 *saddr, __u16 l4len)
{
	__u8 w[4] = { 0, 0, 0, s->tcp ? IPPROTO_TCP : IPPROTO_UDP };
	__u8 l[2];
	__u32 sum;

	put16(l, l4len);
	sum = csum_add(0, saddr, s->v6 ? 16 : 4);
	sum = csum_add(sum, s->daddr, s->v6 ? 16 : 4);
	sum = csum_add(sum, w, 4);
	return csum_add(sum, l, 2);
}

static inline void build_l3(const struct gen_spec *s, __u8 *buf, size_t len, const __u8 *saddr,
			    bool zero_var)
{
	__u8 proto = s->tcp ? IPPROTO_TCP : IPPROTO_UDP;

	if (s->v6) {
		buf[14] = 0x60;
		put16(buf + 18, zero_var ? 0 : len - ETH_HDR - 40);
		buf[20] = proto;
		buf[21] = 64;
		memcpy(buf + 22, saddr, 16);
		memcpy(buf + 38, s->daddr, 16);
		return;
	}
	buf[14] = 0x45;
	put16(buf + 16, zero_var ? 0 : len - ETH_HDR);
	buf[22] = 64;
	buf[23] = proto;
	memcpy(buf + 26, saddr, 4);
	memcpy(buf + 30, s->daddr, 4);
	if (!zero_var) {
		__u16 c = ~csum_fold(csum_add(0, buf + 14, 20));

		memcpy(buf + 24, &c, 2);
	}
}

/*
 * Flow f's frame of length `len` into buf (zeroed first); returns the L4
 * offset.  With `zero_var` the fields the generator rewrites (the
 * source's last 32 bits, sport, lengths, checksums) stay 0, so that sums
 * over that frame are the constant parts.
 */
static inline size_t frame_build(const struct gen_spec *s, __u32 f, __u8 *buf, size_t len,
				 bool zero_var)
{
	size_t off = ETH_HDR + frame_l3_len(s);
	__u16 l4len = len - off, sport, c;
	__u8 saddr[16];

	memset(buf, 0, len);
	memcpy(buf, s->dmac, 6);
	memcpy(buf + 6, s->smac, 6);
	put16(buf + 12, s->v6 ? 0x86dd : 0x0800);
	flow_tuple(s, f, saddr, &sport);
	if (zero_var) {
		memset(saddr + (s->v6 ? 12 : 0), 0, 4);
		sport = 0;
	}
	build_l3(s, buf, len, saddr, zero_var);
	put16(buf + off, sport);
	put16(buf + off + 2, s->dport);
	if (s->tcp) {
		put16(buf + off + 6, 1); /* seq 1 */
		put16(buf + off + 10, s->tcp_flags & 0x10 ? 1 : 0);
		buf[off + 12] = 5 << 4;
		buf[off + 13] = s->tcp_flags;
		put16(buf + off + 14, 65535);
	} else if (!zero_var) {
		put16(buf + off + 4, l4len);
	}
	if (zero_var)
		return off;
	c = ~csum_fold(csum_add(pseudo_sum(s, saddr, l4len), buf + off, l4len));
	if (!s->tcp && !c)
		c = 0xffff;
	memcpy(buf + off + (s->tcp ? 16 : 6), &c, 2);
	return off;
}

/* The constant parts of both checksums, as gen.bpf.c adds them up. */
static inline void frame_const_sums(const struct gen_spec *s, __u32 *l4sum, __u32 *ipsum)
{
	__u8 buf[128], saddr[16];
	size_t off = frame_build(s, 0, buf, sizeof(buf), true);

	memcpy(saddr, buf + (s->v6 ? 22 : 26), s->v6 ? 16 : 4);
	*l4sum = csum_add(pseudo_sum(s, saddr, 0), buf + off, frame_l4_hdr_len(s));
	*ipsum = s->v6 ? 0 : csum_add(0, buf + 14, 20);
}

/* 0 when buf is a valid frame of flow f and length want_len. */
static inline int frame_check(const struct gen_spec *s, const __u8 *buf, size_t len, __u32 f,
			      size_t want_len)
{
	size_t off = ETH_HDR + frame_l3_len(s);
	__u16 sport, l4len = len - off;
	const char *what = NULL;
	__u8 saddr[16];

	flow_tuple(s, f, saddr, &sport);
	if (len != want_len)
		what = "length";
	else if (memcmp(buf + (s->v6 ? 22 : 26), saddr, s->v6 ? 16 : 4) ||
		 get16(buf + off) != sport)
		what = "source address or port";
	else if (!s->v6 && (csum_fold(csum_add(0, buf + 14, 20)) != 0xffff ||
			    get16(buf + 16) != len - ETH_HDR))
		what = "IPv4 length or checksum";
	else if (s->v6 && get16(buf + 18) != l4len)
		what = "IPv6 payload length";
	else if (!s->tcp && get16(buf + off + 4) != l4len)
		what = "UDP length";
	else if (csum_fold(csum_add(pseudo_sum(s, saddr, l4len), buf + off, l4len)) != 0xffff)
		what = "L4 checksum";
	if (what)
		fprintf(stderr, "error: generated frame %u has a bad %s (%zu bytes)\n", f, what,
			len);
	return what ? -1 : 0;
}

#endif
