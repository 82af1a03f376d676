// SPDX-License-Identifier: GPL-2.0-only
/* Daemon configuration: defaults, then the JSON file, then flags. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "file.h"
#include "log.h"
#include "flowrec.h"
#include "netsegd.h"
#include "text.h"

void netsegd_config_defaults(struct netsegd_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->pin_dir, NETSEG_DEFAULT_PIN_DIR);
	strcpy(c->run_dir, "/run/netseg");
	strcpy(c->state_dir, "/var/lib/netseg");
	strcpy(c->socket_group, "netseg");
	c->deny_rate = NETSEG_DENY_RATE;
	c->deny_burst = NETSEG_DENY_BURST;
	c->max_entries = NETSEG_POLICY_MAX;
	c->prefilter_max = NETSEG_PREFILTER_MAX;
	c->netlink_rcvbuf = NETSEGD_NETLINK_RCVBUF;
	c->control_idle_timeout = NETSEGD_CTL_IDLE_TIMEOUT;
	c->flow_history = NETSEGD_FLOW_HISTORY;
	c->host_to_pods = true; /* kubelet probes must reach their pods */
	strcpy(c->cluster.prefix, "/netseg");
	c->cluster.lease_ttl = 30;
	if (gethostname(c->node_name, sizeof(c->node_name) - 1))
		strcpy(c->node_name, "localhost");
}

static int get_bool(const cJSON *o, const char *key, bool *out, const char *path)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!v)
		return 0;
	if (!cJSON_IsBool(v)) {
		pr_err("%s: \"%s\" must be true or false", path, key);
		return -EINVAL;
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

static int get_str(const cJSON *o, const char *key, char *out, size_t len, const char *path)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!v)
		return 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= len || !v->valuestring[0]) {
		pr_err("%s: \"%s\" must be a non-empty string shorter than %zu bytes", path, key,
		       len);
		return -EINVAL;
	}
	strcpy(out, v->valuestring);
	return 0;
}

static int get_u32(const cJSON *o, const char *key, __u32 *out, __u32 min, __u32 max,
		   const char *path)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max ||
	    v->valuedouble != (double)(__u32)v->valuedouble) {
		pr_err("%s: \"%s\" must be an integer from %u to %u", path, key, min, max);
		return -EINVAL;
	}
	*out = v->valuedouble;
	return 0;
}

/*
 * Paths from the config file or the command line: absolute, no control
 * characters or broken UTF-8, no "." or ".." component (text.h).  Checked
 * after flags override the file, so both are covered.
 */
int netsegd_config_check_paths(const struct netsegd_config *c, const char *where)
{
	static const struct {
		const char *key, *flag;
		size_t off, size;
	} paths[] = {
#define P(k, f) \
	{ #k, f, offsetof(struct netsegd_config, k), sizeof(((struct netsegd_config *)0)->k) }
		P(pin_dir, "--bpffs"),
		P(run_dir, "--run-dir"),
		P(state_dir, "--state-dir"),
		P(socket, "--socket"),
#undef P
	};
	char why[128];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *p = (const char *)c + paths[i].off;

		if (netseg_path_check(p, paths[i].size, why, sizeof(why))) {
			pr_err("%s: \"%s\" (%s): %s", where, paths[i].key, paths[i].flag, why);
			return -EINVAL;
		}
	}
	return 0;
}

static const char *const known_keys[] = {
	"pin_dir",	 "run_dir",	 "state_dir",	 "socket",	   "socket_group",
	"node_name",	 "deny_events",	 "log_allowed",	 "ct_max",	   "max_rules",
	"prefilter_max", "uplinks",	 "flow_logs",	 "netlink_rcvbuf", "control_idle_timeout",
	"metrics",	 "flow_history", "host_to_pods", "cluster",	   NULL,
};

