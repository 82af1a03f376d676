// SPDX-License-Identifier: GPL-2.0-only
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

static const struct {
	__u8 num;
	const char *name; /* the rule grammar's word */
	const char *iana; /* IANA's protocol keyword */
	const char *k8s;  /* a NetworkPolicy port's protocol */
} protos[] = {
	{ 0, "any", NULL, NULL },
	{ IPPROTO_TCP, "tcp", "tcp", "TCP" },
	{ IPPROTO_UDP, "udp", "udp", "UDP" },
	{ IPPROTO_SCTP, "sctp", "sctp", "SCTP" },
	{ IPPROTO_ICMP, "icmp", "icmp", NULL },
	{ IPPROTO_ICMPV6, "icmpv6", "ipv6-icmp", NULL },
};

#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

const char *netseg_proto_name(__u8 proto)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (protos[i].num == proto)
			return protos[i].name;
	return NULL;
}

int netseg_proto_by_name(const char *s, size_t n)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (strlen(protos[i].name) == n && !strncasecmp(s, protos[i].name, n))
			return protos[i].num;
	return -1;
}

const char *netseg_proto_iana_name(int proto)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (protos[i].num == proto)
			return protos[i].iana;
	return NULL;
}

const char *netseg_proto_k8s_name(int proto)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (protos[i].num == proto)
			return protos[i].k8s;
	return NULL;
}

int netseg_proto_by_k8s_name(const char *s)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (protos[i].k8s && !strcmp(s, protos[i].k8s))
			return protos[i].num;
	return -1;
}
