// SPDX-License-Identifier: GPL-2.0-only
/* The map-less datapath of fuzzdp.h: small arrays searched linearly. */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sanitizer/common_interface_defs.h>

#include "fuzzdp.h"
#include "log.h"

struct lpm {
	__u8 family, plen;
	__u8 addr[16];
	struct netseg_ipcache_val val;
};

struct kv {
	__u64 key;
	__u32 val;
};

struct tab {
	void *v;
	size_t n, cap, size;
};

struct netseg_dp {
	struct tab ipcache;   /* struct lpm */
	struct tab prefilter; /* struct lpm */
	struct tab endpoints; /* struct kv: ifindex -> id */
	struct tab cgroups;   /* struct kv: cgid -> id */
	struct tab ids;	      /* struct kv: id -> flags */
	struct tab tc;	      /* struct kv: ifindex -> attached bits */
	struct tab xdp;	      /* struct kv: ifindex -> 1 */
	struct tab cgatt;     /* struct kv: cgid -> 1 */
	struct tab uplinks;   /* struct kv: ifindex -> 1 (the endpoint map's uplink mark) */
	struct netseg_config cfg;
	size_t policy_n;
};

void fuzz_fail(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "fuzz invariant broken: ");

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	/* To where the sanitizers report: stderr may be closed (-close_fd_mask=2). */
	__sanitizer_report_error_summary(msg);
	abort();
}

void fuzz_logs(void)
{
	/* Every message formatted, debug ones too: their arguments come from
	 * the input.  Run with -close_fd_mask=2 to keep them off the terminal. */
	netseg_log_set_level(NETSEG_LOG_DEBUG);
}

static void *tab_at(const struct tab *t, size_t i)
{
	return (char *)t->v + i * t->size;
}

static void *tab_add(struct tab *t, size_t size)
{
	t->size = size;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		void *v = realloc(t->v, cap * size);

		if (!v)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	memset(tab_at(t, t->n), 0, size);
	return tab_at(t, t->n++);
}

static void tab_del(struct tab *t, size_t i)
{
	memmove(tab_at(t, i), tab_at(t, i + 1), (t->n - i - 1) * t->size);
	t->n--;
}

/* ------------------------------------------------------- hash-like maps */

static struct kv *kv_find(const struct tab *t, __u64 key, size_t *idx)
{
	for (size_t i = 0; i < t->n; i++) {
		struct kv *e = tab_at(t, i);

		if (e->key == key) {
			if (idx)
				*idx = i;
			return e;
		}
	}
	return NULL;
}

