// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rtnetlink socket (libmnl): links, addresses, routes and neighbours as
 * they change, plus full dumps — one at a time, in that order — at start
 * and whenever the socket overran (ENOBUFS: events were lost, so only a
 * fresh dump can tell what is true).  Each dump marks what it restates
 * and sweeps what it didn't restate once it is done.
 *
 * Every message is checked before use: header lengths, then each attribute
 * we read through mnl_attr_validate(); a message that fails is counted and
 * dropped, unknown families and types are ignored.  Another process with
 * CAP_NET_ADMIN could send us messages, but it could change the real tables
 * just as well, so validation rather than the sender is what keeps us safe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <cjson/cJSON.h>

#include "hash.h"
#include "log.h"
#include "netsegd.h"

#define RTNL_BUF (64 << 10) /* one recv: bigger than any dump part */
#define RTNL_BATCH 512	    /* recvs per wakeup before others get a turn */

#define RTNL_GROUPS                                                                                \
	(RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | \
	 RTMGRP_IPV6_IFADDR)

/*
 * Neighbour entries we take as an endpoint's addresses: the ones the node
 * was told (PERMANENT: "ip neigh add", an orchestrator's static entry) or
 * makes itself on a NOARP device.  Not the rest of NUD_VALID (REACHABLE,
 * STALE, DELAY, PROBE): the kernel learns those from what arrives on the
 * interface, and a pod that ARPs "198.18.9.9 is at my MAC" would get any
 * address it likes accepted as its own, the very thing the spoof check is
 * there to stop.
 */
#define RTNL_NUD_TRUSTED (NUD_PERMANENT | NUD_NOARP)

enum dump_step { DUMP_IDLE, DUMP_LINKS, DUMP_ADDRS, DUMP_ROUTES, DUMP_NEIGHS, DUMP_STEPS };

struct netsegd_rtnl {
	struct mnl_socket *nl;
	__u32 seq; /* of the dump in progress */
	enum dump_step step;
	bool resync; /* events were lost: dump everything again */
	bool intr;   /* the kernel says a dump was interrupted */
	bool synced; /* a full dump has completed */
	/* Messages are read in place: aligned as their headers need. */
	char buf[RTNL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
};

static const struct {
	int type;
	size_t hdrlen; /* its family header, sent zeroed: all families */
	const char *what;
	__u32 kinds; /* claims the dump restates */
	bool links;
} steps[DUMP_STEPS] = {
	[DUMP_LINKS] = { RTM_GETLINK, sizeof(struct ifinfomsg), "links", 0, true },
	[DUMP_ADDRS] = { RTM_GETADDR, sizeof(struct ifaddrmsg), "addresses",
			 NETSEG_IPSRC_BIT(NETSEG_IPSRC_HOST) |
				 NETSEG_IPSRC_BIT(NETSEG_IPSRC_PEER) },
	[DUMP_ROUTES] = { RTM_GETROUTE, sizeof(struct rtmsg), "routes",
			  NETSEG_IPSRC_BIT(NETSEG_IPSRC_ROUTE) },
	[DUMP_NEIGHS] = { RTM_GETNEIGH, sizeof(struct ndmsg), "neighbours",
			  NETSEG_IPSRC_BIT(NETSEG_IPSRC_NEIGH) },
};

/* ------------------------------------------------------------- parsing */

/* How to check each attribute we read: ATTR_ADDR = an address of the
 * message's family (4 or 16 bytes). */
#define ATTR_ADDR ((enum mnl_attr_data_type)(MNL_TYPE_MAX + 1))

struct attr_rules {
	const enum mnl_attr_data_type *type; /* by attribute type; 0 = unused */
	unsigned int max;
};

struct parse_ctx {
	const struct attr_rules *rules;
	size_t addrlen;
	const struct nlattr **tb;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct parse_ctx *p = data;
	unsigned int type = mnl_attr_get_type(a);
	enum mnl_attr_data_type want;
	int bad;

