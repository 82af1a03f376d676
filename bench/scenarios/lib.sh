# shellcheck shell=bash
# Topology and measurement helpers for bench/run.sh.
#
# One topology per measured point, made fresh and deleted after it:
#
#   gen netns              node netns                      pod netns
#   [g$RUN] ---- veth ---- [n$RUN]  ... forward ...  [p$RUN] --- veth --- [eth0]
#   generator              firewall under test               far-end sink
#   (gen send; an XDP      (uplink: XDP, tc, netfilter)      (XDP: count, drop;
#   sink counts replies)                                     replies: gen reply)
#
# Addresses (RFC 2544 198.18.0.0/15 and fd00::/8 only): node uplink
# 198.18.0.1, generator 198.18.0.2, pod 198.18.1.2 (/32 route via its veth).
# Allowed sources are 198.19.0.0/16 (rule CIDRs), denied ones 198.18.128.0/17;
# both are routed back towards the generator, so replies and rp_filter work.
# Neighbours are static: the far-end sink drops ARP/ND.
#
# Names carry $RUN; a trap deletes namespaces (and with them veths, XDP
# programs, netfilter state), stops netsegd and unmounts our bpffs even
# when a step fails.  Nothing here touches the root namespace's interfaces
# or routes.

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GEN="$BENCH_TOP/bench/gen"
COST="$BENCH_TOP/bench/cost"
NETSEGD="$BENCH_TOP/agentd/netsegd"
NETSEGCTL="$BENCH_TOP/ctl/netsegctl"
RUN=$(printf '%04x%02x' $((RANDOM)) $(($$ % 256)))
T=$(mktemp -d "/tmp/netseg-bench-$RUN.XXXX")
BPF="$T/bpf"
NETNSES=()
DAEMON_PID=
TOPO=0

POD4=198.18.1.2
POD6=fd00:1::2
NODE4=198.18.0.1
NODE6=fd00:18::1
GEN4=198.18.0.2
GEN6=fd00:18::2
DENY4=198.18.128.0
DENY6=fd00:18:8000::
ALLOW4_NET=198.19	# rule i: 198.19.(i % 256).0/24
ALLOW6_NET=fd00:19	# rule i: fd00:19:(i % 256)::/64

bench_cleanup() {
	local st=$?
	[ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null
	for ns in "${NETNSES[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	for ns in "${NETNSES[@]}"; do ip netns del "$ns" 2>/dev/null; done
	mountpoint -q "$BPF" && umount "$BPF"
	if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $T" >&2; else rm -rf "$T"; fi
	exit $st
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench: error: $*" >&2; exit 1; }
log() { [ -n "${BENCH_VERBOSE:-}" ] && echo "bench: $*" >&2; return 0; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

bench_init() {
	local b
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, BPF)"
	for t in ip nft iptables-restore bpftool awk; do
		command -v $t >/dev/null || die "missing $t: run 'make deps'"
	done
	# A snapshot of the binaries: others may rebuild the tree while we run,
	# and a run should measure one build.
	mkdir -p "$T/bin"
	for b in GEN COST NETSEGD NETSEGCTL; do
		[ -x "${!b}" ] || die "build first: make (no ${!b})"
		cp "${!b}" "$T/bin/" || die "couldn't copy ${!b}"
		printf -v "$b" '%s' "$T/bin/$(basename "${!b}")"
	done
	mkdir -p "$BPF" || die "couldn't create $BPF"
	mount -t bpf bpf "$BPF" || die "couldn't mount a bpffs on $BPF"
}

mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }

# topo_up: fresh namespaces and veths; sets G N P (netns), UP (node
# uplink), PODIF (node side of the pod veth), PIN (this topology's bpffs
# dir), DIR (its plain directory), UPMAC.  The pod's eth0 gets the
# far-end sink.
topo_up() {
	TOPO=$((TOPO + 1))
	G="nsb-g-$RUN-$TOPO" N="nsb-n-$RUN-$TOPO" P="nsb-p-$RUN-$TOPO"
	UP="n$RUN" PODIF="p$RUN" PIN="$BPF/$TOPO" DIR="$T/$TOPO"
	local ns
	for ns in "$G" "$N" "$P"; do
		ip netns add "$ns" || die "couldn't create netns $ns"
		NETNSES+=("$ns")
		nsx "$ns" ip link set lo up
	done
	mkdir -p "$PIN" "$DIR"
	ip -n "$G" link add "g$RUN" type veth peer name "$UP" netns "$N" || die "veth"
	ip -n "$N" link add "$PODIF" type veth peer name eth0 netns "$P" || die "veth"
	topo_addrs
	nsx "$P" "$GEN" sink attach eth0 drop "$PIN/far" || die "far-end sink"
	nsx "$G" "$GEN" sink attach "g$RUN" drop "$PIN/back" || die "generator-side sink"
}

topo_addrs() {
	local gmac nmac pmac emac
	nsx "$N" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ip -n "$G" link set "g$RUN" up
	ip -n "$N" link set "$UP" up
	ip -n "$N" link set "$PODIF" up
	ip -n "$P" link set eth0 up
	gmac=$(mac_of "$G" "g$RUN") nmac=$(mac_of "$N" "$UP")
	pmac=$(mac_of "$N" "$PODIF") emac=$(mac_of "$P" eth0)
	UPMAC=$nmac
	ip -n "$G" addr add "$GEN4/24" dev "g$RUN"
	ip -n "$G" -6 addr add "$GEN6/64" dev "g$RUN" nodad
	ip -n "$N" addr add "$NODE4/24" dev "$UP"
	ip -n "$N" -6 addr add "$NODE6/64" dev "$UP" nodad
	ip -n "$N" neigh add "$GEN4" lladdr "$gmac" dev "$UP" nud permanent
	ip -n "$N" -6 neigh add "$GEN6" lladdr "$gmac" dev "$UP" nud permanent
	ip -n "$N" route add "$ALLOW4_NET.0.0/16" via "$GEN4"
	ip -n "$N" route add "$DENY4/17" via "$GEN4"
	ip -n "$N" -6 route add "$ALLOW6_NET::/32" via "$GEN6"
	ip -n "$N" -6 route add "$DENY6/33" via "$GEN6"
	# The pod, as tests/lib/netns.sh's make_pod builds one.
	ip -n "$N" addr add "$NODE4/32" dev "$PODIF"
	ip -n "$N" -6 addr add "fd00::1/128" dev "$PODIF" nodad
	ip -n "$N" route add "$POD4/32" dev "$PODIF"
	ip -n "$N" -6 route add "$POD6/128" dev "$PODIF"
	ip -n "$N" neigh add "$POD4" lladdr "$emac" dev "$PODIF" nud permanent
	ip -n "$N" -6 neigh add "$POD6" lladdr "$emac" dev "$PODIF" nud permanent
	ip -n "$P" addr add "$POD4/32" dev eth0
	ip -n "$P" -6 addr add "$POD6/128" dev eth0 nodad
	ip -n "$P" route add "$NODE4/32" dev eth0
	ip -n "$P" route add default via "$NODE4" dev eth0
	ip -n "$P" -6 route add fd00::1/128 dev eth0
	ip -n "$P" -6 route add default via fd00::1 dev eth0
	ip -n "$P" neigh add "$NODE4" lladdr "$pmac" dev eth0 nud permanent
	ip -n "$P" -6 neigh add fd00::1 lladdr "$pmac" dev eth0 nud permanent
}

topo_down() {
	local ns keep=()
	daemon_stop
	for ns in "${NETNSES[@]}"; do
		case $ns in
		*"-$RUN-$TOPO") ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
			ip netns del "$ns" 2>/dev/null ;;
		*) keep+=("$ns") ;;
		esac
	done
	NETNSES=("${keep[@]}")
	rm -rf "$PIN" "$DIR"
}

