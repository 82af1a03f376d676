// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule grammar (lib/rule.c): the input as one CLI rule, as one .rules
 * line, as a SRC/DST selector, as PORTS, and as a whole .rules file
 * (lib/ruleset.c).  Whatever parses must print canonically and parse back
 * to the same rule, and printing that again must give the same text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rule.h"
#include "fuzzdp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_logs();
	return 0;
}

static bool rule_eq(const struct netseg_rule *a, const struct netseg_rule *b)
{
	return netseg_rule_same(a, b) && a->flags == b->flags && !strcmp(a->comment, b->comment) &&
	       a->proto == b->proto && a->icmp_type == b->icmp_type && a->nports == b->nports &&
	       !memcmp(a->ports, b->ports, a->nports * sizeof(a->ports[0])) &&
	       !strcmp(a->src, b->src) && !strcmp(a->dst, b->dst);
}

static void check_rule_sane(const struct netseg_rule *r, const char *what)
{
	FUZZ_ASSERT(r->nports <= NETSEG_RULE_MAX_PORTS, "%s: %u port ranges", what, r->nports);
	for (unsigned int i = 0; i < r->nports; i++) {
		FUZZ_ASSERT(r->ports[i].lo >= 1 && r->ports[i].lo <= r->ports[i].hi,
			    "%s: port range %u-%u", what, r->ports[i].lo, r->ports[i].hi);
		/* sorted, disjoint and merged: the next starts past hi + 1 */
		FUZZ_ASSERT(i == 0 || r->ports[i].lo > r->ports[i - 1].hi + 1,
			    "%s: ranges %u-%u and %u-%u not merged", what, r->ports[i - 1].lo,
			    r->ports[i - 1].hi, r->ports[i].lo, r->ports[i].hi);
	}
	FUZZ_ASSERT(memchr(r->src, 0, sizeof(r->src)) && memchr(r->dst, 0, sizeof(r->dst)) &&
			    memchr(r->comment, 0, sizeof(r->comment)),
		    "%s: unterminated text", what);
}

static void check_rule_full(const struct netseg_rule *r, const char *what)
{
	check_rule_sane(r, what);
	FUZZ_ASSERT(r->src[0] && r->dst[0], "%s: empty selector", what);
}

/* CLI form: format -> parse -> same rule; format again -> same text. */
static void one_rule(const char *text)
{
	struct netseg_rule r, r2;
	struct netseg_err err = {};
	char buf[2048], buf2[2048];

	netseg_rule_init(&r);
	if (netseg_rule_parse(text, &r, &err)) {
		FUZZ_ASSERT(err.msg[0], "rule refused without a message");
		return;
	}
	check_rule_full(&r, "rule");
	FUZZ_ASSERT(!netseg_rule_format(&r, buf, sizeof(buf)), "canonical rule doesn't fit");
	netseg_rule_init(&r2);
	if (netseg_rule_parse(buf, &r2, &err))
		fuzz_fail("canonical \"%s\" (from \"%s\") doesn't parse: %d: %s", buf, text,
			  err.col, err.msg);
	FUZZ_ASSERT(rule_eq(&r, &r2), "\"%s\" printed as \"%s\" parses to another rule", text, buf);
	FUZZ_ASSERT(!netseg_rule_format(&r2, buf2, sizeof(buf2)) && !strcmp(buf, buf2),
		    "canonical text not stable: \"%s\" then \"%s\"", buf, buf2);
}

