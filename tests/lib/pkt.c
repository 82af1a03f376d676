// SPDX-License-Identifier: GPL-2.0-only
/* Frame builder for the BPF fixtures; see pkt.h. */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <string.h>

#include "pkt.h"

static const uint8_t mac_src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v & 0xffff);
}

static uint8_t *room(struct pkt *p, size_t n)
{
	uint8_t *b;

	if (p->len + n > PKT_MAX)
		n = 0; /* callers build small frames; never overflow */
	b = p->buf + p->len;
	memset(b, 0, n);
	p->len += n;
	return b;
}

void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->l3_off = -1;
	p->l4_off = -1;
}

int pkt_addr(int af, const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	return inet_pton(af == 6 ? AF_INET6 : AF_INET, text, out) == 1 ? 0 : -1;
}

void pkt_eth(struct pkt *p, uint16_t ethertype)
{
	uint8_t *b = room(p, ETH_HLEN);

	memcpy(b, mac_dst, 6);
	memcpy(b + 6, mac_src, 6);
	put16(b + 12, ethertype);
}

void pkt_vlan(struct pkt *p, uint16_t vid, uint16_t ethertype)
{
	uint8_t *b = room(p, 4);

	put16(b, vid & 0x0fff);
	put16(b + 2, ethertype);
}

void pkt_ipv4(struct pkt *p, const struct pkt_ip4 *ip)
{
	unsigned int ihl = ip->ihl ? ip->ihl : 5;
	uint8_t a[16], *b;

	p->l3_off = p->len;
	p->l3_af = 4;
	p->ip4_ihl_words = ihl;
	b = room(p, ihl * 4);
	b[0] = 0x40 | (ihl & 0x0f);
	put16(b + 4, ip->id);
	put16(b + 6, ip->frag);
	b[8] = ip->ttl ? ip->ttl : 64;
	b[9] = ip->proto;
	pkt_addr(4, ip->src, a);
	memcpy(b + 12, a, 4);
	pkt_addr(4, ip->dst, a);
	memcpy(b + 16, a, 4);
	if (ihl > 5)
		memset(b + 20, 1, ihl * 4 - 20); /* NOP options */
	if (ip->frag & 0x3fff)
		p->fragment = true;
}

void pkt_ipv6(struct pkt *p, const char *src, const char *dst, uint8_t nexthdr)
{
	uint8_t *b;

	p->l3_off = p->len;
	p->l3_af = 6;
	b = room(p, 40);
	b[0] = 0x60;
	b[6] = nexthdr;
	b[7] = 64;
	pkt_addr(6, src, b + 8);
	pkt_addr(6, dst, b + 24);
}

void pkt_ip6_ext(struct pkt *p, uint8_t type, uint8_t next, size_t len)
{
	uint8_t *b = room(p, len);

	b[0] = next;
	b[1] = type == IPPROTO_AH ? len / 4 - 2 : len / 8 - 1;
	if (type == IPPROTO_AH) {
		put32(b + 4, 0x1000); /* SPI */
		put32(b + 8, 1);      /* sequence */
	}
}

void pkt_ip6_frag(struct pkt *p, uint8_t next, uint32_t id, uint16_t off8, bool more)
{
	uint8_t *b = room(p, 8);

	b[0] = next;
	put16(b + 2, (uint16_t)(off8 << 3) | (more ? 1 : 0));
	put32(b + 4, id);
	if (off8 || more)
		p->fragment = true;
}

void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags, size_t optlen)
{
	uint8_t *b;

	p->l4_off = p->len;
	p->l4_proto = IPPROTO_TCP;
	b = room(p, 20 + optlen);
	put16(b, sport);
	put16(b + 2, dport);
	put32(b + 4, 1000);
	put32(b + 8, flags & PKT_TCP_ACK ? 2000 : 0);
	b[12] = ((20 + optlen) / 4) << 4;
	b[13] = flags;
	put16(b + 14, 65535);
	if (optlen >= 4) {
		b[20] = 2; /* MSS */
		b[21] = 4;
		put16(b + 22, 1460);
		memset(b + 24, 1, optlen - 4); /* NOP */
	}
}

