// SPDX-License-Identifier: GPL-2.0-only
/*
 * The etcd client (lib/etcd.c) against a real etcd: the test starts its
 * own etcd (Debian's etcd-server) on 127.0.0.1 with free ports and a
 * temporary data dir, restarts it, wipes it, and kills it at exit (and if
 * the test dies: PR_SET_PDEATHSIG).  Then the same client against a fake
 * server that answers with hostile bodies.  Everything is bounded: each
 * wait has a deadline and the whole file an alarm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cjson/cJSON.h>

#include "etcd.h"
#include "tap.h"

#define TEST_ALARM_S 240

static char datadir[256], logpath[300], client_url[64], peer_url[64];
static pid_t etcd_pid = -1, fake_pid = -1;
static bool quiet; /* probing for etcd: failures are expected */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void etcd_kill(void)
{
	int st, i;

	if (etcd_pid <= 0)
		return;
	kill(etcd_pid, SIGTERM);
	for (i = 0; i < 100 && waitpid(etcd_pid, &st, WNOHANG) == 0; i++)
		usleep(50000);
	if (i == 100) {
		kill(etcd_pid, SIGKILL);
		waitpid(etcd_pid, &st, 0);
	}
	etcd_pid = -1;
}

/* rm -rf @path, without a shell: usable from the signal handler too
 * (fork, execve and waitpid are async-signal-safe). */
static int rm_rf(const char *path)
{
	char *const argv[] = { "rm", "-rf", (char *)path, NULL };
	char *const envp[] = { NULL };
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (!pid) {
		execve("/bin/rm", argv, envp);
		_exit(127);
	}
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}

static void wipe(void)
{
	char dd[300];

	snprintf(dd, sizeof(dd), "%s/data", datadir);
	if (*datadir && rm_rf(dd))
		diag("couldn't remove %s", dd);
}

static void cleanup(void)
{
	etcd_kill();
	if (fake_pid > 0) {
		kill(fake_pid, SIGKILL);
		waitpid(fake_pid, NULL, 0);
		fake_pid = -1;
	}
	if (*datadir && rm_rf(datadir))
		fprintf(stderr, "couldn't remove %s\n", datadir);
	*datadir = '\0';
}

