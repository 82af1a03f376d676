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
#include <linux/types.h>
#include <netseg/abi.h>

struct cJSON;
struct netsegd;
struct netsegd_client;
struct netsegd_flowlog;

/*
 * Records the in-memory history keeps for `netsegctl flows` ("flow_history"
 * in the config): each takes a struct netseg_flowrec (about 2.3 KiB) once
 * written, so the default holds about 9 MiB and a flood can't make it grow.
 */
#define NETSEGD_FLOW_HISTORY		4096
#define NETSEGD_FLOW_HISTORY_MIN	16
#define NETSEGD_FLOW_HISTORY_MAX	(1U << 18)

/* Parses the "flow_logs" config array; NULL = none.  Opens nothing. */
int netsegd_flowlog_new(struct netsegd *d, const struct cJSON *cfg,
			struct netsegd_flowlog **out);
/* Opens files, connects syslog sinks, registers their fds with epoll. */
int netsegd_flowlog_start(struct netsegd *d);
void netsegd_flowlog_free(struct netsegd *d);

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
 * `flows` on the control socket: the whole history, then live records if
 * follow.  Streamed with back-pressure: a part is queued, the next when the
 * client's socket has taken it (netsegd_flowlog_refill from its EPOLLOUT),
 * so a slow reader holds a bounded buffer and the loop never waits.
 * Records overwritten in the history before a slow reader got them are
 * said: {"ok": true, "skipped": N}.
 */
void netsegd_flowlog_request(struct netsegd *d, struct netsegd_client *c,
			     const struct cJSON *req);
/* The client's socket drained: queue its stream's next part, if it has one. */
void netsegd_flowlog_refill(struct netsegd *d, struct netsegd_client *c);
/* The client has a `flows` stream going (it may be quiet for long). */
bool netsegd_flowlog_streaming(struct netsegd *d, const struct netsegd_client *c);
void netsegd_flowlog_forget(struct netsegd *d, struct netsegd_client *c);
/* Is c following (a stream that is quiet while no flow is logged)? */
bool netsegd_flowlog_following(const struct netsegd *d, const struct netsegd_client *c);
/* Per-sink counters for `stats`. */
struct cJSON *netsegd_flowlog_stats(struct netsegd *d);

#endif
