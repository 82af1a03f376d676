// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control socket: non-blocking, line-framed JSON, SO_PEERCRED checked.
 * A bad, oversized or half-sent request costs its client an error reply or
 * its connection, never the daemon.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "log.h"
#include "flowlog.h"
#include "netsegd.h"

/* Supplementary groups of a peer looked at; more is refused (ERANGE). */
#define NGROUPS_MAX_PEER 4096
/* Refused connections are logged at most this often (a client retrying in
 * a loop would otherwise flood the log). */
#define REFUSE_LOG_EVERY_MS 10000

static __u64 mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

int netsegd_control_open(struct netsegd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct group *gr = getgrnam(d->cfg.socket_group);
	int fd, err;

	if (strlen(d->cfg.socket) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, d->cfg.socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(d->cfg.socket);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)) {
		err = -errno;
		pr_err("couldn't listen on %s: %s", d->cfg.socket, strerror(-err));
		close(fd);
		return err;
	}
	/* 0660 root:netseg — the kernel checks this before SO_PEERCRED does. */
	if (chmod(d->cfg.socket, 0660) || (gr && chown(d->cfg.socket, 0, gr->gr_gid)))
		pr_warn("couldn't set owner/mode of %s: %s", d->cfg.socket, strerror(errno));
	if (!gr)
		pr_warn("group %s doesn't exist: only root can use %s", d->cfg.socket_group,
			d->cfg.socket);
	d->ctl.gid = gr ? gr->gr_gid : (gid_t)-1;
	d->ctl.fd = fd; /* the loop watches it, with a NULL tag */
	return 0;
}

void netsegd_control_close(struct netsegd *d)
{
	for (int i = 0; i < NETSEGD_MAX_CLIENTS; i++) {
		struct netsegd_client *c = d->ctl.clients[i];

		if (!c)
			continue;
		close(c->fd);
		free(c->in);
		free(c->out);
		free(c);
		d->ctl.clients[i] = NULL;
	}
	if (d->ctl.fd >= 0) {
		close(d->ctl.fd);
		unlink(d->cfg.socket);
	}
}

/*
 * The peer's own groups, as the kernel saw them at connect() (the same
 * credentials the socket file's mode was checked against), not /etc/group:
 * a member who dropped the group, or a service given it with
 * SupplementaryGroups= without a line in /etc/group, is judged by what it
 * actually holds.
 */
static bool peer_in_group(int fd, gid_t primary, gid_t want)
{
	gid_t groups[NGROUPS_MAX_PEER];
	socklen_t len = sizeof(groups);

	if (want == (gid_t)-1)
		return false;
	if (primary == want)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		return false; /* ERANGE: more groups than we look at */
	for (size_t i = 0; i < len / sizeof(groups[0]); i++)
		if (groups[i] == want)
			return true;
	return false;
}

/* A client's fd joins the loop's epoll set, tagged with the client. */
static int watch(struct netsegd *d, struct netsegd_client *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	return epoll_ctl(d->loop.epfd, EPOLL_CTL_ADD, c->fd, &ev) ? -errno : 0;
}

static void client_free(struct netsegd *d, struct netsegd_client *c)
{
	netsegd_flowlog_forget(d, c);
	for (int i = 0; i < NETSEGD_MAX_CLIENTS; i++)
		if (d->ctl.clients[i] == c)
			d->ctl.clients[i] = NULL;
	close(c->fd); /* also removes it from epoll */
	free(c->in);
	free(c->out);
	free(c);
}

