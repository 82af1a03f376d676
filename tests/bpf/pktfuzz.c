// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet fuzzing: random and mutated frames through the real XDP prefilter
 * and the TC ingress and egress programs with BPF_PROG_TEST_RUN (TC on lo,
 * or on an endpoint veth for a quarter of the bases), each checked against
 * a reference written here from the RFCs and the semantics of
 * docs/architecture.md ("A packet's path", "Policy semantics"):
 *
 *   ref_parse()   Ethernet, 802.1Q/802.1ad, IPv4 (RFC 791), IPv6 and its
 *                 extension headers (RFC 8200, AH RFC 4302), TCP, UDP,
 *                 SCTP, ICMP, ICMPv6/ND (RFC 4861): non-IP, malformed,
 *                 impossible, neighbour discovery, or a 5-tuple;
 *   ref_decide()  prefilter, spoofing on the endpoint interface and (lo as
 *                 an uplink, every other policy set) on the uplink, fragment
 *                 map, conntrack (modelled), identities (ipcache LPM), then
 *                 lib/refeval.c for the rules and the defaults
 *                 (endpoints default-deny, deny beats allow, audit passes).
 *
 * Frames: valid bases (v4/v6; TCP/UDP/SCTP/ICMP/ICMPv6 incl. errors and
 * ND; 0-2 VLAN tags; IPv4 options; IPv6 hop-by-hop/routing/dest-options/AH
 * chains; first and non-first fragments; valid checksums), then mutations:
 * truncation at every byte (a share of the bases), random cuts, bit flips,
 * bad IHL / total length / payload length / extension header lengths and
 * next headers, 3-5 VLAN tags, random bytes, random frames.
 *
 * Checked per frame and hook: pass/drop, the drop reason and rule id (from
 * the deny event), the conntrack entry an allowed flow must leave (then
 * deleted, so frames meet fresh conntrack; the fragment map is modelled,
 * since non-first fragments are decided through it).  Controlled state: for
 * a third of the bases the flow's entry is kept while its replies, an ICMP
 * error quoting it and their mutants run (reply_phase()).  Safety: no frame
 * the reference drops for policy may pass, and no truncation of a denied
 * base frame may pass.  The kernel's per-reason counters must sum to the
 * reference's.
 *
 * PKTFUZZ_FRAMES=N (default 1000000 program runs, all hooks together; frames
 * the kernel's test run refuses don't count), PKTFUZZ_SEED=S (printed;
 * reproduces a run).  Needs root; never skips.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpfx.h"
#include "compile.h"
#include "randpol.h"
#include "tap.h"

#define DEFAULT_FRAMES 1000000 /* XDP + TC runs in the default run */
#define NSETS 8		       /* policies swapped in over a run */
#define MAX_RULES 40	       /* rules per policy, at most */
#define FRAG_FLUSH 1024	       /* modelled fragment records before a flush */
#define CT_CHECK_EVERY 256     /* frames between "conntrack is empty" checks */
#define SHOW_MAX 8	       /* disagreements printed in full */
#define VLAN_MAX 2	       /* tags the datapath walks (parse.h) */
#define NHOOKS 3	       /* XDP, TC ingress, TC egress */

#define ETH_8021Q 0x8100
#define ETH_8021AD 0x88a8

/* ------------------------------------------------------------- the net */

#define ID_E0 256 /* endpoint, also the endpoint of the veth */
#define ID_E1 257
#define ID_E2 258
#define ID_E3 259 /* endpoint in audit mode */
#define ID_C0 300 /* CIDR identity 198.19.0.0/16, fd00:c0::/32 */
#define ID_C1 301 /* CIDR identity 198.19.5.0/24, fd00:c0:5::/48 */

struct cidr {
	int af;
	const char *addr;
	int plen;
	__u32 id;
	bool on_veth; /* ipcache entry bound to the veth's ifindex */
	__u8 bytes[16];
};

#define NET(f, a, l, i, v)                                                     \
	{                                                                      \
		.af = (f), .addr = (a), .plen = (l), .id = (i), .on_veth = (v) \
	}

static struct cidr ipcache[] = {
	NET(4, "198.18.10.1", 32, ID_E0, true),
	NET(6, "fd00::10:1", 128, ID_E0, true),
	NET(4, "198.18.10.2", 32, ID_E1, false),
	NET(6, "fd00::10:2", 128, ID_E1, false),
	NET(4, "198.18.10.3", 32, ID_E2, false),
	NET(6, "fd00::10:3", 128, ID_E2, false),
	NET(4, "198.18.10.4", 32, ID_E3, false),
	NET(6, "fd00::10:4", 128, ID_E3, false),
	NET(4, "198.19.0.0", 16, ID_C0, false),
	NET(6, "fd00:c0::", 32, ID_C0, false),
	NET(4, "198.19.5.0", 24, ID_C1, false),
	NET(6, "fd00:c0:5::", 48, ID_C1, false),
	NET(4, "198.18.0.1", 32, NETSEG_ID_HOST, false),
	NET(6, "fd00::1", 128, NETSEG_ID_HOST, false),
};

static struct cidr prefilter[] = {
	NET(4, "198.18.66.0", 24, 0, false),
	NET(6, "fd00:66::", 64, 0, false),
};

static const char *const names[] = { "e256", "e257", "e258", "e259", "c300", "c301" };
static const __u32 name_ids[] = { ID_E0, ID_E1, ID_E2, ID_E3, ID_C0, ID_C1 };

static __u32 id_flags(__u32 id)
{
	if (id == ID_E3)
		return NETSEG_IDF_ENDPOINT | NETSEG_IDF_AUDIT;
	if (id >= ID_E0 && id <= ID_E3)
		return NETSEG_IDF_ENDPOINT;
	return 0;
}

static int resolve(const char *sel, __u32 *id, void *ctx)
{
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		if (!strcmp(sel, names[i])) {
			*id = name_ids[i];
			return 0;
		}
	}
	return -ENOENT;
}

static const struct netseg_resolver res = {
	.resolve = resolve,
	.names = (const char *const *)names,
	.nnames = ARRAY_LEN(names),
};

