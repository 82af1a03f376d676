// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy compiler: rules -> LPM_TRIE entries (docs/architecture.md,
 * "A rule's path").
 *
 * Below the identity pair, a key is 24 bits: the protocol byte, then the
 * big-endian port.  A rule becomes one or more prefixes of those bits
 * ("atoms"): 0 bits for any protocol, 8 for a protocol, 8 + n for a port
 * prefix or 16 for an ICMP type.  Rules are grouped by identity pair, the
 * pair's atoms sorted by (bits, length) -- which is the pre-order of the
 * binary trie they form -- and walked once with a stack of ancestors that
 * carries the best deny and allow found so far.  That is the flattening:
 * each prefix is emitted with the answer of all the rules containing it,
 * in O(n log n) rather than comparing every prefix with every rule.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

#define KEY_BITS 24 /* protocol byte + 16-bit port */

int netseg_selector_resolve(const struct netseg_resolver *res, const char *sel, __u32 *id)
{
	if (!strcmp(sel, "*")) {
		*id = NETSEG_ID_ANY;
		return 0;
	}
	if (!strcmp(sel, "world")) {
		*id = NETSEG_ID_WORLD;
		return 0;
	}
	if (!strcmp(sel, "host")) {
		*id = NETSEG_ID_HOST;
		return 0;
	}
	if (!res || !res->resolve)
		return -ENOENT;
	return res->resolve(sel, id, res->ctx) ? -ENOENT : 0;
}

void netseg_policy_free(struct netseg_policy *p)
{
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}

unsigned int netseg_port_prefixes(__u16 lo, __u16 hi,
				  struct netseg_port_prefix out[NETSEG_PORT_PREFIXES_MAX])
{
	__u32 cur = lo, size;
	unsigned int n = 0, len;

	while (cur <= hi) {
		/* Largest aligned block starting at cur that stays in range. */
		size = cur ? cur & -cur : 1U << 16;
		len = 16 - __builtin_ctz(size);
		while (cur + size - 1 > hi) {
			size >>= 1;
			len++;
		}
		out[n].value = (__u16)cur;
		out[n].len = (__u8)len;
		n++;
		cur += size;
	}
	return n;
}

static void blame_rule(struct netseg_err *err, size_t i)
{
	if (err)
		err->rule = (long)i;
}

/* ------------------------------------------------ unknown identities */

