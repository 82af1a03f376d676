// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rule grammar: every documented form parses to the expected canonical
 * text and back; every rejected form fails with its exact message and the
 * column of the offending token.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rule.h"
#include "tap.h"

struct good {
	const char *in;
	const char *canon;
};

static const struct good good[] = {
	{ "frontend -> api:443", "frontend -> api:tcp/443" },
	{ "frontend->api:443", "frontend -> api:tcp/443" },
	{ "frontend to api port 443", "frontend -> api:tcp/443" },
	{ "* -> db", "* -> db" },
	{ "*->db", "* -> db" },
	{ "frontend->api:udp/53", "frontend -> api:udp/53" },
	{ "frontend->api:tcp/80,443,8000-8080", "frontend -> api:tcp/80,443,8000-8080" },
	{ "a->b:icmp/8", "a -> b:icmp/8" },
	{ "a->b:icmp", "a -> b:icmp" },
	{ "a->b:icmpv6/128", "a -> b:icmpv6/128" },
	{ "a->b:icmp/0", "a -> b:icmp/0" },
	{ "a->b:any", "a -> b" },
	{ "a->b:tcp", "a -> b:tcp" },
	{ "a->b:sctp/36412", "a -> b:sctp/36412" },
	{ "a->b:TCP/1-65535", "a -> b:tcp/1-65535" },
	{ "front-end->api", "front-end -> api" },
	/* A bare IPv4 address is its /32, as source or destination. */
	{ "198.18.0.1 -> b", "198.18.0.1/32 -> b" },
	{ "a->198.18.3.2:443", "a -> 198.18.3.2/32:tcp/443" },
	{ "198.18.0.1 to b port 80", "198.18.0.1/32 -> b:tcp/80" },
	{ "front-end -> back-end:80", "front-end -> back-end:tcp/80" },
	{ "a.b_c-d -> x:80, 443", "a.b_c-d -> x:tcp/80,443" },
	{ "a->b : 80 , 443", "a -> b:tcp/80,443" },
	{ "world -> host:22", "world -> host:tcp/22" },
	{ "198.19.0.0/16 -> api:tcp/22", "198.19.0.0/16 -> api:tcp/22" },
	{ "fd00:1::/64->api:443", "fd00:1::/64 -> api:tcp/443" },
	{ "api->fd00:1::/64:443", "api -> fd00:1::/64:tcp/443" },
	{ "api -> FD00:0:0::/48:udp/53", "api -> fd00::/48:udp/53" },
	{ "0.0.0.0/0 -> b", "0.0.0.0/0 -> b" },
	{ "198.18.0.1/32->b", "198.18.0.1/32 -> b" },
	{ "cafe -> dead:tcp/80", "cafe -> dead:tcp/80" },
	{ "cafe->dead:80", "cafe -> dead:tcp/80" },
	{ "a to b", "a -> b" },
	{ "a to b port udp", "a -> b:udp" },
	{ "a to b port icmp/3", "a -> b:icmp/3" },
	{ "to -> port", "to -> port" },
	{ "  a->b:tcp  ", "a -> b:tcp" },
	/* Canonical ports: sorted, overlapping and touching ranges merged. */
	{ "a->b:443,80,81,82-90,85", "a -> b:tcp/80-90,443" },
	{ "a->b:10-20,15-30,31", "a -> b:tcp/10-31" },
	{ "a->b:65535,1", "a -> b:tcp/1,65535" },
};

struct bad {
	const char *in;
	int col;
	const char *msg;
};

