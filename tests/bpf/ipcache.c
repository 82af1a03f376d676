// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ipcache's two maps: host entries (/32, /128) in an exact-match hash
 * looked up before the LPM trie, CIDR identities in the trie only.
 *
 *  - a pod's /32 (/128) inside a CIDR identity's prefix: the pod's identity
 *    decides, the CIDR's covers the other addresses;
 *  - deleting the pod's entry falls back to the CIDR on the next packet
 *    (no stale exact entry), and an updated entry answers its new value;
 *  - the hash holds exactly the host entries, never a CIDR;
 *  - re-opening pinned maps repairs a hash that disagrees with the trie (an
 *    entry the trie doesn't hold goes, a missing copy comes back).
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A 256   /* endpoint, the sender */
#define ID_POD 257 /* endpoint inside NET's prefix */
#define ID_NET 258 /* CIDR identity */
#define IP_A "198.18.21.1"
#define IP6_A "fd00::21:1"
#define IP_POD "198.18.22.5"
#define IP6_POD "fd00::22:5"
#define IP_NET "198.18.22.6" /* another address of NET's prefix */
#define IP6_NET "fd00::22:6"

#define T(af_, s, d, sp, dp)                                                              \
	{                                                                                 \
		.af = (af_), .src = (s), .dst = (d), .proto = IPPROTO_TCP, .sport = (sp), \
		.dport = (dp), .tcp_flags = PKT_TCP_SYN                                   \
	}
#define ALLOWED(r, s, d) .pass = true, .stat = NETSEG_STAT_PASS, .rule = (r), .src = (s), .dst = (d)
#define DEFAULT(s, d)                                                            \
	.pass = false, .stat = NETSEG_REASON_DEFAULT_DENY, .ev = NETSEG_EV_DENY, \
	.reason = NETSEG_REASON_DEFAULT_DENY, .src = (s), .dst = (d)

static void run(struct bpfx *x, struct bpfx_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bpfx_row_run(x, &rows[i], NULL);
}

static void key_of(int af, const char *addr, int plen, struct netseg_lpm_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = af == 6 ? NETSEG_AF_INET6 : NETSEG_AF_INET;
	k->prefixlen = NETSEG_LPM_PLEN_HDR + plen;
	if (inet_pton(af == 6 ? AF_INET6 : AF_INET, addr, k->addr) != 1)
		bail("bad test address %s", addr);
}

/* The host hash's value for addr/plen: its id, 0 when absent. */
static __u32 hash_id(struct netseg_dp *dp, int af, const char *addr, int plen)
{
	struct netseg_ipcache_val v;
	struct netseg_lpm_key k;

	key_of(af, addr, plen, &k);
	if (bpf_map_lookup_elem(netseg_dp_map_fd(dp, NETSEG_DPM_IPCACHE_HOST), &k, &v))
		return 0;
	return v.id;
}

static void set(struct netseg_dp *dp, int af, const char *addr, int plen, __u32 id, __u32 ifindex)
{
	struct netseg_prefix p;
	struct netseg_lpm_key k;
	int err;

	key_of(af, addr, plen, &k);
	err = netseg_dp_ipcache_set(dp, bpfx_prefix(&p, k.family, k.addr, plen), id, ifindex);
	if (err)
		bail("couldn't add %s/%d to the ipcache: %s", addr, plen, strerror(-err));
}

static void del(struct netseg_dp *dp, int af, const char *addr, int plen)
{
	struct netseg_prefix p;
	struct netseg_lpm_key k;

	key_of(af, addr, plen, &k);
	ok(!netseg_dp_ipcache_del(dp, bpfx_prefix(&p, k.family, k.addr, plen)), "ipcache del %s/%d",
	   addr, plen);
}

static void check_overlap(struct bpfx *x)
{
	struct bpfx_row exact[] = {
		{ "pod /32 inside a CIDR identity: A -> pod:80 allowed as the pod's",
		  T(4, IP_A, IP_POD, 40001, 80), ALLOWED(1, ID_A, ID_POD) },
		{ "... A -> pod:81 (allowed to the CIDR only): the pod's default deny",
		  T(4, IP_A, IP_POD, 40002, 81), DEFAULT(ID_A, ID_POD) },
		{ "... A -> another address of the CIDR:81 allowed as the CIDR's",
		  T(4, IP_A, IP_NET, 40003, 81), ALLOWED(2, ID_A, ID_NET) },
		{ "v6: pod /128 inside a CIDR identity: A -> pod:80 allowed as the pod's",
		  T(6, IP6_A, IP6_POD, 40004, 80), ALLOWED(1, ID_A, ID_POD) },
		{ "v6: ... A -> pod:81: the pod's default deny", T(6, IP6_A, IP6_POD, 40005, 81),
		  DEFAULT(ID_A, ID_POD) },
		{ "v6: ... A -> another address of the CIDR:81 allowed as the CIDR's",
		  T(6, IP6_A, IP6_NET, 40006, 81), ALLOWED(2, ID_A, ID_NET) },
	};
	struct bpfx_row fallback[] = {
		{ "pod's /32 deleted: A -> its address:81 allowed as the CIDR's",
		  T(4, IP_A, IP_POD, 40011, 81), ALLOWED(2, ID_A, ID_NET) },
		{ "... A -> its address:80: no longer the pod's rule",
		  T(4, IP_A, IP_POD, 40012, 80), DEFAULT(ID_A, ID_NET) },
		{ "v6: pod's /128 deleted: A -> its address:81 allowed as the CIDR's",
		  T(6, IP6_A, IP6_POD, 40013, 81), ALLOWED(2, ID_A, ID_NET) },
		{ "v6: ... A -> its address:80: no longer the pod's rule",
		  T(6, IP6_A, IP6_POD, 40014, 80), DEFAULT(ID_A, ID_NET) },
	};
	struct bpfx_row back[] = {
		{ "pod's /32 back: A -> pod:80 allowed as the pod's", T(4, IP_A, IP_POD, 40021, 80),
		  ALLOWED(1, ID_A, ID_POD) },
		{ "pod's /32 now another identity's (A's): A -> it:80 default deny",
		  T(4, IP_A, IP_POD, 40022, 80), DEFAULT(ID_A, ID_A) },
	};

	run(x, exact, ARRAY_LEN(exact));
	ok(hash_id(x->dp, 4, IP_POD, 32) == ID_POD && hash_id(x->dp, 6, IP6_POD, 128) == ID_POD,
	   "the pod's /32 and /128 are in the host hash");
	ok(!hash_id(x->dp, 4, "198.18.22.0", 24) && !hash_id(x->dp, 6, "fd00::22:0", 112),
	   "the CIDR identity's prefixes are not");
	del(x->dp, 4, IP_POD, 32);
	del(x->dp, 6, IP6_POD, 128);
	ok(!hash_id(x->dp, 4, IP_POD, 32) && !hash_id(x->dp, 6, IP6_POD, 128),
	   "deleted: no stale host hash entry");
	run(x, fallback, ARRAY_LEN(fallback));
	set(x->dp, 4, IP_POD, 32, ID_POD, 0);
	run(x, back, 1);
	set(x->dp, 4, IP_POD, 32, ID_A, 0);
	ok(hash_id(x->dp, 4, IP_POD, 32) == ID_A, "an updated entry: the hash has its new value");
	run(x, back + 1, 1);
}

/* Pinned maps in a bpffs of this test's own mount namespace. */
static void check_reopen(void)
{
	char dir[] = "/tmp/nsb-ipcache-XXXXXX";
	struct netseg_dp_opts o = { .pin_dir = dir };
	struct netseg_ipcache_val bogus = { .id = ID_POD };
	struct netseg_dp *dp = NULL;
	struct netseg_lpm_key k;
	int err;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		bail("couldn't get a private mount namespace: %s", strerror(errno));
	if (!mkdtemp(dir) || mount("bpf", dir, "bpf", 0, NULL))
		bail("couldn't mount a bpffs on %s: %s", dir, strerror(errno));
	err = netseg_dp_open(&dp, &o);
	if (err)
		bail("couldn't open a pinned datapath in %s: %s", dir, strerror(-err));
	set(dp, 4, "198.18.22.0", 24, ID_NET, 0);
	set(dp, 4, IP_POD, 32, ID_POD, 0);
	/* What a crash between the two writes, or an older version, leaves. */
	key_of(4, IP_POD, 32, &k);
	bpf_map_delete_elem(netseg_dp_map_fd(dp, NETSEG_DPM_IPCACHE_HOST), &k);
	key_of(4, IP_NET, 32, &k);
	bpf_map_update_elem(netseg_dp_map_fd(dp, NETSEG_DPM_IPCACHE_HOST), &k, &bogus, BPF_ANY);
	netseg_dp_close(dp);
	dp = NULL;
	err = netseg_dp_open(&dp, &o);
	if (!ok(!err, "re-opened the pinned datapath"))
		goto out;
	ok(hash_id(dp, 4, IP_POD, 32) == ID_POD,
	   "re-opened: the trie's host entry is back in the hash");
	ok(!hash_id(dp, 4, IP_NET, 32), "re-opened: a hash entry the trie doesn't hold is gone");
	ok(!hash_id(dp, 4, "198.18.22.0", 24), "re-opened: the CIDR stays out of the hash");
out:
	netseg_dp_close(dp);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

int main(void)
{
	struct netseg_policy_entry rules[2];
	struct bpfx x;

	bpfx_init(&x, "ipcache");
	bpfx_endpoint(&x, ID_A, IP_A, IP6_A);
	bpfx_endpoint(&x, ID_POD, IP_POD, IP6_POD);
	bpfx_identity(&x, ID_NET, 0);
	set(x.dp, 4, "198.18.22.0", 24, ID_NET, 0);
	set(x.dp, 6, "fd00::22:0", 112, ID_NET, 0);
	rules[0] = bpfx_rule(ID_A, ID_POD, IPPROTO_TCP, 80, 16, NETSEG_VERDICT_ALLOW, 1, 0);
	rules[1] = bpfx_rule(ID_A, ID_NET, IPPROTO_TCP, 81, 16, NETSEG_VERDICT_ALLOW, 2, 0);
	bpfx_policy(&x, rules, 2);

	check_overlap(&x);
	bpfx_fini(&x);
	check_reopen();
	return tap_done();
}
