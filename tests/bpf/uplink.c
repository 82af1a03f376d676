// SPDX-License-Identifier: GPL-2.0-only
/*
 * The uplink and the endpoint interfaces behind it, through the real XDP
 * and TC programs:
 *
 *  - anti-spoofing on the uplink: a packet arriving there (XDP, TC ingress)
 *    whose source is a local endpoint's address (learned on its interface)
 *    or one of the node's own is dropped as spoofed, v4 and v6, also when it
 *    would match a conntrack entry; a remote address of an endpoint
 *    identity (no interface here) and world addresses are not; the node's
 *    and the pods' packets leaving through the uplink (TC egress) are not;
 *  - a local entry wider than one address (a CIDR learned on an endpoint
 *    interface, or with the host identity) is as local as a host entry,
 *    also after the event settings are written again (the datapath asks
 *    the trie only when lib/datapath.c flags such an entry);
 *  - XDP on the uplink decides a known flow's packet for TC ingress and
 *    marks it (struct netseg_xdp_meta): counted and accounted once, at
 *    the current generation only; a new flow, a flow decided at an older
 *    generation and an interface that is no uplink get no mark;
 *  - conntrack entries and endpoints: an entry made where the destination
 *    resolved to the node (no endpoint) doesn't pass at a pod veth that
 *    enforces an endpoint; one that was decided for that pod does.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>

#include "bpfx.h"
#include "tap.h"

#define ID_FE 256  /* pod behind the veth ("frontend") */
#define ID_API 257 /* endpoint identity on another node: ipcache without ifindex */
#define IP_FE "198.18.9.1"
#define IP6_FE "fd00::9:1"
#define IP_API "198.18.9.2"
#define IP6_API "fd00::9:2"
#define IP_NODE "198.18.9.254"
#define IP6_NODE "fd00::9:fe"
#define IP_W "198.19.60.1" /* world */
#define IP6_W "fd00::60:1"

#define XDP NETSEG_HOOK_XDP
#define IN NETSEG_HOOK_TC_INGRESS
#define OUT NETSEG_HOOK_TC_EGRESS

#define T(af_, s, d, sp, dp, fl)                                                          \
	{                                                                                 \
		.af = (af_), .src = (s), .dst = (d), .proto = IPPROTO_TCP, .sport = (sp), \
		.dport = (dp), .tcp_flags = (fl)                                          \
	}
#define U(af_, s, d, sp, dp)                                                              \
	{                                                                                 \
		.af = (af_), .src = (s), .dst = (d), .proto = IPPROTO_UDP, .sport = (sp), \
		.dport = (dp)                                                             \
	}
#define SYN PKT_TCP_SYN
#define SPOOFED                                                             \
	.pass = false, .stat = NETSEG_REASON_SPOOFED, .ev = NETSEG_EV_DENY, \
	.reason = NETSEG_REASON_SPOOFED
#define ALLOWED(r, s, d) .pass = true, .stat = NETSEG_STAT_PASS, .rule = (r), .src = (s), .dst = (d)
#define XPASS .pass = true, .stat = NETSEG_STAT_PASS
#define DEFAULT(s, d)                                                            \
	.pass = false, .stat = NETSEG_REASON_DEFAULT_DENY, .ev = NETSEG_EV_DENY, \
	.reason = NETSEG_REASON_DEFAULT_DENY, .src = (s), .dst = (d)

static __u32 up, pod; /* ifindexes: the uplink, frontend's veth */

static void run(struct bpfx *x, struct bpfx_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bpfx_row_run(x, &rows[i], NULL);
}

