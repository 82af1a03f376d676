// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rule grammar (the RULE production in rule.h): a small cursor parser,
 * one function per production, and the canonical formatter.  Every error
 * names the column where the offending token starts and what was expected
 * there.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefix.h"
#include "rule.h"
#include "text.h"

#define SEL_WHAT "identity name, '*', world, host or CIDR"

/* Columns count from the start of the whole text, so a .rules line and
 * the rule inside it share one cursor. */
struct cur {
	const char *s;
	size_t i;
};

static int col(const struct cur *c)
{
	return (int)c->i + 1;
}

static char peek(const struct cur *c)
{
	return c->s[c->i];
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

static void skip_ws(struct cur *c)
{
	while (is_ws(peek(c)))
		c->i++;
}

static bool at_end(const struct cur *c)
{
	return peek(c) == '\0';
}

/* Does the text at the cursor start with @word followed by a blank or
 * the end?  Keywords ("to", "port", "allow") must stand alone. */
static bool at_word(const struct cur *c, const char *word)
{
	size_t n = strlen(word);

	return !strncmp(c->s + c->i, word, n) && (c->s[c->i + n] == '\0' || is_ws(c->s[c->i + n]));
}

/* What the user wrote at the cursor, for "found ..." in messages. */
static const char *found(const struct cur *c, char *buf, size_t len)
{
	size_t n = 0;

	if (at_end(c))
		return "the end of the rule";
	while (n < 24 && c->s[c->i + n] && !is_ws(c->s[c->i + n]))
		n++;
	snprintf(buf, len, "\"%.*s\"", (int)n, c->s + c->i);
	return buf;
}

static bool is_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '-';
}

static bool is_addr_char(char ch)
{
	return isxdigit((unsigned char)ch) || ch == '.' || ch == ':';
}

/* ----------------------------------------------------------- selectors */

/*
 * A CIDR is a run of digits and dots (v4), or of hex digits, dots and at
 * least two colons (v6), directly followed by '/'.  No protocol word is
 * all hex ("tcp", "udp", "any" each hold a non-hex letter) and a v6
 * address has two colons at least, so "api:tcp/80" or "b:/80" can't be
 * taken for an address while "fd00:1::/64:443" still finds its end.
 */
static bool at_cidr(const struct cur *c)
{
	size_t j = c->i, colons = 0;
	bool hex = false;

	for (; is_addr_char(c->s[j]); j++) {
		colons += c->s[j] == ':';
		hex |= isalpha((unsigned char)c->s[j]);
	}
	if (j == c->i || c->s[j] != '/')
		return false;
	return colons >= 2 || (!colons && !hex);
}

/* The prefix parser counts columns from the CIDR's first byte. */
static int parse_cidr(struct cur *c, char out[NETSEG_SELECTOR_MAX], struct netseg_err *err)
{
	struct netseg_prefix p;
	int start = col(c);
	size_t n;

	if (netseg_prefix_scan(c->s + c->i, true, &n, &p, err)) {
		if (err)
			err->col += start - 1;
		return -EINVAL;
	}
	c->i += n;
	netseg_prefix_format(&p, out, NETSEG_SELECTOR_MAX);
	return 0;
}

static bool all_digits_and_dots(const char *s, size_t n)
{
	bool dot = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '.')
			dot = true;
		else if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return dot;
}

static int parse_name(struct cur *c, const char *what, char out[NETSEG_SELECTOR_MAX],
		      struct netseg_err *err)
{
	const char *s = c->s + c->i;
	int start = col(c);
	char buf[40];
	size_t n = 0;

	while (is_name_char(s[n]))
		n++;
	/* "front-end->api": the '-' before '>' belongs to the arrow. */
	if (n && s[n - 1] == '-' && s[n] == '>')
		n--;
	if (!n)
		return netseg_err_set(err, start, "expected a %s (" SEL_WHAT "), found %s", what,
				      found(c, buf, sizeof(buf)));
	if (!isalnum((unsigned char)s[0]))
		return netseg_err_set(err, start,
				      "identity name \"%.*s\" must start with a letter or digit",
				      (int)n, s);
	if (s[n - 1] == '-')
		return netseg_err_set(err, start, "identity name \"%.*s\" can't end with \"-\"",
				      (int)n, s);
	if (n >= NETSEG_SELECTOR_MAX)
		return netseg_err_set(err, start,
				      "identity name \"%.20s...\" is longer than %d characters", s,
				      NETSEG_SELECTOR_MAX - 1);
	if (all_digits_and_dots(s, n))
		return netseg_err_set(
			err, start,
			"\"%.*s\" looks like an address; write it as a CIDR such as %.*s/32",
			(int)n, s, (int)n, s);
	memcpy(out, s, n);
	out[n] = '\0';
	c->i += n;
	return 0;
}

