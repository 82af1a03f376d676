// SPDX-License-Identifier: GPL-2.0-only
/*
 * The etcd JSON gateway's encoding (proto3's JSON mapping): base64 for
 * bytes, decimal strings for int64, default-valued fields left out; and
 * the parsers of its replies and watch messages.  Each check names the
 * field and, once it is known, the key, because the message ends up in a
 * log line an operator reads to find the bad entry in etcd.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "etcd.h"
#include "etcd_int.h"

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i, o = 0;
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		out[o++] = b64_chars[p[i] >> 2];
		out[o++] = b64_chars[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[o++] = b64_chars[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		out[o++] = b64_chars[p[i + 2] & 63];
	}
	if (i < len) {
		out[o++] = b64_chars[p[i] >> 2];
		if (i + 1 < len) {
			out[o++] = b64_chars[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			out[o++] = b64_chars[(p[i + 1] & 15) << 2];
		} else {
			out[o++] = b64_chars[(p[i] & 3) << 4];
			out[o++] = '=';
		}
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

static int b64_val(char ch)
{
	const char *p = ch ? strchr(b64_chars, ch) : NULL;

	return p ? (int)(p - b64_chars) : -1;
}

/* Strict: the padded standard alphabet etcd writes, nothing else. */
int etcd_b64_decode(const char *s, char **out, size_t *outlen)
{
	size_t n = strlen(s), i, o = 0;
	unsigned char *buf;

	*out = NULL;
	*outlen = 0;
	if (n % 4)
		return -EBADMSG;
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i += 4) {
		int a = b64_val(s[i]), b = b64_val(s[i + 1]);
		int c = s[i + 2] == '=' ? -2 : b64_val(s[i + 2]);
		int d = s[i + 3] == '=' ? -2 : b64_val(s[i + 3]);
		bool last = i + 4 == n;

		if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2) ||
		    ((c == -2 || d == -2) && !last))
			goto bad;
		buf[o++] = (unsigned char)(a << 2 | b >> 4);
		if (c >= 0)
			buf[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
		if (d >= 0)
			buf[o++] = (unsigned char)((c & 3) << 6 | d);
	}
	buf[o] = '\0';
	*out = (char *)buf;
	*outlen = o;
	return 0;
bad:
	free(buf);
	return -EBADMSG;
}

const char *netseg_etcd_key_str(const char *key, size_t len, char *buf, size_t buflen)
{
	size_t i, o = 0;

	if (!buflen)
		return "";
	for (i = 0; i < len && o + 8 < buflen; i++) {
		unsigned char ch = (unsigned char)key[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", ch);
	}
	if (i < len && buflen >= 4)
		o = (o > buflen - 4 ? buflen - 4 : o) + (size_t)snprintf(buf + o, 4, "...");
	buf[o < buflen ? o : buflen - 1] = '\0';
	return buf;
}

__attribute__((format(printf, 3, 4))) int etcd_fail(char *msg, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, NETSEG_ETCD_MSG_MAX, fmt, ap);
	va_end(ap);
	return err;
}

/* int64 as proto3 JSON has it: a decimal string, or (accepted by proto3
 * parsers, so by us) an integral number.  Absent = 0. */
static int get_i64(const cJSON *o, const char *name, int64_t *v, int64_t min, const char *where,
		   char *msg)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	char *end;
	long long x;

	*v = 0;
	if (!it)
		return 0;
	if (cJSON_IsString(it)) {
		const char *s = it->valuestring;

		if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
			goto bad;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (errno || *end || end == s)
			goto bad;
	} else if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;

		/* range first: casting an out-of-range double is undefined */
		if (!(d <= 9007199254740992.0 && d >= -9007199254740992.0) ||
		    d != (double)(long long)d)
			goto bad;
		x = (long long)d;
	} else {
		goto bad;
	}
	if (x < min)
		goto bad;
	*v = x;
	return 0;
bad:
	return etcd_fail(msg, -EBADMSG, "%s: field \"%s\" is not an integer >= %" PRId64, where,
			 name, min);
}

