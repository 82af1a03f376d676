#!/bin/bash
# Cluster mode (docs/cluster.md): three nodes, each a namespace with its
# own netsegd (own bpffs, state and run dirs), joined by a fabric bridge;
# one etcd started here on the fabric.  Pods registered through
# netseg-cni on each node are published in etcd, and every other node
# puts their addresses in its ipcache with their identity, so a
# NetworkPolicy on one node judges pods of another by source address.
# Also: the daemons start with etcd down and catch up when it comes;
# a pod added on node 2 is known on nodes 1 and 3 (time measured); etcd
# stopped changes no verdict and a pod made meanwhile is published when
# it returns; etcd restarted empty gets everything published again; a
# daemon killed with -9 leaves the others after its lease (TTL 3 s).
. "$(dirname "$0")/../lib/netns.sh"
. "$NS_TOP/tests/lib/cni.sh"

need_root
[ -x "$NS_TOP/cni/netseg-cni" ] || bail "build first: make"
for t in jq curl etcd bpftool; do
	command -v $t >/dev/null || bail "missing $t: run 'make deps'"
done

FAB="fab-$RUN"
ETCD_IP=198.18.100.1
ETCD_URL="http://$ETCD_IP:2379"
PREFIX="/netseg-$RUN"
TTL=3
NODES="1 2 3"
PIDS=()
ETCD_PID=

# ms since the epoch, for the propagation times
now_ms() { date +%s%3N; }

# --- "cluster" config errors: said with what is wrong, nothing started ---
bad_config() {	# bad_config JSON-OF-CLUSTER EXPECTED-TEXT
	local out
	echo "{\"cluster\": $1}" >"$T/bad.json"
	out=$("$NETSEGD" -c "$T/bad.json" --state-dir "$T/bad-state" --run-dir "$T/bad-run" \
		--bpffs "$T/bad-bpf" 2>&1); st=$?
	[ $st -ne 0 ] && [[ "$out" == *"$2"* ]]
	ok $? "config \"cluster\": $1 refused: $(head -1 <<<"$out")"
}
bad_config '{"etcd": "http://198.18.100.1:2379"}' '"etcd" must be a list'
bad_config '{"etcd": []}' '"etcd" must be a list'
bad_config '{"etcd": ["ftp://198.18.100.1"]}' 'is not an http:// or https:// URL'
bad_config '{"etcd": ["http://198.18.100.1:2379"], "prefix": "netseg"}' '"prefix" must look like /netseg'
bad_config '{"etcd": ["http://198.18.100.1:2379"], "prefix": "/netseg/"}' '"prefix" must look like /netseg'
bad_config '{"etcd": ["http://198.18.100.1:2379"], "lease_ttl": 1}' '"lease_ttl" must be an integer from 2 to 3600'
bad_config '{"etcd": ["http://198.18.100.1:2379"], "ttl": 5}' 'unknown setting "ttl"'

# Daemons and etcd go before their bpffs mounts do.
AT_CLEANUP+=('for p in "${PIDS[@]}" $ETCD_PID; do kill -9 $p 2>/dev/null; done; sleep 0.2')
ip netns add "$FAB" && NETNSES+=("$FAB")
nsx "$FAB" ip link set lo up
nsx "$FAB" ip link add br0 type bridge
nsx "$FAB" ip link set br0 up
nsx "$FAB" ip addr add "$ETCD_IP/24" dev br0

