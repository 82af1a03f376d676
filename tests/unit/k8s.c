// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kubernetes import: every field of a fixture lands in the right place,
 * the apiserver's defaults are applied, every refusal names file:line:col
 * and what was expected, printed YAML imports back to the same objects,
 * and the reference model gives the classic NetworkPolicy answers.
 */
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "tap.h"

static char *fixture(const char *name)
{
	static char path[512];
	char src[] = __FILE__;

	snprintf(path, sizeof(path), "%s/fixtures/k8s/%s", dirname(src), name);
	return path;
}

static int load(const char *text, struct netseg_k8s_objects *o, struct netseg_errlist *errs)
{
	netseg_k8s_objects_init(o);
	memset(errs, 0, sizeof(*errs));
	return netseg_k8s_load_buf("t.yaml", text, strlen(text), o, errs);
}

static char *sel_text(const struct netseg_labelsel *s)
{
	static char buf[256];
	char *t;

	netseg_labelsel_format(s, &t);
	snprintf(buf, sizeof(buf), "%s", t);
	free(t);
	return buf;
}

static void test_full(void)
{
	struct netseg_k8s_objects o;
	struct netseg_errlist errs = { 0 };
	const struct netseg_k8s_policy *p;
	const struct netseg_k8s_rule *r;
	char *t;

	netseg_k8s_objects_init(&o);
	if (!is_int(netseg_k8s_load_file(fixture("full.yaml"), &o, &errs), 0,
		    "full.yaml imports")) {
		for (size_t i = 0; i < errs.n; i++)
			diag("%s", errs.msgs[i]);
		bail("can't go on without the fixture");
	}
	is_int(o.nnamespaces, 1, "one namespace");
	is_int(o.npolicies, 2, "two policies (empty document skipped)");
	netseg_labels_format(&o.namespaces[0].labels, &t);
	is_str(t, "kubernetes.io/metadata.name=prod,team=payments,tier=1",
	       "namespace labels with the implicit name label");
	free(t);
	p = &o.policies[0];
	is_str(p->ns, "prod", "namespace");
	is_str(p->name, "web-policy", "name");
	is_str(netseg_labels_get(&p->labels, "owner"), "sec", "policy labels");
	is_str(sel_text(&p->pod_sel), "app=web,track notin (beta,canary)",
	       "podSelector: matchLabels and matchExpressions, values sorted and unique");
	is_int(p->types, NETSEG_K8S_INGRESS | NETSEG_K8S_EGRESS, "policyTypes");
	is_int(p->ningress, 2, "two ingress rules");
	r = &p->ingress[0];
	is_int(r->npeers, 4, "four peers");
	ok(r->peers[0].has_pod_sel && !r->peers[0].has_ns_sel, "podSelector alone");
	ok(r->peers[1].has_pod_sel && r->peers[1].has_ns_sel, "both selectors");
	is_str(sel_text(&r->peers[1].pod_sel), "role", "Exists expression");
	ok(!r->peers[2].has_pod_sel && r->peers[2].has_ns_sel &&
		   netseg_labelsel_empty(&r->peers[2].ns_sel),
	   "empty namespaceSelector kept as set");
	ok(r->peers[3].has_ipblock && r->peers[3].cidr.plen == 16 && r->peers[3].nexcept == 2 &&
		   r->peers[3].except[1].addr[2] == 2,
	   "ipBlock with except");
	is_int(r->nports, 4, "four ports");
	ok(r->ports[0].proto == IPPROTO_TCP && r->ports[0].port == 80 && !r->ports[0].end_port,
	   "TCP 80");
	ok(r->ports[1].proto == IPPROTO_TCP && r->ports[1].port == 8000 &&
		   r->ports[1].end_port == 8080,
	   "protocol defaults to TCP; endPort");
	ok(r->ports[2].proto == IPPROTO_SCTP && !r->ports[2].port, "SCTP, every port");
	ok(r->ports[3].proto == IPPROTO_UDP && r->ports[3].port == 53, "UDP 53");
	ok(!p->ingress[1].npeers && !p->ingress[1].nports, "empty rule: every peer, every port");
	ok(p->negress == 1 && p->egress[0].peers[0].cidr.family == AF_INET6, "IPv6 ipBlock");
	p = &o.policies[1];
	is_str(p->ns, "default", "namespace defaults to default");
	is_int(p->types, NETSEG_K8S_INGRESS, "policyTypes default to Ingress");
	ok(netseg_labelsel_empty(&p->pod_sel), "podSelector {} selects all");
	netseg_k8s_objects_free(&o);
	netseg_errlist_free(&errs);
}

