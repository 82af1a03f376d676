#!/usr/bin/env bash
# Fault injection, datapath and flow-log sinks: each fault leaves
# netsegd running, says what happened, and loses no state.
#  1. conntrack table full: LRU evicts, the stats show it, an evicted
#     established flow is decided again by policy (still allowed), denied
#     flows stay denied;
#  2. ring buffer overflow while the daemon is stopped: losses counted in
#     the kernel, shown by `stats`, reported in band by a `lost` record;
#  3. a TCP syslog sink that is down, then slow, then resets every
#     connection, then comes back: records queued, dropped and counted,
#     reconnects with backoff, the loop stays responsive, no fd leak, and
#     the octet-counted stream stays well framed;
#  4. pod interfaces created and deleted in a tight loop, racing the TC
#     attach: no stale endpoints, ipcache entries, links or pins, and a pod
#     made afterwards is enforced.
# Traffic stays in the namespaces made here; the syslog receivers listen on
# the node namespace's loopback.
. "$(dirname "$0")/../lib/netns.sh"
need_root
command -v bpftool >/dev/null || bail "missing bpftool: run 'make deps'"
perl -MJSON::PP -e1 2>/dev/null || bail "perl JSON::PP missing: run 'make deps'"
EVFLOOD="$NS_TOP/bench/evflood"
[ -x "$EVFLOOD" ] || bail "build first: make (bench/evflood)"
make_node
make_pod frontend 1
make_pod api 2
serve api tcp 443
serve api tcp 8080
serve frontend tcp 443
# A long-lived echo service for the "established flow" checks.
ip netns exec "$(pod_ns api)" timeout 600 socat TCP-LISTEN:9443,fork,reuseaddr EXEC:cat \
	>/dev/null 2>&1 </dev/null & disown $!
wait_port api 443 && wait_port api 8080 && wait_port api 9443 || bail "servers didn't start"
[ -n "$KEEP_LOG" ] && AT_CLEANUP+=("cp '$T/netsegd.log' '$KEEP_LOG'")

MAPS="$T/bpf/netseg"
API=198.18.2.2
SINK_PORT=$((20000 + RANDOM % 20000))

# ------------------------------------------------------------- helpers

now_ms() { echo $(($(date +%s%N) / 1000000)); }
until_ms() {	# until_ms LIMIT CMD...: retry CMD until it succeeds or LIMIT ms pass
	local t0; t0=$(now_ms); local limit=$1; shift
	while ! "$@"; do
		[ $(($(now_ms) - t0)) -ge "$limit" ] && return 1
		sleep 0.05
	done
}
json_get() {
	perl -MJSON::PP -e 'my $v = decode_json(join "", <STDIN>);
		for my $k (@ARGV) { $v = ref $v eq "ARRAY" ? $v->[$k] : $v->{$k} }
		print ref $v ? encode_json($v) : $v' "$@"
}
counter() { ctl -o json stats | json_get counters "$1" packets; }
sinkstat() { ctl -o json stats | json_get flow_logs 1 "$1"; }	# the TCP sink
ctstat() { ctl -o json stats | json_get conntrack "$1"; }
logged() { grep -c -- "$1" "$T/netsegd.log"; }
nfds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }
alive() { kill -0 "$DAEMON_PID" 2>/dev/null && ctl status >/dev/null; }

# udp_burst FROM-POD ADDR FIRST-PORT COUNT [SOURCE-PORT]: one datagram to each
# port, paced so the pod's socket never drops one (every datagram is a new
# flow; a new source port makes the same destination ports new flows again).
# BURST_CPU=N pins the sender (and so the veth's processing of its packets)
# to CPU N.
udp_burst() {
	nsx "$(pod_ns "$1")" ${BURST_CPU:+taskset -c "$BURST_CPU"} timeout 60 perl -MIO::Socket::INET -MTime::HiRes=usleep -e '
		my ($a, $p0, $n, $sp) = @ARGV;
		my $s = IO::Socket::INET->new(Proto => "udp", $sp ? (LocalPort => $sp) : ())
			or die "socket: $!";
		for my $i (0 .. $n - 1) {
			$s->send("x", 0, pack_sockaddr_in($p0 + $i, inet_aton($a)))
				or usleep(1000), redo;
			usleep(200) if $i % 64 == 63;
		}' "$2" "$3" "$4" "${5:-0}"
}

