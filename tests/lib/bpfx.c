// SPDX-License-Identifier: GPL-2.0-only
/* Fixture helpers for the BPF tier; see bpfx.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>

#include "bpfx.h"
#include "flowrec.h"
#include "tap.h"

static int ev_cb(void *ctx, void *data, size_t size)
{
	struct bpfx *x = ctx;

	if (size < sizeof(struct netseg_event))
		return 0;
	if (!x->keep_seen && ((struct netseg_event *)data)->type == NETSEG_EV_FLOW_SEEN)
		return 0;
	if (x->nev < BPFX_EV_MAX)
		memcpy(&x->ev[x->nev++], data, sizeof(struct netseg_event));
	else
		x->ev_overflow++;
	return 0;
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN && getenv("NETSEG_TEST_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static int lo_up(void)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
out:
	close(fd);
	return err;
}

void bpfx_init(struct bpfx *x, const char *test)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	cpu_set_t set;
	int err;

	memset(x, 0, sizeof(*x));
	if (geteuid() != 0)
		bail("%s: needs root (BPF_PROG_TEST_RUN, network namespaces)", test);
	if (unshare(CLONE_NEWNET))
		bail("%s: couldn't create a private network namespace: %s", test, strerror(errno));
	err = lo_up();
	if (err)
		bail("%s: couldn't bring lo up in the test namespace: %s", test, strerror(-err));
	/* Older kernels charge BPF memory to RLIMIT_MEMLOCK. */
	setrlimit(RLIMIT_MEMLOCK, &rl);
	x->cpu = sched_getcpu();
	if (x->cpu < 0)
		x->cpu = 0;
	CPU_ZERO(&set);
	CPU_SET(x->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		bail("%s: couldn't pin to CPU %d: %s", test, x->cpu, strerror(errno));
	libbpf_set_print(quiet_libbpf);
	err = netseg_dp_open(&x->dp, &(struct netseg_dp_opts){ .pin_dir = NULL });
	if (err)
		bail("%s: couldn't open the datapath (BPF unavailable?): %s", test, strerror(-err));
	x->rb = ring_buffer__new(netseg_dp_map_fd(x->dp, NETSEG_DPM_EVENTS), ev_cb, x, NULL);
	if (!x->rb)
		bail("%s: couldn't open the events ring buffer: %s", test, strerror(errno));
	err = netseg_dp_config_set_events(x->dp, 1000000, 1000000, 0);
	if (err)
		bail("%s: couldn't set the deny event rate: %s", test, strerror(-err));
}

void bpfx_fini(struct bpfx *x)
{
	ring_buffer__free(x->rb);
	netseg_dp_close(x->dp);
	x->rb = NULL;
	x->dp = NULL;
}

/* -------------------------------------------------------------- netlink */

int bpfx_veth(const char *name, const char *peer)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *info, *data, *pa;
	struct mnl_socket *nl;
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh;
	int ret = -1;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	nlh->nlmsg_seq = time(NULL);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	pa = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_nest_end(nlh, pa);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (ret < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL);
	if (ret < 0) {
		ret = -errno;
		goto out;
	}
	ret = if_nametoindex(name);
	if (!ret)
		ret = -errno;
out:
	mnl_socket_close(nl);
	return ret;
}

/* ------------------------------------------------------------ test runs */

bool bpfx_is_pass(int hook, __u32 retval)
{
	switch (hook) {
	case NETSEG_HOOK_XDP:
		return retval == XDP_PASS;
	case NETSEG_HOOK_TC_INGRESS:
	case NETSEG_HOOK_TC_EGRESS:
		return (int)retval == TC_ACT_UNSPEC;
	default:
		return retval == 1;
	}
}

__u32 bpfx_ret(int hook, bool pass)
{
	switch (hook) {
	case NETSEG_HOOK_XDP:
		return pass ? XDP_PASS : XDP_DROP;
	case NETSEG_HOOK_TC_INGRESS:
	case NETSEG_HOOK_TC_EGRESS:
		return pass ? (__u32)TC_ACT_UNSPEC : TC_ACT_SHOT;
	default:
		return pass ? 1 : 0;
	}
}

const char *bpfx_hook_name(int hook)
{
	return netseg_hook_name(hook); /* lib/flowrec.c: one name per hook */
}

