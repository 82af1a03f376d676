// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE /* vasprintf */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"

int netseg_err_set(struct netseg_err *e, int col, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -EINVAL;
	e->col = col;
	e->rule = -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int netseg_errlist_add(struct netseg_errlist *l, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		char **v = realloc(l->msgs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->msgs = v;
		l->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	l->msgs[l->n++] = s;
	return 0;
}

void netseg_errlist_free(struct netseg_errlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->msgs[i]);
	free(l->msgs);
	l->msgs = NULL;
	l->n = l->cap = 0;
}
