// SPDX-License-Identifier: GPL-2.0-only
/*
 * netpol-plan: the policies and the expected truth table of each round of
 * tests/e2e/k8s_netpol.t (real traffic between namespaces x, y, z with pods
 * a, b, c, in the style of the upstream netpol e2e suite and cyclonus).
 *
 *   netpol-plan namespaces
 *	The Namespace objects x, y, z (labels ns=x, ...), as YAML.
 *   netpol-plan rounds
 *	How many rounds are written by hand (the generated ones follow).
 *   netpol-plan round PODS SEED N OUTDIR [none]
 *	Round N (1-based): OUTDIR/policy.yaml (its NetworkPolicies, named
 *	rN-pI), OUTDIR/title, and OUTDIR/expect, one cell a line:
 *	"SRC DST ADDR PROTO PORT WANT WHY", SRC a pod or "node", WANT 1
 *	when the model allows the connection.  Rounds past the hand-written
 *	ones are drawn from SEED.  PODS holds "NS/POD ADDR" for the nine
 *	pods, as the CNI chain gave them.  "none" applies no policy (every
 *	cell allowed): the test's harness-only mode.
 *
 * The model is this file's own reading of the Kubernetes documentation:
 * its own selectors, CIDR matching and apiserver defaults.  It shares no
 * code with lib/ (not lib/k8s_eval.c, lib/labels.c or lib/k8s.c), so a
 * misreading there can't hide here.  Its departures from a full cluster
 * are the test bed's: the node (the source of kubelet probes) reaches
 * every pod ("host_to_pods"), and a pod reaches itself over loopback
 * whatever the policies say, as the upstream suite's AllowLoopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "netpol-plan: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* ---------------------------------------------------------------- pods */

enum { NS_X, NS_Y, NS_Z, NNS };
static const char *const ns_name[NNS] = { "x", "y", "z" };

#define NPODS 9 /* x/a x/b x/c y/a ... z/c: ns = i / 3, label pod = 'a' + i % 3 */
enum { XA, XB, XC, YA, YB, YC, ZA, ZB, ZC };

static char pod_name[NPODS][8];
static char pod_addr[NPODS][INET_ADDRSTRLEN];
static uint32_t pod_ip[NPODS]; /* host order */

static int pod_ns(int p)
{
	return p / 3;
}

static char pod_label(int p)
{
	return (char)('a' + p % 3);
}

struct cidr {
	uint32_t net;
	int plen;
};

static bool in_cidr(uint32_t a, struct cidr c)
{
	uint32_t mask = c.plen ? ~0U << (32 - c.plen) : 0;

	return (a & mask) == (c.net & mask);
}

static void cidr_text(struct cidr c, char *buf, size_t n)
{
	struct in_addr a = { .s_addr = htonl(c.net) };
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, s, sizeof(s));
	snprintf(buf, n, "%s/%d", s, c.plen);
}

static struct cidr host32(int p)
{
	return (struct cidr){ pod_ip[p], 32 };
}

/* The /24 a namespace's pods were given (one host-local range each). */
static struct cidr ns24(int ns)
{
	return (struct cidr){ pod_ip[ns * 3] & 0xffffff00, 24 };
}

static void read_pods(const char *path)
{
	char name[32], addr[64];
	bool seen[NPODS] = { 0 };
	struct in_addr a;
	FILE *f = fopen(path, "r");
	int p, ns, i;

	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fscanf(f, "%31s %63s", name, addr) == 2) {
		if (strlen(name) != 3 || name[1] != '/' || name[0] < 'x' || name[0] > 'z' ||
		    name[2] < 'a' || name[2] > 'c')
			die("%s: pod \"%s\" is not one of x/a .. z/c", path, name);
		p = (name[0] - 'x') * 3 + (name[2] - 'a');
		if (seen[p])
			die("%s: pod %s twice", path, name);
		if (inet_pton(AF_INET, addr, &a) != 1)
			die("%s: pod %s: \"%s\" is not an IPv4 address", path, name, addr);
		seen[p] = true;
		snprintf(pod_name[p], sizeof(pod_name[p]), "%s", name);
		inet_ntop(AF_INET, &a, pod_addr[p], sizeof(pod_addr[p]));
		pod_ip[p] = ntohl(a.s_addr);
	}
	fclose(f);
	for (p = 0; p < NPODS; p++)
		if (!seen[p])
			die("%s: pod %c/%c missing", path, 'x' + pod_ns(p), pod_label(p));
	/* The ipBlocks below are written for this layout. */
	for (p = 0; p < NPODS; p++) {
		ns = pod_ns(p);
		if (!in_cidr(pod_ip[p], (struct cidr){ 0xc6120000, 16 }))
			die("pod %s: %s is outside 198.18.0.0/16", pod_name[p], pod_addr[p]);
		if (!in_cidr(pod_ip[p], ns24(ns)))
			die("pod %s: %s is not in its namespace's /24", pod_name[p], pod_addr[p]);
		for (i = 0; i < NNS; i++)
			if (i != ns && in_cidr(pod_ip[p], ns24(i)))
				die("namespaces %s and %s share a /24", ns_name[ns], ns_name[i]);
	}
}

