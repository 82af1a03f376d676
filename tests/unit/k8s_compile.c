// SPDX-License-Identifier: GPL-2.0-only
/*
 * NetworkPolicy compiler, the parts the truth tables (k8s_conform.c) don't
 * reach: its errors (all or nothing, saying what), IPv6 and dual-stack
 * ipBlocks, the prefixes it hands the ipcache, stable identity keys, and
 * a cluster of a realistic size compiled in bounded time, and native
 * identities defined by a label selector.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s_compile.h"
#include "tap.h"

struct alloc {
	char *keys[4096];
	int n;
	int fail_at; /* key number that fails with -ENOSPC, -1 none */
};

static int alloc_cb(const char *key, __u32 *id, void *ctx)
{
	struct alloc *a = ctx;
	int i;

	for (i = 0; i < a->n; i++)
		if (!strcmp(a->keys[i], key))
			break;
	if (i == a->n) {
		if (a->n == a->fail_at || a->n == 4096)
			return -ENOSPC;
		a->keys[a->n++] = strdup(key);
	}
	*id = 1000 + (__u32)i;
	return 0;
}

static void alloc_free(struct alloc *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->keys[i]);
	a->n = 0;
}

static int load(const char *yaml, struct netseg_k8s_objects *o)
{
	struct netseg_errlist errs = { 0 };
	int ret;

	netseg_k8s_objects_init(o);
	ret = netseg_k8s_load_buf("t.yaml", yaml, strlen(yaml), o, &errs);
	if (ret)
		bail("test YAML doesn't import: %s", errs.n ? errs.msgs[0] : "?");
	return 0;
}

static struct netseg_k8s_addr addr(const char *s)
{
	struct netseg_k8s_addr a;

	if (netseg_k8s_addr_parse(s, &a))
		bail("bad address %s", s);
	return a;
}

static int resolve_none(const char *sel, __u32 *id, void *ctx)
{
	return -ENOENT;
}

static const struct netseg_resolver no_names = { .resolve = resolve_none };

/* One pod per (labels text, addresses), in namespace "x". */
struct cluster {
	struct netseg_labels labels[8];
	struct netseg_k8s_addr addrs[8][2];
	struct netseg_k8s_endpoint eps[8];
	size_t n;
};

static void pod(struct cluster *c, const char *labels, const char *a4, const char *a6)
{
	struct netseg_err e;
	size_t i = c->n++, n = 0;

	netseg_labels_init(&c->labels[i]);
	if (netseg_labels_parse(labels, &c->labels[i], &e))
		bail("labels %s: %s", labels, e.msg);
	if (a4)
		c->addrs[i][n++] = addr(a4);
	if (a6)
		c->addrs[i][n++] = addr(a6);
	c->eps[i] = (struct netseg_k8s_endpoint){ .ns = "x",
						  .name = "p",
						  .labels = &c->labels[i],
						  .addrs = c->addrs[i],
						  .naddrs = n };
}

static void cluster_free(struct cluster *c)
{
	for (size_t i = 0; i < c->n; i++)
		netseg_labels_free(&c->labels[i]);
	c->n = 0;
}

/* Is there a generated allow for src -> dst covering proto/port? */
static bool allows(const struct netseg_k8s_compiled *out, __u32 src, __u32 dst, __u8 proto,
		   __u16 port)
{
	struct netseg_resolver res;
	struct netseg_tuple t = { .src_id = src, .dst_id = dst, .proto = proto, .port = port };
	struct netseg_policy_val v;

	netseg_k8s_resolver(&no_names, &res);
	if (netseg_ref_eval(out->rules.rules, out->rules.n, &res, &t, &v))
		bail("compiled rules don't resolve");
	return v.verdict == NETSEG_VERDICT_ALLOW;
}

#define NP(ns, name)                                                         \
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n" \
	"  name: " name "\n  namespace: '" ns "'\nspec:\n"