static void test_defaults(void)
{
	struct netseg_k8s_objects o;
	struct netseg_errlist errs;

	load("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	     "metadata: {name: a}\nspec:\n  podSelector: {}\n  egress: [{}]\n",
	     &o, &errs);
	is_int(o.npolicies ? (int)o.policies[0].types : -1, NETSEG_K8S_INGRESS | NETSEG_K8S_EGRESS,
	       "egress rules add Egress to the default");
	netseg_k8s_objects_free(&o);
	load("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	     "metadata: {name: a}\nspec:\n  podSelector: {}\n  egress: []\n  policyTypes: []\n",
	     &o, &errs);
	is_int(o.npolicies ? (int)o.policies[0].types : -1, NETSEG_K8S_INGRESS,
	       "empty egress and policyTypes: Ingress only");
	netseg_k8s_objects_free(&o);
	load("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
	     "metadata: {name: a}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n",
	     &o, &errs);
	is_int(o.npolicies ? (int)o.policies[0].types : -1, NETSEG_K8S_EGRESS,
	       "explicit Egress only");
	netseg_k8s_objects_free(&o);
}

#define NP \
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  podSelector: {}\n"
#define ING NP "  ingress:\n  - ports:\n    - "

struct bad {
	const char *yaml, *msg;
};

