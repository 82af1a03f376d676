# shellcheck shell=bash
# xdp-filter (xdp-tools), loaded with the deny policy (drop what no rule
# matches) on the uplink.  Its rules match one field each (an address, a
# port or a MAC), exact values only, so our rules (source CIDR + pod +
# port) can't be written for it: it gets the nearest equivalent, N allowed
# source addresses (rule i's source network's address + i / 256), and
# its maps hold at most 10000 entries, so it stops at 10k rules.
# Entries go in with `bpftool batch` (the CLI takes one per process);
# each is what `xdp-filter ip ADDR -m src` writes.  libxdp's dispatcher
# can't load here, so xdp-filter runs as the only XDP program (its own
# fallback), like netseg's prefilter.
#
# xdp-filter takes a lock file in /run (hard-coded) that a killed run
# leaves behind, blocking every later one, and pins into /sys/fs/bpf or
# else the first bpffs in /proc/mounts, which may be anyone's: it runs
# with a private tmpfs on /run and our bpffs directory bound on
# /sys/fs/bpf (`ip netns exec` gives each command its own mount namespace).

XDPF_MAX=10000

xdpf_setup() {	# xdpf_setup N
	local n=$1 fs="$PIN/xdpfs"
	[ "$FAM" = 4 ] || die "xdp-filter: only the IPv4 rule set is written"
	[ "$n" -le $XDPF_MAX ] || return 2
	mkdir -p "$fs"
	nsx "$N" sh -c 'mount -t tmpfs bench-run /run && mount --bind "$0" /sys/fs/bpf &&
		exec "$@"' "$fs" env LIBXDP_BPFFS=/sys/fs/bpf \
		xdp-filter load -p deny -f ipv4,udp -m native "$UP" \
		>"$DIR/xdpf.log" 2>&1 || { cat "$DIR/xdpf.log" >&2; die "xdp-filter: load failed"; }
	awk -v n="$n" -v p="$fs/xdp-filter/filter_ipv4" 'BEGIN { for (i = 0; i < n; i++)
		printf "map update pinned %s key 198 19 %d %d value 1 0 0 0 0 0 0 0\n",
			p, i % 256, int(i / 256) }' >"$DIR/xdpf.batch"
	[ "$n" -eq 0 ] || bpftool batch file "$DIR/xdpf.batch" >/dev/null ||
		die "xdp-filter: adding $n addresses failed"
	XDPF_STATS="$fs/xdp-filter/xdp_stats_map"
}

xdpf_drops() { nsx "$N" "$GEN" read "$XDPF_STATS" 1; }	# XDP_DROP
