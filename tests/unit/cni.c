// SPDX-License-Identifier: GPL-2.0-only
/*
 * netseg-cni as a runtime runs it: the built binary, the CNI_* variables,
 * a network config on stdin, and -- standing in for netsegd -- a socket
 * this test listens on, which records the request and answers as told.
 * Checked: what the plugin asks netsegd, what it prints (the result, or
 * the spec's error object with its code), its exit status, and that it
 * fails closed: no daemon, a silent daemon or a refusal fails the ADD.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "tap.h"

static char plugin[512], sock_path[128], dir[64];

#define PREV                                                                                           \
	"\"prevResult\": {\"cniVersion\": \"1.0.0\", \"interfaces\": ["                                \
	"{\"name\": \"veth1a2b\", \"mac\": \"aa:bb:cc:dd:ee:01\"}, "                                   \
	"{\"name\": \"eth0\", \"sandbox\": \"/var/run/netns/pod1\"}], "                                \
	"\"ips\": [{\"address\": \"198.18.1.10/24\", \"gateway\": \"198.18.1.1\", \"interface\": 1}, " \
	"{\"address\": \"fd00::10/64\", \"interface\": 1}]}"

static char *conf(const char *version, const char *extra, bool prev)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"cniVersion\": \"%s\", \"name\": \"pods\", \"type\": \"netseg-cni\", "
		 "\"socket\": \"%s\", \"timeout_ms\": 500, "
		 "\"args\": {\"cni\": {\"labels\": [{\"key\": \"app\", \"value\": \"web\"}, "
		 "{\"key\": \"tier\", \"value\": \"front\"}]}}%s%s%s}",
		 version, sock_path, extra ? ", " : "", extra ? extra : "", prev ? ", " PREV : "");
	return buf;
}

/* How the stand-in daemon behaves for one run. */
enum daemon_mode { D_NONE, D_REPLY, D_SILENT };

struct run {
	int status;	/* exit status, -1 if it didn't exit */
	char out[8192]; /* stdout */
	char req[4096]; /* the request line the daemon got, "" if none */
	cJSON *json;	/* stdout parsed */
};

static int listen_sock(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, sock_path);
	unlink(sock_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4))
		bail("can't listen on %s: %s", sock_path, strerror(errno));
	return fd;
}

/* Serve one connection: read the request line, answer @reply (or not). */
static void serve(int lfd, enum daemon_mode mode, const char *reply, struct run *r)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	size_t n = 0;
	ssize_t k;
	int fd;

	if (poll(&p, 1, 5000) != 1)
		return; /* the plugin never connected */
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return;
	p.fd = fd;
	while (n < sizeof(r->req) - 1 && !memchr(r->req, '\n', n) && poll(&p, 1, 5000) == 1) {
		k = read(fd, r->req + n, sizeof(r->req) - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	r->req[n] = 0;
	if (mode == D_REPLY && reply) {
		if (write(fd, reply, strlen(reply)) < 0 || write(fd, "\n", 1) < 0)
			diag("stand-in daemon: write: %s", strerror(errno));
	}
	if (mode == D_SILENT)
		sleep(1); /* longer than the config's timeout_ms */
	close(fd);
}

/* Run the plugin with @env (NULL-terminated "K=V"s) and @stdin_text. */
static void run(struct run *r, const char *const *env, const char *stdin_text,
		enum daemon_mode mode, const char *reply)
{
	int in[2], out[2], lfd = -1, st;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (mode != D_NONE)
		lfd = listen_sock();
	else
		unlink(sock_path);
	if (pipe(in) || pipe(out))
		bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		bail("fork: %s", strerror(errno));
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);

		/* Its message on stderr repeats the error object's: not TAP. */
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (null >= 0)
			dup2(null, 2);
		close(in[1]);
		close(out[0]);
		execve(plugin, (char *const[]){ plugin, NULL }, (char *const *)env);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	/* VERSION may exit without reading: EPIPE then is no failure. */
	if (stdin_text && write(in[1], stdin_text, strlen(stdin_text)) < 0 && errno != EPIPE)
		diag("writing the config: %s", strerror(errno));
	close(in[1]);
	if (lfd >= 0) {
		serve(lfd, mode, reply, r);
		close(lfd);
	}
	while (n < sizeof(r->out) - 1 && (k = read(out[0], r->out + n, sizeof(r->out) - 1 - n)) > 0)
		n += (size_t)k;
	r->out[n] = 0;
	close(out[0]);
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->json = cJSON_Parse(r->out);
}