static const struct bad bad[] = {
	{ "a: [1, 2\n",
	  "t.yaml:2:1: bad YAML: did not find expected ',' or ']' while parsing a flow sequence" },
	{ "kind: Pod\napiVersion: v1\n",
	  "t.yaml:1:7: unknown kind \"Pod\" (expected NetworkPolicy or Namespace)" },
	{ "apiVersion: v1\n", "t.yaml:1:1: missing kind (expected NetworkPolicy or Namespace)" },
	{ "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1beta1\n",
	  "t.yaml:2:13: apiVersion \"networking.k8s.io/v1beta1\" is not supported for NetworkPolicy (expected networking.k8s.io/v1)" },
	{ "kind: Namespace\napiVersion: v2\nmetadata: {name: a}\n",
	  "t.yaml:2:13: apiVersion \"v2\" is not supported for Namespace (expected v1)" },
	{ "kind: Namespace\napiVersion: v1\nmetadata: {}\n", "t.yaml:3:11: missing metadata.name" },
	{ "kind: Namespace\napiVersion: v1\n", "t.yaml:1:1: missing metadata.name" },
	{ "kind: Namespace\napiVersion: v1\nmetadata: {name: a, namespace: b}\n",
	  "t.yaml:3:21: unknown field \"namespace\" in metadata (expected name, labels or annotations)" },
	{ "kind: Namespace\napiVersion: v1\nmetadata: {name: Prod}\n",
	  "t.yaml:3:18: metadata.name \"Prod\" must be a DNS label (at most 63 characters): lower-case letters, digits and '-', starting and ending with a letter or digit" },
	{ "kind: Namespace\napiVersion: v1\nmetadata:\n  name: a\n  labels: {kubernetes.io/metadata.name: b}\n",
	  "t.yaml:5:11: label kubernetes.io/metadata.name of namespace a must be its name, not \"b\"" },
	{ "kind: Namespace\napiVersion: v1\nmetadata:\n  name: a\n  labels: {v: 1}\n",
	  "t.yaml:5:15: expected a string for metadata.labels, found a number (quote it)" },
	{ "kind: Namespace\napiVersion: v1\nmetadata:\n  name: a\n  labels: {v: yes}\n",
	  "t.yaml:5:15: expected a string for metadata.labels, found a boolean (quote it)" },
	{ "kind: Namespace\napiVersion: v1\nmetadata:\n  name: a\n  labels: {-x: z}\n",
	  "t.yaml:5:12: metadata.labels: label key \"-x\": name must be 1-63 characters of [A-Za-z0-9._-] starting and ending with a letter or digit" },
	{ "kind: Namespace\napiVersion: v1\nmetadata: {name: a}\nspec: {finalizers: [kubernetes]}\n",
	  "t.yaml:4:1: unknown field \"spec\" in Namespace (netseg keeps only metadata.name and metadata.labels)" },
	{ NP "status: {}\n",
	  "t.yaml:8:1: unknown field \"status\" in the document (expected apiVersion, kind, metadata or spec)" },
	{ NP "  podSelectr: {}\n",
	  "t.yaml:8:3: unknown field \"podSelectr\" in spec (expected podSelector, policyTypes, ingress or egress)" },
	{ "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec: {}\n",
	  "t.yaml:4:7: spec.podSelector is required in policy default/a (use {} to select every pod of the namespace)" },
	{ "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a}\n",
	  "t.yaml:1:1: missing spec in policy default/a" },
	{ NP "  policyTypes: [Ingres]\n",
	  "t.yaml:8:17: unknown policy type \"Ingres\" in spec.policyTypes (expected Ingress or Egress)" },
	{ NP "  policyTypes: [Egress, Egress]\n",
	  "t.yaml:8:25: policy type Egress given twice in spec.policyTypes" },
	{ NP "  podSelector: {}\n", "t.yaml:8:3: field podSelector given twice in spec" },
	{ NP "  podSelector: {matchExpressions: [{key: a, operator: In}]}\n",
	  "t.yaml:8:3: field podSelector given twice in spec" },
	{ NP "  ingress: {from: []}\n",
	  "t.yaml:8:12: expected a list for spec.ingress, found a mapping" },
	{ ING "port: http\n",
	  "t.yaml:10:13: named port 'http' in policy prod/web: container port names are not known to netseg; use a number" },
	{ ING "port: \"80\"\n",
	  "t.yaml:10:13: named port '80' in policy prod/web: container port names are not known to netseg; use a number" },
	{ ING "port: 70000\n",
	  "t.yaml:10:13: spec.ingress[0].ports[0].port 70000 out of range 1-65535" },
	{ ING "port: 0\n", "t.yaml:10:13: spec.ingress[0].ports[0].port 0 out of range 1-65535" },
	{ ING "{port: 90, endPort: 80}\n",
	  "t.yaml:10:27: spec.ingress[0].ports[0].endPort 80 is less than port 90" },
	{ ING "{endPort: 80}\n", "t.yaml:10:17: spec.ingress[0].ports[0].endPort needs port" },
	{ ING "{protocol: tcp}\n",
	  "t.yaml:10:18: unknown protocol \"tcp\" in spec.ingress[0].ports[0] (expected TCP, UDP or SCTP)" },
	{ ING "{protocol: ICMP}\n",
	  "t.yaml:10:18: unknown protocol \"ICMP\" in spec.ingress[0].ports[0] (expected TCP, UDP or SCTP)" },
	{ NP "  ingress:\n  - from:\n    - {}\n",
	  "t.yaml:10:7: spec.ingress[0].from[0] must specify a peer: podSelector, namespaceSelector or ipBlock" },
	{ NP "  ingress:\n  - from:\n    - {podSelector: {}, ipBlock: {cidr: 198.18.0.0/16}}\n",
	  "t.yaml:10:7: spec.ingress[0].from[0]: ipBlock can't be combined with podSelector or namespaceSelector in one peer" },
	{ NP "  egress:\n  - to:\n    - ipBlock: {cidr: 198.18.0.0/16, except: [198.19.0.0/24]}\n",
	  "t.yaml:10:47: spec.egress[0].to[0].ipBlock.except[0] 198.19.0.0/24 is not inside cidr 198.18.0.0/16" },
	{ NP "  egress:\n  - to:\n    - ipBlock: {cidr: 198.18.0.0/16, except: [198.18.0.0/16]}\n",
	  "t.yaml:10:47: spec.egress[0].to[0].ipBlock.except[0] 198.18.0.0/16 is not inside cidr 198.18.0.0/16" },
	{ NP "  egress:\n  - to:\n    - ipBlock: {cidr: 198.18.0.0}\n",
	  "t.yaml:10:23: spec.egress[0].to[0].ipBlock.cidr \"198.18.0.0\": expected \"/\" and a prefix length after 198.18.0.0" },
	{ NP "  egress:\n  - to:\n    - ipBlock: {cidr: 198.18.0.0/33}\n",
	  "t.yaml:10:23: spec.egress[0].to[0].ipBlock.cidr \"198.18.0.0/33\": prefix length 33 out of range 0-32" },
	{ NP "  egress:\n  - to:\n    - ipBlock: {cidr: 198.18.1.0/16}\n",
	  "t.yaml:10:23: spec.egress[0].to[0].ipBlock.cidr \"198.18.1.0/16\": host bits set in 198.18.1.0/16; did you mean 198.18.0.0/16?" },
	{ NP "  egress:\n  - to:\n    - ipBlock: {except: [198.18.0.0/24]}\n",
	  "t.yaml:10:16: spec.egress[0].to[0].ipBlock needs a cidr" },
	{ NP
	  "  egress:\n  - to:\n    - podSelector: {matchExpressions: [{key: a, operator: In}]}\n",
	  "t.yaml:10:40: spec.egress[0].to[0].podSelector.matchExpressions[0]: operator In on key \"a\" needs at least one value" },
	{ NP
	  "  egress:\n  - to:\n    - podSelector: {matchExpressions: [{key: a, operator: Gt, values: [\"1\"]}]}\n",
	  "t.yaml:10:59: unknown operator \"Gt\" in spec.egress[0].to[0].podSelector.matchExpressions[0] (expected In, NotIn, Exists or DoesNotExist)" },
	{ NP "  egress:\n  - too: []\n",
	  "t.yaml:9:5: unknown field \"too\" in spec.egress[0] (expected to or ports)" },
	{ NP "---\n" NP, "t.yaml:9:1: policy prod/web defined twice (first at line 1)" },
	{ "kind: Namespace\napiVersion: v1\nmetadata: {name: a}\n---\nkind: Namespace\napiVersion: v1\nmetadata: {name: a}\n",
	  "t.yaml:5:1: namespace a defined twice (first at line 1)" },
	{ "- a\n", "t.yaml:1:1: expected a mapping for the document, found a list" },
};

