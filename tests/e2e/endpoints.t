#!/usr/bin/env bash
# Endpoints learned from rtnetlink (issue: netlink-aware endpoints).
# Identities without --cidr: pods selected by interface glob or by alias,
# their IPs learned from host routes, neighbours and peer addresses; real
# TCP v4/v6 default-denied, then allowed by a rule; the node's own addresses
# resolve to host; a spoofed source is dropped as spoofed; learning latency
# measured; claims are refcounted (a --cidr /32 outlives a route on it);
# rename, alias changes and identities added later re-evaluate interfaces; a
# pod recreated with a new IP is enforced again within a second; malformed
# netlink messages are refused; a cgroup made later (and made again) is
# picked up; 1,000 pods come and go and the maps hold exactly what they held
# before; lost events (a tiny socket buffer) and changes while the daemon
# was down are recovered by a dump.
. "$(dirname "$0")/../lib/netns.sh"
need_root
command -v bpftool >/dev/null || bail "missing bpftool: run 'make deps'"
perl -MJSON::PP -e1 2>/dev/null || bail "missing perl JSON::PP: run 'make deps'"

make_node
make_pod frontend 1
make_pod api 2
serve_api() { for p in 443 8080; do serve api tcp $p; serve api tcp6 $p; done; }
serve_api
# A server on the node itself: 198.18.0.1 and fd00::1 sit on each pod veth.
for a in TCP-LISTEN:9100 TCP6-LISTEN:9100,ipv6only=1; do
	nsx "$NODE" timeout 600 socat "$a,fork,reuseaddr" SYSTEM:'echo pong' \
		>/dev/null 2>&1 </dev/null & disown $!
done
wait_port api 443 && wait_port api 8080 || bail "servers didn't start"
for _ in $(seq 50); do nsx "$NODE" ss -ltn | grep -q ':9100 ' && break; sleep 0.05; done
# KEEP_LOG=FILE: keep the daemon's log for a look after the run.
[ -n "$KEEP_LOG" ] && AT_CLEANUP+=("cp '$T/netsegd.log' '$KEEP_LOG'")

MAPS="$T/bpf/netseg"
FE_IF=$(pod_if frontend)

# ------------------------------------------------------------- helpers

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# until_ms T0 LIMIT CMD...: retry CMD until it succeeds; print ms since T0.
until_ms() {
	local t0=$1 limit=$2; shift 2
	while ! "$@"; do
		[ $(($(now_ms) - t0)) -ge "$limit" ] && return 1
		sleep 0.005
	done
	echo $(($(now_ms) - t0))
}

# One sorted line per ipcache entry: "PREFIX id=N if=M".
ipcache() {
	bpftool -j map dump pinned "$MAPS/ns_ipcache" | perl -MJSON::PP \
		-MSocket=inet_ntop,AF_INET,AF_INET6 -e '
		for (@{decode_json(join "", <STDIN>)}) {
			my ($k, $v) = @{$_->{formatted}}{qw(key value)};
			my $v4 = $k->{family} == 4;
			my @b = @{$k->{addr}}[0 .. ($v4 ? 3 : 15)];
			printf "%s/%d id=%d if=%d\n", inet_ntop($v4 ? AF_INET : AF_INET6,
				pack("C*", @b)), $k->{prefixlen} - 32, $v->{id}, $v->{ifindex};
		}' | sort
}
# "KEY id=N" per entry of a hash map keyed by a number (endpoints, cgroups).
idmap() {
	bpftool -j map dump pinned "$MAPS/$1" | perl -MJSON::PP -e '
		printf "%s id=%d\n", $_->{formatted}{key}, $_->{formatted}{value}{id}
			for @{decode_json(join "", <STDIN>)}' | sort
}
has_ip() { ipcache | grep -qxF -- "$1"; }
# Quicker, for timing: bpftool's LPM lookup of one /32 or /128 (3 ms a try).
lpm_key() {
	perl -MSocket=inet_pton,AF_INET,AF_INET6 -e '
		my $v6 = $ARGV[0] =~ /:/;
		my $a = inet_pton($v6 ? AF_INET6 : AF_INET, $ARGV[0]) . "\0" x 12;
		print join " ", $v6 ? 160 : 64, 0, 0, 0, 0, 0, 0, $v6 ? 6 : 4,
			unpack("C16", $a)' "$1"
}
lookup_is() {	# lookup_is KEY ID IFINDEX
	bpftool -j map lookup pinned "$MAPS/ns_ipcache" key $1 2>/dev/null |
		grep -q "\"value\":{\"id\":$2,\"ifindex\":$3}"
}
lookup_none() { ! bpftool map lookup pinned "$MAPS/ns_ipcache" key $1 >/dev/null 2>&1; }
no_ip() { ! ipcache | grep -q -- "^$1 "; }
has_ep() { idmap ns_endpoints | grep -qxF -- "$1 id=$2"; }
no_ep() { ! idmap ns_endpoints | grep -q -- "^$1 "; }

