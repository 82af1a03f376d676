// SPDX-License-Identifier: GPL-2.0-only
/* Control protocol, client side: JSON objects, one per line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"

int netseg_ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

int netseg_ctl_open(struct netseg_ctl_conn *c, const char *path)
{
	int fd = netseg_ctl_connect(path);

	netseg_ctl_conn_init(c, fd < 0 ? -1 : fd);
	return fd < 0 ? fd : 0;
}

void netseg_ctl_conn_init(struct netseg_ctl_conn *c, int fd)
{
	c->fd = fd;
	c->buf = NULL;
	c->len = 0;
}

void netseg_ctl_close(struct netseg_ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	netseg_ctl_conn_init(c, -1);
}

int netseg_ctl_send(struct netseg_ctl_conn *c, const struct cJSON *msg)
{
	char *s = cJSON_PrintUnformatted(msg);
	int err;

	if (!s)
		return -ENOMEM;
	err = write_all(c->fd, s, strlen(s));
	if (!err)
		err = write_all(c->fd, "\n", 1);
	cJSON_free(s);
	return err;
}

/* Byte-at-a-time would be slow for big replies: read chunks and keep the
 * remainder, the start of the next line, in the connection. */
int netseg_ctl_recv(struct netseg_ctl_conn *c, struct cJSON **out)
{
	char chunk[65536], *nl;
	size_t linelen;
	ssize_t n;

	while (!(nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL)) {
		if (c->len > NETSEG_CTL_MAX_MSG)
			return -EMSGSIZE;
		n = read(c->fd, chunk, sizeof(chunk));
		/* A signal ends the wait: a follower's Ctrl-C must get through. */
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		char *nb = realloc(c->buf, c->len + n + 1);

		if (!nb)
			return -ENOMEM;
		c->buf = nb;
		memcpy(c->buf + c->len, chunk, n);
		c->len += n;
	}
	*nl = '\0';
	linelen = nl - c->buf + 1;
	*out = cJSON_Parse(c->buf);
	memmove(c->buf, c->buf + linelen, c->len - linelen);
	c->len -= linelen;
	return *out ? 0 : -EPROTO;
}

/*
 * An escape is a backslash and the character after it, so "\\u0000" is a
 * backslash and the text u0000, not a NUL; a backslash outside a string is
 * a syntax error anyway, so strings need no tracking.
 */
long netseg_ctl_nul_at(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!line[i])
			return (long)i;
		if (line[i] != '\\')
			continue;
		if (i + 5 < len && line[i + 1] == 'u' && !memcmp(line + i + 2, "0000", 4))
			return (long)i;
		i++; /* the escaped character */
	}
	return -1;
}
