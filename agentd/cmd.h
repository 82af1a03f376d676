/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control commands, one file per object (cmd_status.c, cmd_identity.c,
 * cmd_rule.c, cmd_trace.c, cmd_prefilter.c, cmd_uplink.c, cmd_flows.c,
 * cmd_k8s.c),
 * dispatched by commands.c's table; what they share is in cmd_common.c.
 * Private to agentd/: the rest of the daemon sees netsegd_dispatch().
 */
#ifndef NETSEGD_CMD_H
#define NETSEGD_CMD_H

#include <stdbool.h>
#include <linux/types.h>

struct cJSON;
struct netsegd;
struct netsegd_follower_io;
struct netseg_ruleset;
struct netseg_idstore;
struct netseg_err;
struct netseg_errlist;

/* A handler: one request in, its reply out (NULL: a stream took over). */
#define CMD_HANDLER(name)                                              \
	struct cJSON *name(struct netsegd *d, const struct cJSON *req, \
			   const struct netsegd_follower_io *io)

CMD_HANDLER(cmd_status);
CMD_HANDLER(cmd_stats);
CMD_HANDLER(cmd_identity_add);
CMD_HANDLER(cmd_identity_list);
CMD_HANDLER(cmd_identity_remove);
CMD_HANDLER(cmd_identity_set);
CMD_HANDLER(cmd_endpoint_list);
CMD_HANDLER(cmd_endpoint_register);
CMD_HANDLER(cmd_endpoint_unregister);
CMD_HANDLER(cmd_endpoint_check);
CMD_HANDLER(cmd_endpoint_label);
CMD_HANDLER(cmd_endpoint_unlabel);
CMD_HANDLER(cmd_rule_add);
CMD_HANDLER(cmd_rule_remove);
CMD_HANDLER(cmd_rule_list);
CMD_HANDLER(cmd_rule_set);
CMD_HANDLER(cmd_apply);
CMD_HANDLER(cmd_diff);
CMD_HANDLER(cmd_trace);
CMD_HANDLER(cmd_prefilter_add);
CMD_HANDLER(cmd_prefilter_remove);
CMD_HANDLER(cmd_prefilter_list);
CMD_HANDLER(cmd_prefilter_replace);
CMD_HANDLER(cmd_attach);
CMD_HANDLER(cmd_detach);
CMD_HANDLER(cmd_flows);
CMD_HANDLER(cmd_k8s_apply);
CMD_HANDLER(cmd_k8s_delete);
CMD_HANDLER(cmd_k8s_get);
CMD_HANDLER(cmd_node_list);

/* cmd_common.c */
struct cJSON *cmd_reply_ok(void);
/* A string or true member of the request, NULL / false when absent. */
const char *cmd_arg_str(const struct cJSON *req, const char *key);
bool cmd_arg_bool(const struct cJSON *req, const char *key);
int cmd_ruleset_copy(struct netseg_ruleset *dst, const struct netseg_ruleset *src);
const char *cmd_verdict_name(__u8 v);
/*
 * Candidate = current state + change, through the one commit path; takes
 * @rules and @ids.  Returns 0 or -errno; *reply is the answer either way.
 */
int cmd_commit(struct netsegd *d, struct netseg_ruleset *rules, struct netseg_idstore *ids,
	       struct cJSON **reply);
/* A failed commit's reply: "rejected" for what the input asked
 * (-EINVAL, -ENOENT, -E2BIG), else "internal"; @err's message. */
struct cJSON *cmd_commit_error(int r, const struct netseg_err *err);
/* "NAME: N errors; nothing applied" with every message as "errors". */
struct cJSON *cmd_errors_reply(const struct netseg_errlist *errs, const char *name);

#endif