int bpfx_run(struct bpfx *x, int hook, const struct pkt *p, __u32 ifindex, int repeat,
	     __u32 *retval, __u32 *duration)
{
	struct __sk_buff skb = { .ifindex = ifindex ? ifindex : 1 };
	struct xdp_md xmd = { .ingress_ifindex = ifindex ? ifindex : 1, .data_end = p->len };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = p->len,
		    .repeat = repeat);
	int fd = netseg_dp_prog_fd(x->dp, hook), err;

	if (fd < 0)
		return fd;
	if (hook == NETSEG_HOOK_XDP) {
		o.ctx_in = &xmd;
		o.ctx_size_in = sizeof(xmd);
	} else {
		/*
		 * The kernel derives skb->protocol from the Ethernet header
		 * (eth_type_trans) for every skb program; cgroup_skb programs
		 * then see the packet from the network header on, so the same
		 * frames serve all hooks.
		 */
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	}
	err = bpf_prog_test_run_opts(fd, &o);
	if (err)
		return -errno;
	*retval = o.retval;
	if (duration)
		*duration = o.duration;
	return 0;
}

int bpfx_counters(struct bpfx *x, struct netseg_counter out[NETSEG_STAT_MAX])
{
	return netseg_dp_read_counters(x->dp, out);
}

size_t bpfx_events(struct bpfx *x)
{
	size_t before = x->nev;

	ring_buffer__consume(x->rb);
	return x->nev - before;
}

void bpfx_events_clear(struct bpfx *x)
{
	ring_buffer__consume(x->rb);
	x->nev = 0;
	x->ev_overflow = 0;
}

int bpfx_send(struct bpfx *x, int hook, const struct pkt *p, __u32 ifindex, struct bpfx_result *r)
{
	struct netseg_counter before[NETSEG_STAT_MAX], after[NETSEG_STAT_MAX];

	memset(r, 0, sizeof(*r));
	bpfx_events_clear(x);
	if (bpfx_counters(x, before))
		bail("couldn't read the counters");
	r->err = bpfx_run(x, hook, p, ifindex, 1, &r->retval, &r->duration);
	if (bpfx_counters(x, after))
		bail("couldn't read the counters");
	for (int i = 0; i < NETSEG_STAT_MAX; i++) {
		r->delta[i].packets = after[i].packets - before[i].packets;
		r->delta[i].bytes = after[i].bytes - before[i].bytes;
	}
	r->pass = !r->err && bpfx_is_pass(hook, r->retval);
	bpfx_events(x);
	r->nev = x->nev < ARRAY_LEN(r->ev) ? x->nev : ARRAY_LEN(r->ev);
	memcpy(r->ev, x->ev, r->nev * sizeof(r->ev[0]));
	return r->err;
}

void bpfx_diag_result(const struct bpfx_result *r, bool pass, int stat)
{
	char line[512];
	size_t n = 0;

	if (r->err)
		diag("  test run failed: %s", strerror(-r->err));
	else
		diag("  verdict %s (retval %d), want %s", r->pass ? "pass" : "drop", (int)r->retval,
		     pass ? "pass" : "drop");
	if (stat >= 0)
		diag("  want counter %s +1", netseg_stat_name(stat));
	line[0] = '\0';
	for (int i = 0; i < NETSEG_STAT_MAX && n < sizeof(line); i++) {
		if (!r->delta[i].packets)
			continue;
		n += snprintf(line + n, sizeof(line) - n, " %s=%llu", netseg_stat_name(i),
			      (unsigned long long)r->delta[i].packets);
	}
	diag("  counters moved:%s", line[0] ? line : " none");
	for (size_t i = 0; i < r->nev; i++)
		bpfx_diag_event(&r->ev[i]);
}

void bpfx_diag_event(const struct netseg_event *e)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = e->family == NETSEG_AF_INET6 ? AF_INET6 : AF_INET;

	inet_ntop(af, e->saddr, s, sizeof(s));
	inet_ntop(af, e->daddr, d, sizeof(d));
	diag("  event type=%u reason=%u hook=%u rule=%u src_id=%u dst_id=%u "
	     "%s:%u -> %s:%u proto=%u flow=%llx",
	     e->type, e->reason, e->hook, e->rule_id, e->src_id, e->dst_id, s, ntohs(e->sport), d,
	     ntohs(e->dport), e->proto, (unsigned long long)e->flow_id);
}

bool bpfx_event_is(const struct netseg_event *e, __u8 type, __u8 reason, __u32 rule_id,
		   __u32 src_id, __u32 dst_id)
{
	return e->type == type && e->reason == reason && e->rule_id == rule_id &&
	       e->src_id == src_id && e->dst_id == dst_id;
}

