// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prometheus metrics on http://ADDR:PORT/metrics (text exposition format
 * 0.0.4), from the daemon's own epoll loop.
 *
 * libmicrohttpd runs in its external mode with its own epoll fd
 * (MHD_USE_EPOLL, no internal thread): that fd sits in netsegd's epoll
 * set and MHD_run() does the non-blocking reads and writes when it turns
 * readable, so a slow or stalled scraper costs a buffered response, never
 * a blocked loop.  No thread: the counters are read from the same thread
 * that writes the maps and owns the rule set, so nothing needs a lock.
 * The listening socket is bound here rather than by MHD so that a bad
 * address or a port in use is said with its errno at start.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "log.h"
#include "flowlog.h"
#include "netsegd.h"
#include "version.h"

struct netsegd_metrics {
	struct MHD_Daemon *mhd;
	int fd;	  /* the listening socket */
	int epfd; /* MHD's own epoll fd: the loop watches it */
};

/* Growing text buffer; on allocation failure it stays failed (oom). */
struct mbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void __attribute__((format(printf, 2, 3))) put(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *np;
	int n;

	for (;;) {
		if (b->oom)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += n;
			return;
		}
		np = n < 0 ? NULL : realloc(b->p, b->cap * 2 + n + 1);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + n + 1;
	}
}

static void head(struct mbuf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values: the exposition format escapes \, " and newline. */
static void put_label(struct mbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			put(b, "\\%c", *s);
		else if (*s == '\n')
			put(b, "\\n");
		else
			put(b, "%c", *s);
	}
}

/*
 * Drops by reason and direction, as the datapath counts them and flow
 * records say it: ingress is towards the endpoint the hook guards (a pod,
 * a cgroup) or the node on an uplink, egress away from it.  Passes are
 * counted per reason only (the hot path pays no direction): "any".
 */
static void drop_counters(struct netsegd *d, struct mbuf *b)
{
	struct netseg_counter dir[2][NETSEG_REASON_MAX];
	static const char *const name[2] = { "ingress", "egress" };

	if (netseg_dp_read_drops(d->dp, dir[0], dir[1]))
		return;
	head(b, "netseg_drop_count_total", "counter",
	     "Packets dropped, by reason and direction (ingress: towards the endpoint or node).");
	for (int r = 1; r < NETSEG_REASON_MAX; r++)
		for (int i = 0; i < 2; i++)
			put(b, "netseg_drop_count_total{reason=\"%s\",direction=\"%s\"} %llu\n",
			    netseg_reason_name(r), name[i], (unsigned long long)dir[i][r].packets);
	head(b, "netseg_drop_bytes_total", "counter", "Bytes dropped, by reason and direction.");
	for (int r = 1; r < NETSEG_REASON_MAX; r++)
		for (int i = 0; i < 2; i++)
			put(b, "netseg_drop_bytes_total{reason=\"%s\",direction=\"%s\"} %llu\n",
			    netseg_reason_name(r), name[i], (unsigned long long)dir[i][r].bytes);
}

static void datapath_counters(struct netsegd *d, struct mbuf *b)
{
	struct netseg_counter c[NETSEG_STAT_MAX];

	if (netseg_dp_read_counters(d->dp, c))
		return;
	drop_counters(d, b);
	head(b, "netseg_pass_count_total", "counter",
	     "Packets passed: by policy (reason policy), audit rules that would deny, non-IP.");
	put(b, "netseg_pass_count_total{reason=\"policy\",direction=\"any\"} %llu\n",
	    (unsigned long long)c[NETSEG_STAT_PASS].packets);
	put(b, "netseg_pass_count_total{reason=\"audit\",direction=\"any\"} %llu\n",
	    (unsigned long long)c[NETSEG_STAT_AUDIT].packets);
	put(b, "netseg_pass_count_total{reason=\"non_ip\",direction=\"any\"} %llu\n",
	    (unsigned long long)c[NETSEG_STAT_PASS_NON_IP].packets);
	head(b, "netseg_pass_bytes_total", "counter", "Bytes passed, as netseg_pass_count_total.");
	put(b, "netseg_pass_bytes_total{reason=\"policy\",direction=\"any\"} %llu\n",
	    (unsigned long long)c[NETSEG_STAT_PASS].bytes);
	put(b, "netseg_pass_bytes_total{reason=\"audit\",direction=\"any\"} %llu\n",
	    (unsigned long long)c[NETSEG_STAT_AUDIT].bytes);
	put(b, "netseg_pass_bytes_total{reason=\"non_ip\",direction=\"any\"} %llu\n",
	    (unsigned long long)c[NETSEG_STAT_PASS_NON_IP].bytes);
	head(b, "netseg_events_sent_total", "counter", "Flow events written to the ring buffer.");
	put(b, "netseg_events_sent_total %llu\n",
	    (unsigned long long)c[NETSEG_STAT_EV_SENT].packets);
	head(b, "netseg_events_lost_total", "counter",
	     "Flow events lost: ring buffer full (ring), deny token bucket empty (rate_limit), "
	     "unlogged allowed flow starts past their bucket (unlogged_rate_limit).");
	put(b, "netseg_events_lost_total{cause=\"ring\"} %llu\n",
	    (unsigned long long)c[NETSEG_STAT_EV_LOST_RING].packets);
	put(b, "netseg_events_lost_total{cause=\"rate_limit\"} %llu\n",
	    (unsigned long long)c[NETSEG_STAT_EV_LOST_RATE].packets);
	put(b, "netseg_events_lost_total{cause=\"unlogged_rate_limit\"} %llu\n",
	    (unsigned long long)c[NETSEG_STAT_EV_LOST_SEEN].packets);
	head(b, "netseg_conntrack_created_total", "counter", "Conntrack flows created.");
	put(b, "netseg_conntrack_created_total %llu\n",
	    (unsigned long long)c[NETSEG_STAT_CT_NEW].packets);
	head(b, "netseg_conntrack_insert_failures_total", "counter",
	     "Conntrack inserts that failed.");
	put(b, "netseg_conntrack_insert_failures_total %llu\n",
	    (unsigned long long)c[NETSEG_STAT_CT_FAIL].packets);
}

