/* SPDX-License-Identifier: GPL-2.0-only */
/* netsegd: one thread, one epoll loop (docs/architecture.md, "The daemon"). */
#ifndef NETSEGD_H
#define NETSEGD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/types.h>

#include "compile.h"
#include "datapath.h"
#include "identity.h"
#include "iptable.h"
#include "k8s.h"
#include "k8s_compile.h"
#include "rule.h"

struct cJSON;
struct ring_buffer;
struct netsegd_flowlog;
struct netsegd_metrics;

#define NETSEGD_MAX_CLIENTS 256
/*
 * Control connections one uid other than root may hold, and how many of
 * NETSEGD_MAX_CLIENTS root and the other users each can't take from the
 * other side.  So no uid fills the table for the rest, members of
 * socket_group together can't shut root out, and root (scripts running 100
 * netsegctl at once) can't shut them out either.
 */
#define NETSEGD_MAX_CLIENTS_PER_UID 64
#define NETSEGD_CLIENTS_KEPT 64
#define NETSEGD_CTL_IDLE_TIMEOUT 30 /* s a client may take to send its next request */
#define NETSEGD_MAX_UPLINKS 16
/* In the state dir (state.json and the journal of rule changes since it);
 * written by state.c, forgotten by --cleanup --purge-state. */
#define NETSEGD_STATE_FILE "state.json"
#define NETSEGD_JOURNAL_FILE "state.journal"
#define NETSEGD_NETLINK_RCVBUF (16 << 20) /* default rtnetlink buffer: a burst of ~16k events */
#define NETSEGD_LINK_BUCKETS 1024	  /* link table hash (chained: no hard limit) */
#define NETSEGD_ALIAS_MAX 256		  /* IFALIASZ */
/* An interface whose alias is this prefix + an identity name is its endpoint. */
#define NETSEGD_ALIAS_PREFIX "netseg:"

#define NETSEGD_MAX_SINKS 8 /* "flow_logs" entries */
#define NETSEGD_MAX_ETCD 8  /* "cluster": "etcd" endpoints */

enum netsegd_sink_kind {
	NETSEGD_SINK_FILE,
	NETSEGD_SINK_STDOUT,
	NETSEGD_SINK_UDP,
	NETSEGD_SINK_TCP,
};

/* One "flow_logs" sink as the config says it: checked by config.c, opened
 * by flowlog.c. */
struct netsegd_sink_conf {
	int kind;	       /* enum netsegd_sink_kind */
	int fmt;	       /* enum netseg_flowfmt */
	unsigned int verdicts; /* bit per enum netseg_flowrec_kind; 0 = all */
	char name[300];	       /* for messages and `stats` */
	/* file */
	char path[256];
	__u64 max_bytes;   /* rotate past this size */
	unsigned int keep; /* rotated files kept */
	bool chained;	   /* hash-chained records */
	/* syslog: a numeric address, resolved once */
	struct sockaddr_storage addr;
	socklen_t alen;
	int facility;
};

/* "metrics": {"listen": "ADDR:PORT"}, parsed by config.c, bound by metrics.c. */
struct netsegd_listen_conf {
	char text[64]; /* as written, "" = off */
	struct sockaddr_storage addr;
	socklen_t len;
};

/*
 * Records the in-memory history keeps for `netsegctl flows` ("flow_history"
 * in the config): each takes a struct netseg_flowrec (about 2.3 KiB) once
 * written, so the default holds about 9 MiB and a flood can't make it grow.
 */
#define NETSEGD_FLOW_HISTORY 4096
#define NETSEGD_FLOW_HISTORY_MIN 16
#define NETSEGD_FLOW_HISTORY_MAX (1U << 18)