# json_get FIELD...: a value from a JSON reply on stdin (path of keys).
json_get() {
	perl -MJSON::PP -e 'my $v = decode_json(join "", <STDIN>);
		$v = $v->{$_} for @ARGV; print ref $v ? encode_json($v) : $v' "$@"
}
id_of() {
	ctl -o json identity list | perl -MJSON::PP -e '
		print map { $_->{name} eq $ARGV[0] ? $_->{id} : () }
			@{decode_json(join "", <STDIN>)->{identities}}' "$1"
}
ifindex_of() { nsx "$NODE" cat "/sys/class/net/$1/ifindex"; }
nlstat() { ctl -o json status | json_get netlink "$1"; }
counter() { ctl -o json stats | json_get counters "$1" packets; }
# "NAME IDENTITY IPS ATTACHED" per endpoint of 'endpoint list'.
ep_rows() {
	ctl -o json endpoint list | perl -MJSON::PP -e '
		for (@{decode_json(join "", <STDIN>)->{endpoints}}) {
			print join(" ", $_->{name}, $_->{identity}, join(",", @{$_->{ips}}),
				join(",", @{$_->{attached}})), "\n";
		}'
}

# pod_again NAME I J: NAME's pod made anew with 198.18.I.J and fd00::I:J,
# the same alias netseg:NAME, on a new veth.  LEARN_MS: the ms from its last
# route to the ipcache entry for its IPv4 address.
pod_again() {
	local name=$1 i=$2 j=$3 ns="pod-$1-2-$RUN" host="v${1:0:3}2${RUN:0:6}"
	pod_link "$name" "$ns" "$host" "198.18.$i.$j" "fd00::$i:$j"
	nsx "$NODE" ip -6 route add "fd00::$i:$j/128" dev "$host"
	local id ix t0; id=$(id_of "$name") ix=$(ifindex_of "$host") t0=$(now_ms)
	nsx "$NODE" ip route add "198.18.$i.$j/32" dev "$host"
	eval "POD_NS_$name=$ns POD_IF_$name=$host"
	LEARN_MS=$(until_ms "$t0" 3000 has_ip "198.18.$i.$j/32 id=$id if=$ix")
}

# ------------------------------------------- identities without --cidr

# frontend by its name only (no alias), api by its alias only.
nsx "$NODE" ip link set "$FE_IF" alias ""
start_daemon; ok $? "netsegd starts in the node namespace"
ctl identity add frontend --iface 'vfront*' >/dev/null; ok $? "identity frontend --iface 'vfront*' (no --cidr)"
ctl identity add api >/dev/null; ok $? "identity api: no selector, its pod's alias netseg:api selects it"
FE=$(id_of frontend) API=$(id_of api)
FE_IX=$(ifindex_of "$FE_IF") API_IX=$(ifindex_of "$(pod_if api)")

has_ep "$FE_IX" "$FE"; ok $? "frontend's veth (ifindex $FE_IX) is an endpoint of frontend, by glob"
has_ep "$API_IX" "$API"; ok $? "api's veth (ifindex $API_IX) is an endpoint of api, by alias"
has_ip "198.18.1.2/32 id=$FE if=$FE_IX"; ok $? "frontend's 198.18.1.2 learned from its /32 route"
has_ip "fd00::1:2/128 id=$FE if=$FE_IX"; ok $? "frontend's fd00::1:2 learned from its /128 route"
has_ip "198.18.2.2/32 id=$API if=$API_IX"; ok $? "api's 198.18.2.2 learned"
has_ip "fd00::2:2/128 id=$API if=$API_IX"; ok $? "api's fd00::2:2 learned"

rows=$(ep_rows)
grep -q "^$FE_IF frontend 198.18.1.2,.*fd00::1:2.* tc/ingress,tc/egress$" <<<"$rows"
ok $? "endpoint list: frontend with its learned IPs and both TC hooks ($(grep "^$FE_IF" <<<"$rows"))"
grep -q "^$(pod_if api) api 198.18.2.2,.*fd00::2:2" <<<"$rows"; ok $? "endpoint list: api with its learned IPs"
ctl endpoint list | grep -q "198.18.1.2"; ok $? "endpoint list (table) shows learned IPs"

# ---------------------------------------------------------- real traffic

