// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who an ipcache prefix resolves to when several sources claim it
 * (lib/iptable.c): the higher kind wins; between two endpoints' claims of
 * one kind the first owner keeps the address, whatever the ifindexes, and
 * the newcomer is reported as a rival; the next claim takes over only when
 * the owner's goes.  The table itself: prefixes are keyed by family,
 * length and masked address, bad prefixes are refused, entries are freed
 * only when nothing holds them; claims are refreshed, moved, dropped and
 * marked stale by kind and interface; resolution ranks kinds, then CIDR
 * ids; the lookup finds the longest prefix in the map, as the datapath's
 * LPM does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "iptable.h"
#include "tap.h"

/* Interfaces 2..9 are endpoints of identity 1000 + ifindex. */
static __u32 ep_id(void *ctx, __u32 ifindex)
{
	return ifindex >= 2 && ifindex <= 9 ? 1000 + ifindex : 0;
}

static struct netseg_ipsrc src(__u8 kind, __u32 ifindex)
{
	return (struct netseg_ipsrc){ .kind = kind, .ifindex = ifindex, .tag = 7 };
}

/* Resolves e and records it as the daemon does after writing the map. */
static __u32 owner(struct netseg_ipent *e)
{
	struct netseg_ipcache_val v;

	if (!netseg_ipent_resolve(e, ep_id, NULL, &v)) {
		e->in_map = false;
		return 0;
	}
	e->in_map = true;
	e->val = v;
	return v.ifindex;
}

static void test_ties(void)
{
	struct netseg_iptable t;
	struct netseg_ipent *e;
	struct netseg_ipsrc a = src(NETSEG_IPSRC_ROUTE, 5), b = src(NETSEG_IPSRC_ROUTE, 3);
	struct netseg_ipsrc n = src(NETSEG_IPSRC_NEIGH, 2), host = src(NETSEG_IPSRC_HOST, 4);
	const struct netseg_ipsrc *rival;
	struct netseg_prefix p;
	__u8 addr[4];

	inet_pton(AF_INET, "198.18.2.2", addr);
	netseg_iptable_init(&t);
	netseg_prefix_set(&p, NETSEG_AF_INET, addr, 32);
	e = netseg_iptable_get(&t, &p, true);
	if (!ok(e != NULL, "a prefix entry"))
		goto out;
	is_int(netseg_ipent_claim(e, &a), 1, "a route on ifindex 5: a new claim");
	is_int(owner(e), 5, "... owns the address");
	is_int(netseg_ipent_claim(e, &a), 0, "the same route again: a refresh, not a new claim");
	ok(netseg_ipent_rival(e, &a, ep_id, NULL) == NULL, "... with no rival");

	is_int(netseg_ipent_claim(e, &b), 1, "a route of the same rank on ifindex 3 (lower)");
	rival = netseg_ipent_rival(e, &b, ep_id, NULL);
	ok(rival && rival->ifindex == 5, "... whose rival is ifindex 5's route");
	is_int(owner(e), 5, "the first owner keeps it: not the lower ifindex");

	/* Without the map's word (a restart), the older claim still wins. */
	e->in_map = false;
	is_int(owner(e), 5, "not in the map yet: the older claim wins");

	is_int(netseg_ipent_claim(e, &n), 1, "a neighbour entry on ifindex 2");
	is_int(owner(e), 5, "a neighbour doesn't outrank a route");
	rival = netseg_ipent_rival(e, &n, ep_id, NULL);
	ok(rival && rival->ifindex != 2, "... and is reported against another endpoint's claim");
	is_int(netseg_ipent_claim(e, &host), 1, "the node's own address claim");
	ok(netseg_ipent_rival(e, &host, ep_id, NULL) == NULL, "the node's own claim has no rival");

	ok(netseg_ipent_unclaim(e, &a), "ifindex 5's route goes");
	is_int(owner(e), 3, "the next claim of that rank takes over");
	ok(netseg_ipent_claim(e, &a) == 1, "ifindex 5's route comes back");
	is_int(owner(e), 3, "... and doesn't take it back from the owner now");
out:
	netseg_iptable_free(&t);
}

/* The table takes a struct netseg_prefix; these take the parts, as the
 * daemon's callers hold them.  A prefix the parts can't make is refused
 * with EINVAL, as the table refused it when it took the parts itself. */