# node N: namespace, fabric port 198.18.100.1N (fd00:100::1N), routes to
# the other nodes' pod ranges 198.18.11M.0/24 (fd00:11M::/64) through them
node_ns() { echo "nsn$1-$RUN"; }
nodectl() {	# nodectl N ARGS...: netsegctl on node N
	local n=$1; shift
	nsx "$(node_ns "$n")" "$NETSEGCTL" -s "$T/n$n/run/netsegd.sock" "$@"
}
for n in $NODES; do
	ns=$(node_ns "$n")
	ip netns add "$ns" && NETNSES+=("$ns")
	nsx "$ns" ip link set lo up
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	nsx "$ns" ip link add fab0 type veth peer name "f$n-${RUN:0:8}" netns "$FAB"
	nsx "$FAB" ip link set "f$n-${RUN:0:8}" master br0 up
	nsx "$ns" ip link set fab0 up
	nsx "$ns" ip addr add "198.18.100.1$n/24" dev fab0
	nsx "$ns" ip -6 addr add "fd00:100::1$n/64" dev fab0 nodad
	for m in $NODES; do
		[ "$m" = "$n" ] && continue
		nsx "$ns" ip route add "198.18.11$m.0/24" via "198.18.100.1$m"
		nsx "$ns" ip -6 route add "fd00:11$m::/64" via "fd00:100::1$m"
	done
	mkdir -p "$T/n$n/bpf" "$T/n$n/state" "$T/n$n/run"
	mount -t bpf bpf "$T/n$n/bpf" && AT_CLEANUP+=("umount $T/n$n/bpf")
	cat >"$T/n$n/config.json" <<EOF
{ "node_name": "n$n",
  "cluster": { "etcd": ["$ETCD_URL"], "prefix": "$PREFIX", "lease_ttl": $TTL } }
EOF
	# The same NetworkPolicy on every node (what shared policy will put
	# there): db in shop takes tcp/8080 from pods labelled app=web only.
	jq -n --arg yaml "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-web
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: db
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: web
    ports:
    - protocol: TCP
      port: 8080
" '{revision: 1, identities: [], rules: [], k8s: {objects: $yaml}}' >"$T/n$n/state/state.json"
done
[ -n "$KEEP_LOG" ] && AT_CLEANUP+=("cat $T/n*/netsegd.log $T/etcd.log >$KEEP_LOG")

start_node() {	# start_node N: netsegd on node N, in the background
	local n=$1
	ASAN_OPTIONS=$(san_opts "netsegd-n$n") UBSAN_OPTIONS=$(san_opts "netsegd-n$n") \
	nsenter --net="/run/netns/$(node_ns "$n")" "$NETSEGD" -v -c "$T/n$n/config.json" \
		--state-dir "$T/n$n/state" --run-dir "$T/n$n/run" --bpffs "$T/n$n/bpf/netseg" \
		>>"$T/n$n/netsegd.log" 2>&1 </dev/null &
	PIDS[$n]=$!
	disown "${PIDS[$n]}"
}
wait_node() {	# wait_node N: its socket answers
	local n=$1
	for _ in $(seq 600); do
		[ -S "$T/n$n/run/netsegd.sock" ] && nodectl "$n" status >/dev/null 2>&1 && return 0
		kill -0 "${PIDS[$n]}" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/#   /' "$T/n$n/netsegd.log" >&2
	return 1
}

start_etcd() {
	# ip netns exec execs etcd: $! is etcd itself
	ip netns exec "$FAB" etcd --name "e-$RUN" --data-dir "$T/etcd" \
		--listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster "e-$RUN=http://127.0.0.1:2380" \
		--log-level warn --logger zap >>"$T/etcd.log" 2>&1 </dev/null &
	ETCD_PID=$!
	disown $ETCD_PID
	for _ in $(seq 150); do
		nsx "$FAB" curl -sf -m 1 -X POST "$ETCD_URL/v3/kv/range" -d '{"key": "AA=="}' \
			>/dev/null 2>&1 && return 0
		sleep 0.1
	done
	sed 's/^/#   /' "$T/etcd.log" >&2
	return 1
}
stop_etcd() {
	[ -n "$ETCD_PID" ] && kill "$ETCD_PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$ETCD_PID" 2>/dev/null || break; sleep 0.05; done
	ETCD_PID=
}
# keys under the test's prefix in etcd
etcd_keys() {
	local k e
	k=$(printf '%s/' "$PREFIX" | base64 -w0)
	e=$(printf '%s0' "$PREFIX" | base64 -w0)
	nsx "$FAB" curl -sf -m 2 -X POST "$ETCD_URL/v3/kv/range" \
		-d "{\"key\": \"$k\", \"range_end\": \"$e\", \"keys_only\": true}" |
		jq -r '.kvs // [] | .[].key | @base64d'
}