/*
 * A bare IPv4 address is its host prefix: "198.18.3.2 -> api" means
 * 198.18.3.2/32.  Only v4: a bare v6 address would swallow the ':' of
 * "-> fd00::1:443", so IPv6 keeps its "/128".  1 if one was taken.
 */
static int bare_v4(struct cur *c, char out[NETSEG_SELECTOR_MAX])
{
	size_t j = c->i, n;
	char text[INET_ADDRSTRLEN];
	struct in_addr a;

	while (isdigit((unsigned char)c->s[j]) || c->s[j] == '.')
		j++;
	n = j - c->i;
	if (!n || n >= sizeof(text) || isalnum((unsigned char)c->s[j]) || c->s[j] == '-' ||
	    c->s[j] == '_' || c->s[j] == '/')
		return 0;
	memcpy(text, c->s + c->i, n);
	text[n] = '\0';
	if (inet_pton(AF_INET, text, &a) != 1)
		return 0;
	c->i = j;
	snprintf(out, NETSEG_SELECTOR_MAX, "%s/32", text);
	return 1;
}

static int parse_selector(struct cur *c, const char *what, char out[NETSEG_SELECTOR_MAX],
			  struct netseg_err *err)
{
	if (peek(c) == '*') {
		c->i++;
		strcpy(out, "*");
		return 0;
	}
	if (at_cidr(c))
		return parse_cidr(c, out, err);
	if (bare_v4(c, out))
		return 0;
	return parse_name(c, what, out, err);
}

/* --------------------------------------------------------------- ports */

