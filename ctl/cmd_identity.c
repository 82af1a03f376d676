// SPDX-License-Identifier: GPL-2.0-only
/*
 * identity add NAME [--iface GLOB]... [--cgroup PATH]... [--cidr CIDR]...
 *                   [--selector EXPR [--namespace NS]] [--audit]
 * identity list
 * identity remove NAME
 * identity set NAME [--audit on|off] [--add-|--remove-{cidr,iface,cgroup} X]...
 *                   [--selector EXPR] [--namespace NS] [--remove-selector]
 * endpoint list
 * endpoint label IFACE [--namespace NS] KEY=VALUE...
 * endpoint unlabel IFACE
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "labels.h"
#include "netsegctl.h"
#include "output.h"

struct ident_args {
	const char *name;
	cJSON *ifaces, *cgroups, *cidrs; /* arrays owned by the request */
	const char *selector, *ns;	 /* pods that are members; NULL = none */
	bool audit;
};

/*
 * A flag given at most once (--selector, --namespace) at argv[*i]: 1 if it
 * was @flag, 0 if not, -errno.  "" is a value: the selector that matches
 * every pod, the namespace "every namespace".
 */
static int once_flag(int argc, char **argv, int *i, const char *flag, const char **slot)
{
	const char *val;
	int ret = arg_value(argc, argv, i, flag, &val);

	if (ret <= 0)
		return ret;
	if (*slot) {
		usage_err("%s given twice", flag);
		return -EINVAL;
	}
	*slot = val;
	return 1;
}

/* A selector flag at argv[*i]: 1 if it was one, 0 if not, -errno. */
static int selector_flag(int argc, char **argv, int *i, struct ident_args *a)
{
	static const struct {
		const char *flag;
		size_t off;
	} sel[] = {
		{ "--iface", offsetof(struct ident_args, ifaces) },
		{ "--cgroup", offsetof(struct ident_args, cgroups) },
		{ "--cidr", offsetof(struct ident_args, cidrs) },
	};
	const char *val;
	cJSON *arr, *s;
	size_t k;
	int ret;

	for (k = 0; k < sizeof(sel) / sizeof(sel[0]); k++) {
		ret = arg_value(argc, argv, i, sel[k].flag, &val);
		if (ret < 0)
			return ret;
		if (!ret)
			continue;
		if (!*val) {
			usage_err("%s needs a non-empty value", sel[k].flag);
			return -EINVAL;
		}
		arr = *(cJSON **)((char *)a + sel[k].off);
		s = cJSON_CreateString(val);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return -ENOMEM;
		}
		return 1;
	}
	return 0;
}

static int ident_args_parse(int argc, char **argv, struct ident_args *a)
{
	int i, ret;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--audit")) {
			a->audit = true;
			continue;
		}
		ret = selector_flag(argc, argv, &i, a);
		if (!ret)
			ret = once_flag(argc, argv, &i, "--selector", &a->selector);
		if (!ret)
			ret = once_flag(argc, argv, &i, "--namespace", &a->ns);
		if (ret < 0)
			return ret;
		if (ret)
			continue;
		if (argv[i][0] == '-') {
			usage_err("unknown flag '%s'", argv[i]);
			return -EINVAL;
		}
		if (a->name) {
			usage_err("unexpected argument '%s' (one NAME only)", argv[i]);
			return -EINVAL;
		}
		a->name = argv[i];
	}
	if (!a->name) {
		usage_err("missing NAME");
		return -EINVAL;
	}
	if (a->ns && !a->selector) {
		usage_err("--namespace limits --selector: give --selector too");
		return -EINVAL;
	}
	return 0;
}

