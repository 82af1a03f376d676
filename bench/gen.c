// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/gen: the throughput benchmarks' packet generator and receivers.
 *
 *   gen send  --dev IF --src A --dst B [...]   packets out of IF (into its peer)
 *   gen sink  attach IF drop|pass PIN | detach IF   receivers that count
 *   gen read  PIN [KEY]                        a pinned counter, summed over CPUs
 *   gen reply --src A --dst B [...]            one UDP reply per flow
 *
 * `send` runs bench/bpf/gen.bpf.c under BPF_PROG_TEST_RUN with live frames:
 * each run is one packet redirected out of IF, with its own 5-tuple and
 * valid checksums (the program rewrites them; see there).  Every test-run
 * call sets up a page pool, so calls are big (--repeat, 2^20) and the
 * duration is enforced by SIGALRM, which the kernel checks between
 * batches (the call returns EINTR); the program's per-CPU counter says how
 * many packets went out.  Before sending, the program runs on a plain
 * test run for a whole IMIX cycle and every frame it wrote is checked
 * (lengths, IPv4 and L4 checksums, tuple) in userspace.
 *
 * Flows: see frame.h.  `--flows new` cycles through 256 source addresses
 * x (65536 - sport0) ports: no tuple repeats within 16 M packets, and the
 * sources stay inside one /24.
 *
 * `reply` primes stateful firewalls: from the receiver's namespace it
 * sends one datagram per flow back to the flow's source, so conntrack
 * sees both directions (ESTABLISHED) before the measurement starts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gen.skel.h"
#include "frame.h"
#include "log.h"

#define REPEAT_DEFAULT (1U << 20)
#define NEW_FLOW_ADDRS 256

struct gen_result {
	__u64 sent;
	double secs;
	unsigned int calls;
};

static volatile sig_atomic_t timed_out;

/* `error: ...` on stderr; returns the exit status. */
__attribute__((format(printf, 2, 3))) static int fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ------------------------------------------------------------ program */

/* Zero on every CPU but `cpu`, which starts at `start` (the first flow). */
static int counter_reset(int map_fd, int cpu, __u64 start)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(__u64));
	__u32 key = 0;
	int err;

	if (!v)
		return -ENOMEM;
	if (cpu >= 0 && cpu < ncpu)
		v[cpu] = start;
	err = bpf_map_update_elem(map_fd, &key, v, BPF_ANY) ? -errno : 0;
	free(v);
	return err;
}

static int counter_read(int map_fd, __u64 *total)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(__u64));
	__u32 key = 0;
	int err = 0;

	if (!v)
		return -ENOMEM;
	*total = 0;
	if (bpf_map_lookup_elem(map_fd, &key, v))
		err = -errno;
	for (int i = 0; !err && i < ncpu; i++)
		*total += v[i];
	free(v);
	return err;
}