	if (type > p->rules->max || !p->rules->type[type])
		return MNL_CB_OK; /* not one we read */
	want = p->rules->type[type];
	if (want == ATTR_ADDR)
		bad = mnl_attr_validate2(a, MNL_TYPE_BINARY, p->addrlen);
	else
		bad = mnl_attr_validate(a, want);
	if (bad)
		return MNL_CB_ERROR;
	p->tb[type] = a;
	return MNL_CB_OK;
}

/* 0, or -EINVAL when the family header is short or an attribute is bad. */
static int parse(const struct nlmsghdr *nlh, size_t hdrlen, const struct attr_rules *r,
		 size_t addrlen, const struct nlattr **tb)
{
	struct parse_ctx p = { .rules = r, .addrlen = addrlen, .tb = tb };

	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen)
		return -EINVAL;
	return mnl_attr_parse(nlh, hdrlen, attr_cb, &p) == MNL_CB_ERROR ? -EINVAL : 0;
}

static const enum mnl_attr_data_type link_types[IFLA_MAX + 1] = {
	[IFLA_IFNAME] = MNL_TYPE_NUL_STRING,
	[IFLA_IFALIAS] = MNL_TYPE_NUL_STRING,
};
static const enum mnl_attr_data_type addr_types[IFA_MAX + 1] = {
	[IFA_ADDRESS] = ATTR_ADDR,
	[IFA_LOCAL] = ATTR_ADDR,
	[IFA_FLAGS] = MNL_TYPE_U32,
};
static const enum mnl_attr_data_type route_types[RTA_MAX + 1] = {
	[RTA_DST] = ATTR_ADDR,
	[RTA_OIF] = MNL_TYPE_U32,
	[RTA_TABLE] = MNL_TYPE_U32,
	[RTA_PRIORITY] = MNL_TYPE_U32,
};
static const enum mnl_attr_data_type neigh_types[NDA_MAX + 1] = {
	[NDA_DST] = ATTR_ADDR,
};
static const struct attr_rules link_rules = { link_types, IFLA_MAX };
static const struct attr_rules addr_rules = { addr_types, IFA_MAX };
static const struct attr_rules route_rules = { route_types, RTA_MAX };
static const struct attr_rules neigh_rules = { neigh_types, NDA_MAX };

/* NETSEG_AF_* of an AF_* we learn from, 0 for the rest. */
static int inet_family(int af)
{
	return af == AF_INET ? NETSEG_AF_INET : af == AF_INET6 ? NETSEG_AF_INET6 : 0;
}

static size_t family_addrlen(int fam)
{
	return fam == NETSEG_AF_INET ? 4 : 16;
}

static int family_max(int fam)
{
	return fam == NETSEG_AF_INET ? 32 : 128;
}

/* ------------------------------------------------------------ messages */

static int on_link(struct netsegd *d, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[IFLA_MAX + 1] = {};
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct netsegd_link_info li;

	if (parse(nlh, sizeof(*ifi), &link_rules, 0, tb))
		return -EINVAL;
	/* AF_BRIDGE messages are about bridge ports: a DELLINK there means
	 * "left the bridge", not "gone". */
	if (ifi->ifi_family != AF_UNSPEC || ifi->ifi_index <= 0)
		return 0;
	if (nlh->nlmsg_type == RTM_DELLINK) {
		netsegd_link_gone(d, ifi->ifi_index);
		return 0;
	}
	if (!tb[IFLA_IFNAME] || strlen(mnl_attr_get_str(tb[IFLA_IFNAME])) >= IFNAMSIZ ||
	    (tb[IFLA_IFALIAS] && strlen(mnl_attr_get_str(tb[IFLA_IFALIAS])) >= NETSEGD_ALIAS_MAX))
		return -EINVAL;
	li.ifindex = ifi->ifi_index;
	li.flags = ifi->ifi_flags;
	li.name = mnl_attr_get_str(tb[IFLA_IFNAME]);
	li.alias = tb[IFLA_IFALIAS] ? mnl_attr_get_str(tb[IFLA_IFALIAS]) : "";
	netsegd_link_update(d, &li);
	return 0;
}

