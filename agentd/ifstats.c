// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-interface counters for `stats`.  ns_if_stats is a per-CPU array
 * with a row for every possible ifindex (NETSEG_IF_STATS_MAX): walked with
 * a get_next_key and a lookup per row it cost 8,192 syscalls, 35 ms of the
 * loop per `stats`, during which nothing else (flow records included) was
 * served.  Read in batches, it takes a few.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "netsegd.h"

#define IFS_BATCH 256 /* rows per syscall: 256 * CPUs * 32 bytes of buffer */

int netsegd_if_stats_each(struct netsegd *d,
			  void (*fn)(void *ctx, __u32 ifindex, const struct netseg_if_stats *s),
			  void *ctx)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_IF_STATS);
	int ncpu = libbpf_num_possible_cpus();
	struct netseg_if_stats *per = NULL, s;
	__u32 keys[IFS_BATCH], token = 0, count;
	bool first = true, last = false;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	per = calloc((size_t)IFS_BATCH * ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	while (!last) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		count = IFS_BATCH;
		/* valgrind doesn't know what this bpf command writes: without
		 * the memset it would take the rows for uninitialised. */
		memset(keys, 0, sizeof(keys));
		memset(per, 0, (size_t)IFS_BATCH * ncpu * sizeof(*per));
		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token, keys, per, &count,
					   &opts);
		first = false;
		/* -ENOENT: no rows after these (count may still be > 0). */
		if (err == -ENOENT)
			last = true;
		else if (err)
			goto out;
		err = 0;
		for (__u32 i = 0; i < count; i++) {
			const struct netseg_if_stats *row = per + (size_t)i * ncpu;

			memset(&s, 0, sizeof(s));
			for (int c = 0; c < ncpu; c++) {
				s.pass_packets += row[c].pass_packets;
				s.drop_packets += row[c].drop_packets;
				s.drop_bytes += row[c].drop_bytes;
				s.xdp_drop_packets += row[c].xdp_drop_packets;
			}
			/* An array holds a row for every ifindex: the used ones. */
			if (s.pass_packets || s.drop_packets)
				fn(ctx, keys[i], &s);
		}
	}
out:
	free(per);
	return err;
}
