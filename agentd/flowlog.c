// SPDX-License-Identifier: GPL-2.0-only
/* Flow logs: records, history, sinks (see flowlog.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "flowfilter.h"
#include "flowlog.h"
#include "flowrec.h"
#include "log.h"
#include "netsegd.h"
#include "text.h"
#include "version.h"

#define FL_MAX_FOLLOW 16	     /* `flows` streams, history or --follow */
#define FL_QUEUE_MAX (4U << 20)	     /* bytes a TCP sink may hold back */
#define FL_STREAM_CHUNK (256U << 10) /* bytes a `flows` stream queues at a time */
#define FL_LOST_EVERY_MS 10000	     /* in-band loss reports at most this often */
#define FL_FILE_BUF (256U << 10)
#define FL_BACKOFF_MIN_MS 500 /* first reconnect of a TCP sink */
#define FL_BACKOFF_MAX_MS 30000
#define FL_STABLE_MS 10000 /* a connection this old resets the backoff */

struct fl_sink {
	struct netsegd_sink_conf conf; /* what the config says */
	/* file */
	struct netseg_chain chain;
	FILE *f;
	__u64 size;
	/* syslog */
	int fd;
	bool connected;
	/*
	 * TCP: whole octet-counted frames, oldest first; the first qsent
	 * bytes of them are in the socket already.  written counts frames
	 * handed to the socket in full, queued the frames still here.
	 */
	char *q;
	size_t qlen, qsent;
	__u64 queued;
	__u64 retry_ms;
	__u64 up_ms; /* when the connection came up */
	unsigned int backoff_ms;
	/* counters */
	__u64 written;
	__u64 dropped;	   /* TCP queue full, or a frame cut by a lost connection */
	__u64 send_errors; /* not made, sent or written: last_errno says why */
	int last_errno;
	__u64 truncated; /* sent with free text shortened to fit */
};

/*
 * A `flows` stream.  Records are numbered from 0 as they come (fl->total);
 * the history holds [total - count, total).  The stream reads it from
 * next on; a record it hadn't reached when the history overwrote it is
 * counted in skipped and said to the reader.
 */
struct fl_follower {
	struct netsegd_follower_io io; /* io.ctx NULL = a free slot */
	struct netsegd_flow_filter want;
	__u64 unlogged_said; /* unlogged flow starts left out, as last said */
	__u64 next;	     /* number of the next record to look at */
	__u64 end;	     /* history only: where it ended at the request */
	__u64 skipped;	     /* overwritten before we got to them, not said yet */
};

struct netsegd_flowlog {
	struct fl_sink sinks[NETSEGD_MAX_SINKS];
	unsigned int n;
	struct netseg_flowrec *hist;
	size_t hist_max; /* "flow_history" */
	size_t head, count;
	__u64 total; /* records ever kept: the next one's number */
	struct fl_follower follow[FL_MAX_FOLLOW];
	__s64 rt_off;
	struct netseg_flowfmt_opts opts;
	__u64 seen_ring, seen_rate, seen_queue, seen_send; /* already reported */
	__u64 unlogged_base; /* unlogged flow starts left out before we started */
	__u64 last_report_ms;
	char line[NETSEG_CHAIN_LINE_MAX];
	char chained[NETSEG_CHAIN_LINE_MAX];
	char udp_line[NETSEG_FLOWFMT_MAX]; /* a record shortened to fit a datagram */
};

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

int netsegd_flowlog_new(const struct netsegd_sink_conf *sinks, unsigned int n, __u32 history,
			struct netsegd_flowlog **out)
{
	struct netsegd_flowlog *fl = calloc(1, sizeof(*fl));

	if (!fl)
		return -ENOMEM;
	fl->hist_max = history ?: NETSEGD_FLOW_HISTORY;
	fl->hist = calloc(fl->hist_max, sizeof(*fl->hist));
	if (!fl->hist) {
		free(fl);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n && i < NETSEGD_MAX_SINKS; i++) {
		fl->sinks[i].conf = sinks[i];
		fl->sinks[i].fd = -1;
	}
	fl->n = n < NETSEGD_MAX_SINKS ? n : NETSEGD_MAX_SINKS;
	fl->rt_off = netseg_realtime_offset_ns();
	fl->opts.version = NETSEG_VERSION;
	fl->last_report_ms = now_ms();
	*out = fl;
	return 0;
}

