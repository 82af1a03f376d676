/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which flow records a reader of the daemon's history wants (`netsegctl
 * observe`, `flows`): the daemon applies it to its history and to live
 * records, so only what is shown crosses the control socket.  The client
 * parses the same words with the same functions, to refuse a bad value
 * before it connects.
 *
 * In a `flows` request (all optional, ANDed):
 *
 *   "from", "to"  string   the source / destination: an identity name,
 *                          "world", "host", an IP address or a CIDR
 *   "port"        string   "443" or "8000-8080": either port of the record
 *                          (the service port of a flow, or the source port
 *                          of a denied reply); records without ports fail
 *   "verdicts"    string   "allowed,denied": any of allowed, denied, audit,
 *                          end
 *   "since"       number   seconds before now (realtime): older records fail
 */
#ifndef NETSEG_FLOWFILTER_H
#define NETSEG_FLOWFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "flowrec.h"

struct cJSON;

enum netseg_peer_kind {
	NETSEG_PEER_ANY = 0,
	NETSEG_PEER_NAME, /* an identity by name (world, host included) */
	NETSEG_PEER_CIDR, /* an address or prefix */
};

struct netseg_flowpeer {
	int kind; /* enum netseg_peer_kind */
	char name[NETSEG_FLOWREC_NAME_MAX];
	__u8 family; /* NETSEG_AF_* */
	__u8 plen;
	__u8 addr[16]; /* network order; v4 in the first 4 bytes */
};

struct netseg_flowfilter {
	struct netseg_flowpeer from, to;
	unsigned int verdicts; /* bit per enum netseg_flowrec_kind; 0 = any */
	bool has_port;
	__u16 port_lo, port_hi;
	__u64 since_ns; /* realtime; 0 = any */
};

/*
 * An identity name, IP address or CIDR.  0, or -EINVAL with why (what
 * was expected, a corrected CIDR for one with host bits set).
 */
int netseg_flowpeer_parse(const char *s, struct netseg_flowpeer *p, char *why, size_t len);
/* "443" or "8000-8080" (1-65535, lo <= hi).  0 or -EINVAL. */
int netseg_flowport_parse(const char *s, __u16 *lo, __u16 *hi);
/* "allowed,audit": bits per enum netseg_flowrec_kind.  0 or -EINVAL. */
int netseg_flowverdicts_parse(const char *s, unsigned int *bits);

/*
 * The filter members of a request (above) into @f; @now_ns (realtime)
 * turns "since" into a bound.  0, or -EINVAL with why naming the member.
 */
int netseg_flowfilter_from_json(const struct cJSON *req, __u64 now_ns, struct netseg_flowfilter *f,
				char *why, size_t len);
bool netseg_flowfilter_match(const struct netseg_flowfilter *f, const struct netseg_flowrec *r);

#endif /* NETSEG_FLOWFILTER_H */
