// SPDX-License-Identifier: GPL-2.0-only
/*
 * map [--since DURATION] [-o dot|svg|png|json] [--output-file FILE]:
 * who talked to whom in the daemon's flow history, as a Graphviz graph
 * (lib/suggest.h).  DOT is written here; SVG and PNG by Graphviz's `dot`.
 * Also the flow fetch `suggest` shares (learn_fetch).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "netsegctl.h"
#include "output.h"
#include "suggest.h"

const char *learn_format; /* -o dot|svg|png (map), rules|yaml (suggest) */

static int obs_push(struct netseg_obs **obs, size_t *n, size_t *cap, const struct netseg_obs *o)
{
	struct netseg_obs *p;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		p = realloc(*obs, *cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*obs = p;
	}
	(*obs)[(*n)++] = *o;
	return 0;
}

/* One "flow" line of the stream: 0, or -errno after reporting it. */
static int take_record(const cJSON *msg, __u64 since_ns, struct netseg_obs **obs, size_t *n,
		       size_t *cap)
{
	const cJSON *line = cJSON_GetObjectItem(msg, "flow");
	struct netseg_obs o;
	cJSON *rec;
	int r;

	if (!cJSON_IsString(line))
		return 0; /* a "skipped" notice: nothing to count */
	rec = cJSON_Parse(line->valuestring);
	if (!rec)
		return proto_err("a flow record is not JSON");
	r = netseg_obs_from_json(rec, &o);
	cJSON_Delete(rec);
	if (r == -ENOENT || (!r && o.time_ns < since_ns))
		return 0;
	if (r)
		return proto_err("a flow record lacks identities, protocol or ports");
	r = obs_push(obs, n, cap, &o);
	if (r)
		p_err("out of memory");
	return r;
}

