// SPDX-License-Identifier: GPL-2.0-only
/*
 * The one path every change takes: compile the candidate rule set against
 * the candidate identities, write identity maps, swap the policy map
 * (which bumps the generation), then persist.  Nothing is applied when
 * compiling fails; when persisting fails the old state is put back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "netsegd.h"
#include "text.h"

static int resolve_cb(const char *sel, __u32 *id, void *ctx)
{
	struct netseg_idstore *ids = ctx;
	const struct netseg_iddef *d;

	if (strchr(sel, '/'))
		return netseg_id_cidr(ids, sel, id);
	d = netseg_id_by_name(ids, sel);
	if (!d || d->cidr_only)
		return -ENOENT;
	*id = d->id;
	return 0;
}

/*
 * The names (for "did you mean" suggestions) are copies, kept in the same
 * allocation as the array so one free() releases both: resolving a CIDR
 * selector adds an identity to @ids, and the realloc that takes may move
 * the store the names would otherwise point into.
 */
int netsegd_resolver(struct netsegd *d, struct netseg_idstore *ids, struct netseg_resolver *res,
		     const char ***names)
{
	size_t n = 0, bytes = 0;
	char *p;

	for (size_t i = 0; i < ids->n; i++)
		if (!ids->v[i].cidr_only)
			bytes += strlen(ids->v[i].name) + 1;
	*names = calloc(1, (ids->n + 1) * sizeof(**names) + bytes);
	if (!*names)
		return -ENOMEM;
	p = (char *)(*names + ids->n + 1);
	for (size_t i = 0; i < ids->n; i++) {
		if (ids->v[i].cidr_only)
			continue;
		strcpy(p, ids->v[i].name);
		(*names)[n++] = p;
		p += strlen(p) + 1;
	}
	res->resolve = resolve_cb;
	res->ctx = ids;
	res->names = *names;
	res->nnames = n;
	return 0;
}

static bool rules_use(const struct netseg_ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->rules[i].src, name) || !strcmp(rs->rules[i].dst, name))
			return true;
	return false;
}

/* CIDR identities live exactly as long as a rule names their CIDR. */
static void gc_cidr_ids(struct netseg_idstore *ids, const struct netseg_ruleset *rs)
{
	for (size_t i = 0; i < ids->n;) {
		if (ids->v[i].cidr_only && !rules_use(rs, ids->v[i].name))
			ids->v[i] = ids->v[--ids->n];
		else
			i++;
	}
}

/* An identity's CIDR is one claim among others on its prefix: a host route
 * or a node address on the same prefix can come and go without taking it. */
static int cidr_claim(struct netsegd *d, const char *cidr, __u32 id, bool add)
{
	struct netseg_ipsrc s = { .kind = NETSEG_IPSRC_CIDR, .id = id };
	struct netseg_prefix p;

	if (netseg_prefix_parse(cidr, &p, NULL))
		return -EINVAL;
	return netsegd_ip_update(d, p.family, p.addr, p.plen, &s,
				 add ? NETSEGD_IP_CLAIM : NETSEGD_IP_UNCLAIM);
}

static bool has_cidr(const struct netseg_iddef *def, const char *cidr)
{
	for (unsigned int i = 0; def && i < def->ncidrs; i++)
		if (!strcmp(def->cidrs[i], cidr))
			return true;
	return false;
}

/* Identity flags and CIDR claims: add/refresh the new, drop what the old
 * store had and the new one doesn't. */
int netsegd_sync_identities(struct netsegd *d, const struct netseg_idstore *old)
{
	const struct netseg_idstore *ids = &d->pol.ids;
	int err;

	for (size_t i = 0; i < ids->n; i++) {
		const struct netseg_iddef *n = &ids->v[i];

		err = netseg_dp_identity_set(d->dp, n->id, netsegd_identity_flags(d, n));
		for (unsigned int c = 0; !err && c < n->ncidrs; c++)
			err = cidr_claim(d, n->cidrs[c], n->id, true);
		if (err)
			return err;
	}
	for (size_t i = 0; old && i < old->n; i++) {
		const struct netseg_iddef *o = &old->v[i];
		const struct netseg_iddef *n = netseg_id_by_id(ids, o->id);

		if (!n && !netseg_dp_identity_del(d->dp, o->id))
			d->eps.gen_dirty = true;
		for (unsigned int c = 0; c < o->ncidrs; c++)
			if (!has_cidr(n, o->cidrs[c]))
				cidr_claim(d, o->cidrs[c], o->id, false);
	}
	return 0;
}

static int compile_into(struct netsegd *d, struct netseg_ruleset *rules, struct netseg_idstore *ids,
			struct netseg_policy *out, struct netseg_err *err)
{
	struct netseg_resolver res;
	const char **names;
	int r = netsegd_resolver(d, ids, &res, &names);

	if (r)
		return r;
	if (netsegd_k8s_active(d)) {
		r = netsegd_k8s_compile(d, rules, ids, &res, out, err);
	} else {
		netsegd_k8s_compile_none(d);
		r = netseg_compile(rules->rules, rules->n, &res, d->cfg.max_entries, out, err);
	}
	free(names);
	return r;
}

