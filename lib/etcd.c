// SPDX-License-Identifier: GPL-2.0-only
/*
 * The etcd client's transport: libcurl's multi interface driven through
 * one epoll set (curl's sockets + a timerfd), so a caller's event loop
 * watches a single fd and never blocks on etcd.  lib/etcd.h describes the
 * API, lib/etcd_json.c the encoding.
 *
 * User callbacks never run inside a libcurl callback: curl forbids
 * removing a transfer from there, and a user callback may well stop a
 * watch or submit a request.  So the write callback only buffers; lines
 * of watch streams and finished requests are dispatched after
 * curl_multi_socket_action() returns.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "etcd.h"
#include "etcd_int.h"

struct buf {
	char *p;
	size_t n, cap;
};

struct req {
	struct netseg_etcd *c;
	CURL *easy;
	const char *type; /* reply parser; NULL for a watch */
	char what[160];	  /* "put /netseg/x" for messages */
	struct buf body;
	bool overflow;
	bool canceled; /* removed without its callback */
	netseg_etcd_cb cb;
	void *arg;
	struct netseg_etcd_watch *watch;
	size_t ep; /* endpoint it went to */
	int64_t t0_us;
	char curlerr[CURL_ERROR_SIZE];
	struct req *next;
};

struct netseg_etcd_watch {
	struct netseg_etcd *c;
	char *key;
	bool prefix;
	int64_t next_rev; /* 0 until the first created */
	netseg_etcd_watch_cb cb;
	void *arg;
	struct req *req;      /* the stream, or NULL */
	int64_t retry_at_us;  /* reconnect deadline, 0 = none */
	unsigned int attempt; /* backoff exponent */
	unsigned int reconnects;
	bool connected_once;
	bool final; /* stopped by etcd; idle until freed */
	bool in_cb;
	bool stopping; /* stop() during its own callback */
	struct netseg_etcd_watch *next;
};

struct netseg_etcd {
	CURLM *multi;
	struct curl_slist *headers;
	int epfd, tfd;
	char **ep;
	size_t n_ep, cur_ep;
	int req_timeout_ms, conn_timeout_ms, backoff_min_ms, backoff_max_ms;
	size_t body_max;
	int64_t curl_at_us; /* curl's deadline, -1 = none */
	int64_t armed_us;   /* what the timerfd holds, -1 = off */
	struct req *reqs;
	struct netseg_etcd_watch *watches;
	unsigned int seed;
	int in_curl; /* inside curl_multi_* calls */
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void rearm(struct netseg_etcd *c)
{
	struct itimerspec its = { 0 };
	struct netseg_etcd_watch *w;
	int64_t at = c->curl_at_us;

	for (w = c->watches; w; w = w->next)
		if (w->retry_at_us && (at < 0 || w->retry_at_us < at))
			at = w->retry_at_us;
	if (at == c->armed_us)
		return;
	c->armed_us = at;
	if (at >= 0) {
		/* an absolute time of 0 would disarm it */
		at = at > 0 ? at : 1;
		its.it_value.tv_sec = at / 1000000;
		its.it_value.tv_nsec = (at % 1000000) * 1000;
	}
	timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct netseg_etcd *c = userp;
	struct epoll_event ev = { .data.fd = s };

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT &&
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev))
		return -1;
	return 0;
}

static int on_timer(CURLM *m, long ms, void *userp)
{
	struct netseg_etcd *c = userp;

	c->curl_at_us = ms < 0 ? -1 : now_us() + ms * 1000;
	rearm(c);
	return 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct req *r = userp;
	size_t len = size * nmemb, cap;
	char *p;

	if (r->canceled)
		return 0;
	/* a watch buffer holds at most one partial message past a line end */
	if (r->body.n + len > r->c->body_max + (r->watch ? r->c->body_max : 0)) {
		r->overflow = true;
		return 0;
	}
	if (r->body.n + len + 1 > r->body.cap) {
		cap = (r->body.n + len + 1) * 2;
		p = realloc(r->body.p, cap);
		if (!p)
			return 0;
		r->body.p = p;
		r->body.cap = cap;
	}
	memcpy(r->body.p + r->body.n, data, len);
	r->body.n += len;
	r->body.p[r->body.n] = '\0';
	return len;
}

