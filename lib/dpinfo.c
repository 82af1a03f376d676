// SPDX-License-Identifier: GPL-2.0-only
/*
 * What callers need to know about the datapath without opening one: names
 * of drop reasons and counters, cgroup ids.  Kept apart from datapath.c so
 * that code linked without the BPF skeletons (the fuzzing harnesses, which
 * put a map-less datapath in its place) shares these with the daemon.
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "datapath.h"

const char *netseg_reason_name(int reason)
{
	static const char *const names[NETSEG_REASON_MAX] = {
		[NETSEG_REASON_NONE] = "none",
		[NETSEG_REASON_POLICY] = "policy",
		[NETSEG_REASON_DEFAULT_DENY] = "default-deny",
		[NETSEG_REASON_MALFORMED] = "malformed",
		[NETSEG_REASON_IMPOSSIBLE] = "impossible",
		[NETSEG_REASON_SPOOFED] = "spoofed",
		[NETSEG_REASON_FRAG_UNKNOWN] = "frag-unknown",
		[NETSEG_REASON_PREFILTER] = "prefilter",
		[NETSEG_REASON_FRAG_CONFLICT] = "frag-conflict",
	};

	return reason >= 0 && reason < NETSEG_REASON_MAX ? names[reason] : "unknown";
}

const char *netseg_stat_name(int stat)
{
	static const char *const names[NETSEG_STAT_MAX] = {
		[NETSEG_STAT_PASS] = "pass",
		[NETSEG_STAT_CT_NEW] = "ct-new",
		[NETSEG_STAT_CT_HIT] = "ct-hit",
		[NETSEG_STAT_CT_REDECIDE] = "ct-redecide",
		[NETSEG_STAT_CT_FAIL] = "ct-insert-failed",
		[NETSEG_STAT_AUDIT] = "audit-pass",
		[NETSEG_STAT_PASS_NON_IP] = "pass-non-ip",
		[NETSEG_STAT_EV_SENT] = "events-sent",
		[NETSEG_STAT_EV_LOST_RING] = "events-lost-ring",
		[NETSEG_STAT_EV_LOST_RATE] = "events-lost-ratelimit",
		[NETSEG_STAT_XDP_PASS] = "xdp-pass-known-flow",
		[NETSEG_STAT_FRAG_FAIL] = "frag-insert-failed",
		[NETSEG_STAT_CT_MIDSTREAM] = "ct-midstream",
		[NETSEG_STAT_CT_REPLACED] = "ct-replaced",
		[NETSEG_STAT_EV_LOST_SEEN] = "events-lost-unlogged-allowed",
		[NETSEG_STAT_DENY_CACHED] = "xdp-deny-cached",
	};

	if (stat > NETSEG_STAT_PASS && stat < NETSEG_REASON_MAX)
		return netseg_reason_name(stat);
	return stat >= 0 && stat < NETSEG_STAT_MAX && names[stat] ? names[stat] : "unknown";
}

int netseg_cgroup_id(const char *path, __u64 *cgid)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(path, &sfs) || stat(path, &st))
		return -errno;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		return -ENOTDIR;
	/* On cgroup2 the inode number is the id bpf_skb_cgroup_id returns. */
	*cgid = st.st_ino;
	return 0;
}