static void done(struct run *r)
{
	cJSON_Delete(r->json);
	r->json = NULL;
}

static int code_of(const struct run *r)
{
	const cJSON *c = cJSON_GetObjectItem(r->json, "code");

	return cJSON_IsNumber(c) ? c->valueint : -1;
}

static const char *msg_of(const struct run *r)
{
	const cJSON *m = cJSON_GetObjectItem(r->json, "msg");

	return cJSON_IsString(m) ? m->valuestring : "";
}

/* A failure: non-zero exit, the error object, its code and a message. */
static void expect_error(const char *what, struct run *r, int code, const char *msg_part)
{
	if (!ok(r->status != 0 && code_of(r) == code && strstr(msg_of(r), msg_part) &&
			cJSON_GetObjectItem(r->json, "cniVersion"),
		"%s: exit %d, CNI error code %d: %s", what, r->status, code_of(r), msg_of(r)))
		diag("expected code %d with \"%s\"; stdout: %s", code, msg_part, r->out);
}

#define C_ADD "CNI_COMMAND=ADD"
#define C_DEL "CNI_COMMAND=DEL"
#define C_CHECK "CNI_COMMAND=CHECK"
#define C_VERSION "CNI_COMMAND=VERSION"
#define C_GC "CNI_COMMAND=GC"
#define ENV(cmd, ...)                                                             \
	((const char *const[]){ cmd, "CNI_CONTAINERID=c0ffee", "CNI_IFNAME=eth0", \
				"CNI_PATH=/usr/lib/cni", ##__VA_ARGS__, NULL })
#define NETNS "CNI_NETNS=/var/run/netns/pod1"
#define K8S "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=a;K8S_POD_UID=u1"

static void test_version(void)
{
	struct run r;
	const cJSON *v;
	bool has = false;

	run(&r, ENV(C_VERSION), "{\"cniVersion\": \"1.0.0\"}", D_NONE, NULL);
	v = cJSON_GetObjectItem(r.json, "supportedVersions");
	for (int i = 0; i < cJSON_GetArraySize(v); i++)
		has |= !strcmp(cJSON_GetArrayItem(v, i)->valuestring, "1.0.0");
	ok(r.status == 0 && has, "VERSION: exit 0, supportedVersions has 1.0.0");
	done(&r);
}

static void test_add_good(void)
{
	struct run r;
	cJSON *req;
	const cJSON *l, *ips, *ifs;
	char *labels = NULL;

	run(&r, ENV(C_ADD, NETNS, K8S), conf("1.0.0", NULL, true), D_REPLY,
	    "{\"ok\": true, \"identity\": 1000, \"ifindex\": 7, \"attached\": [\"tc-ingress\", \"tc-egress\"]}");
	is_int(r.status, 0, "ADD with prevResult and a daemon that enforces: exit 0");
	req = cJSON_Parse(r.req);
	if (!ok(req != NULL, "netsegd got one JSON request line: %.200s", r.req))
		goto out;
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(req, "cmd")), "endpoint.register",
	       "the request is endpoint.register");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(req, "iface")), "veth1a2b",
	       "the host-side interface is the one outside the sandbox");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(req, "namespace")), "x",
	       "namespace from K8S_POD_NAMESPACE");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(req, "pod")), "a", "pod from K8S_POD_NAME");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(req, "container_id")), "c0ffee",
	       "container id from CNI_CONTAINERID");
	is_str(cJSON_GetStringValue(cJSON_GetObjectItem(req, "netns")), "/var/run/netns/pod1",
	       "netns from CNI_NETNS");
	l = cJSON_GetObjectItem(req, "labels");
	labels = cJSON_PrintUnformatted(l);
	is_str(labels, "{\"app\":\"web\",\"tier\":\"front\"}", "labels from args.cni.labels");
	ips = cJSON_GetObjectItem(req, "ips");
	ok(cJSON_GetArraySize(ips) == 2 &&
		   !strcmp(cJSON_GetArrayItem(ips, 0)->valuestring, "198.18.1.10") &&
		   !strcmp(cJSON_GetArrayItem(ips, 1)->valuestring, "fd00::10"),
	   "the pod's addresses, v4 and v6, without their prefix length");
	ifs = cJSON_GetObjectItem(r.json, "interfaces");
	ok(cJSON_GetArraySize(ifs) == 2 &&
		   !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "cniVersion")),
			   "1.0.0") &&
		   cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "ips")) == 2,
	   "stdout: prevResult passed on as the result");
	cJSON_Delete(req);
