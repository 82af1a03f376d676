// SPDX-License-Identifier: GPL-2.0-only
/*
 * `flows`: the history and live records, streamed to the connection
 * through the callbacks the control socket gave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "flowlog.h"
#include "log.h"
#include "netsegd.h"

/* The history, and live records if asked: the stream is the reply. */
cJSON *cmd_flows(struct netsegd *d, const cJSON *req,
		 const struct netsegd_follower_io *io)
{
	return netsegd_flowlog_request(d, io, req);
}
