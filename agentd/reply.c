// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reply objects of the control protocol that more than one file builds:
 * the command handlers, the control socket's own refusals and the `flows`
 * stream.  Kept below all of them so none has to call another for it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "netsegd.h"

struct cJSON *netsegd_reply_error(const char *kind, const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddStringToObject(o, "error", msg);
	cJSON_AddStringToObject(o, "kind", kind);
	return o;
}

int netsegd_oom(struct netseg_err *e)
{
	netseg_err_set(e, 0, "out of memory");
	return -ENOMEM;
}
