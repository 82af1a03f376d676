// SPDX-License-Identifier: GPL-2.0-only
/*
 * NetworkPolicy conformance of the compiler, in the style of the upstream
 * netpol e2e suite and cyclonus: namespaces x, y, z with pods a, b, c
 * (and a2, labelled like a), the node, a native endpoint, a native CIDR
 * identity, native identities defined by label selectors and an outside
 * address; policies written as YAML, imported,
 * compiled with the native rules; then every ordered pair on TCP and UDP
 * 80 and 81, SCTP 80 and ICMP echo is decided twice -- by lib/refeval.c's
 * reference decision over the compiled rules and by the datapath's four
 * LPM lookups over the compiled map entries -- and both are compared with
 * the model below.
 *
 * The model is this file's own: its own labels, selectors, CIDR matching
 * and the apiserver defaults, taken from the Kubernetes documentation,
 * sharing no code with lib/ (not lib/k8s_eval.c, not lib/labels.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_compile.h"
#include "tap.h"

/* ---------------------------------------------------------------- world */

enum { NS_X, NS_Y, NS_Z, NNS };
static const char *const ns_name[NNS] = { "x", "y", "z" };
/* Extra namespace labels; z is sometimes not declared at all. */
static const char *const ns_env[NNS] = { "prod", "dev", NULL };

enum { K_POD, K_HOST, K_EXT, K_PARTNER, K_LEGACY };

struct mparty {
	const char *name;
	int kind;
	int ns;		  /* K_POD */
	char pod;	  /* 'a', 'b', 'c'; a2 carries pod=a */
	const char *tier; /* label tier, or NULL */
	const char *ip;
	__u32 addr; /* host order */
};

#define NPODS 12
static struct mparty parties[] = {
	{ "x/a", K_POD, NS_X, 'a', "front", "198.18.1.10", 0 },
	{ "x/b", K_POD, NS_X, 'b', "back", "198.18.1.11", 0 },
	{ "x/c", K_POD, NS_X, 'c', NULL, "198.18.1.12", 0 },
	{ "x/a2", K_POD, NS_X, 'a', "front", "198.18.1.13", 0 },
	{ "y/a", K_POD, NS_Y, 'a', "front", "198.18.2.10", 0 },
	{ "y/b", K_POD, NS_Y, 'b', "back", "198.18.2.11", 0 },
	{ "y/c", K_POD, NS_Y, 'c', NULL, "198.18.2.12", 0 },
	{ "y/a2", K_POD, NS_Y, 'a', "front", "198.18.2.13", 0 },
	{ "z/a", K_POD, NS_Z, 'a', "front", "198.18.3.10", 0 },
	{ "z/b", K_POD, NS_Z, 'b', "back", "198.18.3.11", 0 },
	{ "z/c", K_POD, NS_Z, 'c', NULL, "198.18.3.12", 0 },
	{ "z/a2", K_POD, NS_Z, 'a', "front", "198.18.3.13", 0 },
	{ "host", K_HOST, 0, 0, NULL, "198.18.0.1", 0 },
	{ "ext", K_EXT, 0, 0, NULL, "198.19.5.5", 0 },
	{ "partner", K_PARTNER, 0, 0, NULL, "198.19.100.1", 0 },
	{ "legacy", K_LEGACY, 0, 0, NULL, "198.18.9.1", 0 },
};
#define NPARTIES (sizeof(parties) / sizeof(parties[0]))

#define ID_LEGACY 300
#define ID_PARTNER 301
#define ID_FRONTS 303 /* then ybacks, zbare: selector identities */
static const char *const partner_cidr = "198.19.100.0/24";

struct cell {
	__u8 proto;
	__u16 port;
	const char *name;
};

static const struct cell cells[] = {
	{ IPPROTO_TCP, 80, "tcp/80" },	 { IPPROTO_TCP, 81, "tcp/81" },
	{ IPPROTO_UDP, 80, "udp/80" },	 { IPPROTO_UDP, 81, "udp/81" },
	{ IPPROTO_SCTP, 80, "sctp/80" }, { IPPROTO_ICMP, 8 << 8, "icmp/echo" },
};
#define NCELLS (sizeof(cells) / sizeof(cells[0]))

static __u32 ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		bail("bad test address %s", s);
	return ntohl(a.s_addr);
}

/* The model's own CIDR: "198.18.0.0/16". */
struct mcidr {
	__u32 net;
	int plen;
};

static struct mcidr mcidr(const char *s)
{
	char buf[32], *slash;
	struct mcidr c;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		bail("bad test CIDR %s", s);
	*slash = 0;
	c.net = ip4(buf);
	c.plen = (int)strtol(slash + 1, NULL, 10);
	return c;
}

static bool in_mcidr(__u32 a, struct mcidr c)
{
	__u32 mask = c.plen ? ~0U << (32 - c.plen) : 0;

	return (a & mask) == (c.net & mask);
}

/* ------------------------------------------------------- selector menus */

/* Pod selectors: YAML, and the model's own reading of it. */
static const char *const podsel_yaml[] = {
	"{}",
	"{matchLabels: {pod: a}}",
	"{matchLabels: {pod: b}}",
	"{matchExpressions: [{key: pod, operator: In, values: [a, c]}]}",
	"{matchExpressions: [{key: pod, operator: NotIn, values: [a]}]}",
	"{matchExpressions: [{key: tier, operator: Exists}]}",
	"{matchExpressions: [{key: tier, operator: DoesNotExist}]}",
	"{matchLabels: {tier: front}, matchExpressions: [{key: pod, operator: In, values: [a, b]}]}",
	"{matchLabels: {pod: zz}}",
	"{matchExpressions: [{key: tier, operator: NotIn, values: [back]}]}",
};
#define NPODSEL (sizeof(podsel_yaml) / sizeof(podsel_yaml[0]))

static bool podsel_match(int s, const struct mparty *p)
{
	switch (s) {
	case 0:
		return true;
	case 1:
		return p->pod == 'a';
	case 2:
		return p->pod == 'b';
	case 3:
		return p->pod == 'a' || p->pod == 'c';
	case 4:
		return p->pod != 'a';
	case 5:
		return p->tier;
	case 6:
		return !p->tier;
	case 7:
		return p->tier && !strcmp(p->tier, "front") && (p->pod == 'a' || p->pod == 'b');
	case 8:
		return false;
	case 9:
		return !p->tier || strcmp(p->tier, "back"); /* NotIn: absent matches */
	}
	bail("pod selector %d", s);
}

