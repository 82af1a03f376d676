// SPDX-License-Identifier: GPL-2.0-only
/*
 * suggest [--since DURATION] [--identity NAME] [-o rules|yaml] [--diff]
 *         [--apply [--expect-revision N]]
 *
 * The smallest set of allow rules that explains the flows in the daemon's
 * history (lib/suggest.h says how they are grouped), as a .rules file or
 * as Kubernetes NetworkPolicies.  "Already allowed" is the daemon's own
 * answer (a trace of every observed port), so --diff and --apply agree
 * with what the datapath does.  --apply sends the rules in force plus the
 * new ones as one rule set through the daemon's apply: all or nothing,
 * never a rule removed, refused if the rules changed meanwhile.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "netsegctl.h"
#include "output.h"
#include "proto.h"
#include "suggest.h"

struct suggest_args {
	__u64 since;
	const char *identity;
	bool diff, apply, has_rev;
	double rev;
};

struct learned {
	struct netseg_suggestion *s;
	size_t n;
	bool *allowed;	/* per suggestion: the rules in force allow it */
	__u32 *by_rule; /* and the rule that does, for --diff */
	struct netseg_suggest_skipped skipped;
	size_t nobs;
};

static int suggest_args(int argc, char **argv, struct suggest_args *a)
{
	const char *v;
	char *end;
	int i, r;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--diff")) {
			a->diff = true;
			continue;
		}
		if (!strcmp(argv[i], "--apply")) {
			a->apply = true;
			continue;
		}
		if ((r = arg_value(argc, argv, &i, "--since", &v))) {
			if (r < 0 || learn_since(v, &a->since))
				return CTL_EXIT_USAGE;
			continue;
		}
		if ((r = arg_value(argc, argv, &i, "--identity", &v))) {
			if (r < 0)
				return CTL_EXIT_USAGE;
			a->identity = v;
			continue;
		}
		if ((r = arg_value(argc, argv, &i, "--expect-revision", &v))) {
			if (r < 0)
				return CTL_EXIT_USAGE;
			errno = 0;
			a->rev = (double)strtoull(v, &end, 10);
			if (*v < '0' || *v > '9' || *end || errno)
				return usage_err(
					"--expect-revision needs a revision number, not '%s'", v);
			a->has_rev = true;
			continue;
		}
		return usage_err("unexpected argument '%s'", argv[i]);
	}
	if (a->has_rev && !a->apply)
		return usage_err("--expect-revision goes with --apply");
	if (a->apply && a->diff)
		return usage_err("--diff shows, --apply applies: give one of them");
	return 0;
}

/* ------------------------------------------------ what the daemon allows */

/* The daemon's verdict on one port: 1 allowed by rule *@rule, 0 not,
 * or an exit code > 1 (reported). */
