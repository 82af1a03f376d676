// SPDX-License-Identifier: GPL-2.0-only
/*
 * Flow records (lib/flowrec.c) and their formats (lib/flowfmt.c, lib/
 * syslog.c, lib/flowchain.c).  The input is a ring-buffer event or a
 * conntrack entry (raw bytes, as the kernel could hand them over), the
 * identity, interface, rule and comment names the daemon would look up
 * (any bytes: an identity name is whatever an admin typed), and a few
 * choices.  Every format must give one line that fits NETSEG_FLOWFMT_MAX,
 * fits a buffer of exactly its length + 1 and reports -ENOSPC in anything
 * smaller without writing past it; JSON formats must parse as one object,
 * CEF must hold no line break; the syslog and hash-chain framings of each
 * line must keep their own promises.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "flowrec.h"
#include "fuzzdp.h"

struct input {
	const uint8_t *p;
	size_t n;
};

static void take(struct input *in, void *out, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memset(out, 0, len);
	memcpy(out, in->p, k);
	in->p += k;
	in->n -= k;
}

static uint8_t take_u8(struct input *in)
{
	uint8_t v;

	take(in, &v, 1);
	return v;
}

/* A length byte, then that many bytes (NULs kept: callbacks see C strings). */
static char *take_str(struct input *in, size_t max)
{
	size_t len = take_u8(in) * 4;
	char *s;

	if (len > max)
		len = max;
	if (len > in->n)
		len = in->n;
	s = malloc(len + 1);
	FUZZ_ASSERT(s, "out of memory");
	memcpy(s, in->p, len);
	s[len] = '\0';
	in->p += len;
	in->n -= len;
	return s;
}

struct names {
	char *id_name, *ifname, *rule, *comment;
	int ifkind;
	bool fail;
};

static void put(char *buf, size_t len, const char *s)
{
	snprintf(buf, len, "%s", s);
}

static int cb_identity(void *ctx, __u32 id, char *buf, size_t len)
{
	struct names *n = ctx;

	if (n->fail && id == NETSEG_ID_HOST)
		return -ENOENT;
	put(buf, len, n->id_name);
	return 0;
}

static int cb_iface(void *ctx, __u32 ifindex, char *buf, size_t len)
{
	struct names *n = ctx;

	if (n->fail)
		return -ENOENT;
	put(buf, len, n->ifname);
	return n->ifkind;
}

static int cb_rule(void *ctx, __u32 rule_id, char *text, size_t tlen, char *comment, size_t clen)
{
	struct names *n = ctx;

	if (n->fail)
		return -ENOENT;
	put(text, tlen, n->rule);
	put(comment, clen, n->comment);
	return 0;
}

static void check_json(const char *line, int len, const char *what)
{
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, false);

	FUZZ_ASSERT(cJSON_IsObject(o) && end == line + len, "%s isn't one JSON object: %s", what,
		    line);
	cJSON_Delete(o);
}

