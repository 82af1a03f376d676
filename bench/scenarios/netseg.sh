# shellcheck shell=bash
# netseg as deployed: netsegd in the node namespace, the pod an endpoint
# identity (its veth), the rules applied with `netsegctl apply`, the
# uplink attached with `netsegctl attach` (XDP prefilter + TC).  Rule
# sources are CIDRs, which the daemon turns into identities of their own.
# Denied traffic (world -> pod, no rule) is default-deny, dropped by the
# XDP early policy drop.

netseg_setup() {	# netseg_setup N
	daemon_start
	ctl identity add pod --iface "$PODIF" >/dev/null || die "netseg: identity add"
	rules_awk "$1" 'printf "allow %s/%d -> pod:%s/%d\n", src, plen, proto, port' >"$DIR/rules"
	ctl apply -f "$DIR/rules" >/dev/null || die "netseg: apply of $1 rules failed"
	ctl attach "$UP" >/dev/null || die "netseg: attach $UP failed"
	netseg_wait_pod
}

# The daemon learns the pod's address from its /32 route (rtnetlink).
netseg_wait_pod() {
	for _ in $(seq 100); do
		ctl -o json endpoint list 2>/dev/null | grep -q "\"$(pod_addr)\"" && return 0
		sleep 0.05
	done
	die "netseg: the daemon never learned the pod's address"
}

# Default-deny drops as the daemon sums them: the datapath counts each drop in
# a per-direction slot (NETSEG_STAT_DROP_IN in abi.h), not at the reason's own.
netseg_drops() {
	ctl -o json-compact stats | grep -o '"default-deny":{"packets":[0-9]*' | grep -o '[0-9]*$'
}
