// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rule sets: .rules files (one `allow|deny RULE [flags]` per line) and
 * JSON ({"rules":[...]}), parsed to the end so that every error is
 * reported at once, the way a compiler does.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "file.h"
#include "rule.h"

int netseg_ruleset_add(struct netseg_ruleset *rs, const struct netseg_rule *r)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 16;
		struct netseg_rule *v = realloc(rs->rules, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rs->rules = v;
		rs->cap = cap;
	}
	rs->rules[rs->n++] = *r;
	return 0;
}

void netseg_ruleset_free(struct netseg_ruleset *rs)
{
	free(rs->rules);
	rs->rules = NULL;
	rs->n = rs->cap = 0;
}

void netseg_ruleset_assign_ids(struct netseg_ruleset *rs, __u32 *next_id)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (!rs->rules[i].id)
			rs->rules[i].id = (*next_id)++;
}

static void comment_text(const char *c, char *buf, size_t len)
{
	if (*c)
		snprintf(buf, len, "\"%s\"", c);
	else
		snprintf(buf, len, "none");
}

unsigned int netseg_rule_changes(const struct netseg_rule *from, const struct netseg_rule *to,
				 char out[NETSEG_RULE_CHANGES_MAX][NETSEG_RULE_CHANGE_LEN])
{
	static const struct {
		__u8 flag;
		const char *name;
	} flags[] = {
		{ NETSEG_RULEF_AUDIT, "--audit" },
		{ NETSEG_RULEF_LOG, "--log" },
	};
	char a[NETSEG_COMMENT_MAX + 2], b[NETSEG_COMMENT_MAX + 2];
	unsigned int n = 0;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if ((from->flags ^ to->flags) & flags[i].flag)
			snprintf(out[n++], NETSEG_RULE_CHANGE_LEN, "%s: %s → %s", flags[i].name,
				 from->flags & flags[i].flag ? "on" : "off",
				 to->flags & flags[i].flag ? "on" : "off");
	if (strcmp(from->comment, to->comment)) {
		comment_text(from->comment, a, sizeof(a));
		comment_text(to->comment, b, sizeof(b));
		snprintf(out[n++], NETSEG_RULE_CHANGE_LEN, "--comment: %s → %s", a, b);
	}
	return n;
}

/* ------------------------------------------------------------ JSON rule */

static const char *const rule_fields[] = {
	"id", "action", "rule", "src", "dst", "proto", "ports", "audit", "log", "comment",
};

static int check_fields(const cJSON *obj, struct netseg_err *err)
{
	const cJSON *f;
	size_t i;

	cJSON_ArrayForEach(f, obj) {
		for (i = 0; i < sizeof(rule_fields) / sizeof(rule_fields[0]); i++)
			if (!strcmp(f->string, rule_fields[i]))
				break;
		if (i == sizeof(rule_fields) / sizeof(rule_fields[0]))
			return netseg_err_set(err, 0, "unknown field \"%s\"", f->string);
	}
	return 0;
}

static int json_id(const cJSON *obj, struct netseg_rule *r, struct netseg_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "id");
	double d;

	if (!v)
		return 0;
	d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (d < 0 || d > 4294967295.0 || d != (double)(__u32)d)
		return netseg_err_set(err, 0, "\"id\" must be an integer from 0 to 4294967295");
	r->id = (__u32)d;
	return 0;
}

static int json_action(const cJSON *obj, struct netseg_rule *r, struct netseg_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "action");

	if (!v)
		return netseg_err_set(err, 0, "missing \"action\" (\"allow\" or \"deny\")");
	if (cJSON_IsString(v) && !strcmp(v->valuestring, "allow"))
		r->action = NETSEG_VERDICT_ALLOW;
	else if (cJSON_IsString(v) && !strcmp(v->valuestring, "deny"))
		r->action = NETSEG_VERDICT_DENY;
	else
		return netseg_err_set(err, 0, "\"action\" must be \"allow\" or \"deny\"");
	return 0;
}

static int json_string(const cJSON *obj, const char *field, const char **out,
		       struct netseg_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);

	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v))
		return netseg_err_set(err, 0, "\"%s\" must be a string", field);
	*out = v->valuestring;
	return 0;
}

