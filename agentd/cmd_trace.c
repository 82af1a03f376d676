// SPDX-License-Identifier: GPL-2.0-only
/*
 * `trace SRC DST [PROTO/]PORT`: which rule decides a flow, from the rules
 * and identities in force, without sending traffic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>

#include "cmd.h"
#include "log.h"
#include "netsegd.h"

/* One side of a trace: the identity it resolved to, and how. */
struct trace_side {
	const char *input;
	__u32 id;
	char name[160];
	char how[192];
};

/* An address as the datapath resolves it: the ipcache's longest prefix
 * (pod IPs learned from netlink, CIDR identities, the node's own
 * addresses as host), else world. */
static void trace_addr(struct netsegd *d, int family, const __u8 *addr, struct trace_side *s)
{
	const struct netseg_ipent *e = netseg_iptable_lookup(&d->eps.ips, family, addr);
	const struct netseg_iddef *def;
	char ifname[IF_NAMESIZE], prefix[64], key[128];

	if (!e) {
		s->id = NETSEG_ID_WORLD;
		snprintf(s->how, sizeof(s->how), "no ipcache entry");
		return;
	}
	s->id = e->val.id;
	netseg_ipent_format(e, prefix, sizeof(prefix));
	def = netseg_id_by_id(&d->pol.ids, s->id);
	if (e->val.ifindex)
		snprintf(s->how, sizeof(s->how), "endpoint %s, ipcache %s",
			 if_indextoname(e->val.ifindex, ifname) ? ifname : "(gone)", prefix);
	else if (s->id == NETSEG_ID_HOST)
		snprintf(s->how, sizeof(s->how), "the node's own address, ipcache %s", prefix);
	else if (def && def->cidr_only)
		snprintf(s->how, sizeof(s->how), "CIDR identity, ipcache %s", prefix);
	else if (!def && netseg_prefix_is_host(&e->pfx) &&
		 !strncmp(netsegd_id_name(d, s->id, key, sizeof(key)), "pod:", 4))
		snprintf(s->how, sizeof(s->how), "another node's pod (cluster), ipcache %s",
			 prefix);
	else
		snprintf(s->how, sizeof(s->how), "CIDR of identity %s, ipcache %s",
			 def ? def->name : "?", prefix);
}

/* A name, a CIDR some identity is made of, or an address ("198.18.3.2",
 * "198.18.3.2/32", "fd00::1"); 0 or -ENOENT/-EINVAL with @err set. */
static int trace_resolve(struct netsegd *d, const char *sel, struct trace_side *s,
			 struct netseg_err *err)
{
	const struct netseg_iddef *def = netseg_id_by_name(&d->pol.ids, sel);
	struct netseg_resolver res;
	const char **names;
	char canon[NETSEG_PREFIX_STRLEN], buf[160];
	struct netseg_prefix p;
	struct netseg_err pe;
	__u8 addr[16] = {};
	int r;

	s->input = sel;
	s->how[0] = '\0';
	if (inet_pton(AF_INET, sel, addr) == 1) {
		trace_addr(d, NETSEG_AF_INET, addr, s);
	} else if (inet_pton(AF_INET6, sel, addr) == 1) {
		trace_addr(d, NETSEG_AF_INET6, addr, s);
	} else if (strchr(sel, '/')) {
		if (netseg_prefix_parse(sel, &p, &pe))
			return netseg_err_set(
				err, 0,
				"\"%s\" is not an address, a CIDR or an identity name (column %d: %s)",
				sel, pe.col, pe.msg);
		netseg_prefix_format(&p, canon, sizeof(canon));
		def = netseg_id_by_name(&d->pol.ids, canon);
		if (def) {
			s->id = def->id;
			snprintf(s->how, sizeof(s->how), "%s identity",
				 def->cidr_only ? "CIDR" : "named");
		} else if (netseg_prefix_is_host(&p)) {
			trace_addr(d, p.family, p.addr, s);
		} else {
			return netseg_err_set(
				err, 0,
				"%s is a range of addresses that may resolve to different identities; trace one address, or a CIDR a rule or identity names",
				canon);
		}
	} else if (!strcmp(sel, "*")) {
		return netseg_err_set(err, 0,
				      "trace needs one source and one destination, not \"*\"");
	} else {
		r = netsegd_resolver(d, &d->pol.ids, &res, &names);
		if (r)
			return netseg_err_set(err, 0, "out of memory");
		r = netseg_selector_resolve(&res, sel, &s->id);
		free(names);
		if (r)
			return netseg_err_set(err, 0,
					      "unknown identity \"%s\" (and not an address)", sel);
	}
	/* netsegd_id_name() returns the stored name, filling buf only for
	 * ids without one. */
	snprintf(s->name, sizeof(s->name), "%s", netsegd_id_name(d, s->id, buf, sizeof(buf)));
	return 0;
}

static cJSON *trace_side_json(const struct trace_side *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "input", s->input);
	cJSON_AddStringToObject(o, "identity", s->name);
	cJSON_AddNumberToObject(o, "id", s->id);
	cJSON_AddStringToObject(o, "resolved_by", s->how[0] ? s->how : "identity name");
	return o;
}

