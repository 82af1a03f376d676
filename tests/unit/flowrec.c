// SPDX-License-Identifier: GPL-2.0-only
/*
 * The flow-record model: events and conntrack entries into records —
 * realtime offset, direction per hook and interface kind, the CT key's
 * originator, ICMP, names from callbacks (and their absence), UTF-8
 * repair and truncation, loss reports.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "flowrec.h"
#include "tap.h"

#define T0 1784800815123456789ULL /* 2026-07-23T10:00:15.123456789Z */

static const char *long_name;

static int ident(void *ctx, __u32 id, char *buf, size_t len)
{
	switch (id) {
	case 300:
		snprintf(buf, len, "frontend");
		return 0;
	case 301:
		snprintf(buf, len, "%s", long_name);
		return 0;
	case 302:
		snprintf(buf, len, "bad\xff\xc0\xafutf8\xed\xa0\x80!");
		return 0;
	}
	return -ENOENT;
}

static int iface(void *ctx, __u32 ifindex, char *buf, size_t len)
{
	snprintf(buf, len, ifindex == 9 ? "eth0" : "veth-fe");
	return ifindex == 9 ? NETSEG_IFK_UPLINK : NETSEG_IFK_ENDPOINT;
}

static int rule(void *ctx, __u32 id, char *text, size_t tlen, char *comment, size_t clen)
{
	if (id != 42)
		return -ENOENT;
	snprintf(text, tlen, "deny * -> db");
	snprintf(comment, clen, "nobody talks to db");
	return 0;
}

static const struct netseg_flow_names names = {
	.identity = ident,
	.iface = iface,
	.rule = rule,
	.node = "node-7",
};

static struct netseg_event tcp_event(__u8 type, __u8 hook, __u32 ifindex)
{
	struct netseg_event ev = {
		.ts_ns = 1000,
		.flow_id = 0xabcdef0123456789ULL,
		.type = type,
		.hook = hook,
		.family = NETSEG_AF_INET,
		.proto = IPPROTO_TCP,
		.tcp_flags = 0x02,
		.ifindex = ifindex,
		.rule_id = 42,
		.src_id = 300,
		.dst_id = NETSEG_ID_WORLD,
		.pkt_len = 60,
		.sport = htons(51514),
		.dport = htons(5432),
	};

	inet_pton(AF_INET, "198.18.1.2", ev.saddr);
	inet_pton(AF_INET, "198.18.3.2", ev.daddr);
	return ev;
}

static void test_event(void)
{
	struct netseg_event ev = tcp_event(NETSEG_EV_DENY, NETSEG_HOOK_TC_INGRESS, 5);
	struct netseg_flowrec r;

	ev.reason = NETSEG_REASON_POLICY;
	if (!is_int(netseg_flowrec_from_event(&ev, T0 - 1000, &names, &r), 0, "deny event"))
		return;
	is_int(r.kind, NETSEG_FLOW_DENIED, "kind denied");
	ok(r.time_ns == T0, "realtime offset added to ktime");
	ok(r.flow_id == 0xabcdef0123456789ULL, "flow id kept");
	is_str(r.reason, "policy", "reason by name");
	is_int(r.reason_code, NETSEG_REASON_POLICY, "reason code kept");
	is_str(r.saddr, "198.18.1.2", "source address as text");
	is_str(r.daddr, "198.18.3.2", "destination address as text");
	ok(r.has_ports && r.sport == 51514 && r.dport == 5432, "ports in host order");
	ok(!r.has_icmp, "no ICMP on TCP");
	is_int(r.tcp_flags[0], 0x02, "TCP flags of the packet");
	is_str(r.src_name, "frontend", "source identity named by the callback");
	is_str(r.dst_name, "world", "reserved identity named without the callback");
	is_str(r.ifname, "veth-fe", "interface named");
	is_str(r.node, "node-7", "node name");
	ok(r.has_rule && r.rule_id == 42, "rule 42");
	is_str(r.rule, "deny * -> db", "rule text");
	is_str(r.comment, "nobody talks to db", "rule comment");
	is_int(r.pkt_len, 60, "packet length");

	ev.type = NETSEG_EV_FLOW_START;
	netseg_flowrec_from_event(&ev, 0, &names, &r);
	ok(r.kind == NETSEG_FLOW_ALLOWED && !r.history_only, "flow-start: allowed, for the sinks");
	ev.type = NETSEG_EV_FLOW_SEEN;
	ok(!netseg_flowrec_from_event(&ev, 0, &names, &r) && r.kind == NETSEG_FLOW_ALLOWED &&
		   r.history_only && r.rule_id == 42 && r.sport == 51514,
	   "an unlogged flow start: an allowed record, for the history only");
	ev.type = 9;
	is_int(netseg_flowrec_from_event(&ev, 0, &names, &r), -EINVAL,
	       "unknown event type refused");
}

