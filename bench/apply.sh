#!/usr/bin/env bash
# Control-plane benchmark: end-to-end apply latency (netsegctl -> daemon
# parse -> compile -> patch the idle policy slot -> flip -> state file),
# one `allow` with N rules loaded (median of 5, 200 ms apart, after a
# warm-up change so both policy slots hold the N rules), and compiled-map
# memory per rule.
# Usage: bench/apply.sh [N ...]   (default: 10 100 1000 10000 100000)
# Prints a table and writes bench/results/apply.csv.
set -u
. "$(dirname "$0")/../tests/lib/netns.sh"
need_root
SIZES=${*:-10 100 1000 10000 100000}
RES="$NS_TOP/bench/results"; mkdir -p "$RES"
make_node
start_daemon -v || bail "netsegd didn't start"
for i in $(seq 0 15); do ctl identity add "svc$i" --cidr "198.19.$i.0/24" >/dev/null; done

now_ns() { date +%s%N; }
gen_rules() {	# N rules over 16x16 identity pairs and distinct ports
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
		printf "allow svc%d -> svc%d:tcp/%d\n", i % 16, int(i / 16) % 16, 1 + int(i / 256) % 65535 }'
}
map_bytes() {	# memlock of the live inner policy map
	local id
	# Two slots: the bigger of the two (they differ by one rule).
	for id in $(nsx "$NODE" bpftool map show 2>/dev/null | awk '/ns_policy_rules/ {print $1}' | tr -d :); do
		nsx "$NODE" bpftool map show id "$id" 2>/dev/null | grep -o 'memlock [0-9]*B' | grep -o '[0-9]*'
	done | sort -n | tail -1
}

echo "rules,entries,apply_ms,allow_ms,map_bytes,bytes_per_rule" >"$RES/apply.csv"
printf '%8s %9s %10s %10s %12s %10s\n' rules entries apply_ms allow_ms map_bytes B/rule
for n in $SIZES; do
	gen_rules "$n" >"$T/r.rules"
	ctl apply -f "$T/empty.rules" >/dev/null 2>&1 || : >"$T/empty.rules"
	best=
	for _ in 1 2 3; do	# best of three: the machine is shared and noisy
		ctl apply -f "$T/empty.rules" >/dev/null
		t0=$(now_ns); ctl apply -f "$T/r.rules" >/dev/null || bail "apply of $n rules failed"
		t1=$(now_ns); ms=$(( (t1 - t0) / 1000 ))
		[ -z "$best" ] || [ "$ms" -lt "$best" ] && best=$ms
	done
	entries=$(ctl -o json status | grep -o '"entries":[[:space:]]*[0-9]*' | grep -o '[0-9]*$')
	ctl allow 'svc0->svc1:udp/53' >/dev/null; ctl remove 'svc0->svc1:udp/53' >/dev/null
	times=
	for _ in 1 2 3 4 5; do
		sleep 0.2
		t0=$(now_ns); ctl allow 'svc0->svc1:udp/53' >/dev/null; t1=$(now_ns)
		times="$times $(( (t1 - t0) / 1000 ))"
		sleep 0.2
		ctl remove 'svc0->svc1:udp/53' >/dev/null
	done
	allow=$(echo $times | tr ' ' '\n' | sort -n | sed -n 3p)
	mb=$(map_bytes); mb=${mb:-0}
	printf '%8d %9d %10.1f %10.1f %12d %10.1f\n' "$n" "$entries" \
		"$(echo "$best/1000" | bc -l)" "$(echo "$allow/1000" | bc -l)" "$mb" \
		"$(echo "$mb/$n" | bc -l)"
	echo "$n,$entries,$(echo "$best/1000" | bc -l),$(echo "$allow/1000" | bc -l),$mb,$(echo "$mb/$n" | bc -l)" >>"$RES/apply.csv"
done
grep "commit of" "$T/netsegd.log" | tail -6 >&2
stop_daemon TERM