static void test_errors(void)
{
	struct alloc al = { .fail_at = -1 };
	struct netseg_k8s_objects o;
	struct netseg_k8s_compiled out;
	struct netseg_err err;
	struct netseg_rule r;
	struct cluster c = { 0 };
	struct netseg_k8s_input in = { .objs = &o,
				       .alloc = alloc_cb,
				       .alloc_ctx = &al,
				       .first_rule_id = 100,
				       .res = &no_names };
	int ret;

	load(NP("x", "a") "  podSelector: {}\n  ingress: [{}]\n", &o);
	pod(&c, "app=web", "198.18.1.10", NULL);
	in.eps = c.eps;
	in.neps = c.n;

	if (netseg_rule_parse_line("deny frontnd -> *:tcp/22", &r, &err))
		bail("rule: %s", err.msg);
	r.id = 1;
	in.rules = &r;
	in.nrules = 1;
	ret = netseg_k8s_compile(&in, &out, &err);
	ok(ret == -ENOENT && strstr(err.msg, "native rule 1 names an unknown identity") &&
		   err.rule == 0 && !out.rules.n && !out.ep_ids,
	   "a native rule naming an unknown identity: -ENOENT, nothing returned (%s)", err.msg);
	in.nrules = 0;

	alloc_free(&al);
	al.fail_at = 0;
	ret = netseg_k8s_compile(&in, &out, &err);
	ok(ret == -ENOSPC && strstr(err.msg, "couldn't allocate an identity for pod:x:app=web"),
	   "the allocator failing: its error, naming the key (%s)", err.msg);
	al.fail_at = -1;

	in.first_rule_id = 0xfffffffeU;
	ret = netseg_k8s_compile(&in, &out, &err);
	ok(ret == -ERANGE && strstr(err.msg, "rule ids ran out"),
	   "rule ids running out: -ERANGE (%s)", err.msg);
	in.first_rule_id = 0;
	ret = netseg_k8s_compile(&in, &out, &err);
	ok(ret == -EINVAL && strstr(err.msg, "no rule ids"), "no first rule id: refused (%s)",
	   err.msg);
	in.first_rule_id = 100;

	ret = netseg_k8s_compile(&in, &out, &err);
	if (is_int(ret, 0, "and with all that fixed it compiles"))
		netseg_k8s_compiled_free(&out);
	netseg_k8s_objects_free(&o);
	cluster_free(&c);
	alloc_free(&al);
}

/*
 * IPv6 blocks work as IPv4 ones; a dual-stack pod matched by a block of
 * one family is matched as a whole (identities carry no address family):
 * the documented departure.
 */
static void test_v6_and_dual_stack(void)
{
	struct alloc al = { .fail_at = -1 };
	struct netseg_k8s_objects o;
	struct netseg_k8s_compiled out;
	struct netseg_err err;
	struct cluster c = { 0 };
	struct netseg_k8s_input in = { .objs = &o,
				       .alloc = alloc_cb,
				       .alloc_ctx = &al,
				       .first_rule_id = 100 };
	char cidr[64];
	size_t i;

	load(NP("x",
		"db") "  podSelector: {matchLabels: {app: db}}\n  ingress:\n"
		      "  - from:\n    - ipBlock: {cidr: 'fd00::/64', except: ['fd00::10/128']}\n",
	     &o);
	pod(&c, "app=db", NULL, "fd00::1:1");
	pod(&c, "app=web", NULL, "fd00::10");	       /* in the except */
	pod(&c, "app=web", NULL, "fd00::11");	       /* inside the block */
	pod(&c, "app=api", "198.18.1.12", "fd00::12"); /* dual-stack, v6 inside */
	in.eps = c.eps;
	in.neps = c.n;
	if (!is_int(netseg_k8s_compile(&in, &out, &err), 0, "IPv6 ipBlock compiles"))
		goto out;
	ok(out.ep_ids[1] != out.ep_ids[2], "web pods split by the except: %u and %u", out.ep_ids[1],
	   out.ep_ids[2]);
	ok(!allows(&out, out.ep_ids[1], out.ep_ids[0], IPPROTO_TCP, 5432),
	   "the excepted address can't reach db");
	ok(allows(&out, out.ep_ids[2], out.ep_ids[0], IPPROTO_TCP, 5432), "the other web pod can");
	ok(allows(&out, out.ep_ids[3], out.ep_ids[0], IPPROTO_UDP, 53),
	   "the dual-stack pod can (matched as a whole, the documented departure)");
	ok(allows(&out, out.ep_ids[0], out.ep_ids[1], IPPROTO_TCP, 80),
	   "db's egress is open, web's ingress too");
	is_int(out.nprefixes, 1,
	       "one prefix for the ipcache: the block (its except is a pod's own address)");
	for (i = 0; i < out.nprefixes; i++) {
		inet_ntop(AF_INET6, out.prefixes[i].cidr.addr, cidr, sizeof(cidr));
		ok(out.prefixes[i].parent == NETSEG_ID_WORLD && out.prefixes[i].id >= 1000,
		   "prefix %s/%u: its own id %u, cut from world", cidr, out.prefixes[i].cidr.plen,
		   out.prefixes[i].id);
	}
	ok(!allows(&out, NETSEG_ID_WORLD, out.ep_ids[0], IPPROTO_TCP, 5432) &&
		   allows(&out, out.prefixes[0].id, out.ep_ids[0], IPPROTO_TCP, 5432),
	   "outside addresses in the block reach db, the rest of the world doesn't");
	netseg_k8s_compiled_free(&out);
out:
	netseg_k8s_objects_free(&o);
	cluster_free(&c);
	alloc_free(&al);
}

