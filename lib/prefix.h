/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * IP prefixes: one parser for every CIDR a user types (a rule's selector,
 * an identity's --cidr, the prefilter list, the daemon's config) and one
 * in-memory form for the APIs that take a prefix (identity store,
 * ipcache claims, datapath LPM keys).  abi.h's netseg_lpm_key stays the
 * map's wire form; this is the userspace side of it.
 */
#ifndef NETSEG_PREFIX_H
#define NETSEG_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <netseg/abi.h>

#include "errors.h"

struct netseg_prefix {
	__u8 family;   /* NETSEG_AF_INET or NETSEG_AF_INET6 */
	__u8 addr[16]; /* network order, v4 in the first 4 bytes; host bits zero */
	__u8 plen;
};

/* "ADDR/PLEN" at its longest, NUL included. */
#define NETSEG_PREFIX_STRLEN (46 + 4)

/* 32 or 128; 0 for an unknown family. */
int netseg_prefix_max(int family);

/*
 * Parses the prefix at the start of @s: ADDR '/' PLEN, or a bare ADDR
 * (its host prefix) unless @need_len.  Stops at the first character that
 * can't continue it and sets *used to the bytes taken.  Errors say what
 * is wrong ("prefix length 33 out of range 0-32", "host bits set in
 * 198.18.1.0/16; did you mean 198.18.0.0/16?") at a column counted from
 * @s (1 = its first byte): -EINVAL with @err filled.
 */
int netseg_prefix_scan(const char *s, bool need_len, size_t *used, struct netseg_prefix *p,
		       struct netseg_err *err);

/* The whole of @text as one prefix (a bare address is a host prefix);
 * anything after it is an error too. */
int netseg_prefix_parse(const char *text, struct netseg_prefix *p, struct netseg_err *err);

/* A prefix from its parts, host bits cleared; -EINVAL for an unknown
 * family or a length out of range. */
int netseg_prefix_set(struct netseg_prefix *p, int family, const void *addr, int plen);

/* Canonical "ADDR/PLEN" (inet_ntop's address). */
void netseg_prefix_format(const struct netseg_prefix *p, char *buf, size_t len);

/* The LPM map key of abi.h (ipcache, prefilter) for @p, and back: 0, or
 * -EINVAL for a key that holds no valid prefix. */
void netseg_prefix_to_lpm(const struct netseg_prefix *p, struct netseg_lpm_key *k);
int netseg_prefix_from_lpm(struct netseg_prefix *p, const struct netseg_lpm_key *k);

/* A single address (/32 or /128)? */
bool netseg_prefix_is_host(const struct netseg_prefix *p);

/* Orders by family, address, then length (an order for sorting and
 * merging lists, not containment); <0, 0 or >0. */
int netseg_prefix_cmp(const struct netseg_prefix *a, const struct netseg_prefix *b);

/* Sorts @v and folds duplicates; returns how many remain. */
size_t netseg_prefix_sort_unique(struct netseg_prefix *v, size_t n);

/*
 * A list file's @text: one address or CIDR per line, '#' comments and
 * blank lines allowed.  On success *out (malloc'd, NULL when empty) holds
 * the prefixes sorted, duplicates folded, *n of them.  -EINVAL at the
 * first bad line with @err's message "NAME:LINE:COL: what is wrong"
 * (nothing returned), or -ENOMEM.
 */
int netseg_prefix_list_parse(const char *name, const char *text, struct netseg_prefix **out,
			     size_t *n, struct netseg_err *err);

#endif /* NETSEG_PREFIX_H */