/* -------------------------------------------------------------- sinks */

static int file_open(struct fl_sink *s)
{
	struct stat st;

	s->f = fopen(s->conf.path, "a");
	if (!s->f) {
		pr_err("flow log %s: %s", s->conf.path, strerror(errno));
		return -errno;
	}
	fchmod(fileno(s->f), 0640);
	setvbuf(s->f, NULL, _IOFBF, FL_FILE_BUF);
	s->size = fstat(fileno(s->f), &st) ? 0 : st.st_size;
	/* An existing chained file goes on from its last record. */
	if (s->conf.chained && s->size && netseg_chain_resume(&s->chain, s->conf.path))
		pr_warn("flow log %s: couldn't resume its hash chain; starting a new one",
			s->conf.path);
	return 0;
}

/* path.(keep-1) -> path.keep ... path -> path.1; the chain carries on. */
static void file_rotate(struct fl_sink *s)
{
	char from[300], to[300];

	fclose(s->f);
	s->f = NULL;
	for (unsigned int i = s->conf.keep; i >= 1; i--) {
		snprintf(from, sizeof(from), i == 1 ? "%s" : "%s.%u", s->conf.path, i - 1);
		snprintf(to, sizeof(to), "%s.%u", s->conf.path, i);
		rename(from, to);
	}
	if (!s->conf.keep)
		unlink(s->conf.path);
	file_open(s);
}

/* Bytes of the octet-counted frame at @off in the queue. */
static size_t q_head_len_at(const struct fl_sink *s, size_t off)
{
	size_t n = 0, i = off;

	/* tcp_queue wrote "LEN " before it: digits, then a space. */
	while (i < s->qlen && s->q[i] >= '0' && s->q[i] <= '9')
		n = n * 10 + (s->q[i++] - '0');
	return i - off + 1 + n;
}

static size_t q_head_len(const struct fl_sink *s)
{
	return q_head_len_at(s, 0);
}

/* Takes frames the socket has in full off the queue. */
static void q_pop_sent(struct fl_sink *s)
{
	size_t off = 0, len;

	while (off < s->qsent && (len = q_head_len_at(s, off)) <= s->qsent - off) {
		off += len;
		s->queued--;
		s->written++;
	}
	if (!off)
		return;
	memmove(s->q, s->q + off, s->qlen - off);
	s->qlen -= off;
	s->qsent -= off;
}

/*
 * A frame cut by the connection's end can't be finished on the next one:
 * the receiver would read its tail as a new frame and lose the framing for
 * good.  It is dropped (the old peer saw a short frame, its problem), so
 * the new connection starts on a frame boundary.
 */
static void q_drop_partial(struct fl_sink *s)
{
	size_t len;

	if (!s->qsent)
		return;
	len = q_head_len(s);
	memmove(s->q, s->q + len, s->qlen - len);
	s->qlen -= len;
	s->qsent = 0;
	s->queued--;
	s->dropped++;
}

/* What sock_close() will wait before the next attempt, for the log. */
static unsigned int next_backoff(const struct fl_sink *s)
{
	if (!s->backoff_ms || (s->connected && now_ms() - s->up_ms >= FL_STABLE_MS))
		return FL_BACKOFF_MIN_MS;
	return s->backoff_ms * 2 > FL_BACKOFF_MAX_MS ? FL_BACKOFF_MAX_MS : s->backoff_ms * 2;
}

/*
 * Backoff doubles up to 30 s while connections fail or die young (a peer
 * that accepts and resets at once must not be hammered); one that lived
 * FL_STABLE_MS starts it over.
 */
