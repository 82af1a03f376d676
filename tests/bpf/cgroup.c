// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroup_skb programs (docs/architecture.md, "Identities"): the same
 * classifier as TC, the packet starting at the IP header, the sending
 * socket's cgroup giving the source identity (egress) and the receiving
 * cgroup the destination (ingress), child cgroups inheriting their
 * ancestors' identity.
 *
 * BPF_PROG_TEST_RUN builds its skb from an Ethernet frame (eth_type_trans
 * sets skb->protocol, then data starts at the network header for
 * cgroup_skb) and attaches a dummy socket created in the calling task's
 * cgroup.  So this test moves itself into a fresh cgroup2 leaf
 * (<cgroup2>/netseg-bpft-PID-NS/leaf), checks that the CT entry's owner is
 * that leaf's id, and removes both cgroups at exit, on failure too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A 256
#define ID_B 257
#define ID_C 258 /* the cgroup endpoint */
#define IP_A "198.18.8.1"
#define IP_B "198.18.8.2"
#define IP_C "198.18.8.3" /* the cgroup's socket address: not in the ipcache */
#define IP6_B "fd00::8:2"
#define IP6_C "fd00::8:3"
#define IP_NODE "198.18.8.254" /* the node's own address: host */
#define IP6_NODE "fd00::8:fe"
#define IP_W "198.19.50.1" /* world */
#define IP6_W "fd00::50:1"

static char cg_root[256], cg_orig[1024], cg_parent[512], cg_leaf[600];
/* Made before the signal handlers go in: on_signal only opens, writes and
 * removes (async-signal-safe calls; no snprintf, no errno). */
static char cg_orig_procs[1100], pid_line[32];
static int pid_len;

static int write_pid(const char *dir)
{
	char path[700], buf[32];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (write(fd, buf, n) != n)
		err = -errno;
	close(fd);
	return err;
}

static void cg_cleanup(void)
{
	int fd = cg_orig_procs[0] ? open(cg_orig_procs, O_WRONLY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		if (write(fd, pid_line, pid_len) != pid_len)
			cg_orig_procs[0] = '\0'; /* nothing more to do about it */
		close(fd);
	}
	if (cg_leaf[0])
		rmdir(cg_leaf);
	if (cg_parent[0])
		rmdir(cg_parent);
	cg_leaf[0] = cg_parent[0] = '\0';
}