struct netsegd_config {
	char path[256]; /* config file, "" = none */
	char pin_dir[200];
	char run_dir[200];
	char state_dir[200];
	char socket[240];
	char socket_group[64]; /* may use the control socket, besides root */
	char node_name[64];
	__u32 deny_rate; /* deny events/s per CPU */
	__u32 deny_burst;
	bool log_allowed;  /* flow-start events for every allowed flow */
	bool host_to_pods; /* the node may open connections to every pod (probes) */
	__u32 ct_max;
	__u32 prefilter_max;	    /* prefilter CIDRs; sizes the ns_prefilter map */
	__u32 max_entries;	    /* compiled policy entries ("max_rules") */
	__u32 netlink_rcvbuf;	    /* rtnetlink socket buffer, bytes: lost events past it */
	__u32 control_idle_timeout; /* s without a complete request: closed */
	unsigned int nuplinks;
	char uplinks[NETSEGD_MAX_UPLINKS][32];
	unsigned int nsinks;
	struct netsegd_sink_conf sinks[NETSEGD_MAX_SINKS]; /* "flow_logs" */
	__u32 flow_history;				   /* records kept for `netsegctl flows` */
	struct netsegd_cluster_conf {			   /* "cluster": off when n_etcd == 0 */
		char etcd[NETSEGD_MAX_ETCD][128];
		unsigned int n_etcd;
		char prefix[128];
		__u32 lease_ttl; /* s */
	} cluster;
	struct netsegd_listen_conf metrics; /* "metrics" */
};

struct netsegd_client {
	struct netsegd *d; /* its daemon, for the follower callbacks */
	int fd;
	__u32 uid;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	bool closing;	     /* close once out is flushed */
	bool denied;	     /* failed the SO_PEERCRED check */
	__u64 wait_since_ms; /* CLOCK_MONOTONIC: accepted, or its last request */
};

/* Control socket counters, for `stats`. */
struct netsegd_ctlstats {
	__u64 refused;	 /* connections over the per-uid or total cap */
	__u64 timed_out; /* closed after control_idle_timeout without a request */
	__u64 nul;	 /* requests refused for a NUL byte */
};

/* What an RTM_NEWLINK says about an interface. */
struct netsegd_link_info {
	__u32 ifindex;
	__u32 flags; /* IFF_* */
	const char *name;
	const char *alias; /* "" = none */
};

enum netsegd_link_attached {
	NETSEGD_TC_INGRESS = 1 << 0,
	NETSEGD_TC_EGRESS = 1 << 1,
};

/* An interface of this namespace, as rtnetlink last described it. */
struct netsegd_link {
	struct netsegd_link *next; /* hash chain */
	__u32 ifindex;
	__u32 flags; /* IFF_* */
	char name[16];
	char alias[NETSEGD_ALIAS_MAX];
	__u32 id;	    /* endpoint identity in force, 0 = none */
	__u8 attached;	    /* enum netsegd_link_attached */
	bool by_alias;	    /* selected by its alias, not a glob */
	bool alias_unknown; /* alias netseg:NAME, no identity NAME (said once) */
	bool retry;	    /* attaching failed: the timer tries again */
	bool stale;	    /* not in the running link dump (yet) */
	void *scratch;	    /* endpoint list: its IP array */
};

/* A cgroup an identity selects; cgid 0 while it doesn't exist. */
struct netsegd_cgroup {
	char path[NETSEG_PATH_MAX];
	__u32 id;
	__u64 cgid;
	bool attached;
	bool warned; /* said once that it doesn't exist */
};

struct netsegd_epstats {
	__u64 nl_msgs;		  /* rtnetlink messages handled */
	__u64 nl_bad;		  /* ... refused by validation */
	__u64 nl_overruns;	  /* ENOBUFS: the socket lost events */
	__u64 nl_dumps;		  /* full dumps completed */
	bool nl_synced;		  /* the first full dump is done */
	__u64 attaches, detaches; /* interface endpoints */
	__u64 cg_attaches, cg_detaches;
	__u64 ip_writes, ip_deletes; /* ipcache entries written, removed */
	__u64 ip_conflicts;	     /* an address claimed for two endpoints */
	__u64 routes_untrusted;	     /* routes out of endpoints ignored for their origin */
};

/*
 * Conntrack fill, from the GC walk.  The kernel's LRU evicts silently, so
 * evictions are inferred: flows created (ct-new) minus flows the GC removed
 * minus the entries there are now, since the first walk.  A stale entry the
 * datapath replaced before the GC saw it counts too: an estimate, exact
 * when the table is full and nothing expires.
 */
struct netsegd_ctstats {
	__u64 entries;	 /* at the last walk */
	__u64 max;	 /* the map's max_entries */
	__u64 removed;	 /* expired flows the GC deleted */
	__u64 evicted;	 /* estimate, see above */
	__s64 base;	 /* entries - ct-new at the first walk */
	bool primed;	 /* base is set */
	__u64 warned_ms; /* last "table is full" warning */
};