static bool is_icmp(__u8 proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* Read a decimal number; *@v saturates so huge inputs still say "out of
 * range" with the digits as written.  Returns the digit count. */
static size_t read_number(struct cur *c, long *v)
{
	size_t n = 0;

	*v = 0;
	while (isdigit((unsigned char)peek(c))) {
		if (*v <= 1000000)
			*v = *v * 10 + (peek(c) - '0');
		c->i++;
		n++;
	}
	return n;
}

static int parse_port(struct cur *c, __u16 *port, struct netseg_err *err)
{
	int start = col(c);
	char buf[40];
	size_t n;
	long v;

	n = read_number(c, &v);
	if (!n)
		return netseg_err_set(err, start, "expected a port number, found %s",
				      found(c, buf, sizeof(buf)));
	if (v < 1 || v > 65535)
		return netseg_err_set(err, start, "port %.*s out of range 1-65535", (int)n,
				      c->s + start - 1);
	*port = (__u16)v;
	return 0;
}

static int parse_spec(struct cur *c, struct netseg_port_range *pr, struct netseg_err *err)
{
	int start = col(c), ret;

	ret = parse_port(c, &pr->lo, err);
	if (ret)
		return ret;
	pr->hi = pr->lo;
	if (peek(c) != '-')
		return 0;
	c->i++;
	ret = parse_port(c, &pr->hi, err);
	if (ret)
		return ret;
	if (pr->hi < pr->lo)
		return netseg_err_set(err, start, "reversed port range %u-%u (did you mean %u-%u?)",
				      pr->lo, pr->hi, pr->hi, pr->lo);
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct netseg_port_range *x = a, *y = b;

	return x->lo != y->lo ? (x->lo < y->lo ? -1 : 1) :
	       x->hi != y->hi ? (x->hi < y->hi ? -1 : 1) :
				0;
}

/* Sort and merge overlapping or touching ranges: one canonical form per
 * set of ports, so "443,80" and "80,443" are the same rule. */
static void normalise_ports(struct netseg_rule *r)
{
	unsigned int i, n = 0;

	if (!r->nports)
		return;
	qsort(r->ports, r->nports, sizeof(r->ports[0]), cmp_range);
	for (i = 1; i < r->nports; i++) {
		struct netseg_port_range *last = &r->ports[n];

		if ((unsigned int)r->ports[i].lo <= (unsigned int)last->hi + 1) {
			if (r->ports[i].hi > last->hi)
				last->hi = r->ports[i].hi;
		} else {
			r->ports[++n] = r->ports[i];
		}
	}
	r->nports = n + 1;
}

static int parse_spec_list(struct cur *c, struct netseg_rule *r, struct netseg_err *err)
{
	size_t save;
	int ret;

	r->nports = 0;
	for (;;) {
		if (r->nports == NETSEG_RULE_MAX_PORTS)
			return netseg_err_set(err, col(c), "too many port specs (at most %d)",
					      NETSEG_RULE_MAX_PORTS);
		ret = parse_spec(c, &r->ports[r->nports], err);
		if (ret)
			return ret;
		r->nports++;
		save = c->i;
		skip_ws(c);
		if (peek(c) != ',') {
			c->i = save;
			break;
		}
		c->i++;
		skip_ws(c);
	}
	normalise_ports(r);
	return 0;
}

static int parse_icmp_type(struct cur *c, struct netseg_rule *r, struct netseg_err *err)
{
	const char *what = r->proto == IPPROTO_ICMP ? "ICMP" : "ICMPv6";
	int start = col(c);
	char buf[40];
	size_t n, save;
	long v;

	n = read_number(c, &v);
	if (!n)
		return netseg_err_set(err, start, "expected an %s type (0-255), found %s", what,
				      found(c, buf, sizeof(buf)));
	if (v > 255)
		return netseg_err_set(err, start, "%s type %.*s out of range 0-255", what, (int)n,
				      c->s + start - 1);
	r->icmp_type = (int)v;
	if (peek(c) == '-')
		return netseg_err_set(err, col(c), "%s takes at most one type",
				      netseg_proto_name(r->proto));
	/* Only a ',' may follow blanks: "--log" after the type is a flag. */
	save = c->i;
	skip_ws(c);
	if (peek(c) == ',')
		return netseg_err_set(err, col(c), "%s takes at most one type",
				      netseg_proto_name(r->proto));
	c->i = save;
	return 0;
}

static int parse_proto(struct cur *c, __u8 *proto, struct netseg_err *err)
{
	const char *s = c->s + c->i;
	size_t n = 0;
	int p;

	while (isalnum((unsigned char)s[n]))
		n++;
	p = netseg_proto_by_name(s, n);
	if (p >= 0) {
		*proto = p;
		c->i += n;
		return 0;
	}
	return netseg_err_set(
		err, col(c),
		"unknown protocol \"%.*s\" (expected tcp, udp, sctp, icmp, icmpv6 or any)", (int)n,
		s);
}

static int parse_ports_at(struct cur *c, struct netseg_rule *r, struct netseg_err *err)
{
	char buf[40];
	int ret;

	r->proto = 0;
	r->icmp_type = -1;
	r->nports = 0;
	if (isdigit((unsigned char)peek(c))) {
		/* A bare port means TCP: "a->b:443" is the common case. */
		r->proto = IPPROTO_TCP;
		return parse_spec_list(c, r, err);
	}
	if (!isalpha((unsigned char)peek(c)))
		return netseg_err_set(err, col(c), "expected a port or a protocol, found %s",
				      found(c, buf, sizeof(buf)));
	ret = parse_proto(c, &r->proto, err);
	if (ret || peek(c) != '/')
		return ret;
	c->i++;
	if (!r->proto)
		return netseg_err_set(err, col(c) - 1, "protocol \"any\" takes no ports");
	if (is_icmp(r->proto))
		return parse_icmp_type(c, r, err);
	return parse_spec_list(c, r, err);
}

/* ---------------------------------------------------------------- rule */

static int parse_arrow_tail(struct cur *c, struct netseg_rule *r, struct netseg_err *err)
{
	size_t save = c->i;

	skip_ws(c);
	if (peek(c) != ':') {
		c->i = save;
		return 0;
	}
	c->i++;
	skip_ws(c);
	return parse_ports_at(c, r, err);
}

static int parse_to_tail(struct cur *c, struct netseg_rule *r, struct netseg_err *err)
{
	size_t save = c->i;

	skip_ws(c);
	if (!at_word(c, "port")) {
		c->i = save;
		return 0;
	}
	c->i += 4;
	skip_ws(c);
	return parse_ports_at(c, r, err);
}

/* RULE, leaving the cursor just after it (trailing blanks not eaten). */
static int parse_rule_at(struct cur *c, struct netseg_rule *r, struct netseg_err *err)
{
	bool arrow;
	char buf[40];
	int ret;

	r->proto = 0;
	r->icmp_type = -1;
	r->nports = 0;
	skip_ws(c);
	ret = parse_selector(c, "source", r->src, err);
	if (ret)
		return ret;
	skip_ws(c);
	arrow = !strncmp(c->s + c->i, "->", 2);
	if (!arrow && !at_word(c, "to"))
		return netseg_err_set(err, col(c),
				      "expected \"->\" or \"to\" after the source, found %s",
				      found(c, buf, sizeof(buf)));
	c->i += 2;
	skip_ws(c);
	ret = parse_selector(c, "destination", r->dst, err);
	if (ret)
		return ret;
	return arrow ? parse_arrow_tail(c, r, err) : parse_to_tail(c, r, err);
}

static int expect_end(struct cur *c, const char *after, struct netseg_err *err)
{
	char buf[40];

	skip_ws(c);
	if (at_end(c))
		return 0;
	return netseg_err_set(err, col(c), "unexpected %s after the %s", found(c, buf, sizeof(buf)),
			      after);
}

void netseg_rule_init(struct netseg_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->action = NETSEG_VERDICT_ALLOW;
	r->icmp_type = -1;
}

int netseg_rule_parse(const char *text, struct netseg_rule *r, struct netseg_err *err)
{
	struct cur c = { .s = text };
	struct netseg_rule tmp = *r;
	int ret;

	/* Parse into a copy: on error the caller's rule stays as it was. */
	ret = parse_rule_at(&c, &tmp, err);
	if (!ret)
		ret = expect_end(&c, "rule", err);
	if (!ret)
		*r = tmp;
	return ret;
}

int netseg_selector_parse(const char *text, char out[NETSEG_SELECTOR_MAX], struct netseg_err *err)
{
	struct cur c = { .s = text };
	int ret;

	skip_ws(&c);
	ret = parse_selector(&c, "selector", out, err);
	if (ret)
		return ret;
	return expect_end(&c, "selector", err);
}

int netseg_ports_parse(const char *text, struct netseg_rule *r, struct netseg_err *err)
{
	struct cur c = { .s = text };
	struct netseg_rule tmp = *r;
	int ret;

	skip_ws(&c);
	ret = parse_ports_at(&c, &tmp, err);
	if (!ret)
		ret = expect_end(&c, "ports", err);
	if (!ret)
		*r = tmp;
	return ret;
}

/* --------------------------------------------------------- .rules line */

/*
 * Comments end up in flow logs, syslog lines and terminals: control
 * characters and broken UTF-8 are refused rather than escaped, so no sink
 * can be tricked into a new line and no terminal into an escape sequence.
 * Every path a comment comes in by (.rules, JSON, the control socket)
 * checks it here.
 */
int netseg_comment_check(const char *s, struct netseg_err *err)
{
	char why[128];

	if (netseg_text_check(s, NETSEG_COMMENT_MAX, why, sizeof(why)))
		return netseg_err_set(err, 0, "comment: %s", why);
	return 0;
}

static int check_comment(const char *s, int start, struct netseg_err *err)
{
	int r = netseg_comment_check(s, err);

	if (r && err)
		err->col = start;
	return r;
}

static int parse_quoted(struct cur *c, char *out, size_t len, struct netseg_err *err)
{
	int start = col(c);
	size_t n = 0;

	c->i++;
	while (peek(c) != '"') {
		char ch = peek(c);

		if (!ch)
			return netseg_err_set(err, start,
					      "unterminated quoted comment (missing closing '\"')");
		if (ch == '\\' && (c->s[c->i + 1] == '"' || c->s[c->i + 1] == '\\'))
			ch = c->s[++c->i];
		if (n + 1 >= len)
			return netseg_err_set(err, start, "comment is longer than %zu bytes",
					      len - 1);
		out[n++] = ch;
		c->i++;
	}
	c->i++;
	out[n] = '\0';
	return 0;
}

static int parse_comment(struct cur *c, struct netseg_rule *r, struct netseg_err *err)
{
	int start, ret;
	size_t n = 0;

	skip_ws(c);
	start = col(c);
	if (at_end(c) || peek(c) == '#')
		return netseg_err_set(err, start,
				      "--comment needs a text (quote it if it has spaces)");
	if (peek(c) == '"') {
		ret = parse_quoted(c, r->comment, sizeof(r->comment), err);
	} else {
		while (c->s[c->i + n] && !is_ws(c->s[c->i + n]))
			n++;
		if (n >= sizeof(r->comment))
			return netseg_err_set(err, start, "comment is longer than %zu bytes",
					      sizeof(r->comment) - 1);
		memcpy(r->comment, c->s + c->i, n);
		r->comment[n] = '\0';
		c->i += n;
		ret = 0;
	}
	return ret ? ret : check_comment(r->comment, start, err);
}

static int parse_flag(struct cur *c, struct netseg_rule *r, bool *commented, struct netseg_err *err)
{
	int start = col(c);
	char buf[40];

	if (at_word(c, "--log")) {
		c->i += 5;
		r->flags |= NETSEG_RULEF_LOG;
		return 0;
	}
	if (at_word(c, "--audit")) {
		if (r->action != NETSEG_VERDICT_ALLOW)
			return netseg_err_set(err, start, "--audit applies only to allow rules");
		c->i += 7;
		r->flags |= NETSEG_RULEF_AUDIT;
		return 0;
	}
	if (at_word(c, "--comment")) {
		if (*commented)
			return netseg_err_set(err, start, "--comment given twice");
		*commented = true;
		c->i += 9;
		return parse_comment(c, r, err);
	}
	if (!strncmp(c->s + c->i, "--", 2))
		return netseg_err_set(err, start,
				      "unknown flag %s (expected --audit, --log or --comment)",
				      found(c, buf, sizeof(buf)));
	return netseg_err_set(err, start, "unexpected %s after the rule",
			      found(c, buf, sizeof(buf)));
}

static int parse_action(struct cur *c, struct netseg_rule *r, struct netseg_err *err)
{
	char buf[40];

	if (at_word(c, "allow")) {
		r->action = NETSEG_VERDICT_ALLOW;
		c->i += 5;
		return 0;
	}
	if (at_word(c, "deny")) {
		r->action = NETSEG_VERDICT_DENY;
		c->i += 4;
		return 0;
	}
	return netseg_err_set(err, col(c), "expected \"allow\" or \"deny\", found %s",
			      found(c, buf, sizeof(buf)));
}

int netseg_rule_parse_line(const char *line, struct netseg_rule *r, struct netseg_err *err)
{
	struct cur c = { .s = line };
	struct netseg_rule tmp;
	bool commented = false;
	int ret;

	skip_ws(&c);
	if (at_end(&c) || peek(&c) == '#')
		return 1;
	netseg_rule_init(&tmp);
	ret = parse_action(&c, &tmp, err);
	if (ret)
		return ret;
	ret = parse_rule_at(&c, &tmp, err);
	if (ret)
		return ret;
	for (;;) {
		skip_ws(&c);
		if (at_end(&c) || peek(&c) == '#')
			break;
		ret = parse_flag(&c, &tmp, &commented, err);
		if (ret)
			return ret;
	}
	*r = tmp;
	return 0;
}

/* ----------------------------------------------------------- formatting */

struct out {
	char *buf;
	size_t len, n;
	bool full;
};

static void __attribute__((format(printf, 2, 3))) put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(o->buf + o->n, o->len - o->n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= o->len - o->n) {
		o->full = true;
		o->n = o->len - 1;
		return;
	}
	o->n += w;
}

