// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control requests: a table of commands, each one JSON object in and out;
 * the handlers live in cmd_*.c by object (cmd.h).
 */
#include <string.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "netsegd.h"

static const struct {
	const char *name;
	CMD_HANDLER((*fn));
} commands[] = {
	{ "status", cmd_status },
	{ "stats", cmd_stats },
	{ "identity.add", cmd_identity_add },
	{ "identity.list", cmd_identity_list },
	{ "identity.remove", cmd_identity_remove },
	{ "identity.set", cmd_identity_set },
	{ "endpoint.list", cmd_endpoint_list },
	{ "endpoint.register", cmd_endpoint_register },
	{ "endpoint.unregister", cmd_endpoint_unregister },
	{ "endpoint.check", cmd_endpoint_check },
	{ "endpoint.label", cmd_endpoint_label },
	{ "endpoint.unlabel", cmd_endpoint_unlabel },
	{ "rule.add", cmd_rule_add },
	{ "rule.remove", cmd_rule_remove },
	{ "rule.list", cmd_rule_list },
	{ "rule.set", cmd_rule_set },
	{ "apply", cmd_apply },
	{ "diff", cmd_diff },
	{ "trace", cmd_trace },
	{ "prefilter.add", cmd_prefilter_add },
	{ "prefilter.remove", cmd_prefilter_remove },
	{ "prefilter.list", cmd_prefilter_list },
	{ "prefilter.replace", cmd_prefilter_replace },
	{ "attach", cmd_attach },
	{ "detach", cmd_detach },
	{ "flows", cmd_flows },
	{ "k8s.apply", cmd_k8s_apply },
	{ "k8s.delete", cmd_k8s_delete },
	{ "k8s.get", cmd_k8s_get },
	{ "node.list", cmd_node_list },
};

cJSON *netsegd_dispatch(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const char *cmd = cmd_arg_str(req, "cmd");

	if (!cmd)
		return netsegd_reply_error("usage", "request has no \"cmd\" string");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(d, req, io);
	return netsegd_reply_error("usage", "unknown command \"%.64s\"", cmd);
}
