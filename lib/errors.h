/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Error reporting for the policy parsers and the compiler.
 *
 * A single operation (one rule, one compile) fills a struct netseg_err: a
 * message in plain English plus the 1-based column it points at, so the
 * caller can prefix its own "file:line:" or show a caret under CLI input.
 * Whole-file parsers keep going after an error and collect every message,
 * already prefixed with its location, in a struct netseg_errlist.
 */
#ifndef NETSEG_ERRORS_H
#define NETSEG_ERRORS_H

#include <stddef.h>

#define NETSEG_ERR_MSG_MAX 256

struct netseg_err {
	int col;   /* 1-based column in the parsed text, 0 = none */
	long rule; /* index of the offending rule (compile), -1 = none */
	char msg[NETSEG_ERR_MSG_MAX];
};

struct netseg_errlist {
	char **msgs; /* each "name:line:col: message", NUL-terminated */
	size_t n;
	size_t cap;
};

/* Set @e (if not NULL) to a message at @col; returns -EINVAL for chaining. */
int netseg_err_set(struct netseg_err *e, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append a formatted message; 0 or -ENOMEM. */
int netseg_errlist_add(struct netseg_errlist *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void netseg_errlist_free(struct netseg_errlist *l);

#endif /* NETSEG_ERRORS_H */