static int get_bool(const cJSON *o, const char *name, bool *v, const char *where, char *msg)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	*v = false;
	if (!it)
		return 0;
	if (!cJSON_IsBool(it))
		return etcd_fail(msg, -EBADMSG, "%s: field \"%s\" is not a boolean", where, name);
	*v = cJSON_IsTrue(it);
	return 0;
}

/* bytes: base64 in a string; absent = empty. */
static int get_bytes(const cJSON *o, const char *name, char **p, size_t *len, const char *where,
		     char *msg)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
	int err;

	*p = NULL;
	*len = 0;
	if (!it) {
		*p = strdup("");
		return *p ? 0 : -ENOMEM;
	}
	if (!cJSON_IsString(it))
		return etcd_fail(msg, -EBADMSG, "%s: field \"%s\" is not a string", where, name);
	err = etcd_b64_decode(it->valuestring, p, len);
	if (err == -ENOMEM)
		return err;
	if (err)
		return etcd_fail(msg, -EBADMSG, "%s: field \"%s\" is not base64", where, name);
	return 0;
}

/* An object member that must be an object when present. */
static int get_obj(const cJSON *o, const char *name, const cJSON **out, const char *where,
		   char *msg)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = NULL;
	if (!it)
		return 0;
	if (!cJSON_IsObject(it))
		return etcd_fail(msg, -EBADMSG, "%s: field \"%s\" is not an object", where, name);
	*out = it;
	return 0;
}

static int get_array(const cJSON *o, const char *name, const cJSON **out, const char *where,
		     char *msg)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = NULL;
	if (!it)
		return 0;
	if (!cJSON_IsArray(it))
		return etcd_fail(msg, -EBADMSG, "%s: field \"%s\" is not an array", where, name);
	*out = it;
	return 0;
}

static int parse_header(const cJSON *o, int64_t *rev, const char *where, char *msg)
{
	const cJSON *h;
	int err;

	*rev = 0;
	err = get_obj(o, "header", &h, where, msg);
	if (err || !h)
		return err;
	return get_i64(h, "revision", rev, 0, where, msg);
}

void etcd_kv_free(struct netseg_etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

/* A mvccpb.KeyValue.  The key is decoded first so every later complaint
 * can name it. */
static int parse_kv(const cJSON *o, struct netseg_etcd_kv *kv, bool need_key, const char *where,
		    char *msg)
{
	char kb[96], ctx[160];
	int err;

	memset(kv, 0, sizeof(*kv));
	if (!cJSON_IsObject(o))
		return etcd_fail(msg, -EBADMSG, "%s: a key-value entry is not an object", where);
	err = get_bytes(o, "key", &kv->key, &kv->key_len, where, msg);
	if (err)
		return err;
	if (need_key && !kv->key_len) {
		err = etcd_fail(msg, -EBADMSG, "%s: a key-value entry has no key", where);
		goto out;
	}
	snprintf(ctx, sizeof(ctx), "%s: key %s", where,
		 netseg_etcd_key_str(kv->key, kv->key_len, kb, sizeof(kb)));
	err = get_bytes(o, "value", &kv->value, &kv->value_len, ctx, msg)	       ?:
		      get_i64(o, "create_revision", &kv->create_revision, 0, ctx, msg) ?:
		      get_i64(o, "mod_revision", &kv->mod_revision, 0, ctx, msg)       ?:
		      get_i64(o, "version", &kv->version, 0, ctx, msg)		       ?:
		      get_i64(o, "lease", &kv->lease, 0, ctx, msg);
out:
	if (err)
		etcd_kv_free(kv);
	return err;
}

static int parse_kvs(const cJSON *o, struct netseg_etcd_result *r, const char *where)
{
	const cJSON *arr, *it;
	int n, err;

	err = get_array(o, "kvs", &arr, where, r->msg);
	if (err || !arr)
		return err;
	n = cJSON_GetArraySize(arr);
	if (!n)
		return 0;
	r->kvs = calloc((size_t)n, sizeof(*r->kvs));
	if (!r->kvs)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		err = parse_kv(it, &r->kvs[r->n_kvs], true, where, r->msg);
		if (err)
			return err;
		r->n_kvs++;
	}
	return 0;
}