static void sock_close(struct netsegd *d, struct fl_sink *s)
{
	s->backoff_ms = next_backoff(s); /* while s->connected still says */
	s->retry_ms = now_ms() + s->backoff_ms;
	if (s->fd >= 0)
		close(s->fd); /* also leaves epoll */
	s->fd = -1;
	s->connected = false;
	q_drop_partial(s);
	(void)d;
}

static int sock_open(struct netsegd *d, struct fl_sink *s)
{
	int type = s->conf.kind == NETSEGD_SINK_TCP ? SOCK_STREAM : SOCK_DGRAM;
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = s };

	int err;

	s->fd = socket(s->conf.addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		err = -errno;
		pr_warn("flow log %s: socket: %s; retrying", s->conf.name, strerror(-err));
		sock_close(d, s);
		return err;
	}
	if (connect(s->fd, (struct sockaddr *)&s->conf.addr, s->conf.alen) &&
	    errno != EINPROGRESS) {
		err = -errno;
		pr_warn("flow log %s: connect: %s; retrying in %u ms", s->conf.name, strerror(-err),
			next_backoff(s));
		sock_close(d, s);
		return err;
	}
	s->connected = s->conf.kind == NETSEGD_SINK_UDP;
	if (s->conf.kind == NETSEGD_SINK_TCP)
		epoll_ctl(d->loop.epfd, EPOLL_CTL_ADD, s->fd, &ev);
	return 0;
}

static void tcp_flush(struct netsegd *d, struct fl_sink *s)
{
	struct epoll_event ev = { .data.ptr = s };

	while (s->connected && s->qsent < s->qlen) {
		ssize_t n = send(s->fd, s->q + s->qsent, s->qlen - s->qsent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			pr_warn("flow log %s: %s; reconnecting in %u ms", s->conf.name,
				n < 0 ? strerror(errno) : "closed by peer", next_backoff(s));
			sock_close(d, s);
			return;
		}
		s->qsent += n;
	}
	q_pop_sent(s);
	if (s->fd >= 0) {
		ev.events = EPOLLIN | (s->qsent < s->qlen || !s->connected ? EPOLLOUT : 0);
		epoll_ctl(d->loop.epfd, EPOLL_CTL_MOD, s->fd, &ev);
	}
}

static void tcp_queue(struct netsegd *d, struct fl_sink *s, const char *msg, size_t len)
{
	char prefix[24];
	int p = netseg_syslog_octet_prefix(prefix, sizeof(prefix), len);

	if (p < 0 || s->qlen + p + len > FL_QUEUE_MAX) {
		s->dropped++; /* never block the loop: count and move on */
		return;
	}
	if (!s->q) {
		s->q = malloc(FL_QUEUE_MAX);
		if (!s->q) {
			s->dropped++;
			return;
		}
	}
	memcpy(s->q + s->qlen, prefix, p);
	memcpy(s->q + s->qlen + p, msg, len);
	s->qlen += p + len;
	s->queued++;
	tcp_flush(d, s);
}

static void send_failed(struct fl_sink *s, int err)
{
	s->send_errors++;
	s->last_errno = err;
}

static int severity_of(const struct netseg_flowrec *r)
{
	switch (r->kind) {
	case NETSEG_FLOW_DENIED:
		return 4; /* warning */
	case NETSEG_FLOW_AUDIT:
	case NETSEG_FLOW_LOST:
		return 5; /* notice */
	default:
		return 6; /* informational */
	}
}

