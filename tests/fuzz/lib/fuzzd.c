// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzd.h"
#include "fuzzdp.h"

static const struct {
	const char *name;
	const char *ifaces[2];
	const char *cidr;
	bool audit;
} base_ids[] = {
	{ "fe", { "fz0", "veth-fe*" }, NULL, false },
	{ "api", { NULL }, NULL, false }, /* alias "netseg:api" only */
	{ "db", { "fz2*" }, "198.19.0.0/16", true },
	{ "ext", { NULL }, "fd00:5::/64", false },
};

static const char *const base_rules[] = {
	"allow fe -> api:tcp/443 --log",
	"allow fe -> db:5432,6000-6010 --comment \"db\"",
	"deny * -> db:udp",
	"allow 198.18.0.0/15 -> fe:icmp/8",
	"allow api to ext port any",
};

void fuzzd_init(struct netsegd *d, const char *state_dir, int epfd, bool rules)
{
	struct netseg_idstore ids;
	struct netseg_ruleset rs = {};
	struct netseg_err err = {};

	memset(d, 0, sizeof(*d));
	netsegd_config_defaults(&d->cfg);
	snprintf(d->cfg.state_dir, sizeof(d->cfg.state_dir), "%s", state_dir);
	snprintf(d->cfg.node_name, sizeof(d->cfg.node_name), "fuzz-node");
	d->loop.epfd = epfd;
	d->ctl.fd = d->loop.sigfd = d->loop.timerfd = -1;
	d->pol.next_rule_id = 1;
	netsegd_k8s_init(d); /* as main(): the pod identity range starts above 0 */
	d->dp = fuzzdp_new();
	d->pol.prefilter = calloc(d->cfg.prefilter_max, sizeof(*d->pol.prefilter)); /* as main() */
	netseg_idstore_init(&d->pol.ids);
	FUZZ_ASSERT(d->dp && d->pol.prefilter && !netsegd_endpoints_init(d), "out of memory");

	netseg_idstore_init(&ids);
	for (size_t i = 0; i < sizeof(base_ids) / sizeof(base_ids[0]); i++) {
		struct netseg_iddef def = { .audit = base_ids[i].audit };

		snprintf(def.name, sizeof(def.name), "%s", base_ids[i].name);
		for (int g = 0; g < 2 && base_ids[i].ifaces[g]; g++)
			snprintf(def.ifaces[def.nifaces++], sizeof(def.ifaces[0]), "%s",
				 base_ids[i].ifaces[g]);
		if (base_ids[i].cidr)
			snprintf(def.cidrs[def.ncidrs++], sizeof(def.cidrs[0]), "%s",
				 base_ids[i].cidr);
		FUZZ_ASSERT(!netseg_id_add(&ids, &def, &err), "identity %s: %s", def.name, err.msg);
	}
	for (size_t i = 0; rules && i < sizeof(base_rules) / sizeof(base_rules[0]); i++) {
		struct netseg_rule r;

		FUZZ_ASSERT(netseg_rule_parse_line(base_rules[i], &r, &err) == 0 &&
				    !netseg_ruleset_add(&rs, &r),
			    "rule %s: %s", base_rules[i], err.msg);
	}
	netseg_ruleset_assign_ids(&rs, &d->pol.next_rule_id);
	/* The daemon's start: everything through the one commit path. */
	FUZZ_ASSERT(!netsegd_commit(d, &rs, &ids, &err), "commit: %s", err.msg);
	netseg_ruleset_free(&rs);
	netseg_idstore_free(&ids);
}

void fuzzd_free(struct netsegd *d)
{
	netsegd_state_close(d); /* as main() does: the journal and its text */
	netsegd_endpoints_free(d);
	netsegd_k8s_free(d);
	netseg_ruleset_free(&d->pol.rules);
	netseg_idstore_free(&d->pol.ids);
	free(d->pol.prefilter);
	fuzzdp_free(d->dp);
	d->dp = NULL;
}

static const struct netsegd_link *find_link(const struct netsegd *d, __u32 ifindex)
{
	const struct netsegd_link *l = d->eps.links[ifindex & (NETSEGD_LINK_BUCKETS - 1)];

	while (l && l->ifindex != ifindex)
		l = l->next;
	return l;
}

static __u32 ep_id(void *ctx, __u32 ifindex)
{
	const struct netsegd_link *l = find_link(ctx, ifindex);

	return l ? l->id : 0;
}

struct ipcheck {
	struct netsegd *d;
	size_t in_map;
};