/* What an rtnetlink message does to a claim on a prefix. */
enum netsegd_ip_op {
	NETSEGD_IP_UNCLAIM,
	NETSEGD_IP_CLAIM,
	NETSEGD_IP_MOVE,   /* claim, and drop the same claim on other interfaces */
	NETSEGD_IP_FORGET, /* drop the same claim on every interface */
};

struct netsegd_rtnl;

/* Latency of the policy applies that took effect: a histogram that
 * policy.c fills and metrics.c serves. */
#define NETSEGD_APPLY_BUCKETS 12
extern const double netsegd_apply_buckets[NETSEGD_APPLY_BUCKETS]; /* upper bounds, s */
struct netsegd_apply_stats {
	__u64 count[NETSEGD_APPLY_BUCKETS]; /* cumulative per bucket */
	__u64 n;
	double sum;
};

struct netsegd_prefix {
	char cidr[64];
};

/*
 * A labelled workload: a pod the CNI plugin registered (cid set), or an
 * interface labelled by hand with `netsegctl endpoint label` (cid "").
 * Its identity is the one of its (namespace, labels), from the compiler.
 */
#define NETSEGD_CID_MAX 128
#define NETSEGD_POD_IPS 8
struct netsegd_pod {
	char cid[NETSEGD_CID_MAX]; /* container id; "" = labelled by hand */
	char ifname[16];	   /* inside the pod (CNI_IFNAME) */
	char iface[16];		   /* the host side, where TC runs */
	char netns[256];
	char ns[64];	/* Kubernetes namespace */
	char name[254]; /* pod name */
	struct netseg_labels labels;
	struct netseg_k8s_addr ips[NETSEGD_POD_IPS];
	unsigned int nips;
	__u32 ifindex; /* of iface when registered */
	__u32 id;      /* identity, set by each commit */
	/* Another node's pod, known from the cluster store (cluster.c): no
	 * interface here, its one address claimed with its identity. */
	char node[64];
	__u32 claimed; /* remote: the identity its address is claimed with */
};

/* What a Kubernetes change replaces: the objects and the pods in force. */
struct netsegd_k8s_set {
	struct netseg_k8s_objects objs;
	struct netsegd_pod **pods; /* pointers: a candidate shares the unchanged ones */
	size_t npods;
};

/* An identity the compiler asked for, by key ("pod:NS:LABELS", "cidr:P"). */
struct netsegd_k8s_idkey {
	char *key;
	__u32 id;
	bool in_force; /* the compile in force uses it */
	bool in_next;  /* the compile being committed uses it */
};

enum netsegd_cand_state {
	NETSEGD_CAND_NONE,
	NETSEGD_CAND_PENDING, /* compiled from, not in force */
	NETSEGD_CAND_IN,      /* swapped in: the candidate holds the old set */
	NETSEGD_CAND_UNDONE,  /* swapped back: the old set is in force again */
};

/* Pod and ipBlock identities: their own range, below CIDR identities. */
#define NETSEGD_K8S_ID_MIN (1U << 23)
#define NETSEGD_K8S_ID_MAX (NETSEG_ID_CIDR_MIN - 1)
/* Rules the compiler generates are numbered from here (native ids below). */
#define NETSEGD_K8S_RULE_MIN 0x80000000U

/*
 * The daemon: one of these, owned by main.c.  Fields are grouped by the
 * file that writes them; other files only read a group, or change it
 * through its owner's functions.
 */
struct netsegd {
	/* config.c parses, main.c applies flags; SIGHUP (loop.c) and
	 * attach/detach (cmd_uplink.c) change a few settings in place. */
	struct netsegd_config cfg;
	struct netsegd_config cfg_file; /* as the file said at start (no flags) */
	struct netseg_dp *dp;		/* main.c opens the datapath (lib/) */

	/* policy.c: what is in force, changed only through its commit path */
	struct netsegd_policy {
		struct netseg_idstore ids;
		struct netseg_ruleset rules;
		__u32 next_rule_id;
		__u64 revision;
		size_t entries; /* compiled entries in force */
		struct netsegd_apply_stats apply_stats;
		struct netsegd_prefix *prefilter; /* cfg.prefilter_max slots */
		size_t nprefilter;
	} pol;

