// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cluster mode (docs/cluster.md): the node's pods published in etcd under
 * its lease, the other nodes' pods read back into the ipcache with their
 * identities, so policy between pods on different nodes is enforced by
 * the packet's source address alone.
 *
 * Nothing here blocks: requests go through lib/etcd.c's client, whose one
 * fd is in the loop's epoll set, and every answer is handled from
 * netsegd_cluster_run().  Enforcement never waits for etcd: without it a
 * node keeps what it has (its own pods come and go, other nodes' pods stay
 * as last known) and catches up when etcd answers again.
 *
 * Publishing: the keys this node owns (P/nodes/NODE, P/endpoints/NODE/IP)
 * are kept as a set of what etcd holds for us; a change sends the
 * difference in one transaction, one at a time, so a put and a later
 * delete of one key can never land in the other order.  When the lease is
 * lost (etcd cut us off past the TTL, or came back without its data) a new
 * one is granted and everything is published again.
 *
 * Reading: one list of P/ at a revision, then one watch from the next
 * revision; compaction, data loss or a failed watch mean listing again.
 * Other nodes' endpoints become pods with no interface (struct
 * netsegd_pod.node set) in the same pod set as the local ones, so they go
 * through the one commit path: one commit per watch message.
 *
 * Identities are the local allocator's, by key ("pod:NS:LABELS"): the
 * numbers may differ between nodes, but every node gives a remote pod the
 * identity its own pods with the same namespace and labels have, which is
 * what its policy is written against.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <cjson/cJSON.h>

#include "etcd.h"
#include "log.h"
#include "netsegd.h"
#include "text.h"

/* Operations per transaction: etcd refuses more than 128 by default. */
#define TXN_OPS 100
#define KEY_MAX 512

/* Another node's endpoint, as its key and value say. */
struct rep {
	char *key;
	char node[64];
	char ns[64];
	char name[254];
	struct netseg_labels labels;
	struct netseg_k8s_addr ip;
	struct netsegd_pod *pod; /* in the pod set while the commit holds it */
	bool changed;		 /* not yet committed as it is now */
	bool refused;		 /* said why it is left out */
	bool seen;		 /* in the list being applied */
};

struct rnode {
	char name[64];
	char addrs[256]; /* "a, b" */
	int64_t applied;
	__u64 seen_ms; /* our view last heard of it */
	bool seen;
};

/* A key this node owns as etcd holds it (value NULL: being deleted). */
struct pub {
	char *key;
	char *value;
};

struct netsegd_cluster {
	struct netsegd *d;
	struct netseg_etcd *c;
	char prefix[160]; /* "P/" */
	char ep_prefix[200], node_prefix[200], own_eps[300], node_key[300];
	int64_t lease;
	bool granting, keepalive_busy;
	__u64 next_keepalive_ms, next_grant_ms, keepalive_ok_ms;
	unsigned int keepalive_fails;
	/* reading */
	struct netseg_etcd_watch *w;
	bool listing, need_list;
	__u64 next_list_ms;
	int64_t applied; /* revision of the view in force */
	struct rep *reps;
	size_t nreps, capreps;
	struct rnode *nodes;
	size_t nnodes, capnodes;
	bool remote_dirty;
	/* publishing */
	struct pub *pubs;
	size_t npubs, cappubs;
	struct pub *flight; /* the transaction in flight */
	size_t nflight;
	bool publish_dirty;
	char node_cmp[512]; /* the node value last put, without "applied" */
	/* counters, for node.list */
	__u64 txns, puts, deletes, bad_values, commits, lists;
	bool unreachable; /* said once per outage */
	char last_err[NETSEG_ETCD_MSG_MAX];
};

static __u64 mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_unreachable(struct netsegd_cluster *k, const char *what, const char *msg)
{
	snprintf(k->last_err, sizeof(k->last_err), "%s: %s", what, msg);
	if (k->unreachable)
		return;
	k->unreachable = true;
	pr_warn("cluster: the store at %s is unreachable (%s: %s); enforcing what this node has",
		netseg_etcd_endpoint(k->c), what, msg);
}

static void set_reachable(struct netsegd_cluster *k)
{
	if (!k->unreachable)
		return;
	k->unreachable = false;
	k->last_err[0] = 0;
	pr_warn("cluster: the store at %s answers again", netseg_etcd_endpoint(k->c));
}

/* ------------------------------------------------------------ publishing */

static struct pub *pub_find(struct netsegd_cluster *k, const char *key)
{
	for (size_t i = 0; i < k->npubs; i++)
		if (!strcmp(k->pubs[i].key, key))
			return &k->pubs[i];
	return NULL;
}

static void pub_set(struct netsegd_cluster *k, const char *key, const char *value)
{
	struct pub *p = pub_find(k, key);

	if (!value) {
		if (p) {
			free(p->key);
			free(p->value);
			*p = k->pubs[--k->npubs];
		}
		return;
	}
	if (!p) {
		if (k->npubs == k->cappubs) {
			size_t cap = k->cappubs ? 2 * k->cappubs : 64;
			struct pub *v = realloc(k->pubs, cap * sizeof(*v));

			if (!v)
				return; /* forgotten: republished as new */
			k->pubs = v;
			k->cappubs = cap;
		}
		p = &k->pubs[k->npubs++];
		p->key = strdup(key);
		p->value = NULL;
		if (!p->key) {
			k->npubs--;
			return;
		}
	}
	free(p->value);
	p->value = strdup(value);
}