static void check_syslog(const char *line, int len, struct input *in, char *host, char *app)
{
	struct netseg_sd_param params[2] = {
		{ "rule", host },
		{ "id\"]=", app }, /* hostile SD values and names */
	};
	struct netseg_sd_element sd = { "flow@32473", params, 2 };
	struct netseg_syslog_hdr h = {
		.facility = take_u8(in) % 26 - 1, /* -1 and 24 are refused */
		.severity = take_u8(in) % 9,	  /* 8 is refused */
		.time_ns = 1700000000000000000ULL + take_u8(in),
		.hostname = host,
		.app = app,
		.procid = "4242",
		.msgid = "flow",
		.sd = &sd,
		.nsd = take_u8(in) % 2,
	};
	size_t cap = take_u8(in) & 1 ? NETSEG_SYSLOG_UDP_MAX : (size_t)len + 1024;
	int flags = take_u8(in) & 1 ? NETSEG_SYSLOG_TRUNCATE : 0;
	char *buf = malloc(cap), pre[24], *oc;
	int n, i, sp;

	FUZZ_ASSERT(buf, "out of memory");
	n = netseg_syslog_format(buf, cap, &h, line, len, flags);
	if (h.facility < 0 || h.facility > 23 || h.severity > 7) {
		FUZZ_ASSERT(n == -EINVAL, "facility %d severity %d accepted", h.facility,
			    h.severity);
		goto out;
	}
	FUZZ_ASSERT(n >= 0 || n == -EMSGSIZE, "syslog_format returned %d", n);
	FUZZ_ASSERT(n >= 0 || !flags || cap < 512, "truncating syslog message didn't fit %zu", cap);
	if (n < 0)
		goto out;
	FUZZ_ASSERT((size_t)n < cap && strlen(buf) == (size_t)n && buf[0] == '<',
		    "syslog message of %d bytes in %zu", n, cap);
	/* PRI VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID: six fields of
	 * printable US-ASCII, one space after each, then STRUCTURED-DATA. */
	for (i = 0, sp = 0; i < n && sp < 6; i++) {
		if (buf[i] == ' ') {
			FUZZ_ASSERT(i > 0 && buf[i - 1] != ' ', "empty syslog header field");
			sp++;
			continue;
		}
		FUZZ_ASSERT(buf[i] > 0x20 && buf[i] < 0x7f, "syslog header byte %#x at %d",
			    (unsigned char)buf[i], i);
	}
	FUZZ_ASSERT(sp == 6 && (buf[i] == '-' || buf[i] == '['), "syslog header: %s", buf);
	/* RFC 6587 framing of it. */
	oc = malloc(n + 24);
	FUZZ_ASSERT(oc, "out of memory");
	i = netseg_syslog_octet_count(oc, n + 24, buf, n);
	snprintf(pre, sizeof(pre), "%d ", n);
	FUZZ_ASSERT(i == n + (int)strlen(pre) && !strncmp(oc, pre, strlen(pre)) &&
			    !memcmp(oc + strlen(pre), buf, n),
		    "octet counting framed it wrong");
	FUZZ_ASSERT(netseg_syslog_octet_count(oc, n, buf, n) == -EMSGSIZE,
		    "octet counting into a short buffer");
	free(oc);
out:
	free(buf);
}

static void check_chain(const char *line, int len, int fmt)
{
	static const unsigned char genesis[NETSEG_CHAIN_DIGEST];
	struct netseg_chain c;
	char *out = malloc(NETSEG_CHAIN_LINE_MAX);
	int n;

	FUZZ_ASSERT(out && !netseg_chain_init(&c, genesis), "chain init");
	/* Where the daemon puts it: inside OCSF's unmapped, ECS's netseg. */
	n = netseg_chain_line_in(&c, netseg_flowfmt_chain_member(fmt), line, len, out,
				 NETSEG_CHAIN_LINE_MAX);
	FUZZ_ASSERT(n > len && (size_t)n < NETSEG_CHAIN_LINE_MAX && strlen(out) == (size_t)n &&
			    c.seq == 1,
		    "chaining a %s line gave %d", netseg_flowfmt_name(fmt), n);
	if (fmt != NETSEG_FMT_CEF)
		check_json(out, n, "chained line");
	FUZZ_ASSERT(!memchr(out, '\n', n), "chained line holds a newline");
	free(out);
}

/* Shortened to a random limit: within it, whole, or -EMSGSIZE. */
static void check_fit(const struct netseg_flowrec *r, const struct netseg_flowfmt_opts *o, int fmt,
		      int full, struct input *in)
{
	size_t max = 200 + (take_u8(in) | take_u8(in) << 8) % (full + 1);
	char *out = malloc(NETSEG_FLOWFMT_MAX);
	bool cut;
	int n;

	FUZZ_ASSERT(out, "out of memory");
	n = netseg_flowfmt_fit(fmt, r, o, max, out, NETSEG_FLOWFMT_MAX, &cut);
	FUZZ_ASSERT(n == -EMSGSIZE || (n > 0 && (size_t)n <= max && strlen(out) == (size_t)n &&
				       cut == (n != full || (size_t)full > max)),
		    "%s: fit into %zu gave %d (whole %d)", netseg_flowfmt_name(fmt), max, n, full);
	if (n > 0 && fmt != NETSEG_FMT_CEF)
		check_json(out, n, "shortened line");
	free(out);
}