static int json_rule_text(const char *text, struct netseg_rule *r, struct netseg_err *err)
{
	struct netseg_err e;

	if (netseg_rule_parse(text, r, &e))
		return netseg_err_set(err, e.col, "\"rule\", column %d: %s", e.col, e.msg);
	return 0;
}

static int json_selector(const cJSON *obj, const char *field, char *out, struct netseg_err *err)
{
	struct netseg_err e;
	const char *s;
	int ret;

	ret = json_string(obj, field, &s, err);
	if (ret)
		return ret;
	if (!s)
		return netseg_err_set(err, 0, "missing \"%s\" (or give \"rule\")", field);
	if (netseg_selector_parse(s, out, &e))
		return netseg_err_set(err, e.col, "\"%s\": %s", field, e.msg);
	return 0;
}

static bool is_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s))
			return false;
	return true;
}

/* Join "ports" into PORTS text after @proto so the grammar checks it. */
static int json_ports_text(const cJSON *ports, const char *proto, char *buf, size_t len,
			   struct netseg_err *err)
{
	const cJSON *p;
	size_t n = 0;
	int w;

	if (!cJSON_IsArray(ports))
		return netseg_err_set(err, 0, "\"ports\" must be an array of strings or numbers");
	if (cJSON_GetArraySize(ports) > NETSEG_RULE_MAX_PORTS)
		return netseg_err_set(err, 0, "\"ports\": too many port specs (at most %d)",
				      NETSEG_RULE_MAX_PORTS);
	w = snprintf(buf, len, "%s%s", proto ? proto : "", proto ? "/" : "");
	n = (size_t)w;
	cJSON_ArrayForEach(p, ports) {
		if (cJSON_IsString(p))
			w = snprintf(buf + n, len - n, "%s%s", p == ports->child ? "" : ",",
				     p->valuestring);
		else if (cJSON_IsNumber(p))
			w = snprintf(buf + n, len - n, "%s%.0f", p == ports->child ? "" : ",",
				     p->valuedouble);
		else
			return netseg_err_set(err, 0,
					      "\"ports\" must be an array of strings or numbers");
		if (w < 0 || (size_t)w >= len - n)
			return netseg_err_set(err, 0, "\"ports\" is too long");
		n += w;
	}
	return 0;
}

static int json_split(const cJSON *obj, struct netseg_rule *r, struct netseg_err *err)
{
	const cJSON *ports = cJSON_GetObjectItemCaseSensitive(obj, "ports");
	struct netseg_err e;
	const char *proto;
	char text[1024];
	int ret;

	ret = json_selector(obj, "src", r->src, err);
	if (!ret)
		ret = json_selector(obj, "dst", r->dst, err);
	if (!ret)
		ret = json_string(obj, "proto", &proto, err);
	if (ret)
		return ret;
	/* The protocol alone first, so its errors name the right field. */
	if (proto && (!is_word(proto) || netseg_ports_parse(proto, r, &e)))
		return netseg_err_set(
			err, 0,
			"\"proto\": unknown protocol \"%s\" (expected tcp, udp, sctp, icmp, icmpv6 or any)",
			proto);
	if (!ports)
		return 0;
	ret = json_ports_text(ports, proto, text, sizeof(text), err);
	if (ret)
		return ret;
	if (netseg_ports_parse(text, r, &e))
		return netseg_err_set(err, 0, "\"ports\": %s", e.msg);
	return 0;
}

static int json_match(const cJSON *obj, struct netseg_rule *r, struct netseg_err *err)
{
	static const char *const split[] = { "src", "dst", "proto", "ports" };
	const char *text;
	size_t i;
	int ret;

	ret = json_string(obj, "rule", &text, err);
	if (ret)
		return ret;
	if (!text)
		return json_split(obj, r, err);
	for (i = 0; i < sizeof(split) / sizeof(split[0]); i++)
		if (cJSON_GetObjectItemCaseSensitive(obj, split[i]))
			return netseg_err_set(
				err, 0,
				"give either \"rule\" or \"src\"/\"dst\"/\"proto\"/\"ports\", not both");
	return json_rule_text(text, r, err);
}

