// SPDX-License-Identifier: GPL-2.0-only
/*
 * observe's filters (lib/flowfilter.h): peers by name, address and CIDR
 * (v4 and v6, prefixes not on a byte boundary), ports and ranges against
 * either port, verdict lists, since; loss reports reach every reader; the
 * request members parsed with what is wrong named; bad values refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>

#include "flowfilter.h"
#include "tap.h"

#define NOW 1784800815000000000ULL

static struct netseg_flowrec rec(int kind, const char *src, const char *sip, __u16 sport,
				 const char *dst, const char *dip, __u16 dport)
{
	struct netseg_flowrec r = { .kind = kind,
				    .proto = IPPROTO_TCP,
				    .has_ports = true,
				    .sport = sport,
				    .dport = dport,
				    .time_ns = NOW - 1000000000ULL };
	int af = strchr(sip, ':') ? AF_INET6 : AF_INET;

	r.family = af == AF_INET ? NETSEG_AF_INET : NETSEG_AF_INET6;
	inet_pton(af, sip, r.saddr_raw);
	inet_pton(af, dip, r.daddr_raw);
	strcpy(r.src_name, src);
	strcpy(r.dst_name, dst);
	return r;
}

/* Parses @json as a request and matches @r: 1 match, 0 not, -1 refused. */
static int match(const char *json, const struct netseg_flowrec *r, char *why, size_t len)
{
	struct netseg_flowfilter f;
	cJSON *req = cJSON_Parse(json);
	int ret;

	if (!req)
		return -2;
	ret = netseg_flowfilter_from_json(req, NOW, &f, why, len) ? -1 :
								    netseg_flowfilter_match(&f, r);
	cJSON_Delete(req);
	return ret;
}

static void check_match(void)
{
	struct netseg_flowrec web = rec(NETSEG_FLOW_ALLOWED, "frontend", "198.18.1.2", 40312, "api",
					"198.18.2.2", 443);
	struct netseg_flowrec v6 = rec(NETSEG_FLOW_DENIED, "frontend", "fd00::1:2", 40000, "db",
				       "fd00::3:2", 5432);
	struct netseg_flowrec lost = { .kind = NETSEG_FLOW_LOST, .time_ns = NOW };
	const struct {
		const char *req;
		const struct netseg_flowrec *r;
		int want;
	} t[] = {
		{ "{}", &web, 1 },
		{ "{\"from\":\"frontend\"}", &web, 1 },
		{ "{\"from\":\"api\"}", &web, 0 },
		{ "{\"to\":\"api\"}", &web, 1 },
		{ "{\"from\":\"198.18.1.2\"}", &web, 1 },
		{ "{\"from\":\"198.18.1.3\"}", &web, 0 },
		{ "{\"from\":\"198.18.0.0/23\"}", &web, 1 },
		{ "{\"from\":\"198.18.2.0/23\"}", &web, 0 },
		{ "{\"from\":\"198.18.1.0/31\"}", &web, 0 },
		{ "{\"from\":\"198.18.1.2/31\"}", &web, 1 },
		{ "{\"to\":\"198.18.2.2/32\"}", &web, 1 },
		{ "{\"to\":\"fd00::/8\"}", &web, 0 },
		{ "{\"to\":\"fd00::/8\"}", &v6, 1 },
		{ "{\"to\":\"fd00::3:0/116\"}", &v6, 1 },
		{ "{\"to\":\"fd00::2:0/112\"}", &v6, 0 },
		{ "{\"from\":\"0.0.0.0/0\"}", &web, 1 },
		{ "{\"from\":\"0.0.0.0/0\"}", &v6, 0 },
		{ "{\"port\":\"443\"}", &web, 1 },
		{ "{\"port\":\"40312\"}", &web, 1 },
		{ "{\"port\":\"444\"}", &web, 0 },
		{ "{\"port\":\"400-500\"}", &web, 1 },
		{ "{\"port\":\"444-40311\"}", &web, 0 },
		{ "{\"verdicts\":\"allowed\"}", &web, 1 },
		{ "{\"verdicts\":\"denied,audit\"}", &web, 0 },
		{ "{\"verdicts\":\"denied,audit\"}", &v6, 1 },
		{ "{\"since\":2}", &web, 1 },
		{ "{\"since\":0.5}", &web, 0 },
		{ "{\"from\":\"frontend\",\"to\":\"db\"}", &web, 0 },
		{ "{\"from\":\"frontend\",\"to\":\"db\",\"port\":\"5432\"}", &v6, 1 },
		{ "{\"from\":\"api\",\"port\":\"9\",\"verdicts\":\"end\"}", &lost, 1 },
		{ "{\"since\":0.5}", &lost, 1 },
	};
	char why[200];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int got = match(t[i].req, t[i].r, why, sizeof(why));

		if (!ok(got == t[i].want, "%s %s %s:%u -> %s:%u", t[i].req,
			t[i].want ? "keeps" : "drops",
			t[i].r->saddr[0]		 ? t[i].r->saddr :
			t[i].r->kind == NETSEG_FLOW_LOST ? "(loss report)" :
							   t[i].r->src_name,
			t[i].r->sport, t[i].r->dst_name, t[i].r->dport))
			diag("got %d%s%s", got, got < 0 ? ": " : "", got < 0 ? why : "");
	}
	web.has_ports = false;
	is_int(match("{\"port\":\"443\"}", &web, why, sizeof(why)), 0,
	       "a record without ports fails a port filter");
}