/* Async-signal-safe: kill the children, remove the data, say why, leave. */
static void on_signal(int sig)
{
	static const char alarm_msg[] = "Bail out! the etcd test ran over its time limit\n";
	static const char sig_msg[] = "Bail out! the etcd test was killed by a signal\n";

	if (etcd_pid > 0)
		kill(etcd_pid, SIGKILL);
	if (fake_pid > 0)
		kill(fake_pid, SIGKILL);
	if (*datadir)
		rm_rf(datadir);
	if (sig == SIGALRM) {
		if (write(1, alarm_msg, sizeof(alarm_msg) - 1) < 0)
			_exit(254);
	} else if (write(1, sig_msg, sizeof(sig_msg) - 1) < 0) {
		_exit(254);
	}
	_exit(255);
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char dir[512], file[600];

	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
		snprintf(file, sizeof(file), "%s/%s", *dir ? dir : ".", prog);
		if (!access(file, X_OK))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* The end of etcd's log as TAP comments, for a start that failed. */
static void show_log(void)
{
	char buf[2048], *line;
	FILE *f = fopen(logpath, "r");
	size_t n;
	long size;

	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	diag("end of %s:", logpath);
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		diag("  %s", line);
}

static struct netseg_etcd *client(const char *url, int timeout_ms, size_t body_max)
{
	const char *eps[] = { url };
	struct netseg_etcd_opts o = {
		.endpoints = eps,
		.n_endpoints = 1,
		.request_timeout_ms = timeout_ms,
		.connect_timeout_ms = 1000,
		.backoff_min_ms = 50,
		.backoff_max_ms = 400,
		.body_max = body_max,
	};
	struct netseg_etcd *c;
	char err[256];

	if (netseg_etcd_new(&o, &c, err, sizeof(err)))
		bail("etcd client: %s", err);
	return c;
}

/* One request, waited for; returns its error and leaves the answer in @r. */
static int sync_kv(struct netseg_etcd *c, const struct netseg_etcd_op *op,
		   struct netseg_etcd_result *r)
{
	struct netseg_etcd_sync s = { 0 };
	int err = netseg_etcd_kv(c, op, netseg_etcd_sync_cb, &s) ?: netseg_etcd_wait(c, &s);

	*r = s.res;
	return err;
}

static int sync_txn(struct netseg_etcd *c, const struct netseg_etcd_txn *t,
		    struct netseg_etcd_result *r)
{
	struct netseg_etcd_sync s = { 0 };
	int err = netseg_etcd_txn(c, t, netseg_etcd_sync_cb, &s) ?: netseg_etcd_wait(c, &s);

	*r = s.res;
	return err;
}

static int put(struct netseg_etcd *c, const char *key, const char *val, int64_t lease)
{
	struct netseg_etcd_op op = { .type = NETSEG_ETCD_PUT,
				     .key = key,
				     .value = val,
				     .value_len = strlen(val),
				     .lease = lease };
	struct netseg_etcd_result r;
	int err = sync_kv(c, &op, &r);

	if (err)
		diag("put %s: %s", key, r.msg);
	netseg_etcd_result_free(&r);
	return err;
}

/* The value of @key into @buf ("" and -ENOENT when absent). */
static int get(struct netseg_etcd *c, const char *key, char *buf, size_t len)
{
	struct netseg_etcd_op op = { .type = NETSEG_ETCD_RANGE, .key = key };
	struct netseg_etcd_result r;
	int err = sync_kv(c, &op, &r);

	*buf = '\0';
	if (!err && r.n_kvs == 1)
		snprintf(buf, len, "%s", r.kvs[0].value);
	else if (!err)
		err = -ENOENT;
	else if (!quiet)
		diag("get %s: %s", key, r.msg);
	netseg_etcd_result_free(&r);
	return err;
}

static bool etcd_ready(int ms)
{
	struct netseg_etcd *c = client(client_url, 500, 0);
	double end = now_ms() + ms;
	char v[8];
	int err = -1;

	quiet = true;
	while (now_ms() < end) {
		err = get(c, "/ready-probe", v, sizeof(v));
		if (!err || err == -ENOENT)
			break;
		usleep(100000);
	}
	quiet = false;
	netseg_etcd_free(c);
	return !err || err == -ENOENT;
}

static void etcd_start(void)
{
	char name[] = "netseg-test";
	char cluster[128];

	snprintf(cluster, sizeof(cluster), "%s=%s", name, peer_url);
	etcd_pid = fork();
	if (etcd_pid < 0)
		bail("fork: %s", strerror(errno));
	if (!etcd_pid) {
		char dd[300];
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		snprintf(dd, sizeof(dd), "%s/data", datadir);
		execlp("etcd", "etcd", "--name", name, "--data-dir", dd, "--listen-client-urls",
		       client_url, "--advertise-client-urls", client_url, "--listen-peer-urls",
		       peer_url, "--initial-advertise-peer-urls", peer_url, "--initial-cluster",
		       cluster, "--log-level", "warn", "--logger", "zap",
		       "--experimental-watch-progress-notify-interval", "700ms", (char *)NULL);
		_exit(127);
	}
	if (!etcd_ready(15000)) {
		show_log();
		bail("etcd (pid %d) did not answer at %s within 15 s", etcd_pid, client_url);
	}
}

static void setup(void)
{
	char tmpl[] = "/tmp/netseg-etcd.XXXXXX";
	int cp = free_port(), pp = free_port();

	if (cp < 0 || pp < 0 || cp == pp)
		bail("no free ports on 127.0.0.1");
	if (!mkdtemp(tmpl))
		bail("mkdtemp: %s", strerror(errno));
	snprintf(datadir, sizeof(datadir), "%s", tmpl);
	snprintf(logpath, sizeof(logpath), "%s/etcd.log", datadir);
	snprintf(client_url, sizeof(client_url), "http://127.0.0.1:%d", cp);
	snprintf(peer_url, sizeof(peer_url), "http://127.0.0.1:%d", pp);
	atexit(cleanup);
	signal(SIGALRM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	alarm(TEST_ALARM_S);
	if (!in_path("etcd"))
		bail("etcd is not installed (make deps installs etcd-server)");
	etcd_start();
	diag("etcd at %s, data in %s", client_url, datadir);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* put / get / range over a prefix / delete, and what one request costs. */
static void test_kv(struct netseg_etcd *c)
{
	struct netseg_etcd_op rng = { .type = NETSEG_ETCD_RANGE, .key = "/t/kv/", .prefix = true };
	struct netseg_etcd_op del = { .type = NETSEG_ETCD_DELETE, .key = "/t/kv/", .prefix = true };
	struct netseg_etcd_result r;
	char v[64], bin[] = { 'a', 0, (char)0xff, '\n', 'z' };
	double lat[200];
	int i;

	ok(!put(c, "/t/kv/a", "1", 0) && !put(c, "/t/kv/b", "2", 0) && !put(c, "/t/kv/c", "3", 0) &&
		   !put(c, "/t/kw", "outside", 0),
	   "put four keys");
	ok(!get(c, "/t/kv/b", v, sizeof(v)) && !strcmp(v, "2"), "get /t/kv/b = 2 (got \"%s\")", v);
	ok(get(c, "/t/kv/none", v, sizeof(v)) == -ENOENT, "get of an absent key: no kvs");
	if (is_int(sync_kv(c, &rng, &r), 0, "range over the prefix /t/kv/") &&
	    is_int(r.n_kvs, 3, "the prefix holds 3 keys (not /t/kw)"))
		ok(!strcmp(r.kvs[0].key, "/t/kv/a") && !strcmp(r.kvs[2].key, "/t/kv/c") &&
			   r.kvs[0].version == 1 && r.kvs[0].create_revision > 0 &&
			   r.kvs[0].mod_revision == r.kvs[0].create_revision &&
			   r.revision >= r.kvs[2].mod_revision,
		   "keys in order with versions and revisions");
	netseg_etcd_result_free(&r);

	{
		struct netseg_etcd_op p = { .type = NETSEG_ETCD_PUT,
					    .key = "/t/kv/bin",
					    .value = bin,
					    .value_len = sizeof(bin) };
		struct netseg_etcd_op g = { .type = NETSEG_ETCD_RANGE, .key = "/t/kv/bin" };

		netseg_etcd_result_free(&r);
		ok(!sync_kv(c, &p, &r), "put a binary value (NUL, 0xff, newline)");
		netseg_etcd_result_free(&r);
		ok(!sync_kv(c, &g, &r) && r.n_kvs == 1 && r.kvs[0].value_len == sizeof(bin) &&
			   !memcmp(r.kvs[0].value, bin, sizeof(bin)),
		   "the binary value comes back byte for byte");
		netseg_etcd_result_free(&r);
	}
	if (is_int(sync_kv(c, &del, &r), 0, "delete the prefix"))
		is_int(r.deleted, 4, "4 keys deleted, /t/kw kept");
	netseg_etcd_result_free(&r);
	ok(!get(c, "/t/kw", v, sizeof(v)) && !strcmp(v, "outside"), "/t/kw still there");

	rng.key = "/t/kv/";
	ok(!sync_kv(c, &rng, &r) && r.n_kvs == 0 && r.count == 0,
	   "the prefix is empty: count and kvs left out by the gateway read as 0");
	netseg_etcd_result_free(&r);

	{
		struct netseg_etcd_op empty = { .type = NETSEG_ETCD_PUT, .key = "" };
		struct netseg_etcd_op badtype = { .type = (enum netseg_etcd_op_type)7,
						  .key = "/k" };
		struct netseg_etcd_cmp nokey = { .target = NETSEG_ETCD_CMP_CREATE };
		struct netseg_etcd_txn t = { &nokey, 1, NULL, 0, NULL, 0 };
		struct netseg_etcd_watch *w;

		ok(netseg_etcd_kv(c, &empty, NULL, NULL) == -EINVAL &&
			   netseg_etcd_kv(c, &badtype, NULL, NULL) == -EINVAL &&
			   netseg_etcd_txn(c, &t, NULL, NULL) == -EINVAL &&
			   netseg_etcd_lease_grant(c, 0, NULL, NULL) == -EINVAL &&
			   netseg_etcd_watch_start(c, "", true, 0, NULL, NULL, &w) == -EINVAL &&
			   netseg_etcd_busy(c) == 0,
		   "an empty key, an unknown op, a compare without key, TTL 0: -EINVAL, nothing sent");
	}
	for (i = 0; i < 200; i++) {
		double t0 = now_ms();

		if (i % 2 ? get(c, "/t/kw", v, sizeof(v)) : put(c, "/t/lat", "x", 0))
			break;
		lat[i] = now_ms() - t0;
	}
	if (ok(i == 200, "200 requests in a row")) {
		qsort(lat, 200, sizeof(lat[0]), cmp_dbl);
		diag("request latency to the local etcd (put/get alternating): median %.2f ms, p90 %.2f ms, max %.2f ms",
		     lat[100], lat[180], lat[199]);
	}
}

struct putrev {
	struct netseg_etcd_sync s;
	char key[32];
};

/* A paged list is one snapshot: pages are read at the first page's
 * revision while another client keeps writing under the same prefix. */
static void test_list(struct netseg_etcd *c, struct netseg_etcd *writer)
{
	static struct putrev w[60];
	struct netseg_etcd_sync s = { 0 };
	struct netseg_etcd_result *r = &s.res;
	int i, listed_new = 0, should = 0, bad = 0;
	double end;
	char key[32];

	for (i = 0; i < 250; i++) {
		snprintf(key, sizeof(key), "/t/list/%03d", i);
		if (put(c, key, "v", 0))
			bail("put %s failed", key);
	}
	put(c, "/t/listx", "outside", 0);
	if (netseg_etcd_list(c, "/t/list/", 40, netseg_etcd_sync_cb, &s))
		bail("list submit failed");
	/* writes racing the pages: keys sorting after the existing ones */
	for (i = 0; i < 60; i++) {
		struct netseg_etcd_op op = { .type = NETSEG_ETCD_PUT,
					     .key = w[i].key,
					     .value = "n",
					     .value_len = 1 };

		snprintf(w[i].key, sizeof(w[i].key), "/t/list/new-%02d", i);
		if (netseg_etcd_kv(writer, &op, netseg_etcd_sync_cb, &w[i].s))
			bail("put submit failed");
	}
	end = now_ms() + 10000;
	while ((!s.done || !w[59].s.done) && now_ms() < end) {
		netseg_etcd_run(c, 1, NULL);
		netseg_etcd_run(writer, 1, NULL);
	}
	for (i = 0; i < 60 && !w[i].s.done; i++)
		;
	netseg_etcd_run(writer, 2000, &w[59].s.done);
	if (!ok(s.done && !r->err, "list /t/list/ in pages of 40%s%s", *r->msg ? ": " : "", r->msg))
		return;
	for (i = 0; i < (int)r->n_kvs; i++) {
		bad += r->kvs[i].mod_revision > r->revision ||
		       strncmp(r->kvs[i].key, "/t/list/", 8);
		listed_new += !strncmp(r->kvs[i].key, "/t/list/new-", 12);
		if (i && strcmp(r->kvs[i - 1].key, r->kvs[i].key) >= 0)
			bad++;
	}
	for (i = 0; i < 60; i++) {
		should += w[i].s.done && !w[i].s.res.err && w[i].s.res.revision <= r->revision;
		netseg_etcd_result_free(&w[i].s.res);
	}
	is_int(bad, 0,
	       "every key listed is under the prefix, in order, not newer than revision %" PRId64,
	       r->revision);
	is_int(r->n_kvs, 250 + should,
	       "the 250 keys and exactly the racing writes up to that revision");
	diag("%d of the 60 racing writes landed before the list's revision; the list took %.1f ms over %zu keys",
	     listed_new, r->elapsed_ms, r->n_kvs);
	netseg_etcd_result_free(r);
}

struct race {
	struct netseg_etcd_sync s;
	const char *who;
};

/* Create-if-absent: among clients racing for one key exactly one wins and
 * the others read the winner's value back from the failure branch. */
static void test_create_race(struct netseg_etcd *a, struct netseg_etcd *b)
{
	int round, wins_a = 0, wins_b = 0, bad = 0;

	for (round = 0; round < 40; round++) {
		char key[64];
		struct netseg_etcd_cmp cmp = { .target = NETSEG_ETCD_CMP_CREATE,
					       .result = NETSEG_ETCD_EQUAL,
					       .key = key };
		struct netseg_etcd_op pa = { .type = NETSEG_ETCD_PUT,
					     .key = key,
					     .value = "A",
					     .value_len = 1 };
		struct netseg_etcd_op pb = { .type = NETSEG_ETCD_PUT,
					     .key = key,
					     .value = "B",
					     .value_len = 1 };
		struct netseg_etcd_op get = { .type = NETSEG_ETCD_RANGE, .key = key };
		struct netseg_etcd_txn ta = { &cmp, 1, &pa, 1, &get, 1 };
		struct netseg_etcd_txn tb = { &cmp, 1, &pb, 1, &get, 1 };
		struct race ra = { .who = "A" }, rb = { .who = "B" };
		struct netseg_etcd_result *x, *y;
		double end = now_ms() + 10000;

		snprintf(key, sizeof(key), "/t/race/%d", round);
		/* who submits first alternates, so neither is always ahead */
		if (round % 2 ? netseg_etcd_txn(b, &tb, netseg_etcd_sync_cb, &rb.s) ||
					netseg_etcd_txn(a, &ta, netseg_etcd_sync_cb, &ra.s) :
				netseg_etcd_txn(a, &ta, netseg_etcd_sync_cb, &ra.s) ||
					netseg_etcd_txn(b, &tb, netseg_etcd_sync_cb, &rb.s))
			bail("submitting a transaction failed");
		/* both in flight at once: drive both loops until both answer */
		while ((!ra.s.done || !rb.s.done) && now_ms() < end) {
			netseg_etcd_run(round % 2 ? b : a, 2, NULL);
			netseg_etcd_run(round % 2 ? a : b, 2, NULL);
		}
		x = &ra.s.res;
		y = &rb.s.res;
		if (!ra.s.done || !rb.s.done || x->err || y->err || x->succeeded == y->succeeded) {
			diag("round %d: done %d/%d err %d/%d succeeded %d/%d", round, ra.s.done,
			     rb.s.done, x->err, y->err, x->succeeded, y->succeeded);
			bad++;
		} else {
			struct netseg_etcd_result *loser = x->succeeded ? y : x;
			const char *won = x->succeeded ? "A" : "B";

			wins_a += x->succeeded;
			wins_b += y->succeeded;
			if (loser->n_ops != 1 || loser->ops[0].n_kvs != 1 ||
			    strcmp(loser->ops[0].kvs[0].value, won)) {
				diag("round %d: the loser did not read the winner's value", round);
				bad++;
			}
		}
		netseg_etcd_result_free(x);
		netseg_etcd_result_free(y);
	}
	is_int(bad, 0,
	       "40 create-if-absent races of two clients: exactly one winner each, the loser reads its value");
	diag("wins: client A %d, client B %d", wins_a, wins_b);
}

/* Update-if-revision-unchanged: a stale writer is refused. */
static void test_cas(struct netseg_etcd *c)
{
	struct netseg_etcd_op g = { .type = NETSEG_ETCD_RANGE, .key = "/t/cas" };
	struct netseg_etcd_result r;
	int64_t rev;
	char v[16];

	put(c, "/t/cas", "v1", 0);
	if (sync_kv(c, &g, &r) || r.n_kvs != 1)
		bail("reading /t/cas back failed");
	rev = r.kvs[0].mod_revision;
	netseg_etcd_result_free(&r);
	{
		struct netseg_etcd_cmp cmp = { .target = NETSEG_ETCD_CMP_MOD,
					       .result = NETSEG_ETCD_EQUAL,
					       .key = "/t/cas",
					       .number = rev };
		struct netseg_etcd_op p2 = { .type = NETSEG_ETCD_PUT,
					     .key = "/t/cas",
					     .value = "v2",
					     .value_len = 2 };
		struct netseg_etcd_op p3 = { .type = NETSEG_ETCD_PUT,
					     .key = "/t/cas",
					     .value = "v3",
					     .value_len = 2 };
		struct netseg_etcd_txn t2 = { &cmp, 1, &p2, 1, NULL, 0 };
		struct netseg_etcd_txn t3 = { &cmp, 1, &p3, 1, &g, 1 };
		struct netseg_etcd_cmp vcmp = { .target = NETSEG_ETCD_CMP_VALUE,
						.result = NETSEG_ETCD_EQUAL,
						.key = "/t/cas",
						.value = "v2",
						.value_len = 2 };
		struct netseg_etcd_cmp vcmp2 = { .target = NETSEG_ETCD_CMP_VERSION,
						 .result = NETSEG_ETCD_EQUAL,
						 .key = "/t/cas",
						 .number = 2 };
		struct netseg_etcd_cmp both[] = { vcmp, vcmp2 };
		struct netseg_etcd_txn t4 = { both, 2, NULL, 0, NULL, 0 };

		ok(!sync_txn(c, &t2, &r) && r.succeeded,
		   "update with the current mod_revision %" PRId64 " succeeds", rev);
		netseg_etcd_result_free(&r);
		ok(!sync_txn(c, &t3, &r) && !r.succeeded && r.n_ops == 1 && r.ops[0].n_kvs == 1 &&
			   !strcmp(r.ops[0].kvs[0].value, "v2") &&
			   r.ops[0].kvs[0].mod_revision > rev,
		   "update with the stale revision is refused; the failure branch reads the newer value");
		netseg_etcd_result_free(&r);
		ok(!get(c, "/t/cas", v, sizeof(v)) && !strcmp(v, "v2"),
		   "the stale write changed nothing");
		ok(!sync_txn(c, &t4, &r) && r.succeeded,
		   "compares on value and version hold together");
		netseg_etcd_result_free(&r);
	}
	{
		/* "no key under this prefix": what garbage collection relies on */
		struct netseg_etcd_cmp none = { .target = NETSEG_ETCD_CMP_CREATE,
						.result = NETSEG_ETCD_EQUAL,
						.key = "/t/refs/7/",
						.prefix = true };
		struct netseg_etcd_txn t = { &none, 1, NULL, 0, NULL, 0 };

		put(c, "/t/refs/70/node1", "", 0);
		ok(!sync_txn(c, &t, &r) && r.succeeded,
		   "CREATE == 0 over the empty prefix /t/refs/7/ holds (/t/refs/70/node1 is not under it)");
		netseg_etcd_result_free(&r);
		put(c, "/t/refs/7/node1", "", 0);
		ok(!sync_txn(c, &t, &r) && !r.succeeded, "... and fails once a key is under it");
		netseg_etcd_result_free(&r);
	}
}

static int64_t lease_grant(struct netseg_etcd *c, int64_t ttl)
{
	struct netseg_etcd_sync s = { 0 };
	int64_t id = 0;

	if (!netseg_etcd_lease_grant(c, ttl, netseg_etcd_sync_cb, &s) && !netseg_etcd_wait(c, &s))
		id = s.res.lease_id;
	else
		diag("lease grant: %s", s.res.msg);
	netseg_etcd_result_free(&s.res);
	return id;
}

static int64_t keepalive(struct netseg_etcd *c, int64_t id)
{
	struct netseg_etcd_sync s = { 0 };
	int64_t ttl = -1;

	if (!netseg_etcd_lease_keepalive(c, id, netseg_etcd_sync_cb, &s) &&
	    !netseg_etcd_wait(c, &s))
		ttl = s.res.ttl;
	else
		diag("keepalive: %s", s.res.msg);
	netseg_etcd_result_free(&s.res);
	return ttl;
}

static void test_lease(struct netseg_etcd *c)
{
	struct netseg_etcd_sync s = { 0 };
	int64_t l1 = lease_grant(c, 2), l2 = lease_grant(c, 30);
	double t0, gone = -1;
	char v[16];
	int i, kept = 0;

	if (!ok(l1 > 0 && l2 > 0, "two leases granted (TTL 2 s and 30 s)"))
		return;
	ok(!put(c, "/t/lease/a", "x", l1) && !put(c, "/t/lease/b", "y", l2),
	   "a key under each lease");
	for (i = 0; i < 8; i++) { /* 4 s: twice the TTL */
		usleep(500000);
		kept += keepalive(c, l1) == 2;
	}
	is_int(kept, 8, "8 keepalives over 4 s each renewed the 2 s lease");
	ok(!get(c, "/t/lease/a", v, sizeof(v)),
	   "the key outlived its TTL twice over while kept alive");
	t0 = now_ms();
	while (now_ms() - t0 < 6000) {
		if (get(c, "/t/lease/a", v, sizeof(v)) == -ENOENT) {
			gone = now_ms() - t0;
			break;
		}
		usleep(100000);
	}
	ok(gone >= 0, "without keepalives the key left with its lease (after %.0f ms)", gone);
	is_int(keepalive(c, l1), 0, "a keepalive of the expired lease answers TTL 0 (absent)");
	if (ok(!netseg_etcd_lease_revoke(c, l2, netseg_etcd_sync_cb, &s) &&
		       !netseg_etcd_wait(c, &s),
	       "revoke the 30 s lease"))
		ok(get(c, "/t/lease/b", v, sizeof(v)) == -ENOENT, "its key is gone at once");
	netseg_etcd_result_free(&s.res);
	memset(&s, 0, sizeof(s));
	ok(!netseg_etcd_lease_revoke(c, l2, netseg_etcd_sync_cb, &s) &&
		   netseg_etcd_wait(c, &s) == -ENOENT && strstr(s.res.msg, "lease not found"),
	   "revoking it again: -ENOENT, \"%s\"", s.res.msg);
	netseg_etcd_result_free(&s.res);
	ok(put(c, "/t/lease/c", "z", l2) == -ENOENT, "a put under the revoked lease is refused");
}

/* What a watch callback saw, as text: "CREATED;PUT /k v @rev;..." */
struct wlog {
	char text[8192];
	int created, progress, disconnected, events;
	bool final;
	enum netseg_etcd_watch_kind last;
	int64_t compact, last_rev;
	double created_at, event_at; /* now_ms() of the last of each */
	char msg[256];
};

static void on_watch(struct netseg_etcd_watch *w, const struct netseg_etcd_watch_msg *m, void *arg)
{
	struct wlog *l = arg;
	size_t n = strlen(l->text), i;

	l->last = m->kind;
	switch (m->kind) {
	case NETSEG_ETCD_W_CREATED:
		l->created++;
		l->created_at = now_ms();
		break;
	case NETSEG_ETCD_W_PROGRESS:
		l->progress++;
		break;
	case NETSEG_ETCD_W_DISCONNECTED:
		l->disconnected++;
		snprintf(l->msg, sizeof(l->msg), "%s", m->msg);
		break;
	case NETSEG_ETCD_W_EVENTS:
		for (i = 0; i < m->n_events && n < sizeof(l->text) - 200; i++) {
			const struct netseg_etcd_event *e = &m->events[i];

			n += (size_t)snprintf(l->text + n, sizeof(l->text) - n,
					      "%s %s %s @%" PRId64 ";",
					      e->type == NETSEG_ETCD_EV_PUT ? "PUT" : "DEL",
					      e->kv.key, e->kv.value, e->kv.mod_revision);
			/* a transaction's events share one revision, in one message */
			if (e->kv.mod_revision < l->last_rev ||
			    (!i && e->kv.mod_revision == l->last_rev))
				n += (size_t)snprintf(l->text + n, sizeof(l->text) - n,
						      "OUT-OF-ORDER;");
			l->last_rev = e->kv.mod_revision;
			l->events++;
		}
		l->event_at = now_ms();
		break;
	default:
		l->final = true;
		l->compact = m->compact_revision;
		snprintf(l->msg, sizeof(l->msg), "%s", m->msg ? m->msg : "");
	}
}

static bool wait_for(struct netseg_etcd *c, int ms, bool (*cond)(void *), void *arg)
{
	double end = now_ms() + ms;

	while (now_ms() < end) {
		if (cond(arg))
			return true;
		netseg_etcd_run(c, 20, NULL);
	}
	return cond(arg);
}

static int want_events;
static bool have_events(void *arg)
{
	return ((struct wlog *)arg)->events >= want_events;
}
static bool have_final(void *arg)
{
	return ((struct wlog *)arg)->final;
}
static bool have_progress(void *arg)
{
	return ((struct wlog *)arg)->progress > 0;
}
static bool have_created(void *arg)
{
	return ((struct wlog *)arg)->created > 0;
}

static int64_t store_revision(struct netseg_etcd *c)
{
	struct netseg_etcd_op op = { .type = NETSEG_ETCD_RANGE, .key = "/", .limit = 1 };
	struct netseg_etcd_result r;
	int64_t rev = sync_kv(c, &op, &r) ? -1 : r.revision;

	netseg_etcd_result_free(&r);
	return rev;
}

static void test_watch(struct netseg_etcd *c, struct netseg_etcd *writer)
{
	struct netseg_etcd_op del = { .type = NETSEG_ETCD_DELETE, .key = "/t/w/a" };
	struct netseg_etcd_watch *w;
	struct netseg_etcd_result r;
	struct wlog l = { 0 };
	int64_t r0 = store_revision(c), rn;
	char want[512];
	double t0, ready, lat[20];
	int i;

	if (!ok(!netseg_etcd_watch_start(c, "/t/w/", true, 0, on_watch, &l, &w),
		"watch /t/w/ from now"))
		return;
	if (!ok(wait_for(c, 3000, have_created, &l), "the watch is created"))
		return;
	put(writer, "/t/w/a", "1", 0);
	put(writer, "/t/w/b", "2", 0);
	put(writer, "/t/wx", "not watched", 0);
	sync_kv(writer, &del, &r);
	netseg_etcd_result_free(&r);
	want_events = 3;
	wait_for(c, 3000, have_events, &l);
	snprintf(want, sizeof(want),
		 "PUT /t/w/a 1 @%" PRId64 ";PUT /t/w/b 2 @%" PRId64 ";DEL /t/w/a  @%" PRId64 ";",
		 r0 + 1, r0 + 2, r0 + 4);
	is_str(l.text, want, "puts and the delete arrive in order with their revisions");
	is_int(netseg_etcd_watch_next_revision(w), r0 + 5,
	       "the watch resumes after the last event");

	/* progress notifications (etcd runs with a 700 ms interval here) */
	ok(wait_for(c, 3000, have_progress, &l), "an idle watch gets progress notifications");

	/* restart etcd under the watch: it reconnects from next_revision and
	 * loses nothing that was written meanwhile */
	etcd_kill();
	t0 = now_ms();
	while (now_ms() - t0 < 400)
		netseg_etcd_run(c, 50, NULL);
	ok(l.disconnected >= 1, "the watch reports the lost connection: %s", l.msg);
	etcd_start();
	ready = now_ms();
	put(writer, "/t/w/c", "3", 0);
	put(writer, "/t/w/d", "4", 0);
	want_events = 5;
	ok(wait_for(c, 8000, have_events, &l),
	   "after etcd restarted the watch delivers what was written meanwhile");
	rn = store_revision(c);
	snprintf(want, sizeof(want),
		 "PUT /t/w/a 1 @%" PRId64 ";PUT /t/w/b 2 @%" PRId64 ";DEL /t/w/a  @%" PRId64
		 ";PUT /t/w/c 3 @%" PRId64 ";PUT /t/w/d 4 @%" PRId64 ";",
		 r0 + 1, r0 + 2, r0 + 4, rn - 1, rn);
	is_str(l.text, want, "nothing lost or repeated across the restart");
	ok(l.created >= 2 && netseg_etcd_watch_reconnects(w) >= 1,
	   "created again after %u reconnect attempt(s)", netseg_etcd_watch_reconnects(w));
	diag("the watch was back %.0f ms after etcd answered again (backoff 50-400 ms here)",
	     l.created_at - ready);
	ok(!l.final, "the watch is still live");

	/* the caller drops the stream itself (a dead connection TCP hasn't
	 * noticed): a new one resumes where the old one stopped */
	l.created = 0;
	ok(!netseg_etcd_watch_reconnect(w), "reconnect on request");
	put(writer, "/t/w/e", "5", 0);
	want_events = 6;
	ok(wait_for(c, 5000, have_events, &l) && l.created == 1 &&
		   !strstr(l.text, "OUT-OF-ORDER") && strstr(l.text, "PUT /t/w/d 4") &&
		   strstr(l.text, "PUT /t/w/e 5") && l.events == 6,
	   "created once more, and the next event arrives once");

	for (i = 0; i < 20; i++) {
		t0 = now_ms();
		if (put(writer, "/t/w/lat", "x", 0))
			break;
		want_events = l.events + 1;
		if (!wait_for(c, 2000, have_events, &l))
			break;
		lat[i] = l.event_at - t0;
	}
	if (ok(i == 20, "20 puts, each seen by the watch")) {
		qsort(lat, 20, sizeof(lat[0]), cmp_dbl);
		diag("put submitted -> event delivered: median %.2f ms, max %.2f ms", lat[10],
		     lat[19]);
	}
	netseg_etcd_watch_stop(w);
}

/* One transaction writing two watched keys: two events of one revision in
 * one watch message, both delivered, and the watch goes on. */
static void test_watch_txn(struct netseg_etcd *c, struct netseg_etcd *writer)
{
	struct netseg_etcd_op ops[2] = {
		{ .type = NETSEG_ETCD_PUT, .key = "/t/wt/a", .value = "1", .value_len = 1 },
		{ .type = NETSEG_ETCD_PUT, .key = "/t/wt/b", .value = "2", .value_len = 1 },
	};
	struct netseg_etcd_txn t = { .success = ops, .n_success = 2 };
	struct netseg_etcd_watch *w;
	struct netseg_etcd_result r;
	struct wlog l = { 0 };
	char want[256];
	int64_t rev;

	if (!ok(!netseg_etcd_watch_start(c, "/t/wt/", true, 0, on_watch, &l, &w),
		"watch /t/wt/ from now"))
		return;
	wait_for(c, 3000, have_created, &l);
	ok(!sync_txn(writer, &t, &r) && r.succeeded, "a transaction puts /t/wt/a and /t/wt/b");
	rev = r.revision;
	netseg_etcd_result_free(&r);
	want_events = 2;
	wait_for(c, 3000, have_events, &l);
	snprintf(want, sizeof(want), "PUT /t/wt/a 1 @%" PRId64 ";PUT /t/wt/b 2 @%" PRId64 ";", rev,
		 rev);
	is_str(l.text, want, "both events of its one revision are delivered");
	put(writer, "/t/wt/c", "3", 0);
	want_events = 3;
	ok(wait_for(c, 3000, have_events, &l) && !l.final,
	   "and the watch goes on (the next put arrives, no final message: %s)", l.msg);
	netseg_etcd_watch_stop(w);
}

static void test_compaction(struct netseg_etcd *c)
{
	struct netseg_etcd_sync s = { 0 };
	struct netseg_etcd_watch *w;
	struct wlog l = { 0 };
	int64_t old = store_revision(c), now;
	int i;

	for (i = 0; i < 5; i++)
		put(c, "/t/compact/k", "v", 0);
	now = store_revision(c);
	ok(!netseg_etcd_compact(c, now, netseg_etcd_sync_cb, &s) && !netseg_etcd_wait(c, &s),
	   "compact to revision %" PRId64, now);
	netseg_etcd_result_free(&s.res);
	if (!ok(!netseg_etcd_watch_start(c, "/t/compact/", true, old, on_watch, &l, &w),
		"watch from the compacted revision %" PRId64, old))
		return;
	ok(wait_for(c, 3000, have_final, &l) && l.last == NETSEG_ETCD_W_COMPACTED,
	   "the watch ends as COMPACTED (%s)", l.msg);
	is_int(l.compact, now, "with the compact revision");
	is_int(l.events, 0, "and no events");
	netseg_etcd_watch_stop(w);

	memset(&s, 0, sizeof(s));
	{
		struct netseg_etcd_op op = { .type = NETSEG_ETCD_RANGE,
					     .key = "/t/compact/k",
					     .revision = old };

		ok(!netseg_etcd_kv(c, &op, netseg_etcd_sync_cb, &s) &&
			   netseg_etcd_wait(c, &s) == -ERANGE && strstr(s.res.msg, "compacted"),
		   "a read at a compacted revision: -ERANGE, \"%s\"", s.res.msg);
		netseg_etcd_result_free(&s.res);
	}
}

/* The store restarted empty (data loss): the watch must not sit waiting
 * for revisions that will take ages to come; it reports RESET. */
static void test_reset(struct netseg_etcd *c)
{
	struct netseg_etcd_watch *w;
	struct wlog l = { 0 };
	int i;

	for (i = 0; i < 3; i++)
		put(c, "/t/reset/k", "v", 0);
	if (netseg_etcd_watch_start(c, "/t/reset/", true, 0, on_watch, &l, &w))
		bail("watch start failed");
	wait_for(c, 3000, have_created, &l);
	etcd_kill();
	wipe();
	etcd_start();
	ok(wait_for(c, 8000, have_final, &l) && l.last == NETSEG_ETCD_W_RESET,
	   "after etcd came back empty the watch ends as RESET (%s)", l.msg);
	netseg_etcd_watch_stop(w);
}

/* A listener that never accepts: TCP connects, the request goes out, no
 * answer ever comes (a hung etcd).  The loop must stay free meanwhile. */
static void test_hung(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	struct netseg_etcd_op op = { .type = NETSEG_ETCD_RANGE, .key = "/t/x" };
	struct netseg_etcd_sync s = { 0 };
	struct netseg_etcd *c;
	double t0, submit, slice, total;
	char url[64];
	int lfd = socket(AF_INET, SOCK_STREAM, 0), e;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len))
		bail("listener: %s", strerror(errno));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	c = client(url, 1000, 0);
	t0 = now_ms();
	e = netseg_etcd_kv(c, &op, netseg_etcd_sync_cb, &s);
	submit = now_ms() - t0;
	ok(!e && submit < 200, "submitting to a hung etcd returns at once (%.2f ms)", submit);
	t0 = now_ms();
	netseg_etcd_run(c, 100, NULL);
	slice = now_ms() - t0;
	ok(!s.done && slice < 400,
	   "100 ms of the loop take %.0f ms and the request is still pending", slice);
	t0 = now_ms();
	e = netseg_etcd_wait(c, &s);
	total = now_ms() - t0 + slice;
	ok(e == -ETIMEDOUT && strstr(s.res.msg, "did not answer") && total >= 800 && total < 3000,
	   "it times out after the 1 s request timeout (%.0f ms): %s", total, s.res.msg);
	netseg_etcd_result_free(&s.res);
	netseg_etcd_free(c);
	close(lfd);
}

static void test_unreachable(void)
{
	char url[64];
	const char *eps[2];
	struct netseg_etcd_opts o = { .endpoints = eps, .n_endpoints = 2 };
	struct netseg_etcd *c;
	struct netseg_etcd_sync s = { 0 };
	struct netseg_etcd_op op = { .type = NETSEG_ETCD_RANGE, .key = "/t/x" };
	char err[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());
	eps[0] = url;
	eps[1] = client_url;
	if (netseg_etcd_new(&o, &c, err, sizeof(err)))
		bail("%s", err);
	ok(!netseg_etcd_kv(c, &op, netseg_etcd_sync_cb, &s) &&
		   netseg_etcd_wait(c, &s) == -ECONNREFUSED && strstr(s.res.msg, url) &&
		   strstr(s.res.msg, "unreachable"),
	   "a dead endpoint: -ECONNREFUSED, %s", s.res.msg);
	netseg_etcd_result_free(&s.res);
	memset(&s, 0, sizeof(s));
	ok(!strcmp(netseg_etcd_endpoint(c), client_url),
	   "the client moved on to the next endpoint");
	ok(!netseg_etcd_kv(c, &op, netseg_etcd_sync_cb, &s) && !netseg_etcd_wait(c, &s),
	   "which answers");
	netseg_etcd_result_free(&s.res);
	netseg_etcd_free(c);

	{
		const char *bad[] = { "127.0.0.1:2379" };
		struct netseg_etcd_opts ob = { .endpoints = bad, .n_endpoints = 1 };

		ok(netseg_etcd_new(&ob, &c, err, sizeof(err)) == -EINVAL &&
			   strstr(err, "127.0.0.1:2379"),
		   "an endpoint without http:// is refused: %s", err);
	}
}

struct blog {
	double at[64];
	int n;
};

static void on_backoff(struct netseg_etcd_watch *w, const struct netseg_etcd_watch_msg *m,
		       void *arg)
{
	struct blog *b = arg;

	if (m->kind == NETSEG_ETCD_W_DISCONNECTED && b->n < 64)
		b->at[b->n++] = now_ms();
}

/* A watch on a dead endpoint retries with growing, jittered delays
 * (50 ms doubling up to 400 ms here, each between half and all of it). */
static void test_backoff(void)
{
	char url[64];
	struct netseg_etcd *c;
	struct netseg_etcd_watch *w;
	struct blog b = { 0 };
	double lo = 1e9, hi = 0;
	int i;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());
	c = client(url, 1000, 0);
	if (netseg_etcd_watch_start(c, "/t/b/", true, 0, on_backoff, &b, &w))
		bail("watch start failed");
	netseg_etcd_run(c, 3000, NULL);
	ok(b.n >= 7 && b.n <= 17,
	   "%d attempts in 3 s (8-17 with this backoff, fewer on a loaded machine)", b.n);
	for (i = 5; i < b.n; i++) {
		double d = b.at[i] - b.at[i - 1];

		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	ok(b.n > 6 && lo >= 190 && hi <= 700 && hi - lo > 10,
	   "at the ceiling the delays are 200-400 ms (+ scheduling) and differ (%.0f-%.0f ms)", lo,
	   hi);
	netseg_etcd_watch_stop(w);
	netseg_etcd_free(c);
}

/* Values netseg didn't write: refused by name, never a crash. */
static void test_bad_values(struct netseg_etcd *c)
{
	struct netseg_etcd_op g = { .type = NETSEG_ETCD_RANGE, .key = "/t/bad/json" };
	struct netseg_etcd_result r;
	struct netseg_etcd *small = client(client_url, 3000, 64 << 10);
	char err[256], *big;
	cJSON *j;
	int e;

	put(c, "/t/bad/json", "{\"id\": 7", 0);
	if (!sync_kv(c, &g, &r) && r.n_kvs == 1) {
		j = netseg_etcd_kv_json(&r.kvs[0], err, sizeof(err));
		ok(!j && strstr(err, "/t/bad/json"), "a value that is not JSON: \"%s\"", err);
		cJSON_Delete(j);
	}
	netseg_etcd_result_free(&r);

	big = malloc(1 << 20);
	memset(big, 'x', 1 << 20);
	big[(1 << 20) - 1] = '\0';
	ok(!put(c, "/t/bad/big", big, 0), "a 1 MiB value is stored");
	g.key = "/t/bad/big";
	e = sync_kv(small, &g, &r);
	ok(e == -EMSGSIZE && strstr(r.msg, "/t/bad/big"),
	   "a client with a 64 KiB limit refuses it: %s", r.msg);
	netseg_etcd_result_free(&r);
	e = sync_kv(c, &g, &r);
	ok(!e && r.n_kvs == 1 && r.kvs[0].value_len == (1 << 20) - 1, "the default limit takes it");
	netseg_etcd_result_free(&r);
	free(big);
	big = malloc(2 << 20);
	memset(big, 'y', 2 << 20);
	big[(2 << 20) - 1] = '\0';
	e = put(c, "/t/bad/huge", big, 0);
	ok(e == -EINVAL || e == -ENOSPC,
	   "a 2 MiB put is refused by etcd (its limit is 1.5 MiB): %d", e);
	free(big);
	netseg_etcd_free(small);
}

/* --- a fake gateway that answers with hostile bodies --- */

struct canned {
	const char *desc;
	int status;
	const char *body; /* NULL: gen_deep, or gen_big for -EMSGSIZE */
	const char *want; /* substring of the error; NULL = must succeed */
	int want_err;
};

static char *gen_deep, *gen_big;

static const struct canned canned[] = {
	{ "a key that is not base64", 200,
	  "{\"header\":{\"revision\":\"5\"},\"kvs\":[{\"key\":\"not base64!\",\"value\":\"eA==\"}],\"count\":\"1\"}",
	  "\"key\" is not base64", -EBADMSG },
	{ "a value that is not base64, named by its key", 200,
	  "{\"kvs\":[{\"key\":\"L25ldHNlZy94\",\"value\":\"@@@@\"}]}", "key /netseg/x", -EBADMSG },
	{ "base64 without its padding", 200, "{\"kvs\":[{\"key\":\"L25ldHNlZy9\"}]}", "not base64",
	  -EBADMSG },
	{ "a revision that is an object", 200, "{\"header\":{\"revision\":{}}}",
	  "\"revision\" is not an integer", -EBADMSG },
	{ "a count that is not a number", 200, "{\"count\":\"12abc\"}", "\"count\"", -EBADMSG },
	{ "a negative mod_revision", 200,
	  "{\"kvs\":[{\"key\":\"L25ldHNlZy94\",\"mod_revision\":\"-5\"}]}", "mod_revision",
	  -EBADMSG },
	{ "a fractional version", 200, "{\"kvs\":[{\"key\":\"L25ldHNlZy94\",\"version\":1.5}]}",
	  "version", -EBADMSG },
	{ "an int64 over 2^63", 200, "{\"header\":{\"revision\":\"99999999999999999999\"}}",
	  "revision", -EBADMSG },
	{ "an integral JSON number (proto3 allows it)", 200,
	  "{\"header\":{\"revision\":7},\"kvs\":[{\"key\":\"L25ldHNlZy94\",\"value\":\"eQ==\"}]}",
	  NULL, 0 },
	{ "kvs that is a string", 200, "{\"kvs\":\"x\"}", "not an array", -EBADMSG },
	{ "a kv that is a number", 200, "{\"kvs\":[3]}", "not an object", -EBADMSG },
	{ "a kv without a key", 200, "{\"kvs\":[{\"value\":\"eA==\"}]}", "no key", -EBADMSG },
	{ "more that is a string", 200, "{\"more\":\"yes\"}", "not a boolean", -EBADMSG },
	{ "a body that is not JSON", 200, "<html>hello</html>", "not one JSON object", -EBADMSG },
	{ "truncated JSON", 200, "{\"header\":{\"revision\":\"5\"", "not one JSON object",
	  -EBADMSG },
	{ "two JSON objects", 200, "{}{}", "not one JSON object", -EBADMSG },
	{ "a JSON array", 200, "[]", "not one JSON object", -EBADMSG },
	{ "nesting 100000 deep", 200, NULL, "not one JSON object", -EBADMSG },
	{ "a body over the client's limit", 200, NULL, "larger than", -EMSGSIZE },
	{ "HTTP 500 with HTML", 500, "<html>oops</html>", "HTTP 500", -EIO },
	{ "HTTP 400 from etcd", 400,
	  "{\"error\":\"etcdserver: bad\",\"message\":\"etcdserver: bad\",\"code\":3}",
	  "etcdserver: bad", -EINVAL },
	{ "an empty 200", 200, "", "not one JSON object", -EBADMSG },
};

static void fake_serve(int lfd)
{
	char hdr[8192];
	size_t i;

	for (i = 0; i < sizeof(canned) / sizeof(canned[0]) + 20; i++) {
		int fd = accept(lfd, NULL, NULL);
		const struct canned *cn = &canned[i < sizeof(canned) / sizeof(canned[0]) ? i : 0];
		const char *body = cn->body		     ? cn->body :
				   cn->want_err == -EMSGSIZE ? gen_big :
							       gen_deep;
		size_t got = 0, blen;
		char *cl, head[256];
		long clen = 0;

		if (fd < 0)
			_exit(1);
		/* headers, then the announced body, then the canned answer */
		while (got < sizeof(hdr) - 1) {
			ssize_t n = read(fd, hdr + got, sizeof(hdr) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
			hdr[got] = '\0';
			cl = strstr(hdr, "\r\n\r\n");
			if (cl) {
				char *h = strcasestr(hdr, "Content-Length:");

				clen = h ? strtol(h + 15, NULL, 10) : 0;
				if ((long)(got - (size_t)(cl + 4 - hdr)) >= clen)
					break;
			}
		}
		blen = strlen(body);
		snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 cn->status, blen);
		if (write(fd, head, strlen(head)) < 0 || write(fd, body, blen) < 0)
			_exit(1);
		close(fd);
	}
	_exit(0);
}

static int fake_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len))
		bail("fake server: %s", strerror(errno));
	fake_pid = fork();
	if (fake_pid < 0)
		bail("fork: %s", strerror(errno));
	if (!fake_pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fake_serve(lfd);
	}
	close(lfd);
	return ntohs(a.sin_port);
}