static const char *const nssel_yaml[] = {
	"{}",
	"{matchLabels: {ns: \"y\"}}",
	"{matchLabels: {kubernetes.io/metadata.name: z}}",
	"{matchExpressions: [{key: env, operator: In, values: [prod, dev]}]}",
	"{matchExpressions: [{key: env, operator: DoesNotExist}]}",
	"{matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}",
};
#define NNSSEL (sizeof(nssel_yaml) / sizeof(nssel_yaml[0]))

static bool z_declared; /* else z carries only its metadata.name label */

static bool nssel_match(int s, int ns)
{
	bool declared = ns != NS_Z || z_declared;

	switch (s) {
	case 0:
		return true;
	case 1:
		return declared && ns == NS_Y; /* label ns=<name> if declared */
	case 2:
		return ns == NS_Z;
	case 3:
		return declared && ns_env[ns];
	case 4:
		return !declared || !ns_env[ns];
	case 5:
		return !declared || ns != NS_X;
	}
	bail("namespace selector %d", s);
}

struct mblock {
	const char *cidr;
	const char *except[2];
};

static const struct mblock blocks[] = {
	{ "198.18.0.0/16", { "198.18.1.10/32" } },  /* every pod but x/a: splits x/a from x/a2 */
	{ "198.18.2.0/24", { NULL } },		    /* namespace y's pods */
	{ "198.19.0.0/16", { "198.19.100.0/24" } }, /* ext, not partner */
	{ "198.19.0.0/16", { "198.19.5.0/24", "198.19.100.1/32" } }, /* cut from partner */
	{ "198.18.1.13/32", { NULL } },				     /* x/a2 alone */
	{ "198.18.0.1/32", { NULL } },				     /* the node */
	{ "198.18.9.1/32", { NULL } },				     /* the native endpoint */
	{ "198.16.0.0/12", { "198.18.3.0/24", "198.18.1.0/25" } },
};
#define NBLOCKS (sizeof(blocks) / sizeof(blocks[0]))

static bool block_match(int b, const struct mparty *p)
{
	const struct mblock *m = &blocks[b];
	int i;

	if (!in_mcidr(p->addr, mcidr(m->cidr)))
		return false;
	for (i = 0; i < 2 && m->except[i]; i++)
		if (in_mcidr(p->addr, mcidr(m->except[i])))
			return false;
	return true;
}

struct mport {
	const char *yaml;
	__u8 proto;
	__u16 lo, hi; /* lo 0: every port of proto */
};

static const struct mport ports[] = {
	{ "{protocol: TCP, port: 80}", IPPROTO_TCP, 80, 80 },
	{ "{protocol: UDP, port: 81}", IPPROTO_UDP, 81, 81 },
	{ "{protocol: TCP, port: 80, endPort: 81}", IPPROTO_TCP, 80, 81 },
	{ "{protocol: UDP}", IPPROTO_UDP, 0, 0 },
	{ "{protocol: SCTP, port: 80}", IPPROTO_SCTP, 80, 80 },
	{ "{port: 81}", IPPROTO_TCP, 81, 81 }, /* protocol defaults to TCP */
	{ "{protocol: TCP, port: 79, endPort: 80}", IPPROTO_TCP, 79, 80 },
	{ "{protocol: SCTP}", IPPROTO_SCTP, 0, 0 },
};
#define NPORTS (sizeof(ports) / sizeof(ports[0]))

/* ----------------------------------------------------------- the policies */

enum { PEER_POD, PEER_NS, PEER_BOTH, PEER_BLOCK };

struct gpeer {
	int kind, pod, ns, blk;
};

struct grule {
	int npeers, nports;
	struct gpeer peers[3];
	int ports[2];
};

/* types: 0 omitted, 4 an empty list, else a mask of 1 Ingress, 2 Egress. */
struct gpol {
	int ns, podsel, types;
	int ning, neg;
	struct grule ing[3], eg[3];
};

struct round {
	int npol;
	struct gpol pol[4];
	unsigned int natives; /* mask of native_rules[] */
	bool host_to_pods;
	bool z_declared;
};

/* The native rules a round may carry, and the model's reading of each. */
static const char *const native_rules[] = {
	"allow legacy -> *:tcp/80",
	"deny partner -> *:tcp/81",
	"deny * -> *:sctp",
	"allow world -> *:udp/80",
	"deny host -> *:tcp/81",
	"allow legacy -> 198.18.2.0/24:udp", /* a native CIDR rule toward pods */
	/* Named identities by label selector (compile_round() defines them):
	 * fronts: tier=front, every namespace; ybacks: pod=b in y only;
	 * zbare: no tier label, in z only. */
	"allow fronts -> ybacks:tcp/81",
	"deny fronts -> *:udp/81",
	"deny world -> zbare:tcp/80",
};
#define NNATIVE (sizeof(native_rules) / sizeof(native_rules[0]))

static bool native_match(int r, const struct mparty *s, const struct mparty *d,
			 const struct cell *c)
{
	switch (r) {
	case 0:
		return s->kind == K_LEGACY && c->proto == IPPROTO_TCP && c->port == 80;
	case 1:
		return s->kind == K_PARTNER && c->proto == IPPROTO_TCP && c->port == 81;
	case 2:
		return c->proto == IPPROTO_SCTP;
	case 3:
		return s->kind == K_EXT && c->proto == IPPROTO_UDP && c->port == 80;
	case 4:
		return s->kind == K_HOST && c->proto == IPPROTO_TCP && c->port == 81;
	case 5:
		return false; /* pods' /32s beat the CIDR: it names no pod */
	case 6:
		return s->kind == K_POD && s->tier && !strcmp(s->tier, "front") &&
		       d->kind == K_POD && d->ns == NS_Y && d->pod == 'b' &&
		       c->proto == IPPROTO_TCP && c->port == 81;
	case 7:
		return s->kind == K_POD && s->tier && !strcmp(s->tier, "front") &&
		       c->proto == IPPROTO_UDP && c->port == 81;
	case 8: /* world: every outside address no native identity owns */
		return s->kind == K_EXT && d->kind == K_POD && d->ns == NS_Z && !d->tier &&
		       c->proto == IPPROTO_TCP && c->port == 80;
	}
	bail("native rule %d", r);
}

static bool native_deny(int r)
{
	return !strncmp(native_rules[r], "deny", 4);
}

/* ------------------------------------------------------------- the model */

