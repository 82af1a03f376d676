/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * FNV-1a, 64 bits: the hash of hash tables and fingerprints that need no
 * resistance to chosen input (the program cache's name, ipcache claim
 * tags, the iptable's buckets).  Chain calls: the result is the next seed.
 */
#ifndef NETSEG_HASH_H
#define NETSEG_HASH_H

#include <stddef.h>
#include <linux/types.h>

#define NETSEG_FNV64_INIT 14695981039346656037ULL

static inline __u64 netseg_fnv1a64(__u64 h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

#endif /* NETSEG_HASH_H */