static int parse_range(const cJSON *o, struct netseg_etcd_result *r, const char *where)
{
	return parse_header(o, &r->revision, where, r->msg)		?:
		       parse_kvs(o, r, where)				?:
		       get_i64(o, "count", &r->count, 0, where, r->msg) ?:
		       get_bool(o, "more", &r->more, where, r->msg);
}

static int parse_txn(const cJSON *o, struct netseg_etcd_result *r, const char *where)
{
	static const char *const names[] = { "response_range", "response_put",
					     "response_delete_range" };
	const cJSON *arr, *it;
	int n, err;

	err = parse_header(o, &r->revision, where, r->msg)		     ?:
		      get_bool(o, "succeeded", &r->succeeded, where, r->msg) ?:
		      get_array(o, "responses", &arr, where, r->msg);
	if (err || !arr)
		return err;
	n = cJSON_GetArraySize(arr);
	if (!n)
		return 0;
	r->ops = calloc((size_t)n, sizeof(*r->ops));
	if (!r->ops)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		struct netseg_etcd_result *sub = &r->ops[r->n_ops++];
		const cJSON *body = NULL;
		unsigned int k, found = 0;

		for (k = 0; k < 3; k++) {
			const cJSON *b = cJSON_IsObject(it) ?
						 cJSON_GetObjectItemCaseSensitive(it, names[k]) :
						 NULL;

			if (b) {
				body = b;
				found++;
				if (k == 0)
					err = parse_range(b, sub, where);
				else if (k == 1)
					err = parse_header(b, &sub->revision, where, sub->msg);
				else
					err = parse_header(b, &sub->revision, where, sub->msg) ?:
						      get_i64(b, "deleted", &sub->deleted, 0, where,
							      sub->msg);
			}
			if (err) {
				memcpy(r->msg, sub->msg, sizeof(r->msg));
				return err;
			}
		}
		if (found != 1 || !cJSON_IsObject(body))
			return etcd_fail(
				r->msg, -EBADMSG,
				"%s: transaction response %zu is not one range, put or delete answer",
				where, r->n_ops - 1);
	}
	return 0;
}

static int parse_lease(const cJSON *o, struct netseg_etcd_result *r, const char *where)
{
	const cJSON *res, *e;
	int err;

	/* keepalive is a stream on the gateway: its answer is wrapped */
	err = get_obj(o, "result", &res, where, r->msg);
	if (err)
		return err;
	if (res)
		o = res;
	err = parse_header(o, &r->revision, where, r->msg)	       ?:
		      get_i64(o, "ID", &r->lease_id, 0, where, r->msg) ?:
		      get_i64(o, "TTL", &r->ttl, 0, where, r->msg);
	if (err)
		return err;
	e = cJSON_GetObjectItemCaseSensitive(o, "error");
	if (e && (!cJSON_IsString(e) || *e->valuestring))
		return etcd_fail(r->msg, -EIO, "%s: etcd says: %s", where,
				 cJSON_IsString(e) ? e->valuestring :
						     "(an error of the wrong type)");
	return 0;
}

static int parse_typed(const char *type, const cJSON *o, struct netseg_etcd_result *r,
		       const char *where)
{
	if (!strcmp(type, "range"))
		return parse_range(o, r, where);
	if (!strcmp(type, "txn"))
		return parse_txn(o, r, where);
	if (!strcmp(type, "lease"))
		return parse_lease(o, r, where);
	if (!strcmp(type, "delete"))
		return parse_header(o, &r->revision, where, r->msg) ?:
			       get_i64(o, "deleted", &r->deleted, 0, where, r->msg);
	if (!strcmp(type, "put") || !strcmp(type, "compact"))
		return parse_header(o, &r->revision, where, r->msg);
	return etcd_fail(r->msg, -EINVAL, "%s: unknown reply type %s", where, type);
}

static int parse_json_object(const char *body, size_t len, cJSON **out, const char *where,
			     char *msg)
{
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(body, len, &end, false);
	size_t used = end ? (size_t)(end - body) : 0;

	*out = NULL;
	while (o && used < len &&
	       (body[used] == ' ' || body[used] == '\n' || body[used] == '\r' ||
		body[used] == '\t'))
		used++;
	if (!o || !cJSON_IsObject(o) || used != len) {
		cJSON_Delete(o);
		return etcd_fail(msg, -EBADMSG, "%s: the reply is not one JSON object", where);
	}
	*out = o;
	return 0;
}

