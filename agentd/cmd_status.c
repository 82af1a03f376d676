// SPDX-License-Identifier: GPL-2.0-only
/*
 * `status` and `stats`: what the daemon, the datapath counters and the
 * flow-log sinks say, read only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "flowlog.h"
#include "log.h"
#include "netsegd.h"
#include "version.h"

/* What rtnetlink taught the endpoint table, for `status`. */
static cJSON *netlink_json(const struct netsegd *d)
{
	const struct netsegd_epstats *s = &d->eps.stats;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "synced", s->nl_synced);
	cJSON_AddNumberToObject(o, "messages", s->nl_msgs);
	cJSON_AddNumberToObject(o, "malformed", s->nl_bad);
	cJSON_AddNumberToObject(o, "overruns", s->nl_overruns);
	cJSON_AddNumberToObject(o, "full_dumps", s->nl_dumps);
	cJSON_AddNumberToObject(o, "links", d->eps.nlinks);
	cJSON_AddNumberToObject(o, "prefixes", d->eps.ips.n);
	cJSON_AddNumberToObject(o, "iface_attaches", s->attaches);
	cJSON_AddNumberToObject(o, "iface_detaches", s->detaches);
	cJSON_AddNumberToObject(o, "cgroup_attaches", s->cg_attaches);
	cJSON_AddNumberToObject(o, "cgroup_detaches", s->cg_detaches);
	cJSON_AddNumberToObject(o, "ipcache_writes", s->ip_writes);
	cJSON_AddNumberToObject(o, "ipcache_deletes", s->ip_deletes);
	cJSON_AddNumberToObject(o, "ipcache_conflicts", s->ip_conflicts);
	cJSON_AddNumberToObject(o, "untrusted_routes", s->routes_untrusted);
	return o;
}

/* The daemon's own guard counters (ipcache conflicts, untrusted routes,
 * control clients refused or timed out), for `stats`. */
static cJSON *guard_stats(const struct netsegd *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "ipcache_conflicts", d->eps.stats.ip_conflicts);
	cJSON_AddNumberToObject(o, "untrusted_routes", d->eps.stats.routes_untrusted);
	cJSON_AddNumberToObject(o, "control_refused", d->ctl.stats.refused);
	cJSON_AddNumberToObject(o, "control_timed_out", d->ctl.stats.timed_out);
	cJSON_AddNumberToObject(o, "control_nul_refused", d->ctl.stats.nul);
	return o;
}

cJSON *cmd_status(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	struct netseg_config cfg = {};
	cJSON *o = cmd_reply_ok();
	size_t user = 0;

	netseg_dp_config_get(d->dp, &cfg);
	for (size_t i = 0; i < d->pol.ids.n; i++)
		user += !d->pol.ids.v[i].cidr_only;
	cJSON_AddStringToObject(o, "version", NETSEG_VERSION);
	cJSON_AddStringToObject(o, "node", d->cfg.node_name);
	cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	cJSON_AddNumberToObject(o, "generation", cfg.generation);
	cJSON_AddNumberToObject(o, "rules", d->pol.rules.n);
	cJSON_AddNumberToObject(o, "entries", d->pol.entries);
	cJSON_AddNumberToObject(o, "identities", user);
	cJSON_AddNumberToObject(o, "endpoints", netsegd_endpoint_count(d));
	cJSON_AddNumberToObject(o, "uplinks", d->cfg.nuplinks);
	cJSON_AddStringToObject(o, "pin_dir", d->cfg.pin_dir);
	cJSON_AddNumberToObject(o, "uptime_s", time(NULL) - d->loop.started);
	cJSON_AddNumberToObject(o, "events_seen", d->loop.events_seen);
	cJSON_AddItemToObject(o, "netlink", netlink_json(d));
	return o;
}

static cJSON *counter_json(__u64 packets, __u64 bytes)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddNumberToObject(c, "packets", packets);
	cJSON_AddNumberToObject(c, "bytes", bytes);
	return c;
}