	/* endpoints.c, fed by rtnl.c: interfaces, cgroups, learned IPs */
	struct netsegd_endpoints {
		struct netsegd_link **links; /* NETSEGD_LINK_BUCKETS chains */
		size_t nlinks;
		struct netseg_iptable ips; /* every ipcache claim, by prefix */
		struct netsegd_cgroup *cgs;
		size_t ncgs;
		bool gen_dirty;		      /* identity resolution changed (policy.c
						 * sets it too, on an identity removal) */
		struct netsegd_epstats stats; /* rtnl.c counts its messages here too */
	} eps;
	struct netsegd_rtnl *rtnl; /* rtnl.c: the rtnetlink socket */

	/* loop.c (epfd made by main.c; control.c and flowlog.c add their
	 * sockets to it) */
	struct netsegd_loop {
		int epfd, sigfd, timerfd;
		struct ring_buffer *rb;
		__u64 events_seen;
		unsigned int ring_batch; /* records read in this wakeup */
		time_t started;		 /* set by main.c */
		bool stop;
	} loop;

	/* control.c: the control socket and its clients */
	struct netsegd_control {
		int fd;
		unsigned int gid; /* socket_group's gid, -1 = none */
		struct netsegd_client *clients[NETSEGD_MAX_CLIENTS];
		struct netsegd_ctlstats stats;
	} ctl;

	/* k8s.c: NetworkPolicies, Namespaces, labelled pods and what the
	 * compiler made of them; changed only through netsegd_commit() */
	struct netsegd_k8s {
		struct netsegd_k8s_set set;   /* in force */
		struct netsegd_k8s_set *cand; /* during a commit: replaces set */
		enum netsegd_cand_state cand_state;
		struct netseg_k8s_compiled compiled; /* of the policy in force */
		struct netseg_k8s_compiled next;     /* a commit's, until it is in force */
		struct netsegd_k8s_idkey *keys;	     /* the allocator */
		size_t nkeys;
		__u32 next_id;
		bool pods_dirty; /* a pod's interface went away: recompile */
		/* After a pod change took effect (cluster.c publishes it). */
		void (*pods_committed)(struct netsegd *d);
	} k8s;

	struct netsegd_flowlog *fl;	 /* flowlog.c: flow logs, NULL = none */
	struct netsegd_metrics *metrics; /* metrics.c: Prometheus endpoint, NULL = off */
	struct netsegd_ctstats ct;	 /* ctgc.c: conntrack fill */

	/* state.c: the journal of rule changes since the last full save */
	struct netsegd_journal {
		bool open; /* fd appends to the epoch's journal */
		int fd;
		__u64 epoch;	/* the snapshot's "journal" field */
		size_t records; /* since the snapshot */
		size_t bytes;	/* the file's length */
		__u64 revision; /* as last saved (snapshot or record) */
		__u32 next_rule_id;
		char *rest; /* the snapshot minus rules, revision, epoch */
	} journal;

	struct netsegd_cluster *cluster; /* cluster.c: the etcd side, NULL = alone */
};

/* k8s.c: the Kubernetes side of the commit path */
void netsegd_k8s_init(struct netsegd *d);
void netsegd_k8s_free(struct netsegd *d);
/* Is there anything for the NetworkPolicy compiler (objects or pods)? */
bool netsegd_k8s_active(const struct netsegd *d);
/* policy.c's compile step when netsegd_k8s_active(): native rules, ids,
 * objects and pods into @out; keeps the compiler's output in k8s.next.
 * netsegd_k8s_compile_none() is the step when it isn't. */
int netsegd_k8s_compile(struct netsegd *d, const struct netseg_ruleset *rules,
			struct netseg_idstore *ids, const struct netseg_resolver *native,
			struct netseg_policy *out, struct netseg_err *err);
void netsegd_k8s_compile_none(struct netsegd *d);
/* The compile becomes the state (k8s.next keeps the previous one), and a
 * pending candidate set the set in force; netsegd_k8s_undo() puts the old
 * set back (recompile, enter and sync again to restore the maps). */
void netsegd_k8s_enter(struct netsegd *d);
void netsegd_k8s_undo(struct netsegd *d);
/* Identity flags, ipBlock prefixes and pod addresses of the compile in
 * force into the maps; what only the previous one had goes. */