static void syslog_write(struct netsegd *d, struct fl_sink *s, const struct netseg_flowrec *r,
			 const char *line, size_t len)
{
	static const char *const msgid[] = { [NETSEG_FLOW_ALLOWED] = "FLOW_ALLOW",
					     [NETSEG_FLOW_DENIED] = "FLOW_DENY",
					     [NETSEG_FLOW_AUDIT] = "FLOW_AUDIT",
					     [NETSEG_FLOW_END] = "FLOW_END",
					     [NETSEG_FLOW_LOST] = "FLOW_LOST" };
	char pid[16], buf[NETSEG_FLOWFMT_MAX + 1024];
	struct netseg_syslog_hdr h = {
		.facility = s->conf.facility,
		.severity = severity_of(r),
		.time_ns = r->time_ns,
		.hostname = d->cfg.node_name,
		.app = "netseg",
		.procid = pid,
		.msgid = msgid[r->kind],
	};
	bool cut = false;
	int n;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (s->conf.kind == NETSEGD_SINK_UDP) {
		/* One datagram each: a longer record is rewritten with its free
		 * text shortened, never cut (a cut JSON line is lost to every
		 * parser).  The header, SP and BOM come first. */
		n = netseg_syslog_format(buf, sizeof(buf), &h, NULL, 0, 0);
		if (n >= 0 && (size_t)n + 4 + len > NETSEG_SYSLOG_UDP_MAX) {
			n = NETSEG_SYSLOG_UDP_MAX > n + 4 ?
				    netseg_flowfmt_fit(s->conf.fmt, r, &d->fl->opts,
						       NETSEG_SYSLOG_UDP_MAX - n - 4,
						       d->fl->udp_line, sizeof(d->fl->udp_line),
						       &cut) :
				    -EMSGSIZE;
			line = d->fl->udp_line;
			len = n;
		}
		if (n < 0) {
			send_failed(s, -n);
			return;
		}
	}
	n = netseg_syslog_format(buf,
				 s->conf.kind == NETSEGD_SINK_UDP ? NETSEG_SYSLOG_UDP_MAX + 1 :
								    sizeof(buf),
				 &h, line, len, 0);
	if (n < 0) {
		send_failed(s, -n);
		return;
	}
	if (s->conf.kind == NETSEGD_SINK_TCP) {
		tcp_queue(d, s, buf, n);
		return;
	}
	/* A connected UDP socket reports an earlier datagram's ICMP error on
	 * this send (ECONNREFUSED: nobody listens): a send error, not a full
	 * queue, and this record is lost too. */
	if (s->fd < 0 || send(s->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		send_failed(s, s->fd < 0 ? ENOTCONN : errno);
		return;
	}
	s->written++;
	s->truncated += cut;
}

static void file_write(struct fl_sink *s, struct netsegd_flowlog *fl, const char *line, size_t len)
{
	int n;

	if (!s->f) {
		send_failed(s, EBADF);
		return;
	}
	if (s->conf.chained) {
		n = netseg_chain_line_in(&s->chain, netseg_flowfmt_chain_member(s->conf.fmt), line,
					 len, fl->chained, sizeof(fl->chained));
		if (n < 0) {
			send_failed(s, -n);
			return;
		}
		line = fl->chained;
		len = n;
	}
	if (fwrite(line, 1, len, s->f) != len || fputc('\n', s->f) == EOF) {
		send_failed(s, errno ? errno : EIO);
		return;
	}
	s->written++;
	s->size += len + 1;
	if (s->size >= s->conf.max_bytes)
		file_rotate(s);
}

static bool wants(unsigned int verdicts, int kind)
{
	return !verdicts || (verdicts & (1U << kind));
}

/* ------------------------------------------------------------ records */

/* snprintf(buf, len, "%s", s) without printf: names are looked up per record. */
static void copy_name(char *buf, size_t len, const char *s)
{
	size_t n = strnlen(s, len - 1);

	memcpy(buf, s, n);
	buf[n] = '\0';
}

static int name_identity(void *ctx, __u32 id, char *buf, size_t len)
{
	const char *s = netsegd_id_name(ctx, id, buf, len);

	if (s != buf)
		copy_name(buf, len, s);
	return 0;
}

static int name_iface(void *ctx, __u32 ifindex, char *buf, size_t len)
{
	struct netsegd *d = ctx;
	char name[IF_NAMESIZE];
	const struct netsegd_link *l = netsegd_link_get(d, ifindex);

	/* rtnetlink keeps every link's name: no syscall per record. */
	if (l) {
		copy_name(buf, len, l->name);
		return l->id ? NETSEG_IFK_ENDPOINT : NETSEG_IFK_UPLINK;
	}
	snprintf(buf, len, "%s", ifindex && if_indextoname(ifindex, name) ? name : "");
	return NETSEG_IFK_UPLINK;
}

static int name_rule(void *ctx, __u32 id, char *text, size_t tlen, char *comment, size_t clen)
{
	const struct netseg_rule *r = netsegd_rule_by_id(ctx, id);

	if (!r)
		return -ENOENT;
	netseg_rule_format_line(r, text, tlen);
	snprintf(comment, clen, "%s", r->comment);
	return 0;
}

static void names_of(struct netsegd *d, struct netseg_flow_names *n)
{
	n->ctx = d;
	n->identity = name_identity;
	n->iface = name_iface;
	n->rule = name_rule;
	n->node = d->cfg.node_name;
}

static bool follower_wants(const struct fl_follower *f, const struct netseg_flowrec *r)
{
	if (!wants(f->want.verdicts, r->kind))
		return false;
	if (f->want.identity[0] && strcmp(f->want.identity, r->src_name) &&
	    strcmp(f->want.identity, r->dst_name))
		return false;
	if (!netseg_flowfilter_match(&f->want.flt, r))
		return false;
	return f->want.rule < 0 || (r->has_rule && r->rule_id == (__u32)f->want.rule);
}

static int fmt_line(struct netsegd_flowlog *fl, int fmt, const struct netseg_flowrec *r)
{
	return netseg_flowfmt(fmt, r, &fl->opts, fl->line, sizeof(fl->line));
}

static void send_follower(struct fl_follower *f, const char *key, const char *line, __u64 n)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddBoolToObject(m, "ok", true);
	if (line)
		cJSON_AddStringToObject(m, key, line);
	else
		cJSON_AddNumberToObject(m, key, (double)n);
	f->io.send(f->io.ctx, m);
}