# add_pod N NAME LABEL-VALUE J: pod NAME on node N, app=LABEL-VALUE in
# namespace shop, 198.18.11N.J and fd00:11N::J, registered by netseg-cni
# as the runtime calls it after the main plugin made the veth
pod_ns() { echo "p$1-$RUN"; }
pod_ip4() { echo "198.18.11$1.$2"; }
pod_ip6() { echo "fd00:11$1::$2"; }
add_pod() {
	local n=$1 name=$2 app=$3 j=$4 ns host
	ns=$(pod_ns "$name") host="h$name${RUN:0:6}"
	ip netns add "$ns" && NETNSES+=("$ns")
	nsx "$(node_ns "$n")" ip link add "$host" type veth peer name eth0 netns "$ns"
	nsx "$(node_ns "$n")" ip link set "$host" up
	nsx "$(node_ns "$n")" ip addr add 198.18.0.1/32 dev "$host"
	nsx "$(node_ns "$n")" ip -6 addr add fd00::1/128 dev "$host" nodad
	nsx "$(node_ns "$n")" ip route add "$(pod_ip4 "$n" "$j")/32" dev "$host"
	nsx "$(node_ns "$n")" ip -6 route add "$(pod_ip6 "$n" "$j")/128" dev "$host"
	nsx "$ns" ip link set lo up
	nsx "$ns" ip link set eth0 up
	nsx "$ns" ip addr add "$(pod_ip4 "$n" "$j")/32" dev eth0
	nsx "$ns" ip -6 addr add "$(pod_ip6 "$n" "$j")/128" dev eth0 nodad
	nsx "$ns" ip route add 198.18.0.1/32 dev eth0
	nsx "$ns" ip route add default via 198.18.0.1 dev eth0
	nsx "$ns" ip -6 route add fd00::1/128 dev eth0
	nsx "$ns" ip -6 route add default via fd00::1 dev eth0
	cni_plugin "$(node_ns "$n")" "$T/n$n/run/netsegd.sock" ADD "c$name-$RUN" "/var/run/netns/$ns" \
		shop "$name" "app=$app" "$host" "$(pod_ip4 "$n" "$j")/32" "$(pod_ip6 "$n" "$j")/128" \
		2>>"$T/cni.err"
}
serve() {	# serve POD: "pong" on tcp/8080, v4 and v6
	local ns; ns=$(pod_ns "$1")
	nsx "$ns" timeout 300 socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo pong' \
		>/dev/null 2>&1 </dev/null &
	disown $!
	nsx "$ns" timeout 300 socat TCP6-LISTEN:8080,fork,reuseaddr,ipv6only=1 SYSTEM:'echo pong' \
		>/dev/null 2>&1 </dev/null &
	disown $!
	for _ in $(seq 100); do
		[ "$(nsx "$ns" ss -Hlnt | grep -c ':8080 ')" -ge 2 ] && return 0
		sleep 0.05
	done
	return 1
}
reach() {	# reach FROM-POD ADDR [tcp6]: "pong" came back
	local ns out; ns=$(pod_ns "$1")
	if [ "$3" = tcp6 ]; then
		out=$(nsx "$ns" timeout 2 socat -T1 - "TCP6:[$2]:8080,connect-timeout=1" </dev/null 2>/dev/null)
	else
		out=$(nsx "$ns" timeout 2 socat -T1 - "TCP:$2:8080,connect-timeout=1" </dev/null 2>/dev/null)
	fi
	[ "$out" = pong ]
}
# wait_until MS CMD...: CMD succeeds within MS; ELAPSED is how long it took
wait_until() {
	local limit=$1 t0; shift
	t0=$(now_ms)
	while :; do
		"$@" && { ELAPSED=$(($(now_ms) - t0)); return 0; }
		[ $(($(now_ms) - t0)) -ge "$limit" ] && { ELAPSED=$(($(now_ms) - t0)); return 1; }
		sleep 0.02
	done
}
# the identity node N gives an address (the trace's source side), and how
src_of() { nodectl "$1" -o json trace "$2" host tcp/1 2>/dev/null | jq -r '.src.identity'; }
src_is_pod() { [[ "$(src_of "$1" "$2")" == pod:shop:* ]]; }
src_is_world() { [ "$(src_of "$1" "$2")" = world ]; }
node_eps() { nodectl "$1" -o json node list 2>/dev/null | jq -r --arg n "n$2" '.nodes[] | select(.name == $n) | .endpoints'; }

