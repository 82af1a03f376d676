// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conntrack garbage collection, once a second from the loop's timer: the
 * datapath ignores expired flows but never removes them, so this walk
 * does, ends the logged ones with a flow record, and keeps the fill and
 * eviction figures `netsegctl stats` and the metrics show.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flowlog.h"
#include "log.h"
#include "netsegd.h"

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#define CT_GC_BATCH 1024     /* entries per bpf_map_lookup_batch */
#define CT_GC_DEAD_MAX 65536 /* expired flows removed per walk */
#define CT_WARN_EVERY_MS 60000

/*
 * Evictions are inferred (see struct netsegd_ctstats); a full table is
 * said in the log, at most once a minute, with what to do about it.
 */
static void ct_account(struct netsegd *d, __u64 entries)
{
	struct netsegd_ctstats *ct = &d->ct;
	struct netseg_counter c[NETSEG_STAT_MAX];
	__s64 evicted, grew;
	__u64 now;

	ct->entries = entries;
	if (!ct->max) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(netseg_dp_map_fd(d->dp, NETSEG_DPM_CT), &info, &len))
			ct->max = info.max_entries;
	}
	if (netseg_dp_read_counters(d->dp, c))
		return;
	/* A new flow that replaced its tuple's old entry added none. */
	grew = (__s64)c[NETSEG_STAT_CT_NEW].packets - (__s64)c[NETSEG_STAT_CT_REPLACED].packets;
	if (!ct->primed) {
		ct->base = (__s64)entries - grew;
		ct->primed = true;
	}
	evicted = ct->base + grew - (__s64)ct->removed - (__s64)entries;
	/* The walk races the datapath: keep the highest, never go back. */
	if (evicted <= (__s64)ct->evicted)
		return;
	/* Evicting at all means full: the LRU's per-CPU free lists make it
	 * start below max_entries, so the fill alone doesn't tell. */
	ct->evicted = evicted;
	now = mono_ns() / 1000000;
	if (!ct->warned_ms || now - ct->warned_ms >= CT_WARN_EVERY_MS) {
		ct->warned_ms = now;
		pr_warn("conntrack table is full (%llu entries, ct_max %llu): about %llu flows "
			"evicted so far, least recently used first; raise ct_max",
			(unsigned long long)entries, (unsigned long long)ct->max,
			(unsigned long long)ct->evicted);
	}
}

/*
 * Expired flows leave the table here (the datapath ignores them already).
 * bpf_ktime_get_ns() is CLOCK_MONOTONIC, so the two clocks compare.
 *
 * Batched lookups walk the hash bucket by bucket: a key-by-key walk
 * (get_next_key) starts over from the first bucket whenever the datapath
 * evicts the key it stands on, which a full LRU table under a flood of
 * new flows does all the time, so that walk could count entries twice and
 * keep the loop busy for long.
 */
void netsegd_ct_gc(struct netsegd *d)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_CT);
	struct netseg_ct_key *keys, *dead = NULL;
	struct netseg_ct_entry *vals, *ends = NULL;
	__u64 now = mono_ns(), entries = 0, batch = 0;
	size_t n = 0, cap = 0;
	bool first = true, done = false;
	int err;

	/* calloc: valgrind can't tell the kernel filled them (BPF_MAP_LOOKUP_BATCH) */
	keys = calloc(CT_GC_BATCH, sizeof(*keys));
	vals = calloc(CT_GC_BATCH, sizeof(*vals));
	if (!keys || !vals)
		goto out;
	/* Collect, then delete: deleting under the walk would disturb it. */
	while (!done) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 count = CT_GC_BATCH;
		__u64 next = 0; /* the kernel's token: a bucket index */

		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &next, keys, vals, &count,
					   &opts);
		if (err && errno != ENOENT) {
			pr_warn("conntrack GC: couldn't read the table: %s", strerror(errno));
			goto out;
		}
		done = err != 0;
		first = false;
		batch = next;
		entries += count;
		for (__u32 i = 0; i < count; i++) {
			if (!netseg_ct_expired(&vals[i], now))
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				struct netseg_ct_key *nd;
				struct netseg_ct_entry *ne;

				if (ncap > CT_GC_DEAD_MAX)
					break; /* the rest go on the next tick */
				nd = realloc(dead, ncap * sizeof(*dead));
				if (nd)
					dead = nd;
				ne = nd ? realloc(ends, ncap * sizeof(*ends)) : NULL;
				if (!ne)
					goto out;
				ends = ne;
				cap = ncap;
			}
			dead[n] = keys[i];
			ends[n++] = vals[i];
		}
	}
	for (size_t i = 0; i < n; i++) {
		/*
		 * Looked at again: since the walk a packet may have refreshed
		 * it or a new flow replaced it under the same tuple (stamped
		 * after `now`, so not expired).  Narrows the race to a syscall.
		 */
		if (bpf_map_lookup_elem(fd, &dead[i], &ends[i]) ||
		    !netseg_ct_expired(&ends[i], now) || bpf_map_delete_elem(fd, &dead[i]))
			continue;
		d->ct.removed++;
		entries -= entries ? 1 : 0;
		/* Logged flows (--log, audit, log_allowed) end with a record. */
		if (ends[i].flags & NETSEG_CTF_LOG)
			netsegd_flowlog_ct_end(d, &dead[i], &ends[i]);
	}
	if (n)
		pr_debug("conntrack GC removed %zu expired flows", n);
	ct_account(d, entries);
out:
	free(keys);
	free(vals);
	free(dead);
	free(ends);
}