static int trace_allows(const struct netseg_suggestion *s, unsigned int port, __u32 *rule)
{
	cJSON *req = req_new("trace"), *reply = NULL;
	const cJSON *reason, *id;
	int code;

	if (!req || !cJSON_AddStringToObject(req, "src", s->src) ||
	    !cJSON_AddStringToObject(req, "dst", s->dst) ||
	    !cJSON_AddStringToObject(req, "proto", netseg_suggest_proto_name(s->proto)) ||
	    ((s->has_port || s->has_icmp) && !cJSON_AddNumberToObject(req, "port", port))) {
		cJSON_Delete(req);
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	code = ctl_call(req, &reply);
	cJSON_Delete(req);
	if (code) {
		/* An identity gone since the flows were seen: not allowed. */
		return code == CTL_EXIT_REJECTED ? 0 : code;
	}
	reason = cJSON_GetObjectItem(reply, "reason");
	id = cJSON_GetObjectItem(reply, "rule_id");
	code = cJSON_IsString(reason) && !strcmp(reason->valuestring, "rule");
	if (code && cJSON_IsNumber(id))
		*rule = (__u32)id->valuedouble;
	cJSON_Delete(reply);
	return code;
}

/* Fills l->allowed: a suggestion is in force when every port of it is. */
static int mark_allowed(struct learned *l)
{
	size_t i;
	unsigned int p;
	int r;

	l->allowed = calloc(l->n ? l->n : 1, sizeof(*l->allowed));
	l->by_rule = calloc(l->n ? l->n : 1, sizeof(*l->by_rule));
	if (!l->allowed || !l->by_rule) {
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	for (i = 0; i < l->n; i++) {
		l->allowed[i] = true;
		for (p = l->s[i].lo; p <= l->s[i].hi && l->allowed[i]; p++) {
			r = trace_allows(&l->s[i], p, &l->by_rule[i]);
			if (r > 1)
				return r;
			l->allowed[i] = r == 1;
		}
	}
	return 0;
}

/* --------------------------------------------------------------- output */

static void hhmmss(__u64 ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm) || !strftime(buf, len, "%H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

static void explain(const struct netseg_suggestion *s, char *buf, size_t len)
{
	char first[16], last[16];
	int n;

	hhmmss(s->first_ns, first, sizeof(first));
	hhmmss(s->last_ns, last, sizeof(last));
	n = snprintf(buf, len, "%u flow%s seen (", s->flows, s->flows == 1 ? "" : "s");
	if (s->audit)
		n += snprintf(buf + n, len - n, "%u audit, ", s->audit);
	if (s->denied)
		n += snprintf(buf + n, len - n, "%u denied, ", s->denied);
	if (s->allowed)
		n += snprintf(buf + n, len - n, "%u allowed, ", s->allowed);
	snprintf(buf + n - 2, len - n + 2, "), first %s UTC, last %s", first, last);
}

static void print_skipped(const struct learned *l, const char *lead)
{
	if (l->skipped.deny_ruled)
		printf("%s%u flows a deny rule dropped are left out (deny beats allow)\n", lead,
		       l->skipped.deny_ruled);
	if (l->skipped.no_grammar)
		printf("%s%u flows of protocols without ports or types (not tcp, udp, sctp, icmp, icmpv6) are left out\n",
		       lead, l->skipped.no_grammar);
}

static int print_rules(const struct learned *l, bool diff)
{
	char rule[2 * NETSEG_SEL_MAX + 32], why[160];
	size_t i, fresh = 0;

	printf("# netsegctl suggest: %zu rules from %zu flow records%s\n", l->n, l->nobs,
	       diff ? "; '+' new, '=' already allowed by the rules in force" : "");
	print_skipped(l, "# ");
	for (i = 0; i < l->n; i++) {
		if (netseg_suggestion_rule(&l->s[i], rule, sizeof(rule)) < 0)
			continue;
		explain(&l->s[i], why, sizeof(why));
		if (!diff) {
			printf("allow %s  # %s\n", rule, why);
		} else if (l->allowed[i]) {
			printf("= allow %s  # %s; allowed by rule %u\n", rule, why, l->by_rule[i]);
		} else {
			printf("+ allow %s  # %s\n", rule, why);
			fresh++;
		}
	}
	if (diff)
		printf("# %zu new, %zu already allowed\n", fresh, l->n - fresh);
	return CTL_EXIT_OK;
}

static cJSON *suggest_json(const struct learned *l)
{
	char rule[2 * NETSEG_SEL_MAX + 32];
	cJSON *o = cJSON_CreateObject(), *arr, *e;
	size_t i;

	arr = cJSON_AddArrayToObject(o, "suggestions");
	if (!arr || !cJSON_AddNumberToObject(o, "flows", (double)l->nobs) ||
	    !cJSON_AddNumberToObject(o, "skipped_deny_rule", l->skipped.deny_ruled) ||
	    !cJSON_AddNumberToObject(o, "skipped_protocol", l->skipped.no_grammar))
		goto oom;
	for (i = 0; i < l->n; i++) {
		if (netseg_suggestion_rule(&l->s[i], rule, sizeof(rule)) < 0)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, e);
		if (!e || !cJSON_AddStringToObject(e, "action", "allow") ||
		    !cJSON_AddStringToObject(e, "rule", rule) ||
		    !cJSON_AddNumberToObject(e, "flows", l->s[i].flows) ||
		    !cJSON_AddNumberToObject(e, "audit", l->s[i].audit) ||
		    !cJSON_AddNumberToObject(e, "denied", l->s[i].denied) ||
		    !cJSON_AddNumberToObject(e, "allowed", l->s[i].allowed) ||
		    (l->allowed && !cJSON_AddBoolToObject(e, "in_force", l->allowed[i])))
			goto oom;
	}
	return o;
oom:
	cJSON_Delete(o);
	return NULL;
}

/* ------------------------------------------------ NetworkPolicy (approx.) */

/* A DNS-1123 label from an identity name: lowercase, '_' and '.' as '-'. */
static void k8s_name(const char *s, char *buf, size_t len)
{
	size_t k = 0;

	for (; *s && k + 1 < len; s++)
		buf[k++] = *s >= 'A' && *s <= 'Z'   ? *s - 'A' + 'a' :
			   (*s == '_' || *s == '.') ? '-' :
						      *s;
	buf[k] = '\0';
}

static bool is_pod(const char *sel)
{
	return strcmp(sel, "world") && strcmp(sel, "host") && !strchr(sel, '/') && strcmp(sel, "*");
}

/* One ingress item: a peer and its port. */
static void yaml_ingress(const struct netseg_suggestion *s)
{
	const char *proto = netseg_proto_k8s_name(s->proto);
	char why[160];

	explain(s, why, sizeof(why));
	printf("  - from:  # %s\n", why);
	if (strchr(s->src, '/'))
		printf("    - ipBlock:\n        cidr: \"%s\"\n", s->src);
	else
		printf("    - podSelector:\n        matchLabels:\n          netseg.io/identity: \"%s\"\n",
		       s->src);
	printf("    ports:\n    - protocol: %s\n      port: %u\n", proto ? proto : "TCP", s->lo);
	if (s->hi != s->lo)
		printf("      endPort: %u\n", s->hi);
}

static int print_yaml(const struct learned *l)
{
	char name[NETSEG_SEL_MAX], rule[2 * NETSEG_SEL_MAX + 32];
	size_t i, j;

	printf("# netsegctl suggest -o yaml: an approximation of the suggested rules.\n"
	       "# One policy per destination identity, selected by the pod label\n"
	       "# netseg.io/identity: NAME; sources the same way, world addresses as\n"
	       "# ipBlocks. Rules a NetworkPolicy can't say are listed as comments.\n");
	for (i = 0; i < l->n; i++) {
		const struct netseg_suggestion *s = &l->s[i];

		if (is_pod(s->dst) && s->has_port && (is_pod(s->src) || strchr(s->src, '/')))
			continue;
		if (netseg_suggestion_rule(s, rule, sizeof(rule)) >= 0)
			printf("# not expressible as ingress from pods or ipBlocks: allow %s\n",
			       rule);
	}
	for (i = 0; i < l->n; i = j) {
		for (j = i; j < l->n && !strcmp(l->s[j].dst, l->s[i].dst); j++)
			;
		if (!is_pod(l->s[i].dst))
			continue;
		k8s_name(l->s[i].dst, name, sizeof(name));
		printf("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
		       "  name: netseg-learned-%s\nspec:\n  podSelector:\n    matchLabels:\n"
		       "      netseg.io/identity: \"%s\"\n  policyTypes:\n  - Ingress\n  ingress:\n",
		       name, l->s[i].dst);
		for (size_t k = i; k < j; k++) {
			const struct netseg_suggestion *s = &l->s[k];

			if (s->has_port && (is_pod(s->src) || strchr(s->src, '/')))
				yaml_ingress(s);
		}
	}
	return CTL_EXIT_OK;
}

/* ---------------------------------------------------------------- apply */

/* The rules in force as a JSON rule set, and their revision. */
static int rules_in_force(cJSON **set, double *rev)
{
	static const char *const keep[] = { "id", "action", "rule", "audit", "log", "comment" };
	cJSON *req = req_new("rule.list"), *reply = NULL, *rules, *r, *o;
	const cJSON *v;
	int code;
	size_t k;

	if (!req) {
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	code = ctl_call(req, &reply);
	cJSON_Delete(req);
	if (code)
		return code;
	v = cJSON_GetObjectItem(reply, "revision");
	rules = cJSON_GetObjectItem(reply, "rules");
	*set = cJSON_CreateObject();
	if (!cJSON_IsNumber(v) || !cJSON_IsArray(rules)) {
		cJSON_Delete(reply);
		proto_err("rule.list has no rules or revision");
		return CTL_EXIT_INTERNAL;
	}
	*rev = v->valuedouble;
	o = cJSON_AddArrayToObject(*set, "rules");
	cJSON_ArrayForEach(r, rules) {
		cJSON *c = cJSON_CreateObject();

		cJSON_AddItemToArray(o, c);
		for (k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
			v = cJSON_GetObjectItem(r, keep[k]);
			if (v && !(cJSON_IsString(v) && !v->valuestring[0]))
				cJSON_AddItemToObject(c, keep[k], cJSON_Duplicate(v, true));
		}
	}
	cJSON_Delete(reply);
	return CTL_EXIT_OK;
}

static int apply_learned(const struct learned *l, const struct suggest_args *a)
{
	char rule[2 * NETSEG_SEL_MAX + 32], comment[64];
	cJSON *set = NULL, *req = NULL, *reply = NULL, *e;
	size_t i, added = 0;
	double rev;
	char *text = NULL;
	int code;

	code = rules_in_force(&set, &rev);
	if (code)
		goto out;
	for (i = 0; i < l->n; i++) {
		if (l->allowed[i] || netseg_suggestion_rule(&l->s[i], rule, sizeof(rule)) < 0)
			continue;
		snprintf(comment, sizeof(comment), "learned from %u flows", l->s[i].flows);
		e = cJSON_CreateObject();
		cJSON_AddItemToArray(cJSON_GetObjectItem(set, "rules"), e);
		if (!e || !cJSON_AddStringToObject(e, "action", "allow") ||
		    !cJSON_AddStringToObject(e, "rule", rule) ||
		    !cJSON_AddStringToObject(e, "comment", comment)) {
			p_err("out of memory");
			code = CTL_EXIT_INTERNAL;
			goto out;
		}
		added++;
	}
	if (!added) {
		printf("nothing to apply: the rules in force allow every observed flow\n");
		goto out;
	}
	text = cJSON_PrintUnformatted(set);
	req = req_new("apply");
	if (!text || !req || !cJSON_AddStringToObject(req, "name", "suggest") ||
	    !cJSON_AddStringToObject(req, "text", text) ||
	    !cJSON_AddNumberToObject(req, "expect_revision", a->has_rev ? a->rev : rev)) {
		p_err("out of memory");
		code = CTL_EXIT_INTERNAL;
		goto out;
	}
	code = ctl_call(req, &reply);
	if (code)
		goto out;
	if (out_json()) {
		cJSON_DeleteItemFromObjectCaseSensitive(reply, "ok");
		code = print_json(reply) ? CTL_EXIT_INTERNAL : CTL_EXIT_OK;
	} else {
		printf("applied %zu new rules (revision %.0f)\n", added,
		       cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "revision")));
	}
out:
	free(text);
	cJSON_Delete(set);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	return code;
}

int do_suggest(int argc, char **argv)
{
	const char *fmt = learn_format ? learn_format : "rules";
	struct suggest_args a = {};
	struct learned l = {};
	struct netseg_flowagg *agg = NULL;
	struct netseg_obs *obs = NULL;
	size_t nagg;
	cJSON *j;
	int ret;

	ret = suggest_args(argc, argv, &a);
	if (ret)
		return ret;
	if (strcmp(fmt, "rules") && strcmp(fmt, "yaml"))
		return usage_err("suggest writes rules, yaml or json, not %s", fmt);
	if (!strcmp(fmt, "yaml") && (a.diff || a.apply))
		return usage_err("-o yaml is for review; --diff and --apply work on rules");
	ret = learn_fetch(a.since, &obs, &l.nobs);
	if (ret)
		return ret;
	if (netseg_flowagg_build(obs, l.nobs, true, &agg, &nagg) ||
	    netseg_suggest(agg, nagg, a.identity, &l.s, &l.n, &l.skipped)) {
		p_err("out of memory");
		ret = CTL_EXIT_INTERNAL;
		goto out;
	}
	if ((a.diff || a.apply) && (ret = mark_allowed(&l)))
		goto out;
	if (a.apply) {
		ret = apply_learned(&l, &a);
	} else if (out_json()) {
		j = suggest_json(&l);
		ret = j && !print_json(j) ? CTL_EXIT_OK : CTL_EXIT_INTERNAL;
		if (!j)
			p_err("out of memory");
		cJSON_Delete(j);
	} else if (!strcmp(fmt, "yaml")) {
		ret = print_yaml(&l);
	} else {
		ret = print_rules(&l, a.diff);
	}
out:
	free(l.allowed);
	free(l.by_rule);
	free(l.s);
	free(agg);
	free(obs);
	return ret;
}
