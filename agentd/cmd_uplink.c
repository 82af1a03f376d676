// SPDX-License-Identifier: GPL-2.0-only
/*
 * `attach` and `detach` of uplinks: XDP prefilter plus TC on the node's
 * external interfaces, saved with the state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "hook.h"
#include "log.h"
#include "netsegd.h"

static cJSON *state_error(struct netsegd *d, int err, const char *what)
{
	struct netseg_err e;

	netsegd_state_error(d, err, what, &e);
	return netsegd_reply_error("internal", "%s", e.msg);
}

static int uplink_index(struct netsegd *d, const char *name)
{
	for (unsigned int i = 0; i < d->cfg.nuplinks; i++)
		if (!strcmp(d->cfg.uplinks[i], name))
			return i;
	return -1;
}

/* What an uplink gets: the XDP prefilter and TC both ways. */
static void uplink_hooks(cJSON *a)
{
	static const int hooks[] = { NETSEG_HOOK_XDP, NETSEG_HOOK_TC_INGRESS,
				     NETSEG_HOOK_TC_EGRESS };

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(netseg_hook_attached_name(hooks[i])));
}

cJSON *cmd_attach(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const char *name = cmd_arg_str(req, "iface");
	int ifindex = name ? if_nametoindex(name) : 0, err;
	char idname[NETSEG_NAME_MAX];
	__u32 ep;
	cJSON *o;

	if (!name || strlen(name) >= IF_NAMESIZE)
		return netsegd_reply_error("usage", "attach needs an interface name");
	if (!ifindex)
		return netsegd_reply_error("rejected", "couldn't attach to %s: interface not found",
					   name);
	ep = netsegd_endpoint_id(d, ifindex);
	if (ep)
		/* Its own programs enforce it; as an uplink it would lose them. */
		return netsegd_reply_error(
			"rejected",
			"%s is the endpoint of identity %s; uplinks are the node's external interfaces",
			name, netseg_id_name(&d->pol.ids, ep, idname, sizeof(idname)));
	/* Marked first: the programs never run there without anti-spoofing. */
	err = netseg_dp_uplink_set(d->dp, ifindex);
	err = err ?: netseg_dp_attach_xdp(d->dp, ifindex);
	err = err ?: netseg_dp_attach_tc(d->dp, ifindex, true);
	err = err ?: netseg_dp_attach_tc(d->dp, ifindex, false);
	if (err)
		return netsegd_reply_error("internal", "couldn't attach to %s: %s", name,
					   strerror(-err));
	if (uplink_index(d, name) < 0 && d->cfg.nuplinks < NETSEGD_MAX_UPLINKS) {
		strcpy(d->cfg.uplinks[d->cfg.nuplinks++], name);
		err = netsegd_state_save(d);
		if (err) {
			/* Attached but not saved would be forgotten on restart:
			 * undo, as the commit path does. */
			d->cfg.nuplinks--;
			netseg_dp_detach_xdp(d->dp, ifindex);
			netseg_dp_detach_tc(d->dp, ifindex, true);
			netseg_dp_detach_tc(d->dp, ifindex, false);
			netseg_dp_endpoint_del(d->dp, ifindex);
			return state_error(d, err, "nothing attached");
		}
	}
	o = cmd_reply_ok();
	cJSON_AddStringToObject(o, "iface", name);
	cJSON_AddNumberToObject(o, "ifindex", ifindex);
	cJSON *a = cJSON_AddArrayToObject(o, "attached");
	uplink_hooks(a);
	return o;
}

cJSON *cmd_detach(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const char *name = cmd_arg_str(req, "iface");
	int ifindex = name ? if_nametoindex(name) : 0, i, err;
	cJSON *o, *a;

	if (!name)
		return netsegd_reply_error("usage", "detach needs an interface name");
	i = uplink_index(d, name);
	if (i < 0)
		return netsegd_reply_error("rejected", "%s is not an attached uplink", name);
	/* Saved first, detached after: a state file that can't be written
	 * leaves the uplink enforced without a moment's gap. */
	memmove(d->cfg.uplinks[i], d->cfg.uplinks[i + 1],
		(d->cfg.nuplinks - i - 1) * sizeof(d->cfg.uplinks[0]));
	d->cfg.nuplinks--;
	err = netsegd_state_save(d);
	if (err) {
		memmove(d->cfg.uplinks[i + 1], d->cfg.uplinks[i],
			(d->cfg.nuplinks - i) * sizeof(d->cfg.uplinks[0]));
		strcpy(d->cfg.uplinks[i], name);
		d->cfg.nuplinks++;
		return state_error(d, err, "still attached");
	}
	if (ifindex) {
		/* A detach that didn't happen must not look like one. */
		int err = netseg_dp_detach_xdp(d->dp, ifindex);

		if (err)
			return netsegd_reply_error("internal",
						   "couldn't detach the XDP prefilter from %s: %s",
						   name, strerror(-err));
		netseg_dp_detach_tc(d->dp, ifindex, true);
		netseg_dp_detach_tc(d->dp, ifindex, false);
		netseg_dp_endpoint_del(d->dp, ifindex);
	}
	o = cmd_reply_ok();
	cJSON_AddStringToObject(o, "iface", name);
	cJSON_AddNumberToObject(o, "ifindex", ifindex);
	a = cJSON_AddArrayToObject(o, "detached");
	if (ifindex)
		uplink_hooks(a);
	return o;
}
