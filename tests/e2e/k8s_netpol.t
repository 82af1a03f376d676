#!/bin/bash
# NetworkPolicy conformance with real traffic, in the style of the upstream
# netpol e2e suite and cyclonus.  A node namespace runs netsegd
# ("host_to_pods": true) and the CNI chain (Debian's ptp + host-local, then
# netseg-cni, through tests/lib/cni-run.sh as cni_chain.t drives it); the
# chain makes nine pods, namespaces x, y, z (one host-local /24 each) times
# pods a, b, c labelled pod=a|b|c, each serving TCP and UDP 80 and 81
# (tests/lib/netpol-probe).  Each round applies NetworkPolicies with
# `netsegctl apply -f` (the previous round's are deleted first), probes
# every ordered pair of pods, a pod to itself included (always allowed,
# over loopback, as the upstream suite's AllowLoopback), plus the node to
# every pod, on TCP 80, TCP 81, UDP 80 and UDP 81, and compares every cell
# with the model in tests/lib/netpol-plan.c (its own reading of the
# semantics, no code shared with lib/).  Rounds: written by hand (the
# upstream cases), then generated from a fixed seed.
#
# Each source probes all its targets at once from its own netns with a
# short timeout, so a round takes about a second.  A probe the model
# allows that fails is retried once (a lost packet on a loaded machine);
# one the model denies is never retried.  Every probe uses a source port
# of its own, so no connection of an earlier round shares its 5-tuple.
#
# Environment: NETPOL_SEED, NETPOL_GENERATED (how many generated rounds),
# NETPOL_TIMEOUT_MS (a probe's timeout).
#
# Developer aids, not what `make test` runs (they check the harness, not
# netseg): NETPOL_HARNESS_ONLY=1 runs the chain without netseg-cni, no
# netsegd and no policy, every cell expected allowed (pods, servers,
# probes, timing); with NETPOL_EXPECT=model as well, the model's tables
# are expected of that unenforced traffic (what a mismatch report looks
# like).  NETPOL_HARNESS_ONLY=nft expects the model's tables and has a
# stand-in enforcer drop each cell the model denies (an nftables set in the
# node namespace's forward hook): blocked probes must be seen as blocked,
# and rounds take the time they will with netsegd.
. "$(dirname "$0")/../lib/netns.sh"

HARNESS_ONLY=${NETPOL_HARNESS_ONLY:-0}
SEED=${NETPOL_SEED:-0x6e6574706f6c0001}
GENERATED=${NETPOL_GENERATED:-30}
TIMEOUT_MS=${NETPOL_TIMEOUT_MS:-1000}
PROBE="$NS_TOP/tests/lib/netpol-probe"
PLAN="$NS_TOP/tests/lib/netpol-plan"

. "$NS_TOP/tests/lib/cni.sh"
need_root
need_cni
[ -x "$PROBE" ] && [ -x "$PLAN" ] || bail "build first: make"
command -v nsenter >/dev/null || bail "missing nsenter: run 'make deps' (util-linux)"
NHAND=$("$PLAN" rounds) || bail "netpol-plan doesn't run"
NROUNDS=$((NHAND + GENERATED))
# Source ports 20000 + 80 a round (36 probes, 36 retries): below 65536.
[ "$NROUNDS" -le 500 ] || bail "NETPOL_GENERATED=$GENERATED: at most $((500 - NHAND)) generated rounds"
case $HARNESS_ONLY in
0) ;;
1 | nft) diag "HARNESS-ONLY MODE ($HARNESS_ONLY): no netsegd, no netseg-cni, no policy (a developer aid)"
	[ "$HARNESS_ONLY" = nft ] && ! command -v nft >/dev/null && bail "missing nft: run 'make deps'"
	;;
*) bail "NETPOL_HARNESS_ONLY=$HARNESS_ONLY: 1 or nft (or unset)" ;;
esac
T0=$SECONDS

# A failure of netseg's side ends this file with a failing point, not a
# bail: the rest of the suite still runs.  Bail is for the test bed.
give_up() {
	ok 1 "$*"
	done_testing
	exit 1
}

make_node
netns_of() { echo "np-${1/\//-}-$RUN"; }	# pod x/a's netns: np-x-a-RUN
netns_path() { if [ "$1" = node ]; then echo "/run/netns/$NODE"; else echo "/run/netns/$(netns_of "$1")"; fi; }
PODS=(x/a x/b x/c y/a y/b y/c z/a z/b z/c)

