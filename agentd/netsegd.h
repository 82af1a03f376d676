/* SPDX-License-Identifier: GPL-2.0-only */
/* netsegd: one thread, one epoll loop (DESIGN §5). */
#ifndef NETSEGD_H
#define NETSEGD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "compile.h"
#include "datapath.h"
#include "identity.h"
#include "rule.h"

struct cJSON;
struct ring_buffer;

#define NETSEGD_MAX_CLIENTS	256
#define NETSEGD_MAX_UPLINKS	16
#define NETSEGD_MAX_PREFILTER	4096
#define NETSEGD_MAX_ENDPOINTS	4096

struct netsegd_config {
	char path[256];		/* config file, "" = none */
	char pin_dir[200];
	char run_dir[200];
	char state_dir[200];
	char socket[240];
	char node_name[64];
	__u32 deny_rate;	/* deny events/s per CPU */
	__u32 deny_burst;
	bool log_allowed;	/* flow-start events for every allowed flow */
	__u32 ct_max;
	__u32 max_entries;	/* compiled policy entries ("max_rules") */
	unsigned int nuplinks;
	char uplinks[NETSEGD_MAX_UPLINKS][32];
};

struct netsegd_client {
	int fd;
	__u32 uid;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	bool closing;		/* close once out is flushed */
	bool denied;		/* failed the SO_PEERCRED check */
};

/* An interface or cgroup we enforce on, derived from identities. */
struct netsegd_endpoint {
	bool cgroup;
	char name[256];		/* interface name or cgroup path */
	int ifindex;
	__u64 cgid;
	__u32 id;
};

struct netsegd_prefix {
	char cidr[64];
};

struct netsegd {
	struct netsegd_config cfg;
	struct netseg_dp *dp;
	struct netseg_idstore ids;
	struct netseg_ruleset rules;
	__u32 next_rule_id;
	__u64 revision;
	size_t entries;		/* compiled entries in force */
	struct netsegd_prefix *prefilter;
	size_t nprefilter;
	struct netsegd_endpoint *eps;
	size_t neps;
	int epfd, sigfd, timerfd, ctlfd;
	struct ring_buffer *rb;
	__u64 events_seen;
	struct netseg_ct_key gc_cursor;
	struct netsegd_client *clients[NETSEGD_MAX_CLIENTS];
	time_t started;
	bool stop;
	bool cleanup_on_exit;
};

/* config.c */
void netsegd_config_defaults(struct netsegd_config *c);
int netsegd_config_load(struct netsegd_config *c, const char *path);

/* state.c: the state file, written atomically after the datapath took it */
int netsegd_state_save(struct netsegd *d);
int netsegd_state_load(struct netsegd *d);

/* policy.c: every change goes through these */
int netsegd_commit(struct netsegd *d, struct netseg_ruleset *rules,
		   struct netseg_idstore *ids, struct netseg_err *err);
int netsegd_sync_identities(struct netsegd *d, const struct netseg_idstore *old);
int netsegd_sync_endpoints(struct netsegd *d);
int netsegd_resolver(struct netsegd *d, struct netseg_idstore *ids,
		     struct netseg_resolver *res, const char ***names);
int netsegd_prefilter_apply(struct netsegd *d, const char *cidr, bool add,
			    struct netseg_err *err);

/* control.c */
int netsegd_control_open(struct netsegd *d);
void netsegd_control_close(struct netsegd *d);
void netsegd_control_accept(struct netsegd *d);
void netsegd_client_event(struct netsegd *d, struct netsegd_client *c, __u32 events);

/* commands.c: one request object in, one reply object out */
struct cJSON *netsegd_dispatch(struct netsegd *d, const struct cJSON *req);
struct cJSON *netsegd_reply_error(const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* loop.c */
int netsegd_run(struct netsegd *d);
int netsegd_epoll_add(struct netsegd *d, int fd, __u32 events, void *ptr);
void netsegd_ct_gc(struct netsegd *d);

#endif
