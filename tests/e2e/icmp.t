#!/usr/bin/env bash
# Forged ICMP errors: a pod holding an allowed flow (frontend -> api:443)
# must not reach a third pod's raw socket (db's) by quoting that flow in an
# ICMP error: port unreachable (v4) and a 1 KB packet-too-big (v6).  An
# error is related to a flow only when it goes to the quoted packet's sender
# (include/netseg/bpf/classify.h, icmp_related()); this one is an ICMP
# packet frontend -> db for the policy, which has no rule for it.  Control:
# with a rule allowing it, the same errors do arrive, so the listener sees
# what gets through.
. "$(dirname "$0")/../lib/netns.sh"
need_root
command -v perl >/dev/null || bail "missing perl"
make_node
make_pod frontend 1
make_pod api 2
make_pod db 3
serve api tcp 443
serve api tcp6 443
wait_port api 443 || bail "server didn't start"
start_daemon || bail "netsegd didn't start"
for p in frontend api db; do
	i=$(( $(printf '%s\n' frontend api db | grep -n "^$p$" | cut -d: -f1) ))
	ctl identity add "$p" --iface "$(pod_if "$p")" --cidr "198.18.$i.2/32" \
		--cidr "fd00::$i:2/128" >/dev/null || bail "identity $p"
done
ctl allow 'frontend -> api:443' >/dev/null || bail "allow frontend -> api:443"

FE4=198.18.1.2 API4=198.18.2.2 DB4=198.18.3.2
FE6=fd00::1:2 API6=fd00::2:2 DB6=fd00::3:2
SPORT=40443

# listen AF SECONDS: counts, on a raw socket in db, ICMP errors quoting
# frontend:$SPORT -> api:443 (v4: port unreachable, v6: packet too big).
cat >"$T/listen.pl" <<'EOF'
use strict; use Socket qw(inet_pton AF_INET AF_INET6 SOCK_RAW);
my ($af, $secs, $fe, $api, $sport) = @ARGV;
my $v6 = $af == 6;
socket(my $s, $v6 ? AF_INET6 : AF_INET, SOCK_RAW, $v6 ? 58 : 1) or die "raw socket: $!";
my ($n, $end) = (0, time + $secs);
while ((my $left = $end - time) > 0) {
	my $rin = ''; vec($rin, fileno($s), 1) = 1;
	select(my $rout = $rin, undef, undef, $left) or next;
	defined(recv($s, my $b, 4096, 0)) or next;
	my $icmp = $v6 ? $b : substr($b, (ord($b) & 15) * 4);	# v4: after the IP header
	my ($type) = unpack('C', $icmp);
	next unless $type == ($v6 ? 2 : 3);
	my $q = substr($icmp, 8);
	my ($src, $dst, $l4) = $v6 ? (substr($q, 8, 16), substr($q, 24, 16), substr($q, 40)) :
				     (substr($q, 12, 4), substr($q, 16, 4), substr($q, 20));
	my ($sp, $dp) = unpack('nn', $l4);
	$n++ if $src eq inet_pton($v6 ? AF_INET6 : AF_INET, $fe) &&
		$dst eq inet_pton($v6 ? AF_INET6 : AF_INET, $api) && $sp == $sport && $dp == 443;
}
print "$n\n";
EOF

# forge AF: from frontend, an ICMP error to db quoting frontend:$SPORT -> api:443.
cat >"$T/forge.pl" <<'EOF'
use strict; use Socket qw(inet_pton pack_sockaddr_in pack_sockaddr_in6 AF_INET AF_INET6 SOCK_RAW);
my ($af, $fe, $api, $db, $sport) = @ARGV;
my $v6 = $af == 6;
my $tcp = pack('nnN', $sport, 443, 1);
sub csum { my $s = 0; $s += $_ for unpack('n*', $_[0] . (length($_[0]) % 2 ? "\0" : ''));
	   $s = ($s & 0xffff) + ($s >> 16) while $s >> 16; return ~$s & 0xffff; }
