// SPDX-License-Identifier: GPL-2.0-only
/*
 * XDP and TC ingress on one uplink, with live frames (a veth pair in the
 * test's own namespace; frames sent into the peer arrive on the uplink):
 * XDP decides a known flow's packet and marks it in the packet's metadata
 * (struct netseg_xdp_meta), and TC ingress, seeing the mark, does nothing
 * again: the packet is counted and accounted on its conntrack entry once,
 * not once per program.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfx.h"
#include "tap.h"

/* libbpf 1.1 predates TCX: the kernel's attach type number (lib/attach.c). */
#define TCX_INGRESS 46

#define IP_A "198.19.70.1" /* world hosts: no endpoint, the flow is allowed */
#define IP_B "198.19.70.2"

static void link_up(const char *name)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		bail("couldn't read the flags of %s: %s", name, strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		bail("couldn't bring %s up: %s", name, strerror(errno));
	close(fd);
}

/* One frame out of the peer: it arrives on the uplink as received. */
static void send_frame(int ifindex, const struct pkt_flow *f)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = ifindex,
				   .sll_halen = ETH_ALEN };
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	struct pkt p;

	pkt_flow_build(&p, f);
	if (fd < 0 ||
	    sendto(fd, p.buf, p.len, 0, (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)p.len)
		bail("couldn't send a frame out of ifindex %d: %s", ifindex, strerror(errno));
	close(fd);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

int main(void)
{
	struct pkt_flow req = { .af = 4,
				.src = IP_A,
				.dst = IP_B,
				.proto = IPPROTO_UDP,
				.sport = 5000,
				.dport = 6000 };
	struct pkt_flow rep = pkt_flow_reverse(&req);
	struct netseg_counter c0[NETSEG_STAT_MAX], c1[NETSEG_STAT_MAX];
	struct netseg_ct_entry e = {};
	struct bpfx_result r;
	struct bpfx x;
	int up, peer, err;
	struct pkt p;

	bpfx_init(&x, "xdpmeta");
	up = bpfx_veth("nsm-up", "nsm-upp");
	peer = if_nametoindex("nsm-upp");
	if (up < 0 || !peer)
		bail("couldn't create a veth pair in the test namespace");
	link_up("nsm-up");
	link_up("nsm-upp");
	err = netseg_dp_uplink_set(x.dp, up);
	if (err)
		bail("couldn't mark the uplink: %s", strerror(-err));
	/* Attached directly: they go with the test's namespace (the daemon's
	 * attach pins links, and this datapath has no pin directory). */
	if (bpf_xdp_attach(up, netseg_dp_prog_fd(x.dp, NETSEG_HOOK_XDP), XDP_FLAGS_DRV_MODE,
			   NULL) ||
	    bpf_link_create(netseg_dp_prog_fd(x.dp, NETSEG_HOOK_TC_INGRESS), up, TCX_INGRESS,
			    NULL) < 0)
		bail("couldn't attach XDP (native) and TC ingress to the uplink: %s",
		     strerror(errno));

	/* The node's flow leaves through the uplink: TC egress makes its entry. */
	pkt_flow_build(&p, &req);
	bpfx_send(&x, NETSEG_HOOK_TC_EGRESS, &p, up, &r);
	bpfx_expect("a flow between two world hosts leaves the uplink: allowed", &r, true,
		    NETSEG_STAT_PASS);
	bpfx_counters(&x, c0);
	send_frame(peer, &rep);
	/* The veth hands the frame to its NAPI poll: wait for it, bounded. */
	for (int i = 0; i < 100 && (bpfx_ct_get(&x, &req, &e) || !e.packets[NETSEG_DIR_REPLY]); i++)
		nap_ms(10);
	nap_ms(50);
	bpfx_counters(&x, c1);
	bpfx_ct_get(&x, &req, &e);
	ok(e.packets[NETSEG_DIR_REPLY] == 1,
	   "the reply, through XDP and TC ingress, is accounted once on its entry (%llu)",
	   (unsigned long long)e.packets[NETSEG_DIR_REPLY]);
	ok(c1[NETSEG_STAT_CT_HIT].packets - c0[NETSEG_STAT_CT_HIT].packets == 1 &&
		   c1[NETSEG_STAT_PASS].packets - c0[NETSEG_STAT_PASS].packets == 1,
	   "  ... one conntrack hit and one pass counted (%llu, %llu)",
	   (unsigned long long)(c1[NETSEG_STAT_CT_HIT].packets - c0[NETSEG_STAT_CT_HIT].packets),
	   (unsigned long long)(c1[NETSEG_STAT_PASS].packets - c0[NETSEG_STAT_PASS].packets));
	ok(c1[NETSEG_STAT_XDP_PASS].packets == c0[NETSEG_STAT_XDP_PASS].packets,
	   "  ... XDP decided it (nothing left to TC)");
	bpfx_fini(&x);
	return tap_done();
}
