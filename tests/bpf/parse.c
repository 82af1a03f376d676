// SPDX-License-Identifier: GPL-2.0-only
/*
 * Parsing (the first step of the classifier, include/netseg/bpf/parse.h)
 * through the TC and XDP programs: truncation at every byte, inconsistent
 * headers (MALFORMED), flag/port/address combinations no stack sends
 * (IMPOSSIBLE), VLAN tags, IPv4 options, IPv6 extension chains, and what
 * must pass even under default deny (ARP, IPv6 neighbour discovery).
 *
 * Every drop must carry a reason and bump its counter (counters.h), so a
 * row checks the verdict and that exactly its counter slot moved.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A 256
#define ID_B 257
#define IP_A "198.18.3.1"
#define IP_B "198.18.3.2"
#define IP6_A "fd00::3:1"
#define IP6_B "fd00::3:2"

#define MALFORMED NETSEG_REASON_MALFORMED
#define IMPOSSIBLE NETSEG_REASON_IMPOSSIBLE

static void tcp4(struct pkt *p, const char *src, const char *dst, __u16 dport, __u8 flags,
		 size_t optlen)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, &(struct pkt_ip4){ .src = src, .dst = dst, .proto = IPPROTO_TCP });
	pkt_tcp(p, 40000, dport, flags, optlen);
	pkt_finish(p);
}

/* ------------------------------------------------------ frame builders */

static void b_syn(struct pkt *p)
{
	tcp4(p, IP_A, IP_B, 443, PKT_TCP_SYN, 0);
}
static void b_ihl4(struct pkt *p)
{
	b_syn(p);
	pkt_l3(p)[0] = 0x44;
	pkt_refresh_ip4_csum(p);
}
static void b_ihl15(struct pkt *p)
{
	b_syn(p);
	pkt_l3(p)[0] = 0x4f; /* 60-byte header in a 40-byte IP packet */
	pkt_refresh_ip4_csum(p);
}
static void b_ver6_in_v4(struct pkt *p)
{
	b_syn(p);
	pkt_l3(p)[0] = 0x65;
	pkt_refresh_ip4_csum(p);
}
static void b_totlen_lt_hlen(struct pkt *p)
{
	b_syn(p);
	pkt_l3(p)[2] = 0;
	pkt_l3(p)[3] = 16;
	pkt_refresh_ip4_csum(p);
}
static void b_ver4_in_v6(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, IP6_A, IP6_B, IPPROTO_TCP);
	pkt_tcp(p, 40000, 443, PKT_TCP_SYN, 0);
	pkt_finish(p);
	pkt_l3(p)[0] = 0x40;
}
static void b_doff4(struct pkt *p)
{
	b_syn(p);
	pkt_l4(p)[12] = 4 << 4;
}
static void b_doff6_short(struct pkt *p)
{
	b_syn(p);
	pkt_l4(p)[12] = 6 << 4; /* claims 4 option bytes the frame lacks */
	pkt_finish(p);
}
static void b_synfin(struct pkt *p)
{
	tcp4(p, IP_A, IP_B, 443, PKT_TCP_SYN | PKT_TCP_FIN, 0);
}
static void b_synrst(struct pkt *p)
{
	tcp4(p, IP_A, IP_B, 443, PKT_TCP_SYN | PKT_TCP_RST, 0);
}
static void b_null(struct pkt *p)
{
	tcp4(p, IP_A, IP_B, 443, 0, 0);
}
static void b_xmas(struct pkt *p)
{
	tcp4(p, IP_A, IP_B, 443, PKT_TCP_FIN | PKT_TCP_PSH | PKT_TCP_URG, 0);
}
static void b_dport0(struct pkt *p)
{
	tcp4(p, IP_A, IP_B, 0, PKT_TCP_SYN, 0);
}
static void b_udp_sport0(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, &(struct pkt_ip4){ .src = IP_A, .dst = IP_B, .proto = IPPROTO_UDP });
	pkt_udp(p, 0, 53);
	pkt_finish(p);
}
static void b_mcast_src(struct pkt *p)
{
	tcp4(p, "224.0.0.5", IP_B, 443, PKT_TCP_SYN, 0);
}
static void b_bcast_src(struct pkt *p)
{
	tcp4(p, "255.255.255.255", IP_B, 443, PKT_TCP_SYN, 0);
}
static void b_mcast6_src(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, "ff02::1", IP6_B, IPPROTO_UDP);
	pkt_udp(p, 5353, 5353);
	pkt_finish(p);
}
static void b_syn_mss(struct pkt *p)
{
	tcp4(p, IP_A, IP_B, 443, PKT_TCP_SYN, 4);
}
static void b_ip_opts(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, &(struct pkt_ip4){ .src = IP_A, .dst = IP_B, .proto = IPPROTO_TCP, .ihl = 6 });
	pkt_tcp(p, 40000, 443, PKT_TCP_SYN, 0);
	pkt_finish(p);
}
static void b_vlan1(struct pkt *p)
{
	pkt_flow_build(p, &(struct pkt_flow){ .af = 4,
					      .src = IP_A,
					      .dst = IP_B,
					      .proto = IPPROTO_TCP,
					      .sport = 40000,
					      .dport = 443,
					      .tcp_flags = PKT_TCP_SYN,
					      .nvlan = 1 });
}
static void b_vlan2_v6(struct pkt *p)
{
	pkt_flow_build(p, &(struct pkt_flow){ .af = 6,
					      .src = IP6_A,
					      .dst = IP6_B,
					      .proto = IPPROTO_TCP,
					      .sport = 40000,
					      .dport = 443,
					      .tcp_flags = PKT_TCP_SYN,
					      .nvlan = 2 });
}
static void b_vlan1_denied(struct pkt *p)
{
	pkt_flow_build(p, &(struct pkt_flow){ .af = 4,
					      .src = IP_A,
					      .dst = IP_B,
					      .proto = IPPROTO_TCP,
					      .sport = 40000,
					      .dport = 22,
					      .tcp_flags = PKT_TCP_SYN,
					      .nvlan = 1 });
}

