// SPDX-License-Identifier: GPL-2.0-only
/*
 * XDP's deny cache (bpf/classify.h: deny_cache_hit()): a packet with no
 * conntrack entry whose source, destination, protocol and policy port XDP
 * denied before is dropped from the cache, skipping identity and policy
 * lookups; a new source port hits too.  Its attack cases, through the
 * real XDP and TC programs:
 *
 *  - the reply of a flow a pod starts after the same tuple was denied
 *    (and cached) at XDP passes: conntrack comes first, v4, v6, UDP and
 *    ICMP echo;
 *  - a policy change allowing the flow lets its next packet through, and a
 *    deny rule added after a cached default deny is the one reported;
 *  - an identity change (ipcache + generation) decides the flow again;
 *  - an entry answers only the direction it was decided for: the other
 *    direction's packet is decided (and reported) as itself.
 */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "bpfx.h"
#include "tap.h"

#define ID_FE 256  /* pod behind the veth */
#define ID_API 257 /* endpoint identity on another node: no ifindex */
#define IP_FE "198.18.11.1"
#define IP6_FE "fd00::11:1"
#define IP_API "198.18.11.2"
#define IP_W "198.19.61.1" /* world */
#define IP6_W "fd00::61:1"
#define IP_W2 "198.19.61.2" /* world, later an ID_API address */

#define XDP NETSEG_HOOK_XDP
#define IN NETSEG_HOOK_TC_INGRESS

static __u32 up, pod; /* ifindexes: the uplink, frontend's veth */

static struct pkt_flow tcp(int af, const char *s, const char *d, __u16 sp, __u16 dp, __u8 fl)
{
	return (struct pkt_flow){ .af = af,
				  .src = s,
				  .dst = d,
				  .proto = IPPROTO_TCP,
				  .sport = sp,
				  .dport = dp,
				  .tcp_flags = fl };
}

static struct pkt_flow udp(int af, const char *s, const char *d, __u16 sp, __u16 dp)
{
	return (struct pkt_flow){ .af = af,
				  .src = s,
				  .dst = d,
				  .proto = IPPROTO_UDP,
				  .sport = sp,
				  .dport = dp };
}

static struct pkt_flow echo(const char *s, const char *d, __u16 id, __u8 type)
{
	return (struct pkt_flow){ .af = 4,
				  .src = s,
				  .dst = d,
				  .proto = IPPROTO_ICMP,
				  .sport = id,
				  .dport = id,
				  .icmp_type = type };
}

static void send_flow(struct bpfx *x, int hook, __u32 ifindex, const struct pkt_flow *f,
		      struct bpfx_result *r)
{
	struct pkt p;

	pkt_flow_build(&p, f);
	bpfx_send(x, hook, &p, ifindex, r);
}

/* A drop at XDP, from the cache (or not), with the event it must report. */
static void want_drop(struct bpfx *x, const char *desc, const struct pkt_flow *f, bool cached,
		      __u8 reason, __u32 rule, __u32 src, __u32 dst)
{
	struct bpfx_result r;

	send_flow(x, XDP, up, f, &r);
	if (!bpfx_expect(desc, &r, false, reason))
		return;
	is_int(r.delta[NETSEG_STAT_DENY_CACHED].packets, cached, "  ... %s the deny cache",
	       cached ? "from" : "not from");
	bpfx_expect_event(desc, &r, NETSEG_EV_DENY, reason, rule, src, dst);
}

/* Denied twice at XDP: decided, then from the cache. */
static void deny_twice(struct bpfx *x, const char *what, const struct pkt_flow *f, __u32 src)
{
	char desc[160];

	snprintf(desc, sizeof(desc), "%s: default deny at XDP", what);
	want_drop(x, desc, f, false, NETSEG_REASON_DEFAULT_DENY, 0, src, ID_FE);
	snprintf(desc, sizeof(desc), "%s again: dropped from the deny cache", what);
	want_drop(x, desc, f, true, NETSEG_REASON_DEFAULT_DENY, 0, src, ID_FE);
}

/*
 * The world peer's packet to frontend is denied and cached; then frontend
 * opens the same tuple from its veth; the peer's reply must pass XDP (on
 * to TC, which passes it from conntrack).
 */
