# shellcheck shell=bash
# Helpers for the e2e tier: TAP output, per-run names, namespaces, pods,
# a private bpffs, netsegd in the node namespace, and cleanup that runs
# even when a test fails.  Traffic stays inside namespaces made here, on
# 198.18.0.0/15 and fd00::/8.

NS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NETSEGD="$NS_TOP/agentd/netsegd"
NETSEGCTL="$NS_TOP/ctl/netsegctl"
RUN="$$$(printf '%04x' $((RANDOM)))"
T=$(mktemp -d "/tmp/netseg-e2e-$RUN.XXXX")
NODE="nsnode-$RUN"
NETNSES=()
. "$NS_TOP/tests/lib/tap.sh"
DAEMON_PID=

done_testing() {
	# A daemon still running is stopped with SIGTERM first, so a sanitized
	# build's leak check runs at its exit and its report is counted here.
	[ -n "$DAEMON_PID" ] && stop_daemon TERM
	san_check
	tap_done
}

# Sanitized builds (`make sanitize`): every netsegd, netsegctl and other
# instrumented process writes its ASan/UBSan/LeakSanitizer report to
# $T/san/NAME.PID rather than to a stderr the test parses or discards,
# stops at the first error, and exits non-zero (66); san_check turns each
# report into a failing TAP point.  Harmless for a normal build.
mkdir -p "$T/san/seen"
san_opts() {	# san_opts NAME: options for ASAN_OPTIONS and UBSAN_OPTIONS
	echo "log_path=$T/san/$1:detect_leaks=1:halt_on_error=1:exitcode=66:print_stacktrace=1"
}
export ASAN_OPTIONS UBSAN_OPTIONS
ASAN_OPTIONS=$(san_opts proc) UBSAN_OPTIONS=$(san_opts proc)
san_check() {	# a `not ok` for reports not yet counted, showing the first
	local f n=0 files=()
	for f in "$T"/san/*.[0-9]*; do [ -f "$f" ] && files+=("$f"); done
	[ ${#files[@]} -eq 0 ] && return 0
	ok 1 "no sanitizer reports: ${#files[@]} (${files[*]##*/})"
	for f in "${files[@]}"; do
		n=$((n + 1))
		if [ "$n" -eq 1 ]; then
			grep -v '^=*$' "$f" | head -n 20 | sed 's/^/#   /'
		else
			grep -m1 -E 'ERROR|runtime error' "$f" | sed 's/^/#   /'
		fi
		mv "$f" "$T/san/seen/"
	done
	return 0
}

need_root() {
	[ "$(id -u)" -eq 0 ] || bail "needs root (network namespaces, BPF)"
	[ -x "$NETSEGD" ] && [ -x "$NETSEGCTL" ] || bail "build first: make"
	for t in ip socat timeout; do
		command -v $t >/dev/null || bail "missing $t: run 'make deps'"
	done
}