void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint8_t *b;

	p->l4_off = p->len;
	p->l4_proto = IPPROTO_UDP;
	b = room(p, 8);
	put16(b, sport);
	put16(b + 2, dport);
}

void pkt_sctp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint8_t *b;

	p->l4_off = p->len;
	p->l4_proto = IPPROTO_SCTP;
	b = room(p, 12 + 20);
	put16(b, sport);
	put16(b + 2, dport);
	b[12] = 1; /* INIT */
	put16(b + 14, 20);
	put32(b + 16, 0x11223344); /* initiate tag */
	put32(b + 20, 65536);	   /* a_rwnd */
	put16(b + 24, 1);
	put16(b + 26, 1);
	put32(b + 28, 1); /* initial TSN */
}

void pkt_icmp(struct pkt *p, uint8_t type, uint8_t code, uint16_t id, uint16_t seq)
{
	uint8_t *b;

	p->l4_off = p->len;
	p->l4_proto = p->l3_af == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	b = room(p, 8);
	b[0] = type;
	b[1] = code;
	put16(b + 4, id);
	put16(b + 6, seq);
}

void pkt_arp(struct pkt *p, uint16_t op, const char *spa, const char *tpa)
{
	uint8_t a[16], *b = room(p, 28);

	put16(b, 1); /* Ethernet */
	put16(b + 2, ETH_P_IP);
	b[4] = 6;
	b[5] = 4;
	put16(b + 6, op);
	memcpy(b + 8, mac_src, 6);
	pkt_addr(4, spa, a);
	memcpy(b + 14, a, 4);
	if (op == 2)
		memcpy(b + 18, mac_dst, 6);
	pkt_addr(4, tpa, a);
	memcpy(b + 24, a, 4);
}

void pkt_payload(struct pkt *p, size_t n, uint8_t fill)
{
	memset(room(p, n), fill, n);
}

void pkt_bytes(struct pkt *p, const void *data, size_t n)
{
	memcpy(room(p, n), data, n);
}

/* ------------------------------------------------------------ checksums */

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (; n > 1; n -= 2, b += 2)
		s += (uint32_t)b[0] << 8 | b[1];
	if (n)
		s += (uint32_t)b[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t pseudo_sum(const struct pkt *p, size_t l4len)
{
	const uint8_t *ip = p->buf + p->l3_off;
	uint32_t s = 0;

	if (p->l3_af == 4) {
		s = sum16(ip + 12, 8, 0);
		s += p->l4_proto;
		s += l4len;
	} else {
		s = sum16(ip + 8, 32, 0);
		s += l4len >> 16;
		s += l4len & 0xffff;
		s += p->l4_proto;
	}
	return s;
}

static uint32_t crc32c(const uint8_t *b, size_t n)
{
	uint32_t crc = 0xffffffff;

	while (n--) {
		crc ^= *b++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
	}
	return ~crc;
}

static int l4_csum_off(int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_UDP:
		return 6;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 2;
	default:
		return -1;
	}
}

static void fill_l4_csum(struct pkt *p)
{
	uint8_t *l4 = p->buf + p->l4_off;
	size_t l4len = p->len - p->l4_off;
	int off = l4_csum_off(p->l4_proto);
	uint32_t s;
	uint16_t c;

	if (p->l4_proto == IPPROTO_SCTP && l4len >= 12) {
		memset(l4 + 8, 0, 4);
		s = crc32c(l4, l4len);
		/* Stored in little-endian byte order (RFC 4960 appendix B). */
		l4[8] = s & 0xff;
		l4[9] = (s >> 8) & 0xff;
		l4[10] = (s >> 16) & 0xff;
		l4[11] = s >> 24;
		return;
	}
	if (off < 0 || l4len < (size_t)off + 2)
		return;
	if (p->l4_proto == IPPROTO_UDP)
		put16(l4 + 4, l4len);
	put16(l4 + off, 0);
	s = p->l4_proto == IPPROTO_ICMP ? 0 : pseudo_sum(p, l4len);
	c = fold(sum16(l4, l4len, s));
	if (p->l4_proto == IPPROTO_UDP && !c)
		c = 0xffff;
	put16(l4 + off, c);
}

