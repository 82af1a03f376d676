/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kubernetes NetworkPolicy and Namespace objects, read from YAML
 * (k8s.c), printed back in a canonical form, and judged by a reference
 * model of the NetworkPolicy semantics (k8s_eval.c).  docs/kubernetes.md
 * lists what is imported, the defaults applied and what is refused.
 */
#ifndef NETSEG_K8S_H
#define NETSEG_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "errors.h"
#include "labels.h"

/* The label every namespace carries, set to its own name. */
#define NETSEG_K8S_NS_NAME_LABEL "kubernetes.io/metadata.name"
#define NETSEG_K8S_DEFAULT_NS "default"

enum {
	NETSEG_K8S_INGRESS = 1 << 0,
	NETSEG_K8S_EGRESS = 1 << 1,
};

struct netseg_k8s_cidr {
	int family;    /* AF_INET or AF_INET6 */
	__u8 addr[16]; /* network order, host bits zero */
	__u8 plen;
};

struct netseg_k8s_peer {
	bool has_pod_sel, has_ns_sel, has_ipblock;
	struct netseg_labelsel pod_sel; /* podSelector */
	struct netseg_labelsel ns_sel;	/* namespaceSelector */
	struct netseg_k8s_cidr cidr;	/* ipBlock.cidr */
	struct netseg_k8s_cidr *except; /* ipBlock.except */
	size_t nexcept;
};

struct netseg_k8s_port {
	__u8 proto;	/* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP */
	__u16 port;	/* 0 = every port of proto */
	__u16 end_port; /* 0 = just port; else port..end_port */
};

/* One ingress (peers = from) or egress (peers = to) rule.  No peers =
 * every peer; no ports = every port and protocol. */
struct netseg_k8s_rule {
	struct netseg_k8s_peer *peers;
	size_t npeers;
	struct netseg_k8s_port *ports;
	size_t nports;
};

struct netseg_k8s_policy {
	char *ns, *name;
	struct netseg_labels labels;	/* metadata.labels */
	struct netseg_labelsel pod_sel; /* spec.podSelector */
	unsigned int types;		/* NETSEG_K8S_INGRESS | _EGRESS */
	struct netseg_k8s_rule *ingress;
	size_t ningress;
	struct netseg_k8s_rule *egress;
	size_t negress;
	int line; /* of its document, 1-based */
	/* The daemon's revision when it was last created or configured;
	 * 0 = not known (never set by import). */
	__u64 revision;
};

struct netseg_k8s_namespace {
	char *name;
	struct netseg_labels labels; /* includes the metadata.name label */
	int line;
	__u64 revision; /* as for a policy */
};

/* What one file (or several, appended) holds, in file order. */
struct netseg_k8s_objects {
	struct netseg_k8s_policy *policies;
	size_t npolicies;
	struct netseg_k8s_namespace *namespaces;
	size_t nnamespaces;
};

void netseg_k8s_objects_init(struct netseg_k8s_objects *o);
void netseg_k8s_objects_free(struct netseg_k8s_objects *o);

/*
 * Import every document of @buf (@len bytes; @name for messages) into
 * @o, which must be initialised.  All or nothing: on any error @o is left
 * as it was, and @errs holds every problem found as "name:line:col:
 * message".  0, -EINVAL (see @errs) or -ENOMEM.
 */
int netseg_k8s_load_buf(const char *name, const char *buf, size_t len, struct netseg_k8s_objects *o,
			struct netseg_errlist *errs);

/* The same from a file ("-" = stdin); -errno if it can't be read. */
int netseg_k8s_load_file(const char *path, struct netseg_k8s_objects *o,
			 struct netseg_errlist *errs);

/*
 * Print @o as canonical YAML (documents separated by "---", namespaces
 * first, every default written out) or as JSON: one kubectl-style List
 * {"apiVersion": "v1", "kind": "List", "items": [...]}.  The YAML imports back to the same objects (a List is not
 * imported; JSON is for programs reading it).  0 or -errno.
 */
int netseg_k8s_print_yaml(FILE *f, const struct netseg_k8s_objects *o);
int netseg_k8s_print_json(FILE *f, const struct netseg_k8s_objects *o);

/* The same as one string (free()), NULL on error: @json picks the List. */
char *netseg_k8s_print_str(const struct netseg_k8s_objects *o, bool json);

