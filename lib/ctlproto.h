/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Control protocol between netsegctl (and tests) and netsegd.
 *
 * Transport: a SOCK_STREAM unix socket (default /run/netseg/netsegd.sock,
 * mode 0660, root or group "netseg", checked with SO_PEERCRED).  One JSON
 * object per line each way, at most NETSEG_CTL_MAX_MSG bytes per line.
 * Every request gets exactly one reply, except "flows" with follow=true.
 * A line holding a NUL byte (raw or \u0000) is refused.  The daemon may
 * refuse a connection (too many of one uid) with one error line and close
 * it, and closes one that sends no complete request for
 * "control_idle_timeout" seconds (followers excepted).
 *
 * Request:  {"cmd": "<name>", ...arguments}
 * Reply:    {"ok": true, ...results}
 *       or  {"ok": false, "error": "<one clear sentence>",
 *            "kind": "rejected" | "usage" | "internal",
 *            "errors": ["file:line:col: ...", ...]   (optional, all errors)}
 *
 * Commands and their arguments (all strings unless noted):
 *   status                       -> revision, generation, rules, identities,
 *                                   endpoints, pin_dir, uptime_s, version
 *   stats                        -> counters {name: {packets, bytes}},
 *                                   rules [{id, text, packets, bytes}],
 *                                   interfaces [{ifindex, name, pass_packets,
 *                                   drop_packets, drop_bytes, xdp_drop_packets}]
 *   identity.add  name, ifaces [glob], cgroups [path], cidrs [cidr],
 *                 audit (bool)   -> identity {name, id, ifaces, cgroups,
 *                                   cidrs, audit}, revision
 *   identity.list                -> identities [identity]
 *   identity.remove name         -> revision (refused while rules use it)
 *   endpoint.list                -> endpoints [{kind "iface"|"cgroup", name,
 *                                   ifindex|cgroup_id, identity, ips [],
 *                                   attached [hooks]}]
 *   rule.add  action "allow"|"deny", rule (grammar text), audit (bool),
 *             log (bool), comment -> id, existing (bool), revision
 *   rule.remove  target (rule id as a string, or rule text)
 *                                -> removed (id), revision
 *   rule.list                    -> rules [{id, action, rule, audit, log,
 *                                   comment}], revision
 *   apply  name (file name for messages), text (.rules or JSON content),
 *          dry_run (bool), expect_revision (number, optional)
 *                                -> revision, rules, added, removed,
 *                                   entries (compiled map entries)
 *   diff   name, text            -> added [rule], removed [rule]
 *   trace  src, dst, proto ("tcp"...), port (number)
 *                                -> verdict "allow"|"deny"|"audit",
 *                                   rule_id, rule, reason, explanation
 *   prefilter.add / prefilter.remove  cidr   -> revision
 *   prefilter.list               -> prefilter [{cidr, hits}]
 *   prefilter.replace  name, text (one CIDR a line), dry_run (bool)
 *                                -> added [cidr], removed [cidr], prefixes
 *                                   (number), revision, unchanged (bool)
 *   attach / detach  iface       -> iface, ifindex, attached [hooks]
 *   flows  follow (bool), verdict, identity, rule (number), format
 *                                -> one {"ok":true,"flow":{...}} line per
 *                                   record, then {"ok":true,"end":true}
 *                                   unless follow
 */
#ifndef NETSEG_CTLPROTO_H
#define NETSEG_CTLPROTO_H

#include <stddef.h>

#define NETSEG_CTL_SOCK "/run/netseg/netsegd.sock"
/* One request or reply line.  Sized for whole lists in one message: a
 * prefilter list of 100k CIDRs is 1.7 MB as /32s, but ~4.6 MB as
 * long-form IPv6 or with a comment per line, sent once as the file's
 * text and once back as the reply's diff. */
#define NETSEG_CTL_MAX_MSG (16U << 20)

struct cJSON;

/*
 * Client side: one connection, with the bytes read past the last line it
 * returned.  The buffer belongs to the connection, not to an fd number: a
 * new connection on a reused fd starts empty.
 */
struct netseg_ctl_conn {
	int fd;	   /* -1 when closed */
	char *buf; /* received, not yet returned as a line */
	size_t len;
};

/* A connected fd or -errno (a probe: is anyone listening there?). */
int netseg_ctl_connect(const char *path);
/* Connects @c to the socket at @path: 0, or -errno with c->fd -1. */
int netseg_ctl_open(struct netseg_ctl_conn *c, const char *path);
/* @c over an fd the caller has (a socketpair); the connection owns it. */
void netseg_ctl_conn_init(struct netseg_ctl_conn *c, int fd);
/* Closes the fd and frees the buffer; @c may be closed already. */
void netseg_ctl_close(struct netseg_ctl_conn *c);
/* Sends one object as a line.  0 or -errno. */
int netseg_ctl_send(struct netseg_ctl_conn *c, const struct cJSON *msg);
/* Reads one line and parses it; *out owned by the caller.  0, -EPROTO for
 * a line that isn't JSON, -EMSGSIZE past NETSEG_CTL_MAX_MSG, -ECONNRESET at
 * end of stream, -EINTR when a signal interrupted the wait. */
int netseg_ctl_recv(struct netseg_ctl_conn *c, struct cJSON **out);
/*
 * Where a line of @len bytes holds a NUL byte, raw or as the JSON escape
 * \u0000: the offset of the NUL or of the escape's backslash, or -1.
 * cJSON ends its strings there, so either would silently cut a name short.
 */
long netseg_ctl_nul_at(const char *line, size_t len);

#endif