static int gen_load(const struct gen_spec *s, struct gen_bpf **out)
{
	struct gen_bpf *skel = gen_bpf__open();
	__u32 l4sum, ipsum;
	__u8 hdr[128];
	int err;

	if (!skel)
		return -errno;
	frame_const_sums(s, &l4sum, &ipsum);
	skel->rodata->cfg_ifindex = s->ifindex;
	skel->rodata->cfg_nflows = s->nflows;
	skel->rodata->cfg_nsports = flow_span(s);
	skel->rodata->cfg_sport0 = s->sport0;
	memcpy(&skel->rodata->cfg_saddr0, s->saddr + (s->v6 ? 12 : 0), 4);
	skel->rodata->cfg_saddr0 = ntohl(skel->rodata->cfg_saddr0);
	for (int i = 0; i < 3; i++)
		skel->rodata->cfg_len[i] = s->len[i];
	skel->rodata->cfg_v6 = s->v6;
	skel->rodata->cfg_tcp = s->tcp;
	skel->rodata->cfg_l4sum = l4sum;
	skel->rodata->cfg_ipsum = ipsum;
	frame_build(s, 0, hdr, sizeof(hdr), false);
	memcpy(skel->data->hdr_tmpl, hdr, sizeof(skel->data->hdr_tmpl));
	bpf_program__set_autoload(skel->progs.sink_drop, false);
	bpf_program__set_autoload(skel->progs.sink_pass, false);
	err = gen_bpf__load(skel);
	if (err) {
		gen_bpf__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

static size_t max_len(const struct gen_spec *s)
{
	size_t m = s->len[0];

	for (int i = 1; i < 3; i++)
		m = s->len[i] > m ? s->len[i] : m;
	return m;
}

/*
 * Run the program on the base frame without sending (plain test run) for
 * a full IMIX cycle and check every frame it writes.
 */
static int gen_selftest(const struct gen_spec *s, struct gen_bpf *skel, const __u8 *base,
			size_t blen)
{
	int fd = bpf_program__fd(skel->progs.gen_xdp), err;
	__u8 out[2048];

	for (__u32 i = 0; i < 24; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = base, .data_size_in = blen,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
		__u32 k = i % 12;
		size_t want = s->len[k < 7 ? 0 : k < 11 ? 1 : 2];

		err = bpf_prog_test_run_opts(fd, &o);
		if (err || o.retval != XDP_REDIRECT) {
			fail(1, "generator self-test run %u failed: %s (retval %u)", i,
			     strerror(err ? errno : EINVAL), o.retval);
			return err ? -errno : -EINVAL;
		}
		if (frame_check(s, out, o.data_size_out, s->nflows ? i % s->nflows : i, want))
			return -EINVAL;
	}
	return 0;
}

/* Pin to `cpu`, or to where we run now (the per-CPU counter must stay on
 * one CPU for --first).  Returns the CPU. */
static int pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "warning: couldn't pin to CPU %d: %s\n", cpu, strerror(errno));
	return cpu;
}

/* SIGALRM after `secs` (> 0): no SA_RESTART, so it interrupts a test run. */
static void arm_timer(double secs)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = {};

	sigaction(SIGALRM, &sa, NULL);
	it.it_value.tv_sec = (time_t)secs;
	it.it_value.tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6);
	if (!it.it_value.tv_sec && !it.it_value.tv_usec)
		it.it_value.tv_usec = 1;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_timer(void)
{
	struct itimerval it = {};

	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_IGN);
}

static void sleep_until(__u64 t)
{
	struct timespec ts = { .tv_sec = t / 1000000000ULL, .tv_nsec = t % 1000000000ULL };

	while (!timed_out && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/*
 * The send loop.  Unpaced: --repeat packets per call until the timer or
 * --count stops it.  Paced (--rate): calls of rate/100 packets, each
 * started on schedule (a call's page-pool setup costs about as much as a
 * few hundred packets, so pacing below ~100 kpps is coarse but exact on
 * average).
 */
static int send_loop(const struct gen_spec *s, struct gen_bpf *skel, const __u8 *base, size_t blen,
		     struct gen_result *r)
{
	int fd = bpf_program__fd(skel->progs.gen_xdp), map = bpf_map__fd(skel->maps.seq);
	__u64 chunk = s->rate ? (s->rate / 100 ? s->rate / 100 : 1) : s->repeat;
	__u64 sent = 0, seq, t0, next;
	int err = 0;

	timed_out = 0;
	arm_timer(s->duration);
	t0 = next = now_ns();
	while (!timed_out && (!s->count || sent < s->count)) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = base, .data_size_in = blen,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = s->batch);
		__u64 n = chunk;

		if (s->count && s->count - sent < n)
			n = s->count - sent;
		o.repeat = n > 0xffffffffULL ? 0xffffffffU : (__u32)n;
		err = bpf_prog_test_run_opts(fd, &o) ? -errno : 0;
		r->calls++;
		if (err == -EINTR) /* the timer: the packets sent so far count */
			err = 0;
		if (err) {
			fail(1, "live-frame test run on %s failed: %s", s->dev, strerror(-err));
			break;
		}
		err = counter_read(map, &seq);
		if (err)
			break;
		sent = seq - s->first;
		if (s->rate) {
			next += chunk * 1000000000ULL / s->rate;
			sleep_until(next);
		}
	}
	r->secs = (now_ns() - t0) / 1e9;
	disarm_timer();
	r->sent = sent;
	return err;
}

