#!/usr/bin/env bash
# Learn mode end to end: frontend in audit mode talks to api on tcp/443,
# tcp/8080 and udp/53; `suggest` prints exactly those rules, `--diff` marks
# them new, `--apply` adds them (keeping the rule in force), and with audit
# off the same traffic passes while tcp/9090, never used, stays denied.
# `map` as DOT (nodes, edges, colours), PNG (magic bytes) and JSON.
. "$(dirname "$0")/../lib/netns.sh"
need_root
command -v dot >/dev/null || bail "Graphviz dot missing: run 'make deps'"
frontend_api_pods
serve api udp 53
serve api tcp 9090
wait_port api 53 && wait_port api 9090 || bail "servers didn't start"

start_daemon; ok $? "netsegd starts"
ctl identity add frontend --iface "$(pod_if frontend)" --cidr 198.18.1.2/32 --audit >/dev/null
ok $? "frontend in audit mode"
ctl identity add api --iface "$(pod_if api)" --cidr 198.18.2.2/32 --audit >/dev/null
ok $? "api in audit mode (audit relaxes only an identity's own default deny)"
ctl allow 'api -> frontend:tcp/22' --comment 'kept' >/dev/null; ok $? "an unrelated rule in force"

n443=0; n8080=0; n53=0
for i in 1 2 3; do reach frontend 198.18.2.2 443 && n443=$((n443 + 1)); done
for i in 1 2; do reach frontend 198.18.2.2 8080 && n8080=$((n8080 + 1)); done
# UDP: the server forks a shell per datagram, which a loaded machine can make
# slower than the probe's 2 s; a late answer is retried (each try a new flow).
for i in 1 2 3; do reach frontend 198.18.2.2 53 udp && n53=1 && break; done
[ "$n443$n8080$n53" = 321 ]; ok $? "audit mode passes tcp/443 x3, tcp/8080 x2, udp/53 ($n443$n8080$n53)"
sleep 1

ctl suggest >"$T/sugg.rules"; ok $? "suggest runs"
sed 's/^/#   /' "$T/sugg.rules"
grep -v '^#' "$T/sugg.rules" | sed 's/  #.*//' | sort >"$T/rules"
printf '%s\n' 'allow frontend -> api:tcp/443' 'allow frontend -> api:tcp/8080' \
	'allow frontend -> api:udp/53' | sort >"$T/want"
diff -u "$T/want" "$T/rules" >&2; ok $? "suggest: exactly tcp/443, tcp/8080, udp/53 from frontend to api"
grep -q '^allow frontend -> api:tcp/443  # 3 flows seen (3 audit)' "$T/sugg.rules"
ok $? "each rule says the flows it explains (3 audit flows on tcp/443)"
ctl suggest --identity nosuch | grep -q '^allow'; [ $? -ne 0 ]; ok $? "--identity filters"
ctl suggest -o yaml >"$T/np.yaml"; ok $? "suggest -o yaml"
python3 - "$T/np.yaml" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
assert len(docs) == 1, docs
d = docs[0]
assert d["kind"] == "NetworkPolicy"
assert d["spec"]["podSelector"]["matchLabels"]["netseg.io/identity"] == "api"
ports = sorted((i["ports"][0]["protocol"], i["ports"][0]["port"]) for i in d["spec"]["ingress"])
assert ports == [("TCP", 443), ("TCP", 8080), ("UDP", 53)], ports
for i in d["spec"]["ingress"]:
    assert i["from"][0]["podSelector"]["matchLabels"]["netseg.io/identity"] == "frontend"
PY
ok $? "yaml: one NetworkPolicy for api, ingress from frontend on the three ports"

ctl suggest --diff >"$T/diff"; ok $? "suggest --diff"
[ "$(grep -c '^+ allow' "$T/diff")" = 3 ]; ok $? "diff: three new rules"

