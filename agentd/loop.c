// SPDX-License-Identifier: GPL-2.0-only
/*
 * The event loop: control socket, rtnetlink, ring buffer, a timerfd for
 * conntrack GC and cgroup rescans, a signalfd for SIGTERM/SIGINT (stop)
 * and SIGHUP (reload config).  Nothing here blocks.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "flowlog.h"
#include "netsegd.h"

/* epoll data tags for the fixed fds; clients carry their struct pointer. */
static char tag_signal, tag_timer, tag_ring, tag_rtnl;

int netsegd_epoll_add(struct netsegd *d, int fd, __u32 events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Expired flows leave the table here (the datapath ignores them already).
 * bpf_ktime_get_ns() is CLOCK_MONOTONIC, so the two clocks compare.
 */
void netsegd_ct_gc(struct netsegd *d)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_CT);
	struct netseg_ct_key key, *prev = NULL, *dead;
	struct netseg_ct_entry e, *ends;
	__u64 now = mono_ns();
	size_t n = 0, cap = 4096;

	/* Collect, then delete: deleting under the walk would restart it. */
	dead = malloc(cap * sizeof(*dead));
	ends = malloc(cap * sizeof(*ends));
	if (!dead || !ends)
		goto out;
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		if (!bpf_map_lookup_elem(fd, &key, &e) && now > e.last_seen_ns &&
		    now - e.last_seen_ns > netseg_ct_timeout(&e) && n < cap) {
			dead[n] = key;
			ends[n++] = e;
		}
		d->gc_cursor = key;
		prev = &d->gc_cursor;
	}
	for (size_t i = 0; i < n; i++) {
		/* Logged flows (--log, audit, log_allowed) end with a record. */
		if (!bpf_map_delete_elem(fd, &dead[i]) && (ends[i].flags & NETSEG_CTF_LOG))
			netsegd_flowlog_ct_end(d, &dead[i], &ends[i]);
	}
	if (n)
		pr_debug("conntrack GC removed %zu expired flows", n);
out:
	free(dead);
	free(ends);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct netsegd *d = ctx;

	d->events_seen++;
	if (len >= sizeof(struct netseg_event))
		netsegd_flowlog_event(d, data);
	return 0;
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
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || timerfd_settime(d->timerfd, 0, &its, NULL))
		return -errno;
	err = netsegd_epoll_add(d, d->sigfd, EPOLLIN, &tag_signal);
	err = err ?: netsegd_epoll_add(d, d->timerfd, EPOLLIN, &tag_timer);
	if (err)
		return err;
	d->rb = ring_buffer__new(netseg_dp_map_fd(d->dp, NETSEG_DPM_EVENTS), on_event, d, NULL);
	if (!d->rb)
		return -errno;
	err = netsegd_epoll_add(d, ring_buffer__epoll_fd(d->rb), EPOLLIN, &tag_ring);
	return err ?: netsegd_rtnl_open(d, &tag_rtnl);
}

static void reload_config(struct netsegd *d)
{
	struct netsegd_config c = d->cfg;

	if (!d->cfg.path[0]) {
		pr_info("SIGHUP: no config file to reload");
		return;
	}
	if (netsegd_config_load(&c, d->cfg.path)) {
		pr_err("SIGHUP: config %s rejected; keeping the running config", d->cfg.path);
		return;
	}
	/* Paths can't move under a running daemon; the rest applies now. */
	d->cfg.deny_rate = c.deny_rate;
	d->cfg.deny_burst = c.deny_burst;
	d->cfg.log_allowed = c.log_allowed;
	netseg_dp_config_set_events(d->dp, c.deny_rate, c.deny_burst,
				    c.log_allowed ? NETSEG_CFG_LOG_ALLOWED : 0);
	pr_info("SIGHUP: reloaded %s", d->cfg.path);
}

static void on_signal(struct netsegd *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload_config(d);
		else
			d->stop = true;
	}
}

static void on_timer(struct netsegd *d)
{
	__u64 ticks;

	if (read(d->timerfd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	netsegd_ct_gc(d);
	netsegd_flowlog_tick(d);
	netsegd_endpoints_tick(d);
	netsegd_rtnl_tick(d);
}

int netsegd_run(struct netsegd *d)
{
	struct epoll_event evs[32];
	int err = setup_fds(d), n;

	if (err) {
		pr_err("couldn't set up the event loop: %s", strerror(-err));
		return err;
	}
	err = netsegd_drop_privileges();
	if (err)
		return err;
	while (!d->stop) {
		n = epoll_wait(d->epfd, evs, 32, -1);
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
				ring_buffer__consume(d->rb);
				netsegd_flowlog_flush(d);
			} else if (netsegd_flowlog_owns(d, p))
				netsegd_flowlog_sink_event(d, p, evs[i].events);
			else if (p == &tag_rtnl)
				netsegd_rtnl_event(d);
			else
				netsegd_client_event(d, p, evs[i].events);
		}
		/* Once per batch: a pod's link, route and neighbour cost one bump. */
		netsegd_flush_generation(d);
	}
	return 0;
}