/* ------------------------------------------------------- selector menus */

/* Pods carry the one label pod=a|b|c. */
static const char *const podsel_yaml[] = {
	"{}",
	"{matchLabels: {pod: a}}",
	"{matchLabels: {pod: b}}",
	"{matchExpressions: [{key: pod, operator: In, values: [a, c]}]}",
	"{matchExpressions: [{key: pod, operator: NotIn, values: [a]}]}",
	"{matchExpressions: [{key: pod, operator: Exists}]}",
	"{matchExpressions: [{key: pod, operator: DoesNotExist}]}",
	"{matchLabels: {pod: zz}}",
	"{matchLabels: {pod: c}, matchExpressions: [{key: pod, operator: In, values: [b, c]}]}",
	"{matchExpressions: [{key: tier, operator: NotIn, values: [back]}]}",
};
#define NPODSEL (int)(sizeof(podsel_yaml) / sizeof(podsel_yaml[0]))

static bool podsel_match(int s, int p)
{
	char l = pod_label(p);

	switch (s) {
	case 0:
		return true;
	case 1:
		return l == 'a';
	case 2:
		return l == 'b';
	case 3:
		return l == 'a' || l == 'c';
	case 4:
		return l != 'a';
	case 5:
		return true; /* every pod has the key */
	case 6:
	case 7:
		return false;
	case 8:
		return l == 'c';
	case 9:
		return true; /* NotIn matches a pod without the key */
	}
	die("pod selector %d", s);
}

/* Namespaces carry ns=<name> and kubernetes.io/metadata.name=<name>.  The
 * names are quoted: a plain y is a YAML boolean. */
static const char *const nssel_yaml[] = {
	"{}",
	"{matchLabels: {ns: \"y\"}}",
	"{matchLabels: {kubernetes.io/metadata.name: \"z\"}}",
	"{matchExpressions: [{key: ns, operator: In, values: [\"x\", \"y\"]}]}",
	"{matchExpressions: [{key: ns, operator: NotIn, values: [\"x\"]}]}",
	"{matchExpressions: [{key: ns, operator: DoesNotExist}]}",
	"{matchExpressions: [{key: env, operator: DoesNotExist}]}",
};
#define NNSSEL (int)(sizeof(nssel_yaml) / sizeof(nssel_yaml[0]))

static bool nssel_match(int s, int ns)
{
	switch (s) {
	case 0:
		return true;
	case 1:
		return ns == NS_Y;
	case 2:
		return ns == NS_Z;
	case 3:
		return ns == NS_X || ns == NS_Y;
	case 4:
		return ns != NS_X;
	case 5:
		return false;
	case 6:
		return true;
	}
	die("namespace selector %d", s);
}

/* ipBlocks, laid over the addresses the pods were given. */
struct block {
	struct cidr cidr, except[2];
	int nexcept;
};

enum { NBLOCKS = 8 };
static struct block blocks[NBLOCKS];

static void make_blocks(void)
{
	const struct cidr all = { 0xc6120000, 16 }; /* 198.18.0.0/16 */
	const struct block b[NBLOCKS] = {
		{ all, { host32(XA) }, 1 },		       /* every pod but x/a */
		{ ns24(NS_Y), { { 0 } }, 0 },		       /* namespace y's pods */
		{ host32(XB), { { 0 } }, 0 },		       /* x/b alone */
		{ all, { ns24(NS_Z), host32(XC) }, 2 },	       /* x and y but x/c */
		{ ns24(NS_X), { host32(XA), host32(XB) }, 2 }, /* x/c alone */
		{ { 0xc6100000, 12 }, { ns24(NS_Y) }, 1 },     /* 198.16/12: x and z */
		{ { 0xc6130000, 16 }, { { 0 } }, 0 },	       /* 198.19/16: no pod */
		{ ns24(NS_Y), { host32(YA) }, 1 },	       /* y/b and y/c */
	};

	memcpy(blocks, b, sizeof(b));
}