/* The same cluster and policies compile to the same ids and rules, in
 * whatever order the policies come. */
static void test_stable(void)
{
	struct alloc al = { .fail_at = -1 };
	struct netseg_k8s_objects o1, o2;
	struct netseg_k8s_compiled a, b;
	struct netseg_err err;
	struct cluster c = { 0 };
	struct netseg_k8s_input in = { .alloc = alloc_cb, .alloc_ctx = &al, .first_rule_id = 100 };
	const char *p1 = NP("x", "p1") "  podSelector: {}\n  ingress:\n  - from:\n"
				       "    - ipBlock: {cidr: 198.18.0.0/16}\n";
	const char *p2 =
		NP("x", "p2") "  podSelector: {}\n  egress:\n  - to:\n"
			      "    - ipBlock: {cidr: 198.18.1.0/24, except: [198.18.1.128/25]}\n";
	char y1[1024], y2[1024];
	bool same;

	snprintf(y1, sizeof(y1), "%s---\n%s", p1, p2);
	snprintf(y2, sizeof(y2), "%s---\n%s", p2, p1);
	load(y1, &o1);
	load(y2, &o2);
	pod(&c, "app=a", "198.18.1.10", NULL);
	pod(&c, "app=a", "198.18.1.200", NULL);
	in.eps = c.eps;
	in.neps = c.n;
	in.objs = &o1;
	if (netseg_k8s_compile(&in, &a, &err))
		bail("stable: %s", err.msg);
	in.objs = &o2;
	if (netseg_k8s_compile(&in, &b, &err))
		bail("stable: %s", err.msg);
	same = a.ep_ids[0] == b.ep_ids[0] && a.ep_ids[1] == b.ep_ids[1];
	ok(same && a.ep_ids[0] != a.ep_ids[1],
	   "identity keys don't depend on policy order (%u %u / %u %u)", a.ep_ids[0], a.ep_ids[1],
	   b.ep_ids[0], b.ep_ids[1]);
	ok(al.n == 5, "keys: two pods' and three prefixes' (%d): %s, %s", al.n, al.keys[0],
	   al.keys[1]);
	netseg_k8s_compiled_free(&a);
	netseg_k8s_compiled_free(&b);
	netseg_k8s_objects_free(&o1);
	netseg_k8s_objects_free(&o2);
	cluster_free(&c);
	alloc_free(&al);
}

/* Native identities web (id 300), db (301), ops (302) by name. */
static int resolve_natives(const char *sel, __u32 *id, void *ctx)
{
	static const char *const names[] = { "web", "db", "ops" };

	for (__u32 i = 0; i < 3; i++)
		if (!strcmp(sel, names[i])) {
			*id = 300 + i;
			return 0;
		}
	return -ENOENT;
}

static const struct netseg_resolver natives_res = { .resolve = resolve_natives };

