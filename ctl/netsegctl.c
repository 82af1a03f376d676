// SPDX-License-Identifier: GPL-2.0-only
/*
 * netsegctl: command table, global options and argument helpers.
 *
 *   netsegctl [-o json|json-compact] [-s SOCKET] [-v] COMMAND ...
 *   netsegctl --version
 *
 * Global options may also follow the command (`netsegctl list -o json`),
 * as users of kubectl and cilium type them.
 */
#define _GNU_SOURCE /* vasprintf */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "log.h"
#include "netsegctl.h"
#include "output.h"
#include "version.h"

struct ctl_opts ctl;
const char *bin_name = "netsegctl";

/* The subcommand running, for usage_err(). */
static const struct cmd *cur_cmd;

static int do_help(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "status", do_status, "status" },
	{ "stats", do_stats, "stats" },
	{ "identity", do_identity,
	  "identity add NAME [--iface GLOB]... [--cgroup PATH]... [--cidr CIDR]... [--audit]\n"
	  "identity list\n"
	  "identity remove NAME\n"
	  "identity set NAME [--audit on|off] [--add-cidr CIDR]... [--remove-cidr CIDR]... [--add-iface GLOB]... [--remove-iface GLOB]... [--add-cgroup PATH]... [--remove-cgroup PATH]..." },
	{ "endpoint", do_endpoint,
	  "endpoint list\n"
	  "endpoint label IFACE [--namespace NS] KEY=VALUE...\n"
	  "endpoint unlabel IFACE" },
	{ "allow", do_allow, "allow RULE [--audit] [--log] [--comment TEXT]" },
	{ "deny", do_deny, "deny RULE [--log] [--comment TEXT]" },
	{ "remove", do_remove, "remove { ID | RULE }" },
	{ "rule", do_rule, "rule set ID [--audit on|off] [--log on|off] [--comment TEXT]" },
	{ "list", do_list, "list" },
	{ "apply", do_apply, "apply -f FILE|- [--dry-run] [--expect-revision N]" },
	{ "delete", do_delete,
	  "delete -f FILE|- [--ignore-not-found]\n"
	  "delete networkpolicy|netpol NAMESPACE/NAME | -n NAMESPACE NAME [--ignore-not-found]\n"
	  "delete namespace|ns NAME [--ignore-not-found]\n"
	  "delete ID|RULE" },
	{ "get", do_get,
	  "get networkpolicies|netpol|namespaces|ns[,...] [-n NAMESPACE|-A] [-o yaml|json]" },
	{ "diff", do_diff, "diff -f FILE|-" },
	{ "check", do_check, "check -f FILE|- [--offline]" },
	{ "trace", do_trace, "trace SRC DST [PROTO/]PORT [--exit-code]" },
	{ "flows", do_flows,
	  "flows [--follow] [--verdict allowed|denied|audit|end] [--identity NAME] [--rule ID] [--no-color]" },
	{ "observe", do_observe,
	  "observe [--from X] [--to Y] [--port P] [--verdict V[,V]...] [--since DURATION] [--last N] [--follow] [--no-color]" },
	{ "prefilter", do_prefilter,
	  "prefilter add CIDR\n"
	  "prefilter remove CIDR\n"
	  "prefilter list\n"
	  "prefilter apply -f FILE [--dry-run]" },
	{ "attach", do_attach, "attach IFACE" },
	{ "detach", do_detach, "detach IFACE" },
	{ "node", do_node, "node list" },
	{ "logs", do_logs, "logs verify FILE...   (oldest first)" },
	{ "map", do_map, "map [--since DURATION] [-o dot|svg|png|json] [--output-file FILE]" },
	{ "suggest", do_suggest,
	  "suggest [--since DURATION] [--identity NAME] [-o rules|yaml|json] [--diff]\n"
	  "suggest [--since DURATION] [--identity NAME] --apply [--expect-revision N]" },
	{ "help", do_help, "help" },
	{ 0 },
};