static void test_bad(void)
{
	struct netseg_k8s_objects o;
	struct netseg_errlist errs;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!is_int(load(bad[i].yaml, &o, &errs), -EINVAL, "refused: %s", bad[i].msg))
			goto next;
		ok(!o.npolicies && !o.nnamespaces, "nothing imported");
		if (!is_str(errs.n ? errs.msgs[0] : "(no message)", bad[i].msg, "message"))
			for (size_t j = 1; j < errs.n; j++)
				diag("also: %s", errs.msgs[j]);
next:
		netseg_k8s_objects_free(&o);
		netseg_errlist_free(&errs);
	}
}

/* Everything that's wrong in a file is reported, not just the first. */
static void test_all_errors(void)
{
	struct netseg_k8s_objects o;
	struct netseg_errlist errs;

	load(NP "  foo: 1\n  bar: 2\n---\nkind: Pod\n", &o, &errs);
	is_int(errs.n, 3, "three problems reported");
	netseg_k8s_objects_free(&o);
	netseg_errlist_free(&errs);
}

static char *print(const struct netseg_k8s_objects *o, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		bail("open_memstream");
	if (json ? netseg_k8s_print_json(f, o) : netseg_k8s_print_yaml(f, o))
		bail("print failed");
	fclose(f);
	return buf;
}

static void test_round_trip(void)
{
	struct netseg_k8s_objects a, b;
	struct netseg_errlist errs = { 0 };
	char *y1, *y2, *j;
	size_t i;

	netseg_k8s_objects_init(&a);
	netseg_k8s_objects_init(&b);
	if (netseg_k8s_load_file(fixture("full.yaml"), &a, &errs))
		bail("full.yaml doesn't import");
	y1 = print(&a, false);
	if (!is_int(netseg_k8s_load_buf("printed", y1, strlen(y1), &b, &errs), 0,
		    "printed YAML imports again")) {
		for (i = 0; i < errs.n; i++)
			diag("%s", errs.msgs[i]);
		diag("%s", y1);
	}
	ok(a.npolicies == b.npolicies && a.nnamespaces == b.nnamespaces, "same counts");
	for (i = 0; i < a.npolicies && i < b.npolicies; i++)
		ok(netseg_k8s_policy_same(&a.policies[i], &b.policies[i]),
		   "policy %s the same after the round trip", a.policies[i].name);
	ok(b.nnamespaces && netseg_labels_same(&a.namespaces[0].labels, &b.namespaces[0].labels),
	   "namespace labels the same");
	y2 = print(&b, false);
	is_str(y2, y1, "printing is stable");
	ok(strstr(y1, "tier: \"1\"") != NULL, "a numeric-looking label value is quoted");
	ok(strstr(y1, "policyTypes:\n  - Ingress\n") != NULL, "defaults written out");
	j = print(&a, true);
	ok(strstr(j, "\"kind\":\t\"List\"") && strstr(j, "\"endPort\":\t8080") &&
		   strstr(j, "\"cidr\":\t\"fd00:1::/64\""),
	   "JSON holds the objects");
	free(y1);
	free(y2);
	free(j);
	netseg_k8s_objects_free(&a);
	netseg_k8s_objects_free(&b);
	netseg_errlist_free(&errs);
}

/* --- the set in force: copy, merge, remove (k8s_objs.c) --- */

static void load_ok(const char *text, struct netseg_k8s_objects *o)
{
	struct netseg_errlist errs;

	if (load(text, o, &errs)) {
		for (size_t i = 0; i < errs.n; i++)
			diag("%s", errs.msgs[i]);
		bail("a fixture of the merge tests doesn't import");
	}
	netseg_errlist_free(&errs);
}

/* The copy holds the same objects and shares no memory with the
 * original: freed first, the original must leave the copy intact (ASan
 * and valgrind see a use after free if anything was shared). */