static unsigned int types_of(const struct gpol *p)
{
	if (p->types == 0 || p->types == 4) /* the apiserver's default */
		return 1 | (p->neg ? 2 : 0);
	return (unsigned int)p->types;
}

static bool m_selects(const struct gpol *p, const struct mparty *pod, unsigned int dir)
{
	return pod->kind == K_POD && (types_of(p) & dir) && p->ns == pod->ns &&
	       podsel_match(p->podsel, pod);
}

static bool m_peer(const struct gpol *p, const struct gpeer *g, const struct mparty *x)
{
	if (g->kind == PEER_BLOCK)
		return block_match(g->blk, x);
	if (x->kind != K_POD)
		return false;
	if (g->kind == PEER_POD)
		return x->ns == p->ns && podsel_match(g->pod, x);
	if (g->kind == PEER_NS)
		return nssel_match(g->ns, x->ns);
	return nssel_match(g->ns, x->ns) && podsel_match(g->pod, x);
}

static bool m_ports(const struct grule *r, const struct cell *c)
{
	int i;

	if (!r->nports)
		return true;
	for (i = 0; i < r->nports; i++) {
		const struct mport *m = &ports[r->ports[i]];

		if (m->proto == c->proto && (!m->lo || (c->port >= m->lo && c->port <= m->hi)))
			return true;
	}
	return false;
}

static bool m_rule(const struct gpol *p, const struct grule *r, const struct mparty *x,
		   const struct cell *c)
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

/* dir 1 = ingress of @self from @other, 2 = egress of @self to @other. */
static bool m_side(const struct round *rd, const struct mparty *self, const struct mparty *other,
		   unsigned int dir, const struct cell *c)
{
	bool isolated = false;
	int i, j;

	if (self->kind != K_POD)
		return true;
	if (dir == 1 && other->kind == K_HOST && rd->host_to_pods)
		return true;
	for (i = 0; i < rd->npol; i++) {
		const struct gpol *p = &rd->pol[i];

		if (!m_selects(p, self, dir))
			continue;
		isolated = true;
		for (j = 0; j < (dir == 1 ? p->ning : p->neg); j++)
			if (m_rule(p, dir == 1 ? &p->ing[j] : &p->eg[j], other, c))
				return true;
	}
	return !isolated;
}

/* true = the connection may be opened. */
static bool model(const struct round *rd, const struct mparty *s, const struct mparty *d,
		  const struct cell *c, const char **why)
{
	bool allow = false;
	size_t r;

	for (r = 0; r < NNATIVE; r++)
		if ((rd->natives & 1U << r) && native_deny((int)r) &&
		    native_match((int)r, s, d, c)) {
			*why = native_rules[r];
			return false;
		}
	for (r = 0; r < NNATIVE; r++)
		if ((rd->natives & 1U << r) && !native_deny((int)r) &&
		    native_match((int)r, s, d, c)) {
			*why = native_rules[r];
			return true;
		}
	if (s->kind == K_LEGACY || d->kind == K_LEGACY) {
		*why = "native default deny";
		return allow;
	}
	if (s->kind != K_POD && d->kind != K_POD) {
		*why = "no endpoint: not enforced";
		return true;
	}
	if (!m_side(rd, s, d, 2, c)) {
		*why = "egress of the source";
		return false;
	}
	if (!m_side(rd, d, s, 1, c)) {
		*why = "ingress of the destination";
		return false;
	}
	*why = "both sides allow";
	return true;
}

/* ------------------------------------------------------------------ YAML */

struct sbuf {
	char *s;
	size_t n, cap;
};

static __attribute__((format(printf, 2, 3))) void put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			bail("out of memory");
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->n, n + 1, fmt, ap);
	va_end(ap);
	b->n += n;
}

static void yaml_rules(struct sbuf *b, const char *key, const char *peerkey, const struct grule *r,
		       int n)
{
	int i, j;

	put(b, "  %s:\n", key);
	for (i = 0; i < n; i++) {
		if (!r[i].npeers && !r[i].nports) {
			put(b, "  - {}\n");
			continue;
		}
		put(b, "  - ");
		if (r[i].npeers) {
			put(b, "%s:\n", peerkey);
			for (j = 0; j < r[i].npeers; j++) {
				const struct gpeer *g = &r[i].peers[j];
				const struct mblock *m = &blocks[g->blk];

				if (g->kind == PEER_POD || g->kind == PEER_BOTH)
					put(b, "    - podSelector: %s\n", podsel_yaml[g->pod]);
				if (g->kind == PEER_NS)
					put(b, "    - namespaceSelector: %s\n", nssel_yaml[g->ns]);
				if (g->kind == PEER_BOTH)
					put(b, "      namespaceSelector: %s\n", nssel_yaml[g->ns]);
				if (g->kind != PEER_BLOCK)
					continue;
				put(b, "    - ipBlock: {cidr: %s", m->cidr);
				if (m->except[0])
					put(b, ", except: [%s%s%s]", m->except[0],
					    m->except[1] ? ", " : "",
					    m->except[1] ? m->except[1] : "");
				put(b, "}\n");
			}
		}
		if (r[i].nports) {
			put(b, "%sports:\n", r[i].npeers ? "    " : "");
			for (j = 0; j < r[i].nports; j++)
				put(b, "    - %s\n", ports[r[i].ports[j]].yaml);
		}
	}
}

static char *round_yaml(const struct round *rd)
{
	static const char *const tnames[] = { NULL, "[Ingress]", "[Egress]", "[Ingress, Egress]",
					      "[]" };
	struct sbuf b = { 0 };
	int i;

	for (i = 0; i < NNS; i++) {
		if (i == NS_Z && !rd->z_declared)
			continue;
		put(&b,
		    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"%s\"\n"
		    "  labels: {ns: \"%s\"%s%s}\n---\n",
		    ns_name[i], ns_name[i], ns_env[i] ? ", env: " : "", ns_env[i] ? ns_env[i] : "");
	}
	for (i = 0; i < rd->npol; i++) {
		const struct gpol *p = &rd->pol[i];

		put(&b,
		    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
		    "  name: p%d\n  namespace: \"%s\"\nspec:\n  podSelector: %s\n",
		    i, ns_name[p->ns], podsel_yaml[p->podsel]);
		if (p->types)
			put(&b, "  policyTypes: %s\n", tnames[p->types]);
		if (p->ning)
			yaml_rules(&b, "ingress", "from", p->ing, p->ning);
		if (p->neg)
			yaml_rules(&b, "egress", "to", p->eg, p->neg);
		put(&b, "---\n");
	}
	put(&b, "%s", "");
	return b.s;
}