socket(my $s, $v6 ? AF_INET6 : AF_INET, SOCK_RAW, $v6 ? 58 : 1) or die "raw socket: $!";
my ($msg, $to);
if ($v6) {
	# packet too big, MTU 1280, the quoted header and 1 KB (the kernel sums ICMPv6)
	my $ip = pack('NnCC', 0x60000000, 1032, 6, 64) . inet_pton(AF_INET6, $fe) .
		 inet_pton(AF_INET6, $api);
	$msg = pack('CCnN', 2, 0, 0, 1280) . $ip . $tcp . ("\x5a" x 1024);
	$to = pack_sockaddr_in6(0, inet_pton(AF_INET6, $db));
} else {
	my $ip = pack('CCnnnCCn', 0x45, 0, 48, 1, 0, 64, 6, 0) . inet_pton(AF_INET, $fe) .
		 inet_pton(AF_INET, $api);
	$ip = substr($ip, 0, 10) . pack('n', csum($ip)) . substr($ip, 12);
	$msg = pack('CCnN', 3, 3, 0, 0) . $ip . $tcp;
	$msg = substr($msg, 0, 2) . pack('n', csum($msg)) . substr($msg, 4);
	$to = pack_sockaddr_in(0, inet_pton(AF_INET, $db));
}
send($s, $msg, 0, $to) or die "send: $!";
EOF

# try AF: the flow (so conntrack holds it), then the forged error; prints
# how many copies db's raw socket got.
try() {
	local af=$1 fe=$FE4 api=$API4 db=$DB4 out
	[ "$af" = 6 ] && fe=$FE6 api=$API6 db=$DB6
	nsx "$(pod_ns db)" timeout 10 perl "$T/listen.pl" "$af" 3 "$fe" "$api" "$SPORT" \
		>"$T/heard" 2>"$T/listen.err" &
	local lpid=$!
	sleep 0.5
	if [ "$af" = 6 ]; then
		out=$(nsx "$(pod_ns frontend)" timeout 3 socat -T1 - \
			"TCP6:[$api]:443,sourceport=$SPORT,reuseaddr,connect-timeout=1" </dev/null 2>/dev/null)
	else
		out=$(nsx "$(pod_ns frontend)" timeout 3 socat -T1 - \
			"TCP:$api:443,sourceport=$SPORT,reuseaddr,connect-timeout=1" </dev/null 2>/dev/null)
	fi
	[ "$out" = pong ] || diag "v$af: frontend -> api:443 got '$out'"
	for _ in 1 2 3; do
		nsx "$(pod_ns frontend)" timeout 3 perl "$T/forge.pl" "$af" "$fe" "$api" "$db" \
			"$SPORT" || diag "v$af: sending the forged error failed"
	done
	wait "$lpid"
	[ -s "$T/listen.err" ] && diag "listener: $(cat "$T/listen.err")"
	cat "$T/heard"
}

n=$(try 4); [ "$n" = 0 ]
ok $? "v4: frontend's port-unreachable to db quoting frontend -> api:443 never reaches db ($n of 3)"
n=$(try 6); [ "$n" = 0 ]
ok $? "v6: frontend's 1 KB packet-too-big to db quoting frontend -> api:443 never reaches db ($n of 3)"
ctl trace frontend db icmp/3 | grep -q 'deny'
ok $? "netsegctl trace frontend db icmp/3 agrees: denied ($(ctl trace frontend db icmp/3))"

# Control: allowed by policy, the same errors arrive.
ctl allow 'frontend -> db:icmp/3' >/dev/null && ctl allow 'frontend -> db:icmpv6/2' >/dev/null ||
	bail "allow frontend -> db:icmp/3, icmpv6/2"
n=$(try 4); [ "$n" -ge 1 ] 2>/dev/null
ok $? "control: with 'allow frontend -> db:icmp/3' db hears the v4 error ($n of 3)"
n=$(try 6); [ "$n" -ge 1 ] 2>/dev/null
ok $? "control: with 'allow frontend -> db:icmpv6/2' db hears the v6 error ($n of 3)"
done_testing