/* A world host sending as frontend or as the node, on the uplink. */
static void check_spoof(struct bpfx *x)
{
	struct bpfx_row rows[] = {
		{ "uplink XDP: SYN 'from frontend' to api:443 -> spoofed",
		  T(4, IP_FE, IP_API, 40001, 443, SYN), XDP, up, SPOOFED },
		{ "uplink TC: SYN 'from frontend' to api:443 -> spoofed",
		  T(4, IP_FE, IP_API, 40001, 443, SYN), IN, up, SPOOFED },
		{ "uplink XDP: v6 'from frontend' to api:443 -> spoofed",
		  T(6, IP6_FE, IP6_API, 40002, 443, SYN), XDP, up, SPOOFED },
		{ "uplink TC: v6 'from frontend' to api:443 -> spoofed",
		  T(6, IP6_FE, IP6_API, 40002, 443, SYN), IN, up, SPOOFED },
		{ "uplink XDP: udp 'from frontend' to api:53 -> spoofed",
		  U(4, IP_FE, IP_API, 40003, 53), XDP, up, SPOOFED },
		{ "uplink TC: udp 'from frontend' to api:53 -> spoofed",
		  U(4, IP_FE, IP_API, 40003, 53), IN, up, SPOOFED },
		{ "uplink TC: v6 udp 'from frontend' to api:53 -> spoofed",
		  U(6, IP6_FE, IP6_API, 40003, 53), IN, up, SPOOFED },
		{ "uplink XDP: 'from the node' to api:8443 (host->api rule) -> spoofed",
		  T(4, IP_NODE, IP_API, 40004, 8443, SYN), XDP, up, SPOOFED },
		{ "uplink TC: 'from the node' to api:8443 -> spoofed",
		  T(4, IP_NODE, IP_API, 40004, 8443, SYN), IN, up, SPOOFED },
		{ "uplink XDP: v6 'from the node' to api:8443 -> spoofed",
		  T(6, IP6_NODE, IP6_API, 40005, 8443, SYN), XDP, up, SPOOFED },
		{ "uplink TC: v6 'from the node' to api:8443 -> spoofed",
		  T(6, IP6_NODE, IP6_API, 40005, 8443, SYN), IN, up, SPOOFED },
		/* Not spoofed. */
		{ "uplink TC: api's address (another node's pod) -> frontend:80 allowed",
		  T(4, IP_API, IP_FE, 40006, 80, SYN), IN, up, ALLOWED(3, ID_API, ID_FE) },
		{ "uplink XDP: a world host as itself -> api:443: default deny",
		  T(4, IP_W, IP_API, 40007, 443, SYN), XDP, up, DEFAULT(NETSEG_ID_WORLD, ID_API) },
		{ "uplink TC egress: frontend's packet leaving -> api:443 allowed",
		  T(4, IP_FE, IP_API, 40008, 443, SYN), OUT, up, ALLOWED(1, ID_FE, ID_API) },
		{ "uplink TC egress: the node's packet leaving -> api:8443 allowed",
		  T(6, IP6_NODE, IP6_API, 40009, 8443, SYN), OUT, up,
		  ALLOWED(2, NETSEG_ID_HOST, ID_API) },
		{ "lo (not an uplink): the node's address -> api:8443 allowed",
		  T(4, IP_NODE, IP_API, 40010, 8443, SYN), IN, 0,
		  ALLOWED(2, NETSEG_ID_HOST, ID_API) },
		{ "frontend's veth: frontend -> api:443 allowed",
		  T(4, IP_FE, IP_API, 40011, 443, SYN), IN, pod, ALLOWED(1, ID_FE, ID_API) },
		/* Before conntrack: no injecting into frontend's flow from outside. */
		{ "uplink TC: a packet of that flow 'from frontend' -> spoofed",
		  T(4, IP_FE, IP_API, 40011, 443, PKT_TCP_ACK), IN, up, SPOOFED, .keep_ct = true },
		{ "uplink XDP: a packet of that flow 'from frontend' -> spoofed",
		  T(4, IP_FE, IP_API, 40011, 443, PKT_TCP_ACK), XDP, up, SPOOFED, .keep_ct = true },
		{ "uplink TC: api's reply to frontend passes from conntrack",
		  T(4, IP_API, IP_FE, 443, 40011, SYN | PKT_TCP_ACK), IN, up, .pass = true,
		  .stat = NETSEG_STAT_CT_HIT, .keep_ct = true },
	};

	run(x, rows, ARRAY_LEN(rows));
}