static int verdict(const struct netseg_k8s_compiled *out, __u32 src, __u32 dst, __u16 port)
{
	struct netseg_resolver res;
	struct netseg_tuple t = { .src_id = src, .dst_id = dst, .proto = IPPROTO_TCP, .port = port };
	struct netseg_policy_val v;

	netseg_k8s_resolver(&natives_res, &res);
	if (netseg_ref_eval(out->rules.rules, out->rules.n, &res, &t, &v))
		bail("compiled rules don't resolve");
	return v.verdict;
}

/* Copies of native rule @id made for pods (their comment says so). */
static size_t pod_copies(const struct netseg_k8s_compiled *out, __u32 id)
{
	char want[64];
	size_t i, n = 0;

	snprintf(want, sizeof(want), "native rule %u, for pods", id);
	for (i = 0; i < out->rules.n; i++)
		n += !strncmp(out->rules.rules[i].comment, want, strlen(want));
	return n;
}

/* Does some copy of native rule @id name pod identity @pod? */
static bool names_pod(const struct netseg_k8s_compiled *out, __u32 id, __u32 pod)
{
	char want[64], sel[32];
	size_t i;

	snprintf(want, sizeof(want), "native rule %u, for pods", id);
	snprintf(sel, sizeof(sel), "#%u", pod);
	for (i = 0; i < out->rules.n; i++)
		if (!strncmp(out->rules.rules[i].comment, want, strlen(want)) &&
		    (!strcmp(out->rules.rules[i].src, sel) ||
		     !strcmp(out->rules.rules[i].dst, sel)))
			return true;
	return false;
}

static void parse_sel(const char *text, struct netseg_labelsel *s)
{
	struct netseg_err e;

	if (netseg_labelsel_parse(text, s, &e))
		bail("selector %s: %s", text, e.msg);
}

/*
 * Named identities defined by a label selector: a native rule naming one
 * covers every pod identity it matches (in its namespace, or in all),
 * allow and deny alike; pods sharing labels share the copies, and a pod
 * whose labels change no longer gets them.
 */