/* Per rule, by id: the text is in `netsegctl stats`, not in a label. */
static void rule_counters(struct netsegd *d, struct mbuf *b)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_RULE_STATS);
	int ncpu = libbpf_num_possible_cpus();
	struct netseg_counter *per = ncpu > 0 ? calloc(ncpu, sizeof(*per)) : NULL;
	__u32 key, prev, *pp = NULL;
	struct mbuf pk = {}, by = {};
	size_t n = 0;

	head(b, "netseg_rule_packets_total", "counter",
	     "Packets decided by each rule (rule=\"0\": default deny).");
	while (per && n++ < NETSEG_RULE_STATS_MAX && !bpf_map_get_next_key(fd, pp, &key)) {
		__u64 p = 0, y = 0;

		prev = key;
		pp = &prev;
		if (bpf_map_lookup_elem(fd, &key, per))
			continue;
		for (int c = 0; c < ncpu; c++) {
			p += per[c].packets;
			y += per[c].bytes;
		}
		put(&pk, "netseg_rule_packets_total{rule=\"%u\"} %llu\n", key,
		    (unsigned long long)p);
		put(&by, "netseg_rule_bytes_total{rule=\"%u\"} %llu\n", key, (unsigned long long)y);
	}
	if (pk.p)
		put(b, "%s", pk.p);
	head(b, "netseg_rule_bytes_total", "counter", "Bytes decided by each rule.");
	if (by.p)
		put(b, "%s", by.p);
	b->oom |= pk.oom || by.oom;
	free(pk.p);
	free(by.p);
	free(per);
}

/* From the same list `netsegctl stats` shows, so flowlog.c stays as is. */
static void sink_counters(struct netsegd *d, struct mbuf *b)
{
	static const struct {
		const char *key, *name, *type, *help;
	} f[] = {
		{ "written", "netseg_flowlog_written_total", "counter",
		  "Flow records written, per sink." },
		{ "dropped", "netseg_flowlog_dropped_total", "counter",
		  "Flow records dropped, per sink." },
		{ "queued", "netseg_flowlog_queued_bytes", "gauge",
		  "Bytes waiting to be sent, per TCP sink." },
	};
	cJSON *a = netsegd_flowlog_stats(d), *s;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		head(b, f[i].name, f[i].type, f[i].help);
		cJSON_ArrayForEach(s, a) {
			const cJSON *v = cJSON_GetObjectItem(s, f[i].key);
			const cJSON *nm = cJSON_GetObjectItem(s, "sink");

			if (!cJSON_IsNumber(v) || !cJSON_IsString(nm))
				continue;
			put(b, "%s{sink=\"", f[i].name);
			put_label(b, nm->valuestring);
			put(b, "\"} %.0f\n", v->valuedouble);
		}
	}
	cJSON_Delete(a);
}