static struct netseg_ipent *iptable_get(struct netseg_iptable *t, int family, const void *addr,
					int plen, bool create)
{
	struct netseg_prefix p;

	if (netseg_prefix_set(&p, family, addr, plen)) {
		errno = EINVAL;
		return NULL;
	}
	return netseg_iptable_get(t, &p, create);
}

/* addr in network order from text; the family from a ':' in it. */
static int pton(const char *text, __u8 addr[16])
{
	memset(addr, 0, 16);
	if (strchr(text, ':'))
		return inet_pton(AF_INET6, text, addr) == 1 ? NETSEG_AF_INET6 : -1;
	return inet_pton(AF_INET, text, addr) == 1 ? NETSEG_AF_INET : -1;
}

static struct netseg_ipent *get(struct netseg_iptable *t, const char *text, int plen, bool create)
{
	__u8 a[16];
	int af = pton(text, a);

	return af < 0 ? NULL : iptable_get(t, af, a, plen, create);
}

static void test_get(void)
{
	struct netseg_iptable t;
	struct netseg_ipent *e, *e2;
	__u8 a[16] = { 198, 18, 1, 7 };
	char buf[64];

	netseg_iptable_init(&t);
	errno = 0;
	ok(!iptable_get(&t, 5, a, 24, true) && errno == EINVAL,
	   "an unknown family is refused (EINVAL)");
	ok(!iptable_get(&t, NETSEG_AF_INET, a, -1, true) && errno == EINVAL,
	   "a negative prefix length is refused");
	ok(!iptable_get(&t, NETSEG_AF_INET, a, 33, true) && errno == EINVAL,
	   "/33 is refused for IPv4");
	ok(!iptable_get(&t, NETSEG_AF_INET6, a, 129, true) && errno == EINVAL,
	   "/129 is refused for IPv6");
	is_int(t.n, 0, "... and none of them made an entry");
	ok(!iptable_get(&t, NETSEG_AF_INET, a, 24, false) && errno == ENOENT,
	   "an absent prefix without create: NULL, ENOENT");
	is_int(t.n, 0, "... and nothing was made");

	e = get(&t, "198.18.1.7", 24, true);
	if (!ok(e != NULL, "198.18.1.7/24 created"))
		goto out;
	netseg_ipent_format(e, buf, sizeof(buf));
	is_str(buf, "198.18.1.0/24", "the host bits are cleared in the key");
	ok(get(&t, "198.18.1.200", 24, false) == e, "198.18.1.200/24 is the same entry");
	ok(get(&t, "198.18.1.0", 25, false) == NULL, "198.18.1.0/25 is another prefix");
	e2 = get(&t, "198.18.1.7", 32, true);
	ok(e2 && e2 != e, "198.18.1.7/32 is its own entry");
	netseg_ipent_format(e2, buf, sizeof(buf));
	is_str(buf, "198.18.1.7", "... formatted as a bare address");
	e2 = get(&t, "fd00::1:0", 112, true);
	netseg_ipent_format(e2, buf, sizeof(buf));
	is_str(buf, "fd00::1:0/112", "an IPv6 prefix keeps its length");
	e2 = get(&t, "fd00::7", 128, true);
	netseg_ipent_format(e2, buf, sizeof(buf));
	is_str(buf, "fd00::7", "an IPv6 /128 is a bare address");
	/* The IPv4 bytes as the first four of an IPv6 key must not alias. */
	pton("198.18.1.0", a);
	e2 = iptable_get(&t, NETSEG_AF_INET6, a, 24, true);
	ok(e2 && e2 != e, "the same bytes and length in IPv6 are another entry");
	e2 = get(&t, "0.0.0.0", 0, true);
	netseg_ipent_format(e2, buf, sizeof(buf));
	is_str(buf, "0.0.0.0/0", "/0 is a valid prefix");
	is_int(t.n, 6, "six entries");
out:
	netseg_iptable_free(&t);
}

static void count_fn(struct netseg_ipent *e, void *ctx)
{
	(*(unsigned int *)ctx)++;
}

struct release_ctx {
	struct netseg_iptable *t;
	unsigned int seen;
};

