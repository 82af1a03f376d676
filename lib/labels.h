/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kubernetes labels and label selectors (docs/kubernetes.md).
 *
 * A label set is a list of key=value pairs sorted by key, keys unique,
 * each validated as Kubernetes does:
 *   key   := [prefix '/'] name
 *   prefix:= DNS subdomain (lower case, <= 253 characters)
 *   name  := 1-63 of [A-Za-z0-9._-], starting and ending alphanumeric
 *   value := 0-63 of the same, starting and ending alphanumeric if not empty
 * Its canonical text `k1=v1,k2=v2` (sorted) is, with the namespace, the
 * identity key of a workload.
 *
 * A selector is matchLabels (a label set, each pair an equality) and
 * matchExpressions (key In/NotIn values, key Exists/DoesNotExist), all
 * ANDed; the empty selector matches everything.  The textual form is
 * kubectl's set-based syntax:
 *   SELECTOR := [REQ (',' REQ)...]
 *   REQ      := key ('=' | '==') value | key '!=' value
 *             | key 'in' '(' value [',' value]... ')'
 *             | key 'notin' '(' value [',' value]... ')'
 *             | key | '!' key
 * `k!=v` is `k notin (v)`: like NotIn it also matches when k is absent.
 */
#ifndef NETSEG_LABELS_H
#define NETSEG_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

#define NETSEG_LABEL_NAME_MAX 63    /* name part of a key, and a value */
#define NETSEG_LABEL_PREFIX_MAX 253 /* DNS subdomain prefix of a key */

struct netseg_label {
	char *key;
	char *value; /* "" allowed */
};

struct netseg_labels {
	struct netseg_label *v; /* sorted by key (strcmp), keys unique */
	size_t n, cap;
};

enum netseg_label_op {
	NETSEG_LABEL_IN,
	NETSEG_LABEL_NOTIN,
	NETSEG_LABEL_EXISTS,
	NETSEG_LABEL_DOESNOTEXIST,
};

struct netseg_label_req {
	char *key;
	enum netseg_label_op op;
	char **values; /* In/NotIn: >= 1, sorted, unique; else none */
	size_t nvalues;
};

struct netseg_labelsel {
	struct netseg_labels match;    /* matchLabels */
	struct netseg_label_req *reqs; /* matchExpressions, sorted by key, op */
	size_t nreqs, cap;
};

/* An RFC 1123 label, as namespace names are: 1-63 of [a-z0-9-],
 * alphanumeric at both ends. */
bool netseg_dns_label_ok(const char *s);

/* 0 or -EINVAL with @err saying what is wrong with @key / @value. */
int netseg_label_key_check(const char *key, struct netseg_err *err);
int netseg_label_value_check(const char *value, struct netseg_err *err);

void netseg_labels_init(struct netseg_labels *l);
void netseg_labels_free(struct netseg_labels *l);

/*
 * Validate and insert key=value in order.  -EEXIST if @key is already
 * there (with @err), -EINVAL for an invalid key or value, -ENOMEM.
 */
int netseg_labels_add(struct netseg_labels *l, const char *key, const char *value,
		      struct netseg_err *err);

/* The value of @key, or NULL if @l doesn't carry it. */
const char *netseg_labels_get(const struct netseg_labels *l, const char *key);

bool netseg_labels_same(const struct netseg_labels *a, const struct netseg_labels *b);

/* Parse `k1=v1,k2=v2` (spaces around tokens allowed, "" = no labels). */
int netseg_labels_parse(const char *text, struct netseg_labels *l, struct netseg_err *err);

/*
 * Canonical text `k1=v1,k2=v2` into a new string (*out, free()); "" for
 * no labels.  0 or -ENOMEM.
 */
int netseg_labels_format(const struct netseg_labels *l, char **out);

void netseg_labelsel_init(struct netseg_labelsel *s);
void netseg_labelsel_free(struct netseg_labelsel *s);

/*
 * Add one matchExpression, validating as the apiserver does (In/NotIn
 * need values, Exists/DoesNotExist take none); @values are copied, sorted
 * and deduplicated.  0, -EINVAL with @err (column 0), or -ENOMEM.
 */
int netseg_labelsel_add_req(struct netseg_labelsel *s, const char *key, enum netseg_label_op op,
			    const char *const *values, size_t nvalues, struct netseg_err *err);

/* Parse the textual selector above; "" is the empty selector.  On error
 * @s is left empty and @err holds the 1-based column and what was
 * expected there. */
int netseg_labelsel_parse(const char *text, struct netseg_labelsel *s, struct netseg_err *err);

/* Canonical text (the grammar above) into a new string; "" = everything. */
int netseg_labelsel_format(const struct netseg_labelsel *s, char **out);

bool netseg_labelsel_empty(const struct netseg_labelsel *s);
bool netseg_labelsel_same(const struct netseg_labelsel *a, const struct netseg_labelsel *b);

/* Does @set satisfy every requirement of @sel? */
bool netseg_labels_match(const struct netseg_labelsel *sel, const struct netseg_labels *set);

const char *netseg_label_op_name(enum netseg_label_op op); /* "In", ... */

#endif /* NETSEG_LABELS_H */
