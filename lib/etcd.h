/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An etcd v3 client over etcd's JSON gateway (POST /v3/kv/range and
 * friends, served by etcd >= 3.4 next to gRPC), on libcurl's multi
 * interface so that a single-threaded epoll loop drives it: nothing here
 * ever blocks on the network.  docs/cluster.md says what netseg keeps in
 * etcd and how.
 *
 * Driving it: the client owns one pollable fd (an epoll set holding
 * curl's sockets and a timerfd for curl's and our own deadlines).  Add
 * netseg_etcd_fd() to the caller's epoll set for EPOLLIN and call
 * netseg_etcd_perform() when it is readable; that is all.  Completion
 * callbacks run from inside netseg_etcd_perform(), never from the call
 * that submitted the request.  netseg_etcd_wait() runs that loop alone,
 * for tools and tests.
 *
 * The gateway's JSON follows proto3's mapping: keys and values are base64,
 * int64 fields are decimal strings, and fields at their default (0, false,
 * empty) are left out.  Everything read back is checked: a field of the
 * wrong type, a bad number, bad base64 or a body over the size limit is a
 * -EBADMSG error whose message names the field and, where known, the key.
 */
#ifndef NETSEG_ETCD_H
#define NETSEG_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct netseg_etcd;
struct netseg_etcd_watch;

#define NETSEG_ETCD_MSG_MAX 256
/* A reply body (or one watch message) larger than this is refused. */
#define NETSEG_ETCD_BODY_MAX (16U << 20)

struct netseg_etcd_opts {
	const char *const *endpoints; /* "http://127.0.0.1:2379", ... */
	size_t n_endpoints;
	int request_timeout_ms; /* one unary request; 0 = 5000 */
	int connect_timeout_ms; /* 0 = 2000 */
	int backoff_min_ms;	/* first watch retry; 0 = 100 */
	int backoff_max_ms;	/* retry ceiling; 0 = 5000 */
	size_t body_max;	/* 0 = NETSEG_ETCD_BODY_MAX */
};

/* One key-value pair; key and value are NUL-terminated copies (binary-safe
 * through the lengths). */
struct netseg_etcd_kv {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
};

enum netseg_etcd_op_type {
	NETSEG_ETCD_RANGE,
	NETSEG_ETCD_PUT,
	NETSEG_ETCD_DELETE,
};

/* A range, put or delete: alone or as one step of a transaction. */
struct netseg_etcd_op {
	enum netseg_etcd_op_type type;
	const char *key;
	bool prefix;	   /* range/delete: every key under @key */
	const void *value; /* put */
	size_t value_len;
	int64_t lease;	  /* put: attach to this lease; 0 = none */
	int64_t revision; /* range: read at this revision; 0 = now */
	int64_t limit;	  /* range: at most this many; 0 = all */
};

enum netseg_etcd_cmp_target {
	NETSEG_ETCD_CMP_VERSION,
	NETSEG_ETCD_CMP_CREATE, /* create_revision; 0 = key absent */
	NETSEG_ETCD_CMP_MOD,	/* mod_revision */
	NETSEG_ETCD_CMP_VALUE,
};

enum netseg_etcd_cmp_result {
	NETSEG_ETCD_EQUAL,
	NETSEG_ETCD_GREATER,
	NETSEG_ETCD_LESS,
	NETSEG_ETCD_NOT_EQUAL,
};

/* One comparison of a transaction.  With @prefix it must hold for every
 * key under @key: CREATE == 0 over a prefix means "no key there". */
struct netseg_etcd_cmp {
	enum netseg_etcd_cmp_target target;
	enum netseg_etcd_cmp_result result;
	const char *key;
	bool prefix;
	int64_t number;	   /* VERSION, CREATE, MOD */
	const void *value; /* VALUE */
	size_t value_len;
};

struct netseg_etcd_txn {
	const struct netseg_etcd_cmp *cmp;
	size_t n_cmp;
	const struct netseg_etcd_op *success;
	size_t n_success;
	const struct netseg_etcd_op *failure;
	size_t n_failure;
};