static int gen_send(const struct gen_spec *s, struct gen_result *r)
{
	size_t blen = max_len(s);
	struct gen_bpf *skel = NULL;
	__u8 *base = calloc(1, blen);
	int err;

	memset(r, 0, sizeof(*r));
	if (!base)
		return -ENOMEM;
	frame_build(s, 0, base, blen, false);
	err = gen_load(s, &skel);
	if (err) {
		fail(1, "couldn't load the generator program: %s", strerror(-err));
		goto out;
	}
	err = gen_selftest(s, skel, base, blen);
	err = err ?: counter_reset(bpf_map__fd(skel->maps.seq), pin_cpu(s->cpu), s->first);
	err = err ?: send_loop(s, skel, base, blen, r);
out:
	gen_bpf__destroy(skel);
	free(base);
	return err;
}

/* ------------------------------------------------------------ pktgen */

/*
 * Kernel pktgen would be the classic generator.  It needs the pktgen
 * module (/proc/net/pktgen), which the machine this was written on lacks,
 * so driving it is not implemented (it couldn't be tested): exit 3 either
 * way, saying which case this is.
 */
static int gen_pktgen(void)
{
	struct stat st;

	if (stat("/proc/net/pktgen", &st))
		return fail(3, "--gen pktgen: kernel pktgen isn't available (/proc/net/pktgen "
			       "is missing: no pktgen module in this kernel); use --gen xdp");
	return fail(3, "--gen pktgen: /proc/net/pktgen exists, but driving kernel pktgen "
		       "isn't implemented; use --gen xdp");
}

/* ------------------------------------------------------------ sinks */

/*
 * A receiver: count every frame, then drop or pass it.  Attached in native
 * mode (a veth only takes redirected frames in native mode when its peer
 * side has an XDP program) and left attached when we exit: netlink XDP
 * attachments live as long as the interface.  The counter is pinned.
 */
static int sink_attach(const char *dev, const char *mode, const char *pin)
{
	int ifindex = if_nametoindex(dev), err;
	struct bpf_program *prog;
	struct gen_bpf *skel;

	bool drop = !strcmp(mode, "drop");

	if (!ifindex)
		return fail(1, "couldn't use %s: interface not found", dev);
	if (!drop && strcmp(mode, "pass"))
		return fail(2, "sink mode must be drop or pass, not \"%s\"", mode);
	skel = gen_bpf__open();
	if (!skel)
		return fail(1, "couldn't open the sink program: %s", strerror(errno));
	prog = drop ? skel->progs.sink_drop : skel->progs.sink_pass;
	bpf_program__set_autoload(skel->progs.gen_xdp, false);
	bpf_program__set_autoload(drop ? skel->progs.sink_pass : skel->progs.sink_drop, false);
	err = gen_bpf__load(skel);
	if (!err && bpf_map__pin(skel->maps.seq, pin))
		err = -errno;
	if (!err && bpf_xdp_attach(ifindex, bpf_program__fd(prog), XDP_FLAGS_DRV_MODE, NULL))
		err = -errno;
	gen_bpf__destroy(skel);
	if (err)
		return fail(1, "couldn't attach the %s sink to %s: %s", mode, dev, strerror(-err));
	return 0;
}

/*
 * The first u64 of a pinned map's value at `key`, summed over CPUs for
 * per-CPU maps: the packet count in our sinks, in netseg's ns_counters
 * and in xdp-filter's stats.  A missing key of a hash map reads as 0.
 */
static int pinned_count(const char *pin, __u32 key, __u64 *total)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), stride;
	int fd = bpf_obj_get(pin), ncpu = 1, err = 0;
	__u8 *v = NULL;

	*total = 0;
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	if (info.key_size != 4 || info.value_size < 8) {
		err = -EINVAL;
		goto out;
	}
	if (info.type == BPF_MAP_TYPE_PERCPU_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_HASH)
		ncpu = libbpf_num_possible_cpus();
	stride = (info.value_size + 7) & ~7U; /* per-CPU values are 8-byte aligned */
	v = calloc(ncpu, stride);
	if (!v) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_elem(fd, &key, v) && errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (int i = 0; i < ncpu; i++) {
		__u64 x;

		memcpy(&x, v + (size_t)i * stride, 8);
		*total += x;
	}
out:
	free(v);
	close(fd);
	return err;
}