/* Entries decided without frontend don't pass at its veth. */
static void check_cover(struct bpfx *x)
{
	struct bpfx_row rows[] = {
		{ "uplink TC: world -> frontend:80 allowed by rule 4",
		  T(4, IP_W, IP_FE, 41001, 80, SYN), IN, up, ALLOWED(4, NETSEG_ID_WORLD, ID_FE) },
		{ "...frontend's veth egress: that verdict was frontend's, passes from CT",
		  T(4, IP_W, IP_FE, 41001, 80, SYN), OUT, pod, .pass = true,
		  .stat = NETSEG_STAT_CT_HIT, .keep_ct = true },
		{ "...frontend's reply at its veth passes from CT",
		  T(4, IP_FE, IP_W, 80, 41001, SYN | PKT_TCP_ACK), IN, pod, .pass = true,
		  .stat = NETSEG_STAT_CT_HIT, .keep_ct = true },
		{ "uplink TC: world -> node:7000: no endpoint, passes",
		  T(4, IP_W, IP_NODE, 41002, 7000, SYN), IN, up, XPASS },
		{ "...the same flow at frontend's veth: frontend's default deny decides",
		  T(4, IP_W, IP_NODE, 41002, 7000, SYN), OUT, pod, DEFAULT(NETSEG_ID_WORLD, ID_FE),
		  .keep_ct = true },
		{ "v6 uplink TC: world -> node udp/7001: passes",
		  U(6, IP6_W, IP6_NODE, 41003, 7001), IN, up, XPASS },
		{ "...at frontend's veth: default deny", U(6, IP6_W, IP6_NODE, 41003, 7001), OUT,
		  pod, DEFAULT(NETSEG_ID_WORLD, ID_FE), .keep_ct = true },
		{ "uplink TC: world -> node:80: passes", T(4, IP_W, IP_NODE, 41004, 80, SYN), IN,
		  up, XPASS },
		{ "...at frontend's veth: decided again, rule 4 allows world -> frontend:80",
		  T(4, IP_W, IP_NODE, 41004, 80, SYN), OUT, pod, ALLOWED(4, NETSEG_ID_WORLD, ID_FE),
		  .keep_ct = true },
	};

	run(x, rows, ARRAY_LEN(rows));
}

static void add_cidr(struct bpfx *x, int af, const char *addr, int plen, __u32 id, __u32 ifindex)
{
	struct netseg_prefix p;
	__u8 a[16];

	if (pkt_addr(af, addr, a) ||
	    netseg_dp_ipcache_set(x->dp,
				  bpfx_prefix(&p, af == 6 ? NETSEG_AF_INET6 : NETSEG_AF_INET, a,
					      plen),
				  id, ifindex))
		bail("couldn't add %s/%d to the ipcache", addr, plen);
}

/* Local CIDRs: the host hash doesn't hold them, the spoof check must. */
static void check_local_cidr(struct bpfx *x)
{
	struct bpfx_row rows[] = {
		{ "uplink XDP: 'from' inside frontend's 198.18.12.0/24 -> spoofed",
		  T(4, "198.18.12.5", IP_API, 43001, 443, SYN), XDP, up, SPOOFED },
		{ "uplink TC: 'from' inside frontend's 198.18.12.0/24 -> spoofed",
		  T(4, "198.18.12.5", IP_API, 43001, 443, SYN), IN, up, SPOOFED },
		{ "uplink XDP: v6 'from' inside frontend's fd00:12::/64 -> spoofed",
		  T(6, "fd00:12::5", IP6_API, 43002, 443, SYN), XDP, up, SPOOFED },
		{ "uplink TC: 'from' inside the node's 198.18.13.0/24 -> spoofed",
		  T(4, "198.18.13.9", IP_API, 43003, 8443, SYN), IN, up, SPOOFED },
		{ "uplink XDP: a world host next to it (198.18.14.1) -> api:443: default deny",
		  T(4, "198.18.14.1", IP_API, 43004, 443, SYN), XDP, up,
		  DEFAULT(NETSEG_ID_WORLD, ID_API) },
	};

	add_cidr(x, 4, "198.18.12.0", 24, ID_FE, pod);
	add_cidr(x, 6, "fd00:12::", 64, ID_FE, pod);
	add_cidr(x, 4, "198.18.13.0", 24, NETSEG_ID_HOST, 0);
	/* The daemon writes the event settings whenever its config is
	 * reloaded: the flag the ipcache writes set must stay. */
	if (netseg_dp_config_set_events(x->dp, 1000000, 1000000, 0))
		bail("couldn't write the event settings");
	run(x, rows, ARRAY_LEN(rows));
}

