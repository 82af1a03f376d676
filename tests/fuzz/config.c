// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon config (agentd/config.c): the text through
 * netsegd_config_parse(), what netsegd_config_load() does with a file's
 * bytes, flow-log sinks included (checked, never opened).  A refused config
 * leaves the running one untouched; an accepted one has every value in its
 * range, and its flow_logs copy is accepted again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "netsegd.h"
#include "flowlog.h"
#include "fuzzdp.h"

static struct netsegd_config base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_logs();
	netsegd_config_defaults(&base);
	return 0;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

static void check_accepted(const struct netsegd_config *c)
{
	FUZZ_ASSERT(terminated(c->pin_dir, sizeof(c->pin_dir)) && c->pin_dir[0] &&
		    terminated(c->run_dir, sizeof(c->run_dir)) && c->run_dir[0] &&
		    terminated(c->state_dir, sizeof(c->state_dir)) && c->state_dir[0] &&
		    terminated(c->socket, sizeof(c->socket)) &&
		    terminated(c->node_name, sizeof(c->node_name)) && c->node_name[0] &&
		    terminated(c->flow_logs, sizeof(c->flow_logs)) && !strcmp(c->path, "fuzz.json"),
		    "accepted config with a bad string");
	FUZZ_ASSERT(!c->ct_max || (c->ct_max >= 1024 && c->ct_max <= 1U << 26), "ct_max %u",
		    c->ct_max);
	FUZZ_ASSERT(c->max_entries >= 16 && c->max_entries <= NETSEG_POLICY_MAX, "max_rules %u",
		    c->max_entries);
	FUZZ_ASSERT(c->netlink_rcvbuf >= 4096 && c->netlink_rcvbuf <= 1U << 30,
		    "netlink_rcvbuf %u", c->netlink_rcvbuf);
	FUZZ_ASSERT(c->deny_rate <= 10000000 && c->deny_burst >= 1 && c->deny_burst <= 10000000,
		    "deny_events %u/%u", c->deny_rate, c->deny_burst);
	FUZZ_ASSERT(c->nuplinks <= NETSEGD_MAX_UPLINKS, "%u uplinks", c->nuplinks);
	for (unsigned int i = 0; i < c->nuplinks; i++)
		FUZZ_ASSERT(terminated(c->uplinks[i], sizeof(c->uplinks[i])) &&
			    strlen(c->uplinks[i]) < 16, "uplink %u too long", i);
	if (c->flow_logs[0]) {
		/* What start() does with it: parse the saved copy again. */
		struct netsegd d = {};
		cJSON *arr = cJSON_Parse(c->flow_logs);

		FUZZ_ASSERT(cJSON_IsArray(arr), "saved flow_logs isn't an array: %s", c->flow_logs);
		FUZZ_ASSERT(!netsegd_flowlog_new(&d, arr, &d.fl), "saved flow_logs refused: %s",
			    c->flow_logs);
		netsegd_flowlog_free(&d);
		cJSON_Delete(arr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netsegd_config c = base;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (netsegd_config_parse(&c, text, "fuzz.json"))
		FUZZ_ASSERT(!memcmp(&c, &base, sizeof(c)), "refused config changed the running one");
	else
		check_accepted(&c);
	free(text);
	return 0;
}