static bool block_match(int b, int p)
{
	int i;

	if (!in_cidr(pod_ip[p], blocks[b].cidr))
		return false;
	for (i = 0; i < blocks[b].nexcept; i++)
		if (in_cidr(pod_ip[p], blocks[b].except[i]))
			return false;
	return true;
}

/* ---------------------------------------------------------- ports, cells */

enum { TCP, UDP, SCTP };
static const char *const proto_name[] = { "tcp", "udp", "sctp" };

struct port {
	const char *yaml;
	int proto;
	int lo, hi; /* lo 0: every port of proto */
};

static const struct port ports[] = {
	{ "{protocol: TCP, port: 80}", TCP, 80, 80 },
	{ "{protocol: UDP, port: 81}", UDP, 81, 81 },
	{ "{protocol: TCP, port: 80, endPort: 81}", TCP, 80, 81 },
	{ "{protocol: UDP}", UDP, 0, 0 },
	{ "{protocol: SCTP, port: 80}", SCTP, 80, 80 },
	{ "{port: 81}", TCP, 81, 81 }, /* protocol defaults to TCP */
	{ "{protocol: TCP, port: 79, endPort: 80}", TCP, 79, 80 },
	{ "{protocol: SCTP}", SCTP, 0, 0 },
	{ "{protocol: UDP, port: 80, endPort: 81}", UDP, 80, 81 },
	{ "{protocol: TCP}", TCP, 0, 0 },
};
#define NPORTS (int)(sizeof(ports) / sizeof(ports[0]))

struct cell {
	int proto, port;
};

/* What the test probes: TCP and UDP, ports 80 and 81. */
static const struct cell cells[] = { { TCP, 80 }, { TCP, 81 }, { UDP, 80 }, { UDP, 81 } };
#define NCELLS (int)(sizeof(cells) / sizeof(cells[0]))

/* ------------------------------------------------------------ policies */

enum { PEER_POD, PEER_NS, PEER_BOTH, PEER_BLOCK };

struct peer {
	int kind, pod, ns, blk;
};

struct rule {
	int npeers, nports;
	struct peer peers[3];
	int ports[2];
};

/* types: 0 omitted, 4 an empty list, else a mask of 1 Ingress, 2 Egress. */
struct pol {
	int ns, podsel, types;
	int ning, neg;
	struct rule ing[3], eg[3];
};

struct round {
	const char *title;
	int npol;
	struct pol pol[4];
};

/* ------------------------------------------------------------- the model */

static unsigned int types_of(const struct pol *p)
{
	if (p->types == 0 || p->types == 4) /* the apiserver's default */
		return 1 | (p->neg ? 2 : 0);
	return (unsigned int)p->types;
}

static bool m_peer(const struct pol *p, const struct peer *g, int x)
{
	switch (g->kind) {
	case PEER_POD:
		return pod_ns(x) == p->ns && podsel_match(g->pod, x);
	case PEER_NS:
		return nssel_match(g->ns, pod_ns(x));
	case PEER_BOTH:
		return nssel_match(g->ns, pod_ns(x)) && podsel_match(g->pod, x);
	}
	return block_match(g->blk, x);
}

static bool m_ports(const struct rule *r, const struct cell *c)
{
	int i;

	if (!r->nports)
		return true;
	for (i = 0; i < r->nports; i++) {
		const struct port *m = &ports[r->ports[i]];

		if (m->proto == c->proto && (!m->lo || (c->port >= m->lo && c->port <= m->hi)))
			return true;
	}
	return false;
}

static bool m_rule(const struct pol *p, const struct rule *r, int x, const struct cell *c)
{
	int i;

	if (!m_ports(r, c))
		return false;
	if (!r->npeers)
		return true;
	for (i = 0; i < r->npeers; i++)
		if (m_peer(p, &r->peers[i], x))
			return true;
	return false;
}