/* Every claim an address makes, each on its own (one failing leaves the
 * others right); returns the first error. */
static int addr_claims(struct netsegd *d, int fam, const struct ifaddrmsg *ifa, const void *local,
		       const void *peer, bool add)
{
	enum netsegd_ip_op op = add ? NETSEGD_IP_CLAIM : NETSEGD_IP_UNCLAIM;
	struct netseg_ipsrc s = { .kind = NETSEG_IPSRC_HOST, .ifindex = ifa->ifa_index };
	int max = family_max(fam), err, e;

	s.tag = netseg_fnv1a64(ifa->ifa_prefixlen, local, family_addrlen(fam));
	err = netsegd_ip_update(d, fam, local, max, &s, op);
	if (ifa->ifa_scope == RT_SCOPE_HOST && ifa->ifa_prefixlen < max) {
		e = netsegd_ip_update(d, fam, local, ifa->ifa_prefixlen, &s, op);
		err = err ?: e;
	}
	if (peer && ifa->ifa_prefixlen == max) {
		s.kind = NETSEG_IPSRC_PEER;
		e = netsegd_ip_update(d, fam, peer, max, &s, op);
		err = err ?: e;
	}
	return err;
}

/*
 * An address: its local side is the node's own, on whatever interface it
 * sits (the node's 198.18.0.1 on each pod veth too); on a loopback-scope
 * address, like 127.0.0.1/8, the whole prefix is.  A peer address ("ip addr
 * add A peer B/32") is what is at the other end of the interface: an
 * address of that endpoint.
 */
static int on_addr(struct netsegd *d, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[IFA_MAX + 1] = {};
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *local, *peer = NULL;
	size_t alen;
	__u32 flags;
	int fam;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EINVAL;
	fam = inet_family(ifa->ifa_family);
	if (!fam || !ifa->ifa_index)
		return 0;
	alen = family_addrlen(fam);
	if (parse(nlh, sizeof(*ifa), &addr_rules, alen, tb))
		return -EINVAL;
	local = tb[IFA_LOCAL] ?: tb[IFA_ADDRESS];
	if (!local || ifa->ifa_prefixlen > family_max(fam))
		return -EINVAL;
	if (tb[IFA_LOCAL] && tb[IFA_ADDRESS] &&
	    memcmp(mnl_attr_get_payload(tb[IFA_LOCAL]), mnl_attr_get_payload(tb[IFA_ADDRESS]),
		   alen))
		peer = tb[IFA_ADDRESS];
	flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	return addr_claims(d, fam, ifa, mnl_attr_get_payload(local),
			   peer ? mnl_attr_get_payload(peer) : NULL,
			   nlh->nlmsg_type == RTM_NEWADDR && !(flags & IFA_F_DADFAILED));
}

/*
 * Which routes say whose an address is.  Only those an administrator or
 * an orchestrator (a CNI plugin) put there: "ip route add" and netlink
 * without a protocol give RTPROT_BOOT, and RTPROT_STATIC is the one for
 * static configuration.  Not the rest, as each is made from what arrives
 * on the wire or is about something else:
 *   RTPROT_RA, RTPROT_REDIRECT, RTPROT_DHCP  made from a packet: with
 *       accept_ra on a pod's veth, one router advertisement from a pod put a
 *       /128 on its veth for another pod's address
 *   routing daemons (zebra, bird, BGP, OSPF, babel, ...)  routes their
 *       peers announced; a pod that peers with the node could announce a
 *       /32 of anyone
 *   RTPROT_KERNEL  made from an address of ours (fd00::1/128's, a peer
 *       address's): about the node, or learned from the address itself
 */