static bool in_cidr(const struct cidr *c, int af, const __u8 *a)
{
	int full = c->plen / 8, rest = c->plen % 8;

	if (c->af != af || memcmp(c->bytes, a, full))
		return false;
	return !rest || ((c->bytes[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Longest prefix wins: written out, no trie. */
static const struct cidr *lpm(struct cidr *t, size_t n, int af, const __u8 *a)
{
	const struct cidr *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (in_cidr(&t[i], af, a) && (!best || t[i].plen > best->plen))
			best = &t[i];
	return best;
}

/* --------------------------------------------------- reference parser */

enum cls {
	C_REFUSED, /* TC: the kernel's test run refuses the frame (EINVAL) */
	C_NONIP,
	C_MALFORMED,
	C_IMPOSSIBLE,
	C_ND,
	C_PREFILTER,
	C_FRAG_UNKNOWN,
	C_FRAG_CONFLICT, /* a first fragment re-using a claimed id, other ports */
	C_SPOOFED,
	C_POLICY,  /* a deny rule */
	C_DEFAULT, /* default deny */
	C_AUDIT,   /* would be denied, passed */
	C_ALLOW,   /* an allow rule */
	C_NOEP,	   /* no endpoint involved, no rule: passes */
	C_CT,	   /* a known flow, or an ICMP error about one: passes */
	C_MAX,
	C_IP = C_MAX, /* ref_parse(): a packet to decide */
};

static const char *const cls_name[C_MAX] = {
	"refused",	"non-ip",	"malformed",	 "impossible",	"nd",
	"prefilter",	"frag-unknown", "frag-conflict", "spoofed",	"policy-deny",
	"default-deny", "audit",	"allow",	 "no-endpoint", "conntrack",
};

enum { F_NONE, F_FIRST, F_LATER };

/* Documented behaviour the reference encodes (comments where each is met). */
enum edge {
	EDGE_TOTLEN_LONG,    /* IPv4 total length beyond the frame */
	EDGE_L4_PAST_TOTLEN, /* L4 header read past the IPv4 total length */
	EDGE_EXT_PAST_END,   /* IPv6 ext header past the frame, no L4 parser */
	EDGE_FRAG_HDRS,	     /* two or more IPv6 fragment headers */
	EDGE_MAX,
};

static const char *const edge_name[EDGE_MAX] = {
	"ipv4 total length > frame",
	"l4 past ipv4 total length",
	"ipv6 ext header past frame",
	"several fragment headers",
};

struct ref_pkt {
	int cls; /* C_NONIP, C_MALFORMED, C_IMPOSSIBLE, C_ND or C_IP */
	int af;	 /* 4 or 6 */
	__u8 src[16], dst[16];
	__u8 proto;
	__u16 sport, dport;   /* host order; ICMP echo: the id, both */
	__u16 pport;	      /* dport, or ICMP type << 8 | code */
	bool tracked;	      /* has a conntrack tuple */
	__u8 hop;	      /* IPv6 hop limit */
	__u8 next6, hbh_next; /* IPv6: first next header; the next after a hop-by-hop */
	int frag;
	__u32 frag_id;
	__u8 tcp_flags;
	unsigned int edges; /* documented edges met (enum edge bits) */
	/* ICMP errors: the quoted packet's flow, as it was sent. */
	bool quote;
	__u8 q_src[16], q_dst[16], q_proto;
	__u16 q_sport, q_dport;
};

static __u16 be16(const __u8 *b)
{
	return (__u16)(b[0] << 8 | b[1]);
}
static __u32 be32(const __u8 *b)
{
	return (__u32)be16(b) << 16 | be16(b + 2);
}

/*
 * TCP flag sets no stack sends (scans, evasion): the classifier's
 * "impossible" packets, the list tests/bpf/parse.c pins down.
 */
static bool tcp_flags_impossible(__u8 f)
{
	bool syn = f & 0x02, ack = f & 0x10, rst = f & 0x04, fin = f & 0x01;

	if (!syn && !ack && !rst && !fin)
		return true; /* NULL scan */
	if (syn && (fin || rst))
		return true;
	return fin && (f & 0x08) && (f & 0x20) && !ack; /* Xmas */
}

/*
 * RFC 4861 ND (133-137), MLD (130-132, RFC 2710) and MLDv2 reports (143),
 * as the link-local traffic they are: ND with hop limit 255 (RFC 4861: not
 * routed), no extension header (RFC 6980: no fragments either), to a
 * unicast or ff02::/16 address; MLD with hop limit 1 to a multicast group,
 * alone or after the hop-by-hop header that holds its Router Alert.
 */
static bool ref_is_nd(__u8 type, const struct ref_pkt *r)
{
	if (r->af != 6 || r->proto != IPPROTO_ICMPV6 || r->frag != F_NONE)
		return false;
	if (type >= 133 && type <= 137)
		return r->hop == 255 && r->next6 == IPPROTO_ICMPV6 &&
		       (r->dst[0] != 0xff || r->dst[1] == 0x02);
	if ((type >= 130 && type <= 132) || type == 143)
		return r->hop == 1 && r->dst[0] == 0xff &&
		       (r->next6 == IPPROTO_ICMPV6 ||
			(r->next6 == IPPROTO_HOPOPTS && r->hbh_next == IPPROTO_ICMPV6));
	return false;
}

/*
 * ICMP queries and their replies (RFC 792, 950, 4443, 4620): the request
 * of the pair `type` belongs to, 0 for none.  Replies carry the request's
 * identifier, so conntrack pairs them like TCP ports.
 */
static __u8 ref_icmp_request(__u8 proto, __u8 type)
{
	static const __u8 v4[][2] = { { 8, 0 }, { 13, 14 }, { 15, 16 }, { 17, 18 } };
	static const __u8 v6[][2] = { { 128, 129 }, { 139, 140 } };
	const __u8(*t)[2] = proto == IPPROTO_ICMP ? v4 : v6;
	size_t n = proto == IPPROTO_ICMP ? ARRAY_LEN(v4) : ARRAY_LEN(v6);

	for (size_t i = 0; i < n; i++)
		if (t[i][0] == type || t[i][1] == type)
			return t[i][0];
	return 0;
}

/* A tracked ICMP packet's type: from pport, which a later fragment inherits. */
static bool ref_icmp_reply(const struct ref_pkt *r)
{
	__u8 t = r->pport >> 8;

	if (r->proto != IPPROTO_ICMP && r->proto != IPPROTO_ICMPV6)
		return false;
	return ref_icmp_request(r->proto, t) != t;
}

/*
 * The conntrack key of the packet's own tuple.  ICMP queries: the request
 * type, and whether the requester -- a request's source, a reply's
 * destination -- is the key's "b" side (with one address there are no sides).
 */
static bool ref_ct_key(const struct ref_pkt *r, struct netseg_ct_key *k)
{
	bool swapped = bpfx_ct_key_of(r->af, r->src, r->dst, r->sport, r->dport, r->proto, k);
	const __u8 *asker;

	if (r->proto != IPPROTO_ICMP && r->proto != IPPROTO_ICMPV6)
		return swapped;
	k->icmp_type = ref_icmp_request(r->proto, r->pport >> 8);
	asker = ref_icmp_reply(r) ? r->dst : r->src;
	if (memcmp(r->src, r->dst, 16) && !memcmp(asker, k->b_addr, 16))
		k->icmp_flags = NETSEG_CTK_REQ_IS_B;
	return swapped;
}

/*
 * The packet an ICMP error quotes (RFC 792/4443), as far as conntrack
 * needs it.  Documented: only an IPv4 header without options, or an IPv6
 * header straight followed by TCP/UDP/SCTP, is read, in the outer family;
 * a quote the datapath can't read is simply not related.
 */
static void ref_quote(const __u8 *q, long n, struct ref_pkt *r)
{
	int hl = r->af == 4 ? 20 : 40;
	__u8 proto;

	if (n < hl || (r->af == 4 && (q[0] & 15) != 5))
		return;
	proto = r->af == 4 ? q[9] : q[6];
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP) || n < hl + 4)
		return;
	memcpy(r->q_src, r->af == 4 ? q + 12 : q + 8, r->af == 4 ? 4 : 16);
	memcpy(r->q_dst, r->af == 4 ? q + 16 : q + 24, r->af == 4 ? 4 : 16);
	r->q_proto = proto;
	r->q_sport = be16(q + hl);
	r->q_dport = be16(q + hl + 2);
	r->quote = true;
}

/* b points at the L4 header; n bytes of the frame are left (< 0: none). */
static int ref_l4(const __u8 *b, long n, struct ref_pkt *r)
{
	if (r->frag == F_LATER)
		return r->cls = C_IP; /* no L4 header: the fragment map decides */
	switch (r->proto) {
	case IPPROTO_TCP:
		if (n < 20 || b[12] >> 4 < 5 || (b[12] >> 4) * 4 > n)
			return r->cls = C_MALFORMED;
		r->tcp_flags = b[13];
		if (tcp_flags_impossible(b[13]))
			return r->cls = C_IMPOSSIBLE;
		break;
	case IPPROTO_UDP:
		if (n < 8)
			return r->cls = C_MALFORMED;
		break;
	case IPPROTO_SCTP:
		if (n < 12)
			return r->cls = C_MALFORMED;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* Type, code, checksum and the 4-byte rest: 8 bytes (RFC 792/4443). */
		if (n < 8)
			return r->cls = C_MALFORMED;
		r->pport = be16(b);
		if (ref_is_nd(b[0], r))
			return r->cls = C_ND;
		if (ref_icmp_request(r->proto, b[0])) {
			r->sport = r->dport = be16(b + 4);
			r->tracked = true;
		} else if ((r->proto == IPPROTO_ICMP && (b[0] == 3 || b[0] == 11 || b[0] == 12)) ||
			   (r->proto == IPPROTO_ICMPV6 && b[0] >= 1 && b[0] <= 4)) {
			ref_quote(b + 8, n - 8, r);
		}
		return r->cls = C_IP;
	default:
		return r->cls = C_IP; /* policy on the protocol alone */
	}
	r->sport = be16(b);
	r->dport = be16(b + 2);
	r->pport = r->dport;
	r->tracked = true;
	/* Port 0 is reserved: nobody connects from or to it (IMPOSSIBLE). */
	if (!r->sport || !r->dport)
		return r->cls = C_IMPOSSIBLE;
	return r->cls = C_IP;
}

static int ref_ipv4(const __u8 *b, long n, struct ref_pkt *r)
{
	unsigned int hl;
	__u16 fo;

	if (n < 20 || b[0] >> 4 != 4 || (b[0] & 15) < 5)
		return r->cls = C_MALFORMED;
	hl = (b[0] & 15) * 4;
	/*
	 * The header must fit the frame and the total length must cover it.
	 * A total length beyond the frame is not checked (documented): ip_rcv()
	 * drops such packets itself, and under GRO / BIG TCP the length can't be
	 * compared with what a program sees.  L4 is read from the frame.
	 */
	if (hl > n || be16(b + 2) < hl)
		return r->cls = C_MALFORMED;
	if (be16(b + 2) > n)
		r->edges |= 1u << EDGE_TOTLEN_LONG;
	if (hl + 8 > be16(b + 2) && !(be16(b + 6) & 0x1fff))
		r->edges |= 1u << EDGE_L4_PAST_TOTLEN;
	/* A multicast or limited-broadcast source can't start a flow. */
	if ((b[12] & 0xf0) == 0xe0 || be32(b + 12) == 0xffffffff)
		return r->cls = C_IMPOSSIBLE;
	r->af = 4;
	memcpy(r->src, b + 12, 4);
	memcpy(r->dst, b + 16, 4);
	r->proto = b[9];
	fo = be16(b + 6);
	r->frag_id = be16(b + 4);
	if (fo & 0x1fff)
		r->frag = F_LATER;
	else if (fo & 0x2000)
		r->frag = F_FIRST;
	return ref_l4(b + hl, n - hl, r);
}

static int ref_ipv6(const __u8 *b, long n, struct ref_pkt *r)
{
	int next, skipped = 0, fraghdrs = 0;
	long off = 40, hl;
	__u16 fo;

	if (n < 40 || b[0] >> 4 != 6)
		return r->cls = C_MALFORMED;
	if (b[8] == 0xff)
		return r->cls = C_IMPOSSIBLE; /* multicast source */
	r->af = 6;
	r->hop = b[7];
	r->next6 = b[6];
	if (n >= 42)
		r->hbh_next = b[40];
	memcpy(r->src, b + 8, 16);
	memcpy(r->dst, b + 24, 16);
	/* The payload length isn't checked: 0 is a jumbogram / BIG TCP. */
	for (next = b[6];; skipped++) {
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS &&
		    next != IPPROTO_AH && next != IPPROTO_FRAGMENT)
			break;
		/* NETSEG_IPV6_EXT_MAX headers are walked; longer chains refused. */
		if (skipped == NETSEG_IPV6_EXT_MAX)
			return r->cls = C_MALFORMED;
		if (next == IPPROTO_FRAGMENT) {
			if (off + 8 > n)
				return r->cls = C_MALFORMED;
			/*
			 * Documented: with several fragment headers (nested
			 * fragmentation, which no stack sends) the last one that
			 * marks a fragment decides and the id is the last one's.
			 * Harmless: every datagram's offset-0 fragment still has
			 * its L4 header judged, and a datagram whose first
			 * fragment went unrecorded can't be completed.
			 */
			fo = be16(b + off + 2);
			if (fo & 0xfff8)
				r->frag = F_LATER;
			else if (fo & 1)
				r->frag = F_FIRST;
			if (fraghdrs++)
				r->edges |= 1u << EDGE_FRAG_HDRS;
			r->frag_id = be32(b + off + 4);
			next = b[off];
			off += 8;
			continue;
		}
		if (off + 2 > n)
			return r->cls = C_MALFORMED;
		/*
		 * AH counts 4-byte units minus 2 (RFC 4302), the others 8-byte
		 * units minus 1 (RFC 8200).  A header reaching past the frame
		 * is noticed by the next read, if any (documented: a protocol
		 * without an L4 parser is judged on its number alone; the
		 * kernel drops the packet anyway).
		 */
		hl = next == IPPROTO_AH ? (b[off + 1] + 2) * 4 : (b[off + 1] + 1) * 8;
		next = b[off];
		off += hl;
	}
	r->proto = next;
	if (off > n)
		r->edges |= 1u << EDGE_EXT_PAST_END;
	return ref_l4(b + off, n - off, r);
}

static int ref_parse(const __u8 *f, size_t len, struct ref_pkt *r)
{
	__u16 type = be16(f + 12);
	size_t off = ETH_HLEN;
	int tags = 0;

	memset(r, 0, sizeof(*r));
	while (type == ETH_8021Q || type == ETH_8021AD) {
		/*
		 * Decision: a frame with more tags than the datapath walks
		 * can't be inspected, so it is dropped (fail closed), not
		 * passed as non-IP: a host with stacked VLAN devices would
		 * deliver its IP packet unseen.
		 */
		if (tags == VLAN_MAX || off + 4 > len)
			return r->cls = C_MALFORMED;
		type = be16(f + off + 2);
		off += 4;
		tags++;
	}
	if (type == ETH_P_IP)
		return ref_ipv4(f + off, (long)(len - off), r);
	if (type == ETH_P_IPV6)
		return ref_ipv6(f + off, (long)(len - off), r);
	return r->cls = C_NONIP;
}

/* ------------------------------------------------- reference decision */

/* The fragment map, modelled: a first fragment's ports by datagram. */
struct frag_rec {
	bool used;
	struct netseg_frag_key k;
	__u16 sport, dport, pport;
	bool tracked;
};

#define FRAG_SLOTS 4096 /* > FRAG_FLUSH: open addressing stays short */
static struct frag_rec frags[FRAG_SLOTS];
static size_t nfrags;

static void frag_key(const struct ref_pkt *r, struct netseg_frag_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, r->src, 16);
	memcpy(k->daddr, r->dst, 16);
	k->id = r->frag_id;
	k->proto = r->proto;
	k->family = r->af == 6 ? NETSEG_AF_INET6 : NETSEG_AF_INET;
}