static void reply_after_deny(struct bpfx *x, const char *what, struct pkt_flow req, int stat)
{
	struct pkt_flow rep = pkt_flow_reverse(&req);
	struct bpfx_result r;
	char desc[160];

	if (req.proto == IPPROTO_ICMP) {
		rep.icmp_type = 0; /* echo reply */
		rep.sport = rep.dport = req.sport;
	}
	deny_twice(x, what, &rep, NETSEG_ID_WORLD);
	send_flow(x, IN, pod, &req, &r);
	snprintf(desc, sizeof(desc), "%s: frontend opens the flow at its veth", what);
	bpfx_expect(desc, &r, true, stat);
	send_flow(x, XDP, up, &rep, &r);
	snprintf(desc, sizeof(desc), "%s: the peer's reply passes XDP, from conntrack", what);
	bpfx_expect(desc, &r, true, NETSEG_STAT_CT_HIT);
	send_flow(x, IN, up, &rep, &r);
	snprintf(desc, sizeof(desc), "%s: ... and TC, from conntrack", what);
	bpfx_expect(desc, &r, true, NETSEG_STAT_CT_HIT);
}

static void check_replies(struct bpfx *x)
{
	reply_after_deny(x, "tcp", tcp(4, IP_FE, IP_W, 40001, 80, PKT_TCP_SYN), NETSEG_STAT_PASS);
	reply_after_deny(x, "v6 tcp", tcp(6, IP6_FE, IP6_W, 40002, 80, PKT_TCP_SYN),
			 NETSEG_STAT_PASS);
	reply_after_deny(x, "udp", udp(4, IP_FE, IP_W, 40003, 53), NETSEG_STAT_PASS);
	reply_after_deny(x, "icmp echo", echo(IP_FE, IP_W, 0x4d4d, 8), NETSEG_STAT_PASS);
}

/* rules[0]: frontend may reach the world; the rest are each case's own. */
static struct netseg_policy_entry rules[4];

static void check_policy_change(struct bpfx *x)
{
	struct pkt_flow f = tcp(4, IP_W, IP_FE, 41001, 8080, PKT_TCP_SYN);
	struct pkt_flow g = tcp(4, IP_W, IP_FE, 41002, 9090, PKT_TCP_SYN);
	struct bpfx_result r;

	deny_twice(x, "world -> frontend:8080", &f, NETSEG_ID_WORLD);
	f.sport++;
	want_drop(x, "... from another source port: from the cache", &f, true,
		  NETSEG_REASON_DEFAULT_DENY, 0, NETSEG_ID_WORLD, ID_FE);
	deny_twice(x, "world -> frontend:9090", &g, NETSEG_ID_WORLD);
	rules[1] = bpfx_rule(NETSEG_ID_WORLD, ID_FE, IPPROTO_TCP, 8080, 16, NETSEG_VERDICT_ALLOW, 3,
			     0);
	rules[2] = bpfx_rule(NETSEG_ID_WORLD, ID_FE, IPPROTO_TCP, 9090, 16, NETSEG_VERDICT_DENY, 4,
			     0);
	bpfx_policy(x, rules, 3);
	send_flow(x, XDP, up, &f, &r);
	bpfx_expect("a rule now allows world -> frontend:8080: its next packet passes XDP", &r,
		    true, NETSEG_STAT_PASS);
	want_drop(x, "a deny rule now covers world -> frontend:9090: reported as the rule's", &g,
		  false, NETSEG_REASON_POLICY, 4, NETSEG_ID_WORLD, ID_FE);
	want_drop(x, "... and from the cache again under the rule", &g, true, NETSEG_REASON_POLICY,
		  4, NETSEG_ID_WORLD, ID_FE);
	/* Revoked again: the allow was never cached, the deny is decided anew. */
	bpfx_policy(x, rules, 1);
	want_drop(x, "the allow revoked: world -> frontend:8080 denied on its next packet", &f,
		  false, NETSEG_REASON_DEFAULT_DENY, 0, NETSEG_ID_WORLD, ID_FE);
}

static void check_identity_change(struct bpfx *x)
{
	struct pkt_flow f = tcp(4, IP_W2, IP_FE, 42001, 7070, PKT_TCP_SYN);
	struct bpfx_result r;

	deny_twice(x, "198.19.61.2 (world) -> frontend:7070", &f, NETSEG_ID_WORLD);
	rules[1] = bpfx_rule(ID_API, ID_FE, IPPROTO_TCP, 7070, 16, NETSEG_VERDICT_ALLOW, 5, 0);
	bpfx_policy(x, rules, 2);
	want_drop(x, "api -> frontend:7070 allowed, 198.19.61.2 still world: denied", &f, false,
		  NETSEG_REASON_DEFAULT_DENY, 0, NETSEG_ID_WORLD, ID_FE);
	/* The daemon bumps the generation after every ipcache change. */
	bpfx_host(x, 4, IP_W2, ID_API, 0);
	if (netseg_dp_bump_generation(x->dp, NULL))
		bail("couldn't bump the generation");
	send_flow(x, XDP, up, &f, &r);
	bpfx_expect("198.19.61.2 is api's now: its next packet passes XDP", &r, true,
		    NETSEG_STAT_PASS);
}

