// SPDX-License-Identifier: GPL-2.0-only
/*
 * The event loop: control socket, rtnetlink, ring buffer, a timerfd for
 * conntrack GC and cgroup rescans, a signalfd for SIGTERM/SIGINT (stop)
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
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "flowlog.h"
#include "netsegd.h"
#include "version.h"

/* epoll data tags for the fixed fds; clients carry their struct pointer. */
static char tag_signal, tag_timer, tag_ring, tag_rtnl, tag_metrics;
static bool running;	/* inside netsegd_run(): the ready line may be said */

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

#define CT_GC_BATCH	1024		/* entries per bpf_map_lookup_batch */
#define CT_GC_DEAD_MAX	65536		/* expired flows removed per walk */
#define CT_WARN_EVERY_MS 60000

/*
 * Evictions are inferred (see struct netsegd_ctstats); a full table is
 * said in the log, at most once a minute, with what to do about it.
 */
static void ct_account(struct netsegd *d, __u64 entries)
{
	struct netsegd_ctstats *ct = &d->ct;
	struct netseg_counter c[NETSEG_STAT_MAX];
	__s64 evicted, grew;
	__u64 now;

	ct->entries = entries;
	if (!ct->max) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(netseg_dp_map_fd(d->dp, NETSEG_DPM_CT), &info, &len))
			ct->max = info.max_entries;
	}
	if (netseg_dp_read_counters(d->dp, c))
		return;
	/* A new flow that replaced its tuple's old entry added none. */
	grew = (__s64)c[NETSEG_STAT_CT_NEW].packets - (__s64)c[NETSEG_STAT_CT_REPLACED].packets;
	if (!ct->primed) {
		ct->base = (__s64)entries - grew;
		ct->primed = true;
	}
	evicted = ct->base + grew - (__s64)ct->removed - (__s64)entries;
	/* The walk races the datapath: keep the highest, never go back. */
	if (evicted <= (__s64)ct->evicted)
		return;
	/* Evicting at all means full: the LRU's per-CPU free lists make it
	 * start below max_entries, so the fill alone doesn't tell. */
	ct->evicted = evicted;
	now = mono_ns() / 1000000;
	if (!ct->warned_ms || now - ct->warned_ms >= CT_WARN_EVERY_MS) {
		ct->warned_ms = now;
		pr_warn("conntrack table is full (%llu entries, ct_max %llu): about %llu flows "
			"evicted so far, least recently used first; raise ct_max",
			(unsigned long long)entries, (unsigned long long)ct->max,
			(unsigned long long)ct->evicted);
	}
}

/*
 * Expired flows leave the table here (the datapath ignores them already).
 * bpf_ktime_get_ns() is CLOCK_MONOTONIC, so the two clocks compare.
 *
 * Batched lookups walk the hash bucket by bucket: a key-by-key walk
 * (get_next_key) starts over from the first bucket whenever the datapath
 * evicts the key it stands on, which a full LRU table under a flood of
 * new flows does all the time, so that walk could count entries twice and
 * keep the loop busy for long.
 */
void netsegd_ct_gc(struct netsegd *d)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_CT);
	struct netseg_ct_key *keys, *dead = NULL;
	struct netseg_ct_entry *vals, *ends = NULL;
	__u64 now = mono_ns(), entries = 0, batch = 0;
	size_t n = 0, cap = 0;
	bool first = true, done = false;
	int err;

	/* calloc: valgrind can't tell the kernel filled them (BPF_MAP_LOOKUP_BATCH) */
	keys = calloc(CT_GC_BATCH, sizeof(*keys));
	vals = calloc(CT_GC_BATCH, sizeof(*vals));
	if (!keys || !vals)
		goto out;
	/* Collect, then delete: deleting under the walk would disturb it. */
	while (!done) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 count = CT_GC_BATCH;
		__u64 next = 0;	/* the kernel's token: a bucket index */

		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &next, keys, vals,
					   &count, &opts);
		if (err && errno != ENOENT) {
			pr_warn("conntrack GC: couldn't read the table: %s", strerror(errno));
			goto out;
		}
		done = err != 0;
		first = false;
		batch = next;
		entries += count;
		for (__u32 i = 0; i < count; i++) {
			if (!netseg_ct_expired(&vals[i], now))
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				struct netseg_ct_key *nd;
				struct netseg_ct_entry *ne;

				if (ncap > CT_GC_DEAD_MAX)
					break;	/* the rest go on the next tick */
				nd = realloc(dead, ncap * sizeof(*dead));
				if (nd)
					dead = nd;
				ne = nd ? realloc(ends, ncap * sizeof(*ends)) : NULL;
				if (!ne)
					goto out;
				ends = ne;
				cap = ncap;
			}
			dead[n] = keys[i];
			ends[n++] = vals[i];
		}
	}
	for (size_t i = 0; i < n; i++) {
		/*
		 * Looked at again: since the walk a packet may have refreshed
		 * it or a new flow replaced it under the same tuple (stamped
		 * after `now`, so not expired).  Narrows the race to a syscall.
		 */
		if (bpf_map_lookup_elem(fd, &dead[i], &ends[i]) ||
		    !netseg_ct_expired(&ends[i], now) || bpf_map_delete_elem(fd, &dead[i]))
			continue;
		d->ct.removed++;
		entries -= entries ? 1 : 0;
		/* Logged flows (--log, audit, log_allowed) end with a record. */
		if (ends[i].flags & NETSEG_CTF_LOG)
			netsegd_flowlog_ct_end(d, &dead[i], &ends[i]);
	}
	if (n)
		pr_debug("conntrack GC removed %zu expired flows", n);
	ct_account(d, entries);