static void release_fn(struct netseg_ipent *e, void *ctx)
{
	struct release_ctx *c = ctx;

	c->seen++;
	netseg_iptable_release(c->t, e);
}

/* Past the first table size: every entry stays findable after the grows. */
static void test_grow_release(void)
{
	struct netseg_iptable t;
	struct netseg_ipsrc cidr = src(NETSEG_IPSRC_CIDR, 0);
	struct release_ctx rc = { &t, 0 };
	struct netseg_ipent *e;
	unsigned int n, found = 0, seen = 0;
	__u8 a[16] = { 198, 18 };

	netseg_iptable_init(&t);
	for (n = 0; n < 2000; n++) {
		a[2] = n >> 8;
		a[3] = n & 0xff;
		if (!iptable_get(&t, NETSEG_AF_INET, a, 32, true))
			break;
	}
	is_int(n, 2000, "2000 host prefixes created");
	is_int(t.n, 2000, "... the table counts 2000");
	ok(t.nbuckets >= 2000, "... and grew to %zu buckets", t.nbuckets);
	for (unsigned int i = 0; i < 2000; i++) {
		a[2] = i >> 8;
		a[3] = i & 0xff;
		e = iptable_get(&t, NETSEG_AF_INET, a, 32, false);
		found += e && e->pfx.addr[2] == a[2] && e->pfx.addr[3] == a[3];
	}
	is_int(found, 2000, "every one is found again after the grows");
	netseg_iptable_foreach(&t, count_fn, &seen);
	is_int(seen, 2000, "foreach visits each entry once");

	/* Held entries survive release; empty ones go. */
	e = get(&t, "198.18.0.1", 32, false);
	cidr.id = 300;
	netseg_ipent_claim(e, &cidr);
	netseg_iptable_release(&t, e);
	ok(get(&t, "198.18.0.1", 32, false) == e, "release keeps an entry that has a claim");
	e = get(&t, "198.18.0.2", 32, false);
	e->in_map = true;
	netseg_iptable_release(&t, e);
	ok(get(&t, "198.18.0.2", 32, false) == e, "release keeps an entry the map holds");
	netseg_iptable_foreach(&t, release_fn, &rc);
	is_int(rc.seen, 2000, "foreach survives fn releasing the entry it is given");
	is_int(t.n, 2, "... and only the two held entries remain");
	ok(get(&t, "198.18.0.3", 32, false) == NULL, "a released prefix is gone");
	ok(get(&t, "198.18.0.3", 32, true) != NULL, "... and can be created again");
	is_int(t.n, 3, "... counted once more");
	netseg_iptable_free(&t);
	is_int(t.n + t.nbuckets, 0, "free leaves an empty table");
	ok(get(&t, "198.18.0.1", 32, false) == NULL, "... in which nothing is found");
	netseg_iptable_free(&t);
}