# --- the daemons start with etcd down: alone, enforcing, retrying ---
for n in $NODES; do start_node "$n"; done
for n in $NODES; do wait_node "$n" || bail "netsegd on node $n didn't start"; done
ok 0 "three netsegd started with the cluster store down (fail-static: each enforces alone)"
add_pod 1 web1 web 2 || bail "couldn't register web1 on node 1: $(cat "$T/cni.err")"
add_pod 1 evil1 evil 3 || bail "couldn't register evil1 on node 1"
add_pod 2 db db 2 || bail "couldn't register db on node 2"
add_pod 3 web3 web 2 || bail "couldn't register web3 on node 3"
ok 0 "pods registered through netseg-cni on every node with etcd down"
serve db || bail "db's servers didn't start"
DB4=$(pod_ip4 2 2) DB6=$(pod_ip6 2 2)
! reach web1 "$DB4"
ok $? "web1 (node 1) -> db (node 2) denied while node 2 can't know web1 (its source is world)"
is "$(src_of 2 "$(pod_ip4 1 2)")" world "node 2 resolves web1's address to world"
is "$(nodectl 1 node list | head -1)" \
	"the cluster store is unreachable: $(nodectl 1 -o json node list | jq -r .error); showing the nodes as last known" \
	"node list says the store is unreachable"

# --- etcd comes: every node publishes and learns the others ---
start_etcd || bail "etcd didn't start"
wait_until 15000 src_is_pod 2 "$(pod_ip4 1 2)"
ok $? "node 2 knows web1 by identity $ELAPSED ms after etcd started ($(src_of 2 "$(pod_ip4 1 2)"))"
wait_until 5000 src_is_pod 1 "$(pod_ip4 3 2)"
ok $? "node 1 knows web3 (node 3) by identity"
wait_until 5000 src_is_pod 3 "$DB6"
ok $? "node 3 knows db's v6 address by identity"
is "$(src_of 2 "$(pod_ip4 1 2)")" "$(src_of 2 "$(pod_ip4 2 2)" | sed 's/app=db/app=web/')" \
	"node 2 gives web1 the identity of (shop, app=web)"
out=$(nodectl 2 -o json trace "$(pod_ip4 1 2)" "$DB4" tcp/8080)
is "$(jq -r .verdict <<<"$out")" allow "trace on node 2: web1 -> db tcp/8080 allowed ($(jq -r .src.resolved_by <<<"$out"))"

# --- cross-node policy, by identity from the source address ---
reach web1 "$DB4"
ok $? "web1 (node 1) -> db (node 2) tcp/8080 passes"
reach web3 "$DB4"
ok $? "web3 (node 3) -> db (node 2) tcp/8080 passes"
! reach evil1 "$DB4"
ok $? "evil1 (node 1, app=evil) -> db denied by node 2"
reach web1 "$DB6" tcp6
ok $? "web1 -> db over IPv6 passes"
! reach evil1 "$DB6" tcp6
ok $? "evil1 -> db over IPv6 denied"
nodectl 1 -o json node list >"$T/nodes.json"
is "$(jq -c '[.nodes[] | [.name, .endpoints]] | sort' "$T/nodes.json")" \
	'[["n1",4],["n2",2],["n3",2]]' "node list on node 1: three nodes and their endpoint keys (one per address)"
