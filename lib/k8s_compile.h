/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NetworkPolicy compiler (k8s_compile.c): NetworkPolicies, Namespaces,
 * labelled endpoints and the native rules become one flat native rule set
 * over numeric identities, which netseg_compile() turns into the policy
 * map's entries and netseg_ref_decide() judges -- the datapath needs
 * nothing new (docs/kubernetes.md, "How it is enforced").
 *
 * Identities: one per (namespace, label set), so pods with equal labels
 * share one id and one set of entries.  Only an ipBlock can tell two such
 * pods apart (it matches pod addresses): their identity key then also
 * carries the ipBlocks their addresses fall in.  Every ipBlock cidr and
 * except becomes an ipcache prefix with an identity of its own, so that
 * the longest-prefix answer of the ipcache says on which side of each
 * ipBlock an address lies; such a prefix inherits the native rules and
 * flags of the native identity (or world) whose prefix it was cut from.
 *
 * Per pair of identities the compiler decides both sides at once: the
 * source's egress (open unless a policy of that type selects it, else
 * the union of the egress rules that match the destination) and the
 * destination's ingress, likewise; a generated allow rule carries their
 * intersection of ports.  Native rules pass through unchanged: a native
 * allow grants both sides, a native deny beats every allow, and native
 * endpoint identities keep their default deny (no generated rule touches
 * them).
 */
#ifndef NETSEG_K8S_COMPILE_H
#define NETSEG_K8S_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "compile.h"
#include "errors.h"
#include "k8s.h"
#include "rule.h"

/* A labelled workload (a pod): what the CNI plugin or `endpoint label` tells. */
struct netseg_k8s_endpoint {
	const char *ns;
	const char *name;
	const struct netseg_labels *labels; /* never NULL: an empty set for none */
	const struct netseg_k8s_addr *addrs;
	size_t naddrs;
};

/*
 * A native identity other than host and world: its id, its flags (enum
 * netseg_identity_flags) and the address prefixes it owns in the ipcache
 * (CIDR selectors; an endpoint's learned /32s and /128s may be given too),
 * so that ipBlocks can be judged against it.  With a label selector
 * (`identity add NAME --selector EXPR [--namespace NS]`) the pods it
 * matches are members too: a native rule naming it is copied for each
 * of their pod identities, a deny as well as an allow.
 */
struct netseg_k8s_native {
	__u32 id;
	__u32 flags;
	const struct netseg_k8s_cidr *cidrs;
	size_t ncidrs;
	const struct netseg_labelsel *sel; /* NULL = no pods are members */
	const char *sel_ns;		   /* pods of this namespace only; NULL or "" = all */
};

/*
 * Maps an identity key to its numeric id, the same id for the same key
 * for as long as it is in use (flows and counters refer to it).  Keys
 * are "pod:NS:LABELS" (optionally followed by ":ipblocks=..."), and
 * "cidr:PREFIX".  0 or -errno.
 */
typedef int (*netseg_k8s_alloc_fn)(const char *key, __u32 *id, void *ctx);

struct netseg_k8s_input {
	const struct netseg_k8s_objects *objs; /* policies and namespaces */
	const struct netseg_k8s_endpoint *eps;
	size_t neps;
	const struct netseg_rule *rules; /* native rules, ids set */
	size_t nrules;
	const struct netseg_resolver *res; /* their selectors */
	const struct netseg_k8s_native *natives;
	size_t nnatives;
	const struct netseg_k8s_addr *host_addrs; /* the node's own */
	size_t nhost;
	bool host_to_pods; /* the node may open connections to every pod */
	netseg_k8s_alloc_fn alloc;
	void *alloc_ctx;
	__u32 first_rule_id; /* generated rules are numbered from here */
};

/* An identity the compiler created, for the identity map. */
struct netseg_k8s_id {
	__u32 id;
	__u32 flags; /* enum netseg_identity_flags */
};

/* An ipBlock prefix for the ipcache, and its identity. */
struct netseg_k8s_prefix {
	struct netseg_k8s_cidr cidr;
	__u32 id;
	__u32 parent; /* the identity it was cut from (world if none) */
};

struct netseg_k8s_compiled {
	/* The native rules, then their copies for the prefixes cut from
	 * their identities and for the pods their selectors match, then the
	 * generated allows; "#N" selectors name identity N
	 * (netseg_k8s_resolver()). */
	struct netseg_ruleset rules;
	__u32 *ep_ids;		   /* identity of each input endpoint */
	struct netseg_k8s_id *ids; /* pod identities and prefixes' */
	size_t nids;
	struct netseg_k8s_prefix *prefixes;
	size_t nprefixes;
};

void netseg_k8s_compiled_free(struct netseg_k8s_compiled *c);

/*
 * Compile @in into @out (all or nothing: on error @out holds nothing).
 * 0, -ENOENT (a native rule names an unknown identity), -ERANGE (rule ids
 * run out), an allocator's -errno, or -ENOMEM; @err says what and where.
 */
int netseg_k8s_compile(const struct netseg_k8s_input *in, struct netseg_k8s_compiled *out,
		       struct netseg_err *err);

/*
 * A resolver for the compiled rules: "#N" is identity N, every other
 * selector goes to @native.  @out borrows @native.
 */
void netseg_k8s_resolver(const struct netseg_resolver *native, struct netseg_resolver *out);

#endif /* NETSEG_K8S_COMPILE_H */
