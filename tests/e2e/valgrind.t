#!/usr/bin/env bash
# netsegd under valgrind's memcheck through the e2e scenario: pods whose
# addresses it learns from rtnetlink, identities, allow and deny rules
# through netsegctl, real TCP v4/v6 allowed and denied, flow records into
# a file, a pod added later, a rule file applied, a config reload (SIGHUP),
# then SIGTERM.  Its valgrind log must show no memory error and no
# definitely or indirectly lost block.  Timeouts are stretched for the
# slowdown; the daemon itself is unchanged.
. "$(dirname "$0")/../lib/netns.sh"
need_root
command -v valgrind >/dev/null || bail "missing valgrind: run 'make deps'"
if nm "$NETSEGD" 2>/dev/null | grep -q ' __asan_init'; then
	# ASan's shadow memory and valgrind can't share one process; in this
	# build LeakSanitizer checks every daemon the other e2e tests stop.
	echo "1..0 # SKIP netsegd is built with ASan (make sanitize): valgrind can't run it"
	exit 0
fi

make_node
make_pod frontend 1
make_pod api 2
for p in 443 8080; do serve api tcp $p; serve api tcp6 $p; done
wait_port api 443 && wait_port api 8080 || bail "servers didn't start"
API=198.18.2.2 API6=fd00::2:2

VG="$T/valgrind.log"; [ -n "$KEEP_VG" ] && AT_CLEANUP+=("cp \"$VG\" \"$KEEP_VG\"")
DAEMON_WRAP=(valgrind --tool=memcheck --leak-check=full
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
	--error-exitcode=99 --num-callers=30 --log-file="$VG"
	--suppressions="$NS_TOP/tests/lib/valgrind.supp")
DAEMON_WAIT=90
cat >"$T/netsegd.json" <<EOF
{
	"node_name": "node-$RUN",
	"deny_events": { "rate": 1000, "burst": 1000 },
	"flow_logs": [
		{ "type": "file", "path": "$T/flows.log", "format": "json", "chain": true,
		  "max_bytes": 4096, "keep": 5 }
	]
}
EOF
t0=$SECONDS
start_daemon -c "$T/netsegd.json"; ok $? "netsegd starts under valgrind ($((SECONDS - t0)) s)"
[ -s "$VG" ] && grep -q 'Memcheck' "$VG"; ok $? "valgrind's memcheck runs it"

# Identities by alias (make_pod sets netseg:NAME): addresses learned.
ctl identity add frontend >/dev/null; ok $? "identity frontend (by its pod's alias)"
ctl identity add api >/dev/null; ok $? "identity api"
learned() { ctl endpoint list | grep -q "$1"; }
for _ in $(seq 100); do learned 198.18.2.2 && learned 198.18.1.2 && break; sleep 0.2; done
learned 198.18.2.2 && learned 198.18.1.2; ok $? "endpoint addresses learned from rtnetlink"

! reach frontend $API 443; ok $? "default deny before any rule"
ctl allow 'frontend->api:443' --log --comment 'web' >/dev/null; ok $? "allow frontend->api:443 --log"
ctl deny 'frontend->api:8080' >/dev/null; ok $? "deny frontend->api:8080"
for _ in 1 2 3; do reach frontend $API 443; done
reach frontend $API 443; ok $? "frontend -> api:443 (v4) connects"
reach frontend $API6 443 tcp6; ok $? "frontend -> api:443 (v6) connects"
! reach frontend $API 8080; ok $? "frontend -> api:8080 denied"
! reach api 198.18.1.2 443; ok $? "api -> frontend denied (default)"
ctl trace frontend api tcp/8080 | grep -q deny; ok $? "trace names the deny rule"
ctl -o json stats >/dev/null && ctl -o json status >/dev/null && ctl list >/dev/null
ok $? "status, stats and list answer"

# A pod made while the daemon runs, and a rule file applied over the set.
make_pod db 3
serve db tcp 5432
wait_port db 5432 || bail "db server didn't start"
ctl identity add db >/dev/null; ok $? "identity db for a pod made later"
for _ in $(seq 100); do learned 198.18.3.2 && break; sleep 0.2; done
learned 198.18.3.2; ok $? "its address learned"
cat >"$T/policy.rules" <<EOF
allow frontend->api:443 --log
deny frontend->api:8080
allow api->db:5432
EOF
ctl diff -f "$T/policy.rules" >/dev/null; [ $? -eq 1 ]; ok $? "diff a rule file (differences: exit 1)"
ctl apply -f "$T/policy.rules" >/dev/null; ok $? "apply it"
reach api 198.18.3.2 5432; ok $? "api -> db:5432 connects after apply"
! reach frontend 198.18.3.2 5432; ok $? "frontend -> db:5432 denied"
ctl remove 'api->db:5432' >/dev/null; ok $? "remove a rule by its text"
! reach api 198.18.3.2 5432; ok $? "api -> db:5432 denied again"
ctl allow 'frontend->nosuch:1' >/dev/null 2>&1; [ $? -eq 1 ]; ok $? "bad input refused"

# Reload (SIGHUP) with log_allowed: a flow of a rule without --log is
# logged from then on.
ctl allow 'frontend->db:5432' >/dev/null; ok $? "allow frontend->db:5432 (no --log)"
sed -i 's/"node_name"/"log_allowed": true, "node_name"/' "$T/netsegd.json"
kill -HUP "$DAEMON_PID"
db_logged() { cat "$T"/flows.log* 2>/dev/null | grep '"verdict":"allowed"' | grep -q '198.18.3.2'; }
for _ in $(seq 50); do
	reach frontend 198.18.3.2 5432 && db_logged && break
	sleep 0.2
