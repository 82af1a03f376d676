#!/usr/bin/env bash
# Flow-log throughput: how many deny records per second netsegd turns into
# lines in a file sink, and at what CPU and memory cost, while bench/evflood
# floods its ring buffer with denied packets (BPF_PROG_TEST_RUN, no traffic
# on any interface).  Usage: bench/flowlog.sh [SECONDS] [FORMAT]
set -u
. "$(dirname "$0")/../tests/lib/netns.sh"
need_root
SECS=${1:-5}
FMT=${2:-json}
RES="$NS_TOP/bench/results"; mkdir -p "$RES"
make_node
make_pod api 2
cat >"$T/netsegd.json" <<EOF
{
	"deny_events": { "rate": 10000000, "burst": 10000000 },
	"flow_logs": [ { "type": "file", "path": "$T/flows.log", "format": "$FMT",
			 "max_bytes": 1073741824 } ]
}
EOF
start_daemon -c "$T/netsegd.json" || bail "netsegd didn't start"
ctl identity add api >/dev/null || bail "identity"
sleep 0.5

jnum() { ctl -o json stats | tr -d ' \t\n' | grep -o "$1" | head -1 | grep -o '[0-9]*$'; }
ticks() { awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }

w0=$(jnum '"written":[0-9]*'); c0=$(ticks); r0=$(rss)
l0=$(jnum '"events-lost-ring":{"packets":[0-9]*')
read -r sent took < <("$NS_TOP/bench/evflood" "$T/bpf/netseg" "$SECS")
sleep 1	# let the daemon drain the ring
w1=$(jnum '"written":[0-9]*'); c1=$(ticks); r1=$(rss)
l1=$(jnum '"events-lost-ring":{"packets":[0-9]*')
hz=$(getconf CLK_TCK)
awk -v w=$((w1 - w0)) -v t="$took" -v c=$((c1 - c0)) -v hz="$hz" -v s="$sent" \
    -v l=$((l1 - l0)) -v r0="$r0" -v r1="$r1" -v f="$FMT" 'BEGIN {
	busy = t + 1
	printf "format %s: %d denied packets in %.1f s (%.0f/s offered)\n", f, s, t, s / t
	printf "records written: %d = %.0f records/s over %.1f s\n", w, w / t, t
	printf "lost to a full ring: %d (counted, reported in band)\n", l
	printf "daemon CPU: %.0f%% of one core over %.1f s\n", 100 * c / hz / busy, busy
	printf "daemon RSS: %d KiB before, %d KiB after\n", r0, r1
	printf "%s,%d,%.3f,%d,%.0f,%d,%.1f,%d,%d\n", f, s, t, w, w / t, l, 100 * c / hz / busy, r0, r1 > "/dev/stderr"
}' 2>>"$RES/flowlog.csv"
stop_daemon TERM