/* IPv6 with n destination-options headers (8 bytes each) before TCP/443. */
static void v6_ext_chain(struct pkt *p, int n)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, IP6_A, IP6_B, n ? IPPROTO_DSTOPTS : IPPROTO_TCP);
	for (int i = 0; i < n; i++)
		pkt_ip6_ext(p, IPPROTO_DSTOPTS, i == n - 1 ? IPPROTO_TCP : IPPROTO_DSTOPTS, 8);
	pkt_tcp(p, 40000, 443, PKT_TCP_SYN, 0);
	pkt_finish(p);
}
static void b_ext5(struct pkt *p)
{
	v6_ext_chain(p, 5);
}
static void b_ext6(struct pkt *p)
{
	v6_ext_chain(p, NETSEG_IPV6_EXT_MAX);
}
static void b_ext7(struct pkt *p)
{
	v6_ext_chain(p, NETSEG_IPV6_EXT_MAX + 1);
}
static void b_hop16_tcp(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, IP6_A, IP6_B, IPPROTO_HOPOPTS);
	pkt_ip6_ext(p, IPPROTO_HOPOPTS, IPPROTO_TCP, 16);
	pkt_tcp(p, 40000, 443, PKT_TCP_SYN, 0);
	pkt_finish(p);
}
/* AH with a 96-bit ICV: 24 bytes, payload length field 4 (RFC 4302). */
static void b_ah_tcp(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, IP6_A, IP6_B, IPPROTO_AH);
	pkt_ip6_ext(p, IPPROTO_AH, IPPROTO_TCP, 24);
	pkt_tcp(p, 40000, 443, PKT_TCP_SYN, 0);
	pkt_finish(p);
}
/* Destination options (16 bytes) followed by a 12-byte AH. */
static void b_dst16_ah_tcp(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, IP6_A, IP6_B, IPPROTO_DSTOPTS);
	pkt_ip6_ext(p, IPPROTO_DSTOPTS, IPPROTO_AH, 16);
	pkt_ip6_ext(p, IPPROTO_AH, IPPROTO_TCP, 12);
	pkt_tcp(p, 40000, 443, PKT_TCP_SYN, 0);
	pkt_finish(p);
}
/* Three tags: more than the datapath walks (NETSEG_VLAN_MAX). */
static void b_vlan3(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_8021AD);
	pkt_vlan(p, 100, ETH_P_8021Q);
	pkt_vlan(p, 200, ETH_P_8021Q);
	pkt_vlan(p, 300, ETH_P_IP);
	pkt_ipv4(p, &(struct pkt_ip4){ .src = IP_A, .dst = IP_B, .proto = IPPROTO_TCP });
	pkt_tcp(p, 40000, 443, PKT_TCP_SYN, 0);
	pkt_finish(p);
}
/* ICMPv6 neighbour solicitation carried in IPv4 (protocol 58): not ND. */
static void b_ns_in_v4(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IP);
	pkt_ipv4(p, &(struct pkt_ip4){ .src = IP_A, .dst = IP_B, .proto = IPPROTO_ICMPV6 });
	pkt_icmp(p, 135, 0, 0, 0);
	pkt_payload(p, 16, 0);
	pkt_finish(p);
}
static void b_arp_req(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_ARP);
	pkt_arp(p, 1, IP_A, IP_B);
}
static void b_arp_reply(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_ARP);
	pkt_arp(p, 2, IP_B, IP_A);
}
static void icmp6(struct pkt *p, __u8 type)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, IP6_A, IP6_B, IPPROTO_ICMPV6);
	pkt_l3(p)[7] = 255; /* ND's hop limit: sent on this link (tests/bpf/icmp.c) */
	pkt_icmp(p, type, 0, 0, 0);
	pkt_payload(p, 16, 0); /* target address */
	pkt_finish(p);
}
static void b_rs(struct pkt *p)
{
	icmp6(p, 133);
}
static void b_ra(struct pkt *p)
{
	icmp6(p, 134);
}
static void b_ns(struct pkt *p)
{
	icmp6(p, 135);
}
static void b_na(struct pkt *p)
{
	icmp6(p, 136);
}
static void b_echo6(struct pkt *p)
{
	icmp6(p, 128);
}

