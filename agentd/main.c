// SPDX-License-Identifier: GPL-2.0-only
/*
 * netsegd: loads (or re-opens) the datapath, restores the saved state into
 * the maps, replaces running programs in place, and serves the control
 * socket.  SIGTERM leaves everything enforced; --cleanup removes it all.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <cjson/cJSON.h>

#include "ctlproto.h"
#include "log.h"
#include "flowlog.h"
#include "netsegd.h"
#include "version.h"

static const char usage[] =
	"usage: netsegd [-c CONFIG] [--state-dir DIR] [--run-dir DIR] [--bpffs DIR]\n"
	"               [--socket PATH] [-v] [--cleanup [--purge-state]] [--version]\n"
	"  -c, --config FILE   daemon config (JSON; see netsegd.json(5))\n"
	"      --state-dir DIR state file location (default /var/lib/netseg)\n"
	"      --run-dir DIR   control socket directory (default /run/netseg)\n"
	"      --bpffs DIR     pinned maps and links (default /sys/fs/bpf/netseg)\n"
	"      --socket PATH   control socket (default RUN_DIR/netsegd.sock)\n"
	"      --cleanup       detach and unpin everything netseg made, then exit;\n"
	"                      the state file (rules, identities) is kept\n"
	"      --purge-state   with --cleanup: remove the state file too\n"
	"  -v, --verbose       more logging (twice: libbpf debug)\n"
	"      --version       print the version and exit\n";

struct args {
	const char *config, *state_dir, *run_dir, *bpffs, *socket;
	int verbose;
	bool cleanup, purge_state;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "state-dir", required_argument, NULL, 's' },
					      { "run-dir", required_argument, NULL, 'r' },
					      { "bpffs", required_argument, NULL, 'b' },
					      { "socket", required_argument, NULL, 'S' },
					      { "cleanup", no_argument, NULL, 'C' },
					      { "purge-state", no_argument, NULL, 'P' },
					      { "version", no_argument, NULL, 'V' },
					      { "verbose", no_argument, NULL, 'v' },
					      { "help", no_argument, NULL, 'h' },
					      {} };
	int c;

	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 's':
			a->state_dir = optarg;
			break;
		case 'r':
			a->run_dir = optarg;
			break;
		case 'b':
			a->bpffs = optarg;
			break;
		case 'S':
			a->socket = optarg;
			break;
		case 'C':
			a->cleanup = true;
			break;
		case 'P':
			a->purge_state = true;
			break;
		case 'V':
			printf("netsegd %s\n", NETSEG_VERSION);
			exit(0);
		case 'v':
			a->verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "netsegd: unexpected argument '%s'\n%s", argv[optind], usage);
		return -EINVAL;
	}
	if (a->purge_state && !a->cleanup) {
		fprintf(stderr, "netsegd: --purge-state goes with --cleanup\n%s", usage);
		return -EINVAL;
	}
	return 0;
}

static int setup_config(struct netsegd_config *c, struct netsegd_config *file, const struct args *a)
{
	int err = 0;

	netsegd_config_defaults(c);
	if (a->config)
		err = netsegd_config_load(c, a->config);
	if (err)
		return err;
	*file = *c; /* SIGHUP compares the file against this */
#define SET(field, v) \
	if (v)        \
	snprintf(c->field, sizeof(c->field), "%s", v)
	SET(state_dir, a->state_dir);
	SET(run_dir, a->run_dir);
	SET(pin_dir, a->bpffs);
	SET(socket, a->socket);
#undef SET
	if (!c->socket[0])
		snprintf(c->socket, sizeof(c->socket), "%.200s/netsegd.sock", c->run_dir);
	return netsegd_config_check_paths(c, a->config ? a->config : "command line");
}

/*
 * One netsegd per pin dir and per control socket.  A second one would drive
 * the same maps with its own idea of the policy, or take the socket over
 * and leave the first unreachable.  flock() locks: the kernel drops them
 * when their holder dies, so a daemon that was killed -9 leaves no lock
 * to clear by hand.
 */