/* ------------------------------------------------------ the compiled side */

/* A stable allocator, as the daemon's must be: the same key, the same id. */
struct alloc {
	char *keys[256];
	int n;
};

static int alloc_cb(const char *key, __u32 *id, void *ctx)
{
	struct alloc *a = ctx;
	int i;

	for (i = 0; i < a->n; i++)
		if (!strcmp(a->keys[i], key))
			break;
	if (i == a->n) {
		if (a->n == 256)
			return -ENOSPC;
		a->keys[a->n++] = strdup(key);
	}
	*id = 1000 + (__u32)i;
	return 0;
}

static int native_resolve(const char *sel, __u32 *id, void *ctx)
{
	if (!strcmp(sel, "legacy"))
		*id = ID_LEGACY;
	else if (!strcmp(sel, "partner") || !strcmp(sel, partner_cidr))
		*id = ID_PARTNER;
	else if (!strcmp(sel, "198.18.2.0/24"))
		*id = 302;
	else if (!strcmp(sel, "fronts"))
		*id = ID_FRONTS;
	else if (!strcmp(sel, "ybacks"))
		*id = ID_FRONTS + 1;
	else if (!strcmp(sel, "zbare"))
		*id = ID_FRONTS + 2;
	else
		return -ENOENT;
	return 0;
}

static const struct netseg_resolver native_res = { .resolve = native_resolve };

struct compiled {
	struct netseg_k8s_compiled out;
	struct netseg_policy pol;
	struct netseg_policy_entry *sorted; /* by (dst, src) for the lookups */
	struct netseg_resolver res;
	__u32 ids[NPARTIES];
	__u32 flags[NPARTIES];
};

static struct netseg_k8s_cidr kcidr(const char *s)
{
	struct netseg_k8s_cidr c = { .family = AF_INET };
	struct mcidr m = mcidr(s);
	__u32 n = htonl(m.net);

	memcpy(c.addr, &n, 4);
	c.plen = (__u8)m.plen;
	return c;
}

static __u32 id_flags(const struct compiled *cp, __u32 id)
{
	size_t i;

	if (id == ID_LEGACY)
		return NETSEG_IDF_ENDPOINT;
	for (i = 0; i < cp->out.nids; i++)
		if (cp->out.ids[i].id == id)
			return cp->out.ids[i].flags;
	return 0;
}

/* What the ipcache would answer for an address that is no pod: the
 * longest prefix among the node, the natives and the ipBlock prefixes. */
static __u32 ipcache(const struct compiled *cp, __u32 addr)
{
	struct {
		const char *cidr;
		__u32 id;
	} fixed[] = {
		{ "198.18.0.1/32", NETSEG_ID_HOST },
		{ "198.18.9.1/32", ID_LEGACY },
		{ "198.19.100.0/24", ID_PARTNER },
		{ "198.18.2.0/24", 302 },
	};
	int best = -1;
	__u32 id = NETSEG_ID_WORLD;
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		struct mcidr m = mcidr(fixed[i].cidr);

		if (in_mcidr(addr, m) && m.plen > best) {
			best = m.plen;
			id = fixed[i].id;
		}
	}
	for (i = 0; i < cp->out.nprefixes; i++) {
		const struct netseg_k8s_cidr *c = &cp->out.prefixes[i].cidr;
		struct mcidr m;
		__u32 n;

		memcpy(&n, c->addr, 4);
		m.net = ntohl(n);
		m.plen = c->plen;
		if (in_mcidr(addr, m) && m.plen > best) {
			best = m.plen;
			id = cp->out.prefixes[i].id;
		}
	}
	return id;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct netseg_policy_key *x = &((const struct netseg_policy_entry *)a)->key;
	const struct netseg_policy_key *y = &((const struct netseg_policy_entry *)b)->key;

	if (x->dst_id != y->dst_id)
		return x->dst_id < y->dst_id ? -1 : 1;
	return x->src_id < y->src_id ? -1 : x->src_id > y->src_id;
}