! reach frontend 198.18.2.2 443; ok $? "default deny: frontend -> api:443 (IPv4) before any rule"
! reach frontend fd00::2:2 443 tcp6; ok $? "default deny: frontend -> api:443 (IPv6) before any rule"
ctl allow 'frontend->api:443' >/dev/null; ok $? "allow frontend->api:443"
reach frontend 198.18.2.2 443; ok $? "frontend -> api:443 connects over IPv4"
reach frontend fd00::2:2 443 tcp6; ok $? "frontend -> api:443 connects over IPv6"
! reach frontend 198.18.2.2 8080; ok $? "frontend -> api:8080 still denied"
! reach api 198.18.1.2 443; ok $? "api -> frontend denied (rules are directional)"

# --------------------------------------------------- the node is "host"

for p in 198.18.0.1/32 fd00::1/128 127.0.0.1/32 127.0.0.0/8 ::1/128; do
	has_ip "$p id=1 if=0"; ok $? "the node's own $p maps to host"
done
! reach frontend 198.18.0.1 9100; ok $? "frontend -> the node's 198.18.0.1:9100 default-denied"
ctl allow 'frontend->host:9100' >/dev/null; ok $? "allow frontend->host:9100"
reach frontend 198.18.0.1 9100; ok $? "frontend -> 198.18.0.1:9100 connects: it resolves to host"
reach frontend fd00::1 9100 tcp6; ok $? "frontend -> [fd00::1]:9100 connects"
! reach api 198.18.0.1 9100; ok $? "api -> host:9100 still denied"

# ------------------------------------------------------------- spoofing

# A way back to 198.18.9.0/24 through frontend's veth (not a host route, so
# nothing is learned from it): only the spoof check can stop a connection.
nsx "$NODE" ip route add 198.18.9.0/24 dev "$FE_IF"
FE_NS=$(pod_ns frontend)
nsx "$FE_NS" ip addr add 198.18.9.9/32 dev eth0
# Forget the gateway's MAC: the next ARP request says "198.18.9.9 is at ...".
nsx "$FE_NS" ip neigh flush dev eth0
spoof() {
	[ "$(nsx "$FE_NS" timeout 3 socat -T1 - \
		"TCP:198.18.2.2:443,bind=198.18.9.9,connect-timeout=1" </dev/null 2>/dev/null)" = pong ]
}
before=$(counter spoofed)
! spoof; ok $? "frontend with a spoofed source 198.18.9.9 can't reach api:443"
after=$(counter spoofed)
[ "$after" -gt "$before" ]; ok $? "... dropped as spoofed (counter $before -> $after)"
nsx "$NODE" ip neigh show 198.18.9.9 dev "$FE_IF" | grep -q lladdr
ok $? "the node learned a neighbour 198.18.9.9 from the pod's own ARP: $(nsx "$NODE" ip neigh show 198.18.9.9 dev "$FE_IF")"
no_ip 198.18.9.9/32; ok $? "... which doesn't make 198.18.9.9 frontend's (only neighbours the node was told count)"
! spoof; ok $? "so the spoofed source is still dropped"
reach frontend 198.18.2.2 443; ok $? "... while its own address still connects"
nsx "$FE_NS" ip addr del 198.18.9.9/32 dev eth0
nsx "$NODE" ip route del 198.18.9.0/24 dev "$FE_IF"

# ------------------------------------ who may say whose an address is
# Only routes an administrator or orchestrator made (proto boot, static):
# not one from a router advertisement, a redirect or DHCP, which a pod can
# cause.  Between two endpoints the first owner keeps an address, and the
# second claim is logged and counted.  frontend's veth has the lower
# ifindex, so a tie broken by ifindex would hand it api's addresses.
API_IF=$(pod_if api)
guard() { ctl -o json stats | json_get daemon "$1"; }
[ "$FE_IX" -lt "$API_IX" ]; ok $? "frontend's veth has the lower ifindex ($FE_IX < $API_IX)"
u0=$(guard untrusted_routes) c0=$(guard ipcache_conflicts)
nsx "$NODE" ip -6 route add fd00::2:2/128 dev "$FE_IF" proto ra metric 2048
nsx "$NODE" ip route add 198.18.2.2/32 dev "$FE_IF" proto dhcp metric 50
nsx "$NODE" ip -6 route add fd00::2:77/128 dev "$FE_IF" proto redirect
sleep 0.3
has_ip "fd00::2:2/128 id=$API if=$API_IX" && has_ip "198.18.2.2/32 id=$API if=$API_IX" &&
	no_ip fd00::2:77/128