/*
 * One side of a connection: dir 1 = @self's ingress from @other, 2 = its
 * egress to @other.  Says in @why which policy decided.
 */
static bool m_side(int rn, const struct round *rd, int self, int other, unsigned int dir,
		   const struct cell *c, char *why, size_t n)
{
	const char *dname = dir == 1 ? "ingress" : "egress";
	bool isolated = false;
	int i, j;

	for (i = 0; i < rd->npol; i++) {
		const struct pol *p = &rd->pol[i];
		const struct rule *r = dir == 1 ? p->ing : p->eg;

		if (p->ns != pod_ns(self) || !(types_of(p) & dir) || !podsel_match(p->podsel, self))
			continue;
		isolated = true;
		for (j = 0; j < (dir == 1 ? p->ning : p->neg); j++)
			if (m_rule(p, &r[j], other, c)) {
				snprintf(why, n, "%s of %s allowed by r%d-p%d %s[%d]", dname,
					 pod_name[self], rn, i, dname, j);
				return true;
			}
	}
	if (isolated)
		snprintf(why, n, "%s of %s isolated, no rule allows", dname, pod_name[self]);
	else
		snprintf(why, n, "%s of %s not isolated", dname, pod_name[self]);
	return !isolated;
}

/* @s -1 is the node. */
static bool model(int rn, const struct round *rd, int s, int d, const struct cell *c, char *why,
		  size_t n)
{
	char e[128], i[128];

	if (s < 0) {
		snprintf(why, n, "the node reaches its pods (host_to_pods)");
		return true;
	}
	if (s == d) {
		snprintf(why, n, "a pod reaches itself (loopback)");
		return true;
	}
	if (!m_side(rn, rd, s, d, 2, c, e, sizeof(e))) {
		snprintf(why, n, "%s", e);
		return false;
	}
	if (!m_side(rn, rd, d, s, 1, c, i, sizeof(i))) {
		snprintf(why, n, "%s", i);
		return false;
	}
	snprintf(why, n, "%s; %s", e, i);
	return true;
}

/* ------------------------------------------------------------------ YAML */

static void yaml_block(FILE *f, int b)
{
	char s[32];
	int i;

	cidr_text(blocks[b].cidr, s, sizeof(s));
	fprintf(f, "    - ipBlock: {cidr: %s", s);
	for (i = 0; i < blocks[b].nexcept; i++) {
		cidr_text(blocks[b].except[i], s, sizeof(s));
		fprintf(f, "%s%s", i ? ", " : ", except: [", s);
	}
	fprintf(f, "%s}\n", blocks[b].nexcept ? "]" : "");
}

static void yaml_rules(FILE *f, const char *key, const char *peerkey, const struct rule *r, int n)
{
	int i, j;

	fprintf(f, "  %s:\n", key);
	for (i = 0; i < n; i++) {
		if (!r[i].npeers && !r[i].nports) {
			fprintf(f, "  - {}\n");
			continue;
		}
		fprintf(f, "  - ");
		if (r[i].npeers)
			fprintf(f, "%s:\n", peerkey);
		for (j = 0; j < r[i].npeers; j++) {
			const struct peer *g = &r[i].peers[j];

			if (g->kind == PEER_POD || g->kind == PEER_BOTH)
				fprintf(f, "    - podSelector: %s\n", podsel_yaml[g->pod]);
			if (g->kind == PEER_NS)
				fprintf(f, "    - namespaceSelector: %s\n", nssel_yaml[g->ns]);
			if (g->kind == PEER_BOTH)
				fprintf(f, "      namespaceSelector: %s\n", nssel_yaml[g->ns]);
			if (g->kind == PEER_BLOCK)
				yaml_block(f, g->blk);
		}
		if (r[i].nports)
			fprintf(f, "%sports:\n", r[i].npeers ? "    " : "");
		for (j = 0; j < r[i].nports; j++)
			fprintf(f, "    - %s\n", ports[r[i].ports[j]].yaml);
	}
}