/* The kernel's LPM trie, for one identity pair: longest prefix wins. */
static const struct netseg_policy_val *lpm(const struct compiled *cp, __u32 dst, __u32 src,
					   __u8 proto, __u16 port)
{
	const struct netseg_policy_entry *best = NULL;
	__u32 key = (__u32)proto << 16 | port;
	size_t lo = 0, hi = cp->pol.n, mid;

	while (lo < hi) { /* first entry of the pair */
		mid = (lo + hi) / 2;
		if (cp->sorted[mid].key.dst_id < dst ||
		    (cp->sorted[mid].key.dst_id == dst && cp->sorted[mid].key.src_id < src))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (;
	     lo < cp->pol.n && cp->sorted[lo].key.dst_id == dst && cp->sorted[lo].key.src_id == src;
	     lo++) {
		const struct netseg_policy_key *k = &cp->sorted[lo].key;
		__u32 len = k->prefixlen - NETSEG_POLICY_PLEN_IDS;
		__u32 pk = (__u32)k->proto << 16 | ntohs(k->dport);

		if (len && (pk ^ key) >> (24 - len))
			continue;
		if (!best || k->prefixlen > best->key.prefixlen)
			best = &cp->sorted[lo];
	}
	return best ? &best->val : NULL;
}

/* include/netseg/bpf/policy.h's policy_decide(), without audit. */
static bool map_allows(const struct compiled *cp, __u32 src, __u32 dst, const struct cell *c)
{
	const __u32 pairs[4][2] = { { dst, src }, { dst, 0 }, { 0, src }, { 0, 0 } };
	bool allow = false, deny = false;
	int i;

	for (i = 0; i < 4; i++) {
		const struct netseg_policy_val *v = lpm(cp, pairs[i][0], pairs[i][1], c->proto,
							c->port);

		deny |= v && v->verdict == NETSEG_VERDICT_DENY;
		allow |= v && v->verdict == NETSEG_VERDICT_ALLOW;
	}
	if (deny)
		return false;
	if (allow)
		return true;
	return !((id_flags(cp, src) | id_flags(cp, dst)) & NETSEG_IDF_ENDPOINT);
}

static int compile_round(const struct round *rd, const char *yaml, struct alloc *al,
			 struct compiled *cp, struct netseg_err *err)
{
	static struct netseg_labels labels[NPODS];
	static struct netseg_k8s_addr addrs[NPARTIES];
	struct netseg_k8s_endpoint eps[NPODS];
	struct netseg_k8s_cidr legacy_c = kcidr("198.18.9.1/32");
	struct netseg_k8s_cidr partner_c = kcidr(partner_cidr);
	struct netseg_k8s_cidr y_c = kcidr("198.18.2.0/24");
	static struct netseg_labelsel sels[3];
	struct netseg_k8s_native natives[] = {
		{ .id = ID_LEGACY, .flags = NETSEG_IDF_ENDPOINT, .cidrs = &legacy_c, .ncidrs = 1 },
		{ .id = ID_PARTNER, .cidrs = &partner_c, .ncidrs = 1 },
		{ .id = 302, .cidrs = &y_c, .ncidrs = 1 },
		{ .id = ID_FRONTS, .sel = &sels[0] },
		{ .id = ID_FRONTS + 1, .sel = &sels[1], .sel_ns = "y" },
		{ .id = ID_FRONTS + 2, .sel = &sels[2], .sel_ns = "z" },
	};
	static const char *const sel_text[3] = { "tier in (front)", "pod=b", "!tier" };
	struct netseg_rule rules[NNATIVE];
	struct netseg_k8s_objects objs;
	struct netseg_errlist errs = { 0 };
	struct netseg_k8s_input in = { 0 };
	size_t i, nrules = 0;
	char pod[2] = { 0 };
	int ret;

	netseg_k8s_objects_init(&objs);
	ret = netseg_k8s_load_buf("round.yaml", yaml, strlen(yaml), &objs, &errs);
	if (ret) {
		snprintf(err->msg, sizeof(err->msg), "%s", errs.n ? errs.msgs[0] : "import failed");
		netseg_errlist_free(&errs);
		return ret;
	}
	for (i = 0; i < NPARTIES; i++) {
		addrs[i].family = AF_INET;
		if (inet_pton(AF_INET, parties[i].ip, addrs[i].addr) != 1)
			bail("bad address %s", parties[i].ip);
	}
	for (i = 0; i < NPODS; i++) {
		netseg_labels_init(&labels[i]);
		pod[0] = parties[i].pod;
		netseg_labels_add(&labels[i], "pod", pod, NULL);
		if (parties[i].tier)
			netseg_labels_add(&labels[i], "tier", parties[i].tier, NULL);
		eps[i] = (struct netseg_k8s_endpoint){
			.ns = ns_name[parties[i].ns],
			.name = parties[i].name,
			.labels = &labels[i],
			.addrs = &addrs[i],
			.naddrs = 1,
		};
	}
	for (i = 0; i < 3; i++)
		if (netseg_labelsel_parse(sel_text[i], &sels[i], err))
			bail("selector %s: %s", sel_text[i], err->msg);
	for (i = 0; i < NNATIVE; i++) {
		if (!(rd->natives & 1U << i))
			continue;
		if (netseg_rule_parse_line(native_rules[i], &rules[nrules], err))
			bail("native rule %s: %s", native_rules[i], err->msg);
		rules[nrules].id = (__u32)i + 1;
		nrules++;
	}
	in.objs = &objs;
	in.eps = eps;
	in.neps = NPODS;
	in.rules = rules;
	in.nrules = nrules;
	in.res = &native_res;
	in.natives = natives;
	in.nnatives = sizeof(natives) / sizeof(natives[0]);
	in.host_addrs = &addrs[NPODS]; /* "host" follows the pods */
	in.nhost = 1;
	in.host_to_pods = rd->host_to_pods;
	in.alloc = alloc_cb;
	in.alloc_ctx = al;
	in.first_rule_id = 1000;
	ret = netseg_k8s_compile(&in, &cp->out, err);
	netseg_k8s_resolver(&native_res, &cp->res);
	if (!ret)
		ret = netseg_compile(cp->out.rules.rules, cp->out.rules.n, &cp->res, 0, &cp->pol,
				     err);
	if (!ret) {
		cp->sorted = malloc((cp->pol.n ? cp->pol.n : 1) * sizeof(*cp->sorted));
		if (!cp->sorted)
			bail("out of memory");
		memcpy(cp->sorted, cp->pol.v, cp->pol.n * sizeof(*cp->sorted));
		qsort(cp->sorted, cp->pol.n, sizeof(*cp->sorted), cmp_entry);
		for (i = 0; i < NPARTIES; i++) {
			if (i < NPODS)
				cp->ids[i] = cp->out.ep_ids[i];
			else if (parties[i].kind == K_HOST)
				cp->ids[i] = NETSEG_ID_HOST;
			else if (parties[i].kind == K_LEGACY)
				cp->ids[i] = ID_LEGACY;
			else
				cp->ids[i] = ipcache(cp, parties[i].addr);
			cp->flags[i] = id_flags(cp, cp->ids[i]);
		}
	}
	for (i = 0; i < NPODS; i++)
		netseg_labels_free(&labels[i]);
	for (i = 0; i < 3; i++)
		netseg_labelsel_free(&sels[i]);
	netseg_k8s_objects_free(&objs);
	return ret;
}

static void compiled_free(struct compiled *cp)
{
	netseg_k8s_compiled_free(&cp->out);
	netseg_policy_free(&cp->pol);
	free(cp->sorted);
	memset(cp, 0, sizeof(*cp));
}

/* ---------------------------------------------------------------- a round */

static long total_cells, total_allowed;

/* Every ordered pair, every cell: refeval, the map and the model agree.
 * Returns the number of disagreements (the first few printed). */
static int check_round(const struct round *rd, const struct compiled *cp, bool quiet)
{
	int bad = 0;
	size_t i, j, k;

	for (i = 0; i < NPARTIES; i++)
		for (j = 0; j < NPARTIES; j++)
			for (k = 0; k < NCELLS; k++) {
				const struct mparty *s = &parties[i], *d = &parties[j];
				struct netseg_tuple t = {
					.src_id = cp->ids[i],
					.dst_id = cp->ids[j],
					.proto = cells[k].proto,
					.port = cells[k].port,
				};
				struct netseg_ref_decision rdx;
				const char *why = "";
				bool want, ref, map;

				want = model(rd, s, d, &cells[k], &why);
				if (netseg_ref_decide(cp->out.rules.rules, cp->out.rules.n,
						      &cp->res, &t, cp->flags[i], cp->flags[j],
						      &rdx))
					bail("refeval can't resolve the compiled rules");
				ref = rdx.verdict != NETSEG_VERDICT_DENY;
				map = map_allows(cp, t.src_id, t.dst_id, &cells[k]);
				total_cells++;
				total_allowed += want;
				if (ref == want && map == want)
					continue;
				if (!quiet && bad < 5)
					diag("%s -> %s %s: model %s (%s), refeval %s (rule %u), map %s",
					     s->name, d->name, cells[k].name,
					     want ? "allow" : "deny", why, ref ? "allow" : "deny",
					     rdx.rule_id, map ? "allow" : "deny");
				bad++;
			}
	return bad;
}

static bool run_round(const char *title, const struct round *rd, struct alloc *al)
{
	struct compiled cp = { 0 };
	struct netseg_err err = { 0 };
	char *yaml = round_yaml(rd);
	int bad;

	z_declared = rd->z_declared;
	if (compile_round(rd, yaml, al, &cp, &err)) {
		ok(false, "%s: compiles", title);
		diag("%s", err.msg);
		diag("YAML:\n%s", yaml);
		free(yaml);
		return false;
	}
	bad = check_round(rd, &cp, false);
	if (!ok(!bad, "%s: %d policies, %zu rules, %zu entries, %zu cells agree", title, rd->npol,
		cp.out.rules.n, cp.pol.n, NPARTIES * NPARTIES * NCELLS))
		diag("%d cells differ; the policies:\n%s", bad, yaml);
	compiled_free(&cp);
	free(yaml);
	return !bad;
}

/* ------------------------------------------------------------ generation */

static unsigned long long rng_state;

static unsigned int rnd(unsigned int n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned int)(rng_state % n);
}