static int id_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* The hash map's order is no order: rows by rule id, with the rule. */
static cJSON *rule_stats(struct netsegd *d)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_RULE_STATS);
	int ncpu = libbpf_num_possible_cpus();
	struct netseg_counter *per = calloc(ncpu, sizeof(*per));
	__u32 *ids = calloc(NETSEG_RULE_STATS_MAX, sizeof(*ids));
	cJSON *a = cJSON_CreateArray();
	__u32 key, *prev = NULL;
	size_t n = 0;
	char text[1024];

	while (per && ids && n < NETSEG_RULE_STATS_MAX && !bpf_map_get_next_key(fd, prev, &key)) {
		ids[n++] = key;
		prev = &ids[n - 1];
	}
	if (ids)
		qsort(ids, n, sizeof(*ids), id_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct netseg_rule *r = NULL;
		__u64 p = 0, b = 0;
		cJSON *o;

		if (bpf_map_lookup_elem(fd, &ids[i], per))
			continue;
		for (int c = 0; c < ncpu; c++) {
			p += per[c].packets;
			b += per[c].bytes;
		}
		for (size_t j = 0; ids[i] && j < d->pol.rules.n; j++)
			if (d->pol.rules.rules[j].id == ids[i])
				r = &d->pol.rules.rules[j];
		if (r)
			netseg_rule_format(r, text, sizeof(text));
		else
			snprintf(text, sizeof(text), "%s",
				 ids[i] ? "(rule removed)" : "(default deny)");
		o = counter_json(p, b);
		cJSON_AddNumberToObject(o, "id", ids[i]);
		cJSON_AddStringToObject(o, "text", text);
		cJSON_AddItemToArray(a, o);
	}
	free(ids);
	free(per);
	return a;
}

static void if_stats_row(void *ctx, __u32 ifindex, const struct netseg_if_stats *s)
{
	cJSON *o = cJSON_CreateObject();
	char name[IF_NAMESIZE];

	cJSON_AddNumberToObject(o, "ifindex", ifindex);
	cJSON_AddStringToObject(o, "name", if_indextoname(ifindex, name) ? name : "");
	cJSON_AddNumberToObject(o, "pass_packets", s->pass_packets);
	cJSON_AddNumberToObject(o, "drop_packets", s->drop_packets);
	cJSON_AddNumberToObject(o, "drop_bytes", s->drop_bytes);
	cJSON_AddNumberToObject(o, "xdp_drop_packets", s->xdp_drop_packets);
	cJSON_AddItemToArray(ctx, o);
}

static cJSON *if_stats(struct netsegd *d)
{
	cJSON *a = cJSON_CreateArray();

	netsegd_if_stats_each(d, if_stats_row, a);
	return a;
}

/* As of the last GC walk (once a second). */
static cJSON *ct_stats(struct netsegd *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "entries", d->ct.entries);
	cJSON_AddNumberToObject(o, "max", d->ct.max);
	cJSON_AddNumberToObject(o, "expired", d->ct.removed);
	cJSON_AddNumberToObject(o, "evicted", d->ct.evicted);
	return o;
}

cJSON *cmd_stats(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	struct netseg_counter c[NETSEG_STAT_MAX];
	cJSON *o, *counters = cJSON_CreateObject();
	int err = netseg_dp_read_counters(d->dp, c);

	if (err)
		return netsegd_reply_error("internal", "couldn't read counters: %s",
					   strerror(-err));
	for (int i = 0; i < NETSEG_STAT_MAX; i++)
		cJSON_AddItemToObject(counters, netseg_stat_name(i),
				      counter_json(c[i].packets, c[i].bytes));
	o = cmd_reply_ok();
	cJSON_AddItemToObject(o, "counters", counters);
	cJSON_AddItemToObject(o, "rules", rule_stats(d));
	cJSON_AddItemToObject(o, "interfaces", if_stats(d));
	cJSON_AddItemToObject(o, "conntrack", ct_stats(d));
	cJSON_AddNumberToObject(o, "alias_unknown", netsegd_alias_unknown_count(d));
	cJSON_AddItemToObject(o, "flow_logs", netsegd_flowlog_stats(d));
	cJSON_AddItemToObject(o, "daemon", guard_stats(d));
	return o;
}