static void selectors_cell(const cJSON *row, char *buf, size_t len)
{
	static const char *const keys[] = { "ifaces", "cgroups", "cidrs" };
	static const char *const tags[] = { "iface", "cgroup", "cidr" };
	const cJSON *e, *sel, *ns;
	size_t k, n = 0;

	buf[0] = '\0';
	for (k = 0; k < 3; k++)
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(row, keys[k]))
			if (cJSON_IsString(e) && n < len)
				n += snprintf(buf + n, len - n, "%s%s:%s", n ? " " : "", tags[k],
					      e->valuestring);
	sel = cJSON_GetObjectItemCaseSensitive(row, "selector");
	ns = cJSON_GetObjectItemCaseSensitive(row, "namespace");
	if (cJSON_IsString(sel) && n < len)
		n += snprintf(buf + n, len - n, "%spods%s%s%s:%s", n ? " " : "",
			      cJSON_IsString(ns) && *ns->valuestring ? "[" : "",
			      cJSON_IsString(ns) ? ns->valuestring : "",
			      cJSON_IsString(ns) && *ns->valuestring ? "]" : "",
			      *sel->valuestring ? sel->valuestring : "(all)");
	if (!n)
		snprintf(buf, len, "-");
}

static const struct out_col ident_cols[] = {
	OUT_COL("ID", "id"),
	OUT_COL("NAME", "name"),
	OUT_COL("AUDIT", "audit"),
	OUT_COL_FN("SELECTORS", selectors_cell),
};

#define NCOLS(c) (sizeof(c) / sizeof((c)[0]))

static int print_added(const cJSON *reply)
{
	const cJSON *ident = cJSON_GetObjectItemCaseSensitive(reply, "identity");
	char name[128], id[32], rev[32];

	if (!cJSON_IsObject(ident))
		return proto_err("\"identity\" is not an object");
	cell_text(cJSON_GetObjectItemCaseSensitive(ident, "name"), name, sizeof(name));
	cell_text(cJSON_GetObjectItemCaseSensitive(ident, "id"), id, sizeof(id));
	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "revision"), rev, sizeof(rev));
	printf("added identity %s (id %s, revision %s)\n", name, id, rev);
	return 0;
}

static cJSON *ident_add_req(struct ident_args *a)
{
	cJSON *req = req_new("identity.add");

	a->ifaces = req ? cJSON_AddArrayToObject(req, "ifaces") : NULL;
	a->cgroups = a->ifaces ? cJSON_AddArrayToObject(req, "cgroups") : NULL;
	a->cidrs = a->cgroups ? cJSON_AddArrayToObject(req, "cidrs") : NULL;
	if (a->cidrs)
		return req;
	cJSON_Delete(req);
	return NULL;
}

static int ident_add(int argc, char **argv)
{
	struct ident_args a = { 0 };
	cJSON *req = ident_add_req(&a);
	int ret;

	if (!req) {
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	ret = ident_args_parse(argc, argv, &a);
	if (!ret && (!cJSON_AddStringToObject(req, "name", a.name) ||
		     !cJSON_AddBoolToObject(req, "audit", a.audit) ||
		     (a.selector && !cJSON_AddStringToObject(req, "selector", a.selector)) ||
		     (a.ns && !cJSON_AddStringToObject(req, "namespace", a.ns))))
		ret = -ENOMEM;
	if (ret) {
		cJSON_Delete(req);
		if (ret == -ENOMEM)
			p_err("out of memory");
		return ret == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_USAGE;
	}
	return ctl_run(req, print_added);
}

static int print_identities(const cJSON *reply)
{
	return print_rows(cJSON_GetObjectItemCaseSensitive(reply, "identities"), "identities",
			  ident_cols, NCOLS(ident_cols));
}

static int ident_list(int argc, char **argv)
{
	if (no_more_args(argc, argv))
		return CTL_EXIT_USAGE;
	return ctl_run(req_new("identity.list"), print_identities);
}

static const char *removed_name;

static int print_removed(const cJSON *reply)
{
	char rev[32];

	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "revision"), rev, sizeof(rev));
	printf("removed identity %s (revision %s)\n", removed_name, rev);
	return 0;
}