static void round_yaml(FILE *f, int rn, const struct round *rd)
{
	static const char *const tnames[] = { NULL, "[Ingress]", "[Egress]", "[Ingress, Egress]",
					      "[]" };
	int i;

	for (i = 0; i < rd->npol; i++) {
		const struct pol *p = &rd->pol[i];

		fprintf(f,
			"%sapiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
			"  name: r%d-p%d\n  namespace: \"%s\"\nspec:\n  podSelector: %s\n",
			i ? "---\n" : "", rn, i, ns_name[p->ns], podsel_yaml[p->podsel]);
		if (p->types)
			fprintf(f, "  policyTypes: %s\n", tnames[p->types]);
		if (p->ning)
			yaml_rules(f, "ingress", "from", p->ing, p->ning);
		if (p->neg)
			yaml_rules(f, "egress", "to", p->eg, p->neg);
	}
}

/* -------------------------------------------- hand-written (upstream e2e) */

#define R(...)              \
	{                   \
		__VA_ARGS__ \
	}
#define PEER(k, p, n, b)                                       \
	{                                                      \
		.kind = (k), .pod = (p), .ns = (n), .blk = (b) \
	}

static const struct round hands[] = {
	{ "deny-all ingress in x", 1, { { .ns = NS_X, .podsel = 0, .types = 1 } } },
	{ "deny-all egress in y", 1, { { .ns = NS_Y, .podsel = 0, .types = 2 } } },
	{ "x allows ingress from its own namespace only",
	  1,
	  { { .ns = NS_X,
	      .podsel = 0,
	      .ning = 1,
	      .ing = { R(.npeers = 1, .peers = { PEER(PEER_POD, 0, 0, 0) }) } } } },
	{ "podSelector AND namespaceSelector in one peer: x/a from y/b only",
	  1,
	  { { .ns = NS_X,
	      .podsel = 1,
	      .ning = 1,
	      .ing = { R(.npeers = 1, .peers = { PEER(PEER_BOTH, 2, 1, 0) }) } } } },
	{ "podSelector OR namespaceSelector as two peers: x/a from x/b and from y",
	  1,
	  { { .ns = NS_X,
	      .podsel = 1,
	      .ning = 1,
	      .ing = { R(.npeers = 2,
			 .peers = { PEER(PEER_POD, 2, 0, 0), PEER(PEER_NS, 0, 1, 0) }) } } } },
	{ "egress ipBlock 198.18.0.0/16 except x/a's address, from y/b",
	  1,
	  { { .ns = NS_Y,
	      .podsel = 2,
	      .types = 2,
	      .neg = 1,
	      .eg = { R(.npeers = 1, .peers = { PEER(PEER_BLOCK, 0, 0, 0) }) } } } },
	{ "ingress ipBlock y's range except y/a's address, to x/c",
	  1,
	  { { .ns = NS_X,
	      .podsel = 8,
	      .ning = 1,
	      .ing = { R(.npeers = 1, .peers = { PEER(PEER_BLOCK, 0, 0, 7) }) } } } },
	{ "ingress to x/a on TCP 81 only (protocol defaulted)",
	  1,
	  { { .ns = NS_X, .podsel = 1, .ning = 1, .ing = { R(.nports = 1, .ports = { 5 }) } } } },
	{ "endPort: ingress to z on TCP 80-81 and UDP 81",
	  1,
	  { { .ns = NS_Z, .podsel = 0, .ning = 1, .ing = { R(.nports = 2, .ports = { 2, 1 }) } } } },
	{ "SCTP is not TCP: ingress to z/b on SCTP 80 only",
	  1,
	  { { .ns = NS_Z, .podsel = 2, .ning = 1, .ing = { R(.nports = 1, .ports = { 4 }) } } } },
	{ "policyTypes [Egress] ignores the ingress rules: x may send nothing",
	  1,
	  { { .ns = NS_X,
	      .podsel = 0,
	      .types = 2,
	      .ning = 1,
	      .ing = { R(.npeers = 1, .peers = { PEER(PEER_POD, 7, 0, 0) }) } } } },
	{ "multiple policies add up: x/a from y (p0) and from z (p1)",
	  2,
	  { { .ns = NS_X,
	      .podsel = 1,
	      .ning = 1,
	      .ing = { R(.npeers = 1, .peers = { PEER(PEER_NS, 0, 1, 0) }) } },
	    { .ns = NS_X,
	      .podsel = 1,
	      .ning = 1,
	      .ing = { R(.npeers = 1, .peers = { PEER(PEER_NS, 0, 2, 0) }) } } } },
	{ "policyTypes defaulted from egress rules: y/c sends UDP to x and y, takes nothing",
	  1,
	  { { .ns = NS_Y,
	      .podsel = 8,
	      .neg = 1,
	      .eg = { R(.npeers = 1, .peers = { PEER(PEER_NS, 0, 3, 0) }, .nports = 1,
			.ports = { 3 }) } } } },
	{ "both sides must allow: x/a sends TCP 80-81 to z, z/b takes TCP 81 from x",
	  2,
	  { { .ns = NS_X,
	      .podsel = 1,
	      .types = 2,
	      .neg = 1,
	      .eg = { R(.npeers = 1, .peers = { PEER(PEER_NS, 0, 2, 0) }, .nports = 1,
			.ports = { 2 }) } },
	    { .ns = NS_Z,
	      .podsel = 2,
	      .ning = 1,
	      .ing = { R(.npeers = 1, .peers = { PEER(PEER_BOTH, 0, 3, 0) }, .nports = 1,
			 .ports = { 5 }) } } } },
};
#define NHANDS (int)(sizeof(hands) / sizeof(hands[0]))