int netsegd_k8s_sync_maps(struct netsegd *d);
/* End of a commit: the previous compile is dropped, and the allocator
 * forgets keys the compile in force doesn't use. */
void netsegd_k8s_settle(struct netsegd *d);
/* A rule in force by id, the generated ones included; NULL if none. */
const struct netseg_rule *netsegd_rule_by_id(const struct netsegd *d, __u32 id);

/* pods.c: pods as data, below everything that uses them */
void netsegd_pod_free(struct netsegd_pod *p);
/* A pod as JSON (endpoint.register's fields, the state file's).
 * -EINVAL (@err says which field and why) or -ENOMEM. */
int netsegd_pod_from_json(const struct cJSON *o, bool need_cid, struct netsegd_pod **out,
			  struct netseg_err *err);
struct cJSON *netsegd_pod_to_json(const struct netsegd *d, const struct netsegd_pod *p);
/* Is @p one of @s's pods (by pointer)? */
bool netsegd_set_has(const struct netsegd_k8s_set *s, const struct netsegd_pod *p);
/* The pod (or labelled interface) on @ifindex, NULL if none. */
const struct netsegd_pod *netsegd_pod_by_ifindex(const struct netsegd *d, __u32 ifindex);
/* A name for any identity: pods' "pod:NS:LABELS", else the store's. */
const char *netsegd_id_name(const struct netsegd *d, __u32 id, char *buf, size_t len);
/* An interface went away: the pods on it are dropped at the next flush. */
void netsegd_k8s_link_gone(struct netsegd *d, __u32 ifindex);

/* k8s_change.c: Kubernetes changes through netsegd_commit() */
/*
 * Makes @objs the NetworkPolicies and Namespaces in force, everything else
 * unchanged: compiled, swapped in, saved.  Takes @objs on success (it is
 * then emptied); on failure the caller still owns it.  0 or -errno.
 */
int netsegd_k8s_commit_objs(struct netsegd *d, struct netseg_k8s_objects *objs,
			    struct netseg_err *err);
/* The same for the pods: @pods replaces the set in force (pointers to the
 * unchanged pods shared with it); the array is taken either way. */
int netsegd_k8s_commit_pods(struct netsegd *d, struct netsegd_pod **pods, size_t n,
			    struct netseg_err *err);
/* Everything in force compiled and committed again (a setting the
 * compiler reads changed, e.g. host_to_pods on SIGHUP). */
int netsegd_recommit(struct netsegd *d, struct netseg_err *err);
/* From the loop: recompiles when pods went away. */
void netsegd_k8s_flush(struct netsegd *d);

/* k8s_state.c: the Kubernetes part of the state file */
struct cJSON *netsegd_k8s_state_json(const struct netsegd *d);
int netsegd_k8s_state_load(struct netsegd *d, const struct cJSON *o, const char *path);

/* config.c */
void netsegd_config_defaults(struct netsegd_config *c);
int netsegd_config_load(struct netsegd_config *c, const char *path);
/* Every path setting: absolute, printable UTF-8, no "." or ".." component. */
int netsegd_config_check_paths(const struct netsegd_config *c, const char *where);
/* The file's text (NUL-terminated) into @c; @c untouched on error.  @path
 * names it in messages and becomes c->path. */
int netsegd_config_parse(struct netsegd_config *c, const char *buf, const char *path);

/* state.c: the state file, written atomically after the datapath took it */
int netsegd_state_save(struct netsegd *d);
int netsegd_state_load(struct netsegd *d);
/* After a commit that only changed rules (from @old): one journal record,
 * else a full save.  0 or -errno like netsegd_state_save(). */
int netsegd_state_save_change(struct netsegd *d, const struct netseg_ruleset *old);
/* At exit: folds the journal into the state file (which older versions
 * read alone), closes it. */
void netsegd_state_close(struct netsegd *d);
/* "couldn't save the state to PATH: why (ENAME); @outcome" into @e, for a
 * failed netsegd_state_save() (@r) */
int netsegd_state_error(const struct netsegd *d, int r, const char *outcome, struct netseg_err *e);

/* policy.c: every change goes through these */
int netsegd_commit(struct netsegd *d, struct netseg_ruleset *rules, struct netseg_idstore *ids,
		   struct netseg_err *err);