/*
 * Queue what the stream has next, up to FL_STREAM_CHUNK bytes waiting in
 * the client's buffer: the rest follows as the socket drains.  A history
 * stream that has sent its last record gets its end line and is done.
 */
static void stream_pump(struct netsegd *d, struct fl_follower *f)
{
	struct netsegd_flowlog *fl = d->fl;
	__u64 oldest = fl->total - fl->count;
	__u64 stop = f->want.follow ? fl->total : f->end;
	const struct netseg_flowrec *r;
	cJSON *end;

	while (f->io.backlog(f->io.ctx) < FL_STREAM_CHUNK) {
		if (f->next < oldest) {
			f->skipped += oldest - f->next;
			f->next = oldest;
		}
		if (f->skipped) {
			send_follower(f, "skipped", NULL, f->skipped);
			f->skipped = 0;
		}
		if (f->next >= stop)
			break;
		r = &fl->hist[f->next++ % fl->hist_max];
		if (follower_wants(f, r) && fmt_line(fl, f->want.fmt, r) >= 0)
			send_follower(f, "flow", fl->line, 0);
	}
	if (f->want.follow || f->next < stop)
		return;
	end = cJSON_CreateObject();
	cJSON_AddBoolToObject(end, "ok", true);
	cJSON_AddBoolToObject(end, "end", true);
	f->io.send(f->io.ctx, end);
	f->io.ctx = NULL;
}

static void dispatch(struct netsegd *d, const struct netseg_flowrec *r)
{
	struct netsegd_flowlog *fl = d->fl;
	int n;

	fl->hist[fl->head] = *r;
	fl->head = (fl->head + 1) % fl->hist_max;
	fl->total++;
	if (fl->count < fl->hist_max)
		fl->count++;
	for (unsigned int i = 0; i < fl->n; i++) {
		struct fl_sink *s = &fl->sinks[i];

		/* An allowed flow no rule logs is for the history alone. */
		if (r->history_only || !wants(s->conf.verdicts, r->kind))
			continue;
		n = fmt_line(fl, s->conf.fmt, r);
		if (n < 0) {
			send_failed(s, -n);
			continue;
		}
		if (s->conf.kind == NETSEGD_SINK_FILE || s->conf.kind == NETSEGD_SINK_STDOUT)
			file_write(s, fl, fl->line, n);
		else
			syslog_write(d, s, r, fl->line, n);
	}
	for (int i = 0; i < FL_MAX_FOLLOW; i++)
		if (fl->follow[i].io.ctx && fl->follow[i].want.follow)
			stream_pump(d, &fl->follow[i]);
}

