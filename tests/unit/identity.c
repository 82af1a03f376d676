// SPDX-License-Identifier: GPL-2.0-only
/*
 * The identity store (lib/identity.c): CIDR text parsed into family,
 * address and length with a canonical form, host bits and bad lengths
 * refused; identities added with fresh ids that are never handed out
 * again, names and selectors validated with a message naming what is
 * wrong, replace keeping the id, CIDR identities in their own id range,
 * reserved names, copies that don't share storage, and the JSON form the
 * state file uses, both ways; label selectors (members that are pods)
 * in canonical form, refused with the column of what is wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "identity.h"
#include "prefix.h"
#include "tap.h"

struct cidr_case {
	const char *in;
	int ret, family, plen;
	const char *canon;
};

static const struct cidr_case cidr_cases[] = {
	{ "198.18.0.0/15", 0, NETSEG_AF_INET, 15, "198.18.0.0/15" },
	{ "198.18.3.2", 0, NETSEG_AF_INET, 32, "198.18.3.2/32" },
	{ "198.18.3.2/32", 0, NETSEG_AF_INET, 32, "198.18.3.2/32" },
	{ "0.0.0.0/0", 0, NETSEG_AF_INET, 0, "0.0.0.0/0" },
	{ "fd00::/8", 0, NETSEG_AF_INET6, 8, "fd00::/8" },
	{ "fd00:0:0::0/8", 0, NETSEG_AF_INET6, 8, "fd00::/8" },
	{ "FD00::1", 0, NETSEG_AF_INET6, 128, "fd00::1/128" },
	{ "::/0", 0, NETSEG_AF_INET6, 0, "::/0" },
	{ "198.0.0.0/007", 0, NETSEG_AF_INET, 7, "198.0.0.0/7" },
	/* host bits set: its own error, the text is otherwise fine */
	{ .in = "198.18.0.1/15", .ret = -EDOM },
	{ .in = "198.19.0.0/15x", .ret = -EINVAL },
	{ .in = "198.18.0.0/16 ", .ret = -EINVAL },
	{ .in = "198.18.0.0/0", .ret = -EDOM },
	{ .in = "fd00::1/8", .ret = -EDOM },
	{ .in = "198.18.0.0/33", .ret = -EINVAL },
	{ .in = "fd00::/129", .ret = -EINVAL },
	{ .in = "198.18.0.0/-1", .ret = -EINVAL },
	{ .in = "198.18.0.0/", .ret = -EINVAL },
	{ .in = "198.18.0.0/8/8", .ret = -EINVAL },
	{ .in = "198.18.0/24", .ret = -EINVAL },
	{ .in = "198.18.0.256", .ret = -EINVAL },
	{ .in = "fd00:::1", .ret = -EINVAL },
	{ .in = "/8", .ret = -EINVAL },
	{ .in = "", .ret = -EINVAL },
	{ .in = "web", .ret = -EINVAL },
	/* 64 characters: longer than any CIDR can be */
	{ .in = "0000000000000000000000000000000000000000000000000000000000000000",
	  .ret = -EINVAL },
};

/* Identities parse their CIDRs with lib/prefix.c, the rule grammar's
 * parser (tests/unit/prefix.c checks its messages); here: what an identity
 * keeps of each, and that host bits are refused, not cleared. */
static void test_cidr_parse(void)
{
	for (size_t i = 0; i < sizeof(cidr_cases) / sizeof(cidr_cases[0]); i++) {
		const struct cidr_case *c = &cidr_cases[i];
		char canon[NETSEG_PREFIX_STRLEN] = "untouched";
		struct netseg_prefix p = { .family = -1, .plen = -1 };
		struct netseg_err err = {};
		int want = c->ret ? -EINVAL : 0, r;

		r = netseg_prefix_parse(c->in, &p, &err);
		if (!is_int(r, want, "cidr \"%s\": %s", c->in, c->ret ? "refused" : "parsed"))
			continue;
		if (c->ret) {
			ok(err.msg[0] != '\0', "... saying why: %s", err.msg);
			continue;
		}
		netseg_prefix_format(&p, canon, sizeof(canon));
		ok(p.family == c->family && p.plen == c->plen, "... family %d /%d", p.family,
		   p.plen);
		is_str(canon, c->canon, "... canonical form");
	}
}

