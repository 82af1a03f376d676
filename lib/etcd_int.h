/* SPDX-License-Identifier: GPL-2.0-only */
/* Shared by lib/etcd.c (the client) and lib/etcd_json.c (the encoding). */
#ifndef NETSEG_ETCD_INT_H
#define NETSEG_ETCD_INT_H

#include <stddef.h>

#include "etcd.h"

char *etcd_b64_encode(const void *data, size_t len);
int etcd_b64_decode(const char *s, char **out, size_t *outlen);
void etcd_kv_free(struct netseg_etcd_kv *kv);
int etcd_fail(char *msg, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Parses a 200 reply of @type; messages start with @where. */
int etcd_parse_reply_at(const char *type, const char *body, size_t len,
			struct netseg_etcd_result *r, const char *where);
/* An error reply: -errno from its gRPC code, @msg filled. */
int etcd_parse_error(const char *body, size_t len, long http, char *msg, const char *where);

#endif