/* `gen read PIN [KEY]` */
static int cmd_read(int argc, char **argv)
{
	__u64 n;
	int err;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: gen read PIN [KEY]\n");
		return 2;
	}
	err = pinned_count(argv[1], argc > 2 ? strtoul(argv[2], NULL, 0) : 0, &n);
	if (err)
		return fail(1, "couldn't read the counter pinned at %s: %s", argv[1],
			    err == -EINVAL ? "not a u32 -> u64 map" : strerror(-err));
	printf("%llu\n", (unsigned long long)n);
	return 0;
}

static int cmd_sink(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "attach"))
		return sink_attach(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "detach")) {
		int ifindex = if_nametoindex(argv[2]);

		return ifindex && !bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL) ? 0 : 1;
	}
	fprintf(stderr, "usage: gen sink attach IF drop|pass PIN | detach IF\n");
	return 2;
}

/* ------------------------------------------------------------ reply */

/*
 * From --src:--sport (the receiver: a flow's destination) to each flow's
 * source address and port.  --dst/--dport name flow 0's source, as in send.
 */
static int gen_reply(const struct gen_spec *s)
{
	int af = s->v6 ? AF_INET6 : AF_INET, fd = socket(af, SOCK_DGRAM, 0), err = 0;
	struct sockaddr_storage me = {}, to = {};
	socklen_t alen = s->v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	struct gen_spec flows = *s;
	char msg[8] = "reply";
	__u8 addr[16];
	__u16 port;

	if (fd < 0)
		return -errno;
	/* Flows are indexed by their source: the reply's destination. */
	memcpy(flows.saddr, s->daddr, 16);
	flows.sport0 = s->dport;
	me.ss_family = to.ss_family = af;
	if (s->v6) {
		memcpy(&((struct sockaddr_in6 *)&me)->sin6_addr, s->saddr, 16);
		((struct sockaddr_in6 *)&me)->sin6_port = htons(s->sport0);
	} else {
		memcpy(&((struct sockaddr_in *)&me)->sin_addr, s->saddr, 4);
		((struct sockaddr_in *)&me)->sin_port = htons(s->sport0);
	}
	if (bind(fd, (struct sockaddr *)&me, alen))
		err = -errno;
	for (__u64 f = s->first; !err && f < s->first + (s->count ? s->count : s->nflows); f++) {
		flow_tuple(&flows, f % flows.nflows, addr, &port);
		if (s->v6) {
			memcpy(&((struct sockaddr_in6 *)&to)->sin6_addr, addr, 16);
			((struct sockaddr_in6 *)&to)->sin6_port = htons(port);
		} else {
			memcpy(&((struct sockaddr_in *)&to)->sin_addr, addr, 4);
			((struct sockaddr_in *)&to)->sin_port = htons(port);
		}
		/* A full qdisc is back-pressure, not failure: wait and retry,
		 * for a second at most. */
		for (int tries = 0;
		     sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&to, alen) < 0; tries++) {
			if ((errno != ENOBUFS && errno != EAGAIN) || tries == 10000) {
				err = -errno;
				break;
			}
			usleep(100);
		}
	}
	if (err)
		fail(1, "reply from %s: %s", s->v6 ? "IPv6" : "IPv4", strerror(-err));
	close(fd);
	return err;
}

/* ------------------------------------------------------------ options */

static int parse_mac(const char *t, __u8 mac[6])
{
	unsigned int b[6];

	if (sscanf(t, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
	return 0;
}

static int read_mac(const char *dev, __u8 mac[6])
{
	char path[128], line[64];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", dev);
	f = fopen(path, "r");
	if (f && fgets(line, sizeof(line), f))
		err = parse_mac(line, mac);
	if (f)
		fclose(f);
	return err;
}

static int parse_addr(const char *t, struct gen_spec *s, __u8 out[16])
{
	int v6 = strchr(t, ':') != NULL;

	memset(out, 0, 16);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, t, out) != 1)
		return -EINVAL;
	if (s->family_set && s->v6 != v6)
		return -EINVAL;
	s->v6 = v6;
	s->family_set = true;
	return 0;
}

