#!/usr/bin/env bash
# `netsegctl prefilter apply -f FILE` replaces the prefilter list whole:
#   1. 100,000 prefixes (/32s in 198.18.0.0/15, /128s in fd00::/8) applied
#      in under a second end to end; the map holds exactly them
#   2. a second file with 1,000 changed: exactly +1,000/-1,000, fast
#   3. a bad line at 50,001: the error names the line, nothing changed
#   4. over prefilter_max (a >4 MiB file): refused naming the key
#   5. --dry-run shows the diff and changes nothing; -o json
#   6. a restarted daemon keeps the list (state file)
#   7. traffic: a world source on the list is dropped in XDP; one the
#      second file removed passes
#   8. (first) a map that fills midway (pinned at 16 by an earlier
#      prefilter_max) puts the old list back
. "$(dirname "$0")/../lib/netns.sh"
need_root
command -v bpftool >/dev/null || bail "missing bpftool: run 'make deps'"
command -v perl >/dev/null || bail "missing perl: run 'make deps'"
make_node
make_world	# world 198.18.200.2 behind $UPLINK, the node at 198.18.200.1
WORLD_NS=$(pod_ns world)
nsx "$WORLD_NS" ip addr add 198.18.200.3/24 dev eth0
P="$T/bpf/netseg"
CONF="$T/netsegd.json"
printf '{ "prefilter_max": 100000 }\n' >"$CONF"

# grep, not a JSON module: decoding 100k entries that way takes minutes.
map_keys() {	# map_keys [PIN-DIR]: the map's keys, one per line, sorted
	bpftool -j map dump pinned "${1:-$P}/ns_prefilter" | grep -o '"key":\[[^]]*\]' | sort
}
map_count() { map_keys | wc -l; }	# entries in the pinned ns_prefilter
list() { ctl prefilter list | awk 'NR > 1 { print $1 }' | sort; }
revision() { ctl -o json status | tr -d ' \t\n' | grep -o '"revision":[0-9]*' | grep -o '[0-9]*$'; }
ms() { echo $(($(date +%s%N) / 1000000)); }
xdp_drops() { ctl -o json stats | tr -d ' \t\n' | grep -o "\"name\":\"$UPLINK\"[^}]*" |
	grep -o '"xdp_drop_packets":[0-9]*' | grep -o '[0-9]*$'; }
pings() {	# pings SRC: echo replies from the node for 3 pings from SRC
	nsx "$WORLD_NS" timeout 6 ping -n -q -c 3 -i 0.2 -W 1 -I "$1" 198.18.200.1 2>/dev/null |
		grep -o '[0-9]* received' | grep -o '[0-9]*'
}

# File A: 50,002 v4 hosts (198.19.0.0 up, plus world's two addresses) and
# 49,998 v6 hosts from fd00:1::1, with comments and a blank line.
# File B: A less 999 v6 hosts and 198.18.200.3, plus 1,000 in fd00:2::/64.
perl -e 'print "# threat feed A\n\n198.18.200.2\n198.18.200.3/32   # world, second address\n";
	printf "198.19.%d.%d/32\n", $_ >> 8, $_ & 255 for 0 .. 49999;
	printf "fd00:1::%x/128\n", $_ for 1 .. 49998;' >"$T/a.txt"
perl -e 'print "198.18.200.2/32\n";
	printf "198.19.%d.%d/32\n", $_ >> 8, $_ & 255 for 0 .. 49999;
	printf "fd00:1::%x/128\n", $_ for 1000 .. 49998;
	printf "fd00:2::%x/128\n", $_ for 1 .. 1000;' >"$T/b.txt"

# 8. The pinned map outlives a daemon, and its size with it: pinned at 16
# entries, it fills midway through a 20-prefix list the config allows.
printf '{ "prefilter_max": 16 }\n' >"$T/small.json"
start_daemon -c "$T/small.json" --bpffs "$T/bpf/small" || bail "netsegd didn't start (16)"
perl -e 'printf "198.18.9.%d/32\n", $_ for 1 .. 10' >"$T/ten.txt"
ctl prefilter apply -f "$T/ten.txt" >/dev/null; ok $? "prefilter_max 16: 10 applied"
stop_daemon TERM
start_daemon -c "$CONF" --bpffs "$T/bpf/small" || bail "netsegd didn't restart on the small map"
list >"$T/ten.list"; map_keys "$T/bpf/small" >"$T/ten.keys"; rev0=$(revision)
perl -e 'printf "198.18.9.%d/32\n", $_ for 6 .. 25' >"$T/twenty.txt"
out=$(ctl prefilter apply -f "$T/twenty.txt" 2>&1); st=$?
[ $st -ne 0 ] && grep -q "map is full; raise prefilter_max); the old list is back in place" <<<"$out"
ok $? "the map full after 5 removals and 11 adds: refused (exit $st: $out)"
list >"$T/now.list"; map_keys "$T/bpf/small" >"$T/now.keys"
cmp -s "$T/ten.list" "$T/now.list" && cmp -s "$T/ten.keys" "$T/now.keys" && [ "$(revision)" = "$rev0" ] &&
	[ "$(wc -l <"$T/now.keys")" = 10 ]
