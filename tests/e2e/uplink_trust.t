#!/usr/bin/env bash
# What the datapath trusts, with real traffic:
# - anti-spoofing on an attached uplink: a world host sending as a pod
#   (frontend) or as the node, v4 and v6, never reaches api, whatever the
#   rules say about frontend or host; the node's own traffic out through
#   the uplink still flows;
# - a listener in a default-deny cgroup endpoint (batch) on the node isn't
#   reached from world (TCP/UDP, v4/v6) on the uplink's "no endpoint"
#   conntrack entry, until a rule allows world -> batch; one "knock" packet
#   from world doesn't open batch's way out on that tuple;
# - audit mode on one identity (cache) relaxes only its own default deny:
#   "deny * -> db:tcp/22" and db's default deny still drop cache's flows.
. "$(dirname "$0")/../lib/netns.sh"
need_root
make_node
make_pod frontend 1
make_pod api 2
make_pod db 3
make_pod cache 4
make_world
WORLD_NS=$(pod_ns world)
# IPv6 on the uplink too: the node fd00::200:1, world fd00::200:2.
nsx "$NODE" ip -6 addr add fd00::200:1/112 dev "$UPLINK" nodad
nsx "$WORLD_NS" ip -6 addr add fd00::200:2/112 dev eth0 nodad
nsx "$WORLD_NS" ip -6 route add default via fd00::200:1 dev eth0
# The kernel's own source checks off: what is tested here is netseg's.
nsx "$NODE" sysctl -qw net.ipv4.conf.all.rp_filter=0 "net.ipv4.conf.$UPLINK.rp_filter=0" \
	"net.ipv4.conf.$UPLINK.accept_local=1"

CG_ROOT=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[ -n "$CG_ROOT" ] || bail "no cgroup2 mount in /proc/mounts"
CG="$CG_ROOT/netseg-e2e-up-$RUN"
mkdir "$CG" || bail "couldn't create cgroup $CG"
cg_cleanup() {
	for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	sleep 0.1
	rmdir "$CG" 2>/dev/null
}
AT_CLEANUP+=(cg_cleanup)

in_cg() {	# in_cg CMD...: CMD in the cgroup, in the node's netns
	sh -c "echo \$\$ > '$CG/cgroup.procs' && exec nsenter --net=/run/netns/$NODE \"\$@\"" \
		sh "$@"
}
sink() {	# sink NS ADDR-SPEC FILE: every datagram received appended to FILE
	ip netns exec "$1" timeout 600 socat -u "$2" "OPEN:$3,creat,append" \
		>/dev/null 2>&1 </dev/null & disown $!
}

API_NS=$(pod_ns api)
sink "$API_NS" UDP-RECV:5353,reuseaddr "$T/api5353"
sink "$API_NS" UDP6-RECV:5353,reuseaddr,ipv6only=1 "$T/api5353v6"
sink "$API_NS" UDP-RECV:5354,reuseaddr "$T/api5354"
sink "$API_NS" UDP6-RECV:5354,reuseaddr,ipv6only=1 "$T/api5354v6"
sink "$WORLD_NS" UDP-RECV:53,reuseaddr "$T/world53"
serve api tcp 443; serve db tcp 22; serve db tcp 5432
in_cg timeout 600 socat TCP-LISTEN:7000,fork,reuseaddr SYSTEM:'echo pong' \
	>/dev/null 2>&1 </dev/null & disown $!
in_cg timeout 600 socat TCP6-LISTEN:7000,fork,reuseaddr,ipv6only=1 SYSTEM:'echo pong' \
	>/dev/null 2>&1 </dev/null & disown $!
in_cg timeout 600 socat UDP-RECVFROM:7001,fork,reuseaddr SYSTEM:'echo pong' \
	>/dev/null 2>&1 </dev/null & disown $!
in_cg timeout 600 socat UDP6-RECVFROM:7001,fork,reuseaddr,ipv6only=1 SYSTEM:'echo pong' \
	>/dev/null 2>&1 </dev/null & disown $!