void netsegd_flowlog_event(struct netsegd *d, const struct netseg_event *ev)
{
	struct netseg_flow_names names;
	struct netseg_flowrec r;

	if (!d->fl)
		return;
	names_of(d, &names);
	if (netseg_flowrec_from_event(ev, d->fl->rt_off, &names, &r))
		return;
	dispatch(d, &r);
}

void netsegd_flowlog_ct_end(struct netsegd *d, const struct netseg_ct_key *k,
			    const struct netseg_ct_entry *e)
{
	struct netseg_flow_names names;
	struct netseg_flowrec r;

	if (!d->fl)
		return;
	names_of(d, &names);
	if (netseg_flowrec_from_ct(k, e, d->fl->rt_off, &names, &r))
		return;
	dispatch(d, &r);
}

void netsegd_flowlog_flush(struct netsegd *d)
{
	for (unsigned int i = 0; d->fl && i < d->fl->n; i++)
		if (d->fl->sinks[i].f)
			fflush(d->fl->sinks[i].f);
}

/* ---------------------------------------------------------- lifecycle */

int netsegd_flowlog_start(struct netsegd *d)
{
	struct netsegd_flowlog *fl = d->fl;
	struct netseg_counter c[NETSEG_STAT_MAX];
	int err = 0;

	/* The counters are pinned and outlive a restart: report from here on,
	 * not again what an earlier run reported. */
	if (fl && !netseg_dp_read_counters(d->dp, c)) {
		fl->seen_ring = c[NETSEG_STAT_EV_LOST_RING].packets;
		fl->seen_rate = c[NETSEG_STAT_EV_LOST_RATE].packets;
		fl->unlogged_base = c[NETSEG_STAT_EV_LOST_SEEN].packets;
	}

	for (unsigned int i = 0; fl && i < fl->n; i++) {
		struct fl_sink *s = &fl->sinks[i];

		if (s->conf.kind == NETSEGD_SINK_FILE) {
			if (s->conf.chained)
				netseg_chain_init(&s->chain, NULL);
			err = file_open(s);
			if (err)
				return err;
		} else if (s->conf.kind == NETSEGD_SINK_STDOUT) {
			s->f = stdout;
		} else {
			sock_open(d, s); /* failures retry from the tick */
		}
	}
	return 0;
}

void netsegd_flowlog_free(struct netsegd_flowlog *fl)
{
	if (!fl)
		return;
	for (unsigned int i = 0; i < fl->n; i++) {
		struct fl_sink *s = &fl->sinks[i];

		if (s->f && s->f != stdout)
			fclose(s->f);
		else if (s->f)
			fflush(s->f);
		if (s->fd >= 0)
			close(s->fd);
		free(s->q);
	}
	free(fl->hist);
	free(fl);
}

static void report_losses(struct netsegd *d)
{
	struct netsegd_flowlog *fl = d->fl;
	struct netseg_counter c[NETSEG_STAT_MAX];
	struct netseg_flowrec r;
	__u64 queue = 0, send = 0, ring, rate;
	int err = 0;

	if (netseg_dp_read_counters(d->dp, c))
		return;
	for (unsigned int i = 0; i < fl->n; i++) {
		queue += fl->sinks[i].dropped;
		send += fl->sinks[i].send_errors;
		if (fl->sinks[i].send_errors)
			err = fl->sinks[i].last_errno;
	}
	ring = c[NETSEG_STAT_EV_LOST_RING].packets;
	rate = c[NETSEG_STAT_EV_LOST_RATE].packets;
	if (ring == fl->seen_ring && rate == fl->seen_rate && queue == fl->seen_queue &&
	    send == fl->seen_send)
		return;
	netseg_flowrec_lost(&r, (__u64)(fl->rt_off + (__s64)(now_ms() * 1000000ULL)),
			    ring - fl->seen_ring, rate - fl->seen_rate, queue - fl->seen_queue,
			    d->cfg.node_name);
	r.lost_send = send - fl->seen_send;
	r.lost_send_errno = err;
	fl->seen_ring = ring;
	fl->seen_rate = rate;
	fl->seen_queue = queue;
	fl->seen_send = send;
	dispatch(d, &r);
}