/* An XDP run keeping what the program left before the frame. */
static int xdp_meta_run(struct bpfx *x, const struct pkt_flow *f, __u32 ifindex,
			struct netseg_xdp_meta *m, __u32 *metalen, __u32 *retval)
{
	struct xdp_md in = { .ingress_ifindex = ifindex }, out = {};
	__u8 buf[512];
	struct pkt p;
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &in, .ctx_size_in = sizeof(in), .ctx_out = &out,
		    .ctx_size_out = sizeof(out), .data_out = buf, .data_size_out = sizeof(buf));

	pkt_flow_build(&p, f);
	in.data_end = p.len;
	o.data_in = p.buf;
	o.data_size_in = p.len;
	if (bpf_prog_test_run_opts(netseg_dp_prog_fd(x->dp, XDP), &o))
		return -errno;
	*retval = o.retval;
	*metalen = out.data - out.data_meta;
	if (*metalen >= sizeof(*m))
		memcpy(m, buf, sizeof(*m));
	return 0;
}

static void check_xdp_meta(struct bpfx *x)
{
	struct pkt_flow req = T(4, IP_FE, IP_API, 44001, 443, SYN);
	struct pkt_flow rep = T(4, IP_API, IP_FE, 443, 44001, SYN | PKT_TCP_ACK);
	struct netseg_counter c0[NETSEG_STAT_MAX], c1[NETSEG_STAT_MAX];
	struct netseg_ct_entry e0, e1;
	struct netseg_xdp_meta m = {};
	struct netseg_config cfg;
	__u32 len = 0, ret = 0;
	struct bpfx_result r;
	struct pkt p;

	bpfx_ct_flush(x);
	pkt_flow_build(&p, &rep);
	if (!xdp_meta_run(x, &rep, up, &m, &len, &ret))
		ok(ret == XDP_DROP && len == 0,
		   "XDP: the reply before its request: dropped, no mark");
	pkt_flow_build(&p, &req);
	bpfx_send(x, IN, &p, pod, &r);
	bpfx_expect("frontend's SYN to api:443 at its veth: allowed", &r, true, NETSEG_STAT_PASS);
	bpfx_ct_get(x, &req, &e0);
	bpfx_counters(x, c0);
	netseg_dp_config_get(x->dp, &cfg);
	if (xdp_meta_run(x, &rep, up, &m, &len, &ret))
		bail("couldn't run XDP");
	bpfx_counters(x, c1);
	bpfx_ct_get(x, &req, &e1);
	ok(ret == XDP_PASS && len == sizeof(m) && m.magic == NETSEG_XDP_META_MAGIC &&
		   m.ifindex == up && m.generation == cfg.generation,
	   "XDP: the reply on the uplink passes with TC ingress's mark (ifindex, generation)");
	ok(c1[NETSEG_STAT_CT_HIT].packets - c0[NETSEG_STAT_CT_HIT].packets == 1 &&
		   c1[NETSEG_STAT_PASS].packets - c0[NETSEG_STAT_PASS].packets == 1 &&
		   c1[NETSEG_STAT_XDP_PASS].packets == c0[NETSEG_STAT_XDP_PASS].packets,
	   "  ... counted as TC ingress counts a conntrack hit");
	/* Its packet counters belong to the veth that made it (the owner). */
	ok(!(e0.flags & NETSEG_CTF_SEEN_REPLY) && (e1.flags & NETSEG_CTF_SEEN_REPLY) &&
		   e1.tcp_state == NETSEG_TCP_ESTABLISHED &&
		   e1.packets[NETSEG_DIR_REPLY] == e0.packets[NETSEG_DIR_REPLY],
	   "  ... and the entry saw the reply (established), as at TC ingress");
	if (!xdp_meta_run(x, &rep, pod, &m, &len, &ret))
		ok(len == 0, "XDP on frontend's veth (no uplink): no mark");
	if (netseg_dp_bump_generation(x->dp, NULL))
		bail("couldn't bump the generation");
	if (!xdp_meta_run(x, &rep, up, &m, &len, &ret))
		ok(ret == XDP_PASS && len == 0,
		   "XDP: after a generation change, no mark: TC ingress decides again");
}

