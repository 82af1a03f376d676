#!/usr/bin/env bash
# Kubernetes NetworkPolicy and Namespace objects through netsegctl and the
# daemon, as kubectl handles them: apply -f (created/configured/unchanged,
# --dry-run), every error of a bad file with file:line:col and nothing
# applied, delete -f and delete by name, get as a table, YAML (which
# applies back unchanged) and JSON, a native .rules file through the same
# apply -f (the content decides), endpoint label/unlabel and the LABELS
# column of endpoint list, and the objects kept across a restart.
. "$(dirname "$0")/../lib/netns.sh"
need_root
make_node
make_pod lab 1
start_daemon; ok $? "netsegd starts in the node namespace"

cat >"$T/a.yaml" <<'EOF'
# two namespaces and two policies
apiVersion: v1
kind: Namespace
metadata:
  name: xa
  labels: {team: blue}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-a
  namespace: xa
spec:
  podSelector:
    matchLabels: {app: a}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: b}}
    ports:
    - port: 80
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
  namespace: yb
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: v1
kind: Namespace
metadata: {name: yb}
EOF

out=$(ctl apply -f "$T/a.yaml" --dry-run); st=$?
is "$st:$out" "0:namespace/xa created (dry run)
networkpolicy.networking.k8s.io/xa/allow-a created (dry run)
networkpolicy.networking.k8s.io/yb/deny-all created (dry run)
namespace/yb created (dry run)" "--dry-run: what would be created, in file order"
out=$(ctl get networkpolicies 2>&1); st=$?
is "$st:$out" "0:No resources found." "--dry-run applied nothing"

rev0=$(ctl -o json status | grep -o '"revision":[[:space:]]*[0-9]*' | grep -o '[0-9]*$')
out=$(ctl apply -f "$T/a.yaml"); st=$?
is "$st:$out" "0:namespace/xa created
networkpolicy.networking.k8s.io/xa/allow-a created
networkpolicy.networking.k8s.io/yb/deny-all created
namespace/yb created" "apply: every object created"
rev1=$(ctl -o json status | grep -o '"revision":[[:space:]]*[0-9]*' | grep -o '[0-9]*$')
[ -n "$rev0" ] && [ "$rev1" -gt "$rev0" ]; ok $? "one new revision ($rev0 -> $rev1)"
out=$(ctl -o json apply -f "$T/a.yaml"); st=$?
[ $st -eq 0 ] && grep -q "\"revision\":[[:space:]]*$rev1" <<<"$out"
ok $? "the reply carries the revision (-o json)"

out=$(ctl get netpol); st=$?
is "$st:$out" "0:NAMESPACE  NAME      POD-SELECTOR  POLICY-TYPES    REVISION
xa         allow-a   app=a         Ingress         $rev1
yb         deny-all  <none>        Ingress,Egress  $rev1" "get netpol: a table sorted by namespace and name"
out=$(ctl get ns); st=$?
is "$st:$out" "0:NAME  LABELS                                    REVISION
xa    kubernetes.io/metadata.name=xa,team=blue  $rev1
yb    kubernetes.io/metadata.name=yb            $rev1" "get ns: the namespaces with their labels"
out=$(ctl get networkpolicies -n yb); st=$?
is "$st:$(tail -n +2 <<<"$out" | awk '{print $1 "/" $2}')" "0:yb/deny-all" "get -n yb: that namespace's policies"
out=$(ctl get netpol -n nosuch 2>&1); st=$?
is "$st:$out" "0:No resources found in nosuch namespace." "get -n of an empty namespace says so"

# ---- unchanged and configured
out=$(ctl apply -f "$T/a.yaml"); st=$?
is "$st:$(sort <<<"$out" | awk '{print $2}' | uniq -c | awk '{print $1, $2}')" "0:4 unchanged" \
	"the same file again: every object unchanged"
rev=$(ctl -o json status | grep -o '"revision":[[:space:]]*[0-9]*' | grep -o '[0-9]*$')
is "$rev" "$rev1" "unchanged: no new revision"
sed 's/port: 80/port: 8080/' "$T/a.yaml" >"$T/b.yaml"
out=$(ctl apply -f "$T/b.yaml"); st=$?
is "$st:$out" "0:namespace/xa unchanged
networkpolicy.networking.k8s.io/xa/allow-a configured
networkpolicy.networking.k8s.io/yb/deny-all unchanged
namespace/yb unchanged" "a changed port: that policy configured, the others unchanged"
rev2=$(ctl -o json status | grep -o '"revision":[[:space:]]*[0-9]*' | grep -o '[0-9]*$')
out=$(ctl get netpol)
grep -q "^xa  *allow-a .* $rev2\$" <<<"$out" && grep -q "^yb  *deny-all .* $rev1\$" <<<"$out"
ok $? "get: the configured policy has the new revision, the unchanged one its old ($rev1, $rev2)"
out=$(ctl get netpol -o yaml)
grep -q "port: 8080" <<<"$out"; ok $? "get -o yaml shows the configured port"
# A policy in another file: apply adds, it never removes what a file lacks.
cat >"$T/c.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-c, namespace: xa}
spec:
  podSelector: {}
  egress: [{}]