/* Unlogged flow starts the datapath left out of the history since we started. */
static __u64 unlogged_left_out(struct netsegd *d)
{
	struct netseg_counter c[NETSEG_STAT_MAX];
	__u64 n;

	if (netseg_dp_read_counters(d->dp, c))
		return 0;
	n = c[NETSEG_STAT_EV_LOST_SEEN].packets;
	return n >= d->fl->unlogged_base ? n - d->fl->unlogged_base : n;
}

/*
 * Allowed flows no rule logs reach the history through a token bucket of
 * their own (NETSEG_SEEN_RATE per CPU): a reader is told how many were left
 * out, once any were, so a sampled view isn't taken for the whole traffic.
 */
static void note_unlogged(struct netsegd *d, struct fl_follower *f, __u64 n)
{
	cJSON *m, *u;

	if (n == f->unlogged_said)
		return;
	f->unlogged_said = n;
	m = cJSON_CreateObject();
	cJSON_AddBoolToObject(m, "ok", true);
	u = cJSON_AddObjectToObject(m, "unlogged");
	cJSON_AddNumberToObject(u, "left_out", n);
	cJSON_AddNumberToObject(u, "rate", NETSEG_SEEN_RATE);
	cJSON_AddNumberToObject(u, "burst", NETSEG_SEEN_BURST);
	f->io.send(f->io.ctx, m);
}

/* Live readers hear of unlogged flow starts left out as it happens. */
static void note_followers(struct netsegd *d)
{
	__u64 n = 0;
	bool read = false;

	for (int i = 0; i < FL_MAX_FOLLOW; i++) {
		struct fl_follower *f = &d->fl->follow[i];

		if (!f->io.ctx || !f->want.follow)
			continue;
		if (!read) {
			n = unlogged_left_out(d);
			read = true;
		}
		note_unlogged(d, f, n);
	}
}

void netsegd_flowlog_tick(struct netsegd *d)
{
	struct netsegd_flowlog *fl = d->fl;
	__u64 now = now_ms();

	if (!fl)
		return;
	for (unsigned int i = 0; i < fl->n; i++) {
		struct fl_sink *s = &fl->sinks[i];

		if ((s->conf.kind == NETSEGD_SINK_UDP || s->conf.kind == NETSEGD_SINK_TCP) &&
		    s->fd < 0 && now >= s->retry_ms)
			sock_open(d, s);
	}
	if (now - fl->last_report_ms >= FL_LOST_EVERY_MS) {
		fl->last_report_ms = now;
		report_losses(d);
	}
	note_followers(d);
	netsegd_flowlog_flush(d);
}

bool netsegd_flowlog_owns(struct netsegd *d, void *ptr)
{
	struct netsegd_flowlog *fl = d->fl;

	return fl && (char *)ptr >= (char *)fl->sinks &&
	       (char *)ptr < (char *)(fl->sinks + NETSEGD_MAX_SINKS);
}

void netsegd_flowlog_sink_event(struct netsegd *d, void *ptr, __u32 events)
{
	struct fl_sink *s = ptr;
	int err = 0;
	socklen_t len = sizeof(err);

	if (s->fd < 0)
		return;
	if (!s->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			pr_warn("flow log %s: connect: %s; retrying in %u ms", s->conf.name,
				strerror(err), next_backoff(s));
			sock_close(d, s);
			return;
		}
		s->connected = true;
		s->up_ms = now_ms();
		pr_info("flow log %s: connected (%llu records queued)", s->conf.name,
			(unsigned long long)s->queued);
	}
	if (events & (EPOLLHUP | EPOLLERR | EPOLLIN)) {
		char buf[256];

		/* A syslog server never talks back: data or EOF means it's gone. */
		ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n >= 0 || errno != EAGAIN) {
			pr_warn("flow log %s: connection lost (%s); reconnecting in %u ms",
				s->conf.name,
				n > 0  ? "the receiver sent data" :
				n == 0 ? "closed by peer" :
					 strerror(errno),
				next_backoff(s));
			sock_close(d, s);
			return;
		}
	}
	tcp_flush(d, s);
}