static bool route_trusted(__u8 protocol)
{
	return protocol == RTPROT_BOOT || protocol == RTPROT_STATIC;
}

/*
 * A route we don't trust claims nothing; when the kernel says it replaced
 * one (same key, see on_route), a claim that one made is gone with it.
 * Only then: the kernel appends its own routes after one with the same key
 * (fib_magic's NLM_F_APPEND), and the first one stays in force.
 */
static int untrusted_route(struct netsegd *d, const struct nlmsghdr *nlh, int fam, const void *dst,
			   const struct netseg_ipsrc *s, bool replaced)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	char text[INET6_ADDRSTRLEN] = "?";

	/* Said of endpoints only (a DHCP client's route to its gateway out of
	 * an uplink is no news), once: kernel routes come with every address,
	 * and dumps restate what was said. */
	if (rtm->rtm_protocol != RTPROT_KERNEL && !(nlh->nlmsg_flags & NLM_F_MULTI) &&
	    netsegd_endpoint_id(d, s->ifindex)) {
		d->eps.stats.routes_untrusted++;
		inet_ntop(fam == NETSEG_AF_INET ? AF_INET : AF_INET6, dst, text, sizeof(text));
		pr_warn("ignored the route to %s out of endpoint ifindex %u: protocol %u isn't "
			"one that says whose an address is (only boot and static routes do)",
			text, s->ifindex, rtm->rtm_protocol);
	}
	if (!replaced)
		return 0;
	return netsegd_ip_update(d, fam, dst, family_max(fam), s, NETSEGD_IP_FORGET);
}

/*
 * A host route (/32, /128, unicast, not a cached clone) out of one
 * interface, of a protocol we trust.  IPv4 keys a route by table,
 * destination, TOS and metric, so a new route with a known key replaced
 * the old one without a word; IPv6 also keys by interface and says
 * NLM_F_REPLACE when it replaced one.
 */
static int on_route(struct netsegd *d, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[RTA_MAX + 1] = {};
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct netseg_ipsrc s = { .kind = NETSEG_IPSRC_ROUTE };
	enum netsegd_ip_op op = NETSEGD_IP_CLAIM;
	__u32 table, prio;
	int fam;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EINVAL;
	fam = inet_family(rtm->rtm_family);
	if (!fam || rtm->rtm_dst_len != family_max(fam) || rtm->rtm_type != RTN_UNICAST ||
	    (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	if (parse(nlh, sizeof(*rtm), &route_rules, family_addrlen(fam), tb) || !tb[RTA_DST])
		return -EINVAL;
	if (!tb[RTA_OIF])
		return 0; /* multipath: names no one interface */
	table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	prio = tb[RTA_PRIORITY] ? mnl_attr_get_u32(tb[RTA_PRIORITY]) : 0;
	s.tag = netseg_fnv1a64(netseg_fnv1a64(rtm->rtm_tos, &prio, sizeof(prio)), &table,
			       sizeof(table));
	s.ifindex = mnl_attr_get_u32(tb[RTA_OIF]);
	if (nlh->nlmsg_type == RTM_DELROUTE)
		op = NETSEGD_IP_UNCLAIM;
	else if (fam == NETSEG_AF_INET || (nlh->nlmsg_flags & NLM_F_REPLACE))
		op = NETSEGD_IP_MOVE;
	if (!route_trusted(rtm->rtm_protocol))
		return op == NETSEGD_IP_UNCLAIM ?
			       0 :
			       untrusted_route(d, nlh, fam, mnl_attr_get_payload(tb[RTA_DST]), &s,
					       nlh->nlmsg_flags & NLM_F_REPLACE);
	return netsegd_ip_update(d, fam, mnl_attr_get_payload(tb[RTA_DST]), family_max(fam), &s,
				 op);
}

/* A unicast neighbour in a state we trust; any other state is as good as
 * gone (an entry can go from PERMANENT to anything by "ip neigh replace"). */
static int on_neigh(struct netsegd *d, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[NDA_MAX + 1] = {};
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct netseg_ipsrc s = { .kind = NETSEG_IPSRC_NEIGH };
	int fam;
	bool add;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm))
		return -EINVAL;
	fam = inet_family(ndm->ndm_family);
	if (!fam || ndm->ndm_ifindex <= 0 || (ndm->ndm_flags & NTF_PROXY) ||
	    ndm->ndm_type != RTN_UNICAST)
		return 0;
	if (parse(nlh, sizeof(*ndm), &neigh_rules, family_addrlen(fam), tb) || !tb[NDA_DST])
		return -EINVAL;
	s.ifindex = ndm->ndm_ifindex;
	add = nlh->nlmsg_type == RTM_NEWNEIGH && (ndm->ndm_state & RTNL_NUD_TRUSTED);
	return netsegd_ip_update(d, fam, mnl_attr_get_payload(tb[NDA_DST]), family_max(fam), &s,
				 add ? NETSEGD_IP_CLAIM : NETSEGD_IP_UNCLAIM);
}