int learn_fetch(__u64 since_ns, struct netseg_obs **obs, size_t *n)
{
	cJSON *req = req_new("flows"), *msg = NULL;
	const cJSON *err;
	size_t cap = 0;
	struct netseg_ctl_conn c;
	int r, ret = CTL_EXIT_INTERNAL;

	*obs = NULL;
	*n = 0;
	if (!req || !cJSON_AddStringToObject(req, "format", "json")) {
		cJSON_Delete(req);
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	r = netseg_ctl_open(&c, ctl.sock);
	if (r) {
		cJSON_Delete(req);
		p_err("can't reach netsegd at %s: %s (is it running?)", ctl.sock, strerror(-r));
		return CTL_EXIT_UNREACHABLE;
	}
	r = netseg_ctl_send(&c, req);
	cJSON_Delete(req);
	while (!r && !(r = netseg_ctl_recv(&c, &msg))) {
		if (!cJSON_IsTrue(cJSON_GetObjectItem(msg, "ok"))) {
			err = cJSON_GetObjectItem(msg, "error");
			p_err("%s", cJSON_IsString(err) ? err->valuestring : "flows refused");
			ret = CTL_EXIT_REJECTED;
			goto out;
		}
		if (cJSON_IsTrue(cJSON_GetObjectItem(msg, "end"))) {
			ret = CTL_EXIT_OK;
			goto out;
		}
		if (take_record(msg, since_ns, obs, n, &cap))
			goto out;
		cJSON_Delete(msg);
		msg = NULL;
	}
	p_err("flow history from netsegd ended early: %s", strerror(-r));
out:
	cJSON_Delete(msg);
	netseg_ctl_close(&c);
	if (ret) {
		free(*obs);
		*obs = NULL;
		*n = 0;
	}
	return ret;
}

int learn_since(const char *val, __u64 *since_ns)
{
	struct timespec now;
	__u64 d, t;

	if (netseg_duration_parse(val, &d))
		return usage_err("--since takes a duration such as 90s, 15m, 2h or 1d, not '%s'",
				 val);
	clock_gettime(CLOCK_REALTIME, &now);
	t = (__u64)now.tv_sec * 1000000000ULL + (__u64)now.tv_nsec;
	*since_ns = d < t ? t - d : 0;
	return 0;
}

/* --------------------------------------------------------------- output */

static cJSON *map_json(const struct netseg_flowagg *agg, size_t n)
{
	cJSON *o = cJSON_CreateObject(), *nodes, *edges, *e;
	char port[32];
	size_t i, j;

	nodes = cJSON_AddArrayToObject(o, "nodes");
	edges = cJSON_AddArrayToObject(o, "edges");
	if (!nodes || !edges)
		goto oom;
	for (i = 0; i < n; i++) {
		const char *names[2] = { agg[i].src, agg[i].dst };

		for (j = 0; j < 2; j++) {
			cJSON *it;
			bool seen = false;

			cJSON_ArrayForEach(it, nodes)
				seen |= !strcmp(cJSON_GetStringValue(
							cJSON_GetObjectItem(it, "name")),
						names[j]);
			if (seen)
				continue;
			it = cJSON_CreateObject();
			if (!it || !cJSON_AddStringToObject(it, "name", names[j]) ||
			    !cJSON_AddStringToObject(it, "kind",
						     !strcmp(names[j], "world") ? "world" :
						     !strcmp(names[j], "host")	? "host" :
										  "identity")) {
				cJSON_Delete(it);
				goto oom;
			}
			cJSON_AddItemToArray(nodes, it);
		}
		netseg_flowagg_port(&agg[i], port, sizeof(port));
		e = cJSON_CreateObject();
		if (!e || !cJSON_AddStringToObject(e, "src", agg[i].src) ||
		    !cJSON_AddStringToObject(e, "dst", agg[i].dst) ||
		    !cJSON_AddStringToObject(e, "proto", port) ||
		    (agg[i].has_port && !cJSON_AddNumberToObject(e, "port", agg[i].port)) ||
		    (agg[i].has_icmp && !cJSON_AddNumberToObject(e, "icmp_type", agg[i].port)) ||
		    !cJSON_AddNumberToObject(e, "allowed", agg[i].allowed) ||
		    !cJSON_AddNumberToObject(e, "denied", agg[i].denied) ||
		    !cJSON_AddNumberToObject(e, "audit", agg[i].audit)) {
			cJSON_Delete(e);
			goto oom;
		}
		/* "proto": the protocol name alone, "tcp/443" is in "port" */
		cJSON_ReplaceItemInObject(e, "proto",
					  cJSON_CreateString(
						  netseg_suggest_proto_name(agg[i].proto) ?: port));
		cJSON_AddItemToArray(edges, e);
	}
	return o;
oom:
	cJSON_Delete(o);
	return NULL;
}

/* DOT into `dot -T@fmt -o @file`; 0 or an exit code (reported). */
static int run_dot(const char *fmt, const char *file, const struct netseg_flowagg *agg, size_t n)
{
	char tflag[8];
	int fds[2], st, r;
	pid_t pid;
	FILE *f;

	snprintf(tflag, sizeof(tflag), "-T%s", fmt);
	if (pipe(fds)) {
		p_err("couldn't run Graphviz dot: pipe: %s", strerror(errno));
		return CTL_EXIT_INTERNAL;
	}
	pid = fork();
	if (pid < 0) {
		p_err("couldn't run Graphviz dot: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return CTL_EXIT_INTERNAL;
	}
	if (!pid) {
		dup2(fds[0], STDIN_FILENO);
		close(fds[0]);
		close(fds[1]);
		execlp("dot", "dot", tflag, "-o", file, (char *)NULL);
		fprintf(stderr,
			"error: couldn't run Graphviz 'dot': %s (install the graphviz package, or use -o dot)\n",
			strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN); /* a dot that died is reported by its status */
	f = fdopen(fds[1], "w");
	r = f ? netseg_map_dot(f, agg, n) : -ENOMEM;
	if (f)
		fclose(f);
	else
		close(fds[1]);
	if (waitpid(pid, &st, 0) < 0) {
		p_err("couldn't wait for Graphviz dot: %s", strerror(errno));
		return CTL_EXIT_INTERNAL;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return CTL_EXIT_INTERNAL; /* reported by the child */
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		p_err("Graphviz dot failed making %s (%s %d)", file,
		      WIFEXITED(st) ? "exit status" : "signal",
		      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return CTL_EXIT_INTERNAL;
	}
	if (r) {
		p_err("couldn't write the graph to Graphviz dot: %s", strerror(-r));
		return CTL_EXIT_INTERNAL;
	}
	return CTL_EXIT_OK;
}

static int write_dot(const char *file, const struct netseg_flowagg *agg, size_t n)
{
	FILE *f = file ? fopen(file, "w") : stdout;
	int r;

	if (!f) {
		p_err("couldn't open %s: %s", file, strerror(errno));
		return CTL_EXIT_REJECTED;
	}
	r = netseg_map_dot(f, agg, n);
	if (file && fclose(f) && !r)
		r = -EIO;
	if (r) {
		p_err("couldn't write the graph to %s: %s", file ? file : "stdout", strerror(-r));
		return CTL_EXIT_INTERNAL;
	}
	return CTL_EXIT_OK;
}

static int map_args(int argc, char **argv, __u64 *since, const char **file)
{
	const char *v;
	int i, r;

	for (i = 0; i < argc; i++) {
		if ((r = arg_value(argc, argv, &i, "--since", &v))) {
			if (r < 0 || learn_since(v, since))
				return CTL_EXIT_USAGE;
			continue;
		}
		if ((r = arg_value(argc, argv, &i, "--output-file", &v))) {
			if (r < 0)
				return CTL_EXIT_USAGE;
			*file = v;
			continue;
		}
		return usage_err("unexpected argument '%s'", argv[i]);
	}
	return 0;
}

int do_map(int argc, char **argv)
{
	const char *fmt = learn_format ? learn_format : "dot", *file = NULL;
	struct netseg_flowagg *agg = NULL;
	struct netseg_obs *obs = NULL;
	size_t n, nagg = 0;
	__u64 since = 0;
	cJSON *j;
	int ret;

	ret = map_args(argc, argv, &since, &file);
	if (ret)
		return ret;
	if (!out_json() && strcmp(fmt, "dot") && strcmp(fmt, "svg") && strcmp(fmt, "png"))
		return usage_err("map writes dot, svg, png or json, not %s", fmt);
	if (out_json() && file)
		return usage_err("-o json prints to stdout; --output-file is for dot, svg and png");
	if (!out_json() && strcmp(fmt, "dot") && !file)
		return usage_err("-o %s needs --output-file FILE", fmt);
	ret = learn_fetch(since, &obs, &n);
	if (ret)
		return ret;
	if (netseg_flowagg_build(obs, n, false, &agg, &nagg)) {
		p_err("out of memory");
		ret = CTL_EXIT_INTERNAL;
		goto out;
	}
	if (out_json()) {
		j = map_json(agg, nagg);
		ret = j && !print_json(j) ? CTL_EXIT_OK : CTL_EXIT_INTERNAL;
		if (!j)
			p_err("out of memory");
		cJSON_Delete(j);
	} else if (!strcmp(fmt, "dot")) {
		ret = write_dot(file, agg, nagg);
	} else {
		ret = run_dot(fmt, file, agg, nagg);
	}
out:
	free(agg);
	free(obs);
	return ret;
}