# The syslog receiver in the node namespace (perl, on 127.0.0.1:SINK_PORT):
#   good OUT SECS   accept one connection, append everything to OUT for SECS
#   slow OUT SECS   accept one, 2 KiB receive buffer, read 256 B every 0.2 s
#                   for SECS, then close with RST (SO_LINGER 0) while data is
#                   in flight
#   reset OUT SECS  accept and close with RST at once, again and again;
#                   writes the number of connections to OUT
cat >"$T/sinkd.pl" <<'PL'
use strict; use warnings;
use Socket qw(SOL_SOCKET SO_LINGER SO_RCVBUF);
use IO::Socket::INET; use Time::HiRes qw(time sleep);
my ($mode, $port, $out, $secs) = @ARGV;
my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $port,
	Listen => 16, ReuseAddr => 1, Proto => "tcp") or die "listen: $!";
if ($mode eq "slow") { setsockopt($l, SOL_SOCKET, SO_RCVBUF, 2048) or die }
open(my $o, ">>", $out) or die "$out: $!";
$o->autoflush(1);
my $end = time + $secs;
my $rst = pack("ii", 1, 0);
$SIG{ALRM} = sub { exit 0 };
alarm($secs + 40);	# bounded, also when nobody connects
if ($mode eq "reset") {
	my $n = 0;
	while (time < $end) {
		my $c = $l->accept or next;
		setsockopt($c, SOL_SOCKET, SO_LINGER, $rst);
		close $c;
		$n++;
		seek($o, 0, 0); truncate($o, 0); print $o "$n\n";
	}
	exit 0;
}
my $c = $l->accept or die "accept: $!";
close $l;
$end = time + $secs;	# good, slow: SECS from the connection on
while (time < $end) {
	my $buf;
	my $n = sysread($c, $buf, $mode eq "slow" ? 256 : 65536);
	last unless $n;
	print $o $buf;
	sleep(0.2) if $mode eq "slow";
}
setsockopt($c, SOL_SOCKET, SO_LINGER, $rst) if $mode eq "slow";
close $c;
PL
sinkd() {	# sinkd MODE OUT SECS: start a receiver, wait until it listens
	# Not through nsx: $! must be perl itself (ip netns exec execs it).
	ip netns exec "$NODE" perl "$T/sinkd.pl" "$1" "$SINK_PORT" "$2" "$3" \
		>>"$T/sinkd.err" 2>&1 </dev/null &
	SINKD_PID=$!; disown $SINKD_PID
	until_ms 5000 eval 'nsx "$NODE" ss -ltn | grep -q "127.0.0.1:$SINK_PORT "' ||
		{ cat "$T/sinkd.err" >&2; return 1; }
}
sinkd_wait() {	# until the receiver exits (bounded)
	for _ in $(seq 200); do kill -0 "$SINKD_PID" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$SINKD_PID" 2>/dev/null; return 1
}
AT_CLEANUP+=('[ -n "$SINKD_PID" ] && kill -9 "$SINKD_PID" 2>/dev/null')
# frames FILE: check an RFC 6587 octet-counted stream from its first byte;
# prints the number of well-formed RFC 5424 netseg records, fails otherwise.
frames() {
	perl -e 'local $/; my $s = <STDIN> // ""; my $n = 0;
		while (length $s) {
			$s =~ s/^([1-9][0-9]{0,5}) // or die "no octet count at record $n\n";
			length($s) >= $1 or die "record $n cut short\n";
			my $m = substr($s, 0, $1, "");
			$m =~ /^<\d+>1 \S+ \S+ netseg \d+ FLOW_\w+ - \xEF\xBB\xBF/ or die "bad record $n\n";
			$n++;
		}
		print "$n\n"' <"$1"
}

