#!/usr/bin/env bash
# The prefilter list's limit is one setting, "prefilter_max" in the config
# (default: the map's compiled size, 65,536): it sizes the ns_prefilter map
# and bounds the daemon's list, so the two can't disagree.
#   1. default: map of 65,536 entries; a saved list of 4,097 entries (more
#      than the old hard-coded 4,096) loads and is enforced
#   2. prefilter_max 16: map of 16 entries, the 17th add refused naming the
#      knob, nothing changed
# Runs in a node namespace of its own; no pods, no traffic.
. "$(dirname "$0")/../lib/netns.sh"
need_root
command -v bpftool >/dev/null || bail "missing bpftool: run 'make deps'"
make_node

map_max() {	# map_max PIN-DIR: max_entries of the pinned ns_prefilter
	bpftool map show pinned "$1/ns_prefilter" | grep -o 'max_entries [0-9]*' | grep -o '[0-9]*'
}
map_count() {	# map_count PIN-DIR: entries in the pinned ns_prefilter
	bpftool -j map dump pinned "$1/ns_prefilter" |
		perl -MJSON::PP -e 'local $/; print scalar @{decode_json(<STDIN>)}' 
}

# 1. 4,097 saved entries (198.18.0.0/15 hosts) load under the default.
perl -e 'my @c = map { sprintf "\"198.%d.%d.%d/32\"", 18 + ($_ >> 16), ($_ >> 8) & 255, $_ & 255 } 1 .. 4097;
	print "{\"version\":1,\"revision\":1,\"next_rule_id\":1,\"identities\":{\"next_id\":256,",
	"\"next_cidr_id\":16777216,\"identities\":[]},\"rules\":{\"rules\":[]},",
	"\"prefilter\":[", join(",", @c), "],\"uplinks\":[]}"' >"$T/state/state.json"
start_daemon || bail "netsegd didn't start with 4,097 saved prefilter entries"
ok 0 "netsegd starts with 4,097 saved prefilter entries"
P="$T/bpf/netseg"
[ "$(map_max "$P")" = 65536 ]; ok $? "ns_prefilter sized 65,536 by default (got $(map_max "$P"))"
n=$(ctl -o json prefilter list | grep -o '"cidr"' | wc -l)
[ "$n" = 4097 ]; ok $? "all 4,097 listed (got $n)"
n=$(map_count "$P")
[ "$n" = 4097 ]; ok $? "all 4,097 in the map (got $n)"
ctl prefilter add 198.19.255.1/32 >/dev/null; ok $? "a 4,098th add works"
stop_daemon TERM

# 2. prefilter_max 16 sizes the map and bounds the list.
CONF="$T/netsegd.json"
printf '{ "prefilter_max": 16 }\n' >"$CONF"
rm -f "$T/state/state.json"
P2="$T/bpf/p2"
start_daemon -c "$CONF" --bpffs "$P2" || bail "netsegd didn't start with prefilter_max 16"
[ "$(map_max "$P2")" = 16 ]; ok $? "prefilter_max 16: ns_prefilter sized 16 (got $(map_max "$P2"))"
good=0
for i in $(seq 1 16); do ctl prefilter add "198.18.7.$i/32" >/dev/null && good=$((good + 1)); done
[ $good = 16 ]; ok $? "16 adds accepted ($good)"
out=$(ctl prefilter add 198.18.7.17/32 2>&1); st=$?
[ $st -ne 0 ] && grep -q "prefilter list is full (16 entries; raise prefilter_max)" <<<"$out"
ok $? "the 17th refused, naming the limit and the knob (exit $st: $out)"
n=$(map_count "$P2")
[ "$n" = 16 ]; ok $? "map still holds 16 (got $n)"
stop_daemon TERM
printf '{ "prefilter_max": 8 }\n' >"$T/bad.json"
out=$(nsx "$NODE" "$NETSEGD" -c "$T/bad.json" --state-dir "$T/state" --run-dir "$T/run" \
	--bpffs "$T/bpf/p3" 2>&1); st=$?
[ $st -ne 0 ] && grep -q '"prefilter_max" must be an integer from 16' <<<"$out"
ok $? "prefilter_max 8 refused at start, naming the key and range (exit $st)"
done_testing
