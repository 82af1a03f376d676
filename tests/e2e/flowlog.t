#!/usr/bin/env bash
# Flow logs end to end: real traffic produces allowed, denied and end
# records; a hash-chained, rotated file verifies, and edits, deletions and
# reorderings are each caught; a real rsyslog (Debian's) on the node's
# loopback receives every record over UDP (OCSF) and TCP with octet
# counting (CEF), intact and parseable; `netsegctl flows` filters history.
# A chained OCSF file keeps to OCSF's attributes; a record too long for a
# datagram arrives shortened, whole; a UDP receiver that isn't there is a
# send error, not a full queue; `flows` streams all 4,096 records of the
# history, long ones too, newest included.
. "$(dirname "$0")/../lib/netns.sh"
need_root
command -v rsyslogd >/dev/null || bail "rsyslogd missing: run 'make deps'"
frontend_api_pods

# ---- rsyslog on the node's loopback (docs/flow-records.md, "Syslog")
mkdir -p "$T/rsyslog"
cat >"$T/rsyslog.conf" <<EOF
global(workDirectory="$T/rsyslog" maxMessageSize="64k"
       parser.escapeControlCharactersOnReceive="off")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="5514")
input(type="imtcp" address="127.0.0.1" port="5514")
template(name="raw" type="string" string="%rawmsg%\n")
if \$inputname == "imudp" then { action(type="omfile" file="$T/udp.log" template="raw") stop }
action(type="omfile" file="$T/tcp.log" template="raw")
EOF
nsx "$NODE" rsyslogd -N1 -f "$T/rsyslog.conf" >/dev/null 2>&1; ok $? "rsyslog accepts the test config"
nsx "$NODE" rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid" >/dev/null 2>&1 </dev/null &
disown $!
for _ in $(seq 50); do nsx "$NODE" ss -ltn | grep -q 127.0.0.1:5514 && break; sleep 0.1; done

cat >"$T/netsegd.json" <<EOF
{
	"node_name": "node-$RUN",
	"deny_events": { "rate": 20000, "burst": 20000 },
	"flow_logs": [
		{ "type": "file", "path": "$T/flows.log", "format": "json", "chain": true,
		  "max_bytes": 4096, "keep": 50 },
		{ "type": "syslog", "protocol": "udp", "address": "127.0.0.1", "port": 5514,
		  "format": "ocsf", "facility": "local0" },
		{ "type": "syslog", "protocol": "tcp", "address": "127.0.0.1", "port": 5514,
		  "format": "cef", "facility": "local0" },
		{ "type": "file", "path": "$T/ocsf.log", "format": "ocsf", "chain": true },
		{ "type": "syslog", "protocol": "udp", "address": "127.0.0.1", "port": 5599,
		  "format": "json" }
	]
}
EOF
start_daemon -c "$T/netsegd.json"; ok $? "netsegd starts with five flow-log sinks"
ctl identity add frontend --iface "$(pod_if frontend)" --cidr 198.18.1.2/32 >/dev/null
ctl identity add api --iface "$(pod_if api)" --cidr 198.18.2.2/32 >/dev/null
ctl allow 'frontend->api:443' --log --comment 'web | tier = "front" \ back' >/dev/null
ok $? "allow frontend->api:443 --log with a hostile comment"

# A rule whose text and comment make its OCSF records longer than a datagram:
# 60 ports, 240 characters JSON writes as two bytes each.
long_comment=$(printf '"\\%.0s' $(seq 120))
long_ports=$(seq -s, 9000 2 9118)
ctl deny "frontend->api:tcp/$long_ports" --comment "$long_comment" >/dev/null
ok $? "deny a rule with a long text and comment"

for i in $(seq 10); do reach frontend 198.18.2.2 443; done
for i in $(seq 10); do reach frontend 198.18.2.2 8080; done
for i in $(seq 3); do reach frontend 198.18.2.2 9000; done
sleep 13	# closed flows (FIN) leave conntrack after 10 s: end records
sleep 1.5	# and the 1 s tick flushes the file

files() { ls -1r "$T"/flows.log.* 2>/dev/null | sort -t. -k3 -n -r; echo "$T/flows.log"; }
# oldest first: by the number after the last dot ($T has dots too, and
# flows.log.10 sorts before flows.log.9 as text)
mapfile -t F < <(for f in "$T"/flows.log.*; do [ -e "$f" ] && echo "${f##*.} $f"; done |
	sort -k1,1nr | cut -d' ' -f2-; echo "$T/flows.log")
cat "${F[@]}" >"$T/all.log"
nall=$(wc -l <"$T/all.log")
nallow=$(grep -c '"verdict":"allowed"' "$T/all.log")
ndeny=$(grep -c '"verdict":"denied"' "$T/all.log")
nend=$(grep -c '"verdict":"end"' "$T/all.log")
[ "$nallow" -ge 10 ]; ok $? "file: $nallow allowed records (10 connections)"
[ "$ndeny" -ge 10 ]; ok $? "file: $ndeny denied records (SYN retries may add some)"
[ "$nend" -ge 10 ]; ok $? "file: $nend end records from conntrack GC"
[ "${#F[@]}" -gt 1 ]; ok $? "file rotated at 4 KiB: ${#F[@]} files"
grep '"verdict":"denied"' "$T/all.log" | head -1 | grep -q '"reason":"default-deny"'
ok $? "denied records say why (default-deny)"
grep '"verdict":"allowed"' "$T/all.log" | head -1 | grep -q 'front'
ok $? "allowed records carry the rule text and comment"
grep '"verdict":"end"' "$T/all.log" | head -1 | grep -q '"packets'
ok $? "end records carry packet counters"

