/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netsegctl output.  Text mode: results on stdout as aligned tables,
 * errors as `error: ...` on stderr.  JSON mode (-o json): one object on
 * stdout, errors included ({"error": "..."}).  Notes go to stderr in both.
 */
#ifndef NETSEGCTL_OUTPUT_H
#define NETSEGCTL_OUTPUT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct cJSON;

enum out_format {
	OUT_TEXT,
	OUT_JSON,	  /* indented */
	OUT_JSON_COMPACT, /* one line */
};

extern enum out_format out_format;

static inline bool out_json(void)
{
	return out_format != OUT_TEXT;
}

/* One error: `error: msg` on stderr, or {"error": "msg"} on stdout. */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same with @prefix before the formatted message. */
void p_verr(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* An error with its list of details ("file:line:col: ..."), each printed
 * on its own line, or as "errors": [...] in JSON. */
void p_err_list(const char *msg, const char *const *details, size_t n);
/* `error: malformed reply from netsegd: ...`; returns -EPROTO. */
int proto_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `note: ...` on stderr, whatever the format. */
void p_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* @obj on stdout in the JSON format chosen; 0 or -ENOMEM. */
int print_json(const struct cJSON *obj);

/* @s with control characters shown as '?': text from the daemon goes to
 * a terminal, and must not move the cursor or rewrite earlier lines. */
void fput_clean(const char *s, FILE *f);

#define CELL_TEXT_MAX 1024 /* longer cells are cut: tables are for reading */

/* Text of any JSON value for a table cell: strings as they are, integers
 * without decimals, arrays joined by ',', "-" for missing or empty. */
void cell_text(const struct cJSON *v, char *buf, size_t len);

/* ------------------------------------------------------------ tables */

struct table;

/* @headers: @ncols names, or NULL for a table without a header line. */
struct table *table_new(size_t ncols, const char *const *headers);
/* Copies the @ncols strings of one row; 0 or -ENOMEM. */
int table_add(struct table *t, const char *const *cells);
/* Columns as wide as their widest cell, two spaces apart. */
void table_print(const struct table *t);
void table_free(struct table *t);

/* A column of an array of objects: @key's text, or @fmt's. */
struct out_col {
	const char *header;
	const char *key;
	void (*fmt)(const struct cJSON *row, char *buf, size_t len);
};

#define OUT_COL(h, k)                     \
	{                                 \
		.header = (h), .key = (k) \
	}
#define OUT_COL_FN(h, f)                  \
	{                                 \
		.header = (h), .fmt = (f) \
	}

/* One row per object of @rows; 0, -EPROTO (reported) if @rows is not an
 * array of objects, or -ENOMEM. */
int print_rows(const struct cJSON *rows, const char *what, const struct out_col *cols,
	       size_t ncols);

/* "WHAT NAME: change, change (revision R)", or "nothing changed": the
 * reply of rule set and identity set. */
void print_changes(const char *what, const char *name, const struct cJSON *changes,
		   const char *rev);

#endif /* NETSEGCTL_OUTPUT_H */