static void test_directions(void)
{
	static const struct {
		__u8 hook;
		__u32 ifindex; /* 9 = uplink, 5 = endpoint, 0 = none */
		__u8 dir;
		const char *what;
	} t[] = {
		{ NETSEG_HOOK_TC_INGRESS, 5, NETSEG_FLOW_DIR_EGRESS,
		  "tc ingress on a pod veth: egress" },
		{ NETSEG_HOOK_TC_EGRESS, 5, NETSEG_FLOW_DIR_INGRESS,
		  "tc egress on a pod veth: ingress" },
		{ NETSEG_HOOK_TC_INGRESS, 9, NETSEG_FLOW_DIR_INGRESS,
		  "tc ingress on an uplink: ingress" },
		{ NETSEG_HOOK_TC_EGRESS, 9, NETSEG_FLOW_DIR_EGRESS,
		  "tc egress on an uplink: egress" },
		{ NETSEG_HOOK_XDP, 9, NETSEG_FLOW_DIR_INGRESS, "xdp: ingress" },
		{ NETSEG_HOOK_CG_INGRESS, 0, NETSEG_FLOW_DIR_INGRESS, "cgroup ingress: ingress" },
		{ NETSEG_HOOK_CG_EGRESS, 0, NETSEG_FLOW_DIR_EGRESS, "cgroup egress: egress" },
		{ 0, 5, NETSEG_FLOW_DIR_UNKNOWN, "no hook: unknown" },
	};
	struct netseg_flowrec r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct netseg_event ev = tcp_event(NETSEG_EV_FLOW_START, t[i].hook, t[i].ifindex);

		netseg_flowrec_from_event(&ev, 0, &names, &r);
		is_int(r.dir, t[i].dir, "%s", t[i].what);
	}
	is_str(netseg_hook_name(NETSEG_HOOK_CG_EGRESS), "cgroup-egress", "hook name");
	is_str(netseg_hook_name(77), "unknown", "unknown hook name");
	/* The other spellings of lib/hook.h: pins a restarted daemon must find
	 * again, and the control protocol's attach state. */
	is_str(netseg_hook_pin_name(NETSEG_HOOK_CG_EGRESS), "cg-egress", "hook pin name");
	is_int(netseg_hook_by_pin_prefix("tc-egress-12"), NETSEG_HOOK_TC_EGRESS,
	       "a link pin's hook");
	is_int(netseg_hook_by_pin_prefix("tc-egressX"), -1, "no hook without the '-'");
	is_str(netseg_hook_attached_name(NETSEG_HOOK_CG_INGRESS), "cgroup_skb/ingress",
	       "attach state name");
}

static void test_no_names(void)
{
	struct netseg_event ev = tcp_event(NETSEG_EV_DENY, NETSEG_HOOK_XDP, 9);
	struct netseg_flowrec r;

	ev.rule_id = 0;
	ev.reason = NETSEG_REASON_DEFAULT_DENY;
	ev.src_id = 777;
	netseg_flowrec_from_event(&ev, 0, NULL, &r);
	is_str(r.src_name, "", "no callbacks: no identity name");
	is_str(r.dst_name, "world", "no callbacks: reserved names still known");
	is_str(r.ifname, "", "no callbacks: no interface name");
	is_int(r.dir, NETSEG_FLOW_DIR_INGRESS, "no callbacks: xdp is still ingress");
	ok(r.has_rule && r.rule_id == 0, "default deny counts as the deciding rule");
	is_str(r.rule, "default-deny", "default deny named");

	ev.reason = NETSEG_REASON_MALFORMED;
	ev.src_id = ev.dst_id = 0;
	ev.family = 0;
	netseg_flowrec_from_event(&ev, 0, &names, &r);
	ok(!r.has_rule, "malformed: no rule decided");
	is_str(r.reason, "malformed", "malformed reason");
	is_int(r.reason_code, NETSEG_REASON_MALFORMED, "malformed reason code");
	ok(!r.family && !r.saddr[0] && !r.has_ports, "unparsed packet: no addresses or ports");
	ok(!r.src_name[0] && !r.dst_name[0], "identity 0 is no identity");
}