struct row {
	const char *desc;
	void (*build)(struct pkt *p);
	bool pass;
	int stat; /* counter slot that must move by one */
};

#define PASS_NEW true, NETSEG_STAT_PASS
#define PASS_NONIP true, NETSEG_STAT_PASS_NON_IP
#define DROP(r) false, (r)

static const struct row table[] = {
	{ "valid SYN A->B:443 (control)", b_syn, PASS_NEW },
	{ "IPv4 IHL 4 (< 5)", b_ihl4, DROP(MALFORMED) },
	{ "IPv4 IHL 15: header longer than the packet", b_ihl15, DROP(MALFORMED) },
	{ "IPv4 total length shorter than its header", b_totlen_lt_hlen, DROP(MALFORMED) },
	{ "EtherType IPv4, IP version 6", b_ver6_in_v4, DROP(MALFORMED) },
	{ "EtherType IPv6, IP version 4", b_ver4_in_v6, DROP(MALFORMED) },
	{ "TCP doff 4 (< 5)", b_doff4, DROP(MALFORMED) },
	{ "TCP doff 6, frame ends after 20 header bytes", b_doff6_short, DROP(MALFORMED) },
	{ "TCP SYN+FIN", b_synfin, DROP(IMPOSSIBLE) },
	{ "TCP SYN+RST", b_synrst, DROP(IMPOSSIBLE) },
	{ "TCP no flags (NULL scan)", b_null, DROP(IMPOSSIBLE) },
	{ "TCP FIN+PSH+URG (Xmas scan)", b_xmas, DROP(IMPOSSIBLE) },
	{ "TCP destination port 0", b_dport0, DROP(IMPOSSIBLE) },
	{ "UDP source port 0", b_udp_sport0, DROP(IMPOSSIBLE) },
	{ "IPv4 multicast source 224.0.0.5", b_mcast_src, DROP(IMPOSSIBLE) },
	{ "IPv4 broadcast source 255.255.255.255", b_bcast_src, DROP(IMPOSSIBLE) },
	{ "IPv6 multicast source ff02::1", b_mcast6_src, DROP(IMPOSSIBLE) },
	{ "SYN with MSS option (doff 6) A->B:443", b_syn_mss, PASS_NEW },
	{ "IPv4 with 4 bytes of options (IHL 6) A->B:443", b_ip_opts, PASS_NEW },
	{ "802.1Q tagged SYN A->B:443", b_vlan1, PASS_NEW },
	{ "802.1ad+802.1Q double-tagged v6 SYN A->B:443", b_vlan2_v6, PASS_NEW },
	{ "802.1Q tagged SYN A->B:22 -> default deny", b_vlan1_denied,
	  DROP(NETSEG_REASON_DEFAULT_DENY) },
	{ "IPv6 hop-by-hop (16 bytes) then TCP A->B:443", b_hop16_tcp, PASS_NEW },
	{ "IPv6 5 destination-options headers then TCP A->B:443", b_ext5, PASS_NEW },
	{ "IPv6 NETSEG_IPV6_EXT_MAX (6) extension headers then TCP A->B:443", b_ext6, PASS_NEW },
	{ "IPv6 7 extension headers: chain too long", b_ext7, DROP(MALFORMED) },
	{ "IPv6 AH (24 bytes, len field 4) then TCP A->B:443", b_ah_tcp, PASS_NEW },
	{ "IPv6 dest-options (16 bytes), AH (12 bytes), TCP A->B:443", b_dst16_ah_tcp, PASS_NEW },
	{ "802.1ad+802.1Q+802.1Q: 3 tags can't be inspected", b_vlan3, DROP(MALFORMED) },
	{ "ARP request under default deny", b_arp_req, PASS_NONIP },
	{ "ARP reply under default deny", b_arp_reply, PASS_NONIP },
	{ "ICMPv6 router solicitation (133) under default deny", b_rs, PASS_NONIP },
	{ "ICMPv6 router advertisement (134) under default deny", b_ra, PASS_NONIP },
	{ "ICMPv6 neighbour solicitation (135) under default deny", b_ns, PASS_NONIP },
	{ "ICMPv6 neighbour advertisement (136) under default deny", b_na, PASS_NONIP },
	{ "ICMPv6 type 135 inside IPv4 is not ND: default deny", b_ns_in_v4,
	  DROP(NETSEG_REASON_DEFAULT_DENY) },
	{ "ICMPv6 echo (128) is not ND: default deny", b_echo6, DROP(NETSEG_REASON_DEFAULT_DENY) },
};