/* Is @a the same policy as @b, field by field (not the line)? */
bool netseg_k8s_policy_same(const struct netseg_k8s_policy *a, const struct netseg_k8s_policy *b);
/* The same for namespaces: name and labels (not the line). */
bool netseg_k8s_namespace_same(const struct netseg_k8s_namespace *a,
			       const struct netseg_k8s_namespace *b);

/* One object's memory (objects_free() frees every one of a set). */
void netseg_k8s_policy_free(struct netseg_k8s_policy *p);
void netseg_k8s_namespace_free(struct netseg_k8s_namespace *ns);

/* --- the set in force, changed as kubectl apply/delete do (k8s_objs.c) --- */

enum netseg_k8s_kind {
	NETSEG_K8S_POLICY,
	NETSEG_K8S_NAMESPACE,
};

/* What an apply did to one object, as kubectl says it. */
enum netseg_k8s_change {
	NETSEG_K8S_CREATED,
	NETSEG_K8S_CONFIGURED,
	NETSEG_K8S_UNCHANGED,
};

const char *netseg_k8s_change_name(enum netseg_k8s_change c); /* "created", ... */

/* @dst (need not be initialised) becomes a deep copy of @src, lines and
 * revisions included.  0, or -ENOMEM with @dst empty. */
int netseg_k8s_objects_copy(struct netseg_k8s_objects *dst, const struct netseg_k8s_objects *src);

/*
 * kubectl apply of @add onto @o: each object of @add replaces the object
 * of @o with its kind, namespace and name, in its place, or is appended.
 * An unchanged object stays @o's (its revision kept).  @add's objects are
 * moved: it is empty afterwards.  @pol_chg[i] and @ns_chg[i] (each array
 * may be NULL) say what happened to add->policies[i] and
 * add->namespaces[i].  0, or -ENOMEM with @o and @add untouched.
 */
int netseg_k8s_objects_merge(struct netseg_k8s_objects *o, struct netseg_k8s_objects *add,
			     enum netseg_k8s_change *pol_chg, enum netseg_k8s_change *ns_chg);

/* Index in @o's policies (or namespaces) of the object of @kind named
 * @ns/@name (@ns unused for a namespace); -1 if there is none. */
long netseg_k8s_objects_find(const struct netseg_k8s_objects *o, enum netseg_k8s_kind kind,
			     const char *ns, const char *name);

/* Remove that object, the others keeping their order: 0 or -ENOENT. */
int netseg_k8s_objects_remove(struct netseg_k8s_objects *o, enum netseg_k8s_kind kind,
			      const char *ns, const char *name);

/* --- the reference model (k8s_eval.c) --- */

struct netseg_k8s_addr {
	int family;    /* AF_INET or AF_INET6 */
	__u8 addr[16]; /* network order */
};

struct netseg_k8s_pod {
	const char *ns;
	const char *name;
	struct netseg_labels labels;
};

/* The cluster as the model sees it: namespaces (a pod's namespace that
 * isn't listed carries just its metadata.name label), pods, policies. */
struct netseg_k8s_cluster {
	const struct netseg_k8s_objects *objs;
	const struct netseg_k8s_pod *pods;
	size_t npods;
};

/* One end of a connection: a pod (@pod set) or an address outside the
 * cluster (@pod NULL); @ip is the address the packet carries. */
struct netseg_k8s_end {
	const struct netseg_k8s_pod *pod;
	struct netseg_k8s_addr ip;
};

/*
 * Does NetworkPolicy allow @src to open a connection to @dst, protocol
 * @proto (IPPROTO_*), destination port @port (0 for protocols without
 * ports)?  @why, if not NULL, gets one line saying which side decided.
 */
bool netseg_k8s_allowed(const struct netseg_k8s_cluster *c, const struct netseg_k8s_end *src,
			const struct netseg_k8s_end *dst, __u8 proto, __u16 port, char *why,
			size_t whylen);

/* Is @pod isolated for @dir (NETSEG_K8S_INGRESS or _EGRESS)? */
bool netseg_k8s_isolated(const struct netseg_k8s_cluster *c, const struct netseg_k8s_pod *pod,
			 unsigned int dir);

/* Parse "198.18.0.1" or "fd00::1"; 0 or -EINVAL. */
int netseg_k8s_addr_parse(const char *s, struct netseg_k8s_addr *a);
/* Is @a inside @c (same family, the first plen bits equal)? */
bool netseg_k8s_addr_in(const struct netseg_k8s_addr *a, const struct netseg_k8s_cidr *c);

#endif /* NETSEG_K8S_H */