static int check_keys(const cJSON *root, const char *path)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, root) {
		int i;

		for (i = 0; known_keys[i]; i++)
			if (!strcmp(it->string, known_keys[i]))
				break;
		if (!known_keys[i]) {
			pr_err("%s: unknown setting \"%s\"", path, it->string);
			return -EINVAL;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ flow_logs */

static int verdict_bits(const cJSON *arr, unsigned int *bits, const char *sink)
{
	static const char *const names[] = { [NETSEG_FLOW_ALLOWED] = "allowed",
					     [NETSEG_FLOW_DENIED] = "denied",
					     [NETSEG_FLOW_AUDIT] = "audit",
					     [NETSEG_FLOW_END] = "end",
					     [NETSEG_FLOW_LOST] = "lost" };
	const cJSON *it;

	*bits = 0;
	cJSON_ArrayForEach(it, arr) {
		unsigned int k;

		for (k = 1; k <= NETSEG_FLOW_LOST; k++)
			if (cJSON_IsString(it) && !strcmp(it->valuestring, names[k]))
				break;
		if (k > NETSEG_FLOW_LOST) {
			pr_err("flow_logs %s: verdicts are allowed, denied, audit, end, lost",
			       sink);
			return -EINVAL;
		}
		*bits |= 1U << k;
	}
	if (*bits)
		*bits |= 1U << NETSEG_FLOW_LOST; /* losses always reported */
	return 0;
}

static int resolve_addr(struct netsegd_sink_conf *s, const char *host, int port, bool tcp)
{
	struct addrinfo hints = { .ai_socktype = tcp ? SOCK_STREAM : SOCK_DGRAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	char ps[8];
	int r;

	snprintf(ps, sizeof(ps), "%d", port);
	/* Numeric only: a DNS lookup could block the loop. */
	r = getaddrinfo(host, ps, &hints, &ai);
	if (r) {
		pr_err("flow_logs %s: \"%s\" is not a numeric address: %s", s->name, host,
		       gai_strerror(r));
		return -EINVAL;
	}
	memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
	s->alen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int facility_num(const char *name)
{
	static const char *const f[] = { "kern",     "user",   "mail",	 "daemon", "auth",
					 "syslog",   "lpr",    "news",	 "uucp",   "cron",
					 "authpriv", "ftp",    "ntp",	 "audit",  "alert",
					 "clock",    "local0", "local1", "local2", "local3",
					 "local4",   "local5", "local6", "local7" };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!strcmp(name, f[i]))
			return i;
	return -1;
}

static const char *jstr(const cJSON *o, const char *k, const char *def)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsString(v) ? v->valuestring : def;
}

static double jnum(const cJSON *o, const char *k, double def)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* A number member (or @def) if it lies in [min, max], else -EINVAL: the
 * range is checked on the double, since converting one that doesn't fit
 * the integer it is stored in is undefined. */
static int jrange(const cJSON *o, const char *k, double def, double min, double max, double *out)
{
	double v = jnum(o, k, def);

	if (!(v >= min && v <= max))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_sink(const cJSON *o, struct netsegd_sink_conf *s, unsigned int idx)
{
	const char *type = jstr(o, "type", ""), *fmt = jstr(o, "format", "json");
	const char *proto = jstr(o, "protocol", "udp");
	char why[128];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "#%u (%s)", idx, type);
	s->fmt = netseg_flowfmt_parse(fmt);
	if (s->fmt < 0) {
		pr_err("flow_logs %s: unknown format \"%s\" (json, ocsf, ecs, cef)", s->name, fmt);
		return -EINVAL;
	}
	if (verdict_bits(cJSON_GetObjectItem(o, "verdicts"), &s->verdicts, s->name))
		return -EINVAL;
	if (!strcmp(type, "file")) {
		const char *path = jstr(o, "path", NULL);
		double max_bytes, keep;

		s->kind = NETSEGD_SINK_FILE;
		if (!path || netseg_path_check(path, sizeof(s->path) - 8, why, sizeof(why))) {
			pr_err("flow_logs %s: \"path\" must be an absolute file name: %s", s->name,
			       path ? why : "missing");
			return -EINVAL;
		}
		strcpy(s->path, path);
		snprintf(s->name, sizeof(s->name), "file %s", path);
		s->chained = cJSON_IsTrue(cJSON_GetObjectItem(o, "chain"));
		if (jrange(o, "max_bytes", 100 << 20, 4096, 1e18, &max_bytes) ||
		    jrange(o, "keep", 5, 0, 1000, &keep)) {
			pr_err("flow_logs %s: max_bytes must be >= 4096 and keep 0-1000", s->name);
			return -EINVAL;
		}
		s->max_bytes = max_bytes;
		s->keep = keep;
		return 0;
	}
	if (!strcmp(type, "stdout")) {
		s->kind = NETSEGD_SINK_STDOUT;
		return 0;
	}
	if (!strcmp(type, "syslog")) {
		const char *host = jstr(o, "address", "127.0.0.1");
		double port;
		int bad = jrange(o, "port", 514, 1, 65535, &port);

		s->kind = !strcmp(proto, "tcp") ? NETSEGD_SINK_TCP : NETSEGD_SINK_UDP;
		if (strcmp(proto, "tcp") && strcmp(proto, "udp")) {
			pr_err("flow_logs %s: protocol must be udp or tcp", s->name);
			return -EINVAL;
		}
		snprintf(s->name, sizeof(s->name), "syslog %s %s:%g", proto, host,
			 jnum(o, "port", 514));
		s->facility = facility_num(jstr(o, "facility", "local0"));
		if (s->facility < 0 || bad) {
			pr_err("flow_logs %s: bad facility or port", s->name);
			return -EINVAL;
		}
		return resolve_addr(s, host, (int)port, s->kind == NETSEGD_SINK_TCP);
	}
	pr_err("flow_logs sink #%u: type must be file, stdout or syslog", idx);
	return -EINVAL;
}

/* Checked now (a bad sink refuses the whole config), opened at start. */
static int parse_flow_logs(struct netsegd_config *c, const cJSON *arr, const char *path)
{
	const cJSON *it;
	int err;

	if (!cJSON_IsArray(arr)) {
		pr_err("%s: \"flow_logs\" must be a list of sinks", path);
		return -EINVAL;
	}
	c->nsinks = 0;
	cJSON_ArrayForEach(it, arr) {
		if (c->nsinks == NETSEGD_MAX_SINKS) {
			pr_err("flow_logs: at most %d sinks", NETSEGD_MAX_SINKS);
			return -EINVAL;
		}
		err = parse_sink(it, &c->sinks[c->nsinks], c->nsinks);
		if (err)
			return err;
		c->nsinks++;
	}
	return 0;
}

/* "ADDR:PORT" or "[ADDR6]:PORT"; the port may not be 0. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *why,
			size_t why_len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	struct sockaddr_in6 *s6 = (void *)ss;
	struct sockaddr_in *s4 = (void *)ss;
	unsigned long port;
	char *end;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == s) {
		snprintf(why, why_len, "\"%s\" is not ADDR:PORT", s);
		return -EINVAL;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 1 || port > 65535) {
		snprintf(why, why_len, "\"%s\": port must be 1 to 65535", s);
		return -EINVAL;
	}
	hl = colon - s;
	if (s[0] == '[' && hl > 2 && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(why, why_len, "\"%s\": not an IPv4 or IPv6 address", s);
		return -EINVAL;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
	} else {
		snprintf(why, why_len, "\"%s\": \"%s\" is not an IPv4 or IPv6 address", s, host);
		return -EINVAL;
	}
	return 0;
}

/* "metrics": {"listen": "ADDR:PORT"}; checked now, bound at start. */
static int parse_metrics(struct netsegd_config *c, const cJSON *o, const char *path)
{
	struct netsegd_listen_conf *l = &c->metrics;
	const cJSON *it;
	char why[320]; /* room for any text parse_listen() quotes */
	int err;

	if (!cJSON_IsObject(o)) {
		pr_err("%s: \"metrics\" must be an object like {\"listen\": \"127.0.0.1:9464\"}",
		       path);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, o) {
		if (strcmp(it->string, "listen")) {
			pr_err("%s: \"metrics\": unknown setting \"%s\"", path, it->string);
			return -EINVAL;
		}
	}
	err = get_str(o, "listen", l->text, sizeof(l->text), path);
	if (!err && !l->text[0]) {
		pr_err("%s: \"metrics\" needs \"listen\": \"ADDR:PORT\"", path);
		return -EINVAL;
	}
	if (!err && parse_listen(l->text, &l->addr, &l->len, why, sizeof(why))) {
		pr_err("%s: \"metrics\": \"listen\" %s", path, why);
		return -EINVAL;
	}
	return err;
}

/* "cluster": {"etcd": ["http://ADDR:2379", ...], "prefix": "/netseg", "lease_ttl": 30} */
static int parse_cluster(struct netsegd_config *c, const cJSON *o, const char *path)
{
	struct netsegd_cluster_conf *k = &c->cluster;
	const cJSON *it, *urls = cJSON_GetObjectItem(o, "etcd");
	char why[128];
	int err;

	if (!cJSON_IsObject(o)) {
		pr_err("%s: \"cluster\" must be an object like {\"etcd\": [\"http://ADDR:2379\"]}",
		       path);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, o) {
		if (strcmp(it->string, "etcd") && strcmp(it->string, "prefix") &&
		    strcmp(it->string, "lease_ttl")) {
			pr_err("%s: \"cluster\": unknown setting \"%s\"", path, it->string);
			return -EINVAL;
		}
	}
	if (!cJSON_IsArray(urls) ||
	    netseg_json_strs(urls, k->etcd[0], sizeof(k->etcd[0]), sizeof(k->etcd[0]),
			     NETSEGD_MAX_ETCD, &k->n_etcd) ||
	    !k->n_etcd) {
		pr_err("%s: \"cluster\": \"etcd\" must be a list of 1 to %d URLs like "
		       "\"http://198.18.0.1:2379\"",
		       path, NETSEGD_MAX_ETCD);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < k->n_etcd; i++) {
		const char *u = k->etcd[i];

		if ((strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) ||
		    netseg_text_check(u, sizeof(k->etcd[i]), why, sizeof(why)) || strchr(u, ' ')) {
			pr_err("%s: \"cluster\": \"etcd\" #%u is not an http:// or https:// URL",
			       path, i + 1);
			return -EINVAL;
		}
	}
	err = get_str(o, "prefix", k->prefix, sizeof(k->prefix), path);
	if (!err && (k->prefix[0] != '/' || strstr(k->prefix, "//") ||
		     (k->prefix[1] && k->prefix[strlen(k->prefix) - 1] == '/') ||
		     netseg_text_check(k->prefix, sizeof(k->prefix), why, sizeof(why)))) {
		pr_err("%s: \"cluster\": \"prefix\" must look like /netseg (a leading '/', no "
		       "trailing '/', no empty component)",
		       path);
		return -EINVAL;
	}
	return err ?: get_u32(o, "lease_ttl", &k->lease_ttl, 2, 3600, path);
}

static int parse(struct netsegd_config *c, const cJSON *root, const char *path)
{
	const cJSON *ev = cJSON_GetObjectItem(root, "deny_events");
	int err = check_keys(root, path);
	char why[128];

	err = err ?: get_str(root, "pin_dir", c->pin_dir, sizeof(c->pin_dir), path);
	err = err ?: get_str(root, "run_dir", c->run_dir, sizeof(c->run_dir), path);
	err = err ?: get_str(root, "state_dir", c->state_dir, sizeof(c->state_dir), path);
	err = err ?: get_str(root, "socket", c->socket, sizeof(c->socket), path);
	err = err ?: get_str(root, "socket_group", c->socket_group, sizeof(c->socket_group), path);
	err = err ?: get_str(root, "node_name", c->node_name, sizeof(c->node_name), path);
	if (!err && netseg_text_check(c->node_name, sizeof(c->node_name), why, sizeof(why))) {
		pr_err("%s: \"node_name\": %s", path, why);
		return -EINVAL;
	}
	err = err ?: get_u32(root, "ct_max", &c->ct_max, 1024, 1U << 26, path);
	err = err ?: get_u32(root, "max_rules", &c->max_entries, 16, NETSEG_POLICY_MAX, path);
	err = err ?: get_u32(root, "prefilter_max", &c->prefilter_max, 16, 1U << 24, path);
	err = err ?: get_u32(root, "netlink_rcvbuf", &c->netlink_rcvbuf, 4096, 1U << 30, path);
	err = err   ?:
		      get_u32(root, "control_idle_timeout", &c->control_idle_timeout, 1, 86400,
			      path);
	err = err   ?:
		      get_u32(root, "flow_history", &c->flow_history, NETSEGD_FLOW_HISTORY_MIN,
			      NETSEGD_FLOW_HISTORY_MAX, path);
	if (!err && ev) {
		err = get_u32(ev, "rate", &c->deny_rate, 0, 10000000, path);
		err = err ?: get_u32(ev, "burst", &c->deny_burst, 1, 10000000, path);
	}
	err = err ?: get_bool(root, "log_allowed", &c->log_allowed, path);
	err = err ?: get_bool(root, "host_to_pods", &c->host_to_pods, path);
	if (!err && cJSON_GetObjectItem(root, "metrics"))
		err = parse_metrics(c, cJSON_GetObjectItem(root, "metrics"), path);
	if (!err && cJSON_GetObjectItem(root, "flow_logs"))
		err = parse_flow_logs(c, cJSON_GetObjectItem(root, "flow_logs"), path);
	if (!err && cJSON_GetObjectItem(root, "cluster"))
		err = parse_cluster(c, cJSON_GetObjectItem(root, "cluster"), path);
	if (!err && cJSON_GetObjectItem(root, "uplinks") &&
	    netseg_json_strs(cJSON_GetObjectItem(root, "uplinks"), c->uplinks[0],
			     sizeof(c->uplinks[0]), 16, NETSEGD_MAX_UPLINKS, &c->nuplinks)) {
		pr_err("%s: \"uplinks\" must be a list of at most %d interface names", path,
		       NETSEGD_MAX_UPLINKS);
		return -EINVAL;
	}
	for (unsigned int i = 0; !err && i < c->nuplinks; i++) {
		if (netseg_ifname_check(c->uplinks[i], 16, why, sizeof(why))) {
			pr_err("%s: \"uplinks\" #%u: %s", path, i + 1, why);
			return -EINVAL;
		}
	}
	return err;
}

int netsegd_config_parse(struct netsegd_config *c, const char *buf, const char *path)
{
	struct netsegd_config tmp = *c;
	cJSON *root = cJSON_Parse(buf);
	int err;

	if (!root || !cJSON_IsObject(root)) {
		const char *at = cJSON_GetErrorPtr();

		pr_err("%s: not a JSON object (error near byte %ld)", path,
		       at ? (long)(at - buf) : 0L);
		cJSON_Delete(root);
		return -EINVAL;
	}
	err = parse(&tmp, root, path);
	cJSON_Delete(root);
	if (err)
		return err; /* nothing half-applied: the old config stays */
	snprintf(tmp.path, sizeof(tmp.path), "%s", path);
	*c = tmp;
	return 0;
}

int netsegd_config_load(struct netsegd_config *c, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	/* A config is a few kB: a bound, so /dev/zero can't eat the memory. */
	err = netseg_read_file(path, (1 << 20) - 1, &buf, &len);
	if (err) {
		pr_err("couldn't read config %s: %s", path,
		       err == -EFBIG ? "larger than 1 MiB" : strerror(-err));
		return err;
	}
	err = netsegd_config_parse(c, buf, path);
	free(buf);
	return err;
}
