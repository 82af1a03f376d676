// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the etcd client (lib/etcd_json.c) reads from the network: the
 * first byte picks a reply type (range, txn, lease, delete, put, a watch
 * stream line, a value read as JSON), the rest is the body.  Whatever the
 * body, the parser either accepts it with every field in range (keys
 * present, NUL-terminated, revisions >= 0) or refuses it with a message,
 * never both.  The same bytes also go through base64 and back unchanged.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "etcd.h"
#include "etcd_int.h"
#include "fuzzdp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_logs();
	return 0;
}

static void check_kv(const struct netseg_etcd_kv *kv)
{
	FUZZ_ASSERT(kv->key && kv->value, "kv without key or value buffer");
	FUZZ_ASSERT(kv->key_len > 0, "kv accepted with an empty key");
	FUZZ_ASSERT(kv->key[kv->key_len] == '\0' && kv->value[kv->value_len] == '\0',
		    "key or value not NUL-terminated");
	FUZZ_ASSERT(kv->create_revision >= 0 && kv->mod_revision >= 0 && kv->version >= 0 &&
			    kv->lease >= 0,
		    "a negative revision, version or lease accepted");
}

static void check_result(const struct netseg_etcd_result *r)
{
	size_t i;

	FUZZ_ASSERT(r->revision >= 0 && r->count >= 0 && r->deleted >= 0 && r->ttl >= 0 &&
			    r->lease_id >= 0,
		    "a negative number accepted");
	for (i = 0; i < r->n_kvs; i++)
		check_kv(&r->kvs[i]);
	for (i = 0; i < r->n_ops; i++)
		check_result(&r->ops[i]);
}

static void reply(const char *type, const char *body, size_t len)
{
	struct netseg_etcd_result r = { 0 };
	int err = netseg_etcd_parse_reply(type, body, len, &r);

	FUZZ_ASSERT(err == r.err, "returned %d but recorded %d", err, r.err);
	if (err)
		FUZZ_ASSERT(*r.msg && (err == -EBADMSG || err == -ENOMEM || err == -EIO),
			    "refused with %d and message \"%s\"", err, r.msg);
	else
		check_result(&r);
	netseg_etcd_result_free(&r);
}

static void watch_line(const char *body, size_t len)
{
	struct netseg_etcd_watch_msg m;
	char err[NETSEG_ETCD_MSG_MAX];
	bool created, canceled;
	size_t i;

	if (netseg_etcd_parse_watch(body, len, &m, &created, &canceled, err, sizeof(err))) {
		FUZZ_ASSERT(*err && !m.events && !m.n_events,
			    "a refused line left events or no message");
		return;
	}
	FUZZ_ASSERT(m.revision >= 0 && m.compact_revision >= 0, "negative watch revisions");
	for (i = 0; i < m.n_events; i++) {
		check_kv(&m.events[i].kv);
		FUZZ_ASSERT(m.events[i].kv.mod_revision > 0, "an event without mod_revision");
	}
	netseg_etcd_watch_msg_free(&m);
}

static void base64(const uint8_t *data, size_t len)
{
	char *enc = etcd_b64_encode(data, len), *dec = NULL;
	size_t n = 0;

	FUZZ_ASSERT(enc, "out of memory");
	FUZZ_ASSERT(!etcd_b64_decode(enc, &dec, &n), "our own base64 refused: %s", enc);
	FUZZ_ASSERT(n == len && !memcmp(dec, data, len), "base64 round trip changed the bytes");
	free(enc);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "range", "txn", "lease", "delete", "put" };
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	char *copy, *dec;
	size_t n;

	if (!size)
		return 0;
	base64(data, size);
	switch (data[0] % 8) {
	case 5:
		watch_line(body, len);
		break;
	case 6: {
		struct netseg_etcd_kv kv = { .key = "/netseg/k",
					     .key_len = 9,
					     .value = (char *)body,
					     .value_len = len };
		char err[256];
		cJSON *o = netseg_etcd_kv_json(&kv, err, sizeof(err));

		FUZZ_ASSERT(o || strstr(err, "/netseg/k"), "a refused value not named by key");
		cJSON_Delete(o);
		break;
	}
	case 7:
		/* the decoder on arbitrary text */
		copy = strndup(body, len);
		FUZZ_ASSERT(copy, "out of memory");
		if (!etcd_b64_decode(copy, &dec, &n)) {
			FUZZ_ASSERT(dec[n] == '\0' && n <= len, "decoded length out of range");
			free(dec);
		}
		free(copy);
		break;
	default:
		reply(types[data[0] % 8 % 5], body, len);
	}
	return 0;
}