bool bpfx_event_matches_flow(const struct netseg_event *e, const struct pkt_flow *f, int hook)
{
	bool icmp = f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6;
	__u8 s[16], d[16];

	pkt_addr(f->af, f->src, s);
	pkt_addr(f->af, f->dst, d);
	if (memcmp(e->saddr, s, 16) || memcmp(e->daddr, d, 16))
		return false;
	if (e->family != (f->af == 6 ? NETSEG_AF_INET6 : NETSEG_AF_INET) || e->proto != f->proto ||
	    e->hook != hook)
		return false;
	if (e->reason == NETSEG_REASON_MALFORMED || e->reason == NETSEG_REASON_IMPOSSIBLE)
		return true;
	if (icmp)
		return e->icmp_type == f->icmp_type && e->icmp_code == f->icmp_code;
	if (f->proto == IPPROTO_TCP && e->tcp_flags != f->tcp_flags)
		return false;
	return ntohs(e->sport) == f->sport && ntohs(e->dport) == f->dport;
}

/* ------------------------------------------------------------ conntrack */

/* Mirrors ct.h's addr_cmp(): two native-endian 64-bit words. */
static int addr_cmp(const __u8 *a, const __u8 *b)
{
	__u64 a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	if (a0 != b0)
		return a0 < b0 ? -1 : 1;
	if (a1 != b1)
		return a1 < b1 ? -1 : 1;
	return 0;
}

bool bpfx_ct_key_of(int af, const __u8 src[16], const __u8 dst[16], __u16 sport, __u16 dport,
		    __u8 proto, struct netseg_ct_key *k)
{
	int c = addr_cmp(src, dst);
	bool swap = c > 0 || (c == 0 && sport > dport);

	memset(k, 0, sizeof(*k));
	memcpy(k->a_addr, swap ? dst : src, 16);
	memcpy(k->b_addr, swap ? src : dst, 16);
	k->a_port = htons(swap ? dport : sport);
	k->b_port = htons(swap ? sport : dport);
	k->proto = proto;
	k->family = af == 6 ? NETSEG_AF_INET6 : NETSEG_AF_INET;
	return swap;
}

void bpfx_ct_key_icmp(struct netseg_ct_key *k, bool swapped, bool same_addr, __u8 type,
		      __u8 request)
{
	k->icmp_type = request;
	/* The requester is "b" when a request's source or a reply's destination is. */
	k->icmp_flags = !same_addr && swapped == (type == request) ? NETSEG_CTK_REQ_IS_B : 0;
}

bool bpfx_ct_key(const struct pkt_flow *f, struct netseg_ct_key *k)
{
	__u8 s[16], d[16];
	__u16 dp = f->dport;
	bool swapped;

	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)
		dp = f->sport; /* the query's identifier on both sides */
	pkt_addr(f->af, f->src, s);
	pkt_addr(f->af, f->dst, d);
	swapped = bpfx_ct_key_of(f->af, s, d, f->sport, dp, f->proto, k);
	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)
		bpfx_ct_key_icmp(k, swapped, !memcmp(s, d, 16), f->icmp_type,
				 bpfx_icmp_request(f->proto, f->icmp_type));
	return swapped;
}

/* The request type of an ICMP query pair `type` belongs to (RFC 792/950/4443/4620), 0: none. */
__u8 bpfx_icmp_request(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP) {
		if (type == 0 || type == 8)
			return 8;
		if (type >= 13 && type <= 18)
			return type % 2 ? type : type - 1;
		return 0;
	}
	if (type == 128 || type == 129)
		return 128;
	return type == 139 || type == 140 ? 139 : 0;
}

int bpfx_ct_get(struct bpfx *x, const struct pkt_flow *f, struct netseg_ct_entry *e)
{
	struct netseg_ct_key k;

	bpfx_ct_key(f, &k);
	if (bpf_map_lookup_elem(netseg_dp_map_fd(x->dp, NETSEG_DPM_CT), &k, e))
		return -errno;
	return 0;
}

