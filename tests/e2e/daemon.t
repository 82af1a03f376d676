#!/usr/bin/env bash
# netsegd end to end (issue: policy, daemon, atomic apply): in a node
# namespace with its own bpffs, real TCP between pod namespaces; rules
# survive a restart and a kill -9, and stay enforced while no daemon runs.
# Bad input is refused with a clear message and changes nothing.
. "$(dirname "$0")/../lib/netns.sh"
need_root
frontend_api_pods
API=198.18.2.2

start_daemon; ok $? "netsegd starts in the node namespace"
ctl identity add frontend --iface "$(pod_if frontend)" --cidr 198.18.1.2/32 >/dev/null
ok $? "identity frontend (interface + its /32)"
ctl identity add api --iface "$(pod_if api)" --cidr 198.18.2.2/32 >/dev/null
ok $? "identity api"

! reach frontend $API 443; ok $? "default deny: frontend -> api:443 blocked before any rule"
out=$(ctl allow 'frontend->api:443'); ok $? "allow frontend->api:443 ($out)"
rule_id=$(sed -n 's/^added rule \([0-9][0-9]*\) (revision [0-9]*)$/\1/p' <<<"$out")
reach frontend $API 443; ok $? "frontend -> api:443 connects"
! reach frontend $API 8080; ok $? "frontend -> api:8080 still blocked"
! reach api 198.18.1.2 443; ok $? "api -> frontend blocked (rules are directional)"

revision() { ctl -o json status | grep -o '"revision":[[:space:]]*[0-9]*' | grep -o '[0-9]*$'; }
rev=$(revision)
[ -n "$rev" ]; ok $? "status reports revision $rev" 
list_before=$(ctl list)

# ---- bad input: each refused, message checked, nothing changed
check_refused() {	# check_refused EXPECTED-EXIT PATTERN DESCRIPTION -- ARGS...
	local want=$1 pat=$2 what=$3; shift 4
	local out st
	out=$(ctl "$@" 2>&1); st=$?
	[ "$st" -eq "$want" ] && grep -q -- "$pat" <<<"$out"
	ok $? "$what (exit $st: $(head -1 <<<"$out"))"
}
check_refused 1 'did you mean "frontend"' "unknown identity suggests a name" -- allow 'frontnd->api:443'
check_refused 1 'out of range' "port 0 refused" -- allow 'frontend->api:0'
check_refused 1 'out of range' "port 70000 refused" -- allow 'frontend->api:70000'
check_refused 1 'revers\|greater\|before' "reversed range refused" -- allow 'frontend->api:9000-8000'
check_refused 1 'CIDR\|address\|prefix' "bad CIDR refused" -- allow 'frontend->198.18.0.0/33:443'
# identity --cidr and prefilter go through the rule parser's CIDR code: what and where
check_refused 1 'identity office: CIDR "198.18.0.0/33", column 12: prefix length 33 out of range 0-32' \
	"identity add --cidr /33: says the prefix length and its column" -- identity add office --cidr 198.18.0.0/33
check_refused 1 'host bits set in 198.18.1.0/16; did you mean 198.18.0.0/16?' \
	"identity add --cidr with host bits: suggests the network" -- identity add office --cidr 198.18.1.0/16
check_refused 1 'identity web: selector "app=web,tier in (front", column 23: expected' \
	"identity add --selector: says the column and what was expected" -- identity add web --selector 'app=web,tier in (front'
check_refused 1 'identity web: namespace "Shop" must be a DNS label' \
	"identity add --namespace: a DNS label" -- identity add web --selector app=web --namespace Shop
check_refused 2 '--namespace limits --selector' \
	"identity add --namespace without --selector: a usage error" -- identity add web --namespace shop
check_refused 1 'prefilter CIDR "fd00:::1/64", column 1: "fd00:::1" is not a valid IPv6 address' \
	"prefilter add: says which address is bad" -- prefilter add fd00:::1/64