static void on_signal(int sig)
{
	cg_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void find_cgroup2(void)
{
	struct mntent *m;
	FILE *f = setmntent("/proc/mounts", "r");
	char line[512];

	if (!f)
		bail("cgroup: can't read /proc/mounts: %s", strerror(errno));
	while ((m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(cg_root, sizeof(cg_root), "%s", m->mnt_dir);
			break;
		}
	endmntent(f);
	if (!cg_root[0])
		bail("cgroup: no cgroup2 filesystem mounted (see /proc/mounts)");
	f = fopen("/proc/self/cgroup", "r");
	if (!f)
		bail("cgroup: can't read /proc/self/cgroup: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(cg_orig, sizeof(cg_orig), "%s%s", cg_root,
				 strcmp(line + 3, "/") ? line + 3 : "");
		}
	fclose(f);
	if (!cg_orig[0])
		bail("cgroup: this process has no cgroup2 membership");
	snprintf(cg_orig_procs, sizeof(cg_orig_procs), "%s/cgroup.procs", cg_orig);
	pid_len = snprintf(pid_line, sizeof(pid_line), "%d\n", getpid());
}

/* Creates <root>/netseg-bpft-PID-NS/leaf and moves this process into it. */
static void enter_test_cgroup(__u64 *parent_id, __u64 *leaf_id)
{
	struct timespec ts;
	int err;

	find_cgroup2();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(cg_parent, sizeof(cg_parent), "%s/netseg-bpft-%d-%ld", cg_root, getpid(),
		 ts.tv_nsec);
	snprintf(cg_leaf, sizeof(cg_leaf), "%s/leaf", cg_parent);
	atexit(cg_cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGABRT, on_signal);
	if (mkdir(cg_parent, 0755) || mkdir(cg_leaf, 0755))
		bail("cgroup: couldn't create %s: %s", cg_leaf, strerror(errno));
	err = write_pid(cg_leaf);
	if (err)
		bail("cgroup: couldn't move into %s: %s", cg_leaf, strerror(-err));
	if (netseg_cgroup_id(cg_parent, parent_id) || netseg_cgroup_id(cg_leaf, leaf_id))
		bail("cgroup: couldn't read the ids of %s", cg_leaf);
	diag("test cgroup %s (id %llu, parent id %llu)", cg_leaf, (unsigned long long)*leaf_id,
	     (unsigned long long)*parent_id);
}

#define EG NETSEG_HOOK_CG_EGRESS
#define IN NETSEG_HOOK_CG_INGRESS
#define TCP4(s, d, sp, dp, fl)                                                        \
	{                                                                             \
		.af = 4, .src = (s), .dst = (d), .proto = IPPROTO_TCP, .sport = (sp), \
		.dport = (dp), .tcp_flags = (fl)                                      \
	}
#define ALLOWED(r, s, d) .pass = true, .stat = NETSEG_STAT_PASS, .rule = (r), .src = (s), .dst = (d)
#define DENIED(s, d)                                                             \
	.pass = false, .stat = NETSEG_REASON_DEFAULT_DENY, .ev = NETSEG_EV_DENY, \
	.reason = NETSEG_REASON_DEFAULT_DENY, .rule = 0, .src = (s), .dst = (d)

/* With the leaf cgroup mapped to C. */
static const struct bpfx_row leaf_rows[] = {
	{ "egress C->B tcp/443: source identity from the socket's cgroup, allowed",
	  TCP4(IP_C, IP_B, 40000, 443, PKT_TCP_SYN), EG, ALLOWED(1, ID_C, ID_B) },
	{ "ingress B->C reply of that flow passes from CT",
	  TCP4(IP_B, IP_C, 443, 40000, PKT_TCP_SYN | PKT_TCP_ACK), IN, .pass = true,
	  .stat = NETSEG_STAT_CT_HIT, .keep_ct = true },
	{ "egress C->B tcp/22: default deny, event names C as source",
	  TCP4(IP_C, IP_B, 40001, 22, PKT_TCP_SYN), EG, DENIED(ID_C, ID_B) },
	{ "ingress A->C tcp/8080: destination identity from the cgroup, allowed",
	  TCP4(IP_A, IP_C, 40002, 8080, PKT_TCP_SYN), IN, ALLOWED(2, ID_A, ID_C) },
	{ "ingress A->C tcp/9090: default deny, event names C as destination",
	  TCP4(IP_A, IP_C, 40003, 9090, PKT_TCP_SYN), IN, DENIED(ID_A, ID_C) },
	{ "egress v6 C->B tcp/443 allowed",
	  { .af = 6,
	    .src = IP6_C,
	    .dst = IP6_B,
	    .proto = IPPROTO_TCP,
	    .sport = 40004,
	    .dport = 443,
	    .tcp_flags = PKT_TCP_SYN },
	  EG,
	  ALLOWED(1, ID_C, ID_B) },
	{ "egress udp C->B/53 allowed",
	  { .af = 4, .src = IP_C, .dst = IP_B, .proto = IPPROTO_UDP, .sport = 40005, .dport = 53 },
	  EG,
	  ALLOWED(3, ID_C, ID_B) },
	{ "egress SYN+FIN: impossible, dropped at the cgroup hook",
	  TCP4(IP_C, IP_B, 40006, 443, PKT_TCP_SYN | PKT_TCP_FIN), EG, .pass = false,
	  .stat = NETSEG_REASON_IMPOSSIBLE, .ev = NETSEG_EV_DENY,
	  .reason = NETSEG_REASON_IMPOSSIBLE },
};

#define TC NETSEG_HOOK_TC_INGRESS
#define UDP(af_, s, d, sp, dp)                                                            \
	{                                                                                 \
		.af = (af_), .src = (s), .dst = (d), .proto = IPPROTO_UDP, .sport = (sp), \
		.dport = (dp)                                                             \
	}
#define NOEP .pass = true, .stat = NETSEG_STAT_PASS
#define DROP_DEFAULT(s, d) DENIED(s, d), .keep_ct = true

/*
 * A verdict taken where the destination was just the node (TC on the
 * uplink: lo stands in for it here) touches no endpoint and passes; the
 * cgroup hook of C must not take that conntrack entry as its own verdict.
 */
static const struct bpfx_row cover_rows[] = {
	{ "world->node tcp/5000 at the uplink: no endpoint, passes",
	  TCP4(IP_W, IP_NODE, 41000, 5000, PKT_TCP_SYN), TC, NOEP },
	{ "...the same SYN delivered to C's listener: C's default deny, not the uplink's entry",
	  TCP4(IP_W, IP_NODE, 41000, 5000, PKT_TCP_SYN), IN, DROP_DEFAULT(NETSEG_ID_WORLD, ID_C) },
	{ "...its next packet at the uplink: the flow is denied now",
	  TCP4(IP_W, IP_NODE, 41000, 5000, PKT_TCP_ACK), TC, .pass = false,
	  .stat = NETSEG_REASON_DEFAULT_DENY, .ev = NETSEG_EV_DENY,
	  .reason = NETSEG_REASON_DEFAULT_DENY, .src = NETSEG_ID_WORLD, .dst = ID_C,
	  .keep_ct = true },
	{ "world->node udp/5001 at the uplink: passes", UDP(4, IP_W, IP_NODE, 41001, 5001), TC,
	  NOEP },
	{ "...the datagram delivered to C: default deny", UDP(4, IP_W, IP_NODE, 41001, 5001), IN,
	  DROP_DEFAULT(NETSEG_ID_WORLD, ID_C) },
	{ "v6 world->node tcp/5000 at the uplink: passes",
	  { .af = 6,
	    .src = IP6_W,
	    .dst = IP6_NODE,
	    .proto = IPPROTO_TCP,
	    .sport = 41002,
	    .dport = 5000,
	    .tcp_flags = PKT_TCP_SYN },
	  TC,
	  NOEP },
	{ "...delivered to C: default deny (v6)",
	  { .af = 6,
	    .src = IP6_W,
	    .dst = IP6_NODE,
	    .proto = IPPROTO_TCP,
	    .sport = 41002,
	    .dport = 5000,
	    .tcp_flags = PKT_TCP_SYN },
	  IN,
	  DROP_DEFAULT(NETSEG_ID_WORLD, ID_C) },
	{ "v6 world->node udp/5001 at the uplink: passes", UDP(6, IP6_W, IP6_NODE, 41003, 5001), TC,
	  NOEP },
	{ "...delivered to C: default deny (v6 udp)", UDP(6, IP6_W, IP6_NODE, 41003, 5001), IN,
	  DROP_DEFAULT(NETSEG_ID_WORLD, ID_C) },
	/* One "knock" from world must not open C's way out on that tuple. */
	{ "knock: world:53 -> node:6000 udp at the uplink passes", UDP(4, IP_W, IP_NODE, 53, 6000),
	  TC, NOEP },
	{ "...C sends node:6000 -> world:53: judged as world -> C:6000, default deny",
	  UDP(4, IP_NODE, IP_W, 6000, 53), EG, DROP_DEFAULT(ID_C, NETSEG_ID_WORLD) },
	{ "knock over tcp: world:443 -> node:6001 SYN at the uplink passes",
	  TCP4(IP_W, IP_NODE, 443, 6001, PKT_TCP_SYN), TC, NOEP },
	{ "...C answers node:6001 -> world:443: default deny",
	  TCP4(IP_NODE, IP_W, 6001, 443, PKT_TCP_SYN | PKT_TCP_ACK), EG,
	  DROP_DEFAULT(ID_C, NETSEG_ID_WORLD) },
	/* Allowed for C: decided again with C, then C's own replies pass from CT. */
	{ "world->node tcp/8081 at the uplink passes",
	  TCP4(IP_W, IP_NODE, 41004, 8081, PKT_TCP_SYN), TC, NOEP },
	{ "...delivered to C: rule 4 (world -> C:8081) allows it, the entry now says so",
	  TCP4(IP_W, IP_NODE, 41004, 8081, PKT_TCP_SYN), IN, ALLOWED(4, NETSEG_ID_WORLD, ID_C),
	  .keep_ct = true },
	{ "...C's reply passes from conntrack",
	  TCP4(IP_NODE, IP_W, 8081, 41004, PKT_TCP_SYN | PKT_TCP_ACK), EG, .pass = true,
	  .stat = NETSEG_STAT_CT_HIT, .keep_ct = true },
	{ "...and so does the uplink's next packet, and C's",
	  TCP4(IP_W, IP_NODE, 41004, 8081, PKT_TCP_ACK), TC, .pass = true,
	  .stat = NETSEG_STAT_CT_HIT, .keep_ct = true },
	{ "...at C's ingress (recorded: no new decision)",
	  TCP4(IP_W, IP_NODE, 41004, 8081, PKT_TCP_ACK), IN, .pass = true,
	  .stat = NETSEG_STAT_CT_HIT, .keep_ct = true },
};

static void check_owner(struct bpfx *x, __u64 leaf_id)
{
	struct pkt_flow f = TCP4(IP_C, IP_B, 40000, 443, PKT_TCP_SYN);
	struct netseg_ct_entry e;
	struct bpfx_row row = { "egress C->B tcp/443 (owner check)", f, EG,
				ALLOWED(1, ID_C, ID_B) };
	struct bpfx_row reply = { "ingress B->C reply (owner check)",
				  TCP4(IP_B, IP_C, 443, 40000, PKT_TCP_SYN | PKT_TCP_ACK),
				  IN,
				  .pass = true,
				  .stat = NETSEG_STAT_CT_HIT,
				  .keep_ct = true };

	bpfx_row_run(x, &row, NULL);
	bpfx_row_run(x, &reply, NULL);
	if (!ok(!bpfx_ct_get(x, &f, &e), "CT entry for the cgroup flow"))
		return;
	if (!ok(e.owner == leaf_id && e.hook == NETSEG_HOOK_CG_EGRESS,
		"CT owner is this process's cgroup id %llu: test_run's socket is in the "
		"caller's cgroup",
		(unsigned long long)leaf_id))
		diag("  owner %llu hook %u", (unsigned long long)e.owner, e.hook);
	ok(e.packets[0] == 1 && e.packets[1] == 1 && e.tcp_state == NETSEG_TCP_ESTABLISHED,
	   "egress then ingress at the same cgroup: packets 1/1, established");
}

int main(void)
{
	struct netseg_policy_entry rules[4];
	__u64 parent_id, leaf_id;
	char saved[512];
	struct bpfx x;

	bpfx_init(&x, "cgroup");
	enter_test_cgroup(&parent_id, &leaf_id);
	bpfx_identity(&x, ID_A, NETSEG_IDF_ENDPOINT);
	bpfx_identity(&x, ID_B, NETSEG_IDF_ENDPOINT);
	bpfx_identity(&x, ID_C, NETSEG_IDF_ENDPOINT);
	bpfx_host(&x, 4, IP_A, ID_A, 0);
	bpfx_host(&x, 4, IP_B, ID_B, 0);
	bpfx_host(&x, 6, IP6_B, ID_B, 0);
	rules[0] = bpfx_rule(ID_C, ID_B, IPPROTO_TCP, 443, 16, NETSEG_VERDICT_ALLOW, 1, 0);
	rules[1] = bpfx_rule(ID_A, ID_C, IPPROTO_TCP, 8080, 16, NETSEG_VERDICT_ALLOW, 2, 0);
	rules[2] = bpfx_rule(ID_C, ID_B, IPPROTO_UDP, 53, 16, NETSEG_VERDICT_ALLOW, 3, 0);
	rules[3] = bpfx_rule(NETSEG_ID_WORLD, ID_C, IPPROTO_TCP, 8081, 16, NETSEG_VERDICT_ALLOW, 4,
			     0);
	bpfx_policy(&x, rules, 4);
	bpfx_host(&x, 4, IP_NODE, NETSEG_ID_HOST, 0);
	bpfx_host(&x, 6, IP6_NODE, NETSEG_ID_HOST, 0);

	/* Unmapped: the cgroup socket's address is world, B default-denies. */
	const struct bpfx_row unmapped = {
		"cgroup not mapped: egress C->B tcp/443 is world -> default deny",
		TCP4(IP_C, IP_B, 40010, 443, PKT_TCP_SYN), EG, DENIED(NETSEG_ID_WORLD, ID_B)
	};
	bpfx_row_run(&x, &unmapped, NULL);

	if (netseg_dp_cgroup_set(x.dp, leaf_id, ID_C))
		bail("couldn't map cgroup %llu", (unsigned long long)leaf_id);
	for (size_t i = 0; i < ARRAY_LEN(leaf_rows); i++)
		bpfx_row_run(&x, &leaf_rows[i], NULL);
	check_owner(&x, leaf_id);
	for (size_t i = 0; i < ARRAY_LEN(cover_rows); i++)
		bpfx_row_run(&x, &cover_rows[i], NULL);

	/* Only the parent mapped: the leaf inherits C. */
	netseg_dp_cgroup_del(x.dp, leaf_id);
	netseg_dp_cgroup_set(x.dp, parent_id, ID_C);
	const struct bpfx_row inherit[] = {
		{ "parent cgroup mapped: egress from the child is C, allowed",
		  TCP4(IP_C, IP_B, 40020, 443, PKT_TCP_SYN), EG, ALLOWED(1, ID_C, ID_B) },
		{ "parent cgroup mapped: ingress to the child is C, allowed",
		  TCP4(IP_A, IP_C, 40021, 8080, PKT_TCP_SYN), IN, ALLOWED(2, ID_A, ID_C) },
	};
	for (size_t i = 0; i < ARRAY_LEN(inherit); i++)
		bpfx_row_run(&x, &inherit[i], NULL);
	netseg_dp_cgroup_del(x.dp, parent_id);

	bpfx_fini(&x);
	snprintf(saved, sizeof(saved), "%s", cg_parent);
	cg_cleanup();
	ok(access(saved, F_OK) != 0 && errno == ENOENT, "test cgroups removed (%s)", saved);
	return tap_done();
}
