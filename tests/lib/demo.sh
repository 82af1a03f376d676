#!/usr/bin/env bash
# `make demo`: a node namespace with pods frontend, api, db (netns + veth,
# routed /32s, alias netseg:NAME) and a world host behind an uplink veth.
# netsegd runs in the node; we print who can reach whom, allow one flow
# with the exact command from the README, print the matrix again, then
# trace, counters, readable flows, one OCSF record and the log's hash chain.
# Everything is torn down on exit, Ctrl-C or failure.
set -u
. "$(dirname "$0")/netns.sh"
need_root

if [ -t 1 ]; then
	G=$'\e[32m' R=$'\e[31m' B=$'\e[1m' D=$'\e[2m' N=$'\e[0m'
else
	G= R= B= D= N=
fi
say() { printf '%s\n' "${B}==> $*${N}"; }

SOURCES=(frontend api db world)
TARGETS=("api 198.18.2.2 443" "api 198.18.2.2 8080" "db 198.18.3.2 5432")

# All cells probe at once (a blocked one waits out its 1 s connect timeout).
probe_all() {
	local i=0 s t
	for s in "${SOURCES[@]}"; do
		for t in "${TARGETS[@]}"; do
			set -- $t
			i=$((i + 1))
			[ "$s" = "$1" ] && continue
			( reach "$s" "$2" "$3" && echo open >"$T/cell.$i" || echo blocked >"$T/cell.$i" ) &
		done
	done
	wait
}

matrix() {
	local i=0
	probe_all
	printf '%s\n' "${B}$1${N}"
	printf '  %-10s' "from \\ to"
	for t in "${TARGETS[@]}"; do set -- $t; printf ' %-10s' "$1:$3"; done
	printf '\n'
	for s in "${SOURCES[@]}"; do
		printf '  %-10s' "$s"
		for t in "${TARGETS[@]}"; do
			set -- $t
			i=$((i + 1))
			if [ "$s" = "$1" ]; then
				printf ' %s%-10s%s' "$D" "-" "$N"
			elif [ "$(cat "$T/cell.$i" 2>/dev/null)" = open ]; then
				printf ' %s%-10s%s' "$G" "open" "$N"
			else
				printf ' %s%-10s%s' "$R" "blocked" "$N"
			fi
		done
		printf '\n'
	done
}

start=$(date +%s)
say "building the node namespace, pods frontend/api/db and a world host"
make_node
make_pod frontend 1
make_pod api 2
make_pod db 3
make_world
serve api tcp 443
serve api tcp 8080
serve db tcp 5432
wait_port api 443 && wait_port api 8080 && wait_port db 5432 || bail "servers didn't start"

say "starting netsegd in the node namespace (own bpffs: $T/bpf)"
cat >"$T/netsegd.json" <<EOF
{
	"node_name": "demo-node",
	"log_allowed": true,
	"flow_logs": [ { "type": "file", "path": "$T/flows.log", "format": "json", "chain": true } ]
}
EOF
start_daemon -c "$T/netsegd.json" || bail "netsegd didn't start (log: $T/netsegd.log)"
for id in frontend api db; do
	ctl identity add "$id" >/dev/null || bail "identity add $id failed"
done
ctl attach "$UPLINK" >/dev/null || bail "attach $UPLINK failed"
sleep 0.3	# netlink learning of the pods' /32 routes (aliases netseg:NAME)
ctl endpoint list
echo
matrix "before: every endpoint is default-deny"
echo
say "netsegctl allow frontend->api:443"
(cd "$T" && ctl allow frontend->api:443)
echo
matrix "after: only frontend -> api:443 is open"
echo
say "why? netsegctl trace shows what each side resolved to and the rule"
ctl trace frontend api 443
ctl trace frontend db 5432
echo
say "counters that moved (netsegctl stats)"
ctl stats | awk 'NF == 0 { exit } NR == 1 || $2 != 0 || $3 != 0'
echo
say "flows, one line each (netsegctl observe --verdict allowed, then denied)"
ctl observe --verdict allowed --last 2
ctl observe --verdict denied --last 5
echo
MAP=${DEMO_MAP:-/tmp/netseg-demo-map.png}
say "who talks to whom: netsegctl map -o png --output-file $MAP (Graphviz)"
ctl map -o json | perl -MJSON::PP -e '
	for my $e (@{decode_json(join "", <STDIN>)->{edges}}) {
		my $v = $e->{allowed} ? "allowed" : $e->{audit} ? "audit" : "denied";
		printf "  %-9s -> %-5s %s/%s  %d %s\n", $e->{src}, $e->{dst}, $e->{proto},
			$e->{port} // $e->{icmp_type}, $e->{allowed} + $e->{denied} + $e->{audit}, $v;
	}'
ctl map -o png --output-file "$MAP" && echo "  the picture: $MAP"
echo
say "one denial as a SIEM sees it (netsegctl -o ocsf flows --verdict denied)"
ctl -o ocsf flows --verdict denied | tail -1 |
	perl -MJSON::PP -e 'print JSON::PP->new->pretty->canonical->encode(decode_json(<STDIN>))'
echo
# The file sink flushes every second; by now it has the records above.
say "audit trail: netsegctl logs verify flows.log (hash-chained)"
for _ in $(seq 20); do
	ctl logs verify "$T/flows.log" >"$T/verify" 2>&1 && break
	sleep 0.1
done
cat "$T/verify"
say "done in $(( $(date +%s) - start )) s; tearing everything down"