int netsegd_sync_identities(struct netsegd *d, const struct netseg_idstore *old);
int netsegd_resolver(struct netsegd *d, struct netseg_idstore *ids, struct netseg_resolver *res,
		     const char ***names);
int netsegd_prefilter_apply(struct netsegd *d, const char *cidr, bool add, struct netseg_err *err);

/* prefilter_list.c: the prefilter list replaced whole */
struct netsegd_pf_diff {
	struct netseg_prefix *add, *del; /* sorted */
	size_t nadd, ndel;
};
/* Makes @want (sorted, unique: netseg_prefix_sort_unique) the list:
 * the map's differences, one state write, one revision; nothing changed
 * on error, and nothing but @df filled for @dry_run or no difference.
 * -ENOSPC past prefilter_max. */
int netsegd_prefilter_replace(struct netsegd *d, const struct netseg_prefix *want, size_t n,
			      bool dry_run, struct netsegd_pf_diff *df, struct netseg_err *err);
void netsegd_pf_diff_free(struct netsegd_pf_diff *df);

/* endpoints.c: interfaces, cgroups and the IPs learned for them */
int netsegd_endpoints_init(struct netsegd *d);
void netsegd_endpoints_free(struct netsegd *d);
/* Re-evaluates every known interface and cgroup against the identities. */
int netsegd_sync_endpoints(struct netsegd *d);
void netsegd_link_update(struct netsegd *d, const struct netsegd_link_info *li);
void netsegd_link_gone(struct netsegd *d, __u32 ifindex);
/* Changes the claims on a prefix and updates the ipcache. */
int netsegd_ip_update(struct netsegd *d, int family, const void *addr, int plen,
		      const struct netseg_ipsrc *s, enum netsegd_ip_op op);
/* Resync: mark what a dump is about to restate, then drop what it didn't. */
void netsegd_resync_mark(struct netsegd *d, __u32 kinds, bool links);
void netsegd_resync_sweep(struct netsegd *d, __u32 kinds, bool links);
/* After a full dump: drop map entries nothing claims (left by a previous run). */
void netsegd_endpoints_reconcile(struct netsegd *d);
void netsegd_endpoints_tick(struct netsegd *d);
void netsegd_flush_generation(struct netsegd *d);
__u32 netsegd_identity_flags(const struct netsegd *d, const struct netseg_iddef *def);
size_t netsegd_endpoint_count(const struct netsegd *d);
/* An interface as rtnetlink last described it, NULL if none is known. */
const struct netsegd_link *netsegd_link_get(const struct netsegd *d, __u32 ifindex);
/* An interface by name, as rtnetlink last described it; NULL if none. */
const struct netsegd_link *netsegd_link_by_name(const struct netsegd *d, const char *name);
/* Loopback or an uplink: never an endpoint. */
bool netsegd_link_is_uplink(const struct netsegd *d, const struct netsegd_link *l);
/* The endpoint identity of an interface, 0 when it isn't one. */
__u32 netsegd_endpoint_id(const struct netsegd *d, __u32 ifindex);
/* Interfaces whose alias names an identity that doesn't exist. */
size_t netsegd_alias_unknown_count(const struct netsegd *d);
struct cJSON *netsegd_endpoints_json(struct netsegd *d);

/* rtnl.c: the rtnetlink socket feeding endpoints.c */
/* Opens the socket and starts the first dump; the loop watches its fd. */
int netsegd_rtnl_open(struct netsegd *d);
int netsegd_rtnl_fd(const struct netsegd *d);
void netsegd_rtnl_close(struct netsegd *d);
void netsegd_rtnl_event(struct netsegd *d);
/* The messages of one recv (@buf aligned to NLMSG_ALIGNTO): what
 * netsegd_rtnl_event() does with each read, and what tests/fuzz feeds. */
void netsegd_rtnl_input(struct netsegd *d, const void *buf, int len);
void netsegd_rtnl_tick(struct netsegd *d);

/* control.c */
int netsegd_control_open(struct netsegd *d);
void netsegd_control_close(struct netsegd *d);
void netsegd_control_accept(struct netsegd *d);
void netsegd_client_event(struct netsegd *d, struct netsegd_client *c, __u32 events);
/* Once a second: closes clients idle past control_idle_timeout. */
void netsegd_control_tick(struct netsegd *d);
/* ifstats.c: @fn for each interface with traffic, counters summed over CPUs. */
int netsegd_if_stats_each(struct netsegd *d,
			  void (*fn)(void *ctx, __u32 ifindex, const struct netseg_if_stats *s),
			  void *ctx);

