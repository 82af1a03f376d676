#!/bin/bash
# The CNI chain as a runtime drives it (tests/lib/cni-run.sh): Debian's ptp
# with host-local IPAM, then netseg-cni, for a pod namespace, from inside a
# node namespace.  netsegd's side of the protocol is played by a stand-in
# on the control socket that records each request and answers as the test
# says (the daemon's endpoint commands are described in docs/kubernetes.md).
# Shown: the plugin registers the real host-side veth and the address
# host-local gave the pod; with nothing listening ADD fails closed with the
# spec's error object and the runtime's DEL leaves nothing behind; a
# refusal fails ADD; CHECK; DEL twice and DEL after the netns is gone.
. "$(dirname "$0")/../lib/netns.sh"

. "$NS_TOP/tests/lib/cni.sh"
need_root
need_cni

make_node
POD="cnipod-$RUN"
ip netns add "$POD" && NETNSES+=("$POD")
SOCK="$T/run/netsegd.sock"
export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0"
export CNI_LABELS="app=web,tier=front"
CONF="$T/chain.conflist"
cni_conflist "$CONF" 198.18.50.0/24 3000

# The stand-in netsegd: one request line per connection into req.log, the
# contents of $T/reply back.
STANDIN=
standin() {	# standin REPLY-JSON
	echo "$1" >"$T/reply"
	[ -n "$STANDIN" ] && return 0
	socat UNIX-LISTEN:"$SOCK",fork,unlink-early \
		SYSTEM:"head -n1 >>$T/req.log; cat $T/reply" 2>/dev/null &
	STANDIN=$!
	AT_CLEANUP+=("kill $STANDIN 2>/dev/null")
	for _ in $(seq 50); do [ -S "$SOCK" ] && return 0; sleep 0.1; done
	bail "the stand-in daemon didn't come up on $SOCK"
}
veths() { nsx "$NODE" ip -o link show type veth | wc -l; }
leases() { find "$T/ipam" -type f ! -name lock ! -name 'last_reserved_ip*' 2>/dev/null | wc -l; }
last_req() { tail -n1 "$T/req.log" 2>/dev/null; }

# --- netsegd down: ADD fails closed, the runtime's DEL cleans up ---
out=$(chain ADD "$CONF" c1 "/var/run/netns/$POD"); st=$?
[ $st -ne 0 ] && [ "$(jq -r .code <<<"$out" 2>/dev/null)" = 11 ]
ok $? "ADD with netsegd unreachable fails with CNI error code 11 (exit $st)" ||
	echo "$out" | sed 's/^/#   /'
like "$(jq -r .msg <<<"$out" 2>/dev/null)" "can't reach netsegd" "and says why"
chain DEL "$CONF" c1 "/var/run/netns/$POD" >/dev/null; st=$?
[ $st -eq 0 ] && [ "$(veths)" -eq 0 ] && [ "$(leases)" -eq 0 ]
ok $? "the runtime's DEL after the failed ADD leaves no veth and no lease (exit $st)"

# --- netsegd enforces: the request carries the real interface and address ---
standin '{"ok": true, "identity": 1000, "ifindex": 9, "attached": ["tc-ingress", "tc-egress"]}'
out=$(chain ADD "$CONF" c1 "/var/run/netns/$POD"); st=$?
ok $st "ADD through ptp + host-local + netseg-cni (exit $st)" || echo "$out" | sed 's/^/#   /'
addr=$(jq -r '.ips[0].address' <<<"$out" 2>/dev/null)
like "$addr" "198.18.50." "the chain's result carries host-local's address ($addr)"
req=$(last_req)
is "$(jq -r .cmd <<<"$req")" endpoint.register "netseg-cni sent endpoint.register"
iface=$(jq -r .iface <<<"$req")
nsx "$NODE" ip link show "$iface" >/dev/null 2>&1
ok $? "its iface ($iface) is ptp's host-side veth in the node namespace"
is "$(jq -r '.ips[0]' <<<"$req")" "${addr%/*}" "its address is the pod's"
nsx "$POD" ip -o addr show dev eth0 | grep -qF " ${addr%/*}/"
ok $? "which is on the pod's eth0"
is "$(jq -c '[.namespace, .pod, .labels]' <<<"$req")" '["shop","web-0",{"app":"web","tier":"front"}]' \
	"namespace, pod name and labels from CNI_ARGS and args.cni.labels"

standin '{"ok": true, "enforced": true}'
chain CHECK "$CONF" c1 "/var/run/netns/$POD" >/dev/null; st=$?
[ $st -eq 0 ] && [ "$(jq -r .cmd <<<"$(last_req)")" = endpoint.check ]
ok $? "CHECK: endpoint.check, exit $st"

# --- a refusal fails ADD; DEL clears the half-made pod ---
POD2="cnipod2-$RUN"
ip netns add "$POD2" && NETNSES+=("$POD2")
standin '{"ok": false, "error": "couldn'"'"'t attach to the interface: no such device", "kind": "rejected"}'
out=$(chain ADD "$CONF" c2 "/var/run/netns/$POD2"); st=$?
[ $st -ne 0 ] && [ "$(jq -r .code <<<"$out" 2>/dev/null)" = 100 ]
ok $? "ADD refused by netsegd fails with code 100 (exit $st)" || echo "$out" | sed 's/^/#   /'
standin '{"ok": true, "removed": false}'
chain DEL "$CONF" c2 "/var/run/netns/$POD2" >/dev/null; st=$?
[ $st -eq 0 ] && [ "$(veths)" -eq 1 ]
ok $? "its DEL removes its veth, the first pod's stays (exit $st)"

# --- DEL, DEL again, DEL after the namespace is gone ---
standin '{"ok": true, "removed": true}'
chain DEL "$CONF" c1 "/var/run/netns/$POD" >/dev/null; st=$?
[ $st -eq 0 ] && [ "$(veths)" -eq 0 ] && [ "$(leases)" -eq 0 ] &&
	[ "$(jq -r .cmd <<<"$(last_req)")" = endpoint.unregister ]
ok $? "DEL: endpoint.unregister, veth and lease gone (exit $st)"
standin '{"ok": true, "removed": false}'
chain DEL "$CONF" c1 "/var/run/netns/$POD" >/dev/null; st=$?
ok $st "DEL again succeeds (exit $st)"
standin '{"ok": true}'
out=$(chain ADD "$CONF" c3 "/var/run/netns/$POD"); st=$?
ok $st "ADD of a third container (exit $st)"
ip netns del "$POD"
chain DEL "$CONF" c3 "/var/run/netns/$POD" >/dev/null; st=$?
[ $st -eq 0 ] && [ "$(leases)" -eq 0 ]
ok $? "DEL after its netns is gone succeeds and frees the lease (exit $st)"

done_testing