# --- netsegd and the namespaces ---
if [ "$HARNESS_ONLY" = 0 ]; then
	echo '{ "host_to_pods": true }' >"$T/netsegd.json"
	start_daemon -c "$T/netsegd.json" ||
		give_up "netsegd starts in the node namespace with \"host_to_pods\": true (its log above)"
	"$PLAN" namespaces >"$T/namespaces.yaml" || bail "netpol-plan namespaces"
	out=$(ctl apply -f "$T/namespaces.yaml" 2>&1)
	ok $? "netsegctl apply -f namespaces.yaml: Namespaces x, y, z labelled ns=x, ns=y, ns=z" ||
		{ echo "$out" | sed 's/^/#   /'; give_up "can't go on without the namespaces"; }
fi

# --- the pods, through the CNI chain ---
i=0
for ns in x y z; do
	i=$((i + 1))	# x: 198.18.1.0/24, y: .2, z: .3
	timeout=30000
	[ "$HARNESS_ONLY" = 0 ] || timeout=none
	cni_conflist "$T/chain-$ns.conflist" "198.18.$i.0/24" "$timeout" '[{ "dst": "198.18.0.0/16" }]'
done
mkdir -p "$T/ready"
: >"$T/pods"
t=$SECONDS
for pod in "${PODS[@]}"; do
	ns=${pod%/*} name=${pod#*/} pns=$(netns_of "$pod")
	ip netns add "$pns" && NETNSES+=("$pns") || bail "ip netns add $pns failed"
	nsx "$pns" ip link set lo up	# the runtime's loopback plugin, in effect
	out=$(CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$ns;K8S_POD_NAME=$name" CNI_LABELS="pod=$name" \
		chain ADD "$T/chain-$ns.conflist" "$ns-$name" "$(netns_path "$pod")")
	st=$?
	addr=$(jq -r '.ips[0].address // empty' <<<"$out" 2>/dev/null)
	if [ $st -ne 0 ] || [ -z "$addr" ]; then
		diag "CNI ADD of pod $pod (namespace $ns, labels pod=$name) failed with exit $st: $(jq -c . <<<"$out" 2>/dev/null || echo "$out")"
		[ -s "$T/chain.err" ] && sed 's/^/#   /' "$T/chain.err"
		give_up "the chain (ptp + host-local + netseg-cni) makes pod $pod; netsegd must answer endpoint.register (docs/kubernetes.md)"
	fi
	echo "$pod ${addr%/*}" >>"$T/pods"
	ASAN_OPTIONS=$(san_opts netpol-probe) UBSAN_OPTIONS=$(san_opts netpol-probe) \
		nsenter --net="$(netns_path "$pod")" timeout 600 \
		"$PROBE" serve "$pod" "$T/ready/${pod/\//-}" >>"$T/servers.log" 2>&1 </dev/null &
	disown $!
done
# host-local gives each namespace's pods distinct addresses in its own /24
awk '{ split($2, a, "."); n = index("xyz", substr($1, 1, 1))
	if (a[1] "." a[2] "." a[3] != "198.18." n || seen[$2]++) bad = 1 }
	END { exit bad || NR != 9 }' "$T/pods"
