// SPDX-License-Identifier: GPL-2.0-only
/*
 * netseg-cni: the CNI chained plugin (CNI spec 1.0.0, docs/kubernetes.md,
 * "The CNI plugin").  It runs after the main plugin (ptp, bridge, ...),
 * takes the host-side interface and the pod's addresses from prevResult,
 * the namespace and name from CNI_ARGS and the labels from args.cni.labels,
 * and registers the endpoint with netsegd over its control socket.
 *
 * netsegd answers an ADD only once the endpoint is enforced (programs
 * attached, identity and addresses in the maps), so the plugin returning
 * is what closes the window in which a new pod could send unfiltered.
 * Everything that goes wrong fails the ADD -- a pod netseg can't enforce
 * never starts -- with the spec's error object on stdout.
 */
#define _GNU_SOURCE /* strchrnul */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "labels.h"

#define CNI_SPEC_VERSION "1.0.0"
#define STDIN_MAX (1U << 20)	 /* a network config, prevResult included */
#define TIMEOUT_MS_DEFAULT 30000 /* netsegd attaching under load */

/* Error codes of the CNI spec ("Error"), and ours from 100 on. */
enum {
	CNI_ERR_VERSION = 1, /* incompatible CNI version */
	CNI_ERR_ENV = 4,     /* invalid necessary environment variables */
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,    /* failed to decode content */
	CNI_ERR_CONFIG = 7,    /* invalid network config */
	CNI_ERR_AGAIN = 11,    /* try again later */
	CNI_ERR_REFUSED = 100, /* netsegd refused the endpoint */
};

/* prevResult has the same shape in all of these. */
static const char *const versions[] = { "0.3.0", "0.3.1", "0.4.0", "1.0.0" };
#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

struct cni {
	const char *command, *container, *netns, *ifname;
	const char *version; /* the config's cniVersion */
	const char *socket;
	int timeout_ms;
	char ns[254], pod[254];
	cJSON *conf;
	cJSON *prev;	   /* prevResult, NULL if none */
	const char *iface; /* host side, from prevResult */
	cJSON *ips;	   /* ["198.18.1.10", ...] */
	struct netseg_labels labels;
};

/* The spec's error object on stdout; the exit status says it failed. */
static int fail(const struct cni *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(const struct cni *c, int code, const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	char msg[1024];
	va_list ap;
	char *s;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(o, "cniVersion", c && c->version ? c->version : CNI_SPEC_VERSION);
	cJSON_AddNumberToObject(o, "code", code);
	cJSON_AddStringToObject(o, "msg", msg);
	s = cJSON_Print(o);
	if (s)
		printf("%s\n", s);
	else
		printf("{\"code\": %d, \"msg\": \"out of memory\"}\n", code);
	fprintf(stderr, "netseg-cni: %s\n", msg);
	cJSON_free(s);
	cJSON_Delete(o);
	return 1;
}

static int cmd_version(void)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char *s;

	cJSON_AddStringToObject(o, "cniVersion", CNI_SPEC_VERSION);
	a = cJSON_AddArrayToObject(o, "supportedVersions");
	for (size_t i = 0; i < NVERSIONS; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(versions[i]));
	s = cJSON_Print(o);
	printf("%s\n", s ? s : "");
	cJSON_free(s);
	cJSON_Delete(o);
	return s ? 0 : 1;
}

static char *read_stdin(size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;

	while (buf) {
		if (n + 1 == cap) {
			if (cap > STDIN_MAX) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		r = read(0, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0)
				break;
			buf[n] = 0;
			*len = n;
			return buf;
		}
		n += (size_t)r;
	}
	free(buf);
	return NULL;
}

/* ------------------------------------------------------------ the config */

static int parse_version(struct cni *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->conf, "cniVersion");

	if (!cJSON_IsString(v))
		return fail(c, CNI_ERR_CONFIG, "the network config has no cniVersion string");
	c->version = v->valuestring;
	for (size_t i = 0; i < NVERSIONS; i++)
		if (!strcmp(c->version, versions[i]))
			return 0;
	c->version = NULL; /* answer in a version the runtime can read */
	return fail(
		c, CNI_ERR_VERSION,
		"incompatible CNI version \"%s\" (netseg-cni supports 0.3.0, 0.3.1, 0.4.0 and 1.0.0)",
		v->valuestring);
}

