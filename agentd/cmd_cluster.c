// SPDX-License-Identifier: GPL-2.0-only
/* node.list: the nodes of the cluster as this one sees them (cluster.c). */
#include <cjson/cJSON.h>

#include "cmd.h"
#include "netsegd.h"

cJSON *cmd_node_list(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	cJSON *o = netsegd_cluster_nodes_json(d);

	if (!o)
		return netsegd_reply_error("internal", "out of memory");
	cJSON_AddBoolToObject(o, "ok", true);
	return o;
}