/* What came back.  err is 0 or -errno with msg saying what failed. */
struct netseg_etcd_result {
	int err;
	char msg[NETSEG_ETCD_MSG_MAX];
	int64_t revision;	    /* the store's revision (header) */
	struct netseg_etcd_kv *kvs; /* range */
	size_t n_kvs;
	int64_t count;			/* range: keys in range, beyond limit */
	bool more;			/* range: limit cut the answer */
	int64_t deleted;		/* delete */
	bool succeeded;			/* txn: the compares held */
	struct netseg_etcd_result *ops; /* txn: one per op of the taken branch */
	size_t n_ops;
	int64_t lease_id;  /* lease grant, keepalive */
	int64_t ttl;	   /* lease: seconds left; 0 = lease gone */
	double elapsed_ms; /* submit to answer */
};

void netseg_etcd_result_free(struct netseg_etcd_result *r);

/*
 * Completion: called once per submitted request from netseg_etcd_perform().
 * @r is freed after the callback returns; to keep it, copy the struct and
 * zero the original.
 */
typedef void (*netseg_etcd_cb)(struct netseg_etcd *c, struct netseg_etcd_result *r, void *arg);

int netseg_etcd_new(const struct netseg_etcd_opts *opts, struct netseg_etcd **out, char *err,
		    size_t errlen);
/* Cancels every request (their callbacks are not called) and watch. */
void netseg_etcd_free(struct netseg_etcd *c);

int netseg_etcd_fd(const struct netseg_etcd *c);
/* Runs whatever is ready; 0 or -errno if the client itself broke. */
int netseg_etcd_perform(struct netseg_etcd *c);
/* Requests and watch connections under way. */
size_t netseg_etcd_busy(const struct netseg_etcd *c);
const char *netseg_etcd_endpoint(const struct netseg_etcd *c);

/* Submitting: 0, or -errno (bad arguments, out of memory) and no callback. */
int netseg_etcd_kv(struct netseg_etcd *c, const struct netseg_etcd_op *op, netseg_etcd_cb cb,
		   void *arg);
int netseg_etcd_txn(struct netseg_etcd *c, const struct netseg_etcd_txn *t, netseg_etcd_cb cb,
		    void *arg);
int netseg_etcd_lease_grant(struct netseg_etcd *c, int64_t ttl, netseg_etcd_cb cb, void *arg);
/* One keepalive; the answer's ttl is 0 when the lease no longer exists. */
int netseg_etcd_lease_keepalive(struct netseg_etcd *c, int64_t id, netseg_etcd_cb cb, void *arg);
int netseg_etcd_lease_revoke(struct netseg_etcd *c, int64_t id, netseg_etcd_cb cb, void *arg);
/* Drops history before @revision (tests and operators). */
int netseg_etcd_compact(struct netseg_etcd *c, int64_t revision, netseg_etcd_cb cb, void *arg);

/*
 * Every key under @prefix at one revision, read in pages of @page keys
 * (0 = 500) so no single reply grows past the size limit: each page after
 * the first is read at the first page's revision, so the whole is one
 * consistent snapshot even while others write.  One callback at the end
 * with all kvs and that revision (from which to watch: revision + 1), or
 * -ERANGE if etcd compacted past that revision between pages: list again.
 */
int netseg_etcd_list(struct netseg_etcd *c, const char *prefix, int64_t page, netseg_etcd_cb cb,
		     void *arg);

/* Blocking convenience: runs the loop until the request answers (bounded
 * by the request timeout).  Call as
 *	struct netseg_etcd_sync s = {0};
 *	err = netseg_etcd_kv(c, &op, netseg_etcd_sync_cb, &s) ?:
 *	      netseg_etcd_wait(c, &s);
 * then read and free s.res. */
struct netseg_etcd_sync {
	struct netseg_etcd_result res;
	bool done;
};
void netseg_etcd_sync_cb(struct netseg_etcd *c, struct netseg_etcd_result *r, void *arg);
int netseg_etcd_wait(struct netseg_etcd *c, struct netseg_etcd_sync *s);
/* Runs the loop for up to @ms or until *@flag turns true. */
int netseg_etcd_run(struct netseg_etcd *c, int ms, const bool *flag);