static void gen_rule(struct grule *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->npeers = (int)rnd(4);
	for (i = 0; i < r->npeers; i++) {
		r->peers[i].kind = (int)rnd(4);
		r->peers[i].pod = (int)rnd(NPODSEL);
		r->peers[i].ns = (int)rnd(NNSSEL);
		r->peers[i].blk = (int)rnd(NBLOCKS);
	}
	r->nports = (int)rnd(3);
	for (i = 0; i < r->nports; i++)
		r->ports[i] = (int)rnd(NPORTS);
}

static void gen_round(struct round *rd)
{
	int i, j;

	memset(rd, 0, sizeof(*rd));
	rd->npol = 1 + (int)rnd(4);
	/* Two draws ANDed: about a quarter of the native rules a round. */
	rd->natives = rnd(1U << NNATIVE);
	rd->natives &= rnd(1U << NNATIVE);
	rd->host_to_pods = rnd(2);
	rd->z_declared = rnd(2);
	for (i = 0; i < rd->npol; i++) {
		struct gpol *p = &rd->pol[i];

		p->ns = (int)rnd(NNS);
		p->podsel = (int)rnd(NPODSEL);
		p->types = (int)rnd(5);
		p->ning = (int)rnd(3);
		p->neg = (int)rnd(3);
		for (j = 0; j < p->ning; j++)
			gen_rule(&p->ing[j]);
		for (j = 0; j < p->neg; j++)
			gen_rule(&p->eg[j]);
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

struct hand {
	const char *title;
	struct round rd;
	/* cells whose answer is spelled out, independent of the model */
	struct {
		int s, d, cell;
		bool allow;
	} expect[4];
	int nexpect;
};

enum { XA, XB, XC, XA2, YA, YB, YC, YA2, ZA, ZB, ZC, ZA2, HOST, EXT, PARTNER, LEGACY };
enum { TCP80, TCP81, UDP80, UDP81, SCTP80, ICMP };

static const struct hand hands[] = {
	{ "default-deny-ingress in x",
	  { .npol = 1, .z_declared = true, .pol = { { .ns = NS_X, .podsel = 0, .types = 1 } } },
	  { { YA, XA, TCP80, false },
	    { XA, YA, TCP80, true },
	    { XA, XB, UDP81, false },
	    { EXT, XC, ICMP, false } },
	  4 },
	{ "default-deny-all in x (Ingress and Egress, no rules)",
	  { .npol = 1, .z_declared = true, .pol = { { .ns = NS_X, .podsel = 0, .types = 3 } } },
	  { { XA, YA, TCP80, false }, { YA, XA, TCP80, false }, { YA, ZA, TCP80, true } },
	  3 },
	{ "allow-all ingress: empty rule",
	  { .npol = 2,
	    .z_declared = true,
	    .pol = { { .ns = NS_X, .podsel = 0, .types = 1 },
		     { .ns = NS_X, .podsel = 0, .ning = 1, .ing = { R(.npeers = 0) } } } },
	  { { ZB, XA, UDP81, true }, { EXT, XA, SCTP80, true } },
	  2 },
	{ "podSelector AND namespaceSelector in one peer",
	  { .npol = 1,
	    .z_declared = true,
	    .pol = { { .ns = NS_X,
		       .podsel = 1,
		       .ning = 1,
		       .ing = { R(.npeers = 1, .peers = { PEER(PEER_BOTH, 2, 1, 0) }) } } } },
	  { { YB, XA, TCP80, true },
	    { YA, XA, TCP80, false },
	    { ZB, XA, TCP80, false },
	    { XB, XA, TCP80, false } },
	  4 },
	{ "podSelector OR namespaceSelector as two peers",
	  { .npol = 1,
	    .z_declared = true,
	    .pol = { { .ns = NS_X,
		       .podsel = 1,
		       .ning = 1,
		       .ing = { R(.npeers = 2, .peers = { PEER(PEER_POD, 2, 0, 0),
							  PEER(PEER_NS, 0, 1, 0) }) } } } },
	  { { YA, XA, TCP80, true },
	    { XB, XA, TCP80, true },
	    { ZB, XA, TCP80, false },
	    { XC, XA, TCP80, false } },
	  4 },
	{ "egress to an ipBlock with except (the e2e except clause)",
	  { .npol = 1,
	    .z_declared = true,
	    .pol = { { .ns = NS_Y,
		       .podsel = 2,
		       .types = 2,
		       .neg = 1,
		       .eg = { R(.npeers = 1, .peers = { PEER(PEER_BLOCK, 0, 0, 0) }) } } } },
	  { { YB, XA, TCP80, false },
	    { YB, XA2, TCP80, true },
	    { YB, EXT, TCP80, false },
	    { YB, ZC, UDP81, true } },
	  4 },
	{ "ingress on port 81 only",
	  { .npol = 1,
	    .z_declared = true,
	    .pol = { { .ns = NS_X,
		       .podsel = 1,
		       .ning = 1,
		       .ing = { R(.npeers = 1, .peers = { PEER(PEER_NS, 0, 0, 0) }, .nports = 1,
				  .ports = { 5 }) } } } },
	  { { YB, XA, TCP81, true }, { YB, XA, TCP80, false }, { YB, XA, UDP81, false } },
	  3 },
	{ "endPort range 80-81, and SCTP only",
	  { .npol = 1,
	    .z_declared = true,
	    .pol = { { .ns = NS_Z,
		       .podsel = 0,
		       .ning = 1,
		       .ing = { R(.nports = 2, .ports = { 2, 7 }) } } } },
	  { { XA, ZA, TCP80, true },
	    { XA, ZA, TCP81, true },
	    { XA, ZA, SCTP80, true },
	    { XA, ZA, UDP80, false } },
	  4 },
	{ "multiple policies add up",
	  { .npol = 2,
	    .z_declared = true,
	    .pol = { { .ns = NS_X,
		       .podsel = 1,
		       .ning = 1,
		       .ing = { R(.npeers = 1, .peers = { PEER(PEER_NS, 0, 1, 0) }) } },
		     { .ns = NS_X,
		       .podsel = 1,
		       .ning = 1,
		       .ing = { R(.npeers = 1, .peers = { PEER(PEER_NS, 0, 2, 0) }) } } } },
	  { { YC, XA, TCP80, true }, { ZC, XA, TCP80, true }, { XC, XA, TCP80, false } },
	  3 },
	{ "policyTypes Egress ignores the ingress rules",
	  { .npol = 1,
	    .z_declared = true,
	    .pol = { { .ns = NS_X,
		       .podsel = 0,
		       .types = 2,
		       .ning = 1,
		       .ing = { R(.npeers = 1, .peers = { PEER(PEER_POD, 8, 0, 0) }) } } } },
	  { { YA, XA, TCP80, true }, { XA, YA, TCP80, false } },
	  2 },
	{ "egress to a namespace's pods by label in another namespace, UDP only",
	  { .npol = 1,
	    .z_declared = true,
	    .pol = { { .ns = NS_X,
		       .podsel = 1,
		       .types = 2,
		       .neg = 1,
		       .eg = { R(.npeers = 1, .peers = { PEER(PEER_BOTH, 2, 2, 0) }, .nports = 1,
				 .ports = { 3 }) } } } },
	  { { XA, ZB, UDP81, true },
	    { XA, ZB, TCP80, false },
	    { XA, YB, UDP81, false },
	    { XA2, ZB, UDP80, true } },
	  4 },
	{ "native deny beats a NetworkPolicy allow; the node probes pods",
	  { .npol = 1,
	    .natives = 1U << 2 | 1U << 4,
	    .host_to_pods = true,
	    .z_declared = true,
	    .pol = { { .ns = NS_X, .podsel = 0, .ning = 1, .ing = { R(.npeers = 0) } } } },
	  { { YA, XA, SCTP80, false },
	    { YA, XA, TCP80, true },
	    { HOST, XB, TCP80, true },
	    { HOST, XB, TCP81, false } },
	  4 },
	{ "a native allow grants both sides; a native endpoint stays default-deny",
	  { .npol = 1,
	    .natives = 1U << 0,
	    .z_declared = true,
	    .pol = { { .ns = NS_X, .podsel = 0, .types = 3 } } },
	  { { LEGACY, XA, TCP80, true },
	    { LEGACY, XA, TCP81, false },
	    { XA, LEGACY, TCP80, false },
	    { YA, LEGACY, TCP80, false } },
	  4 },
	{ "native rules naming identities by label selector cover their pods",
	  { .npol = 1,
	    .natives = 1U << 6 | 1U << 7,
	    .z_declared = true,
	    .pol = { { .ns = NS_Y, .podsel = 0, .types = 1 } } },
	  { { ZA, YB, TCP81, true },	 /* fronts (any namespace) -> ybacks */
	    { XA, YB, TCP80, false },	 /* the rule's port only; y is isolated */
	    { XC, YB, TCP81, false },	 /* x/c has no tier: not in fronts */
	    { XA2, ZB, UDP81, false } }, /* deny fronts: beats z's open sides */
	  4 },
	{ "a native deny from world to a namespace-limited selector identity",
	  { .npol = 1,
	    .natives = 1U << 8,
	    .z_declared = true,
	    .pol = { { .ns = NS_Z, .podsel = 0, .ning = 1, .ing = { R(.npeers = 0) } } } },
	  { { EXT, ZC, TCP80, false }, /* z/c: no tier, in z */
	    { EXT, ZA, TCP80, true },
	    { EXT, YC, TCP80, true }, /* y/c: no tier but not in z */
	    { EXT, ZC, TCP81, true } },
	  4 },
	{ "an ipBlock prefix cut from a native CIDR identity keeps its native deny",
	  { .npol = 2,
	    .natives = 1U << 1,
	    .z_declared = true,
	    .pol = { { .ns = NS_Y,
		       .podsel = 1,
		       .ning = 1,
		       .ing = { R(.npeers = 1, .peers = { PEER(PEER_BLOCK, 0, 0, 3) }) } },
		     { .ns = NS_Y, .podsel = 2, .ning = 1, .ing = { R(.npeers = 0) } } } },
	  { { PARTNER, YB, TCP81, false },
	    { PARTNER, YB, TCP80, true },
	    { PARTNER, YA, TCP80, false },
	    { ZA, YB, UDP80, true } },
	  4 },
};
#define NHANDS (sizeof(hands) / sizeof(hands[0]))

static void test_hand(struct alloc *al)
{
	struct compiled cp = { 0 };
	struct netseg_err err = { 0 };
	size_t h;
	int i;

	for (h = 0; h < NHANDS; h++) {
		const struct hand *hd = &hands[h];
		char *yaml = round_yaml(&hd->rd);

		z_declared = hd->rd.z_declared;
		for (i = 0; i < hd->nexpect; i++) {
			const char *why;
			bool m = model(&hd->rd, &parties[hd->expect[i].s],
				       &parties[hd->expect[i].d], &cells[hd->expect[i].cell], &why);

			if (!ok(m == hd->expect[i].allow, "%s: model says %s -> %s %s %s",
				hd->title, parties[hd->expect[i].s].name,
				parties[hd->expect[i].d].name, cells[hd->expect[i].cell].name,
				hd->expect[i].allow ? "allow" : "deny"))
				diag("model: %s", why);
		}
		if (compile_round(&hd->rd, yaml, al, &cp, &err))
			bail("%s doesn't compile: %s", hd->title, err.msg);
		for (i = 0; i < hd->nexpect; i++) {
			const struct cell *c = &cells[hd->expect[i].cell];
			int s = hd->expect[i].s, d = hd->expect[i].d;

			is_int(map_allows(&cp, cp.ids[s], cp.ids[d], c), hd->expect[i].allow,
			       "%s: the compiled map says %s -> %s %s %s", hd->title,
			       parties[s].name, parties[d].name, c->name,
			       hd->expect[i].allow ? "allow" : "deny");
		}
		compiled_free(&cp);
		free(yaml);
		run_round(hd->title, &hd->rd, al);
	}
}

/* ------------------------------------------------------------- the rest */

/* Equal labels share one identity unless an ipBlock tells their
 * addresses apart: x/a and x/a2 carry the same labels. */
static void test_sharing(struct alloc *al)
{
	struct round rd = {
		.npol = 1,
		.z_declared = true,
		.pol = { { .ns = NS_Y,
			   .podsel = 0,
			   .ning = 1,
			   .ing = { R(.npeers = 1, .peers = { PEER(PEER_POD, 0, 0, 0) }) } } }
	};
	struct compiled cp = { 0 };
	struct netseg_err err = { 0 };
	char *yaml = round_yaml(&rd);

	if (compile_round(&rd, yaml, al, &cp, &err))
		bail("sharing round: %s", err.msg);
	is_int(cp.ids[XA], cp.ids[XA2], "x/a and x/a2 share one identity");
	ok(cp.ids[XA] != cp.ids[YA], "y/a, same labels in another namespace, has its own");
	compiled_free(&cp);
	free(yaml);
	rd.pol[0].ing[0].peers[0] = (struct gpeer)PEER(PEER_BLOCK, 0, 0, 0);
	yaml = round_yaml(&rd);
	if (compile_round(&rd, yaml, al, &cp, &err))
		bail("sharing round: %s", err.msg);
	ok(cp.ids[XA] != cp.ids[XA2], "an ipBlock excepting x/a's address splits x/a from x/a2");
	is_int(cp.ids[YA], cp.ids[YA2], "y/a and y/a2, both inside it, still share");
	compiled_free(&cp);
	free(yaml);
}

/* The comparison can fail: drop one generated allow and it must notice. */
static void test_can_fail(struct alloc *al)
{
	struct round rd = {
		.npol = 1,
		.z_declared = true,
		.pol = { { .ns = NS_X,
			   .podsel = 1,
			   .ning = 1,
			   .ing = { R(.npeers = 1, .peers = { PEER(PEER_NS, 0, 1, 0) }) } } }
	};
	struct compiled cp = { 0 };
	struct netseg_err err = { 0 };
	char *yaml = round_yaml(&rd);
	size_t i, n;
	int bad;

	z_declared = true;
	if (compile_round(&rd, yaml, al, &cp, &err))
		bail("mutation round: %s", err.msg);
	for (i = 0; i < cp.out.rules.n; i++) {
		char want[16];

		snprintf(want, sizeof(want), "#%u", cp.ids[YB]);
		if (!strcmp(cp.out.rules.rules[i].src, want) &&
		    cp.out.rules.rules[i].dst[0] == '#' &&
		    strtoul(cp.out.rules.rules[i].dst + 1, NULL, 10) == cp.ids[XA])
			break;
	}
	if (!ok(i < cp.out.rules.n, "a generated rule allows y/b -> x/a"))
		goto out;
	n = cp.out.rules.n;
	cp.out.rules.rules[i] = cp.out.rules.rules[n - 1];
	cp.out.rules.n = n - 1;
	netseg_policy_free(&cp.pol);
	if (netseg_compile(cp.out.rules.rules, cp.out.rules.n, &cp.res, 0, &cp.pol, &err))
		bail("recompiling: %s", err.msg);
	memcpy(cp.sorted, cp.pol.v, cp.pol.n * sizeof(*cp.sorted));
	qsort(cp.sorted, cp.pol.n, sizeof(*cp.sorted), cmp_entry);
	bad = check_round(&rd, &cp, true);
	ok(bad > 0, "without it the check finds %d cells that differ", bad);
out:
	compiled_free(&cp);
	free(yaml);
}

/* A named port is refused on import, naming the policy. */
static void test_named_port(void)
{
	const char *y = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
			"  name: web\n  namespace: x\nspec:\n  podSelector: {}\n"
			"  ingress:\n  - ports:\n    - port: http\n";
	struct netseg_k8s_objects o;
	struct netseg_errlist errs = { 0 };

	netseg_k8s_objects_init(&o);
	is_int(netseg_k8s_load_buf("np.yaml", y, strlen(y), &o, &errs), -EINVAL,
	       "a named port is refused");
	ok(errs.n == 1 && strstr(errs.msgs[0], "named port 'http' in policy x/web"),
	   "the error names the port and the policy: %s", errs.n ? errs.msgs[0] : "(none)");
	netseg_errlist_free(&errs);
	netseg_k8s_objects_free(&o);
}

int main(int argc, char **argv)
{
	struct alloc al = { 0 };
	int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 300, r, good = 0;
	unsigned long long seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x6e65747365670015ULL;
	struct round rd;
	char title[64];
	size_t i;

	for (i = 0; i < NPARTIES; i++)
		parties[i].addr = ip4(parties[i].ip);
	test_named_port();
	test_sharing(&al);
	test_hand(&al);
	test_can_fail(&al);
	rng_state = seed;
	diag("generated rounds: %d, seed %#llx", rounds, seed);
	for (r = 0; r < rounds; r++) {
		gen_round(&rd);
		snprintf(title, sizeof(title), "round %d", r + 1);
		good += run_round(title, &rd, &al);
	}
	diag("%d of %d generated rounds agree; %ld cells checked in all (%zu parties, %zu cells a pair), %ld allowed, %ld denied",
	     good, rounds, total_cells, NPARTIES, NCELLS, total_allowed,
	     total_cells - total_allowed);
	for (i = 0; i < (size_t)al.n; i++)
		free(al.keys[i]);
	return tap_done();
}