/* bpf/classify.h: deny_cache_slot(), to aim at a taken slot. */
static __u32 slot_of(const __u8 s[16], const __u8 d[16], __u16 port, __u8 proto, __u8 family)
{
	__u64 s0, s1, d0, d1, x;

	memcpy(&s0, s, 8);
	memcpy(&s1, s + 8, 8);
	memcpy(&d0, d, 8);
	memcpy(&d1, d + 8, 8);
	x = s0 ^ s1 * 0xff51afd7ed558ccdULL;
	x ^= (d0 ^ d1 * 0xc4ceb9fe1a85ec53ULL) >> 1;
	x ^= (__u64)htons(port) << 16 | (__u64)proto << 8 | family;
	return (x * 0x9e3779b97f4a7c15ULL) >> (64 - NETSEG_DENY_CACHE_BITS);
}

/*
 * Another destination in the slot of a cached deny is no hit: world ->
 * frontend:6060 is denied and cached, world -> a world address in the same
 * slot (no endpoint involved: allowed) passes.
 */
static void check_collision(struct bpfx *x)
{
	struct pkt_flow f = tcp(4, IP_W, IP_FE, 45001, 6060, PKT_TCP_SYN);
	__u8 s[16] = {}, d[16] = {}, o[16] = {};
	static char other[32];
	struct bpfx_result r;
	__u32 want;

	pkt_addr(4, IP_W, s);
	pkt_addr(4, IP_FE, d);
	want = slot_of(s, d, 6060, IPPROTO_TCP, NETSEG_AF_INET);
	pkt_addr(4, "198.19.0.0", o);
	for (__u32 i = 1; i < 65536 * 4; i++) {
		o[2] = i >> 8;
		o[3] = i;
		if (o[2] != 61 && slot_of(s, o, 6060, IPPROTO_TCP, NETSEG_AF_INET) == want)
			break;
	}
	snprintf(other, sizeof(other), "198.19.%u.%u", o[2], o[3]);
	deny_twice(x, "world -> frontend:6060", &f, NETSEG_ID_WORLD);
	f.dst = other;
	send_flow(x, XDP, up, &f, &r);
	if (!bpfx_expect("world -> another world host in the same slot passes XDP", &r, true,
			 NETSEG_STAT_PASS))
		diag("  (%s, slot %u)", other, want);
}

/* api (remote endpoint) <-> world: each direction denied as itself. */
static void check_direction(struct bpfx *x)
{
	struct pkt_flow a = udp(4, IP_W, IP_API, 5353, 5000);
	struct pkt_flow b = pkt_flow_reverse(&a);
	struct bpfx_result r;

	send_flow(x, XDP, up, &a, &r);
	want_drop(x, "world:5353 -> api:5000 again: from the cache", &a, true,
		  NETSEG_REASON_DEFAULT_DENY, 0, NETSEG_ID_WORLD, ID_API);
	want_drop(x, "api:5000 -> world:5353 (same tuple, other way): decided as itself", &b, false,
		  NETSEG_REASON_DEFAULT_DENY, 0, ID_API, NETSEG_ID_WORLD);
	want_drop(x, "... and then cached as itself", &b, true, NETSEG_REASON_DEFAULT_DENY, 0,
		  ID_API, NETSEG_ID_WORLD);
}

int main(void)
{
	struct bpfx x;
	int u, p;

	bpfx_init(&x, "denycache");
	u = bpfx_veth("nsd-up", "nsd-up-p");
	p = bpfx_veth("nsd-fe", "nsd-fe-p");
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
	rules[0] = bpfx_rule(ID_FE, NETSEG_ID_WORLD, -1, 0, 0, NETSEG_VERDICT_ALLOW, 1, 0);
	bpfx_policy(&x, rules, 1);

	check_replies(&x);
	check_policy_change(&x);
	check_identity_change(&x);
	check_direction(&x);
	check_collision(&x);
	bpfx_fini(&x);
	return tap_done();
}