static void put_ports(struct out *o, const struct netseg_rule *r)
{
	unsigned int i;

	if (!r->proto)
		return;
	put(o, ":%s", netseg_proto_name(r->proto));
	if (is_icmp(r->proto)) {
		if (r->icmp_type >= 0)
			put(o, "/%d", r->icmp_type);
		return;
	}
	for (i = 0; i < r->nports; i++) {
		put(o, "%c%u", i ? ',' : '/', r->ports[i].lo);
		if (r->ports[i].hi != r->ports[i].lo)
			put(o, "-%u", r->ports[i].hi);
	}
}

static void put_rule(struct out *o, const struct netseg_rule *r)
{
	put(o, "%s -> %s", r->src, r->dst);
	put_ports(o, r);
}

int netseg_rule_format(const struct netseg_rule *r, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	put_rule(&o, r);
	return o.full ? -ENOSPC : 0;
}

int netseg_rule_format_line(const struct netseg_rule *r, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };
	const char *s;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	put(&o, "%s ", r->action == NETSEG_VERDICT_DENY ? "deny" : "allow");
	put_rule(&o, r);
	if (r->flags & NETSEG_RULEF_AUDIT)
		put(&o, " --audit");
	if (r->flags & NETSEG_RULEF_LOG)
		put(&o, " --log");
	if (r->comment[0]) {
		put(&o, " --comment \"");
		for (s = r->comment; *s; s++)
			put(&o, "%s%c", *s == '"' || *s == '\\' ? "\\" : "", *s);
		put(&o, "\"");
	}
	return o.full ? -ENOSPC : 0;
}

bool netseg_rule_same(const struct netseg_rule *a, const struct netseg_rule *b)
{
	return a->action == b->action && a->proto == b->proto && a->icmp_type == b->icmp_type &&
	       a->nports == b->nports &&
	       !memcmp(a->ports, b->ports, a->nports * sizeof(a->ports[0])) &&
	       !strcmp(a->src, b->src) && !strcmp(a->dst, b->dst);
}