ip netns exec "$WORLD_NS" timeout 600 socat TCP-LISTEN:8080,fork,reuseaddr \
	SYSTEM:'echo pong' >/dev/null 2>&1 </dev/null & disown $!
wait_port api 443 && wait_port api 5354 && wait_port db 22 && wait_port world 8080 &&
	wait_port world 53 || bail "servers didn't start"
for _ in $(seq 100); do
	[ "$(nsx "$NODE" ss -Hlntu | grep -c ':700[01] ')" -ge 4 ] && break
	sleep 0.05
done

start_daemon || bail "netsegd didn't start"
for p in frontend api db; do
	ctl identity add "$p" --iface "$(pod_if "$p")" >/dev/null || bail "identity $p"
done
ctl identity add cache --iface "$(pod_if cache)" --audit >/dev/null || bail "identity cache"
ctl identity add batch --cgroup "$CG" >/dev/null || bail "identity batch"
ctl attach "$UPLINK" >/dev/null; ok $? "attach the uplink"
cat >"$T/policy.rules" <<'EOF'
allow frontend -> api:443
allow frontend -> api:udp/5353 --log
allow host -> api:udp/5354
allow * -> api:udp/5354
deny * -> db:tcp/22
allow api -> db:22
EOF
ctl apply -f "$T/policy.rules" >/dev/null; ok $? "apply the policy"
for _ in $(seq 50); do
	ctl endpoint list | grep -q "$CG .*cgroup_skb" && break
	sleep 0.1
done

spoofed() { ctl -o json stats | tr -d ' \t\n' | grep -o '"spoofed":{"packets":[0-9]*' |
	grep -o '[0-9]*$'; }
# send_as NS SRC DST PORT [6]: one datagram "from" SRC (an extra address there)
send_as() {
	local fam=UDP dst=$3
	[ -n "$5" ] && fam=UDP6 dst="[$3]"
	nsx "$1" sh -c "echo 'from $2' | socat -u - '$fam:$dst:$4,bind=${5:+[}$2${5:+]}'" 2>/dev/null
}

# ------------------------------------------------------ spoofing on the uplink
nsx "$WORLD_NS" ip addr add 198.18.1.2/32 dev eth0		# frontend's
nsx "$WORLD_NS" ip addr add 198.18.0.1/32 dev eth0		# the node's
nsx "$WORLD_NS" ip -6 addr add fd00::1:2/128 dev eth0 nodad	# frontend's
nsx "$WORLD_NS" ip -6 addr add fd00::1/128 dev eth0 nodad	# the node's
s0=$(spoofed)
for i in 1 2 3; do
	send_as "$WORLD_NS" 198.18.1.2 198.18.2.2 5353
	send_as "$WORLD_NS" fd00::1:2 fd00::2:2 5353 6
	send_as "$WORLD_NS" 198.18.0.1 198.18.2.2 5354
	send_as "$WORLD_NS" fd00::1 fd00::2:2 5354 6
done
nsx "$WORLD_NS" timeout 2 socat -T1 - TCP:198.18.2.2:443,bind=198.18.1.2,connect-timeout=1 \
	</dev/null >/dev/null 2>&1
nsx "$WORLD_NS" timeout 2 socat -T1 - "TCP6:[fd00::2:2]:443,bind=[fd00::1:2],connect-timeout=1" \
	</dev/null >/dev/null 2>&1
