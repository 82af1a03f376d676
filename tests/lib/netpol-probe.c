// SPDX-License-Identifier: GPL-2.0-only
/*
 * netpol-probe: the servers and the prober of tests/e2e/k8s_netpol.t, the
 * role agnhost plays in the upstream NetworkPolicy e2e suite.
 *
 *   netpol-probe serve NAME READYFILE
 *	Answers on TCP and UDP ports 80 and 81 of every address: a TCP
 *	connection gets "NAME\n" and is closed, a UDP datagram is echoed
 *	back after "NAME ".  READYFILE is created once all four sockets
 *	are bound, so the test need not poll.
 *
 *   netpol-probe probe FROM PORTBASE TIMEOUT_MS < TARGETS
 *	TARGETS has one probe a line: "DST ADDR tcp|udp PORT WANT" (WANT 1
 *	when the probe should get through).  Every probe runs at once, each
 *	from its own source port PORTBASE+i (so that no connection of an
 *	earlier round shares its 5-tuple), until TIMEOUT_MS passes.  A
 *	probe expected through that failed is tried once more, again all at
 *	once, with twice the timeout and fresh source ports, to absorb a
 *	lost packet on a loaded machine; one expected blocked is never
 *	retried.  Prints "FROM DST PROTO PORT WANT GOT DETAIL" a probe.
 *
 * A probe gets through only when the answer names DST: a reply from some
 * other pod (a wrong route, a stale address) is a failure, not a pass.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXPROBES 256

static void die(const char *what)
{
	fprintf(stderr, "netpol-probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* A decimal number in [lo, hi], or -1. */
static int number(const char *s, int lo, int hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	return (int)v;
}

/* ------------------------------------------------------------- the server */

static int listen_on(int type, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, one = 1;

	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die(type == SOCK_STREAM ? "bind tcp" : "bind udp");
	if (type == SOCK_STREAM && listen(fd, 128) < 0)
		die("listen");
	return fd;
}

