// SPDX-License-Identifier: GPL-2.0-only
/* netsegctl output: errors, notes, JSON and aligned tables. */
#define _GNU_SOURCE /* vasprintf, asprintf */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "output.h"
#include "text.h"

enum out_format out_format = OUT_TEXT;

/* Text from the daemon goes to a terminal: no control characters (C0,
 * DEL, C1) and no broken UTF-8, so a hostile name can't move the cursor,
 * rewrite earlier lines or start an escape sequence. */
void fput_clean(const char *s, FILE *f)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, k;

	while (i < len) {
		k = netseg_printable_seq(u + i, len - i);
		if (!k) {
			fputc('?', f); /* one for the whole character, if it is one */
			k = netseg_utf8_seq(u + i, len - i);
			i += k ? k : 1;
			continue;
		}
		fwrite(u + i, 1, k, f);
		i += k;
	}
}

static void err_json(const char *msg, const char *const *details, size_t n)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	size_t i;

	if (!o || !cJSON_AddStringToObject(o, "error", msg))
		goto out;
	if (n) {
		arr = cJSON_AddArrayToObject(o, "errors");
		for (i = 0; arr && i < n; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(details[i]));
	}
	print_json(o);
out:
	cJSON_Delete(o);
}

void p_err_list(const char *msg, const char *const *details, size_t n)
{
	size_t i;

	if (out_json()) {
		err_json(msg, details, n);
		return;
	}
	fputs("error: ", stderr);
	fput_clean(msg, stderr);
	fputc('\n', stderr);
	for (i = 0; i < n; i++) {
		fput_clean(details[i], stderr);
		fputc('\n', stderr);
	}
}

void p_verr(const char *prefix, const char *fmt, va_list ap)
{
	char *msg, *full = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg && asprintf(&full, "%s%s", prefix, msg) < 0)
		full = NULL;
	p_err_list(full ? full : "out of memory", NULL, 0);
	free(full);
	free(msg);
}

void p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	p_verr("", fmt, ap);
	va_end(ap);
}

int proto_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	p_verr("malformed reply from netsegd: ", fmt, ap);
	va_end(ap);
	return -EPROTO;
}

void p_note(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("note: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int print_json(const cJSON *obj)
{
	char *s = out_format == OUT_JSON ? cJSON_Print(obj) : cJSON_PrintUnformatted(obj);

	if (!s)
		return -ENOMEM;
	puts(s);
	cJSON_free(s);
	return 0;
}

/* ------------------------------------------------------------- cells */

static void number_text(double d, char *buf, size_t len)
{
	if (d > -1e18 && d < 1e18 && d == (double)(long long)d)
		snprintf(buf, len, "%lld", (long long)d);
	else
		snprintf(buf, len, "%g", d);
}

/* array_text and cell_text recurse along the reply's JSON nesting, which
 * cJSON caps (CJSON_NESTING_LIMIT, 1000 levels). */
static void array_text(const cJSON *arr, char *buf, size_t len) // NOLINT(misc-no-recursion)
{
	const cJSON *e;
	size_t n = 0;
	char one[256];

	buf[0] = '\0';
	cJSON_ArrayForEach(e, arr) {
		cell_text(e, one, sizeof(one));
		if (n < len)
			n += snprintf(buf + n, len - n, "%s%s", n ? "," : "", one);
	}
	if (!n)
		snprintf(buf, len, "-");
}

void cell_text(const cJSON *v, char *buf, size_t len) // NOLINT(misc-no-recursion)
{
	char *s;

	if (cJSON_IsString(v) && v->valuestring[0])
		snprintf(buf, len, "%s", v->valuestring);
	else if (cJSON_IsNumber(v))
		number_text(v->valuedouble, buf, len);
	else if (cJSON_IsBool(v))
		snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "yes" : "no");
	else if (cJSON_IsArray(v))
		array_text(v, buf, len);
	else if (cJSON_IsObject(v) && (s = cJSON_PrintUnformatted(v))) {
		snprintf(buf, len, "%s", s);
		cJSON_free(s);
	} else
		snprintf(buf, len, "-");
}

/* ------------------------------------------------------------ tables */

struct table {
	size_t ncols, nrows, cap;
	char **cells; /* row-major, row 0 is the header if any */
};

struct table *table_new(size_t ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	if (headers && table_add(t, headers)) {
		table_free(t);
		return NULL;
	}
	return t;
}

int table_add(struct table *t, const char *const *cells)
{
	size_t i, base;

	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char **v = realloc(t->cells, cap * t->ncols * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->cells = v;
		t->cap = cap;
	}
	base = t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		t->cells[base + i] = strdup(cells[i] ? cells[i] : "-");
		if (!t->cells[base + i]) {
			while (i--)
				free(t->cells[base + i]);
			return -ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

/* Terminal columns of UTF-8 text: one per character, not per byte. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

void table_print(const struct table *t)
{
	size_t *width = calloc(t->ncols, sizeof(*width)), r, c, w;
	const char *cell;

	if (!width)
		return;
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			w = text_width(t->cells[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			cell = t->cells[r * t->ncols + c];
			fput_clean(cell, stdout);
			/* No trailing blanks after the last column. */
			if (c + 1 < t->ncols)
				printf("%*s", (int)(width[c] - text_width(cell) + 2), "");
		}
		putchar('\n');
	}
	free(width);
}