static void req_free(struct req *r)
{
	struct req **pp;

	for (pp = &r->c->reqs; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	if (r->easy) {
		r->c->in_curl++;
		curl_multi_remove_handle(r->c->multi, r->easy);
		r->c->in_curl--;
		curl_easy_cleanup(r->easy);
	}
	free(r->body.p);
	free(r);
}

/* Starts a POST of @json to @path; the request is owned by the client. */
static int req_start(struct netseg_etcd *c, const char *path, cJSON *json, struct req *r)
{
	char url[512], *body = cJSON_PrintUnformatted(json);
	CURLMcode mc;

	cJSON_Delete(json);
	if (!body) {
		free(r);
		return -ENOMEM;
	}
	r->c = c;
	r->ep = c->cur_ep;
	r->t0_us = now_us();
	snprintf(url, sizeof(url), "%s%s", c->ep[r->ep], path);
	r->easy = curl_easy_init();
	if (!r->easy) {
		free(body);
		free(r);
		return -ENOMEM;
	}
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(r->easy, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->curlerr);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)c->conn_timeout_ms);
	/* a watch lives as long as it likes; TCP keepalive finds a dead peer */
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, r->watch ? 0L : (long)c->req_timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPINTVL, 5L);
	free(body);
	r->next = c->reqs;
	c->reqs = r;
	c->in_curl++;
	mc = curl_multi_add_handle(c->multi, r->easy);
	c->in_curl--;
	if (mc != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		req_free(r);
		return -ENOMEM;
	}
	return 0;
}

static struct req *etcd_req_new(const char *type, netseg_etcd_cb cb, void *arg)
{
	struct req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->type = type;
	r->cb = cb;
	r->arg = arg;
	return r;
}

/* "VERB KEY" for messages, the key made printable. */
static void req_what(struct req *r, const char *verb, const char *key)
{
	char kb[96];

	snprintf(r->what, sizeof(r->what), "%s %s", verb,
		 key ? netseg_etcd_key_str(key, strlen(key), kb, sizeof(kb)) : "(no key)");
}

/* --- building requests --- */

static int add_bytes(cJSON *o, const char *name, const void *p, size_t len)
{
	char *b = etcd_b64_encode(p, len);
	int ok = b && cJSON_AddStringToObject(o, name, b);

	free(b);
	return ok ? 0 : -ENOMEM;
}

static int add_i64(cJSON *o, const char *name, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return cJSON_AddStringToObject(o, name, s) ? 0 : -ENOMEM;
}

/* [key, range_end) covering every key that starts with @key. */
static int add_range(cJSON *o, const char *key, bool prefix)
{
	size_t n = strlen(key);
	unsigned char *end;
	int err;

	err = add_bytes(o, "key", key, n);
	if (err || !prefix)
		return err;
	end = (unsigned char *)strdup(key);
	if (!end)
		return -ENOMEM;
	while (n && end[n - 1] == 0xff)
		n--;
	if (n) {
		end[n - 1]++;
	} else {
		/* "\0" as range_end means every key >= key */
		end[0] = 0;
		n = 1;
	}
	err = add_bytes(o, "range_end", end, n);
	free(end);
	return err;
}

static int check_key(const char *key)
{
	return key && *key ? 0 : -EINVAL;
}

static cJSON *op_json(const struct netseg_etcd_op *op)
{
	cJSON *o = cJSON_CreateObject();
	int err;

	if (!o || check_key(op->key))
		goto bad;
	switch (op->type) {
	case NETSEG_ETCD_RANGE:
		err = add_range(o, op->key, op->prefix)					?:
			      (op->revision ? add_i64(o, "revision", op->revision) : 0) ?:
			      (op->limit ? add_i64(o, "limit", op->limit) : 0);
		break;
	case NETSEG_ETCD_PUT:
		err = add_bytes(o, "key", op->key, strlen(op->key))			       ?:
			      add_bytes(o, "value", op->value ? op->value : "", op->value_len) ?:
			      (op->lease ? add_i64(o, "lease", op->lease) : 0);
		break;
	case NETSEG_ETCD_DELETE:
		err = add_range(o, op->key, op->prefix);
		break;
	default:
		err = -EINVAL;
	}
	if (!err)
		return o;
bad:
	cJSON_Delete(o);
	return NULL;
}

static const char *const op_paths[] = { "/v3/kv/range", "/v3/kv/put", "/v3/kv/deleterange" };
static const char *const op_types[] = { "range", "put", "delete" };
static const char *const op_names[] = { "request_range", "request_put", "request_delete_range" };

int netseg_etcd_kv(struct netseg_etcd *c, const struct netseg_etcd_op *op, netseg_etcd_cb cb,
		   void *arg)
{
	static const char *const verbs[] = { "range", "put", "delete" };
	cJSON *o;
	struct req *r;

	if ((unsigned int)op->type > NETSEG_ETCD_DELETE)
		return -EINVAL;
	o = op_json(op);
	if (!o)
		return check_key(op->key) ?: -ENOMEM;
	r = etcd_req_new(op_types[op->type], cb, arg);
	if (!r) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	req_what(r, verbs[op->type], op->key);
	return req_start(c, op_paths[op->type], o, r);
}