static void pubs_clear(struct netsegd_cluster *k)
{
	while (k->npubs)
		pub_set(k, k->pubs[0].key, NULL);
	k->node_cmp[0] = 0;
}

static void flight_clear(struct netsegd_cluster *k)
{
	for (size_t i = 0; i < k->nflight; i++) {
		free(k->flight[i].key);
		free(k->flight[i].value);
	}
	free(k->flight);
	k->flight = NULL;
	k->nflight = 0;
}

/* The desired keys: one per local pod address, and the node's own. */
struct want {
	struct pub *v;
	size_t n, cap;
};

static int want_add(struct want *w, const char *key, char *value)
{
	if (!value)
		return -ENOMEM;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct pub *v = realloc(w->v, cap * sizeof(*v));

		if (!v) {
			free(value);
			return -ENOMEM;
		}
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n].key = strdup(key);
	w->v[w->n].value = value;
	if (!w->v[w->n].key) {
		free(value);
		return -ENOMEM;
	}
	w->n++;
	return 0;
}

static void want_free(struct want *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].key);
		free(w->v[i].value);
	}
	free(w->v);
}

static char *ep_value(const struct netsegd_cluster *k, const struct netsegd_pod *p)
{
	cJSON *o = cJSON_CreateObject(), *l;
	char *s = NULL;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "node", k->d->cfg.node_name);
	cJSON_AddStringToObject(o, "namespace", p->ns);
	if (p->name[0])
		cJSON_AddStringToObject(o, "pod", p->name);
	l = cJSON_AddObjectToObject(o, "labels");
	for (size_t i = 0; l && i < p->labels.n; i++)
		cJSON_AddStringToObject(l, p->labels.v[i].key, p->labels.v[i].value);
	cJSON_AddNumberToObject(o, "id", p->id);
	if (l)
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

struct host_addrs {
	cJSON *arr;
};

