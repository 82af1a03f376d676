// SPDX-License-Identifier: GPL-2.0-only
/*
 * evflood: drives denied packets through a copy of the TC program that
 * shares a running netsegd's pinned maps, so every packet is a deny event
 * in the daemon's ring buffer.  Used by bench/flowlog.sh to measure how
 * many records per second the daemon turns into flow-log lines.
 *
 *   evflood PIN_DIR SECONDS
 *
 * The frame is 198.18.9.9 -> 198.18.2.2:8080 TCP SYN (world to an
 * endpoint, default deny); it never leaves BPF_PROG_TEST_RUN.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "datapath.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t build_frame(unsigned char *f)
{
	static const unsigned char eth[14] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00 };
	unsigned char ip[20] = { 0x45, 0, 0,   40, 0, 1, 0x40, 0,  64, 6,
				 0,    0, 198, 18, 9, 9, 198,  18, 2,  2 };
	unsigned char tcp[20] = { 0xc3, 0x50, 0x1f, 0x90, 0,	0,    0, 1, 0, 0,
				  0,	0,    0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0 };
	unsigned int sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += ip[i] << 8 | ip[i + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~(sum + (sum >> 16)) & 0xffff;
	ip[10] = sum >> 8;
	ip[11] = sum & 0xff;
	memcpy(f, eth, 14);
	memcpy(f + 14, ip, 20);
	memcpy(f + 34, tcp, 20);
	return 54;
}

int main(int argc, char **argv)
{
	struct netseg_dp_opts o = {};
	unsigned char frame[64];
	struct netseg_dp *dp;
	double t0, secs;
	__u64 sent = 0;
	int err, fd;

	if (argc != 3) {
		fprintf(stderr, "usage: evflood PIN_DIR SECONDS\n");
		return 2;
	}
	o.pin_dir = argv[1];
	secs = atof(argv[2]);
	err = netseg_dp_open(&dp, &o);
	if (err) {
		fprintf(stderr, "evflood: couldn't open the datapath at %s: %s\n", argv[1],
			strerror(-err));
		return 1;
	}
	fd = netseg_dp_prog_fd(dp, NETSEG_HOOK_TC_INGRESS);
	t0 = now_s();
	while (now_s() - t0 < secs) {
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame,
			    .data_size_in = build_frame(frame), .repeat = 4096);

		if (bpf_prog_test_run_opts(fd, &t)) {
			fprintf(stderr, "evflood: test run: %s\n", strerror(errno));
			break;
		}
		if (t.retval != 2) {
			fprintf(stderr, "evflood: the frame was not denied (retval %d)\n",
				t.retval);
			break;
		}
		sent += 4096;
	}
	printf("%llu %.3f\n", (unsigned long long)sent, now_s() - t0);
	netseg_dp_close(dp);
	return 0;
}