out:
	free(keys);
	free(vals);
	free(dead);
	free(ends);
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
#define RING_BATCH	1024

static int on_event(void *ctx, void *data, size_t len)
{
	struct netsegd *d = ctx;

	d->events_seen++;
	if (len >= sizeof(struct netseg_event))
		netsegd_flowlog_event(d, data);
	/* The record is consumed either way; < 0 only stops the batch. */
	return ++d->ring_batch >= RING_BATCH ? -EAGAIN : 0;
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
	err = netsegd_rtnl_open(d, &tag_rtnl);
	return err ?: netsegd_metrics_open(d, &tag_metrics);
}

/* Settings the running daemon can't take: said, not silently dropped. */
static void note_restart_only(const struct netsegd_config *was,
			      const struct netsegd_config *c)
{
	static const struct { const char *key; size_t off, len; } f[] = {
#define F(key, field) { key, offsetof(struct netsegd_config, field), \
			sizeof(((struct netsegd_config *)0)->field) }
		F("pin_dir", pin_dir), F("run_dir", run_dir), F("state_dir", state_dir),
		F("socket", socket), F("node_name", node_name), F("ct_max", ct_max),
		F("netlink_rcvbuf", netlink_rcvbuf), F("prefilter_max", prefilter_max),
		F("uplinks", uplinks),
		F("flow_logs", flow_logs), F("metrics", metrics_listen),
		F("flow_history", flow_history),
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
	if (c.max_entries < d->entries) {
		pr_err("%s: \"max_rules\" %u is below the %zu policy entries in force",
		       d->cfg.path, c.max_entries, d->entries);
		pr_err("SIGHUP: config %s rejected; keeping the running config", d->cfg.path);
		return;
	}
	note_restart_only(&d->cfg_file, &c);
	d->cfg.max_entries = c.max_entries;
	d->cfg.deny_rate = c.deny_rate;
	d->cfg.deny_burst = c.deny_burst;
	d->cfg.log_allowed = c.log_allowed;
	d->cfg.control_idle_timeout = c.control_idle_timeout;
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
	netsegd_control_tick(d);
	netsegd_metrics_run(d);
}

void netsegd_say_ready(const struct netsegd *d)
{
	static bool said;

	if (!running || said)
		return;
	said = true;
	/* stdout may be a pipe or a file a script waits on: flushed now. */
	printf("netsegd %s ready: pins %s, socket %s, %zu rules, %zu endpoints\n",
	       NETSEG_VERSION, d->cfg.pin_dir, d->cfg.socket, d->rules.n,
	       netsegd_endpoint_count(d));
	fflush(stdout);
}

int netsegd_run(struct netsegd *d)
{
	struct epoll_event evs[32];
	int err, n;

	running = true;
	err = setup_fds(d);
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
				d->ring_batch = 0;
				ring_buffer__consume(d->rb);
				netsegd_flowlog_flush(d);
			} else if (netsegd_flowlog_owns(d, p))
				netsegd_flowlog_sink_event(d, p, evs[i].events);
			else if (p == &tag_rtnl)
				netsegd_rtnl_event(d);
			else if (p == &tag_metrics)
				netsegd_metrics_run(d);
			else
				netsegd_client_event(d, p, evs[i].events);
		}
		/* Once per batch: a pod's link, route and neighbour cost one bump. */
		netsegd_flush_generation(d);
	}
	return 0;
}