struct locks {
	int pin, sock;
};

/* The pid holding a flock() on fd's file, from /proc/locks; 0 if unknown. */
static pid_t lock_holder(int fd)
{
	unsigned int maj, min;
	unsigned long ino;
	char line[256], type[16];
	struct stat st;
	pid_t pid = 0;
	FILE *f;
	int p;

	if (fstat(fd, &st))
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", type, &p, &maj, &min, &ino) ==
			    5 &&
		    !strcmp(type, "FLOCK") && maj == major(st.st_dev) && min == minor(st.st_dev) &&
		    ino == st.st_ino)
			pid = p;
	fclose(f);
	return pid;
}

/*
 * Locks path (opened with flags): its fd, or -EBUSY after saying which
 * daemon holds it; @what names the thing ("pin dir X"), @hint what to do.
 */
static int lock_path(const char *path, int flags, const char *what, const char *hint)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0600), err;
	char who[32] = "";
	pid_t pid;

	if (fd < 0) {
		err = -errno;
		pr_err("couldn't open %s to lock it: %s", path, strerror(-err));
		return err;
	}
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	err = -errno;
	if (err == -EWOULDBLOCK) {
		pid = lock_holder(fd);
		if (pid > 0)
			snprintf(who, sizeof(who), " (pid %d)", (int)pid);
		pr_err("another netsegd%s is running on %s; %s", who, what, hint);
		err = -EBUSY;
	} else {
		pr_err("couldn't lock %s: %s", path, strerror(-err));
	}
	close(fd);
	return err;
}

static int lock_pin_dir(const struct netsegd_config *c, bool cleanup)
{
	char what[sizeof(c->pin_dir) + 16];
	int err = netseg_dp_make_pin_dir(c->pin_dir);

	if (err) {
		if (err != -ENOTSUP)
			pr_err("couldn't create %s: %s", c->pin_dir, strerror(-err));
		return err;
	}
	snprintf(what, sizeof(what), "pin dir %s", c->pin_dir);
	return lock_path(c->pin_dir, O_RDONLY | O_DIRECTORY, what,
			 cleanup ? "stop it before --cleanup: it would go on using what "
				   "--cleanup removes" :
				   "stop it first, or give this one its own --bpffs and --socket");
}

