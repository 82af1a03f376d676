/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one contract between the BPF programs and userspace: map keys and
 * values, event records, drop reasons, reserved identities and limits.
 *
 * Plain C with UAPI types only: included by tc/, xdp/ (clang -target bpf)
 * and by lib/, agentd/, ctl/, tests/ (gcc). Never copy a struct from here.
 */
#ifndef NETSEG_ABI_H
#define NETSEG_ABI_H

#include <linux/types.h>

/* ---------------------------------------------------------------- limits */

/* Each bound is a default; the loader may resize maps before load. */
#define NETSEG_CT_MAX 262144	      /* tracked flows (LRU: oldest evicted) */
#define NETSEG_POLICY_MAX 1048576     /* compiled policy entries per inner map */
#define NETSEG_IPCACHE_MAX 65536      /* IP/CIDR -> identity entries */
#define NETSEG_ENDPOINT_MAX 4096      /* interfaces enforced as endpoints */
#define NETSEG_CGROUP_MAX 4096	      /* cgroups enforced as endpoints */
#define NETSEG_IDENTITY_MAX 65536     /* identities with flags */
#define NETSEG_FRAG_MAX 8192	      /* fragmented datagrams in flight */
#define NETSEG_PREFILTER_MAX 65536    /* prefilter deny CIDRs (v4 + v6), default */
#define NETSEG_RULE_STATS_MAX 65536   /* per-rule hit counters */
#define NETSEG_IF_STATS_MAX 4096      /* per-interface counters: ifindex bound */
#define NETSEG_EVENTS_SIZE (1U << 22) /* ring buffer bytes (power of 2) */
#define NETSEG_CGROUP_DEPTH 16	      /* ancestors searched for a cgroup identity */
#define NETSEG_IPV6_EXT_MAX 6	      /* IPv6 extension headers skipped */

/* Deny-event token bucket defaults, per CPU. */
#define NETSEG_DENY_RATE 1000 /* events per second */
#define NETSEG_DENY_BURST 200 /* events */
/*
 * Flow starts of allowed flows that no rule logs (NETSEG_EV_FLOW_SEEN):
 * kept only in the daemon's in-memory history for `netsegctl observe`,
 * so a per-CPU bucket of their own bounds what they cost; the rest are
 * counted (NETSEG_STAT_EV_LOST_SEEN) and the reader is told.
 */
#define NETSEG_SEEN_RATE 1000 /* events per second */
#define NETSEG_SEEN_BURST 200 /* events */

/* Conntrack timeouts (Cilium's defaults), nanoseconds. */
#define NETSEG_NSEC 1000000000ULL
#define NETSEG_CT_SYN_TIMEOUT (60ULL * NETSEG_NSEC)
#define NETSEG_CT_TCP_TIMEOUT (6ULL * 3600 * NETSEG_NSEC)
#define NETSEG_CT_CLOSE_TIMEOUT (10ULL * NETSEG_NSEC)
#define NETSEG_CT_ANY_TIMEOUT (60ULL * NETSEG_NSEC)
/*
 * A fragment map entry claims its datagram id this long: a conflicting
 * first fragment with the same id is dropped within it and replaces the
 * entry after it (the id wrapped: a new datagram).
 */
#define NETSEG_FRAG_TIMEOUT (5ULL * NETSEG_NSEC)

/* ------------------------------------------------------------ identities */

#define NETSEG_ID_ANY 0	       /* wildcard, only inside policy keys */
#define NETSEG_ID_HOST 1       /* this node's own addresses */
#define NETSEG_ID_WORLD 2      /* nothing else matched */
#define NETSEG_ID_USER_MIN 256 /* first identity the daemon hands out */

enum netseg_identity_flags {
	NETSEG_IDF_ENDPOINT = 1 << 0, /* default-deny applies to it */
	NETSEG_IDF_AUDIT = 1 << 1,    /* log would-deny, deny nothing */
};

struct netseg_identity {
	__u32 flags; /* enum netseg_identity_flags */
};