out:
	free(labels);
	done(&r);
}

static void test_add_errors(void)
{
	struct run r;

	run(&r, ENV(C_ADD, NETNS, K8S), conf("1.0.0", NULL, false), D_REPLY, "{\"ok\": true}");
	expect_error("ADD without prevResult", &r, 7, "chained plugin");
	is_str(r.req, "", "and netsegd was not asked");
	done(&r);

	run(&r, ENV(C_ADD, NETNS, K8S), conf("0.2.0", NULL, true), D_REPLY, "{\"ok\": true}");
	expect_error("ADD with cniVersion 0.2.0", &r, 1, "incompatible CNI version \"0.2.0\"");
	done(&r);

	run(&r, ENV(C_ADD, NETNS, K8S), conf("1.0.0", NULL, true), D_NONE, NULL);
	expect_error("ADD with netsegd unreachable (fail closed)", &r, 11, "can't reach netsegd");
	done(&r);

	run(&r, ENV(C_ADD, NETNS, K8S), conf("1.0.0", NULL, true), D_SILENT, NULL);
	expect_error("ADD with a netsegd that never answers", &r, 11,
		     "didn't answer within 500 ms");
	done(&r);

	run(&r, ENV(C_ADD, NETNS, K8S), conf("1.0.0", NULL, true), D_REPLY,
	    "{\"ok\": false, \"error\": \"couldn't attach to veth1a2b: interface not found\", \"kind\": \"rejected\"}");
	expect_error("ADD refused by netsegd", &r, 100, "interface not found");
	done(&r);

	run(&r, ENV(C_ADD, NETNS, K8S),
	    "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"netseg-cni\", "
	    "\"prevResult\": {\"interfaces\": [{\"name\": \"eth0\", \"sandbox\": \"/x\"}], "
	    "\"ips\": [{\"address\": \"198.18.1.10/24\"}]}}",
	    D_NONE, NULL);
	expect_error("ADD after a plugin with no host-side interface", &r, 7,
		     "no host-side interface");
	done(&r);

	run(&r, ENV(C_ADD, NETNS, K8S),
	    "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"netseg-cni\", "
	    "\"prevResult\": {\"interfaces\": [{\"name\": \"veth0\"}], \"ips\": []}}",
	    D_NONE, NULL);
	expect_error("ADD with no pod address in prevResult", &r, 7, "no IP addresses");
	done(&r);

	run(&r, ENV(C_ADD, NETNS, K8S),
	    "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"netseg-cni\", "
	    "\"args\": {\"cni\": {\"labels\": [{\"key\": \"-bad\", \"value\": \"x\"}]}}, " PREV "}",
	    D_NONE, NULL);
	expect_error("ADD with an invalid label key", &r, 7, "args.cni.labels");
	done(&r);

	run(&r, ENV(C_ADD, NETNS, K8S), "not json", D_NONE, NULL);
	expect_error("ADD with a config that isn't JSON", &r, 6, "not a JSON object");
	done(&r);

	run(&r, ((const char *const[]){ "CNI_COMMAND=ADD", "CNI_IFNAME=eth0", NETNS, NULL }),
	    conf("1.0.0", NULL, true), D_NONE, NULL);
	expect_error("ADD without CNI_CONTAINERID", &r, 4, "CNI_CONTAINERID is not set");
	done(&r);

	run(&r, ENV(C_ADD, NETNS, "CNI_ARGS=K8S_POD_NAMESPACE=x;FOO=1"), conf("1.0.0", NULL, true),
	    D_NONE, NULL);
	expect_error("ADD with an unknown CNI_ARGS key and no IgnoreUnknown", &r, 4, "\"FOO\"");
	done(&r);

	run(&r, ENV(C_ADD, NETNS, K8S),
	    "{\"cniVersion\": \"1.0.0\", \"name\": \"n\", \"type\": \"netseg-cni\", \"socket\": 5, " PREV
	    "}",
	    D_NONE, NULL);
	expect_error("ADD with a socket that isn't a string", &r, 7, "\"socket\"");
	done(&r);

	run(&r, ENV(C_GC, NETNS), conf("1.0.0", NULL, true), D_NONE, NULL);
	expect_error("an unknown CNI_COMMAND", &r, 4, "unknown CNI_COMMAND \"GC\"");
	done(&r);
}