EOF
out=$(ctl apply -f "$T/c.yaml"); st=$?
is "$st:$out" "0:networkpolicy.networking.k8s.io/xa/allow-c created" "another file: its policy added"
is "$(ctl get netpol | tail -n +2 | wc -l)" "3" "the others stay (apply merges)"

# ---- refused: nothing applied, get shows the old set
before=$(ctl get ns,netpol -o yaml)
rev=$(ctl -o json status | grep -o '"revision":[[:space:]]*[0-9]*' | grep -o '[0-9]*$')
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: zc}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: bad\n  namespace: xa\nspec:\n  podSelector: {matchLabels: [a}\n' >"$T/bad.yaml"
out=$(ctl apply -f "$T/bad.yaml" 2>&1); st=$?
[ $st -eq 1 ] && grep -q "bad.yaml:11:[0-9]*: bad YAML" <<<"$out"
ok $? "bad YAML refused with file:line:col (exit $st: $(grep bad.yaml <<<"$out" | head -1))"
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n' >"$T/pod.yaml"
out=$(ctl apply -f "$T/pod.yaml" 2>&1); st=$?
[ $st -eq 1 ] && grep -q 'pod.yaml:2:7: unknown kind "Pod" (expected NetworkPolicy or Namespace)' <<<"$out"
ok $? "an unknown kind refused (exit $st: $(grep pod.yaml: <<<"$out" | head -1))"
cat >"$T/named.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: zc}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: xa}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: http
    - port: 70000
EOF
out=$(ctl apply -f "$T/named.yaml" 2>&1); st=$?
[ $st -eq 1 ] && grep -q "named.yaml:12:13: named port 'http' in policy xa/web" <<<"$out" &&
	grep -q "named.yaml:13:13: .*70000 out of range" <<<"$out"
ok $? "a named port refused naming the policy, every error reported (exit $st)"
[ "$(ctl get ns,netpol -o yaml)" = "$before" ]; ok $? "nothing of the refused files applied (get unchanged)"
is "$(ctl -o json status | grep -o '"revision":[[:space:]]*[0-9]*' | grep -o '[0-9]*$')" "$rev" \
	"revision unchanged after the refusals"
out=$(ctl apply -f "$T/a.yaml" --expect-revision 1 2>&1); st=$?
[ $st -eq 2 ] && grep -q "expect-revision is for rule files" <<<"$out"
ok $? "--expect-revision with a manifest: a usage error (exit $st)"

# ---- get -o yaml round trip, -o json
ctl get ns,netpol -o yaml >"$T/all.yaml"
out=$(ctl apply -f "$T/all.yaml"); st=$?
n=$(wc -l <<<"$out"); u=$(grep -c ' unchanged$' <<<"$out")
[ $st -eq 0 ] && [ "$n" -eq 5 ] && [ "$u" -eq 5 ]
ok $? "get -o yaml applied back: all $n objects unchanged ($u)"
out=$(ctl get netpol -o json); st=$?
[ $st -eq 0 ] && perl -MJSON::PP -e '
	my $l = decode_json(join "", <STDIN>);
	exit !($l->{kind} eq "List" && @{$l->{items}} == 3 &&
	       $l->{items}[0]{metadata}{name} eq "allow-a" &&
	       $l->{items}[0]{spec}{ingress}[0]{ports}[0]{port} == 8080)' <<<"$out"
ok $? "get -o json: a kubectl List of the policies"
cat "$T/all.yaml" | ctl apply -f - >"$T/stdin.out" 2>&1
grep -q "^namespace/xa unchanged$" "$T/stdin.out"; ok $? "apply -f - reads a manifest from stdin"

# ---- native rules through the same apply -f
ctl identity add web --cidr 198.18.5.0/24 >/dev/null && ctl identity add db --cidr 198.18.6.0/24 >/dev/null
ok $? "identities for native rules"
printf '# native rules, named .yaml: the content decides\nallow web -> db:tcp/5432\n' >"$T/native.yaml"
out=$(ctl apply -f "$T/native.yaml"); st=$?
[ $st -eq 0 ] && grep -q "^applied .*1 rules" <<<"$out"
ok $? "a native rule file through apply -f ($out)"
grep -q 'web -> db:tcp/5432' <<<"$(ctl list)"; ok $? "its rule is listed"
is "$(ctl get netpol | tail -n +2 | wc -l)" "3" "native rules leave the policies alone"
printf '{"rules": [{"action": "allow", "rule": "web -> db:tcp/5433"}]}\n' >"$T/native.json"
ctl apply -f "$T/native.json" >/dev/null; ok $? "a JSON rule set is rules, not a manifest"
printf '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "jd"}}\n' >"$T/ns.json"
out=$(ctl apply -f "$T/ns.json"); st=$?
is "$st:$out" "0:namespace/jd created" "a JSON manifest is a manifest"

# ---- delete
out=$(ctl delete netpol xa/allow-c); st=$?
is "$st:$out" "0:networkpolicy.networking.k8s.io/xa/allow-c deleted" "delete netpol NS/NAME"
out=$(ctl delete networkpolicy xa/allow-c 2>&1); st=$?
[ $st -eq 1 ] && grep -q "networkpolicy.networking.k8s.io/xa/allow-c not found" <<<"$out"
ok $? "deleting it again: not found (exit $st)"
out=$(ctl delete networkpolicy xa/allow-c --ignore-not-found 2>&1); st=$?
is "$st:$out" "0:" "--ignore-not-found: silent success"
out=$(ctl delete namespace jd); st=$?
is "$st:$out" "0:namespace/jd deleted" "delete namespace NAME"
out=$(ctl delete ns jd 2>&1); st=$?
[ $st -eq 1 ] && grep -q "namespace/jd not found" <<<"$out"; ok $? "ns is namespace's alias"
out=$(ctl delete netpol allow-a 2>&1); st=$?
[ $st -eq 2 ] && grep -q "NAMESPACE/NAME or -n NAMESPACE NAME" <<<"$out"; ok $? "a policy without its namespace: usage error"
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: gone, namespace: xa}\nspec: {podSelector: {}}\n' >"$T/gone.yaml"
{ cat "$T/a.yaml"; echo ---; cat "$T/gone.yaml"; } >"$T/d.yaml"
before=$(ctl get ns,netpol -o yaml)
out=$(ctl delete -f "$T/d.yaml" 2>&1); st=$?
[ $st -eq 1 ] && grep -q "d.yaml:35:1: networkpolicy.networking.k8s.io/xa/gone not found" <<<"$out"
ok $? "delete -f with an object that isn't there: refused, naming file:line (exit $st)"
[ "$(ctl get ns,netpol -o yaml)" = "$before" ]; ok $? "... and nothing deleted"
out=$(ctl delete -f "$T/d.yaml" --ignore-not-found); st=$?
is "$st:$out" "0:namespace/xa deleted
networkpolicy.networking.k8s.io/xa/allow-a deleted
networkpolicy.networking.k8s.io/yb/deny-all deleted
namespace/yb deleted" "delete -f --ignore-not-found: the others deleted"
out=$(ctl get ns,netpol 2>&1); st=$?
is "$st:$out" "0:No resources found." "nothing left"
out=$(ctl delete -f "$T/native.yaml" 2>&1); st=$?
[ $st -eq 2 ] && grep -q "holds no Kubernetes objects" <<<"$out"
ok $? "delete -f of a rule file: refused, pointing at remove (exit $st)"
id=$(ctl -o json list | grep -o '"id":[[:space:]]*[0-9]*' | head -1 | grep -o '[0-9]*$')
out=$(ctl delete "$id"); st=$?
[ $st -eq 0 ] && grep -q "removed rule $id" <<<"$out"; ok $? "delete RULE-ID still removes a rule ($out)"
# ---- endpoint labels: the requests netsegctl sends, the LABELS column
IF=$(pod_if lab)
out=$(ctl endpoint label "$IF" --namespace xa app=a tier=1); st=$?
[ $st -eq 0 ] && grep -q "^endpoint $IF labelled (revision [0-9]*)$" <<<"$out"
ok $? "endpoint label IFACE --namespace xa app=a tier=1 ($out)"
out=$(ctl endpoint list)
grep -q "^iface  *$IF .*  xa/app=a,tier=1$" <<<"$out"
ok $? "endpoint list: the LABELS column ($(grep "$IF" <<<"$out"))"
out=$(ctl endpoint label "$IF" 'app=-a' 2>&1); st=$?
[ $st -eq 2 ] && grep -q "label 'app=-a'" <<<"$out"; ok $? "a bad label value: a usage error naming it"
out=$(ctl endpoint unlabel "$IF"); st=$?
[ $st -eq 0 ] && grep -q "^endpoint $IF unlabelled" <<<"$out"; ok $? "endpoint unlabel ($out)"
! ctl endpoint list | grep -q "xa/app=a"; ok $? "endpoint list: the labels are gone"
ctl apply -f "$T/c.yaml" >/dev/null; ok $? "a policy applied before the restart"
row_before=$(ctl get netpol 2>&1 | grep "^xa  *allow-c ")

# ---- restart: the objects stay (the state file)
stop_daemon TERM
start_daemon; ok $? "netsegd restarts"
out=$(ctl get netpol 2>&1)
grep -q "^xa  *allow-c " <<<"$out"; ok $? "the policy is still there after a restart ($(tail -n +2 <<<"$out"))"
is "$(grep "^xa  *allow-c " <<<"$out")" "$row_before" "with the revision it was applied at"

done_testing