void table_free(struct table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

static int add_obj_row(struct table *t, const cJSON *row, const struct out_col *cols, size_t ncols)
{
	char(*buf)[CELL_TEXT_MAX] = malloc(ncols * sizeof(*buf));
	const char **cells = malloc(ncols * sizeof(*cells));
	size_t c;
	int ret = -ENOMEM;

	if (!buf || !cells)
		goto out;
	for (c = 0; c < ncols; c++) {
		if (cols[c].fmt)
			cols[c].fmt(row, buf[c], CELL_TEXT_MAX);
		else
			cell_text(cJSON_GetObjectItemCaseSensitive(row, cols[c].key), buf[c],
				  CELL_TEXT_MAX);
		cells[c] = buf[c];
	}
	ret = table_add(t, cells);
out:
	free(cells);
	free(buf);
	return ret;
}

int print_rows(const cJSON *rows, const char *what, const struct out_col *cols, size_t ncols)
{
	const char **headers = malloc(ncols * sizeof(*headers));
	struct table *t = NULL;
	const cJSON *row;
	size_t c;
	int ret = -ENOMEM;

	if (!cJSON_IsArray(rows)) {
		ret = proto_err("\"%s\" is not an array", what);
		goto out;
	}
	if (!headers)
		goto out;
	for (c = 0; c < ncols; c++)
		headers[c] = cols[c].header;
	t = table_new(ncols, headers);
	if (!t)
		goto out;
	cJSON_ArrayForEach(row, rows) {
		if (!cJSON_IsObject(row)) {
			ret = proto_err("an element of \"%s\" is not an object", what);
			goto out;
		}
		ret = add_obj_row(t, row, cols, ncols);
		if (ret)
			goto out;
	}
	table_print(t);
	ret = 0;
out:
	table_free(t);
	free(headers);
	return ret;
}

void print_changes(const char *what, const char *name, const cJSON *changes, const char *rev)
{
	const cJSON *c;

	if (cJSON_GetArraySize(changes) == 0) {
		printf("%s %s: nothing changed (revision %s)\n", what, name, rev);
		return;
	}
	printf("%s %s:", what, name);
	cJSON_ArrayForEach(c, changes) {
		printf("%s", c == changes->child ? " " : ", ");
		fput_clean(cJSON_IsString(c) ? c->valuestring : "?", stdout);
	}
	printf(" (revision %s)\n", rev);
}