out=$(ctl logs verify "${F[@]}"); st=$?
[ $st -eq 0 ] && grep -q '^OK' <<<"$out"; ok $? "logs verify: chain intact ($out)"

tamper() {	# tamper NAME SED-SCRIPT-OR-CMD...: copy the files, alter, verify
	local dir="$T/tamper-$1"; shift
	mkdir -p "$dir"; cp "${F[@]}" "$dir/"
	local last; last="$dir/$(basename "${F[-1]}")"
	( cd "$dir" && eval "$@" )
	local G=(); for f in "${F[@]}"; do G+=("$dir/$(basename "$f")"); done
	ctl logs verify "${G[@]}"
}
out=$(tamper changed "sed -i '3s/\"verdict\":\"[a-z]*\"/\"verdict\":\"tampered\"/' \"\$(basename ${F[0]})\"")
grep -qi 'changed' <<<"$out"; ok $? "an edited record is caught: $out"
out=$(tamper removed "sed -i '4d' \"\$(basename ${F[0]})\"")
grep -qi 'removed' <<<"$out"; ok $? "a deleted record is caught: $out"
out=$(tamper reordered "sed -i '2{h;d};3{G}' \"\$(basename ${F[0]})\"")
grep -qi 'reorder' <<<"$out"; ok $? "swapped records are caught: $out"

# ---- a chained OCSF file: OCSF's attributes only, the chain in unmapped
perl -MJSON::PP -ne '
	my $o = JSON::PP->new->decode($_);
	my %ok = map { $_ => 1 } qw(activity_id activity_name category_uid category_name
		class_uid class_name type_uid type_name time timezone_offset severity_id severity
		action_id action disposition_id disposition is_alert is_src_dst_assignment_known
		message metadata device src_endpoint dst_endpoint connection_info traffic
		start_time end_time duration firewall_rule observables unmapped count
		log_provider log_name);
	$ok{$_} or die "line $.: top-level \"$_\" is no attribute of class $o->{class_uid}\n"
		for keys %$o;
	ref $o->{unmapped}{chain} eq "HASH" or die "line $.: no unmapped.chain\n";
	$n++; END { $n or die "no records\n" }' "$T/ocsf.log"
ok $? "chained OCSF file: only OCSF attributes at the top level, chain in unmapped"
out=$(ctl logs verify "$T/ocsf.log"); ok $? "logs verify: chained OCSF file intact ($out)"