ok $? "... the map, the list and the revision are the old ones ($(wc -l <"$T/now.keys") entries)"
: >"$T/empty.txt"
out=$(ctl prefilter apply -f "$T/empty.txt" 2>&1) && [ -z "$(map_keys "$T/bpf/small")" ] &&
	grep -q '(0 added, 10 removed)' <<<"$out"
ok $? "an empty file empties the list ($(tail -n 1 <<<"$out"))"
stop_daemon TERM

start_daemon -c "$CONF" || bail "netsegd didn't start"
ctl attach "$UPLINK" >/dev/null || bail "couldn't attach $UPLINK"
# Before any list: world's second address reaches the node.
[ "$(pings 198.18.200.3)" = 3 ] || bail "world 198.18.200.3 can't ping the node without a prefilter"

# 1. 100,000 at once
t0=$(ms)
ctl prefilter apply -f "$T/a.txt" >"$T/a.out" 2>&1; st=$?
t1=$(ms)
ok $st "apply 100,000 prefixes (exit $st: $(tail -n 1 "$T/a.out"))"
diag "prefilter apply -f a.txt (100,000 prefixes, empty list before): $((t1 - t0)) ms"
[ $st = 0 ] && [ $((t1 - t0)) -lt 1000 ]; ok $? "100,000 applied in under 1 s end to end ($((t1 - t0)) ms)"
n=$(grep -c '^+ ' "$T/a.out"); m=$(grep -c '^- ' "$T/a.out")
[ "$n" = 100000 ] && [ "$m" = 0 ] && grep -q '^+ 198.18.200.3/32$' "$T/a.out" &&
	grep -q '^+ fd00:1::c34d/128$' "$T/a.out" &&
	grep -q '100000 prefilter prefixes (100000 added, 0 removed)' "$T/a.out"
ok $? "diff output: 100,000 '+' lines, none '-', counts ($n/$m: $(tail -n 1 "$T/a.out"))"
n=$(map_count)
[ "$n" = 100000 ]; ok $? "the map holds 100,000 (got $n)"
# The map's keys are exactly the file's prefixes: v4 and v6 counts, and
# the list the daemon reports is the same set.
list >"$T/a.list"
perl -ne 'next if /^\s*(#|$)/; s/\s*#.*//; s/\s+$//; $_ .= "/32" unless m{/}; print "$_\n"' \
	"$T/a.txt" | sort >"$T/a.want"
cmp -s "$T/a.list" "$T/a.want"
ok $? "prefilter list is exactly the file's 100,000 ($(wc -l <"$T/a.list") listed$(diff "$T/a.list" "$T/a.want" | head -n 4 | tr '\n' ' '))"
rev_a=$(revision)

# 7a. traffic: world's listed address is dropped in XDP
x0=$(xdp_drops); got=$(pings 198.18.200.3); x1=$(xdp_drops)
[ "${got:-0}" = 0 ] && [ "${x1:-0}" -ge $((${x0:-0} + 3)) ]
ok $? "198.18.200.3 on the list: no replies ($got), dropped in XDP (uplink xdp drops ${x0:-0} -> ${x1:-0})"

# 2. 1,000 changed
t0=$(ms)
ctl prefilter apply -f "$T/b.txt" >"$T/b.out" 2>&1; st=$?
t1=$(ms)
ok $st "apply file B (exit $st: $(tail -n 1 "$T/b.out"))"
diag "prefilter apply -f b.txt (1,000 changed of 100,000): $((t1 - t0)) ms"
n=$(grep -c '^+ ' "$T/b.out"); m=$(grep -c '^- ' "$T/b.out")
[ "$n" = 1000 ] && [ "$m" = 1000 ] && grep -q '^- 198.18.200.3/32$' "$T/b.out" &&
	grep -q '^+ fd00:2::3e8/128$' "$T/b.out" && grep -q '^- fd00:1::3e7/128$' "$T/b.out" &&
	! grep -q 'fd00:1::3e8/128' "$T/b.out"
ok $? "exactly +1,000/-1,000 shown ($n/$m)"
[ $st = 0 ] && [ $((t1 - t0)) -lt 1000 ]; ok $? "1,000 changes applied in under 1 s ($((t1 - t0)) ms)"
n=$(map_count)
[ "$n" = 100000 ]; ok $? "the map still holds 100,000 (got $n)"
rev_b=$(revision)
[ "$rev_b" = $((rev_a + 1)) ]; ok $? "one revision for the whole change ($rev_a -> $rev_b)"
out=$(ctl prefilter apply -f "$T/b.txt" 2>&1)
grep -q 'no changes; nothing applied' <<<"$out"; ok $? "the same file again: no changes ($out)"