static void test_cidr_addr(void)
{
	__u8 want6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34 };
	struct netseg_prefix p;

	memset(&p, 0xaa, sizeof(p));
	if (ok(!netseg_prefix_parse("198.18.7.0/24", &p, NULL), "parse without an error buffer"))
		ok(p.addr[0] == 198 && p.addr[1] == 18 && p.addr[2] == 7 && p.addr[3] == 0 &&
			   !memcmp(p.addr + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12),
		   "... the address in network order, the rest of the 16 bytes zero");
	if (ok(!netseg_prefix_parse("fd00::1234", &p, NULL), "parse fd00::1234"))
		ok(!memcmp(p.addr, want6, 16), "... all 16 bytes in network order");
}

static struct netseg_iddef def(const char *name)
{
	struct netseg_iddef d = {};

	snprintf(d.name, sizeof(d.name), "%s", name);
	return d;
}

static void test_add(void)
{
	struct netseg_idstore s;
	struct netseg_iddef d;
	struct netseg_err err = {};
	char name[NETSEG_NAME_MAX + 1];
	static const char *const bad_names[] = {
		"", "-web", "web-", "_web", ".web", "we b", "web/1", "wéb", "world", "host", "any",
	};
	__u32 web_id;

	netseg_idstore_init(&s);
	is_int(s.next_id, NETSEG_ID_USER_MIN, "a new store hands out user ids from 256");
	is_int(s.next_cidr_id, NETSEG_ID_CIDR_MIN, "... and CIDR ids from 1 << 24");

	d = def("web");
	d.ncidrs = 2;
	strcpy(d.cidrs[0], "198.18.1.2");
	strcpy(d.cidrs[1], "FD00:0::/8");
	strcpy(d.ifaces[0], "veth-web*");
	d.nifaces = 1;
	is_int(netseg_id_add(&s, &d, &err), 0, "add web");
	web_id = d.id;
	is_int(web_id, NETSEG_ID_USER_MIN, "... with the first user id");
	ok(netseg_id_by_name(&s, "web") && netseg_id_by_name(&s, "web")->id == web_id,
	   "... found by name");
	ok(netseg_id_by_id(&s, web_id) == netseg_id_by_name(&s, "web"), "... and by id");
	is_str(netseg_id_by_name(&s, "web")->cidrs[0], "198.18.1.2/32",
	       "... its CIDRs stored in canonical form");
	is_str(netseg_id_by_name(&s, "web")->cidrs[1], "fd00::/8", "... IPv6 too");

	d = def("web");
	is_int(netseg_id_add(&s, &d, &err), -EEXIST, "a second web: EEXIST");
	is_str(err.msg, "identity \"web\" already exists", "... saying so");
	is_int(s.n, 1, "... and nothing added");

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		d = def(bad_names[i]);
		err.msg[0] = '\0';
		is_int(netseg_id_add(&s, &d, &err), -EINVAL, "name \"%s\" refused", bad_names[i]);
		ok(strstr(err.msg, "invalid identity name"), "... %s", err.msg);
	}
	memset(name, 'n', NETSEG_NAME_MAX - 1);
	name[NETSEG_NAME_MAX - 1] = '\0';
	d = def(name);
	is_int(netseg_id_add(&s, &d, &err), 0, "a name of %d characters (the most) is taken",
	       NETSEG_NAME_MAX - 1);
	d = def("a.b_c-9");
	is_int(netseg_id_add(&s, &d, &err), 0, "letters, digits, '.', '_' and '-' inside a name");

	d = def("bad-cidr");
	d.ncidrs = 1;
	strcpy(d.cidrs[0], "198.18.0.0/33");
	is_int(netseg_id_add(&s, &d, &err), -EINVAL, "a bad CIDR refuses the identity");
	is_str(err.msg,
	       "identity bad-cidr: CIDR \"198.18.0.0/33\", column 12: prefix length 33 out of range 0-32",
	       "... naming the CIDR, the column and what is wrong");
	strcpy(d.cidrs[0], "198.18.0.1/24");
	is_int(netseg_id_add(&s, &d, &err), -EINVAL, "host bits set refuse it");
	is_str(err.msg,
	       "identity bad-cidr: CIDR \"198.18.0.1/24\", column 1: host bits set in 198.18.0.1/24; did you mean 198.18.0.0/24?",
	       "... saying so");
	d = def("bad-glob");
	d.nifaces = 1;
	strcpy(d.ifaces[0], "veth\x01");
	is_int(netseg_id_add(&s, &d, &err), -EINVAL, "a control byte in an interface glob");
	ok(!strncmp(err.msg, "identity bad-glob: interface glob #1: ", 38), "... %s", err.msg);
	d = def("bad-cg");
	d.ncgroups = 1;
	strcpy(d.cgroups[0], "pods/\n/x");
	is_int(netseg_id_add(&s, &d, &err), -EINVAL, "a newline in a cgroup path");
	ok(!strncmp(err.msg, "identity bad-cg: cgroup path #1: ", 33), "... %s", err.msg);
	ok(!netseg_id_by_name(&s, "bad-cidr") && !netseg_id_by_name(&s, "bad-glob") &&
		   !netseg_id_by_name(&s, "bad-cg"),
	   "none of the refused identities is in the store");
	is_int(s.n, 3, "three identities");

	/* Ids are never handed out twice: a removed id may live on in
	 * conntrack entries and flow records. */
	is_int(netseg_id_remove(&s, "web"), 0, "remove web");
	ok(!netseg_id_by_name(&s, "web") && !netseg_id_by_id(&s, web_id), "... it is gone");
	is_int(netseg_id_remove(&s, "web"), -ENOENT, "remove it again: ENOENT");
	d = def("web");
	is_int(netseg_id_add(&s, &d, &err), 0, "add web again");
	ok(d.id != web_id && d.id == NETSEG_ID_USER_MIN + 3, "... with a new id (%u)", d.id);

	s.next_id = NETSEG_ID_CIDR_MIN;
	d = def("last");
	is_int(netseg_id_add(&s, &d, &err), -ENOSPC, "user ids run out where CIDR ids begin");
	is_str(err.msg, "out of identity ids", "... saying so");
	netseg_idstore_free(&s);
	ok(!s.v && !s.n && !s.cap, "free empties the store");
}