static int parse_plugin_fields(struct cni *c)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(c->conf, "socket");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(c->conf, "timeout_ms");

	c->socket = NETSEG_CTL_SOCK;
	if (s && !cJSON_IsString(s))
		return fail(c, CNI_ERR_CONFIG,
			    "\"socket\" must be a string (the path of netsegd's control socket)");
	if (s)
		c->socket = s->valuestring;
	c->timeout_ms = TIMEOUT_MS_DEFAULT;
	if (t && (!cJSON_IsNumber(t) || t->valuedouble < 1 || t->valuedouble > 600000))
		return fail(c, CNI_ERR_CONFIG, "\"timeout_ms\" must be a number from 1 to 600000");
	if (t)
		c->timeout_ms = t->valueint;
	return 0;
}

/* A list of {"key": K, "value": V}, the convention for args.cni.labels. */
static int add_labels(struct cni *c, const cJSON *list, const char *where)
{
	struct netseg_err err;
	const cJSON *l;

	if (!list)
		return 0;
	if (!cJSON_IsArray(list))
		return fail(c, CNI_ERR_CONFIG,
			    "%s must be a list of {\"key\": ..., \"value\": ...}", where);
	cJSON_ArrayForEach(l, list) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(l, "key");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, "value");

		if (!cJSON_IsString(k) || !cJSON_IsString(v))
			return fail(c, CNI_ERR_CONFIG,
				    "%s: every label needs a string \"key\" and \"value\"", where);
		if (netseg_labels_add(&c->labels, k->valuestring, v->valuestring, &err))
			return fail(c, CNI_ERR_CONFIG, "%s: %s", where, err.msg);
	}
	return 0;
}

static int parse_labels(struct cni *c)
{
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(c->conf, "args");
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(c->conf, "runtimeConfig");
	int ret;

	ret = add_labels(c,
			 cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(args,
											   "cni"),
							  "labels"),
			 "args.cni.labels");
	if (!ret)
		ret = add_labels(c, cJSON_GetObjectItemCaseSensitive(rc, "labels"),
				 "runtimeConfig.labels");
	return ret;
}

/* The host side of the pod's link: the interface not in the sandbox. */
static int parse_prev(struct cni *c)
{
	const cJSON *ifs, *ips, *i;
	char *slash;

	ifs = cJSON_GetObjectItemCaseSensitive(c->prev, "interfaces");
	cJSON_ArrayForEach(i, ifs) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(i, "name");
		const cJSON *sb = cJSON_GetObjectItemCaseSensitive(i, "sandbox");

		if (cJSON_IsString(name) && (!cJSON_IsString(sb) || !sb->valuestring[0])) {
			c->iface = name->valuestring;
			break;
		}
	}
	if (!c->iface)
		return fail(
			c, CNI_ERR_CONFIG,
			"prevResult has no host-side interface (netseg-cni chains after a plugin with one, such as ptp or bridge)");
	c->ips = cJSON_CreateArray();
	ips = cJSON_GetObjectItemCaseSensitive(c->prev, "ips");
	cJSON_ArrayForEach(i, ips) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(i, "address");
		char buf[64];

		if (!cJSON_IsString(a) || strlen(a->valuestring) >= sizeof(buf))
			return fail(c, CNI_ERR_CONFIG,
				    "prevResult.ips: an entry without a usable address");
		strcpy(buf, a->valuestring);
		slash = strchr(buf, '/');
		if (slash)
			*slash = 0;
		cJSON_AddItemToArray(c->ips, cJSON_CreateString(buf));
	}
	if (!cJSON_GetArraySize(c->ips))
		return fail(
			c, CNI_ERR_CONFIG,
			"prevResult has no IP addresses (netseg needs the pod's addresses: chain after an IPAM-using plugin)");
	return 0;
}

/* ----------------------------------------------------------- environment */

static int need_env(struct cni *c, const char *name, const char **out)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return fail(c, CNI_ERR_ENV, "%s is not set (CNI_COMMAND %s needs it)", name,
			    c->command);
	*out = v;
	return 0;
}

static int copy_arg(struct cni *c, char *dst, size_t len, const char *v, size_t vlen,
		    const char *key)
{
	if (vlen >= len)
		return fail(c, CNI_ERR_ENV, "CNI_ARGS: %s is too long", key);
	memcpy(dst, v, vlen);
	dst[vlen] = 0;
	return 0;
}

