// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one CIDR parser (lib/prefix.h): what it accepts, and that every
 * path a user types a CIDR into (a rule, identity --cidr) gives the same
 * error, saying what is wrong and where.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "prefix.h"
#include "rule.h"
#include "tap.h"

static void good(const char *in, const char *canon)
{
	struct netseg_err e = {};
	struct netseg_prefix p;
	char buf[NETSEG_PREFIX_STRLEN] = "";

	if (!is_int(netseg_prefix_parse(in, &p, &e), 0, "%s parses (%s)", in, e.msg))
		return;
	netseg_prefix_format(&p, buf, sizeof(buf));
	is_str(buf, canon, "%s: canonical", in);
}

static void test_good(void)
{
	good("198.18.0.0/15", "198.18.0.0/15");
	good("198.18.3.2", "198.18.3.2/32");
	good("fd00::1", "fd00::1/128");
	good("FD00:0::1", "fd00::1/128");
	good("0.0.0.0/0", "0.0.0.0/0");
	good("fd00:1::/64", "fd00:1::/64");
}

static const struct {
	const char *in;
	int col;
	const char *msg;
} bad[] = {
	{ "198.18.0.0/33", 12, "prefix length 33 out of range 0-32" },
	{ "fd00::/129", 8, "prefix length 129 out of range 0-128" },
	{ "198.18.1.0/16", 1, "host bits set in 198.18.1.0/16; did you mean 198.18.0.0/16?" },
	{ "fd00:1::1/64", 1, "host bits set in fd00:1::1/64; did you mean fd00:1::/64?" },
	{ "198.18.0.300/16", 1, "\"198.18.0.300\" is not a valid IPv4 address" },
	{ "fd00:::1/64", 1, "\"fd00:::1\" is not a valid IPv6 address" },
	{ "198.18.3.2/", 12, "expected a prefix length after \"/\"" },
	{ "198.18.3", 1, "\"198.18.3\" is not a valid IPv4 address" },
	{ "198.18.3.0/24x", 14, "unexpected \"x\" after the prefix length" },
	{ "web", 1,
	  "expected an address or CIDR such as 198.18.0.0/15 or fd00::/8, found \"web\"" },
	{ "", 1, "expected an address or CIDR such as 198.18.0.0/15 or fd00::/8, found the end" },
};

static void test_bad(void)
{
	struct netseg_prefix p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct netseg_err e = {};

		is_int(netseg_prefix_parse(bad[i].in, &p, &e), -EINVAL, "\"%s\" refused",
		       bad[i].in);
		is_str(e.msg, bad[i].msg, "\"%s\": message", bad[i].in);
		is_int(e.col, bad[i].col, "\"%s\": column", bad[i].in);
	}
}

/*
 * identity add --cidr and a rule's CIDR selector used to disagree: the
 * identity path said only "invalid CIDR" or "host bits set".  Now both
 * carry the same message, the identity's with the CIDR and column.
 */
static void test_same_errors(void)
{
	static const char *const cidrs[] = {
		"198.18.0.0/33", "fd00::/129",	    "198.18.1.0/16",
		"fd00:1::1/64",	 "198.18.0.300/16", "fd00:::1/64",
	};
	char want[NETSEG_ERR_MSG_MAX + 64], rule_text[64];
	struct netseg_err re = {}, ie = {};
	struct netseg_idstore s;
	struct netseg_iddef d;
	struct netseg_rule r;

	netseg_idstore_init(&s);
	for (size_t i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++) {
		snprintf(rule_text, sizeof(rule_text), "%s->b", cidrs[i]);
		netseg_rule_init(&r);
		is_int(netseg_rule_parse(rule_text, &r, &re), -EINVAL, "rule %s refused",
		       rule_text);
		memset(&d, 0, sizeof(d));
		strcpy(d.name, "office");
		d.ncidrs = 1;
		strcpy(d.cidrs[0], cidrs[i]);
		is_int(netseg_id_add(&s, &d, &ie), -EINVAL, "identity --cidr %s refused", cidrs[i]);
		snprintf(want, sizeof(want), "identity office: CIDR \"%s\", column %d: %s",
			 cidrs[i], re.col, re.msg);
		is_str(ie.msg, want, "identity --cidr %s: the rule parser's message and column",
		       cidrs[i]);
	}
	memset(&d, 0, sizeof(d));
	strcpy(d.name, "office");
	d.ncidrs = 1;
	strcpy(d.cidrs[0], "198.18.0.0/33");
	is_int(netseg_id_add(&s, &d, &ie), -EINVAL, "identity --cidr 198.18.0.0/33 refused");
	is_str(ie.msg,
	       "identity office: CIDR \"198.18.0.0/33\", column 12: prefix length 33 out of range 0-32",
	       "identity --cidr: says what and where");
	strcpy(d.cidrs[0], "198.18.9.9");
	is_int(netseg_id_add(&s, &d, &(struct netseg_err){}), 0, "a bare address is accepted");
	is_str(netseg_id_by_name(&s, "office")->cidrs[0], "198.18.9.9/32", "... stored as its /32");
	netseg_idstore_free(&s);
}

