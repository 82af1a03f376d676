// SPDX-License-Identifier: GPL-2.0-only
/*
 * The flow-record model: ring-buffer events and conntrack entries become
 * struct netseg_flowrec, with names looked up once and every string made
 * valid UTF-8 here, so that no formatter has to think about it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "datapath.h"
#include "flowrec.h"
#include "identity.h"
#include "proto.h"
#include "text.h"

size_t netseg_utf8_copy(char *dst, size_t size, const char *src, size_t len)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0;

	while (i < len) {
		size_t k = netseg_utf8_seq(s + i, len - i);
		const char *from = k ? src + i : repl;
		size_t n = k ? k : 3;

		if (o + n + 1 > size)
			break;
		memcpy(dst + o, from, n);
		o += n;
		i += k ? k : 1;
	}
	dst[o] = '\0';
	return o;
}

static void set_text(char *dst, size_t size, const char *src)
{
	netseg_utf8_copy(dst, size, src, src ? strlen(src) : 0);
}

__s64 netseg_realtime_offset_ns(void)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &rt);
	return ((__s64)rt.tv_sec - mono.tv_sec) * (__s64)NETSEG_NSEC +
	       ((__s64)rt.tv_nsec - mono.tv_nsec);
}

const char *netseg_flowrec_kind_name(int kind)
{
	switch (kind) {
	case NETSEG_FLOW_ALLOWED:
		return "allowed";
	case NETSEG_FLOW_DENIED:
		return "denied";
	case NETSEG_FLOW_AUDIT:
		return "audit";
	case NETSEG_FLOW_END:
		return "end";
	case NETSEG_FLOW_LOST:
		return "lost";
	}
	return NULL;
}

const char *netseg_flow_proto_name(int proto)
{
	return netseg_proto_iana_name(proto);
}

/*
 * The hook says where the packet was, the interface kind whose side that
 * is: TC ingress on a pod's veth sees what the pod sends (its egress), TC
 * ingress on an uplink what arrives for the node.  XDP only runs on
 * uplinks; cgroup hooks are the endpoint's own.
 */
static __u8 hook_dir(int hook, int ifkind)
{
	bool uplink = ifkind == NETSEG_IFK_UPLINK;

	switch (hook) {
	case NETSEG_HOOK_XDP:
	case NETSEG_HOOK_CG_INGRESS:
		return NETSEG_FLOW_DIR_INGRESS;
	case NETSEG_HOOK_CG_EGRESS:
		return NETSEG_FLOW_DIR_EGRESS;
	case NETSEG_HOOK_TC_INGRESS:
		return uplink ? NETSEG_FLOW_DIR_INGRESS : NETSEG_FLOW_DIR_EGRESS;
	case NETSEG_HOOK_TC_EGRESS:
		return uplink ? NETSEG_FLOW_DIR_EGRESS : NETSEG_FLOW_DIR_INGRESS;
	}
	return NETSEG_FLOW_DIR_UNKNOWN;
}

enum side { SIDE_UNKNOWN, SIDE_HOST, SIDE_ENDPOINT, SIDE_OUTSIDE };

static enum side side_of(__u32 id)
{
	if (id == NETSEG_ID_HOST)
		return SIDE_HOST;
	if (id == NETSEG_ID_WORLD || id >= NETSEG_ID_CIDR_MIN)
		return SIDE_OUTSIDE;
	if (id >= NETSEG_ID_USER_MIN)
		return SIDE_ENDPOINT;
	return SIDE_UNKNOWN;
}

/* The rule is spelled out at enum netseg_node_dir. */
int netseg_flow_node_dir(__u32 src_id, __u32 dst_id, int hook)
{
	enum side s = side_of(src_id), d = side_of(dst_id);

	if (hook == NETSEG_HOOK_XDP) {
		s = s == SIDE_UNKNOWN ? SIDE_OUTSIDE : s;
		d = d == SIDE_UNKNOWN ? SIDE_HOST : d;
	}
	if (s == SIDE_UNKNOWN || d == SIDE_UNKNOWN)
		return NETSEG_NODE_DIR_UNKNOWN;
	if (s == SIDE_OUTSIDE)
		return d == SIDE_OUTSIDE ? NETSEG_NODE_DIR_TRANSIT : NETSEG_NODE_DIR_INBOUND;
	if (d == SIDE_OUTSIDE)
		return NETSEG_NODE_DIR_OUTBOUND;
	if (s == SIDE_HOST && d == SIDE_HOST)
		return NETSEG_NODE_DIR_LOCAL;
	return NETSEG_NODE_DIR_LATERAL;
}