static unsigned int levenshtein(const char *a, const char *b)
{
	unsigned int row[NETSEG_SELECTOR_MAX + 1], diag, up, i, j;
	size_t la = strlen(a), lb = strlen(b);

	if (la > NETSEG_SELECTOR_MAX || lb > NETSEG_SELECTOR_MAX)
		return ~0U;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* Few enough edits that the name is probably what was meant. */
static unsigned int suggest_limit(const char *sel)
{
	size_t n = strlen(sel);

	return n <= 4 ? 1 : n <= 8 ? 2 : 3;
}

static int unknown_identity(const struct netseg_resolver *res, const char *sel,
			    struct netseg_err *err)
{
	unsigned int best = suggest_limit(sel) + 1, d;
	const char *pick[3];
	size_t i, n = 0;

	for (i = 0; res && res->names && i < res->nnames; i++) {
		d = levenshtein(sel, res->names[i]);
		if (d > best)
			continue;
		if (d < best) {
			best = d;
			n = 0;
		}
		if (n < 3)
			pick[n++] = res->names[i];
	}
	if (!n)
		netseg_err_set(err, 0, "unknown identity \"%s\"", sel);
	else if (n == 1)
		netseg_err_set(err, 0, "unknown identity \"%s\" (did you mean \"%s\"?)", sel,
			       pick[0]);
	else if (n == 2)
		netseg_err_set(err, 0, "unknown identity \"%s\" (did you mean \"%s\" or \"%s\"?)",
			       sel, pick[0], pick[1]);
	else
		netseg_err_set(err, 0,
			       "unknown identity \"%s\" (did you mean \"%s\", \"%s\" or \"%s\"?)",
			       sel, pick[0], pick[1], pick[2]);
	return -ENOENT;
}

/* ---------------------------------------------------------------- ids */

/*
 * Sorts of 100k-element arrays run on every change, so they are LSD radix
 * sorts (stable, 8-bit digits, a pass skipped when all its digits are
 * equal) rather than qsort() with a callback: 10x fewer cycles.
 */
#define RADIX_BITS 8
#define RADIX_SIZE (1U << RADIX_BITS)

/* The digit of @v at @shift, for the two element types below. */
static inline unsigned int u64_digit(__u64 v, unsigned int shift)
{
	return (unsigned int)(v >> shift) & (RADIX_SIZE - 1);
}

/* v[0..n) by bits [from, to) of each value; @tmp holds n values. */
static void radix_u64(__u64 *v, __u64 *tmp, size_t n, unsigned int from, unsigned int to)
{
	size_t count[RADIX_SIZE], pos;

	for (unsigned int shift = from; shift < to; shift += RADIX_BITS) {
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[u64_digit(v[i], shift)]++;
		if (!n || count[u64_digit(v[0], shift)] == n)
			continue;
		pos = 0;
		for (unsigned int d = 0; d < RADIX_SIZE; d++) {
			size_t c = count[d];

			count[d] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[u64_digit(v[i], shift)]++] = v[i];
		memcpy(v, tmp, n * sizeof(*v));
	}
}

/* Rule ids end up in events and counters: 0 means "no rule" there, and
 * two rules with one id would make the reported rule ambiguous. */
static int check_ids(const struct netseg_rule *rules, size_t n, struct netseg_err *err)
{
	__u64 *v;
	size_t i;
	int ret = 0;

	v = malloc((n ? 2 * n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!rules[i].id) {
			ret = netseg_err_set(
				err, 0,
				"rule %zu has no id (every rule needs a unique non-zero id)",
				i + 1);
			blame_rule(err, i);
			goto out;
		}
		v[i] = (__u64)rules[i].id << 32 | i;
	}
	radix_u64(v, v + n, n, 32, 64);
	for (i = 1; i < n; i++) {
		if (v[i] >> 32 == v[i - 1] >> 32) {
			ret = netseg_err_set(err, 0, "rule id %u is used by more than one rule",
					     (__u32)(v[i] >> 32));
			blame_rule(err, (__u32)v[i]);
			goto out;
		}
	}
out:
	free(v);
	return ret;
}

/* ------------------------------------------------------ identity pairs */

struct pair {
	__u32 dst, src, idx;
};

static inline __u64 pair_key(const struct pair *p)
{
	return (__u64)p->dst << 32 | p->src;
}

/* By (dst, src); stable, so each pair's rules stay in index order. */
static int sort_pairs(struct pair *p, size_t n)
{
	struct pair *tmp = malloc((n ? n : 1) * sizeof(*tmp));
	size_t count[RADIX_SIZE], pos;

	if (!tmp)
		return -ENOMEM;
	for (unsigned int shift = 0; shift < 64; shift += RADIX_BITS) {
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[u64_digit(pair_key(&p[i]), shift)]++;
		if (!n || count[u64_digit(pair_key(&p[0]), shift)] == n)
			continue;
		pos = 0;
		for (unsigned int d = 0; d < RADIX_SIZE; d++) {
			size_t c = count[d];

			count[d] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[u64_digit(pair_key(&p[i]), shift)]++] = p[i];
		memcpy(p, tmp, n * sizeof(*p));
	}
	free(tmp);
	return 0;
}

/*
 * A rule set names few selectors many times (16 identities in 100k rules):
 * each distinct one goes through the resolver once.  Direct-mapped; a
 * collision only costs a resolver call.  Caching is safe because the
 * resolver gives one selector one id for the whole compile.
 */
#define SEL_CACHE 1024

struct sel_cache {
	const char *sel[SEL_CACHE];
	__u32 id[SEL_CACHE];
};

static int resolve_cached(const struct netseg_resolver *res, struct sel_cache *c, const char *sel,
			  __u32 *id)
{
	__u32 h = 2166136261u;
	int ret;

	for (const char *p = sel; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h %= SEL_CACHE;
	if (c->sel[h] && !strcmp(c->sel[h], sel)) {
		*id = c->id[h];
		return 0;
	}
	ret = netseg_selector_resolve(res, sel, id);
	if (!ret) {
		c->sel[h] = sel;
		c->id[h] = *id;
	}
	return ret;
}

static int resolve_pairs(const struct netseg_rule *rules, size_t n,
			 const struct netseg_resolver *res, struct pair *pairs,
			 struct netseg_err *err)
{
	struct sel_cache *cache = calloc(1, sizeof(*cache));
	const struct netseg_rule *r;
	size_t i;
	int ret = 0;

	if (!cache)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		r = &rules[i];
		pairs[i].idx = (__u32)i;
		if (resolve_cached(res, cache, r->src, &pairs[i].src)) {
			ret = unknown_identity(res, r->src, err);
			blame_rule(err, i);
			goto out;
		}
		if (resolve_cached(res, cache, r->dst, &pairs[i].dst)) {
			ret = unknown_identity(res, r->dst, err);
			blame_rule(err, i);
			goto out;
		}
	}
	ret = sort_pairs(pairs, n);
out:
	free(cache);
	return ret;
}

/* --------------------------------------------------------------- atoms */

/* An atom packs (bits << 5 | len) above the rule index, so sorting the
 * u64s sorts by prefix start, then shorter prefix first: trie pre-order. */
struct atoms {
	__u64 *v;
	size_t n, cap;
};

static int atom_push(struct atoms *a, __u32 bits, unsigned int len, __u32 idx)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 256;
		__u64 *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = (__u64)(bits << 5 | len) << 32 | idx;
	return 0;
}