static void test_lpm(void)
{
	const __u8 a[16] = { 198, 18, 7, 9 };
	struct netseg_prefix p, q;
	struct netseg_lpm_key k;

	is_int(netseg_prefix_set(&p, NETSEG_AF_INET, a, 24), 0, "prefix from parts");
	is_int(p.addr[3], 0, "... host bits cleared");
	is_int(netseg_prefix_set(&p, NETSEG_AF_INET, a, 33), -EINVAL, "/33 of v4 refused");
	is_int(netseg_prefix_set(&p, 7, a, 8), -EINVAL, "unknown family refused");
	netseg_prefix_set(&p, NETSEG_AF_INET, a, 24);
	netseg_prefix_to_lpm(&p, &k);
	is_int(k.prefixlen, NETSEG_LPM_PLEN_HDR + 24, "LPM key length counts the header");
	is_int(netseg_prefix_from_lpm(&q, &k), 0, "and back");
	ok(!memcmp(&p, &q, sizeof(p)), "... the same prefix");
	ok(!netseg_prefix_is_host(&p), "a /24 is no host prefix");
}

/* List files (netsegctl prefilter apply -f): comments, blanks, CRLF,
 * duplicates folded, sorted; the first bad line named with its column. */
static void test_list(void)
{
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "198.18.0.0/16\n  198.18.300.1\n",
		  "f:2:3: \"198.18.300.1\" is not a valid IPv4 address" },
		{ "198.18.0.0/16 198.18.1.0/24\n",
		  "f:1:14: unexpected \" 198.18.1.0/24\" after the prefix length" },
		{ "# ok\n\n\t198.18.1.1/16 # host bits\n",
		  "f:3:2: host bits set in 198.18.1.1/16; did you mean 198.18.0.0/16?" },
		{ "fd00::/129", "f:1:8: prefix length 129 out of range 0-128" },
		{ "198.18.0.0/16\n198.18.0.0/1600000000000000000000000000000000000000000000000000000000000000000000\n",
		  "f:2:1: 81 characters is too long for an address or CIDR; one per line" },
	};
	const char *text = "# feed\r\n198.18.0.1\r\n\n  fd00::/8\t# comment\n198.18.0.1/32\n"
			   "198.18.0.0/15\n198.18.0.1";
	struct netseg_prefix *v = NULL;
	char buf[NETSEG_PREFIX_STRLEN] = "";
	struct netseg_err e = {};
	size_t n = 0;

	if (is_int(netseg_prefix_list_parse("f", text, &v, &n, &e), 0, "a list parses (%s)",
		   e.msg) &&
	    is_int(n, 3, "... 3 prefixes, duplicates folded")) {
		netseg_prefix_format(&v[0], buf, sizeof(buf));
		is_str(buf, "198.18.0.0/15", "... sorted: v4 first, by address then length");
		netseg_prefix_format(&v[1], buf, sizeof(buf));
		is_str(buf, "198.18.0.1/32", "... a bare address is its host prefix");
		netseg_prefix_format(&v[2], buf, sizeof(buf));
		is_str(buf, "fd00::/8", "... then v6");
	}
	free(v);
	v = NULL;
	is_int(netseg_prefix_list_parse("f", "# nothing\n\n", &v, &n, &e), 0,
	       "only comments: parses");
	ok(!v && !n, "... to an empty list");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = NULL;
		memset(&e, 0, sizeof(e));
		is_int(netseg_prefix_list_parse("f", bad[i].in, &v, &n, &e), -EINVAL,
		       "bad list %zu refused", i);
		is_str(e.msg, bad[i].err, "... with its line and column");
		ok(!v, "... nothing returned");
	}
}

int main(void)
{
	test_good();
	test_bad();
	test_same_errors();
	test_lpm();
	test_list();
	return tap_done();
}