const char *netseg_node_dir_name(int node_dir)
{
	switch (node_dir) {
	case NETSEG_NODE_DIR_INBOUND:
		return "inbound";
	case NETSEG_NODE_DIR_OUTBOUND:
		return "outbound";
	case NETSEG_NODE_DIR_LATERAL:
		return "lateral";
	case NETSEG_NODE_DIR_LOCAL:
		return "local";
	case NETSEG_NODE_DIR_TRANSIT:
		return "transit";
	}
	return NULL;
}

static void set_identity(char *dst, __u32 id, const struct netseg_flow_names *nm)
{
	char tmp[256] = "";

	if (!id)
		return; /* untracked drops carry no identity */
	if (nm && nm->identity && !nm->identity(nm->ctx, id, tmp, sizeof(tmp))) {
		tmp[sizeof(tmp) - 1] = '\0';
		set_text(dst, NETSEG_FLOWREC_NAME_MAX, tmp);
		return;
	}
	if (id == NETSEG_ID_HOST)
		set_text(dst, NETSEG_FLOWREC_NAME_MAX, "host");
	else if (id == NETSEG_ID_WORLD)
		set_text(dst, NETSEG_FLOWREC_NAME_MAX, "world");
}

static void set_names(struct netseg_flowrec *r, const struct netseg_flow_names *nm)
{
	int kind = NETSEG_IFK_ENDPOINT;

	set_identity(r->src_name, r->src_id, nm);
	set_identity(r->dst_name, r->dst_id, nm);
	if (r->ifindex && nm && nm->iface) {
		char tmp[256] = "";
		int ret = nm->iface(nm->ctx, r->ifindex, tmp, sizeof(tmp));

		if (ret >= 0) {
			tmp[sizeof(tmp) - 1] = '\0';
			set_text(r->ifname, sizeof(r->ifname), tmp);
			kind = ret;
		}
	}
	r->dir = hook_dir(r->hook, kind);
	r->node_dir = netseg_flow_node_dir(r->src_id, r->dst_id, r->hook);
	if (nm && nm->node)
		set_text(r->node, sizeof(r->node), nm->node);

	r->has_rule = r->rule_id || r->reason_code == NETSEG_REASON_DEFAULT_DENY;
	if (r->rule_id && nm && nm->rule) {
		char text[NETSEG_FLOWREC_RULE_MAX] = "", comment[NETSEG_FLOWREC_COMMENT_MAX] = "";

		if (!nm->rule(nm->ctx, r->rule_id, text, sizeof(text), comment, sizeof(comment))) {
			text[sizeof(text) - 1] = comment[sizeof(comment) - 1] = '\0';
			set_text(r->rule, sizeof(r->rule), text);
			set_text(r->comment, sizeof(r->comment), comment);
		}
	} else if (!r->rule_id && r->has_rule) {
		set_text(r->rule, sizeof(r->rule), "default-deny");
	}
}

static void set_reason(struct netseg_flowrec *r, int reason)
{
	r->reason_code = reason;
	if (reason != NETSEG_REASON_NONE)
		set_text(r->reason, sizeof(r->reason), netseg_reason_name(reason));
}

static void set_addrs(struct netseg_flowrec *r, int family, const __u8 *saddr, const __u8 *daddr)
{
	int af = family == NETSEG_AF_INET ? AF_INET : AF_INET6;

	if (family != NETSEG_AF_INET && family != NETSEG_AF_INET6)
		return; /* malformed before the IP header was read */
	r->family = family;
	memcpy(r->saddr_raw, saddr, family == NETSEG_AF_INET ? 4 : 16);
	memcpy(r->daddr_raw, daddr, family == NETSEG_AF_INET ? 4 : 16);
	inet_ntop(af, r->saddr_raw, r->saddr, sizeof(r->saddr));
	inet_ntop(af, r->daddr_raw, r->daddr, sizeof(r->daddr));
}

