/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Frame builder for the BPF fixtures (tests/bpf): Ethernet with up to two
 * VLAN tags, IPv4 (options, fragments), IPv6 (extension headers, fragment
 * header), TCP (flags, options), UDP, SCTP, ICMP/ICMPv6, ARP.
 *
 * Layers are appended in wire order; each append names the protocol of the
 * next layer where the header has such a field.  pkt_finish() then fills
 * every length and checksum (IPv4 header, TCP/UDP/ICMP/ICMPv6 with their
 * pseudo-headers, SCTP CRC32c) so a frame is valid unless a test corrupts
 * it afterwards on purpose (pkt_l3()/pkt_l4() and pkt_refresh_ip4_csum()).
 * Fragments get no L4 checksum: it would cover bytes that aren't there.
 *
 * pkt_flow_build() is the one-call form the tables use.
 */
#ifndef NETSEG_TEST_PKT_H
#define NETSEG_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 1500

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10
#define PKT_TCP_URG 0x20

struct pkt {
	uint8_t buf[PKT_MAX];
	size_t len;
	int l3_off; /* -1 until an IP header is appended */
	int l3_af;  /* 4, 6, or 0 */
	int l4_off; /* -1 until an L4 header is appended */
	int l4_proto;
	int ip4_ihl_words; /* as appended; pkt_finish keeps it */
	bool fragment;	   /* no L4 checksum */
	bool keep_ip_len;  /* pkt_finish leaves tot_len/payload_len */
};

void pkt_init(struct pkt *p);

/* Ethernet: fixed locally administered MACs; type of what follows. */
void pkt_eth(struct pkt *p, uint16_t ethertype);
/* One 802.1Q/802.1ad tag body: TCI (vid) and the type of what follows.
 * The previous layer's type must be ETH_P_8021Q or ETH_P_8021AD. */
void pkt_vlan(struct pkt *p, uint16_t vid, uint16_t ethertype);

struct pkt_ip4 {
	const char *src, *dst; /* dotted quads */
	uint8_t proto;
	uint8_t ihl; /* 32-bit words, 0 = 5; options are NOPs */
	uint16_t id;
	uint16_t frag; /* host-order frag_off: 0x2000 MF | offset/8 */
	uint8_t ttl;   /* 0 = 64 */
};
void pkt_ipv4(struct pkt *p, const struct pkt_ip4 *ip);

/* IPv6 fixed header; nexthdr is the first extension or the L4 header. */
void pkt_ipv6(struct pkt *p, const char *src, const char *dst, uint8_t nexthdr);
/*
 * An option-style extension header (hop-by-hop, routing, destination
 * options: len a multiple of 8, >= 8; AH: a multiple of 4, >= 12).  The
 * length field is encoded per RFC 8200 / RFC 4302 for `type`.
 */
void pkt_ip6_ext(struct pkt *p, uint8_t type, uint8_t next, size_t len);
/* Fragment header: offset in 8-byte units, M flag. */
void pkt_ip6_frag(struct pkt *p, uint8_t next, uint32_t id, uint16_t off8, bool more);

/* TCP: optlen bytes of options (multiple of 4): an MSS option, then NOPs. */
void pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags, size_t optlen);
void pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport);
/* SCTP common header (12 bytes) plus a minimal INIT chunk. */
void pkt_sctp(struct pkt *p, uint16_t sport, uint16_t dport);
/* ICMP or ICMPv6 (by the L3 family): type, code, and for echo id/seq. */
void pkt_icmp(struct pkt *p, uint8_t type, uint8_t code, uint16_t id, uint16_t seq);
/* ARP over Ethernet/IPv4 (after pkt_eth(p, ETH_P_ARP)). */
void pkt_arp(struct pkt *p, uint16_t op, const char *spa, const char *tpa);
void pkt_payload(struct pkt *p, size_t n, uint8_t fill);
/* Raw bytes, e.g. the quoted packet inside an ICMP error. */
void pkt_bytes(struct pkt *p, const void *data, size_t n);

/* Lengths and checksums (see the file comment). */
void pkt_finish(struct pkt *p);
/* Recompute only the IPv4 header checksum (after a deliberate corruption). */
void pkt_refresh_ip4_csum(struct pkt *p);
void pkt_truncate(struct pkt *p, size_t len);

static inline uint8_t *pkt_l3(struct pkt *p)
{
	return p->buf + p->l3_off;
}
static inline uint8_t *pkt_l4(struct pkt *p)
{
	return p->buf + p->l4_off;
}

/* Verifies the frame's IPv4 header and L4 checksums: true when valid. */
bool pkt_csum_ok(const struct pkt *p);

/* ------------------------------------------------------------ one call */

struct pkt_flow {
	int af; /* 4 or 6 */
	const char *src, *dst;
	uint8_t proto;	       /* IPPROTO_TCP/UDP/SCTP/ICMP/ICMPV6 or other */
	uint16_t sport, dport; /* ICMP echo: sport is the echo id */
	uint8_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint8_t nvlan; /* 0..2 VLAN tags */
};

/* eth [vlan..] ip l4, finished. */
void pkt_flow_build(struct pkt *p, const struct pkt_flow *f);
/* The other direction: addresses and ports swapped (ICMP id kept). */
struct pkt_flow pkt_flow_reverse(const struct pkt_flow *f);
/* Parses an address of either family into 16 bytes (v4 in the first 4). */
int pkt_addr(int af, const char *text, uint8_t out[16]);

#endif