static struct frag_rec *frag_slot(const struct netseg_frag_key *k)
{
	const __u8 *b = (const __u8 *)k;
	__u32 h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	for (i = h % FRAG_SLOTS;; i = (i + 1) % FRAG_SLOTS)
		if (!frags[i].used || !memcmp(&frags[i].k, k, sizeof(*k)))
			return &frags[i];
}

static double frags_t0; /* when the map was last flushed */

static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * Also flushed every FRAG_FLUSH_S: a record's claim on its id ends after
 * NETSEG_FRAG_TIMEOUT (5 s), and a model without a clock must never meet
 * one that old.
 */
#define FRAG_FLUSH_S 1.0

static void frags_reset(struct bpfx *x)
{
	bpfx_frags_flush(x);
	memset(frags, 0, sizeof(frags));
	nfrags = 0;
	frags_t0 = mono_s();
}

struct expect {
	int cls;
	bool pass;
	__u8 reason;
	__u32 rule;
	bool ct; /* TC leaves a conntrack entry (key ck) */
	struct netseg_ct_key ck;
	bool ct_keep;	/* ... and it is the modelled entry: keep it */
	bool xdp_known; /* XDP passes a known flow on to TC */
	bool denied;	/* the policy denies the flow (audit excluded) */
	struct ref_pkt r;
};

/*
 * Conntrack, modelled for one flow at a time (the reply phase): the entry
 * a passed packet left, with the TCP state ct.h gives it.  Outside
 * that phase every entry is deleted right after the packet that made it.
 */
static struct {
	bool live;
	bool arm; /* the next entry TC ingress creates becomes it */
	struct netseg_ct_key k;
	bool orig_is_b; /* the originator is the key's "b" side */
	bool seen_reply;
	__u8 tcp;    /* enum netseg_tcp_state */
	__u32 id[2]; /* the verdict's identities: originator, responder */
	bool deny;   /* the verdict is a deny (class, reason, rule:) */
	int cls;
	__u8 reason;
	__u32 rule;
	bool cov[2]; /* E0's veth recorded as the point of that side */
} ctm;