static int parse_size(const char *t, struct gen_spec *s)
{
	size_t min = frame_min_len(s);
	long n;

	if (!strcmp(t, "imix")) {
		s->len[0] = min;
		s->len[1] = IMIX_MID - FCS;
		s->len[2] = IMIX_LARGE - FCS;
		return 0;
	}
	n = strtol(t, NULL, 10) - FCS;
	if (n < (long)min)
		n = min; /* "64" on IPv6 + TCP: the smallest frame that fits */
	if (n > IMIX_LARGE - FCS)
		return -EINVAL;
	s->len[0] = s->len[1] = s->len[2] = n;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gen send --dev IF --src ADDR --dst ADDR [--dmac MAC] [--smac MAC]\n"
		"                [--proto udp|tcp] [--tcp-flags S|A|SA] [--dport N] [--sport N]\n"
		"                [--size 64|imix|BYTES] [--flows N|new] [--rate PPS]\n"
		"                [--duration SEC] [--count N] [--cpu N] [--batch N]\n"
		"                [--repeat N] [--first FLOW] [--gen xdp|pktgen]\n"
		"       gen sink attach IF drop|pass PIN | sink detach IF\n"
		"       gen read PIN [KEY]\n"
		"       gen reply --src ADDR --sport N --dst ADDR --dport N --flows N\n"
		"                 [--first FLOW] [--count N]\n"
		"Sizes count the 4-byte FCS (64 = 60 bytes in the buffer); too small a size\n"
		"for the headers becomes the smallest that fits.  send prints\n"
		"sent=N secs=S mpps=M calls=C.\n");
}

enum {
	O_DEV = 1,
	O_DST,
	O_SRC,
	O_DMAC,
	O_SMAC,
	O_PROTO,
	O_FLAGS,
	O_DPORT,
	O_SPORT,
	O_SIZE,
	O_FLOWS,
	O_RATE,
	O_DUR,
	O_COUNT,
	O_CPU,
	O_BATCH,
	O_REPEAT,
	O_GEN,
	O_FIRST
};

static const struct option opts[] = {
	{ "dev", required_argument, NULL, O_DEV },
	{ "dst", required_argument, NULL, O_DST },
	{ "src", required_argument, NULL, O_SRC },
	{ "dmac", required_argument, NULL, O_DMAC },
	{ "smac", required_argument, NULL, O_SMAC },
	{ "proto", required_argument, NULL, O_PROTO },
	{ "tcp-flags", required_argument, NULL, O_FLAGS },
	{ "dport", required_argument, NULL, O_DPORT },
	{ "sport", required_argument, NULL, O_SPORT },
	{ "size", required_argument, NULL, O_SIZE },
	{ "flows", required_argument, NULL, O_FLOWS },
	{ "rate", required_argument, NULL, O_RATE },
	{ "duration", required_argument, NULL, O_DUR },
	{ "count", required_argument, NULL, O_COUNT },
	{ "cpu", required_argument, NULL, O_CPU },
	{ "batch", required_argument, NULL, O_BATCH },
	{ "repeat", required_argument, NULL, O_REPEAT },
	{ "gen", required_argument, NULL, O_GEN },
	{ "first", required_argument, NULL, O_FIRST },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static int bad(const char *what, const char *val)
{
	fprintf(stderr, "error: invalid %s \"%s\"\n", what, val);
	return -EINVAL;
}

static int parse_proto(const char *a, struct gen_spec *s)
{
	if (strcmp(a, "udp") && strcmp(a, "tcp"))
		return bad("--proto", a);
	s->tcp = !strcmp(a, "tcp");
	return 0;
}

static int parse_one(int c, const char *a, struct gen_spec *s, const char **size)
{
	switch (c) {
	case O_DEV:
		s->dev = a;
		return 0;
	case O_DST:
		return parse_addr(a, s, s->daddr) ? bad("--dst", a) : 0;
	case O_SRC:
		s->src_set = true;
		return parse_addr(a, s, s->saddr) ? bad("--src", a) : 0;
	case O_DMAC:
		s->dmac_set = true;
		return parse_mac(a, s->dmac) ? bad("--dmac", a) : 0;
	case O_SMAC:
		s->smac_set = true;
		return parse_mac(a, s->smac) ? bad("--smac", a) : 0;
	case O_PROTO:
		return parse_proto(a, s);
	case O_FLAGS:
		s->tcp_flags = (strchr(a, 'S') ? 0x02 : 0) | (strchr(a, 'A') ? 0x10 : 0);
		return s->tcp_flags ? 0 : bad("--tcp-flags", a);
	case O_DPORT:
		s->dport = atoi(a);
		return s->dport ? 0 : bad("--dport", a);
	case O_SPORT:
		s->sport0 = atoi(a);
		return s->sport0 ? 0 : bad("--sport", a);
	case O_SIZE:
		*size = a;
		return 0;
	case O_FLOWS:
		s->nflows = !strcmp(a, "new") ? 0 : strtoul(a, NULL, 0);
		return !strcmp(a, "new") || s->nflows ? 0 : bad("--flows", a);
	case O_RATE:
		s->rate = strtoull(a, NULL, 0);
		return 0;
	case O_DUR:
		s->duration = atof(a);
		return s->duration > 0 ? 0 : bad("--duration", a);
	case O_COUNT:
		s->count = strtoull(a, NULL, 0);
		return 0;
	case O_FIRST:
		s->first = strtoull(a, NULL, 0);
		return 0;
	case O_CPU:
		s->cpu = atoi(a);
		return 0;
	case O_BATCH:
		s->batch = atoi(a);
		return s->batch && s->batch <= 256 ? 0 : bad("--batch (1..256)", a);
	case O_REPEAT:
		s->repeat = strtoull(a, NULL, 0);
		return s->repeat ? 0 : bad("--repeat", a);
	case O_GEN:
		if (strcmp(a, "xdp") && strcmp(a, "pktgen"))
			return bad("--gen", a);
		s->pktgen = !strcmp(a, "pktgen");
		return 0;
	default:
		usage(stderr);
		return -EINVAL;
	}
}

/* 0, 1 for --help, or -EINVAL. */
static int parse_spec(int argc, char **argv, struct gen_spec *s)
{
	const char *size = "64";
	int c;

	memset(s, 0, sizeof(*s));
	s->sport0 = 1024;
	s->dport = 5000;
	s->nflows = 1;
	s->duration = 1;
	s->cpu = -1;
	s->batch = 64;
	s->repeat = REPEAT_DEFAULT;
	s->tcp_flags = 0x10; /* ACK: mid-flow traffic */
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			return usage(stdout), 1;
		if (parse_one(c, optarg, s, &size))
			return -EINVAL;
	}
	if (optind < argc)
		return bad("argument", argv[optind]);
	if (!s->nflows)
		s->nflows = NEW_FLOW_ADDRS * (65536 - s->sport0);
	return parse_size(size, s) ? bad("--size", size) : 0;
}