like "$(nodectl 1 node list | grep '^n2 ')" "198.18.100.12" "node list shows node 2's fabric address"

# --- a pod added on node 2 is known on nodes 1 and 3 ---
txns() { nodectl "$1" -o json node list | jq -r .txns; }
tx0=$(txns 2)
add_pod 2 db2 db 3 || bail "couldn't register db2"
t0=$(now_ms)
wait_until 5000 src_is_pod 1 "$(pod_ip4 2 3)"
ok $? "db2 added on node 2 known by identity on node 1 $(($(now_ms) - t0)) ms after its ADD returned"
wait_until 5000 src_is_pod 3 "$(pod_ip4 2 3)"
ok $? "and on node 3 ($(($(now_ms) - t0)) ms)"
T_ADD=$(($(now_ms) - t0))
is "$(($(txns 2) - tx0))" 1 "node 2 published db2 (two addresses) in one etcd transaction"

# --- a pod deleted on node 2 leaves nodes 1 and 3 ---
cni_plugin "$(node_ns 2)" "$T/n2/run/netsegd.sock" DEL "cdb2-$RUN" "/var/run/netns/$(pod_ns db2)" \
	shop db2 "" "" 2>>"$T/cni.err"
ok $? "DEL of db2 on node 2"
t0=$(now_ms)
wait_until 5000 src_is_world 1 "$(pod_ip4 2 3)"
ok $? "db2 gone from node 1 $(($(now_ms) - t0)) ms after its DEL returned"
wait_until 5000 src_is_world 3 "$(pod_ip4 2 3)"
ok $? "and from node 3 ($(($(now_ms) - t0)) ms)"

# --- 100 pods added and deleted on node 2: node 1 follows, nothing stale ---
# The main plugin's part in bulk (veths made with one ip -batch), then
# netseg-cni as the runtime calls it, as tests/e2e/cni_pods.t does.
BULK=${BULK:-100}
bulk_cni() {	# bulk_cni ADD|DEL I
	cni_plugin "$(node_ns 2)" "$T/n2/run/netsegd.sock" "$1" "m$2-$RUN" /var/run/netns/gone bulk \
		"m$2" "app=m$(($2 % 5))" "hm$2-${RUN:0:5}" "198.18.112.$((10 + $2))/32" 2>>"$T/cni.err"
}
ipcache_n1() { bpftool -j map dump pinned "$T/n1/bpf/netseg/ns_ipcache" 2>/dev/null | jq length; }
ipc0=$(ipcache_n1)
tx0=$(txns 2)
for i in $(seq $BULK); do
	echo "link add hm$i-${RUN:0:5} type veth peer name qm$i-${RUN:0:5}"
	echo "link set hm$i-${RUN:0:5} up"
	echo "link set qm$i-${RUN:0:5} up"
done | nsx "$(node_ns 2)" ip -batch - || bail "couldn't make $BULK veth pairs"
fails=0
for i in $(seq $BULK); do bulk_cni ADD "$i" || fails=$((fails + 1)); done
t0=$(now_ms)
is "$fails" 0 "$BULK pods registered on node 2"
bulk_known() { [ "$(node_eps 1 2)" = $((BULK + 2)) ]; }
wait_until 10000 bulk_known
ok $? "node 1 knows all $((BULK + 2)) endpoint keys of node 2, $ELAPSED ms after the last ADD"
is "$(src_of 1 198.18.112.$((10 + BULK)))" "pod:bulk:app=m$((BULK % 5))" "the last one by its identity"
is "$(($(txns 2) - tx0))" $BULK "$BULK etcd transactions for $BULK pods (one each)"
for i in $(seq $BULK); do bulk_cni DEL "$i" || fails=$((fails + 1)); done
for i in $(seq $BULK); do echo "link del hm$i-${RUN:0:5}"; done | nsx "$(node_ns 2)" ip -batch -
t0=$(now_ms)
is "$fails" 0 "and deleted"
bulk_gone() { [ "$(node_eps 1 2)" = 2 ]; }
wait_until 10000 bulk_gone
ok $? "node 1 is back to node 2's 2 endpoint keys $ELAPSED ms after the last DEL"
is "$(ipcache_n1)" "$ipc0" "node 1's ipcache holds as many entries as before ($ipc0)"
is "$(etcd_keys | grep -c "^$PREFIX/endpoints/n2/")" 2 "etcd holds node 2's 2 keys, nothing stale"