static void test_del_check(void)
{
	struct run r;
	cJSON *req;

	/* DEL has no CNI_NETNS when the netns is gone already. */
	run(&r, ENV(C_DEL, K8S), conf("1.0.0", NULL, false), D_REPLY,
	    "{\"ok\": true, \"removed\": true}");
	req = cJSON_Parse(r.req);
	ok(r.status == 0 && !r.out[0] &&
		   !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(req, "cmd")) ?: "",
			   "endpoint.unregister") &&
		   !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(req, "container_id")) ?: "",
			   "c0ffee"),
	   "DEL without netns or prevResult: endpoint.unregister by container id, exit 0, no output");
	cJSON_Delete(req);
	done(&r);

	run(&r, ENV(C_DEL, NETNS, K8S), conf("1.0.0", NULL, true), D_REPLY,
	    "{\"ok\": true, \"removed\": false}");
	ok(r.status == 0 && !r.out[0], "DEL again (netsegd no longer knows it): exit 0");
	done(&r);

	run(&r, ENV(C_DEL, K8S), conf("1.0.0", NULL, false), D_NONE, NULL);
	ok(r.status == 0 && !r.out[0], "DEL with netsegd not running: exit 0 (nothing to remove)");
	done(&r);

	run(&r, ENV(C_DEL, K8S), conf("1.0.0", NULL, false), D_REPLY,
	    "{\"ok\": false, \"error\": \"state file: No space left on device\"}");
	expect_error("DEL refused by a running netsegd", &r, 100, "No space left");
	done(&r);

	run(&r, ENV(C_CHECK, NETNS, K8S), conf("1.0.0", NULL, true), D_REPLY,
	    "{\"ok\": true, \"enforced\": true}");
	req = cJSON_Parse(r.req);
	ok(r.status == 0 && !r.out[0] &&
		   !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(req, "cmd")) ?: "",
			   "endpoint.check"),
	   "CHECK of an enforced endpoint: endpoint.check, exit 0");
	cJSON_Delete(req);
	done(&r);

	run(&r, ENV(C_CHECK, NETNS, K8S), conf("1.0.0", NULL, true), D_REPLY,
	    "{\"ok\": true, \"enforced\": false}");
	expect_error("CHECK of an endpoint netsegd doesn't enforce", &r, 100, "is not enforced");
	done(&r);

	run(&r, ENV(C_CHECK, NETNS, K8S), conf("1.0.0", NULL, true), D_NONE, NULL);
	expect_error("CHECK with netsegd unreachable", &r, 11, "can't reach netsegd");
	done(&r);
}

int main(void)
{
	char src[] = __FILE__;

	snprintf(plugin, sizeof(plugin), "%s/../../cni/netseg-cni", dirname(src));
	if (access(plugin, X_OK))
		bail("build the plugin first (make): %s", plugin);
	snprintf(dir, sizeof(dir), "/tmp/netseg-cni-t.XXXXXX");
	if (!mkdtemp(dir))
		bail("mkdtemp: %s", strerror(errno));
	snprintf(sock_path, sizeof(sock_path), "%s/netsegd.sock", dir);
	signal(SIGPIPE, SIG_IGN);
	test_version();
	test_add_good();
	test_add_errors();
	test_del_check();
	unlink(sock_path);
	rmdir(dir);
	return tap_done();
}
