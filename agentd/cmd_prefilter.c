// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP prefilter's CIDR deny list: add, remove, list with hit counts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "log.h"
#include "netsegd.h"

static cJSON *cmd_prefilter(struct netsegd *d, const cJSON *req, bool add)
{
	const char *cidr = cmd_arg_str(req, "cidr");
	struct netseg_err err = {};
	int r;
	cJSON *o;

	if (!cidr)
		return netsegd_reply_error("usage", "prefilter add|remove needs a CIDR");
	r = netsegd_prefilter_apply(d, cidr, add, &err);
	if (r)
		return netsegd_reply_error(r == -EINVAL || r == -ENOENT ? "rejected" : "internal",
					   "%s", err.msg);
	o = cmd_reply_ok();
	cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	return o;
}

cJSON *cmd_prefilter_add(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	return cmd_prefilter(d, req, true);
}

cJSON *cmd_prefilter_remove(struct netsegd *d, const cJSON *req,
			    const struct netsegd_follower_io *io)
{
	return cmd_prefilter(d, req, false);
}

cJSON *cmd_prefilter_list(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	int fd = netseg_dp_map_fd(d->dp, NETSEG_DPM_PREFILTER);
	cJSON *o = cmd_reply_ok(), *a = cJSON_AddArrayToObject(o, "prefilter");

	for (size_t i = 0; i < d->pol.nprefilter; i++) {
		struct netseg_prefilter_val v = {};
		struct netseg_lpm_key k;
		struct netseg_prefix p;
		cJSON *x = cJSON_CreateObject();

		if (!netseg_prefix_parse(d->pol.prefilter[i].cidr, &p, NULL)) {
			netseg_prefix_to_lpm(&p, &k);
			bpf_map_lookup_elem(fd, &k, &v);
		}
		cJSON_AddStringToObject(x, "cidr", d->pol.prefilter[i].cidr);
		cJSON_AddNumberToObject(x, "hits", v.hits);
		cJSON_AddItemToArray(a, x);
	}
	return o;
}

static cJSON *add_prefixes(cJSON *o, const char *key, const struct netseg_prefix *v, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(o, key);
	char s[NETSEG_PREFIX_STRLEN];

	for (size_t i = 0; a && i < n; i++) {
		netseg_prefix_format(&v[i], s, sizeof(s));
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(s)))
			return NULL;
	}
	return a;
}

/* {"name", "text", "dry_run"}: the list replaced by the text's; the reply
 * lists what was (or, dry, would be) added and removed. */
cJSON *cmd_prefilter_replace(struct netsegd *d, const cJSON *req,
			     const struct netsegd_follower_io *io)
{
	const char *text = cmd_arg_str(req, "text"), *name = cmd_arg_str(req, "name") ?: "request";
	bool dry = cmd_arg_bool(req, "dry_run");
	struct netsegd_pf_diff df = {};
	struct netseg_prefix *want = NULL;
	struct netseg_err err = {};
	size_t n = 0;
	cJSON *o;
	int r;

	if (!text)
		return netsegd_reply_error("usage", "prefilter apply needs the list's text");
	r = netseg_prefix_list_parse(name, text, &want, &n, &err);
	if (!r)
		r = netsegd_prefilter_replace(d, want, n, dry, &df, &err);
	free(want);
	if (r)
		return netsegd_reply_error(r == -EINVAL || r == -ENOSPC ? "rejected" : "internal",
					   "%s", err.msg);
	o = cmd_reply_ok();
	if (!add_prefixes(o, "added", df.add, df.nadd) ||
	    !add_prefixes(o, "removed", df.del, df.ndel)) {
		cJSON_Delete(o);
		netsegd_pf_diff_free(&df);
		return netsegd_reply_error("internal", "out of memory");
	}
	cJSON_AddNumberToObject(o, "prefixes", n);
	cJSON_AddNumberToObject(o, "revision", d->pol.revision);
	cJSON_AddBoolToObject(o, "dry_run", dry);
	cJSON_AddBoolToObject(o, "unchanged", !df.nadd && !df.ndel);
	netsegd_pf_diff_free(&df);
	return o;
}