/* "K8S_POD_NAMESPACE=x;K8S_POD_NAME=a;IgnoreUnknown=1" */
static int parse_args(struct cni *c)
{
	static const char *const known[] = {
		"K8S_POD_NAMESPACE", "K8S_POD_NAME",  "K8S_POD_INFRA_CONTAINER_ID",
		"K8S_POD_UID",	     "IgnoreUnknown",
	};
	const char *s = getenv("CNI_ARGS"), *p, *eq, *end;
	bool ignore = false;
	size_t i, klen;
	int ret = 0;

	for (p = s; p && *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ';');
		ignore |= (end - p == 15 && !strncmp(p, "IgnoreUnknown=1", 15)) ||
			  (end - p == 18 && !strncasecmp(p, "IgnoreUnknown=true", 18));
	}

	strcpy(c->ns, "default"); /* a runtime that isn't Kubernetes */
	for (p = s; !ret && p && *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ';');
		eq = memchr(p, '=', (size_t)(end - p));
		if (!eq)
			return fail(c, CNI_ERR_ENV, "CNI_ARGS: \"%.*s\" is not KEY=VALUE",
				    (int)(end - p), p);
		klen = (size_t)(eq - p);
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strlen(known[i]) == klen && !strncmp(p, known[i], klen))
				break;
		if (i == sizeof(known) / sizeof(known[0]) && !ignore)
			return fail(c, CNI_ERR_ENV,
				    "CNI_ARGS: unknown argument \"%.*s\" (and no IgnoreUnknown=1)",
				    (int)klen, p);
		if (i == 0)
			ret = copy_arg(c, c->ns, sizeof(c->ns), eq + 1, (size_t)(end - eq - 1),
				       known[0]);
		else if (i == 1)
			ret = copy_arg(c, c->pod, sizeof(c->pod), eq + 1, (size_t)(end - eq - 1),
				       known[1]);
	}
	return ret;
}

/* -------------------------------------------------------------- netsegd */

/*
 * One request, one reply.  An unreachable or silent daemon fails closed;
 * with @may_be_down, a daemon that isn't running (no socket, nobody
 * listening) only sets *@unreachable and prints nothing.
 */
static int call(struct cni *c, cJSON *req, cJSON **reply, bool may_be_down, bool *unreachable)
{
	struct timeval tv = { .tv_sec = c->timeout_ms / 1000,
			      .tv_usec = (c->timeout_ms % 1000) * 1000 };
	struct netseg_ctl_conn conn;
	int err;

	*reply = NULL;
	*unreachable = false;
	err = netseg_ctl_open(&conn, c->socket);
	if (err) {
		*unreachable = err == -ENOENT || err == -ECONNREFUSED;
		if (*unreachable && may_be_down)
			return 1;
		return fail(c, CNI_ERR_AGAIN, "can't reach netsegd at %s: %s", c->socket,
			    strerror(-err));
	}
	setsockopt(conn.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(conn.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	err = netseg_ctl_send(&conn, req);
	if (!err)
		err = netseg_ctl_recv(&conn, reply);
	netseg_ctl_close(&conn);
	if (err == -EAGAIN)
		return fail(c, CNI_ERR_AGAIN, "netsegd at %s didn't answer within %d ms", c->socket,
			    c->timeout_ms);
	if (err)
		return fail(c, CNI_ERR_IO, "talking to netsegd at %s: %s", c->socket,
			    strerror(-err));
	return 0;
}

/* 0 for {"ok": true}, else the daemon's error as the CNI error. */
static int reply_ok(struct cni *c, const cJSON *reply, const char *what)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");

	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok")))
		return 0;
	return fail(c, CNI_ERR_REFUSED, "netsegd refused to %s %s (container %s): %s", what,
		    c->iface ? c->iface : c->ifname, c->container,
		    cJSON_IsString(e) ? e->valuestring : "no reason given");
}

static cJSON *request(struct cni *c, const char *cmd)
{
	cJSON *r = cJSON_CreateObject(), *l;

	cJSON_AddStringToObject(r, "cmd", cmd);
	cJSON_AddStringToObject(r, "container_id", c->container);
	cJSON_AddStringToObject(r, "ifname", c->ifname);
	if (c->netns)
		cJSON_AddStringToObject(r, "netns", c->netns);
	if (c->iface)
		cJSON_AddStringToObject(r, "iface", c->iface);
	if (strcmp(cmd, "endpoint.unregister")) {
		cJSON_AddStringToObject(r, "namespace", c->ns);
		cJSON_AddStringToObject(r, "pod", c->pod);
		l = cJSON_AddObjectToObject(r, "labels");
		for (size_t i = 0; l && i < c->labels.n; i++)
			cJSON_AddStringToObject(l, c->labels.v[i].key, c->labels.v[i].value);
		if (c->ips)
			cJSON_AddItemReferenceToObject(r, "ips", c->ips);
	}
	return r;
}

/* --------------------------------------------------------------- commands */

static int cmd_add(struct cni *c)
{
	cJSON *req, *reply = NULL;
	bool unreachable;
	char *out;
	int ret;

	if (!c->prev)
		return fail(
			c, CNI_ERR_CONFIG,
			"no prevResult: netseg-cni is a chained plugin and runs after the main plugin (ptp, bridge, ...)");
	ret = parse_prev(c);
	if (ret)
		return ret;
	req = request(c, "endpoint.register");
	ret = call(c, req, &reply, false, &unreachable);
	cJSON_Delete(req);
	if (!ret)
		ret = reply_ok(c, reply, "enforce");
	cJSON_Delete(reply);
	if (ret)
		return ret;
	/* A chained plugin passes the result on, in the config's version. */
	cJSON_DeleteItemFromObjectCaseSensitive(c->prev, "cniVersion");
	cJSON_AddStringToObject(c->prev, "cniVersion", c->version);
	out = cJSON_Print(c->prev);
	if (!out)
		return fail(c, CNI_ERR_IO, "out of memory printing the result");
	printf("%s\n", out);
	cJSON_free(out);
	return 0;
}

/*
 * DEL succeeds whatever is already gone: the endpoint (netsegd says
 * removed: false), the netns, or netsegd itself -- a daemon that isn't
 * running holds nothing of the pod, and when it starts it only enforces
 * interfaces that exist.  Only a daemon that answers and refuses fails.
 */
static int cmd_del(struct cni *c)
{
	cJSON *req, *reply = NULL;
	bool unreachable;
	int ret;

	if (c->prev && parse_prev(c))
		c->iface = NULL; /* DEL goes on without it: the container id is the key */
	req = request(c, "endpoint.unregister");
	ret = call(c, req, &reply, true, &unreachable);
	cJSON_Delete(req);
	if (ret && unreachable) {
		fprintf(stderr,
			"netseg-cni: DEL of container %s: netsegd isn't running, nothing to remove\n",
			c->container);
		return 0;
	}
	if (!ret)
		ret = reply_ok(c, reply, "remove");
	cJSON_Delete(reply);
	return ret;
}

static int cmd_check(struct cni *c)
{
	cJSON *req, *reply = NULL;
	bool unreachable;
	int ret;

	if (!c->prev)
		return fail(c, CNI_ERR_CONFIG, "CHECK needs a prevResult");
	ret = parse_prev(c);
	if (ret)
		return ret;
	req = request(c, "endpoint.check");
	ret = call(c, req, &reply, false, &unreachable);
	cJSON_Delete(req);
	if (!ret)
		ret = reply_ok(c, reply, "confirm enforcement of");
	if (!ret && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "enforced")))
		ret = fail(c, CNI_ERR_REFUSED, "%s (container %s) is not enforced by netsegd",
			   c->iface, c->container);
	cJSON_Delete(reply);
	return ret;
}