static int ident_remove(int argc, char **argv)
{
	cJSON *req;

	if (!argc)
		return usage_err("missing NAME");
	if (argv[0][0] == '-')
		return usage_err("unknown flag '%s'", argv[0]);
	if (no_more_args(argc - 1, argv + 1))
		return CTL_EXIT_USAGE;
	removed_name = argv[0];
	req = req_new("identity.remove");
	if (req && !cJSON_AddStringToObject(req, "name", argv[0])) {
		cJSON_Delete(req);
		req = NULL;
	}
	return ctl_run(req, print_removed);
}

/* ---------------------------------------------------------------- set */

static const char *set_name;

static int print_set(const cJSON *reply)
{
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(reply, "changes");
	char rev[32];

	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "revision"), rev, sizeof(rev));
	print_changes("identity", set_name, ch, rev);
	return 0;
}

/* identity set NAME [--audit on|off] [--add-cidr C]... [--remove-cidr C]...
 * [--add-iface G]... [--remove-iface G]... [--add-cgroup P]... [--remove-cgroup P]...
 * [--selector EXPR] [--namespace NS] [--remove-selector] */
static int ident_set(int argc, char **argv)
{
	static const char *const flags[] = {
		"--add-iface",	   "--remove-iface", "--add-cgroup",
		"--remove-cgroup", "--add-cidr",     "--remove-cidr",
	};
	static const char *const keys[] = {
		"add_ifaces",	  "remove_ifaces", "add_cgroups",
		"remove_cgroups", "add_cidrs",	   "remove_cidrs",
	};
	const char *val, *sel = NULL, *ns = NULL;
	cJSON *req, *arr, *s;
	bool any = false, rm_sel = false;
	int i, ret = 0;
	size_t k;

	if (!argc)
		return usage_err("missing NAME");
	if (argv[0][0] == '-')
		return usage_err("missing NAME before '%s'", argv[0]);
	req = req_new("identity.set");
	if (!req || !cJSON_AddStringToObject(req, "name", argv[0]))
		goto nomem;
	for (i = 1; i < argc; i++) {
		ret = arg_value(argc, argv, &i, "--audit", &val);
		if (ret > 0) {
			if (strcmp(val, "on") && strcmp(val, "off")) {
				usage_err("--audit takes on or off, not '%s'", val);
				goto usage;
			}
			if (!cJSON_AddBoolToObject(req, "audit", !strcmp(val, "on")))
				goto nomem;
			any = true;
			continue;
		}
		if (!ret && !strcmp(argv[i], "--remove-selector")) {
			rm_sel = any = true;
			continue;
		}
		if (!ret)
			ret = once_flag(argc, argv, &i, "--selector", &sel);
		if (!ret)
			ret = once_flag(argc, argv, &i, "--namespace", &ns);
		if (ret > 0) {
			any = true;
			ret = 0;
			continue;
		}
		for (k = 0; !ret && k < sizeof(flags) / sizeof(flags[0]); k++)
			ret = arg_value(argc, argv, &i, flags[k], &val);
		if (ret < 0)
			goto usage;
		if (!ret) {
			if (argv[i][0] == '-')
				usage_err("unknown flag '%s'", argv[i]);
			else
				usage_err("unexpected argument '%s' (one NAME only)", argv[i]);
			goto usage;
		}
		k--;
		if (!*val) {
			usage_err("%s needs a non-empty value", flags[k]);
			goto usage;
		}
		arr = cJSON_GetObjectItem(req, keys[k]);
		if (!arr && !(arr = cJSON_AddArrayToObject(req, keys[k])))
			goto nomem;
		s = cJSON_CreateString(val);
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			goto nomem;
		}
		any = true;
		ret = 0;
	}
	if (!any) {
		usage_err("nothing to set: give --audit or a selector to add or remove");
		goto usage;
	}
	if (rm_sel && (sel || ns)) {
		usage_err("--remove-selector can't be combined with --selector or --namespace");
		goto usage;
	}
	if ((sel && !cJSON_AddStringToObject(req, "selector", sel)) ||
	    (ns && !cJSON_AddStringToObject(req, "namespace", ns)) ||
	    (rm_sel && !cJSON_AddBoolToObject(req, "remove_selector", true)))
		goto nomem;
	set_name = argv[0];
	return ctl_run(req, print_set);