static void test_replace(void)
{
	struct netseg_idstore s;
	struct netseg_iddef d;
	struct netseg_err err = {};
	__u32 id, cid;

	netseg_idstore_init(&s);
	d = def("api");
	netseg_id_add(&s, &d, &err);
	id = d.id;
	d = def("api");
	d.audit = true;
	d.ncidrs = 1;
	strcpy(d.cidrs[0], "198.18.2.0/24");
	is_int(netseg_id_replace(&s, &d, &err), 0, "replace api");
	is_int(netseg_id_by_name(&s, "api")->id, id, "... keeps its id");
	ok(netseg_id_by_name(&s, "api")->audit, "... takes the new definition");
	d = def("api");
	d.ncidrs = 1;
	strcpy(d.cidrs[0], "nonsense");
	is_int(netseg_id_replace(&s, &d, &err), -EINVAL, "replace with a bad CIDR: EINVAL");
	is_str(netseg_id_by_name(&s, "api")->cidrs[0], "198.18.2.0/24", "... the old one stays");
	d = def("nosuch");
	is_int(netseg_id_replace(&s, &d, &err), -ENOENT, "replace an unknown name: ENOENT");
	is_str(err.msg, "no identity \"nosuch\"", "... saying so");

	is_int(netseg_id_cidr(&s, "198.18.9.0/24", &cid), 0, "a CIDR identity");
	is_int(cid, NETSEG_ID_CIDR_MIN, "... with the first CIDR id");
	ok(netseg_id_by_id(&s, cid)->cidr_only, "... marked cidr_only");
	is_int(netseg_id_flags(netseg_id_by_id(&s, cid)), 0, "... no flags: not an endpoint");
	d = def("198.18.9.0/24");
	is_int(netseg_id_replace(&s, &d, &err), -ENOENT, "a CIDR identity can't be replaced");
	is_int(netseg_id_cidr(&s, "198.18.9.0/24", &id), 0, "the same CIDR again");
	is_int(id, cid, "... is the same identity");
	is_int(netseg_id_cidr(&s, "fd00::/8", &id), 0, "another CIDR");
	is_int(id, NETSEG_ID_CIDR_MIN + 1, "... gets the next CIDR id");
	is_int(netseg_id_cidr(&s,
			      "0000000000000000000000000000000000000000000000000000000000000000",
			      &id),
	       -EINVAL, "a CIDR text too long for an identity: EINVAL");
	is_int(s.n, 3, "three identities");
	netseg_idstore_free(&s);
}