static int rule_atoms(const struct netseg_rule *r, __u32 idx, struct atoms *a)
{
	struct netseg_port_prefix pp[NETSEG_PORT_PREFIXES_MAX];
	__u32 proto = (__u32)r->proto << 16;
	unsigned int i, j, n;
	int ret;

	if (!r->proto)
		return atom_push(a, 0, 0, idx);
	if (r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6) {
		/* Type in the high byte of dport; the code is never matched. */
		if (r->icmp_type < 0)
			return atom_push(a, proto, 8, idx);
		return atom_push(a, proto | (__u32)r->icmp_type << 8, 16, idx);
	}
	if (!r->nports)
		return atom_push(a, proto, 8, idx);
	for (i = 0; i < r->nports; i++) {
		n = netseg_port_prefixes(r->ports[i].lo, r->ports[i].hi, pp);
		for (j = 0; j < n; j++) {
			ret = atom_push(a, proto | pp[j].value, 8 + pp[j].len, idx);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * By prefix (the upper 32 bits); the rule index below doesn't matter to
 * flatten().  A pair has a handful of atoms or thousands: insertion sort
 * for the first (a radix pass clears 256 counters), radix for the rest.
 */
static int sort_atoms(struct atoms *a)
{
	__u64 *tmp, x;
	size_t i, j;

	if (a->n <= 64) {
		for (i = 1; i < a->n; i++) {
			x = a->v[i];
			for (j = i; j && a->v[j - 1] >> 32 > x >> 32; j--)
				a->v[j] = a->v[j - 1];
			a->v[j] = x;
		}
		return 0;
	}
	tmp = malloc(a->n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	radix_u64(a->v, tmp, a->n, 32, 64);
	free(tmp);
	return 0;
}

/* ---------------------------------------------------------- flattening */

struct node {
	__u32 bits;
	unsigned int len;
	long deny, allow; /* best rule index so far, -1 = none */
};

static bool node_contains(const struct node *a, __u32 bits, unsigned int len)
{
	return a->len <= len && !((a->bits ^ bits) >> (KEY_BITS - a->len));
}

/* The rule the datapath must report: lowest id (ids are unique). */
static long better(const struct netseg_rule *rules, long a, long b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return rules[b].id < rules[a].id ? b : a;
}

struct emit_ctx {
	const struct netseg_rule *rules;
	__u32 dst, src;
	size_t max;
	struct netseg_policy *out;
	struct netseg_err *err;
};

static int emit(struct emit_ctx *e, const struct node *nd)
{
	struct netseg_policy_entry *pe;
	long idx = nd->deny >= 0 ? nd->deny : nd->allow;

	if (e->out->n == e->max) {
		netseg_err_set(e->err, 0, "policy map is full (%zu entries; raise max_rules)",
			       e->max);
		return -E2BIG;
	}
	if (e->out->n == e->out->cap) {
		size_t cap = e->out->cap ? 2 * e->out->cap : 256;

		pe = realloc(e->out->v, cap * sizeof(*pe));
		if (!pe)
			return -ENOMEM;
		e->out->v = pe;
		e->out->cap = cap;
	}
	pe = &e->out->v[e->out->n++];
	memset(pe, 0, sizeof(*pe));
	pe->key.prefixlen = NETSEG_POLICY_PLEN_IDS + nd->len;
	pe->key.dst_id = e->dst;
	pe->key.src_id = e->src;
	pe->key.proto = (__u8)(nd->bits >> 16);
	pe->key.dport = htons((__u16)nd->bits);
	pe->val.verdict = nd->deny >= 0 ? NETSEG_VERDICT_DENY : NETSEG_VERDICT_ALLOW;
	pe->val.flags = e->rules[idx].flags;
	pe->val.rule_id = e->rules[idx].id;
	return 0;
}

/* Walk one pair's sorted atoms, emitting each distinct prefix once. */
static int flatten(struct emit_ctx *e, const struct atoms *a)
{
	struct node stack[KEY_BITS + 1], nd;
	size_t i = 0, sp = 0;
	__u32 key, idx;
	int ret;

	while (i < a->n) {
		key = (__u32)(a->v[i] >> 32);
		nd.bits = key >> 5;
		nd.len = key & 31;
		nd.deny = nd.allow = -1;
		for (; i < a->n && (__u32)(a->v[i] >> 32) == key; i++) {
			idx = (__u32)a->v[i];
			if (e->rules[idx].action == NETSEG_VERDICT_DENY)
				nd.deny = better(e->rules, nd.deny, idx);
			else
				nd.allow = better(e->rules, nd.allow, idx);
		}
		while (sp && !node_contains(&stack[sp - 1], nd.bits, nd.len))
			sp--;
		if (sp) {
			nd.deny = better(e->rules, nd.deny, stack[sp - 1].deny);
			nd.allow = better(e->rules, nd.allow, stack[sp - 1].allow);
		}
		stack[sp++] = nd;
		ret = emit(e, &nd);
		if (ret)
			return ret;
	}
	return 0;
}

/* pairs[from, to) share one identity pair. */
static int compile_pair(struct emit_ctx *e, const struct pair *pairs, size_t from, size_t to,
			struct atoms *a)
{
	size_t i;
	int ret;

	a->n = 0;
	for (i = from; i < to; i++) {
		ret = rule_atoms(&e->rules[pairs[i].idx], pairs[i].idx, a);
		if (ret)
			return ret;
	}
	ret = sort_atoms(a);
	if (ret)
		return ret;
	/* pairs[] is set whenever check_ids() passed; the analyzer, not seeing
	 * that netseg_err_set() (errors.c) never returns 0, thinks a failed
	 * check_ids() can pass.  Same below. */
	e->dst = pairs[from].dst; // NOLINT(clang-analyzer-core.uninitialized.Assign)
	e->src = pairs[from].src;
	return flatten(e, a);
}

int netseg_compile(const struct netseg_rule *rules, size_t n, const struct netseg_resolver *res,
		   size_t max_entries, struct netseg_policy *out, struct netseg_err *err)
{
	struct emit_ctx e = {
		.rules = rules,
		.out = out,
		.err = err,
		.max = max_entries ? max_entries : NETSEG_POLICY_MAX,
	};
	struct atoms a = { 0 };
	struct pair *pairs;
	size_t i, j;
	int ret;

	out->n = 0;
	if (n > 0xffffffffUL)
		return netseg_err_set(err, 0, "too many rules");
	pairs = malloc((n ? n : 1) * sizeof(*pairs));
	if (!pairs)
		return -ENOMEM;
	ret = check_ids(rules, n, err);
	if (!ret)
		ret = resolve_pairs(rules, n, res, pairs, err);
	for (i = 0; !ret && i < n; i = j) {
		// NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
		for (j = i + 1;
		     j < n && pairs[j].dst == pairs[i].dst && pairs[j].src == pairs[i].src; j++)
			;
		ret = compile_pair(&e, pairs, i, j, &a);
	}
	if (ret == -ENOMEM)
		netseg_err_set(err, 0, "out of memory compiling the policy");
	if (ret)
		netseg_policy_free(out); /* nothing for a failing caller to free */
	free(a.v);
	free(pairs);
	return ret;
}
