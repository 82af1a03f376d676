#!/usr/bin/env bash
# Flow-log throughput: how many deny records per second netsegd turns into
# lines in a file sink, and at what CPU and memory cost, while bench/evflood
# floods its ring buffer with denied packets (BPF_PROG_TEST_RUN, no traffic
# on any interface).
#
#   bench/flowlog.sh [SECONDS] [FORMAT|all]	(default 5 json)
#
# One daemon per format.  The daemon is pinned to CPU 0 and evflood to
# CPU 1, so the daemon formats on one core; on a shared machine it may
# still get only part of that core, so the figure per daemon CPU second
# (records written / CPU time the daemon used) is printed next to the
# wall-clock rate: it is what one core of its own would do while the ring
# never runs dry (it doesn't: the flood loses records to a full ring).
# Meanwhile `netsegctl stats` is asked every 0.2 s and its round trip
# timed (process start included), and the daemon's VmRSS sampled each
# second.  PERF=DIR records a call graph of the daemon per format into
# DIR/flowlog-FORMAT.perf.  One CSV line per format in
# bench/results/flowlog.csv.
set -u
. "$(dirname "$0")/../tests/lib/netns.sh"
need_root
SECS=${1:-5}
FMTS=${2:-json}
[ "$FMTS" = all ] && FMTS="json ocsf ecs cef"
RES="$NS_TOP/bench/results"; mkdir -p "$RES"
make_node
make_pod api 2
ncpu=$(nproc)
ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

run_format() {
	local fmt=$1
	rm -rf "$T/flows.log"* "$T/state" && mkdir "$T/state"	# a fresh daemon each
	cat >"$T/netsegd.json" <<EOF
{
	"deny_events": { "rate": 10000000, "burst": 10000000 },
	"flow_logs": [ { "type": "file", "path": "$T/flows.log", "format": "$fmt",
			 "max_bytes": 1073741824 } ]
}
EOF
	start_daemon -c "$T/netsegd.json" || bail "netsegd didn't start"
	[ "$ncpu" -ge 2 ] && taskset -pc 0 "$DAEMON_PID" >/dev/null
	ctl identity add api >/dev/null || bail "identity"
	sleep 0.5

	local w0 c0 r0 l0 w1 c1 r1 l1 sent took pid_stats pid_rss pid_perf=
	w0=$(jnum '"written":[0-9]*'); c0=$(ticks); r0=$(rss)
	l0=$(jnum '"events-lost-ring":{"packets":[0-9]*')
	# stats round trips, from outside the namespace: the socket is a path
	( end=$(( $(ms) + SECS * 1000 ))
	  while [ "$(ms)" -lt "$end" ]; do
		a=$(ms); "$NETSEGCTL" -s "$T/run/netsegd.sock" stats >/dev/null || echo fail
		echo $(( $(ms) - a )); sleep 0.2
	  done >"$T/stats.ms" ) &
	pid_stats=$!
	( for _ in $(seq "$SECS"); do rss; sleep 1; done >"$T/rss.kb" ) &
	pid_rss=$!
	if [ -n "${PERF:-}" ]; then
		mkdir -p "$PERF"
		perf record -q -g -p "$DAEMON_PID" -o "$PERF/flowlog-$fmt.perf" \
			-- sleep "$SECS" >/dev/null 2>&1 &
		pid_perf=$!
	fi
	read -r sent took < <(taskset -c $((ncpu > 1 ? 1 : 0)) \
		"$NS_TOP/bench/evflood" "$T/bpf/netseg" "$SECS")
	wait "$pid_stats" "$pid_rss" $pid_perf
	sleep 1	# let the daemon drain the ring
	w1=$(jnum '"written":[0-9]*'); c1=$(ticks); r1=$(rss)
	l1=$(jnum '"events-lost-ring":{"packets":[0-9]*')
	stop_daemon TERM
	awk -v w=$((w1 - w0)) -v t="$took" -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
	    -v s="$sent" -v l=$((l1 - l0)) -v r0="$r0" -v r1="$r1" -v f="$fmt" \
	    -v st="$(sort -n "$T/stats.ms" | awk '/fail/ {f++; next}
		{ v[n++] = $1 } END { printf "%d %d %d %d", n, v[int(n / 2)], v[n - 1], f }')" \
	    -v rs="$(awk 'NR == 1 { lo = hi = $1 } $1 < lo { lo = $1 } $1 > hi { hi = $1 }
		NR == 5 { at5 = $1 } { last = $1 } END { print lo, hi, at5 ? at5 : last, last }' "$T/rss.kb")" \
	    'BEGIN {
		busy = t + 1; cpu = c / hz
		split(st, q, " "); split(rs, m, " ")
		printf "format %s: %d denied packets in %.1f s (%.0f/s offered)\n", f, s, t, s / t
		printf "records written: %d = %.0f records/s over %.1f s\n", w, w / t, t
		printf "per daemon CPU second: %.0f records/s (%.2f s of CPU, %.0f%% of one core over %.1f s)\n",
			cpu ? w / cpu : 0, cpu, 100 * cpu / busy, busy
		printf "lost to a full ring: %d (counted, reported in band)\n", l
		printf "stats during the flood: %d answered, median %d ms, max %d ms, %d failed\n",
			q[1], q[2], q[3], q[4]
		printf "daemon RSS: %d KiB before, %d-%d KiB during (%d at 5 s, %d at the end), %d KiB after\n",
			r0, m[1], m[2], m[3], m[4], r1
		printf "%s,%d,%.3f,%d,%.0f,%.0f,%d,%.1f,%d,%d,%d,%d\n", f, s, t, w, w / t,
			cpu ? w / cpu : 0, l, 100 * cpu / busy, q[3], r0, m[2], r1 > "/dev/stderr"
	}' 2>>"$RES/flowlog.csv"
}

jnum() { ctl -o json stats | tr -d ' \t\n' | grep -o "$1" | head -1 | grep -o '[0-9]*$'; }
ticks() { awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }

for f in $FMTS; do
	run_format "$f"
done
