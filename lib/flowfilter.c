// SPDX-License-Identifier: GPL-2.0-only
/* Flow record filters for the history and live flows (see flowfilter.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "flowfilter.h"
#include "identity.h"
#include "prefix.h"

int netseg_flowpeer_parse(const char *s, struct netseg_flowpeer *p, char *why, size_t len)
{
	struct netseg_prefix pf;
	struct netseg_err pe;

	memset(p, 0, sizeof(*p));
	if (!*s) {
		snprintf(why, len, "an empty value: give an identity name, IP address or CIDR");
		return -EINVAL;
	}
	if (!netseg_prefix_parse(s, &pf, &pe)) {
		p->kind = NETSEG_PEER_CIDR;
		p->family = pf.family;
		p->plen = pf.plen;
		memcpy(p->addr, pf.addr, 16);
		return 0;
	}
	/* Identity names have neither; an address with a typo does. */
	if (strchr(s, '/') || strchr(s, ':')) {
		snprintf(why, len, "\"%s\" is not an IP address or CIDR: %s", s, pe.msg);
		return -EINVAL;
	}
	if (strlen(s) >= sizeof(p->name)) {
		snprintf(why, len, "an identity name has at most %zu characters",
			 sizeof(p->name) - 1);
		return -EINVAL;
	}
	p->kind = NETSEG_PEER_NAME;
	strcpy(p->name, s);
	return 0;
}

int netseg_flowport_parse(const char *s, __u16 *lo, __u16 *hi)
{
	unsigned long a, b;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	a = strtoul(s, &end, 10);
	b = a;
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return -EINVAL;
		b = strtoul(end + 1, &end, 10);
	}
	if (*end || a < 1 || a > 65535 || b < a || b > 65535)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

int netseg_flowverdicts_parse(const char *s, unsigned int *bits)
{
	static const int kinds[] = { NETSEG_FLOW_ALLOWED, NETSEG_FLOW_DENIED, NETSEG_FLOW_AUDIT,
				     NETSEG_FLOW_END };
	const char *p = s;

	*bits = 0;
	do {
		size_t n = strcspn(p, ",");
		bool found = false;

		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			const char *name = netseg_flowrec_kind_name(kinds[i]);

			if (strlen(name) == n && !strncmp(p, name, n)) {
				*bits |= 1U << kinds[i];
				found = true;
			}
		}
		if (!found)
			return -EINVAL;
		p += n;
	} while (*p++ == ',');
	return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A member present but not a string is as wrong as a bad string. */
static int member(const cJSON *req, const char *k, const char **v, char *why, size_t len)
{
	const cJSON *it = cJSON_GetObjectItem(req, k);

	*v = jstr(req, k);
	if (it && !*v) {
		snprintf(why, len, "\"%s\" must be a string", k);
		return -EINVAL;
	}
	return 0;
}

int netseg_flowfilter_from_json(const cJSON *req, __u64 now_ns, struct netseg_flowfilter *f,
				char *why, size_t len)
{
	const char *from, *to, *port, *verdicts;
	const cJSON *since = cJSON_GetObjectItem(req, "since");
	char tmp[160];

	memset(f, 0, sizeof(*f));
	if (member(req, "from", &from, why, len) || member(req, "to", &to, why, len) ||
	    member(req, "port", &port, why, len) || member(req, "verdicts", &verdicts, why, len))
		return -EINVAL;
	if (from && netseg_flowpeer_parse(from, &f->from, tmp, sizeof(tmp))) {
		snprintf(why, len, "from: %s", tmp);
		return -EINVAL;
	}
	if (to && netseg_flowpeer_parse(to, &f->to, tmp, sizeof(tmp))) {
		snprintf(why, len, "to: %s", tmp);
		return -EINVAL;
	}
	if (port && netseg_flowport_parse(port, &f->port_lo, &f->port_hi)) {
		snprintf(why, len, "port: \"%.32s\" is not a port (1-65535) or range LO-HI", port);
		return -EINVAL;
	}
	f->has_port = port != NULL;
	if (verdicts && netseg_flowverdicts_parse(verdicts, &f->verdicts)) {
		snprintf(why, len,
			 "verdicts: \"%.64s\" is not a list of allowed, denied, audit, end",
			 verdicts);
		return -EINVAL;
	}
	if (since) {
		/* The range on the double: converting one that doesn't fit is UB. */
		if (!cJSON_IsNumber(since) ||
		    !(since->valuedouble >= 0 && since->valuedouble <= 100.0 * 365 * 86400)) {
			snprintf(why, len, "since: seconds before now, 0 to 100 years");
			return -EINVAL;
		}
		__u64 back = (__u64)(since->valuedouble * 1e9);

		f->since_ns = back < now_ns ? now_ns - back : 1;
	}
	return 0;
}

static bool prefix_has(const struct netseg_flowpeer *p, int family, const __u8 *a)
{
	int full = p->plen / 8, rest = p->plen % 8;

	if (family != p->family || memcmp(a, p->addr, full))
		return false;
	return !rest || !((a[full] ^ p->addr[full]) & (0xff << (8 - rest)));
}

static bool peer_has(const struct netseg_flowpeer *p, const char *name, int family,
		     const __u8 *addr)
{
	switch (p->kind) {
	case NETSEG_PEER_NAME:
		return !strcmp(p->name, name);
	case NETSEG_PEER_CIDR:
		return prefix_has(p, family, addr);
	}
	return true;
}

bool netseg_flowfilter_match(const struct netseg_flowfilter *f, const struct netseg_flowrec *r)
{
	if (f->since_ns && r->time_ns < f->since_ns)
		return false;
	/* A loss report is about the stream, not a flow: every reader gets it. */
	if (r->kind == NETSEG_FLOW_LOST)
		return true;
	if (f->verdicts && !(f->verdicts & (1U << r->kind)))
		return false;
	if (!peer_has(&f->from, r->src_name, r->family, r->saddr_raw) ||
	    !peer_has(&f->to, r->dst_name, r->family, r->daddr_raw))
		return false;
	if (!f->has_port)
		return true;
	return r->has_ports && ((r->sport >= f->port_lo && r->sport <= f->port_hi) ||
				(r->dport >= f->port_lo && r->dport <= f->port_hi));
}
