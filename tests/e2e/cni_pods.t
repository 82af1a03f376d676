#!/bin/bash
# Pods through the CNI chain with the real netsegd (docs/kubernetes.md):
# ptp + host-local make the pod, netseg-cni registers it, and ADD returns
# only once the pod is enforced, so its very first packet meets the policy.
# Also: identities per (namespace, labels), CHECK, DEL twice and after the
# netns is gone, ADD failing closed with netsegd down, a restart keeping
# the pods, and 200 pods added and deleted leaving the maps and pins as
# they were.
. "$(dirname "$0")/../lib/netns.sh"

. "$NS_TOP/tests/lib/cni.sh"
need_root
need_cni
command -v bpftool >/dev/null || bail "missing bpftool: run 'make deps'"

make_node
[ -n "$KEEP_LOG" ] && AT_CLEANUP+=("cp $T/netsegd.log $KEEP_LOG")
start_daemon || bail "netsegd didn't start"
SOCK="$T/run/netsegd.sock"
CONF="$T/chain.conflist"
cni_conflist "$CONF" 198.18.50.0/24
GW=198.18.50.1
# add_pod NAME NAMESPACE LABELS: ADD for container c-NAME in netns p-NAME-$RUN
add_pod() {
	local ns="p$1-$RUN"
	ip netns add "$ns" 2>/dev/null && NETNSES+=("$ns")
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$2;K8S_POD_NAME=$1" CNI_LABELS="$3" \
		chain ADD "$CONF" "c-$1" "/var/run/netns/$ns"
}
del_pod() { chain DEL "$CONF" "c-$1" "/var/run/netns/p$1-$RUN"; }
pod_ip() { nsx "p$1-$RUN" ip -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1; }
# tcp_to NAME PORT: a connection from the pod to the node's gateway address
tcp_to() { nsx "p$1-$RUN" timeout 3 socat -T1 - "TCP:$GW:$2,connect-timeout=1" </dev/null 2>/dev/null; }
ep_json() { ctl -o json endpoint list 2>/dev/null; }

# Servers on the node (its gateway address is "host" to the pods).
for port in 8080 8081; do
	nsx "$NODE" timeout 300 socat "TCP-LISTEN:$port,fork,reuseaddr" SYSTEM:'echo pong' \
		>/dev/null 2>&1 </dev/null &
	disown $!
done
ctl deny '*->host:tcp/8080' >/dev/null || bail "couldn't add the deny rule"

# --- ADD: enforced on return, its first packet meets the policy ---
# Not in $(...): the netns it makes must be in this shell's NETNSES (cleanup).
add_pod web shop "app=web,tier=front" >"$T/out"; st=$?; out=$(cat "$T/out")
ok $st "ADD of pod shop/web through ptp + host-local + netseg-cni (exit $st)" ||
	{ echo "$out" | sed 's/^/#   /'; cat "$T/chain.err" | sed 's/^/#   /'; }
# No wait: a window between ADD and enforcement would let this through.
[ "$(tcp_to web 8080)" != pong ]
ok $? "the pod's first connection, right after ADD, is denied (deny *->host:8080)"
is "$(tcp_to web 8081)" pong "and an allowed one passes (to host:8081)"
IP_WEB=$(pod_ip web)
row=$(ep_json | jq -c --arg ip "$IP_WEB" '.endpoints[] | select(.ips | index($ip))')
is "$(jq -c '[.namespace, .pod, .labels, .selected_by]' <<<"$row")" \
	'["shop","web",{"app":"web","tier":"front"},"cni"]' \
	"endpoint list: namespace, pod, labels, registered by CNI"
ID_WEB=$(jq -r .identity <<<"$row")
like "$ID_WEB" "pod:shop:" "its identity is its (namespace, labels): $ID_WEB"
[ "$(jq -r '.attached | length' <<<"$row")" -eq 2 ]
ok $? "both TC programs attached on its veth"
tr=$(ctl -o json trace "$IP_WEB" host tcp/8080 2>&1)
is "$(jq -r .verdict <<<"$tr")" deny "trace from the pod's address: deny (rule: $(jq -r .rule <<<"$tr"))"

# --- pods with the same labels share one identity ---
add_pod web2 shop "tier=front,app=web" >/dev/null
ok $? "ADD of pod shop/web2 with the same labels"
add_pod db shop "app=db" >/dev/null
ok $? "ADD of pod shop/db"
add_pod webx other "app=web,tier=front" >/dev/null
ok $? "ADD of pod other/webx (same labels, another namespace)"
ids=$(ep_json | jq -r '[.endpoints[] | select(.selected_by == "cni") | .identity] | unique | length')
is "$ids" 3 "4 pods, 3 identities: (shop, web labels) shared, db, other namespace"

