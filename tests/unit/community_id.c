// SPDX-License-Identifier: GPL-2.0-only
/*
 * Community ID v1: the published vectors (corelight/community-id-spec
 * baseline/baseline_deflt.json, used only as hash inputs, never as traffic),
 * the ICMP request/reply pairing, one-way ICMP, IPv6, port-less protocols,
 * the seed, and records carrying the same id in both directions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "flowrec.h"
#include "tap.h"

struct vector {
	const char *what;
	int af;
	const char *saddr, *daddr;
	__u16 sport, dport; /* ICMP: type, code */
	__u8 proto;
	const char *want;
};

static const struct vector vectors[] = {
	/* The Community ID v1 spec's own examples (its reference data). */
	{ "tcp v4 (spec example)", AF_INET, "128.232.110.120", "66.35.250.204", 34855, 80, 6,
	  "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
	{ "tcp v4 reversed", AF_INET, "66.35.250.204", "128.232.110.120", 80, 34855, 6,
	  "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
	{ "icmp echo request (spec example)", AF_INET, "192.168.0.89", "192.168.0.1", 8, 0, 1,
	  "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" },
	{ "icmp echo reply pairs with the request", AF_INET, "192.168.0.1", "192.168.0.89", 0, 0, 1,
	  "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" },
	/* The ids in docs/flow-records.md's examples (RFC 2544 addresses). */
	{ "example denied flow", AF_INET, "198.18.1.2", "198.18.3.2", 51514, 5432, 6,
	  "1:Nu21VklU4Azyn4xXTsx9E6Xlkbc=" },
	{ "example ended flow", AF_INET, "198.18.1.2", "198.18.2.2", 51600, 443, 6,
	  "1:YL3IY+ho8TLKzXFCzozEBFxcrmw=" },
	/* One-way from the higher address stays unswapped (hashlib by hand). */
	{ "icmp unreachable from the higher address", AF_INET, "198.18.2.2", "198.18.1.2", 3, 1, 1,
	  "1:Mo2rM54Lg14CKnYDYzmlP3+4XIg=" },
	/*
	 * The baseline's other IPv4 cases, moved onto our own test range: the
	 * ids come from an independent implementation of the spec that
	 * reproduces every published baseline vector.  IPv6 cases as published.
	 */
	{ "icmp time exceeded is one-way", AF_INET, "198.18.5.1", "198.18.5.2", 11, 0, 1,
	  "1:OMGGdaX6xQyGM5zhmNu/4UxPeI8=" },
	{ "udp v4", AF_INET, "198.18.5.52", "198.18.8.8", 54585, 53, 17,
	  "1:bwwZpbKMspZFdl6uvIqLiClSeGc=" },
	{ "udp v4 reversed", AF_INET, "198.18.8.8", "198.18.5.52", 53, 54585, 17,
	  "1:bwwZpbKMspZFdl6uvIqLiClSeGc=" },
	{ "sctp, equal ports", AF_INET, "198.18.170.56", "198.18.170.8", 7, 7, 132,
	  "1:kSx/KJcnqRY93USJbuLZCbq2rqY=" },
	{ "rsvp has no ports", AF_INET, "198.18.12.2", "198.18.12.1", 0, 0, 46,
	  "1:fb7U5qPqVqhyPixcOA88MKJfwJA=" },
	{ "tcp v6", AF_INET6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a",
	  63943, 25, 6, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" },
	{ "tcp v6 reversed", AF_INET6, "2607:f8b0:400c:c03::1a",
	  "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 6,
	  "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" },
	{ "icmpv6 echo request", AF_INET6, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2",
	  128, 0, 58, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=" },
	{ "icmpv6 echo reply pairs", AF_INET6, "3ffe:501:0:1001::2",
	  "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0, 58, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=" },
	{ "icmpv6 neighbour solicitation", AF_INET6, "fe80::200:86ff:fe05:80da",
	  "fe80::260:97ff:fe07:69ea", 135, 0, 58, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=" },
	{ "icmpv6 neighbour advert pairs with it", AF_INET6, "fe80::260:97ff:fe07:69ea",
	  "fe80::200:86ff:fe05:80da", 136, 0, 58, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=" },
	{ "icmpv6 solicitation the other way is another flow", AF_INET6, "fe80::260:97ff:fe07:69ea",
	  "fe80::200:86ff:fe05:80da", 135, 0, 58, "1:zavyT/cezQr1fmImYCwYnMXbgck=" },
	{ "icmpv6 router solicitation", AF_INET6, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 0, 58,
	  "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=" },
	{ "icmpv6 time exceeded is one-way", AF_INET6, "3ffe:501:1800:2345::2",
	  "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, 58, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=" },
	{ "icmpv6 unreachable keeps its code", AF_INET6, "3ffe:501:410:0:2c0:dfff:fe47:33e",
	  "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, 58, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=" },
};

static int family(int af)
{
	return af == AF_INET ? NETSEG_AF_INET : NETSEG_AF_INET6;
}

static const char *cid(int af, const char *s, const char *d, __u16 sp, __u16 dp, __u8 proto,
		       __u16 seed, char out[NETSEG_COMMUNITY_ID_LEN])
{
	unsigned char a[16] = { 0 }, b[16] = { 0 };

	if (inet_pton(af, s, a) != 1 || inet_pton(af, d, b) != 1)
		bail("bad test address %s or %s", s, d);
	if (netseg_community_id(family(af), a, b, sp, dp, proto, seed, out))
		return "(error)";
	return out;
}

static void test_vectors(void)
{
	char out[NETSEG_COMMUNITY_ID_LEN];
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];

		is_str(cid(v->af, v->saddr, v->daddr, v->sport, v->dport, v->proto, 0, out),
		       v->want, "vector: %s", v->what);
	}
}

/* Properties on our own test addresses (RFC 2544, fd00::/8). */
static void test_properties(void)
{
	char a[NETSEG_COMMUNITY_ID_LEN], b[NETSEG_COMMUNITY_ID_LEN];
	unsigned char x[16] = { 0 };

	cid(AF_INET, "198.18.1.2", "198.18.2.2", 51600, 443, 6, 0, a);
	cid(AF_INET, "198.18.2.2", "198.18.1.2", 443, 51600, 6, 0, b);
	is_str(a, b, "tcp: both directions, one id");
	is_int(strlen(a), NETSEG_COMMUNITY_ID_LEN - 1, "id is \"1:\" + 28 base64 characters");

	cid(AF_INET, "198.18.1.2", "198.18.1.2", 5000, 4000, 17, 0, a);
	cid(AF_INET, "198.18.1.2", "198.18.1.2", 4000, 5000, 17, 0, b);
	is_str(a, b, "same address: ordered by port");

	cid(AF_INET, "198.18.1.2", "198.18.2.2", 3, 1, 1, 0, a);
	cid(AF_INET, "198.18.2.2", "198.18.1.2", 3, 1, 1, 0, b);
	ok(strcmp(a, b) != 0, "icmp unreachable: one-way, the two directions differ");

	cid(AF_INET, "198.18.1.2", "198.18.2.2", 8, 0, 1, 0, a);
	cid(AF_INET, "198.18.1.2", "198.18.2.2", 8, 5, 1, 0, b);
	is_str(a, b, "icmp echo: the code plays no part");
	cid(AF_INET, "198.18.2.2", "198.18.1.2", 0, 0, 1, 0, b);
	is_str(a, b, "icmp echo reply the other way: same id");
	cid(AF_INET, "198.18.1.2", "198.18.2.2", 13, 0, 1, 0, b);
	ok(strcmp(a, b) != 0, "icmp timestamp request is another flow than echo");
	cid(AF_INET, "198.18.2.2", "198.18.1.2", 14, 0, 1, 0, a);
	is_str(a, b, "icmp timestamp reply pairs with the request");

	cid(AF_INET6, "fd00::1", "fd00::2", 128, 0, 58, 0, a);
	cid(AF_INET6, "fd00::2", "fd00::1", 129, 0, 58, 0, b);
	is_str(a, b, "icmpv6 echo pair on fd00::/8");
	cid(AF_INET6, "fd00::1", "fd00::2", 128, 0, 1, 0, b);
	ok(strcmp(a, b) != 0, "protocol number is hashed (58 vs 1)");

	cid(AF_INET, "198.18.1.2", "198.18.2.2", 1234, 5678, 47, 0, a);
	cid(AF_INET, "198.18.2.2", "198.18.1.2", 0, 0, 47, 0, b);
	is_str(a, b, "gre: ports ignored, endpoints ordered");

	cid(AF_INET, "198.18.1.2", "198.18.2.2", 51600, 443, 6, 0, a);
	cid(AF_INET, "198.18.1.2", "198.18.2.2", 51600, 443, 6, 1, b);
	ok(strcmp(a, b) != 0, "the seed changes the id");

	is_int(netseg_community_id(5, x, x, 1, 2, 6, 0, a), -EINVAL, "unknown family refused");
}

/* A flow's start event, its reply's deny and its end record share the id. */
static void test_records(void)
{
	struct netseg_event ev = { .type = NETSEG_EV_FLOW_START,
				   .family = NETSEG_AF_INET6,
				   .proto = IPPROTO_ICMPV6,
				   .icmp_type = 128,
				   .hook = 2,
				   .flow_id = 77,
				   .src_id = 300,
				   .dst_id = 301 };
	struct netseg_ct_key key = { .proto = IPPROTO_ICMPV6, .family = NETSEG_AF_INET6 };
	struct netseg_ct_entry ce = { .flow_id = 77,
				      .verdict = NETSEG_VERDICT_ALLOW,
				      .flags = NETSEG_CTF_ORIG_IS_B,
				      .created_ns = 1,
				      .last_seen_ns = 2 };
	char a[NETSEG_COMMUNITY_ID_LEN], b[NETSEG_COMMUNITY_ID_LEN], c[NETSEG_COMMUNITY_ID_LEN];
	struct netseg_flowrec r;

	inet_pton(AF_INET6, "fd00::20", ev.saddr);
	inet_pton(AF_INET6, "fd00::10", ev.daddr);
	ev.sport = ev.dport = htons(4242);
	if (!is_int(netseg_flowrec_from_event(&ev, 0, NULL, &r), 0, "echo request event"))
		return;
	is_int(netseg_flowrec_community_id(&r, 0, a), 0, "record id computed");
	cid(AF_INET6, "fd00::20", "fd00::10", 128, 0, 58, 0, b);
	is_str(a, b, "record id = id of (type 128, code 0)");

	/* The CT key is normalised: fd00::10 is "a", the originator is "b". */
	inet_pton(AF_INET6, "fd00::10", key.a_addr);
	inet_pton(AF_INET6, "fd00::20", key.b_addr);
	key.a_port = key.b_port = htons(4242);
	if (!is_int(netseg_flowrec_from_ct(&key, &ce, 0, NULL, &r), 0, "end record"))
		return;
	is_str(r.saddr, "fd00::20", "end record: originator back on the src side");
	netseg_flowrec_community_id(&r, 0, c);
	is_str(c, a, "end record id = start record id");

	netseg_flowrec_lost(&r, 1, 1, 2, 3, "n");
	is_int(netseg_flowrec_community_id(&r, 0, c), -ENOENT, "lost records have no id");
}

int main(void)
{
	test_vectors();
	test_properties();
	test_records();
	return tap_done();
}