/* ---------------------------------------------------------------- dumps */

static int dump_request(struct netsegd_rtnl *r, enum dump_step step)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	mnl_nlmsg_put_extra_header(nlh, steps[step].hdrlen); /* zeroed: AF_UNSPEC */
	nlh->nlmsg_type = steps[step].type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++r->seq;
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

static void dump_start(struct netsegd *d, enum dump_step step)
{
	struct netsegd_rtnl *r = d->rtnl;
	int err;

	netsegd_resync_mark(d, steps[step].kinds, steps[step].links);
	err = dump_request(r, step);
	if (err) {
		pr_warn("couldn't ask the kernel for its %s: %s; retrying in a second",
			steps[step].what, strerror(-err));
		r->step = DUMP_IDLE;
		r->resync = true;
		return;
	}
	r->step = step;
}

static void dump_all(struct netsegd *d)
{
	d->rtnl->resync = false;
	d->rtnl->intr = false;
	dump_start(d, DUMP_LINKS);
}

static void dump_done(struct netsegd *d)
{
	struct netsegd_rtnl *r = d->rtnl;
	enum dump_step step = r->step;

	netsegd_resync_sweep(d, steps[step].kinds, steps[step].links);
	if (r->resync) { /* lost events meanwhile: start over */
		dump_all(d);
		return;
	}
	if (step + 1 < DUMP_STEPS) {
		dump_start(d, step + 1);
		return;
	}
	r->step = DUMP_IDLE;
	d->eps.stats.nl_dumps++;
	netsegd_endpoints_reconcile(d);
	if (!r->synced) {
		pr_info("learned %zu interfaces (%zu endpoints) and %zu ipcache prefixes",
			d->eps.nlinks, netsegd_endpoint_count(d), d->eps.ips.n);
	}
	r->synced = true;
	d->eps.stats.nl_synced = true; /* the loop says the daemon is ready */
	if (r->intr) {
		pr_info("a dump was interrupted by changes; dumping again");
		dump_all(d);
	}
}

static void on_error(struct netsegd *d, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct netsegd_rtnl *r = d->rtnl;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e) || !e->error)
		return;
	if (r->step != DUMP_IDLE && nlh->nlmsg_seq == r->seq) {
		pr_warn("the kernel refused the dump of %s: %s; retrying in a second",
			steps[r->step].what, strerror(-e->error));
		r->step = DUMP_IDLE;
		r->resync = true;
	}
}

/* ---------------------------------------------------------------- socket */

