// SPDX-License-Identifier: GPL-2.0-only
/* Learn mode: flow records to a graph and to suggested rules (suggest.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cjson/cJSON.h>

#include "flowrec.h"
#include "proto.h"
#include "suggest.h"

static const cJSON *jget(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

static int copy_str(char *dst, size_t len, const cJSON *v)
{
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= len)
		return -EINVAL;
	strcpy(dst, v->valuestring);
	return 0;
}

static int verdict_parse(const cJSON *v)
{
	if (!cJSON_IsString(v))
		return -EINVAL;
	if (!strcmp(v->valuestring, "allowed"))
		return NETSEG_FLOW_ALLOWED;
	if (!strcmp(v->valuestring, "denied"))
		return NETSEG_FLOW_DENIED;
	if (!strcmp(v->valuestring, "audit"))
		return NETSEG_FLOW_AUDIT;
	return -ENOENT;
}

static int side_parse(const cJSON *side, char *name, char *addr, size_t alen)
{
	const cJSON *ip = jget(side, "ip");

	if (!cJSON_IsObject(side))
		return -EINVAL;
	if (!jget(side, "identity"))
		return -ENOENT;
	if (copy_str(name, NETSEG_SEL_MAX, jget(side, "identity")) || !name[0])
		return -EINVAL;
	if (ip && copy_str(addr, alen, ip))
		return -EINVAL;
	return 0;
}

static int num_in(const cJSON *v, double max, double *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max)
		return -EINVAL;
	*out = v->valuedouble;
	return 0;
}

static int ports_parse(const cJSON *rec, struct netseg_obs *o)
{
	const cJSON *dport = jget(jget(rec, "dst"), "port");
	const cJSON *icmp = jget(rec, "icmp");
	double v;

	if (dport) {
		if (num_in(dport, 65535, &v))
			return -EINVAL;
		o->has_port = true;
		o->port = (__u16)v;
	} else if (icmp) {
		if (num_in(jget(icmp, "type"), 255, &v))
			return -EINVAL;
		o->has_icmp = true;
		o->port = (__u16)v;
	}
	return 0;
}

int netseg_obs_from_json(const cJSON *rec, struct netseg_obs *o)
{
	const cJSON *verdict = jget(rec, "verdict"), *fid = jget(rec, "flow_id");
	const cJSON *rule = jget(rec, "rule");
	double v;
	char *end;
	int r;

	memset(o, 0, sizeof(*o));
	if (!cJSON_IsObject(rec) || !cJSON_IsString(verdict))
		return -EINVAL;
	if (!strcmp(verdict->valuestring, "end"))
		verdict = jget(rec, "flow_verdict");
	r = verdict_parse(verdict);
	if (r < 0)
		return r;
	o->verdict = r;
	r = side_parse(jget(rec, "src"), o->src, o->saddr, sizeof(o->saddr));
	r = r ?: side_parse(jget(rec, "dst"), o->dst, o->daddr, sizeof(o->daddr));
	if (r)
		return r;
	if (num_in(jget(rec, "proto"), 255, &v))
		return -EINVAL;
	o->proto = (__u8)v;
	if (ports_parse(rec, o))
		return -EINVAL;
	if (rule && !num_in(jget(rule, "id"), 4294967295.0, &v))
		o->rule_id = (__u32)v;
	if (cJSON_IsNumber(jget(rec, "time_ns")) && jget(rec, "time_ns")->valuedouble > 0)
		o->time_ns = (__u64)jget(rec, "time_ns")->valuedouble;
	if (cJSON_IsString(fid)) {
		errno = 0;
		o->flow_id = strtoull(fid->valuestring, &end, 16);
		if (errno || *end || !fid->valuestring[0])
			return -EINVAL;
	}
	return 0;
}

/* ----------------------------------------------------------- aggregation */

static int rank(__u8 verdict)
{
	return verdict == NETSEG_FLOW_DENIED ? 2 : verdict == NETSEG_FLOW_AUDIT ? 1 : 0;
}

static int cmp_key(const char *as, const char *ad, __u8 ap, bool aicmp, __u16 aport, const char *bs,
		   const char *bd, __u8 bp, bool bicmp, __u16 bport)
{
	int c = strcmp(as, bs);

	if (c || (c = strcmp(ad, bd)))
		return c;
	if (ap != bp)
		return ap < bp ? -1 : 1;
	if (aicmp != bicmp)
		return aicmp ? 1 : -1;
	return aport < bport ? -1 : aport > bport;
}

