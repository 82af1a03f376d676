/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IP protocols netseg names, one table: the rule grammar's words
 * (tcp, udp, sctp, icmp, icmpv6, any), trace's arguments, learn mode's
 * output, the IANA keywords flow-record formats want ("ipv6-icmp") and
 * the Kubernetes API's ("TCP").
 */
#ifndef NETSEG_PROTO_H
#define NETSEG_PROTO_H

#include <stddef.h>
#include <linux/types.h>

/* "tcp", "udp", "sctp", "icmp", "icmpv6", "any" (0) or NULL if unknown. */
const char *netseg_proto_name(__u8 proto);
/* The number of the protocol named by the @n bytes at @s, any case; "any"
 * is 0; -1 for no protocol netseg knows. */
int netseg_proto_by_name(const char *s, size_t n);
/* IANA's keyword for a known protocol ("ipv6-icmp"); NULL for 0 and
 * protocols netseg doesn't name. */
const char *netseg_proto_iana_name(int proto);

/* The Kubernetes API's spelling ("TCP", "UDP", "SCTP": NetworkPolicy
 * ports have no others); NULL for any other protocol. */
const char *netseg_proto_k8s_name(int proto);
/* Its inverse, exact as the API is; -1 for anything else. */
int netseg_proto_by_k8s_name(const char *s);

#endif /* NETSEG_PROTO_H */
