// SPDX-License-Identifier: GPL-2.0-only
/*
 * The event loop: control socket, rtnetlink, ring buffer, a timerfd for
 * conntrack GC (ctgc.c) and cgroup rescans, a signalfd for SIGTERM/SIGINT (stop)
 * and SIGHUP (reload config).  Nothing here blocks.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "flowlog.h"
#include "netsegd.h"
#include "version.h"

/* epoll data tags for the fixed fds; clients carry their struct pointer. */
static char tag_signal, tag_timer, tag_ring, tag_rtnl, tag_metrics, tag_cluster;

int netsegd_epoll_add(struct netsegd *d, int fd, __u32 events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(d->loop.epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

/*
 * Records read per wakeup of the ring.  ring_buffer__consume() reads until
 * the ring is empty, and a ring refilled faster than the daemon formats
 * records (a flood with a high deny_events rate) never is: the loop would
 * answer nothing else.  Stopping after a batch lets the other fds have
 * their turn; the ring's fd stays readable, so epoll comes straight back.
 * A batch is what a control request may wait for per turn of the loop: at
 * 2-7 us a record, 1,024 keep that to a few ms.
 */
#define RING_BATCH 1024

static int on_event(void *ctx, void *data, size_t len)
{
	struct netsegd *d = ctx;

	d->loop.events_seen++;
	if (len >= sizeof(struct netseg_event))
		netsegd_flowlog_event(d, data);
	/* The record is consumed either way; < 0 only stops the batch. */
	return ++d->loop.ring_batch >= RING_BATCH ? -EAGAIN : 0;
}

static int setup_fds(struct netsegd *d)
{
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	sigset_t mask;
	int err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->loop.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->loop.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->loop.sigfd < 0 || d->loop.timerfd < 0 ||
	    timerfd_settime(d->loop.timerfd, 0, &its, NULL))
		return -errno;
	err = netsegd_epoll_add(d, d->loop.sigfd, EPOLLIN, &tag_signal);
	err = err ?: netsegd_epoll_add(d, d->loop.timerfd, EPOLLIN, &tag_timer);
	if (err)
		return err;
	d->loop.rb = ring_buffer__new(netseg_dp_map_fd(d->dp, NETSEG_DPM_EVENTS), on_event, d,
				      NULL);
	if (!d->loop.rb)
		return -errno;
	err = netsegd_epoll_add(d, ring_buffer__epoll_fd(d->loop.rb), EPOLLIN, &tag_ring);
	/* main() opened the control socket; the loop watches it, tag NULL. */
	err = d->ctl.fd >= 0 ? netsegd_epoll_add(d, d->ctl.fd, EPOLLIN, NULL) : 0;
	err = err ?: netsegd_rtnl_open(d);
	err = err ?: netsegd_epoll_add(d, netsegd_rtnl_fd(d), EPOLLIN, &tag_rtnl);
	err = err ?: netsegd_metrics_open(d);
	if (!err && netsegd_metrics_fd(d) >= 0) {
		err = netsegd_epoll_add(d, netsegd_metrics_fd(d), EPOLLIN, &tag_metrics);
		if (err)
			pr_err("metrics: couldn't watch the HTTP server: %s", strerror(-err));
	}
	err = err ?: netsegd_cluster_open(d);
	if (!err && netsegd_cluster_fd(d) >= 0)
		err = netsegd_epoll_add(d, netsegd_cluster_fd(d), EPOLLIN, &tag_cluster);
	return err;
}

/* Settings the running daemon can't take: said, not silently dropped. */
static void note_restart_only(const struct netsegd_config *was, const struct netsegd_config *c)
{
	static const struct {
		const char *key;
		size_t off, len;
	} f[] = {
#define F(key, field) \
	{ key, offsetof(struct netsegd_config, field), sizeof(((struct netsegd_config *)0)->field) }
		F("pin_dir", pin_dir),
		F("run_dir", run_dir),
		F("state_dir", state_dir),
		F("socket", socket),
		F("node_name", node_name),
		F("ct_max", ct_max),
		F("netlink_rcvbuf", netlink_rcvbuf),
		F("prefilter_max", prefilter_max),
		F("uplinks", uplinks),
		F("flow_logs", sinks),
		F("metrics", metrics.text),
		F("flow_history", flow_history),
		F("cluster", cluster),
#undef F
	};

	if (was->nuplinks != c->nuplinks)
		pr_warn("SIGHUP: \"uplinks\" changed; takes effect when netsegd restarts "
			"(or use 'netsegctl attach|detach')");
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (memcmp((const char *)was + f[i].off, (const char *)c + f[i].off, f[i].len))
			pr_warn("SIGHUP: \"%s\" changed; takes effect when netsegd restarts",
				f[i].key);
}

/*
 * The file is read from the defaults, as at start: a setting removed from
 * it goes back to its default instead of keeping the last value.
 */
static void reload_config(struct netsegd *d)
{
	struct netsegd_config c;

	if (!d->cfg.path[0]) {
		pr_info("SIGHUP: no config file to reload");
		return;
	}
	netsegd_config_defaults(&c);
	if (netsegd_config_load(&c, d->cfg.path)) {
		pr_err("SIGHUP: config %s rejected; keeping the running config", d->cfg.path);
		return;
	}
	/* A smaller map than the one in force would refuse every change. */
	if (c.max_entries < d->pol.entries) {
		pr_err("%s: \"max_rules\" %u is below the %zu policy entries in force", d->cfg.path,
		       c.max_entries, d->pol.entries);
		pr_err("SIGHUP: config %s rejected; keeping the running config", d->cfg.path);
		return;
	}
	note_restart_only(&d->cfg_file, &c);
	d->cfg.max_entries = c.max_entries;
	d->cfg.deny_rate = c.deny_rate;
	d->cfg.deny_burst = c.deny_burst;
	d->cfg.log_allowed = c.log_allowed;
	d->cfg.control_idle_timeout = c.control_idle_timeout;
	if (d->cfg.host_to_pods != c.host_to_pods) {
		struct netseg_err err = { 0 };

		d->cfg.host_to_pods = c.host_to_pods;
		if (netsegd_recommit(d, &err)) {
			d->cfg.host_to_pods = !c.host_to_pods;
			pr_err("SIGHUP: \"host_to_pods\" not changed: %s", err.msg);
		}
	}
	netseg_dp_config_set_events(d->dp, c.deny_rate, c.deny_burst,
				    c.log_allowed ? NETSEG_CFG_LOG_ALLOWED : 0);
	pr_info("SIGHUP: reloaded %s", d->cfg.path);
}

static void on_signal(struct netsegd *d)
{
	struct signalfd_siginfo si;

	while (read(d->loop.sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload_config(d);
		else
			d->loop.stop = true;
	}
}

static void on_timer(struct netsegd *d)
{
	__u64 ticks;

	if (read(d->loop.timerfd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	netsegd_ct_gc(d);
	netsegd_flowlog_tick(d);
	netsegd_endpoints_tick(d);
	netsegd_k8s_flush(d);
	netsegd_rtnl_tick(d);
	netsegd_control_tick(d);
	netsegd_metrics_run(d);
	netsegd_cluster_tick(d);
}

/*
 * The one "netsegd VERSION ready: ..." line on stdout, once, when the first
 * rtnetlink dump is done (rules restored, socket open, endpoints learned).
 */
static void say_ready(const struct netsegd *d)
{
	static bool said;

	if (said)
		return;
	said = true;
	/* stdout may be a pipe or a file a script waits on: flushed now. */
	printf("netsegd %s ready: pins %s, socket %s, %zu rules, %zu endpoints\n", NETSEG_VERSION,
	       d->cfg.pin_dir, d->cfg.socket, d->pol.rules.n, netsegd_endpoint_count(d));
	fflush(stdout);
}

int netsegd_run(struct netsegd *d)
{
	struct epoll_event evs[32];
	int err, n;

	err = setup_fds(d);
	if (err) {
		pr_err("couldn't set up the event loop: %s", strerror(-err));
		return err;
	}
	err = netsegd_drop_privileges();
	if (err)
		return err;
	while (!d->loop.stop) {
		n = epoll_wait(d->loop.epfd, evs, 32, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == NULL)
				netsegd_control_accept(d);
			else if (p == &tag_signal)
				on_signal(d);
			else if (p == &tag_timer)
				on_timer(d);
			else if (p == &tag_ring) {
				d->loop.ring_batch = 0;
				ring_buffer__consume(d->loop.rb);
				netsegd_flowlog_flush(d);
			} else if (netsegd_flowlog_owns(d, p))
				netsegd_flowlog_sink_event(d, p, evs[i].events);
			else if (p == &tag_rtnl) {
				netsegd_rtnl_event(d);
				if (d->eps.stats.nl_synced)
					say_ready(d);
			} else if (p == &tag_metrics)
				netsegd_metrics_run(d);
			else if (p == &tag_cluster)
				netsegd_cluster_run(d);
			else
				netsegd_client_event(d, p, evs[i].events);
		}
		/* Once per batch: pods whose interface went away leave in one
		 * commit; a pod's link, route and neighbour cost one bump. */
		netsegd_k8s_flush(d);
		netsegd_flush_generation(d);
	}
	return 0;
}