done
db_logged; ok $? "after SIGHUP, allowed flows of rules without --log are logged"
reach frontend $API 443; ok $? "allowed flow still passes after the reload"

# Flow records: the file sink is flushed on the 1 s tick.
for _ in $(seq 100); do
	cat "$T"/flows.log* 2>/dev/null | grep -q '"verdict":"denied"' &&
		cat "$T"/flows.log* | grep -q '"verdict":"allowed"' && break
	sleep 0.2
done
cat "$T"/flows.log* 2>/dev/null | grep -q '"verdict":"allowed"'; ok $? "allowed flows logged"
cat "$T"/flows.log* 2>/dev/null | grep -q '"verdict":"denied"'; ok $? "denied flows logged"
ctl flows --verdict denied | grep -q '"verdict":"denied"'; ok $? "netsegctl flows shows history"

# Pods: registered as netseg-cni does (one JSON line), a refusal, hand
# labels; one pod is still registered at exit (its memory is freed then).
req() { jq -c . <<<"$1" | nsx "$NODE" socat -t 30 - "UNIX-CONNECT:$T/run/netsegd.sock"; }
for i in 1 2; do
	nsx "$NODE" ip link add "vk$i${RUN:0:5}" type veth peer name "wk$i${RUN:0:5}"
	nsx "$NODE" ip link set "vk$i${RUN:0:5}" up
done
reg() {	# reg I IP: endpoint.register of container c-I on vkI
	req '{"cmd": "endpoint.register", "container_id": "c-'"$1"'", "ifname": "eth0",
	      "iface": "vk'"$1${RUN:0:5}"'", "namespace": "shop", "pod": "p'"$1"'",
	      "labels": {"app": "web"}, "ips": ["'"$2"'"]}'
}
out=$(reg 1 198.18.60.1); grep -q "\"ok\":true" <<<"$out"; ok $? "endpoint.register of a pod" || diag "$out"
reg 2 198.18.60.2 | grep -q '"ok":true'; ok $? "endpoint.register of a second pod with the same labels"
req '{"cmd": "endpoint.register", "container_id": "c-3", "iface": "nosuch", "ips": ["x"]}' |
	grep -q '"ok":false'; ok $? "a bad registration is refused"
req '{"cmd": "endpoint.register", "container_id": "c-4", "iface": "vk1'"${RUN:0:5}"'", "node": "n2"}' |
	grep -q '"node\\" is not a registration field'; ok $? "a registration claiming another node is refused"
req '{"cmd": "endpoint.register", "container_id": "c-5", "iface": "vk1'"${RUN:0:5}"'", "ips": ["198.18.0.1"]}' |
	grep -q "this node's own address"; ok $? "a registration of the node's own address is refused"
req '{"cmd": "endpoint.register", "container_id": "c-6", "iface": "vk1'"${RUN:0:5}"'", "ips": ["127.0.0.1"]}' |
	grep -q "not a unicast address"; ok $? "a registration of a loopback address is refused"
req '{"cmd": "endpoint.unregister", "container_id": "c-1", "ifname": "eth0"}' |
	grep -q '"removed":true'; ok $? "endpoint.unregister"
req '{"cmd": "endpoint.label", "iface": "vk1'"${RUN:0:5}"'", "namespace": "ops", "labels": {"role": "x"}}' |
	grep -q '"ok":true'; ok $? "endpoint.label by hand"
req '{"cmd": "endpoint.unlabel", "iface": "vk1'"${RUN:0:5}"'"}' | grep -q '"ok":true'
ok $? "endpoint.unlabel"
ctl trace 198.18.60.2 host tcp/22 >/dev/null; ok $? "trace from a pod's address"

# SIGTERM: the daemon exits; valgrind's leak check runs and writes the log.
pid=$DAEMON_PID
stop_daemon TERM
! kill -0 "$pid" 2>/dev/null; ok $? "netsegd exits on SIGTERM"
grep -q 'ERROR SUMMARY' "$VG"; ok $? "valgrind finished its report"

errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$VG" | tail -1 | tr -d ,)
lost() {	# lost definitely|indirectly: bytes in that class (0 if none listed)
	local v; v=$(sed -n "s/.*$1 lost: \\([0-9,]*\\) bytes.*/\\1/p" "$VG" | tail -1 | tr -d ,)
	echo "${v:-0}"
}
def=$(lost definitely) ind=$(lost indirectly)
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|All heap blocks' \
	"$VG" | sed 's/^==[0-9]*== */valgrind: /' | while read -r l; do diag "$l"; done
[ "${errors:-1}" -eq 0 ]; ok $? "no memory errors (${errors:-?}; bpf() attr checks suppressed: tests/lib/valgrind.supp)"
[ "$def" -eq 0 ] && [ "$ind" -eq 0 ]; ok $? "no leak: definitely lost $def B, indirectly lost $ind B"
if [ "${errors:-1}" -ne 0 ] || [ "$def" -ne 0 ] || [ "$ind" -ne 0 ]; then
	grep -v '^==[0-9]*== *$' "$VG" | grep -A25 -m3 -E 'Invalid|uninitialised|Syscall param|definitely lost in|indirectly lost in' |
		head -60 | sed 's/^/#   /'
fi
done_testing