static void run_table(struct bpfx *x)
{
	static const int hooks[] = { NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_XDP };
	struct bpfx_result r;
	char desc[256];
	struct pkt p;

	for (size_t i = 0; i < ARRAY_LEN(table); i++) {
		table[i].build(&p);
		for (size_t h = 0; h < ARRAY_LEN(hooks); h++) {
			bpfx_ct_flush(x);
			snprintf(desc, sizeof(desc), "%s [%s]", table[i].desc,
				 bpfx_hook_name(hooks[h]));
			bpfx_send(x, hooks[h], &p, 0, &r);
			bpfx_expect(desc, &r, table[i].pass, table[i].stat);
		}
	}
}

/*
 * Truncation at every length: each cut frame must be dropped as
 * MALFORMED, counted, and reported.  The kernel refuses skb test runs
 * shorter than Ethernet + the IP header it announces (EINVAL), so for
 * TC those lengths can't reach the program and are accepted as refused;
 * XDP sees every length from ETH_HLEN on.  Below ETH_HLEN no hook runs.
 */
struct sweep {
	const char *desc;
	void (*build)(struct pkt *p);
	size_t l3_end; /* bytes up to the end of the IP header */
};

static void b_udp6(struct pkt *p)
{
	pkt_init(p);
	pkt_eth(p, ETH_P_IPV6);
	pkt_ipv6(p, IP6_A, IP6_B, IPPROTO_UDP);
	pkt_udp(p, 40000, 53);
	pkt_finish(p);
}
static void b_icmp4(struct pkt *p)
{
	pkt_flow_build(p, &(struct pkt_flow){ .af = 4,
					      .src = IP_A,
					      .dst = IP_B,
					      .proto = IPPROTO_ICMP,
					      .sport = 1,
					      .icmp_type = 8 });
}