static int json_bool(const cJSON *obj, const char *field, bool *out, struct netseg_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);

	*out = false;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return netseg_err_set(err, 0, "\"%s\" must be true or false", field);
	*out = cJSON_IsTrue(v);
	return 0;
}

static int json_flags(const cJSON *obj, struct netseg_rule *r, struct netseg_err *err)
{
	const char *comment;
	bool audit, log;
	int ret;

	ret = json_bool(obj, "audit", &audit, err);
	if (!ret)
		ret = json_bool(obj, "log", &log, err);
	if (!ret)
		ret = json_string(obj, "comment", &comment, err);
	if (ret)
		return ret;
	if (audit && r->action != NETSEG_VERDICT_ALLOW)
		return netseg_err_set(err, 0, "\"audit\" applies only to allow rules");
	r->flags = (audit ? NETSEG_RULEF_AUDIT : 0) | (log ? NETSEG_RULEF_LOG : 0);
	if (!comment)
		return 0;
	ret = netseg_comment_check(comment, err);
	if (ret)
		return ret;
	strcpy(r->comment, comment);
	return 0;
}

int netseg_rule_from_json(const cJSON *obj, struct netseg_rule *r, struct netseg_err *err)
{
	struct netseg_rule tmp;
	int ret;

	if (!cJSON_IsObject(obj))
		return netseg_err_set(err, 0, "a rule must be a JSON object");
	netseg_rule_init(&tmp);
	ret = check_fields(obj, err);
	if (!ret)
		ret = json_id(obj, &tmp, err);
	if (!ret)
		ret = json_action(obj, &tmp, err);
	if (!ret)
		ret = json_match(obj, &tmp, err);
	if (!ret)
		ret = json_flags(obj, &tmp, err);
	if (!ret)
		*r = tmp;
	return ret;
}

cJSON *netseg_rule_to_json(const struct netseg_rule *r)
{
	char text[NETSEG_RULE_MAX_PORTS * 12 + 2 * NETSEG_SELECTOR_MAX + 32];
	cJSON *o = cJSON_CreateObject();
	bool ok;

	if (!o || netseg_rule_format(r, text, sizeof(text)))
		goto err;
	ok = (!r->id || cJSON_AddNumberToObject(o, "id", r->id)) &&
	     cJSON_AddStringToObject(o, "action",
				     r->action == NETSEG_VERDICT_DENY ? "deny" : "allow") &&
	     cJSON_AddStringToObject(o, "rule", text) &&
	     cJSON_AddBoolToObject(o, "audit", r->flags & NETSEG_RULEF_AUDIT) &&
	     cJSON_AddBoolToObject(o, "log", r->flags & NETSEG_RULEF_LOG) &&
	     (!r->comment[0] || cJSON_AddStringToObject(o, "comment", r->comment));
	if (ok)
		return o;
err:
	cJSON_Delete(o);
	return NULL;
}

/* --------------------------------------------------------- JSON rule set */

cJSON *netseg_ruleset_to_json(const struct netseg_ruleset *rs)
{
	cJSON *root = cJSON_CreateObject(), *arr, *o;
	size_t i;

	arr = root ? cJSON_AddArrayToObject(root, "rules") : NULL;
	if (!arr)
		goto err;
	for (i = 0; i < rs->n; i++) {
		o = netseg_rule_to_json(&rs->rules[i]);
		if (!o)
			goto err;
		cJSON_AddItemToArray(arr, o);
	}
	return root;
err:
	cJSON_Delete(root);
	return NULL;
}

int netseg_ruleset_from_json(const cJSON *root, const char *name, struct netseg_ruleset *rs,
			     struct netseg_errlist *errs)
{
	const cJSON *arr = root, *o;
	struct netseg_rule r;
	struct netseg_err e;
	size_t before = errs->n;
	int i = 0, ret;