ok $? "the chain made ${#PODS[@]} pods in $((SECONDS - t)) s: $(awk '{printf "%s%s=%s", (NR > 1 ? ", " : ""), $1, $2}' "$T/pods")"
for _ in $(seq 100); do
	[ "$(ls "$T/ready" | wc -l)" -eq ${#PODS[@]} ] && break
	sleep 0.1
done
is "$(ls "$T/ready" | wc -l)" ${#PODS[@]} "every pod serves TCP and UDP 80 and 81" ||
	{ sed 's/^/#   /' "$T/servers.log"; bail "servers didn't start"; }

# --- rounds ---
TOTAL_CELLS=0 TOTAL_ALLOWED=0 TOTAL_BAD=0 PROBE_TIME=0
plan_none=
[ "$HARNESS_ONLY" = 1 ] && [ "${NETPOL_EXPECT:-}" != model ] && plan_none=none
if [ "$HARNESS_ONLY" = nft ]; then
	nsx "$NODE" nft -f - <<-EOF || bail "the stand-in enforcer's nftables table"
	table inet netpol {
		set deny { type ipv4_addr . ipv4_addr . inet_proto . inet_service; }
		chain forward {
			type filter hook forward priority 0;
			ip saddr . ip daddr . meta l4proto . th dport @deny drop
		}
	}
	EOF
fi
# fake_enforce DIR: the stand-in enforcer drops what the model denies.
fake_enforce() {
	{
		echo "flush set inet netpol deny"
		awk 'FNR == NR { addr[$1] = $2; next }
			$6 == 0 && $1 != "node" && $1 != $2 {
				printf "add element inet netpol deny { %s . %s . %s . %s }\n",
					addr[$1], $3, $4, $5 }' "$T/pods" "$1/expect"
	} | nsx "$NODE" nft -f -
}
diag "rounds: $NHAND written by hand, then $GENERATED generated from seed $SEED (repeat with NETPOL_SEED=$SEED NETPOL_GENERATED=$GENERATED)"

# policy_names FILE: the NetworkPolicy names in a YAML listing, sorted.
policy_names() { grep -oE '^  name: r[0-9]+-p[0-9]+$' "$1" | sed 's/^  name: //' | sort | paste -sd ' '; }

# apply_round N DIR PREV-YAML: delete PREV-YAML's policies, apply the round's,
# and check that exactly the round's are listed.
apply_round() {
	local r=$1 d=$2 prev=$3 st=0 want got was=
	if [ -n "$prev" ]; then
		ctl delete -f "$prev" >"$d/delete.out" 2>&1 || st=$?
		[ $st -ne 0 ] && { diag "netsegctl delete -f (round $((r - 1))'s policies) failed, exit $st:"; sed 's/^/#   /' "$d/delete.out"; }
	fi
	if ! ctl apply -f "$d/policy.yaml" >"$d/apply.out" 2>&1; then
		ok 1 "round $r: netsegctl apply -f of its policies"
		sed 's/^/#   /' "$d/apply.out"
		diag "the policies:"; sed 's/^/#   /' "$d/policy.yaml"
		return 1
	fi
	ctl get networkpolicies -o yaml >"$d/listed.yaml" 2>&1
	want=$(policy_names "$d/policy.yaml") got=$(policy_names "$d/listed.yaml")
	[ -n "$prev" ] && was=", round $((r - 1))'s deleted"
	[ $st -eq 0 ] && [ "$want" = "$got" ]
	ok $? "round $r: its policies applied and listed ($want)$was" && return 0
	diag "netsegctl get networkpolicies lists: ${got:-nothing}"
	return 1
}

# probe_round N DIR: every source probes its targets at once.
probe_round() {
	local r=$1 d=$2 src f
	for src in node "${PODS[@]}"; do
		f="$d/obs.${src/\//-}"
		awk -v s="$src" '$1 == s {print $2, $3, $4, $5, $6}' "$d/expect" |
			ASAN_OPTIONS=$(san_opts netpol-probe) UBSAN_OPTIONS=$(san_opts netpol-probe) \
			nsenter --net="$(netns_path "$src")" \
			timeout 20 "$PROBE" probe "$src" $((20000 + 80 * (r - 1))) "$TIMEOUT_MS" \
			>"$f" 2>"$f.err" &
	done
	wait
}

# compare_round N DIR: the model's table against what came through; prints
# "CELLS ALLOWED MISMATCHES" and writes the mismatches to DIR/mismatches.
compare_round() {
	cat "$2"/obs.* | awk -v out="$2/mismatches" '
	FNR == NR {
		k = $1 " " $2 " " $4 " " $5
		want[k] = $6; why = $0
		for (i = 1; i <= 6; i++) sub(/^[^ ]+ /, "", why)
		whys[k] = why; order[++n] = k
		next
	}
	{
		k = $1 " " $2 " " $3 " " $4; detail = $0
		for (i = 1; i <= 6; i++) sub(/^[^ ]+ /, "", detail)
		got[k] = $6; details[k] = detail
	}
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]; split(k, c, " ")
			allowed += want[k]
			if (!(k in got)) {
				bad++
				printf "%s -> %s %s/%s: model %s (%s), observed nothing (the prober failed)\n",
					c[1], c[2], c[3], c[4], want[k] ? "allow" : "deny", whys[k] > out
			} else if (got[k] != want[k]) {
				bad++
				printf "%s -> %s %s/%s: model %s (%s), observed %s (%s)\n",
					c[1], c[2], c[3], c[4], want[k] ? "allow" : "deny", whys[k],
					got[k] ? "allowed" : "blocked", details[k] > out
			}
		}
		printf "%d %d %d\n", n, allowed, bad
	}' "$2/expect" -
}