/* --- a paged list at one revision --- */

struct list {
	char *prefix;
	int64_t page;
	struct netseg_etcd_result acc;
	size_t cap;
	netseg_etcd_cb cb;
	void *arg;
};

static int list_next(struct netseg_etcd *c, struct list *l, const char *from, size_t from_len);

static void list_done(struct netseg_etcd *c, struct list *l, struct netseg_etcd_result *r)
{
	if (r) {
		netseg_etcd_result_free(&l->acc);
		l->acc = *r;
		memset(r, 0, sizeof(*r));
	}
	l->acc.count = (int64_t)l->acc.n_kvs;
	l->cb(c, &l->acc, l->arg);
	netseg_etcd_result_free(&l->acc);
	free(l->prefix);
	free(l);
}

static void list_page(struct netseg_etcd *c, struct netseg_etcd_result *r, void *arg)
{
	struct list *l = arg;
	struct netseg_etcd_kv *last;
	int err;

	if (r->err)
		return list_done(c, l, r);
	if (!l->acc.revision)
		l->acc.revision = r->revision;
	l->acc.elapsed_ms += r->elapsed_ms;
	if (l->acc.n_kvs + r->n_kvs > l->cap) {
		size_t cap = (l->acc.n_kvs + r->n_kvs) * 2;
		struct netseg_etcd_kv *kvs = realloc(l->acc.kvs, cap * sizeof(*kvs));

		if (!kvs) {
			r->err = etcd_fail(r->msg, -ENOMEM, "list %s: out of memory", l->prefix);
			netseg_etcd_result_free(r);
			return list_done(c, l, r);
		}
		l->acc.kvs = kvs;
		l->cap = cap;
	}
	if (r->n_kvs) /* an empty prefix: nothing to copy, and kvs may be NULL */
		memcpy(l->acc.kvs + l->acc.n_kvs, r->kvs, r->n_kvs * sizeof(*r->kvs));
	l->acc.n_kvs += r->n_kvs;
	free(r->kvs);
	r->kvs = NULL;
	if (!r->more || !r->n_kvs) {
		r->n_kvs = 0;
		return list_done(c, l, NULL);
	}
	/* the next page starts right after the last key: key + "\0" (the
	 * copy's terminator is that byte) */
	last = &l->acc.kvs[l->acc.n_kvs - 1];
	r->n_kvs = 0;
	err = list_next(c, l, last->key, last->key_len + 1);
	if (err) {
		r->err = etcd_fail(r->msg, err, "list %s: couldn't ask for the next page",
				   l->prefix);
		list_done(c, l, r);
	}
}

static int list_next(struct netseg_etcd *c, struct list *l, const char *from, size_t from_len)
{
	cJSON *o = cJSON_CreateObject(), *tmp = cJSON_CreateObject();
	struct req *r = etcd_req_new("range", list_page, l);
	const cJSON *end;
	int err = -ENOMEM;

	/* range_end of the prefix, computed once by add_range */
	if (!o || !r || !tmp || add_range(tmp, l->prefix, true) ||
	    !(end = cJSON_GetObjectItemCaseSensitive(tmp, "range_end")) ||
	    add_bytes(o, "key", from, from_len) ||
	    !cJSON_AddStringToObject(o, "range_end", end->valuestring) ||
	    add_i64(o, "limit", l->page) ||
	    (l->acc.revision && add_i64(o, "revision", l->acc.revision)))
		goto fail;
	cJSON_Delete(tmp);
	req_what(r, "list", l->prefix);
	return req_start(c, "/v3/kv/range", o, r);
fail:
	cJSON_Delete(o);
	cJSON_Delete(tmp);
	free(r);
	return err;
}

int netseg_etcd_list(struct netseg_etcd *c, const char *prefix, int64_t page, netseg_etcd_cb cb,
		     void *arg)
{
	struct list *l;
	int err;

	if (check_key(prefix) || page < 0 || !cb)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->prefix = strdup(prefix))) {
		free(l);
		return -ENOMEM;
	}
	l->page = page ?: 500;
	l->cb = cb;
	l->arg = arg;
	err = list_next(c, l, prefix, strlen(prefix));
	if (err) {
		free(l->prefix);
		free(l);
	}
	return err;
}