int main(void)
{
	struct netseg_policy_entry rules[5];
	struct bpfx x;
	int u, p;

	bpfx_init(&x, "uplink");
	u = bpfx_veth("nsb-up", "nsb-up-p");
	p = bpfx_veth("nsb-fe", "nsb-fe-p");
	if (u < 0 || p < 0)
		bail("couldn't create veth pairs in the test namespace: %s",
		     strerror(-(u < 0 ? u : p)));
	up = u;
	pod = p;
	if (netseg_dp_uplink_set(x.dp, up) || netseg_dp_endpoint_set(x.dp, pod, ID_FE))
		bail("couldn't fill the interface map");
	bpfx_identity(&x, ID_FE, NETSEG_IDF_ENDPOINT);
	bpfx_identity(&x, ID_API, NETSEG_IDF_ENDPOINT);
	bpfx_host(&x, 4, IP_FE, ID_FE, pod);
	bpfx_host(&x, 6, IP6_FE, ID_FE, pod);
	bpfx_host(&x, 4, IP_API, ID_API, 0);
	bpfx_host(&x, 6, IP6_API, ID_API, 0);
	bpfx_host(&x, 4, IP_NODE, NETSEG_ID_HOST, 0);
	bpfx_host(&x, 6, IP6_NODE, NETSEG_ID_HOST, 0);
	rules[0] = bpfx_rule(ID_FE, ID_API, IPPROTO_TCP, 443, 16, NETSEG_VERDICT_ALLOW, 1, 0);
	rules[1] = bpfx_rule(NETSEG_ID_HOST, ID_API, IPPROTO_TCP, 8443, 16, NETSEG_VERDICT_ALLOW, 2,
			     0);
	rules[2] = bpfx_rule(ID_API, ID_FE, IPPROTO_TCP, 80, 16, NETSEG_VERDICT_ALLOW, 3, 0);
	rules[3] = bpfx_rule(NETSEG_ID_WORLD, ID_FE, IPPROTO_TCP, 80, 16, NETSEG_VERDICT_ALLOW, 4,
			     0);
	rules[4] = bpfx_rule(ID_FE, ID_API, IPPROTO_UDP, 53, 16, NETSEG_VERDICT_ALLOW, 5, 0);
	bpfx_policy(&x, rules, 5);

	check_spoof(&x);
	check_cover(&x);
	check_local_cidr(&x);
	check_xdp_meta(&x);

	/* Unmarked, the uplink is any interface: the forged source is believed. */
	netseg_dp_endpoint_del(x.dp, up);
	struct bpfx_row after = { "uplink unmarked: 'from frontend' is judged as frontend",
				  T(4, IP_FE, IP_API, 40020, 443, SYN), IN, up,
				  ALLOWED(1, ID_FE, ID_API) };
	bpfx_row_run(&x, &after, NULL);
	bpfx_fini(&x);
	return tap_done();
}
