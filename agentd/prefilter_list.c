// SPDX-License-Identifier: GPL-2.0-only
/*
 * The prefilter list replaced whole (`netsegctl prefilter apply -f`): a
 * threat feed of 100k CIDRs goes in as one change, one map pass over the
 * differences, one state-file write and one revision, where adding them
 * one by one would write the state file 100k times.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netsegd.h"

void netsegd_pf_diff_free(struct netsegd_pf_diff *df)
{
	free(df->add);
	free(df->del);
	memset(df, 0, sizeof(*df));
}

/* The list in force as prefixes, sorted: the state file's order is
 * whatever the adds and removes left. */
static int current_list(const struct netsegd *d, struct netseg_prefix **out, size_t *n)
{
	struct netseg_prefix *v = calloc(d->pol.nprefilter + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	/* Every entry was parsed before it went in; one that no longer
	 * parses can't be in the map either. */
	for (size_t i = 0; i < d->pol.nprefilter; i++)
		if (!netseg_prefix_parse(d->pol.prefilter[i].cidr, &v[k], NULL))
			k++;
	*n = netseg_prefix_sort_unique(v, k);
	*out = v;
	return 0;
}

/* Both lists sorted and unique: what @want lacks of @have goes to del,
 * what @have lacks of @want to add. */
static int diff_lists(const struct netseg_prefix *have, size_t nh, const struct netseg_prefix *want,
		      size_t nw, struct netsegd_pf_diff *df)
{
	size_t i = 0, j = 0;
	int c;

	df->add = malloc((nw + 1) * sizeof(*df->add));
	df->del = malloc((nh + 1) * sizeof(*df->del));
	if (!df->add || !df->del)
		return -ENOMEM;
	while (i < nh || j < nw) {
		c = i == nh ? 1 : j == nw ? -1 : netseg_prefix_cmp(&have[i], &want[j]);
		if (c < 0)
			df->del[df->ndel++] = have[i++];
		else if (c > 0)
			df->add[df->nadd++] = want[j++];
		else
			i++, j++;
	}
	return 0;
}

/*
 * Deletes first, so that the map never holds old and new lists at once
 * (it is sized for prefilter_max, not twice that).  A source on both
 * lists is never touched and keeps its hit counter.  On a failure the
 * first @nd deletes and @na adds are undone, in reverse.
 */
static void map_undo(struct netsegd *d, const struct netsegd_pf_diff *df, size_t nd, size_t na)
{
	while (na)
		netseg_dp_prefilter_del(d->dp, &df->add[--na]);
	while (nd)
		netseg_dp_prefilter_set(d->dp, &df->del[--nd]);
}

static int map_apply(struct netsegd *d, const struct netsegd_pf_diff *df, struct netseg_err *err)
{
	char shown[NETSEG_PREFIX_STRLEN];
	size_t nd, na;
	int r = 0;

	for (nd = 0; nd < df->ndel && !r; nd++) {
		r = netseg_dp_prefilter_del(d->dp, &df->del[nd]);
		if (r == -ENOENT)
			r = 0; /* already out of the map: what we want */
	}
	if (r) {
		netseg_prefix_format(&df->del[--nd], shown, sizeof(shown));
		map_undo(d, df, nd, 0);
		netseg_err_set(err, 0,
			       "couldn't remove %s from the prefilter map: %s; "
			       "the old list is back in place",
			       shown, strerror(-r));
		return r;
	}
	for (na = 0; na < df->nadd && !r; na++)
		r = netseg_dp_prefilter_set(d->dp, &df->add[na]);
	if (r) {
		netseg_prefix_format(&df->add[--na], shown, sizeof(shown));
		map_undo(d, df, nd, na);
		netseg_err_set(
			err, 0,
			"couldn't add %s to the prefilter map: %s%s; the old list is back in place",
			shown, strerror(-r),
			r == -ENOSPC || r == -E2BIG ? " (map is full; raise prefilter_max)" : "");
	}
	return r;
}

/* The new list into d->pol and the state file; the old one back (and 0
 * kept) if the file can't be written. */
static int commit_list(struct netsegd *d, const struct netseg_prefix *want, size_t n,
		       struct netseg_err *err)
{
	size_t old_n = d->pol.nprefilter, sz = sizeof(*d->pol.prefilter);
	struct netsegd_prefix *old = malloc((old_n + 1) * sz);
	int r;

	if (!old) {
		netseg_err_set(err, 0, "out of memory");
		return -ENOMEM;
	}
	memcpy(old, d->pol.prefilter, old_n * sz);
	for (size_t i = 0; i < n; i++)
		netseg_prefix_format(&want[i], d->pol.prefilter[i].cidr,
				     sizeof(d->pol.prefilter[i].cidr));
	d->pol.nprefilter = n;
	d->pol.revision++;
	r = netsegd_state_save(d);
	if (r) {
		memcpy(d->pol.prefilter, old, old_n * sz);
		d->pol.nprefilter = old_n;
		d->pol.revision--;
		netsegd_state_error(d, r, "nothing changed", err);
	}
	free(old);
	return r;
}

int netsegd_prefilter_replace(struct netsegd *d, const struct netseg_prefix *want, size_t n,
			      bool dry_run, struct netsegd_pf_diff *df, struct netseg_err *err)
{
	struct netseg_prefix *have = NULL;
	size_t nh;
	int r;

	memset(df, 0, sizeof(*df));
	if (n > d->cfg.prefilter_max) {
		netseg_err_set(err, 0,
			       "the list holds %zu prefixes, more than prefilter_max (%u); "
			       "raise prefilter_max in the config",
			       n, d->cfg.prefilter_max);
		return -ENOSPC;
	}
	r = current_list(d, &have, &nh);
	if (!r)
		r = diff_lists(have, nh, want, n, df);
	free(have);
	if (r) {
		netseg_err_set(err, 0, "out of memory");
		goto out;
	}
	if (dry_run || (!df->nadd && !df->ndel))
		goto out;
	r = map_apply(d, df, err);
	if (r)
		goto out;
	r = commit_list(d, want, n, err);
	if (r)
		map_undo(d, df, df->ndel, df->nadd);
out:
	if (r)
		netsegd_pf_diff_free(df);
	return r;
}