# ---- a UDP receiver that isn't there: send errors, said as such
grep '"verdict":"lost"' "$T/all.log" | grep -q '"send_error":"connection refused"'
ok $? "the lost record says 'send error: connection refused'"
grep '"verdict":"lost"' "$T/all.log" | grep '"send_error"' | grep -q '"queue":0,'
ok $? "... and doesn't count them as a full queue"
ctl -o json stats | perl -MJSON::PP -e '
	my ($s) = grep { $_->{sink} =~ /5599/ } @{JSON::PP->new->decode(join "", <>)->{flow_logs}};
	$s && $s->{send_errors} > 0 && $s->{dropped} == 0 &&
		$s->{last_send_error} eq "Connection refused" or die "stats: ", JSON::PP->new->encode($s // {});'
ok $? "stats: the sink's send_errors and last_send_error"

# ---- rsyslog: every record arrived, intact and parseable (loss reports
# aside: one may come between reading the file and reading rsyslog's)
sleep 1
nudp=$(grep -vc '"class_uid":1008' "$T/udp.log" 2>/dev/null || echo 0)
ntcp=$(grep -vc '|flow-lost|' "$T/tcp.log" 2>/dev/null || echo 0)
nrec=$(grep -vc '"verdict":"lost"' "$T/all.log")
[ "$nudp" -eq "$nrec" ]; ok $? "UDP: rsyslog got $nudp of $nrec records"
[ "$ntcp" -eq "$nrec" ]; ok $? "TCP (octet counting): rsyslog got $ntcp of $nrec records"
perl -MJSON::PP -ne '
	/^<(\d+)>1 \S+ \S+ netseg \d+ FLOW_\w+ - \xEF\xBB\xBF(.*)$/ or die "bad header: $_";
	my $o = JSON::PP->new->decode($2);
	$o->{class_uid} == 4001 || $o->{class_uid} == 1008 or die "class_uid";
	$o->{metadata}{version} eq "1.8.0" or die "version";' "$T/udp.log"
ok $? "UDP records: RFC 5424 header, BOM, OCSF JSON, every one whole"
perl -ne 'length($_) - 1 <= 2048 or die "a datagram of ", length($_) - 1, " bytes\n";
	$cut++ if /\xE2\x80\xA6\[truncated\]/; END { $cut or die "nothing shortened\n" }' "$T/udp.log"
ok $? "UDP: records with the long rule fit 2048 bytes, shortened with a marker"
ctl -o json stats | perl -MJSON::PP -e '
	my ($s) = grep { $_->{sink} =~ /udp .*5514/ } @{JSON::PP->new->decode(join "", <>)->{flow_logs}};
	$s && $s->{truncated} >= 3 or die "stats: ", JSON::PP->new->encode($s // {});'
ok $? "stats: the UDP sink counts the records it shortened"
perl -ne '
	/^<(\d+)>1 \S+ \S+ netseg \d+ FLOW_\w+ - \xEF\xBB\xBF(CEF:0\|netseg\|netseg\|[^|]*\|[^|]+\|[^|]+\|\d+\|.*)$/
		or die "bad CEF line: $_";' "$T/tcp.log"
ok $? "TCP records: RFC 5424 + CEF:0 header, one per line"
grep -q 'cs2=allow frontend -> api:tcp/443' "$T/tcp.log" && grep -q '\\=' "$T/tcp.log"
ok $? "CEF escapes '=' in extension values"

# ---- netsegctl flows
out=$(ctl flows --verdict denied | head -3)
[ -n "$out" ] && ! grep -vq '"verdict":"denied"' <<<"$out"; ok $? "flows --verdict denied shows only denials"
ctl -o ocsf flows --verdict allowed | head -1 | grep -q '"class_uid":4001'; ok $? "flows -o ocsf"
ctl flows --identity nosuch | grep -q . && st=1 || st=0; ok $st "flows --identity filters"
# Stopped by kill -INT, not timeout(1): timeout follows its signal with a
# SIGCONT, which can cancel the SIGSTOP of LeakSanitizer's ptrace attach
# at exit in a sanitized build (make sanitize) and leave it spinning.
ip netns exec "$NODE" "$NETSEGCTL" -s "$T/run/netsegd.sock" \
	flows --follow >"$T/follow.out" 2>&1 </dev/null &
fpid=$!
sleep 0.5; reach frontend 198.18.2.2 8080
sleep 2; kill -INT $fpid
for _ in $(seq 100); do kill -0 $fpid 2>/dev/null || break; sleep 0.1; done
kill -9 $fpid 2>/dev/null	# still there after 10 s: a hang, st shows it
wait $fpid; st=$?
grep -q '"verdict":"denied"' "$T/follow.out"; ok $? "flows --follow streams live records"
ctl status >/dev/null && [ "$st" -eq 0 ]; ok $? "follower ends cleanly on SIGINT (exit $st); daemon fine after it went away"

# ---- flows: the whole history, many MiB of it, newest included
ctl deny "frontend->api:udp/7000,7001" --comment "$long_comment" >/dev/null
ok $? "deny udp/7000,7001 with a long comment"
# A follower that doesn't read (stopped) while the flood goes by: the
# daemon goes on, and the follower is told what the history overwrote.
ip netns exec "$NODE" "$NETSEGCTL" -s "$T/run/netsegd.sock" \
	flows --follow >"$T/slow.out" 2>"$T/slow.err" </dev/null &
spid=$!
sleep 0.5; kill -STOP $spid
nsx "$(pod_ns frontend)" perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(PeerAddr => "198.18.2.2:7000", Proto => "udp") or die;
	for (1 .. 9) { $s->send("x") for 1 .. 500; select undef, undef, undef, 0.2 }'
ctl status >/dev/null; ok $? "daemon answers while a follower is stopped"
kill -CONT $spid; sleep 3; kill -INT $spid
for _ in $(seq 100); do kill -0 $spid 2>/dev/null || break; sleep 0.1; done
kill -9 $spid 2>/dev/null; wait $spid
grep -q 'warning: [0-9]* flow records skipped' "$T/slow.err"
ok $? "a stopped follower is told what it missed: $(head -c 150 "$T/slow.err")"
sleep 1
echo x | nsx "$(pod_ns frontend)" timeout 2 socat - UDP:198.18.2.2:7001 2>/dev/null
sleep 1
ctl -o ocsf flows >"$T/flows.ocsf" 2>"$T/flows.err"; st=$?
n=$(wc -l <"$T/flows.ocsf"); sz=$(wc -c <"$T/flows.ocsf")
[ "$st" -eq 0 ] && [ "$n" -eq 4096 ]; ok $? "flows -o ocsf: all 4096 records of the history ($n, $sz bytes, exit $st)"
perl -MJSON::PP -ne 'JSON::PP->new->decode($_)->{class_uid} or die' "$T/flows.ocsf"
ok $? "... each one OCSF JSON"
tail -5 "$T/flows.ocsf" | grep -q '"port":7001'; ok $? "... the newest included, at the end"
[ ! -s "$T/flows.err" ]; ok $? "... and nothing skipped ($(head -c 200 "$T/flows.err"))"
kill "$(cat "$T/rsyslog.pid")" 2>/dev/null
done_testing