static const struct bad bad[] = {
	{ "a->b:0", 6, "port 0 out of range 1-65535" },
	{ "a->b:70000", 6, "port 70000 out of range 1-65535" },
	{ "a->b:99999999999", 6, "port 99999999999 out of range 1-65535" },
	{ "a->b:tcp/80,70000", 13, "port 70000 out of range 1-65535" },
	{ "a->b:9000-8000", 6, "reversed port range 9000-8000 (did you mean 8000-9000?)" },
	{ "198.18.0.0/33->b", 12, "prefix length 33 out of range 0-32" },
	{ "a->fd00::/129", 11, "prefix length 129 out of range 0-128" },
	{ "198.18.1.0/16->b", 1, "host bits set in 198.18.1.0/16; did you mean 198.18.0.0/16?" },
	{ "a -> fd00:1::1/64", 6, "host bits set in fd00:1::1/64; did you mean fd00:1::/64?" },
	{ "198.18.0.300/16->b", 1, "\"198.18.0.300\" is not a valid IPv4 address" },
	{ "fd00:::1/64->b", 1, "\"fd00:::1\" is not a valid IPv6 address" },
	{ "198.18.0.0/->b", 12, "expected a prefix length after \"/\"" },
	{ "1.2.3 -> b", 1, "\"1.2.3\" looks like an address; write it as a CIDR such as 1.2.3/32" },
	{ "a->b:foo/80", 6,
	  "unknown protocol \"foo\" (expected tcp, udp, sctp, icmp, icmpv6 or any)" },
	{ "a->b:http", 6,
	  "unknown protocol \"http\" (expected tcp, udp, sctp, icmp, icmpv6 or any)" },
	{ "a->b:icmp/256", 11, "ICMP type 256 out of range 0-255" },
	{ "a->b:icmpv6/300", 13, "ICMPv6 type 300 out of range 0-255" },
	{ "a->b:icmp/8,9", 12, "icmp takes at most one type" },
	{ "a->b:icmp/3-4", 12, "icmp takes at most one type" },
	{ "a->b:icmp/x", 11, "expected an ICMP type (0-255), found \"x\"" },
	{ "a->b:any/80", 9, "protocol \"any\" takes no ports" },
	{ "a->b:443 x", 10, "unexpected \"x\" after the rule" },
	{ "a->b:443x", 9, "unexpected \"x\" after the rule" },
	{ "a->b --log", 6, "unexpected \"--log\" after the rule" },
	{ "-> b", 1, "expected a source (identity name, '*', world, host or CIDR), found \"->\"" },
	{ "", 1,
	  "expected a source (identity name, '*', world, host or CIDR), found the end of the rule" },
	{ "a ->", 5,
	  "expected a destination (identity name, '*', world, host or CIDR), found the end of the rule" },
	{ "a -> :80", 6,
	  "expected a destination (identity name, '*', world, host or CIDR), found \":80\"" },
	{ "a b", 3, "expected \"->\" or \"to\" after the source, found \"b\"" },
	{ "a => b", 3, "expected \"->\" or \"to\" after the source, found \"=>\"" },
	{ "a->b:", 6, "expected a port or a protocol, found the end of the rule" },
	{ "a->b:/80", 6, "expected a port or a protocol, found \"/80\"" },
	{ "10/8 -> b", 1, "\"10\" is not a valid IPv4 address" },
	{ "cafe/8 -> b", 5, "expected \"->\" or \"to\" after the source, found \"/8\"" },
	{ "a->b:80-", 9, "expected a port number, found the end of the rule" },
	{ "a->b:tcp/80,,81", 13, "expected a port number, found \",81\"" },
	{ "a- ->b", 1, "identity name \"a-\" can't end with \"-\"" },
	{ "_a->b", 1, "identity name \"_a\" must start with a letter or digit" },
	{ "a to b 443", 8, "unexpected \"443\" after the rule" },
	{ "a to b port", 12, "expected a port or a protocol, found the end of the rule" },
	{ "a->b:tcp/80 port 443", 13, "unexpected \"port\" after the rule" },
};

/* 64 specs are fine, the 65th is refused at its own column. */
static void test_port_limit(void)
{
	char text[1024] = "a->b:", canon[1024];
	struct netseg_rule r;
	struct netseg_err e;
	int i, col65 = 0;

	for (i = 1; i <= 64; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%d", i > 1 ? "," : "",
			 i * 2);
	netseg_rule_init(&r);
	if (!is_int(netseg_rule_parse(text, &r, &e), 0, "64 port specs accepted"))
		diag("error: %d: %s", e.col, e.msg);
	is_int(r.nports, 64, "64 disjoint specs kept apart");
	is_int(netseg_rule_format(&r, canon, sizeof(canon)), 0, "format 64 specs");
	col65 = (int)strlen(text) + 2;
	strcat(text, ",1000");
	is_int(netseg_rule_parse(text, &r, &e), -EINVAL, "65 port specs refused");
	is_str(e.msg, "too many port specs (at most 64)", "message for 65 specs");
	is_int(e.col, col65, "column of the 65th spec");
}