static cJSON *cmp_json(const struct netseg_etcd_cmp *cmp)
{
	static const char *const targets[] = { "VERSION", "CREATE", "MOD", "VALUE" };
	static const char *const fields[] = { "version", "create_revision", "mod_revision" };
	static const char *const results[] = { "EQUAL", "GREATER", "LESS", "NOT_EQUAL" };
	cJSON *o = cJSON_CreateObject();
	int err;

	if (!o || check_key(cmp->key) || (unsigned int)cmp->target > NETSEG_ETCD_CMP_VALUE ||
	    (unsigned int)cmp->result > NETSEG_ETCD_NOT_EQUAL)
		goto bad;
	err = (cJSON_AddStringToObject(o, "target", targets[cmp->target]) &&
	       cJSON_AddStringToObject(o, "result", results[cmp->result])) ?
		      0 :
		      -ENOMEM;
	err = err ?: add_range(o, cmp->key, cmp->prefix);
	if (!err && cmp->target == NETSEG_ETCD_CMP_VALUE)
		err = add_bytes(o, "value", cmp->value ? cmp->value : "", cmp->value_len);
	else if (!err)
		err = add_i64(o, fields[cmp->target], cmp->number);
	if (!err)
		return o;
bad:
	cJSON_Delete(o);
	return NULL;
}

static int add_ops(cJSON *txn, const char *name, const struct netseg_etcd_op *ops, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(txn, name);
	size_t i;

	if (!arr)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		cJSON *w = cJSON_CreateObject(), *o = op_json(&ops[i]);

		if ((unsigned int)ops[i].type > NETSEG_ETCD_DELETE || !w || !o) {
			cJSON_Delete(w);
			cJSON_Delete(o);
			return -EINVAL;
		}
		cJSON_AddItemToObject(w, op_names[ops[i].type], o);
		cJSON_AddItemToArray(arr, w);
	}
	return 0;
}

int netseg_etcd_txn(struct netseg_etcd *c, const struct netseg_etcd_txn *t, netseg_etcd_cb cb,
		    void *arg)
{
	cJSON *o = cJSON_CreateObject(), *arr = o ? cJSON_AddArrayToObject(o, "compare") : NULL;
	const char *first = t->n_cmp ? t->cmp[0].key : t->n_success ? t->success[0].key : NULL;
	struct req *r;
	size_t i;
	int err = arr ? 0 : -ENOMEM;

	for (i = 0; !err && i < t->n_cmp; i++) {
		cJSON *x = cmp_json(&t->cmp[i]);

		if (!x)
			err = -EINVAL;
		else
			cJSON_AddItemToArray(arr, x);
	}
	err = err						      ?:
		      add_ops(o, "success", t->success, t->n_success) ?:
		      add_ops(o, "failure", t->failure, t->n_failure);
	r = err ? NULL : etcd_req_new("txn", cb, arg);
	if (!r) {
		cJSON_Delete(o);
		return err ?: -ENOMEM;
	}
	req_what(r, "transaction on", first);
	return req_start(c, "/v3/kv/txn", o, r);
}

/* A request with one int64 field; @verb and @v make its description. */
static int simple(struct netseg_etcd *c, const char *path, const char *type, const char *verb,
		  const char *field, int64_t v, netseg_etcd_cb cb, void *arg)
{
	cJSON *o = cJSON_CreateObject();
	struct req *r = etcd_req_new(type, cb, arg);

	if (!o || !r || add_i64(o, field, v)) {
		cJSON_Delete(o);
		free(r);
		return -ENOMEM;
	}
	snprintf(r->what, sizeof(r->what), "%s %" PRId64, verb, v);
	return req_start(c, path, o, r);
}

int netseg_etcd_lease_grant(struct netseg_etcd *c, int64_t ttl, netseg_etcd_cb cb, void *arg)
{
	if (ttl <= 0)
		return -EINVAL;
	return simple(c, "/v3/lease/grant", "lease", "grant a lease, TTL", "TTL", ttl, cb, arg);
}

int netseg_etcd_lease_keepalive(struct netseg_etcd *c, int64_t id, netseg_etcd_cb cb, void *arg)
{
	return simple(c, "/v3/lease/keepalive", "lease", "keepalive of lease", "ID", id, cb, arg);
}

int netseg_etcd_lease_revoke(struct netseg_etcd *c, int64_t id, netseg_etcd_cb cb, void *arg)
{
	return simple(c, "/v3/lease/revoke", "lease", "revoke lease", "ID", id, cb, arg);
}

int netseg_etcd_compact(struct netseg_etcd *c, int64_t revision, netseg_etcd_cb cb, void *arg)
{
	return simple(c, "/v3/kv/compaction", "compact", "compact to revision", "revision",
		      revision, cb, arg);
}

/* --- finishing requests --- */

static void next_endpoint(struct netseg_etcd *c, size_t failed)
{
	if (c->n_ep > 1 && failed == c->cur_ep)
		c->cur_ep = (c->cur_ep + 1) % c->n_ep;
}

