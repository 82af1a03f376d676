// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fragments (DESIGN §4): a first fragment carries the L4 header, is
 * decided like any packet and records its ports in ns_frags; later
 * fragments (no L4 header) are matched through that record, or dropped
 * with FRAG_UNKNOWN when no first fragment was seen.  IPv4 (MF/offset in
 * the IP header) and IPv6 (fragment extension header).
 *
 * The table is a sequence: later rows depend on the fragments earlier rows
 * sent (the frag map is only flushed where a row says so).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include <bpf/bpf.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A 256
#define ID_B 257
#define IP_A "198.18.4.1"
#define IP_B "198.18.4.2"
#define IP6_A "fd00::4:1"
#define IP6_B "fd00::4:2"

enum kind { FIRST, LATER };

struct frag {
	int af;
	__u8 proto;
	__u16 dport;
	__u32 id;
	enum kind kind;
};

static void build(struct pkt *p, const struct frag *f)
{
	const char *s = f->af == 6 ? IP6_A : IP_A, *d = f->af == 6 ? IP6_B : IP_B;
	/* First: offset 0, MF.  Later: offset 4 (32 bytes), last fragment. */
	__u16 off8 = f->kind == FIRST ? 0 : 4;
	bool more = f->kind == FIRST;

	pkt_init(p);
	if (f->af == 6) {
		pkt_eth(p, ETH_P_IPV6);
		pkt_ipv6(p, s, d, IPPROTO_FRAGMENT);
		pkt_ip6_frag(p, f->proto, f->id, off8, more);
	} else {
		pkt_eth(p, ETH_P_IP);
		pkt_ipv4(p, &(struct pkt_ip4){ .src = s, .dst = d, .proto = f->proto,
					       .id = f->id,
					       .frag = (more ? 0x2000 : 0) | off8 });
	}
	if (f->kind == FIRST) {
		if (f->proto == IPPROTO_TCP)
			pkt_tcp(p, 40000, f->dport, PKT_TCP_SYN, 0);
		else
			pkt_udp(p, 40000, f->dport);
		pkt_payload(p, 32 - (p->len - p->l4_off), 0x5a);
	} else {
		pkt_payload(p, 24, 0xa5);
	}
	pkt_finish(p);
}

struct row {
	const char *desc;
	struct frag f;
	int hook;
	bool pass;
	int stat;
	bool flush;		/* clear CT and frag maps first */
};

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ING NETSEG_HOOK_TC_INGRESS
#define XDP NETSEG_HOOK_XDP
#define FU NETSEG_REASON_FRAG_UNKNOWN
#define DD NETSEG_REASON_DEFAULT_DENY

static const struct row table[] = {
	{ "v4 first fragment A->B tcp/443 (allowed)", { 4, TCP, 443, 0x1234, FIRST }, ING,
	  true, NETSEG_STAT_PASS, true },
	{ "v4 later fragment of it passes (ports from the first)",
	  { 4, TCP, 443, 0x1234, LATER }, ING, true, NETSEG_STAT_CT_HIT, false },
	{ "v4 later fragment with an unseen id -> FRAG_UNKNOWN",
	  { 4, TCP, 443, 0x9999, LATER }, ING, false, FU, false },
	{ "v4 later fragment with an unseen id -> FRAG_UNKNOWN at XDP",
	  { 4, TCP, 443, 0x9998, LATER }, XDP, false, FU, false },
	{ "v4 first fragment A->B tcp/22 (denied)", { 4, TCP, 22, 0x2000, FIRST }, ING,
	  false, DD, false },
	{ "v4 later fragment of the denied datagram -> denied too",
	  { 4, TCP, 22, 0x2000, LATER }, ING, false, DD, false },
	{ "v4 first fragment A->B udp/53 (allowed)", { 4, UDP, 53, 0x3000, FIRST }, ING,
	  true, NETSEG_STAT_PASS, false },
	{ "v4 later udp fragment passes", { 4, UDP, 53, 0x3000, LATER }, ING, true,
	  NETSEG_STAT_CT_HIT, false },
	{ "v4 first fragment seen at XDP only: later fragment passes XDP",
	  { 4, UDP, 53, 0x3001, FIRST }, XDP, true, NETSEG_STAT_PASS, true },
	{ "  ... its later fragment at XDP", { 4, UDP, 53, 0x3001, LATER }, XDP, true,
	  NETSEG_STAT_PASS, false },
	{ "v6 first fragment A->B tcp/443 (allowed)", { 6, TCP, 443, 0xabcdef01, FIRST },
	  ING, true, NETSEG_STAT_PASS, true },
	{ "v6 later fragment of it passes", { 6, TCP, 443, 0xabcdef01, LATER }, ING, true,
	  NETSEG_STAT_CT_HIT, false },
	{ "v6 later fragment with an unseen id -> FRAG_UNKNOWN",
	  { 6, TCP, 443, 0x01020304, LATER }, ING, false, FU, false },
	{ "v6 later fragment with an unseen id -> FRAG_UNKNOWN at XDP",
	  { 6, UDP, 53, 0x01020305, LATER }, XDP, false, FU, false },
	{ "v6 first fragment A->B udp/54 (denied)", { 6, UDP, 54, 0x5000, FIRST }, ING,
	  false, DD, false },
	{ "v6 later fragment of the denied datagram -> denied too",
	  { 6, UDP, 54, 0x5000, LATER }, ING, false, DD, false },
};