static void test_claims(void)
{
	struct netseg_iptable t;
	struct netseg_ipent *e;
	struct netseg_ipsrc r5 = src(NETSEG_IPSRC_ROUTE, 5), r6 = src(NETSEG_IPSRC_ROUTE, 6);
	struct netseg_ipsrc r5b = src(NETSEG_IPSRC_ROUTE, 5), n5 = src(NETSEG_IPSRC_NEIGH, 5);
	struct netseg_ipsrc p7 = src(NETSEG_IPSRC_PEER, 7), c = src(NETSEG_IPSRC_CIDR, 0);

	r5b.tag = 8;
	c.id = 400;
	netseg_iptable_init(&t);
	e = get(&t, "198.18.3.3", 32, true);
	if (!ok(e != NULL, "an entry"))
		goto out;
	netseg_ipent_claim(e, &r5);
	netseg_ipent_claim(e, &r5b);
	netseg_ipent_claim(e, &n5);
	netseg_ipent_claim(e, &p7);
	is_int(netseg_ipent_claim(e, &c), 1, "five claims (past the first capacity)");
	is_int(e->nsrc, 5, "... all held");
	ok(!netseg_ipent_unclaim(e, &r6), "unclaiming a claim never made: false");
	is_int(e->nsrc, 5, "... nothing removed");

	ok(netseg_ipent_has_ifindex(e, 7), "has_ifindex: the peer on 7");
	ok(!netseg_ipent_has_ifindex(e, 0), "has_ifindex: a CIDR claim (ifindex 0) doesn't count");
	ok(!netseg_ipent_has_ifindex(e, 6), "has_ifindex: nothing on 6");

	/* A route moving to ifindex 6: the same kind and tag elsewhere go. */
	netseg_ipent_claim(e, &r6);
	is_int(netseg_ipent_unclaim_moved(e, &r6), 1, "unclaim_moved drops the tag-7 route on 5");
	ok(netseg_ipent_claim(e, &r5b) == 0, "... not the tag-8 route on 5");
	ok(netseg_ipent_claim(e, &n5) == 0, "... nor the neighbour on 5");
	ok(netseg_ipent_claim(e, &r6) == 0, "... nor the route it moved to");

	/* A resync: mark routes stale, see one again, drop the rest. */
	netseg_ipent_mark(e, NETSEG_IPSRC_BIT(NETSEG_IPSRC_ROUTE));
	is_int(netseg_ipent_drop(e, NETSEG_IPSRC_LEARNED, 0, true), 2,
	       "marked routes are the stale ones dropped (2)");
	netseg_ipent_claim(e, &r5b);
	netseg_ipent_claim(e, &r6);
	netseg_ipent_mark(e, NETSEG_IPSRC_BIT(NETSEG_IPSRC_ROUTE));
	is_int(netseg_ipent_claim(e, &r6), 0, "the route on 6 seen again: a refresh");
	is_int(netseg_ipent_drop(e, NETSEG_IPSRC_LEARNED, 0, true), 1,
	       "... so only the unrefreshed one is dropped as stale");
	ok(netseg_ipent_unclaim(e, &r6), "... and the refreshed one is still there");

	is_int(netseg_ipent_drop(e, NETSEG_IPSRC_LEARNED, 5, false), 1,
	       "drop on ifindex 5 removes only its neighbour");
	ok(netseg_ipent_unclaim(e, &p7), "... leaving the peer on 7");
	is_int(netseg_ipent_drop(e, NETSEG_IPSRC_LEARNED, 0, false), 0,
	       "drop of the learned kinds leaves the CIDR claim");
	is_int(netseg_ipent_drop(e, NETSEG_IPSRC_BIT(NETSEG_IPSRC_CIDR), 0, false), 1,
	       "... which its own kind drops");
	is_int(e->nsrc, 0, "no claims left");
	netseg_iptable_release(&t, e);
	is_int(t.n, 0, "the empty entry is released");
out:
	netseg_iptable_free(&t);
}

static __u32 resolved(const struct netseg_ipent *e, __u32 *ifindex)
{
	struct netseg_ipcache_val v = {};

	if (!netseg_ipent_resolve(e, ep_id, NULL, &v))
		return 0;
	*ifindex = v.ifindex;
	return v.id;
}

static void test_resolve(void)
{
	struct netseg_iptable t;
	struct netseg_ipent *e;
	struct netseg_ipsrc host = src(NETSEG_IPSRC_HOST, 0), c1 = src(NETSEG_IPSRC_CIDR, 0);
	struct netseg_ipsrc c2 = src(NETSEG_IPSRC_CIDR, 0), n3 = src(NETSEG_IPSRC_NEIGH, 3);
	struct netseg_ipsrc p4 = src(NETSEG_IPSRC_PEER, 4), r5 = src(NETSEG_IPSRC_ROUTE, 5);
	struct netseg_ipsrc r20 = src(NETSEG_IPSRC_ROUTE, 20);
	__u32 ifi = 99;

	c1.id = 600;
	c2.id = 500;
	netseg_iptable_init(&t);
	e = get(&t, "198.18.4.4", 32, true);
	if (!ok(e != NULL, "an entry"))
		goto out;
	is_int(resolved(e, &ifi), 0, "no claims: nothing for the map");
	netseg_ipent_claim(e, &host);
	is_int(resolved(e, &ifi), NETSEG_ID_HOST, "the node's address: host");
	is_int(ifi, 0, "... on no interface");
	netseg_ipent_claim(e, &c1);
	is_int(resolved(e, &ifi), 600, "a CIDR identity outranks host");
	netseg_ipent_claim(e, &c2);
	is_int(resolved(e, &ifi), 500, "two CIDR identities: the lower id");
	is_int(ifi, 0, "... on no interface");
	netseg_ipent_claim(e, &r20);
	is_int(resolved(e, &ifi), 500, "a route out of a non-endpoint (20) is ignored");
	ok(netseg_ipent_rival(e, &r20, ep_id, NULL) == NULL, "... and is nobody's rival");
	netseg_ipent_claim(e, &n3);
	is_int(resolved(e, &ifi), 1003, "a neighbour on endpoint 3 outranks the CIDRs");
	is_int(ifi, 3, "... on its interface");
	netseg_ipent_claim(e, &p4);
	is_int(resolved(e, &ifi), 1004, "a point-to-point peer outranks a neighbour");
	netseg_ipent_claim(e, &r5);
	is_int(resolved(e, &ifi), 1005, "a host route outranks a peer");
	is_int(ifi, 5, "... on its interface");
	netseg_ipent_unclaim(e, &r5);
	netseg_ipent_unclaim(e, &p4);
	netseg_ipent_unclaim(e, &n3);
	is_int(resolved(e, &ifi), 500, "the learned claims gone: the CIDR again");
	netseg_ipent_unclaim(e, &c2);
	is_int(resolved(e, &ifi), 600, "the lower CIDR gone: the other");
out:
	netseg_iptable_free(&t);
}

