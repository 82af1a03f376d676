// SPDX-License-Identifier: GPL-2.0-only
/* What the command handlers (cmd_*.c) share: arguments, replies, commit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "log.h"
#include "netsegd.h"

cJSON *cmd_reply_ok(void)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", true);
	return o;
}

const char *cmd_arg_str(const cJSON *req, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(req, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool cmd_arg_bool(const cJSON *req, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(req, key));
}

/* One allocation with room for the rule a caller adds: with 100k rules
 * loaded, growing it rule by rule cost more than compiling them. */
int cmd_ruleset_copy(struct netseg_ruleset *dst, const struct netseg_ruleset *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->rules = malloc((src->n + 1) * sizeof(*dst->rules));
	if (!dst->rules)
		return -ENOMEM;
	memcpy(dst->rules, src->rules, src->n * sizeof(*dst->rules));
	dst->n = src->n;
	dst->cap = src->n + 1;
	return 0;
}

const char *cmd_verdict_name(__u8 v)
{
	return v == NETSEG_VERDICT_ALLOW ? "allow" :
	       v == NETSEG_VERDICT_DENY	 ? "deny" :
	       v == NETSEG_VERDICT_AUDIT ? "audit" :
					   "none";
}

/*
 * Candidate = current state + change, through the one commit path.
 * Returns 0 or -errno; *reply is the answer either way (the revision in
 * force, or what went wrong), for the caller to add its fields to.
 */
int cmd_commit(struct netsegd *d, struct netseg_ruleset *rules, struct netseg_idstore *ids,
	       cJSON **reply)
{
	struct netseg_err err = {};
	int r = netsegd_commit(d, rules, ids, &err);

	netseg_ruleset_free(rules);
	netseg_idstore_free(ids);
	if (r) {
		*reply = cmd_commit_error(r, &err);
		return r;
	}
	*reply = cmd_reply_ok();
	cJSON_AddNumberToObject(*reply, "revision", d->pol.revision);
	return 0;
}

/* The input's fault (it names what doesn't exist or doesn't fit), or
 * the daemon's. */
cJSON *cmd_commit_error(int r, const struct netseg_err *err)
{
	return netsegd_reply_error(r == -EINVAL || r == -ENOENT || r == -E2BIG ? "rejected" :
										 "internal",
				   "%s", err->msg[0] ? err->msg : strerror(-r));
}

cJSON *cmd_errors_reply(const struct netseg_errlist *errs, const char *name)
{
	cJSON *o = netsegd_reply_error("rejected", "%s: %zu error%s; nothing applied", name,
				       errs->n, errs->n == 1 ? "" : "s");
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < errs->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(errs->msgs[i]));
	cJSON_AddItemToObject(o, "errors", a);
	return o;
}