/* The transfer's outcome as 0 or -errno with @msg; 0 means "parse the body". */
static int transfer_status(struct req *r, CURLcode cc, long *http, char *msg)
{
	struct netseg_etcd *c = r->c;

	*http = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, http);
	if (r->overflow)
		return etcd_fail(msg, -EMSGSIZE, "%s: the reply is larger than %zu bytes", r->what,
				 c->body_max);
	if (cc == CURLE_OK)
		return 0;
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT ||
	    cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
	    cc == CURLE_GOT_NOTHING)
		next_endpoint(c, r->ep);
	return etcd_fail(msg,
			 cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
			 cc == CURLE_COULDNT_CONNECT	? -ECONNREFUSED :
							  -EIO,
			 "%s: etcd at %s %s: %s", r->what, c->ep[r->ep],
			 cc == CURLE_OPERATION_TIMEDOUT ? "did not answer in time" :
							  "is unreachable",
			 *r->curlerr ? r->curlerr : curl_easy_strerror(cc));
}

static void finish_unary(struct req *r, CURLcode cc)
{
	struct netseg_etcd_result res = { 0 };
	long http;

	res.elapsed_ms = (double)(now_us() - r->t0_us) / 1000.0;
	res.err = transfer_status(r, cc, &http, res.msg);
	if (!res.err && http != 200)
		res.err = etcd_parse_error(r->body.p ? r->body.p : "", r->body.n, http, res.msg,
					   r->what);
	else if (!res.err)
		etcd_parse_reply_at(r->type, r->body.p ? r->body.p : "", r->body.n, &res, r->what);
	if (res.err)
		netseg_etcd_result_free(&res);
	if (r->cb)
		r->cb(r->c, &res, r->arg);
	netseg_etcd_result_free(&res);
}

static void watch_finish(struct netseg_etcd_watch *w, struct req *r, CURLcode cc);

static void finish_done(struct netseg_etcd *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct req *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (!r)
			continue;
		if (r->watch)
			watch_finish(r->watch, r, m->data.result);
		else if (!r->canceled)
			finish_unary(r, m->data.result);
		req_free(r);
	}
}

/* --- watch --- */

static bool deliver(struct netseg_etcd_watch *w, struct netseg_etcd_watch_msg *m)
{
	w->in_cb = true;
	w->cb(w, m, w->arg);
	w->in_cb = false;
	return w->stopping;
}