static int queue_reply(struct netsegd *d, struct netsegd_client *c, cJSON *reply)
{
	char *s = cJSON_PrintUnformatted(reply);
	size_t len;
	char *nb;

	cJSON_Delete(reply);
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	nb = realloc(c->out, c->out_len + len + 1);
	if (!nb) {
		cJSON_free(s);
		return -ENOMEM;
	}
	c->out = nb;
	memcpy(c->out + c->out_len, s, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	cJSON_free(s);
	return 0;
}

/* Returns false when the client is gone. */
static bool flush_out(struct netsegd *d, struct netsegd_client *c)
{
	struct epoll_event ev = { .data.ptr = c };

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_free(d, c);
			return false;
		}
		c->out_off += n;
		c->wait_since_ms = mono_ms(); /* a slow reader of a reply isn't idle */
	}
	if (c->out_off) {
		/* Sent bytes leave the buffer, so a long stream doesn't grow it. */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	/* A `flows` stream queues its next part as the socket takes the last. */
	netsegd_flowlog_refill(d, c);
	if (!c->out_len && c->closing) {
		client_free(d, c);
		return false;
	}
	ev.events = EPOLLIN | (c->out_len ? EPOLLOUT : 0);
	epoll_ctl(d->loop.epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return true;
}

/*
 * A follower's send: only queues, the loop flushes on EPOLLOUT, so no
 * caller ever sees its client freed under it.
 */
static int follower_send(void *ctx, cJSON *msg)
{
	struct netsegd_client *c = ctx;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };

	if (queue_reply(c->d, c, msg))
		return -ENOMEM;
	epoll_ctl(c->d->loop.epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

static size_t follower_backlog(const void *ctx)
{
	const struct netsegd_client *c = ctx;

	return c->out_len - c->out_off;
}

/*
 * cJSON ends a string at a NUL, raw or written \u0000: "x\u0000y" would
 * become the name "x", a different thing from what the client asked for,
 * with no word said.  Such a request is refused whole.
 */
static cJSON *nul_refusal(struct netsegd *d, const char *line, size_t len)
{
	long at = netseg_ctl_nul_at(line, len);

	if (at < 0)
		return NULL;
	d->ctl.stats.nul++;
	return netsegd_reply_error(
		"usage",
		"request refused: it contains a NUL byte (%s at byte %ld); no name or text "
		"can hold one",
		line[at] ? "\\u0000" : "a raw NUL", at + 1);
}

static void handle_line(struct netsegd *d, struct netsegd_client *c, char *line, size_t len)
{
	struct netsegd_follower_io io = {
		.send = follower_send,
		.backlog = follower_backlog,
		.ctx = c,
	};
	cJSON *reply = c->denied ? NULL : nul_refusal(d, line, len);
	cJSON *req = reply ? NULL : cJSON_Parse(line);

	if (reply)
		; /* refused already */
	else if (c->denied)
		reply = netsegd_reply_error(
			"rejected",
			"permission denied: netsegd accepts root and members of group '%s'",
			d->cfg.socket_group);
	else if (!req || !cJSON_IsObject(req))
		reply = netsegd_reply_error("usage", "request is not a JSON object");
	else
		reply = netsegd_dispatch(d, req, &io); /* NULL: a `flows` stream took over */
	cJSON_Delete(req);
	if (reply)
		queue_reply(d, c, reply);
}

static bool read_in(struct netsegd *d, struct netsegd_client *c)
{
	char buf[65536], *nl;
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n == 0) {
			/* Half-close after a request: answer, then hang up.  A
			 * half-sent line is dropped. */
			c->closing = true;
			return true;
		}
		if (n < 0) {
			client_free(d, c);
			return false;
		}
		char *nb = realloc(c->in, c->in_len + n + 1);

		if (!nb) {
			client_free(d, c);
			return false;
		}
		c->in = nb;
		memcpy(c->in + c->in_len, buf, n);
		c->in_len += n;
		c->in[c->in_len] = '\0';
		while ((nl = memchr(c->in, '\n', c->in_len))) {
			size_t used = nl - c->in + 1;

			*nl = '\0';
			c->wait_since_ms = mono_ms();
			handle_line(d, c, c->in, used - 1);
			memmove(c->in, c->in + used, c->in_len - used);
			c->in_len -= used;
		}
		if (c->in_len > NETSEG_CTL_MAX_MSG) {
			queue_reply(d, c,
				    netsegd_reply_error("usage", "request longer than %u bytes",
							NETSEG_CTL_MAX_MSG));
			c->closing = true;
			c->in_len = 0;
			return true;
		}
	}
}

void netsegd_client_event(struct netsegd *d, struct netsegd_client *c, __u32 events)
{
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing) {
		if (!read_in(d, c))
			return;
	}
	flush_out(d, c);
}

/*
 * Whether a new client of uid can have a slot (*slot says which), else
 * why not, in @why: see NETSEGD_MAX_CLIENTS_PER_UID.
 */
