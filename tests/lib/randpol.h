/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Seeded randomness and random rule sets for the differential tests
 * (tests/bpf/policy_diff.c, tests/bpf/pktfuzz.c).  xorshift64*: the same
 * sequence for a seed with every libc, so a printed seed reproduces a run.
 */
#ifndef NETSEG_TEST_RANDPOL_H
#define NETSEG_TEST_RANDPOL_H

#include <stddef.h>
#include <linux/types.h>

#include "rule.h"

void rp_seed(__u32 seed);
__u32 rp_rnd(void);
__u32 rp_below(__u32 n); /* 0 .. n-1 */

/* $var if set (any base strtoul takes), else time and pid. */
__u32 rp_seed_from_env(const char *var);

/*
 * A port that lands on boundaries often: a few hot values (the edges of
 * the port space and of its halves, well-known ports) or any 1..65535.
 */
__u16 rp_port(void);

void rp_shuffle(__u32 *v, size_t n);

/*
 * 1..max rules (usually at most 24), written as rule lines and parsed by
 * the real grammar: selectors from `names` plus "*", "world", "host";
 * tcp/udp/sctp port lists and ranges, icmp/icmpv6 with or without a type,
 * any protocol; --log and allow --audit sometimes.  Ids unique, 1..2*n,
 * unrelated to the order.  Bails if a generated line doesn't parse.
 */
size_t rp_rules(struct netseg_rule *rules, size_t max, const char *const *names, size_t nnames);

#endif