static void test_long_name(void)
{
	char text[200];
	struct netseg_rule r;
	struct netseg_err e;

	netseg_rule_init(&r);
	memset(text, 'n', 63);
	strcpy(text + 63, "->b");
	is_int(netseg_rule_parse(text, &r, &e), 0, "63-character name accepted");
	memset(text, 'n', 64);
	strcpy(text + 64, "->b");
	is_int(netseg_rule_parse(text, &r, &e), -EINVAL, "64-character name refused");
	is_str(e.msg, "identity name \"nnnnnnnnnnnnnnnnnnnn...\" is longer than 63 characters",
	       "message for a long name");
}

static void test_good(void)
{
	char buf[512], again[512];
	struct netseg_rule r, r2;
	struct netseg_err e;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		netseg_rule_init(&r);
		if (!ok(!netseg_rule_parse(good[i].in, &r, &e), "parse \"%s\"", good[i].in)) {
			diag("error at column %d: %s", e.col, e.msg);
			continue;
		}
		netseg_rule_format(&r, buf, sizeof(buf));
		is_str(buf, good[i].canon, "canonical form of \"%s\"", good[i].in);
		netseg_rule_init(&r2);
		netseg_rule_parse(buf, &r2, &e);
		netseg_rule_format(&r2, again, sizeof(again));
		ok(netseg_rule_same(&r, &r2) && !strcmp(buf, again), "round trip of \"%s\"", buf);
	}
}

static void test_bad(void)
{
	struct netseg_rule r;
	struct netseg_err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		netseg_rule_init(&r);
		strcpy(r.src, "untouched");
		memset(&e, 0, sizeof(e));
		if (!is_int(netseg_rule_parse(bad[i].in, &r, &e), -EINVAL, "\"%s\" is refused",
			    bad[i].in))
			continue;
		is_str(e.msg, bad[i].msg, "message for \"%s\"", bad[i].in);
		is_int(e.col, bad[i].col, "column for \"%s\"", bad[i].in);
		is_str(r.src, "untouched", "rule untouched after \"%s\"", bad[i].in);
	}
}

static void test_fields(void)
{
	struct netseg_rule r;
	struct netseg_err e;

	netseg_rule_init(&r);
	netseg_rule_parse("a->b:tcp/80,443,8000-8080", &r, &e);
	is_int(r.proto, 6, "tcp is protocol 6");
	is_int(r.nports, 3, "three port specs");
	ok(r.ports[2].lo == 8000 && r.ports[2].hi == 8080, "range 8000-8080");
	is_int(r.icmp_type, -1, "no icmp type on tcp");
	netseg_rule_parse("a->b:icmpv6/135", &r, &e);
	ok(r.proto == 58 && r.icmp_type == 135 && r.nports == 0, "icmpv6/135 fields");
	netseg_rule_parse("a->b", &r, &e);
	ok(r.proto == 0 && r.icmp_type == -1 && r.nports == 0, "no ports: any protocol");
	netseg_rule_parse("x -> y:udp", &r, &e);
	ok(r.proto == 17 && r.nports == 0, "udp without ports: all ports");
}

static void test_same(void)
{
	struct netseg_rule a, b;
	struct netseg_err e;

	netseg_rule_init(&a);
	netseg_rule_init(&b);
	netseg_rule_parse("a->b:80,443", &a, &e);
	netseg_rule_parse("a to b port tcp/443,80", &b, &e);
	b.id = 9;
	b.flags = NETSEG_RULEF_LOG;
	strcpy(b.comment, "other comment");
	ok(netseg_rule_same(&a, &b), "same match whatever id, flags and comment");
	b.action = NETSEG_VERDICT_DENY;
	ok(!netseg_rule_same(&a, &b), "allow and deny differ");
	b.action = NETSEG_VERDICT_ALLOW;
	netseg_rule_parse("a->b:80,444", &b, &e);
	ok(!netseg_rule_same(&a, &b), "different ports differ");
	netseg_rule_parse("a->b:udp/80,443", &b, &e);
	ok(!netseg_rule_same(&a, &b), "different protocols differ");
	netseg_rule_parse("a->c:80,443", &b, &e);
	ok(!netseg_rule_same(&a, &b), "different destinations differ");
	netseg_rule_parse("a->b:any", &a, &e);
	netseg_rule_parse("a->b", &b, &e);
	ok(netseg_rule_same(&a, &b), ":any is the same as no ports");
}