int bpfx_ct_count(struct bpfx *x)
{
	int fd = netseg_dp_map_fd(x->dp, NETSEG_DPM_CT), n = 0;
	struct netseg_ct_key k, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static void flush_map(int fd, size_t key_size)
{
	__u8 k[256];

	/* Deleting the first key each time avoids iterating a changing map. */
	while (!bpf_map_get_next_key(fd, NULL, k))
		if (bpf_map_delete_elem(fd, k))
			break;
	(void)key_size;
}

void bpfx_ct_flush(struct bpfx *x)
{
	flush_map(netseg_dp_map_fd(x->dp, NETSEG_DPM_CT), sizeof(struct netseg_ct_key));
}

void bpfx_frags_flush(struct bpfx *x)
{
	flush_map(netseg_dp_map_fd(x->dp, NETSEG_DPM_FRAGS), sizeof(struct netseg_frag_key));
}

/* ----------------------------------------------------------------- maps */

__u64 bpfx_rule_packets(struct bpfx *x, __u32 rule_id)
{
	int ncpu = libbpf_num_possible_cpus();
	struct netseg_counter *v;
	__u64 sum = 0;

	if (ncpu <= 0)
		return 0;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return 0;
	if (!bpf_map_lookup_elem(netseg_dp_map_fd(x->dp, NETSEG_DPM_RULE_STATS), &rule_id, v))
		for (int i = 0; i < ncpu; i++)
			sum += v[i].packets;
	free(v);
	return sum;
}

int bpfx_prefilter_hits(struct bpfx *x, int af, const char *addr, __u64 *hits)
{
	struct netseg_prefilter_val v;
	struct netseg_lpm_key k = {};

	k.family = af == 6 ? NETSEG_AF_INET6 : NETSEG_AF_INET;
	k.prefixlen = NETSEG_LPM_PLEN_HDR + (af == 6 ? 128 : 32);
	pkt_addr(af, addr, k.addr);
	if (bpf_map_lookup_elem(netseg_dp_map_fd(x->dp, NETSEG_DPM_PREFILTER), &k, &v))
		return -errno;
	*hits = v.hits;
	return 0;
}

const struct netseg_prefix *bpfx_prefix(struct netseg_prefix *p, int family, const void *addr,
					int plen)
{
	if (netseg_prefix_set(p, family, addr, plen))
		bail("bad test prefix: family %d, length %d", family, plen);
	return p;
}

void bpfx_host(struct bpfx *x, int af, const char *addr, __u32 id, __u32 ifindex)
{
	struct netseg_prefix p;
	__u8 a[16];
	int err;

	if (pkt_addr(af, addr, a))
		bail("bad test address %s", addr);
	err = netseg_dp_ipcache_set(x->dp,
				    bpfx_prefix(&p, af == 6 ? NETSEG_AF_INET6 : NETSEG_AF_INET, a,
						af == 6 ? 128 : 32),
				    id, ifindex);
	if (err)
		bail("couldn't add %s to the ipcache: %s", addr, strerror(-err));
}

/* The usual fixture: an endpoint identity with one v4 and one v6 address. */
void bpfx_endpoint(struct bpfx *x, __u32 id, const char *ip4, const char *ip6)
{
	bpfx_identity(x, id, NETSEG_IDF_ENDPOINT);
	bpfx_host(x, 4, ip4, id, 0);
	bpfx_host(x, 6, ip6, id, 0);
}

void bpfx_identity(struct bpfx *x, __u32 id, __u32 flags)
{
	int err = netseg_dp_identity_set(x->dp, id, flags);

	if (err)
		bail("couldn't set identity %u: %s", id, strerror(-err));
}

struct netseg_policy_entry bpfx_rule(__u32 src, __u32 dst, int proto, __u16 port, int port_bits,
				     __u8 verdict, __u32 rule_id, __u8 flags)
{
	struct netseg_policy_entry e;

	memset(&e, 0, sizeof(e));
	e.key.dst_id = dst;
	e.key.src_id = src;
	if (proto < 0) {
		e.key.prefixlen = NETSEG_POLICY_PLEN_IDS;
	} else {
		e.key.proto = proto;
		e.key.prefixlen = NETSEG_POLICY_PLEN_PROTO + port_bits;
		/* Bits past the prefix must be zero for an LPM key. */
		if (port_bits)
			e.key.dport = htons(port & (__u16)(0xffff << (16 - port_bits)));
	}
	e.val.verdict = verdict;
	e.val.flags = flags;
	e.val.rule_id = rule_id;
	return e;
}

struct netseg_policy_entry bpfx_icmp_rule(__u32 src, __u32 dst, int proto, __u8 type, __u8 verdict,
					  __u32 rule_id)
{
	return bpfx_rule(src, dst, proto, (__u16)type << 8, 8, verdict, rule_id, 0);
}

__u64 bpfx_policy(struct bpfx *x, const struct netseg_policy_entry *e, size_t n)
{
	__u64 gen = 0;
	int err = netseg_dp_policy_swap(x->dp, e, n, &gen);

	if (err)
		bail("couldn't swap in a policy of %zu entries: %s", n, strerror(-err));
	return gen;
}
