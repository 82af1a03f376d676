// SPDX-License-Identifier: GPL-2.0-only
/*
 * observe [--from X] [--to Y] [--port P] [--verdict V] [--since D] [--last N]
 *         [--follow] [--no-color]
 *
 * The daemon's flow history, then live flows with --follow, one readable
 * line per flow (coloured on a terminal), or the records themselves with
 * -o json|ocsf|ecs|cef.  The filters travel in the `flows` request and the
 * daemon applies them (lib/flowfilter.h): a reader watching one pair of
 * identities on a busy node gets that pair's records over the socket, not
 * every record to throw away, and --last N counts records that match.
 * Each value is checked here first, with the same parsers, so a typo is
 * said before anything connects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "flowfilter.h"
#include "netsegctl.h"
#include "output.h"
#include "suggest.h"

/* --from/--to: an identity name, IP or CIDR; 0 or an exit code (reported). */
static int peer_arg(cJSON *req, const char *flag, const char *val)
{
	struct netseg_flowpeer p;
	char why[160];

	if (netseg_flowpeer_parse(val, &p, why, sizeof(why)))
		return usage_err("%s takes an identity name, IP address or CIDR: %s", flag, why);
	cJSON_AddStringToObject(req, flag + 2, val);
	return 0;
}

/* One value flag at argv[*i]: 1 taken, 0 not one of them, -(exit code) on a bad value (reported). */
static int value_flag(cJSON *req, int argc, char **argv, int *i)
{
	static const char *const peers[] = { "--from", "--to" };
	unsigned int bits;
	__u16 lo, hi;
	__u64 ns;
	const char *v;
	char *end;
	int r;

	for (int k = 0; k < 2; k++) {
		r = arg_value(argc, argv, i, peers[k], &v);
		if (r)
			return r < 0			  ? -CTL_EXIT_USAGE :
			       peer_arg(req, peers[k], v) ? -CTL_EXIT_USAGE :
							    1;
	}
	if ((r = arg_value(argc, argv, i, "--port", &v))) {
		if (r < 0 || netseg_flowport_parse(v, &lo, &hi))
			return r < 0 ? -CTL_EXIT_USAGE :
				       -usage_err(
					       "--port takes a port (1-65535) or a range LO-HI, not '%s'",
					       v);
		cJSON_AddStringToObject(req, "port", v);
		return 1;
	}
	if ((r = arg_value(argc, argv, i, "--verdict", &v))) {
		if (r < 0 || netseg_flowverdicts_parse(v, &bits))
			return r < 0 ? -CTL_EXIT_USAGE :
				       -usage_err(
					       "--verdict takes allowed, denied, audit or end, or a comma-separated list of them, not '%s'",
					       v);
		cJSON_AddStringToObject(req, "verdicts", v);
		return 1;
	}
	if ((r = arg_value(argc, argv, i, "--since", &v))) {
		if (r < 0 || netseg_duration_parse(v, &ns))
			return r < 0 ? -CTL_EXIT_USAGE :
				       -usage_err(
					       "--since takes a duration such as 90s, 15m, 2h or 1d, not '%s'",
					       v);
		cJSON_AddNumberToObject(req, "since", ns / 1e9);
		return 1;
	}
	if ((r = arg_value(argc, argv, i, "--last", &v))) {
		unsigned long n;

		if (r < 0)
			return -CTL_EXIT_USAGE;
		errno = 0;
		n = strtoul(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || errno || n > 0xffffffffUL)
			return -usage_err("--last takes a number of flows (0 or more), not '%s'",
					  v);
		cJSON_AddNumberToObject(req, "last", n);
		return 1;
	}
	return 0;
}

int do_observe(int argc, char **argv)
{
	cJSON *req = req_new("flows");
	int i, r;

	if (!req)
		return CTL_EXIT_INTERNAL;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f")) {
			cJSON_AddBoolToObject(req, "follow", true);
			continue;
		}
		if (!strcmp(argv[i], "--no-color")) {
			flow_no_color = true;
			continue;
		}
		r = value_flag(req, argc, argv, &i);
		if (r < 0) {
			cJSON_Delete(req);
			return -r;
		}
		if (r)
			continue;
		cJSON_Delete(req);
		return usage_err("unexpected argument '%s'", argv[i]);
	}
	if (!cJSON_AddStringToObject(req, "format", flow_format ? flow_format : "json")) {
		cJSON_Delete(req);
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	flow_observe = true;
	return flow_stream(req);
}