static int cmp_obs_flow(const void *a, const void *b)
{
	const struct netseg_obs *x = a, *y = b;

	if (x->flow_id != y->flow_id)
		return x->flow_id < y->flow_id ? -1 : 1;
	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

static int cmp_agg(const void *a, const void *b)
{
	const struct netseg_flowagg *x = a, *y = b;

	return cmp_key(x->src, x->dst, x->proto, x->has_icmp, x->port, y->src, y->dst, y->proto,
		       y->has_icmp, y->port);
}

/*
 * One flow per flow id: the earliest record's time, the most restrictive
 * verdict (a flow one hook audited and another allowed was still one the
 * policy would have cut), the rule of that verdict.  Untracked records
 * (id 0) are each a flow.  Returns the new count.
 */
static size_t dedup_flows(struct netseg_obs *obs, size_t n)
{
	size_t i, k = 0;

	qsort(obs, n, sizeof(*obs), cmp_obs_flow);
	for (i = 0; i < n; i++) {
		if (k && obs[i].flow_id && obs[k - 1].flow_id == obs[i].flow_id) {
			if (rank(obs[i].verdict) > rank(obs[k - 1].verdict)) {
				obs[k - 1].verdict = obs[i].verdict;
				obs[k - 1].rule_id = obs[i].rule_id;
			}
			continue;
		}
		obs[k++] = obs[i];
	}
	return k;
}

static void selector(char *sel, const char *name, const char *addr, bool by_addr)
{
	if (by_addr && !strcmp(name, "world") && addr[0])
		snprintf(sel, NETSEG_SEL_MAX, "%s/%d", addr, strchr(addr, ':') ? 128 : 32);
	else
		snprintf(sel, NETSEG_SEL_MAX, "%s", name);
}

static void agg_add(struct netseg_flowagg *a, const struct netseg_obs *o)
{
	if (o->verdict == NETSEG_FLOW_DENIED) {
		a->denied++;
		a->deny_ruled += o->rule_id != 0;
	} else if (o->verdict == NETSEG_FLOW_AUDIT) {
		a->audit++;
	} else {
		a->allowed++;
	}
	if (o->time_ns && (!a->first_ns || o->time_ns < a->first_ns))
		a->first_ns = o->time_ns;
	if (o->time_ns > a->last_ns)
		a->last_ns = o->time_ns;
}

int netseg_flowagg_build(struct netseg_obs *obs, size_t n, bool by_addr,
			 struct netseg_flowagg **out, size_t *nout)
{
	struct netseg_flowagg *agg, *a;
	size_t i, k = 0;

	*out = NULL;
	*nout = 0;
	n = dedup_flows(obs, n);
	agg = calloc(n ? n : 1, sizeof(*agg));
	if (!agg)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		a = &agg[k++];
		selector(a->src, obs[i].src, obs[i].saddr, by_addr);
		selector(a->dst, obs[i].dst, obs[i].daddr, by_addr);
		a->proto = obs[i].proto;
		a->has_port = obs[i].has_port;
		a->has_icmp = obs[i].has_icmp;
		a->port = obs[i].port;
		agg_add(a, &obs[i]);
	}
	qsort(agg, k, sizeof(*agg), cmp_agg);
	/* Equal keys are now adjacent: fold them into the first. */
	for (n = k, k = 0, i = 0; i < n; i++) {
		if (k && !cmp_agg(&agg[k - 1], &agg[i])) {
			a = &agg[k - 1];
			a->allowed += agg[i].allowed;
			a->denied += agg[i].denied;
			a->audit += agg[i].audit;
			a->deny_ruled += agg[i].deny_ruled;
			if (agg[i].first_ns && (!a->first_ns || agg[i].first_ns < a->first_ns))
				a->first_ns = agg[i].first_ns;
			if (agg[i].last_ns > a->last_ns)
				a->last_ns = agg[i].last_ns;
			continue;
		}
		agg[k++] = agg[i];
	}
	*out = agg;
	*nout = k;
	return 0;
}

/* ------------------------------------------------------------ suggestions */

const char *netseg_suggest_proto_name(__u8 proto)
{
	return proto ? netseg_proto_name(proto) : NULL;
}