static int swap_in(struct netsegd *d, struct netseg_policy *pol)
{
	int err = netseg_dp_policy_swap(d->dp, pol->v, pol->n, NULL);

	if (!err)
		d->pol.entries = pol->n;
	return err;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

const double netsegd_apply_buckets[NETSEGD_APPLY_BUCKETS] = {
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* Kept whether or not metrics are served: a few adds per apply. */
static void apply_time(struct netsegd_apply_stats *st, double seconds)
{
	for (size_t i = 0; i < NETSEGD_APPLY_BUCKETS; i++)
		if (seconds <= netsegd_apply_buckets[i])
			st->count[i]++;
	st->n++;
	st->sum += seconds;
}

int netsegd_commit(struct netsegd *d, struct netseg_ruleset *rules, struct netseg_idstore *ids,
		   struct netseg_err *err)
{
	struct netseg_policy pol = {};
	struct netseg_ruleset old_rules = d->pol.rules;
	struct netseg_idstore old_ids = d->pol.ids;
	double t_compile, t_maps, t_swap;
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = compile_into(d, rules, ids, &pol, err);
	if (r) {
		netsegd_k8s_settle(d);
		goto out;
	}
	t_compile = ms_since(&t0);
	gc_cidr_ids(ids, rules);
	/* From here on the candidate is the state; undo on failure. */
	d->pol.rules = *rules;
	d->pol.ids = *ids;
	netsegd_k8s_enter(d);
	r = netsegd_sync_identities(d, &old_ids);
	if (!r)
		r = netsegd_k8s_sync_maps(d);
	if (!r)
		r = netsegd_sync_endpoints(d);
	t_maps = ms_since(&t0);
	if (!r)
		r = swap_in(d, &pol);
	t_swap = ms_since(&t0);
	if (!r) {
		d->pol.revision++;
		r = netsegd_state_save_change(d, &old_rules);
		if (r) {
			d->pol.revision--;
			/* The datapath took it but the state file didn't: say
			 * where and why, with the errno name (ENOSPC, EROFS). */
			netsegd_state_error(d, r, "the change was not applied", err);
		}
	}
	pr_info("commit of %zu rules (%zu entries): compiled %.1f ms, id maps %.1f ms, "
		"swapped %.1f ms, saved %.1f ms",
		rules->n ? rules->n : d->pol.rules.n, pol.n, t_compile, t_maps - t_compile,
		t_swap - t_maps, ms_since(&t0) - t_swap);
	if (!r) /* only applies that took effect: a refusal is no latency */
		apply_time(&d->pol.apply_stats, ms_since(&t0) / 1000);
	if (r) {
		if (!err->msg[0])
			netseg_err_set(err, 0, "%s: the change was not applied", strerror(-r));
		d->pol.rules = old_rules;
		d->pol.ids = old_ids;
		netsegd_k8s_undo(d);
		netseg_policy_free(&pol);
		if (compile_into(d, &d->pol.rules, &d->pol.ids, &pol, NULL)) {
			/* Out of memory: entering a half-made compile would take
			 * pods' programs away.  The maps keep the refused
			 * change's entries until the next commit rewrites them. */
			pr_err("couldn't compile the policy in force again after a refused "
			       "change; the maps keep the refused one until the next change");
			netsegd_k8s_settle(d);
			goto out;
		}
		netsegd_k8s_enter(d);
		netsegd_sync_identities(d, ids);
		netsegd_k8s_sync_maps(d);
		netsegd_sync_endpoints(d);
		swap_in(d, &pol);
		netsegd_k8s_settle(d);
		goto out;
	}
	netsegd_k8s_settle(d);
	/* The candidates now own their memory; release the old state's. */
	netseg_ruleset_free(&old_rules);
	netseg_idstore_free(&old_ids);
	rules->rules = NULL;
	rules->n = rules->cap = 0;
	ids->v = NULL;
	ids->n = ids->cap = 0;
out:
	netseg_policy_free(&pol);
	return r;
}

/* ------------------------------------------------------------ prefilter */

int netsegd_prefilter_apply(struct netsegd *d, const char *text, bool add, struct netseg_err *err)
{
	char canon[NETSEG_PREFIX_STRLEN], shown[64];
	struct netseg_prefix p;
	struct netseg_err pe;
	size_t i;
	int r;

	if (netseg_prefix_parse(text, &p, &pe))
		return netseg_err_set(err, 0, "prefilter CIDR \"%s\", column %d: %s",
				      netseg_printable(text, shown, sizeof(shown)), pe.col, pe.msg);
	netseg_prefix_format(&p, canon, sizeof(canon));
	for (i = 0; i < d->pol.nprefilter; i++)
		if (!strcmp(d->pol.prefilter[i].cidr, canon))
			break;
	if (add && i < d->pol.nprefilter)
		return 0; /* idempotent */
	if (!add && i == d->pol.nprefilter) {
		netseg_err_set(err, 0, "%s is not on the prefilter list", canon);
		return -ENOENT;
	}
	if (add && d->pol.nprefilter >= d->cfg.prefilter_max) {
		netseg_err_set(err, 0, "prefilter list is full (%u entries; raise prefilter_max)",
			       d->cfg.prefilter_max);
		return -ENOSPC;
	}
	r = add ? netseg_dp_prefilter_set(d->dp, &p) : netseg_dp_prefilter_del(d->dp, &p);
	if (r) {
		netseg_err_set(err, 0, "couldn't update the prefilter map: %s", strerror(-r));
		return r;
	}
	if (add)
		strcpy(d->pol.prefilter[d->pol.nprefilter++].cidr, canon);
	else
		d->pol.prefilter[i] = d->pol.prefilter[--d->pol.nprefilter];
	d->pol.revision++;
	r = netsegd_state_save(d);
	if (r) {
		/* Put the map back as the saved state says. */
		if (add) {
			netseg_dp_prefilter_del(d->dp, &p);
			d->pol.nprefilter--;
		} else {
			netseg_dp_prefilter_set(d->dp, &p);
			strcpy(d->pol.prefilter[d->pol.nprefilter++].cidr, canon);
		}
		d->pol.revision--;
		netsegd_state_error(d, r, "nothing changed", err);
	}
	return r;
}
