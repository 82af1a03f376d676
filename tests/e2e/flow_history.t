#!/usr/bin/env bash
# The flow history `netsegctl flows` reads is sized by "flow_history" in
# the config, and bounds what a flood of records costs in memory:
#   1. out-of-range or mistyped values are refused at start, naming the key
#   2. flow_history 64: after a flood of denied packets (bench/evflood,
#      BPF_PROG_TEST_RUN: no traffic on any interface) `flows` holds exactly
#      the 64 newest records, and the daemon's RSS grew by less than the
#      default history would take (4,096 records of ~2.3 KiB)
#   3. the default keeps 4,096
. "$(dirname "$0")/../lib/netns.sh"
need_root
EVFLOOD="$NS_TOP/bench/evflood"
[ -x "$EVFLOOD" ] || bail "build first: make (bench/evflood)"
make_node
make_pod api 2
rss() { awk '/VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }

# 1. Refused values, each named.
for v in 0 15 262145 '"64"' 64.5; do
	printf '{ "flow_history": %s }\n' "$v" >"$T/bad.json"
	out=$(nsx "$NODE" "$NETSEGD" -c "$T/bad.json" --state-dir "$T/state" \
		--run-dir "$T/run" --bpffs "$T/bpf/bad" 2>&1); st=$?
	[ $st -ne 0 ] && grep -q '"flow_history" must be an integer from 16 to 262144' <<<"$out"
	ok $? "flow_history $v refused at start (exit $st): $(head -1 <<<"$out")"
done

# 2. 64 records kept, memory bounded by them.
printf '{ "flow_history": 64, "deny_events": { "rate": 10000000, "burst": 10000000 } }\n' \
	>"$T/netsegd.json"
start_daemon -c "$T/netsegd.json" || bail "netsegd didn't start with flow_history 64"
ctl identity add api >/dev/null || bail "identity api"
sleep 0.5
r0=$(rss)
read -r sent _ < <("$EVFLOOD" "$T/bpf/netseg" 2)
sleep 1	# the daemon drains its ring
r1=$(rss)
n=$(ctl flows --verdict denied | wc -l)
[ "$n" -eq 64 ]; ok $? "flow_history 64: flows holds 64 records of $sent denied packets (got $n)"
# The default history alone would take 4096 * 2272 bytes = 9,088 KiB.
[ $((r1 - r0)) -lt 4096 ]; ok $? "RSS grew by less than 4 MiB during the flood ($r0 -> $r1 KiB)"
stop_daemon TERM

# 3. The default.
rm -rf "$T/state" && mkdir "$T/state"
printf '{ "deny_events": { "rate": 10000000, "burst": 10000000 } }\n' >"$T/netsegd.json"
start_daemon -c "$T/netsegd.json" --bpffs "$T/bpf/d2" || bail "netsegd didn't start"
ctl identity add api >/dev/null || bail "identity api"
sleep 0.5
"$EVFLOOD" "$T/bpf/d2" 2 >/dev/null
sleep 1
n=$(ctl flows --verdict denied | wc -l)
[ "$n" -eq 4096 ]; ok $? "default: flows shows 4,096 records (got $n)"
done_testing