AT_CLEANUP=()	# extra commands for cleanup, run first: AT_CLEANUP+=("cmd")
cleanup() {
	local st=$?
	for c in "${AT_CLEANUP[@]}"; do eval "$c"; done
	# A report written after done_testing (or after a bail) fails the run.
	local before=$TAP_FAILED
	san_check
	[ "$TAP_FAILED" -gt "$before" ] && [ "$st" -eq 0 ] && st=1
	# Everything that runs in our namespaces dies with them.
	for ns in "${NETNSES[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	[ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null
	for ns in "${NETNSES[@]}"; do ip netns del "$ns" 2>/dev/null; done
	mountpoint -q "$T/bpf" && umount "$T/bpf"
	rm -rf "$T"
	exit $st
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# A node namespace with forwarding on, and a private bpffs on $T/bpf that
# outlives each daemon process (pins must survive restarts).
make_node() {
	ip netns add "$NODE" && NETNSES+=("$NODE")
	nsx "$NODE" ip link set lo up
	nsx "$NODE" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	mkdir -p "$T/bpf" "$T/state" "$T/run"
	mount -t bpf bpf "$T/bpf"
}

# make_pod NAME INDEX: netns pod-NAME-$RUN, veth "v<NAME>-$RUN" on the node
# (alias netseg:NAME), 198.18.INDEX.2/32 and fd00::INDEX:2/128, /32 routes.
# pod_link NAME NS HOST V4 V6: namespace NS with eth0 (V4/32, V6/128) paired
# with HOST in the node (alias netseg:NAME, 198.18.0.1 and fd00::1 as the
# pod's gateway).  The node's routes to the pod are the caller's.
pod_link() {
	local name=$1 ns=$2 host=$3 v4=$4 v6=$5
	ip netns add "$ns" && NETNSES+=("$ns")
	nsx "$NODE" ip link add "$host" type veth peer name eth0 netns "$ns"
	nsx "$NODE" ip link set "$host" alias "netseg:$name" up
	nsx "$NODE" ip addr add 198.18.0.1/32 dev "$host"
	nsx "$NODE" ip -6 addr add fd00::1/128 dev "$host" nodad
	nsx "$ns" ip link set lo up
	nsx "$ns" ip link set eth0 up
	nsx "$ns" ip addr add "$v4/32" dev eth0
	nsx "$ns" ip -6 addr add "$v6/128" dev eth0 nodad
	nsx "$ns" ip route add 198.18.0.1/32 dev eth0
	nsx "$ns" ip route add default via 198.18.0.1 dev eth0
	nsx "$ns" ip -6 route add fd00::1/128 dev eth0
	nsx "$ns" ip -6 route add default via fd00::1 dev eth0
}
make_pod() {
	local name=$1 i=$2 ns="pod-$1-$RUN" host="v$1${RUN:0:6}"
	pod_link "$name" "$ns" "$host" "198.18.$i.2" "fd00::$i:2"
	nsx "$NODE" ip route add "198.18.$i.2/32" dev "$host"
	nsx "$NODE" ip -6 route add "fd00::$i:2/128" dev "$host"
	eval "POD_NS_$name=$ns POD_IF_$name=$host"
}
pod_ns() { local v="POD_NS_$1"; echo "${!v}"; }
pod_if() { local v="POD_IF_$1"; echo "${!v}"; }

# make_world: a host behind the uplink $UPLINK, 198.18.200.2, routed via the
# node (198.18.200.1); its namespace is $(pod_ns world).
make_world() {
	local ns="world-$RUN" up="upl${RUN:0:8}"
	ip netns add "$ns" && NETNSES+=("$ns")
	nsx "$NODE" ip link add "$up" type veth peer name eth0 netns "$ns"
	nsx "$NODE" ip addr add 198.18.200.1/24 dev "$up"
	nsx "$NODE" ip link set "$up" up
	nsx "$ns" ip link set lo up
	nsx "$ns" ip link set eth0 up
	nsx "$ns" ip addr add 198.18.200.2/24 dev eth0
	nsx "$ns" ip route add default via 198.18.200.1
	POD_NS_world=$ns
	UPLINK=$up
}

DAEMON_WRAP=()	# a command netsegd runs under, e.g. (valgrind --log-file=F)
# Seconds start_daemon waits for its socket (loading and verifying the programs
# took 5-7 s on two shared cores under load; a daemon that exited is not
# waited for), and stop_daemon for its exit.
DAEMON_WAIT=30
start_daemon() {
	# nsenter switches only the network namespace (ip netns exec would also
	# remount /sys and hide cgroup2, which cgroup endpoints need) and execs
	# the daemon: $! is netsegd itself.  Its output must not hold the TAP
	# pipe open.
	ASAN_OPTIONS=$(san_opts netsegd) UBSAN_OPTIONS=$(san_opts netsegd) \
	nsenter --net="/run/netns/$NODE" "${DAEMON_WRAP[@]}" "$NETSEGD" --state-dir "$T/state" --run-dir "$T/run" \
		--bpffs "$T/bpf/netseg" "$@" >>"$T/netsegd.log" 2>&1 </dev/null &
	DAEMON_PID=$!
	disown "$DAEMON_PID"	# no job notices; stop_daemon polls instead
	for _ in $(seq $((DAEMON_WAIT * 10))); do
		[ -S "$T/run/netsegd.sock" ] && ctl status >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/netsegd.log" >&2
	return 1
}
stop_daemon() {	# stop_daemon [SIGNAL]
	[ -n "$DAEMON_PID" ] || return 0
	kill -"${1:-TERM}" "$DAEMON_PID" 2>/dev/null
	for _ in $(seq $((DAEMON_WAIT * 20))); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	DAEMON_PID=
	rm -f "$T/run/netsegd.sock"
	san_check	# its exit (leak check) is when a report appears
}
ctl() {
	ASAN_OPTIONS=$(san_opts netsegctl) UBSAN_OPTIONS=$(san_opts netsegctl) \
		nsx "$NODE" "$NETSEGCTL" -s "$T/run/netsegd.sock" "$@"
}

# The common fixture: a node, pods frontend (198.18.1.2) and api (198.18.2.2),
# echo servers on api's tcp/443 and tcp/8080.
frontend_api_pods() {
	make_node
	make_pod frontend 1
	make_pod api 2
	serve api tcp 443
	serve api tcp 8080
	wait_port api 443 && wait_port api 8080 || bail "servers didn't start"
}

# serve POD PROTO PORT: a bounded echo server in the pod (killed at cleanup).
serve() {
	local ns; ns=$(pod_ns "$1")
	local addr=TCP-LISTEN; [ "$2" = udp ] && addr=UDP-RECVFROM
	local opt=fork,reuseaddr
	# v6 sockets must not claim the v4 port the v4 server holds
	[ "$2" = tcp6 ] && addr=TCP6-LISTEN opt=$opt,ipv6only=1
	[ "$2" = udp6 ] && addr=UDP6-RECVFROM opt=$opt,ipv6only=1
	ip netns exec "$ns" timeout 600 socat "$addr:$3,$opt" \
		SYSTEM:'echo pong' >/dev/null 2>&1 </dev/null &
	disown $!	# no "Killed" job notices at cleanup
}
wait_port() {	# wait_port POD PORT: a TCP listener or a bound UDP socket
	local ns; ns=$(pod_ns "$1")
	for _ in $(seq 200); do
		nsx "$ns" ss -Hlntu | grep -q ":$2 " && return 0
		sleep 0.05
	done
	return 1
}

# reach FROM-POD ADDR PORT [tcp|udp|tcp6|udp6]: exit 0 when "pong" came back.
reach() {
	local ns; ns=$(pod_ns "$1")
	local proto=${4:-tcp} out
	case $proto in
	tcp) out=$(nsx "$ns" timeout 2 socat -T1 - "TCP:$2:$3,connect-timeout=1" </dev/null 2>/dev/null) ;;
	tcp6) out=$(nsx "$ns" timeout 2 socat -T1 - "TCP6:[$2]:$3,connect-timeout=1" </dev/null 2>/dev/null) ;;
	# UDP: the server forks a shell per datagram, slow on a loaded machine
	udp) out=$(echo ping | nsx "$ns" timeout 3 socat -T2 - "UDP:$2:$3" 2>/dev/null) ;;
	udp6) out=$(echo ping | nsx "$ns" timeout 3 socat -T2 - "UDP6:[$2]:$3" 2>/dev/null) ;;
	esac
	[ "$out" = pong ]
}