check_refused 1 'protocol' "unknown protocol refused" -- allow 'frontend->api:gre/1'
check_refused 1 'ICMP type' "ICMP type > 255 refused" -- allow 'frontend->api:icmp/256'
check_refused 1 'icmp' "ports on icmp refused" -- allow 'frontend->api:icmp/8,9'
check_refused 1 'no rule' "remove of a missing id refused" -- remove 999
printf "allow frontend->api:70000\\nallow frontend->api:80\\ndeny frontend->api:tcp/9-3\\nallow frontend->api:icmp/300\\n" >"$T/bad.rules"
out=$(ctl apply -f "$T/bad.rules" 2>&1); st=$?
n=$(grep -c "bad.rules:[0-9]*:[0-9]*:" <<<"$out")
[ $st -eq 1 ] && [ "$n" -eq 3 ]
ok $? "a rules file with syntax errors reports each with file:line:col ($n found) and applies nothing"
printf 'allow frontend->api:443\nallow frontend->nosuch:22\n' >"$T/unknown.rules"
out=$(ctl apply -f "$T/unknown.rules" 2>&1); st=$?
[ $st -eq 1 ] && grep -q nosuch <<<"$out"
ok $? "a rules file naming an unknown identity is refused whole"
check_refused 1 'revision' "--expect-revision mismatch refused" -- apply -f "$T/unknown.rules" --expect-revision 12345
out=$(ctl allow 'frontend->api:443' 2>&1); st=$?
is "exit $st: $out" "exit 0: rule ${rule_id:-?} already exists, nothing changed (revision $rev)" \
	"duplicate rule is idempotent and returns the existing id"
[ "$(ctl list)" = "$list_before" ]; ok $? "rule list unchanged after all bad input"
rev2=$(revision)
[ "$rev" = "$rev2" ]; ok $? "revision unchanged after all bad input ($rev)"

# ---- control socket abuse
sock="$T/run/netsegd.sock"
reply=$(echo "this is not json" | nsx "$NODE" timeout 4 socat -t3 - "UNIX-CONNECT:$sock")
grep -q '"ok":false' <<<"$reply"; ok $? "non-JSON request gets an error reply"
# 17.5 MiB with no newline: the daemon answers past 16 MiB and hangs up.
nsx "$NODE" timeout 10 perl -MIO::Socket::UNIX -e '
	my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die;
	$SIG{PIPE} = "IGNORE"; my $chunk = "x" x 65536;
	for (1 .. 280) { last unless defined $s->send($chunk); }
	print scalar <$s>;' "$sock" >"$T/big.out" 2>/dev/null