static void test_lines(void)
{
	struct netseg_rule r;
	struct netseg_err e;
	char buf[512];

	is_int(netseg_rule_parse_line("   ", &r, &e), 1, "blank line");
	is_int(netseg_rule_parse_line("  # allow a->b", &r, &e), 1, "comment line");
	is_int(netseg_rule_parse_line(
		       "allow frontend -> api:443 --audit --log --comment \"say \\\"hi\\\" \\\\o/\" # why",
		       &r, &e),
	       0, "allow line with every flag");
	ok(r.action == NETSEG_VERDICT_ALLOW && r.flags == (NETSEG_RULEF_AUDIT | NETSEG_RULEF_LOG),
	   "action and flags");
	is_str(r.comment, "say \"hi\" \\o/", "quoted comment unescaped");
	netseg_rule_format_line(&r, buf, sizeof(buf));
	is_str(buf,
	       "allow frontend -> api:tcp/443 --audit --log --comment \"say \\\"hi\\\" \\\\o/\"",
	       "format_line");
	is_int(netseg_rule_parse_line(buf, &r, &e), 0, "format_line output parses");
	is_str(r.comment, "say \"hi\" \\o/", "comment survives the round trip");
	is_int(netseg_rule_parse_line("deny * -> db --log --comment legacy", &r, &e), 0,
	       "deny line, bare comment word");
	ok(r.action == NETSEG_VERDICT_DENY && r.flags == NETSEG_RULEF_LOG &&
		   !strcmp(r.comment, "legacy"),
	   "deny fields");
	is_int(netseg_rule_parse_line("deny a->b --audit", &r, &e), -EINVAL, "--audit on deny");
	is_str(e.msg, "--audit applies only to allow rules", "--audit on deny message");
	is_int(e.col, 11, "--audit on deny column");
	is_int(netseg_rule_parse_line("allow a->b --bogus", &r, &e), -EINVAL, "unknown flag");
	is_str(e.msg, "unknown flag \"--bogus\" (expected --audit, --log or --comment)",
	       "unknown flag message");
	is_int(netseg_rule_parse_line("permit a->b", &r, &e), -EINVAL, "unknown action");
	is_str(e.msg, "expected \"allow\" or \"deny\", found \"permit\"", "unknown action message");
	is_int(e.col, 1, "unknown action column");
	is_int(netseg_rule_parse_line("allow a->b --comment \"open", &r, &e), -EINVAL,
	       "unterminated comment");
	is_str(e.msg, "unterminated quoted comment (missing closing '\"')", "unterminated message");
	is_int(e.col, 22, "unterminated comment column");
	is_int(netseg_rule_parse_line("allow a->b --comment", &r, &e), -EINVAL,
	       "comment without text");
	is_str(e.msg, "--comment needs a text (quote it if it has spaces)",
	       "missing comment message");
	is_int(netseg_rule_parse_line("allow a->b --comment x --comment y", &r, &e), -EINVAL,
	       "two comments");
	is_str(e.msg, "--comment given twice", "two comments message");
	is_int(netseg_rule_parse_line("allow a->b --comment \"tab\there\"", &r, &e), -EINVAL,
	       "control character in comment");
	is_str(e.msg, "comment: control character 0x09 at byte 4", "control character message");
	is_int(netseg_rule_parse_line("allow a->b:70000 --log", &r, &e), -EINVAL,
	       "rule errors inside a line");
	is_int(e.col, 12, "column counts from the start of the line");
	is_int(netseg_rule_parse_line("allowa->b", &r, &e), -EINVAL, "action must stand alone");
	is_int(netseg_rule_parse_line("deny a->b:icmp/4 --log", &r, &e), 0,
	       "flag after an ICMP type");
	ok(r.icmp_type == 4 && r.flags == NETSEG_RULEF_LOG, "icmp/4 with --log");
	is_int(netseg_rule_parse_line("allow a->b:icmp/4 , 5", &r, &e), -EINVAL,
	       "second ICMP type after blanks");
	is_int(e.col, 19, "second ICMP type column");
}

int main(void)
{
	test_good();
	test_bad();
	test_fields();
	test_port_limit();
	test_long_name();
	test_same();
	test_lines();
	return tap_done();
}
