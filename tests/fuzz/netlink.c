// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtnetlink message handling (agentd/rtnl.c): the input is what one recv
 * on the daemon's rtnetlink socket returned — a stream of nlmsghdr
 * messages, seeded with recorded dumps and events (tools/record-rtnl.sh) —
 * fed through netsegd_rtnl_input(), the function the receive path calls.
 * The endpoint, link and ipcache side (agentd/endpoints.c, lib/iptable.c)
 * is the daemon's own; the maps are the map-less datapath's (fuzzdp.h).
 *
 * The socket is real, in a network namespace of the harness's own with the
 * interfaces of tools/rtnl-topology.sh: netsegd_rtnl_open() asks the kernel
 * for its link dump (sequence 1, as at start-up) before the input arrives,
 * so the input can take part in the dump state machine (a fake NLMSG_DONE,
 * an error, an interrupted dump), and the kernel's real replies are read
 * after it through netsegd_rtnl_event(), as they would be.  After the
 * input, and again after the real dumps, the daemon's tables must agree
 * with the maps (fuzzd_check).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "fuzzd.h"
#include "fuzzdp.h"

#ifndef NETSEG_SRCDIR
#define NETSEG_SRCDIR "."
#endif

static int epfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *topo = getenv("NETSEG_FUZZ_TOPOLOGY");
	char cmd[1024];
	int st;

	fuzz_logs();
	fuzz_private_netns();
	snprintf(cmd, sizeof(cmd), "%s >/dev/null",
		 topo ? topo : NETSEG_SRCDIR "/tests/fuzz/tools/rtnl-topology.sh");
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st))
		fuzz_fail("couldn't build the interfaces with %s (status %d)", cmd, st);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	FUZZ_ASSERT(epfd >= 0, "epoll: %s", strerror(errno));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netsegd d;
	void *buf;

	if (size > 65536)
		return 0; /* one recv: RTNL_BUF */
	/* Its own allocation, exactly the input's size: reads past it are caught.
	 * malloc aligns it as the receive buffer is (NLMSG_ALIGNTO). */
	buf = malloc(size ? size : 1);
	FUZZ_ASSERT(buf, "out of memory");
	memcpy(buf, data, size);
	fuzzd_init(&d, fuzz_state_dir(), epfd, false);
	FUZZ_ASSERT(!netsegd_rtnl_open(&d), "rtnetlink socket");
	netsegd_rtnl_input(&d, buf, size);
	fuzzd_check(&d);
	netsegd_rtnl_event(&d); /* the kernel's own dumps, after the input */
	fuzzd_check(&d);
	netsegd_rtnl_close(&d);
	fuzzd_free(&d);
	free(buf);
	return 0;
}