/* --- watch --- */

enum netseg_etcd_event_type {
	NETSEG_ETCD_EV_PUT,
	NETSEG_ETCD_EV_DELETE,
};

struct netseg_etcd_event {
	enum netseg_etcd_event_type type;
	struct netseg_etcd_kv kv; /* a DELETE carries key and mod_revision */
};

enum netseg_etcd_watch_kind {
	NETSEG_ETCD_W_CREATED,	    /* (re)connected, watching */
	NETSEG_ETCD_W_EVENTS,	    /* changes, in revision order */
	NETSEG_ETCD_W_PROGRESS,	    /* nothing changed up to revision */
	NETSEG_ETCD_W_DISCONNECTED, /* lost; retrying from next_revision */
	/* Final: the watch stopped; list again and start a new watch. */
	NETSEG_ETCD_W_COMPACTED, /* history before compact_revision is gone */
	NETSEG_ETCD_W_RESET,	 /* the store went back in time (data loss) */
	NETSEG_ETCD_W_FAILED,	 /* canceled by etcd or a bad message */
};

struct netseg_etcd_watch_msg {
	enum netseg_etcd_watch_kind kind;
	int64_t revision;	  /* header revision */
	int64_t compact_revision; /* COMPACTED */
	const struct netseg_etcd_event *events;
	size_t n_events;
	const char *msg; /* DISCONNECTED, RESET, FAILED: why */
};

typedef void (*netseg_etcd_watch_cb)(struct netseg_etcd_watch *w,
				     const struct netseg_etcd_watch_msg *m, void *arg);

/*
 * Watches @key (or every key under it) from @start_revision (0 = from now).
 * Reconnects by itself, with exponential backoff and jitter, from the
 * revision after the last one it delivered, so no event is lost or
 * repeated across a reconnect.  After a final kind the watch is idle;
 * netseg_etcd_watch_stop() frees it (also from inside its callback).
 */
int netseg_etcd_watch_start(struct netseg_etcd *c, const char *key, bool prefix,
			    int64_t start_revision, netseg_etcd_watch_cb cb, void *arg,
			    struct netseg_etcd_watch **out);
void netseg_etcd_watch_stop(struct netseg_etcd_watch *w);
/* Drops the stream and connects again at once from next_revision: for a
 * caller that knows the connection is dead before TCP does (its lease
 * keepalives time out while the stream sits silent).  0, or -EINVAL on a
 * watch that already ended. */
int netseg_etcd_watch_reconnect(struct netseg_etcd_watch *w);
/* The revision the watch resumes from after a reconnect. */
int64_t netseg_etcd_watch_next_revision(const struct netseg_etcd_watch *w);
unsigned int netseg_etcd_watch_reconnects(const struct netseg_etcd_watch *w);

/* --- checking what etcd handed back --- */

/* @kv's value as a JSON object, or NULL with @err naming the key. */
struct cJSON *netseg_etcd_kv_json(const struct netseg_etcd_kv *kv, char *err, size_t errlen);
/* The key printable (escaped, shortened) for messages. */
const char *netseg_etcd_key_str(const char *key, size_t len, char *buf, size_t buflen);

/* Parsers of the gateway's replies, exposed for the fuzzer: one reply of
 * @type ("range", "put", "delete", "txn", "lease", "compact"), and one
 * watch-stream line (its events are freed with netseg_etcd_watch_msg_free). */
int netseg_etcd_parse_reply(const char *type, const char *body, size_t len,
			    struct netseg_etcd_result *r);
int netseg_etcd_parse_watch(const char *line, size_t len, struct netseg_etcd_watch_msg *m,
			    bool *created, bool *canceled, char *err, size_t errlen);
void netseg_etcd_watch_msg_free(struct netseg_etcd_watch_msg *m);

#endif /* NETSEG_ETCD_H */