static bool proto_has_ports(int proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

static bool proto_is_icmp(int proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

int netseg_flowrec_from_event(const struct netseg_event *ev, __s64 realtime_offset_ns,
			      const struct netseg_flow_names *names, struct netseg_flowrec *rec)
{
	memset(rec, 0, sizeof(*rec));
	switch (ev->type) {
	case NETSEG_EV_FLOW_START:
		rec->kind = NETSEG_FLOW_ALLOWED;
		break;
	case NETSEG_EV_FLOW_SEEN:
		rec->kind = NETSEG_FLOW_ALLOWED;
		rec->history_only = true;
		break;
	case NETSEG_EV_DENY:
		rec->kind = NETSEG_FLOW_DENIED;
		break;
	case NETSEG_EV_AUDIT:
		rec->kind = NETSEG_FLOW_AUDIT;
		break;
	default:
		return -EINVAL;
	}
	rec->time_ns = ev->ts_ns + realtime_offset_ns;
	rec->flow_id = ev->flow_id;
	rec->hook = ev->hook;
	rec->ifindex = ev->ifindex;
	rec->rule_id = ev->rule_id;
	rec->src_id = ev->src_id;
	rec->dst_id = ev->dst_id;
	rec->pkt_len = ev->pkt_len;
	rec->proto = ev->proto;
	rec->tcp_flags[0] = ev->proto == IPPROTO_TCP ? ev->tcp_flags : 0;
	set_reason(rec, ev->reason);
	set_addrs(rec, ev->family, ev->saddr, ev->daddr);
	if (rec->family && proto_has_ports(ev->proto)) {
		rec->has_ports = true;
		rec->sport = ntohs(ev->sport);
		rec->dport = ntohs(ev->dport);
	} else if (rec->family && proto_is_icmp(ev->proto)) {
		rec->has_icmp = true;
		rec->icmp_type = ev->icmp_type;
		rec->icmp_code = ev->icmp_code;
	}
	set_names(rec, names);
	return 0;
}

int netseg_flowrec_from_ct(const struct netseg_ct_key *key, const struct netseg_ct_entry *e,
			   __s64 realtime_offset_ns, const struct netseg_flow_names *names,
			   struct netseg_flowrec *rec)
{
	bool b = e->flags & NETSEG_CTF_ORIG_IS_B;
	const __u8 *saddr = b ? key->b_addr : key->a_addr;
	const __u8 *daddr = b ? key->a_addr : key->b_addr;

	memset(rec, 0, sizeof(*rec));
	if (key->family != NETSEG_AF_INET && key->family != NETSEG_AF_INET6)
		return -EINVAL;
	rec->kind = NETSEG_FLOW_END;
	rec->time_ns = e->last_seen_ns + realtime_offset_ns;
	rec->start_ns = e->created_ns + realtime_offset_ns;
	rec->duration_ns = e->last_seen_ns > e->created_ns ? e->last_seen_ns - e->created_ns : 0;
	rec->flow_id = e->flow_id;
	rec->flow_verdict = e->verdict;
	rec->hook = e->hook;
	rec->ifindex = e->ifindex;
	rec->rule_id = e->rule_id;
	rec->src_id = e->src_id;
	rec->dst_id = e->dst_id;
	rec->proto = key->proto;
	memcpy(rec->packets, e->packets, sizeof(rec->packets));
	memcpy(rec->bytes, e->bytes, sizeof(rec->bytes));
	if (key->proto == IPPROTO_TCP)
		memcpy(rec->tcp_flags, e->tcp_flags, sizeof(rec->tcp_flags));
	if (e->verdict != NETSEG_VERDICT_ALLOW)
		set_reason(rec, e->reason);
	set_addrs(rec, key->family, saddr, daddr);
	if (proto_has_ports(key->proto)) {
		rec->has_ports = true;
		rec->sport = ntohs(b ? key->b_port : key->a_port);
		rec->dport = ntohs(b ? key->a_port : key->b_port);
	} else if (proto_is_icmp(key->proto)) {
		/*
		 * Conntrack tracks ICMP queries only, opened by their request
		 * (abi.h: the key holds its type; echo when left 0).
		 */
		rec->has_icmp = true;
		rec->icmp_type = key->icmp_type		    ? key->icmp_type :
				 key->proto == IPPROTO_ICMP ? 8 :
							      128;
		rec->icmp_code = 0;
	}
	set_names(rec, names);
	return 0;
}

void netseg_flowrec_lost(struct netseg_flowrec *rec, __u64 time_ns, __u64 ring, __u64 rate,
			 __u64 queue, const char *node)
{
	memset(rec, 0, sizeof(*rec));
	rec->kind = NETSEG_FLOW_LOST;
	rec->time_ns = time_ns;
	rec->lost_ring = ring;
	rec->lost_rate = rate;
	rec->lost_queue = queue;
	set_text(rec->node, sizeof(rec->node), node);
}

int netseg_rfc3339(char *buf, size_t len, __u64 ns, int digits)
{
	time_t sec = (time_t)(ns / NETSEG_NSEC);
	__u64 frac = ns % NETSEG_NSEC;
	struct tm tm;
	size_t n;
	int i, m;

	if (digits < 0 || digits > 9 || !gmtime_r(&sec, &tm))
		return -EINVAL;
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!n)
		return -ENOSPC;
	for (i = digits; i < 9; i++)
		frac /= 10;
	if (digits)
		m = snprintf(buf + n, len - n, ".%0*llu", digits, (unsigned long long)frac);
	else
		m = 0;
	if (m < 0 || (size_t)m + 2 > len - n)
		return -ENOSPC;
	n += m;
	buf[n++] = 'Z';
	buf[n] = '\0';
	return n;
}