static int run(struct cni *c)
{
	size_t len = 0;
	char *in;
	int ret;

	c->command = getenv("CNI_COMMAND");
	if (!c->command || !*c->command)
		return fail(c, CNI_ERR_ENV, "CNI_COMMAND is not set (ADD, DEL, CHECK or VERSION)");
	if (!strcmp(c->command, "VERSION"))
		return cmd_version();
	if (strcmp(c->command, "ADD") && strcmp(c->command, "DEL") && strcmp(c->command, "CHECK"))
		return fail(c, CNI_ERR_ENV,
			    "unknown CNI_COMMAND \"%s\" (expected ADD, DEL, CHECK or VERSION)",
			    c->command);
	in = read_stdin(&len);
	if (!in)
		return fail(c, CNI_ERR_IO, "can't read the network config on stdin: %s",
			    strerror(errno));
	c->conf = cJSON_ParseWithLength(in, len);
	free(in);
	if (!cJSON_IsObject(c->conf))
		return fail(c, CNI_ERR_DECODE, "the network config on stdin is not a JSON object");
	ret = parse_version(c);
	if (!ret)
		ret = need_env(c, "CNI_CONTAINERID", &c->container);
	if (!ret)
		ret = need_env(c, "CNI_IFNAME", &c->ifname);
	if (!ret && strcmp(c->command, "DEL"))
		ret = need_env(c, "CNI_NETNS", &c->netns);
	if (!ret)
		ret = parse_args(c);
	if (!ret)
		ret = parse_plugin_fields(c);
	if (!ret)
		ret = parse_labels(c);
	if (ret)
		return ret;
	c->prev = cJSON_GetObjectItemCaseSensitive(c->conf, "prevResult");
	if (c->prev && !cJSON_IsObject(c->prev))
		return fail(c, CNI_ERR_CONFIG, "prevResult is not an object");
	if (!strcmp(c->command, "ADD"))
		return cmd_add(c);
	if (!strcmp(c->command, "DEL"))
		return cmd_del(c);
	return cmd_check(c);
}

int main(void)
{
	struct cni c = { 0 };
	int ret;

	netseg_labels_init(&c.labels);
	ret = run(&c);
	netseg_labels_free(&c.labels);
	cJSON_Delete(c.ips);
	cJSON_Delete(c.conf);
	return ret ? 1 : 0;
}
