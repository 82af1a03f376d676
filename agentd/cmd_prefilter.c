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