/*
 * Cells of the hand-written rounds spelled out, as the upstream suite's
 * reachability tables are: the model must say the same of each before
 * the round is probed, so a slip in the model can't pass for netseg's.
 */
enum { T80, T81, U80, U81 }; /* indexes into cells[] */
#define NODE (-1)

static const struct spot {
	int round, s, d, cell;
	bool allow;
} spots[] = {
	{ 1, YA, XA, T80, false },  { 1, XA, YA, T80, true },	 { 1, XB, XC, U81, false },
	{ 1, NODE, XA, T80, true }, { 1, XA, XA, T80, true },	 { 2, YA, XA, T80, false },
	{ 2, XA, YA, U80, true },   { 2, YB, YC, T81, false },	 { 3, XB, XA, U80, true },
	{ 3, YA, XA, T80, false },  { 3, XA, YA, T80, true },	 { 4, YB, XA, T80, true },
	{ 4, YA, XA, T80, false },  { 4, ZB, XA, T80, false },	 { 4, XB, XA, T80, false },
	{ 5, YA, XA, T80, true },   { 5, XB, XA, U81, true },	 { 5, ZB, XA, T80, false },
	{ 5, XC, XA, T80, false },  { 6, YB, XA, T80, false },	 { 6, YB, XB, T80, true },
	{ 6, YB, ZC, U81, true },   { 6, YA, XA, T80, true },	 { 7, YB, XC, T80, true },
	{ 7, YA, XC, T80, false },  { 7, XA, XC, T80, false },	 { 7, YA, XB, T80, true },
	{ 8, YB, XA, T81, true },   { 8, YB, XA, T80, false },	 { 8, YB, XA, U81, false },
	{ 9, XA, ZA, T80, true },   { 9, XA, ZA, T81, true },	 { 9, XA, ZA, U81, true },
	{ 9, XA, ZA, U80, false },  { 10, XA, ZB, T80, false },	 { 10, XA, ZB, U80, false },
	{ 10, XA, ZA, T80, true },  { 10, NODE, ZB, T80, true }, { 11, XA, YA, T80, false },
	{ 11, YA, XA, T80, true },  { 11, XA, XB, T80, false },	 { 12, YC, XA, T80, true },
	{ 12, ZC, XA, U80, true },  { 12, XC, XA, T80, false },	 { 13, YC, XA, U80, true },
	{ 13, YC, XA, T80, false }, { 13, YC, ZA, U80, false },	 { 13, YA, YC, U80, false },
	{ 14, XA, ZB, T81, true },  { 14, XA, ZB, T80, false },	 { 14, XA, ZA, T80, true },
	{ 14, XA, ZA, U80, false }, { 14, YA, ZB, T81, true },	 { 14, YA, ZB, T80, false },
};

static void check_spots(int n, const struct round *rd)
{
	char why[300];
	size_t i;

	for (i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		const struct spot *t = &spots[i];
		const struct cell *c = &cells[t->cell];

		if (t->round != n || model(n, rd, t->s, t->d, c, why, sizeof(why)) == t->allow)
			continue;
		die("round %d (%s): the model says %s -> %s %s/%d %s (%s), the spelled-out table says %s",
		    n, rd->title, t->s < 0 ? "node" : pod_name[t->s], pod_name[t->d],
		    proto_name[c->proto], c->port, t->allow ? "deny" : "allow", why,
		    t->allow ? "allow" : "deny");
	}
}

