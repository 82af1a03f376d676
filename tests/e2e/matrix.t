#!/usr/bin/env bash
# Real traffic through a multi-rule policy: four pods and a world host,
# IPv4 and IPv6, TCP connects, UDP request/response and ping; a removed rule
# cuts an established connection within a second; a restart and a kill -9
# of netsegd while a connection runs lose nothing; world -> api is dropped
# in XDP while api's own flows to world get their replies; a process in a
# cgroup endpoint is allowed and denied by rules on its identity.
. "$(dirname "$0")/../lib/netns.sh"
need_root
make_node
make_pod frontend 1
make_pod api 2
make_pod db 3
make_pod cache 4

# world: behind the uplink, 198.18.200.2.
make_world
WORLD_NS=$(pod_ns world)

# A cgroup on the node for the cgroup-endpoint case (removed at exit).
CG_ROOT=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[ -n "$CG_ROOT" ] || bail "no cgroup2 mount in /proc/mounts"
CG="$CG_ROOT/netseg-e2e-$RUN"
mkdir "$CG" || bail "couldn't create cgroup $CG"
cg_cleanup() {
	for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	sleep 0.1
	rmdir "$CG" 2>/dev/null
}
AT_CLEANUP+=(cg_cleanup)

serve api tcp 443; serve api tcp 8080; serve api tcp6 443; serve api tcp6 8080
serve api udp 53; serve db tcp 5432; serve cache udp 6379
ip netns exec "$WORLD_NS" timeout 600 socat TCP-LISTEN:8080,fork,reuseaddr \
	SYSTEM:'echo pong' >/dev/null 2>&1 </dev/null & disown $!
# an echo server for long-lived connections
ip netns exec "$(pod_ns api)" timeout 600 socat TCP-LISTEN:9000,fork,reuseaddr \
	EXEC:cat >/dev/null 2>&1 </dev/null & disown $!
wait_port api 443 && wait_port api 9000 && wait_port db 5432 &&
	wait_port api 53 && wait_port cache 6379 || bail "servers didn't start"

start_daemon || bail "netsegd didn't start"
for p in frontend api db cache; do
	i=$(( $(printf '%s\n' frontend api db cache | grep -n "^$p$" | cut -d: -f1) ))
	ctl identity add "$p" --iface "$(pod_if "$p")" --cidr "198.18.$i.2/32" \
		--cidr "fd00::$i:2/128" >/dev/null || bail "identity $p"
done
ctl identity add batch --cgroup "$CG" >/dev/null || bail "identity batch"
ctl attach "$UPLINK" >/dev/null; ok $? "attach the uplink (XDP prefilter + TC)"

cat >"$T/policy.rules" <<'EOF'
allow frontend -> api:443
allow frontend -> api:icmp/8
allow frontend -> api:icmpv6/128
allow frontend -> api:tcp/9000
allow api -> db:5432
allow api -> api:udp/53
allow * -> cache:udp/6379
deny frontend -> cache:udp/6379
allow frontend -> api:udp/53
allow api -> 198.18.200.0/24:tcp/8000-8100
EOF
ctl apply -f "$T/policy.rules" >/dev/null; ok $? "apply a 10-rule policy"

cell() {	# cell WANT FROM ADDR PORT PROTO
	local want=$1 try; shift
	# an open cell gets three tries (a UDP reply can be late under load);
	# a blocked one is blocked on every try anyway
	for try in 1 2 3; do
		if reach "$@"; then got=open; break; else got=blocked; fi
		[ "$want" = open ] || break
	done
	[ "$got" = "$want" ]; ok $? "$1 -> $2 $4/$3: $want${got:+ (got $got)}"
}
cell open frontend 198.18.2.2 443 tcp
cell blocked frontend 198.18.2.2 8080 tcp
cell open frontend fd00::2:2 443 tcp6
cell blocked frontend fd00::2:2 8080 tcp6
cell open api 198.18.3.2 5432 tcp
cell blocked frontend 198.18.3.2 5432 tcp
cell blocked db 198.18.2.2 443 tcp
cell open frontend 198.18.2.2 53 udp
cell blocked db 198.18.2.2 53 udp
cell open api 198.18.4.2 6379 udp
cell open db 198.18.4.2 6379 udp
cell blocked frontend 198.18.4.2 6379 udp
cell open api 198.18.200.2 8080 tcp
cell blocked world 198.18.2.2 443 tcp