static void test_names_flags_copy(void)
{
	struct netseg_idstore s, c;
	struct netseg_iddef d;
	struct netseg_err err = {};
	char buf[32];

	netseg_idstore_init(&s);
	d = def("db");
	netseg_id_add(&s, &d, &err);
	is_str(netseg_id_name(&s, NETSEG_ID_ANY, buf, sizeof(buf)), "*", "id 0 is *");
	is_str(netseg_id_name(&s, NETSEG_ID_HOST, buf, sizeof(buf)), "host", "id 1 is host");
	is_str(netseg_id_name(&s, NETSEG_ID_WORLD, buf, sizeof(buf)), "world", "id 2 is world");
	is_str(netseg_id_name(&s, d.id, buf, sizeof(buf)), "db", "id 256 is db");
	is_str(netseg_id_name(&s, 4242, buf, sizeof(buf)), "id:4242", "an unknown id: id:N");
	ok(!netseg_id_by_id(&s, 4242) && !netseg_id_by_name(&s, "nosuch"),
	   "unknown ids and names are not found");

	d = def("x");
	is_int(netseg_id_flags(&d), 0, "no selectors, no audit: no flags");
	d.nifaces = 1;
	is_int(netseg_id_flags(&d), NETSEG_IDF_ENDPOINT, "an interface: an endpoint");
	d.nifaces = 0;
	d.ncgroups = 1;
	is_int(netseg_id_flags(&d), NETSEG_IDF_ENDPOINT, "a cgroup: an endpoint");
	d.ncgroups = 0;
	d.ncidrs = 1;
	d.audit = true;
	is_int(netseg_id_flags(&d), NETSEG_IDF_AUDIT, "CIDRs only, audit: not an endpoint, audit");

	if (!is_int(netseg_idstore_copy(&c, &s), 0, "copy the store"))
		goto out;
	d = def("cache");
	netseg_id_add(&c, &d, &err);
	netseg_id_remove(&c, "db");
	ok(netseg_id_by_name(&s, "db") && !netseg_id_by_name(&s, "cache"),
	   "changing the copy leaves the original");
	is_int(c.next_id, s.next_id + 1, "the copy's id counter moves on its own");
	netseg_idstore_free(&c);
	netseg_idstore_init(&c);
	netseg_idstore_free(&s);
	netseg_idstore_init(&s);
	ok(!netseg_idstore_copy(&c, &s) && !c.v && !c.n, "copy of an empty store");
out:
	netseg_idstore_free(&c);
	netseg_idstore_free(&s);
}

struct sel_case {
	const char *sel, *ns;
	const char *want; /* canonical form, or the error message */
};