ok $? "proto ra, dhcp and redirect host routes on frontend's veth claim nothing: api keeps its addresses"
reach frontend fd00::2:2 443 tcp6 && reach frontend 198.18.2.2 443
ok $? "... and api's answers aren't dropped as spoofed"
u1=$(guard untrusted_routes)
[ "$u1" -eq $((u0 + 3)) ]; ok $? "stats: untrusted routes ignored $u0 -> $u1"
grep -q "ignored the route to fd00::2:2 out of endpoint ifindex $FE_IX: protocol 9 " "$T/netsegd.log"
ok $? "... each said in the log: $(grep -m1 'ignored the route to fd00::2:2' "$T/netsegd.log")"
nsx "$NODE" ip -6 route del fd00::2:2/128 dev "$FE_IF" proto ra metric 2048
nsx "$NODE" ip route del 198.18.2.2/32 dev "$FE_IF" proto dhcp metric 50
nsx "$NODE" ip -6 route del fd00::2:77/128 dev "$FE_IF"

nsx "$NODE" ip -6 route add fd00::2:2/128 dev "$FE_IF" proto static metric 2048
sleep 0.3
has_ip "fd00::2:2/128 id=$API if=$API_IX"; ok $? "a static route on frontend's veth for api's fd00::2:2 ties: api, the first owner, keeps it"
c1=$(guard ipcache_conflicts)
[ "$c1" -eq $((c0 + 1)) ]; ok $? "stats: the conflict counted ($c0 -> $c1)"
grep -q "fd00::2:2: a host route on $FE_IF (ifindex $FE_IX) claims it, but a host route on $API_IF (ifindex $API_IX) does too; $API_IF (ifindex $API_IX) keeps it" "$T/netsegd.log"
ok $? "... and logged: $(grep -m1 'fd00::2:2: a host route' "$T/netsegd.log")"
nsx "$NODE" ip -6 route del fd00::2:2/128 dev "$FE_IF" proto static metric 2048
# Neighbour entries the node was told: the same rule.
for i in "$API_IF" "$FE_IF"; do
	nsx "$NODE" ip neigh add 198.18.2.50 lladdr 02:00:00:00:02:50 dev "$i" nud permanent
	sleep 0.2
done
has_ip "198.18.2.50/32 id=$API if=$API_IX"; ok $? "198.18.2.50: a neighbour on api's veth, then one on frontend's: api keeps it"
nsx "$NODE" ip neigh add 198.18.2.2 lladdr 02:00:00:00:02:02 dev "$FE_IF" nud permanent
sleep 0.2
has_ip "198.18.2.2/32 id=$API if=$API_IX"; ok $? "a neighbour on frontend's veth for api's 198.18.2.2 doesn't outrank api's route"
c2=$(guard ipcache_conflicts)
[ "$c2" -eq $((c1 + 2)) ]; ok $? "stats: both neighbour conflicts counted ($c1 -> $c2)"
nsx "$NODE" ip neigh del 198.18.2.50 dev "$API_IF"
until_ms "$(now_ms)" 1000 has_ip "198.18.2.50/32 id=$FE if=$FE_IX" >/dev/null
ok $? "api's neighbour gone: the claim left goes to frontend"
nsx "$NODE" ip neigh del 198.18.2.50 dev "$FE_IF"
nsx "$NODE" ip neigh del 198.18.2.2 dev "$FE_IF"
until_ms "$(now_ms)" 1000 no_ip 198.18.2.50/32 >/dev/null; ok $? "... and leaves with the last claim"

# ---------------------------------------------------- learning latency

k2=$(lpm_key 198.18.1.2)
lookup_is "$k2" "$FE" "$FE_IX" && ! lookup_is "$k2" "$API" "$FE_IX" && lookup_none "$(lpm_key 198.18.5.5)"
ok $? "timing helper: a bpftool lookup sees what the dump sees"
lat=()
for k in $(seq 1 20); do
	a="198.18.1.$((100 + k))" key=$(lpm_key "198.18.1.$((100 + k))")
	t0=$(now_ms)
	nsx "$NODE" ip route add "$a/32" dev "$FE_IF"
	ms=$(until_ms "$t0" 3000 lookup_is "$key" "$FE" "$FE_IX") || ms=9999
	lat+=("$ms")
	t0=$(now_ms)
	nsx "$NODE" ip route del "$a/32" dev "$FE_IF"
	ms=$(until_ms "$t0" 3000 lookup_none "$key") || ms=9999
	lat+=("$ms")
done
key=$(lpm_key fd00::1:77)
t0=$(now_ms)
nsx "$NODE" ip -6 route add fd00::1:77/128 dev "$FE_IF"
ms6=$(until_ms "$t0" 3000 lookup_is "$key" "$FE" "$FE_IX") || ms6=9999
nsx "$NODE" ip -6 route del fd00::1:77/128 dev "$FE_IF"
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
max=$(tail -1 <<<"$sorted") med=$(sed -n "$(( ${#lat[@]} / 2 ))p" <<<"$sorted")
diag "learning latency (from running 'ip route add/del' to the ipcache entry appearing/going, 20 + 20 samples, polled with bpftool every ~3 ms): median $med ms, max $max ms; IPv6 $ms6 ms"
[ "$max" -lt 1000 ] && [ "$ms6" -lt 1000 ]; ok $? "route add/del reach the ipcache within a second (max $max ms)"