static void watch_free(struct netseg_etcd_watch *w)
{
	struct netseg_etcd_watch **pp;

	for (pp = &w->c->watches; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	free(w->key);
	free(w);
}

/* Detaches the stream (freed by the loop, outside curl) and frees @w. */
static void watch_drop(struct netseg_etcd_watch *w)
{
	if (w->req) {
		w->req->canceled = true;
		w->req->watch = NULL;
		w->req = NULL;
	}
	watch_free(w);
}

static void watch_end(struct netseg_etcd_watch *w, enum netseg_etcd_watch_kind kind, int64_t rev,
		      int64_t compact, const char *why)
{
	struct netseg_etcd_watch_msg m = {
		.kind = kind,
		.revision = rev,
		.compact_revision = compact,
		.msg = why,
	};

	w->final = true;
	w->retry_at_us = 0;
	if (w->req) {
		w->req->canceled = true;
		w->req->watch = NULL;
		w->req = NULL;
	}
	if (deliver(w, &m))
		watch_free(w);
}

static int watch_connect(struct netseg_etcd_watch *w)
{
	cJSON *o = cJSON_CreateObject(),
	      *cr = o ? cJSON_AddObjectToObject(o, "create_request") : NULL;
	struct req *r;
	int err;

	w->retry_at_us = 0;
	if (!cr || add_range(cr, w->key, w->prefix) ||
	    (w->next_rev && add_i64(cr, "start_revision", w->next_rev)) ||
	    !cJSON_AddTrueToObject(cr, "progress_notify")) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	r = etcd_req_new(NULL, NULL, NULL);
	if (!r) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	req_what(r, "watch", w->key);
	r->watch = w;
	err = req_start(w->c, "/v3/watch", o, r);
	if (!err)
		w->req = r;
	return err;
}

static void watch_retry_later(struct netseg_etcd_watch *w)
{
	struct netseg_etcd *c = w->c;
	int64_t d = c->backoff_min_ms;
	unsigned int i;

	for (i = 0; i < w->attempt && d < c->backoff_max_ms; i++)
		d *= 2;
	if (d > c->backoff_max_ms)
		d = c->backoff_max_ms;
	if (w->attempt < 30)
		w->attempt++;
	/* half fixed, half random: nodes that lost etcd together don't
	 * all come back in the same millisecond */
	d = d / 2 + (int64_t)(rand_r(&c->seed) % (unsigned int)(d / 2 + 1));
	w->retry_at_us = now_us() + d * 1000;
	w->reconnects++;
}

static void watch_finish(struct netseg_etcd_watch *w, struct req *r, CURLcode cc)
{
	struct netseg_etcd_watch_msg m = { .kind = NETSEG_ETCD_W_DISCONNECTED };
	char msg[NETSEG_ETCD_MSG_MAX];
	long http;
	int err;

	w->req = NULL;
	err = transfer_status(r, cc, &http, msg);
	if (!err && http != 200) {
		err = etcd_parse_error(r->body.p ? r->body.p : "", r->body.n, http, msg, r->what);
		/* etcd refusing the request itself won't change on a retry */
		if (http >= 400 && http < 500) {
			watch_end(w, NETSEG_ETCD_W_FAILED, 0, 0, msg);
			return;
		}
	}
	if (err == -EMSGSIZE) {
		watch_end(w, NETSEG_ETCD_W_FAILED, 0, 0, msg);
		return;
	}
	if (!err)
		snprintf(msg, sizeof(msg), "%s: etcd at %s closed the stream", r->what,
			 w->c->ep[r->ep]);
	next_endpoint(w->c, r->ep);
	watch_retry_later(w);
	m.msg = msg;
	if (deliver(w, &m))
		watch_free(w);
}

/* One message of the stream; false when the watch ended or was stopped. */
static bool watch_line(struct netseg_etcd_watch *w, const char *line, size_t len)
{
	struct netseg_etcd_watch_msg m;
	char err[NETSEG_ETCD_MSG_MAX];
	bool created, canceled, stop = false;
	int64_t from;
	size_t i;

	if (netseg_etcd_parse_watch(line, len, &m, &created, &canceled, err, sizeof(err))) {
		watch_end(w, NETSEG_ETCD_W_FAILED, 0, 0, err);
		return false;
	}
	if (canceled) {
		netseg_etcd_watch_msg_free(&m);
		if (m.compact_revision)
			snprintf(err, sizeof(err),
				 "%s: etcd compacted its history up to revision %" PRId64
				 ", past the watch's start %" PRId64 ": list again",
				 w->req ? w->req->what : "watch", m.compact_revision, w->next_rev);
		watch_end(w, m.compact_revision ? NETSEG_ETCD_W_COMPACTED : NETSEG_ETCD_W_FAILED,
			  m.revision, m.compact_revision, err);
		return false;
	}
	if (created) {
		/* resuming at next_rev from a store whose newest revision is
		 * older than what we saw: it lost data */
		if (w->connected_once && w->next_rev && m.revision + 1 < w->next_rev) {
			snprintf(err, sizeof(err),
				 "etcd's revision %" PRId64 " is older than %" PRId64
				 " already seen: the store lost data",
				 m.revision, w->next_rev - 1);
			netseg_etcd_watch_msg_free(&m);
			watch_end(w, NETSEG_ETCD_W_RESET, m.revision, 0, err);
			return false;
		}
		if (!w->next_rev)
			w->next_rev = m.revision + 1;
		w->connected_once = true;
		w->attempt = 0;
		m.kind = NETSEG_ETCD_W_CREATED;
	}
	/* The events of one transaction share its revision and come in one
	 * message: only an event older than the message's first is out of
	 * order. */
	from = w->next_rev;
	for (i = 0; i < m.n_events; i++) {
		if (m.events[i].kv.mod_revision < from ||
		    (i && m.events[i].kv.mod_revision < m.events[i - 1].kv.mod_revision)) {
			snprintf(err, sizeof(err),
				 "watch: an event at revision %" PRId64 " after %" PRId64,
				 m.events[i].kv.mod_revision, w->next_rev - 1);
			netseg_etcd_watch_msg_free(&m);
			watch_end(w, NETSEG_ETCD_W_FAILED, 0, 0, err);
			return false;
		}
		w->next_rev = m.events[i].kv.mod_revision + 1;
	}
	if (m.kind == NETSEG_ETCD_W_PROGRESS && m.revision >= w->next_rev)
		w->next_rev = m.revision + 1;
	stop = deliver(w, &m);
	netseg_etcd_watch_msg_free(&m);
	if (stop) {
		watch_drop(w);
		return false;
	}
	return true;
}

/* Complete lines buffered by on_write, dispatched outside curl. */
static bool watch_drain(struct netseg_etcd_watch *w)
{
	struct req *r = w->req;
	size_t off = 0;
	char *nl;

	if (!r || !r->body.n)
		return false;
	while (w->req == r && (nl = memchr(r->body.p + off, '\n', r->body.n - off))) {
		size_t len = (size_t)(nl - (r->body.p + off));

		if (len && !watch_line(w, r->body.p + off, len))
			return true;
		off += len + 1;
	}
	if (w->req != r)
		return true;
	memmove(r->body.p, r->body.p + off, r->body.n - off);
	r->body.n -= off;
	if (r->body.n > w->c->body_max) {
		watch_end(w, NETSEG_ETCD_W_FAILED, 0, 0,
			  "watch: a message larger than the size limit");
		return true;
	}
	return off > 0;
}

int netseg_etcd_watch_start(struct netseg_etcd *c, const char *key, bool prefix,
			    int64_t start_revision, netseg_etcd_watch_cb cb, void *arg,
			    struct netseg_etcd_watch **out)
{
	struct netseg_etcd_watch *w;
	int err;

	*out = NULL;
	if (check_key(key) || start_revision < 0 || !cb)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->key = strdup(key))) {
		free(w);
		return -ENOMEM;
	}
	w->c = c;
	w->prefix = prefix;
	w->next_rev = start_revision;
	w->cb = cb;
	w->arg = arg;
	w->next = c->watches;
	c->watches = w;
	err = watch_connect(w);
	if (err) {
		watch_free(w);
		return err;
	}
	*out = w;
	return 0;
}