/* The first fragment's record in ns_frags (key as classify.h builds it). */
static bool frag_record(struct bpfx *x, const struct frag *f, struct netseg_frag_val *v)
{
	struct netseg_frag_key k = {};

	pkt_addr(f->af, f->af == 6 ? IP6_A : IP_A, k.saddr);
	pkt_addr(f->af, f->af == 6 ? IP6_B : IP_B, k.daddr);
	k.id = f->id;
	k.proto = f->proto;
	k.family = f->af == 6 ? NETSEG_AF_INET6 : NETSEG_AF_INET;
	return !bpf_map_lookup_elem(netseg_dp_map_fd(x->dp, NETSEG_DPM_FRAGS), &k, v);
}

int main(void)
{
	struct netseg_policy_entry rules[2];
	struct netseg_frag_val v;
	struct bpfx_result r;
	struct bpfx x;
	char desc[200];
	struct pkt p;

	bpfx_init(&x, "fragments");
	bpfx_endpoint(&x, ID_A, IP_A, IP6_A);
	bpfx_endpoint(&x, ID_B, IP_B, IP6_B);
	rules[0] = bpfx_rule(ID_A, ID_B, TCP, 443, 16, NETSEG_VERDICT_ALLOW, 100, 0);
	rules[1] = bpfx_rule(ID_A, ID_B, UDP, 53, 16, NETSEG_VERDICT_ALLOW, 101, 0);
	bpfx_policy(&x, rules, 2);

	for (size_t i = 0; i < ARRAY_LEN(table); i++) {
		const struct row *row = &table[i];

		if (row->flush) {
			bpfx_ct_flush(&x);
			bpfx_frags_flush(&x);
		}
		build(&p, &row->f);
		if (!pkt_csum_ok(&p))
			bail("fragment frame %zu has a bad IPv4 checksum", i);
		snprintf(desc, sizeof(desc), "%s [%s]", row->desc, bpfx_hook_name(row->hook));
		bpfx_send(&x, row->hook, &p, 0, &r);
		bpfx_expect(desc, &r, row->pass, row->stat);
		if (row->f.kind == FIRST) {
			bool have = frag_record(&x, &row->f, &v);

			ok(have && ntohs(v.sport) == 40000 && ntohs(v.dport) == row->f.dport &&
				   ntohs(v.policy_port) == row->f.dport && v.tracked == 1,
			   "  ... recorded ports 40000 -> %u in ns_frags", row->f.dport);
		} else if (!row->pass && row->stat == FU) {
			ok(r.nev == 1 && r.ev[0].type == NETSEG_EV_DENY &&
				   r.ev[0].reason == FU && r.ev[0].proto == row->f.proto,
			   "  ... deny event with reason FRAG_UNKNOWN");
		}
	}
	bpfx_fini(&x);
	return tap_done();
}