# --- etcd stopped: verdicts unchanged, a new pod enforced locally ---
stop_etcd
reach web1 "$DB4"
ok $? "etcd stopped: web1 -> db still passes"
! reach evil1 "$DB4"
ok $? "etcd stopped: evil1 -> db still denied"
# A restart with the store away: the other nodes' pods come from the state
# file (fail-static), so db's node still knows web1 by its identity.
kill -TERM "${PIDS[2]}"
for _ in $(seq 100); do kill -0 "${PIDS[2]}" 2>/dev/null || break; sleep 0.1; done
start_node 2
wait_node 2 || bail "node 2 didn't restart"
reach web1 "$DB4"
ok $? "node 2 restarted while etcd is down: web1 -> db still passes (others' pods from its state file)"
! reach evil1 "$DB4"
ok $? "and evil1 -> db still denied"
add_pod 1 web1b web 4
ok $? "a pod registered on node 1 while etcd is down"
! reach web1b "$DB4"
ok $? "web1b -> db denied meanwhile (node 2 can't know it yet)"
unreachable1() { nodectl 1 -o json node list | jq -e '.reachable == false' >/dev/null; }
wait_until 5000 unreachable1
ok $? "node 1 says the store is unreachable"
start_etcd || bail "etcd didn't restart"
wait_until 10000 src_is_pod 2 "$(pod_ip4 1 4)"
ok $? "etcd back: web1b published and known on node 2 after $ELAPSED ms"
# Node 2's first list replaced the pods it had restored from its state file
# with new ones of the same addresses and identities: the claims stay.
is "$(src_of 2 "$(pod_ip4 1 2)")" "pod:shop:app=web" "web1's address still web's identity on node 2 after its first list"
reach web1 "$DB4"
ok $? "and web1 -> db passes"
reach web1b "$DB4"
ok $? "web1b -> db passes"

# --- etcd restarted empty: the nodes publish again ---
stop_etcd
rm -rf "$T/etcd"
start_etcd || bail "etcd didn't start empty"
keys_back() { [ "$(etcd_keys | grep -c "^$PREFIX/")" -eq 13 ]; }
wait_until 15000 keys_back
ok $? "etcd restarted empty: all 13 keys (3 nodes, 10 addresses) published again after $ELAPSED ms" ||
	etcd_keys | sed 's/^/#   /'
# Each node lists the empty store again before the others have published:
# for that moment another node's pods are unknown (denied, never let
# through), then the watch brings them back.
reach_db() { reach web1 "$DB4"; }
wait_until 10000 reach_db
ok $? "web1 -> db passes again $ELAPSED ms after all keys were back"
wait_until 5000 src_is_pod 3 "$(pod_ip4 1 4)"
ok $? "node 3 still knows web1b"

# --- a daemon killed with -9: its endpoints leave after the lease ---
kill -9 "${PIDS[3]}"
t0=$(now_ms)
src_is_pod 2 "$(pod_ip4 3 2)"
ok $? "right after the kill node 2 still knows web3: only the lease running out ends it"
gone3() { src_is_world 2 "$(pod_ip4 3 2)" && [ -z "$(node_eps 2 3)" ]; }
wait_until $(((TTL + 5) * 1000)) gone3
ok $? "node 3's daemon killed -9: its pod and node left node 2 $(($(now_ms) - t0)) ms later (lease TTL $TTL s)"
wait_until 3000 src_is_world 1 "$(pod_ip4 3 2)"
ok $? "and node 1"
! reach web3 "$DB4"
ok $? "web3 -> db now denied by node 2 (web3 is world to it)"
reach web1 "$DB4"
ok $? "web1 -> db still passes"