# --- a named identity by label selector: native rules name pods ---
ctl identity add webs --selector 'app=web,tier in (front)' --namespace shop >/dev/null
ok $? "identity webs --selector 'app=web,tier in (front)' --namespace shop"
ctl deny 'webs->host:tcp/8081' >/dev/null
ok $? "deny webs->host:tcp/8081"
[ "$(tcp_to web 8081)" != pong ]
ok $? "shop/web (selected) is denied host:8081 now"
is "$(tcp_to db 8081)" pong "shop/db (not selected) still reaches it"
is "$(tcp_to webx 8081)" pong "other/webx (same labels, other namespace) still reaches it"
ctl remove 'webs->host:tcp/8081' >/dev/null && ctl identity remove webs >/dev/null
ok $? "rule and identity removed"
is "$(tcp_to web 8081)" pong "shop/web reaches host:8081 again"

# --- CHECK ---
CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web" \
	chain CHECK "$CONF" c-web "/var/run/netns/pweb-$RUN" >/dev/null
ok $? "CHECK of an enforced pod succeeds"

# --- a restart keeps the pods and their identities ---
stop_daemon
add_pod late shop "app=late" >"$T/out"; st=$?; out=$(cat "$T/out")
[ $st -ne 0 ] && [ "$(jq -r .code <<<"$out" 2>/dev/null)" = 11 ]
ok $? "ADD with netsegd down fails closed with CNI code 11 (exit $st)"
del_pod late >/dev/null
ok $? "the runtime's DEL of that pod succeeds with netsegd down"
start_daemon || bail "netsegd didn't restart"
row=$(ep_json | jq -c --arg ip "$IP_WEB" '.endpoints[] | select(.ips | index($ip))')
is "$(jq -r .identity <<<"$row")" "$ID_WEB" "after a restart the pod keeps its registration and identity"
[ "$(tcp_to web 8080)" != pong ]
ok $? "and stays enforced"

# --- DEL, DEL again, DEL after the netns is gone ---
del_pod web2 >/dev/null
ok $? "DEL of shop/web2"
del_pod web2 >/dev/null
ok $? "DEL of shop/web2 again succeeds"
ip netns del "pwebx-$RUN"
del_pod webx >/dev/null
ok $? "DEL after the pod's netns is gone succeeds"
n=$(ep_json | jq '[.endpoints[] | select(.selected_by == "cni")] | length')
is "$n" 2 "2 pods left registered (web, db)"

# --- 200 pods added and deleted: maps and pins as before ---
# The main plugin's part is done in bulk here (ptp takes ~0.5 s a pod on
# this machine): 200 veth pairs made with one `ip -batch`, then netseg-cni
# itself as the runtime calls it, with the prevResult ptp would give.
maps_state() {
	local pin="$T/bpf/netseg" m
	find "$pin" | sort
	for m in $(find "$pin" -name 'ns_ipcache*' -o -name 'ns_identit*' -o -name 'ns_endpoint*' | sort); do
		echo "$m $(bpftool -j map dump pinned "$m" | jq length)"
	done
}
cni() {	# cni I ADD|DEL: netseg-cni for container mI on veth hmI
	cni_plugin "$NODE" "$SOCK" "$2" "m$1-$RUN" /var/run/netns/gone "ns$(($1 % 4))" "m$1" \
		"app=m$(($1 % 5))" "hm$1-${RUN:0:5}" "198.18.60.$1/32" 2>>"$T/chain.err"
}
before=$(maps_state)
for i in $(seq 200); do
	echo "link add hm$i-${RUN:0:5} type veth peer name qm$i-${RUN:0:5}"
	echo "link set hm$i-${RUN:0:5} up"
	echo "link set qm$i-${RUN:0:5} up"
done | nsx "$NODE" ip -batch - || bail "couldn't make 200 veth pairs"
t0=$(date +%s.%N)
fails=0
for i in $(seq 200); do cni "$i" ADD || fails=$((fails + 1)); done
t1=$(date +%s.%N)
is "$fails" 0 "200 pods registered through netseg-cni ($(echo "scale=1; 200 / ($t1 - $t0)" | bc) pods/s)"
n=$(ep_json | jq '[.endpoints[] | select(.selected_by == "cni")] | length')
is "$n" 202 "202 pods registered"
n=$(ep_json | jq '[.endpoints[] | select(.selected_by == "cni") | .identity] | unique | length')
is "$n" 22 "with 22 identities (20 label sets of the bulk pods, web and db)"
for i in $(seq 100); do cni "$i" DEL || fails=$((fails + 1)); done
for i in $(seq 101 200); do echo "link del hm$i-${RUN:0:5}"; done | nsx "$NODE" ip -batch -
for i in $(seq 101 200); do cni "$i" DEL || fails=$((fails + 1)); done
is "$fails" 0 "100 deleted by DEL, 100 by their veth going away first (then a DEL)"
for i in $(seq 100); do echo "link del hm$i-${RUN:0:5}"; done | nsx "$NODE" ip -batch -
after=$(maps_state)
[ "$before" = "$after" ]
ok $? "maps and pins as before" || diff <(echo "$before") <(echo "$after") | sed 's/^/#   /'
is "$(jq '.k8s.identities | length' "$T/state/state.json")" 2 \
	"the state file keeps the identities of the 2 pods left, no more"

done_testing