/* ------------------------------------------------------------ commands */

static int cmd_send(int argc, char **argv)
{
	struct gen_result r;
	struct gen_spec s;
	int err = parse_spec(argc, argv, &s);

	if (err)
		return err > 0 ? 0 : 2;
	if (s.pktgen)
		return gen_pktgen();
	if (!s.dev || !s.src_set || !s.family_set)
		return fail(2, "send needs --dev, --src and --dst");
	s.ifindex = if_nametoindex(s.dev);
	if (!s.ifindex)
		return fail(2, "couldn't use %s: interface not found", s.dev);
	if (!s.smac_set && read_mac(s.dev, s.smac))
		return fail(2, "couldn't read the MAC address of %s", s.dev);
	if (!s.dmac_set)
		memset(s.dmac, 0xff, 6);
	if (gen_send(&s, &r))
		return 1;
	printf("sent=%llu secs=%.6f mpps=%.4f calls=%u\n", (unsigned long long)r.sent, r.secs,
	       r.secs > 0 ? r.sent / r.secs / 1e6 : 0.0, r.calls);
	return 0;
}

static int cmd_reply(int argc, char **argv)
{
	struct gen_spec s;
	int err = parse_spec(argc, argv, &s);

	if (err)
		return err > 0 ? 0 : 2;
	if (!s.src_set || !s.family_set)
		return fail(2, "reply needs --src and --dst");
	return gen_reply(&s) ? 1 : 0;
}

int main(int argc, char **argv)
{
	netseg_log_hook_libs(); /* libbpf's chatter only with NETSEG_DEBUG-level logging */
	if (argc >= 2 && !strcmp(argv[1], "send"))
		return cmd_send(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "sink"))
		return cmd_sink(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "read"))
		return cmd_read(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "reply"))
		return cmd_reply(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return usage(stdout), 0;
	usage(stderr);
	return 2;
}
