// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kubernetes labels and selectors: validation, canonical text, matching,
 * and kubectl's textual selector syntax.  See labels.h.
 */
#define _GNU_SOURCE /* strndup */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "text.h"

#define SHOW_MAX 72 /* bytes of user text quoted in one message */

static const char *show(const char *s, char buf[SHOW_MAX])
{
	return netseg_printable(s, buf, SHOW_MAX);
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [A-Za-z0-9._-]{0,63}, alphanumeric at both ends when not empty. */
static bool qualified_part_ok(const char *s, size_t len)
{
	size_t i;

	if (len > NETSEG_LABEL_NAME_MAX)
		return false;
	if (!len)
		return true;
	if (!is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* RFC 1123 subdomain: lower-case labels of [a-z0-9-], alnum at both ends,
 * joined by '.', at most 253 characters. */
static bool dns_subdomain_ok(const char *s, size_t len)
{
	size_t i, start = 0;

	if (!len || len > NETSEG_LABEL_PREFIX_MAX)
		return false;
	for (i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';

		if (c == '.') {
			if (i == start || s[start] == '-' || s[i - 1] == '-' || i - start > 63)
				return false;
			start = i + 1;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
			return false;
		}
	}
	return true;
}

bool netseg_dns_label_ok(const char *s)
{
	size_t len = strlen(s);

	return len <= 63 && !memchr(s, '.', len) && dns_subdomain_ok(s, len);
}

int netseg_label_key_check(const char *key, struct netseg_err *err)
{
	const char *slash = strchr(key, '/');
	const char *name = slash ? slash + 1 : key;
	char b[SHOW_MAX], p[SHOW_MAX];

	if (!*key)
		return netseg_err_set(err, 0, "label key is empty");
	if (slash) {
		char *prefix = strndup(key, slash - key);
		bool good;

		if (!prefix)
			return -ENOMEM;
		good = dns_subdomain_ok(prefix, slash - key);
		show(prefix, p);
		free(prefix);
		if (!good)
			return netseg_err_set(
				err, 0,
				"label key \"%s\": prefix \"%s\" is not a DNS subdomain (lower-case letters, digits, '-' and '.', at most 253 characters)",
				show(key, b), p);
	}
	if (!*name || strlen(name) > NETSEG_LABEL_NAME_MAX ||
	    !qualified_part_ok(name, strlen(name)))
		return netseg_err_set(
			err, 0,
			"label key \"%s\": name must be 1-63 characters of [A-Za-z0-9._-] starting and ending with a letter or digit",
			show(key, b));
	return 0;
}

int netseg_label_value_check(const char *value, struct netseg_err *err)
{
	char b[SHOW_MAX];

	if (!qualified_part_ok(value, strlen(value)))
		return netseg_err_set(
			err, 0,
			"label value \"%s\" must be at most 63 characters of [A-Za-z0-9._-] starting and ending with a letter or digit",
			show(value, b));
	return 0;
}

void netseg_labels_init(struct netseg_labels *l)
{
	memset(l, 0, sizeof(*l));
}

void netseg_labels_free(struct netseg_labels *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	netseg_labels_init(l);
}

/* Index of @key in @l, or of where it would go (*found = false). */
static size_t labels_find(const struct netseg_labels *l, const char *key, bool *found)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(l->v[mid].key, key);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

int netseg_labels_add(struct netseg_labels *l, const char *key, const char *value,
		      struct netseg_err *err)
{
	struct netseg_label lab;
	char b[SHOW_MAX];
	bool found;
	size_t at;
	int ret;

	ret = netseg_label_key_check(key, err);
	if (!ret)
		ret = netseg_label_value_check(value, err);
	if (ret)
		return ret;
	at = labels_find(l, key, &found);
	if (found) {
		netseg_err_set(err, 0, "label key \"%s\" given twice", show(key, b));
		return -EEXIST;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4;
		struct netseg_label *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	lab.key = strdup(key);
	lab.value = strdup(value);
	if (!lab.key || !lab.value) {
		free(lab.key);
		free(lab.value);
		return -ENOMEM;
	}
	memmove(&l->v[at + 1], &l->v[at], (l->n - at) * sizeof(l->v[0]));
	l->v[at] = lab;
	l->n++;
	return 0;
}

const char *netseg_labels_get(const struct netseg_labels *l, const char *key)
{
	bool found;
	size_t at = labels_find(l, key, &found);

	return found ? l->v[at].value : NULL;
}

bool netseg_labels_same(const struct netseg_labels *a, const struct netseg_labels *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, b->v[i].key) || strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

/* A growing string for the canonical forms. */
struct sbuf {
	char *s;
	size_t len, cap;
	int err;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->s, cap);

		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static int sb_finish(struct sbuf *b, char **out)
{
	if (!b->err && !b->s)
		sb_str(b, "");
	if (b->err) {
		free(b->s);
		*out = NULL;
		return b->err;
	}
	*out = b->s;
	return 0;
}

int netseg_labels_format(const struct netseg_labels *l, char **out)
{
	struct sbuf b = { 0 };
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (i)
			sb_str(&b, ",");
		sb_str(&b, l->v[i].key);
		sb_str(&b, "=");
		sb_str(&b, l->v[i].value);
	}
	return sb_finish(&b, out);
}

/* --- selectors --- */

void netseg_labelsel_init(struct netseg_labelsel *s)
{
	memset(s, 0, sizeof(*s));
}

static void req_free(struct netseg_label_req *r)
{
	size_t i;

	for (i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free(r->values);
	free(r->key);
}

void netseg_labelsel_free(struct netseg_labelsel *s)
{
	size_t i;

	netseg_labels_free(&s->match);
	for (i = 0; i < s->nreqs; i++)
		req_free(&s->reqs[i]);
	free(s->reqs);
	netseg_labelsel_init(s);
}

const char *netseg_label_op_name(enum netseg_label_op op)
{
	switch (op) {
	case NETSEG_LABEL_IN:
		return "In";
	case NETSEG_LABEL_NOTIN:
		return "NotIn";
	case NETSEG_LABEL_EXISTS:
		return "Exists";
	case NETSEG_LABEL_DOESNOTEXIST:
		return "DoesNotExist";
	}
	return "?";
}

static int req_cmp(const struct netseg_label_req *a, const struct netseg_label_req *b)
{
	size_t i;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	for (i = 0; i < a->nvalues && i < b->nvalues; i++) {
		c = strcmp(a->values[i], b->values[i]);
		if (c)
			return c;
	}
	return (a->nvalues > b->nvalues) - (a->nvalues < b->nvalues);
}

int netseg_labelsel_add_req(struct netseg_labelsel *s, const char *key, enum netseg_label_op op,
			    const char *const *values, size_t nvalues, struct netseg_err *err)
{
	struct netseg_label_req r = { .op = op };
	bool has_values = op == NETSEG_LABEL_IN || op == NETSEG_LABEL_NOTIN;
	char b[SHOW_MAX];
	size_t i, at;
	int ret;

	ret = netseg_label_key_check(key, err);
	if (ret)
		return ret;
	if (has_values && !nvalues)
		return netseg_err_set(err, 0, "operator %s on key \"%s\" needs at least one value",
				      netseg_label_op_name(op), show(key, b));
	if (!has_values && nvalues)
		return netseg_err_set(err, 0, "operator %s on key \"%s\" takes no values",
				      netseg_label_op_name(op), show(key, b));
	for (i = 0; i < nvalues; i++) {
		ret = netseg_label_value_check(values[i], err);
		if (ret)
			return ret;
	}
	r.key = strdup(key);
	r.values = nvalues ? calloc(nvalues, sizeof(char *)) : NULL;
	if (!r.key || (nvalues && !r.values))
		goto nomem;
	for (i = 0; i < nvalues; i++) {
		r.values[r.nvalues] = strdup(values[i]);
		if (!r.values[r.nvalues])
			goto nomem;
		r.nvalues++;
	}
	if (r.nvalues > 1)
		qsort(r.values, r.nvalues, sizeof(char *), netseg_strp_cmp);
	for (i = 1; i < r.nvalues;) { /* drop duplicates */
		if (!strcmp(r.values[i], r.values[i - 1])) {
			free(r.values[i]);
			memmove(&r.values[i], &r.values[i + 1],
				(r.nvalues - i - 1) * sizeof(char *));
			r.nvalues--;
		} else {
			i++;
		}
	}
	if (s->nreqs == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4;
		struct netseg_label_req *v = realloc(s->reqs, cap * sizeof(*v));

		if (!v)
			goto nomem;
		s->reqs = v;
		s->cap = cap;
	}
	for (at = 0; at < s->nreqs && req_cmp(&s->reqs[at], &r) <= 0; at++)
		;
	memmove(&s->reqs[at + 1], &s->reqs[at], (s->nreqs - at) * sizeof(r));
	s->reqs[at] = r;
	s->nreqs++;
	return 0;
nomem:
	req_free(&r);
	return -ENOMEM;
}

bool netseg_labelsel_empty(const struct netseg_labelsel *s)
{
	return !s->match.n && !s->nreqs;
}

bool netseg_labelsel_same(const struct netseg_labelsel *a, const struct netseg_labelsel *b)
{
	size_t i;

	if (!netseg_labels_same(&a->match, &b->match) || a->nreqs != b->nreqs)
		return false;
	for (i = 0; i < a->nreqs; i++)
		if (req_cmp(&a->reqs[i], &b->reqs[i]))
			return false;
	return true;
}

static bool value_in(const struct netseg_label_req *r, const char *v)
{
	size_t i;

	for (i = 0; i < r->nvalues; i++)
		if (!strcmp(r->values[i], v))
			return true;
	return false;
}

static bool req_match(const struct netseg_label_req *r, const struct netseg_labels *set)
{
	const char *v = netseg_labels_get(set, r->key);

	switch (r->op) {
	case NETSEG_LABEL_IN:
		return v && value_in(r, v);
	case NETSEG_LABEL_NOTIN:
		return !v || !value_in(r, v);
	case NETSEG_LABEL_EXISTS:
		return v;
	case NETSEG_LABEL_DOESNOTEXIST:
		return !v;
	}
	return false;
}

bool netseg_labels_match(const struct netseg_labelsel *sel, const struct netseg_labels *set)
{
	size_t i;

	for (i = 0; i < sel->match.n; i++) {
		const char *v = netseg_labels_get(set, sel->match.v[i].key);

		if (!v || strcmp(v, sel->match.v[i].value))
			return false;
	}
	for (i = 0; i < sel->nreqs; i++)
		if (!req_match(&sel->reqs[i], set))
			return false;
	return true;
}

int netseg_labelsel_format(const struct netseg_labelsel *s, char **out)
{
	struct sbuf b = { 0 };
	size_t i, j;
	int ret;

	ret = netseg_labels_format(&s->match, &b.s);
	if (ret)
		return ret;
	b.len = strlen(b.s);
	b.cap = b.len + 1;
	for (i = 0; i < s->nreqs; i++) {
		const struct netseg_label_req *r = &s->reqs[i];

		if (b.len)
			sb_str(&b, ",");
		if (r->op == NETSEG_LABEL_DOESNOTEXIST)
			sb_str(&b, "!");
		sb_str(&b, r->key);
		if (r->op != NETSEG_LABEL_IN && r->op != NETSEG_LABEL_NOTIN)
			continue;
		sb_str(&b, r->op == NETSEG_LABEL_IN ? " in (" : " notin (");
		for (j = 0; j < r->nvalues; j++) {
			if (j)
				sb_str(&b, ",");
			sb_str(&b, r->values[j]);
		}
		sb_str(&b, ")");
	}
	return sb_finish(&b, out);
}

/* --- the textual form --- */

struct lexer {
	const char *text;
	const char *end; /* "the end of the selector" */
	size_t pos;
	struct netseg_err *err;
};

static bool word_char(char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '-' || c == '/';
}

static void skip_ws(struct lexer *lx)
{
	while (lx->text[lx->pos] == ' ' || lx->text[lx->pos] == '\t')
		lx->pos++;
}

/* What stands at the cursor, for "found ..." in messages. */
static const char *found(struct lexer *lx, char buf[SHOW_MAX])
{
	const char *p = lx->text + lx->pos;
	char tok[SHOW_MAX];
	size_t n = 0;

	if (!*p)
		return lx->end;
	while (word_char(p[n]) && n < SHOW_MAX - 1)
		n++;
	if (!n)
		n = (p[0] == '=' || p[0] == '!') && p[1] == '=' ? 2 : 1;
	memcpy(tok, p, n);
	tok[n] = '\0';
	snprintf(buf, SHOW_MAX, "\"%s\"", netseg_printable(tok, tok, sizeof(tok)));
	return buf;
}

/* A key or value at the cursor into a new string ("" if none there). */
static char *lex_word(struct lexer *lx)
{
	size_t n = 0;

	while (word_char(lx->text[lx->pos + n]))
		n++;
	lx->pos += n;
	return strndup(lx->text + lx->pos - n, n);
}

static int expected(struct lexer *lx, const char *what)
{
	char b[SHOW_MAX];

	netseg_err_set(lx->err, lx->pos + 1, "expected %s, found %s", what, found(lx, b));
	return -EINVAL;
}

/* Re-target a check's message at the column where the token began. */
static int at_col(struct lexer *lx, size_t start, int ret)
{
	if (lx->err && ret == -EINVAL)
		lx->err->col = start + 1;
	return ret;
}

static int lex_key(struct lexer *lx, char **key)
{
	size_t start;

	skip_ws(lx);
	start = lx->pos;
	*key = lex_word(lx);
	if (!*key)
		return -ENOMEM;
	if (!**key) {
		free(*key);
		*key = NULL;
		return expected(lx, "a label key");
	}
	return at_col(lx, start, netseg_label_key_check(*key, lx->err));
}

/* Values of `in (...)`: after '(' up to and including ')'. */
static int lex_values(struct lexer *lx, char ***vals, size_t *n)
{
	size_t start;
	char *v, **nv;
	int ret;

	for (;;) {
		skip_ws(lx);
		start = lx->pos;
		v = lex_word(lx);
		if (!v)
			return -ENOMEM;
		nv = realloc(*vals, (*n + 1) * sizeof(char *));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		*vals = nv;
		(*vals)[(*n)++] = v;
		ret = at_col(lx, start, netseg_label_value_check(v, lx->err));
		if (ret)
			return ret;
		skip_ws(lx);
		if (lx->text[lx->pos] == ')') {
			lx->pos++;
			return 0;
		}
		if (lx->text[lx->pos] != ',')
			return expected(lx, "',' or ')' in the value list");
		lx->pos++;
	}
}

static int lex_op_values(struct lexer *lx, enum netseg_label_op *op, char ***vals, size_t *n,
			 bool *equality)
{
	const char *p = lx->text + lx->pos;
	size_t start;
	char *v;

	if (!strncmp(p, "==", 2) || !strncmp(p, "!=", 2) || *p == '=') {
		*op = *p == '!' ? NETSEG_LABEL_NOTIN : NETSEG_LABEL_IN;
		*equality = *p == '=';
		lx->pos += *p == '=' && p[1] != '=' ? 1 : 2;
		skip_ws(lx);
		start = lx->pos;
		v = lex_word(lx);
		if (!v)
			return -ENOMEM;
		*vals = malloc(sizeof(char *));
		if (!*vals) {
			free(v);
			return -ENOMEM;
		}
		(*vals)[0] = v;
		*n = 1;
		return at_col(lx, start, netseg_label_value_check(v, lx->err));
	}
	if ((!strncmp(p, "in", 2) && !word_char(p[2])) ||
	    (!strncmp(p, "notin", 5) && !word_char(p[5]))) {
		*op = p[0] == 'i' ? NETSEG_LABEL_IN : NETSEG_LABEL_NOTIN;
		lx->pos += p[0] == 'i' ? 2 : 5;
		skip_ws(lx);
		if (lx->text[lx->pos] != '(')
			return expected(lx, "'(' after in/notin");
		lx->pos++;
		return lex_values(lx, vals, n);
	}
	*op = NETSEG_LABEL_EXISTS;
	if (*p && *p != ',')
		return expected(
			lx,
			"'=', '==', '!=', 'in', 'notin', ',' or the end of the selector after the key");
	return 0;
}

/* One REQ into @s. */
static int lex_req(struct lexer *lx, struct netseg_labelsel *s)
{
	enum netseg_label_op op = NETSEG_LABEL_DOESNOTEXIST;
	char *key = NULL, **vals = NULL;
	size_t i, n = 0;
	bool negated, equality = false;
	int ret;

	skip_ws(lx);
	negated = lx->text[lx->pos] == '!';
	if (negated)
		lx->pos++;
	ret = lex_key(lx, &key);
	if (ret)
		goto out;
	skip_ws(lx);
	if (!negated)
		ret = lex_op_values(lx, &op, &vals, &n, &equality);
	if (ret)
		goto out;
	/* `k=v` is matchLabels, the form the YAML would hold; a second
	 * equality on the same key can only be an expression. */
	if (equality && !netseg_labels_get(&s->match, key))
		ret = netseg_labels_add(&s->match, key, vals[0], lx->err);
	else
		ret = netseg_labelsel_add_req(s, key, op, (const char *const *)vals, n, lx->err);
out:
	for (i = 0; i < n; i++)
		free(vals[i]);
	free(vals);
	free(key);
	return ret;
}

int netseg_labelsel_parse(const char *text, struct netseg_labelsel *s, struct netseg_err *err)
{
	struct lexer lx = { .text = text, .end = "the end of the selector", .err = err };
	int ret = 0;

	netseg_labelsel_init(s);
	skip_ws(&lx);
	if (!text[lx.pos])
		return 0;
	for (;;) {
		ret = lex_req(&lx, s);
		if (ret)
			break;
		skip_ws(&lx);
		if (!text[lx.pos])
			break;
		if (text[lx.pos] != ',') {
			ret = expected(&lx, "',' or the end of the selector");
			break;
		}
		lx.pos++;
	}
	if (ret)
		netseg_labelsel_free(s);
	return ret;
}

int netseg_labels_parse(const char *text, struct netseg_labels *l, struct netseg_err *err)
{
	struct lexer lx = { .text = text, .end = "the end of the labels", .err = err };
	char *key = NULL, *value = NULL;
	size_t start, key_start;
	int ret = 0;

	netseg_labels_init(l);
	skip_ws(&lx);
	while (text[lx.pos]) {
		key_start = lx.pos;
		ret = lex_key(&lx, &key);
		if (ret)
			break;
		skip_ws(&lx);
		if (text[lx.pos] != '=') {
			ret = expected(&lx, "'=' after the label key");
			break;
		}
		lx.pos++;
		skip_ws(&lx);
		start = lx.pos;
		value = lex_word(&lx);
		if (!value) {
			ret = -ENOMEM;
			break;
		}
		ret = netseg_labels_add(l, key, value, err);
		if (ret == -EEXIST) { /* bad input like any other */
			ret = -EINVAL;
			start = key_start;
		}
		ret = at_col(&lx, start, ret);
		if (ret)
			break;
		free(key);
		free(value);
		key = value = NULL;
		skip_ws(&lx);
		if (!text[lx.pos])
			break;
		if (text[lx.pos] != ',') {
			ret = expected(&lx, "',' or the end of the labels");
			break;
		}
		lx.pos++;
		skip_ws(&lx);
		if (!text[lx.pos]) {
			ret = expected(&lx, "a label key");
			break;
		}
	}
	free(key);
	free(value);
	if (ret)
		netseg_labels_free(l);
	return ret;
}
