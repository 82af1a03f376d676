// SPDX-License-Identifier: GPL-2.0-only
/*
 * Who an ipcache prefix resolves to when several sources claim it
 * (lib/iptable.c): the higher kind wins; between two endpoints' claims of
 * one kind the first owner keeps the address, whatever the ifindexes, and
 * the newcomer is reported as a rival; the next claim takes over only when
 * the owner's goes.
 */
#include <arpa/inet.h>
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
	return (struct netseg_ipsrc){.kind = kind, .ifindex = ifindex, .tag = 7};
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

int main(void)
{
	test_ties();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