static void handle(struct netsegd *d, const struct nlmsghdr *nlh)
{
	struct netsegd_rtnl *r = d->rtnl;
	bool ours = r->step != DUMP_IDLE && nlh->nlmsg_seq == r->seq;
	int err = 0;

	d->eps.stats.nl_msgs++;
	if (ours && (nlh->nlmsg_flags & NLM_F_DUMP_INTR))
		r->intr = true;
	switch (nlh->nlmsg_type) {
	case NLMSG_DONE:
		if (ours)
			dump_done(d);
		break;
	case NLMSG_ERROR:
		on_error(d, nlh);
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		err = on_link(d, nlh);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		err = on_addr(d, nlh);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		err = on_route(d, nlh);
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		err = on_neigh(d, nlh);
		break;
	default:
		break; /* not ours to care about */
	}
	if (err == -EINVAL) {
		d->eps.stats.nl_bad++;
		pr_debug("ignored a malformed rtnetlink message (type %u, %u bytes)",
			 nlh->nlmsg_type, nlh->nlmsg_len);
	}
}

/*
 * What one recv gave: messages one after the other, each checked before use.
 * mnl_nlmsg_ok() compares nlmsg_len with the bytes left as an int, so a
 * length of 2^31 or more passes it: 0xffffffff then aligns to 0 (the loop
 * never moves on), others jump far past the buffer.  The kernel never sends
 * that, but another CAP_NET_ADMIN process can: check it as unsigned too.
 */
void netsegd_rtnl_input(struct netsegd *d, const void *buf, int len)
{
	const struct nlmsghdr *nlh = buf;

	for (; mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (__u32)len;
	     nlh = mnl_nlmsg_next(nlh, &len))
		handle(d, nlh);
}

static void overrun(struct netsegd *d)
{
	d->eps.stats.nl_overruns++;
	d->rtnl->resync = true;
	pr_warn("rtnetlink socket overran: events were lost; dumping everything again");
}

void netsegd_rtnl_event(struct netsegd *d)
{
	struct netsegd_rtnl *r = d->rtnl;

	for (int i = 0; i < RTNL_BATCH; i++) {
		int n = mnl_socket_recvfrom(r->nl, r->buf, sizeof(r->buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0 && (errno == ENOBUFS || errno == ENOSPC)) {
			overrun(d); /* ENOSPC: a message didn't fit, as bad */
			continue;
		}
		if (n < 0) {
			pr_err("couldn't read the rtnetlink socket: %s", strerror(errno));
			break;
		}
		netsegd_rtnl_input(d, r->buf, n);
	}
	if (r->resync && r->step == DUMP_IDLE)
		dump_all(d);
}

/* Retries a dump the kernel refused. */
void netsegd_rtnl_tick(struct netsegd *d)
{
	if (d->rtnl && d->rtnl->resync && d->rtnl->step == DUMP_IDLE)
		dump_all(d);
}

static int set_rcvbuf(int fd, int size)
{
	/* FORCE passes rmem_max (we are root); plain RCVBUF is capped by it. */
	if (!setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		return 0;
	pr_warn("couldn't set a %d byte rtnetlink buffer (%s); capped at rmem_max", size,
		strerror(errno));
	return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) ? -errno : 0;
}

int netsegd_rtnl_open(struct netsegd *d)
{
	struct netsegd_rtnl *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!r->nl) {
		err = -errno;
		goto fail;
	}
	set_rcvbuf(mnl_socket_get_fd(r->nl), d->cfg.netlink_rcvbuf);
	if (mnl_socket_bind(r->nl, RTNL_GROUPS, MNL_SOCKET_AUTOPID)) {
		err = -errno;
		goto fail;
	}
	d->rtnl = r;
	dump_all(d);
	return 0;
fail:
	pr_err("couldn't open the rtnetlink socket: %s", strerror(-err));
	if (r->nl)
		mnl_socket_close(r->nl);
	free(r);
	d->rtnl = NULL;
	return err;
}

void netsegd_rtnl_close(struct netsegd *d)
{
	if (!d->rtnl)
		return;
	mnl_socket_close(d->rtnl->nl);
	free(d->rtnl);
	d->rtnl = NULL;
}

int netsegd_rtnl_fd(const struct netsegd *d)
{
	return d->rtnl ? mnl_socket_get_fd(d->rtnl->nl) : -1;
}