static void test_copy(void)
{
	struct netseg_k8s_objects a, b, e;
	struct netseg_errlist errs = { 0 };
	char *ya, *yb;
	size_t i;

	netseg_k8s_objects_init(&a);
	if (netseg_k8s_load_file(fixture("full.yaml"), &a, &errs))
		bail("full.yaml doesn't import");
	a.policies[1].revision = 7;
	a.namespaces[0].revision = 9;
	if (!is_int(netseg_k8s_objects_copy(&b, &a), 0, "copy"))
		bail("can't go on without the copy");
	ok(a.npolicies == b.npolicies && a.nnamespaces == b.nnamespaces, "copy: same counts");
	for (i = 0; i < a.npolicies; i++)
		ok(netseg_k8s_policy_same(&a.policies[i], &b.policies[i]) &&
			   a.policies[i].line == b.policies[i].line &&
			   a.policies[i].revision == b.policies[i].revision,
		   "copy: policy %s the same, line and revision too", a.policies[i].name);
	ok(netseg_k8s_namespace_same(&a.namespaces[0], &b.namespaces[0]) &&
		   b.namespaces[0].revision == 9,
	   "copy: namespace the same, revision too");
	ok(b.policies[0].ingress[0].peers[3].except != a.policies[0].ingress[0].peers[3].except &&
		   b.policies[0].ingress[0].ports != a.policies[0].ingress[0].ports &&
		   b.policies[0].name != a.policies[0].name,
	   "copy: its own memory");
	ya = print(&a, false);
	netseg_k8s_objects_free(&a);
	yb = print(&b, false);
	is_str(yb, ya, "copy: prints as the original did, after the original is freed");
	netseg_k8s_objects_init(&e);
	netseg_k8s_objects_free(&b);
	is_int(netseg_k8s_objects_copy(&b, &e), 0, "copy of an empty set");
	ok(!b.npolicies && !b.nnamespaces, "is empty");
	netseg_k8s_objects_free(&b);
	free(ya);
	free(yb);
	netseg_errlist_free(&errs);
}

#define MNS(name, labels) \
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: " name ", labels: {" labels "}}\n---\n"
#define MPOL(ns, name, port)                                                                \
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " name     \
	", namespace: " ns "}\nspec:\n  podSelector: {}\n  ingress: [{ports: [{port: " port \
	"}]}]\n---\n"

static void test_merge(void)
{
	struct netseg_k8s_objects o, add;
	enum netseg_k8s_change pc[4], nc[3];

	load_ok(MNS("nx", "a: \"1\"") MNS("ny", "") MPOL("nx", "p1", "80") MPOL("nx", "p2", "81")
			MPOL("ny", "p1", "82"),
		&o);
	o.policies[1].revision = 5;
	o.namespaces[1].revision = 6;
	load_ok(MPOL("nx", "p2", "81") MPOL("nx", "p1", "8080") MPOL("nz", "p1", "83")
			MPOL("nx", "p3", "84") MNS("ny", "") MNS("nx", "a: \"2\"") MNS("nz", ""),
		&add);
	if (!is_int(netseg_k8s_objects_merge(&o, &add, pc, nc), 0, "merge"))
		bail("can't go on without the merge");
	ok(!add.npolicies && !add.nnamespaces && !add.policies, "merge: the added set is emptied");
	is_str(netseg_k8s_change_name(pc[0]), "unchanged", "nx/p2 as it was: unchanged");
	is_str(netseg_k8s_change_name(pc[1]), "configured", "nx/p1 with another port: configured");
	is_str(netseg_k8s_change_name(pc[2]), "created", "nz/p1 (ny/p1 exists): created");
	is_str(netseg_k8s_change_name(pc[3]), "created", "nx/p3: created");
	is_str(netseg_k8s_change_name(nc[0]), "unchanged", "namespace ny: unchanged");
	is_str(netseg_k8s_change_name(nc[1]), "configured",
	       "namespace nx, other labels: configured");
	is_str(netseg_k8s_change_name(nc[2]), "created", "namespace nz: created");
	is_int(o.npolicies, 5, "five policies");
	ok(!strcmp(o.policies[0].name, "p1") && !strcmp(o.policies[0].ns, "nx") &&
		   o.policies[0].ingress[0].ports[0].port == 8080,
	   "a configured policy replaces the old one in its place");
	is_int(o.policies[1].revision, 5, "an unchanged policy keeps its revision");
	ok(!strcmp(o.policies[3].ns, "nz") && !strcmp(o.policies[4].name, "p3"),
	   "created policies are appended in file order");
	is_int(o.nnamespaces, 3, "three namespaces");
	is_str(netseg_labels_get(&o.namespaces[0].labels, "a"), "2", "namespace nx configured");
	is_int(o.namespaces[1].revision, 6, "an unchanged namespace keeps its revision");

	/* remove */
	is_int(netseg_k8s_objects_find(&o, NETSEG_K8S_POLICY, "ny", "p1"), 2, "find ny/p1");
	is_int(netseg_k8s_objects_find(&o, NETSEG_K8S_POLICY, "nw", "p1"), -1, "find nw/p1: none");
	is_int(netseg_k8s_objects_remove(&o, NETSEG_K8S_POLICY, "nx", "p2"), 0, "remove nx/p2");
	ok(o.npolicies == 4 && !strcmp(o.policies[1].ns, "ny") && !strcmp(o.policies[3].name, "p3"),
	   "the others keep their order");
	is_int(netseg_k8s_objects_remove(&o, NETSEG_K8S_POLICY, "nx", "p2"), -ENOENT,
	       "remove nx/p2 again: -ENOENT");
	is_int(netseg_k8s_objects_remove(&o, NETSEG_K8S_NAMESPACE, NULL, "nx"), 0,
	       "remove namespace nx");
	ok(o.nnamespaces == 2 && !strcmp(o.namespaces[0].name, "ny") && o.npolicies == 4,
	   "namespace nx gone; its policies stay (they are objects of their own)");
	is_int(netseg_k8s_objects_remove(&o, NETSEG_K8S_NAMESPACE, NULL, "p1"), -ENOENT,
	       "a namespace is not found by a policy's name");
	while (o.npolicies)
		netseg_k8s_objects_remove(&o, NETSEG_K8S_POLICY, o.policies[0].ns,
					  o.policies[0].name);
	is_int(o.npolicies, 0, "every policy removed");
	netseg_k8s_objects_free(&o);
	netseg_k8s_objects_free(&add);
}