prev=
for ((r = 1; r <= NROUNDS; r++)); do
	d="$T/round$r"
	mkdir -p "$d"
	"$PLAN" round "$T/pods" "$SEED" "$r" "$d" $plan_none || bail "netpol-plan round $r failed"
	title=$(cat "$d/title")
	[ "$r" -le "$NHAND" ] || title="generated round $((r - NHAND)) of seed $SEED"
	if [ "$HARNESS_ONLY" = 0 ]; then
		apply_round "$r" "$d" "$prev" || { prev="$d/policy.yaml"; continue; }
		prev="$d/policy.yaml"
	fi
	[ "$HARNESS_ONLY" = nft ] && { fake_enforce "$d" || bail "the stand-in enforcer failed"; }
	t=$(date +%s%N)
	probe_round "$r" "$d"
	t=$((($(date +%s%N) - t) / 1000000))
	PROBE_TIME=$((PROBE_TIME + t))
	read -r cells allowed bad < <(compare_round "$r" "$d")
	TOTAL_CELLS=$((TOTAL_CELLS + cells)) TOTAL_ALLOWED=$((TOTAL_ALLOWED + allowed))
	TOTAL_BAD=$((TOTAL_BAD + bad))
	retried=$(cat "$d"/obs.* | grep -c '(retried;')
	[ "$retried" -gt 0 ] || retried=
	[ "$bad" -eq 0 ] && [ "$cells" -gt 0 ]
	ok $? "round $r: $cells cells, $allowed allowed, $bad mismatches ($title; probes $t ms${retried:+, $retried retried})" && continue
	diag "round $r's policies:"
	sed 's/^/#   /' "$d/policy.yaml"
	diag "$bad cells differ from the model (the first 20):"
	head -n 20 "$d/mismatches" | sed 's/^/#   /'
	cat "$d"/obs.*.err | sort -u | head -n 5 | sed 's/^/#   prober: /'
done
[ "$TOTAL_CELLS" -gt 0 ]
ok $? "total: $NROUNDS rounds, $TOTAL_CELLS cells, $TOTAL_ALLOWED allowed, $TOTAL_BAD mismatches"

# --- the end: the policies deleted, the pods removed through the chain ---
# The last round's policies go one by one, by NS/NAME (the other form of
# delete), and nothing is left listed.
if [ "$HARNESS_ONLY" = 0 ] && [ -n "$prev" ]; then
	st=0 names=
	for p in $(awk '/^  name: / { n = $2 } /^  namespace: / { gsub(/"/, "", $2); print $2 "/" n }' "$prev"); do
		ctl delete networkpolicy "$p" >>"$T/delete.out" 2>&1 || st=$?
		names="$names $p"
	done
	got=$(ctl get networkpolicies -o yaml 2>&1 | grep -c '^kind: NetworkPolicy')
	[ $st -eq 0 ] && [ "$got" -eq 0 ]
	ok $? "netsegctl delete networkpolicy$names: none is listed after (exit $st, $got listed)" ||
		sed 's/^/#   /' "$T/delete.out"
fi
fails=
for pod in "${PODS[@]}"; do
	ns=${pod%/*} name=${pod#*/}
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$ns;K8S_POD_NAME=$name" CNI_LABELS="pod=$name" \
		chain DEL "$T/chain-$ns.conflist" "$ns-$name" "$(netns_path "$pod")" >/dev/null ||
		fails="$fails $pod"
done
veths=$(nsx "$NODE" ip -o link show type veth | wc -l)
[ -z "$fails" ] && [ "$veths" -eq 0 ]
ok $? "CNI DEL of every pod succeeds and leaves no veth on the node (failed:${fails:- none}, $veths veths left)"
diag "$NROUNDS rounds probed in $((PROBE_TIME / 1000)).$((PROBE_TIME % 1000 / 100)) s (about $((PROBE_TIME / NROUNDS)) ms a round); the whole test took $((SECONDS - T0)) s"
done_testing