ping_ok() { nsx "$(pod_ns "$1")" ping -c1 -W1 "$2" >/dev/null 2>&1; }
ping_ok frontend 198.18.2.2; ok $? "ping frontend -> api (icmp/8 allowed, echo reply via conntrack)"
! ping_ok db 198.18.2.2; ok $? "ping db -> api blocked"
ping_ok frontend fd00::2:2; ok $? "ping -6 frontend -> api (icmpv6/128)"
! ping_ok db fd00::2:2; ok $? "ping -6 db -> api blocked"

# ---- XDP drops world's new flows; TC on api's veth never sees them
xdp_drops() { ctl -o json stats | tr -d ' \t\n' | grep -o "\"name\":\"$1\"[^}]*" |
	grep -o '"xdp_drop_packets":[0-9]*' | grep -o '[0-9]*$'; }
tc_drops() { ctl -o json stats | tr -d ' \t\n' | grep -o "\"name\":\"$1\"[^}]*" |
	grep -o '"drop_packets":[0-9]*' | grep -o '[0-9]*$'; }
x0=$(xdp_drops "$UPLINK"); a0=$(tc_drops "$(pod_if api)")
reach world 198.18.2.2 443
x1=$(xdp_drops "$UPLINK"); a1=$(tc_drops "$(pod_if api)")
[ "${x1:-0}" -gt "${x0:-0}" ]; ok $? "world -> api:443 dropped in XDP (uplink xdp drops ${x0:-0} -> ${x1:-0})"
[ "${a1:-0}" = "${a0:-0}" ]; ok $? "api's TC saw none of it (drops ${a0:-0} -> ${a1:-0})"

# ---- a long-lived connection: counts echoed lines over time
long_conn() {	# long_conn NAME SECONDS: frontend -> api:9000, a line per 0.1 s
	( for i in $(seq $(( $2 * 10 ))); do echo "$i"; sleep 0.1; done ) |
		ip netns exec "$(pod_ns frontend)" timeout $(( $2 + 5 )) \
		socat -T3 - TCP:198.18.2.2:9000 >"$T/$1.out" 2>/dev/null &
	echo $! >"$T/$1.pid"
}
lines() { wc -l <"$T/$1.out"; }

long_conn survive 8
sleep 1
stop_daemon KILL
sleep 1
n1=$(lines survive)
start_daemon; ok $? "netsegd restarted after kill -9 while a connection runs"
sleep 1
stop_daemon TERM
start_daemon; ok $? "and restarted again (SIGTERM) while it runs"
wait "$(cat "$T/survive.pid")" 2>/dev/null
n2=$(lines survive)
[ "$n2" -eq 80 ]; ok $? "no lost connection: all 80 lines echoed across kill -9 and restart ($n1 after the kill, $n2 at the end)"
cell blocked frontend 198.18.2.2 8080 tcp

long_conn cut 6
sleep 1.5
ctl remove 'frontend->api:tcp/9000' >/dev/null; ok $? "remove the rule under a running connection"
sleep 1
c1=$(lines cut)
sleep 1.5
c2=$(lines cut)
[ "$c1" -eq "$c2" ] && [ "$c1" -lt 60 ]
ok $? "the established connection is cut within 1 s (lines $c1 one second after removal, $c2 later)"
wait "$(cat "$T/cut.pid")" 2>/dev/null
ctl allow 'frontend->api:tcp/9000' >/dev/null
long_conn again 1
wait "$(cat "$T/again.pid")" 2>/dev/null
[ "$(lines again)" -eq 10 ]; ok $? "adding the rule back allows new connections"

# ---- a process in a cgroup endpoint on the node
cg_reach() {	# cg_reach PORT: connect from a process inside $CG, in the node netns
	# join the cgroup outside the netns (ip netns exec hides cgroup2), then enter
	sh -c "echo \$\$ > '$CG/cgroup.procs' && exec ip netns exec '$NODE' timeout 2 socat -T1 - TCP:198.18.2.2:$1,connect-timeout=1" </dev/null 2>/dev/null | grep -q pong
}
cg_id=$(stat -c %i "$CG")
ctl endpoint list | grep -q "$CG"; ok $? "the cgroup is an endpoint (id $cg_id)"
! cg_reach 443; ok $? "cgroup endpoint batch -> api:443 denied by default"
d0=$(ctl -o json stats | tr -d ' \t\n' | grep -o '"default-deny":{"packets":[0-9]*' | grep -o '[0-9]*$')
[ "${d0:-0}" -gt 0 ]; ok $? "counted as default-deny (${d0:-0})"
ctl allow 'batch->api:443' >/dev/null
cg_reach 443; ok $? "after allow batch->api:443 the cgroup's process connects"
! cg_reach 8080; ok $? "batch -> api:8080 still denied"
done_testing