static int test_eval(void);

int main(void)
{
	test_full();
	test_defaults();
	test_bad();
	test_all_errors();
	test_round_trip();
	test_copy();
	test_merge();
	test_eval();
	return tap_done();
}

/* --- the reference model --- */

#define NSES                                                                                       \
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {team: payments}}\n---\n" \
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: dev, labels: {team: dev}}\n---\n"
#define POL(ns, name)                                                                   \
	"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " name \
	", namespace: " ns "}\nspec:\n"

struct pod_def {
	const char *ns, *name, *labels, *ip;
};

static const struct pod_def pod_defs[] = {
	{ "prod", "web", "app=web", "198.18.0.10" },
	{ "prod", "db", "app=db", "198.18.0.20" },
	{ "prod", "client", "app=client", "198.18.0.30" },
	{ "dev", "client", "app=client", "198.18.1.30" },
	{ "dev", "tool", "app=tool", "198.18.1.40" },
	{ "other", "x", "app=x", "198.18.2.10" },
};

/* An end: "ns/name" for a pod, an address for the outside. */
struct eval_row {
	const char *what, *policies, *src, *dst;
	__u8 proto;
	__u16 port;
	bool want;
};

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP

static const char deny_ingress[] = POL("prod",
				       "deny") "  podSelector: {}\n  policyTypes: [Ingress]\n";
static const char same_ns[] =
	POL("prod", "same-ns") "  podSelector: {}\n  ingress:\n  - from:\n    - podSelector: {}\n";
static const char and_sel[] = POL(
	"prod",
	"and") "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n"
	       "    - namespaceSelector: {matchLabels: {team: dev}}\n      podSelector: {matchLabels: {app: client}}\n";
static const char or_sel[] = POL(
	"prod",
	"or") "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n"
	      "    - namespaceSelector: {matchLabels: {team: dev}}\n    - podSelector: {matchLabels: {app: client}}\n";
static const char ipblock[] =
	POL("prod", "ipb") "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from:\n"
			   "    - ipBlock: {cidr: 198.18.0.0/15, except: [198.18.1.0/24]}\n";
static const char egress_only[] = POL(
	"prod",
	"egress") "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n"
		  "  egress:\n  - to:\n    - podSelector: {matchLabels: {app: web}}\n    ports: [{port: 443}]\n";
static const char ports[] = POL(
	"prod",
	"ports") "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - ports:\n"
		 "    - {port: 8000, endPort: 8080}\n    - {protocol: UDP, port: 53}\n    - {protocol: SCTP, port: 9}\n";
static const char union2[] = POL(
	"prod",
	"a") "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [podSelector: {matchLabels: {app: web}}]\n"
	     "---\n" POL(
		     "prod",
		     "b") "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [podSelector: {matchLabels: {app: client}}]\n    ports: [{port: 5432}]\n";
static const char types_default[] = POL(
	"prod",
	"eg") "  podSelector: {matchLabels: {app: web}}\n  egress:\n  - to: [ipBlock: {cidr: 198.19.0.0/24}]\n";