/* .rules line form, flags and comment included. */
static void one_line(const char *text)
{
	struct netseg_rule r, r2;
	struct netseg_err err = {};
	char buf[4096];
	int ret = netseg_rule_parse_line(text, &r, &err);

	FUZZ_ASSERT(ret == 0 || ret == 1 || (ret == -EINVAL && err.msg[0]),
		    "parse_line returned %d (message \"%s\")", ret, err.msg);
	if (ret)
		return;
	check_rule_full(&r, "line");
	FUZZ_ASSERT(r.action == NETSEG_VERDICT_ALLOW || r.action == NETSEG_VERDICT_DENY,
		    "line: action %u", r.action);
	FUZZ_ASSERT(!(r.flags & NETSEG_RULEF_AUDIT) || r.action == NETSEG_VERDICT_ALLOW,
		    "line: --audit on a deny rule");
	FUZZ_ASSERT(!netseg_rule_format_line(&r, buf, sizeof(buf)), "rule line doesn't fit");
	ret = netseg_rule_parse_line(buf, &r2, &err);
	if (ret)
		fuzz_fail("printed line \"%s\" (from \"%s\") doesn't parse: %d: %s", buf, text,
			  err.col, err.msg);
	FUZZ_ASSERT(rule_eq(&r, &r2) && r.action == r2.action,
		    "\"%s\" printed as \"%s\" parses to another rule", text, buf);
}

static void parts(const char *text)
{
	struct netseg_err err = {};
	char sel[NETSEG_SELECTOR_MAX], sel2[NETSEG_SELECTOR_MAX];
	struct netseg_rule r;

	if (!netseg_selector_parse(text, sel, &err)) {
		FUZZ_ASSERT(memchr(sel, 0, sizeof(sel)) && sel[0], "selector: bad canonical text");
		FUZZ_ASSERT(!netseg_selector_parse(sel, sel2, &err) && !strcmp(sel, sel2),
			    "selector \"%s\" canonical \"%s\" isn't stable", text, sel);
	}
	netseg_rule_init(&r);
	if (!netseg_ports_parse(text, &r, &err))
		check_rule_sane(&r, "ports");
}

/* A whole .rules file: every rule printed as a line makes the same set. */
static void whole_file(const char *buf, size_t len)
{
	struct netseg_ruleset rs = {}, rs2 = {};
	struct netseg_errlist errs = {};
	char *out = NULL;
	size_t outlen = 0;
	int ret = netseg_ruleset_parse_buf("fuzz.rules", buf, len, &rs, &errs);

	FUZZ_ASSERT(ret == 0 || ret == -ENOMEM || (ret == -EINVAL && errs.n),
		    "ruleset parse returned %d with %zu errors", ret, errs.n);
	FUZZ_ASSERT(ret || !errs.n, "ruleset parse succeeded with %zu errors", errs.n);
	for (size_t i = 0; i < errs.n; i++)
		FUZZ_ASSERT(!strncmp(errs.msgs[i], "fuzz.rules", 10),
			    "error without the file name: %s", errs.msgs[i]);
	netseg_errlist_free(&errs);
	if (ret)
		goto out;
	out = malloc(rs.n * 4096 + 1);
	FUZZ_ASSERT(out, "out of memory");
	for (size_t i = 0; i < rs.n; i++) {
		check_rule_full(&rs.rules[i], "file");
		FUZZ_ASSERT(!netseg_rule_format_line(&rs.rules[i], out + outlen, 4095),
			    "rule line doesn't fit");
		outlen += strlen(out + outlen);
		out[outlen++] = '\n';
	}
	out[outlen] = '\0';
	ret = netseg_ruleset_parse_buf("again.rules", out, outlen, &rs2, &errs);
	if (ret)
		fuzz_fail("printed rule file doesn't parse (%d): %s", ret,
			  errs.n ? errs.msgs[0] : "");
	FUZZ_ASSERT(rs2.n == rs.n, "%zu rules printed, %zu parsed back", rs.n, rs2.n);
	for (size_t i = 0; i < rs.n; i++)
		FUZZ_ASSERT(rule_eq(&rs.rules[i], &rs2.rules[i]) &&
				    rs.rules[i].action == rs2.rules[i].action,
			    "rule %zu differs after printing and parsing", i);
out:
	netseg_errlist_free(&errs);
	netseg_ruleset_free(&rs);
	netseg_ruleset_free(&rs2);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char *nl;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	whole_file(text, size);
	/* The rest take one line of text. */
	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	one_rule(text);
	one_line(text);
	parts(text);
	free(text);
	return 0;
}
