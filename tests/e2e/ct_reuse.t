#!/usr/bin/env bash
# Conntrack bookkeeping with real TCP: a client reconnecting from one
# source port reuses its closed flow's tuple, and each new flow replaces
# the old entry (ct-new and ct-replaced, the table doesn't grow).  The
# daemon's eviction estimate (ct-new - ct-replaced - expired - entries)
# must see no eviction in a table of a handful of entries, and the
# "conntrack table is full" warning must not fire.  A lone ACK with a bad
# checksum to an allowed port (the server drops it, no RST comes back)
# leaves a short-lived MIDSTREAM entry, not an established one.
. "$(dirname "$0")/../lib/netns.sh"
need_root
command -v bpftool >/dev/null || bail "missing bpftool: run 'make deps'"
perl -MJSON::PP -e1 2>/dev/null || bail "perl JSON::PP missing: run 'make deps'"
frontend_api_pods
API=198.18.2.2
SPORT=$((30000 + RANDOM % 20000))

json_get() {
	perl -MJSON::PP -e 'my $v = decode_json(join "", <STDIN>);
		for my $k (@ARGV) { $v = ref $v eq "ARRAY" ? $v->[$k] : $v->{$k} }
		print ref $v ? encode_json($v) : $v' "$@"
}
counter() { ctl -o json stats | json_get counters "$1" packets; }
ctstat() { ctl -o json stats | json_get conntrack "$1"; }
ct_entry_state() {	# the tcp_state of the TCP entry with port $1, or nothing
	bpftool -j map dump pinned "$T/bpf/netseg/ns_ct" |
		perl -MJSON::PP -e 'my $p = unpack("v", pack("n", $ARGV[0]));	# __be16 as printed
		for my $e (@{decode_json(join "", <STDIN>)}) {
			my ($k, $v) = ($e->{formatted}{key}, $e->{formatted}{value});
			next unless $k->{proto} == 6 && ($k->{a_port} == $p || $k->{b_port} == $p);
			print $v->{tcp_state}; exit }' "$1"
}

start_daemon || bail "netsegd didn't start"
ctl identity add frontend --iface "$(pod_if frontend)" --cidr 198.18.1.2/32 >/dev/null &&
	ctl identity add api --iface "$(pod_if api)" --cidr 198.18.2.2/32 >/dev/null &&
	ctl allow 'frontend->api:443' >/dev/null || bail "setting up identities and the rule failed"

new0=$(counter ct-new) rep0=$(counter ct-replaced)
got=0
for i in 1 2 3 4 5; do
	out=$(nsx "$(pod_ns frontend)" timeout 3 socat -T1 - \
		"TCP:$API:443,sourceport=$SPORT,reuseaddr,connect-timeout=1" </dev/null 2>/dev/null)
	[ "$out" = pong ] && got=$((got + 1))
	sleep 0.2
done
[ "$got" -eq 5 ]; ok $? "5 connections frontend:$SPORT -> api:443, one source port ($got answered)"
new=$(counter ct-new) rep=$(counter ct-replaced)
[ $((rep - rep0)) -ge 4 ]
ok $? "each reconnect replaced the closed flow's entry: ct-new +$((new - new0)), ct-replaced +$((rep - rep0))"
sleep 2.5	# two GC walks (one a second)
ents=$(ctstat entries) ev=$(ctstat evicted)
[ "$ents" -le 5 ] && [ "$ev" -eq 0 ]
ok $? "stats: conntrack $ents entries, evicted $ev (none: the table is nowhere near full)"
! grep -q "conntrack table is full" "$T/netsegd.log"
ok $? "no 'conntrack table is full' warning ($(grep -m1 -o 'conntrack table is full.*' "$T/netsegd.log"))"

# A lone ACK (no connection) with a bad checksum: TC sees it before the
# server's kernel drops it, and nothing comes back.
LPORT=$((SPORT + 1))
mid0=$(counter ct-midstream)
nsx "$(pod_ns frontend)" timeout 5 perl -MSocket -e '
	my ($src, $dst, $sp, $dp) = @ARGV;
	socket(my $s, PF_INET, SOCK_RAW, 6) or die "raw socket: $!";
	# TCP header only (the kernel adds IP): ACK, seq 1, ack 1, window 512.
	my $h = pack("nnNNnnnn", $sp, $dp, 1, 1, (5 << 12) | 0x10, 512, 0, 0);
	my $ph = pack("a4a4CCn", inet_aton($src), inet_aton($dst), 0, 6, length $h);
	my $sum = 0; $sum += $_ for unpack("n*", $ph . $h);
	$sum = ($sum & 0xffff) + ($sum >> 16) while $sum >> 16;
	substr($h, 16, 2) = pack("n", (~$sum ^ 0x5a5a) & 0xffff);	# wrong on purpose
	send($s, $h, 0, pack_sockaddr_in($dp, inet_aton($dst))) or die "send: $!";
	' 198.18.1.2 $API "$LPORT" 443 || bail "couldn't send a lone ACK from the frontend pod"
sleep 0.3
mid=$(counter ct-midstream)
[ "$mid" -gt "$mid0" ]; ok $? "a lone ACK to api:443 is picked up mid-stream (ct-midstream $mid0 -> $mid)"
st=$(ct_entry_state "$LPORT")
# enum netseg_tcp_state: 2 ESTABLISHED (6 hours), 4 MIDSTREAM (60 s)
[ "$st" = 4 ]; ok $? "its entry is MIDSTREAM (state $st), short-lived until a reply that never comes"

done_testing
