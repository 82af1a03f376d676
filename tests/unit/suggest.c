// SPDX-License-Identifier: GPL-2.0-only
/*
 * Learn mode's pure part: records parsed from native JSON, flows
 * deduplicated by flow id with the most restrictive verdict, ports
 * merged into ranges only when each was seen, ICMP by type, world by
 * exact address, flows a deny rule dropped left out; DOT quoting and
 * colours; durations.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "flowrec.h"
#include "suggest.h"
#include "tap.h"

static struct netseg_obs obs[32];
static size_t nobs;

static void rec(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	int r = netseg_obs_from_json(j, &obs[nobs]);

	if (!ok(j && !r, "record parses: %.60s", json))
		diag("error %d", r);
	else
		nobs++;
	cJSON_Delete(j);
}

#define R(verdict, fid, src, dst, proto, port, extra)                                           \
	"{\"verdict\":\"" verdict "\",\"flow_id\":\"" fid "\",\"time_ns\":1784800815000000000," \
	"\"proto\":" #proto ",\"src\":{\"identity\":\"" src "\",\"ip\":\"198.18.1.2\"},"        \
	"\"dst\":{\"identity\":\"" dst "\",\"ip\":\"198.18.9.9\",\"port\":" #port "}" extra "}"

static void rules_are(const char *identity, const char *const *want, size_t nwant)
{
	struct netseg_flowagg *agg;
	struct netseg_suggestion *s;
	struct netseg_suggest_skipped sk;
	struct netseg_obs copy[32];
	size_t nagg, n, i;
	char buf[256];

	memcpy(copy, obs, sizeof(copy));
	if (!ok(!netseg_flowagg_build(copy, nobs, true, &agg, &nagg), "aggregate"))
		return;
	if (!ok(!netseg_suggest(agg, nagg, identity, &s, &n, &sk), "suggest"))
		goto out;
	is_int(n, nwant, "%zu rules for %s", nwant, identity ? identity : "all");
	for (i = 0; i < n && i < nwant; i++) {
		netseg_suggestion_rule(&s[i], buf, sizeof(buf));
		is_str(buf, want[i], "rule %zu", i);
	}
	if (!identity) {
		is_int(sk.deny_ruled, 1, "one flow a deny rule dropped left out");
		is_int(sk.no_grammar, 1, "one GRE flow left out");
		is_int(s[2].flows, 2, "tcp/443: two flows (three records, one flow id twice)");
		is_int(s[2].denied, 1,
		       "the flow audited at one hook, denied at the other, is denied");
	}
	free(s);
out:
	free(agg);
}

int main(void)
{
	static const char *const all[] = {
		"198.18.1.2/32 -> api:udp/53", /* world by its address */
		"frontend -> api:icmp/8",      /* sorted by protocol number */
		"frontend -> api:tcp/443",     "frontend -> api:tcp/8080-8082", /* each seen */
		"frontend -> api:tcp/8084",					/* 8083 wasn't */
	};
	struct netseg_obs o;
	char q[64];
	__u64 ns;
	cJSON *j;

	rec(R("audit", "00000000000000a1", "frontend", "api", 6, 443, ""));
	rec(R("denied", "00000000000000a1", "frontend", "api", 6, 443, ",\"rule\":{\"id\":0}"));
	rec(R("end", "00000000000000a2", "frontend", "api", 6, 443,
	      ",\"flow_verdict\":\"allowed\""));
	rec(R("audit", "00000000000000b1", "frontend", "api", 6, 8080, ""));
	rec(R("audit", "00000000000000b2", "frontend", "api", 6, 8082, ""));
	rec(R("audit", "00000000000000b3", "frontend", "api", 6, 8081, ""));
	rec(R("audit", "00000000000000b4", "frontend", "api", 6, 8084, ""));
	rec(R("denied", "00000000000000c1", "frontend", "api", 6, 22, ",\"rule\":{\"id\":7}"));
	rec(R("audit", "00000000000000d1", "world", "api", 17, 53, ""));
	rec("{\"verdict\":\"audit\",\"flow_id\":\"00000000000000e1\",\"proto\":1,"
	    "\"src\":{\"identity\":\"frontend\"},\"dst\":{\"identity\":\"api\"},"
	    "\"icmp\":{\"type\":8,\"code\":0}}");
	rec("{\"verdict\":\"audit\",\"proto\":47,"
	    "\"src\":{\"identity\":\"frontend\"},\"dst\":{\"identity\":\"api\"}}");
	rules_are(NULL, all, 5);
	rules_are("frontend", all + 1, 4);

	j = cJSON_Parse("{\"verdict\":\"lost\",\"lost\":{}}");
	is_int(netseg_obs_from_json(j, &o), -ENOENT, "lost records are not flows");
	cJSON_Delete(j);
	j = cJSON_Parse("{\"verdict\":\"audit\",\"proto\":6,\"src\":{\"identity\":\"a\"},"
			"\"dst\":{\"identity\":\"b\",\"port\":70000}}");
	is_int(netseg_obs_from_json(j, &o), -EINVAL, "a port past 65535 is refused");
	cJSON_Delete(j);

	netseg_dot_quote("a\"b\\c\nd", q, sizeof(q));
	is_str(q, "\"a\\\"b\\\\c d\"", "DOT quoting escapes quotes and backslashes");
	is_int(netseg_dot_quote("abcdef", q, 6), -ENOSPC, "DOT quoting knows its room");
	ok(!netseg_duration_parse("15m", &ns) && ns == 900000000000ULL, "15m");
	ok(!netseg_duration_parse("2h", &ns) && ns == 7200000000000ULL, "2h");
	ok(netseg_duration_parse("5x", &ns) == -EINVAL &&
		   netseg_duration_parse("-1s", &ns) == -EINVAL,
	   "bad durations refused");

	{
		struct netseg_flowagg *agg;
		char *buf = NULL;
		size_t len = 0, nagg;
		FILE *f = open_memstream(&buf, &len);

		netseg_flowagg_build(obs, nobs, false, &agg, &nagg);
		ok(!netseg_map_dot(f, agg, nagg), "map as DOT");
		fclose(f);
		ok(strstr(buf, "\"world\" [shape=doubleoctagon") != NULL, "world styled apart");
		ok(strstr(buf, "\"frontend\" -> \"api\" [color=red") != NULL, "denied edge red");
		ok(strstr(buf,
			  "\"frontend\" -> \"api\" [color=darkorange, style=dashed, label=\"icmp/8 \xc3\x97"
			  "1\\ltcp/8080 \xc3\x97"
			  "1\\l") != NULL,
		   "audit edge dashed with per-port counts");
		ok(strstr(buf,
			  "\"frontend\" -> \"api\" [color=black, style=solid, label=\"tcp/443 \xc3\x97"
			  "1") != NULL,
		   "allowed edge solid");
		free(buf);
		free(agg);
	}
	return tap_done();
}