static __u32 trace_flags(struct netsegd *d, __u32 id)
{
	const struct netseg_iddef *def = netseg_id_by_id(&d->pol.ids, id);
	const struct netseg_k8s_compiled *c = &d->k8s.compiled;

	for (size_t i = 0; !def && i < c->nids; i++)
		if (c->ids[i].id == id)
			return c->ids[i].flags;
	return def ? netsegd_identity_flags(d, def) : 0;
}

static void trace_explain(const struct netseg_ref_decision *v, const struct trace_side *src,
			  const struct trace_side *dst, __u32 sf, __u32 df, const char *flow,
			  const char **reason, char *why, size_t len)
{
	if (!v->enforced) {
		*reason = "not-enforced";
		snprintf(why, len,
			 "neither %s nor %s is an endpoint (CIDR identities, world and host are not) and no rule matches: not enforced, only the XDP prefilter applies",
			 src->name, dst->name);
		return;
	}
	if (v->reason == NETSEG_REASON_NONE) {
		*reason = "rule";
		snprintf(why, len, "rule %u allows it and no deny rule matches", v->rule_id);
	} else if (v->reason == NETSEG_REASON_POLICY) {
		*reason = "policy";
		snprintf(why, len, "deny rule %u matches (deny beats allow)", v->rule_id);
	} else {
		*reason = "default-deny";
		snprintf(why, len,
			 "no rule allows %s -> %s %s; %s is an endpoint identity (default deny)",
			 src->name, dst->name, flow,
			 sf & NETSEG_IDF_ENDPOINT ? src->name : dst->name);
	}
	if (v->reason != NETSEG_REASON_NONE && v->verdict == NETSEG_VERDICT_AUDIT)
		strncat(why,
			"; every endpoint involved is in audit mode, so it is logged, not dropped",
			len - strlen(why) - 1);
}

cJSON *cmd_trace(struct netsegd *d, const cJSON *req, const struct netsegd_follower_io *io)
{
	const char *src = cmd_arg_str(req, "src"), *dst = cmd_arg_str(req, "dst");
	const char *proto = cmd_arg_str(req, "proto") ?: "tcp";
	const cJSON *port = cJSON_GetObjectItem(req, "port");
	const struct netseg_ruleset *rs;
	const struct netseg_rule *x;
	struct netseg_ref_decision v;
	struct netseg_resolver native, res;
	struct netseg_tuple t = {};
	struct netseg_err err = {};
	struct trace_side ss, ds;
	__u32 sf, df;
	const char **names;
	char why[768], rule[1024] = "", flow[32];
	const char *reason;
	cJSON *o;
	int p = netseg_proto_by_name(proto, strlen(proto)), r, n;

	if (!src || !dst || p < 0 ||
	    (port && (!cJSON_IsNumber(port) || port->valuedouble < 0 || port->valuedouble > 65535)))
		return netsegd_reply_error(
			"usage",
			"trace needs src, dst, a protocol (tcp, udp, sctp, icmp, icmpv6) and a port 0-65535");
	if (trace_resolve(d, src, &ss, &err) || trace_resolve(d, dst, &ds, &err))
		return netsegd_reply_error("rejected", "%s", err.msg);
	o = cmd_reply_ok();
	t.src_id = ss.id;
	t.dst_id = ds.id;
	t.proto = p;
	t.port = port ? (__u16)port->valuedouble : 0;
	snprintf(flow, sizeof(flow), "%s/%u", proto, t.port);
	if (p == IPPROTO_ICMP || p == IPPROTO_ICMPV6)
		t.port = (__u16)(t.port << 8); /* the type, any code */
	sf = trace_flags(d, ss.id);
	df = trace_flags(d, ds.id);
	/* With NetworkPolicies or pods, the compiler's rules are the ones in
	 * force: the native ones, their copies and the generated allows. */
	rs = d->k8s.compiled.rules.n ? &d->k8s.compiled.rules : &d->pol.rules;
	r = netsegd_resolver(d, &d->pol.ids, &native, &names);
	netseg_k8s_resolver(&native, &res);
	r = r ?: netseg_ref_decide(rs->rules, rs->n, &res, &t, sf, df, &v);
	free(names);
	if (r) {
		cJSON_Delete(o);
		return netsegd_reply_error("internal", "couldn't evaluate the rules: %s",
					   strerror(-r));
	}
	trace_explain(&v, &ss, &ds, sf, df, flow, &reason, why, sizeof(why));
	x = v.rule_id ? netsegd_rule_by_id(d, v.rule_id) : NULL;
	if (x) {
		n = snprintf(rule, sizeof(rule), "%s ", cmd_verdict_name(x->action));
		netseg_rule_format(x, rule + n, sizeof(rule) - n);
		if (x->id >= NETSEGD_K8S_RULE_MIN && x->comment[0])
			cJSON_AddStringToObject(o, "rule_comment", x->comment);
	}
	cJSON_AddStringToObject(o, "verdict", cmd_verdict_name(v.verdict));
	cJSON_AddBoolToObject(o, "enforced", v.enforced);
	cJSON_AddNumberToObject(o, "rule_id", v.rule_id);
	cJSON_AddStringToObject(o, "rule", rule);
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddStringToObject(o, "explanation", why);
	cJSON_AddItemToObject(o, "src", trace_side_json(&ss));
	cJSON_AddItemToObject(o, "dst", trace_side_json(&ds));
	return o;
}