cat >"$T/netsegd.json" <<EOF
{
	"node_name": "node-$RUN",
	"ct_max": 1024,
	"deny_events": { "rate": 10000000, "burst": 10000000 },
	"flow_logs": [
		{ "type": "file", "path": "$T/flows.log", "format": "json" },
		{ "type": "syslog", "protocol": "tcp", "address": "127.0.0.1",
		  "port": $SINK_PORT, "format": "cef" }
	]
}
EOF
start_daemon -c "$T/netsegd.json"; ok $? "netsegd starts (ct_max 1024, a TCP syslog sink nobody listens on)"
ctl identity add frontend --iface "$(pod_if frontend)" >/dev/null &&
ctl identity add api --iface "$(pod_if api)" >/dev/null &&
ctl allow 'frontend->api:443' >/dev/null && ctl allow 'frontend->api:9443' >/dev/null &&
ctl allow 'frontend->api:udp/30000-39999' >/dev/null
ok $? "identities frontend, api; allow frontend->api:443, :9443, :udp/30000-39999"
reach frontend $API 443 && ! reach frontend $API 8080; ok $? "policy enforced"

# ============================================= 3a. syslog sink down
until_ms 3000 eval '[ "$(logged "syslog tcp 127.0.0.1:$SINK_PORT: connect: Connection refused; retrying")" -ge 1 ]'
ok $? "sink down: logged '$(grep -m1 -o 'flow log syslog tcp.*retrying' "$T/netsegd.log")'"
udp_burst frontend $API 20000 50	# 50 denied flows: 50 deny records
until_ms 3000 eval '[ "$(sinkstat queued)" -ge 50 ]'
ok $? "sink down: $(sinkstat queued) records queued, $(sinkstat dropped) dropped, connected=$(sinkstat connected)"
[ "$(sinkstat written)" -eq 0 ]; ok $? "sink down: nothing counted as written ($(sinkstat written))"
alive; ok $? "daemon answers while its sink is down"
sinkd good "$T/good1.raw" 40; ok $? "a syslog receiver appears on 127.0.0.1:$SINK_PORT"
until_ms 35000 eval '[ "$(sinkstat connected)" = true ] && [ "$(sinkstat queued)" -eq 0 ]'
ok $? "sink reconnects within its backoff and flushes its queue (written $(sinkstat written))"
udp_burst frontend $API 20100 20
until_ms 5000 eval '[ "$(frames "$T/good1.raw" 2>/dev/null || echo 0)" -ge 70 ]'
ok $? "the receiver got the 50 queued and 20 new records, well framed ($(frames "$T/good1.raw" 2>&1))"
kill "$SINKD_PID" 2>/dev/null; sinkd_wait

# ============================================= 2. ring buffer overflow
lost0=$(counter events-lost-ring)
kill -STOP "$DAEMON_PID"
# Denied frames through the daemon's own programs and maps, far faster than
# it could read even when running: the 4 MiB ring holds ~47k events.
fl=$("$EVFLOOD" "$MAPS" 1 2>&1)
kill -CONT "$DAEMON_PID"
diag "evflood: $fl (frames, seconds) while netsegd was stopped"
alive; ok $? "daemon answers after SIGSTOP + flood + SIGCONT"
lost=$(counter events-lost-ring)
[ "$lost" -gt "$lost0" ]; ok $? "stats: events-lost-ring went from $lost0 to $lost"
ctl stats | grep -E '^events-lost-ring +[0-9]+' >"$T/lostline"
[ "$(awk '{print $2}' "$T/lostline")" -gt 0 ]; ok $? "netsegctl stats shows: $(tr -s ' ' <"$T/lostline")"
# The in-band report comes at most every 10 s.
until_ms 12000 grep -q '"verdict":"lost"' "$T/flows.log"
ok $? "an in-band lost record: $(grep -m1 -o '"verdict":"lost".*' "$T/flows.log" | cut -c1-160)"
grep '"verdict":"lost"' "$T/flows.log" | WANT=$((lost - lost0)) perl -MJSON::PP -ne '
	my $o = decode_json($_); $t += $o->{lost}{ring} // 0;
	END { exit !($t >= $ENV{WANT}) }'
ok $? "lost records account for all $((lost - lost0)) ring losses"
reach frontend $API 443 && ! reach frontend $API 8080; ok $? "policy still enforced"

# ============================================= 3b. slow syslog receiver
# 11 s: a connection that lived 10 s starts the backoff over (3c counts on it)
sinkd slow "$T/slow.raw" 11; ok $? "a slow receiver (2 KiB buffer, 256 B every 0.2 s) listens"
until_ms 35000 eval '[ "$(sinkstat connected)" = true ]'
ok $? "sink connected to the slow receiver"
drop0=$(sinkstat dropped)
"$EVFLOOD" "$MAPS" 4 >"$T/evflood.out" 2>&1 &
EVPID=$!
AT_CLEANUP+=('kill -9 $EVPID 2>/dev/null')
sleep 0.5
worst=0
for _ in $(seq 10); do	# the loop must answer while it formats a flood
	t0=$(now_ms); ctl stats >/dev/null || worst=99999
	ms=$(($(now_ms) - t0)); [ "$ms" -gt "$worst" ] && worst=$ms
	sleep 0.2
