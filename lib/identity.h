/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The identity store: names, numeric ids and selectors (docs/architecture.md,
 * "Identities"), plus
 * the CIDR identities the daemon creates for CIDR selectors in rules.
 * Pure data: the daemon turns it into map entries.
 */
#ifndef NETSEG_IDENTITY_H
#define NETSEG_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <netseg/abi.h>

#include "errors.h"
#include "labels.h"

#define NETSEG_NAME_MAX 64   /* identity names incl. NUL */
#define NETSEG_SEL_MAX 16    /* selectors of one kind per identity */
#define NETSEG_PATH_MAX 256  /* cgroup paths incl. NUL */
#define NETSEG_IDSEL_MAX 512 /* a label selector's canonical text incl. NUL */
#define NETSEG_IDNS_MAX 64   /* a namespace (a DNS label) incl. NUL */
/* CIDR identities live in their own range, far above user identities. */
#define NETSEG_ID_CIDR_MIN (1U << 24)

struct cJSON;

struct netseg_iddef {
	char name[NETSEG_NAME_MAX];
	__u32 id;
	bool audit;
	bool cidr_only; /* created for a CIDR selector in a rule */
	unsigned int nifaces, ncgroups, ncidrs;
	char ifaces[NETSEG_SEL_MAX][32]; /* fnmatch globs */
	char cgroups[NETSEG_SEL_MAX][NETSEG_PATH_MAX];
	char cidrs[NETSEG_SEL_MAX][64]; /* canonical CIDR text */
	/*
	 * Pods whose labels match the selector (lib/labels.h, canonical
	 * text; "" with has_selector is every pod) are members too, in
	 * namespace ns only, or in every namespace when ns is "".
	 */
	bool has_selector;
	char selector[NETSEG_IDSEL_MAX];
	char ns[NETSEG_IDNS_MAX];
};

struct netseg_idstore {
	struct netseg_iddef *v;
	size_t n, cap;
	__u32 next_id;	    /* next user identity id */
	__u32 next_cidr_id; /* next CIDR identity id */
};

void netseg_idstore_init(struct netseg_idstore *s);
void netseg_idstore_free(struct netseg_idstore *s);
int netseg_idstore_copy(struct netseg_idstore *dst, const struct netseg_idstore *src);

struct netseg_iddef *netseg_id_by_name(const struct netseg_idstore *s, const char *name);
struct netseg_iddef *netseg_id_by_id(const struct netseg_idstore *s, __u32 id);
/* Name of an id, including the reserved ones; "id:N" if unknown. */
const char *netseg_id_name(const struct netseg_idstore *s, __u32 id, char *buf, size_t len);

/* Validates the definition (name, globs, paths, CIDRs, selector and its
 * namespace; the selector is rewritten in canonical form) and adds it with a
 * fresh id.  -EEXIST if the name is taken, -EINVAL with err filled. */
int netseg_id_add(struct netseg_idstore *s, struct netseg_iddef *def, struct netseg_err *err);
int netseg_id_remove(struct netseg_idstore *s, const char *name);
/* Validates @def and puts it in place of the identity of the same name,
 * keeping its id.  -ENOENT or -EINVAL with err filled. */
int netseg_id_replace(struct netseg_idstore *s, struct netseg_iddef *def, struct netseg_err *err);
/* The CIDR identity for a canonical CIDR, created if needed. */
int netseg_id_cidr(struct netseg_idstore *s, const char *cidr, __u32 *id);

/*
 * Give @d the label selector @text (kubectl's syntax, lib/labels.h; NULL =
 * none) limited to namespace @ns (NULL or "" = every namespace), stored in
 * canonical form.  0, or -EINVAL with @err saying what is wrong and, for
 * the selector, at which column; @d is unchanged on error.
 */
int netseg_iddef_set_selector(struct netseg_iddef *d, const char *text, const char *ns,
			      struct netseg_err *err);

/*
 * The label selector of @d parsed into @out (netseg_labelsel_free() it):
 * 0, -ENOENT when @d has none (@out left empty), -EINVAL when its text
 * doesn't parse (a hand-edited state file), -ENOMEM.
 */
int netseg_iddef_selector(const struct netseg_iddef *d, struct netseg_labelsel *out);

/* Flags for the identity map: endpoints are default-deny. */
__u32 netseg_id_flags(const struct netseg_iddef *d);

struct cJSON *netseg_idstore_to_json(const struct netseg_idstore *s);
int netseg_idstore_from_json(struct netseg_idstore *s, const struct cJSON *arr,
			     struct netseg_err *err);
struct cJSON *netseg_iddef_to_json(const struct netseg_iddef *d);
/* Validation of names/paths/CIDRs is left to netseg_id_add. */
int netseg_iddef_from_json(const struct cJSON *o, struct netseg_iddef *d);
/* A JSON array of strings into fixed-width slots; -EINVAL if any doesn't fit. */
int netseg_json_strs(const struct cJSON *arr, char *out, size_t stride, size_t width,
		     unsigned int max, unsigned int *n);

#endif