void netseg_etcd_watch_stop(struct netseg_etcd_watch *w)
{
	if (!w)
		return;
	if (w->in_cb) {
		w->stopping = true;
		return;
	}
	if (w->req) {
		w->req->watch = NULL;
		w->req->canceled = true;
		if (!w->c->in_curl)
			req_free(w->req);
	}
	watch_free(w);
}

int netseg_etcd_watch_reconnect(struct netseg_etcd_watch *w)
{
	if (w->final || w->stopping)
		return -EINVAL;
	if (w->req) {
		w->req->canceled = true;
		w->req->watch = NULL;
		if (!w->c->in_curl)
			req_free(w->req);
		w->req = NULL;
	}
	w->reconnects++;
	w->retry_at_us = 0;
	return watch_connect(w);
}

int64_t netseg_etcd_watch_next_revision(const struct netseg_etcd_watch *w)
{
	return w->next_rev;
}

unsigned int netseg_etcd_watch_reconnects(const struct netseg_etcd_watch *w)
{
	return w->reconnects;
}

/* --- the loop --- */

/* Calls @fn on each watch once, safely against callbacks that stop
 * watches (the list is walked again from the start after each call). */
static void for_each_watch(struct netseg_etcd *c, bool (*fn)(struct netseg_etcd_watch *w))
{
	struct netseg_etcd_watch *w;
	bool again = true;
	int guard = 100000;

	while (again && guard--) {
		again = false;
		for (w = c->watches; w; w = w->next)
			if (fn(w)) {
				again = true;
				break;
			}
	}
}

static bool watch_due(struct netseg_etcd_watch *w)
{
	struct netseg_etcd_watch_msg m = { .kind = NETSEG_ETCD_W_DISCONNECTED };

	if (!w->retry_at_us || w->retry_at_us > now_us() || w->final || w->req)
		return false;
	if (watch_connect(w)) {
		watch_retry_later(w);
		m.msg = "watch: out of memory reconnecting";
		if (deliver(w, &m))
			watch_free(w);
	}
	return true;
}

static void sweep_canceled(struct netseg_etcd *c)
{
	struct req *r, *next;

	for (r = c->reqs; r; r = next) {
		next = r->next;
		if (r->canceled && !r->watch)
			req_free(r);
	}
}