static void test_selector_natives(void)
{
	struct alloc al = { .fail_at = -1 };
	struct netseg_k8s_objects o;
	struct netseg_k8s_compiled out;
	struct netseg_labelsel web_sel, db_sel;
	struct netseg_err err;
	struct netseg_rule r[2];
	struct cluster c = { 0 };
	struct netseg_k8s_native nat[3] = {
		{ .id = 300, .sel = &web_sel },		      /* pods of every namespace */
		{ .id = 301, .sel = &db_sel, .sel_ns = "x" }, /* of namespace x only */
		{ .id = 302, .flags = NETSEG_IDF_ENDPOINT },  /* no selector */
	};
	struct netseg_k8s_input in = { .objs = &o,
				       .alloc = alloc_cb,
				       .alloc_ctx = &al,
				       .first_rule_id = 100,
				       .res = &natives_res,
				       .natives = nat,
				       .nnatives = 3 };
	__u32 web_x, web_x2, web_y, db_x, db_y, front_api;

	/* Every pod isolated for ingress, nothing allowed by policy. */
	load(NP("x", "deny-in") "  podSelector: {}\n  policyTypes: [Ingress]\n---\n" NP(
		     "y", "deny-in") "  podSelector: {}\n  policyTypes: [Ingress]\n",
	     &o);
	parse_sel("app=web,tier in (front)", &web_sel);
	parse_sel("app=db", &db_sel);
	pod(&c, "app=web,tier=front", "198.18.1.10", NULL);
	pod(&c, "tier=front,app=web", "198.18.1.11", NULL); /* same labels */
	pod(&c, "app=web,tier=front", "198.18.2.10", NULL);
	c.eps[2].ns = "y";
	pod(&c, "app=db", "198.18.1.20", NULL);
	pod(&c, "app=db", "198.18.2.20", NULL);
	c.eps[4].ns = "y";
	pod(&c, "app=api,tier=front", "198.18.1.30", NULL); /* tier, not app */
	in.eps = c.eps;
	in.neps = c.n;
	if (netseg_rule_parse_line("allow web -> db:tcp/5432", &r[0], &err) ||
	    netseg_rule_parse_line("deny web -> *:tcp/22", &r[1], &err))
		bail("rule: %s", err.msg);
	r[0].id = 1;
	r[1].id = 2;
	in.rules = r;
	in.nrules = 1;
	if (!is_int(netseg_k8s_compile(&in, &out, &err), 0,
		    "native rules over selector identities compile"))
		goto out;
	web_x = out.ep_ids[0];
	web_x2 = out.ep_ids[1];
	web_y = out.ep_ids[2];
	db_x = out.ep_ids[3];
	db_y = out.ep_ids[4];
	front_api = out.ep_ids[5];
	ok(web_x == web_x2, "two web pods with the same labels: one identity (%u)", web_x);
	is_int(verdict(&out, web_x, db_x, 5432), NETSEG_VERDICT_ALLOW,
	       "allow web->db: a web pod reaches a db pod of namespace x");
	is_int(verdict(&out, web_y, db_x, 5432), NETSEG_VERDICT_ALLOW,
	       "... so does the web pod of namespace y (web's selector: every namespace)");
	ok(verdict(&out, web_x, db_y, 5432) != NETSEG_VERDICT_ALLOW,
	   "... but not the db pod of namespace y (db's: namespace x only)");
	ok(verdict(&out, web_x, db_x, 5433) != NETSEG_VERDICT_ALLOW, "... on 5432 only");
	ok(verdict(&out, front_api, db_x, 5432) != NETSEG_VERDICT_ALLOW,
	   "... and not from a pod that matches only part of web's selector");
	ok(verdict(&out, db_x, web_x, 5432) != NETSEG_VERDICT_ALLOW, "... one way");
	is_int(verdict(&out, 300, db_x, 5432), NETSEG_VERDICT_ALLOW,
	       "the identity's own members (interfaces, CIDRs) reach db's pods too");
	is_int(verdict(&out, web_x, 301, 5432), NETSEG_VERDICT_ALLOW,
	       "... and web's pods db's own members");
	/* (web, web x, web y) x (db, db x) less the rule itself. */
	is_int(pod_copies(&out, 1), 5,
	       "5 copies of the rule: pods sharing labels share them, namespace y's db has none");
	netseg_k8s_compiled_free(&out);

	/* A deny naming a selector identity beats NetworkPolicy's allows. */
	netseg_k8s_objects_free(&o);
	load(NP("x", "all-in") "  podSelector: {}\n  ingress: [{}]\n", &o);
	in.nrules = 2;
	if (!is_int(netseg_k8s_compile(&in, &out, &err), 0, "a native deny naming web compiles"))
		goto out;
	is_int(verdict(&out, out.ep_ids[0], out.ep_ids[3], 22), NETSEG_VERDICT_DENY,
	       "deny web->*:tcp/22: a web pod is denied what NetworkPolicy allows");
	is_int(verdict(&out, out.ep_ids[2], out.ep_ids[3], 22), NETSEG_VERDICT_DENY,
	       "... in every namespace");
	is_int(verdict(&out, out.ep_ids[0], out.ep_ids[3], 80), NETSEG_VERDICT_ALLOW,
	       "... other ports still allowed by the policy");
	is_int(verdict(&out, out.ep_ids[5], out.ep_ids[3], 22), NETSEG_VERDICT_ALLOW,
	       "... and other pods still allowed on 22");
	is_int(pod_copies(&out, 2), 2, "2 copies of the deny: web x, web y");
	netseg_k8s_compiled_free(&out);

	/* The first web pod's labels change: it no longer matches. */
	netseg_labels_free(&c.labels[0]);
	netseg_labels_init(&c.labels[0]);
	netseg_labels_parse("app=web,tier=back", &c.labels[0], &err);
	if (!is_int(netseg_k8s_compile(&in, &out, &err), 0, "recompiled after a relabel"))
		goto out;
	ok(out.ep_ids[0] != out.ep_ids[1], "the relabelled pod has an identity of its own");
	is_int(verdict(&out, out.ep_ids[0], out.ep_ids[3], 22), NETSEG_VERDICT_ALLOW,
	       "... which the deny no longer covers (the policy allows it)");
	is_int(verdict(&out, out.ep_ids[1], out.ep_ids[3], 22), NETSEG_VERDICT_DENY,
	       "... while the other web pod of namespace x is still denied");
	ok(!names_pod(&out, 1, out.ep_ids[0]) && !names_pod(&out, 2, out.ep_ids[0]) &&
		   names_pod(&out, 1, out.ep_ids[1]) && names_pod(&out, 2, out.ep_ids[1]),
	   "... no copy of the allow or the deny names the relabelled pod, both the other");
	is_int(pod_copies(&out, 1), 5, "... still 5 copies of the allow");
	is_int(pod_copies(&out, 2), 2, "... and 2 of the deny");
	netseg_k8s_compiled_free(&out);
out:
	netseg_labelsel_free(&web_sel);
	netseg_labelsel_free(&db_sel);
	netseg_k8s_objects_free(&o);
	cluster_free(&c);
	alloc_free(&al);
}