static void test_utf8(void)
{
	char big[400], out[16];
	struct netseg_event ev = tcp_event(NETSEG_EV_AUDIT, NETSEG_HOOK_TC_INGRESS, 5);
	struct netseg_flowrec r;
	size_t i;

	/* 100 x "é" (2 bytes each): must be cut between characters. */
	for (i = 0; i < 100; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	big[200] = '\0';
	long_name = big;
	ev.dst_id = 301;
	netseg_flowrec_from_event(&ev, 0, &names, &r);
	is_int(strlen(r.dst_name), 62, "long name cut to 62 bytes: 31 whole characters");
	ok(!memcmp(r.dst_name, big, 62), "the kept part is unchanged");

	ev.dst_id = 302;
	netseg_flowrec_from_event(&ev, 0, &names, &r);
	is_str(r.dst_name,
	       "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdutf8\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!",
	       "invalid byte, overlong and surrogate each byte -> U+FFFD");

	is_int(netseg_utf8_copy(out, sizeof(out), "caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80", 13),
	       13, "valid 2-, 3- and 4-byte sequences kept");
	is_str(out, "caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80", "byte for byte");
	is_int(netseg_utf8_copy(out, sizeof(out), "a\0b", 3), 5, "NUL inside the length -> U+FFFD");
	is_int(netseg_utf8_copy(out, sizeof(out), "\xf4\x90\x80\x80", 4), 12,
	       "beyond U+10FFFF: four replacements");
	is_int(netseg_utf8_copy(out, 4, "ab\xe2\x82\xac", 5), 2,
	       "a character that doesn't fit is dropped");
	is_int(netseg_utf8_copy(out, sizeof(out), "a\xc3", 2), 4, "truncated sequence replaced");
}

static void test_icmp(void)
{
	struct netseg_event ev = tcp_event(NETSEG_EV_FLOW_START, NETSEG_HOOK_TC_INGRESS, 5);
	struct netseg_flowrec r;

	ev.proto = IPPROTO_ICMP;
	ev.icmp_type = 8;
	ev.icmp_code = 0;
	ev.sport = ev.dport = htons(1234); /* echo id */
	netseg_flowrec_from_event(&ev, 0, &names, &r);
	ok(r.has_icmp && !r.has_ports, "icmp: type/code, no ports");
	is_int(r.icmp_type, 8, "icmp type");
	is_int(r.tcp_flags[0], 0, "no TCP flags on ICMP");
}

static void test_ct(void)
{
	struct netseg_ct_key k = { .proto = IPPROTO_TCP, .family = NETSEG_AF_INET6 };
	struct netseg_ct_entry e = {
		.created_ns = 1000,
		.last_seen_ns = 1000 + 184750000000ULL,
		.flow_id = 123,
		.packets = { 12, 10 },
		.bytes = { 1840, 9120 },
		.src_id = 300,
		.dst_id = 2,
		.rule_id = 42,
		.ifindex = 5,
		.verdict = NETSEG_VERDICT_ALLOW,
		.tcp_flags = { 0x1b, 0x12 },
		.hook = NETSEG_HOOK_TC_INGRESS,
		.flags = NETSEG_CTF_ORIG_IS_B,
	};
	struct netseg_flowrec r;

	inet_pton(AF_INET6, "fd00::1", k.a_addr);
	inet_pton(AF_INET6, "fd00::2", k.b_addr);
	k.a_port = htons(443);
	k.b_port = htons(51600);
	if (!is_int(netseg_flowrec_from_ct(&k, &e, T0 - 1000, &names, &r), 0, "end record"))
		return;
	is_int(r.kind, NETSEG_FLOW_END, "kind end");
	is_str(r.saddr, "fd00::2", "ORIG_IS_B: src is the key's b");
	is_int(r.sport, 51600, "ORIG_IS_B: sport is b's port");
	is_str(r.daddr, "fd00::1", "dst is the key's a");
	is_int(r.dport, 443, "dport is a's port");
	ok(r.start_ns == T0, "start = creation, realtime");
	ok(r.time_ns == T0 + 184750000000ULL, "time = last packet seen");
	ok(r.duration_ns == 184750000000ULL, "duration");
	ok(r.packets[0] == 12 && r.bytes[1] == 9120, "counters per direction");
	ok(r.tcp_flags[0] == 0x1b && r.tcp_flags[1] == 0x12, "TCP flags per direction");
	is_int(r.flow_verdict, NETSEG_VERDICT_ALLOW, "flow verdict");
	is_str(r.reason, "", "an allowed flow has no reason");
	is_int(r.dir, NETSEG_FLOW_DIR_EGRESS, "direction from the hook that created it");
	is_int(r.node_dir, netseg_flow_node_dir(e.src_id, e.dst_id, e.hook),
	       "the flow's direction to the node, from its identities");
	{
		struct netseg_ct_entry w = e;

		w.src_id = NETSEG_ID_WORLD;
		w.dst_id = 301;
		w.hook = NETSEG_HOOK_TC_EGRESS; /* logged at the destination's hook */
		netseg_flowrec_from_ct(&k, &w, 0, &names, &r);
		is_int(r.node_dir, NETSEG_NODE_DIR_INBOUND, "world -> pod end record: inbound");
		w.hook = NETSEG_HOOK_TC_INGRESS;
		netseg_flowrec_from_ct(&k, &w, 0, &names, &r);
		is_int(r.node_dir, NETSEG_NODE_DIR_INBOUND, "... the same at the other hook");
	}

	e.flags = 0;
	netseg_flowrec_from_ct(&k, &e, 0, &names, &r);
	is_str(r.saddr, "fd00::1", "originator a: src is a");
	is_int(r.sport, 443, "originator a: sport is a's port");

	e.verdict = NETSEG_VERDICT_DENY;
	e.reason = NETSEG_REASON_POLICY;
	netseg_flowrec_from_ct(&k, &e, 0, &names, &r);
	is_str(r.reason, "policy", "a flow cut by policy keeps its reason");

	k.proto = IPPROTO_ICMPV6;
	netseg_flowrec_from_ct(&k, &e, 0, &names, &r);
	ok(r.has_icmp && !r.has_ports && r.icmp_type == 128, "tracked ICMPv6 is an echo request");
	k.proto = IPPROTO_ICMP;
	k.icmp_type = 13;
	netseg_flowrec_from_ct(&k, &e, 0, &names, &r);
	ok(r.has_icmp && r.icmp_type == 13,
	   "a timestamp flow ends as a timestamp request (key's type)");
	k.proto = IPPROTO_ICMPV6;
	k.icmp_type = 0;
	ok(!r.tcp_flags[0] && !r.tcp_flags[1], "no TCP flags outside TCP");

	k.family = 0;
	is_int(netseg_flowrec_from_ct(&k, &e, 0, &names, &r), -EINVAL,
	       "key without family refused");
}

static void test_lost(void)
{
	struct netseg_flowrec r;

	netseg_flowrec_lost(&r, T0, 5, 6, 7, "node-7");
	is_int(r.kind, NETSEG_FLOW_LOST, "lost record");
	ok(r.lost_ring == 5 && r.lost_rate == 6 && r.lost_queue == 7, "loss counts");
	is_str(r.node, "node-7", "node");
	is_str(netseg_flowrec_kind_name(NETSEG_FLOW_LOST), "lost", "kind name");
	ok(!netseg_flowrec_kind_name(0), "no name for kind 0");
}

static void test_rfc3339(void)
{
	char t[NETSEG_RFC3339_MAX];

	netseg_rfc3339(t, sizeof(t), T0, 9);
	is_str(t, "2026-07-23T10:00:15.123456789Z", "9 digits");
	netseg_rfc3339(t, sizeof(t), T0, 3);
	is_str(t, "2026-07-23T10:00:15.123Z", "3 digits, truncated not rounded");
	netseg_rfc3339(t, sizeof(t), T0, 0);
	is_str(t, "2026-07-23T10:00:15Z", "no fraction");
	is_int(netseg_rfc3339(t, 10, T0, 6), -ENOSPC, "short buffer");
	is_int(netseg_rfc3339(t, sizeof(t), T0, 10), -EINVAL, "10 digits refused");
}

int main(void)
{
	test_event();
	test_directions();
	test_no_names();
	test_utf8();
	test_icmp();
	test_ct();
	test_lost();
	test_rfc3339();
	return tap_done();
}