/* ---------------------------------------------------------------- policy */

enum netseg_verdict {
	NETSEG_VERDICT_NONE = 0, /* no rule: default applies */
	NETSEG_VERDICT_ALLOW = 1,
	NETSEG_VERDICT_DENY = 2,
	NETSEG_VERDICT_AUDIT = 3, /* would deny, passed (CT, events) */
};

enum netseg_rule_flags {
	NETSEG_RULEF_AUDIT = 1 << 0, /* allow rule in audit mode */
	NETSEG_RULEF_LOG = 1 << 1,   /* emit an event for every new flow */
};

/*
 * Compiled policy: an LPM trie keyed by identities (always exact), then
 * protocol and destination port (prefix-matched, big endian so that a port
 * range becomes a handful of prefixes).  ICMP type/code sit in dport as
 * (type << 8 | code), so "icmp/8" is a prefix of 8 bits into the port field.
 *
 * prefixlen counts bits after the prefixlen field:
 *   72 = identities only (any protocol), 80 = + protocol,
 *   80 + n = + the first n bits of dport (n <= 16).
 * pad is always 0 and sits inside every prefix.
 */
struct netseg_policy_key {
	__u32 prefixlen;
	__u32 dst_id;
	__u32 src_id;
	__u8 pad;
	__u8 proto;
	__be16 dport;
};

#define NETSEG_POLICY_PLEN_IDS 72
#define NETSEG_POLICY_PLEN_PROTO 80
#define NETSEG_POLICY_PLEN_FULL 96

struct netseg_policy_val {
	__u8 verdict; /* enum netseg_verdict (ALLOW or DENY) */
	__u8 flags;   /* enum netseg_rule_flags */
	__u16 pad;
	__u32 rule_id;
};

/* One compiled entry as the compiler emits it and the loader writes it. */
struct netseg_policy_entry {
	struct netseg_policy_key key;
	struct netseg_policy_val val;
};

/* --------------------------------------------------------- address keys */

#define NETSEG_AF_INET 4
#define NETSEG_AF_INET6 6

/*
 * LPM key for the ipcache and the prefilter: family first so that v4 and
 * v6 share one trie.  prefixlen = 32 + the address prefix length.
 */
struct netseg_lpm_key {
	__u32 prefixlen;
	__u8 pad[3];
	__u8 family;   /* NETSEG_AF_INET or NETSEG_AF_INET6 */
	__u8 addr[16]; /* v4 in the first 4 bytes, network order */
};

#define NETSEG_LPM_PLEN_HDR 32

/*
 * The ipcache's host entries (/32, /128: pods, the node) are also in an
 * exact-match hash under the same key (full prefixlen), looked up before
 * the trie: a hash hit costs a fraction of an LPM walk.  The hash only
 * ever holds what the trie answers for its key; lib/datapath.c writes both.
 */
struct netseg_ipcache_val {
	__u32 id;      /* identity */
	__u32 ifindex; /* endpoint interface owning this IP, 0 = any */
};

struct netseg_prefilter_val {
	__u64 hits; /* packets dropped by this entry (atomic) */
};

/* ------------------------------------------------------------- endpoints */

/*
 * ifindex -> identity (endpoint interfaces), cgroup id -> identity.  An
 * attached uplink is an entry of the interface map with id NETSEG_ID_ANY
 * (no endpoint) and NETSEG_EPF_UPLINK: packets arriving on it must not
 * carry a local endpoint's or the node's own source address.
 */
struct netseg_endpoint {
	__u32 id;
	__u32 flags; /* enum netseg_endpoint_flags (interface map only) */
};

enum netseg_endpoint_flags {
	NETSEG_EPF_UPLINK = 1 << 0, /* the node's uplink: anti-spoofing */
};

/* ------------------------------------------------------------ conntrack */

/*
 * Normalised 5-tuple: the endpoint with the smaller (addr, port) is "a",
 * so both directions of a flow find the same entry.  ICMP queries (echo,
 * timestamp, ...) use the identifier as both ports, the request type in
 * icmp_type and which side asked in icmp_flags, so that the peer's own
 * requests with the same identifier are not taken for replies; other ICMP
 * types are not tracked.
 */