static int kv_set(struct tab *t, __u64 key, __u32 val)
{
	struct kv *e = kv_find(t, key, NULL);

	if (!e)
		e = tab_add(t, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->val = val;
	return 0;
}

static int kv_del(struct tab *t, __u64 key)
{
	size_t i;

	if (!kv_find(t, key, &i))
		return -ENOENT;
	tab_del(t, i);
	return 0;
}

/* ------------------------------------------------------------ LPM maps */

/* What lib/datapath.c's lpm_key() refuses, and the bits an LPM trie keys on. */
static int lpm_key(struct lpm *k, int family, const void *addr, int plen)
{
	int max = family == NETSEG_AF_INET ? 32 : 128;

	if ((family != NETSEG_AF_INET && family != NETSEG_AF_INET6) || plen < 0 || plen > max)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->plen = plen;
	memcpy(k->addr, addr, max / 8);
	for (int b = plen; b < max; b++)
		k->addr[b / 8] &= ~(0x80 >> (b % 8));
	return 0;
}

static struct lpm *lpm_find(const struct tab *t, const struct lpm *k, size_t *idx)
{
	for (size_t i = 0; i < t->n; i++) {
		struct lpm *e = tab_at(t, i);

		if (e->family == k->family && e->plen == k->plen &&
		    !memcmp(e->addr, k->addr, sizeof(e->addr))) {
			if (idx)
				*idx = i;
			return e;
		}
	}
	return NULL;
}

static int lpm_set(struct tab *t, int family, const void *addr, int plen,
		   const struct netseg_ipcache_val *val)
{
	struct lpm k, *e;
	int err = lpm_key(&k, family, addr, plen);

	if (err)
		return err;
	e = lpm_find(t, &k, NULL);
	if (!e)
		e = tab_add(t, sizeof(*e));
	if (!e)
		return -ENOMEM;
	*e = k;
	if (val)
		e->val = *val;
	return 0;
}

static int lpm_del(struct tab *t, int family, const void *addr, int plen)
{
	struct lpm k;
	size_t i;
	int err = lpm_key(&k, family, addr, plen);

	if (err)
		return err;
	if (!lpm_find(t, &k, &i))
		return -ENOENT;
	tab_del(t, i);
	return 0;
}

/* ------------------------------------------------------------ the API */

struct netseg_dp *fuzzdp_new(void)
{
	return calloc(1, sizeof(struct netseg_dp));
}

void fuzzdp_free(struct netseg_dp *dp)
{
	if (!dp)
		return;
	free(dp->ipcache.v);
	free(dp->prefilter.v);
	free(dp->endpoints.v);
	free(dp->cgroups.v);
	free(dp->ids.v);
	free(dp->tc.v);
	free(dp->xdp.v);
	free(dp->cgatt.v);
	free(dp->uplinks.v);
	free(dp);
}

int netseg_dp_open(struct netseg_dp **dpp, const struct netseg_dp_opts *opts)
{
	*dpp = fuzzdp_new();
	return *dpp ? 0 : -ENOMEM;
}

void netseg_dp_close(struct netseg_dp *dp)
{
	fuzzdp_free(dp);
}

/* No BPF maps behind it: callers that go to libbpf directly get EBADF. */
int netseg_dp_map_fd(const struct netseg_dp *dp, enum netseg_dp_map m)
{
	return -EBADF;
}

int netseg_dp_prog_fd(const struct netseg_dp *dp, int hook)
{
	return -EBADF;
}

int netseg_dp_policy_swap(struct netseg_dp *dp, const struct netseg_policy_entry *entries, size_t n,
			  __u64 *generation)
{
	FUZZ_ASSERT(n == 0 || entries, "policy swap of %zu entries from NULL", n);
	dp->policy_n = n;
	return netseg_dp_bump_generation(dp, generation);
}

int netseg_dp_bump_generation(struct netseg_dp *dp, __u64 *generation)
{
	dp->cfg.generation++;
	if (generation)
		*generation = dp->cfg.generation;
	return 0;
}

int netseg_dp_config_get(struct netseg_dp *dp, struct netseg_config *cfg)
{
	*cfg = dp->cfg;
	return 0;
}

int netseg_dp_config_set_events(struct netseg_dp *dp, __u32 deny_rate, __u32 deny_burst,
				__u32 flags)
{
	dp->cfg.deny_rate = deny_rate;
	dp->cfg.deny_burst = deny_burst;
	dp->cfg.flags = flags;
	return 0;
}

int netseg_dp_ipcache_set(struct netseg_dp *dp, const struct netseg_prefix *p, __u32 id,
			  __u32 ifindex)
{
	struct netseg_ipcache_val v = { .id = id, .ifindex = ifindex };

	FUZZ_ASSERT(id, "ipcache entry with identity 0");
	return lpm_set(&dp->ipcache, p->family, p->addr, p->plen, &v);
}

int netseg_dp_ipcache_del(struct netseg_dp *dp, const struct netseg_prefix *p)
{
	return lpm_del(&dp->ipcache, p->family, p->addr, p->plen);
}

int netseg_dp_prefilter_set(struct netseg_dp *dp, const struct netseg_prefix *p)
{
	return lpm_set(&dp->prefilter, p->family, p->addr, p->plen, NULL);
}

int netseg_dp_prefilter_del(struct netseg_dp *dp, const struct netseg_prefix *p)
{
	return lpm_del(&dp->prefilter, p->family, p->addr, p->plen);
}

int netseg_dp_endpoint_set(struct netseg_dp *dp, __u32 ifindex, __u32 id)
{
	FUZZ_ASSERT(ifindex && id, "endpoint map: ifindex %u -> identity %u", ifindex, id);
	return kv_set(&dp->endpoints, ifindex, id);
}

/* One map holds endpoints and uplink marks in the kernel: one delete. */
int netseg_dp_endpoint_del(struct netseg_dp *dp, __u32 ifindex)
{
	int a = kv_del(&dp->uplinks, ifindex), b = kv_del(&dp->endpoints, ifindex);

	return a && b ? -ENOENT : 0;
}

int netseg_dp_uplink_set(struct netseg_dp *dp, __u32 ifindex)
{
	FUZZ_ASSERT(ifindex, "uplink mark for ifindex 0");
	return kv_set(&dp->uplinks, ifindex, 1);
}

int netseg_dp_cgroup_set(struct netseg_dp *dp, __u64 cgid, __u32 id)
{
	FUZZ_ASSERT(cgid && id, "cgroup map: %llu -> identity %u", (unsigned long long)cgid, id);
	return kv_set(&dp->cgroups, cgid, id);
}

int netseg_dp_cgroup_del(struct netseg_dp *dp, __u64 cgid)
{
	return kv_del(&dp->cgroups, cgid);
}

int netseg_dp_identity_set(struct netseg_dp *dp, __u32 id, __u32 flags)
{
	FUZZ_ASSERT(id, "identity map entry for identity 0");
	return kv_set(&dp->ids, id, flags);
}

int netseg_dp_identity_del(struct netseg_dp *dp, __u32 id)
{
	return kv_del(&dp->ids, id);
}

/* The kernel's answer for an interface that isn't there. */
static int iface_exists(int ifindex)
{
	char name[IF_NAMESIZE];

	return ifindex > 0 && if_indextoname(ifindex, name) ? 0 : -ENODEV;
}

int netseg_dp_attach_tc(struct netseg_dp *dp, int ifindex, bool ingress)
{
	struct kv *e = kv_find(&dp->tc, ifindex, NULL);
	int err = iface_exists(ifindex);

	if (err)
		return err;
	return kv_set(&dp->tc, ifindex, (e ? e->val : 0) | (ingress ? 1 : 2));
}

int netseg_dp_detach_tc(struct netseg_dp *dp, int ifindex, bool ingress)
{
	struct kv *e = kv_find(&dp->tc, ifindex, NULL);

	if (!e || !(e->val & (ingress ? 1 : 2)))
		return -ENOENT;
	e->val &= ~(ingress ? 1 : 2);
	return e->val ? 0 : kv_del(&dp->tc, ifindex);
}

int netseg_dp_attach_cgroup(struct netseg_dp *dp, const char *path, __u64 *cgid)
{
	int err = netseg_cgroup_id(path, cgid);

	return err ? err : kv_set(&dp->cgatt, *cgid, 1);
}

int netseg_dp_detach_cgroup(struct netseg_dp *dp, __u64 cgid)
{
	return kv_del(&dp->cgatt, cgid);
}

int netseg_dp_attach_xdp(struct netseg_dp *dp, int ifindex)
{
	int err = iface_exists(ifindex);

	return err ? err : kv_set(&dp->xdp, ifindex, 1);
}

int netseg_dp_detach_xdp(struct netseg_dp *dp, int ifindex)
{
	return kv_del(&dp->xdp, ifindex);
}

int netseg_dp_replace_links(struct netseg_dp *dp)
{
	return 0;
}

int netseg_dp_cleanup(struct netseg_dp *dp)
{
	dp->tc.n = dp->xdp.n = dp->cgatt.n = 0;
	return 0;
}

int netseg_dp_read_counters(struct netseg_dp *dp, struct netseg_counter out[NETSEG_STAT_MAX])
{
	memset(out, 0, NETSEG_STAT_MAX * sizeof(out[0]));
	return 0;
}

int netseg_dp_read_drops(struct netseg_dp *dp, struct netseg_counter in[NETSEG_REASON_MAX],
			 struct netseg_counter out[NETSEG_REASON_MAX])
{
	memset(in, 0, NETSEG_REASON_MAX * sizeof(in[0]));
	memset(out, 0, NETSEG_REASON_MAX * sizeof(out[0]));
	return 0;
}

/* ------------------------------------------------------- for harnesses */

size_t fuzzdp_ipcache_count(const struct netseg_dp *dp)
{
	return dp->ipcache.n;
}

bool fuzzdp_ipcache_get(const struct netseg_dp *dp, int family, const void *addr, int plen,
			struct netseg_ipcache_val *val)
{
	struct lpm k, *e;

	if (lpm_key(&k, family, addr, plen))
		return false;
	e = lpm_find(&dp->ipcache, &k, NULL);
	if (e && val)
		*val = e->val;
	return e;
}

size_t fuzzdp_endpoint_count(const struct netseg_dp *dp)
{
	return dp->endpoints.n;
}

bool fuzzdp_endpoint_get(const struct netseg_dp *dp, __u32 ifindex, __u32 *id)
{
	const struct kv *e = kv_find(&dp->endpoints, ifindex, NULL);

	if (e && id)
		*id = e->val;
	return e;
}

unsigned int fuzzdp_tc_attached(const struct netseg_dp *dp, __u32 ifindex)
{
	const struct kv *e = kv_find(&dp->tc, ifindex, NULL);

	return e ? e->val : 0;
}

size_t fuzzdp_tc_count(const struct netseg_dp *dp)
{
	return dp->tc.n;
}

size_t fuzzdp_identity_count(const struct netseg_dp *dp)
{
	return dp->ids.n;
}

bool fuzzdp_identity_get(const struct netseg_dp *dp, __u32 id, __u32 *flags)
{
	const struct kv *e = kv_find(&dp->ids, id, NULL);

	if (e && flags)
		*flags = e->val;
	return e;
}

size_t fuzzdp_policy_entries(const struct netseg_dp *dp)
{
	return dp->policy_n;
}

size_t fuzzdp_prefilter_count(const struct netseg_dp *dp)
{
	return dp->prefilter.n;
}