static const char ingress_type_only[] =
	POL("prod", "ing") "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n"
			   "  egress:\n  - to: [ipBlock: {cidr: 198.19.0.0/24}]\n";
static const char allow_all[] =
	POL("prod", "deny") "  podSelector: {}\n  policyTypes: [Ingress]\n---\n" POL(
		"prod", "all") "  podSelector: {}\n  ingress: [{}]\n";
static const char ns_all[] = POL(
	"prod",
	"nsall") "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [namespaceSelector: {}]\n";
static const char ns_name[] = POL(
	"prod",
	"nsname") "  podSelector: {matchLabels: {app: db}}\n  ingress:\n"
		  "  - from: [namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}]\n";
static const char deny_egress[] = POL("prod",
				      "deny-eg") "  podSelector: {}\n  policyTypes: [Egress]\n";
static const char dev_policy[] = POL("dev", "dev-deny") "  podSelector: {}\n";

static const struct eval_row eval_rows[] = {
	{ "no policy: everything allowed", "", "dev/tool", "prod/db", TCP, 5432, true },
	{ "no policy: from outside too", "", "198.19.0.5", "prod/db", UDP, 53, true },
	{ "deny-all ingress blocks pods", deny_ingress, "prod/client", "prod/web", TCP, 80, false },
	{ "deny-all ingress blocks the outside", deny_ingress, "198.19.0.5", "prod/web", TCP, 80,
	  false },
	{ "deny-all ingress leaves egress open", deny_ingress, "prod/web", "dev/tool", TCP, 80,
	  true },
	{ "deny-all ingress doesn't reach another namespace", deny_ingress, "prod/web", "dev/tool",
	  TCP, 80, true },
	{ "same namespace allowed", same_ns, "prod/client", "prod/web", TCP, 80, true },
	{ "other namespace refused", same_ns, "dev/client", "prod/web", TCP, 80, false },
	{ "outside refused (podSelector never matches an address)", same_ns, "198.19.0.5",
	  "prod/web", TCP, 80, false },
	{ "AND: client in dev allowed", and_sel, "dev/client", "prod/db", TCP, 5432, true },
	{ "AND: other pod in dev refused", and_sel, "dev/tool", "prod/db", TCP, 5432, false },
	{ "AND: client in prod refused", and_sel, "prod/client", "prod/db", TCP, 5432, false },
	{ "OR: any pod in dev allowed", or_sel, "dev/tool", "prod/db", TCP, 5432, true },
	{ "OR: client in prod allowed", or_sel, "prod/client", "prod/db", TCP, 5432, true },
	{ "OR: podSelector alone is the policy's namespace only", or_sel, "dev/client", "prod/db",
	  TCP, 5432, true },
	{ "OR: web in prod refused", or_sel, "prod/web", "prod/db", TCP, 5432, false },
	{ "ipBlock: outside address inside cidr", ipblock, "198.19.0.5", "prod/web", TCP, 80,
	  true },
	{ "ipBlock: matches pod IPs too", ipblock, "prod/client", "prod/web", TCP, 80, true },
	{ "ipBlock: except subtracts", ipblock, "dev/client", "prod/web", TCP, 80, false },
	{ "ipBlock: outside the cidr", ipblock, "198.20.0.1", "prod/web", TCP, 80, false },
	{ "ipBlock: other family", ipblock, "fd00::1", "prod/web", TCP, 80, false },
	{ "egress only: allowed destination and port", egress_only, "prod/client", "prod/web", TCP,
	  443, true },
	{ "egress only: wrong port", egress_only, "prod/client", "prod/web", TCP, 80, false },
	{ "egress only: wrong destination", egress_only, "prod/client", "prod/db", TCP, 443,
	  false },
	{ "egress only: outside refused", egress_only, "prod/client", "198.19.0.5", TCP, 443,
	  false },
	{ "egress only: ingress to the client stays open", egress_only, "dev/tool", "prod/client",
	  TCP, 80, true },
	{ "egress only: unselected pods unaffected", egress_only, "prod/db", "198.19.0.5", TCP, 443,
	  true },
	{ "ports: endPort low end", ports, "prod/client", "prod/web", TCP, 8000, true },
	{ "ports: endPort high end", ports, "prod/client", "prod/web", TCP, 8080, true },
	{ "ports: past endPort", ports, "prod/client", "prod/web", TCP, 8081, false },
	{ "ports: below port", ports, "prod/client", "prod/web", TCP, 7999, false },
	{ "ports: UDP 53", ports, "prod/client", "prod/web", UDP, 53, true },
	{ "ports: TCP 53 is not UDP 53", ports, "prod/client", "prod/web", TCP, 53, false },
	{ "ports: SCTP 9", ports, "prod/client", "prod/web", SCTP, 9, true },
	{ "ports: TCP 9 is not SCTP 9", ports, "prod/client", "prod/web", TCP, 9, false },
	{ "ports: SCTP 8000 is not TCP 8000", ports, "prod/client", "prod/web", SCTP, 8000, false },
	{ "ports: ICMP needs a rule without ports", ports, "prod/client", "prod/web", IPPROTO_ICMP,
	  0, false },
	{ "union: first policy", union2, "prod/web", "prod/db", TCP, 1, true },
	{ "union: second policy on its port", union2, "prod/client", "prod/db", TCP, 5432, true },
	{ "union: second policy off its port", union2, "prod/client", "prod/db", TCP, 1, false },
	{ "union: neither", union2, "dev/tool", "prod/db", TCP, 5432, false },
	{ "policyTypes default: egress rules isolate egress", types_default, "prod/web", "prod/db",
	  TCP, 80, false },
	{ "policyTypes default: egress rule allows", types_default, "prod/web", "198.19.0.5", TCP,
	  80, true },
	{ "policyTypes default: ingress isolated too, nothing allowed", types_default,
	  "prod/client", "prod/web", TCP, 80, false },
	{ "policyTypes [Ingress]: egress rules ignored", ingress_type_only, "prod/web", "prod/db",
	  TCP, 80, true },
	{ "deny plus allow-all: union allows", allow_all, "dev/tool", "prod/web", UDP, 1, true },
	{ "namespaceSelector {}: every namespace", ns_all, "dev/tool", "prod/db", TCP, 1, true },
	{ "namespaceSelector {}: not the outside", ns_all, "198.19.0.5", "prod/db", TCP, 1, false },
	{ "undeclared namespace has its name label", ns_name, "other/x", "prod/db", TCP, 1, true },
	{ "name label selects only that namespace", ns_name, "dev/tool", "prod/db", TCP, 1, false },
	{ "deny egress blocks, even to a pod open for ingress", deny_egress, "prod/web", "dev/tool",
	  TCP, 80, false },
	{ "both sides needed: dev denies its ingress", dev_policy, "prod/web", "dev/tool", TCP, 80,
	  false },
	{ "policies select their own namespace only", dev_policy, "dev/tool", "prod/web", TCP, 80,
	  true },
};