/* ------------------------------------------------------------ generation */

static unsigned long long rng_state;

static int rnd(int n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (int)(rng_state % (unsigned int)n);
}

static void gen_rule(struct rule *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->npeers = rnd(4);
	for (i = 0; i < r->npeers; i++) {
		r->peers[i].kind = rnd(4);
		r->peers[i].pod = rnd(NPODSEL);
		r->peers[i].ns = rnd(NNSSEL);
		r->peers[i].blk = rnd(NBLOCKS);
	}
	r->nports = rnd(3);
	for (i = 0; i < r->nports; i++)
		r->ports[i] = rnd(NPORTS);
}

static void gen_round(struct round *rd)
{
	int i, j;

	memset(rd, 0, sizeof(*rd));
	rd->title = "generated";
	rd->npol = 1 + rnd(4);
	for (i = 0; i < rd->npol; i++) {
		struct pol *p = &rd->pol[i];

		p->ns = rnd(NNS);
		p->podsel = rnd(NPODSEL);
		p->types = rnd(5);
		p->ning = rnd(3);
		p->neg = rnd(3);
		for (j = 0; j < p->ning; j++)
			gen_rule(&p->ing[j]);
		for (j = 0; j < p->neg; j++)
			gen_rule(&p->eg[j]);
	}
}

/* ------------------------------------------------------------------ main */

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		die("%s: %s", path, strerror(errno));
	return f;
}

static void close_out(FILE *f, const char *name)
{
	if (ferror(f) | fclose(f))
		die("writing %s failed", name);
}

static void write_expect(FILE *f, int rn, const struct round *rd)
{
	char why[300];
	int s, d, k;

	for (s = -1; s < NPODS; s++)
		for (d = 0; d < NPODS; d++)
			for (k = 0; k < NCELLS; k++) {
				bool want = model(rn, rd, s, d, &cells[k], why, sizeof(why));

				fprintf(f, "%s %s %s %s %d %d %s\n", s < 0 ? "node" : pod_name[s],
					pod_name[d], pod_addr[d], proto_name[cells[k].proto],
					cells[k].port, want, why);
			}
}

static int cmd_round(const char *pods, const char *seed, const char *nstr, const char *dir,
		     bool none)
{
	struct round rd = { 0 };
	char *end;
	int n = (int)strtol(nstr, &end, 10), i;
	FILE *f;

	if (*end || n < 1)
		die("round \"%s\": not a number from 1", nstr);
	errno = 0;
	rng_state = strtoull(seed, &end, 0);
	if (*end || errno || !rng_state)
		die("seed \"%s\": not a non-zero number", seed);
	read_pods(pods);
	make_blocks();
	if (n <= NHANDS) {
		rd = hands[n - 1];
		check_spots(n, &rd);
	} else {
		for (i = NHANDS; i < n; i++)
			gen_round(&rd);
	}
	f = open_out(dir, "title");
	fprintf(f, "%s\n", rd.title);
	close_out(f, "title");
	if (none)
		rd.npol = 0;
	f = open_out(dir, "policy.yaml");
	round_yaml(f, n, &rd);
	close_out(f, "policy.yaml");
	f = open_out(dir, "expect");
	write_expect(f, n, &rd);
	close_out(f, "expect");
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	if (argc == 2 && !strcmp(argv[1], "namespaces")) {
		for (i = 0; i < NNS; i++)
			printf("%sapiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"%s\"\n"
			       "  labels: {ns: \"%s\"}\n",
			       i ? "---\n" : "", ns_name[i], ns_name[i]);
		return fflush(stdout) ? 2 : 0;
	}
	if (argc == 2 && !strcmp(argv[1], "rounds")) {
		printf("%d\n", NHANDS);
		return 0;
	}
	if ((argc == 6 || (argc == 7 && !strcmp(argv[6], "none"))) && !strcmp(argv[1], "round"))
		return cmd_round(argv[2], argv[3], argv[4], argv[5], argc == 7);
	fprintf(stderr, "usage: netpol-plan namespaces | rounds |\n"
			"       round PODS SEED N OUTDIR [none]\n");
	return 2;
}