static __attribute__((noreturn)) void serve(const char *name, const char *ready)
{
	static const int ports[] = { 80, 81 };
	struct pollfd p[4];
	char buf[512], out[600];
	int i, fd, n;

	for (i = 0; i < 4; i++) {
		p[i].fd = listen_on(i < 2 ? SOCK_STREAM : SOCK_DGRAM, ports[i % 2]);
		p[i].events = POLLIN;
	}
	fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(ready);
	close(fd);
	for (;;) {
		if (poll(p, 4, -1) < 0 && errno != EINTR)
			die("poll");
		for (i = 0; i < 4; i++) {
			struct sockaddr_storage from;
			socklen_t flen = sizeof(from);

			if (!(p[i].revents & POLLIN))
				continue;
			if (i < 2) {
				/* answer and close: the client reads to EOF */
				while ((fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
					n = snprintf(out, sizeof(out), "%s\n", name);
					if (write(fd, out, n) != n)
						fprintf(stderr, "netpol-probe: short write\n");
					close(fd);
				}
				continue;
			}
			while ((n = recvfrom(p[i].fd, buf, sizeof(buf) - 1, 0,
					     (struct sockaddr *)&from, &flen)) >= 0) {
				buf[n] = 0;
				n = snprintf(out, sizeof(out), "%s %s", name, buf);
				sendto(p[i].fd, out, n, 0, (struct sockaddr *)&from, flen);
				flen = sizeof(from);
			}
		}
	}
}

/* ------------------------------------------------------------- the prober */

struct probe {
	char dst[32], addr[64], proto[4];
	int port, want;
	int fd;
	bool done, got, connected;
	char detail[96], first[96];
	char buf[128];
	size_t len;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static __attribute__((format(printf, 3, 4))) void finish(struct probe *p, bool got, const char *fmt,
							 ...)
{
	va_list ap;

	p->done = true;
	p->got = got;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* Opens @p's socket from source port @sport and starts the exchange. */
static void start(struct probe *p, int sport, const char *token)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(sport) };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(p->port) };
	bool tcp = !strcmp(p->proto, "tcp");
	int one = 1;

	p->done = p->got = p->connected = false;
	p->len = 0;
	if (inet_pton(AF_INET, p->addr, &dst.sin_addr) != 1) {
		p->fd = -1;
		finish(p, false, "bad address %s", p->addr);
		return;
	}
	p->fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		finish(p, false, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* an own source port; if it is taken, any port will do */
	if (bind(p->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		src.sin_port = 0;
		if (bind(p->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			finish(p, false, "bind: %s", strerror(errno));
			return;
		}
	}
	if (connect(p->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS) {
		finish(p, false, "connect: %s", strerror(errno));
		return;
	}
	if (!tcp) {
		p->connected = true;
		if (send(p->fd, token, strlen(token), 0) < 0)
			finish(p, false, "send: %s", strerror(errno));
	}
}

/* The socket is ready: move the exchange on. */
static void step(struct probe *p, short revents, const char *token)
{
	bool tcp = !strcmp(p->proto, "tcp");
	char want[160];
	int err = 0;
	socklen_t elen = sizeof(err);
	ssize_t n;

	if (tcp && !p->connected) {
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (err) {
			finish(p, false, "connect: %s", strerror(err));
			return;
		}
		p->connected = true;
		return;
	}
	n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len, 0);
	if (n < 0) {
		if (errno != EAGAIN)
			finish(p, false, "recv: %s", strerror(errno));
		return;
	}
	p->len += (size_t)n;
	p->buf[p->len] = 0;
	if (tcp && n > 0 && p->len < sizeof(p->buf) - 1)
		return; /* read to EOF */
	/* TCP: "DST\n" then EOF; UDP: "DST TOKEN" */
	if (tcp)
		snprintf(want, sizeof(want), "%s\n", p->dst);
	else
		snprintf(want, sizeof(want), "%s %s", p->dst, token);
	if (!strcmp(p->buf, want))
		finish(p, true, "answered");
	else
		finish(p, false, "answered by \"%.*s\"", (int)strcspn(p->buf, "\n"), p->buf);
}

/* Runs the probes @sel of @pv all at once until @timeout ms have passed. */
static void run(struct probe *pv, int n, const bool *sel, int base, int timeout, const char *token)
{
	struct pollfd pfd[MAXPROBES];
	int idx[MAXPROBES], i, k;
	long long end = now_ms() + timeout, left;

	for (i = 0; i < n; i++)
		if (sel[i])
			start(&pv[i], base + i, token);
	for (;;) {
		for (i = 0, k = 0; i < n; i++) {
			if (!sel[i] || pv[i].done)
				continue;
			pfd[k].fd = pv[i].fd;
			pfd[k].events = pv[i].connected ? POLLIN : POLLOUT;
			idx[k++] = i;
		}
		left = end - now_ms();
		if (!k || left <= 0)
			break;
		if (poll(pfd, k, (int)left) < 0 && errno != EINTR)
			die("poll");
		for (i = 0; i < k; i++)
			if (pfd[i].revents)
				step(&pv[idx[i]], pfd[i].revents, token);
	}
	for (i = 0; i < n; i++)
		if (sel[i] && !pv[i].done)
			finish(&pv[i], false, "%s in %d ms",
			       pv[i].connected ? "no answer" : "no connection", timeout);
}

static int probe(const char *from, int base, int timeout)
{
	static struct probe pv[MAXPROBES];
	bool sel[MAXPROBES], again = false;
	char line[256], token[64];
	int n = 0, i;

	while (fgets(line, sizeof(line), stdin)) {
		struct probe *p = &pv[n];

		if (n == MAXPROBES) {
			fprintf(stderr, "netpol-probe: more than %d probes\n", MAXPROBES);
			return 2;
		}
		char port[8], want[8];

		if (sscanf(line, "%31s %63s %3s %7s %7s", p->dst, p->addr, p->proto, port, want) !=
			    5 ||
		    (strcmp(p->proto, "tcp") && strcmp(p->proto, "udp")) ||
		    (p->port = number(port, 1, 65535)) < 0 || (p->want = number(want, 0, 1)) < 0) {
			fprintf(stderr, "netpol-probe: bad target line: %s", line);
			return 2;
		}
		sel[n++] = true;
	}
	snprintf(token, sizeof(token), "from %s port-base %d", from, base);
	run(pv, n, sel, base, timeout, token);
	for (i = 0; i < n; i++) {
		sel[i] = pv[i].want && !pv[i].got;
		again |= sel[i];
		if (sel[i])
			snprintf(pv[i].first, sizeof(pv[i].first), "%s", pv[i].detail);
	}
	if (again)
		run(pv, n, sel, base + n, 2 * timeout, token);
	for (i = 0; i < n; i++) {
		struct probe *p = &pv[i];

		printf("%s %s %s %d %d %d %s", from, p->dst, p->proto, p->port, p->want, p->got,
		       p->detail);
		if (sel[i])
			printf(" (retried; first try: %s)", p->first);
		printf("\n");
	}
	return fflush(stdout) ? 2 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "serve"))
		serve(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "probe") &&
	    number(argv[3], 1, 65535 - 2 * MAXPROBES) > 0 && number(argv[4], 1, 60000) > 0)
		return probe(argv[2], number(argv[3], 1, 65535), number(argv[4], 1, 60000));
	fprintf(stderr, "usage: netpol-probe serve NAME READYFILE\n"
			"       netpol-probe probe FROM PORTBASE TIMEOUT_MS < TARGETS\n");
	return 2;
}
