// SPDX-License-Identifier: GPL-2.0-only
/* Daemon configuration: defaults, then the JSON file, then flags. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "log.h"
#include "flowlog.h"
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
	if (gethostname(c->node_name, sizeof(c->node_name) - 1))
		strcpy(c->node_name, "localhost");
}

static int get_str(const cJSON *o, const char *key, char *out, size_t len,
		   const char *path)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!v)
		return 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= len || !v->valuestring[0]) {
		pr_err("%s: \"%s\" must be a non-empty string shorter than %zu bytes",
		       path, key, len);
		return -EINVAL;
	}
	strcpy(out, v->valuestring);
	return 0;
}

static int get_u32(const cJSON *o, const char *key, __u32 *out, __u32 min,
		   __u32 max, const char *path)
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
#define P(k, f) { #k, f, offsetof(struct netsegd_config, k), sizeof(((struct netsegd_config *)0)->k) }
		P(pin_dir, "--bpffs"), P(run_dir, "--run-dir"), P(state_dir, "--state-dir"),
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
	"pin_dir", "run_dir", "state_dir", "socket", "socket_group", "node_name", "deny_events",
	"log_allowed", "ct_max", "max_rules", "prefilter_max", "uplinks", "flow_logs", "netlink_rcvbuf",
	"control_idle_timeout", "metrics", "flow_history", NULL,
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

/* Checked now (a bad sink refuses the whole config), opened at start. */
static int parse_flow_logs(struct netsegd_config *c, const cJSON *arr, const char *path)
{
	struct netsegd d = {};
	char *s;
	int err;

	if (!cJSON_IsArray(arr)) {
		pr_err("%s: \"flow_logs\" must be a list of sinks", path);
		return -EINVAL;
	}
	err = netsegd_flowlog_new(&d, arr, &d.fl);
	if (err)
		return err;
	netsegd_flowlog_free(&d);
	s = cJSON_PrintUnformatted(arr);
	if (!s || strlen(s) >= sizeof(c->flow_logs)) {
		pr_err("%s: \"flow_logs\" is too long", path);
		free(s);
		return -EINVAL;
	}
	strcpy(c->flow_logs, s);
	free(s);
	return 0;
}

/* "metrics": {"listen": "ADDR:PORT"}; checked now, bound at start. */
static int parse_metrics(struct netsegd_config *c, const cJSON *o, const char *path)
{
	struct sockaddr_storage ss;
	unsigned int len;
	const cJSON *it;
	char why[160];
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
	err = get_str(o, "listen", c->metrics_listen, sizeof(c->metrics_listen), path);
	if (!err && !c->metrics_listen[0]) {
		pr_err("%s: \"metrics\" needs \"listen\": \"ADDR:PORT\"", path);
		return -EINVAL;
	}
	if (!err && netsegd_metrics_parse_listen(c->metrics_listen, &ss, &len, why,
						 sizeof(why))) {
		pr_err("%s: \"metrics\": \"listen\" %s", path, why);
		return -EINVAL;
	}
	return err;
}

static int parse(struct netsegd_config *c, const cJSON *root, const char *path)
{
	const cJSON *ev = cJSON_GetObjectItem(root, "deny_events");
	const cJSON *la = cJSON_GetObjectItem(root, "log_allowed");
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
	err = err ?: get_u32(root, "control_idle_timeout", &c->control_idle_timeout, 1, 86400,
			     path);
	err = err ?: get_u32(root, "flow_history", &c->flow_history, NETSEGD_FLOW_HISTORY_MIN,
			     NETSEGD_FLOW_HISTORY_MAX, path);
	if (!err && ev) {
		err = get_u32(ev, "rate", &c->deny_rate, 0, 10000000, path);
		err = err ?: get_u32(ev, "burst", &c->deny_burst, 1, 10000000, path);
	}
	if (!err && la) {
		if (!cJSON_IsBool(la)) {
			pr_err("%s: \"log_allowed\" must be true or false", path);
			return -EINVAL;
		}
		c->log_allowed = cJSON_IsTrue(la);
	}
	if (!err && cJSON_GetObjectItem(root, "metrics"))
		err = parse_metrics(c, cJSON_GetObjectItem(root, "metrics"), path);
	if (!err && cJSON_GetObjectItem(root, "flow_logs"))
		err = parse_flow_logs(c, cJSON_GetObjectItem(root, "flow_logs"), path);
	if (!err && cJSON_GetObjectItem(root, "uplinks") &&
	    netseg_json_strs(cJSON_GetObjectItem(root, "uplinks"), c->uplinks[0],
			     sizeof(c->uplinks[0]), 16, NETSEGD_MAX_UPLINKS,
			     &c->nuplinks)) {
		pr_err("%s: \"uplinks\" must be a list of at most %d interface names",
		       path, NETSEGD_MAX_UPLINKS);
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
		return err;	/* nothing half-applied: the old config stays */
	snprintf(tmp.path, sizeof(tmp.path), "%s", path);
	*c = tmp;
	return 0;
}

int netsegd_config_load(struct netsegd_config *c, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		pr_err("couldn't read config %s: %s", path, strerror(-err));
		return err;
	}
	buf = malloc(1 << 20);
	if (buf)
		len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	err = netsegd_config_parse(c, buf, path);
	free(buf);
	return err;
}