struct netseg_ct_key {
	__u8 a_addr[16];
	__u8 b_addr[16];
	__be16 a_port;
	__be16 b_port;
	__u8 proto;
	__u8 family;
	__u8 icmp_type;	 /* ICMP queries: the request type, else 0 */
	__u8 icmp_flags; /* NETSEG_CTK_REQ_IS_B, else 0 */
};

/* The ICMP query's requester is the key's "b" side. */
#define NETSEG_CTK_REQ_IS_B 1

enum netseg_tcp_state {
	NETSEG_TCP_NONE = 0, /* not TCP */
	NETSEG_TCP_SYN_SENT,
	NETSEG_TCP_ESTABLISHED,
	NETSEG_TCP_CLOSING, /* FIN or RST seen */
	/*
	 * Met without its SYN and with no entry (evicted, expired, flushed,
	 * or never a connection at all: a lone ACK), until the first packet
	 * the other way confirms it.  Short-lived like SYN_SENT, so a pod
	 * can't fill the table with long-lived entries from lone segments.
	 */
	NETSEG_TCP_MIDSTREAM,
};

enum netseg_ct_flags {
	NETSEG_CTF_ORIG_IS_B = 1 << 0, /* originator is key's "b" side */
	NETSEG_CTF_SEEN_REPLY = 1 << 1,
	NETSEG_CTF_LOG = 1 << 2,
};

/* Tags an interface in netseg_ct_entry.cover (cgroup ids never have it). */
#define NETSEG_CT_POINT_IF (1ULL << 63)

enum netseg_ct_dir {
	NETSEG_DIR_ORIG = 0, /* originator -> responder */
	NETSEG_DIR_REPLY = 1,
};

struct netseg_ct_entry {
	__u64 created_ns; /* bpf_ktime_get_ns() */
	__u64 last_seen_ns;
	__u64 flow_id;	  /* stable id for start/end records */
	__u64 generation; /* policy generation the verdict was taken at */
	/*
	 * ifindex, or cgroup id for cgroup hooks, of the hook that created the
	 * entry: a flow between two local endpoints passes two hooks, and
	 * only the owner's moves the counters so nothing is counted twice.
	 */
	__u64 owner;
	/*
	 * Per side of the flow (enum netseg_ct_dir: the originator's, the
	 * responder's), the enforcement point that accepted the verdict for
	 * that side's endpoint at `generation`: the cgroup id of a cgroup hook,
	 * NETSEG_CT_POINT_IF | ifindex of an endpoint interface; 0 = none yet.
	 * A hook enforcing an endpoint passes on a hit only with its own point
	 * recorded here (bpf/classify.h: ct_covered()).
	 */
	__u64 cover[2];
	__u64 packets[2]; /* per enum netseg_ct_dir */
	__u64 bytes[2];
	__u32 src_id; /* originator's identity */
	__u32 dst_id;
	__u32 rule_id;
	__u32 ifindex;	   /* where the flow was first decided */
	__u8 verdict;	   /* enum netseg_verdict */
	__u8 reason;	   /* enum netseg_reason when verdict is DENY */
	__u8 tcp_state;	   /* enum netseg_tcp_state */
	__u8 flags;	   /* enum netseg_ct_flags */
	__u8 tcp_flags[2]; /* OR of TCP flags seen, per direction */
	__u8 hook;	   /* enum netseg_hook that created it */
	__u8 pad;
};

/*
 * XDP's cache of policy denies, per CPU and direct-mapped (a slot per
 * hash of the key; a new deny overwrites what was there): what XDP
 * decided for a packet with no conntrack entry, from this source to this
 * destination, protocol and policy port (any source port: the decision
 * doesn't depend on it, so a flood of new 5-tuples hits).  Consulted only
 * after conntrack missed, so no packet of a known flow (a reply of a flow
 * a pod started) ever meets it; used only at the generation it was
 * decided at (bpf/classify.h: deny_cache_hit()).
 */