# ------------------------------------------------------------- refcounts

ctl identity add lab --cidr 198.18.7.7/32 >/dev/null; ok $? "identity lab --cidr 198.18.7.7/32"
LAB=$(id_of lab)
has_ip "198.18.7.7/32 id=$LAB if=0"; ok $? "the --cidr /32 is in the ipcache"
gen0=$(ctl -o json status | json_get generation)
nsx "$NODE" ip route add 198.18.7.7/32 dev "$FE_IF"
nsx "$NODE" ip neigh add 198.18.7.7 lladdr 02:00:00:00:07:07 dev "$FE_IF" nud permanent
until_ms "$(now_ms)" 1000 has_ip "198.18.7.7/32 id=$FE if=$FE_IX" >/dev/null
ok $? "a route and a neighbour on frontend's veth claim it for frontend (the pod's /32 wins)"
gen1=$(ctl -o json status | json_get generation)
[ "$gen1" -gt "$gen0" ]; ok $? "the change bumped the policy generation ($gen0 -> $gen1): cached verdicts are decided again"
nsx "$NODE" ip route del 198.18.7.7/32 dev "$FE_IF"
sleep 0.2
has_ip "198.18.7.7/32 id=$FE if=$FE_IX"; ok $? "route gone: the neighbour still holds it"
nsx "$NODE" ip neigh del 198.18.7.7 dev "$FE_IF"
until_ms "$(now_ms)" 1000 has_ip "198.18.7.7/32 id=$LAB if=0" >/dev/null
ok $? "neighbour gone too: back to lab's --cidr /32, not removed"
ctl identity remove lab >/dev/null
until_ms "$(now_ms)" 1000 no_ip 198.18.7.7/32 >/dev/null; ok $? "identity lab removed: its /32 leaves"

# --------------------------- rename, alias, identity added later, removal

L="lt${RUN:0:6}"
nsx "$NODE" ip link add "$L" type veth peer name "lq${RUN:0:6}"
nsx "$NODE" ip link set "$L" alias "netseg:later" up
# A point-to-point address: 198.18.0.1 here, the peer 198.18.6.3 behind it.
nsx "$NODE" ip addr add 198.18.0.1/32 peer 198.18.6.3/32 dev "$L"
L_IX=$(ifindex_of "$L")
sleep 0.3
no_ep "$L_IX" && no_ip 198.18.6.3/32; ok $? "alias netseg:later of an identity that doesn't exist yet: no endpoint"
ctl identity add later >/dev/null
LATER=$(id_of later)
has_ep "$L_IX" "$LATER" && has_ip "198.18.6.3/32 id=$LATER if=$L_IX"
ok $? "identity later added: its alias's interface is an endpoint at once, peer 198.18.6.3 learned"
nsx "$NODE" ip link set "$L" alias "netseg:api"
until_ms "$(now_ms)" 1000 eval 'has_ip "198.18.6.3/32 id=$API if=$L_IX" && has_ep "$L_IX" "$API"' >/dev/null
ok $? "alias changed to netseg:api: endpoint and IP move to api"
nsx "$NODE" ip link set "$L" alias ""
until_ms "$(now_ms)" 1000 eval 'no_ip 198.18.6.3/32 && no_ep "$L_IX"' >/dev/null
ok $? "alias removed: no longer an endpoint, its IP leaves the ipcache"
has_ip "198.18.0.1/32 id=1 if=0"; ok $? "198.18.0.1 still host (other interfaces hold it too)"
nsx "$NODE" ip link set "$L" down
nsx "$NODE" ip link set "$L" name "vfront${RUN:0:6}z"
until_ms "$(now_ms)" 1000 eval 'has_ep "$L_IX" "$FE" && has_ip "198.18.6.3/32 id=$FE if=$L_IX"' >/dev/null
ok $? "renamed to match 'vfront*': endpoint of frontend"
nsx "$NODE" ip link set "vfront${RUN:0:6}z" name "$L"
until_ms "$(now_ms)" 1000 eval 'no_ep "$L_IX" && no_ip 198.18.6.3/32' >/dev/null
ok $? "renamed back: not an endpoint, IP gone"
# The kernel announces an alias change only on an interface that is up
# (netdev_state_change): this one is down, so it is learned when it comes up.
nsx "$NODE" ip link set "$L" alias "netseg:later"
nsx "$NODE" ip link set "$L" up
until_ms "$(now_ms)" 1000 eval 'has_ep "$L_IX" "$LATER" && has_ip "198.18.6.3/32 id=$LATER if=$L_IX"' >/dev/null
ok $? "alias netseg:later set while down, then up: endpoint of later again"
ctl identity remove later >/dev/null
no_ep "$L_IX" && no_ip 198.18.6.3/32; ok $? "identity later removed: its endpoint and IP go at once"
nsx "$NODE" ip link del "$L"