/* Puts text/plen in the map as identity id (with a CIDR claim for it). */
static void in_map(struct netseg_iptable *t, const char *text, int plen, __u32 id)
{
	struct netseg_ipent *e = get(t, text, plen, true);
	struct netseg_ipsrc c = src(NETSEG_IPSRC_CIDR, 0);

	if (!e)
		return;
	c.id = id;
	netseg_ipent_claim(e, &c);
	e->in_map = true;
	e->val.id = id;
}

static __u32 lookup(struct netseg_iptable *t, const char *text)
{
	const struct netseg_ipent *e;
	__u8 a[16];
	int af = pton(text, a);

	e = netseg_iptable_lookup(t, af, a);
	return e ? e->val.id : 0;
}

static void test_lookup(void)
{
	struct netseg_iptable t;

	netseg_iptable_init(&t);
	is_int(lookup(&t, "198.18.0.1"), 0, "empty table: world (no entry)");
	in_map(&t, "198.18.0.0", 15, 10);
	in_map(&t, "198.18.1.0", 24, 11);
	in_map(&t, "198.18.1.128", 25, 12);
	in_map(&t, "198.18.1.130", 32, 13);
	get(&t, "198.18.1.131", 32, true); /* known, but not in the map */
	in_map(&t, "fd00::", 8, 20);
	in_map(&t, "fd00::1:0", 112, 21);
	is_int(lookup(&t, "198.18.200.1"), 10, "198.18.200.1: only the /15 covers it");
	is_int(lookup(&t, "198.18.1.5"), 11, "198.18.1.5: the /24 beats the /15");
	is_int(lookup(&t, "198.18.1.129"), 12, "198.18.1.129: the /25 beats the /24");
	is_int(lookup(&t, "198.18.1.130"), 13, "198.18.1.130: its /32 beats them all");
	is_int(lookup(&t, "198.18.1.131"), 12, "a prefix the map doesn't hold is skipped");
	is_int(lookup(&t, "198.20.0.1"), 0, "outside every prefix: world");
	is_int(lookup(&t, "fd00::1:5"), 21, "fd00::1:5: the /112 beats the /8");
	is_int(lookup(&t, "fd00::2:5"), 20, "fd00::2:5: only the /8");
	is_int(lookup(&t, "fe80::1"), 0, "fe80::1: world");
	is_int(lookup(&t, "::ffff:198.18.1.5"), 0,
	       "IPv4-mapped IPv6 doesn't match the IPv4 prefixes");
	in_map(&t, "0.0.0.0", 0, 30);
	is_int(lookup(&t, "203.0.113.1"), 30, "a /0 in the map catches the rest of IPv4");
	is_int(lookup(&t, "2001:db8::1"), 0, "... but not IPv6");
	netseg_iptable_free(&t);
}

int main(void)
{
	test_ties();
	test_get();
	test_grow_release();
	test_claims();
	test_resolve();
	test_lookup();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