usage:
	cJSON_Delete(req);
	return CTL_EXIT_USAGE;
nomem:
	cJSON_Delete(req);
	p_err("out of memory");
	return CTL_EXIT_INTERNAL;
}

static const struct cmd ident_cmds[] = {
	{ "add", ident_add,
	  "identity add NAME [--iface GLOB]... [--cgroup PATH]... [--cidr CIDR]... [--selector EXPR [--namespace NS]] [--audit]" },
	{ "list", ident_list, "identity list" },
	{ "remove", ident_remove, "identity remove NAME" },
	{ "set", ident_set,
	  "identity set NAME [--audit on|off] [--add-cidr CIDR]... [--remove-cidr CIDR]... [--add-iface GLOB]... [--remove-iface GLOB]... [--add-cgroup PATH]... [--remove-cgroup PATH]... [--selector EXPR] [--namespace NS] [--remove-selector]" },
	{ 0 },
};

int do_identity(int argc, char **argv)
{
	return cmd_select(ident_cmds, argc, argv);
}

/* ---------------------------------------------------------- endpoints */

/* An interface has an ifindex, a cgroup a cgroup id: one column. */
static void endpoint_id_cell(const cJSON *row, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "ifindex");

	if (!v)
		v = cJSON_GetObjectItemCaseSensitive(row, "cgroup_id");
	cell_text(v, buf, len);
}

/* "NS/k=v,k2=v2": a pod's namespace and labels (endpoint.register or
 * endpoint label); "-" for an endpoint that has neither. */
static void endpoint_labels_cell(const cJSON *row, char *buf, size_t len)
{
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(row, "namespace");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(row, "labels"), *x;
	size_t n;

	if (!cJSON_IsString(ns) && !cJSON_IsObject(l) && !cJSON_IsString(l)) {
		snprintf(buf, len, "-");
		return;
	}
	n = snprintf(buf, len, "%s/", cJSON_IsString(ns) ? ns->valuestring : "");
	if (cJSON_IsString(l))
		snprintf(buf + (n < len ? n : len - 1), len - (n < len ? n : len - 1), "%s",
			 l->valuestring);
	if (!cJSON_IsObject(l))
		return;
	cJSON_ArrayForEach(x, l) {
		if (n >= len)
			break;
		n += snprintf(buf + n, len - n, "%s%s=%s", x == l->child ? "" : ",", x->string,
			      cJSON_IsString(x) ? x->valuestring : "?");
	}
}

static const struct out_col endpoint_cols[] = {
	OUT_COL("KIND", "kind"),
	OUT_COL("NAME", "name"),
	OUT_COL_FN("ID", endpoint_id_cell),
	OUT_COL("IDENTITY", "identity"),
	OUT_COL("IPS", "ips"),
	OUT_COL("ATTACHED", "attached"),
	OUT_COL("STATE", "state"),
	OUT_COL_FN("LABELS", endpoint_labels_cell), /* last: only when a row has them */
};

static int print_endpoints(const cJSON *reply)
{
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(reply, "endpoints"), *r;
	size_t ncols = NCOLS(endpoint_cols) - 1;

	/* A daemon without Kubernetes endpoints (or an older one) has no
	 * namespace or labels: no empty column then. */
	if (cJSON_IsArray(rows))
		cJSON_ArrayForEach(r, rows)
			if (cJSON_GetObjectItemCaseSensitive(r, "namespace") ||
			    cJSON_GetObjectItemCaseSensitive(r, "labels"))
				ncols = NCOLS(endpoint_cols);
	return print_rows(rows, "endpoints", endpoint_cols, ncols);
}

static int endpoint_list(int argc, char **argv)
{
	if (no_more_args(argc, argv))
		return CTL_EXIT_USAGE;
	return ctl_run(req_new("endpoint.list"), print_endpoints);
}

static const char *label_iface;

