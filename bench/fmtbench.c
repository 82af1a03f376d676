// SPDX-License-Identifier: GPL-2.0-only
/*
 * fmtbench: the flow-record path of netsegd without the daemon, in one
 * process on one core: ring-buffer event -> struct netseg_flowrec ->
 * line, per format, so bench/flowlog.sh's daemon figures can be split
 * into what formatting costs and what the rest of the loop does.
 *
 *   fmtbench [SECONDS-PER-FORMAT [FORMAT]]	(default 1, every format)
 *
 * Seconds and rates are of the CPU time this thread got, so a machine
 * shared with other work gives the figures one core of its own would.
 *
 * The event is evflood's: 198.18.9.9:50000 -> 198.18.2.2:8080 TCP SYN,
 * world to an endpoint, default deny, on a pod's veth.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "flowrec.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ident(void *ctx, __u32 id, char *buf, size_t len)
{
	snprintf(buf, len, "%s", id == NETSEG_ID_WORLD ? "world" : "api");
	return 0;
}

static int iface(void *ctx, __u32 ifindex, char *buf, size_t len)
{
	snprintf(buf, len, "vapi1234");
	return NETSEG_IFK_ENDPOINT;
}

int main(int argc, char **argv)
{
	static char line[NETSEG_FLOWFMT_MAX];
	struct netseg_flow_names nm = { .identity = ident, .iface = iface, .node = "node-7" };
	struct netseg_flowfmt_opts o = { .version = "1.0.0" };
	struct netseg_event ev = {
		.ts_ns = 1,
		.type = NETSEG_EV_DENY,
		.reason = NETSEG_REASON_DEFAULT_DENY,
		.hook = NETSEG_HOOK_TC_INGRESS,
		.ifindex = 7,
		.family = NETSEG_AF_INET,
		.proto = IPPROTO_TCP,
		.tcp_flags = 0x02,
		.src_id = NETSEG_ID_WORLD,
		.dst_id = 300,
		.pkt_len = 54,
		.sport = htons(50000),
		.dport = htons(8080),
	};
	double secs = argc > 1 ? atof(argv[1]) : 1, t0, t = 0;
	struct netseg_flowrec r;
	__u64 n, bytes;
	int fmt, len;

	inet_pton(AF_INET, "198.18.9.9", ev.saddr);
	inet_pton(AF_INET, "198.18.2.2", ev.daddr);
	/* The record alone: what every format pays first. */
	for (n = 0, t0 = now_s(); (n & 1023 || (t = now_s() - t0) < secs); n++)
		netseg_flowrec_from_event(&ev, 1784800815123000000LL, &nm, &r);
	printf("record: %.0f/s\n", n / t);
	for (fmt = NETSEG_FMT_JSON; fmt <= NETSEG_FMT_CEF; fmt++) {
		if (argc > 2 && fmt != netseg_flowfmt_parse(argv[2]))
			continue;
		for (n = bytes = 0, t0 = now_s(); (n & 1023 || (t = now_s() - t0) < secs); n++) {
			len = netseg_flowfmt(fmt, &r, &o, line, sizeof(line));
			if (len < 0) {
				fprintf(stderr, "fmtbench: %s: %s\n", netseg_flowfmt_name(fmt),
					strerror(-len));
				return 1;
			}
			bytes += len + 1;
		}
		printf("%s: %.0f/s formatted (%.0f bytes a line)\n", netseg_flowfmt_name(fmt),
		       n / t, (double)bytes / n);
	}
	return 0;
}