static int parse_reply_where(const char *type, const char *body, size_t len,
			     struct netseg_etcd_result *r, const char *where)
{
	cJSON *o;
	int err;

	err = parse_json_object(body, len, &o, where, r->msg);
	if (!err)
		err = parse_typed(type, o, r, where);
	cJSON_Delete(o);
	if (err == -ENOMEM)
		etcd_fail(r->msg, err, "%s: out of memory", where);
	r->err = err;
	return err;
}

int etcd_parse_reply_at(const char *type, const char *body, size_t len,
			struct netseg_etcd_result *r, const char *where)
{
	return parse_reply_where(type, body, len, r, where);
}

int netseg_etcd_parse_reply(const char *type, const char *body, size_t len,
			    struct netseg_etcd_result *r)
{
	return parse_reply_where(type, body, len, r, type);
}

/* grpc status code of an error reply, as errno. */
static int grpc_errno(int64_t code)
{
	switch (code) {
	case 3:
		return -EINVAL; /* InvalidArgument */
	case 4:
		return -ETIMEDOUT; /* DeadlineExceeded */
	case 5:
		return -ENOENT; /* NotFound */
	case 6:
		return -EEXIST; /* AlreadyExists */
	case 7:			/* PermissionDenied */
	case 16:
		return -EACCES; /* Unauthenticated */
	case 8:
		return -ENOSPC; /* ResourceExhausted */
	case 9:
		return -EPERM; /* FailedPrecondition */
	case 11:
		return -ERANGE; /* OutOfRange: compacted */
	case 14:
		return -EAGAIN; /* Unavailable */
	default:
		return -EIO;
	}
}

/* A non-200 answer: {"error": "...", "message": "...", "code": N}, or a
 * stream error {"error": {"message": ..., "grpc_code": N}}. */
int etcd_parse_error(const char *body, size_t len, long http, char *msg, const char *where)
{
	const cJSON *m, *e;
	int64_t code = 0;
	cJSON *o = NULL;
	char tmp[NETSEG_ETCD_MSG_MAX];

	if (parse_json_object(body, len, &o, where, tmp))
		return etcd_fail(msg, http == 404 ? -ENOENT : -EIO,
				 "%s: HTTP %ld and a reply that is not etcd's", where, http);
	e = cJSON_GetObjectItemCaseSensitive(o, "error");
	if (cJSON_IsObject(e)) {
		get_i64(e, "grpc_code", &code, 0, where, tmp);
		m = cJSON_GetObjectItemCaseSensitive(e, "message");
	} else {
		get_i64(o, "code", &code, 0, where, tmp);
		m = cJSON_GetObjectItemCaseSensitive(o, "message");
		if (!cJSON_IsString(m))
			m = e;
	}
	if (http == 200) /* an error inside a stream */
		etcd_fail(msg, 0, "%s: etcd reports an error: %.160s", where,
			  cJSON_IsString(m) ? m->valuestring : "no message");
	else
		etcd_fail(msg, 0, "%s: etcd refused it (HTTP %ld): %.160s", where, http,
			  cJSON_IsString(m) ? m->valuestring : "no message");
	cJSON_Delete(o);
	return code ? grpc_errno(code) : -EIO;
}

static void free_kvs(struct netseg_etcd_kv *kvs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		etcd_kv_free(&kvs[i]);
	free(kvs);
}

/* A transaction's answers are one level deep: their own ops stay empty. */
void netseg_etcd_result_free(struct netseg_etcd_result *r)
{
	size_t i;

	if (!r)
		return;
	free_kvs(r->kvs, r->n_kvs);
	for (i = 0; i < r->n_ops; i++)
		free_kvs(r->ops[i].kvs, r->ops[i].n_kvs);
	free(r->ops);
	r->kvs = NULL;
	r->ops = NULL;
	r->n_kvs = r->n_ops = 0;
}

void netseg_etcd_watch_msg_free(struct netseg_etcd_watch_msg *m)
{
	struct netseg_etcd_event *ev = (struct netseg_etcd_event *)m->events;
	size_t i;

	for (i = 0; i < m->n_events; i++)
		etcd_kv_free(&ev[i].kv);
	free(ev);
	m->events = NULL;
	m->n_events = 0;
}