done
wait $EVPID
diag "evflood: $(cat "$T/evflood.out") (frames, seconds); sink: $(ctl -o json stats | json_get flow_logs 1)"
[ "$worst" -lt 1500 ]; ok $? "netsegctl stats answers during the flood (slowest of 10: $worst ms)"
drop=$(sinkstat dropped)
[ "$drop" -gt "$drop0" ]; ok $? "the sink's bounded queue filled: dropped $drop0 -> $drop, queued $(sinkstat queued)"
alive; ok $? "daemon fine"
sinkd_wait; ok $? "the slow receiver closes with RST, data in flight"

# ============================================= 3c. receiver resets every connection
fd0=$(nfds)
sinkd reset "$T/resets" 8; ok $? "a receiver that resets every connection listens"
for i in $(seq 40); do udp_burst frontend $API $((21000 + i * 10)) 5; sleep 0.2; done
sinkd_wait
n=$(cat "$T/resets" 2>/dev/null || echo 0)
[ "$n" -ge 2 ]; ok $? "the sink reconnected $n times in 8 s"
[ "$n" -le 5 ]; ok $? "... and backed off (1, 2, 4 s) instead of retrying every 0.5 s ($n connections)"
sleep 1
fd1=$(nfds)
[ "$fd1" -le "$fd0" ]; ok $? "no fd leak: $fd0 fds before, $fd1 after"
alive; ok $? "daemon fine after $n resets"
until_ms 12000 eval 'grep "\"verdict\":\"lost\"" "$T/flows.log" | grep -q "\"queue\":[1-9]"'
ok $? "the queue drops are reported in band: $(grep '"verdict":"lost"' "$T/flows.log" | grep -o '"lost":{[^}]*}' | tail -1)"
grep -q "flow log syslog tcp 127.0.0.1:$SINK_PORT: .*reconnecting" "$T/netsegd.log"
ok $? "logged: $(grep -o "flow log syslog tcp 127.0.0.1:$SINK_PORT: .*reconnecting" "$T/netsegd.log" | tail -1)"

# ============================================= 3d. receiver back
sinkd good "$T/good2.raw" 60; ok $? "a good receiver again"
until_ms 35000 eval '[ "$(sinkstat connected)" = true ] && [ "$(sinkstat queued)" -eq 0 ]'
ok $? "sink reconnects and drains its queue"
udp_burst frontend $API 20200 20
until_ms 5000 eval 'grep -q "dpt=20219" "$T/good2.raw"'
ok $? "new records arrive"
n=$(frames "$T/good2.raw" 2>&1); st=$?
ok $st "the stream after RSTs mid-record is well framed from its first byte ($n)"
kill "$SINKD_PID" 2>/dev/null; sinkd_wait

