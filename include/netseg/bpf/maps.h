/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every map the datapath uses, BTF-defined, named after the pin names in
 * abi.h.  Both objects (tc/, xdp/) include this file; the loader shares one
 * instance of each map between them (bpf_map__reuse_fd / pinning).
 */
#ifndef NETSEG_BPF_MAPS_H
#define NETSEG_BPF_MAPS_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <netseg/abi.h>

/*
 * The compiled policy lives in two inner LPM tries, slots 0 and 1 of this
 * array; NETSEG_POL_SLOT1 in ns_config's policy_flags says which one
 * enforces.  Userspace brings the idle one up to date and flips the bit
 * (see docs/architecture.md, "Atomic policy changes").  The template below
 * only fixes the inner map's key/value/flags.
 */
struct ns_policy_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NETSEG_POLICY_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	/* Sizes, not __type(): clang emits only a forward declaration for
	 * types reached through the nested template, which libbpf rejects. */
	__uint(key_size, sizeof(struct netseg_policy_key));
	__uint(value_size, sizeof(struct netseg_policy_val));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct ns_policy_inner);
} ns_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct netseg_config);
} ns_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NETSEG_CT_MAX);
	__type(key, struct netseg_ct_key);
	__type(value, struct netseg_ct_entry);
} ns_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NETSEG_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct netseg_lpm_key);
	__type(value, struct netseg_ipcache_val);
} ns_ipcache SEC(".maps");

/* The host (/32, /128) entries of ns_ipcache again, for an exact lookup
 * first (see struct netseg_ipcache_val). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NETSEG_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct netseg_lpm_key);
	__type(value, struct netseg_ipcache_val);
} ns_ipcache_host SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NETSEG_ENDPOINT_MAX);
	__type(key, __u32); /* ifindex */
	__type(value, struct netseg_endpoint);
} ns_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NETSEG_CGROUP_MAX);
	__type(key, __u64); /* cgroup v2 id */
	__type(value, struct netseg_endpoint);
} ns_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NETSEG_IDENTITY_MAX);
	__type(key, __u32);
	__type(value, struct netseg_identity);
} ns_identities SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NETSEG_FRAG_MAX);
	__type(key, struct netseg_frag_key);
	__type(value, struct netseg_frag_val);
} ns_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NETSEG_PREFILTER_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct netseg_lpm_key);
	__type(value, struct netseg_prefilter_val);
} ns_prefilter SEC(".maps");

/* An array, not a hash: a lookup is an index, an insert a store, and no
 * eviction to pay for under a flood of new sources. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1 << NETSEG_DENY_CACHE_BITS);
	__type(key, __u32);
	__type(value, struct netseg_deny_val);
} ns_deny_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETSEG_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, struct netseg_counter);
} ns_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, NETSEG_RULE_STATS_MAX);
	__type(key, __u32); /* rule id, 0 = default deny */
	__type(value, struct netseg_counter);
} ns_rule_stats SEC(".maps");

/* An array, not a hash: indexed by ifindex (below NETSEG_IF_STATS_MAX), it
 * costs the hot path a bounds check instead of a hash lookup and insert. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETSEG_IF_STATS_MAX);
	__type(key, __u32); /* ifindex */
	__type(value, struct netseg_if_stats);
} ns_if_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NETSEG_BUCKET_MAX);
	__type(key, __u32); /* enum netseg_bucket_slot */
	__type(value, struct netseg_bucket);
} ns_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, NETSEG_EVENTS_SIZE);
} ns_events SEC(".maps");

#endif