/* Not loopback, not link-local (the prefix's bytes: no alignment). */
static bool routable(const struct netseg_prefix *p)
{
	static const __u8 lo6[16] = { [15] = 1 };
	const __u8 *a = p->addr;

	if (p->family == NETSEG_AF_INET)
		return a[0] != 127 && !(a[0] == 169 && a[1] == 254);
	return memcmp(a, lo6, 16) && !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

static void host_addr_one(struct netseg_ipent *e, void *ctx)
{
	struct host_addrs *h = ctx;
	char buf[INET6_ADDRSTRLEN];

	if (!netseg_prefix_is_host(&e->pfx))
		return;
	for (unsigned int i = 0; i < e->nsrc; i++) {
		if (e->src[i].kind != NETSEG_IPSRC_HOST)
			continue;
		/* Loopback and link-local (one per interface, every veth
		 * has one) say nothing to another node. */
		if (!routable(&e->pfx))
			return;
		if (inet_ntop(e->pfx.family == NETSEG_AF_INET ? AF_INET : AF_INET6, e->pfx.addr,
			      buf, sizeof(buf)))
			cJSON_AddItemToArray(h->arr, cJSON_CreateString(buf));
		return;
	}
}

/* The node's value, with and without "applied" (what a change is judged by). */
static char *node_value(struct netsegd_cluster *k, size_t neps, bool applied)
{
	struct host_addrs h = { .arr = NULL };
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	h.arr = cJSON_AddArrayToObject(o, "addresses");
	if (!h.arr) {
		cJSON_Delete(o);
		return NULL;
	}
	netseg_iptable_foreach(&k->d->eps.ips, host_addr_one, &h);
	cJSON_AddNumberToObject(o, "endpoints", neps);
	if (applied)
		cJSON_AddNumberToObject(o, "applied", k->applied);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static int want_build(struct netsegd_cluster *k, struct want *w)
{
	const struct netsegd_k8s_set *s = &k->d->k8s.set;
	char key[KEY_MAX], ip[INET6_ADDRSTRLEN];
	int r = 0;

	for (size_t i = 0; i < s->npods && !r; i++) {
		const struct netsegd_pod *p = s->pods[i];

		if (p->node[0] || !p->id)
			continue;
		for (unsigned int j = 0; j < p->nips && !r; j++) {
			if (!inet_ntop(p->ips[j].family, p->ips[j].addr, ip, sizeof(ip)))
				continue;
			snprintf(key, sizeof(key), "%s%s", k->own_eps, ip);
			r = want_add(w, key, ep_value(k, p));
		}
	}
	return r;
}

static void publish(struct netsegd_cluster *k);
static void grant(struct netsegd_cluster *k);

static void publish_done(struct netseg_etcd *c, struct netseg_etcd_result *r, void *arg)
{
	struct netsegd_cluster *k = arg;

	if (r->err) {
		k->node_cmp[0] = 0;	 /* the node key may be stale too */
		k->publish_dirty = true; /* the tick tries again */
		flight_clear(k);
		if (strstr(r->msg, "requested lease not found")) {
			/* etcd lost it (restarted empty, or the TTL ran out)
			 * before a keepalive said so: a new one, then all again. */
			pr_warn("cluster: lease %lld of node %s is gone; publishing again under a "
				"new one",
				(long long)k->lease, k->d->cfg.node_name);
			k->lease = 0;
			grant(k);
			return;
		}
		set_unreachable(k, "publishing this node's endpoints", r->msg);
		return;
	}
	set_reachable(k);
	for (size_t i = 0; i < k->nflight; i++)
		pub_set(k, k->flight[i].key, k->flight[i].value);
	flight_clear(k);
	publish(k);
}

/*
 * Sends the difference between what etcd holds for us and the local pods,
 * at most TXN_OPS operations in one transaction; the answer sends the rest.
 */
static void publish(struct netsegd_cluster *k)
{
	struct netseg_etcd_op ops[TXN_OPS];
	struct netseg_etcd_txn t = { .success = ops };
	struct want w = { 0 };
	char *nv = NULL, *ncmp = NULL;
	size_t n = 0;

	if (!k->lease || k->flight)
		return;
	k->publish_dirty = false;
	if (want_build(k, &w))
		goto oom;
	k->flight = calloc(TXN_OPS + 1, sizeof(*k->flight));
	ncmp = node_value(k, w.n, false);
	if (!k->flight || !ncmp)
		goto oom;
	for (size_t i = 0; i < w.n && n < TXN_OPS - 1; i++) {
		const struct pub *p = pub_find(k, w.v[i].key);

		if (p && p->value && !strcmp(p->value, w.v[i].value))
			continue;
		k->flight[n].key = w.v[i].key;
		k->flight[n].value = w.v[i].value;
		w.v[i].key = w.v[i].value = NULL;
		n++;
	}
	for (size_t i = 0; i < k->npubs && n < TXN_OPS - 1; i++) {
		bool wanted = !strcmp(k->pubs[i].key, k->node_key);

		for (size_t j = 0; j < w.n && !wanted; j++)
			wanted = w.v[j].key && !strcmp(w.v[j].key, k->pubs[i].key);
		for (size_t j = 0; j < n && !wanted; j++)
			wanted = !strcmp(k->flight[j].key, k->pubs[i].key);
		if (wanted)
			continue;
		k->flight[n].key = strdup(k->pubs[i].key);
		if (!k->flight[n].key)
			goto oom;
		n++;
	}
	if (n || strcmp(ncmp, k->node_cmp) || !pub_find(k, k->node_key)) {
		nv = node_value(k, w.n, true);
		k->flight[n].key = strdup(k->node_key);
		k->flight[n].value = nv;
		nv = NULL;
		if (!k->flight[n].key || !k->flight[n].value)
			goto oom;
		snprintf(k->node_cmp, sizeof(k->node_cmp), "%s", ncmp);
		n++;
	}
	k->nflight = n;
	if (!n) {
		flight_clear(k);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pub *f = &k->flight[i];

		ops[i] = (struct netseg_etcd_op){
			.type = f->value ? NETSEG_ETCD_PUT : NETSEG_ETCD_DELETE,
			.key = f->key,
			.value = f->value,
			.value_len = f->value ? strlen(f->value) : 0,
			.lease = f->value ? k->lease : 0,
		};
		if (f->value)
			k->puts++;
		else
			k->deletes++;
	}
	t.n_success = n;
	k->txns++;
	if (netseg_etcd_txn(k->c, &t, publish_done, k)) {
		flight_clear(k);
		goto oom;
	}
	goto out;
oom:
	k->node_cmp[0] = 0;
	k->publish_dirty = true;
	flight_clear(k);
out:
	free(ncmp);
	free(nv);
	want_free(&w);
}

void netsegd_cluster_pods_changed(struct netsegd *d)
{
	struct netsegd_cluster *k = d->cluster;

	if (!k)
		return;
	k->publish_dirty = true;
	publish(k);
}

/* ---------------------------------------------------------------- lease */

static void granted(struct netseg_etcd *c, struct netseg_etcd_result *r, void *arg)
{
	struct netsegd_cluster *k = arg;

	k->granting = false;
	if (r->err || !r->lease_id) {
		set_unreachable(k, "granting this node's lease", r->err ? r->msg : "no lease id");
		k->next_grant_ms = mono_ms() + 1000;
		return;
	}
	set_reachable(k);
	k->lease = r->lease_id;
	k->keepalive_ok_ms = mono_ms();
	k->next_keepalive_ms = k->keepalive_ok_ms + k->d->cfg.cluster.lease_ttl * 1000 / 3;
	pr_info("cluster: node %s holds lease %lld (TTL %u s)", k->d->cfg.node_name,
		(long long)k->lease, k->d->cfg.cluster.lease_ttl);
	/* Whatever an older lease held is gone or going: publish it all. */
	pubs_clear(k);
	k->publish_dirty = true;
	publish(k);
}

static void grant(struct netsegd_cluster *k)
{
	if (k->granting || k->lease)
		return;
	k->granting = true;
	if (netseg_etcd_lease_grant(k->c, k->d->cfg.cluster.lease_ttl, granted, k))
		k->granting = false;
}

static void kept_alive(struct netseg_etcd *c, struct netseg_etcd_result *r, void *arg)
{
	struct netsegd_cluster *k = arg;

	k->keepalive_busy = false;
	if (r->err) {
		set_unreachable(k, "keeping this node's lease alive", r->msg);
		/* TCP takes about a minute to notice a dead peer: a watch
		 * that sits silent while keepalives fail is reconnected. */
		if (++k->keepalive_fails >= 2 && k->w)
			netseg_etcd_watch_reconnect(k->w);
		return;
	}
	set_reachable(k);
	k->keepalive_fails = 0;
	if (!r->ttl) {
		pr_warn("cluster: lease %lld of node %s is gone (cut off past its TTL, or the "
			"store lost its data); publishing again under a new one",
			(long long)k->lease, k->d->cfg.node_name);
		k->lease = 0;
		grant(k);
		return;
	}
	k->keepalive_ok_ms = mono_ms();
}

/* -------------------------------------------------------------- reading */

static struct rep *rep_find(struct netsegd_cluster *k, const char *key)
{
	for (size_t i = 0; i < k->nreps; i++)
		if (!strcmp(k->reps[i].key, key))
			return &k->reps[i];
	return NULL;
}

static void rep_remove(struct netsegd_cluster *k, struct rep *e)
{
	free(e->key);
	netseg_labels_free(&e->labels);
	*e = k->reps[--k->nreps];
	k->remote_dirty = true;
}

static struct rnode *node_find(struct netsegd_cluster *k, const char *name, bool create)
{
	for (size_t i = 0; i < k->nnodes; i++)
		if (!strcmp(k->nodes[i].name, name))
			return &k->nodes[i];
	if (!create)
		return NULL;
	if (k->nnodes == k->capnodes) {
		size_t cap = k->capnodes ? 2 * k->capnodes : 8;
		struct rnode *v = realloc(k->nodes, cap * sizeof(*v));

		if (!v)
			return NULL;
		k->nodes = v;
		k->capnodes = cap;
	}
	memset(&k->nodes[k->nnodes], 0, sizeof(k->nodes[0]));
	snprintf(k->nodes[k->nnodes].name, sizeof(k->nodes[0].name), "%s", name);
	return &k->nodes[k->nnodes++];
}

static bool name_ok(const char *s, size_t max)
{
	char why[96];

	return s[0] && !strchr(s, '/') && !netseg_text_check(s, max, why, sizeof(why));
}

/* The value of another node's endpoint key into @e; a message in @why. */
static int rep_parse(const struct netseg_etcd_kv *kv, struct rep *e, char *why, size_t len)
{
	const cJSON *ns, *pod, *labels, *it;
	struct netseg_err le = { 0 };
	cJSON *o = netseg_etcd_kv_json(kv, why, len);
	int r = -EINVAL;

	if (!o)
		return -EINVAL;
	ns = cJSON_GetObjectItem(o, "namespace");
	pod = cJSON_GetObjectItem(o, "pod");
	labels = cJSON_GetObjectItem(o, "labels");
	if (!cJSON_IsString(ns) || !netseg_dns_label_ok(ns->valuestring)) {
		snprintf(why, len, "\"namespace\" is missing or not a DNS label");
		goto out;
	}
	if (pod && (!cJSON_IsString(pod) ||
		    (pod->valuestring[0] &&
		     netseg_text_check(pod->valuestring, sizeof(e->name), why, len)))) {
		snprintf(why, len, "\"pod\" is not a printable name");
		goto out;
	}
	if (!cJSON_IsObject(labels)) {
		snprintf(why, len, "\"labels\" is missing or not an object");
		goto out;
	}
	snprintf(e->ns, sizeof(e->ns), "%s", ns->valuestring);
	snprintf(e->name, sizeof(e->name), "%s", pod ? pod->valuestring : "");
	cJSON_ArrayForEach(it, labels) {
		if (!cJSON_IsString(it)) {
			snprintf(why, len, "label \"%.64s\" is not a string", it->string);
			goto out;
		}
		r = netseg_labels_add(&e->labels, it->string, it->valuestring, &le);
		if (r) {
			snprintf(why, len, "label \"%.64s\": %.150s", it->string,
				 r == -ENOMEM ? "out of memory" : le.msg);
			r = -EINVAL;
			goto out;
		}
	}
	r = 0;
out:
	cJSON_Delete(o);
	return r;
}

static void bad_value(struct netsegd_cluster *k, const struct netseg_etcd_kv *kv, const char *why)
{
	char kb[128];

	k->bad_values++;
	pr_warn("cluster: ignoring %s: %s (not what netseg writes)",
		netseg_etcd_key_str(kv->key, kv->key_len, kb, sizeof(kb)), why);
}

/* Is @kv's value what we published, or are publishing, for its key? */
static bool own_value(const struct netsegd_cluster *k, const struct netseg_etcd_kv *kv)
{
	for (size_t i = 0; i < k->npubs; i++)
		if (!strcmp(k->pubs[i].key, kv->key) && !strcmp(k->pubs[i].value, kv->value))
			return true;
	for (size_t i = 0; i < k->nflight; i++)
		if (k->flight[i].value && !strcmp(k->flight[i].key, kv->key) &&
		    !strcmp(k->flight[i].value, kv->value))
			return true;
	return false;
}

/* P/endpoints/NODE/IP put or deleted. */
static void on_endpoint(struct netsegd_cluster *k, const struct netseg_etcd_kv *kv, bool put)
{
	const char *rest = kv->key + strlen(k->ep_prefix), *slash = strchr(rest, '/');
	struct rep e = { 0 }, *have;
	char why[NETSEG_ETCD_MSG_MAX], node[64];

	if (!slash || slash == rest || (size_t)(slash - rest) >= sizeof(node)) {
		bad_value(k, kv, "the key is not P/endpoints/NODE/IP");
		return;
	}
	snprintf(node, sizeof(node), "%.*s", (int)(slash - rest), rest);
	if (!strcmp(node, k->d->cfg.node_name)) {
		/* Our own key deleted or overwritten behind our back (an
		 * operator, data loss): forget it was there, so the next
		 * publish puts it back. */
		if (pub_find(k, kv->key) && (!put || !own_value(k, kv)))
			pub_set(k, kv->key, NULL);
		if (!pub_find(k, kv->key))
			k->publish_dirty = true;
		return;
	}
	have = rep_find(k, kv->key);
	if (!put) {
		if (have)
			rep_remove(k, have);
		return;
	}
	netseg_labels_init(&e.labels);
	if (have)
		have->seen = true; /* a bad new value keeps the last good one */
	if (!name_ok(node, sizeof(node)) || netseg_k8s_addr_parse(slash + 1, &e.ip)) {
		bad_value(k, kv, "the key is not P/endpoints/NODE/IP");
		goto fail;
	}
	if (rep_parse(kv, &e, why, sizeof(why))) {
		bad_value(k, kv, why);
		goto fail;
	}
	snprintf(e.node, sizeof(e.node), "%s", node);
	e.seen = true;
	e.changed = true;
	if (have) {
		if (!strcmp(have->ns, e.ns) && !strcmp(have->name, e.name) &&
		    netseg_labels_same(&have->labels, &e.labels)) {
			have->seen = true;
			goto fail; /* unchanged */
		}
		e.key = have->key;
		have->key = NULL;
		netseg_labels_free(&have->labels);
		e.pod = have->pod;
		*have = e;
		k->remote_dirty = true;
		return;
	}
	if (k->nreps == k->capreps) {
		size_t cap = k->capreps ? 2 * k->capreps : 64;
		struct rep *v = realloc(k->reps, cap * sizeof(*v));

		if (!v)
			goto fail;
		k->reps = v;
		k->capreps = cap;
	}
	e.key = strdup(kv->key);
	if (!e.key)
		goto fail;
	k->reps[k->nreps++] = e;
	k->remote_dirty = true;
	return;
fail:
	netseg_labels_free(&e.labels);
}

/* P/nodes/NODE put or deleted. */
static void on_node(struct netsegd_cluster *k, const struct netseg_etcd_kv *kv, bool put)
{
	const char *name = kv->key + strlen(k->node_prefix);
	const cJSON *addrs, *applied, *it;
	char why[NETSEG_ETCD_MSG_MAX];
	struct rnode *n;
	size_t off = 0;
	cJSON *o;

	if (!name_ok(name, sizeof(n->name))) {
		bad_value(k, kv, "the key is not P/nodes/NODE");
		return;
	}
	if (!strcmp(name, k->d->cfg.node_name)) {
		if (!put && pub_find(k, kv->key)) {
			pub_set(k, kv->key, NULL);
			k->node_cmp[0] = 0;
			k->publish_dirty = true;
		}
		return;
	}
	if (!put) {
		n = node_find(k, name, false);
		if (n)
			*n = k->nodes[--k->nnodes];
		return;
	}
	o = netseg_etcd_kv_json(kv, why, sizeof(why));
	if (!o) {
		bad_value(k, kv, why);
		return;
	}
	addrs = cJSON_GetObjectItem(o, "addresses");
	applied = cJSON_GetObjectItem(o, "applied");
	if (!cJSON_IsArray(addrs) || (applied && !cJSON_IsNumber(applied))) {
		bad_value(k, kv, "\"addresses\" is not a list, or \"applied\" not a number");
		cJSON_Delete(o);
		return;
	}
	n = node_find(k, name, true);
	if (n) {
		n->addrs[0] = 0;
		cJSON_ArrayForEach(it, addrs) {
			if (cJSON_IsString(it) && off < sizeof(n->addrs))
				off += snprintf(n->addrs + off, sizeof(n->addrs) - off, "%s%.64s",
						off ? ", " : "", it->valuestring);
		}
		n->applied = applied ? (int64_t)applied->valuedouble : 0;
		n->seen_ms = mono_ms();
		n->seen = true;
	}
	cJSON_Delete(o);
}

static void on_kv(struct netsegd_cluster *k, const struct netseg_etcd_kv *kv, bool put)
{
	const char *who = NULL;
	size_t pl;

	if (!strncmp(kv->key, k->ep_prefix, strlen(k->ep_prefix))) {
		on_endpoint(k, kv, put);
		pl = strlen(k->ep_prefix);
		who = kv->key + pl;
	} else if (!strncmp(kv->key, k->node_prefix, strlen(k->node_prefix))) {
		on_node(k, kv, put);
	}
	/* Any word from a node is a sign of it. */
	if (who) {
		char node[64];
		const char *slash = strchr(who, '/');
		struct rnode *n;

		if (slash && (size_t)(slash - who) < sizeof(node)) {
			snprintf(node, sizeof(node), "%.*s", (int)(slash - who), who);
			n = node_find(k, node, false);
			if (n)
				n->seen_ms = mono_ms();
		}
	}
}

/* An address of this node: never taken for another node's pod. */
static bool own_address(struct netsegd *d, const struct netseg_k8s_addr *a)
{
	int fam = a->family == AF_INET ? NETSEG_AF_INET : NETSEG_AF_INET6;
	const struct netseg_ipent *e = netseg_iptable_lookup(&d->eps.ips, fam, a->addr);

	for (unsigned int i = 0; e && netseg_prefix_is_host(&e->pfx) && i < e->nsrc; i++)
		if (e->src[i].kind == NETSEG_IPSRC_HOST)
			return true;
	return false;
}

/*
 * The remote endpoints in force as pods: the local pods unchanged, an
 * unchanged remote one by the same pointer (so its claim stays), a new
 * or changed one as a new pod.  One commit.
 */
static void apply_remote(struct netsegd_cluster *k)
{
	struct netsegd *d = k->d;
	const struct netsegd_k8s_set *s = &d->k8s.set;
	struct netsegd_pod **pods, **used = NULL;
	struct netseg_err err = { 0 };
	size_t n = 0;
	int r;

	if (!k->remote_dirty)
		return;
	pods = malloc((s->npods + k->nreps + 1) * sizeof(*pods));
	used = calloc(k->nreps + 1, sizeof(*used));
	if (!pods || !used)
		goto fail;
	for (size_t i = 0; i < s->npods; i++)
		if (!s->pods[i]->node[0])
			pods[n++] = s->pods[i];
	for (size_t i = 0; i < k->nreps; i++) {
		struct rep *e = &k->reps[i];
		struct netsegd_pod *p = NULL;
		bool in = false;

		for (size_t j = 0; e->pod && !e->changed && j < s->npods && !in; j++)
			in = s->pods[j] == e->pod;
		if (in) {
			used[i] = pods[n++] = e->pod;
			continue;
		}
		if (own_address(d, &e->ip)) {
			if (!e->refused)
				pr_warn("cluster: ignoring %s: another node claims this node's own "
					"address",
					e->key);
			e->refused = true;
			continue;
		}
		p = calloc(1, sizeof(*p));
		if (!p)
			goto fail_pods;
		netseg_labels_init(&p->labels);
		for (size_t l = 0; l < e->labels.n; l++)
			if (netseg_labels_add(&p->labels, e->labels.v[l].key, e->labels.v[l].value,
					      NULL)) {
				netsegd_pod_free(p);
				goto fail_pods;
			}
		snprintf(p->ns, sizeof(p->ns), "%s", e->ns);
		snprintf(p->name, sizeof(p->name), "%s", e->name);
		snprintf(p->node, sizeof(p->node), "%s", e->node);
		p->ips[0] = e->ip;
		p->nips = 1;
		used[i] = pods[n++] = p;
	}
	k->commits++;
	r = netsegd_k8s_commit_pods(d, pods, n, &err); /* takes pods */
	pods = NULL;
	if (r) {
		/* Kept dirty: the tick tries again. */
		pr_warn("cluster: couldn't apply %zu endpoints of other nodes: %s", k->nreps,
			err.msg);
		goto out;
	}
	k->remote_dirty = false;
	for (size_t i = 0; i < k->nreps; i++) {
		k->reps[i].pod = used[i];
		k->reps[i].changed = false;
	}
	goto out;
fail_pods:
	/* Free only the new pods: the others are the set's. */
	for (size_t i = 0; i < k->nreps; i++) {
		bool in = false;

		for (size_t j = 0; used[i] && j < s->npods && !in; j++)
			in = s->pods[j] == used[i];
		if (used[i] && !in)
			netsegd_pod_free(used[i]);
	}
fail:
	pr_warn("cluster: out of memory applying endpoints of other nodes; retrying");
out:
	free(pods);
	free(used);
}

static void start_list(struct netsegd_cluster *k);

static void watched(struct netseg_etcd_watch *w, const struct netseg_etcd_watch_msg *m, void *arg)
{
	struct netsegd_cluster *k = arg;

	switch (m->kind) {
	case NETSEG_ETCD_W_CREATED:
		set_reachable(k);
		return;
	case NETSEG_ETCD_W_EVENTS:
		for (size_t i = 0; i < m->n_events; i++)
			on_kv(k, &m->events[i].kv, m->events[i].type == NETSEG_ETCD_EV_PUT);
		if (m->revision > k->applied)
			k->applied = m->revision;
		apply_remote(k);
		if (k->publish_dirty)
			publish(k);
		return;
	case NETSEG_ETCD_W_PROGRESS:
		if (m->revision > k->applied)
			k->applied = m->revision;
		return;
	case NETSEG_ETCD_W_DISCONNECTED:
		set_unreachable(k, "watching the cluster", m->msg ? m->msg : "disconnected");
		return;
	case NETSEG_ETCD_W_RESET:
		/* The store went back in time: whatever we published may be
		 * gone with it. */
		pr_warn("cluster: the store lost data (%s); listing again and publishing "
			"this node's endpoints again",
			m->msg ? m->msg : "revision went back");
		pubs_clear(k);
		k->publish_dirty = true;
		break;
	case NETSEG_ETCD_W_COMPACTED:
		pr_info("cluster: the watch fell behind a compaction (revision %lld); listing "
			"again",
			(long long)m->compact_revision);
		break;
	case NETSEG_ETCD_W_FAILED:
		pr_warn("cluster: the watch failed (%s); listing again",
			m->msg ? m->msg : "canceled");
		break;
	}
	netseg_etcd_watch_stop(w);
	k->w = NULL;
	start_list(k);
	publish(k);
}

static void listed(struct netseg_etcd *c, struct netseg_etcd_result *r, void *arg)
{
	struct netsegd_cluster *k = arg;
	char wp[200];

	k->listing = false;
	if (r->err) {
		set_unreachable(k, "listing the cluster", r->msg);
		k->need_list = true;
		k->next_list_ms = mono_ms() + 1000;
		return;
	}
	set_reachable(k);
	k->lists++;
	for (size_t i = 0; i < k->nreps; i++)
		k->reps[i].seen = false;
	for (size_t i = 0; i < k->nnodes; i++)
		k->nodes[i].seen = false;
	for (size_t i = 0; i < r->n_kvs; i++)
		on_kv(k, &r->kvs[i], true);
	for (size_t i = 0; i < k->nreps;) {
		if (!k->reps[i].seen)
			rep_remove(k, &k->reps[i]);
		else
			i++;
	}
	for (size_t i = 0; i < k->nnodes;) {
		if (!k->nodes[i].seen)
			k->nodes[i] = k->nodes[--k->nnodes];
		else
			i++;
	}
	/* Ours as the list has them: anything we think etcd holds and it
	 * doesn't goes again. */
	for (size_t i = 0; i < k->npubs;) {
		bool there = false;

		for (size_t j = 0; j < r->n_kvs && !there; j++)
			there = !strcmp(r->kvs[j].key, k->pubs[i].key);
		if (!there) {
			pub_set(k, k->pubs[i].key, NULL);
			k->node_cmp[0] = 0;
			k->publish_dirty = true;
		} else {
			i++;
		}
	}
	k->applied = r->revision;
	snprintf(wp, sizeof(wp), "%s", k->prefix);
	if (netseg_etcd_watch_start(k->c, wp, true, r->revision + 1, watched, k, &k->w)) {
		k->w = NULL;
		k->need_list = true;
		k->next_list_ms = mono_ms() + 1000;
	}
	k->remote_dirty = true; /* commits only if something differs */
	apply_remote(k);
	if (k->publish_dirty)
		publish(k);
}

static void start_list(struct netsegd_cluster *k)
{
	if (k->listing)
		return;
	k->need_list = false;
	k->listing = true;
	if (netseg_etcd_list(k->c, k->prefix, 0, listed, k)) {
		k->listing = false;
		k->need_list = true;
		k->next_list_ms = mono_ms() + 1000;
	}
}

/* ----------------------------------------------------------------- loop */

int netsegd_cluster_open(struct netsegd *d)
{
	const struct netsegd_cluster_conf *cf = &d->cfg.cluster;
	const char *urls[NETSEGD_MAX_ETCD];
	struct netseg_etcd_opts o = { .endpoints = urls };
	struct netsegd_cluster *k;
	char why[NETSEG_ETCD_MSG_MAX];
	int r;

	if (!cf->n_etcd)
		return 0;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (unsigned int i = 0; i < cf->n_etcd; i++)
		urls[i] = cf->etcd[i];
	o.n_endpoints = cf->n_etcd;
	/* A request may not outlive the lease it keeps alive. */
	o.request_timeout_ms = cf->lease_ttl * 1000 / 3 < 5000 ? cf->lease_ttl * 1000 / 3 : 5000;
	if (o.request_timeout_ms < 1000)
		o.request_timeout_ms = 1000;
	o.connect_timeout_ms = 1000;
	o.backoff_max_ms = 2000;
	r = netseg_etcd_new(&o, &k->c, why, sizeof(why));
	if (r) {
		pr_err("cluster: couldn't start the etcd client: %s", why);
		free(k);
		return r;
	}
	k->d = d;
	snprintf(k->prefix, sizeof(k->prefix), "%s/", cf->prefix[1] ? cf->prefix : "");
	snprintf(k->ep_prefix, sizeof(k->ep_prefix), "%sendpoints/", k->prefix);
	snprintf(k->node_prefix, sizeof(k->node_prefix), "%snodes/", k->prefix);
	snprintf(k->own_eps, sizeof(k->own_eps), "%s%s/", k->ep_prefix, d->cfg.node_name);
	snprintf(k->node_key, sizeof(k->node_key), "%s%s", k->node_prefix, d->cfg.node_name);
	d->cluster = k;
	d->k8s.pods_committed = netsegd_cluster_pods_changed;
	grant(k);
	start_list(k);
	pr_info("cluster: node %s, store %s, prefix %s, lease TTL %u s", d->cfg.node_name,
		cf->etcd[0], cf->prefix, cf->lease_ttl);
	return 0;
}

int netsegd_cluster_fd(const struct netsegd *d)
{
	return d->cluster ? netseg_etcd_fd(d->cluster->c) : -1;
}

void netsegd_cluster_run(struct netsegd *d)
{
	int r;

	if (!d->cluster)
		return;
	r = netseg_etcd_perform(d->cluster->c);
	if (r)
		pr_err("cluster: the etcd client failed: %s", strerror(-r));
}

void netsegd_cluster_tick(struct netsegd *d)
{
	struct netsegd_cluster *k = d->cluster;
	__u64 now = mono_ms();

	if (!k)
		return;
	if (!k->lease && !k->granting && now >= k->next_grant_ms)
		grant(k);
	if (k->lease && !k->keepalive_busy && now >= k->next_keepalive_ms) {
		k->next_keepalive_ms = now + d->cfg.cluster.lease_ttl * 1000 / 3;
		k->keepalive_busy = true;
		if (netseg_etcd_lease_keepalive(k->c, k->lease, kept_alive, k))
			k->keepalive_busy = false;
	}
	if (k->need_list && !k->listing && !k->w && now >= k->next_list_ms)
		start_list(k);
	apply_remote(k);
	/* Also catches a change of the node's own addresses. */
	publish(k);
}

void netsegd_cluster_close(struct netsegd *d)
{
	struct netsegd_cluster *k = d->cluster;
	struct netseg_etcd_sync s = { 0 };

	if (!k)
		return;
	if (k->w)
		netseg_etcd_watch_stop(k->w);
	/*
	 * The lease is not revoked: a stop is most often a restart (an
	 * upgrade), and the other nodes keep enforcing this node's pods by
	 * identity until the lease runs out, by when the restarted daemon has
	 * published them again under a new one.  A node taken away for good
	 * leaves the others after lease_ttl.
	 */
	(void)s;
	netseg_etcd_free(k->c);
	flight_clear(k);
	pubs_clear(k);
	free(k->pubs);
	while (k->nreps)
		rep_remove(k, &k->reps[0]);
	free(k->reps);
	free(k->nodes);
	free(k);
	d->cluster = NULL;
	d->k8s.pods_committed = NULL;
}

/* ------------------------------------------------------------ node.list */

static size_t node_eps(const struct netsegd_cluster *k, const char *node)
{
	size_t n = 0;

	for (size_t i = 0; i < k->nreps; i++)
		n += !strcmp(k->reps[i].node, node);
	return n;
}

static cJSON *node_json(const char *name, const char *addrs, size_t eps, double seen,
			int64_t applied, bool self)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "addresses", addrs);
	cJSON_AddNumberToObject(o, "endpoints", eps);
	cJSON_AddNumberToObject(o, "last_seen_s", seen);
	cJSON_AddNumberToObject(o, "applied", applied);
	cJSON_AddBoolToObject(o, "self", self);
	return o;
}