/*
 * commands.c: one request object in, one reply object out.  `flows`
 * answers with a stream through @io instead: NULL then means the
 * connection now follows it and has nothing else to send.
 */
struct netsegd_follower_io;
struct cJSON *netsegd_dispatch(struct netsegd *d, const struct cJSON *req,
			       const struct netsegd_follower_io *io);

/* reply.c: "out of memory" into @e; -ENOMEM */
int netsegd_oom(struct netseg_err *e);
/* reply.c: {"ok": false, "error": ..., "kind": ...} */
struct cJSON *netsegd_reply_error(const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * privs.c: capabilities the event loop still needs after setup; every other
 * one is dropped from the effective, permitted and bounding sets.  Each was
 * removed in turn and `prove tests/e2e` run; what failed without it:
 *   no CAP_BPF       every identity/rule change (daemon.t 2-5, endpoints.t,
 *                    flowlog.t; matrix.t bails)
 *   no CAP_NET_ADMIN endpoints.t 68-70 (late cgroup), matrix.t 1/21/22 and
 *                    security.t 25-27/86-88 (cgroup, uplink attach/detach)
 *   no CAP_PERFMON   matrix.t 1/21/22, security.t 26-27/86-88 (uplink)
 * Why:
 *   CAP_BPF       every bpf() call (kernel.unprivileged_bpf_disabled): the
 *                 new inner policy map each apply creates, map updates,
 *                 pinning links of endpoints learned later
 *   CAP_NET_ADMIN cgroup_skb links of cgroups that appear later, XDP and
 *                 TC (netlink) on `netsegctl attach|detach` (TCX links of
 *                 pods learned later were made without it on 6.18: their
 *                 programs were loaded at setup)
 *   CAP_PERFMON   `netsegctl attach`: libxdp loads its XDP dispatcher, which
 *                 the verifier refuses without it ("R1 pointer comparison
 *                 prohibited"), and libxdp 1.3's single-program fallback
 *                 then fails with EBADF
 * Setup alone needs CAP_CHOWN (socket group), CAP_SETPCAP (this drop),
 * CAP_SYS_ADMIN (a previous run's XDP program found by id) and, on kernels
 * without memcg accounting of BPF memory, CAP_SYS_RESOURCE.
 */
#define NETSEGD_KEPT_CAPS CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON
int netsegd_drop_privileges(void);
/* Refuses (-EPERM, said) a process without NETSEGD_KEPT_CAPS, before it
 * creates anything. */
int netsegd_check_privileges(void);

/* metrics.c: Prometheus text format on ADDR:PORT/metrics, from the loop */
/* Binds the address and starts the server; the loop watches its fd. */
int netsegd_metrics_open(struct netsegd *d);
/* The fd for the loop to watch, -1 when metrics are off. */
int netsegd_metrics_fd(const struct netsegd *d);
void netsegd_metrics_run(struct netsegd *d);
void netsegd_metrics_close(struct netsegd *d);

/* cluster.c: endpoints shared with the other nodes through etcd
 * (docs/cluster.md); every function is a no-op without "cluster". */
int netsegd_cluster_open(struct netsegd *d);
/* The fd for the loop to watch, -1 when alone. */
int netsegd_cluster_fd(const struct netsegd *d);
void netsegd_cluster_run(struct netsegd *d);
/* Once a second: lease keepalive, retries, a pending republish. */
void netsegd_cluster_tick(struct netsegd *d);
/* After a pod change is in force: publish the local pods' difference. */
void netsegd_cluster_pods_changed(struct netsegd *d);
/* A clean shutdown revokes the lease: the node leaves the others at once. */
void netsegd_cluster_close(struct netsegd *d);
struct cJSON *netsegd_cluster_nodes_json(const struct netsegd *d);

/* loop.c */
int netsegd_run(struct netsegd *d);
int netsegd_epoll_add(struct netsegd *d, int fd, __u32 events, void *ptr);

/* ctgc.c: removes expired conntrack entries, ends their logged flows */
void netsegd_ct_gc(struct netsegd *d);

#endif
