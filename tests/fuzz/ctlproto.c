// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control protocol as netsegd serves it (agentd/control.c, commands.c
 * and the cmd_*.c handlers): the input is what a client writes on its socket.  It goes
 * down a real socketpair into the daemon's own client code — line framing,
 * JSON decoding, the permission and shape checks, dispatch to every
 * command (flows included), each command's validation and, for changes,
 * the one commit path (compile, identity and endpoint sync, policy swap,
 * state file) — on the map-less datapath (lib/fuzzdp.h).  Then the client
 * hangs up and the harness reads every reply.
 *
 * Each reply must be one JSON object per line with a boolean "ok", and a
 * refusal must say what and of which kind; afterwards the daemon's tables
 * must agree with the maps (fuzzd_check).  Each input starts from the same
 * fresh daemon: four identities, five rules, a flow history of a few
 * records.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "flowlog.h"
#include "fuzzd.h"
#include "fuzzdp.h"

static int epfd = -1;
static struct netsegd_flowlog *history;
static bool show; /* NETSEG_FUZZ_SHOW=1: print the replies (reproducing) */

/* A few records in the flow history, as the ring buffer would bring them. */
static void fill_history(void)
{
	struct netsegd d;

	fuzzd_init(&d, fuzz_state_dir(), epfd, true);
	FUZZ_ASSERT(!netsegd_flowlog_new(NULL, 0, 0, &d.fl), "flow log");
	for (int i = 0; i < 6; i++) {
		struct netseg_event ev = {
			.ts_ns = 1000000ULL * i,
			.flow_id = i ? 0x1234 + i : 0,
			.type = 1 + i % 4,
			.reason = i % 3,
			.hook = 1 + i % 5,
			.family = i % 2 ? NETSEG_AF_INET6 : NETSEG_AF_INET,
			.proto = 6,
			.ifindex = 1,
			.rule_id = i % 3,
			.src_id = d.pol.ids.v[i % d.pol.ids.n].id,
			.dst_id = NETSEG_ID_WORLD,
			.pkt_len = 60,
			.saddr = { 198, 18, 0, i },
			.daddr = { 198, 19, 1, 1 },
			.sport = htons(40000 + i),
			.dport = htons(443),
		};

		if (ev.family == NETSEG_AF_INET6) {
			memset(ev.saddr, 0, 16);
			ev.saddr[0] = 0xfd;
			ev.saddr[15] = i;
			memcpy(ev.daddr, ev.saddr, 16);
			ev.daddr[15] = 0x99;
		}
		netsegd_flowlog_event(&d, &ev);
	}
	history = d.fl;
	d.fl = NULL;
	fuzzd_free(&d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_logs();
	show = getenv("NETSEG_FUZZ_SHOW");
	/* `attach` looks interfaces up: let it see only a namespace of ours. */
	fuzz_private_netns();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	FUZZ_ASSERT(epfd >= 0, "epoll: %s", strerror(errno));
	fill_history();
	return 0;
}

static void check_reply(const char *line)
{
	cJSON *o = cJSON_Parse(line);
	const cJSON *ok = cJSON_GetObjectItem(o, "ok");

	FUZZ_ASSERT(cJSON_IsObject(o) && cJSON_IsBool(ok), "reply isn't {\"ok\": bool, ...}: %s",
		    line);
	if (cJSON_IsFalse(ok)) {
		const cJSON *err = cJSON_GetObjectItem(o, "error");
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind"));

		FUZZ_ASSERT(cJSON_IsString(err) && err->valuestring[0],
			    "refusal without an error: %s", line);
		FUZZ_ASSERT(kind && (!strcmp(kind, "rejected") || !strcmp(kind, "usage")),
			    "refusal of kind %s (the datapath can't fail here): %s",
			    kind ? kind : "(none)", line);
	}
	cJSON_Delete(o);
}

/* Reads what the daemon sent so far onto *out. */
static void drain(int fd, char **out, size_t *len)
{
	char buf[65536];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		char *p = realloc(*out, *len + n + 1);

		FUZZ_ASSERT(p, "out of memory");
		memcpy(p + *len, buf, n);
		*len += n;
		p[*len] = '\0';
		*out = p;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netsegd d;
	struct netsegd_client *c;
	char *out = NULL, *line, *nl;
	size_t outlen = 0, off = 0;
	int sv[2], rounds = 0;

	if (size > 65536)
		return 0; /* one recv buffer's worth is plenty */
	fuzzd_init(&d, fuzz_state_dir(), epfd, true);
	d.fl = history;
	FUZZ_ASSERT(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	c = calloc(1, sizeof(*c));
	FUZZ_ASSERT(c, "out of memory");
	c->d = &d;
	c->fd = sv[0];
	d.ctl.clients[0] = c;
	FUZZ_ASSERT(!netsegd_epoll_add(&d, sv[0], EPOLLIN, c), "epoll add");
	while (off < size) {
		ssize_t n = send(sv[1], data + off, size - off, MSG_NOSIGNAL);

		FUZZ_ASSERT(n > 0, "send: %s", strerror(errno));
		off += n;
	}
	shutdown(sv[1], SHUT_WR);
	/* As the loop would: read, answer, flush while the client reads. */
	netsegd_client_event(&d, c, EPOLLIN);
	while (d.ctl.clients[0]) {
		drain(sv[1], &out, &outlen);
		FUZZ_ASSERT(++rounds < 100000, "client never finishes");
		netsegd_client_event(&d, d.ctl.clients[0], EPOLLOUT);
	}
	drain(sv[1], &out, &outlen);
	close(sv[1]);

	FUZZ_ASSERT(!outlen || out[outlen - 1] == '\n', "last reply line unterminated");
	for (line = out; line && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		FUZZ_ASSERT(nl, "reply without a newline");
		*nl = '\0';
		if (show)
			printf("%s\n", line);
		check_reply(line);
	}
	free(out);
	fuzzd_check(&d);
	d.fl = NULL;
	fuzzd_free(&d);
	return 0;
}
