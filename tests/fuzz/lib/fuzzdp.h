/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A datapath without BPF for the fuzzing harnesses: every netseg_dp_*
 * function of lib/datapath.h, keeping the maps as plain tables in memory,
 * so the daemon's real code runs on fuzzed input without a kernel map
 * write.  It refuses what the kernel would refuse (a bad LPM key, an
 * interface that doesn't exist) and aborts on what no caller may ever ask
 * (identity 0 for an endpoint, ifindex 0), which is then a finding.
 * The harnesses compare its tables with the daemon's own bookkeeping.
 */
#ifndef NETSEG_FUZZDP_H
#define NETSEG_FUZZDP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <netseg/abi.h>

#include "datapath.h"

/* A fresh, empty handle (no maps, nothing attached). */
struct netseg_dp *fuzzdp_new(void);
void fuzzdp_free(struct netseg_dp *dp);

/* What the fake maps hold. */
size_t fuzzdp_ipcache_count(const struct netseg_dp *dp);
bool fuzzdp_ipcache_get(const struct netseg_dp *dp, int family, const void *addr, int plen,
			struct netseg_ipcache_val *val);
size_t fuzzdp_endpoint_count(const struct netseg_dp *dp);
bool fuzzdp_endpoint_get(const struct netseg_dp *dp, __u32 ifindex, __u32 *id);
/* TC programs attached on ifindex: bit 0 ingress, bit 1 egress. */
unsigned int fuzzdp_tc_attached(const struct netseg_dp *dp, __u32 ifindex);
size_t fuzzdp_tc_count(const struct netseg_dp *dp);
size_t fuzzdp_identity_count(const struct netseg_dp *dp);
bool fuzzdp_identity_get(const struct netseg_dp *dp, __u32 id, __u32 *flags);
size_t fuzzdp_policy_entries(const struct netseg_dp *dp);
size_t fuzzdp_prefilter_count(const struct netseg_dp *dp);

/* A message and abort(): the harness found a broken invariant. */
__attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char *fmt, ...);
#define FUZZ_ASSERT(cond, ...)                  \
	do {                                    \
		if (!(cond))                    \
			fuzz_fail(__VA_ARGS__); \
	} while (0)

/* Log at debug level: messages about bad input are formatted, so their
 * arguments are checked too; -close_fd_mask=2 sends them nowhere. */
void fuzz_logs(void);

#endif