static __u8 tcp_initial(const struct ref_pkt *r)
{
	if (r->proto != IPPROTO_TCP)
		return NETSEG_TCP_NONE;
	/*
	 * A bare SYN opens; anything else is a flow picked up mid-stream,
	 * established only once the other side answers.
	 */
	return (r->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN ? NETSEG_TCP_SYN_SENT :
									     NETSEG_TCP_MIDSTREAM;
}

/* A packet of the modelled flow, seen by TC: FIN/RST close, a reply establishes. */
static void ctm_update(const struct ref_pkt *r, bool swapped)
{
	bool reply = swapped != ctm.orig_is_b;

	ctm.seen_reply |= reply;
	if (r->proto != IPPROTO_TCP)
		return;
	if (r->tcp_flags & (PKT_TCP_FIN | PKT_TCP_RST))
		ctm.tcp = NETSEG_TCP_CLOSING;
	else if ((ctm.tcp == NETSEG_TCP_SYN_SENT || ctm.tcp == NETSEG_TCP_MIDSTREAM) && reply)
		ctm.tcp = NETSEG_TCP_ESTABLISHED;
}

struct policy {
	struct netseg_rule rules[MAX_RULES];
	size_t n;
};

static __u32 addr_id(int af, const __u8 *a, const struct cidr **entry)
{
	const struct cidr *c = lpm(ipcache, ARRAY_LEN(ipcache), af, a);

	*entry = c;
	return c ? c->id : NETSEG_ID_WORLD;
}

static void set(struct expect *e, int cls, bool pass, __u8 reason, __u32 rule)
{
	e->cls = cls;
	e->pass = pass;
	e->reason = reason;
	e->rule = rule;
}

/* netseg_ref_decide() (rules, defaults, audit) as classes: trace answers with the same. */
static void ref_policy(const struct policy *pol, __u32 src, __u32 dst, const struct ref_pkt *r,
		       struct expect *e)
{
	struct netseg_tuple t = { .src_id = src,
				  .dst_id = dst,
				  .proto = r->proto,
				  .port = r->pport };
	struct netseg_ref_decision d;

	if (netseg_ref_decide(pol->rules, pol->n, &res, &t, id_flags(src), id_flags(dst), &d))
		bail("reference evaluator: unknown selector in the generated policy");
	if (!d.enforced)
		set(e, C_NOEP, true, 0, 0); /* touches no endpoint */
	else if (d.verdict == NETSEG_VERDICT_ALLOW)
		set(e, C_ALLOW, true, 0, d.rule_id);
	else if (d.verdict == NETSEG_VERDICT_AUDIT)
		set(e, C_AUDIT, true, 0, d.rule_id);
	else
		set(e, d.reason == NETSEG_REASON_POLICY ? C_POLICY : C_DEFAULT, false, d.reason,
		    d.rule_id);
	e->denied = d.verdict == NETSEG_VERDICT_DENY;
}

/*
 * Non-first fragments take the ports of their datagram's first
 * fragment, recorded when it reached the classifier: C_FRAG_UNKNOWN when
 * none was.  The first one recorded keeps the id: another first fragment
 * with other ports (or protocol details) is C_FRAG_CONFLICT, the same one
 * again goes on.  C_IP: go on.
 */
static int ref_frag(struct ref_pkt *r)
{
	struct netseg_frag_key fk;
	struct frag_rec *fr;

	frag_key(r, &fk);
	fr = frag_slot(&fk);
	if (r->frag == F_FIRST && fr->used)
		return fr->sport == r->sport && fr->dport == r->dport && fr->pport == r->pport &&
				       fr->tracked == r->tracked ?
			       C_IP :
			       C_FRAG_CONFLICT;
	if (r->frag == F_FIRST) {
		nfrags++;
		fr->used = true;
		fr->k = fk;
		fr->sport = r->sport;
		fr->dport = r->dport;
		fr->pport = r->pport;
		fr->tracked = r->tracked;
		return C_IP;
	}
	if (!fr->used)
		return C_FRAG_UNKNOWN;
	r->sport = fr->sport;
	r->dport = fr->dport;
	r->pport = fr->pport;
	r->tracked = fr->tracked;
	return C_IP;
}

/*
 * An ICMP error about the modelled flow (Linux conntrack's RELATED): sent
 * to the host that sent the quoted packet; that packet one of the flow's,
 * a reply only once the responder replied; and from an endpoint's own
 * interface (veth) sent by the quoted packet's destination -- a pod is no
 * router.  Any other receiver or sender is someone aiming a made-up quote.
 * On E0's veth the flow must also have been decided for E0 on the error's
 * side (the datapath's ct_covered()).
 */
static bool ref_related(int hook, __u32 veth, const struct ref_pkt *r)
{
	struct netseg_ct_key k;
	bool swapped, reply;
	int side;

	if (!r->quote || memcmp(r->dst, r->q_src, 16))
		return false;
	if (hook == NETSEG_HOOK_TC_INGRESS && veth && memcmp(r->src, r->q_dst, 16))
		return false;
	swapped = bpfx_ct_key_of(r->af, r->q_src, r->q_dst, r->q_sport, r->q_dport, r->q_proto, &k);
	if (memcmp(&k, &ctm.k, sizeof(k)) || ctm.deny)
		return false;
	if (swapped != ctm.orig_is_b && !ctm.seen_reply)
		return false;
	/* The error runs against the quote: a reply when the quote is original. */
	reply = swapped == ctm.orig_is_b;
	side = (hook == NETSEG_HOOK_TC_INGRESS) == !reply ? 0 : 1;
	return hook == NETSEG_HOOK_XDP || !veth || ctm.cov[side];
}

/*
 * The modelled entry, if the packet belongs to it: its own flow (unless a
 * bare SYN reopens a closed TCP flow), or an ICMP error about it.
 * *swapped: as in ct_make_key.
 */
static bool ref_known(int hook, __u32 veth, struct expect *e, bool *swapped)
{
	struct ref_pkt *r = &e->r;
	struct netseg_ct_key k;

	if (!ctm.live)
		return false;
	if (!r->tracked)
		return ref_related(hook, veth, r);
	*swapped = ref_ct_key(r, &k);
	if (memcmp(&k, &ctm.k, sizeof(k)))
		return false;
	return !(ctm.tcp == NETSEG_TCP_CLOSING && r->proto == IPPROTO_TCP &&
		 (r->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN);
}

/* The port the flow's originator asked for (classify.h flow_policy_port()). */
static __u16 flow_port(const struct ref_pkt *r, bool reply)
{
	if (!reply)
		return r->pport;
	if (r->proto == IPPROTO_ICMP)
		return 8 << 8;
	if (r->proto == IPPROTO_ICMPV6)
		return 128 << 8;
	return r->sport;
}

/* Odd policy sets run with lo marked as an uplink (XDP always runs on lo). */
static bool lo_uplink;

/*
 * A packet of the modelled flow: the entry decides.  On E0's veth, TC
 * trusts the verdict only for E0's side of the flow (the packet's source
 * at ingress, its destination at egress): when neither E0 nor its veth is
 * recorded there, the flow is decided again with E0 on that side and the
 * entry's identity on the other (classify.h ct_again()); a deny stays.
 */
static void ref_ct(const struct policy *pol, int hook, __u32 veth, struct expect *e, bool swapped)
{
	bool reply = swapped != ctm.orig_is_b;
	int side = (hook == NETSEG_HOOK_TC_INGRESS) == !reply ? 0 : 1;
	struct ref_pkt fr = e->r;
	__u32 ids[2];

	if (hook != NETSEG_HOOK_XDP && veth && !ctm.deny && !ctm.cov[side] &&
	    ctm.id[side] != ID_E0) {
		ids[0] = ctm.id[0];
		ids[1] = ctm.id[1];
		ids[side] = ID_E0;
		fr.pport = flow_port(&e->r, reply);
		ref_policy(pol, ids[0], ids[1], &fr, e);
		ctm.id[0] = ids[0];
		ctm.id[1] = ids[1];
		ctm.deny = !e->pass;
		ctm.cls = e->cls;
		ctm.reason = e->reason;
		ctm.rule = e->rule;
		ctm.cov[side] = true;
		if (e->pass)
			ctm_update(&e->r, swapped);
		return;
	}
	if (hook != NETSEG_HOOK_XDP && veth)
		ctm.cov[side] = true;
	if (ctm.deny) {
		set(e, ctm.cls, false, ctm.reason, ctm.rule);
		e->denied = true;
		return;
	}
	/* XDP on an uplink decides a known flow for TC ingress (the mark in
	 * the packet's metadata) and moves its entry as TC would; elsewhere
	 * it passes it on. */
	if (hook == NETSEG_HOOK_XDP && !lo_uplink)
		e->xdp_known = true;
	else
		ctm_update(&e->r, swapped);
	set(e, C_CT, true, 0, 0);
}

/* An IP packet past parsing, prefilter and ND: fragments, identities, rules. */
static void ref_flow(const struct policy *pol, int hook, __u32 veth, struct expect *e)
{
	struct ref_pkt *r = &e->r;
	const struct cidr *sc, *dc;
	__u32 src, dst;
	bool swapped = false;

	/*
	 * An endpoint interface vouches only for its own IPs.
	 * Decision: checked first, for known flows too, so that a pod can't
	 * inject packets into other pods' flows with their peers' addresses,
	 * and a spoofed packet changes no state (fragment records).
	 */
	src = addr_id(r->af, r->src, &sc);
	/*
	 * Arriving on an uplink, the node's own addresses and those learned on
	 * an endpoint interface are spoofed, for known flows too.
	 */
	if (lo_uplink && (hook == NETSEG_HOOK_XDP || (hook == NETSEG_HOOK_TC_INGRESS && !veth)) &&
	    sc && (sc->on_veth || sc->id == NETSEG_ID_HOST)) {
		set(e, C_SPOOFED, false, NETSEG_REASON_SPOOFED, 0);
		return;
	}
	if (hook == NETSEG_HOOK_TC_INGRESS && veth && (!sc || sc->id != ID_E0 || !sc->on_veth)) {
		set(e, C_SPOOFED, false, NETSEG_REASON_SPOOFED, 0);
		return;
	}
	switch (r->frag != F_NONE ? ref_frag(r) : C_IP) {
	case C_FRAG_UNKNOWN:
		set(e, C_FRAG_UNKNOWN, false, NETSEG_REASON_FRAG_UNKNOWN, 0);
		return;
	case C_FRAG_CONFLICT:
		set(e, C_FRAG_CONFLICT, false, NETSEG_REASON_FRAG_CONFLICT, 0);
		return;
	}
	if (ref_known(hook, veth, e, &swapped)) {
		if (r->tracked)
			ref_ct(pol, hook, veth, e, swapped);
		else
			set(e, C_CT, true, 0, 0);
		return;
	}
	dst = addr_id(r->af, r->dst, &dc);
	/* Leaving on an endpoint interface: towards that endpoint, whatever the address. */
	if (hook == NETSEG_HOOK_TC_EGRESS && veth)
		dst = ID_E0;
	ref_policy(pol, src, dst, r, e);
	/*
	 * TC remembers passed flows that have a tuple, except an ICMP reply
	 * with no request on record (Linux: INVALID); XDP never creates entries.
	 */
	if (!e->pass || !r->tracked || ref_icmp_reply(r) || hook == NETSEG_HOOK_XDP)
		return;
	e->ct = true;
	swapped = ref_ct_key(r, &e->ck);
	if ((ctm.live && !memcmp(&e->ck, &ctm.k, sizeof(ctm.k))) ||
	    (ctm.arm && hook == NETSEG_HOOK_TC_INGRESS)) {
		ctm.live = true;
		ctm.arm = false;
		ctm.k = e->ck;
		ctm.orig_is_b = swapped;
		ctm.seen_reply = false;
		ctm.tcp = tcp_initial(r);
		ctm.id[0] = src;
		ctm.id[1] = dst;
		ctm.deny = false;
		/* The veth's point is recorded on its endpoint's side. */
		ctm.cov[0] = veth && hook == NETSEG_HOOK_TC_INGRESS;
		ctm.cov[1] = veth && hook == NETSEG_HOOK_TC_EGRESS;
		e->ct_keep = true;
	}
}

/*
 * What `hook` must do with frame f (len bytes), given the modelled
 * fragment map (updated as the datapath updates its own).  veth: TC runs
 * on E0's endpoint interface (that ifindex) instead of lo.
 */
static void ref_decide(const struct policy *pol, int hook, __u32 veth, const __u8 *f, size_t len,
		       struct expect *e)
{
	struct ref_pkt *r = &e->r;
	__u16 outer = be16(f + 12);

	memset(e, 0, sizeof(*e));
	/*
	 * The kernel's skb test run (not the program) refuses an IPv4/IPv6
	 * frame shorter than Ethernet + the fixed IP header, by the outer
	 * EtherType; XDP runs see every frame from ETH_HLEN on.
	 */
	if (hook != NETSEG_HOOK_XDP && ((outer == ETH_P_IP && len < ETH_HLEN + 20) ||
					(outer == ETH_P_IPV6 && len < ETH_HLEN + 40))) {
		set(e, C_REFUSED, false, 0, 0);
		return;
	}
	ref_parse(f, len, r);
	if (r->cls == C_NONIP)
		set(e, C_NONIP, true, 0, 0);
	else if (r->cls == C_MALFORMED)
		set(e, C_MALFORMED, false, NETSEG_REASON_MALFORMED, 0);
	else if (r->cls == C_IMPOSSIBLE)
		set(e, C_IMPOSSIBLE, false, NETSEG_REASON_IMPOSSIBLE, 0);
	else if (hook == NETSEG_HOOK_XDP && lpm(prefilter, ARRAY_LEN(prefilter), r->af, r->src))
		set(e, C_PREFILTER, false, NETSEG_REASON_PREFILTER, 0);
	else if (r->cls == C_ND) /* ND/MLD pass under any policy */
		set(e, C_ND, true, 0, 0);
	else
		ref_flow(pol, hook, veth, e);
}

/* --------------------------------------------------------- base frames */

struct base {
	struct pkt p;
	int af;
	__u8 proto;
	int ext_off[10];  /* IPv6 extension headers, frame offsets */
	int next_off[10]; /* where each one's next-header byte was written */
	int next_n;
	int frag;     /* F_* */
	bool on_veth; /* TC runs it on the endpoint interface */
};

static void pick_addr(int af, __u8 *a, bool allow_mcast)
{
	static const __u8 e4[4][4] = {
		{ 198, 18, 10, 1 },
		{ 198, 18, 10, 2 },
		{ 198, 18, 10, 3 },
		{ 198, 18, 10, 4 },
	};
	__u32 r = rp_below(20);

	memset(a, 0, 16);
	if (r == 19 && allow_mcast && rp_below(3) == 0) {
		if (af == 4)
			memcpy(a,
			       rp_below(2) ? (__u8[]){ 224, 0, 0, 5 } :
					     (__u8[]){ 255, 255, 255, 255 },
			       4);
		else
			a[0] = 0xff, a[1] = 0x02, a[15] = 1;
		return;
	}
	if (r >= 19)
		r = 13; /* world */
	if (af == 4) {
		if (r < 8 || r == 18)
			memcpy(a, e4[r == 18 ? 0 : r / 2], 4);
		else if (r < 10)
			memcpy(a, (__u8[]){ 198, 19, 1 + rp_below(4), 1 + rp_below(250) }, 4);
		else if (r < 12)
			memcpy(a, (__u8[]){ 198, 19, 5, rp_below(256) }, 4);
		else if (r == 12)
			memcpy(a, (__u8[]){ 198, 18, 0, 1 }, 4);
		else if (r < 17)
			memcpy(a, (__u8[]){ 198, 18, 200, rp_below(256) }, 4);
		else
			memcpy(a, (__u8[]){ 198, 18, 66, rp_below(256) }, 4);
		return;
	}
	a[0] = 0xfd;
	if (r < 8 || r == 18) {
		a[13] = 0x10;
		a[15] = (r == 18 ? 0 : r / 2) + 1;
	} else if (r < 10) {
		a[2] = 0, a[3] = 0xc0, a[5] = 1 + rp_below(4), a[15] = 1 + rp_below(250);
	} else if (r < 12) {
		a[2] = 0, a[3] = 0xc0, a[4] = 0, a[5] = 5, a[15] = rp_below(256);
	} else if (r == 12) {
		a[15] = 1;
	} else if (r < 17) {
		a[12] = 0x02; /* fd00::200:x: world */
		a[15] = rp_below(256);
	} else {
		a[2] = 0, a[3] = 0x66, a[15] = rp_below(256);
	}
}

/* A destination port a rule names (or just past its edges), often. */
static __u16 pick_dport(const struct policy *pol)
{
	const struct netseg_rule *r = &pol->rules[rp_below((__u32)pol->n)];
	__u32 c = rp_below(8);
	int p;

	if (c < 4 && r->nports) {
		p = rp_below(2) ? r->ports[rp_below(r->nports)].lo :
				  r->ports[rp_below(r->nports)].hi;
		p += (int)rp_below(3) - 1;
		return p < 0 ? 0 : p > 65535 ? 65535 : (__u16)p;
	}
	if (c < 7)
		return rp_port();
	return (__u16)rp_below(65536); /* 0 now and then */
}

static __u8 pick_icmp_type(const struct policy *pol, bool v6)
{
	static const __u8 t4[] = { 8, 0, 8, 0, 3, 11, 12, 5, 13, 14, 15, 17, 18, 42 };
	static const __u8 t6[] = { 128, 129, 128, 129, 1,   2,	 3,   4,   133, 134,
				   135, 136, 135, 136, 143, 130, 143, 139, 140 };
	const struct netseg_rule *r = &pol->rules[rp_below((__u32)pol->n)];

	if (rp_below(4) == 0 && r->icmp_type >= 0)
		return (__u8)r->icmp_type;
	if (rp_below(8) == 0)
		return (__u8)rp_below(256);
	return v6 ? t6[rp_below(ARRAY_LEN(t6))] : t4[rp_below(ARRAY_LEN(t4))];
}

static __u8 pick_tcp_flags(void)
{
	static const __u8 f[] = {
		PKT_TCP_SYN,
		PKT_TCP_SYN,
		PKT_TCP_SYN,
		PKT_TCP_SYN,
		PKT_TCP_ACK,
		PKT_TCP_SYN | PKT_TCP_ACK,
		PKT_TCP_FIN | PKT_TCP_ACK,
		PKT_TCP_RST,
		PKT_TCP_PSH | PKT_TCP_ACK,
		PKT_TCP_RST | PKT_TCP_ACK,
	};

	return rp_below(10) ? f[rp_below(ARRAY_LEN(f))] : (__u8)rp_rnd();
}

/* The quoted packet of an ICMP error: an IP header and 8 bytes of L4. */
static void icmp_quote(struct pkt *p, int af, const __u8 *s, const __u8 *d)
{
	__u8 q[48] = { 0 };
	size_t n;

	if (af == 4) {
		q[0] = 0x45;
		q[3] = 48;
		q[8] = 64;
		q[9] = rp_below(2) ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(q + 12, d, 4); /* it was sent the other way */
		memcpy(q + 16, s, 4);
		n = 20;
	} else {
		q[0] = 0x60;
		q[6] = rp_below(2) ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(q + 8, d, 16);
		memcpy(q + 24, s, 16);
		n = 40;
	}
	q[n] = 0x9c, q[n + 1] = 0x40, q[n + 2] = 0x01, q[n + 3] = 0xbb;
	pkt_bytes(p, q, n + rp_below(9)); /* the quote may be cut short */
}

/*
 * ND and MLD mostly as they are sent (hop limit 255 / 1, link-scope
 * groups), now and then not: routed, to other groups.
 */
static void nd_shape(struct pkt *p, __u8 type)
{
	static const __u8 groups[][2] = { { 0xff, 0x02 }, { 0xff, 0x05 }, { 0xfe, 0x80 } };
	bool nd = type >= 133 && type <= 137, mld = (type >= 130 && type <= 132) || type == 143;
	__u8 *l3 = pkt_l3(p);

	if (!nd && !mld)
		return;
	if (rp_below(5))
		l3[7] = nd ? 255 : 1;
	else
		l3[7] = rp_below(2) ? 64 : 254;
	if (rp_below(2)) {
		memcpy(l3 + 24, groups[rp_below(ARRAY_LEN(groups))], 2);
		memset(l3 + 26, 0, 14);
		l3[39] = 1 + rp_below(22);
	}
}

static void base_l4(struct base *b, const struct policy *pol, const __u8 *s, const __u8 *d)
{
	struct pkt *p = &b->p;
	__u16 sport = rp_below(200) ? 1024 + rp_below(64000) : 0;
	__u8 type;

	switch (b->proto) {
	case IPPROTO_TCP:
		pkt_tcp(p, sport, pick_dport(pol), pick_tcp_flags(),
			rp_below(4) ? 0 : 4 * rp_below(11));
		break;
	case IPPROTO_UDP:
		pkt_udp(p, sport, pick_dport(pol));
		break;
	case IPPROTO_SCTP:
		pkt_sctp(p, sport, pick_dport(pol));
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		type = pick_icmp_type(pol, b->proto == IPPROTO_ICMPV6);
		pkt_icmp(p, type, rp_below(4) ? 0 : rp_below(16), rp_below(65536), 1);
		/* pkt_icmp picks the protocol by family: ICMPv6 in v4 etc. too. */
		p->l4_proto = b->proto;
		if ((b->proto == IPPROTO_ICMP && (type == 3 || type == 11 || type == 12)) ||
		    (b->proto == IPPROTO_ICMPV6 && type >= 1 && type <= 4))
			icmp_quote(p, b->af, s, d);
		else if (b->proto == IPPROTO_ICMPV6 && type >= 133 && type <= 137)
			pkt_payload(p, 16, 0); /* target address */
		if (b->af == 6 && b->proto == IPPROTO_ICMPV6)
			nd_shape(p, type);
		break;
	default:
		pkt_payload(p, 8, 0xab);
		break;
	}
}

static void base_eth(struct pkt *p, int nvlan, __u16 l3type)
{
	pkt_init(p);
	if (!nvlan) {
		pkt_eth(p, l3type);
		return;
	}
	pkt_eth(p, nvlan == 2 ? ETH_8021AD : ETH_8021Q);
	if (nvlan == 2)
		pkt_vlan(p, 1 + rp_below(4094), ETH_8021Q);
	pkt_vlan(p, 1 + rp_below(4094), l3type);
}

static const __u8 ext_types[] = { IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_AH, IPPROTO_DSTOPTS };

/* What a base frame (or both frames of a fragmented datagram) is made of. */
struct shape {
	int af, nvlan, ihl, n_ext, frag;
	int ext[10]; /* IPv6 extension header types, in order */
	__u8 s[16], d[16], proto;
	__u32 fid; /* fragment id */
	bool veth;
};

static __u8 pick_proto(int af)
{
	static const __u8 other[] = { IPPROTO_GRE, IPPROTO_ESP, 59, 103, 255, 51 };
	__u32 r = rp_below(100);

	if (r < 35)
		return IPPROTO_TCP;
	if (r < 55)
		return IPPROTO_UDP;
	if (r < 63)
		return IPPROTO_SCTP;
	if (r < 85)
		return af == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	if (r < 90) /* ICMPv6 in IPv4 and ICMP in IPv6: no stack sends them */
		return af == 4 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	/* 51 is AH: a protocol in IPv4, an extension header in IPv6. */
	return other[rp_below(af == 4 ? ARRAY_LEN(other) : ARRAY_LEN(other) - 1)];
}

static void pick_shape(struct shape *sh)
{
	__u32 r;

	memset(sh, 0, sizeof(*sh));
	sh->af = rp_below(2) ? 4 : 6;
	sh->veth = rp_below(4) == 0;
	sh->fid = rp_rnd();
	pick_addr(sh->af, sh->s, true);
	pick_addr(sh->af, sh->d, false);
	/* Half of the veth frames come from E0's own address: not spoofed. */
	if (sh->veth && rp_below(2))
		memcpy(sh->s,
		       sh->af == 4 ?
			       (__u8[16]){ 198, 18, 10, 1 } :
			       (__u8[16]){ 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 1 },
		       16);
	sh->proto = pick_proto(sh->af);
	r = rp_below(10);
	sh->nvlan = r < 7 ? 0 : r < 9 ? 1 : 2;
	sh->ihl = sh->af == 4 && rp_below(6) == 0 ? 6 + rp_below(10) : 5;
	if (sh->af == 6 && rp_below(3) == 0) {
		sh->n_ext = 1 + rp_below(4);
		if (rp_below(40) == 0)
			sh->n_ext = 5 + rp_below(4); /* past NETSEG_IPV6_EXT_MAX, at times */
		for (int i = 0; i < sh->n_ext; i++)
			sh->ext[i] = i == 0 && rp_below(2) ?
					     IPPROTO_HOPOPTS :
					     ext_types[rp_below(ARRAY_LEN(ext_types))];
	}
	r = rp_below(12);
	if (r == 0)
		sh->frag = F_FIRST; /* and a later fragment of the same datagram */
	else if (r == 1 && rp_below(3) == 0)
		sh->frag = F_LATER; /* of a datagram nobody saw */
}

/* IPv6 header and extension chain, recording offsets for the mutations. */
static void base_ipv6(struct base *x, const struct shape *sh, int kind, __u16 off8, bool more)
{
	struct pkt *p = &x->p;
	int last = kind != F_NONE ? IPPROTO_FRAGMENT : sh->proto;

	pkt_ipv6(p, "::", "::", sh->n_ext ? sh->ext[0] : last);
	memcpy(pkt_l3(p) + 8, sh->s, 16);
	memcpy(pkt_l3(p) + 24, sh->d, 16);
	x->next_off[x->next_n++] = p->l3_off + 6;
	for (int i = 0; i < sh->n_ext; i++) {
		int t = sh->ext[i];

		x->ext_off[x->next_n] = (int)p->len;
		x->next_off[x->next_n++] = (int)p->len;
		pkt_ip6_ext(p, t, i + 1 < sh->n_ext ? sh->ext[i + 1] : last,
			    t == IPPROTO_AH ? 12 + 4 * rp_below(4) : 8 * (1 + rp_below(3)));
	}
	if (kind != F_NONE) {
		x->ext_off[x->next_n] = (int)p->len;
		x->next_off[x->next_n++] = (int)p->len;
		pkt_ip6_frag(p, sh->proto, sh->fid, kind == F_FIRST ? 0 : off8, more);
	}
}

static void base_frame(struct base *x, const struct shape *sh, int kind, const struct policy *pol)
{
	struct pkt *p = &x->p;
	__u16 off8 = 1 + rp_below(180);
	bool more = kind == F_FIRST || rp_below(2);

	memset(x, 0, sizeof(*x));
	x->af = sh->af;
	x->proto = sh->proto;
	x->frag = kind;
	x->on_veth = sh->veth;
	base_eth(p, sh->nvlan, sh->af == 4 ? ETH_P_IP : ETH_P_IPV6);
	if (sh->af == 4) {
		pkt_ipv4(p,
			 &(struct pkt_ip4){ .src = "0.0.0.0",
					    .dst = "0.0.0.0",
					    .proto = sh->proto,
					    .ihl = sh->ihl,
					    .id = (__u16)sh->fid,
					    .frag = kind == F_NONE  ? 0 :
						    kind == F_FIRST ? 0x2000 :
								      (more ? 0x2000 : 0) | off8 });
		memcpy(pkt_l3(p) + 12, sh->s, 4);
		memcpy(pkt_l3(p) + 16, sh->d, 4);
	} else {
		base_ipv6(x, sh, kind, off8, more);
	}
	if (kind == F_LATER)
		pkt_payload(p, 8 + rp_below(56), (__u8)rp_rnd());
	else
		base_l4(x, pol, sh->s, sh->d);
	if (kind != F_LATER && rp_below(3) == 0)
		pkt_payload(p, rp_below(64), (__u8)rp_rnd());
	pkt_finish(p);
}

/*
 * One valid frame, or a pair for a fragmented datagram: b[0] the first
 * fragment (offset 0, MF, the whole L4 header), b[1] a later one of the
 * same datagram.  Returns how many bases were written.
 */
static int base_build(struct base b[2], const struct policy *pol)
{
	struct shape sh;

	pick_shape(&sh);
	if (sh.frag != F_FIRST) {
		base_frame(&b[0], &sh, sh.frag, pol);
		return 1;
	}
	base_frame(&b[0], &sh, F_FIRST, pol);
	base_frame(&b[1], &sh, F_LATER, pol);
	return 2;
}

/* ------------------------------------------------------------ mutation */

enum mut {
	M_CUT,
	M_FLIP,
	M_BYTE,
	M_IPLEN,
	M_IHL,
	M_EXT,
	M_VLAN,
	M_TCP,
	M_GARBAGE,
	M_RANDOM,
	M_FRAG,
	M_ETYPE,
	M_ICMP,
	M_MAX,
};

static const char *const mut_name[M_MAX] = {
	"cut",	      "bit-flip",   "byte",	      "ip-length",  "ihl/version",
	"ext-header", "vlan-stack", "tcp-doff/flags", "garbage-l3", "random-frame",
	"frag-field", "ethertype",  "icmp-type",
};

static const __u8 special[] = {
	0,
	1,
	2,
	4,
	5,
	6,
	0x0f,
	0x10,
	0x3f,
	0x40,
	0x45,
	0x60,
	0x7f,
	0x80,
	0xfe,
	0xff,
	IPPROTO_HOPOPTS,
	IPPROTO_ROUTING,
	IPPROTO_FRAGMENT,
	IPPROTO_AH,
	IPPROTO_DSTOPTS,
	IPPROTO_TCP,
	IPPROTO_UDP,
	IPPROTO_SCTP,
	IPPROTO_ICMP,
	IPPROTO_ICMPV6,
	59,
	135,
};

static __u8 special_byte(void)
{
	return rp_below(3) ? special[rp_below(ARRAY_LEN(special))] : (__u8)rp_rnd();
}

static __u16 special_len(size_t l3len)
{
	switch (rp_below(7)) {
	case 0:
		return 0;
	case 1:
		return (__u16)rp_below(20);
	case 2:
		return (__u16)(l3len + 1 + rp_below(64));
	case 3:
		return 0xffff;
	case 4:
		return (__u16)(l3len > 8 ? l3len - 1 - rp_below(8) : 0);
	default:
		return (__u16)rp_rnd();
	}
}

static void put_be16(__u8 *b, __u16 v)
{
	b[0] = v >> 8;
	b[1] = v & 0xff;
}

/* Header bytes: where a flip is most likely to change a decision. */
static size_t hdr_span(const struct base *b)
{
	size_t end = b->p.l4_off >= 0 ? (size_t)b->p.l4_off + 20 : (size_t)b->p.l3_off + 48;

	return end < b->p.len ? end : b->p.len;
}

static void insert(struct pkt *m, size_t at, const __u8 *bytes, size_t n)
{
	if (m->len + n > PKT_MAX)
		return;
	memmove(m->buf + at + n, m->buf + at, m->len - at);
	memcpy(m->buf + at, bytes, n);
	m->len += n;
}

/* 1-3 more tags after the MACs: 3-5 in all (now and then an 0x9100 one). */
static void more_tags(struct pkt *m)
{
	size_t n = 1 + rp_below(3);
	__u8 tags[12];

	for (size_t i = 0; i < n; i++) {
		put_be16(tags + 4 * i,
			 rp_below(8) ? (rp_below(2) ? ETH_8021Q : ETH_8021AD) : 0x9100);
		put_be16(tags + 4 * i + 2, (__u16)rp_below(4096));
	}
	insert(m, 12, tags, 4 * n);
}

/* Random bytes after the (intact) L2 header, often with a right version nibble. */
static void garbage_l3(const struct base *b, struct pkt *m)
{
	size_t n = rp_below(90);

	m->len = b->p.l3_off;
	for (size_t i = 0; i < n; i++)
		m->buf[m->len++] = (__u8)rp_rnd();
	if (n && rp_below(2))
		m->buf[b->p.l3_off] = b->af == 4 ? 0x45 : 0x60;
	if (m->len < ETH_HLEN)
		m->len = ETH_HLEN;
}

/* A frame of random bytes, mostly with an EtherType that gets it parsed. */
static void random_frame(struct pkt *m)
{
	static const __u16 types[] = { ETH_P_IP, ETH_P_IPV6, ETH_8021Q, ETH_8021AD, ETH_P_ARP };

	m->len = ETH_HLEN + rp_below(150);
	for (size_t i = 0; i < m->len; i++)
		m->buf[i] = (__u8)rp_rnd();
	if (rp_below(4))
		put_be16(m->buf + 12, types[rp_below(ARRAY_LEN(types))]);
}

/* m = base b with one mutation of kind k; falls back to a bit flip. */
static void mutate(const struct base *b, struct pkt *m, int k)
{
	size_t span = hdr_span(b), n;
	__u8 *l3, *l4;

	*m = b->p;
	l3 = m->buf + b->p.l3_off;
	l4 = b->p.l4_off >= 0 ? m->buf + b->p.l4_off : NULL;
	switch (k) {
	case M_CUT:
		m->len = ETH_HLEN + rp_below((__u32)(m->len - ETH_HLEN));
		return;
	case M_BYTE:
		for (n = 1 + rp_below(3); n; n--)
			m->buf[ETH_HLEN + rp_below((__u32)(span - ETH_HLEN))] = special_byte();
		return;
	case M_IPLEN:
		if (b->af == 4)
			put_be16(l3 + 2, special_len(m->len - b->p.l3_off));
		else
			put_be16(l3 + 4, special_len(m->len - b->p.l3_off - 40));
		if (b->af == 4 && rp_below(2))
			pkt_refresh_ip4_csum(m);
		return;
	case M_IHL:
		if (rp_below(3))
			l3[0] = (l3[0] & 0xf0) | rp_below(16);
		else
			l3[0] = (__u8)(rp_below(16) << 4) | (l3[0] & 0x0f);
		if (b->af == 4 && rp_below(2))
			pkt_refresh_ip4_csum(m);
		return;
	case M_EXT:
		if (b->af != 6)
			break;
		n = rp_below((__u32)b->next_n);
		if (rp_below(2) && b->ext_off[n])
			m->buf[b->ext_off[n] + 1] = special_byte(); /* length */
		else
			m->buf[b->next_off[n]] = special_byte(); /* next header */
		return;
	case M_VLAN:
		more_tags(m);
		return;
	case M_TCP:
		if (b->proto != IPPROTO_TCP || !l4)
			break;
		if (rp_below(2))
			l4[12] = (__u8)(rp_below(16) << 4);
		else
			l4[13] = (__u8)rp_rnd();
		return;
	case M_GARBAGE:
		garbage_l3(b, m);
		return;
	case M_RANDOM:
		random_frame(m);
		return;
	case M_FRAG:
		if (b->af == 4) {
			put_be16(l3 + 6, (__u16)rp_rnd());
			return;
		}
		/* Extension header i is announced by next_off[i - 1]. */
		for (int i = b->next_n - 1; i >= 1; i--) {
			if (m->buf[b->next_off[i - 1]] == IPPROTO_FRAGMENT) {
				put_be16(m->buf + b->ext_off[i] + 2, (__u16)rp_rnd());
				return;
			}
		}
		break;
	case M_ETYPE:
		n = b->p.l3_off - 2;
		if (rp_below(4))
			put_be16(m->buf + n, be16(m->buf + n) == ETH_P_IP ? ETH_P_IPV6 : ETH_P_IP);
		else
			put_be16(m->buf + n, (__u16)rp_rnd());
		return;
	case M_ICMP:
		if ((b->proto != IPPROTO_ICMP && b->proto != IPPROTO_ICMPV6) || !l4)
			break;
		l4[0] = rp_below(2) ? (__u8)(130 + rp_below(14)) : (__u8)rp_rnd();
		l4[1] = rp_below(2) ? 0 : (__u8)rp_rnd();
		return;
	}
	/* M_FLIP and the fallback. */
	for (n = 1 + rp_below(4); n; n--) {
		size_t at = rp_below(4) ? rp_below((__u32)span) : rp_below((__u32)m->len);

		m->buf[at] ^= (__u8)(1 << rp_below(8));
	}
}

/* ----------------------------------------------------------------- run */

struct fuzz {
	struct bpfx x;
	struct policy pol;
	__u32 veth;
	int ct_fd;
	__u32 seed;
	int set;
	size_t frames, frames_hook[NHOOKS], distinct;
	size_t cls[NHOOKS][C_MAX];
	size_t muts[M_MAX], sweeps, frag_first, frag_later;
	size_t edges[EDGE_MAX]; /* frames decided past parsing that met one */
	size_t ct_phases;	/* reply phases run (controlled conntrack) */
	size_t bad[NHOOKS], bad_set, shown;
	size_t unsafe;			    /* policy-denied frames that passed */
	size_t cut_unsafe;		    /* cuts of a denied base that passed */
	size_t ct_bad;			    /* CT entries missing or unexpected */
	size_t reason_sum[NETSEG_STAT_MAX]; /* expected counter moves */
};

/* Every frame runs through each; TC on lo or, for a quarter of the bases, on E0's veth. */
static const int hooks[NHOOKS] = { NETSEG_HOOK_XDP, NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_TC_EGRESS };

static void hexdump(const __u8 *b, size_t n)
{
	char line[3 * 32 + 1];

	for (size_t i = 0; i < n; i += 32) {
		size_t o = 0;

		for (size_t j = i; j < n && j < i + 32; j++)
			o += snprintf(line + o, sizeof(line) - o, "%02x ", b[j]);
		diag("    %04zx  %s", i, line);
	}
}

static void show(struct fuzz *z, int h, const struct pkt *m, const char *what,
		 const struct expect *e, int err, bool pass, int nden,
		 const struct netseg_event *ev)
{
	char s[INET6_ADDRSTRLEN] = "-", d[INET6_ADDRSTRLEN] = "-";

	if (z->shown++ >= SHOW_MAX)
		return;
	if (e->r.af)
		inet_ntop(e->r.af == 6 ? AF_INET6 : AF_INET, e->r.src, s, sizeof(s)),
			inet_ntop(e->r.af == 6 ? AF_INET6 : AF_INET, e->r.dst, d, sizeof(d));
	diag("DISAGREEMENT (%s) [%s] set %d frame %zu, seed %u:", what, bpfx_hook_name(hooks[h]),
	     z->set, z->distinct, z->seed);
	diag("  reference: %s, %s reason %u rule %u; %s -> %s proto %u ports %u -> %u "
	     "policy port 0x%04x frag %d",
	     cls_name[e->cls], e->pass ? "pass" : "drop", e->reason, e->rule, s, d, e->r.proto,
	     e->r.sport, e->r.dport, e->r.pport, e->r.frag);
	if (err)
		diag("  datapath: test run failed: %s", strerror(-err));
	else
		diag("  datapath: %s, %d deny event(s)%s", pass ? "pass" : "drop", nden,
		     nden ? "" : " (no reason)");
	if (ev)
		bpfx_diag_event(ev);
	diag("  frame (%zu bytes):", m->len);
	hexdump(m->buf, m->len);
}

/* One frame through one hook; false on a disagreement. */
static bool run_hook(struct fuzz *z, int h, const struct pkt *m, bool base_denied, bool is_cut)
{
	struct bpfx *x = &z->x;
	const struct netseg_event *den = NULL;
	bool veth = h > 0 && z->veth, pass, good;
	struct netseg_ct_entry cte;
	struct expect e;
	__u32 ret = 0;
	int err, nden = 0;

	ref_decide(&z->pol, hooks[h], veth ? z->veth : 0, m->buf, m->len, &e);
	x->nev = 0;
	err = bpfx_run(x, hooks[h], m, veth ? z->veth : 0, 1, &ret, NULL);
	pass = !err && bpfx_is_pass(hooks[h], ret);
	bpfx_events(x);
	for (size_t i = 0; i < x->nev; i++) {
		if (x->ev[i].type == NETSEG_EV_DENY) {
			nden++;
			den = &x->ev[i];
		}
	}
	z->cls[h][e.cls]++;
	for (int i = 0; i < EDGE_MAX; i++)
		z->edges[i] += h == 0 && e.cls != C_MALFORMED && (e.r.edges & 1u << i);
	/* Frames the kernel refuses never reach a program: not counted as run. */
	z->frames += e.cls != C_REFUSED;
	z->frames_hook[h] += e.cls != C_REFUSED;
	if (e.cls == C_REFUSED) {
		good = err == -EINVAL;
	} else {
		good = !err && pass == e.pass && nden == !e.pass;
		if (good && !e.pass)
			good = den->reason == e.reason && den->rule_id == e.rule;
		z->reason_sum[e.cls == C_NONIP || e.cls == C_ND ? NETSEG_STAT_PASS_NON_IP :
			      e.xdp_known			? NETSEG_STAT_XDP_PASS :
			      e.pass				? NETSEG_STAT_PASS :
								  e.reason]++;
	}
	if (!good)
		show(z, h, m, "verdict", &e, err, pass, nden, den);
	if (e.denied && pass) {
		z->unsafe++;
		show(z, h, m, "a denied flow passed", &e, err, pass, nden, den);
	}
	if (is_cut && base_denied && pass) {
		z->cut_unsafe++;
		show(z, h, m, "a cut of a denied frame passed", &e, err, pass, nden, den);
	}
	if (good && e.ct &&
	    (e.ct_keep ? bpf_map_lookup_elem(z->ct_fd, &e.ck, &cte) :
			 bpf_map_delete_elem(z->ct_fd, &e.ck))) {
		z->ct_bad++;
		good = false;
		show(z, h, m, "no conntrack entry for the passed flow", &e, err, pass, nden, den);
	}
	if (!good) {
		z->bad[h]++;
		bpfx_ct_flush(x); /* no cascade from a stray entry */
		ctm.live = false;
	}
	return good;
}

/* Every entry the datapath wrote must have been predicted (and deleted). */
static void ct_check_empty(struct fuzz *z)
{
	struct netseg_ct_key k, first;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	if (bpf_map_get_next_key(z->ct_fd, NULL, &k))
		return;
	/* The modelled entry of the reply phase may be there, and only it. */
	first = k;
	if (ctm.live && !memcmp(&k, &ctm.k, sizeof(k)) &&
	    bpf_map_get_next_key(z->ct_fd, &first, &k))
		return;
	z->ct_bad++;
	if (z->shown++ < SHOW_MAX) {
		int af = k.family == NETSEG_AF_INET6 ? AF_INET6 : AF_INET;

		inet_ntop(af, k.a_addr, s, sizeof(s));
		inet_ntop(af, k.b_addr, d, sizeof(d));
		diag("DISAGREEMENT: conntrack holds an entry the reference didn't expect "
		     "(set %d, before frame %zu): %s:%u <-> %s:%u proto %u",
		     z->set, z->distinct, s, ntohs(k.a_port), d, ntohs(k.b_port), k.proto);
	}
	bpfx_ct_flush(&z->x);
	ctm.live = false;
}

static void run_frame(struct fuzz *z, const struct pkt *m, const bool denied[NHOOKS], bool is_cut)
{
	bool good = true;

	for (int h = 0; h < NHOOKS; h++)
		good &= run_hook(z, h, m, denied[h], is_cut);
	if (!good)
		z->bad_set++;
	if (++z->distinct % CT_CHECK_EVERY == 0)
		ct_check_empty(z);
	if (nfrags >= FRAG_FLUSH || mono_s() - frags_t0 > FRAG_FLUSH_S)
		frags_reset(&z->x);
}

/* The reference's verdict for the untouched base, per hook (no side effects). */
static void base_denied(struct fuzz *z, const struct base *b, bool denied[NHOOKS])
{
	static struct frag_rec saved[FRAG_SLOTS];
	size_t saved_n = nfrags;
	struct expect e;

	memcpy(saved, frags, sizeof(frags));
	for (int h = 0; h < NHOOKS; h++) {
		ref_decide(&z->pol, hooks[h], h > 0 && z->veth ? z->veth : 0, b->p.buf, b->p.len,
			   &e);
		denied[h] = e.denied;
	}
	memcpy(frags, saved, sizeof(frags));
	nfrags = saved_n;
}

/* The other direction of base b's flow; a TCP reply answers a SYN with SYN+ACK. */
static void reply_build(const struct base *b, struct base *rb)
{
	__u8 *l3, *l4, t[16];
	int alen = b->af == 4 ? 4 : 16, so = b->af == 4 ? 12 : 8;

	*rb = *b;
	l3 = pkt_l3(&rb->p);
	l4 = pkt_l4(&rb->p);
	memcpy(t, l3 + so, alen);
	memcpy(l3 + so, l3 + so + alen, alen);
	memcpy(l3 + so + alen, t, alen);
	if (b->proto == IPPROTO_ICMP || b->proto == IPPROTO_ICMPV6) {
		/* query <-> reply (8/0, 13/14, 15/16, 17/18; 128/129, 139/140); the id stays */
		static const __u8 pairs[][2] = { { 8, 0 },   { 13, 14 },   { 15, 16 },
						 { 17, 18 }, { 128, 129 }, { 139, 140 } };

		for (size_t i = 0; i < ARRAY_LEN(pairs); i++) {
			if (l4[0] == pairs[i][0] || l4[0] == pairs[i][1]) {
				l4[0] = pairs[i][0] + pairs[i][1] - l4[0];
				break;
			}
		}
	} else {
		memcpy(t, l4, 2);
		memcpy(l4, l4 + 2, 2);
		memcpy(l4 + 2, t, 2);
	}
	if (b->proto == IPPROTO_TCP)
		l4[13] = (l4[13] & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN ?
				 PKT_TCP_SYN | PKT_TCP_ACK :
			 rp_below(4) ? PKT_TCP_ACK :
			 rp_below(2) ? PKT_TCP_FIN | PKT_TCP_ACK :
				       PKT_TCP_RST;
	pkt_finish(&rb->p);
}

/* An ICMP error from the flow's responder about base b's packet (PMTU & co). */
static void icmp_about(const struct base *b, struct base *eb)
{
	const __u8 *l3 = b->p.buf + b->p.l3_off;
	size_t qlen = (size_t)(b->p.l4_off - b->p.l3_off) + 8;
	struct pkt *p = &eb->p;

	memset(eb, 0, sizeof(*eb));
	eb->af = b->af;
	eb->proto = b->af == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	eb->on_veth = b->on_veth;
	pkt_init(p);
	pkt_eth(p, b->af == 4 ? ETH_P_IP : ETH_P_IPV6);
	if (b->af == 4) {
		pkt_ipv4(p, &(struct pkt_ip4){ .src = "0.0.0.0",
					       .dst = "0.0.0.0",
					       .proto = IPPROTO_ICMP });
		memcpy(pkt_l3(p) + 12, l3 + 16, 4);
		memcpy(pkt_l3(p) + 16, l3 + 12, 4);
		pkt_icmp(p, 3, rp_below(2) ? 3 : 4, 0, 0); /* port unreachable, frag needed */
	} else {
		pkt_ipv6(p, "::", "::", IPPROTO_ICMPV6);
		memcpy(pkt_l3(p) + 8, l3 + 24, 16);
		memcpy(pkt_l3(p) + 24, l3 + 8, 16);
		eb->next_off[eb->next_n++] = p->l3_off + 6;
		pkt_icmp(p, rp_below(2) ? 1 : 2, rp_below(2) ? 4 : 0, 0, 0);
	}
	pkt_bytes(p, l3, qlen < b->p.len - b->p.l3_off ? qlen : b->p.len - b->p.l3_off);
	pkt_finish(p);
}

/* Frame f and a few mutants of it through every hook. */
static void fuzz_some(struct fuzz *z, const struct base *b, int n)
{
	const bool denied[NHOOKS] = { false };
	struct pkt m;

	run_frame(z, &b->p, denied, false);
	for (int i = 0; i < n; i++) {
		int k = rp_below(M_MAX);

		mutate(b, &m, k);
		z->muts[k]++;
		run_frame(z, &m, denied, false);
	}
}

/* The modelled entry's TCP state is the one the datapath holds. */
static void ct_state_check(struct fuzz *z)
{
	struct netseg_ct_entry cte;

	if (!ctm.live || bpf_map_lookup_elem(z->ct_fd, &ctm.k, &cte) || cte.tcp_state == ctm.tcp)
		return;
	z->ct_bad++;
	if (z->shown++ < SHOW_MAX)
		diag("DISAGREEMENT: conntrack TCP state %u, the reference's %u (set %d, frame %zu)",
		     cte.tcp_state, ctm.tcp, z->set, z->distinct);
}

/*
 * Controlled conntrack state: base b's flow is opened at TC ingress and
 * kept; then its replies, an ICMP error about it and their mutants run
 * through every hook (TC on lo, or on E0's veth where most of them are
 * spoofed), the reference tracking the entry's TCP state.
 */
static void reply_phase(struct fuzz *z, const struct base *b, __u32 veth_ifindex)
{
	struct base rb;

	if (b->frag != F_NONE || b->p.l4_off < 0)
		return;
	ctm.arm = true;
	run_hook(z, 1, &b->p, false, false);
	ctm.arm = false;
	if (!ctm.live)
		return; /* not a flow TC ingress lets through and tracks */
	z->ct_phases++;
	z->veth = rp_below(2) ? veth_ifindex : 0;
	reply_build(b, &rb);
	fuzz_some(z, &rb, 2 + rp_below(3));
	if (b->proto != IPPROTO_ICMP && b->proto != IPPROTO_ICMPV6) {
		icmp_about(b, &rb);
		fuzz_some(z, &rb, 1 + rp_below(2));
	}
	reply_build(b, &rb); /* one more: whatever the TCP state is now */
	fuzz_some(z, &rb, 0);
	ct_state_check(z);
	if (ctm.live && bpf_map_delete_elem(z->ct_fd, &ctm.k)) {
		z->ct_bad++;
		diag("DISAGREEMENT: the reply phase's conntrack entry is gone (set %d, frame %zu)",
		     z->set, z->distinct);
	}
	ctm.live = false;
	ct_check_empty(z);
}

static void fuzz_base(struct fuzz *z, const struct base *b, __u32 veth_ifindex)
{
	bool denied[NHOOKS] = { false };
	struct pkt m;

	z->veth = b->on_veth ? veth_ifindex : 0;
	z->frag_first += b->frag == F_FIRST;
	z->frag_later += b->frag == F_LATER;
	run_frame(z, &b->p, denied, false);
	/* A share of the bases: cut at every byte. */
	if (rp_below(10) == 0) {
		base_denied(z, b, denied);
		z->sweeps++;
		for (size_t len = ETH_HLEN; len < b->p.len; len++) {
			m = b->p;
			m.len = len;
			run_frame(z, &m, denied, true);
		}
	}
	for (int i = 0, n = 4 + rp_below(6); i < n; i++) {
		int k = rp_below(M_MAX);

		mutate(b, &m, k);
		z->muts[k]++;
		run_frame(z, &m, denied, false);
	}
	if (rp_below(3) == 0)
		reply_phase(z, b, veth_ifindex);
}

static void policy_load(struct fuzz *z)
{
	struct netseg_policy cp = { 0 };
	struct netseg_err err;
	int ret;

	z->pol.n = rp_rules(z->pol.rules, MAX_RULES, names, ARRAY_LEN(names));
	lo_uplink = z->set % 2;
	ret = lo_uplink ? netseg_dp_uplink_set(z->x.dp, 1) : netseg_dp_endpoint_del(z->x.dp, 1);
	if (ret && ret != -ENOENT)
		bail("set %d: couldn't %s lo as an uplink: %s", z->set,
		     lo_uplink ? "mark" : "unmark", strerror(-ret));
	if (netseg_compile(z->pol.rules, z->pol.n, &res, 0, &cp, &err))
		bail("set %d: compiling %zu generated rules failed: %s", z->set, z->pol.n, err.msg);
	bpfx_policy(&z->x, cp.v, cp.n);
	netseg_policy_free(&cp);
	bpfx_ct_flush(&z->x);
	frags_reset(&z->x);
}

static void net_setup(struct fuzz *z, __u32 *veth)
{
	char a[IFNAMSIZ], b[IFNAMSIZ];
	struct netseg_prefix p;
	int ifi, err;

	/* The test owns a private netns (bpfx_init); names only need to be unique there. */
	snprintf(a, sizeof(a), "pfz%d", getpid() % 100000);
	snprintf(b, sizeof(b), "pfp%d", getpid() % 100000);
	ifi = bpfx_veth(a, b);
	if (ifi < 0)
		bail("couldn't create veth %s: %s", a, strerror(-ifi));
	*veth = ifi;
	err = netseg_dp_endpoint_set(z->x.dp, ifi, ID_E0);
	if (err)
		bail("couldn't make %s an endpoint: %s", a, strerror(-err));
	for (size_t i = 0; i < ARRAY_LEN(ipcache); i++) {
		struct cidr *c = &ipcache[i];

		pkt_addr(c->af, c->addr, c->bytes);
		err = netseg_dp_ipcache_set(z->x.dp,
					    bpfx_prefix(&p,
							c->af == 6 ? NETSEG_AF_INET6 :
								     NETSEG_AF_INET,
							c->bytes, c->plen),
					    c->id, c->on_veth ? ifi : 0);
		if (err)
			bail("couldn't add %s/%d to the ipcache: %s", c->addr, c->plen,
			     strerror(-err));
	}
	for (size_t i = 0; i < ARRAY_LEN(prefilter); i++) {
		struct cidr *c = &prefilter[i];

		pkt_addr(c->af, c->addr, c->bytes);
		err = netseg_dp_prefilter_set(z->x.dp, bpfx_prefix(&p,
								   c->af == 6 ? NETSEG_AF_INET6 :
										NETSEG_AF_INET,
								   c->bytes, c->plen));
		if (err)
			bail("couldn't add %s/%d to the prefilter: %s", c->addr, c->plen,
			     strerror(-err));
	}
	for (size_t i = 0; i < ARRAY_LEN(name_ids); i++)
		bpfx_identity(&z->x, name_ids[i], id_flags(name_ids[i]));
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The run's totals: frames, classes, safety, counters, coverage. */
static void report(struct fuzz *z, size_t target, double dt,
		   const struct netseg_counter c0[NETSEG_STAT_MAX],
		   const struct netseg_counter c1[NETSEG_STAT_MAX])
{
	size_t cmin = target / 20000 + 1;
	bool counters_ok = true, covered = true;

	diag("%zu frames through the programs (%zu XDP, %zu TC ingress, %zu TC egress; "
	     "%zu more refused by the kernel's test run) from %zu distinct frames in %.1f s: "
	     "%.0f frames/s",
	     z->frames, z->frames_hook[0], z->frames_hook[1], z->frames_hook[2],
	     z->cls[1][C_REFUSED] + z->cls[2][C_REFUSED], z->distinct, dt, z->frames / dt);
	diag("%zu truncation sweeps, %zu first and %zu later fragment bases, %zu reply phases",
	     z->sweeps, z->frag_first, z->frag_later, z->ct_phases);
	for (int k = 0; k < M_MAX; k++)
		diag("  mutation %-15s %zu", mut_name[k], z->muts[k]);
	for (int c = 0; c < C_MAX; c++)
		diag("  class %-13s XDP %8zu  TC in %8zu  TC out %8zu", cls_name[c], z->cls[0][c],
		     z->cls[1][c], z->cls[2][c]);
	for (int i = 0; i < EDGE_MAX; i++)
		diag("  documented edge %-27s %zu frames", edge_name[i], z->edges[i]);

	ok(z->frames >= target, "%zu frames through XDP and TC (>= %zu)", z->frames, target);
	is_int(z->bad[0], 0, "XDP: no frame disagrees with the reference");
	is_int(z->bad[1], 0, "TC ingress: no frame disagrees with the reference");
	is_int(z->bad[2], 0, "TC egress: no frame disagrees with the reference");
	is_int(z->unsafe, 0, "no frame of a flow the policy denies passed");
	is_int(z->cut_unsafe, 0, "no truncation of a denied frame passed");
	is_int(z->ct_bad, 0, "conntrack holds exactly the entries the reference predicts");
	for (int s = 0; s < NETSEG_STAT_MAX; s++) {
		__u64 got = c1[s].packets - c0[s].packets;

		if (s >= NETSEG_REASON_MAX && s != NETSEG_STAT_PASS_NON_IP &&
		    s != NETSEG_STAT_XDP_PASS)
			continue;
		if (got != z->reason_sum[s]) {
			counters_ok = false;
			diag("  counter %s moved %llu, reference %zu", netseg_stat_name(s),
			     (unsigned long long)got, z->reason_sum[s]);
		}
	}
	ok(counters_ok, "the kernel's pass and per-reason drop counters equal the reference's");
	/* A generator that never reaches a class would prove little about it. */
	for (int c = 0; c < C_MAX; c++) {
		size_t n = c == C_PREFILTER ? z->cls[0][c] :
			   c == C_REFUSED || c == C_SPOOFED ?
					      z->cls[1][c] :
					      z->cls[0][c] + z->cls[1][c] + z->cls[2][c];

		if (n < cmin) {
			covered = false;
			diag("  class %s reached by only %zu frames (want >= %zu)", cls_name[c], n,
			     cmin);
		}
	}
	ok(covered, "every class of frame is reached");
}

int main(void)
{
	static struct fuzz z;
	static const int progs[] = { NETSEG_HOOK_XDP, NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_TC_EGRESS,
				     NETSEG_HOOK_CG_INGRESS, NETSEG_HOOK_CG_EGRESS };
	struct netseg_counter c0[NETSEG_STAT_MAX], c1[NETSEG_STAT_MAX];
	const char *env = getenv("PKTFUZZ_FRAMES");
	size_t target = env && *env ? strtoull(env, NULL, 0) : DEFAULT_FRAMES;
	bool loaded = true;
	struct base b[2];
	__u32 veth;
	double t0;

	z.seed = rp_seed_from_env("PKTFUZZ_SEED");
	bpfx_init(&z.x, "pktfuzz");
	/* bpfx_init bails if the skeleton load (the verifier) fails; say so too. */
	for (size_t i = 0; i < ARRAY_LEN(progs); i++)
		loaded &= netseg_dp_prog_fd(z.x.dp, progs[i]) >= 0;
	if (!ok(loaded, "XDP, TC and cgroup programs loaded: the verifier accepted them"))
		bail("a program has no fd after the skeleton load");
	diag("seed %u (rerun with PKTFUZZ_SEED=%u), %zu frames (PKTFUZZ_FRAMES)", z.seed, z.seed,
	     target);
	rp_seed(z.seed);
	z.ct_fd = netseg_dp_map_fd(z.x.dp, NETSEG_DPM_CT);
	net_setup(&z, &veth);
	if (bpfx_counters(&z.x, c0))
		bail("couldn't read the counters");
	t0 = now_s();
	for (z.set = 0; z.set < NSETS; z.set++) {
		size_t bad0 = z.bad_set, f0 = z.frames;

		policy_load(&z);
		while (z.frames < target * (z.set + 1) / NSETS) {
			int n = base_build(b, &z.pol);

			for (int i = 0; i < n; i++)
				fuzz_base(&z, &b[i], veth);
		}
		ct_check_empty(&z);
		ok(z.bad_set == bad0,
		   "set %d (%zu rules): %zu frames through XDP and TC agree "
		   "with the reference",
		   z.set, z.pol.n, z.frames - f0);
	}
	if (bpfx_counters(&z.x, c1))
		bail("couldn't read the counters");
	report(&z, target, now_s() - t0, c0, c1);
	bpfx_fini(&z.x);
	return tap_done();
}
