// SPDX-License-Identifier: GPL-2.0-only
/*
 * Syslog framing: RFC 5424 layout (checked against the RFC's grammar as a
 * regex), PRI, NILVALUEs, timestamp, header field limits and sanitising,
 * STRUCTURED-DATA escaping, the UTF-8 BOM, truncation, and RFC 6587
 * octet counting read back from a stream.
 */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "flowrec.h"
#include "tap.h"

#define T0 1784800815123456789ULL /* 2026-07-23T10:00:15.123456789Z */
#define BOM "\xef\xbb\xbf"

/* RFC 5424 §6 as an ERE (PRINTUSASCII = !-~; SD-NAME also without = ] "). */
#define SDNAME "[!#-<>-\\\\^-~]{1,32}"
#define PVALUE "([^]\"\\\\]|\\\\[]\"\\\\])*"
#define SDELEM "\\[" SDNAME "( " SDNAME "=\"" PVALUE "\")*\\]"
#define RFC5424                                                                       \
	"^<([0-9]|[1-9][0-9]|1[0-8][0-9]|19[01])>1 "                                  \
	"(-|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?Z) " \
	"[!-~]{1,255} [!-~]{1,48} [!-~]{1,128} [!-~]{1,32} "                          \
	"(-|(" SDELEM ")+)( " BOM ".*)?$"

static char buf[4096];

static bool grammar(const char *msg)
{
	regex_t rx;
	bool r;

	if (regcomp(&rx, RFC5424, REG_EXTENDED | REG_NOSUB))
		bail("bad RFC 5424 regex");
	r = !regexec(&rx, msg, 0, NULL, 0);
	regfree(&rx);
	return r;
}

static bool rfc5424(const char *msg, const char *what)
{
	bool r = grammar(msg);

	if (!ok(r, "%s: matches the RFC 5424 grammar", what))
		diag("%s", msg);
	return r;
}

static int fmt(const struct netseg_syslog_hdr *h, const char *msg, int flags, size_t len)
{
	return netseg_syslog_format(buf, len, h, msg, msg ? strlen(msg) : 0, flags);
}

static void test_layout(void)
{
	static const struct netseg_sd_param p[] = { { "rule", "deny-db" } };
	static const struct netseg_sd_element sd[] = { { "flow@32473", p, 1 } };
	struct netseg_syslog_hdr h = {
		.facility = 16,
		.severity = 6,
		.time_ns = T0,
		.hostname = "node-7",
		.app = "netseg",
		.procid = "4242",
		.msgid = "FLOW_DENY",
		.sd = sd,
		.nsd = 1,
	};
	int n;

	n = fmt(&h, "{\"a\":1}", 0, sizeof(buf));
	is_str(buf,
	       "<134>1 2026-07-23T10:00:15.123456Z node-7 netseg 4242 FLOW_DENY "
	       "[flow@32473 rule=\"deny-db\"] " BOM "{\"a\":1}",
	       "local0.info with SD and a JSON MSG, byte-exact");
	is_int(n, strlen(buf), "returns the length");
	rfc5424(buf, "full message");
	ok(!memcmp(strstr(buf, "] ") + 2, BOM, 3), "MSG starts with the UTF-8 BOM");

	h.facility = 13;
	h.severity = 4;
	fmt(&h, NULL, 0, sizeof(buf));
	ok(!strncmp(buf, "<108>1 ", 7), "log audit.warning = <108>");
	ok(buf[strlen(buf) - 1] == ']', "no MSG: nothing after STRUCTURED-DATA");
	rfc5424(buf, "no MSG");
	h.facility = 23;
	h.severity = 7;
	fmt(&h, "x", 0, sizeof(buf));
	ok(!strncmp(buf, "<191>1 ", 7), "local7.debug = <191>, the largest PRI");
	h.facility = 0;
	h.severity = 0;
	fmt(&h, "x", 0, sizeof(buf));
	ok(!strncmp(buf, "<0>1 ", 5), "kern.emerg = <0>");

	h.facility = 24;
	is_int(fmt(&h, "x", 0, sizeof(buf)), -EINVAL, "facility 24 refused");
	h.facility = 16;
	h.severity = 8;
	is_int(fmt(&h, "x", 0, sizeof(buf)), -EINVAL, "severity 8 refused");
	h.severity = -1;
	is_int(fmt(&h, "x", 0, sizeof(buf)), -EINVAL, "severity -1 refused");
}

static void test_nil(void)
{
	struct netseg_syslog_hdr h = { .facility = 16, .severity = 6, .hostname = "" };

	fmt(&h, NULL, 0, sizeof(buf));
	is_str(buf, "<134>1 - - - - - -", "every field nil");
	rfc5424(buf, "all nil");
	fmt(&h, "", 0, sizeof(buf));
	is_str(buf, "<134>1 - - - - - - " BOM, "empty MSG: SP and BOM");
}