# ------------------------- a pod made again: new IP, same alias, < 1 s

nsx "$NODE" ip link del "$(pod_if api)"
ip netns del "$(pod_ns api)"
until_ms "$(now_ms)" 2000 eval 'no_ip 198.18.2.2/32 && no_ep "$API_IX"' >/dev/null
ok $? "api's pod deleted: its endpoint and 198.18.2.2 are gone"
pod_again api 2 3; ok $? "api's pod made again as 198.18.2.3 with the same alias: learned in $LEARN_MS ms"
diag "pod recreated: last route -> ipcache entry in $LEARN_MS ms"
[ "${LEARN_MS:-9999}" -lt 1000 ]; ok $? "... within a second"
serve_api
wait_port api 443 && wait_port api 8080 || bail "servers didn't start in the new api pod"
# A fresh veth's IPv6 answers neighbour solicitations once its DAD is done.
for _ in $(seq 100); do
	[ -z "$(nsx "$(pod_ns api)" ip -6 addr show tentative)$(nsx "$NODE" ip -6 addr show dev "$(pod_if api)" tentative)" ] && break
	sleep 0.05
done
reach frontend 198.18.2.3 443; ok $? "frontend -> new api 198.18.2.3:443 allowed, no restart"
reach frontend fd00::2:3 443 tcp6; ok $? "frontend -> new api [fd00::2:3]:443 allowed"
! reach frontend 198.18.2.3 8080; ok $? "frontend -> new api :8080 denied"
API_IX=$(ifindex_of "$(pod_if api)")

# ---------------------------------------------- malformed netlink input