void pkt_refresh_ip4_csum(struct pkt *p)
{
	uint8_t *ip = p->buf + p->l3_off;
	size_t hlen = (ip[0] & 0x0f) * 4;

	if (hlen < 20 || p->l3_off + hlen > p->len)
		hlen = 20;
	put16(ip + 10, 0);
	put16(ip + 10, fold(sum16(ip, hlen, 0)));
}

void pkt_finish(struct pkt *p)
{
	uint8_t *ip;

	if (p->l3_off < 0)
		return;
	ip = p->buf + p->l3_off;
	if (p->l4_off >= 0 && !p->fragment)
		fill_l4_csum(p);
	if (p->l3_af == 4) {
		if (!p->keep_ip_len)
			put16(ip + 2, p->len - p->l3_off);
		pkt_refresh_ip4_csum(p);
	} else if (p->l3_af == 6 && !p->keep_ip_len) {
		put16(ip + 4, p->len - p->l3_off - 40);
	}
}

void pkt_truncate(struct pkt *p, size_t len)
{
	if (len < p->len)
		p->len = len;
}

bool pkt_csum_ok(const struct pkt *p)
{
	const uint8_t *ip, *l4;
	size_t l4len;

	if (p->l3_off < 0)
		return true;
	ip = p->buf + p->l3_off;
	if (p->l3_af == 4 && fold(sum16(ip, (ip[0] & 0x0f) * 4, 0)) != 0)
		return false;
	if (p->l4_off < 0 || p->fragment)
		return true;
	l4 = p->buf + p->l4_off;
	l4len = p->len - p->l4_off;
	if (p->l4_proto == IPPROTO_SCTP) {
		uint8_t tmp[PKT_MAX];
		uint32_t c;

		memcpy(tmp, l4, l4len);
		memset(tmp + 8, 0, 4);
		c = crc32c(tmp, l4len);
		return l4[8] == (c & 0xff) && l4[9] == ((c >> 8) & 0xff) &&
		       l4[10] == ((c >> 16) & 0xff) && l4[11] == (c >> 24);
	}
	if (l4_csum_off(p->l4_proto) < 0)
		return true;
	return fold(sum16(l4, l4len, p->l4_proto == IPPROTO_ICMP ? 0 : pseudo_sum(p, l4len))) == 0;
}

/* ------------------------------------------------------------ one call */

void pkt_flow_build(struct pkt *p, const struct pkt_flow *f)
{
	uint16_t l3type = f->af == 6 ? ETH_P_IPV6 : ETH_P_IP;

	pkt_init(p);
	if (f->nvlan >= 1) {
		pkt_eth(p, f->nvlan == 2 ? ETH_P_8021AD : ETH_P_8021Q);
		if (f->nvlan == 2)
			pkt_vlan(p, 100, ETH_P_8021Q);
		pkt_vlan(p, 200, l3type);
	} else {
		pkt_eth(p, l3type);
	}
	if (f->af == 6)
		pkt_ipv6(p, f->src, f->dst, f->proto);
	else
		pkt_ipv4(p, &(struct pkt_ip4){ .src = f->src,
					       .dst = f->dst,
					       .proto = f->proto,
					       .id = 1 });
	switch (f->proto) {
	case IPPROTO_TCP:
		pkt_tcp(p, f->sport, f->dport, f->tcp_flags, 0);
		break;
	case IPPROTO_UDP:
		pkt_udp(p, f->sport, f->dport);
		break;
	case IPPROTO_SCTP:
		pkt_sctp(p, f->sport, f->dport);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		pkt_icmp(p, f->icmp_type, f->icmp_code, f->sport, 1);
		break;
	default:
		pkt_payload(p, 8, 0xab);
		break;
	}
	pkt_finish(p);
}

struct pkt_flow pkt_flow_reverse(const struct pkt_flow *f)
{
	struct pkt_flow r = *f;

	r.src = f->dst;
	r.dst = f->src;
	if (f->proto != IPPROTO_ICMP && f->proto != IPPROTO_ICMPV6) {
		r.sport = f->dport;
		r.dport = f->sport;
	}
	return r;
}