static void test_timestamp(void)
{
	struct netseg_syslog_hdr h = { .facility = 16, .severity = 6 };
	regex_t rx;

	h.time_ns = 1000000000ULL * 86400 * 365; /* 1971-01-01, zero fraction */
	fmt(&h, NULL, 0, sizeof(buf));
	is_str(buf, "<134>1 1971-01-01T00:00:00.000000Z - - - - -", "whole second: .000000Z");
	h.time_ns = T0;
	fmt(&h, NULL, 0, sizeof(buf));
	if (regcomp(&rx, " [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z ",
		    REG_EXTENDED | REG_NOSUB))
		bail("regex");
	ok(!regexec(&rx, buf, 0, NULL, 0), "uppercase T and Z, exactly 6 fraction digits");
	regfree(&rx);
	ok(strstr(buf, ".123456Z") != NULL, "ns truncated to us, not rounded");
}

static void test_fields(void)
{
	char host[300], app[60], procid[200], msgid[40], want[300];
	struct netseg_syslog_hdr h = {
		.facility = 16,
		.severity = 6,
		.hostname = host,
		.app = app,
		.procid = procid,
		.msgid = msgid,
	};
	const char *p;

	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	memset(app, 'a', sizeof(app) - 1);
	app[sizeof(app) - 1] = '\0';
	memset(procid, 'p', sizeof(procid) - 1);
	procid[sizeof(procid) - 1] = '\0';
	memset(msgid, 'm', sizeof(msgid) - 1);
	msgid[sizeof(msgid) - 1] = '\0';
	fmt(&h, "x", 0, sizeof(buf));
	rfc5424(buf, "over-long fields");
	p = buf + strlen("<134>1 - ");
	ok(strspn(p, "h") == 255 && p[255] == ' ', "HOSTNAME cut to 255");
	p += 256;
	ok(strspn(p, "a") == 48 && p[48] == ' ', "APP-NAME cut to 48");
	p += 49;
	ok(strspn(p, "p") == 128 && p[128] == ' ', "PROCID cut to 128");
	p += 129;
	ok(strspn(p, "m") == 32 && p[32] == ' ', "MSGID cut to 32");

	h.hostname = "node 7\t\xc3\xa9x";
	h.app = "net\x7fseg";
	h.procid = "-";
	h.msgid = "FLOW\nDENY";
	fmt(&h, NULL, 0, sizeof(buf));
	snprintf(want, sizeof(want), "<134>1 - node_7___x net_seg - FLOW_DENY -");
	is_str(buf, want, "space, tab, DEL, newline and non-ASCII bytes become _");
	rfc5424(buf, "sanitised fields");
}

static void test_sd(void)
{
	static const struct netseg_sd_param p1[] = {
		{ "rule", "a\"b\\c]d" },
		{ "comment", "caf\xc3\xa9 \xff line1\nline2 [x]" },
		{ "na me=\"]", "v" },
		{ "abcdefghijklmnopqrstuvwxyz0123456789", "long name" },
	};
	static const struct netseg_sd_param p2[] = { { "verdict", "denied" } };
	static const struct netseg_sd_element sd[] = {
		{ "flow@32473", p1, 4 },
		{ "fl ow]@1", p2, 1 },
	};
	static const struct netseg_sd_element noid[] = { { "", p2, 1 } };
	static const struct netseg_sd_param noname[] = { { "", "v" } };
	static const struct netseg_sd_element badparam[] = { { "x@1", noname, 1 } };
	struct netseg_syslog_hdr h = { .facility = 16, .severity = 6, .sd = sd, .nsd = 2 };

	fmt(&h, "m", 0, sizeof(buf));
	is_str(buf,
	       "<134>1 - - - - - [flow@32473 rule=\"a\\\"b\\\\c\\]d\" "
	       "comment=\"caf\xc3\xa9 \xef\xbf\xbd line1\nline2 [x\\]\" na_me___=\"v\" "
	       "abcdefghijklmnopqrstuvwxyz012345=\"long name\"][fl_ow_@1 verdict=\"denied\"] " BOM
	       "m",
	       "SD: \" \\ ] escaped, [ and newline literal, invalid UTF-8 repaired, names sanitised "
	       "and cut to 32");
	rfc5424(buf, "hostile structured data");

	h.sd = noid;
	h.nsd = 1;
	is_int(fmt(&h, "m", 0, sizeof(buf)), -EINVAL, "an empty SD-ID is refused");
	h.sd = badparam;
	is_int(fmt(&h, "m", 0, sizeof(buf)), -EINVAL, "an empty PARAM-NAME is refused");
}