	if (cJSON_IsObject(root))
		arr = cJSON_GetObjectItemCaseSensitive(root, "rules");
	if (!cJSON_IsArray(arr)) {
		ret = netseg_errlist_add(errs, "%s: expected an object with a \"rules\" array",
					 name);
		return ret ? ret : -EINVAL;
	}
	cJSON_ArrayForEach(o, arr) {
		if (netseg_rule_from_json(o, &r, &e))
			ret = netseg_errlist_add(errs, "%s: rules[%d]: %s", name, i, e.msg);
		else
			ret = netseg_ruleset_add(rs, &r);
		if (ret)
			return ret;
		i++;
	}
	return errs->n > before ? -EINVAL : 0;
}

/* ------------------------------------------------------------- buffers */

static void offset_to_line_col(const char *buf, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		/* The analyzer reaches here with buf NULL only by assuming a
		 * failed read(2) left errno 0 (netseg_read_fd returns -errno). */
		if (buf[i] == '\n') { // NOLINT(clang-analyzer-core.NullDereference)
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int parse_json_buf(const char *name, const char *buf, size_t len, struct netseg_ruleset *rs,
			  struct netseg_errlist *errs)
{
	const char *end = NULL;
	int line, col, ret;
	cJSON *root;

	root = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (!root) {
		offset_to_line_col(buf, end ? (size_t)(end - buf) : 0, &line, &col);
		ret = netseg_errlist_add(errs, "%s:%d:%d: invalid JSON near here", name, line, col);
		return ret ? ret : -EINVAL;
	}
	ret = netseg_ruleset_from_json(root, name, rs, errs);
	cJSON_Delete(root);
	return ret;
}

static bool looks_like_json(const char *name, const char *buf, size_t len)
{
	size_t n = strlen(name), i;

	if (n >= 5 && !strcmp(name + n - 5, ".json"))
		return true;
	for (i = 0; i < len && strchr(" \t\r\n", buf[i]); i++)
		;
	return i < len && (buf[i] == '{' || buf[i] == '[');
}

/* One .rules line, NUL-terminated in @line. */
static int parse_rules_line(const char *name, unsigned int lineno, const char *line,
			    struct netseg_ruleset *rs, struct netseg_errlist *errs)
{
	struct netseg_rule r;
	struct netseg_err e;
	int ret;

	ret = netseg_rule_parse_line(line, &r, &e);
	if (ret < 0)
		return netseg_errlist_add(errs, "%s:%u:%d: %s", name, lineno, e.col, e.msg);
	return ret ? 0 : netseg_ruleset_add(rs, &r);
}

static int parse_rules_buf(const char *name, const char *buf, size_t len, struct netseg_ruleset *rs,
			   struct netseg_errlist *errs)
{
	size_t before = errs->n, pos = 0, n;
	unsigned int lineno = 0;
	char *line = NULL;
	const char *nl;
	int ret = 0;

	while (pos < len && !ret) {
		nl = memchr(buf + pos, '\n', len - pos);
		n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		lineno++;
		free(line);
		line = strndup(buf + pos, n);
		if (!line) {
			ret = -ENOMEM;
			goto out;
		}
		/* A NUL would end the line early and hide the rest of it. */
		if (strlen(line) != n)
			ret = netseg_errlist_add(errs, "%s:%u:%zu: line contains a NUL byte", name,
						 lineno, strlen(line) + 1);
		else
			ret = parse_rules_line(name, lineno, line, rs, errs);
		pos += n + 1;
	}
	if (!ret && errs->n > before)
		ret = -EINVAL;
out:
	free(line);
	return ret;
}

int netseg_ruleset_parse_buf(const char *name, const char *buf, size_t len,
			     struct netseg_ruleset *rs, struct netseg_errlist *errs)
{
	if (looks_like_json(name, buf, len))
		return parse_json_buf(name, buf, len, rs, errs);
	return parse_rules_buf(name, buf, len, rs, errs);
}

int netseg_ruleset_parse_file(const char *path, struct netseg_ruleset *rs,
			      struct netseg_errlist *errs)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = netseg_read_file(path, 0, &buf, &len);
	if (ret)
		goto out_err;
	ret = netseg_ruleset_parse_buf(path, buf, len, rs, errs);
	free(buf);
	return ret;
out_err:
	if (netseg_errlist_add(errs, "%s: couldn't read the rule file: %s", path, strerror(-ret)))
		return -ENOMEM;
	return ret;
}