static void test_hostile(void)
{
	size_t i, n = sizeof(canned) / sizeof(canned[0]), deep = 100000;
	struct netseg_etcd_op op = { .type = NETSEG_ETCD_RANGE, .key = "/netseg/x" };
	struct netseg_etcd *c;
	char url[64];
	int port;

	gen_deep = malloc(2 * deep + 1);
	gen_big = malloc(300000);
	if (!gen_deep || !gen_big)
		bail("out of memory");
	memset(gen_deep, '[', deep);
	memset(gen_deep + deep, ']', deep);
	gen_deep[2 * deep] = '\0';
	memset(gen_big, ' ', 300000);
	gen_big[0] = '{';
	gen_big[299998] = '}';
	gen_big[299999] = '\0';
	port = fake_start();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	c = client(url, 3000, 256 << 10);
	for (i = 0; i < n; i++) {
		const struct canned *cn = &canned[i];
		struct netseg_etcd_result r;
		int e;

		e = sync_kv(c, &op, &r);
		if (!cn->want)
			ok(!e && r.revision == 7 && r.n_kvs == 1 && !strcmp(r.kvs[0].value, "y"),
			   "%s: accepted", cn->desc);
		else
			ok(e == cn->want_err && strstr(r.msg, cn->want), "%s: %d \"%s\"", cn->desc,
			   e, r.msg);
		netseg_etcd_result_free(&r);
	}
	netseg_etcd_free(c);
	free(gen_deep);
	free(gen_big);
	kill(fake_pid, SIGKILL);
	waitpid(fake_pid, NULL, 0);
	fake_pid = -1;
}