static void daemon_gauges(struct netsegd *d, struct mbuf *b)
{
	const struct netsegd_apply_stats *m = &d->pol.apply_stats;
	struct netseg_config cfg = {};

	head(b, "netseg_build_info", "gauge", "Always 1; the version as a label.");
	put(b, "netseg_build_info{version=\"");
	put_label(b, NETSEG_VERSION);
	put(b, "\"} 1\n");
	head(b, "netseg_policy_revision", "gauge", "Policy revision in force.");
	put(b, "netseg_policy_revision %llu\n", (unsigned long long)d->pol.revision);
	if (!netseg_dp_config_get(d->dp, &cfg)) {
		head(b, "netseg_policy_generation", "gauge",
		     "Datapath generation (bumped on every policy or identity change).");
		put(b, "netseg_policy_generation %llu\n", (unsigned long long)cfg.generation);
	}
	head(b, "netseg_policy_apply_duration_seconds", "histogram",
	     "Time to apply a policy change (compile, maps, swap, save).");
	for (size_t i = 0; i < NETSEGD_APPLY_BUCKETS; i++)
		put(b, "netseg_policy_apply_duration_seconds_bucket{le=\"%g\"} %llu\n",
		    netsegd_apply_buckets[i], (unsigned long long)m->count[i]);
	put(b, "netseg_policy_apply_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)m->n);
	put(b, "netseg_policy_apply_duration_seconds_sum %.9f\n", m->sum);
	put(b, "netseg_policy_apply_duration_seconds_count %llu\n", (unsigned long long)m->n);
	head(b, "netseg_rules", "gauge", "Rules in force.");
	put(b, "netseg_rules %zu\n", d->pol.rules.n);
	head(b, "netseg_identities", "gauge", "Identities defined.");
	put(b, "netseg_identities %zu\n", d->pol.ids.n);
	head(b, "netseg_endpoints", "gauge", "Endpoints (interfaces and cgroups) known.");
	put(b, "netseg_endpoints %zu\n", netsegd_endpoint_count(d));
	head(b, "netseg_conntrack_entries", "gauge", "Conntrack entries at the last GC walk.");
	put(b, "netseg_conntrack_entries %llu\n", (unsigned long long)d->ct.entries);
	head(b, "netseg_conntrack_max", "gauge", "Conntrack table size.");
	put(b, "netseg_conntrack_max %llu\n", (unsigned long long)d->ct.max);
	head(b, "netseg_conntrack_expired_total", "counter", "Expired flows the GC removed.");
	put(b, "netseg_conntrack_expired_total %llu\n", (unsigned long long)d->ct.removed);
	head(b, "netseg_conntrack_evicted_total", "counter",
	     "Flows evicted from a full table (estimate, see netsegctl stats).");
	put(b, "netseg_conntrack_evicted_total %llu\n", (unsigned long long)d->ct.evicted);
	head(b, "netseg_netlink_resyncs_total", "counter",
	     "rtnetlink full dumps after the socket lost events (ENOBUFS).");
	put(b, "netseg_netlink_resyncs_total %llu\n", (unsigned long long)d->eps.stats.nl_overruns);
	head(b, "netseg_netlink_dumps_total", "counter", "rtnetlink full dumps completed.");
	put(b, "netseg_netlink_dumps_total %llu\n", (unsigned long long)d->eps.stats.nl_dumps);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **ctx)
{
	struct netsegd *d = cls;
	struct mbuf b = { .p = malloc(16384), .cap = 16384 };

	(void)version;
	(void)upload;
	if (!b.p)
		return MHD_NO;
	b.p[0] = '\0';
	/* A body is not expected: refuse it rather than buffer it. */
	if (*upload_len || (strcmp(method, "GET") && strcmp(method, "HEAD"))) {
		put(&b, "only GET /metrics\n");
		return b.oom ? MHD_NO :
			       reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", b.p, b.len);
	}
	if (!*ctx) { /* first call: headers only, answer on the next */
		*ctx = d;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics")) {
		put(&b, "not found: metrics are on /metrics\n");
		return b.oom ? MHD_NO : reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", b.p, b.len);
	}
	datapath_counters(d, &b);
	rule_counters(d, &b);
	sink_counters(d, &b);
	daemon_gauges(d, &b);
	if (b.oom) {
		free(b.p);
		return MHD_NO;
	}
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
}

int netsegd_metrics_open(struct netsegd *d)
{
	const struct netsegd_listen_conf *l = &d->cfg.metrics;
	const char *listen_on = l->text;
	struct netsegd_metrics *m;
	const union MHD_DaemonInfo *info;
	int one = 1, err;

	if (!listen_on[0])
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->fd, (const struct sockaddr *)&l->addr, l->len) || listen(m->fd, 16)) {
		err = -errno;
		pr_err("metrics: couldn't listen on %s: %s", listen_on, strerror(-err));
		goto out;
	}
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, d,
				  MHD_OPTION_LISTEN_SOCKET, m->fd,
				  /* a scraper that stops reading is dropped, not waited on */
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16, MHD_OPTION_END);
	if (!m->mhd) {
		err = -EIO;
		pr_err("metrics: couldn't start the HTTP server on %s", listen_on);
		goto out;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		err = -EIO;
		pr_err("metrics: couldn't watch the HTTP server: %s", strerror(-err));
		goto out;
	}
	m->epfd = info->epoll_fd;
	m->fd = -1; /* MHD_stop_daemon() closes the listening socket */
	d->metrics = m;
	pr_info("metrics on http://%s/metrics", listen_on);
	return 0;
out:
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return err;
}

/*
 * On its fd, and on the 1 s timer so idle connections time out.  MHD may
 * keep work it could do at once (a timeout of 0, e.g. a connection it
 * stopped reading to answer another): a few more rounds, never a spin.
 */
void netsegd_metrics_run(struct netsegd *d)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!d->metrics)
		return;
	for (int i = 0; i < 4; i++) {
		MHD_run(d->metrics->mhd);
		if (MHD_get_timeout(d->metrics->mhd, &ms) != MHD_YES || ms)
			break;
	}
}

int netsegd_metrics_fd(const struct netsegd *d)
{
	return d->metrics ? d->metrics->epfd : -1;
}

void netsegd_metrics_close(struct netsegd *d)
{
	struct netsegd_metrics *m = d->metrics;

	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	free(m);
	d->metrics = NULL;
}