/* ------------------------------------------------------------ streams */

/* "last": N: the stream starts at the last N records of the history it wants. */
static __u64 history_start(const struct netsegd_flowlog *fl, const struct fl_follower *f)
{
	__u64 i = fl->total, oldest = fl->total - fl->count, n = 0;

	if (f->want.last < 0)
		return oldest;
	while (i > oldest && n < (__u64)f->want.last)
		if (follower_wants(f, &fl->hist[--i % fl->hist_max]))
			n++;
	return i;
}

cJSON *netsegd_flowlog_request(struct netsegd *d, const struct netsegd_follower_io *io,
			       const struct netsegd_flow_filter *want)
{
	struct netsegd_flowlog *fl = d->fl;
	struct fl_follower f = { .io = *io, .want = *want };
	int slot = -1;

	if (!fl)
		return netsegd_reply_error("internal", "flow logs are off");
	for (int i = 0; i < FL_MAX_FOLLOW && slot < 0; i++)
		if (!fl->follow[i].io.ctx)
			slot = i;
	if (slot < 0)
		return netsegd_reply_error("rejected",
					   "flows: %d streams already; try again when one ends",
					   FL_MAX_FOLLOW);
	f.next = history_start(fl, &f);
	f.end = fl->total;
	fl->follow[slot] = f;
	note_unlogged(d, &fl->follow[slot], unlogged_left_out(d));
	stream_pump(d, &fl->follow[slot]);
	return NULL;
}

void netsegd_flowlog_refill(struct netsegd *d, const void *ctx)
{
	for (int i = 0; d->fl && i < FL_MAX_FOLLOW; i++)
		if (d->fl->follow[i].io.ctx == ctx)
			stream_pump(d, &d->fl->follow[i]);
}

void netsegd_flowlog_forget(struct netsegd *d, const void *ctx)
{
	for (int i = 0; d->fl && i < FL_MAX_FOLLOW; i++)
		if (d->fl->follow[i].io.ctx == ctx)
			d->fl->follow[i].io.ctx = NULL;
}

bool netsegd_flowlog_following(const struct netsegd *d, const void *ctx)
{
	for (int i = 0; d->fl && i < FL_MAX_FOLLOW; i++)
		if (d->fl->follow[i].io.ctx == ctx)
			return true;
	return false;
}

cJSON *netsegd_flowlog_stats(struct netsegd *d)
{
	cJSON *a = cJSON_CreateArray();

	for (unsigned int i = 0; d->fl && i < d->fl->n; i++) {
		const struct fl_sink *s = &d->fl->sinks[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "sink", s->conf.name);
		cJSON_AddStringToObject(o, "format", netseg_flowfmt_name(s->conf.fmt));
		cJSON_AddNumberToObject(o, "written", s->written);
		cJSON_AddNumberToObject(o, "dropped", s->dropped);
		cJSON_AddNumberToObject(o, "send_errors", s->send_errors);
		if (s->send_errors)
			cJSON_AddStringToObject(o, "last_send_error", strerror(s->last_errno));
		cJSON_AddNumberToObject(o, "truncated", s->truncated);
		if (s->conf.kind == NETSEGD_SINK_TCP)
			cJSON_AddNumberToObject(o, "queued", s->queued);
		if (s->conf.kind == NETSEGD_SINK_TCP || s->conf.kind == NETSEGD_SINK_UDP)
			cJSON_AddBoolToObject(o, "connected", s->connected);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}