static void format_all(const struct netseg_flowrec *r, struct input *in, char *host, char *app)
{
	struct netseg_flowfmt_opts o = { .version = "0.1.0", .cid_seed = take_u8(in) };
	char *buf = malloc(NETSEG_FLOWFMT_MAX);

	FUZZ_ASSERT(buf, "out of memory");
	for (int fmt = NETSEG_FMT_JSON; fmt <= NETSEG_FMT_CEF; fmt++) {
		const char *name = netseg_flowfmt_name(fmt);
		int n = netseg_flowfmt(fmt, r, &o, buf, NETSEG_FLOWFMT_MAX);
		size_t small;
		char *exact;
		int m;

		FUZZ_ASSERT(n > 0, "%s: %d for a %s record", name, n,
			    netseg_flowrec_kind_name(r->kind) ?: "?");
		FUZZ_ASSERT((size_t)n < NETSEG_FLOWFMT_MAX && strlen(buf) == (size_t)n,
			    "%s: length %d, string %zu", name, n, strlen(buf));
		FUZZ_ASSERT(!memchr(buf, '\n', n) && !memchr(buf, '\r', n), "%s: line break in %s",
			    name, buf);
		if (fmt == NETSEG_FMT_CEF)
			FUZZ_ASSERT(!strncmp(buf, "CEF:0|", 6), "cef: %s", buf);
		else
			check_json(buf, n, name);
		/* Exactly enough, and one byte (or more) short: heap-sized so a
		 * write past the end is caught. */
		exact = malloc(n + 1);
		FUZZ_ASSERT(exact, "out of memory");
		m = netseg_flowfmt(fmt, r, &o, exact, n + 1);
		FUZZ_ASSERT(m == n && !memcmp(exact, buf, n + 1), "%s: differs in %d bytes", name,
			    n + 1);
		free(exact);
		small = 1 + (take_u8(in) | take_u8(in) << 8) % n;
		exact = malloc(small);
		FUZZ_ASSERT(exact, "out of memory");
		m = netseg_flowfmt(fmt, r, &o, exact, small);
		FUZZ_ASSERT(m == -ENOSPC, "%s: %d into %zu bytes (needs %d)", name, m, small,
			    n + 1);
		free(exact);
		check_chain(buf, n, fmt);
		check_fit(r, &o, fmt, n, in);
		check_syslog(buf, n, in, host, app);
	}
	free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct names nm = {};
	struct netseg_flow_names fn = { &nm, cb_identity, cb_iface, cb_rule, NULL };
	struct netseg_flowrec rec;
	struct netseg_event ev;
	struct netseg_ct_key key;
	struct netseg_ct_entry ce;
	__s64 off;
	uint8_t how = take_u8(&in);
	char *node;
	int ret = 0;

	take(&in, &off, sizeof(off));
	nm.ifkind = take_u8(&in) & 1;
	nm.fail = how & 0x80;
	nm.id_name = take_str(&in, 300);
	nm.ifname = take_str(&in, 300);
	nm.rule = take_str(&in, 1100);
	nm.comment = take_str(&in, 600);
	node = take_str(&in, 300);
	fn.node = how & 0x40 ? node : NULL;
	switch (how % 3) {
	case 0:
		take(&in, &ev, sizeof(ev));
		ret = netseg_flowrec_from_event(&ev, off, &fn, &rec);
		break;
	case 1:
		take(&in, &key, sizeof(key));
		take(&in, &ce, sizeof(ce));
		ret = netseg_flowrec_from_ct(&key, &ce, off, &fn, &rec);
		break;
	case 2: {
		__u64 v[4];

		take(&in, v, sizeof(v));
		netseg_flowrec_lost(&rec, v[0], v[1], v[2], v[3], fn.node);
		break;
	}
	}
	FUZZ_ASSERT(ret == 0 || ret == -EINVAL, "record builder returned %d", ret);
	if (!ret)
		format_all(&rec, &in, nm.id_name, nm.ifname);
	free(nm.id_name);
	free(nm.ifname);
	free(nm.rule);
	free(nm.comment);
	free(node);
	return 0;
}