# 7b. traffic: the address B removed passes, the one it kept is dropped
x0=$(xdp_drops); got=$(pings 198.18.200.3); x1=$(xdp_drops)
[ "$got" = 3 ] && [ "${x1:-0}" = "${x0:-0}" ]
ok $? "198.18.200.3 removed by B: 3 replies ($got), no XDP drops (${x0:-0} -> ${x1:-0})"
x0=$(xdp_drops); got=$(pings 198.18.200.2); x1=$(xdp_drops)
[ "${got:-0}" = 0 ] && [ "${x1:-0}" -ge $((${x0:-0} + 3)) ]
ok $? "198.18.200.2 kept by B: dropped in XDP ($got replies, drops ${x0:-0} -> ${x1:-0})"

# 3. a bad line at 50,001: nothing changes
list >"$T/before.list"; map_keys >"$T/before.keys"
perl -e 'printf "198.19.%d.%d/32\n", $_ >> 8, $_ & 255 for 0 .. 49999;
	print "198.18.300.1/32\n"; printf "fd00:3::%x/128\n", $_ for 0 .. 9;' >"$T/bad.txt"
out=$(ctl prefilter apply -f "$T/bad.txt" 2>&1); st=$?
[ $st -ne 0 ] && grep -q "bad.txt:50001:1: \"198.18.300.1\" is not a valid IPv4 address" <<<"$out"
ok $? "a bad line 50,001 refused, naming file:line:column and what is wrong (exit $st: $out)"
list >"$T/after.list"; map_keys >"$T/after.keys"
cmp -s "$T/before.list" "$T/after.list" && cmp -s "$T/before.keys" "$T/after.keys"
ok $? "... the list and the map are unchanged"
rev=$(revision)
[ "$rev" = "$rev_b" ]; ok $? "... and so is the revision ($rev)"
printf '198.18.5.0/24\n198.18.5.1/24\n' >"$T/hostbits.txt"
out=$(ctl prefilter apply -f - <"$T/hostbits.txt" 2>&1); st=$?
[ $st -ne 0 ] && grep -q '<stdin>:2:1: host bits set in 198.18.5.1/24; did you mean 198.18.5.0/24?' <<<"$out"
ok $? "stdin: host bits refused at <stdin>:2:1 (exit $st: $out)"

# 4. over prefilter_max: 100,001 lines, each with a comment (over 4 MiB)
perl -e '$c = " # reported by a feed that comments every line";
	printf "198.19.%d.%d/32$c\n", $_ >> 8, $_ & 255 for 0 .. 65535;
	printf "fd00:4::%x/128$c\n", $_ for 0 .. 34464;' >"$T/big.txt"
out=$(ctl prefilter apply -f "$T/big.txt" 2>&1); st=$?
[ $st -ne 0 ] && grep -q 'more than prefilter_max (100000); raise prefilter_max' <<<"$out"
ok $? "100,001 prefixes ($(($(stat -c %s "$T/big.txt") >> 20)) MiB) refused naming prefilter_max (exit $st: $out)"
list >"$T/after.list"
cmp -s "$T/before.list" "$T/after.list"; ok $? "... nothing changed"

# 5. --dry-run and -o json
printf '198.18.5.0/24\n198.18.5.0/24\nfd00:5::/64\n' >"$T/small.txt"
out=$(ctl prefilter apply --dry-run -f "$T/small.txt" 2>&1); st=$?
[ $st = 0 ] && grep -q '^+ 198.18.5.0/24$' <<<"$out" && grep -q '^+ fd00:5::/64$' <<<"$out" &&
	[ "$(grep -c '^- ' <<<"$out")" = 100000 ] &&
	grep -q 'would give 2 prefilter prefixes (2 added, 100000 removed); nothing applied' <<<"$out"
ok $? "--dry-run shows the diff, duplicates folded ($(tail -n 1 <<<"$out"))"
list >"$T/after.list"; map_keys >"$T/after.keys"
cmp -s "$T/before.list" "$T/after.list" && cmp -s "$T/before.keys" "$T/after.keys"
ok $? "... and changes nothing"
printf '198.18.200.2/32\nfd00:1::3e8/128\n198.18.5.0/24\n' >"$T/c.txt"
out=$(ctl -o json prefilter apply -f "$T/c.txt" | tr -d ' \t\n')
grep -q '"added":\["198.18.5.0/24"\]' <<<"$out" && grep -q '"prefixes":3' <<<"$out" &&
	[ "$(grep -o '"removed":\[[^]]*\]' <<<"$out" | tr ',' '\n' | wc -l)" = 99998 ]
ok $? "-o json: added, removed and the count (${out:0:120}...)"
n=$(map_count)
[ "$n" = 3 ]; ok $? "the map holds the 3 (got $n)"

# 6. the list survives a restart
ctl prefilter apply -f "$T/b.txt" >/dev/null; ok $? "back to file B"
list >"$T/before.list"
stop_daemon TERM
start_daemon -c "$CONF" || bail "netsegd didn't restart"
list >"$T/after.list"
n=$(map_count)
cmp -s "$T/before.list" "$T/after.list" && [ "$n" = 100000 ]
ok $? "restarted: the same 100,000 listed and in the map ($(wc -l <"$T/after.list") listed, map $n)"
done_testing
