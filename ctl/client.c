// SPDX-License-Identifier: GPL-2.0-only
/*
 * One request, one reply over the control socket, and what each failure
 * means to the user: the exit code and one clear message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "log.h"
#include "netsegctl.h"
#include "output.h"

/* A daemon that accepted but never answers must not hang scripts; a
 * large apply compiles in well under a second, so this is generous. */
#define CTL_REPLY_TIMEOUT_S 60

cJSON *req_new(const char *name)
{
	cJSON *req = cJSON_CreateObject();

	if (req && !cJSON_AddStringToObject(req, "cmd", name)) {
		cJSON_Delete(req);
		req = NULL;
	}
	return req;
}

static const char *file_kind(mode_t m)
{
	if (S_ISREG(m))
		return "a regular file";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a socket";
}

static int unreachable(int err)
{
	const char *hint = "is it running? start it with 'systemctl start netsegd' or 'netsegd'";

	struct stat st;

	if (err == EACCES || err == EPERM)
		hint = "run as root or as a member of group 'netseg'";
	/* ECONNREFUSED on a non-socket reads like a stopped daemon; say
	 * what the path really is, and that nothing is there at all. */
	if (err == ENOENT) {
		p_err("can't reach netsegd at %s: no socket there, netsegd isn't running with this socket (start it with 'systemctl start netsegd' or 'netsegd', or pick another with -s)",
		      ctl.sock);
		return CTL_EXIT_UNREACHABLE;
	}
	if (!stat(ctl.sock, &st) && !S_ISSOCK(st.st_mode)) {
		p_err("can't reach netsegd at %s: %s is not a socket (%s)", ctl.sock, ctl.sock,
		      file_kind(st.st_mode));
		return CTL_EXIT_UNREACHABLE;
	}
	p_err("can't reach netsegd at %s: %s (%s)", ctl.sock, strerror(err), hint);
	return CTL_EXIT_UNREACHABLE;
}

static int io_failed(int err)
{
	if (err == ECONNRESET)
		p_err("netsegd at %s closed the connection without replying", ctl.sock);
	else if (err == EPROTO)
		p_err("malformed reply from netsegd: not a JSON object on one line");
	else if (err == EMSGSIZE)
		p_err("netsegd's reply is longer than the protocol's limit (%u bytes)",
		      NETSEG_CTL_MAX_MSG);
	else if (err == EAGAIN || err == EWOULDBLOCK)
		p_err("netsegd at %s didn't reply within %d s", ctl.sock, CTL_REPLY_TIMEOUT_S);
	else
		p_err("talking to netsegd at %s: %s", ctl.sock, strerror(err));
	return CTL_EXIT_INTERNAL;
}

/* The request as it will travel: refused here when the daemon would
 * have to drop it for its size (a huge rule file). */
static int check_request(const cJSON *req)
{
	char *s = cJSON_PrintUnformatted(req);
	size_t len;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	pr_debug("request: %s", s);
	cJSON_free(s);
	if (len + 1 > NETSEG_CTL_MAX_MSG) {
		p_err("the request is %zu bytes, more than the control protocol's limit of %u",
		      len + 1, NETSEG_CTL_MAX_MSG);
		return -EMSGSIZE;
	}
	return 0;
}

static int exchange(struct netseg_ctl_conn *c, const cJSON *req, cJSON **reply)
{
	struct timeval tv = { .tv_sec = CTL_REPLY_TIMEOUT_S };
	int err;

	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -errno;
	err = netseg_ctl_send(c, req);
	/* A daemon that refuses a connection says why, then hangs up: the
	 * line may be waiting even though our request didn't get through. */
	if (!err || err == -EPIPE || err == -ECONNRESET) {
		int r = netseg_ctl_recv(c, reply);

		err = r ? err ?: r : 0;
	}
	return err;
}

/* An "ok": false reply: its kind says whose fault it is. */
static int refused(cJSON *reply)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(reply, "kind");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply, "error");
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(reply, "errors");
	const char *k = cJSON_IsString(kind) ? kind->valuestring : "";
	const char **v = NULL;
	const cJSON *e;
	size_t n = 0;
	int code;

	if (!strcmp(k, "rejected"))
		code = CTL_EXIT_REJECTED;
	else if (!strcmp(k, "usage"))
		code = CTL_EXIT_USAGE;
	else
		code = CTL_EXIT_INTERNAL;
	if (!cJSON_IsString(err)) {
		proto_err("\"ok\" is false but there is no \"error\" message");
		return CTL_EXIT_INTERNAL;
	}
	if (out_json()) {
		cJSON_DeleteItemFromObjectCaseSensitive(reply, "ok");
		print_json(reply);
		return code;
	}
	if (cJSON_IsArray(errs))
		v = calloc(cJSON_GetArraySize(errs) + 1, sizeof(*v));
	if (v)
		cJSON_ArrayForEach(e, errs)
			if (cJSON_IsString(e))
				v[n++] = e->valuestring;
	p_err_list(err->valuestring, v, n);
	free(v);
	return code;
}

static int check_reply(cJSON *reply)
{
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(reply, "ok");

	if (!cJSON_IsObject(reply)) {
		proto_err("not a JSON object");
		return CTL_EXIT_INTERNAL;
	}
	if (!cJSON_IsBool(ok)) {
		proto_err("no \"ok\": true or false");
		return CTL_EXIT_INTERNAL;
	}
	return cJSON_IsTrue(ok) ? CTL_EXIT_OK : refused(reply);
}

int ctl_call(const cJSON *req, cJSON **reply)
{
	struct netseg_ctl_conn c;
	int err, code;

	*reply = NULL;
	err = check_request(req);
	if (err)
		return err == -EMSGSIZE ? CTL_EXIT_REJECTED : CTL_EXIT_INTERNAL;
	err = netseg_ctl_open(&c, ctl.sock);
	if (err)
		return unreachable(-err);
	err = exchange(&c, req, reply);
	netseg_ctl_close(&c);
	if (err)
		return io_failed(-err);
	if (ctl.verbose) {
		char *s = cJSON_PrintUnformatted(*reply);

		pr_debug("reply: %s", s ? s : "(out of memory)");
		cJSON_free(s);
	}
	code = check_reply(*reply);
	if (code) {
		cJSON_Delete(*reply);
		*reply = NULL;
	}
	return code;
}

int ctl_print(cJSON *reply, reply_printer print)
{
	int ret;

	if (out_json()) {
		cJSON_DeleteItemFromObjectCaseSensitive(reply, "ok");
		ret = print_json(reply);
	} else {
		ret = print(reply);
	}
	if (ret == -ENOMEM)
		p_err("out of memory");
	return ret ? CTL_EXIT_INTERNAL : CTL_EXIT_OK;
}

int ctl_run(cJSON *req, reply_printer print)
{
	cJSON *reply = NULL;
	int code;

	if (!req) {
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	code = ctl_call(req, &reply);
	cJSON_Delete(req);
	if (!code)
		code = ctl_print(reply, print);
	cJSON_Delete(reply);
	return code;
}