int netseg_etcd_perform(struct netseg_etcd *c)
{
	struct epoll_event ev[16];
	int n, i, running;
	uint64_t ticks;

	n = epoll_wait(c->epfd, ev, 16, 0);
	if (n < 0 && errno != EINTR)
		return -errno;
	c->in_curl++;
	for (i = 0; i < n; i++) {
		int mask = 0;

		if (ev[i].data.fd == c->tfd) {
			if (read(c->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				break;
			c->armed_us = -2; /* fired: rearm() must set it again */
			continue;
		}
		if (ev[i].events & (EPOLLIN | EPOLLHUP))
			mask |= CURL_CSELECT_IN;
		if (ev[i].events & EPOLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (ev[i].events & EPOLLERR)
			mask |= CURL_CSELECT_ERR;
		curl_multi_socket_action(c->multi, ev[i].data.fd, mask, &running);
	}
	if (c->curl_at_us >= 0 && c->curl_at_us <= now_us()) {
		c->curl_at_us = -1;
		curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	c->in_curl--;
	for_each_watch(c, watch_drain);
	finish_done(c);
	for_each_watch(c, watch_due);
	sweep_canceled(c);
	rearm(c);
	return 0;
}

int netseg_etcd_fd(const struct netseg_etcd *c)
{
	return c->epfd;
}

size_t netseg_etcd_busy(const struct netseg_etcd *c)
{
	const struct req *r;
	size_t n = 0;

	for (r = c->reqs; r; r = r->next)
		n += !r->canceled;
	return n;
}

const char *netseg_etcd_endpoint(const struct netseg_etcd *c)
{
	return c->ep[c->cur_ep];
}

int netseg_etcd_run(struct netseg_etcd *c, int ms, const bool *flag)
{
	int64_t end = now_us() + (int64_t)ms * 1000;
	struct pollfd p = { .fd = c->epfd, .events = POLLIN };
	int err = 0;

	while (!err && !(flag && *flag)) {
		int64_t left = end - now_us();

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)((left + 999) / 1000)) < 0 && errno != EINTR)
			return -errno;
		err = netseg_etcd_perform(c);
	}
	return err;
}

void netseg_etcd_sync_cb(struct netseg_etcd *c, struct netseg_etcd_result *r, void *arg)
{
	struct netseg_etcd_sync *s = arg;

	s->res = *r;
	memset(r, 0, sizeof(*r));
	s->done = true;
}

int netseg_etcd_wait(struct netseg_etcd *c, struct netseg_etcd_sync *s)
{
	/* curl's own timeouts end every unary request before this */
	int err = netseg_etcd_run(c, c->req_timeout_ms + c->conn_timeout_ms + 2000, &s->done);

	if (err)
		return err;
	if (!s->done)
		return etcd_fail(s->res.msg, s->res.err = -ETIMEDOUT,
				 "etcd at %s did not answer in time", c->ep[c->cur_ep]);
	return s->res.err;
}

/* --- setup --- */

static int check_endpoint(const char *ep, char *err, size_t errlen)
{
	size_t n = strlen(ep);

	if ((strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)) || n > 256 ||
	    ep[n - 1] == '/') {
		snprintf(err, errlen,
			 "etcd endpoint \"%.64s\" is not an http:// or https:// URL without a trailing /",
			 ep);
		return -EINVAL;
	}
	return 0;
}

int netseg_etcd_new(const struct netseg_etcd_opts *opts, struct netseg_etcd **out, char *err,
		    size_t errlen)
{
	static bool curl_ready;
	struct epoll_event ev = { .events = EPOLLIN };
	struct netseg_etcd *c;
	size_t i;
	int e = -ENOMEM;

	*out = NULL;
	if (!opts->n_endpoints) {
		snprintf(err, errlen, "no etcd endpoint given");
		return -EINVAL;
	}
	for (i = 0; i < opts->n_endpoints; i++)
		if (check_endpoint(opts->endpoints[i], err, errlen))
			return -EINVAL;
	/* not thread-safe, and the daemon is one thread */
	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(err, errlen, "couldn't initialise libcurl");
		return -ENOMEM;
	}
	curl_ready = true;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->epfd = c->tfd = -1;
	c->req_timeout_ms = opts->request_timeout_ms ?: 5000;
	c->conn_timeout_ms = opts->connect_timeout_ms ?: 2000;
	c->backoff_min_ms = opts->backoff_min_ms ?: 100;
	c->backoff_max_ms = opts->backoff_max_ms ?: 5000;
	c->body_max = opts->body_max ?: NETSEG_ETCD_BODY_MAX;
	c->curl_at_us = c->armed_us = -1;
	c->seed = (unsigned int)(now_us() ^ getpid());
	c->ep = calloc(opts->n_endpoints, sizeof(*c->ep));
	if (!c->ep)
		goto fail;
	for (c->n_ep = 0; c->n_ep < opts->n_endpoints; c->n_ep++)
		if (!(c->ep[c->n_ep] = strdup(opts->endpoints[c->n_ep])))
			goto fail;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.fd = c->tfd;
	if (c->epfd < 0 || c->tfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->tfd, &ev)) {
		e = -errno;
		snprintf(err, errlen, "couldn't set up the etcd client's epoll set: %s",
			 strerror(errno));
		goto fail_msg;
	}
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* no 100-continue round trip before larger bodies */
	c->headers = c->headers ? curl_slist_append(c->headers, "Expect:") : NULL;
	c->multi = curl_multi_init();
	if (!c->headers || !c->multi)
		goto fail;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*out = c;
	return 0;
fail:
	snprintf(err, errlen, "out of memory setting up the etcd client");
fail_msg:
	netseg_etcd_free(c);
	return e;
}

void netseg_etcd_free(struct netseg_etcd *c)
{
	size_t i;

	if (!c)
		return;
	while (c->watches) {
		c->watches->in_cb = false;
		netseg_etcd_watch_stop(c->watches);
	}
	while (c->reqs)
		req_free(c->reqs);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->headers);
	for (i = 0; i < c->n_ep; i++)
		free(c->ep[i]);
	free(c->ep);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->tfd >= 0)
		close(c->tfd);
	free(c);
}