static void check_prefix(struct netseg_ipent *e, void *ctx)
{
	struct ipcheck *c = ctx;
	struct netseg_ipcache_val want, got;
	bool claimed = netseg_ipent_resolve(e, ep_id, c->d, &want);
	bool mapped = fuzzdp_ipcache_get(c->d->dp, e->pfx.family, e->pfx.addr, e->pfx.plen, &got);
	char text[64];

	netseg_ipent_format(e, text, sizeof(text));
	FUZZ_ASSERT(claimed == e->in_map && mapped == e->in_map,
		    "ipcache %s: claims resolve %s, entry says %s, map %s", text,
		    claimed ? "to something" : "to nothing", e->in_map ? "in map" : "not in map",
		    mapped ? "holds it" : "doesn't");
	if (!claimed)
		return;
	FUZZ_ASSERT(!memcmp(&want, &e->val, sizeof(want)) && got.id == want.id &&
			    got.ifindex == want.ifindex,
		    "ipcache %s: should be id %u ifindex %u, bookkeeping %u/%u, map %u/%u", text,
		    want.id, want.ifindex, e->val.id, e->val.ifindex, got.id, got.ifindex);
	c->in_map++;
}

void fuzzd_check(struct netsegd *d)
{
	struct ipcheck ic = { .d = d };
	size_t eps = 0, uplinks = 0;

	netseg_iptable_foreach(&d->eps.ips, check_prefix, &ic);
	FUZZ_ASSERT(ic.in_map == fuzzdp_ipcache_count(d->dp),
		    "ipcache holds %zu prefixes, the claims only %zu", fuzzdp_ipcache_count(d->dp),
		    ic.in_map);

	for (size_t b = 0; b < NETSEGD_LINK_BUCKETS; b++)
		for (const struct netsegd_link *l = d->eps.links[b]; l; l = l->next) {
			__u32 id = 0;
			bool ep = fuzzdp_endpoint_get(d->dp, l->ifindex, &id);
			unsigned int tc = fuzzdp_tc_attached(d->dp, l->ifindex);

			FUZZ_ASSERT(
				l->id ? ep && id == l->id && tc == 3 && l->attached == 3 :
					!ep && !tc && !l->attached,
				"link %u (%s): identity %u, endpoint map %s %u, tc %u, attached %u",
				l->ifindex, l->name, l->id, ep ? "has" : "lacks", id, tc,
				l->attached);
			eps += !!l->id;
		}
	/* Uplinks (`attach`) have TC too, and XDP, but no endpoint entry. */
	for (unsigned int i = 0; i < d->cfg.nuplinks; i++) {
		unsigned int ifindex = if_nametoindex(d->cfg.uplinks[i]);

		uplinks += ifindex && fuzzdp_tc_attached(d->dp, ifindex) == 3;
	}
	FUZZ_ASSERT(eps == fuzzdp_endpoint_count(d->dp) && eps + uplinks == fuzzdp_tc_count(d->dp),
		    "%zu endpoint links and %zu uplinks, but %zu endpoint map entries and %zu "
		    "interfaces with TC",
		    eps, uplinks, fuzzdp_endpoint_count(d->dp), fuzzdp_tc_count(d->dp));

	for (size_t i = 0; i < d->pol.ids.n; i++) {
		__u32 flags = 0, want = netsegd_identity_flags(d, &d->pol.ids.v[i]);

		FUZZ_ASSERT(fuzzdp_identity_get(d->dp, d->pol.ids.v[i].id, &flags) && flags == want,
			    "identity %s (%u): map flags %#x, should be %#x", d->pol.ids.v[i].name,
			    d->pol.ids.v[i].id, flags, want);
	}
	FUZZ_ASSERT(fuzzdp_identity_count(d->dp) == d->pol.ids.n,
		    "identity map holds %zu, the store %zu", fuzzdp_identity_count(d->dp),
		    d->pol.ids.n);
	FUZZ_ASSERT(fuzzdp_policy_entries(d->dp) == d->pol.entries,
		    "policy map has %zu entries, the daemon thinks %zu",
		    fuzzdp_policy_entries(d->dp), d->pol.entries);
	FUZZ_ASSERT(fuzzdp_prefilter_count(d->dp) == d->pol.nprefilter,
		    "prefilter map has %zu entries, the list %zu", fuzzdp_prefilter_count(d->dp),
		    d->pol.nprefilter);
}

void fuzz_private_netns(void)
{
	if (unshare(CLONE_NEWNET))
		fuzz_fail("couldn't make a network namespace of our own: %s (run as root)",
			  strerror(errno));
}

static char state_dir[512];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_state_dir(void)
{
	nftw(state_dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Under $NETSEG_FUZZ_TMP (run.sh points it at its own work dir, removed
 * however the harness ends: libFuzzer doesn't always run atexit handlers),
 * else /dev/shm, where fsync costs nothing. */
const char *fuzz_state_dir(void)
{
	const char *base = getenv("NETSEG_FUZZ_TMP");

	if (!state_dir[0]) {
		snprintf(state_dir, sizeof(state_dir), "%s/netseg-fuzz-XXXXXX",
			 base && *base ? base : "/dev/shm");
		FUZZ_ASSERT(mkdtemp(state_dir), "mkdtemp %s: %s", state_dir, strerror(errno));
		atexit(rm_state_dir);
	}
	return state_dir;
}
