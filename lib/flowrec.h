/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Flow records for the SIEM (docs/flow-records.md): the record model
 * (flowrec.c), its formatters (flowfmt.c: native JSON, OCSF, ECS, CEF and
 * the Community ID), the tamper-evident hash chain for log files
 * (flowchain.c) and RFC 5424 / RFC 6587 syslog framing (syslog.c).
 *
 * Pure library: no sockets, no files except where a function says it
 * reads one (netseg_chain_resume, netseg_chain_verify).  Every function
 * returns 0 (or a length) or -errno.
 *
 * Native JSON lines (netseg_flowfmt_json), one object per record; members
 * absent when they don't apply (no port for ICMP, no counters but on end
 * records, no identity name when the daemon has none):
 *
 *   time         string  RFC 3339 UTC with nanoseconds
 *   time_ns      number  ns since the epoch (exceeds 2^53: read it as u64)
 *   verdict      string  allowed | denied | audit | end | lost
 *   flow_id      string  16 hex digits, same in start/deny/audit and end
 *                        records of one flow (absent for untracked drops)
 *   reason       string  drop reason: policy, default-deny, malformed, ...
 *   rule         object  {id: number (0 = default deny), text: string,
 *                        comment: string}
 *   direction    string  inbound | outbound | lateral | local | transit:
 *                        the flow as seen from the node, the same on every
 *                        hook (enum netseg_node_dir); absent if unknown
 *   hook         string  xdp | tc-ingress | tc-egress | cgroup-ingress |
 *                        cgroup-egress
 *   interface    object  {name: string, index: number}
 *   node         string  node name
 *   family       string  ipv4 | ipv6
 *   proto        number  IANA protocol number
 *   proto_name   string  lowercase IANA keyword (tcp, udp, icmp, ipv6-icmp)
 *   src, dst     object  {identity: string, identity_id: number,
 *                        ip: string, port: number}
 *   icmp         object  {type: number, code: number}
 *   tcp_flags    array   of "fin" "syn" "rst" "psh" "ack" "urg" "ece"
 *                        "cwr" seen (end records: originator's direction)
 *   tcp_flags_reply array the responder's, end records only
 *   packet_len   number  bytes of the packet that made the event
 *   community_id string  Community ID v1
 *   start, start_ns, duration_ns  end records: when the flow started
 *   flow_verdict string  end records: allowed | audit | denied (cut by a
 *                        policy change)
 *   packets_out, bytes_out  end records: originator -> responder
 *   packets_in, bytes_in    end records: responder -> originator
 *   lost         object  lost records: {ring, rate, queue, total} numbers,
 *                        and send (number), send_error (string: "connection
 *                        refused") when a sink failed to send records
 *   message      string  one line of text for humans
 */
#ifndef NETSEG_FLOWREC_H
#define NETSEG_FLOWREC_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include <netseg/abi.h>

#include "hook.h"

/* ------------------------------------------------------------ the record */

#define NETSEG_FLOWREC_NAME_MAX 64     /* identity and interface names */
#define NETSEG_FLOWREC_NODE_MAX 256    /* node name (a hostname is <= 253) */
#define NETSEG_FLOWREC_RULE_MAX 1024   /* canonical rule text (64 port specs) */
#define NETSEG_FLOWREC_COMMENT_MAX 512 /* rule comment after UTF-8 repair */
#define NETSEG_FLOWREC_REASON_MAX 24
#define NETSEG_FLOWREC_ADDR_MAX 46 /* INET6_ADDRSTRLEN */

enum netseg_flowrec_kind {
	NETSEG_FLOW_ALLOWED = 1, /* flow start, allowed */
	NETSEG_FLOW_DENIED,	 /* packet dropped */
	NETSEG_FLOW_AUDIT,	 /* would have been denied, passed */
	NETSEG_FLOW_END,	 /* flow gone from conntrack, counters */
	NETSEG_FLOW_LOST,	 /* in-band report of records lost */
};

enum netseg_flow_dir {
	NETSEG_FLOW_DIR_UNKNOWN = 0,
	NETSEG_FLOW_DIR_INGRESS, /* towards the local endpoint */
	NETSEG_FLOW_DIR_EGRESS,	 /* from the local endpoint */
};

/*
 * Where a flow goes as seen from the node, the same whichever hook logged
 * it (the source's egress hook or the destination's ingress hook see the
 * same addresses and identities).  Inside the node's trust boundary: the
 * host (id 1) and endpoint identities, local or on other nodes (user ids
 * below NETSEG_ID_CIDR_MIN).  Outside: world (id 2) and the identities the
 * daemon makes for CIDRs in rules (a CIDR is not an endpoint).
 *
 *   endpoint/host -> endpoint/host   lateral (host -> host: local)
 *   outside -> endpoint/host         inbound
 *   endpoint/host -> outside         outbound
 *   outside -> outside               transit (forwarded through the node)
 *
 * An unknown identity (0: dropped before identities were looked up) leaves
 * the direction unknown, except at XDP, which only runs on uplinks: its
 * packets come from outside, for the node.  The values are OCSF's
 * connection_info.direction_id (transit: 99 Other).
 */
enum netseg_node_dir {
	NETSEG_NODE_DIR_UNKNOWN = 0,
	NETSEG_NODE_DIR_INBOUND = 1,
	NETSEG_NODE_DIR_OUTBOUND = 2,
	NETSEG_NODE_DIR_LATERAL = 3,
	NETSEG_NODE_DIR_LOCAL = 4,
	NETSEG_NODE_DIR_TRANSIT = 99,
};

/* What an interface is to the datapath; decides what a TC hook means. */
enum netseg_ifkind {
	NETSEG_IFK_ENDPOINT = 0, /* host side of a pod veth */
	NETSEG_IFK_UPLINK = 1,	 /* the node's own uplink */
};

struct netseg_flowrec {
	__u8 kind;	   /* enum netseg_flowrec_kind */
	__u8 dir;	   /* enum netseg_flow_dir: which side the interface is */
	__u8 node_dir;	   /* enum netseg_node_dir: what the flow is to the node */
	__u8 hook;	   /* enum netseg_hook, 0 = unknown */
	__u8 family;	   /* NETSEG_AF_INET, NETSEG_AF_INET6, 0 = none */
	__u8 proto;	   /* IANA protocol number */
	__u8 flow_verdict; /* end records: enum netseg_verdict of the flow */
	__u8 reason_code;  /* enum netseg_reason; its name is in reason[] */
	bool has_ports;	   /* TCP, UDP, SCTP */
	bool has_icmp;	   /* ICMP or ICMPv6 with type/code */
	bool has_rule;	   /* a rule (or the default deny) decided */
	/*
	 * An allowed flow's start no rule logs (NETSEG_EV_FLOW_SEEN): the
	 * daemon's history keeps it for `observe`, flow-log sinks don't get it.
	 */
	bool history_only;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 tcp_flags[2];  /* OR of flags: [0] originator/packet, [1] reply */
	__u16 sport, dport; /* host order */
	__u32 rule_id;	    /* 0 = default */
	__u32 ifindex;
	__u32 src_id, dst_id; /* identities, 0 = unknown */
	__u32 pkt_len;	      /* event records */
	__u64 time_ns;	      /* realtime, ns since the epoch */
	__u64 flow_id;	      /* 0 = untracked */
	__u8 saddr_raw[16];   /* network order; v4 in the first 4 bytes */
	__u8 daddr_raw[16];
	/* end records */
	__u64 start_ns; /* realtime */
	__u64 duration_ns;
	__u64 packets[2]; /* [0] originator -> responder, [1] back */
	__u64 bytes[2];
	/* lost records */
	__u64 lost_ring;     /* ring buffer full */
	__u64 lost_rate;     /* deny token bucket empty */
	__u64 lost_queue;    /* a sink's queue full */
	__u64 lost_send;     /* a sink's send or write failed */
	int lost_send_errno; /* why the last of those failed */
	/* text: valid UTF-8, NUL-terminated, possibly empty */
	char reason[NETSEG_FLOWREC_REASON_MAX];
	char saddr[NETSEG_FLOWREC_ADDR_MAX];
	char daddr[NETSEG_FLOWREC_ADDR_MAX];
	char src_name[NETSEG_FLOWREC_NAME_MAX];
	char dst_name[NETSEG_FLOWREC_NAME_MAX];
	char ifname[NETSEG_FLOWREC_NAME_MAX];
	char node[NETSEG_FLOWREC_NODE_MAX];
	char rule[NETSEG_FLOWREC_RULE_MAX];
	char comment[NETSEG_FLOWREC_COMMENT_MAX];
};

/*
 * How the record builders turn numbers into names.  Every callback is
 * optional; each writes a NUL-terminated name into @buf and returns 0
 * (iface: an enum netseg_ifkind), or -ENOENT.  Names may be any bytes:
 * they are repaired to valid UTF-8 and truncated to fit the record.
 */
struct netseg_flow_names {
	void *ctx;
	int (*identity)(void *ctx, __u32 id, char *buf, size_t len);
	int (*iface)(void *ctx, __u32 ifindex, char *buf, size_t len);
	/* Canonical rule line and its comment (either may be left empty). */
	int (*rule)(void *ctx, __u32 rule_id, char *text, size_t tlen, char *comment, size_t clen);
	const char *node; /* NULL = none */
};

/* CLOCK_REALTIME - CLOCK_MONOTONIC now: add it to bpf_ktime_get_ns() values. */
__s64 netseg_realtime_offset_ns(void);

/*
 * A ring-buffer event as a record.  Addresses are the packet's; a hook
 * and the interface kind give the direction (TC ingress on a pod's veth
 * is that pod's egress).  0, or -EINVAL for an unknown event type.
 */
int netseg_flowrec_from_event(const struct netseg_event *ev, __s64 realtime_offset_ns,
			      const struct netseg_flow_names *names, struct netseg_flowrec *rec);

/*
 * An end record from a conntrack entry about to be removed: the
 * originator is put back on the src side (NETSEG_CTF_ORIG_IS_B), time is
 * the last packet seen, duration from creation to then.  0 or -EINVAL.
 */
int netseg_flowrec_from_ct(const struct netseg_ct_key *key, const struct netseg_ct_entry *e,
			   __s64 realtime_offset_ns, const struct netseg_flow_names *names,
			   struct netseg_flowrec *rec);

/* An in-band loss report: records lost since the previous report (set
 * lost_send and lost_send_errno afterwards for sinks' send failures). */
void netseg_flowrec_lost(struct netseg_flowrec *rec, __u64 time_ns, __u64 ring, __u64 rate,
			 __u64 queue, const char *node);

/* The direction of a flow from @src_id to @dst_id, seen by @hook (enum netseg_node_dir). */
int netseg_flow_node_dir(__u32 src_id, __u32 dst_id, int hook);
/* "inbound", "outbound", "lateral", "local", "transit"; NULL for unknown. */
const char *netseg_node_dir_name(int node_dir);

/* "allowed", "denied", "audit", "end", "lost"; NULL for anything else. */
const char *netseg_flowrec_kind_name(int kind);
/* netseg_hook_name(), the "hook" field's names, is in hook.h. */
/* Lowercase IANA keyword ("tcp", "ipv6-icmp"), NULL if not one we name. */
const char *netseg_flow_proto_name(int proto);

/*
 * Copy @len bytes of @src into @dst (@size bytes, NUL-terminated) as
 * valid UTF-8: invalid or overlong sequences, surrogates and NUL become
 * U+FFFD; a character that doesn't fit whole is dropped.  Returns the
 * bytes written (without the NUL).  @size must be > 0.
 */
size_t netseg_utf8_copy(char *dst, size_t size, const char *src, size_t len);

#define NETSEG_RFC3339_MAX 40
/*
 * @ns (realtime) as RFC 3339 UTC, uppercase T and Z, @digits (0-9) of
 * fraction: "2026-07-23T10:00:15.123Z" for 3.  Length or -EINVAL/-ENOSPC.
 */
int netseg_rfc3339(char *buf, size_t len, __u64 ns, int digits);

/* ------------------------------------------------------------ formatters */

enum netseg_flowfmt {
	NETSEG_FMT_JSON = 0, /* native JSON lines (above) */
	NETSEG_FMT_OCSF,     /* OCSF 1.8.0 Network Activity (4001) */
	NETSEG_FMT_ECS,	     /* ECS 9.4.0 */
	NETSEG_FMT_CEF,	     /* ArcSight CEF:0 */
};

/*
 * Every record fits in this many bytes in every format (tested with every
 * text field full of control characters, which JSON writes as \u00XX).
 */
#define NETSEG_FLOWFMT_MAX 32768

#define NETSEG_OCSF_VERSION "1.8.0"
#define NETSEG_ECS_VERSION "9.4.0"

struct netseg_flowfmt_opts {
	const char *vendor;  /* NULL = "netseg" */
	const char *product; /* NULL = "netseg" */
	const char *version; /* product version; NULL = left out */
	const char *ruleset; /* ECS rule.ruleset; NULL = "netseg" */
	__u16 cid_seed;	     /* Community ID seed, normally 0 */
};

/*
 * Each writes one line, no newline, NUL-terminated, into @buf and returns
 * its length; -ENOSPC if @len is too small (NETSEG_FLOWFMT_MAX always
 * suffices), -ENOMEM, -EINVAL for a record of no known kind.  @o may be
 * NULL for the defaults.
 */
int netseg_flowfmt_json(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
			char *buf, size_t len);
int netseg_flowfmt_ocsf(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
			char *buf, size_t len);
int netseg_flowfmt_ecs(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
		       char *buf, size_t len);
int netseg_flowfmt_cef(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
		       char *buf, size_t len);
/* Dispatch on @fmt (enum netseg_flowfmt). */
int netseg_flowfmt(int fmt, const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
		   char *buf, size_t len);
/* What a shortened free-text field ends with ("…[truncated]"). */
#define NETSEG_FLOWFMT_TRUNCATED "\xe2\x80\xa6[truncated]"

/*
 * netseg_flowfmt() in at most @max bytes, for a sink with a size limit (a
 * UDP datagram): a longer line is never cut, the free text is shortened
 * instead, the rule comment first, then the rule text, each ending in
 * NETSEG_FLOWFMT_TRUNCATED.  Returns the length, *@truncated saying
 * whether text was shortened; -EMSGSIZE if the record doesn't fit even
 * with both down to the marker; the errors of netseg_flowfmt().
 */
int netseg_flowfmt_fit(int fmt, const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o,
		       size_t max, char *buf, size_t len, bool *truncated);

/* "json" (also "native"), "ocsf", "ecs", "cef" -> enum; -EINVAL otherwise. */
int netseg_flowfmt_parse(const char *name);
const char *netseg_flowfmt_name(int fmt);

/* ---------------------------------------------------------- Community ID */

/* "1:" + 28 base64 characters + NUL */
#define NETSEG_COMMUNITY_ID_LEN 31

/*
 * Community ID v1 (corelight/community-id-spec) of a flow.  @family is
 * NETSEG_AF_INET or NETSEG_AF_INET6, addresses in network order, ports in
 * host order.  For ICMP (1) and ICMPv6 (58) pass the type as @sport and
 * the code as @dport: request/reply types are paired so both directions
 * get one id, other types are hashed one-way.  Protocols other than TCP,
 * UDP, SCTP and the ICMPs are hashed without ports.  0 or -EINVAL/-EIO.
 */
int netseg_community_id(int family, const void *saddr, const void *daddr, __u16 sport, __u16 dport,
			__u8 proto, __u16 seed, char out[NETSEG_COMMUNITY_ID_LEN]);

/* The record's Community ID; -ENOENT for records without addresses. */
int netseg_flowrec_community_id(const struct netseg_flowrec *r, __u16 seed,
				char out[NETSEG_COMMUNITY_ID_LEN]);

/* ------------------------------------------------------------ hash chain */

/*
 * Tamper-evident log files.  Every line carries
 *
 *   hash = SHA-256(prev || record)        (hex, lowercase)
 *
 * where prev is the 32-byte digest of the line before (the genesis value
 * for the first line of a chain) and record is the line exactly as the
 * formatter wrote it, without the chain member below.  seq counts lines
 * from 0 at the genesis.
 *
 * JSON lines (native, OCSF, ECS: anything starting with '{') get a
 * "chain" member, so every line is still one JSON object:
 *
 *   {...record...,"chain":{"seq":N,"prev":"<64 hex>","hash":"<64 hex>"}}
 *
 * A schema that allows no top-level member of ours gets it as the last
 * member of the record's last object instead (netseg_chain_line_in):
 * OCSF's "unmapped", ECS's "netseg" (netseg_flowfmt_chain_member()):
 *
 *   {...record...,"unmapped":{...,"chain":{"seq":N,...}}}
 *
 * The verifier takes both, so files written before either still verify.
 *
 * Any other line (CEF) gets the suffix ` cs6Label=chain cs6=N:<prev>:<hash>`
 * (CEF escapes '=' in values, so no value can forge it; our CEF never
 * uses cs6 otherwise).
 *
 * The genesis is recorded as the first line's prev.  Rotation needs
 * nothing more: the first line of a new file names the last digest of the
 * previous one in its prev.  Keyless: whoever can rewrite every line after
 * an edit can recompute the chain, so ship the head digest elsewhere too
 * (the syslog sink) to make edits of the tail evident.
 */
#define NETSEG_CHAIN_DIGEST 32
#define NETSEG_CHAIN_HEX (2 * NETSEG_CHAIN_DIGEST + 1)
#define NETSEG_CHAIN_OVERHEAD 192 /* bytes a line grows by, at most */
#define NETSEG_CHAIN_LINE_MAX (NETSEG_FLOWFMT_MAX + NETSEG_CHAIN_OVERHEAD)

struct netseg_chain {
	__u64 seq;				 /* seq of the next line */
	unsigned char prev[NETSEG_CHAIN_DIGEST]; /* what it chains from */
};

/* Start a chain from @genesis; NULL = 32 random bytes.  0 or -EIO. */
int netseg_chain_init(struct netseg_chain *c, const unsigned char *genesis);

/*
 * Chain one formatted record (@len bytes, no newline) into @out: returns
 * the line's length (no newline written) and advances @c, or -ENOSPC,
 * -EINVAL (an empty record, a newline inside, a JSON record that isn't
 * an object), -ENOMEM, -EIO.
 */
int netseg_chain_line(struct netseg_chain *c, const char *rec, size_t len, char *out,
		      size_t outlen);

/*
 * The same with the chain member inside the record's last top-level
 * member, which must be a non-empty object named @within (NULL = at the
 * top level, as netseg_chain_line); -EINVAL if it isn't.
 */
int netseg_chain_line_in(struct netseg_chain *c, const char *within, const char *rec, size_t len,
			 char *out, size_t outlen);

/* Where a chained line of format @fmt carries its chain: "unmapped" for
 * OCSF, "netseg" for ECS, NULL (top level, or CEF's cs6) for the others. */
const char *netseg_flowfmt_chain_member(int fmt);

/*
 * Continue the chain of an existing file: @c follows its last line.
 * 0; -ENODATA for an empty file; -EBADMSG if the last line isn't a
 * chained record; -errno from open/read.
 */
int netseg_chain_resume(struct netseg_chain *c, const char *path);

enum netseg_chain_status {
	NETSEG_CHAIN_OK = 0,
	NETSEG_CHAIN_CHANGED,	/* a record edited, or not a chained record */
	NETSEG_CHAIN_REMOVED,	/* records missing before this one */
	NETSEG_CHAIN_REORDERED, /* a record out of its place */
};

struct netseg_chain_report {
	int status; /* enum netseg_chain_status */
	/* the first bad record (status != OK) */
	size_t file; /* index into paths[] */
	const char *path;
	__u64 line; /* 1-based */
	char detail[256];
	/* what was checked */
	__u64 records;			/* good records before the first bad one */
	__u64 first_seq;		/* seq of the first record */
	__u64 last_seq;			/* of the last good record */
	bool from_genesis;		/* first_seq is 0: nothing before it is missing */
	char genesis[NETSEG_CHAIN_HEX]; /* when from_genesis */
	char last_hash[NETSEG_CHAIN_HEX];
};

/*
 * Verify @n files, oldest first, as one chain.  Returns 0 with the result
 * in @r (status OK, or the first record changed, removed or reordered, by
 * file and line), or -errno when a file can't be read (@r->path says
 * which).  Records deleted from the very end can't be seen: compare
 * last_hash with a copy kept elsewhere.
 */
int netseg_chain_verify(const char *const paths[], size_t n, struct netseg_chain_report *r);

const char *netseg_chain_status_name(int status);

/* -------------------------------------------------------------- syslog */

#define NETSEG_SYSLOG_HOSTNAME_MAX 255
#define NETSEG_SYSLOG_APPNAME_MAX 48
#define NETSEG_SYSLOG_PROCID_MAX 128
#define NETSEG_SYSLOG_MSGID_MAX 32
#define NETSEG_SYSLOG_SDNAME_MAX 32
/* RFC 3164's 1024 bytes are long gone; RFC 5424 receivers SHOULD take 2048. */
#define NETSEG_SYSLOG_UDP_MAX 2048

struct netseg_sd_param {
	const char *name;  /* sanitised to an SD-NAME */
	const char *value; /* UTF-8; '"' '\' ']' get escaped */
};

struct netseg_sd_element {
	const char *id; /* e.g. "flow@32473" (private: name@PEN) */
	const struct netseg_sd_param *params;
	size_t nparams;
};

struct netseg_syslog_hdr {
	int facility;	      /* 0-23: 16 = local0 */
	int severity;	      /* 0-7: 6 = informational */
	__u64 time_ns;	      /* realtime; 0 = NILVALUE */
	const char *hostname; /* NULL or "" = NILVALUE; others likewise */
	const char *app;
	const char *procid;
	const char *msgid;
	const struct netseg_sd_element *sd;
	size_t nsd;
};

enum netseg_syslog_flags {
	/* Cut MSG (at a character boundary) to fit @len, as UDP may. */
	NETSEG_SYSLOG_TRUNCATE = 1 << 0,
};

/*
 * One RFC 5424 message into @buf: PRI VERSION TIMESTAMP HOSTNAME APP-NAME
 * PROCID MSGID STRUCTURED-DATA [SP BOM MSG].  Header fields are cut to
 * their limits and anything but printable US-ASCII becomes '_'.  MSG
 * (@msg NULL = none) is repaired to UTF-8.  Returns the length (no
 * newline; NUL-terminated), or -EINVAL (facility, severity), -EMSGSIZE
 * (doesn't fit and no NETSEG_SYSLOG_TRUNCATE, or the header alone
 * doesn't fit).
 */
int netseg_syslog_format(char *buf, size_t len, const struct netseg_syslog_hdr *h, const char *msg,
			 size_t msglen, int flags);

/* RFC 6587 octet counting for TCP/TLS: "MSG-LEN SP MSG".  Length or -EMSGSIZE. */
int netseg_syslog_octet_count(char *buf, size_t len, const char *msg, size_t msglen);

/* Just the "MSG-LEN SP" prefix, for writev(); buf of 24 bytes suffices. */
int netseg_syslog_octet_prefix(char *buf, size_t len, size_t msglen);

#endif /* NETSEG_FLOWREC_H */
