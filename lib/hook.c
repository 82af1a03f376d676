// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <string.h>
#include <netseg/abi.h>

#include "hook.h"

static const struct {
	const char *record, *pin, *attached;
} hooks[] = {
	[NETSEG_HOOK_XDP] = { "xdp", "xdp", "xdp" },
	[NETSEG_HOOK_TC_INGRESS] = { "tc-ingress", "tc-ingress", "tc/ingress" },
	[NETSEG_HOOK_TC_EGRESS] = { "tc-egress", "tc-egress", "tc/egress" },
	[NETSEG_HOOK_CG_INGRESS] = { "cgroup-ingress", "cg-ingress", "cgroup_skb/ingress" },
	[NETSEG_HOOK_CG_EGRESS] = { "cgroup-egress", "cg-egress", "cgroup_skb/egress" },
};

#define NHOOKS ((int)(sizeof(hooks) / sizeof(hooks[0])))

static bool known(int hook)
{
	return hook > 0 && hook < NHOOKS && hooks[hook].record;
}

const char *netseg_hook_name(int hook)
{
	return known(hook) ? hooks[hook].record : "unknown";
}

const char *netseg_hook_pin_name(int hook)
{
	return known(hook) ? hooks[hook].pin : NULL;
}

const char *netseg_hook_attached_name(int hook)
{
	return known(hook) ? hooks[hook].attached : NULL;
}

int netseg_hook_by_pin_prefix(const char *name)
{
	for (int h = 1; h < NHOOKS; h++) {
		size_t n = strlen(hooks[h].pin);

		if (!strncmp(name, hooks[h].pin, n) && name[n] == '-')
			return h;
	}
	return -1;
}