# ------------------------------------------------------------- netsegd

daemon_start() {
	mkdir -p "$DIR/state" "$DIR/run"
	ip netns exec "$N" "$NETSEGD" --state-dir "$DIR/state" --run-dir "$DIR/run" \
		--bpffs "$PIN/netseg" >>"$T/netsegd.log" 2>&1 </dev/null &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		[ -S "$DIR/run/netsegd.sock" ] && ctl status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	tail -20 "$T/netsegd.log" >&2
	die "netsegd didn't start"
}
daemon_stop() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}
ctl() { nsx "$N" "$NETSEGCTL" -s "$DIR/run/netsegd.sock" "$@"; }

# ------------------------------------------------------------- rules

# The one rule model every system gets: rule i allows SRC_i -> pod on
# $L4 (udp or tcp) dport 1000 + i / 256, SRC_i = 198.19.(i % 256).0/24
# (fd00:19:(i % 256)::/64 for IPv6, $FAM = 6).  Everything else is dropped.
FAM=4 L4=udp
rules_awk() {	# rules_awk N 'awk statements using src, plen, dst, port, proto'
	awk -v n="$1" -v fam="$FAM" -v proto="$L4" -v pod4="$POD4" -v pod6="$POD6" "BEGIN {
		for (i = 0; i < n; i++) {
			if (fam == 6) { src = sprintf(\"fd00:19:%x::\", i % 256); plen = 64; dst = pod6 }
			else { src = sprintf(\"198.19.%d.0\", i % 256); plen = 24; dst = pod4 }
			port = 1000 + int(i / 256)
			$2
		} }"
}
# Allowed traffic comes from the last rule's source network on its port:
# the worst case for a linear chain (sets and netseg don't care).
last_src() {	# last_src N -> first address of rule N-1's source network
	local i=$(($1 - 1))
	if [ "$FAM" = 6 ]; then printf 'fd00:19:%x::\n' $((i % 256)); else echo "198.19.$((i % 256)).0"; fi
}
last_port() { echo $((1000 + ($1 - 1) / 256)); }
pod_addr() { if [ "$FAM" = 6 ]; then echo "$POD6"; else echo "$POD4"; fi; }
deny_src() { if [ "$FAM" = 6 ]; then echo "$DENY6"; else echo "$DENY4"; fi; }