/* The socket's lock sits beside it: "<socket>.lock", holding our pid. */
static int lock_socket(const struct netsegd_config *c)
{
	char path[sizeof(c->socket) + 8], what[sizeof(c->socket) + 24], pid[24];
	int fd;

	/* The socket's group must reach it: the one 0755 the umask denies. */
	if (!mkdir(c->run_dir, 0755))
		chmod(c->run_dir, 0755);
	else if (errno != EEXIST) {
		pr_err("couldn't create %s: %s", c->run_dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s.lock", c->socket);
	snprintf(what, sizeof(what), "control socket %s", c->socket);
	fd = lock_path(path, O_RDWR | O_CREAT, what,
		       "stop it first, or give this one its own --socket and --bpffs");
	if (fd < 0)
		return fd;
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || write(fd, pid, strlen(pid)) < 0)
		pr_warn("couldn't write our pid into %s: %s", path, strerror(errno));
	return fd;
}

/* The socket first: a daemon refused for it leaves no pin dir behind. */
static int take_locks(const struct netsegd_config *c, bool cleanup, struct locks *l)
{
	int err = netseg_dp_check_pin_dir(c->pin_dir); /* before creating anything */

	if (err)
		return err;
	if (!cleanup) {
		l->sock = lock_socket(c);
		if (l->sock < 0)
			return l->sock;
	}
	l->pin = lock_pin_dir(c, cleanup);
	return l->pin < 0 ? l->pin : 0;
}

static void drop_locks(struct locks *l)
{
	if (l->sock >= 0)
		close(l->sock);
	if (l->pin >= 0)
		close(l->pin);
}

/* Put the saved state into the maps: recompile and swap, so maps and state
 * agree even if we died between a swap and its state write. */
static int restore(struct netsegd *d)
{
	struct netseg_ruleset rules = {};
	struct netseg_idstore ids;
	struct netseg_err err = {};
	int r;

	for (size_t i = 0; i < d->pol.rules.n; i++)
		if (netseg_ruleset_add(&rules, &d->pol.rules.rules[i]))
			return -ENOMEM;
	if (netseg_idstore_copy(&ids, &d->pol.ids))
		return -ENOMEM;
	d->pol.revision--; /* commit counts this restore as no new revision */
	r = netsegd_commit(d, &rules, &ids, &err);
	if (r) {
		d->pol.revision++;
		pr_err("couldn't restore the saved policy: %s", err.msg);
		return r;
	}
	for (size_t i = 0; i < d->pol.nprefilter; i++) {
		struct netseg_prefix p;

		if (!netseg_prefix_parse(d->pol.prefilter[i].cidr, &p, NULL))
			netseg_dp_prefilter_set(d->dp, &p);
	}
	for (unsigned int i = 0; i < d->cfg.nuplinks; i++) {
		int ifindex = if_nametoindex(d->cfg.uplinks[i]);

		if (!ifindex) {
			pr_warn("uplink %s not found; not attached", d->cfg.uplinks[i]);
			continue;
		}
		netseg_dp_uplink_set(d->dp, ifindex);
		netseg_dp_attach_xdp(d->dp, ifindex);
		netseg_dp_attach_tc(d->dp, ifindex, true);
		netseg_dp_attach_tc(d->dp, ifindex, false);
	}
	return 0;
}

/* Flow logs: always a history for `netsegctl flows`, plus configured sinks. */
static int start_flowlog(struct netsegd *d)
{
	int err = netsegd_flowlog_new(d->cfg.sinks, d->cfg.nsinks, d->cfg.flow_history, &d->fl);

	return err ?: netsegd_flowlog_start(d);
}

static int start(struct netsegd *d)
{
	struct netseg_dp_opts o = {
		.pin_dir = d->cfg.pin_dir,
		.ct_max = d->cfg.ct_max,
		.prefilter_max = d->cfg.prefilter_max,
		.deny_rate = d->cfg.deny_rate,
		.deny_burst = d->cfg.deny_burst,
	};
	int err;

	/* Before anything is created (the state dir): a daemon that can't
	 * pin leaves nothing behind. */
	err = netseg_dp_check_pin_dir(d->cfg.pin_dir);
	if (err)
		return err;
	err = netsegd_state_load(d);
	if (err)
		return err;
	err = netseg_dp_open(&d->dp, &o);
	if (err) {
		pr_err("couldn't load the datapath (bpffs %s): %s", d->cfg.pin_dir, strerror(-err));
		return err;
	}
	netseg_dp_config_set_events(d->dp, d->cfg.deny_rate, d->cfg.deny_burst,
				    d->cfg.log_allowed ? NETSEG_CFG_LOG_ALLOWED : 0);
	/* Running links first point at the new programs: no gap. */
	err = netseg_dp_replace_links(d->dp);
	if (err)
		pr_warn("couldn't replace some running programs: %s", strerror(-err));
	err = restore(d);
	if (err)
		return err;
	d->loop.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->loop.epfd < 0)
		return -errno;
	err = start_flowlog(d);
	return err ?: netsegd_control_open(d);
}

/* What --cleanup did with the state file: a restart enforces what it holds. */
static int cleanup_state(const struct netsegd *d, bool purge)
{
	char path[sizeof(d->cfg.state_dir) + 16];

	snprintf(path, sizeof(path), "%s/" NETSEGD_STATE_FILE, d->cfg.state_dir);
	if (access(path, F_OK)) {
		printf("netsegd: no state file at %s\n", path);
		return 0;
	}
	if (!purge) {
		printf("netsegd: kept %s (rules and identities): the next start enforces them "
		       "again; 'netsegd --cleanup --purge-state' forgets them too\n",
		       path);
		return 0;
	}
	if (unlink(path)) {
		fprintf(stderr, "netsegd: couldn't remove %s: %s\n", path, strerror(errno));
		return -errno;
	}
	printf("netsegd: removed %s: the next start begins with no rules or identities\n", path);
	/* Its records only apply to the state file just removed. */
	snprintf(path, sizeof(path), "%s/" NETSEGD_JOURNAL_FILE, d->cfg.state_dir);
	unlink(path);
	return 0;
}