grep -q 'longer than' "$T/big.out"; ok $? "oversized request gets an error reply: $(cut -c1-80 "$T/big.out")"
printf '{"cmd":"sta' | nsx "$NODE" timeout 2 socat - "UNIX-CONNECT:$sock" >/dev/null 2>&1
# cJSON ends a string at a NUL: "x\u0000y" would quietly be the name "x".
raw() { nsx "$NODE" timeout 4 socat -t3 - "UNIX-CONNECT:$sock"; }
reply=$(printf '%s\n' '{"cmd":"identity.add","name":"x\u0000y"}' | raw)
grep -q '"ok":false' <<<"$reply" && grep -q 'contains a NUL byte' <<<"$reply"
ok $? "an identity name holding \\u0000 is refused, saying so ($reply)"
reply=$(printf '{"cmd":"identity.add","name":"x"}\0y\n' | raw)
grep -q '"ok":false' <<<"$reply" && grep -q 'contains a NUL byte' <<<"$reply"
ok $? "a request line holding a raw NUL byte is refused ($reply)"
reply=$(printf '%s\n' '{"cmd":"status","note":"a\\u0000b"}' | raw)
grep -q '"ok":true' <<<"$reply"; ok $? "an escaped backslash before u0000 is no NUL: accepted"
names=$(ctl -o json identity list | perl -MJSON::PP -e '
	print join ",", map { $_->{name} } @{decode_json(join "", <STDIN>)->{identities}}')
[ "$names" = "frontend,api" ]; ok $? "no identity x was created ($names)"
ctl status >/dev/null; ok $? "daemon alive after half-sent, oversized and garbage requests"
# Let the kernel's file permissions through, so SO_PEERCRED is what refuses.
chmod 0755 "$T" "$T/run"; chmod 0666 "$sock"
out=$(nsx "$NODE" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$NETSEGCTL" -s "$sock" list 2>&1); st=$?
[ $st -eq 1 ] && grep -q "accepts root and members of group" <<<"$out"
ok $? "a non-root, non-netseg user is refused by SO_PEERCRED ($out)"
chmod 0660 "$sock"; chmod 0700 "$T"

# ---- an identity of pods by label selector: canonical, kept across a restart
sel_of() {	# sel_of NAME: "selector|namespace" of an identity, from -o json
	ctl -o json identity list | perl -MJSON::PP -e '
	for (@{decode_json(join "", <STDIN>)->{identities}}) {
		print "$_->{selector}|$_->{namespace}" if $_->{name} eq $ARGV[0] }' "$1"
}
out=$(ctl identity add web --selector 'tier in (front, back),app=web' --namespace shop --cidr 198.18.5.0/24)
ok $? "identity add web --selector ... --namespace shop --cidr ... ($out)"
is "$(sel_of web)" "app=web,tier in (back,front)|shop" "... its selector in canonical form, its namespace"
ctl identity list | grep -q 'cidr:198.18.5.0/24 pods\[shop\]:app=web,tier in (back,front)'
ok $? "identity list: both kinds of members ($(ctl identity list | grep web))"
out=$(ctl identity set web --namespace '' --selector 'app=web'); ok $? "identity set web --selector --namespace ''"
is "$out" 'identity web: selector: "app=web,tier in (back,front)" → "app=web", namespace: shop → (every namespace) (revision '"$(revision)"')' \
	"... prints both changes"
check_refused 1 'identity web: selector "app in", column 7' \
	"identity set --selector: a bad one refused with the column" -- identity set web --selector 'app in'
is "$(sel_of web)" "app=web|" "... and nothing changed"

# ---- restart: rules listed and enforced, no gap
stop_daemon TERM
reach frontend $API 443; ok $? "no daemon (SIGTERM): allowed flow still passes"
! reach frontend $API 8080; ok $? "no daemon (SIGTERM): denied flow still blocked"
start_daemon; ok $? "netsegd restarts"
grep -q 'frontend -> api:tcp/443' <<<"$(ctl list)"; ok $? "rule still listed after restart"
is "$(sel_of web)" "app=web|" "identity web's selector kept in the state file"
grep -q '"selector": *"app=web"' "$T/state/"*.json; ok $? "... as \"selector\" in it"
out=$(ctl identity set web --remove-selector); ok $? "identity set web --remove-selector ($out)"
is "$(sel_of web)" "|" "... no selector, no namespace"
ctl identity remove web >/dev/null; ok $? "identity remove web"
reach frontend $API 443; ok $? "still allowed after restart"
! reach frontend $API 8080; ok $? "still denied after restart"

# ---- one netsegd per pin dir and per control socket
# A second one would drive the same maps, or take the socket over and leave
# the first unreachable.
second() {	# second ARGS...: another netsegd in the node namespace, bounded
	nsenter --net="/run/netns/$NODE" timeout 30 "$NETSEGD" --state-dir "$T/state2" "$@" \
		2>&1 </dev/null
}
out=$(second --run-dir "$T/run2" --bpffs "$T/bpf/netseg"); st=$?
[ $st -eq 1 ] && grep -q "another netsegd (pid $DAEMON_PID) is running on pin dir $T/bpf/netseg;" <<<"$out"
ok $? "a second netsegd on the same pin dir (its own socket) is refused, naming the first (exit $st: $out)"
out=$(second --run-dir "$T/run" --bpffs "$T/bpf/other"); st=$?
[ $st -eq 1 ] && [ ! -e "$T/bpf/other" ] &&
	grep -q "another netsegd (pid $DAEMON_PID) is running on control socket $T/run/netsegd.sock;" <<<"$out"
ok $? "... and one on the same socket (its own pin dir, not created) (exit $st: $out)"
out=$(nsx "$NODE" timeout 30 "$NETSEGD" --state-dir "$T/state" --run-dir "$T/run" \
	--bpffs "$T/bpf/netseg" --cleanup 2>&1); st=$?
[ $st -eq 1 ] && grep -q "(pid $DAEMON_PID) is running on pin dir .*stop it before --cleanup" <<<"$out"
ok $? "netsegd --cleanup is refused while a daemon runs on the pin dir (exit $st: $out)"
ctl status >/dev/null && reach frontend $API 443 && ! reach frontend $API 8080
ok $? "the running daemon still answers and enforces"

# ---- kill -9 with a long-lived connection open
nsx "$(pod_ns frontend)" timeout 20 socat -T15 - "TCP:$API:443" </dev/null >"$T/long.out" 2>&1 &
stop_daemon KILL
reach frontend $API 443; ok $? "after kill -9: allowed flow passes"
! reach frontend $API 8080; ok $? "after kill -9: denied flow blocked"
start_daemon; ok $? "netsegd starts after kill -9"
[ "$(cat "$T/run/netsegd.sock.lock")" = "$DAEMON_PID" ]
ok $? "... taking over the killed daemon's locks (the lock file names the new pid)"
grep -q 'frontend -> api:tcp/443' <<<"$(ctl list)"; ok $? "rule listed after kill -9"
reach frontend $API 443; ok $? "enforced after kill -9 + restart"

# ---- removing the allow rule cuts it; trace explains
ctl trace frontend api tcp/443 | grep -q 'allow'; ok $? "trace: frontend api tcp/443 allowed by its rule"
ctl remove 'frontend->api:443' >/dev/null; ok $? "remove the rule by its text"
! reach frontend $API 443; ok $? "frontend -> api:443 blocked again"
ctl trace frontend api tcp/443 | grep -q 'default'; ok $? "trace: now default deny"

# ---- a bare address is a host prefix; trace --exit-code gates on the verdict
ctl identity add office --cidr 198.18.9.9 >/dev/null; ok $? "identity add --cidr 198.18.9.9 (bare address)"
ctl identity list | grep -q 'cidr:198.18.9.9/32'; ok $? "bare address stored as 198.18.9.9/32"
ctl identity add office6 --cidr fd00::9 >/dev/null && ctl identity list | grep -q 'cidr:fd00::9/128'
ok $? "bare IPv6 address stored as fd00::9/128"
ctl prefilter add 198.18.7.7 >/dev/null && ctl prefilter list | grep -q '198.18.7.7/32' &&
	ctl prefilter remove 198.18.7.7/32 >/dev/null
ok $? "prefilter add 198.18.7.7 = 198.18.7.7/32"
ctl trace frontend api tcp/443 --exit-code >/dev/null; st=$?
[ $st -eq 1 ]; ok $? "trace --exit-code of a default deny: exit 1 (got $st)"
ctl list | head -1 | grep -q 'PACKETS  BYTES'; ok $? "list shows per-rule counters"
ctl status | grep -q '^revision  *[0-9]* (the [0-9]*[a-z][a-z] accepted change)'; ok $? "status explains the revision"
# ---- control connections: a per-uid cap, some kept for root, idle ones closed
# nobody (group nogroup, the socket's group here) holds 300 idle connections.
stop_daemon TERM
printf '{"socket_group": "nogroup"}\n' >"$T/ctl.json"
start_daemon -c "$T/ctl.json"; ok $? "netsegd restarts with socket_group nogroup"
chmod 0755 "$T" "$T/run"
hog() {	# hog N: N connections as nobody; says how they fared, then waits
	nsx "$NODE" setpriv --reuid=nobody --regid=nogroup --clear-groups timeout 90 perl \
		-MIO::Socket::UNIX -MIO::Select -MTime::HiRes=time,sleep -e '
	my ($path, $n) = @ARGV; my (@s, %gone); $| = 1;
	for (1 .. $n) { push @s, IO::Socket::UNIX->new(Peer => $path) // last; }
	my ($refused, $t0) = (0, time);
	# Refused ones get a line, then EOF; wait until all but the cap did.
	while (time - $t0 < 15 && keys %gone < @s - 64) {
		for my $i (0 .. $#s) {
			next if $gone{$i} || !IO::Select->new($s[$i])->can_read(0);
			my $l = readline($s[$i]); $gone{$i} = 1;
			$refused++ if defined $l && $l =~ /refused the connection: this uid holds/;
		}
		sleep 0.1;
	}
	printf "connected %d refused %d open %d\n", scalar @s, $refused, @s - keys %gone;
	# The open ones: closed by the daemon once idle past its timeout.
	my ($closed, $t1) = (0, time);
	while (time - $t1 < 60 && keys %gone < @s) {
		for my $i (0 .. $#s) {
			next if $gone{$i} || !IO::Select->new($s[$i])->can_read(0);
			$gone{$i} = 1; $closed++;
		}
		sleep 0.1;
	}
	printf "closed %d after %.1f s\n", $closed, time - $t1;' "$T/run/netsegd.sock" "$1"
}
hog 300 >"$T/hog.out" 2>&1 &
HOG=$!
for _ in $(seq 200); do grep -q connected "$T/hog.out" && break; sleep 0.1; done
grep -q "connected 300 refused 236 open 64" "$T/hog.out"
ok $? "300 connections of one uid: 64 kept, 236 refused with a reason ($(head -1 "$T/hog.out"))"
ctl status >/dev/null; ok $? "root's netsegctl status still gets through"
out=$(nsx "$NODE" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$NETSEGCTL" -s "$sock" status 2>&1); st=$?
[ $st -ne 0 ] && grep -q "refused the connection: this uid holds the most" <<<"$out"
ok $? "nobody's 65th connection is told why it is refused (exit $st: $out)"
# Idle ones are closed: reload with a 2 s timeout; a follower stays.
ctl flows --follow >/dev/null 2>&1 &
FOLLOW=$!
printf '{"socket_group": "nogroup", "control_idle_timeout": 2}\n' >"$T/ctl.json"
kill -HUP "$DAEMON_PID"
for _ in $(seq 300); do grep -q closed "$T/hog.out" && break; sleep 0.1; done
grep -q "closed 64 after" "$T/hog.out"
ok $? "control_idle_timeout 2 (SIGHUP): the 64 idle connections are closed ($(tail -1 "$T/hog.out"))"
sleep 3	# the follower too has been quiet for longer than the timeout
kill -0 "$FOLLOW" 2>/dev/null; ok $? "a 'flows --follow' stream quiet for as long is left open"
kill "$FOLLOW" "$HOG" 2>/dev/null; wait "$FOLLOW" "$HOG" 2>/dev/null
g=$(ctl -o json stats | perl -MJSON::PP -e '
	my $g = decode_json(join "", <STDIN>)->{daemon};
	print "$g->{control_refused} $g->{control_timed_out} $g->{control_nul_refused}"')
read -r refused timed_out nul <<<"$g"
[ "${refused:-0}" -ge 237 ] && [ "${timed_out:-0}" -ge 64 ]
ok $? "stats: $refused refused, $timed_out timed out"
ctl stats | grep -q "control clients: $refused refused, $timed_out timed out"
ok $? "netsegctl stats shows them ($(ctl stats | grep '^daemon'))"
chmod 0700 "$T"

stop_daemon TERM
nsx "$NODE" "$NETSEGD" --state-dir "$T/state" --run-dir "$T/run" --bpffs "$T/bpf/netseg" --cleanup >/dev/null 2>&1
ok $? "netsegd --cleanup"
left=$(cd "$T/bpf" && find . -mindepth 1 ! -name '*.debug' | tr '\n' ' ')
[ -z "$left" ]; ok $? "nothing left pinned after --cleanup ($left)"
# Unpinned links are released after an RCU grace period: allow a moment.
for _ in 1 2 3 4 5 6 7 8 9 10; do reach frontend $API 8080 && break; sleep 0.2; done
reach frontend $API 8080; ok $? "after --cleanup nothing is enforced"
done_testing