/* Watch-stream lines netseg must survive; parsed directly (the stream
 * splitting is exercised against the real etcd above). */
static void test_hostile_watch(void)
{
	static const struct {
		const char *line, *want;
	} t[] = {
		{ "garbage", "not one JSON object" },
		{ "{\"result\":{\"events\":[{\"type\":\"BOGUS\",\"kv\":{\"key\":\"eA==\",\"mod_revision\":\"3\"}}]}}",
		  "unknown type" },
		{ "{\"result\":{\"events\":[{\"type\":\"DELETE\"}]}}", "no key-value" },
		{ "{\"result\":{\"events\":[{\"kv\":{\"key\":\"eA==\"}}]}}", "no mod_revision" },
		{ "{\"result\":{\"events\":{}}}", "not an array" },
		{ "{\"result\":5}", "not an object" },
		{ "{\"nothing\":1}", "without a result" },
		{ "{\"error\":{\"grpc_code\":14,\"message\":\"etcdserver: no leader\"}}",
		  "no leader" },
	};
	static const char cancel[] =
		"{\"result\":{\"header\":{\"revision\":\"9\"},\"canceled\":true,\"compact_revision\":\"4\"}}";
	struct netseg_etcd_watch_msg m;
	char err[256];
	bool cr, ca;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int e = netseg_etcd_parse_watch(t[i].line, strlen(t[i].line), &m, &cr, &ca, err,
						sizeof(err));

		ok(e && strstr(err, t[i].want), "watch line %zu refused: %s", i, err);
		netseg_etcd_watch_msg_free(&m);
	}
	ok(!netseg_etcd_parse_watch(cancel, strlen(cancel), &m, &cr, &ca, err, sizeof(err)) && ca &&
		   m.compact_revision == 4 && m.revision == 9,
	   "a cancel with compact_revision parses");
	netseg_etcd_watch_msg_free(&m);
}

int main(void)
{
	struct netseg_etcd *a, *b;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setup();
	a = client(client_url, 3000, 0);
	b = client(client_url, 3000, 0);
	test_kv(a);
	test_list(a, b);
	test_create_race(a, b);
	test_cas(a);
	test_lease(a);
	test_watch(a, b);
	test_watch_txn(a, b);
	test_compaction(a);
	test_bad_values(a);
	test_unreachable();
	test_backoff();
	test_hung();
	test_reset(a);
	netseg_etcd_free(a);
	netseg_etcd_free(b);
	etcd_kill();
	test_hostile();
	test_hostile_watch();
	return tap_done();
}