# --- bad data in etcd is refused by key, and ignored ---
bad_key=$(printf '%s/endpoints/n9/198.18.119.9' "$PREFIX" | base64 -w0)
nsx "$FAB" curl -sf -m 2 -X POST "$ETCD_URL/v3/kv/put" \
	-d "{\"key\": \"$bad_key\", \"value\": \"$(printf 'not json' | base64 -w0)\"}" >/dev/null
ok $? "a value netseg didn't write put in etcd"
wait_until 5000 grep -q "ignoring $PREFIX/endpoints/n9/198.18.119.9: the value of" "$T/n1/netsegd.log"
ok $? "node 1 logs it by key and ignores it: $(grep -m1 -o 'ignoring .*' "$T/n1/netsegd.log")"
reach web1 "$DB4"
ok $? "web1 -> db still passes"

web1_key=$(printf '%s/endpoints/n1/198.18.111.2' "$PREFIX" | base64 -w0)
etcd_value() {	# etcd_value BASE64-KEY: the value, decoded
	nsx "$FAB" curl -sf -m 2 -X POST "$ETCD_URL/v3/kv/range" -d "{\"key\": \"$1\"}" |
		jq -r '.kvs[0].value // "" | @base64d'
}
nsx "$FAB" curl -sf -m 2 -X POST "$ETCD_URL/v3/kv/put" \
	-d "{\"key\": \"$web1_key\", \"value\": \"$(printf '{"namespace": "Not A Label"}' | base64 -w0)\"}" >/dev/null
wait_until 5000 grep -q "ignoring $PREFIX/endpoints/n1/198.18.111.2: \"namespace\" is missing or not a DNS label" "$T/n2/netsegd.log"
ok $? "web1's key overwritten with a bad value: node 2 refuses it by key"
reach web1 "$DB4"
ok $? "and keeps the last good one: web1 -> db still passes"
web1_ok() { etcd_value "$web1_key" | jq -e '.labels.app == "web"' >/dev/null 2>&1; }
wait_until 5000 web1_ok
ok $? "node 1 puts its own key back ($ELAPSED ms)"
own_key=$(printf '%s/endpoints/n9/198.18.100.11' "$PREFIX" | base64 -w0)
nsx "$FAB" curl -sf -m 2 -X POST "$ETCD_URL/v3/kv/put" -d "{\"key\": \"$own_key\", \"value\": \"$(printf '{"namespace": "shop", "labels": {"app": "web"}}' | base64 -w0)\"}" >/dev/null
wait_until 5000 grep -q "ignoring $PREFIX/endpoints/n9/198.18.100.11: another node claims this node's own address" "$T/n1/netsegd.log"
ok $? "an endpoint claiming node 1's own address is refused by node 1, by key"
is "$(src_of 1 198.18.100.11)" host "node 1's address stays host"
is "$(src_of 2 198.18.100.11)" "pod:shop:app=web" "(node 2 takes it: not its address)"

# --- a clean stop keeps the lease (a restart must not drop the node's
# pods elsewhere); a node stopped for good leaves after the lease ---
kill -TERM "${PIDS[1]}"
sleep 1
! src_is_world 2 "$(pod_ip4 1 2)"
ok $? "node 1 stopped cleanly: 1 s later node 2 still knows its pods (no revoke: a restart keeps them)"
wait_until $((TTL * 1000 + 5000)) src_is_world 2 "$(pod_ip4 1 2)"
ok $? "and they leave node 2 when the lease runs out ($ELAPSED ms more, lease_ttl $TTL s)"

diag "propagation: pod added on node 2 -> known on nodes 1 and 3 in $T_ADD ms (polling every 20 ms)"
stop_etcd
done_testing
