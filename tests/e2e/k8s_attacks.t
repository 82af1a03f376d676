#!/bin/bash
# What an attacker in a pod can try against NetworkPolicy enforcement,
# with pods made by the real chain (ptp + host-local + netseg-cni):
# - send with another pod's source address to get that pod's access
#   (the address is registered for the other pod's interface: dropped);
# - keep a connection open across a policy that now denies it (cut on
#   its next packet), and across its own relabelling (likewise);
# - take a pod's registered address by answering ARP for it (dynamic
#   neighbour entries are not trusted; the registration wins).
. "$(dirname "$0")/../lib/netns.sh"

. "$NS_TOP/tests/lib/cni.sh"
need_root
need_cni

make_node
start_daemon || bail "netsegd didn't start"
SOCK="$T/run/netsegd.sock"
CONF="$T/chain.conflist"
cni_conflist "$CONF" 198.18.70.0/24
add_pod() {	# add_pod NAME LABELS [CONTAINER]
	local ns="a$1-$RUN"
	ip netns list | grep -qw "$ns" || { ip netns add "$ns" && NETNSES+=("$ns"); }
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=$1" CNI_LABELS="$2" \
		chain ADD "$CONF" "${3:-c-$1}" "/var/run/netns/$ns" >/dev/null
}
ipof() { nsx "a$1-$RUN" ip -o -4 addr show dev eth0 | awk '{print $4}' | head -1 | cut -d/ -f1; }
in_pod() { local p=$1; shift; nsx "a$p-$RUN" "$@"; }

add_pod web "app=web" && add_pod db "app=db" && add_pod evil "app=evil" ||
	bail "couldn't make the pods: $(cat "$T/chain.err")"
WEB=$(ipof web) DB=$(ipof db) EVIL=$(ipof evil)
diag "pods: web $WEB, db $DB, evil $EVIL"

cat >"$T/policy.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: db-from-web, namespace: shop }
spec:
  podSelector: { matchLabels: { app: db } }
  policyTypes: [Ingress]
  ingress:
  - from: [ { podSelector: { matchLabels: { app: web } } } ]
EOF
ctl apply -f "$T/policy.yaml" >/dev/null || bail "couldn't apply the policy"

# db records every UDP datagram and TCP line it gets, with the sender.
in_pod db timeout 300 socat -u UDP-RECVFROM:5353,fork,reuseaddr \
	SYSTEM:"cat >>$T/udp.log" </dev/null >/dev/null 2>&1 &
disown $!
in_pod db timeout 300 socat -u TCP-LISTEN:9000,reuseaddr,fork OPEN:"$T/tcp.log",creat,append \
	</dev/null >/dev/null 2>&1 &
disown $!
for _ in $(seq 100); do in_pod db ss -Hlntu | grep -q ':9000 ' && break; sleep 0.05; done
udp() {	# udp POD TEXT [SRC-ADDR]: one datagram to db:5353
	in_pod "$1" timeout 2 socat -u - "UDP:$DB:5353${3:+,bind=$3}" <<<"$2" 2>/dev/null
}
got() { for _ in $(seq 20); do grep -q "$1" "$T/udp.log" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# --- spoofing a permitted pod's address ---
udp web from-web
got from-web; ok $? "web -> db: allowed by the policy (control)"
udp evil from-evil-itself
! got from-evil-itself; ok $? "evil -> db with its own address: denied"
in_pod evil ip addr add "$WEB/32" dev eth0
udp evil spoofed-as-web "$WEB"
! got spoofed-as-web; ok $? "evil -> db with web's registered address as source: dropped"
in_pod evil ip addr del "$WEB/32" dev eth0

# --- a dynamic ARP answer for web's address doesn't move it ---
nsx "$NODE" ip neigh replace "$WEB" lladdr 02:00:00:00:00:01 nud reachable \
	dev "$(nsx "$NODE" ip -o route get "$EVIL" | sed -n 's/.* dev \([^ ]*\).*/\1/p')" 2>/dev/null
udp web from-web-after-neigh
got from-web-after-neigh; ok $? "a neighbour entry for web's address on evil's veth: web still reaches db"
tr=$(ctl -o json trace "$WEB" "$DB" udp/5353)
is "$(jq -r .src.identity <<<"$tr")" "pod:shop:app=web" "and web's address still resolves to web's identity"

# --- an open connection across a policy that now denies it ---
mkfifo "$T/fifo"
in_pod web timeout 120 socat -u PIPE:"$T/fifo" "TCP:$DB:9000" >/dev/null 2>&1 &
disown $!
exec 7>"$T/fifo"
echo line-one >&7
tcp_got() { for _ in $(seq 30); do grep -q "$1" "$T/tcp.log" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
tcp_got line-one; ok $? "web -> db:9000 connection open, first line arrived"
cat >"$T/deny.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: db-from-web, namespace: shop }
spec:
  podSelector: { matchLabels: { app: db } }
  policyTypes: [Ingress]
  ingress:
  - from: [ { podSelector: { matchLabels: { app: nobody } } } ]
EOF
ctl apply -f "$T/deny.yaml" >/dev/null; ok $? "the policy changed: db accepts only app=nobody"
echo line-two >&7
! tcp_got line-two; ok $? "the open connection's next packet is dropped"
exec 7>&-

# --- relabelling a pod re-evaluates its open connection ---
ctl apply -f "$T/policy.yaml" >/dev/null || bail "couldn't restore the policy"
mkfifo "$T/fifo2"
in_pod web timeout 120 socat -u PIPE:"$T/fifo2" "TCP:$DB:9000" >/dev/null 2>&1 &
disown $!
exec 8>"$T/fifo2"
echo line-three >&8
tcp_got line-three; ok $? "a new web -> db:9000 connection, first line arrived"
# Labels come from the orchestrator: it registers the same container again.
row=$(ctl -o json endpoint list | jq -c '.endpoints[] | select(.pod == "web")')
reg=$(jq -c --arg ip "$WEB" '{cmd: "endpoint.register", container_id: "c-web", ifname: "eth0",
	iface: .name, namespace: "shop", pod: "web", labels: {app: "web-retired"}, ips: [$ip]}' <<<"$row")
nsx "$NODE" socat -t 20 - "UNIX-CONNECT:$SOCK" <<<"$reg" | grep -q '"ok":true'
ok $? "web registered again (same container) with labels app=web-retired"
echo line-four >&8
! tcp_got line-four; ok $? "its open connection's next packet is dropped: the policy no longer selects it"
exec 8>&-

done_testing