# The daemon's rtnetlink socket: ours (by inode) with groups bound.
portid=$(nsx "$NODE" perl -e '
	my %ino;
	for (glob "/proc/$ARGV[0]/fd/*") { my $l = readlink $_ or next; $ino{$1} = 1 if $l =~ /^socket:\[(\d+)\]/ }
	open my $f, "<", "/proc/net/netlink" or die; <$f>;
	while (<$f>) { my @c = split; print $c[2] if $c[1] == 0 && hex($c[3]) && $ino{$c[9]} }' "$DAEMON_PID")
[ -n "$portid" ]; ok $? "found netsegd's rtnetlink socket (port id $portid)"
ip_before=$(ipcache) ep_before=$(idmap ns_endpoints) bad_before=$(nlstat malformed)
nsx "$NODE" perl -e '
	use strict; my ($port, $fe) = @ARGV;
	socket(my $s, 16, 3, 0) or die "netlink socket: $!";	# AF_NETLINK, SOCK_RAW, ROUTE
	my $dst = pack("S S L L", 16, 0, $port, 0);
	sub attr { my ($t, $d) = @_; my $l = 4 + length $d;
		pack("S S", $l, $t) . $d . ("\0" x ((4 - $l % 4) % 4)) }
	sub msg { my ($type, $p) = @_; pack("L S S L L", 16 + length $p, $type, 0, 0, 0) . $p }
	my $ifi = sub { pack("C C S l L L", 0, 0, 1, $_[0], 0x1003, 0) };
	my $rtm = pack("C8 L", 2, 32, 0, 0, 254, 3, 253, 1, 0);	# AF_INET /32 main boot link unicast
	my @bad = (
		msg(16, "\0" x 4),					# NEWLINK, short header
		msg(16, $ifi->(4242) . attr(3, "abcd")),		# IFNAME not NUL-terminated
		msg(16, $ifi->(4243) . attr(3, ("x" x 40) . "\0")),	# IFNAME too long
		msg(16, $ifi->(4244) . attr(3, "ok\0") . attr(20, "netseg:api")),	# IFALIAS no NUL
		msg(24, $rtm . attr(1, "\xc6\x12\x09")),		# NEWROUTE, RTA_DST 3 bytes
		msg(24, $rtm . attr(1, "\xc6\x12\x09\x4d") . attr(4, "\x01\x00")),	# RTA_OIF 2 bytes
		msg(24, $rtm . pack("S S", 200, 1) . "\xc6\x12\x09\x4e"),	# attribute past the end
		msg(20, pack("C C C C L", 2, 32, 0, 0, $fe) . attr(2, "\0" x 16)),	# IFA_LOCAL 16 bytes, IPv4
		msg(28, pack("C C S l S C C", 10, 0, 0, $fe, 2, 0, 1) . attr(1, "\xc6\x12\x09\x4f")),	# NDA_DST 4 bytes, IPv6
	);
	my @ignored = (
		msg(28, pack("C C S l S C C", 99, 0, 0, $fe, 2, 0, 1) . attr(1, "abcd")),	# unknown family
		msg(0x7777, "garbage"),				# unknown type
		pack("L S S L L", 4000, 16, 0, 0, 0) . "short",	# length past the datagram
		pack("L", 8),					# shorter than a header
	);
	for (@bad, @ignored) { defined send($s, $_, 0, $dst) or die "send: $!" }
	print scalar(@bad), "\n";' "$portid" "$FE_IX" >"$T/nbad" 2>"$T/nbad.err"
ok $? "sent malformed and unknown rtnetlink messages to netsegd $(cat "$T/nbad.err")"
sleep 0.3
ctl status >/dev/null; ok $? "netsegd still answers"
bad_after=$(nlstat malformed)
[ $((bad_after - bad_before)) -eq "$(cat "$T/nbad")" ]
ok $? "each malformed message counted and dropped ($bad_before -> $bad_after; unknown ones ignored)"
[ "$(ipcache)" = "$ip_before" ] && [ "$(idmap ns_endpoints)" = "$ep_before" ]
ok $? "ipcache and endpoint map unchanged by them"
nsx "$NODE" ip route add 198.18.1.50/32 dev "$FE_IF"
until_ms "$(now_ms)" 1000 has_ip "198.18.1.50/32 id=$FE if=$FE_IX" >/dev/null; ok $? "and it still learns routes"
nsx "$NODE" ip route del 198.18.1.50/32 dev "$FE_IF"

# -------------------------------------------- a cgroup that appears later

CG_ROOT=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[ -n "$CG_ROOT" ] || bail "no cgroup2 mount in /proc/mounts"
CG="$CG_ROOT/netseg-ep-$RUN"
AT_CLEANUP+=("rmdir '$CG' 2>/dev/null")
ctl identity add batchjob --cgroup "$CG" >/dev/null; ok $? "identity batchjob --cgroup of a cgroup that doesn't exist yet"
JOB=$(id_of batchjob)
ctl -o json endpoint list | grep -q 'waiting for the cgroup'; ok $? "endpoint list shows it waiting"
mkdir "$CG"
cg1=$(stat -c %i "$CG")
ms=$(until_ms "$(now_ms)" 2500 eval 'idmap ns_cgroups | grep -qx "$cg1 id=$JOB"')
ok $? "cgroup created: picked up in $ms ms (cgroup map $cg1 -> batchjob)"
grep -q "^$CG batchjob  cgroup_skb/ingress,cgroup_skb/egress$" <<<"$(ep_rows)"; ok $? "endpoint list: attached"
rmdir "$CG" && mkdir "$CG"
cg2=$(stat -c %i "$CG")
until_ms "$(now_ms)" 2500 eval 'idmap ns_cgroups | grep -qx "$cg2 id=$JOB"' >/dev/null &&
	! idmap ns_cgroups | grep -q "^$cg1 "
ok $? "removed and made again: the new cgroup ($cg2) is mapped, the old one ($cg1) is not"
ctl identity remove batchjob >/dev/null
! idmap ns_cgroups | grep -q "^$cg2 "; ok $? "identity removed: cgroup unmapped"
rmdir "$CG"

# ------------------------------------------- 1,000 pods come and go

# Each round: K pods at once (veth + alias netseg:frontend + 198.18.0.1 +
# /32 and /128 routes + a neighbour), wait until the daemon made them all
# endpoints, then delete them as a group (one unregister for all: deleting
# veths one by one costs the kernel an RCU grace period each).
snap() { ipcache; echo --; idmap ns_endpoints; echo --; ls "$MAPS/links" | sort; }
base_snap=$(snap)
base_eps=$(ctl -o json status | json_get endpoints)
att0=$(nlstat iface_attaches) det0=$(nlstat iface_detaches) wr0=$(nlstat ipcache_writes)
P="lk${RUN:0:5}" K=50 N=0 BUDGET=60000
pod_batch() {	# pod_batch FIRST COUNT: ip -batch lines for pods FIRST..
	for i in $(seq "$1" $(($1 + $2 - 1))); do
		local a=$((10 + i / 250)) b=$((i % 250 + 2))
		echo "link add $P$i group 77 type veth peer name lp$P$i group 77"
		echo "link set $P$i alias netseg:frontend up"
		echo "addr add 198.18.0.1/32 dev $P$i"
		echo "route add 198.18.$a.$b/32 dev $P$i"
		echo "route add fd00::$a:$b/128 dev $P$i"
		echo "neigh add 198.18.$a.$b lladdr 02:00:00:00:00:01 dev $P$i"
	done
}
eps_are() { [ "$(ctl -o json status | json_get endpoints)" -eq "$1" ]; }
t0=$(now_ms)
while [ "$N" -lt 1000 ] && [ $(($(now_ms) - t0)) -lt "$BUDGET" ]; do
	pod_batch "$N" "$K" | ip -n "$NODE" -batch - || break
	until_ms "$(now_ms)" 10000 eps_are $((base_eps + K)) >/dev/null || break
	ip -n "$NODE" link del group 77 || break
	N=$((N + K))
done
loop_ms=$(($(now_ms) - t0))
until_ms "$(now_ms)" 10000 eps_are "$base_eps" >/dev/null
[ "$N" -eq 1000 ] || diag "only $N of 1000 pods fit in the ${BUDGET} ms budget"
diag "$N pods came and went in $loop_ms ms ($K at a time)"
[ "$N" -ge 500 ]; ok $? "$N pods came and went"
att=$(($(nlstat iface_attaches) - att0)) det=$(($(nlstat iface_detaches) - det0))
wr=$(($(nlstat ipcache_writes) - wr0))
[ "$att" -eq "$N" ] && [ "$det" -eq "$N" ]; ok $? "each was attached and detached once ($att, $det)"
[ "$wr" -ge $((2 * N)) ]; ok $? "their IPv4 and IPv6 addresses were learned ($wr ipcache writes)"
until_ms "$(now_ms)" 5000 eval '[ "$(snap)" = "$base_snap" ]' >/dev/null
ok $? "ns_ipcache, ns_endpoints and the pinned links hold exactly what they held before"
[ "$(snap)" = "$base_snap" ] || diff <(echo "$base_snap") <(snap) | sed 's/^/# /'
has_ip "198.18.0.1/32 id=1 if=0"; ok $? "198.18.0.1, on every one of them too, is still host"
reach frontend 198.18.2.3 443; ok $? "frontend -> api:443 still allowed"

# ------------------- changes while down, then lost events (tiny buffer)

nsx "$NODE" ip route add 198.18.1.9/32 dev "$FE_IF"
R="lr${RUN:0:6}"
nsx "$NODE" ip link add "$R" type veth peer name "ls${RUN:0:6}"
nsx "$NODE" ip link set "$R" alias netseg:api up
nsx "$NODE" ip route add 198.18.6.9/32 dev "$R"
R_IX=$(ifindex_of "$R")
until_ms "$(now_ms)" 1000 has_ip "198.18.6.9/32 id=$API if=$R_IX" >/dev/null &&
	has_ip "198.18.1.9/32 id=$FE if=$FE_IX"
ok $? "a route and an extra api interface learned"
stop_daemon TERM
nsx "$NODE" ip route del 198.18.1.9/32 dev "$FE_IF"
nsx "$NODE" ip link del "$R"
echo '{ "netlink_rcvbuf": 4096 }' >"$T/tiny.json"
start_daemon -c "$T/tiny.json"; ok $? "netsegd restarts with a 4 KB rtnetlink buffer"
until_ms "$(now_ms)" 3000 eval 'no_ip 198.18.1.9/32 && no_ip 198.18.6.9/32 && no_ep "$R_IX"' >/dev/null
ok $? "what went away while it was down is gone from the maps"
[ ! -e "$MAPS/links/tc-ingress-$R_IX" ] && [ ! -e "$MAPS/links/tc-egress-$R_IX" ]
ok $? "and its pinned TC links are released"
reach frontend 198.18.2.3 443 && ! reach frontend 198.18.2.3 8080; ok $? "policy still enforced after the restart"
ov0=$(nlstat overruns)
# A stalled daemon (SIGSTOP) and a burst of events: the socket overruns.
kill -STOP "$DAEMON_PID"
pod_batch 0 "$K" | ip -n "$NODE" -batch -
kill -CONT "$DAEMON_PID"
until_ms "$(now_ms)" 15000 eps_are $((base_eps + K)) >/dev/null
ok $? "a burst of $K pods while it was stopped overran the tiny buffer, yet all $K become endpoints"
ov=$(nlstat overruns)
[ "$ov" -gt "$ov0" ]; ok $? "the overruns were noticed ($ov) and answered with a full dump"
has_ip "198.18.10.$((K + 1))/32 id=$FE if=$(ifindex_of "$P$((K - 1))")"; ok $? "the last pod's IP learned"
ip -n "$NODE" link del group 77
until_ms "$(now_ms)" 15000 eval '[ "$(snap)" = "$base_snap" ]' >/dev/null
ok $? "after they go, the maps are exactly as before again"
[ "$(snap)" = "$base_snap" ] || diff <(echo "$base_snap") <(snap) | sed 's/^/# /'

kill -0 "$DAEMON_PID" && ! grep -q 'Sanitizer\|runtime error' "$T/netsegd.log"
ok $? "netsegd still running, no sanitizer report in its log"
done_testing