static int cleanup(struct netsegd *d, bool purge_state)
{
	struct netseg_dp_opts o = { .pin_dir = d->cfg.pin_dir };
	int err = netseg_dp_check_pin_dir(d->cfg.pin_dir);

	err = err ?: netseg_dp_open(&d->dp, &o);

	if (err)
		return err;
	netsegd_state_load(d);
	for (unsigned int i = 0; i < d->cfg.nuplinks; i++) {
		int ifindex = if_nametoindex(d->cfg.uplinks[i]);

		if (ifindex)
			netseg_dp_detach_xdp(d->dp, ifindex);
	}
	err = netseg_dp_cleanup(d->dp);
	netseg_dp_close(d->dp);
	d->dp = NULL;
	printf("netsegd: removed everything pinned under %s\n", d->cfg.pin_dir);
	return err ?: cleanup_state(d, purge_state);
}

int main(int argc, char **argv)
{
	static struct netsegd d;
	struct locks locks = { -1, -1 };
	struct args a = {};
	int err;

	/*
	 * Nothing we create is for others to write, and state (the policy)
	 * and flow logs are for root and the group at most: state dir 0700,
	 * state file 0600, flow logs 0640, bpffs pins 0600 and dirs 0700.
	 */
	umask(027);
	/*
	 * Every rule change copies the rule set (650 bytes a rule: 65 MB at
	 * 100k rules) and frees the one it replaces.  From mmap, each copy
	 * page-faults and zeroes all of it and each free unmaps it: most of a
	 * change's time.  From the heap, kept rather than trimmed, the next
	 * copy lands in memory already mapped.
	 */
	mallopt(M_MMAP_MAX, 0);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	netseg_log_set_ident("netsegd");
	if (parse_args(argc, argv, &a))
		return 2;
	netseg_log_set_level(a.verbose > 1 ? NETSEG_LOG_DEBUG :
			     a.verbose	   ? NETSEG_LOG_INFO :
					     NETSEG_LOG_WARN);
	if (setup_config(&d.cfg, &d.cfg_file, &a))
		return 1;
	d.ctl.fd = d.loop.epfd = d.loop.sigfd = d.loop.timerfd = -1;
	d.pol.next_rule_id = 1;
	d.loop.started = time(NULL);
	netseg_idstore_init(&d.pol.ids);
	netsegd_k8s_init(&d);
	d.pol.prefilter = calloc(d.cfg.prefilter_max, sizeof(*d.pol.prefilter));
	if (!d.pol.prefilter || netsegd_endpoints_init(&d))
		return 1;
	if (netsegd_check_privileges())
		return 1;
	if (take_locks(&d.cfg, a.cleanup, &locks)) {
		drop_locks(&locks);
		return 1;
	}
	if (a.cleanup) {
		err = cleanup(&d, a.purge_state);
		drop_locks(&locks);
		return err ? 1 : 0;
	}
	err = start(&d);
	if (!err)
		err = netsegd_run(&d);
	netsegd_state_close(&d);
	netsegd_control_close(&d);
	netsegd_cluster_close(&d);
	netsegd_metrics_close(&d);
	netsegd_rtnl_close(&d);
	netsegd_endpoints_free(&d);
	netsegd_k8s_free(&d);
	ring_buffer__free(d.loop.rb);
	netsegd_flowlog_free(d.fl);
	netseg_dp_close(d.dp);
	drop_locks(&locks);
	return err ? 1 : 0;
}
