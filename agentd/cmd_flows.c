// SPDX-License-Identifier: GPL-2.0-only
/*
 * `flows`: the history and live records, streamed to the connection
 * through the callbacks the control socket gave.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "flowlog.h"
#include "flowrec.h"
#include "log.h"
#include "netsegd.h"

static int parse_filter(const cJSON *req, struct netsegd_flow_filter *f)
{
	const char *v = cmd_arg_str(req, "verdict"), *id = cmd_arg_str(req, "identity");
	static const char *const kinds[] = { [NETSEG_FLOW_ALLOWED] = "allowed",
					     [NETSEG_FLOW_DENIED] = "denied",
					     [NETSEG_FLOW_AUDIT] = "audit",
					     [NETSEG_FLOW_END] = "end" };
	const cJSON *rule = cJSON_GetObjectItem(req, "rule");

	f->fmt = netseg_flowfmt_parse(cmd_arg_str(req, "format") ?: "json");
	if (f->fmt < 0)
		return -EINVAL;
	f->verdicts = 0;
	for (int k = NETSEG_FLOW_ALLOWED; v && k <= NETSEG_FLOW_END; k++)
		if (!strcmp(v, kinds[k]))
			f->verdicts = 1U << k;
	if (v && !f->verdicts)
		return -EINVAL;
	snprintf(f->identity, sizeof(f->identity), "%s", id ? id : "");
	f->rule = -1;
	if (cJSON_IsNumber(rule)) {
		/* Checked as a double: converting one out of range is undefined. */
		if (!(rule->valuedouble >= 0 && rule->valuedouble <= UINT32_MAX))
			return -EINVAL; /* no rule has that id */
		f->rule = (long)rule->valuedouble;
	}
	f->follow = cmd_arg_bool(req, "follow");
	return 0;
}

static bool known_name(const struct netsegd *d, const char *name)
{
	return !strcmp(name, "world") || !strcmp(name, "host") ||
	       netseg_id_by_name(&d->pol.ids, name);
}

/* observe's filters (lib/flowfilter.h) and "last": NULL, or the error reply. */
static cJSON *observe_filter(struct netsegd *d, const cJSON *req, struct netsegd_flow_filter *f)
{
	const struct netseg_flowpeer *peer[] = { &f->flt.from, &f->flt.to };
	static const char *const which[] = { "from", "to" };
	const cJSON *last = cJSON_GetObjectItem(req, "last");
	struct timespec ts;
	char why[200];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (netseg_flowfilter_from_json(req, ts.tv_sec * 1000000000ULL + ts.tv_nsec, &f->flt, why,
					sizeof(why)))
		return netsegd_reply_error("usage", "flows: %s", why);
	f->last = -1;
	if (last) {
		if (!cJSON_IsNumber(last) ||
		    !(last->valuedouble >= 0 && last->valuedouble <= UINT32_MAX))
			return netsegd_reply_error("usage",
						   "flows: last: a number of records, 0 or more");
		f->last = (long long)last->valuedouble;
	}
	/* As for "identity": a name no record can carry would look like a quiet network. */
	for (int i = 0; i < 2; i++)
		if (peer[i]->kind == NETSEG_PEER_NAME && !known_name(d, peer[i]->name))
			return netsegd_reply_error(
				"rejected",
				"flows: %s: no identity \"%s\" (netsegctl identity list shows them)",
				which[i], peer[i]->name);
	return NULL;
}

/* The history, and live records if asked: the stream is the reply. */
cJSON *cmd_flows(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	struct netsegd_flow_filter want;
	cJSON *bad;

	if (parse_filter(req, &want))
		return netsegd_reply_error(
			"usage",
			"flows: bad filter (verdict allowed|denied|audit|end, format json|ocsf|ecs|cef)");
	/* A filter no record can pass would look like a quiet network. */
	if (want.identity[0] && !known_name(d, want.identity))
		return netsegd_reply_error(
			"rejected",
			"flows: no identity \"%s\" (netsegctl identity list shows them)",
			want.identity);
	bad = observe_filter(d, req, &want);
	if (bad)
		return bad;
	return netsegd_flowlog_request(d, io, &want);
}
