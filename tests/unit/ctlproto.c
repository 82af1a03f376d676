// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control protocol framing (lib/ctlproto.h): lines split across reads and
 * several lines in one read come out one object at a time, and what one
 * connection read ahead never leaks into the next one, even when the new
 * connection gets the same fd number (the kernel hands out the lowest free
 * one, so a client that reconnects nearly always does).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "tap.h"

static int pair(struct netseg_ctl_conn *c, int *peer)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		bail("socketpair: %s", strerror(errno));
	netseg_ctl_conn_init(c, sv[0]);
	*peer = sv[1];
	return sv[0];
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		bail("write to the test socket: %s", strerror(errno));
}

/* The number "n" of the next object, or -1. */
static int next_n(struct netseg_ctl_conn *c, int *err)
{
	cJSON *o = NULL;
	const cJSON *n;
	int v = -1;

	*err = netseg_ctl_recv(c, &o);
	n = cJSON_GetObjectItem(o, "n");
	if (cJSON_IsNumber(n))
		v = n->valueint;
	cJSON_Delete(o);
	return v;
}

static void test_framing(void)
{
	struct netseg_ctl_conn c;
	int peer, err;

	pair(&c, &peer);
	put(peer, "{\"n\":1}\n{\"n\":2}\n{\"n\"");
	is_int(next_n(&c, &err), 1, "two lines in one read: the first");
	is_int(next_n(&c, &err), 2, "... then the second, from the buffer");
	put(peer, ":3}\n");
	is_int(next_n(&c, &err), 3, "a line split across reads is joined");
	put(peer, "not json\n");
	next_n(&c, &err);
	is_int(err, -EPROTO, "a line that isn't JSON: -EPROTO");
	close(peer);
	next_n(&c, &err);
	is_int(err, -ECONNRESET, "end of stream: -ECONNRESET");
	netseg_ctl_close(&c);
	is_int(c.fd, -1, "closed: fd -1");
}

static void test_reused_fd(void)
{
	struct netseg_ctl_conn a, b;
	int peer_a, peer_b, fd_a, fd_b, err;

	fd_a = pair(&a, &peer_a);
	/* The reply and the start of something else in one read: the rest
	 * stays in a's buffer when a is closed. */
	put(peer_a, "{\"n\":1}\n{\"n\":99}\n");
	is_int(next_n(&a, &err), 1, "first connection: its reply");
	netseg_ctl_close(&a);
	close(peer_a);

	fd_b = pair(&b, &peer_b);
	if (fd_b != fd_a)
		bail("the kernel didn't reuse fd %d (got %d): the test can't run", fd_a, fd_b);
	put(peer_b, "{\"n\":2}\n");
	is_int(next_n(&b, &err), 2,
	       "a new connection on the same fd number (%d) reads its own reply, not the old one's leftover",
	       fd_b);
	is_int((int)b.len, 0, "... and keeps nothing else");
	netseg_ctl_close(&b);
	close(peer_b);
}

/* The NUL finder keeps cJSON from cutting a name short. */
static void test_nul(void)
{
	static const struct {
		const char *line;
		size_t len; /* 0: strlen */
		long want;
	} v[] = {
		{ "{\"name\":\"x\\u0000y\"}", 0, 10 },
		{ "{\"name\":\"x\\\\u0000y\"}", 0, -1 },  /* an escaped backslash */
		{ "{\"name\":\"x\\\\\\u0000\"}", 0, 12 }, /* one after it */
		{ "{\"name\":\"x\\u00001\"}", 0, 10 },
		{ "{\"name\":\"x\\u0001\"}", 0, -1 },
		{ "{\"name\":\"x\"}\0y", 14, 12 }, /* a raw NUL */
		{ "\\u000", 0, -1 },		   /* cut short */
		{ "", 0, -1 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len = v[i].len ? v[i].len : strlen(v[i].line);

		is_int(netseg_ctl_nul_at(v[i].line, len), v[i].want, "NUL in line %zu (%s)", i,
		       v[i].line);
	}
}

int main(void)
{
	test_framing();
	test_reused_fd();
	test_nul();
	return tap_done();
}