sleep 0.5
[ ! -s "$T/api5353" ]; ok $? "world as frontend -> api udp/5353 (allowed for frontend): nothing landed"
[ ! -s "$T/api5353v6" ]; ok $? "... v6: nothing landed"
[ ! -s "$T/api5354" ]; ok $? "world as the node -> api udp/5354 (allowed for host): nothing landed"
[ ! -s "$T/api5354v6" ]; ok $? "... v6: nothing landed"
s1=$(spoofed)
[ "$((${s1:-0} - ${s0:-0}))" -ge 14 ]
ok $? "counted as spoofed: ${s0:-0} -> ${s1:-0} (12 datagrams and 2 SYNs at least)"
ctl -o json flows >"$T/flows.json" 2>/dev/null
! grep '"allowed"' "$T/flows.json" | grep -q '"198.18.1.2"'
ok $? "no allowed flow record names the forged frontend source (the rule logs its flows)"
grep '"spoofed"' "$T/flows.json" | grep -q '"198.18.1.2"'
ok $? "the forged packets are denied records with reason spoofed"
# The same sinks take what is genuine.
send_as "$WORLD_NS" 198.18.200.2 198.18.2.2 5354
send_as "$(pod_ns frontend)" 198.18.1.2 198.18.2.2 5353
send_as "$(pod_ns frontend)" fd00::1:2 fd00::2:2 5353 6
sleep 0.5
grep -q 'from 198.18.200.2' "$T/api5354"; ok $? "world as itself -> api udp/5354 (allow *): landed"
grep -q 'from 198.18.1.2' "$T/api5353" && grep -q 'from fd00::1:2' "$T/api5353v6"
ok $? "frontend itself -> api udp/5353, v4 and v6: landed"
nsx "$NODE" timeout 2 socat -T1 - TCP:198.18.200.2:8080,connect-timeout=1 </dev/null 2>/dev/null |
	grep -q pong
ok $? "the node's own connection out through the uplink (and its replies) still works"

# ------------------------------------------- a listener in a cgroup endpoint
! reach world 198.18.200.1 7000 tcp; ok $? "world -> batch's listener tcp/7000: denied"
! reach world fd00::200:1 7000 tcp6; ok $? "world -> batch's listener tcp6/7000: denied"
! reach world 198.18.200.1 7001 udp; ok $? "world -> batch's listener udp/7001: denied"
! reach world fd00::200:1 7001 udp6; ok $? "world -> batch's listener udp6/7001: denied"
# The knock: world:53 -> node:6000, then batch sends node:6000 -> world:53.
nsx "$WORLD_NS" sh -c "echo knock | socat -u - UDP:198.18.200.1:6000,sourceport=53,reuseaddr" 2>/dev/null
in_cg sh -c "echo 'from batch' | socat -u - UDP:198.18.200.2:53,sourceport=6000,reuseaddr" 2>/dev/null
sleep 0.5
! grep -q 'from batch' "$T/world53"; ok $? "after a knock from world:53, batch -> world:53 from the knocked port: nothing landed"
ctl allow 'world->batch:7000' >/dev/null && ctl allow 'world->batch:udp/7001' >/dev/null
ok $? "allow world -> batch tcp/7000 and udp/7001"
cell() {	# cell DESC CMD...: open within three tries (a UDP reply can be late)
	local d=$1; shift
	for _ in 1 2 3; do "$@" && { ok 0 "$d"; return; }; done
	ok 1 "$d"
}
cell "world -> batch's listener tcp/7000: open now" reach world 198.18.200.1 7000 tcp
cell "... tcp6/7000: open now" reach world fd00::200:1 7000 tcp6
cell "... udp/7001: open now (batch's reply from conntrack)" reach world 198.18.200.1 7001 udp

# --------------------------------------------------------- audit identities
! reach cache 198.18.3.2 22 tcp; ok $? "deny * -> db:tcp/22 still drops cache -> db:22"
! reach cache 198.18.3.2 5432 tcp; ok $? "db's default deny still drops cache -> db:5432"
reach api 198.18.3.2 22 tcp; ! [ $? -eq 0 ]
ok $? "and api -> db:22 (allowed, but deny beats allow): dropped"
trace_is() {	# trace_is WANT DESC SRC DST PORT
	local want=$1 desc=$2 out; shift 2
	out=$(ctl -o json trace "$@" 2>&1)
	tr -d ' \t\n' <<<"$out" | grep -q "\"verdict\":\"$want\""
	ok $? "$desc" || diag "got: $out"
}
trace_is deny "trace cache -> db tcp/22 says deny (the deny rule)" cache db tcp/22
trace_is deny "trace cache -> db tcp/5432 says deny (db's default deny)" cache db tcp/5432
trace_is audit "trace cache -> world tcp/80 says audit (only cache's own default deny)" \
	cache world tcp/80
done_testing