# ============================================= 1. conntrack table full
# An established TCP flow (frontend -> api:9443, echo) goes idle while rounds of
# 2,500 new UDP flows go through a 1,024-entry table: the LRU evicts it.
nsx "$(pod_ns frontend)" timeout 90 perl -MIO::Socket::INET -MIO::Select -e '
	my ($go, $out) = @ARGV;
	my $s = IO::Socket::INET->new(PeerAddr => "198.18.2.2:9443", Timeout => 2) or die "connect: $!";
	$s->autoflush(1);
	sub echo { my $w = shift; print $s "$w\n";
		return IO::Select->new($s)->can_read(5) ? scalar <$s> // "EOF\n" : "TIMEOUT\n" }
	open(my $o, ">", $out) or die; $o->autoflush(1);
	print $o "1 ", echo("one");
	for (1 .. 1200) { last if -e $go; select(undef, undef, undef, 0.05) }
	print $o "2 ", echo("two");' "$T/go" "$T/est.out" 2>>"$T/est.err" </dev/null &
EST_PID=$!; disown $EST_PID
until_ms 5000 grep -qs "^1 one" "$T/est.out"; ok $? "established flow frontend -> api:9443 echoes"
# ct_has_port PORT: a TCP entry with this port is in the table.
ct_has_port() {
	bpftool -j map dump pinned "$MAPS/ns_ct" | PORT=$1 perl -MJSON::PP -e '
		my $p = unpack("v", pack("n", $ENV{PORT}));	# __be16 as bpftool prints it
		exit !grep { my $k = $_->{formatted}{key};
			$k->{proto} == 6 && ($k->{a_port} == $p || $k->{b_port} == $p) }
			@{decode_json(join "", <STDIN>)}'
}
ct_has_port 9443; ok $? "its conntrack entry is in the table"
ents0=$(ctstat entries) max=$(ctstat max) new0=$(counter ct-new) mid0=$(counter ct-midstream)
[ "$max" -eq 1024 ]; ok $? "stats: conntrack max $max (ct_max)"
# The kernel's LRU spares recently referenced entries for a round or two:
# rounds of 2,500 new flows until the idle one is gone (bounded).
# The kernel's LRU keeps a new entry on the creating CPU's pending list until
# that CPU allocates again, and evicts from the global lists first: an entry
# made on the CPU that sends no burst is never pushed out.  So the rounds
# alternate between the CPUs.  Every round sends to the same 2,500 allowed
# ports from its own source port, so each of its flows is new and allowed.
rounds=0 ncpu=$(nproc)
while ct_has_port 9443 && [ "$rounds" -lt 16 ]; do
	BURST_CPU=$((rounds % ncpu)) udp_burst frontend $API 30000 2500 $((45000 + rounds)) ||
		diag "udp_burst of round $((rounds + 1)) failed"
	rounds=$((rounds + 1))
done
! ct_has_port 9443; ok $? "$rounds rounds of 2,500 allowed UDP flows evicted the idle TCP flow's entry"
new=$(counter ct-new)
[ $((new - new0)) -ge $((rounds * 2500 - 50)) ]; ok $? "ct-new counted $((new - new0)) new flows"
until_ms 3000 eval '[ "$(ctstat evicted)" -ge $((rounds * 2500 - 1024)) ]'
ok $? "stats: conntrack entries $(ctstat entries) of $(ctstat max), evicted $(ctstat evicted)"
[ "$(ctstat entries)" -le 1024 ]; ok $? "the table never holds more than ct_max"
grep -q "conntrack table is full" "$T/netsegd.log"
ok $? "logged: $(grep -m1 -o 'conntrack table is full.*' "$T/netsegd.log")"
ctl stats | grep -E '^(conntrack|ct-midstream)' | sed 's/^/# /'
touch "$T/go"
until_ms 8000 grep -qs "^2 " "$T/est.out"
grep -q '^2 two' "$T/est.out"; ok $? "the evicted established flow still works: $(grep '^2' "$T/est.out")"
mid=$(counter ct-midstream)
[ "$mid" -gt "$mid0" ]; ok $? "it was evicted and decided again by policy (ct-midstream $mid0 -> $mid)"
reach frontend $API 443; ok $? "a new allowed flow after the eviction: allowed"
! reach frontend $API 8080; ok $? "a denied flow after the eviction: still denied"
! reach api 198.18.1.2 443; ok $? "api -> frontend:443 (no rule): still denied"
alive; ok $? "daemon fine"

# ============================================= 4. interfaces vanish mid-attach
ipcache() {	# one sorted line per ipcache entry
	bpftool -j map dump pinned "$MAPS/ns_ipcache" | perl -MJSON::PP -e '
		for (@{decode_json(join "", <STDIN>)}) {
			my ($k, $v) = @{$_->{formatted}}{qw(key value)};
			print join(".", @{$k->{addr}}), "/$k->{prefixlen} id=$v->{id} if=$v->{ifindex}\n";
		}' | sort
}
endpoints() {
	bpftool -j map dump pinned "$MAPS/ns_endpoints" | perl -MJSON::PP -e '
		printf "%s id=%d\n", $_->{formatted}{key}, $_->{formatted}{value}{id}
			for @{decode_json(join "", <STDIN>)}' | sort
}
snap() { ipcache; echo --; endpoints; echo --; ls -R "$MAPS" | sort; }
base=$(snap)
eps0=$(ctl -o json status | json_get endpoints)
fd0=$(nfds)
L="vx${RUN:0:6}" N=0
t0=$(now_ms)
# Each batch: 10 pods made (veth, alias, up, a /32 route) and at once
# deleted again, so deletions land while netsegd attaches TC to them.
while [ "$N" -lt 200 ] && [ $(($(now_ms) - t0)) -lt 60000 ]; do
	for i in $(seq "$N" $((N + 9))); do
		echo "link add $L$i type veth peer name y$L$i"
		echo "link set $L$i alias netseg:frontend up"
		echo "route add 198.18.$((100 + i / 200)).$((i % 200 + 2))/32 dev $L$i"
		[ $((i % 2)) -eq 0 ] && echo "link del $L$i"
	done | ip -n "$NODE" -batch - >/dev/null 2>&1
	for i in $(seq "$N" $((N + 9))); do
		[ $((i % 2)) -eq 1 ] && echo "link del $L$i"
	done | ip -n "$NODE" -force -batch - >/dev/null 2>&1
	N=$((N + 10))
done
diag "$N pods created and deleted in $(($(now_ms) - t0)) ms"
[ "$N" -eq 200 ]; ok $? "200 pods came and went, half deleted in the same batch that made them"
alive; ok $? "daemon survived the churn"
until_ms 15000 eval '[ "$(snap)" = "$base" ]'
ok $? "ns_ipcache, ns_endpoints and every pin under the bpffs dir are as before"
[ "$(snap)" = "$base" ] || diff <(echo "$base") <(snap) | sed 's/^/# /'
[ "$(ctl -o json status | json_get endpoints)" -eq "$eps0" ]; ok $? "endpoint list: $eps0 endpoints, as before"
[ -z "$(nsx "$NODE" ip -o link show | grep "$L")" ]; ok $? "no leftover interfaces"
grep -E "vanished|gone" "$T/netsegd.log" | grep "$L" | head -2 | sed 's/^/# log: /'
grep -qE "$L[0-9]+ .*(vanished|gone)" "$T/netsegd.log"; ok $? "the daemon said which interfaces vanished under it"
fd1=$(nfds)
[ "$fd1" -le "$fd0" ]; ok $? "no fd leak: $fd0 fds before, $fd1 after"
ctl identity add late >/dev/null; ok $? "identity late"
make_pod late 3
serve late tcp 443; wait_port late 443
! reach frontend 198.18.3.2 443; ok $? "a pod made after the churn is enforced: frontend -> late:443 denied"
ctl allow 'frontend->late:443' >/dev/null && reach frontend 198.18.3.2 443
ok $? "... and allowed once a rule says so"

kill -0 "$DAEMON_PID" && ! grep -q 'Sanitizer\|runtime error' "$T/netsegd.log"
ok $? "netsegd still running, no sanitizer report in its log"

# ============================ the conntrack size knob across restarts
# The pinned table can't be resized under live flows: a restart with another
# ct_max keeps it and says so; --cleanup (which knows no ct_max) still works.
stop_daemon TERM
sed 's/"ct_max": 1024/"ct_max": 2048/' "$T/netsegd.json" >"$T/ct2048.json"
start_daemon -c "$T/ct2048.json"; ok $? "netsegd restarts with ct_max 2048 over the pinned 1024-entry table"
grep -q "ct_max 2048 not applied: the pinned conntrack table .* holds 1024 entries" "$T/netsegd.log"
ok $? "logged: $(grep -o 'ct_max 2048 not applied.*' "$T/netsegd.log" | head -1)"
until_ms 3000 eval '[ "$(ctstat max)" = 1024 ]'; ok $? "stats: conntrack max $(ctstat max)"
reach frontend 198.18.3.2 443 && ! reach frontend $API 8080; ok $? "policy enforced after the restart"
stop_daemon TERM
nsenter --net="/run/netns/$NODE" "$NETSEGD" --bpffs "$MAPS" --state-dir "$T/state" \
	--run-dir "$T/run" --cleanup >"$T/cleanup.out" 2>&1
st=$?; [ $st -eq 0 ] && [ -z "$(ls -A "$MAPS" 2>/dev/null)" ]
ok $? "netsegd --cleanup without the config removes every pin (exit $st: $(tail -1 "$T/cleanup.out"))"
done_testing