static int parse_events(const cJSON *res, struct netseg_etcd_watch_msg *m, char *err)
{
	struct netseg_etcd_event *ev;
	const cJSON *arr, *it;
	int n, e;

	e = get_array(res, "events", &arr, "watch", err);
	if (e || !arr || !(n = cJSON_GetArraySize(arr)))
		return e;
	ev = calloc((size_t)n, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	m->events = ev;
	cJSON_ArrayForEach(it, arr) {
		const cJSON *t = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "type") :
						      NULL;
		const cJSON *kv = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "kv") :
						       NULL;
		struct netseg_etcd_event *x = &ev[m->n_events];

		if (!t || (cJSON_IsString(t) && !strcmp(t->valuestring, "PUT")))
			x->type = NETSEG_ETCD_EV_PUT;
		else if (cJSON_IsString(t) && !strcmp(t->valuestring, "DELETE"))
			x->type = NETSEG_ETCD_EV_DELETE;
		else
			return etcd_fail(err, -EBADMSG, "watch: event %zu has an unknown type",
					 m->n_events);
		if (!kv)
			return etcd_fail(err, -EBADMSG, "watch: event %zu has no key-value",
					 m->n_events);
		e = parse_kv(kv, &x->kv, true, "watch event", err);
		if (e)
			return e;
		m->n_events++;
		if (!x->kv.mod_revision) {
			char kb[96];

			return etcd_fail(err, -EBADMSG, "watch event: key %s has no mod_revision",
					 netseg_etcd_key_str(x->kv.key, x->kv.key_len, kb,
							     sizeof(kb)));
		}
	}
	return 0;
}

/*
 * One line of the watch stream.  The kind is set for events and progress
 * notifications; created and canceled are reported apart because the
 * caller's state machine decides what they mean.
 */
int netseg_etcd_parse_watch(const char *line, size_t len, struct netseg_etcd_watch_msg *m,
			    bool *created, bool *canceled, char *err, size_t errlen)
{
	char msg[NETSEG_ETCD_MSG_MAX] = "";
	const cJSON *res;
	cJSON *o;
	int e;

	memset(m, 0, sizeof(*m));
	*created = *canceled = false;
	e = parse_json_object(line, len, &o, "watch", msg);
	if (e)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(o, "error")) {
		e = etcd_parse_error(line, len, 200, msg, "watch");
		goto out;
	}
	e = get_obj(o, "result", &res, "watch", msg);
	if (!e && !res)
		e = etcd_fail(msg, -EBADMSG, "watch: a message without a result");
	if (e)
		goto out;
	e = parse_header(res, &m->revision, "watch", msg)				    ?:
		    get_bool(res, "created", created, "watch", msg)			    ?:
		    get_bool(res, "canceled", canceled, "watch", msg)			    ?:
		    get_i64(res, "compact_revision", &m->compact_revision, 0, "watch", msg) ?:
		    parse_events(res, m, msg);
	if (e)
		goto out;
	m->kind = m->n_events ? NETSEG_ETCD_W_EVENTS : NETSEG_ETCD_W_PROGRESS;
	if (*canceled) {
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(res, "cancel_reason");

		snprintf(msg, sizeof(msg), "etcd canceled the watch: %.160s",
			 cJSON_IsString(why) && *why->valuestring ? why->valuestring :
								    "no reason given");
	}
out:
	cJSON_Delete(o);
	if (e)
		netseg_etcd_watch_msg_free(m);
	if (errlen)
		snprintf(err, errlen, "%s", msg);
	return e;
}

struct cJSON *netseg_etcd_kv_json(const struct netseg_etcd_kv *kv, char *err, size_t errlen)
{
	char kb[96], msg[NETSEG_ETCD_MSG_MAX];
	cJSON *o;

	if (parse_json_object(kv->value, kv->value_len, &o, "value", msg)) {
		snprintf(err, errlen, "the value of %s is not a JSON object",
			 netseg_etcd_key_str(kv->key, kv->key_len, kb, sizeof(kb)));
		return NULL;
	}
	return o;
}