static const struct sel_case good_sels[] = {
	{ "app=web, tier in (front,back)", NULL, "app=web,tier in (back,front)" },
	{ " tier notin (b,a), app==web,!legacy,env!=prod,role", "shop",
	  "app=web,env notin (prod),!legacy,role,tier notin (a,b)" },
	{ "", "x", "" },	      /* every pod of namespace x */
	{ "app=web", "", "app=web" }, /* "" = every namespace */
	{ "app=web", "a-1", "app=web" },
};

static const struct sel_case bad_sels[] = {
	{ "app in (a", NULL,
	  "identity w: selector \"app in (a\", column 10: expected ',' or ')' in the value list, found the end of the selector" },
	{ "=web", NULL,
	  "identity w: selector \"=web\", column 1: expected a label key, found \"=\"" },
	{ "app=we b", NULL,
	  "identity w: selector \"app=we b\", column 8: expected ',' or the end of the selector, found \"b\"" },
	{ "tier in front", NULL,
	  "identity w: selector \"tier in front\", column 9: expected '(' after in/notin, found \"front\"" },
	{ "app=web", "Shop",
	  "identity w: namespace \"Shop\" must be a DNS label: 1-63 lower-case letters, digits and '-', starting and ending with a letter or digit" },
	{ "app=web", "a.b", "identity w: namespace \"a.b\" must be a DNS label: " },
	{ "app=web", "-x", "identity w: namespace \"-x\" must be a DNS label: " },
	{ "app=web", "x-", "identity w: namespace \"x-\" must be a DNS label: " },
	{ "app=web", "x_y", "identity w: namespace \"x_y\" must be a DNS label: " },
	{ NULL, "shop",
	  "identity w: a namespace only limits a label selector; give a selector too" },
};

/* Selectors and namespaces: canonical form, the column of an error,
 * nothing half-applied, and the parsed selector for the compiler. */