void netseg_flowagg_port(const struct netseg_flowagg *a, char *buf, size_t len)
{
	const char *p = netseg_suggest_proto_name(a->proto);

	if (p && (a->has_port || a->has_icmp))
		snprintf(buf, len, "%s/%u", p, a->port);
	else if (p)
		snprintf(buf, len, "%s", p);
	else
		snprintf(buf, len, "proto-%u", a->proto);
}

static bool same_group(const struct netseg_suggestion *s, const struct netseg_flowagg *a)
{
	return !strcmp(s->src, a->src) && !strcmp(s->dst, a->dst) && s->proto == a->proto &&
	       s->has_port && a->has_port;
}

/* @a extends @s when it is the next port of the same pair and protocol
 * (aggregates are sorted, so a seen run of ports is adjacent). */
static bool extends(const struct netseg_suggestion *s, const struct netseg_flowagg *a)
{
	return same_group(s, a) && a->port == s->hi + 1;
}

static void sugg_add(struct netseg_suggestion *s, const struct netseg_flowagg *a)
{
	__u32 flows = a->allowed + a->audit + a->denied - a->deny_ruled;

	s->flows += flows;
	s->allowed += a->allowed;
	s->audit += a->audit;
	s->denied += a->denied - a->deny_ruled;
	if (a->first_ns && (!s->first_ns || a->first_ns < s->first_ns))
		s->first_ns = a->first_ns;
	if (a->last_ns > s->last_ns)
		s->last_ns = a->last_ns;
}

static bool wanted(const struct netseg_flowagg *a, const char *identity,
		   struct netseg_suggest_skipped *sk)
{
	if (identity && strcmp(a->src, identity) && strcmp(a->dst, identity))
		return false;
	sk->deny_ruled += a->deny_ruled;
	if (!netseg_suggest_proto_name(a->proto)) {
		sk->no_grammar += a->allowed + a->audit + a->denied - a->deny_ruled;
		return false;
	}
	return a->allowed + a->audit + a->denied > a->deny_ruled;
}

int netseg_suggest(const struct netseg_flowagg *agg, size_t n, const char *identity,
		   struct netseg_suggestion **out, size_t *nout,
		   struct netseg_suggest_skipped *skipped)
{
	struct netseg_suggestion *s, *cur = NULL;
	size_t i, k = 0;

	memset(skipped, 0, sizeof(*skipped));
	*out = NULL;
	*nout = 0;
	s = calloc(n ? n : 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct netseg_flowagg *a = &agg[i];

		if (!wanted(a, identity, skipped))
			continue;
		if (!cur || !extends(cur, a)) {
			cur = &s[k++];
			snprintf(cur->src, sizeof(cur->src), "%s", a->src);
			snprintf(cur->dst, sizeof(cur->dst), "%s", a->dst);
			cur->proto = a->proto;
			cur->has_port = a->has_port;
			cur->has_icmp = a->has_icmp;
			cur->lo = cur->hi = a->port;
		} else {
			cur->hi = a->port;
		}
		sugg_add(cur, a);
	}
	*out = s;
	*nout = k;
	return 0;
}