static void end_of(const char *s, const struct netseg_k8s_pod *pods, struct netseg_k8s_end *e)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < sizeof(pod_defs) / sizeof(pod_defs[0]); i++) {
		char id[64];

		snprintf(id, sizeof(id), "%s/%s", pod_defs[i].ns, pod_defs[i].name);
		if (!strcmp(id, s)) {
			e->pod = &pods[i];
			netseg_k8s_addr_parse(pod_defs[i].ip, &e->ip);
			return;
		}
	}
	if (netseg_k8s_addr_parse(s, &e->ip))
		bail("bad end %s in the table", s);
}

static int test_eval(void)
{
	struct netseg_k8s_pod pods[sizeof(pod_defs) / sizeof(pod_defs[0])];
	struct netseg_k8s_end src, dst;
	struct netseg_k8s_objects o;
	struct netseg_errlist errs;
	struct netseg_err e;
	char text[4096], why[200];
	size_t i;

	for (i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
		pods[i].ns = pod_defs[i].ns;
		pods[i].name = pod_defs[i].name;
		if (netseg_labels_parse(pod_defs[i].labels, &pods[i].labels, &e))
			bail("pod labels: %s", e.msg);
	}
	for (i = 0; i < sizeof(eval_rows) / sizeof(eval_rows[0]); i++) {
		const struct eval_row *r = &eval_rows[i];
		struct netseg_k8s_cluster c = { .objs = &o,
						.pods = pods,
						.npods = sizeof(pods) / sizeof(pods[0]) };
		bool got;

		snprintf(text, sizeof(text), "%s%s", NSES, r->policies);
		if (load(text, &o, &errs))
			bail("policies of \"%s\": %s", r->what, errs.n ? errs.msgs[0] : "?");
		end_of(r->src, pods, &src);
		end_of(r->dst, pods, &dst);
		got = netseg_k8s_allowed(&c, &src, &dst, r->proto, r->port, why, sizeof(why));
		if (!ok(got == r->want, "%s: %s -> %s %u/%u %s", r->what, r->src, r->dst, r->proto,
			r->port, r->want ? "allowed" : "refused"))
			diag("model said: %s", why);
		netseg_k8s_objects_free(&o);
		netseg_errlist_free(&errs);
	}
	for (i = 0; i < sizeof(pods) / sizeof(pods[0]); i++)
		netseg_labels_free(&pods[i].labels);
	return 0;
}