# The map, before the rules change the verdicts.
ctl map -o dot >"$T/map.dot"; ok $? "map -o dot"
sed 's/^/#   /' "$T/map.dot"
grep -q '^	"frontend" \[shape=box' "$T/map.dot" && grep -q '^	"api" \[shape=box' "$T/map.dot"
ok $? "dot: frontend and api nodes"
grep -E '^	"frontend" -> "api" \[color=darkorange, style=dashed, label="[^"]*tcp/443 ×3' "$T/map.dot" >/dev/null
ok $? "dot: audit edge frontend -> api dashed, labelled tcp/443 ×3"
dot -Tplain "$T/map.dot" >/dev/null; ok $? "dot parses the graph"
ctl map -o png --output-file "$T/map.png"; ok $? "map -o png"
[ "$(head -c 8 "$T/map.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
ok $? "the PNG starts with the PNG signature"
nsx "$NODE" env PATH=/nonexistent "$NETSEGCTL" -s "$T/run/netsegd.sock" map -o png --output-file "$T/x.png" 2>"$T/err"; r=$?
[ $r -ne 0 ] && grep -q "Graphviz" "$T/err"; ok $? "no dot: a clear error ($(head -1 "$T/err"))"
ctl map -o json >"$T/map.json"; ok $? "map -o json"
python3 - "$T/map.json" <<'PY'
import sys, json
m = json.load(open(sys.argv[1]))
names = {n["name"] for n in m["nodes"]}
assert {"frontend", "api"} <= names, names
e = {(x["src"], x["dst"], x["proto"], x.get("port")): x for x in m["edges"]}
assert e[("frontend", "api", "tcp", 443)]["audit"] == 3, e
assert e[("frontend", "api", "tcp", 8080)]["audit"] == 2, e
assert e[("frontend", "api", "udp", 53)]["audit"] >= 1, e  # one per try
PY
ok $? "json: nodes and audit edges with counts"

rev=$(ctl status -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["revision"])')
ctl suggest --apply --expect-revision $((rev + 7)) >/dev/null 2>&1; [ $? -ne 0 ]
ok $? "--apply with a stale --expect-revision is refused"
ctl suggest --apply --expect-revision "$rev"; ok $? "suggest --apply --expect-revision $rev"
ctl list >"$T/list"
grep -q 'api -> frontend:tcp/22' "$T/list"; ok $? "the rule in force is kept"
[ "$(grep -c 'frontend -> api' "$T/list")" = 3 ]; ok $? "three learned rules in force"
ctl suggest --diff | grep -q '^+ allow'; [ $? -ne 0 ]; ok $? "diff after apply: nothing new"

# Audit off: remove and re-add both without --audit (rules name them, so
# the rules go and come back around it, as an operator would).
ctl list -o json >"$T/rules.json"
python3 -c 'import json,sys; print(json.dumps({"rules": json.load(open(sys.argv[1]))["rules"]}))' \
	"$T/rules.json" >"$T/keep.json"
echo '{"rules": []}' >"$T/none.json"
ctl apply -f "$T/none.json" >/dev/null && ctl identity remove frontend >/dev/null &&
	ctl identity remove api >/dev/null
ok $? "frontend and api removed"
ctl identity add frontend --iface "$(pod_if frontend)" --cidr 198.18.1.2/32 >/dev/null
ok $? "frontend re-added without --audit"
ctl identity add api --iface "$(pod_if api)" --cidr 198.18.2.2/32 >/dev/null
ok $? "api re-added without --audit"
ctl apply -f "$T/keep.json" >/dev/null; ok $? "the rules back"
reach frontend 198.18.2.2 443; ok $? "enforced: tcp/443 passes"
reach frontend 198.18.2.2 8080; ok $? "enforced: tcp/8080 passes"
# UDP: the echo server forks a shell per datagram; a loaded machine may
# miss one, so up to three tries (a drop would miss all three).
for i in 1 2 3; do reach frontend 198.18.2.2 53 udp && break; done; r=$?
[ $r -ne 0 ] && ctl trace frontend api udp/53 >&2
ok $r "enforced: udp/53 passes"
reach frontend 198.18.2.2 9090; [ $? -ne 0 ]; ok $? "enforced: tcp/9090, never used, stays denied"
done_testing