static void test_selector(void)
{
	struct netseg_labelsel sel;
	struct netseg_labels web, api;
	struct netseg_idstore s;
	struct netseg_iddef d, keep;
	struct netseg_err err = {};
	char big[NETSEG_IDSEL_MAX + 8], ns64[NETSEG_IDNS_MAX + 1];
	__u32 id;
	size_t i;

	netseg_idstore_init(&s);
	for (i = 0; i < sizeof(good_sels) / sizeof(good_sels[0]); i++) {
		const struct sel_case *c = &good_sels[i];

		d = def("w");
		if (!is_int(netseg_iddef_set_selector(&d, c->sel, c->ns, &err), 0,
			    "selector \"%s\" in namespace \"%s\" taken", c->sel,
			    c->ns ? c->ns : "(none)"))
			continue;
		ok(d.has_selector, "... the identity has a selector");
		is_str(d.selector, c->want, "... in canonical form");
		is_str(d.ns, c->ns ? c->ns : "", "... limited to its namespace");
		is_int(netseg_id_add(&s, &d, &err), 0, "... and the identity is added");
		is_str(netseg_id_by_name(&s, "w")->selector, c->want, "... as it was");
		netseg_id_remove(&s, "w");
	}
	for (i = 0; i < sizeof(bad_sels) / sizeof(bad_sels[0]); i++) {
		const struct sel_case *c = &bad_sels[i];

		d = def("w");
		strcpy(d.selector, "app=old");
		d.has_selector = true;
		keep = d;
		err.msg[0] = '\0';
		is_int(netseg_iddef_set_selector(&d, c->sel, c->ns, &err), -EINVAL,
		       "selector %s%s%s in namespace \"%s\": refused", c->sel ? "\"" : "",
		       c->sel ? c->sel : "(none)", c->sel ? "\"" : "", c->ns ? c->ns : "(none)");
		ok(!strncmp(err.msg, c->want, strlen(c->want)), "... %s", err.msg);
		ok(!memcmp(&d, &keep, sizeof(d)), "... the definition unchanged");
		/* The same, set directly: netseg_id_add validates as well. */
		d = def("w");
		d.has_selector = c->sel != NULL;
		strcpy(d.selector, c->sel ? c->sel : "");
		strcpy(d.ns, c->ns ? c->ns : "");
		err.msg[0] = '\0';
		is_int(netseg_id_add(&s, &d, &err), -EINVAL, "... and by netseg_id_add");
		ok(!strncmp(err.msg, c->want, strlen(c->want)), "... %s", err.msg);
	}
	is_int(s.n, 0, "none of them was added");

	d = def("w");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(netseg_iddef_set_selector(&d, big, NULL, &err), -EINVAL,
	       "a selector longer than the field: refused");
	is_str(err.msg, "identity w: selector too long: 519 bytes, at most 511", "... %s", err.msg);
	memset(ns64, 'n', sizeof(ns64) - 1);
	ns64[sizeof(ns64) - 1] = '\0';
	is_int(netseg_iddef_set_selector(&d, "app=web", ns64, &err), -EINVAL,
	       "a namespace of 64 characters: refused");
	ok(strstr(err.msg, "must be a DNS label"), "... %s", err.msg);
	is_int(netseg_iddef_set_selector(&d, "app=web", ns64 + 1, &err), 0,
	       "one of 63 characters is a DNS label");
	/* k!=v is longer in canonical form (k notin (v)): it must fit too. */
	d = def("w");
	big[0] = '\0';
	for (i = 0; strlen(big) + 10 < NETSEG_IDSEL_MAX; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "%sk%zu!=v", i ? "," : "",
			 i);
	is_int(netseg_iddef_set_selector(&d, big, NULL, &err), -EINVAL,
	       "a selector that fits but not in canonical form: refused");
	ok(strstr(err.msg, "selector too long") && strstr(err.msg, "in canonical form"), "... %s",
	   err.msg);

	d = def("web");
	d.nifaces = 1;
	strcpy(d.ifaces[0], "veth-web*");
	netseg_iddef_set_selector(&d, "app in (web, www)", "shop", &err);
	is_int(netseg_id_add(&s, &d, &err), 0, "an identity with an interface and a selector");
	id = d.id;
	is_int(netseg_id_flags(&d), NETSEG_IDF_ENDPOINT,
	       "... an endpoint for its interface, as without the selector");
	if (is_int(netseg_iddef_selector(&d, &sel), 0, "its selector parsed for the compiler")) {
		netseg_labels_init(&web);
		netseg_labels_init(&api);
		netseg_labels_parse("app=www,tier=front", &web, &err);
		netseg_labels_parse("app=api", &api, &err);
		ok(netseg_labels_match(&sel, &web) && !netseg_labels_match(&sel, &api),
		   "... matching app=www, not app=api");
		netseg_labels_free(&web);
		netseg_labels_free(&api);
	}
	netseg_labelsel_free(&sel);
	d = def("db");
	is_int(netseg_iddef_selector(&d, &sel), -ENOENT, "an identity without one: -ENOENT");
	ok(netseg_labelsel_empty(&sel), "... and an empty selector to free");
	d.has_selector = true;
	strcpy(d.selector, "app in (");
	is_int(netseg_iddef_selector(&d, &sel), -EINVAL,
	       "a selector text that doesn't parse: -EINVAL");

	d = def("web");
	netseg_iddef_set_selector(&d, "app=web", NULL, &err);
	is_int(netseg_id_replace(&s, &d, &err), 0, "replace web: a selector of every namespace");
	is_int(netseg_id_by_name(&s, "web")->id, id, "... same id");
	ok(!strcmp(netseg_id_by_name(&s, "web")->selector, "app=web") &&
		   !netseg_id_by_name(&s, "web")->ns[0] && !netseg_id_by_name(&s, "web")->nifaces,
	   "... the new definition");
	d = def("web");
	d.has_selector = true;
	strcpy(d.selector, "app=");
	strcpy(d.ns, "Bad");
	is_int(netseg_id_replace(&s, &d, &err), -EINVAL, "replace with a bad namespace: refused");
	is_str(netseg_id_by_name(&s, "web")->selector, "app=web", "... the old one stays");
	netseg_idstore_free(&s);
}