static void print_usage_lines(FILE *f, const char *indent, const char *usage)
{
	const char *p = usage, *nl;

	while (*p) {
		nl = strchrnul(p, '\n');
		fprintf(f, "%s%s %.*s\n", indent, bin_name, (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

/* netsegctl(8)'s section of each command, generated at build time. */
static const struct {
	const char *name, *text;
} man_help[] = {
#include "ctl_help.h"
};

/* `netsegctl [PARENT] NAME --help`: the usage line(s), then what the man
 * page says about the command (every subcommand's section for a
 * command with subcommands). */
static void print_cmd_help(const struct cmd *parent, const struct cmd *c)
{
	char full[64];
	size_t i, n;

	snprintf(full, sizeof(full), "%s%s%s", parent ? parent->name : "", parent ? " " : "",
		 c->name);
	n = strlen(full);
	fputs("usage:\n", stdout);
	print_usage_lines(stdout, "  ", c->usage);
	for (i = 0; i < sizeof(man_help) / sizeof(man_help[0]); i++) {
		if (strncmp(man_help[i].name, full, n) ||
		    (man_help[i].name[n] && man_help[i].name[n] != ' '))
			continue;
		if (strcmp(man_help[i].name, full))
			printf("\n%s:\n", man_help[i].name);
		printf("\n%s", man_help[i].text);
	}
	printf("\nSee netsegctl(8) for more.\n");
}

static void print_help(FILE *f)
{
	const struct cmd *c;

	fprintf(f,
		"usage: %s [-o json|json-compact] [-s SOCKET] [-v] COMMAND ...\n"
		"       %s --version\n"
		"\n",
		bin_name, bin_name);
	for (c = cmds; c->name; c++)
		if (c->func && c->func != do_help)
			print_usage_lines(f, "  ", c->usage);
	fprintf(f,
		"\n"
		"  RULE  := SRC '->' DST [':' PORTS]  |  SRC 'to' DST ['port' PORTS]\n"
		"  SRC, DST := NAME | '*' | world | host | CIDR\n"
		"  PORTS := [PROTO '/'] SPEC [',' SPEC]...  |  PROTO\n"
		"  SPEC  := PORT | PORT '-' PORT\n"
		"  PROTO := tcp | udp | sctp | icmp[/TYPE] | icmpv6[/TYPE] | any\n"
		"\n"
		"  Quote rules: in a shell, an unquoted '>' is a redirection.\n"
		"  The socket is -s SOCKET, else $NETSEG_SOCKET, else %s.\n"
		"  Exit codes: 0 ok, 1 rejected, 2 usage, 3 netsegd unreachable,\n"
		"  4 internal or protocol error.\n",
		NETSEG_CTL_SOCK);
}

static int do_help(int argc, char **argv)
{
	print_help(stdout);
	return CTL_EXIT_OK;
}

int usage_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	p_verr("", fmt, ap);
	va_end(ap);
	if (!out_json()) {
		if (cur_cmd) {
			fputs("usage:\n", stderr);
			print_usage_lines(stderr, "  ", cur_cmd->usage);
		} else {
			/* The whole usage buries the error; point at it. */
			fprintf(stderr,
				"usage: %s [-o json|json-compact] [-s SOCKET] [-v] COMMAND ...\n"
				"Run '%s --help' for the commands.\n",
				bin_name, bin_name);
		}
	}
	return CTL_EXIT_USAGE;
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

/* Other words people type for a command: `rm` and `delete` are what
 * they reach for after git, kubectl and ip (the top level's `delete` is a
 * command of its own, which removes rules too).  Not in --help (one name
 * per command there); netsegctl(8) lists them. */
static const char *const aliases[][2] = {
	{ "rm", "remove" },
	{ "delete", "remove" },
	{ "del", "remove" },
};

static const char *unalias(const char *word)
{
	size_t i;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(word, aliases[i][0]))
			return aliases[i][1];
	return word;
}

/* Edit distance counting a swap of neighbours as one edit (optimal
 * string alignment): "stauts" is one slip from "status", not two.
 * Words longer than 32 aren't typos. */
static unsigned int edit_distance(const char *a, const char *b)
{
	unsigned int d[33][33], i, j, la = strlen(a), lb = strlen(b), v;

	if (la > 32 || lb > 32)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* The entry of @table nearest to @word, if near enough to be a typo
 * (a third of the word's letters, at least one) or a prefix of it. */
static const char *nearest(const struct cmd *table, const char *word)
{
	unsigned int d, best = 99, limit = strlen(word) / 3;
	const struct cmd *c;
	const char *name = NULL;

	if (limit < 1)
		limit = 1;
	for (c = table; c->name; c++) {
		if (!c->func)
			continue;
		d = edit_distance(word, c->name);
		if (!strncmp(c->name, word, strlen(word)) && *word)
			d = 1;
		if (d <= limit && d < best) {
			best = d;
			name = c->name;
		}
	}
	return name;
}

int cmd_select(const struct cmd *table, int argc, char **argv)
{
	const char *what = cur_cmd ? "subcommand" : "command", *word, *near;
	const struct cmd *c, *parent;

	if (argc < 1)
		return usage_err("missing %s", what);
	/* An alias only where the table has no command of that name: the
	 * top level's delete is kubectl's, identity delete is remove. */
	word = argv[0];
	for (c = table; c->name && strcmp(word, c->name); c++)
		;
	if (!c->name)
		word = unalias(argv[0]);
	for (c = table; c->name; c++) {
		if (strcmp(word, c->name))
			continue;
		parent = cur_cmd;
		cur_cmd = c;
		if (!c->func) {
			p_err("'%s' is not available in this version of %s", c->name, bin_name);
			return CTL_EXIT_USAGE;
		}
		if (argc > 1 && is_help(argv[1]) && c->func != do_help) {
			print_cmd_help(parent, c);
			return CTL_EXIT_OK;
		}
		return c->func(argc - 1, argv + 1);
	}
	near = nearest(table, argv[0]);
	/* Not the whole usage: one line naming the way out is what helps. */
	p_err("unknown %s '%s'%s%s%s", what, argv[0], near ? "; did you mean '" : "",
	      near ? near : "", near ? "'?" : "");
	if (!out_json())
		fprintf(stderr, "Run '%s%s%s --help' for the list.\n", bin_name, cur_cmd ? " " : "",
			cur_cmd ? cur_cmd->name : "");
	return CTL_EXIT_USAGE;
}

/* --------------------------------------------------------- arguments */

int arg_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) || (a[n] && a[n] != '='))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (*i + 1 >= argc) {
		usage_err("%s needs a value", name);
		return -EINVAL;
	}
	*val = argv[++*i];
	return 1;
}

int no_more_args(int argc, char **argv)
{
	if (argc <= 0)
		return 0;
	usage_err("unexpected argument '%s'", argv[0]);
	return -EINVAL;
}

char *join_words(char **words, int n)
{
	size_t len = 1;
	char *s, *p;
	int i;

	for (i = 0; i < n; i++)
		len += strlen(words[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	p = s;
	*p = '\0';
	for (i = 0; i < n; i++)
		p = stpcpy(stpcpy(p, i ? " " : ""), words[i]);
	return s;
}

/* ------------------------------------------------------ global options */

static int set_global(int opt, const char *val)
{
	switch (opt) {
	case 'o':
		if (!strcmp(val, "json")) {
			out_format = OUT_JSON;
		} else if (!strcmp(val, "json-compact")) {
			out_format = OUT_JSON_COMPACT;
		} else if (!strcmp(val, "text")) {
			out_format = OUT_TEXT;
			flow_text_asked = true; /* flows: lines even to a pipe */
		} else if (!strcmp(val, "ocsf") || !strcmp(val, "ecs") || !strcmp(val, "cef")) {
			flow_format = val; /* record formats: for flows */
		} else if (!strcmp(val, "dot") || !strcmp(val, "svg") || !strcmp(val, "png") ||
			   !strcmp(val, "rules") || !strcmp(val, "yaml")) {
			learn_format = val; /* map, suggest; get's yaml */
		} else {
			return usage_err(
				"unknown output format '%s' (expected json, json-compact, text; for flows and observe ocsf, ecs, cef; for map dot, svg, png; for suggest rules, yaml; for get yaml)",
				val);
		}
		return 0;
	case 's':
		ctl.sock = val;
		return 0;
	case 'v':
		ctl.verbose = true;
		netseg_log_set_level(NETSEG_LOG_DEBUG);
		return 0;
	}
	return usage_err("unknown option");
}

/* Subcommand flags that take a value: their value is never a global
 * option, even when it reads "-v" (a comment, say). */
static const char *const value_flags[] = {
	"--comment", "--iface",		  "--cgroup", "--cidr",	     "-f",
	"--file",    "--expect-revision", "-n",	      "--namespace",
};

static bool takes_value(const char *arg)
{
	size_t i;

	for (i = 0; i < sizeof(value_flags) / sizeof(value_flags[0]); i++)
		if (!strcmp(arg, value_flags[i]))
			return true;
	return false;
}

/* Global option at argv[*i] after the command: 1 (consumed), 0 (not
 * one), or an exit code > 1 on error. */
static int late_global(int argc, char **argv, int *i)
{
	static const struct {
		const char *s, *l;
		int opt;
	} g[] = {
		{ "-o", "--output", 'o' },
		{ "-s", "--socket", 's' },
	};
	const char *val;
	size_t k;
	int ret;

	if (!strcmp(argv[*i], "-v") || !strcmp(argv[*i], "--verbose"))
		return set_global('v', NULL) ? CTL_EXIT_USAGE : 1;
	for (k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		ret = arg_value(argc, argv, i, g[k].s, &val);
		if (!ret)
			ret = arg_value(argc, argv, i, g[k].l, &val);
		if (ret < 0)
			return CTL_EXIT_USAGE;
		if (ret)
			return set_global(g[k].opt, val) ? CTL_EXIT_USAGE : 1;
	}
	return 0;
}

/* Take global options out of the command's arguments, in place. */
static int hoist_globals(int *argc, char **argv)
{
	int i, n = 1, ret;

	for (i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[n++] = argv[i++];
			break;
		}
		if (takes_value(argv[i]) && i + 1 < *argc) {
			argv[n++] = argv[i++];
			argv[n++] = argv[i];
			continue;
		}
		ret = late_global(*argc, argv, &i);
		if (ret > 1)
			return ret;
		if (!ret)
			argv[n++] = argv[i];
	}
	*argc = n;
	return 0;
}

static int parse_globals(int *argc, char ***argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL },
	};
	int opt, ret;

	opterr = 0;
	/* '+': stop at the command; what follows is the command's.
	 * ':': report a missing value apart from an unknown option. */
	while ((opt = getopt_long(*argc, *argv, "+:o:s:vh", opts, NULL)) != -1) {
		if (opt == 'h') {
			print_help(stdout);
			exit(CTL_EXIT_OK);
		}
		if (opt == 'V') {
			printf("%s %s\n", bin_name, NETSEG_VERSION);
			exit(CTL_EXIT_OK);
		}
		if (opt == ':')
			return usage_err("%s needs a value", (*argv)[optind - 1]);
		if (opt == '?')
			return usage_err("unknown option '%s'", (*argv)[optind - 1]);
		ret = set_global(opt, optarg);
		if (ret)
			return ret;
	}
	*argc -= optind;
	*argv += optind;
	return *argc ? hoist_globals(argc, *argv) : 0;
}

int main(int argc, char **argv)
{
	const char *env = getenv("NETSEG_SOCKET");
	int ret;

	netseg_log_set_ident(bin_name);
	ctl.sock = env && *env ? env : NETSEG_CTL_SOCK;
	ret = parse_globals(&argc, &argv);
	if (ret)
		return ret;
	if (!argc)
		return usage_err("missing command");
	if (is_help(argv[0]))
		return do_help(argc, argv);
	/* Flow-record formats exist only where there are flow records. */
	if (flow_format && strcmp(argv[0], "flows") && strcmp(argv[0], "observe")) {
		p_err("%s has no %s output; use -o json", argv[0], flow_format);
		return CTL_EXIT_USAGE;
	}
	if (learn_format && strcmp(argv[0], "map") && strcmp(argv[0], "suggest") &&
	    strcmp(argv[0], "get")) {
		p_err("%s has no %s output; use -o json", argv[0], learn_format);
		return CTL_EXIT_USAGE;
	}
	ret = cmd_select(cmds, argc, argv);
	if (fflush(stdout) || ferror(stdout)) {
		perror("netsegctl: writing the output");
		if (!ret)
			ret = CTL_EXIT_INTERNAL;
	}
	return ret;
}
