// SPDX-License-Identifier: GPL-2.0-only
/*
 * Syslog framing for the flow-log sinks: RFC 5424 messages, and RFC 6587
 * octet counting for TCP (and RFC 5425 TLS, which frames the same way).
 * Only bytes in and out: the sinks own the sockets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowrec.h"

#define BOM "\xef\xbb\xbf"

struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len + n + 1 > o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/*
 * A header field: 1*max PRINTUSASCII (33-126), "-" when empty.  Anything
 * else becomes '_' (a space would shift every field after it), and
 * @sd_name also turns '=', ']' and '"' into '_' (RFC 5424 SD-NAME).
 */
static void field(struct out *o, const char *s, size_t max, bool sd_name)
{
	size_t i;

	if (!s || !*s) {
		puts_(o, "-");
		return;
	}
	for (i = 0; s[i] && i < max; i++) {
		unsigned char c = s[i];
		bool bad = c < 33 || c > 126 || (sd_name && (c == '=' || c == ']' || c == '"'));

		put(o, bad ? "_" : (const char *)&s[i], 1);
	}
}

/* PARAM-VALUE: UTF-8, with '"', '\' and ']' escaped (RFC 5424 §6.3.3). */
static int param_value(struct out *o, const char *v)
{
	size_t n = v ? strlen(v) : 0, i;
	char *u = malloc(3 * n + 1);

	if (!u)
		return -ENOMEM;
	netseg_utf8_copy(u, 3 * n + 1, v ? v : "", n);
	for (i = 0; u[i]; i++) {
		if (u[i] == '"' || u[i] == '\\' || u[i] == ']')
			put(o, "\\", 1);
		put(o, &u[i], 1);
	}
	free(u);
	return 0;
}

static int structured_data(struct out *o, const struct netseg_sd_element *sd, size_t nsd)
{
	size_t i, k;
	int ret;

	if (!nsd) {
		puts_(o, "-");
		return 0;
	}
	for (i = 0; i < nsd; i++) {
		if (!sd[i].id || !*sd[i].id)
			return -EINVAL;
		puts_(o, "[");
		field(o, sd[i].id, NETSEG_SYSLOG_SDNAME_MAX, true);
		for (k = 0; k < sd[i].nparams; k++) {
			const struct netseg_sd_param *p = &sd[i].params[k];

			if (!p->name || !*p->name)
				return -EINVAL;
			puts_(o, " ");
			field(o, p->name, NETSEG_SYSLOG_SDNAME_MAX, true);
			puts_(o, "=\"");
			ret = param_value(o, p->value);
			if (ret)
				return ret;
			puts_(o, "\"");
		}
		puts_(o, "]");
	}
	return 0;
}

/* SP BOM MSG, MSG repaired to UTF-8 and cut on a character if allowed. */
static int message(struct out *o, const char *msg, size_t msglen, int flags)
{
	char *u = malloc(3 * msglen + 1);
	size_t n, room;
	int ret = 0;

	if (!u)
		return -ENOMEM;
	n = netseg_utf8_copy(u, 3 * msglen + 1, msg, msglen);
	puts_(o, " " BOM);
	if (o->full) {
		ret = -EMSGSIZE;
		goto out;
	}
	room = o->cap - o->len; /* including the NUL */
	if (n + 1 > room) {
		if (!(flags & NETSEG_SYSLOG_TRUNCATE)) {
			ret = -EMSGSIZE;
			goto out;
		}
		/* u is valid UTF-8: copying it again cuts between characters. */
		n = netseg_utf8_copy(o->p + o->len, room, u, n);
		o->len += n;
		goto out;
	}
	put(o, u, n);
out:
	free(u);
	return ret;
}

int netseg_syslog_format(char *buf, size_t len, const struct netseg_syslog_hdr *h, const char *msg,
			 size_t msglen, int flags)
{
	struct out o = { .p = buf, .cap = len };
	char t[NETSEG_RFC3339_MAX];
	int ret;

	if (h->facility < 0 || h->facility > 23 || h->severity < 0 || h->severity > 7)
		return -EINVAL;
	if (!len)
		return -EMSGSIZE;
	buf[0] = '\0';
	snprintf(t, sizeof(t), "<%d>1 ", h->facility * 8 + h->severity);
	puts_(&o, t);
	if (h->time_ns) {
		ret = netseg_rfc3339(t, sizeof(t), h->time_ns, 6);
		if (ret < 0)
			return ret;
		puts_(&o, t);
	} else {
		puts_(&o, "-");
	}
	puts_(&o, " ");
	field(&o, h->hostname, NETSEG_SYSLOG_HOSTNAME_MAX, false);
	puts_(&o, " ");
	field(&o, h->app, NETSEG_SYSLOG_APPNAME_MAX, false);
	puts_(&o, " ");
	field(&o, h->procid, NETSEG_SYSLOG_PROCID_MAX, false);
	puts_(&o, " ");
	field(&o, h->msgid, NETSEG_SYSLOG_MSGID_MAX, false);
	puts_(&o, " ");
	ret = structured_data(&o, h->sd, h->nsd);
	if (ret)
		return ret;
	if (o.full)
		return -EMSGSIZE;
	if (msg) {
		ret = message(&o, msg, msglen, flags);
		if (ret)
			return ret;
	}
	return (int)o.len;
}

int netseg_syslog_octet_prefix(char *buf, size_t len, size_t msglen)
{
	int n = snprintf(buf, len, "%zu ", msglen);

	return n < 0 || (size_t)n >= len ? -EMSGSIZE : n;
}

int netseg_syslog_octet_count(char *buf, size_t len, const char *msg, size_t msglen)
{
	int n = netseg_syslog_octet_prefix(buf, len, msglen);

	if (n < 0 || (size_t)n + msglen + 1 > len)
		return -EMSGSIZE;
	memcpy(buf + n, msg, msglen);
	buf[n + msglen] = '\0';
	return n + (int)msglen;
}