static bool same_def(const struct netseg_iddef *a, const struct netseg_iddef *b)
{
	return !strcmp(a->name, b->name) && a->id == b->id && a->audit == b->audit &&
	       a->has_selector == b->has_selector && !strcmp(a->selector, b->selector) &&
	       !strcmp(a->ns, b->ns) && a->cidr_only == b->cidr_only && a->nifaces == b->nifaces &&
	       a->ncgroups == b->ncgroups && a->ncidrs == b->ncidrs &&
	       !memcmp(a->ifaces, b->ifaces, sizeof(a->ifaces)) &&
	       !memcmp(a->cgroups, b->cgroups, sizeof(a->cgroups)) &&
	       !memcmp(a->cidrs, b->cidrs, sizeof(a->cidrs));
}

static void test_json(void)
{
	struct netseg_idstore s, back = {};
	struct netseg_iddef d, one;
	struct netseg_err err = {};
	cJSON *j = NULL, *o = NULL;
	__u32 cid;

	netseg_idstore_init(&s);
	d = def("web");
	d.audit = true;
	d.nifaces = 2;
	strcpy(d.ifaces[0], "veth-web*");
	strcpy(d.ifaces[1], "eth1");
	d.ncgroups = 1;
	strcpy(d.cgroups[0], "kubepods/web");
	d.ncidrs = 1;
	strcpy(d.cidrs[0], "fd00::/8");
	netseg_id_add(&s, &d, &err);
	netseg_id_cidr(&s, "198.18.0.0/15", &cid);
	netseg_id_remove(&s, "web");
	d = def("web");
	netseg_id_add(&s, &d, &err);
	d = def("api");
	d.nifaces = 1;
	strcpy(d.ifaces[0], "veth-api");
	netseg_id_add(&s, &d, &err);
	d = def("shop-web");
	d.ncidrs = 1;
	strcpy(d.cidrs[0], "198.18.7.0/24");
	netseg_iddef_set_selector(&d, "tier in (front), app=web", "shop", &err);
	netseg_id_add(&s, &d, &err);
	d = def("all-pods");
	netseg_iddef_set_selector(&d, "", NULL, &err);
	netseg_id_add(&s, &d, &err);

	j = netseg_idstore_to_json(&s);
	if (!ok(j != NULL, "the store as JSON"))
		goto out;
	if (!is_int(netseg_idstore_from_json(&back, j, &err), 0, "... read back"))
		goto out;
	is_int(back.n, s.n, "... as many identities");
	ok(back.next_id == s.next_id && back.next_cidr_id == s.next_cidr_id,
	   "... the id counters, so removed ids stay unused");
	for (size_t i = 0; i < s.n; i++)
		ok(same_def(&s.v[i], &back.v[i]), "... identity %s the same", s.v[i].name);

	o = netseg_iddef_to_json(netseg_id_by_name(&s, "shop-web"));
	ok(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "selector")),
		   "app=web,tier in (front)") &&
		   !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "namespace")), "shop"),
	   "a selector identity's JSON: \"selector\" in canonical form, \"namespace\"");
	cJSON_Delete(o);
	o = netseg_iddef_to_json(netseg_id_by_name(&s, "all-pods"));
	ok(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "selector")), "") &&
		   !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "namespace")), ""),
	   "the every-pod selector: \"selector\": \"\", every namespace: \"namespace\": \"\"");
	is_int(netseg_iddef_from_json(o, &one), 0, "... read back");
	ok(one.has_selector && !one.selector[0], "... still a selector, the empty one");
	cJSON_Delete(o);
	o = netseg_iddef_to_json(netseg_id_by_name(&s, "api"));
	ok(!cJSON_GetObjectItem(o, "selector") && !cJSON_GetObjectItem(o, "namespace"),
	   "no selector: neither field (the state file as before)");
	cJSON_AddItemToObject(o, "selector", cJSON_CreateNumber(7));
	is_int(netseg_iddef_from_json(o, &one), -EINVAL, "a selector that isn't a string: EINVAL");
	cJSON_DeleteItemFromObject(o, "selector");
	cJSON_AddItemToObject(o, "namespace",
			      cJSON_CreateString("0123456789012345678901234567890123456789"
						 "0123456789012345678901234567890123456789"));
	is_int(netseg_iddef_from_json(o, &one), -EINVAL,
	       "a namespace wider than its field: EINVAL");
	cJSON_Delete(o);

	/* One definition's fields, and what from_json refuses. */
	o = netseg_iddef_to_json(netseg_id_by_name(&s, "api"));
	cJSON_AddItemToArray(cJSON_GetObjectItem(o, "cidrs"), cJSON_CreateNumber(7));
	is_int(netseg_iddef_from_json(o, &one), -EINVAL, "a number among the CIDRs: EINVAL");
	cJSON_Delete(o);
	o = netseg_iddef_to_json(netseg_id_by_name(&s, "api"));
	for (int i = 0; i < NETSEG_SEL_MAX; i++)
		cJSON_AddItemToArray(cJSON_GetObjectItem(o, "ifaces"), cJSON_CreateString("e"));
	is_int(netseg_iddef_from_json(o, &one), -EINVAL,
	       "%d interface globs (one too many): EINVAL", NETSEG_SEL_MAX + 1);
	cJSON_Delete(o);
	o = netseg_iddef_to_json(netseg_id_by_name(&s, "api"));
	cJSON_ReplaceItemInObject(o, "ifaces",
				  cJSON_CreateStringArray(
					  (const char *[]){
						  "0123456789012345678901234567890123456789" },
					  1));
	is_int(netseg_iddef_from_json(o, &one), -EINVAL, "a glob wider than its slot: EINVAL");
	cJSON_Delete(o);
	o = netseg_iddef_to_json(netseg_id_by_name(&s, "api"));
	cJSON_DeleteItemFromObject(o, "name");
	is_int(netseg_iddef_from_json(o, &one), -EINVAL, "no name: EINVAL");
	cJSON_Delete(o);
	o = NULL;

	/* State written before selectors existed: no such fields, loads. */
	netseg_idstore_free(&back);
	o = cJSON_Parse(
		"{\"next_id\": 300, \"identities\": [{\"name\": \"old\", \"id\": 257, "
		"\"audit\": false, \"ifaces\": [\"veth-old\"], \"cgroups\": [], \"cidrs\": []}]}");
	if (is_int(netseg_idstore_from_json(&back, o, &err), 0, "an old state file loads"))
		ok(back.n == 1 && !back.v[0].has_selector && !back.v[0].selector[0] &&
			   !back.v[0].ns[0],
		   "... its identity without a selector");
	netseg_idstore_free(&back);
	/* A hand-edited selector: refused on load, with the column. */
	cJSON_AddItemToObject(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "identities"), 0),
			      "selector", cJSON_CreateString("app in (web"));
	is_int(netseg_idstore_from_json(&back, o, &err), -EINVAL, "state with a broken selector");
	is_str(err.msg,
	       "bad identity entry in state: identity old: selector \"app in (web\", column 12: expected ',' or ')' in the value list, found the end of the selector",
	       "... refused, saying where");
	netseg_idstore_free(&back);
	cJSON_Delete(o);
	o = NULL;

	cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "identities"), 1),
				   "id");
	is_int(netseg_idstore_from_json(&back, j, &err), -EINVAL, "state with an id-less entry");
	is_str(err.msg, "bad identity entry in state", "... is refused with a message");
out:
	cJSON_Delete(o);
	cJSON_Delete(j);
	netseg_idstore_free(&back);
	netseg_idstore_free(&s);
}

int main(void)
{
	test_cidr_parse();
	test_cidr_addr();
	test_add();
	test_replace();
	test_names_flags_copy();
	test_selector();
	test_json();
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