int netseg_suggestion_rule(const struct netseg_suggestion *s, char *buf, size_t len)
{
	const char *p = netseg_suggest_proto_name(s->proto);
	int n;

	if (!p)
		return -EINVAL;
	if (s->has_port && s->lo != s->hi)
		n = snprintf(buf, len, "%s -> %s:%s/%u-%u", s->src, s->dst, p, s->lo, s->hi);
	else if (s->has_port || s->has_icmp)
		n = snprintf(buf, len, "%s -> %s:%s/%u", s->src, s->dst, p, s->lo);
	else
		n = snprintf(buf, len, "%s -> %s:%s", s->src, s->dst, p);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

/* -------------------------------------------------------------------- DOT */

int netseg_dot_quote(const char *s, char *buf, size_t len)
{
	size_t k = 0;

	if (len < 3)
		return -ENOSPC;
	buf[k++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (k + 4 > len)
			return -ENOSPC;
		if (c == '"' || c == '\\')
			buf[k++] = '\\';
		buf[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	buf[k++] = '"';
	buf[k] = '\0';
	return (int)k;
}

static bool named_before(const struct netseg_flowagg *agg, size_t i, const char *name, bool src)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (!strcmp(agg[j].src, name) || !strcmp(agg[j].dst, name))
			return true;
	return !src && !strcmp(agg[i].src, name);
}

/* The node statement of an aggregate's source or destination, once. */
static int dot_node(FILE *f, const struct netseg_flowagg *agg, size_t i, bool src)
{
	const char *name = src ? agg[i].src : agg[i].dst;
	const char *style = "shape=box, style=rounded";
	char q[2 * NETSEG_SEL_MAX + 3];

	if (named_before(agg, i, name, src))
		return 0;
	if (!strcmp(name, "world"))
		style = "shape=doubleoctagon, style=filled, fillcolor=lightgrey";
	else if (!strcmp(name, "host"))
		style = "shape=house, style=filled, fillcolor=lightyellow";
	if (netseg_dot_quote(name, q, sizeof(q)) < 0)
		return -ENOSPC;
	return fprintf(f, "\t%s [%s];\n", q, style) < 0 ? -EIO : 0;
}

static __u32 agg_count(const struct netseg_flowagg *a, int verdict)
{
	return verdict == NETSEG_FLOW_DENIED ? a->denied :
	       verdict == NETSEG_FLOW_AUDIT  ? a->audit :
					       a->allowed;
}

/* One edge for the run of aggregates [i, j) of one pair, one verdict. */
static int dot_edge(FILE *f, const struct netseg_flowagg *agg, size_t i, size_t j, int verdict)
{
	static const char *const attrs[] = {
		[NETSEG_FLOW_ALLOWED] = "color=black, style=solid",
		[NETSEG_FLOW_DENIED] = "color=red, fontcolor=red, style=solid",
		[NETSEG_FLOW_AUDIT] = "color=darkorange, style=dashed",
	};
	char qs[2 * NETSEG_SEL_MAX + 3], qd[2 * NETSEG_SEL_MAX + 3], port[32];
	bool any = false;
	size_t k;

	for (k = i; k < j; k++)
		any |= agg_count(&agg[k], verdict) > 0;
	if (!any)
		return 0;
	if (netseg_dot_quote(agg[i].src, qs, sizeof(qs)) < 0 ||
	    netseg_dot_quote(agg[i].dst, qd, sizeof(qd)) < 0)
		return -ENOSPC;
	fprintf(f, "\t%s -> %s [%s, label=\"", qs, qd, attrs[verdict]);
	for (k = i; k < j; k++) {
		if (!agg_count(&agg[k], verdict))
			continue;
		netseg_flowagg_port(&agg[k], port, sizeof(port));
		/* U+00D7 MULTIPLICATION SIGN; \l: left-justified lines */
		fprintf(f, "%s \xc3\x97%u\\l", port, agg_count(&agg[k], verdict));
	}
	return fprintf(f, "\"];\n") < 0 ? -EIO : 0;
}

int netseg_map_dot(FILE *f, const struct netseg_flowagg *agg, size_t n)
{
	static const int verdicts[] = { NETSEG_FLOW_ALLOWED, NETSEG_FLOW_AUDIT,
					NETSEG_FLOW_DENIED };
	size_t i, j, v;
	int r = 0;

	fprintf(f,
		"digraph netseg {\n\trankdir=LR;\n"
		"\tnode [fontname=\"Helvetica\"];\n\tedge [fontname=\"Helvetica\", fontsize=10];\n");
	for (i = 0; i < n && !r; i++)
		r = dot_node(f, agg, i, true) ?: dot_node(f, agg, i, false);
	for (i = 0; i < n && !r; i = j) {
		for (j = i + 1;
		     j < n && !strcmp(agg[j].src, agg[i].src) && !strcmp(agg[j].dst, agg[i].dst);
		     j++)
			;
		for (v = 0; v < 3 && !r; v++)
			r = dot_edge(f, agg, i, j, verdicts[v]);
	}
	if (!r && fprintf(f, "}\n") < 0)
		r = -EIO;
	if (!r && (fflush(f) || ferror(f)))
		r = -EIO;
	return r;
}

/* --------------------------------------------------------------- duration */

int netseg_duration_parse(const char *s, __u64 *ns)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (!strcmp(end, "s") || !*end)
		mul = 1;
	else if (!strcmp(end, "m"))
		mul = 60;
	else if (!strcmp(end, "h"))
		mul = 3600;
	else if (!strcmp(end, "d"))
		mul = 86400;
	else
		return -EINVAL;
	if (v > 100ULL * 365 * 86400 / mul) /* beyond any history */
		return -EINVAL;
	*ns = v * mul * 1000000000ULL;
	return 0;
}