/* 60 label sets in 3 namespaces, 1000 pods, 30 policies: the sizes a node
 * sees; compiled (rules and map entries) within a few seconds. */
static void test_size(void)
{
	enum { NPOD = 1000, NSETS = 60 };
	static struct netseg_labels labels[NSETS];
	static struct netseg_k8s_addr addrs[NPOD];
	static struct netseg_k8s_endpoint eps[NPOD];
	static const char *const nss[] = { "x", "y", "z" };
	struct alloc al = { .fail_at = -1 };
	struct netseg_k8s_objects o;
	struct netseg_k8s_compiled out;
	struct netseg_policy pol = { 0 };
	struct netseg_resolver res;
	struct netseg_err err;
	struct netseg_k8s_input in = { .objs = &o,
				       .alloc = alloc_cb,
				       .alloc_ctx = &al,
				       .first_rule_id = 100 };
	struct timespec t0, t1;
	char buf[65536], l[64];
	size_t i, n = 0;
	double ms;

	for (i = 0; i < NSETS; i++) {
		netseg_labels_init(&labels[i]);
		snprintf(l, sizeof(l), "app=app%zu,tier=t%zu", i, i % 4);
		netseg_labels_parse(l, &labels[i], &err);
	}
	for (i = 0; i < NPOD; i++) {
		addrs[i].family = AF_INET;
		addrs[i].addr[0] = 198;
		addrs[i].addr[1] = 18;
		addrs[i].addr[2] = (__u8)(10 + i / 250);
		addrs[i].addr[3] = (__u8)(1 + i % 250);
		eps[i] = (struct netseg_k8s_endpoint){ .ns = nss[(i % NSETS) % 3],
						       .name = "p",
						       .labels = &labels[i % NSETS],
						       .addrs = &addrs[i],
						       .naddrs = 1 };
	}
	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(
			buf + n, sizeof(buf) - n,
			NP("%s",
			   "p%zu") "  podSelector: {matchLabels: {app: app%zu}}\n"
				   "  ingress:\n  - from:\n    - podSelector: {matchLabels: {tier: t%zu}}\n"
				   "      namespaceSelector: {}\n    ports: [{port: 8080}, {protocol: UDP, port: 53}]\n"
				   "  egress:\n  - to:\n    - ipBlock: {cidr: 198.18.0.0/16}\n---\n",
			i, nss[(i * 2) % 3], i * 2, i % 4);
	load(buf, &o);
	in.eps = eps;
	in.neps = NPOD;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!is_int(netseg_k8s_compile(&in, &out, &err), 0,
		    "1000 pods, 60 label sets, 30 policies compile"))
		goto out;
	netseg_k8s_resolver(&no_names, &res);
	is_int(netseg_compile(out.rules.rules, out.rules.n, &res, 0, &pol, &err), 0,
	       "and their %zu rules become map entries", out.rules.n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	ok(al.n == NSETS + 1, "one identity per (namespace, label set), plus the block: %d", al.n);
	ok(ms < 10000, "in %.0f ms: %zu rules, %zu entries", ms, out.rules.n, pol.n);
	netseg_policy_free(&pol);
	netseg_k8s_compiled_free(&out);
out:
	netseg_k8s_objects_free(&o);
	for (i = 0; i < NSETS; i++)
		netseg_labels_free(&labels[i]);
	alloc_free(&al);
}

int main(void)
{
	test_errors();
	test_v6_and_dual_stack();
	test_stable();
	test_selector_natives();
	test_size();
	return tap_done();
}