#define NETSEG_DENY_CACHE_BITS 11 /* 2048 slots per CPU */

struct netseg_deny_val {
	__u8 saddr[16];
	__u8 daddr[16];
	__u64 generation; /* 0: empty */
	__u32 ifindex;
	__u32 src_id;
	__u32 dst_id;
	__u32 rule_id;
	__be16 policy_port;
	__u8 proto;
	__u8 family;
	__u8 reason;
	__u8 pad[3];
};

/*
 * XDP on an uplink that finds a packet's flow current in conntrack takes
 * the uplink's TC ingress decision itself (counts, accounting) and says
 * so in the packet's metadata, so TC ingress on the same interface skips
 * its second lookup (bpf/classify.h: xdp_decided()).  Only XDP writes skb
 * metadata; the generation binds it to the policy it was taken under.
 */
#define NETSEG_XDP_META_MAGIC 0x6e734d31 /* "nsM1" */

struct netseg_xdp_meta {
	__u32 magic;
	__u32 ifindex;
	__u64 generation;
};

/*
 * How long an idle entry lives, by TCP state: the datapath treats an
 * expired entry as a new flow and the daemon's GC removes it, both by this.
 */
static inline __u64 netseg_ct_timeout(const struct netseg_ct_entry *e)
{
	switch (e->tcp_state) {
	case NETSEG_TCP_SYN_SENT:
	case NETSEG_TCP_MIDSTREAM:
		return NETSEG_CT_SYN_TIMEOUT;
	case NETSEG_TCP_ESTABLISHED:
		return NETSEG_CT_TCP_TIMEOUT;
	case NETSEG_TCP_CLOSING:
		return NETSEG_CT_CLOSE_TIMEOUT;
	default:
		return NETSEG_CT_ANY_TIMEOUT;
	}
}

/*
 * Expired: idle past its timeout.  The one test for the datapath and the
 * daemon's GC.  last_seen_ns may be ahead of `now`: another CPU stamped a
 * later packet of the flow after this one read the clock; that entry is
 * fresh (the unsigned difference would wrap to "expired").
 */
static inline int netseg_ct_expired(const struct netseg_ct_entry *e, __u64 now)
{
	return now > e->last_seen_ns && now - e->last_seen_ns > netseg_ct_timeout(e);
}

/* ------------------------------------------------------------ fragments */

struct netseg_frag_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 id; /* IPv4 id or IPv6 fragment identification */
	__u8 proto;
	__u8 family;
	__u16 pad;
};

struct netseg_frag_val {
	__u64 first_ns; /* when the first fragment claimed the id */
	__be16 sport;
	__be16 dport;
	__be16 policy_port;
	__u8 tracked;
	__u8 pad;
};

/* ------------------------------------------------- drop reasons, counters */

enum netseg_reason {
	NETSEG_REASON_NONE = 0,
	NETSEG_REASON_POLICY,	     /* a deny rule matched */
	NETSEG_REASON_DEFAULT_DENY,  /* endpoint traffic no rule allowed */
	NETSEG_REASON_MALFORMED,     /* truncated or inconsistent headers */
	NETSEG_REASON_IMPOSSIBLE,    /* e.g. TCP SYN+FIN, port 0, martian */
	NETSEG_REASON_SPOOFED,	     /* source IP not the endpoint's, or local on an uplink */
	NETSEG_REASON_FRAG_UNKNOWN,  /* non-first fragment, no first seen */
	NETSEG_REASON_PREFILTER,     /* source CIDR on the deny list */
	NETSEG_REASON_FRAG_CONFLICT, /* first fragment re-using a live id, other ports */
	NETSEG_REASON_MAX,
};

