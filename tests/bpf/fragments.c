// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fragments (frag_track() in classify.h): a first fragment carries the L4
 * header, is decided like any packet and records its ports in ns_frags;
 * later fragments (no L4 header) are matched through that record, or
 * dropped with FRAG_UNKNOWN when no first fragment was seen.  IPv4
 * (MF/offset in the IP header) and IPv6 (fragment extension header).
 *
 * The first first fragment claims the id: another first fragment with the
 * same id and other ports (overlapping at offset 0) is dropped with
 * FRAG_CONFLICT and the record keeps the original's ports, so its tail
 * still passes; the same one again passes.  A claim older than
 * NETSEG_FRAG_TIMEOUT yields to a new datagram (the id wrapped).
 *
 * The table is a sequence: later rows depend on the fragments earlier rows
 * sent (the frag map is only flushed where a row says so).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
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
		pkt_ipv4(p, &(struct pkt_ip4){ .src = s,
					       .dst = d,
					       .proto = f->proto,
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
	bool flush;	 /* clear CT and frag maps first */
	__u16 rec_dport; /* port the record must hold after it; 0: the row's */
	bool age;	 /* make the id's record older than its timeout first */
};

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ING NETSEG_HOOK_TC_INGRESS
#define XDP NETSEG_HOOK_XDP
#define FU NETSEG_REASON_FRAG_UNKNOWN
#define DD NETSEG_REASON_DEFAULT_DENY
#define FC NETSEG_REASON_FRAG_CONFLICT

static const struct row table[] = {
	{ "v4 first fragment A->B tcp/443 (allowed)",
	  { 4, TCP, 443, 0x1234, FIRST },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_PASS,
	  .flush = true },
	{ "v4 later fragment of it passes (ports from the first)",
	  { 4, TCP, 443, 0x1234, LATER },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_CT_HIT },
	{ "v4 later fragment with an unseen id -> FRAG_UNKNOWN",
	  { 4, TCP, 443, 0x9999, LATER },
	  ING,
	  .pass = false,
	  .stat = FU },
	{ "v4 later fragment with an unseen id -> FRAG_UNKNOWN at XDP",
	  { 4, TCP, 443, 0x9998, LATER },
	  XDP,
	  .pass = false,
	  .stat = FU },
	{ "v4 first fragment A->B tcp/22 (denied)",
	  { 4, TCP, 22, 0x2000, FIRST },
	  ING,
	  .pass = false,
	  .stat = DD },
	{ "v4 later fragment of the denied datagram -> denied too",
	  { 4, TCP, 22, 0x2000, LATER },
	  ING,
	  .pass = false,
	  .stat = DD },
	{ "v4 first fragment A->B udp/53 (allowed)",
	  { 4, UDP, 53, 0x3000, FIRST },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_PASS },
	{ "v4 later udp fragment passes",
	  { 4, UDP, 53, 0x3000, LATER },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_CT_HIT },
	{ "v4 first fragment seen at XDP only: later fragment passes XDP",
	  { 4, UDP, 53, 0x3001, FIRST },
	  XDP,
	  .pass = true,
	  .stat = NETSEG_STAT_PASS,
	  .flush = true },
	{ "  ... its later fragment at XDP",
	  { 4, UDP, 53, 0x3001, LATER },
	  XDP,
	  .pass = true,
	  .stat = NETSEG_STAT_PASS },
	{ "v6 first fragment A->B tcp/443 (allowed)",
	  { 6, TCP, 443, 0xabcdef01, FIRST },
	  ING,
	  true,
	  NETSEG_STAT_PASS,
	  .flush = true },
	{ "v6 later fragment of it passes",
	  { 6, TCP, 443, 0xabcdef01, LATER },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_CT_HIT },
	{ "v6 later fragment with an unseen id -> FRAG_UNKNOWN",
	  { 6, TCP, 443, 0x01020304, LATER },
	  ING,
	  .pass = false,
	  .stat = FU },
	{ "v6 later fragment with an unseen id -> FRAG_UNKNOWN at XDP",
	  { 6, UDP, 53, 0x01020305, LATER },
	  XDP,
	  .pass = false,
	  .stat = FU },
	{ "v6 first fragment A->B udp/54 (denied)",
	  { 6, UDP, 54, 0x5000, FIRST },
	  ING,
	  .pass = false,
	  .stat = DD },
	{ "v6 later fragment of the denied datagram -> denied too",
	  { 6, UDP, 54, 0x5000, LATER },
	  ING,
	  .pass = false,
	  .stat = DD },

	/* First writer wins. */
	{ "v4 first fragment A->B tcp/443 (allowed)",
	  { 4, TCP, 443, 0x4000, FIRST },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_PASS,
	  .flush = true },
	{ "v4 overlapping first fragment, same id, tcp/22 -> FRAG_CONFLICT",
	  { 4, TCP, 22, 0x4000, FIRST },
	  ING,
	  .pass = false,
	  .stat = FC,
	  .rec_dport = 443 },
	{ "v4 overlapping first fragment, same id, tcp/8443 -> FRAG_CONFLICT at XDP",
	  { 4, TCP, 8443, 0x4000, FIRST },
	  XDP,
	  .pass = false,
	  .stat = FC,
	  .rec_dport = 443 },
	{ "v4 the original's tail still passes (ports 443 kept)",
	  { 4, TCP, 443, 0x4000, LATER },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_CT_HIT },
	{ "v4 the original first fragment again (retransmission) passes",
	  { 4, TCP, 443, 0x4000, FIRST },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_CT_HIT },
	{ "v4 first fragment A->B tcp/22 (denied) claims its id",
	  { 4, TCP, 22, 0x4001, FIRST },
	  ING,
	  .pass = false,
	  .stat = DD },
	{ "v4 first fragment to allowed tcp/443 with that id -> FRAG_CONFLICT",
	  { 4, TCP, 443, 0x4001, FIRST },
	  ING,
	  .pass = false,
	  .stat = FC,
	  .rec_dport = 22 },
	{ "v4 the tail of id 0x4001 stays denied",
	  { 4, TCP, 443, 0x4001, LATER },
	  ING,
	  .pass = false,
	  .stat = DD },
	{ "v4 first fragment at XDP, then the same at TC ingress: passes both [XDP]",
	  { 4, UDP, 53, 0x4002, FIRST },
	  XDP,
	  .pass = true,
	  .stat = NETSEG_STAT_PASS },
	{ "  ... the same first fragment at TC ingress",
	  { 4, UDP, 53, 0x4002, FIRST },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_PASS },
	{ "v4 a claim past its timeout yields: first fragment tcp/443 reusing id 0x4001",
	  { 4, TCP, 443, 0x4001, FIRST },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_CT_HIT,
	  .age = true },
	{ "v4 ... and its tail passes with the new ports",
	  { 4, TCP, 443, 0x4001, LATER },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_CT_HIT },
	{ "v6 first fragment A->B udp/53 (allowed)",
	  { 6, UDP, 53, 0x6000, FIRST },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_PASS,
	  .flush = true },
	{ "v6 overlapping first fragment, same id, udp/54 -> FRAG_CONFLICT",
	  { 6, UDP, 54, 0x6000, FIRST },
	  ING,
	  .pass = false,
	  .stat = FC,
	  .rec_dport = 53 },
	{ "v6 first fragment with that id but tcp/443: another datagram (proto is in the key)",
	  { 6, TCP, 443, 0x6000, FIRST },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_PASS },
	{ "v6 the original's tail still passes (port 53 kept)",
	  { 6, UDP, 53, 0x6000, LATER },
	  ING,
	  .pass = true,
	  .stat = NETSEG_STAT_CT_HIT },
	{ "v6 overlapping first fragment, same id, udp/54 -> FRAG_CONFLICT at XDP",
	  { 6, UDP, 54, 0x6000, FIRST },
	  XDP,
	  .pass = false,
	  .stat = FC,
	  .rec_dport = 53 },
	{ "v6 a claim past its timeout yields: udp/54 reusing id 0x6000 (denied by policy)",
	  { 6, UDP, 54, 0x6000, FIRST },
	  ING,
	  .pass = false,
	  .stat = DD,
	  .age = true },
	{ "v6 ... and its tail is judged by the new ports",
	  { 6, UDP, 53, 0x6000, LATER },
	  ING,
	  .pass = false,
	  .stat = DD },
};

static void frag_key(const struct frag *f, struct netseg_frag_key *k)
{
	memset(k, 0, sizeof(*k));
	pkt_addr(f->af, f->af == 6 ? IP6_A : IP_A, k->saddr);
	pkt_addr(f->af, f->af == 6 ? IP6_B : IP_B, k->daddr);
	k->id = f->id;
	k->proto = f->proto;
	k->family = f->af == 6 ? NETSEG_AF_INET6 : NETSEG_AF_INET;
}

/* The first fragment's record in ns_frags (key as classify.h builds it). */
static bool frag_record(struct bpfx *x, const struct frag *f, struct netseg_frag_val *v)
{
	struct netseg_frag_key k;

	frag_key(f, &k);
	return !bpf_map_lookup_elem(netseg_dp_map_fd(x->dp, NETSEG_DPM_FRAGS), &k, v);
}

/* Moves the record's claim back past NETSEG_FRAG_TIMEOUT, as if time went by. */
static void frag_age(struct bpfx *x, const struct frag *f)
{
	int fd = netseg_dp_map_fd(x->dp, NETSEG_DPM_FRAGS);
	struct netseg_frag_val v;
	struct netseg_frag_key k;

	frag_key(f, &k);
	if (bpf_map_lookup_elem(fd, &k, &v))
		bail("no ns_frags record for id %#x to age", f->id);
	v.first_ns -= NETSEG_FRAG_TIMEOUT + NETSEG_NSEC;
	if (bpf_map_update_elem(fd, &k, &v, BPF_EXIST))
		bail("couldn't age the ns_frags record for id %#x: %s", f->id, strerror(errno));
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
		if (row->age)
			frag_age(&x, &row->f);
		build(&p, &row->f);
		if (!pkt_csum_ok(&p))
			bail("fragment frame %zu has a bad IPv4 checksum", i);
		snprintf(desc, sizeof(desc), "%s [%s]", row->desc, bpfx_hook_name(row->hook));
		bpfx_send(&x, row->hook, &p, 0, &r);
		bpfx_expect(desc, &r, row->pass, row->stat);
		if (row->f.kind == FIRST) {
			bool have = frag_record(&x, &row->f, &v);
			__u16 want = row->rec_dport ? row->rec_dport : row->f.dport;

			ok(have && ntohs(v.sport) == 40000 && ntohs(v.dport) == want &&
				   ntohs(v.policy_port) == want && v.tracked == 1,
			   "  ... ns_frags records ports 40000 -> %u", want);
		}
		if (!row->pass && (row->stat == FU || row->stat == FC)) {
			ok(r.nev == 1 && r.ev[0].type == NETSEG_EV_DENY &&
				   r.ev[0].reason == row->stat && r.ev[0].proto == row->f.proto,
			   "  ... deny event with reason %s", netseg_reason_name(row->stat));
		}
	}
	bpfx_fini(&x);
	return tap_done();
}
