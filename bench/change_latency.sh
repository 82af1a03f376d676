#!/usr/bin/env bash
# Control-plane benchmark: one-rule change latency, end to end (a fresh
# netsegctl process -> daemon parse -> compile -> idle policy slot patched
# -> flip -> state file saved -> reply), with N rules loaded.  For each N:
# COUNT changes (an `allow` then its `remove`, each one change), GAP
# seconds apart, after a warm-up pair so both policy slots hold the rules.
# Prints median and max per N, netsegd's CPU time per change, and the
# median of each phase from the daemon's "commit of" lines (netsegd -v).
# Usage: bench/change_latency.sh [-c COUNT] [-g GAP] [N ...]
#        (defaults: 50 changes, 0.05 s apart, N = 10000 100000)
# Writes bench/results/change_latency.csv.
set -u
COUNT=50 GAP=0.05
while getopts c:g: o; do
	case $o in
	c) COUNT=$OPTARG ;;
	g) GAP=$OPTARG ;;
	*) echo "usage: $0 [-c COUNT] [-g GAP] [N ...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
. "$(dirname "$0")/../tests/lib/netns.sh"
need_root
SIZES=${*:-10000 100000}
RES="$NS_TOP/bench/results"; mkdir -p "$RES"
make_node
start_daemon -v || bail "netsegd didn't start"
for i in $(seq 0 15); do ctl identity add "svc$i" --cidr "198.19.$i.0/24" >/dev/null; done

now_ns() { date +%s%N; }
# netsegd's user + system CPU time in clock ticks: on a shared, loaded
# machine the wall-clock figures wait on other processes, this doesn't.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat"; }
gen_rules() {	# N rules over 16x16 identity pairs and distinct ports
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
		printf "allow svc%d -> svc%d:tcp/%d\n", i % 16, int(i / 16) % 16, 1 + int(i / 256) % 65535 }'
}
# stats: "median max" in ms of the microsecond values on stdin
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f %.1f", m / 1000, v[NR] / 1000 }'
}
# phase medians from the daemon log since line $1: compile id-maps swap save
phases() {
	tail -n +"$1" "$T/netsegd.log" | grep "commit of" |
		sed -E 's/.*compiled ([0-9.]+) ms, id maps ([0-9.]+) ms, swapped ([0-9.]+) ms, saved ([0-9.]+) ms.*/\1 \2 \3 \4/' >"$T/phases"
	for c in 1 2 3 4; do
		cut -d' ' -f"$c" "$T/phases" | awk '{ print $1 * 1000 }' | stats | cut -d' ' -f1
	done | paste -sd' '
}

# The floor: a netsegctl process and one round trip that changes nothing.
: >"$T/times"
for _ in $(seq 20); do
	t0=$(now_ns); ctl status >/dev/null; t1=$(now_ns)
	echo $(((t1 - t0) / 1000)) >>"$T/times"
done
read -r med max < <(stats <"$T/times")
echo "netsegctl status (no change): median $med ms, max $max ms"
echo "rules,changes,median_ms,max_ms,cpu_ms,compile_ms,idmaps_ms,swap_ms,save_ms" >"$RES/change_latency.csv"
printf '%8s %8s %10s %10s %8s   %s\n' rules changes median_ms max_ms cpu_ms \
	"daemon medians: compile / id maps / swap / save (ms)"
for n in $SIZES; do
	gen_rules "$n" >"$T/r.rules"
	ctl apply -f "$T/r.rules" >/dev/null || bail "apply of $n rules failed"
	ctl allow 'svc0->svc1:udp/53' >/dev/null && ctl remove 'svc0->svc1:udp/53' >/dev/null ||
		bail "warm-up change failed"
	from=$(($(wc -l <"$T/netsegd.log") + 1))
	cpu0=$(cpu_ticks)
	: >"$T/times"
	for i in $(seq "$COUNT"); do
		if [ $((i % 2)) -eq 1 ]; then cmd=allow; else cmd=remove; fi
		sleep "$GAP"
		t0=$(now_ns)
		ctl "$cmd" 'svc0->svc1:udp/53' >/dev/null || bail "$cmd #$i failed"
		t1=$(now_ns)
		echo $(((t1 - t0) / 1000)) >>"$T/times"
	done
	cpu=$(echo "($(cpu_ticks) - $cpu0) * 1000 / $(getconf CLK_TCK) / $COUNT" | bc -l)
	read -r med max < <(stats <"$T/times")
	read -r pc pi ps pv < <(phases "$from")
	printf '%8d %8d %10s %10s %8.1f   %s / %s / %s / %s\n' "$n" "$COUNT" "$med" "$max" "$cpu" \
		"$pc" "$pi" "$ps" "$pv"
	echo "$n,$COUNT,$med,$max,$cpu,$pc,$pi,$ps,$pv" >>"$RES/change_latency.csv"
done
stop_daemon TERM