/* Counter slots: one per drop reason, then the pass and bookkeeping ones. */
enum netseg_stat {
	NETSEG_STAT_PASS = NETSEG_REASON_NONE,
	/* 1 .. NETSEG_REASON_MAX-1: drops by reason (see NETSEG_STAT_DROP_IN) */
	NETSEG_STAT_CT_NEW = NETSEG_REASON_MAX, /* flows created */
	NETSEG_STAT_CT_HIT,			/* decided from conntrack */
	NETSEG_STAT_CT_REDECIDE,		/* stale generation re-decided */
	NETSEG_STAT_CT_FAIL,			/* conntrack insert failed */
	NETSEG_STAT_AUDIT,			/* would-deny passed */
	NETSEG_STAT_PASS_NON_IP,		/* ARP, ND and friends */
	NETSEG_STAT_EV_SENT,			/* events written */
	NETSEG_STAT_EV_LOST_RING,		/* ring buffer full */
	NETSEG_STAT_EV_LOST_RATE,		/* deny token bucket empty */
	NETSEG_STAT_XDP_PASS,			/* XDP let through to TC */
	NETSEG_STAT_FRAG_FAIL,			/* fragment map insert failed */
	/*
	 * TCP flows met without their SYN and with no entry: the entry was
	 * evicted (table full: LRU), timed out or flushed, so it is decided again
	 * by policy as if new.  The visible trace of conntrack evictions.
	 */
	NETSEG_STAT_CT_MIDSTREAM,
	/*
	 * A new flow replaced an expired entry or a closed TCP flow under the
	 * same tuple: created (ct-new) but the table didn't grow, which the
	 * daemon's eviction estimate must know.
	 */
	NETSEG_STAT_CT_REPLACED,
	NETSEG_STAT_EV_LOST_SEEN, /* unlogged flow start: its bucket empty */
	NETSEG_STAT_DENY_CACHED,  /* XDP drops decided from its deny cache */
	NETSEG_STAT_MAX,
};

/*
 * The datapath counts a drop once, by reason and direction, in slots past
 * the named ones: NETSEG_STAT_DROP_IN + reason (towards the endpoint the
 * hook guards, or the node on an uplink) or NETSEG_STAT_DROP_OUT + reason,
 * the direction flow records give.  A reason's own slot (1 ..
 * NETSEG_REASON_MAX-1) is their sum, made as userspace reads the counters
 * (lib/datapath.c).
 */
#define NETSEG_STAT_DROP_IN NETSEG_STAT_MAX
#define NETSEG_STAT_DROP_OUT (NETSEG_STAT_DROP_IN + NETSEG_REASON_MAX)
#define NETSEG_COUNTER_SLOTS (NETSEG_STAT_DROP_OUT + NETSEG_REASON_MAX)

struct netseg_counter {
	__u64 packets;
	__u64 bytes;
};

/* Per-interface counters (PERCPU_ARRAY indexed by ifindex). */
struct netseg_if_stats {
	__u64 pass_packets;
	__u64 drop_packets;
	__u64 drop_bytes;
	__u64 xdp_drop_packets;
};

/* --------------------------------------------------------------- config */

/* Runtime settings, one element of an ARRAY: changed without a reload. */
struct netseg_config {
	__u64 generation;   /* bumped after every policy/identity change */
	__u32 deny_rate;    /* deny events per second per CPU, 0 = none */
	__u32 deny_burst;   /* bucket depth */
	__u32 flags;	    /* enum netseg_config_flags */
	__u32 policy_flags; /* enum netseg_policy_flags of the map in force */
};

/*
 * Which ns_policy slot enforces and which wildcard lookups its map can
 * answer (the datapath skips the others: each is an LPM lookup per new
 * flow).  One word, read once per packet and written with one store, so
 * the flags always describe the map the packet looks up in.
 */
enum netseg_policy_flags {
	NETSEG_POL_ANY_SRC = 1 << 0, /* entries (dst, ANY) */
	NETSEG_POL_ANY_DST = 1 << 1, /* entries (ANY, src) */
	NETSEG_POL_ANY_ANY = 1 << 2, /* entries (ANY, ANY) */
	NETSEG_POL_SLOT1 = 1u << 31, /* ns_policy[1] enforces, else [0] */
};