static bool room_for(const struct netsegd *d, uid_t uid, int *slot, char *why, size_t len)
{
	const unsigned int side_max = NETSEGD_MAX_CLIENTS - NETSEGD_CLIENTS_KEPT;
	unsigned int mine = 0, root = 0, used = 0;

	*slot = -1;
	for (int i = 0; i < NETSEGD_MAX_CLIENTS; i++) {
		const struct netsegd_client *o = d->ctl.clients[i];

		if (!o) {
			*slot = *slot < 0 ? i : *slot;
			continue;
		}
		used++;
		mine += o->uid == uid;
		root += o->uid == 0;
	}
	if (!uid && root >= side_max)
		snprintf(why, len,
			 "root holds the most control connections it may (%u of %d; "
			 "%d are kept for other users)",
			 side_max, NETSEGD_MAX_CLIENTS, NETSEGD_CLIENTS_KEPT);
	else if (uid && mine >= NETSEGD_MAX_CLIENTS_PER_UID)
		snprintf(why, len, "this uid holds the most control connections one user may (%d)",
			 NETSEGD_MAX_CLIENTS_PER_UID);
	else if (uid && used - root >= side_max)
		snprintf(why, len,
			 "users other than root hold the most control connections they "
			 "may (%u of %d; %d are kept for root)",
			 side_max, NETSEGD_MAX_CLIENTS, NETSEGD_CLIENTS_KEPT);
	else if (*slot < 0)
		snprintf(why, len, "all %d control connections are in use", NETSEGD_MAX_CLIENTS);
	else
		return true;
	return false;
}

/* A line saying why, sent if the socket takes it at once, and the close. */
static void refuse(struct netsegd *d, int fd, const struct ucred *cred, const char *why)
{
	static __u64 logged_ms;
	cJSON *r = netsegd_reply_error(
		"rejected", "netsegd refused the connection: %s; close idle connections and retry",
		why);
	char *line = r ? cJSON_PrintUnformatted(r) : NULL;
	__u64 now = mono_ms();

	if (line && send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		send(fd, "\n", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	cJSON_free(line);
	cJSON_Delete(r);
	close(fd);
	d->ctl.stats.refused++;
	if (!logged_ms || now - logged_ms >= REFUSE_LOG_EVERY_MS) {
		logged_ms = now;
		pr_warn("refused control client uid %u pid %d: %s (%llu refused so far)", cred->uid,
			cred->pid, why, (unsigned long long)d->ctl.stats.refused);
	}
}

void netsegd_control_accept(struct netsegd *d)
{
	struct ucred cred;
	socklen_t len;
	struct netsegd_client *c;
	char why[160];
	int fd, slot;

	while ((fd = accept4(d->ctl.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			pr_warn("control client: couldn't read its credentials: %s",
				strerror(errno));
			close(fd);
			continue;
		}
		if (!room_for(d, cred.uid, &slot, why, sizeof(why))) {
			refuse(d, fd, &cred, why);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			refuse(d, fd, &cred, "out of memory");
			continue;
		}
		c->d = d;
		c->fd = fd;
		c->wait_since_ms = mono_ms();
		d->ctl.clients[slot] = c;
		if (cred.uid != 0 && !peer_in_group(fd, cred.gid, d->ctl.gid)) {
			/* Every request of this client gets the refusal. */
			pr_warn("refused control client uid %u pid %d: not root or in group %s",
				cred.uid, cred.pid, d->cfg.socket_group);
			c->denied = true;
		}
		c->uid = cred.uid;
		if (watch(d, c)) {
			client_free(d, c);
			continue;
		}
	}
}

/*
 * A client gets control_idle_timeout seconds from its connection, from each
 * request and from each part of a reply it read, to send a complete next
 * request; a half-sent line doesn't count, so trickling bytes in keeps no
 * slot.  Followers of `flows --follow` are quiet for as long as nothing is
 * logged, and are left alone.
 */
void netsegd_control_tick(struct netsegd *d)
{
	__u64 now = mono_ms(), limit = d->cfg.control_idle_timeout * 1000ULL;

	for (int i = 0; i < NETSEGD_MAX_CLIENTS; i++) {
		struct netsegd_client *c = d->ctl.clients[i];

		if (!c || now - c->wait_since_ms < limit || netsegd_flowlog_following(d, c))
			continue;
		d->ctl.stats.timed_out++;
		pr_info("closed control client uid %u: no request in %u s", c->uid,
			d->cfg.control_idle_timeout);
		client_free(d, c);
	}
}
