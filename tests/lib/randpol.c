// SPDX-License-Identifier: GPL-2.0-only
/* Seeded randomness and random rule sets; see randpol.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "randpol.h"
#include "tap.h"

static __u64 rng_state = 1;

void rp_seed(__u32 seed)
{
	rng_state = (__u64)seed * 0x9e3779b97f4a7c15ULL | 1;
}

__u32 rp_rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (__u32)((rng_state * 2685821657736338717ULL) >> 32);
}

__u32 rp_below(__u32 n)
{
	return n ? rp_rnd() % n : 0;
}

__u32 rp_seed_from_env(const char *var)
{
	const char *s = getenv(var);

	if (s && *s)
		return (__u32)strtoul(s, NULL, 0);
	return (__u32)time(NULL) ^ (__u32)getpid() << 16;
}

/*
 * Ports cluster on a few values and the edges of the port space and of
 * its halves, so that rules overlap often and tuples land on boundaries.
 */
static const __u16 hot_ports[] = {
	1,    2,    53,	  79,	80,    81,    443,   1000,  1023,  1024,
	1999, 2000, 8000, 8080, 32767, 32768, 32769, 65534, 65535,
};

__u16 rp_port(void)
{
	if (rp_below(4))
		return hot_ports[rp_below(sizeof(hot_ports) / sizeof(hot_ports[0]))];
	return 1 + rp_below(65535);
}

void rp_shuffle(__u32 *v, size_t n)
{
	size_t i, j;
	__u32 t;

	for (i = n - 1; i > 0; i--) {
		j = rp_below((__u32)i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

static void put_selector(char *buf, size_t len, const char *const *names, size_t nnames)
{
	__u32 r = rp_below(16);

	if (r < 4)
		snprintf(buf, len, "*");
	else if (r == 4)
		snprintf(buf, len, "world");
	else if (r == 5)
		snprintf(buf, len, "host");
	else
		snprintf(buf, len, "%s", names[rp_below((__u32)nnames)]);
}

static void put_ports(char *buf, size_t len)
{
	static const char *const protos[] = { "tcp", "udp", "sctp" };
	unsigned int i, n;
	size_t o;
	__u32 r = rp_below(20);

	if (r < 3) {
		buf[0] = '\0'; /* any protocol */
		return;
	}
	if (r < 6) {
		snprintf(buf, len, ":%s", rp_below(3) == 2 ? "icmpv6" : "icmp");
		if (rp_below(3))
			snprintf(buf + strlen(buf), len - strlen(buf), "/%u",
				 rp_below(4) ? rp_below(12) : rp_below(256));
		return;
	}
	o = snprintf(buf, len, ":%s", protos[r < 13 ? 0 : r < 18 ? 1 : 2]);
	n = rp_below(5);
	for (i = 0; i < n; i++) {
		__u16 lo = rp_port(), hi = lo;

		if (rp_below(2)) {
			hi = rp_port();
			if (hi < lo) {
				__u16 t = lo;

				lo = hi;
				hi = t;
			}
		}
		o += snprintf(buf + o, len - o, "%c%u", i ? ',' : '/', lo);
		if (hi != lo)
			o += snprintf(buf + o, len - o, "-%u", hi);
	}
}

size_t rp_rules(struct netseg_rule *rules, size_t max, const char *const *names, size_t nnames)
{
	char line[1024], src[NETSEG_SELECTOR_MAX], dst[NETSEG_SELECTOR_MAX], ports[900];
	size_t small = max < 24 ? max : 24;
	size_t n = 1 + rp_below((__u32)(rp_below(4) ? small : max)), i;
	__u32 *ids = calloc(n * 2, sizeof(*ids));
	struct netseg_err e;
	bool deny;

	if (!ids)
		bail("out of memory for %zu rule ids", n * 2);
	/* Ids unique but unrelated to the order of the rules. */
	for (i = 0; i < n * 2; i++)
		ids[i] = (__u32)i + 1;
	rp_shuffle(ids, n * 2);
	for (i = 0; i < n; i++) {
		deny = rp_below(5) < 2;
		put_selector(src, sizeof(src), names, nnames);
		put_selector(dst, sizeof(dst), names, nnames);
		put_ports(ports, sizeof(ports));
		snprintf(line, sizeof(line), "%s %s -> %s%s%s%s", deny ? "deny" : "allow", src, dst,
			 ports, rp_below(3) ? "" : " --log",
			 !deny && !rp_below(4) ? " --audit" : "");
		if (netseg_rule_parse_line(line, &rules[i], &e))
			bail("generated rule \"%s\" doesn't parse: %d: %s", line, e.col, e.msg);
		rules[i].id = ids[i];
	}
	free(ids);
	return n;
}