enum netseg_config_flags {
	/* Flow-start events for every allowed flow, not only --log rules. */
	NETSEG_CFG_LOG_ALLOWED = 1 << 0,
	/*
	 * The ipcache holds a local entry (an endpoint interface's, or with
	 * the host identity) wider than one address: anti-spoofing on an
	 * uplink must ask the trie, not only the host hash.  lib/datapath.c
	 * keeps it (set before such an entry is written, recounted at open);
	 * netseg_dp_config_set_events() leaves it alone.
	 */
	NETSEG_CFG_LOCAL_CIDR = 1 << 1,
};

/* Token buckets (ns_buckets slots), per CPU. */
enum netseg_bucket_slot {
	NETSEG_BUCKET_DENY = 0, /* deny events: deny_rate, deny_burst */
	NETSEG_BUCKET_SEEN,	/* NETSEG_EV_FLOW_SEEN: NETSEG_SEEN_RATE */
	NETSEG_BUCKET_MAX,
};

struct netseg_bucket {
	__u64 tokens; /* scaled by NETSEG_NSEC */
	__u64 last_ns;
};

/* --------------------------------------------------------------- events */

enum netseg_event_type {
	NETSEG_EV_FLOW_START = 1, /* new flow allowed */
	NETSEG_EV_DENY = 2,	  /* packet dropped */
	NETSEG_EV_AUDIT = 3,	  /* would-deny passed */
	/*
	 * New flow allowed by a rule that doesn't log it: for the daemon's
	 * history (`netsegctl observe`), never for flow-log sinks.
	 */
	NETSEG_EV_FLOW_SEEN = 4,
};

/* Where a decision was taken. */
enum netseg_hook {
	NETSEG_HOOK_XDP = 1,
	NETSEG_HOOK_TC_INGRESS, /* packet arriving on the interface */
	NETSEG_HOOK_TC_EGRESS,	/* packet leaving on the interface */
	NETSEG_HOOK_CG_INGRESS, /* delivered to a cgroup's socket */
	NETSEG_HOOK_CG_EGRESS,	/* sent by a cgroup's socket */
};

struct netseg_event {
	__u64 ts_ns;   /* bpf_ktime_get_ns() */
	__u64 flow_id; /* 0 for drops of untracked packets */
	__u8 type;     /* enum netseg_event_type */
	__u8 reason;   /* enum netseg_reason */
	__u8 hook;     /* enum netseg_hook */
	__u8 family;   /* NETSEG_AF_* */
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u32 ifindex;
	__u32 rule_id; /* 0 = default */
	__u32 src_id;  /* identity of the packet's source (packet order, */
	__u32 dst_id;  /* also for replies of a tracked flow) */
	__u32 pkt_len;
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u32 pad;
};

/* ------------------------------------------------------------- map names */

/* Pinned under the bpffs dir by these names (lib/ derives the paths). */
#define NETSEG_MAP_POLICY "ns_policy"
#define NETSEG_MAP_CONFIG "ns_config"
#define NETSEG_MAP_CT "ns_ct"
#define NETSEG_MAP_IPCACHE "ns_ipcache"
#define NETSEG_MAP_IPCACHE_HOST "ns_ipcache_host"
#define NETSEG_MAP_ENDPOINTS "ns_endpoints"
#define NETSEG_MAP_CGROUPS "ns_cgroups"
#define NETSEG_MAP_IDENTITIES "ns_identities"
#define NETSEG_MAP_FRAGS "ns_frags"
#define NETSEG_MAP_PREFILTER "ns_prefilter"
#define NETSEG_MAP_COUNTERS "ns_counters"
#define NETSEG_MAP_RULE_STATS "ns_rule_stats"
#define NETSEG_MAP_IF_STATS "ns_if_stats"
#define NETSEG_MAP_BUCKETS "ns_buckets"
#define NETSEG_MAP_EVENTS "ns_events"
#define NETSEG_MAP_DENY_CACHE "ns_deny_cache"

#endif /* NETSEG_ABI_H */
