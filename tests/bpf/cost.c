// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-packet cost of the TC and XDP programs: measurements, not
 * assertions.  The points only check that every run succeeded with the
 * expected verdict; the numbers go to diag lines.
 *
 * Method.  BPF_PROG_TEST_RUN reports `duration`: the kernel's own
 * ktime-based time per program run, averaged over `repeat`, without the
 * syscall.  A path the same frame can take over and over (established
 * flow, deny, XDP drop) is measured with a large repeat.  A new flow needs
 * a fresh 5-tuple per packet, which repeat can't give, so the new-flow
 * path is 2000 single runs (repeat = 1) with distinct source ports, and the
 * established path is measured the same single-run way for calibration:
 * single-run durations include the timer's own overhead, so their
 * difference is the extra cost of creating a flow.  Wall-clock time per
 * syscall is shown for scale.
 */
#include <netinet/in.h>
#include <time.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "bpfx.h"
#include "tap.h"

#define ID_A 256
#define ID_B 257
#define IP_A "198.18.9.1"
#define IP_B "198.18.9.2"

#define REPEAT 200000
#define SINGLES 2000

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct pkt_flow tcp(__u16 sport, __u16 dport, __u8 flags)
{
	return (struct pkt_flow){ .af = 4,
				  .src = IP_A,
				  .dst = IP_B,
				  .proto = IPPROTO_TCP,
				  .sport = sport,
				  .dport = dport,
				  .tcp_flags = flags };
}

/* Same frame, `repeat` times: the kernel's average ns per run. */
static void measure_repeat(struct bpfx *x, const char *what, int hook, const struct pkt_flow *f,
			   __u32 want_ret)
{
	__u32 ret = 0, dur = 0;
	struct pkt p;
	int err;

	pkt_flow_build(&p, f);
	err = bpfx_run(x, hook, &p, 0, REPEAT, &ret, &dur);
	if (ok(!err && ret == want_ret, "%s: %d runs [%s]", what, REPEAT, bpfx_hook_name(hook)))
		diag("cost %-44s %5u ns/packet (kernel-timed, repeat %d)", what, dur, REPEAT);
	else
		diag("  err %d retval %d", err, (int)ret);
}

/* Single runs: mean kernel duration and mean wall time per syscall. */
static bool singles(struct bpfx *x, int hook, __u16 sport0, bool distinct, __u8 flags,
		    __u32 want_ret, double *kern, double *wall)
{
	__u64 sum = 0, t0, t1;
	struct pkt_flow f;
	__u32 ret, dur;
	struct pkt p;
	int bad = 0;

	t0 = mono_ns();
	for (int i = 0; i < SINGLES; i++) {
		f = tcp(distinct ? sport0 + i : sport0, 443, flags);
		pkt_flow_build(&p, &f);
		if (bpfx_run(x, hook, &p, 0, 1, &ret, &dur) || ret != want_ret)
			bad++;
		sum += dur;
	}
	t1 = mono_ns();
	*kern = (double)sum / SINGLES;
	*wall = (double)(t1 - t0) / SINGLES;
	return !bad;
}

int main(void)
{
	struct netseg_policy_entry rule;
	double k_new, w_new, k_est, w_est;
	struct bpfx_result r;
	struct pkt_flow f;
	struct bpfx x;
	struct pkt p;
	bool good;
	int n0;

	bpfx_init(&x, "cost");
	bpfx_identity(&x, ID_A, NETSEG_IDF_ENDPOINT);
	bpfx_identity(&x, ID_B, NETSEG_IDF_ENDPOINT);
	bpfx_host(&x, 4, IP_A, ID_A, 0);
	bpfx_host(&x, 4, IP_B, ID_B, 0);
	rule = bpfx_rule(ID_A, ID_B, IPPROTO_TCP, 443, 16, NETSEG_VERDICT_ALLOW, 1, 0);
	bpfx_policy(&x, &rule, 1);
	/* Deny records off: the deny path then costs the same on every run
	 * (a full ring would change it part-way through). */
	netseg_dp_config_set_events(x.dp, 0, 0, 0);

	/* Established flow: SYN, SYN-ACK, then the ACK is a CT hit. */
	f = tcp(30000, 443, PKT_TCP_SYN);
	pkt_flow_build(&p, &f);
	bpfx_send(&x, NETSEG_HOOK_TC_INGRESS, &p, 0, &r);
	f = pkt_flow_reverse(&f);
	f.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK;
	pkt_flow_build(&p, &f);
	bpfx_send(&x, NETSEG_HOOK_TC_EGRESS, &p, 0, &r);
	f = tcp(30000, 443, PKT_TCP_ACK);
	measure_repeat(&x, "TC ingress, established flow (CT hit)", NETSEG_HOOK_TC_INGRESS, &f,
		       (__u32)TC_ACT_UNSPEC);
	f = tcp(30001, 22, PKT_TCP_SYN);
	measure_repeat(&x, "TC ingress, denied new flow (no CT write)", NETSEG_HOOK_TC_INGRESS, &f,
		       TC_ACT_SHOT);
	measure_repeat(&x, "XDP, denied new flow (early drop)", NETSEG_HOOK_XDP, &f, XDP_DROP);
	f = tcp(30000, 443, PKT_TCP_ACK);
	measure_repeat(&x, "XDP, established flow (pass to TC)", NETSEG_HOOK_XDP, &f, XDP_PASS);

	/* New allowed flows: distinct tuples, one run each. */
	n0 = bpfx_ct_count(&x);
	good = singles(&x, NETSEG_HOOK_TC_INGRESS, 20000, true, PKT_TCP_SYN, (__u32)TC_ACT_UNSPEC,
		       &k_new, &w_new);
	ok(good && bpfx_ct_count(&x) - n0 == SINGLES,
	   "%d new flows, one run each: all allowed, %d CT entries created", SINGLES, SINGLES);
	good = singles(&x, NETSEG_HOOK_TC_INGRESS, 30000, false, PKT_TCP_ACK, (__u32)TC_ACT_UNSPEC,
		       &k_est, &w_est);
	ok(good, "%d single runs of the established flow", SINGLES);
	diag("cost TC ingress, new allowed flow (CT insert)  %5.0f ns/packet "
	     "(kernel-timed single runs, mean of %d distinct tuples)",
	     k_new, SINGLES);
	diag("cost TC ingress, established, single runs     %5.0f ns/packet "
	     "(same method: includes the per-run timer overhead)",
	     k_est);
	diag("cost => creating a flow costs %.0f ns more than a CT hit", k_new - k_est);
	diag("wall clock per test-run syscall: %.0f ns (new) / %.0f ns (established)", w_new,
	     w_est);
	bpfx_fini(&x);
	return tap_done();
}
