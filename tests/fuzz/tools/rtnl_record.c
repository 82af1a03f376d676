// SPDX-License-Identifier: GPL-2.0-only
/*
 * Records rtnetlink replies and events as fuzzing seeds: every recv buffer
 * becomes one file, exactly as the kernel handed it over.  Run it inside a
 * network namespace made for the purpose (record-rtnl.sh does).
 *
 *   rtnl_record dump DIR      links, addresses, routes, neighbours, with
 *                             sequence numbers 1-4 as netsegd numbers its
 *                             start-up dumps; also all four in one file
 *   rtnl_record monitor DIR N the events of the next N seconds
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

static char all[1 << 16];
static size_t all_len;

static int save(const char *dir, const char *what, int n, const void *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%d", dir, what, n);
	f = fopen(path, "w");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "rtnl_record: couldn't write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int dump(struct mnl_socket *nl, const char *dir)
{
	static const struct {
		int type;
		size_t hdr;
		const char *what;
	} steps[] = {
		{ RTM_GETLINK, sizeof(struct ifinfomsg), "links" },
		{ RTM_GETADDR, sizeof(struct ifaddrmsg), "addrs" },
		{ RTM_GETROUTE, sizeof(struct rtmsg), "routes" },
		{ RTM_GETNEIGH, sizeof(struct ndmsg), "neighs" },
	};
	char buf[1 << 16] __attribute__((aligned(4)));

	for (unsigned int s = 0; s < 4; s++) {
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		bool done = false;
		int part = 0;

		mnl_nlmsg_put_extra_header(nlh, steps[s].hdr);
		nlh->nlmsg_type = steps[s].type;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		nlh->nlmsg_seq = s + 1;
		if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
			return -1;
		while (!done) {
			int n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
			const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
			int left = n;

			if (n <= 0)
				return -1;
			for (; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left))
				done |= m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR;
			if (save(dir, steps[s].what, part++, buf, n))
				return -1;
			if (all_len + n <= sizeof(all)) {
				memcpy(all + all_len, buf, n);
				all_len += n;
			}
		}
	}
	return save(dir, "fulldump", 0, all, all_len);
}

static int monitor(struct mnl_socket *nl, const char *dir, int secs)
{
	char buf[1 << 16] __attribute__((aligned(4)));
	struct pollfd p = { .fd = mnl_socket_get_fd(nl), .events = POLLIN };
	time_t end = time(NULL) + secs;
	int part = 0;

	/* Tell the caller we listen: it makes its changes now. */
	printf("listening\n");
	fflush(stdout);
	while (time(NULL) < end) {
		int n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n <= 0 || save(dir, "event", part++, buf, n))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_NEIGH |
			      RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
	struct mnl_socket *nl;
	int err;

	if (argc < 3 || (strcmp(argv[1], "dump") && strcmp(argv[1], "monitor")) ||
	    (!strcmp(argv[1], "monitor") && argc < 4)) {
		fprintf(stderr, "usage: rtnl_record dump DIR | monitor DIR SECONDS\n");
		return 2;
	}
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, strcmp(argv[1], "dump") ? groups : 0, MNL_SOCKET_AUTOPID)) {
		perror("rtnl_record: netlink socket");
		return 1;
	}
	err = !strcmp(argv[1], "dump") ? dump(nl, argv[2]) : monitor(nl, argv[2], atoi(argv[3]));
	if (err)
		perror("rtnl_record");
	mnl_socket_close(nl);
	return err ? 1 : 0;
}