static void check_refused(void)
{
	static const struct {
		const char *req, *why;
	} t[] = {
		{ "{\"from\":\"198.18.1.2/24\"}",
		  "host bits set in 198.18.1.2/24; did you mean 198.18.1.0/24?" },
		{ "{\"to\":\"fd00::1/8\"}", "did you mean fd00::/8?" },
		{ "{\"to\":\"198.18.1.0/33\"}", "is not an IP address or CIDR" },
		{ "{\"to\":\"fd00:::1\"}", "is not an IP address or CIDR" },
		{ "{\"from\":\"\"}", "an empty value" },
		{ "{\"from\":7}", "\"from\" must be a string" },
		{ "{\"port\":\"0\"}", "port:" },
		{ "{\"port\":\"65536\"}", "port:" },
		{ "{\"port\":\"20-10\"}", "port:" },
		{ "{\"port\":\"-5\"}", "port:" },
		{ "{\"port\":\"5-\"}", "port:" },
		{ "{\"port\":\"80,443\"}", "port:" },
		{ "{\"verdicts\":\"allowed,\"}", "verdicts:" },
		{ "{\"verdicts\":\"lost\"}", "verdicts:" },
		{ "{\"verdicts\":\"\"}", "verdicts:" },
		{ "{\"since\":-1}", "since:" },
		{ "{\"since\":\"5m\"}", "since:" },
		{ "{\"since\":1e300}", "since:" },
	};
	struct netseg_flowrec r = {};
	char why[200];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		why[0] = '\0';
		if (!ok(match(t[i].req, &r, why, sizeof(why)) == -1 && strstr(why, t[i].why),
			"%s refused: %s", t[i].req, why))
			diag("want a message with: %s", t[i].why);
	}
}

static void check_names(void)
{
	struct netseg_flowpeer p;
	char why[200], name[80];

	ok(!netseg_flowpeer_parse("api.v2_x-1", &p, why, sizeof(why)) &&
		   p.kind == NETSEG_PEER_NAME && !strcmp(p.name, "api.v2_x-1"),
	   "an identity name with '.', '_', '-' is a name");
	ok(!netseg_flowpeer_parse("198.18.1.2", &p, why, sizeof(why)) &&
		   p.kind == NETSEG_PEER_CIDR && p.plen == 32,
	   "a bare address is a /32");
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ok(netseg_flowpeer_parse(name, &p, why, sizeof(why)) == -EINVAL && strstr(why, "at most"),
	   "a 79-character name refused: %s", why);
}

int main(void)
{
	check_match();
	check_refused();
	check_names();
	return tap_done();
}