static const struct sweep sweeps[] = {
	{ "eth/IPv4/TCP", b_syn, 14 + 20 },
	{ "eth/IPv6/UDP", b_udp6, 14 + 40 },
	{ "eth/IPv4/ICMP echo", b_icmp4, 14 + 20 },
	{ "eth/802.1Q/IPv4/TCP", b_vlan1, 14 + 4 + 20 },
	{ "eth/802.1ad/802.1Q/IPv6/TCP", b_vlan2_v6, 14 + 8 + 40 },
};

static void run_sweeps(struct bpfx *x)
{
	static const int hooks[] = { NETSEG_HOOK_TC_INGRESS, NETSEG_HOOK_XDP };
	struct bpfx_result r;
	struct pkt full, p;

	for (size_t i = 0; i < ARRAY_LEN(sweeps); i++) {
		sweeps[i].build(&full);
		for (size_t h = 0; h < ARRAY_LEN(hooks); h++) {
			char bad[512] = "";
			size_t nbad = 0, refused = 0, n = 0;
			bool vlan = sweeps[i].l3_end != 34 && sweeps[i].l3_end != 54;

			for (size_t len = ETH_HLEN; len < full.len; len++) {
				p = full;
				pkt_truncate(&p, len);
				bpfx_send(x, hooks[h], &p, 0, &r);
				if (r.err == -EINVAL && hooks[h] != NETSEG_HOOK_XDP && !vlan &&
				    len < sweeps[i].l3_end) {
					refused++;
					continue;
				}
				if (!r.err && !r.pass && r.delta[MALFORMED].packets == 1 &&
				    r.nev == 1 && r.ev[0].reason == MALFORMED)
					continue;
				nbad++;
				if (n < sizeof(bad) - 1)
					n += snprintf(bad + n, sizeof(bad) - n, " %zu%s", len,
						      r.err			 ? "(err)" :
						      r.pass			 ? "(pass)" :
						      r.delta[MALFORMED].packets ? "(no event)" :
										   "(uncounted)");
			}
			if (!ok(!nbad,
				"%s cut at every length %d..%zu -> MALFORMED, "
				"counted and reported [%s]",
				sweeps[i].desc, ETH_HLEN, full.len - 1, bpfx_hook_name(hooks[h])))
				diag("  wrong at lengths:%s", bad);
			if (refused)
				diag("  %zu short lengths refused by the kernel's test run",
				     refused);
		}
	}
	/* Below ETH_HLEN: the kernel refuses the run for every hook. */
	{
		size_t bad = 0;
		__u32 ret;

		for (size_t len = 1; len < ETH_HLEN; len++) {
			p = full;
			pkt_truncate(&p, len);
			bad += bpfx_run(x, NETSEG_HOOK_XDP, &p, 0, 1, &ret, NULL) != -EINVAL;
			bad += bpfx_run(x, NETSEG_HOOK_TC_INGRESS, &p, 0, 1, &ret, NULL) != -EINVAL;
		}
		ok(!bad, "frames of 1..%d bytes never reach a program (EINVAL)", ETH_HLEN - 1);
	}
}

int main(void)
{
	struct netseg_policy_entry rule;
	struct bpfx x;

	bpfx_init(&x, "parse");
	bpfx_endpoint(&x, ID_A, IP_A, IP6_A);
	bpfx_endpoint(&x, ID_B, IP_B, IP6_B);
	rule = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 443, 16, NETSEG_VERDICT_ALLOW, 100, 0);
	bpfx_policy(&x, &rule, 1);

	run_table(&x);
	run_sweeps(&x);
	bpfx_fini(&x);
	return tap_done();
}