static int print_labelled(const cJSON *reply)
{
	char rev[32];

	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "revision"), rev, sizeof(rev));
	printf("endpoint ");
	fput_clean(label_iface, stdout);
	printf(" labelled (revision %s)\n", rev);
	return 0;
}

static int print_unlabelled(const cJSON *reply)
{
	char rev[32];

	cell_text(cJSON_GetObjectItemCaseSensitive(reply, "revision"), rev, sizeof(rev));
	printf("endpoint ");
	fput_clean(label_iface, stdout);
	printf(" unlabelled (revision %s)\n", rev);
	return 0;
}

/* KEY=VALUE words into @labels (checked as Kubernetes checks them, so a
 * typo is caught here with the word that has it); 0 or an exit code. */
static int label_words(int argc, char **argv, const char **ns, cJSON *labels)
{
	struct netseg_labels seen;
	struct netseg_err e = {};
	int code = 0, ret;
	char *eq;

	netseg_labels_init(&seen);
	for (int i = 0; i < argc && !code; i++) {
		ret = arg_value(argc, argv, &i, "--namespace", ns);
		if (!ret)
			ret = arg_value(argc, argv, &i, "-n", ns);
		if (ret < 0)
			code = CTL_EXIT_USAGE;
		if (ret)
			continue;
		eq = strchr(argv[i], '=');
		if (!eq) {
			code = usage_err("expected KEY=VALUE, not '%s'", argv[i]);
			break;
		}
		*eq = '\0';
		ret = netseg_labels_add(&seen, argv[i], eq + 1, &e);
		if (ret)
			code = ret == -ENOMEM ?
				       CTL_EXIT_INTERNAL :
				       usage_err("label '%s=%s': %s", argv[i], eq + 1, e.msg);
		else if (!cJSON_AddStringToObject(labels, argv[i], eq + 1))
			code = CTL_EXIT_INTERNAL;
		*eq = '=';
	}
	if (!code && !seen.n)
		code = usage_err("missing the labels: KEY=VALUE...");
	netseg_labels_free(&seen);
	return code;
}

static int endpoint_label(int argc, char **argv)
{
	const char *ns = NULL;
	cJSON *req, *labels;
	int code;

	if (argc < 1 || argv[0][0] == '-')
		return usage_err("missing the interface");
	label_iface = argv[0];
	req = req_new("endpoint.label");
	labels = cJSON_CreateObject();
	if (!req || !labels || !cJSON_AddStringToObject(req, "iface", argv[0])) {
		cJSON_Delete(req);
		cJSON_Delete(labels);
		p_err("out of memory");
		return CTL_EXIT_INTERNAL;
	}
	cJSON_AddItemToObject(req, "labels", labels);
	code = label_words(argc - 1, argv + 1, &ns, labels);
	if (!code && ns && !cJSON_AddStringToObject(req, "namespace", ns))
		code = CTL_EXIT_INTERNAL;
	if (code) {
		if (code == CTL_EXIT_INTERNAL)
			p_err("out of memory");
		cJSON_Delete(req);
		return code;
	}
	return ctl_run(req, print_labelled);
}

static int endpoint_unlabel(int argc, char **argv)
{
	cJSON *req;

	if (argc < 1)
		return usage_err("missing the interface");
	if (no_more_args(argc - 1, argv + 1))
		return CTL_EXIT_USAGE;
	label_iface = argv[0];
	req = req_new("endpoint.unlabel");
	if (req && !cJSON_AddStringToObject(req, "iface", argv[0])) {
		cJSON_Delete(req);
		req = NULL;
	}
	return ctl_run(req, print_unlabelled);
}

static const struct cmd endpoint_cmds[] = {
	{ "list", endpoint_list, "endpoint list" },
	{ "label", endpoint_label, "endpoint label IFACE [--namespace NS] KEY=VALUE..." },
	{ "unlabel", endpoint_unlabel, "endpoint unlabel IFACE" },
	{ 0 },
};

int do_endpoint(int argc, char **argv)
{
	return cmd_select(endpoint_cmds, argc, argv);
}
