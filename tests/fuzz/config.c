// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon config (agentd/config.c): the text through
 * netsegd_config_parse(), what netsegd_config_load() does with a file's
 * bytes, flow-log sinks included (checked, never opened).  A refused config
 * leaves the running one untouched; an accepted one has every value in its
 * range, and the flow log takes its parsed sinks.
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
			    terminated(c->metrics.text, sizeof(c->metrics.text)) &&
			    !strcmp(c->path, "fuzz.json"),
		    "accepted config with a bad string");
	FUZZ_ASSERT(!c->ct_max || (c->ct_max >= 1024 && c->ct_max <= 1U << 26), "ct_max %u",
		    c->ct_max);
	FUZZ_ASSERT(c->max_entries >= 16 && c->max_entries <= NETSEG_POLICY_MAX, "max_rules %u",
		    c->max_entries);
	FUZZ_ASSERT(c->netlink_rcvbuf >= 4096 && c->netlink_rcvbuf <= 1U << 30, "netlink_rcvbuf %u",
		    c->netlink_rcvbuf);
	FUZZ_ASSERT(c->deny_rate <= 10000000 && c->deny_burst >= 1 && c->deny_burst <= 10000000,
		    "deny_events %u/%u", c->deny_rate, c->deny_burst);
	FUZZ_ASSERT(c->nuplinks <= NETSEGD_MAX_UPLINKS, "%u uplinks", c->nuplinks);
	for (unsigned int i = 0; i < c->nuplinks; i++)
		FUZZ_ASSERT(terminated(c->uplinks[i], sizeof(c->uplinks[i])) &&
				    strlen(c->uplinks[i]) < 16,
			    "uplink %u too long", i);
	FUZZ_ASSERT(!c->metrics.text[0] ||
			    (c->metrics.len > 0 && c->metrics.len <= sizeof(c->metrics.addr)),
		    "metrics \"%s\" accepted without an address", c->metrics.text);
	FUZZ_ASSERT(c->nsinks <= NETSEGD_MAX_SINKS, "%u sinks", c->nsinks);
	for (unsigned int i = 0; i < c->nsinks; i++) {
		const struct netsegd_sink_conf *s = &c->sinks[i];
		bool file = s->kind == NETSEGD_SINK_FILE;

		FUZZ_ASSERT(terminated(s->name, sizeof(s->name)) && s->fmt >= 0 &&
				    s->kind >= NETSEGD_SINK_FILE && s->kind <= NETSEGD_SINK_TCP,
			    "sink %u accepted with a bad name, format or kind", i);
		FUZZ_ASSERT(!file || (terminated(s->path, sizeof(s->path)) && s->path[0] == '/' &&
				      s->max_bytes >= 4096 && s->keep <= 1000),
			    "file sink %u accepted with a bad path or rotation", i);
		FUZZ_ASSERT(s->kind < NETSEGD_SINK_UDP ||
				    (s->alen > 0 && s->alen <= sizeof(s->addr) &&
				     s->facility >= 0 && s->facility < 24),
			    "syslog sink %u accepted with a bad address or facility", i);
	}
	if (c->nsinks) {
		/* What start() does with them: the flow log takes them as they are. */
		struct netsegd_flowlog *fl = NULL;

		FUZZ_ASSERT(!netsegd_flowlog_new(c->sinks, c->nsinks, c->flow_history, &fl),
			    "parsed sinks refused");
		netsegd_flowlog_free(fl);
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
		FUZZ_ASSERT(!memcmp(&c, &base, sizeof(c)),
			    "refused config changed the running one");
	else
		check_accepted(&c);
	free(text);
	return 0;
}