cJSON *netsegd_cluster_nodes_json(const struct netsegd *d)
{
	const struct netsegd_cluster *k = d->cluster;
	cJSON *o = cJSON_CreateObject(), *arr;
	__u64 now = mono_ms();
	char addrs[256] = "";
	size_t mine = 0;

	if (!o)
		return NULL;
	if (!k) {
		cJSON_AddBoolToObject(o, "cluster", false);
		cJSON_AddArrayToObject(o, "nodes");
		return o;
	}
	cJSON_AddBoolToObject(o, "cluster", true);
	cJSON_AddStringToObject(o, "store", netseg_etcd_endpoint(k->c));
	cJSON_AddBoolToObject(o, "reachable", !k->unreachable);
	if (k->last_err[0])
		cJSON_AddStringToObject(o, "error", k->last_err);
	cJSON_AddNumberToObject(o, "lease", (double)k->lease);
	cJSON_AddNumberToObject(o, "applied", (double)k->applied);
	cJSON_AddNumberToObject(o, "txns", k->txns);
	cJSON_AddNumberToObject(o, "puts", k->puts);
	cJSON_AddNumberToObject(o, "deletes", k->deletes);
	cJSON_AddNumberToObject(o, "lists", k->lists);
	cJSON_AddNumberToObject(o, "commits", k->commits);
	cJSON_AddNumberToObject(o, "bad_values", k->bad_values);
	arr = cJSON_AddArrayToObject(o, "nodes");
	for (size_t i = 0; i < k->npubs; i++)
		mine += strcmp(k->pubs[i].key, k->node_key) != 0;
	{
		const struct pub *p = NULL;

		for (size_t i = 0; i < k->npubs && !p; i++)
			if (!strcmp(k->pubs[i].key, k->node_key))
				p = &k->pubs[i];
		if (p && p->value) {
			cJSON *v = cJSON_Parse(p->value), *it;
			size_t off = 0;

			cJSON_ArrayForEach(it, cJSON_GetObjectItem(v, "addresses"))
				if (cJSON_IsString(it) && off < sizeof(addrs))
					off += snprintf(addrs + off, sizeof(addrs) - off, "%s%s",
							off ? ", " : "", it->valuestring);
			cJSON_Delete(v);
		}
	}
	cJSON_AddItemToArray(arr, node_json(d->cfg.node_name, addrs, mine,
					    k->lease ? (now - k->keepalive_ok_ms) / 1000.0 : -1,
					    k->applied, true));
	for (size_t i = 0; i < k->nnodes; i++)
		cJSON_AddItemToArray(arr, node_json(k->nodes[i].name, k->nodes[i].addrs,
						    node_eps(k, k->nodes[i].name),
						    (now - k->nodes[i].seen_ms) / 1000.0,
						    k->nodes[i].applied, false));
	return o;
}
