/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Flow logs (docs/flow-records.md): ring-buffer events and conntrack ends become
 * records, kept in a bounded in-memory history for `netsegctl flows`, and
 * written to sinks — files (size rotation, keep N, optional hash chain),
 * stdout, syslog RFC 5424 over UDP or TCP (RFC 6587 octet counting) — each
 * with its own format and verdict filter.  Nothing here blocks the loop:
 * TCP sinks queue a bounded number of bytes and count what they drop.
 */
#ifndef NETSEGD_FLOWLOG_H
#define NETSEGD_FLOWLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <netseg/abi.h>

#include "flowfilter.h"

struct cJSON;
struct netsegd;
struct netsegd_sink_conf;
struct netsegd_flowlog;

/* The history of @history records (0: NETSEGD_FLOW_HISTORY), and the sinks config.c
 * checked (none: n = 0).  Opens nothing. */
int netsegd_flowlog_new(const struct netsegd_sink_conf *sinks, unsigned int n, __u32 history,
			struct netsegd_flowlog **out);
/* Opens files, connects syslog sinks, registers their fds with epoll. */
int netsegd_flowlog_start(struct netsegd *d);
void netsegd_flowlog_free(struct netsegd_flowlog *fl);

/* Records in. */
void netsegd_flowlog_event(struct netsegd *d, const struct netseg_event *ev);
void netsegd_flowlog_ct_end(struct netsegd *d, const struct netseg_ct_key *k,
			    const struct netseg_ct_entry *e);
/* After a batch of records: flush buffered file output. */
void netsegd_flowlog_flush(struct netsegd *d);
/* Once a second: reconnect sinks, report losses in band. */
void netsegd_flowlog_tick(struct netsegd *d);

/* epoll: true if ptr is one of our sinks, then handle its events. */
bool netsegd_flowlog_owns(struct netsegd *d, void *ptr);
void netsegd_flowlog_sink_event(struct netsegd *d, void *ptr, __u32 events);

/*
 * How a `flows` stream reaches its reader.  Whoever registers a follower
 * (the control socket) says how to queue a line to it and how much of what
 * it queued the reader hasn't taken yet, so nothing here knows what a
 * connection is.  ctx names the follower in the calls below.
 */
struct netsegd_follower_io {
	/* Queue one message line; the message is taken, even on error. */
	int (*send)(void *ctx, struct cJSON *msg);
	/* Bytes queued for the reader and not yet taken by it. */
	size_t (*backlog)(const void *ctx);
	void *ctx;
};

/* What a `flows` reader asked for (cmd_flows.c parses the request). */
struct netsegd_flow_filter {
	int fmt;		      /* enum netseg_flowfmt */
	unsigned int verdicts;	      /* one bit of enum netseg_flowrec_kind; 0 = all */
	char identity[64];	      /* source or destination, "" = any */
	long rule;		      /* -1 = any */
	struct netseg_flowfilter flt; /* observe's filters */
	long long last;		      /* start at the last N wanted records; -1 = all */
	bool follow;		      /* after the history, live records until the reader goes */
};

/*
 * `flows` on the control socket: the whole history, then live records if
 * follow.  Streamed with back-pressure: a part is queued, the next when the
 * reader has taken it (netsegd_flowlog_refill when its socket drained),
 * so a slow reader holds a bounded buffer and the loop never waits.
 * Records overwritten in the history before a slow reader got them are
 * said: {"ok": true, "skipped": N}.  Returns NULL when the stream started
 * (its lines go through @io), else the error reply for the request.
 */
struct cJSON *netsegd_flowlog_request(struct netsegd *d, const struct netsegd_follower_io *io,
				      const struct netsegd_flow_filter *want);
/* The reader drained its queue: queue its stream's next part, if it has one. */
void netsegd_flowlog_refill(struct netsegd *d, const void *ctx);
void netsegd_flowlog_forget(struct netsegd *d, const void *ctx);
/* Is ctx following (a stream that is quiet while no flow is logged)? */
bool netsegd_flowlog_following(const struct netsegd *d, const void *ctx);
/* Per-sink counters for `stats`. */
struct cJSON *netsegd_flowlog_stats(struct netsegd *d);

#endif
