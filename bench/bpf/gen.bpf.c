// SPDX-License-Identifier: GPL-2.0-only
/*
 * The benchmark's BPF side: a packet generator and the receivers.
 *
 * gen_xdp runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: the
 * kernel runs it `repeat` times on one initial frame and sends whatever it
 * redirects.  Each run is one packet, so the program itself gives every
 * packet its 5-tuple (flow index = per-CPU sequence number modulo nflows)
 * and, for IMIX, its length.  Pages come back to the test run's page pool
 * without being re-copied, and a page may come back from the receiver's
 * stack after forwarding rewrote its MAC addresses and TTL: so every run
 * first copies the whole header template over the frame, then writes the
 * variable fields, and both checksums come from constant sums userspace
 * precomputed, never from the packet.  The payload is all zeros (nothing
 * writes it), so it adds nothing to the L4 checksum whatever the length.
 *
 * sink_* are the receivers: count every frame, then drop or pass it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define HDR_MAX 80 /* >= Ethernet + IPv6 + TCP (74) */

/* Tuned between open and load (gen.c fills them from the command line). */
const volatile __u32 cfg_ifindex;	/* redirect target */
const volatile __u32 cfg_nflows = 1;	/* distinct 5-tuples, cycled */
const volatile __u32 cfg_saddr0;	/* last 32 bits of the first source, host order */
const volatile __u16 cfg_sport0 = 1024; /* first source port */
const volatile __u16 cfg_nsports = 1;	/* source ports per source address */
/* Frame lengths of the 7:4:1 IMIX mix; all three equal for a fixed size. */
const volatile __u16 cfg_len[3] = { 60, 60, 60 };
const volatile __u8 cfg_v6;
const volatile __u8 cfg_tcp;
const volatile __u32 cfg_l4sum; /* constant words of pseudo-header + L4 header */
const volatile __u32 cfg_ipsum; /* constant words of the IPv4 header */
/*
 * Flow 0's headers, Ethernet to L4.  Plain .data, not const volatile
 * rodata: the copy below casts the qualifier away, and clang would then
 * fold reads of a zero-initialised const array to zeros.
 */
__u8 hdr_tmpl[HDR_MAX] = { 1 };

#define L3_OFF ETH_HLEN
#define V4_HLEN 20
#define V6_HLEN 40

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seq SEC(".maps"); /* generator: packets produced; sinks: packets seen */

static __always_inline __u16 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Constant-size copies only: the four header lengths we build. */
#define COPY_HDR(n) __builtin_memcpy(data, hdr_tmpl, n)

static __always_inline void copy_hdr(void *data)
{
	if (cfg_v6 && cfg_tcp)
		COPY_HDR(74);
	else if (cfg_v6)
		COPY_HDR(62);
	else if (cfg_tcp)
		COPY_HDR(54);
	else
		COPY_HDR(42);
}

static __always_inline __u64 *counter(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&seq, &zero);
}

static __always_inline __u16 frame_len(__u64 n)
{
	__u32 k = n % 12;

	return cfg_len[k < 7 ? 0 : k < 11 ? 1 : 2];
}

/*
 * Write the tuple, lengths and checksums.  Words are summed as stored
 * (network order read natively): the ones'-complement sum doesn't care.
 */
static __always_inline int rewrite(void *data, void *end, __u32 f, __u16 len)
{
	__u32 l3 = cfg_v6 ? V6_HLEN : V4_HLEN;
	__u32 saddr = bpf_htonl(cfg_saddr0 + f / cfg_nsports);
	__u16 sport = bpf_htons(cfg_sport0 + f % cfg_nsports);
	__u16 l4len = bpf_htons(len - L3_OFF - l3);
	__u8 *ip = data + L3_OFF, *l4;
	__u32 s;

	/* cfg_* are frozen rodata: the verifier sees this bound as a constant. */
	if (data + L3_OFF + l3 + (cfg_tcp ? 20 : 8) > end)
		return -1;
	copy_hdr(data);
	l4 = ip + l3;
	s = cfg_l4sum + (saddr & 0xffff) + (saddr >> 16) + sport + l4len;
	if (cfg_v6) {
		*(__u16 *)(ip + 4) = l4len; /* payload length */
		*(__u32 *)(ip + 8 + 12) = saddr;
	} else {
		__u16 tot = bpf_htons(len - L3_OFF);

		*(__u16 *)(ip + 2) = tot;
		*(__u32 *)(ip + 12) = saddr;
		*(__u16 *)(ip + 10) = ~fold(cfg_ipsum + tot + (saddr & 0xffff) + (saddr >> 16));
	}
	*(__u16 *)l4 = sport;
	if (cfg_tcp) {
		*(__u16 *)(l4 + 16) = ~fold(s);
	} else {
		__u16 c;

		*(__u16 *)(l4 + 4) = l4len;
		c = ~fold(s + l4len); /* the UDP length counts twice */
		*(__u16 *)(l4 + 6) = c ? c : 0xffff;
	}
	return 0;
}

SEC("xdp")
int gen_xdp(struct xdp_md *ctx)
{
	__u64 *c = counter(), n;
	__u16 len;

	if (!c)
		return XDP_ABORTED;
	n = (*c)++;
	len = frame_len(n);
	/* The initial frame has the largest length we send: only shrink. */
	if (len < ctx->data_end - ctx->data &&
	    bpf_xdp_adjust_tail(ctx, (int)len - (int)(ctx->data_end - ctx->data)))
		return XDP_ABORTED;
	if (rewrite((void *)(long)ctx->data, (void *)(long)ctx->data_end, (__u32)(n % cfg_nflows),
		    len))
		return XDP_ABORTED;
	return bpf_redirect(cfg_ifindex, 0);
}

static __always_inline void count(void)
{
	__u64 *c = counter();

	if (c)
		(*c)++;
}

SEC("xdp")
int sink_drop(struct xdp_md *ctx)
{
	count();
	return XDP_DROP;
}

SEC("xdp")
int sink_pass(struct xdp_md *ctx)
{
	count();
	return XDP_PASS;
}