static void test_msg(void)
{
	struct netseg_syslog_hdr h = { .facility = 16, .severity = 6 };
	const char *head = "<134>1 - - - - - - " BOM;
	size_t hl = strlen(head);
	char msg[64];
	int n;

	fmt(&h, "bad \xc0\xaf utf8", 0, sizeof(buf));
	is_str(buf + hl, "bad \xef\xbf\xbd\xef\xbf\xbd utf8", "MSG repaired to UTF-8");

	/* 10 x é = 20 bytes. */
	for (n = 0; n < 10; n++)
		memcpy(msg + 2 * n, "\xc3\xa9", 2);
	msg[20] = '\0';
	is_int(fmt(&h, msg, 0, hl + 21), (int)hl + 20, "exact fit");
	is_int(fmt(&h, msg, 0, hl + 20), -EMSGSIZE, "one byte short: -EMSGSIZE");
	n = fmt(&h, msg, NETSEG_SYSLOG_TRUNCATE, hl + 20);
	is_int(n, (int)hl + 18, "truncated to 18 bytes: the 10th character doesn't fit whole");
	ok(!strcmp(buf + hl,
		   "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
	   "nine whole characters kept");
	is_int(fmt(&h, msg, NETSEG_SYSLOG_TRUNCATE, 10), -EMSGSIZE,
	       "the header alone doesn't fit: -EMSGSIZE even when truncating");
	n = fmt(&h, msg, NETSEG_SYSLOG_TRUNCATE, NETSEG_SYSLOG_UDP_MAX);
	is_int(n, (int)hl + 20, "short message: no truncation");
}

static void test_octet_count(void)
{
	const char *m1 = "<134>1 - - - - - - " BOM "line one\nstill one";
	const char *m2 = "<134>1 - - - - - - " BOM "two";
	char stream[512], pre[24];
	size_t off = 0, got = 0;
	int n;

	n = netseg_syslog_octet_count(stream, sizeof(stream), m1, strlen(m1));
	ok(n > 0 && (size_t)n == strlen(stream), "frame one");
	is_int(strtol(stream, NULL, 10), strlen(m1),
	       "MSG-LEN is the octet count, BOM and LF included");
	ok(strchr(stream, ' ') == stream + strspn(stream, "0123456789"), "digits then one SP");
	off = n;
	n = netseg_syslog_octet_count(stream + off, sizeof(stream) - off, m2, strlen(m2));
	off += n;

	/* Read the stream back as a receiver does: LEN SP then LEN octets. */
	{
		const char *p = stream;
		char *end;
		size_t len;

		while (p < stream + off) {
			len = strtoul(p, &end, 10);
			if (*end != ' ')
				break;
			p = end + 1;
			if (got == 0)
				ok(len == strlen(m1) && !memcmp(p, m1, len),
				   "frame 1 read back whole, embedded LF and all");
			else
				ok(len == strlen(m2) && !memcmp(p, m2, len), "frame 2 read back");
			p += len;
			got++;
		}
		is_int(got, 2, "two frames in the stream");
	}

	is_int(netseg_syslog_octet_count(stream, 10, m2, strlen(m2)), -EMSGSIZE,
	       "too small a buffer: -EMSGSIZE");
	n = netseg_syslog_octet_count(stream, sizeof(stream), "", 0);
	is_int(n, 2, "empty message: 2 bytes");
	is_str(stream, "0 ", "empty message: \"0 \"");
	is_int(netseg_syslog_octet_prefix(pre, sizeof(pre), 2048), 5, "prefix for writev");
	is_str(pre, "2048 ", "prefix text");
	is_int(netseg_syslog_octet_prefix(pre, 3, 2048), -EMSGSIZE, "prefix too long for buffer");
}

/* The grammar check must be able to fail. */
static void test_grammar(void)
{
	static const char *const bad[] = {
		"<134>1 2026-07-23t10:00:15.123Z h a p m -",	 /* lowercase t */
		"<134>1 2026-07-23T10:00:15.1234567Z h a p m -", /* 7 digits */
		"<192>1 - h a p m -",				 /* PRI > 191 */
		"<134>2 - h a p m -",				 /* VERSION 2 */
		"<134>1 - h a p m [x@1 k=\"a]b\"]",		 /* ] unescaped */
		"<134>1 - h a p m [x@1 k=\"a\"b\"]",		 /* " unescaped */
		"<134>1 - h a p m [x=1@1 k=\"v\"]",		 /* = in SD-ID */
		"<134>1 - h a p m - msg without BOM",
		"<134>1 - h a p mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm -", /* MSGID 33 */
	};
	size_t i;

	ok(grammar("<134>1 - h a p m [x@1 k=\"a\\]\\\"\\\\\"] " BOM "ok"),
	   "grammar accepts escaped ] \" \\ in a PARAM-VALUE");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!grammar(bad[i]), "grammar rejects bad example %zu", i + 1);
}

int main(void)
{
	test_grammar();
	test_layout();
	test_nil();
	test_timestamp();
	test_fields();
	test_sd();
	test_msg();
	test_octet_count();
	return tap_done();
}
