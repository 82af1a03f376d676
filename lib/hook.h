/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names of the datapath hooks (enum netseg_hook in abi.h), one table.
 * Each spelling is fixed by what reads it, so none can change:
 *   record    flow records' "hook" field: xdp, tc-ingress, cgroup-ingress
 *   pin       bpffs names of cached programs and pinned links (a restarted
 *             daemon finds a previous run's links by them): cg-ingress
 *   attached  the control protocol's attach state, program type and
 *             direction as bpftool writes them: tc/ingress, cgroup_skb/ingress
 */
#ifndef NETSEG_HOOK_H
#define NETSEG_HOOK_H

/* "xdp", "tc-ingress", ...; "unknown" for 0 or out of range. */
const char *netseg_hook_name(int hook);
/* "xdp", "tc-ingress", "cg-ingress", ...; NULL out of range. */
const char *netseg_hook_pin_name(int hook);
/* "xdp", "tc/ingress", "cgroup_skb/ingress", ...; NULL out of range. */
const char *netseg_hook_attached_name(int hook);
/* The hook whose pin name and a '-' start @name ("tc-egress-7"), or -1. */
int netseg_hook_by_pin_prefix(const char *name);

#endif /* NETSEG_HOOK_H */
