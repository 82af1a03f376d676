#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# netsegctl as a user and a script see it: exit codes, messages, tables,
# -o json, the offline check, and the recovery from an unquoted '->'.
# The daemon is a fake: socat hands each connection to a shell responder
# that logs the request line and answers with canned JSON (mode file).
# Needs ctl/netsegctl built, socat and perl (JSON::PP, core); no root.

cd "$(dirname "$0")/../.." || exit 255
W=${NETSEGCTL:-$PWD/ctl/netsegctl}

. "$PWD/tests/lib/tap.sh"

bail() {
	echo "Bail out! $*"
	exit 255
}

[ -x "$W" ] || bail "$W is not built (make ctl/netsegctl)"
command -v socat >/dev/null || bail "socat is not installed (make deps)"
perl -MJSON::PP -e1 2>/dev/null || bail "perl JSON::PP is missing"

T=$(mktemp -d /tmp/netseg-ctl-cli.XXXXXX) || bail "mktemp failed"
SOCAT_PID=
cleanup() {
	[ -n "$SOCAT_PID" ] && kill "$SOCAT_PID" 2>/dev/null && wait "$SOCAT_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# run ARGS...: $rc, $out (stdout), $err (stderr)
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# jget JSON PERL-EXPR: evaluate EXPR with $j the decoded JSON
jget() {
	printf '%s' "$1" | perl -MJSON::PP -e '
		local $/; my $j = eval { decode_json(<STDIN>) };
		print "INVALID" and exit unless $j;
		my $v = eval $ARGV[0]; print defined $v ? $v : "UNDEF";' "$2"
}

# ------------------------------------------------------------ no daemon
run "$W" -s "$T/none.sock" status
is "$rc" 3 "no daemon: exit 3"
is "$err" "error: can't reach netsegd at $T/none.sock: no socket there, netsegd isn't running with this socket (start it with 'systemctl start netsegd' or 'netsegd', or pick another with -s)" \
	"no daemon: the message names the socket, the cause and the fix"
is "$out" "" "no daemon: nothing on stdout"

echo 'not a socket' >"$T/regular"
run "$W" -s "$T/regular" status
is "$rc" 3 "-s a regular file: exit 3"
is "$err" "error: can't reach netsegd at $T/regular: $T/regular is not a socket (a regular file)" \
	"-s a regular file: says it isn't a socket"
run "$W" -s "$T" status
like "$err" "$T is not a socket (a directory)" "-s a directory: says it isn't a socket"

run env NETSEG_SOCKET="$T/env.sock" "$W" list
like "$err" "can't reach netsegd at $T/env.sock:" "NETSEG_SOCKET picks the socket"

run env NETSEG_SOCKET="$T/env.sock" "$W" -s "$T/opt.sock" list
like "$err" "at $T/opt.sock:" "-s beats NETSEG_SOCKET"

run "$W" -o json -s "$T/none.sock" list
is "$rc" 3 "no daemon, -o json: exit 3"
like "$(jget "$out" '$j->{error}')" "can't reach netsegd at $T/none.sock" \
	"no daemon, -o json: {\"error\": ...} on stdout"

# A socket file nobody listens on: what a crashed daemon leaves.
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0], Listen => 1) or exit 1' "$T/stale.sock"
run "$W" -s "$T/stale.sock" status
is "$rc" 3 "stale socket: exit 3"
like "$err" "Connection refused (is it running?" "stale socket: connection refused"

# ------------------------------------------------------------ fake daemon
SOCK=$T/netsegd.sock
export FAKE_DIR=$T
cat >"$T/fake.sh" <<'EOF'
#!/bin/bash
IFS= read -r line || exit 0
printf '%s\n' "$line" >>"$FAKE_DIR/requests"
case "$(cat "$FAKE_DIR/mode" 2>/dev/null)" in
notjson) echo 'this is not json'; exit ;;
noreply) exit ;;
nook) echo '{"revision":3}'; exit ;;
array) echo '[1,2]'; exit ;;
noerror) echo '{"ok":false,"kind":"rejected"}'; exit ;;
badrules) echo '{"ok":true,"rules":"nope","revision":1}'; exit ;;
badrow) echo '{"ok":true,"rules":[1,2],"revision":1}'; exit ;;
rejected) echo '{"ok":false,"kind":"rejected","error":"3 errors in the rule file","errors":["r.rules:1:7: one","r.rules:2:3: two","r.rules:4:1: three"]}'; exit ;;
internal) echo '{"ok":false,"kind":"internal","error":"policy map is full (1048576 entries; raise max_rules)"}'; exit ;;
usage) echo '{"ok":false,"kind":"usage","error":"unknown command"}'; exit ;;
esac
case "$line" in
*'"cmd":"status"'*) echo '{"ok":true,"revision":12,"generation":15,"rules":2,"pin_dir":"/sys/fs/bpf/netseg","uptime_s":42,"netlink":{"synced":true,"messages":30}}' ;;
*'"cmd":"stats"'*) echo '{"ok":true,"rules":[{"id":1,"text":"allow frontend -> api:tcp/443","packets":5,"bytes":300}],"conntrack":{"entries":0,"max":0,"expired":0,"evicted":0}}' ;;
*'"cmd":"rule.list"'*) echo '{"ok":true,"revision":7,"rules":[{"id":1,"action":"allow","rule":"frontend -> api:tcp/443","audit":false,"log":true,"comment":"web"},{"id":12,"action":"deny","rule":"* -> db","audit":false,"log":false}]}' ;;
*'"cmd":"rule.add"'*) echo '{"ok":true,"id":3,"existing":false,"revision":8}' ;;
*'"cmd":"rule.set"'*) echo '{"ok":true,"id":3,"existing":true,"updated":true,"changes":["--log: off → on","--comment: \"x\" → none"],"revision":13}' ;;
*'"cmd":"identity.set"'*) echo '{"ok":true,"changes":["--audit: off → on","+cidr 198.19.0.0/24"],"revision":14}' ;;
*'"cmd":"rule.remove"'*) echo '{"ok":true,"removed":3,"revision":9}' ;;
*'"cmd":"apply"'*) echo '{"ok":true,"revision":10,"rules":4,"added":1,"removed":0,"changed":2,"entries":7}' ;;
*'"cmd":"diff"'*) echo '{"ok":true,"added":[{"id":0,"action":"allow","rule":"frontend -> api:tcp/443","audit":false,"log":true,"comment":"say \"hi\""}],"removed":[{"id":2,"action":"deny","rule":"* -> db","audit":false,"log":false}],"changed":[{"id":3,"action":"allow","rule":"a -> b:tcp/80","audit":false,"log":false,"comment":"","changes":["--log: on → off","--comment: \"x\" → none"]}]}' ;;
*'"cmd":"trace"'*'"dst":"db"'*) echo '{"ok":true,"verdict":"deny","rule_id":0,"reason":"default-deny","explanation":"no rule allows frontend -> db tcp/5432; db is an endpoint identity"}' ;;
*'"cmd":"trace"'*) echo '{"ok":true,"verdict":"allow","rule_id":3,"rule":"allow frontend -> api:tcp/443","reason":"rule"}' ;;
*'"cmd":"identity.add"'*) echo '{"ok":true,"identity":{"name":"frontend","id":256,"ifaces":["veth-fe*"],"cgroups":[],"cidrs":[],"audit":false},"revision":11}' ;;
*'"cmd":"identity.list"'*) echo '{"ok":true,"identities":[{"name":"frontend","id":256,"ifaces":["veth-fe*"],"cgroups":[],"cidrs":["198.19.0.0/16"],"audit":true},{"name":"web","id":257,"ifaces":[],"cgroups":[],"cidrs":["198.19.5.0/24"],"audit":false,"selector":"app=web,tier in (front)","namespace":"shop"},{"name":"pods","id":258,"ifaces":[],"cgroups":[],"cidrs":[],"audit":false,"selector":"","namespace":""}]}' ;;
*'"cmd":"endpoint.list"'*)
	if [ "$(cat "$FAKE_DIR/mode")" = labels ]; then
		echo '{"ok":true,"endpoints":[{"kind":"interface","name":"veth-web","ifindex":7,"identity":"pod:prod:app=web","ips":["198.18.1.2"],"attached":["tc/ingress"],"state":"enforced","namespace":"prod","labels":{"app":"web","tier":"1"}},{"kind":"interface","name":"veth-db","ifindex":8,"identity":"db","ips":[],"attached":[],"state":"enforced"}]}'
	else
		echo '{"ok":true,"endpoints":[{"kind":"interface","name":"veth-db","ifindex":8,"identity":"db","ips":[],"attached":[],"state":"enforced"}]}'
	fi ;;
*'"cmd":"endpoint.label"'*) echo '{"ok":true,"identity":300,"revision":15}' ;;
*'"cmd":"endpoint.unlabel"'*) echo '{"ok":true,"revision":16}' ;;
*'"cmd":"prefilter.list"'*) echo '{"ok":true,"prefilter":[{"cidr":"203.0.113.0/24","hits":12345}]}' ;;
*) echo '{"ok":false,"kind":"usage","error":"fake: unknown request"}' ;;
esac
EOF
chmod +x "$T/fake.sh"
socat "UNIX-LISTEN:$SOCK,fork" "EXEC:$T/fake.sh" 2>"$T/socat.log" &
SOCAT_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || bail "the fake daemon did not start: $(cat "$T/socat.log")"

mode() { printf '%s' "$1" >"$T/mode"; }
nreq() { [ -f "$T/requests" ] && wc -l <"$T/requests" || echo 0; }
lastreq() { tail -n 1 "$T/requests"; }

C=("$W" -s "$SOCK")

mode ok
run "${C[@]}" list
is "$rc" 0 "list: exit 0"
is "$out" "ID  ACTION  RULE                     FLAGS  PACKETS  BYTES  COMMENT
1   allow   frontend -> api:tcp/443  log    5        300    web
12  deny    * -> db                  -      0        0      -" "list: an aligned table, each rule's counters (0: matched nothing yet)"
is "$(tail -n 2 "$T/requests" | head -n 1)" '{"cmd":"rule.list"}' "list: sends rule.list"
is "$(lastreq)" '{"cmd":"stats"}' "list: then stats, for the counters"

run "${C[@]}" -o json list
is "$rc" 0 "list -o json: exit 0"
is "$(jget "$out" 'exists $j->{ok} ? "has ok" : "no ok"')" "no ok" "-o json: the reply without \"ok\""
is "$(jget "$out" '$j->{rules}[1]{id} . "/" . $j->{revision}')" "12/7" "-o json: the reply's fields"
ok "$([ "$(printf '%s\n' "$out" | wc -l)" -gt 1 ]; echo $?)" "-o json is indented"

run "${C[@]}" list -o json-compact
is "$(printf '%s\n' "$out" | wc -l)" 1 "-o json-compact after the command: one line"
is "$(jget "$out" 'scalar @{$j->{rules}}')" 2 "-o json-compact: valid JSON"

run "${C[@]}" status
is "$out" "revision    12 (the 12th accepted change)
generation  15 (policy generation: bumped by rule and identity changes; conntrack entries of older generations are re-decided)
rules       2
pin_dir     /sys/fs/bpf/netseg
uptime_s    42
netlink     synced yes, messages 30" "status: every field, aligned, numbers explained, no JSON blobs"

run "${C[@]}" stats
is "$out" "RULE  TEXT                           PACKETS  BYTES
1     allow frontend -> api:tcp/443  5        300

conntrack  not counted yet (netsegd walks the table once a second)" "stats before the first conntrack walk: not '0 of 0'"

run "${C[@]}" allow frontend to api port 443 --log --comment "hi there"
is "$rc" 0 "allow: exit 0"
is "$out" "added rule 3 (revision 8)" "allow: says what happened"
is "$(jget "$(lastreq)" 'join "|", $j->{cmd}, $j->{action}, $j->{rule}, $j->{log} ? "log" : "-", $j->{audit} ? "audit" : "-", $j->{comment}')" \
	"rule.add|allow|frontend to api port 443|log|-|hi there" "allow: words joined, flags and comment sent"

run "${C[@]}" deny '* -> db' --log
is "$(jget "$(lastreq)" '$j->{action} . "|" . $j->{rule}')" "deny|* -> db" "deny: sends action deny"

# rule set: only the named fields are sent, on/off as booleans.
run "${C[@]}" rule set 3 --log on --comment ''
is "$rc" 0 "rule set: exit 0"
is "$out" 'rule 3: --log: off → on, --comment: "x" → none (revision 13)' "rule set: prints each change and the revision"
is "$(jget "$(lastreq)" 'join "|", $j->{cmd}, $j->{id}, $j->{log} ? "on" : "off", exists $j->{audit} ? "audit" : "-", "[$j->{comment}]"')" \
	"rule.set|3|on|-|[]" "rule set: id, log and the empty comment sent; audit left out"
run "${C[@]}" rule set 3 --audit=off
is "$(jget "$(lastreq)" '(exists $j->{log} ? "log" : "-") . "|" . ($j->{audit} ? "on" : "off")')" "-|off" "rule set --audit=off: sends audit false"
run "${C[@]}" -o json rule set 3 --log on
is "$(jget "$out" 'scalar(@{$j->{changes}}) . "|" . $j->{revision}')" "2|13" "rule set -o json: the reply, its changes and revision"
before=$(nreq)
run "${C[@]}" rule set 3
is "$rc" 2 "rule set without a flag: usage error"
like "$err" "nothing to set" "rule set without a flag: says so"
run "${C[@]}" rule set
like "$err" "missing rule ID" "rule set without an id: usage error"
run "${C[@]}" rule set web --log on
like "$err" "'web' is not a rule id" "rule set NAME: not an id"
run "${C[@]}" rule set 3 --log yes
like "$err" "--log takes on or off, not 'yes'" "rule set --log yes: on or off only"
run "${C[@]}" rule set 3 --log
like "$err" "--log needs a value" "rule set --log without a value"
run "${C[@]}" rule set 3 --bogus
like "$err" "unknown flag '--bogus'" "rule set --bogus: unknown flag"
run "${C[@]}" rule frob 3
is "$rc" 2 "rule frob: unknown subcommand"
is "$(nreq)" "$before" "rule set usage errors send nothing"

# identity set: each flag into its list, in one request.
run "${C[@]}" identity set web --audit on --add-cidr 198.19.0.0/24 --add-cidr=198.19.1.0/24 --remove-iface 'veth*' --add-cgroup /a --remove-cgroup /b --remove-cidr 198.19.2.0/24 --add-iface x
is "$out" "identity web: --audit: off → on, +cidr 198.19.0.0/24 (revision 14)" "identity set: prints the changes and the revision"
is "$(jget "$(lastreq)" 'join "|", $j->{cmd}, $j->{name}, $j->{audit} ? "on" : "off", join(",", @{$j->{add_cidrs}}), @{$j->{remove_ifaces}}, @{$j->{add_cgroups}}, @{$j->{remove_cgroups}}, @{$j->{remove_cidrs}}, @{$j->{add_ifaces}}')" \
	"identity.set|web|on|198.19.0.0/24,198.19.1.0/24|veth*|/a|/b|198.19.2.0/24|x" "identity set: every flag sent in its list"
before=$(nreq)
run "${C[@]}" identity set web
like "$err" "nothing to set" "identity set without a flag: usage error"
run "${C[@]}" identity set --audit on
like "$err" "missing NAME" "identity set without a name"
run "${C[@]}" identity set web --audit yes
like "$err" "--audit takes on or off" "identity set --audit yes"
run "${C[@]}" identity set web --add-cidr ''
like "$err" "--add-cidr needs a non-empty value" "identity set --add-cidr ''"
run "${C[@]}" identity set web --cidr 198.19.0.0/24
like "$err" "unknown flag '--cidr'" "identity set --cidr: unknown (add or remove)"
run "${C[@]}" identity set web api --audit on
like "$err" "unexpected argument 'api'" "identity set: one NAME"
is "$(nreq)" "$before" "identity set usage errors send nothing"

run "${C[@]}" remove 3
is "$out" "removed rule 3 (revision 9)" "remove ID: output"
is "$(jget "$(lastreq)" '$j->{cmd} . "|" . $j->{target}')" "rule.remove|3" "remove ID: target is the id as a string"

# Aliases: the words people type after git, kubectl and ip.
run "${C[@]}" rm 3
is "$out" "removed rule 3 (revision 9)" "rm ID: an alias of remove"
is "$(jget "$(lastreq)" '$j->{cmd} . "|" . $j->{target}')" "rule.remove|3" "rm ID: sends rule.remove"
run "${C[@]}" delete 3
is "$(jget "$(lastreq)" '$j->{cmd}')" "rule.remove" "delete ID: an alias of remove"
run "${C[@]}" delete 'frontend->api:443'
is "$(jget "$(lastreq)" '$j->{cmd} . "|" . $j->{target}')" "rule.remove|frontend->api:443" "delete RULE: removes the rule"
run "${C[@]}" delete netpol prod/web
is "$(jget "$(lastreq)" 'join "|", @$j{qw(cmd kind namespace name)}')" "k8s.delete|NetworkPolicy|prod|web" \
	"delete netpol NS/NAME: a Kubernetes delete"
run "${C[@]}" delete netpol -n prod web
is "$(jget "$(lastreq)" 'join "|", @$j{qw(cmd kind namespace name)}')" "k8s.delete|NetworkPolicy|prod|web" \
	"delete netpol -n NS NAME: the same"
before=$(nreq)
run "${C[@]}" delete netpol web
like "$rc:$err" "2:error: a network policy is NAMESPACE/NAME or -n NAMESPACE NAME, not 'web'" "delete netpol NAME: needs its namespace"
run "${C[@]}" delete netpol -n prod prod/web
is "$rc" 2 "delete netpol: the namespace twice refused"
run "${C[@]}" delete ns a/b
is "$rc" 2 "delete ns NS/NAME refused"
is "$(nreq)" "$before" "delete usage errors send nothing"
run "${C[@]}" delete ns prod --ignore-not-found
is "$(jget "$(lastreq)" 'join "|", @$j{qw(cmd kind name)}, $j->{ignore_not_found} ? "ignore" : "-"')" \
	"k8s.delete|Namespace|prod|ignore" "delete ns NAME --ignore-not-found"
run "${C[@]}" identity rm web
is "$(jget "$(lastreq)" '$j->{cmd} . "|" . $j->{name}')" "identity.remove|web" "identity rm: an alias of identity remove"
run "${C[@]}" identity delete web
is "$(jget "$(lastreq)" '$j->{cmd}')" "identity.remove" "identity delete: an alias of identity remove"

# endpoint labels: the requests the daemon's endpoint.label/unlabel take,
# and the LABELS column only when the daemon's rows carry labels.
run "${C[@]}" endpoint label veth-web --namespace prod app=web tier=1
is "$rc:$out" "0:endpoint veth-web labelled (revision 15)" "endpoint label: output"
is "$(jget "$(lastreq)" 'join "|", $j->{cmd}, $j->{iface}, $j->{namespace}, map { "$_=$j->{labels}{$_}" } sort keys %{$j->{labels}}')" \
	"endpoint.label|veth-web|prod|app=web|tier=1" "endpoint label: iface, namespace, labels as an object"
run "${C[@]}" endpoint label veth-web app=web
is "$(jget "$(lastreq)" 'exists $j->{namespace} ? "has" : "none"')" "none" "endpoint label without --namespace sends none"
before=$(nreq)
run "${C[@]}" endpoint label veth-web 'app=-web'
is "$rc" 2 "endpoint label: a bad value is a usage error"
like "$err" "label 'app=-web':" "... naming the label"
run "${C[@]}" endpoint label veth-web app
like "$rc:$err" "2:error: expected KEY=VALUE, not 'app'" "endpoint label: KEY without =VALUE refused"
run "${C[@]}" endpoint label veth-web app=a app=b
is "$rc" 2 "endpoint label: a key twice refused"
run "${C[@]}" endpoint label veth-web
like "$rc:$err" "2:error: missing the labels" "endpoint label: no labels refused"
is "$(nreq)" "$before" "endpoint label usage errors send nothing"
run "${C[@]}" endpoint unlabel veth-web
is "$rc:$out" "0:endpoint veth-web unlabelled (revision 16)" "endpoint unlabel: output"
is "$(jget "$(lastreq)" '$j->{cmd} . "|" . $j->{iface}')" "endpoint.unlabel|veth-web" "endpoint unlabel: the request"
run "${C[@]}" endpoint list
is "$out" "KIND       NAME     ID  IDENTITY  IPS  ATTACHED  STATE
interface  veth-db  8   db        -    -         enforced" "endpoint list: no LABELS column when no row has labels"
mode labels
run "${C[@]}" endpoint list
is "$out" "KIND       NAME      ID  IDENTITY          IPS         ATTACHED    STATE     LABELS
interface  veth-web  7   pod:prod:app=web  198.18.1.2  tc/ingress  enforced  prod/app=web,tier=1
interface  veth-db   8   db                -           -           enforced  -" "endpoint list: LABELS (namespace/labels) when rows carry them"
mode ok

run "${C[@]}" trace frontend api 443
is "$out" "frontend -> api tcp/443: allow by rule 3 (allow frontend -> api:tcp/443)" "trace: allowed by a rule"
is "$(jget "$(lastreq)" 'join "|", @$j{qw(src dst proto port)}')" "frontend|api|tcp|443" "trace: request fields"

run "${C[@]}" trace frontend db tcp/5432
is "$out" "frontend -> db tcp/5432: deny: default-deny (no rule allows frontend -> db tcp/5432; db is an endpoint identity)" \
	"trace: default deny with the explanation"

is "$rc" 0 "trace of a deny, no --exit-code: exit 0 (the question was answered)"
run "${C[@]}" trace frontend db tcp/5432 --exit-code
is "$rc" 1 "trace --exit-code of a deny: exit 1"
like "$out" "deny: default-deny" "trace --exit-code: still prints the verdict"
run "${C[@]}" trace --exit-code frontend api 443
is "$rc" 0 "trace --exit-code of an allow: exit 0"
run "${C[@]}" -o json trace frontend db 5432 --exit-code
is "$rc:$(jget "$out" '$j->{verdict}')" "1:deny" "trace --exit-code -o json: exit 1, the verdict as JSON"

run "${C[@]}" identity add frontend --iface 'veth-fe*' --cidr 198.19.0.0/16 --cidr=198.20.0.0/16 --audit
is "$out" "added identity frontend (id 256, revision 11)" "identity add: output"
is "$(jget "$(lastreq)" 'join "|", $j->{name}, @{$j->{ifaces}}, scalar @{$j->{cgroups}}, @{$j->{cidrs}}, $j->{audit} ? "audit" : "-"')" \
	"frontend|veth-fe*|0|198.19.0.0/16|198.20.0.0/16|audit" "identity add: selectors as arrays"

run "${C[@]}" identity list
is "$out" "ID   NAME      AUDIT  SELECTORS
256  frontend  yes    iface:veth-fe* cidr:198.19.0.0/16
257  web       no     cidr:198.19.5.0/24 pods[shop]:app=web,tier in (front)
258  pods      no     pods:(all)" "identity list: table, label selectors with their namespace"

# --selector and --namespace: sent as given (netsegd checks and
# canonicalises them), each at most once, --namespace only with --selector.
run "${C[@]}" identity add web --selector 'app=web,tier in (front)' --namespace=shop --cidr 198.19.5.0/24
is "$(jget "$(lastreq)" 'join "|", $j->{name}, $j->{selector}, $j->{namespace}, @{$j->{cidrs}}')" \
	"web|app=web,tier in (front)|shop|198.19.5.0/24" "identity add --selector --namespace: sent with the other selectors"
run "${C[@]}" identity add pods --selector ''
is "$(jget "$(lastreq)" 'join "|", $j->{name}, defined $j->{selector} ? "[$j->{selector}]" : "none", exists $j->{namespace} ? "ns" : "no-ns"')" \
	"pods|[]|no-ns" "identity add --selector '': the selector of every pod, no namespace sent"
run "${C[@]}" identity add frontend --iface x
is "$(jget "$(lastreq)" 'exists $j->{selector} || exists $j->{namespace} ? "sent" : "none"')" "none" \
	"identity add without --selector: no selector sent"
run "${C[@]}" identity set web --selector app=api --namespace ''
is "$(jget "$(lastreq)" 'join "|", $j->{cmd}, $j->{selector}, "[$j->{namespace}]", exists $j->{remove_selector} ? "rm" : "-"')" \
	"identity.set|app=api|[]|-" "identity set --selector --namespace '': both sent"
run "${C[@]}" identity set web --remove-selector
is "$(jget "$(lastreq)" 'join "|", $j->{cmd}, $j->{remove_selector} ? "rm" : "-", exists $j->{selector} ? "sel" : "-"')" \
	"identity.set|rm|-" "identity set --remove-selector"
before=$(nreq)
run "${C[@]}" identity add web --namespace shop
is "$rc:$(head -1 <<<"$err")" "2:error: --namespace limits --selector: give --selector too" "identity add --namespace alone: usage error"
run "${C[@]}" identity add web --selector a=b --selector c=d
like "$err" "--selector given twice" "identity add --selector twice: usage error"
run "${C[@]}" identity set web --selector a=b --remove-selector
like "$err" "--remove-selector can't be combined with --selector or --namespace" "identity set --selector with --remove-selector"
run "${C[@]}" identity set web --namespace x --namespace y
like "$err" "--namespace given twice" "identity set --namespace twice"
run "${C[@]}" identity set web --selector
like "$err" "--selector needs a value" "identity set --selector without its value"
is "$(nreq)" "$before" "selector usage errors send nothing"

run "${C[@]}" prefilter list
is "$out" "CIDR            HITS
203.0.113.0/24  12345" "prefilter list: table"

printf 'allow frontend->api:443 --log\n' >"$T/r.rules"
run "${C[@]}" apply -f "$T/r.rules" --dry-run --expect-revision 9
is "$out" "dry run: $T/r.rules would give 4 rules (1 added, 0 removed, 2 changed), 7 policy map entries; nothing applied" "apply --dry-run: output"
is "$(jget "$(lastreq)" 'join "|", $j->{name}, $j->{text}, $j->{dry_run} ? "dry" : "-", $j->{expect_revision}')" \
	"$T/r.rules|allow frontend->api:443 --log
|dry|9" "apply: name as given, text as in the file, flags"

run "${C[@]}" diff -f "$T/r.rules"
is "$out" '- deny * -> db
~ 3 allow a -> b:tcp/80  --log: on → off, --comment: "x" → none
+ allow frontend -> api:tcp/443 --log --comment "say \"hi\""' "diff: removed, changed (flags, comment) and added rules"
is "$rc" 1 "diff with differences: exit 1, like diff(1)"

run "${C[@]}" -v list
like "$err" 'request: {"cmd":"rule.list"}' "-v shows the request"

before=$(nreq)
run "${C[@]}" -o ocsf list
is "$rc" 2 "-o ocsf list: refused (exit 2)"
is "$err" "error: list has no ocsf output; use -o json" "-o ocsf list: says list has no ocsf output"
is "$(nreq)" "$before" "-o ocsf list: nothing sent"
run "$W" logs verify --help
is "$rc" 0 "logs verify --help: exit 0"
like "$out" "logs verify FILE..." "logs verify --help: its usage"
run "$W" trace --help
is "$rc" 0 "trace --help: exit 0"
like "$out" "  netsegctl trace SRC DST [PROTO/]PORT [--exit-code]" "trace --help: the usage"
like "$out" "--exit-code: exit 1 unless the verdict is allow" "trace --help: explains its flags (netsegctl(8)'s words)"
like "$out" "Example: netsegctl trace frontend api tcp/443" "trace --help: an example, markup stripped"
run "$W" identity add --help
like "$out" "--cidr CIDR: addresses in the prefix" "identity add --help: explains --cidr"
like "$out" "digits, _, ., -" "identity add --help: escaped characters come out plain"
run "$W" identity --help
like "$out" "identity remove:" "identity --help: every subcommand's section"

# ---------------------------------------------------------- daemon errors
mode rejected
run "${C[@]}" apply -f "$T/r.rules"
is "$rc" 1 "rejected: exit 1"
is "$err" "error: 3 errors in the rule file
r.rules:1:7: one
r.rules:2:3: two
r.rules:4:1: three" "rejected: the error, then every file:line:col"

run "${C[@]}" -o json apply -f "$T/r.rules"
is "$(jget "$out" 'join "|", $j->{error}, $j->{kind}, scalar @{$j->{errors}}, exists $j->{ok} ? "ok" : "-"')" \
	"3 errors in the rule file|rejected|3|-" "rejected, -o json: the reply without \"ok\" on stdout"

mode internal
run "${C[@]}" allow 'a -> b'
is "$rc" 4 "internal: exit 4"
is "$err" "error: policy map is full (1048576 entries; raise max_rules)" "internal: the daemon's message"

mode usage
run "${C[@]}" list
is "$rc" 2 "kind usage: exit 2"

for m in notjson noreply nook array noerror badrules badrow; do
	mode $m
	run "${C[@]}" list
	is "$rc" 4 "malformed reply ($m): exit 4, no crash"
	like "$err" "error: " "malformed reply ($m): an error message"
done
mode notjson
run "${C[@]}" list
like "$err" "malformed reply from netsegd" "not JSON: says the reply is malformed"
mode noreply
run "${C[@]}" list
like "$err" "closed the connection without replying" "no reply: says so"
mode badrules
run "${C[@]}" list
is "$err" 'error: malformed reply from netsegd: "rules" is not an array' "wrong type: names the field"

# ------------------------------------------------------------ usage errors
mode ok
before=$(nreq)
run "${C[@]}" identity add
is "$rc" 2 "identity add without NAME: exit 2"
like "$err" "  netsegctl identity add NAME [--iface GLOB]..." "usage error prints the grammar"
run "${C[@]}" trace a b
is "$rc" 2 "trace without PORT: exit 2"
run "${C[@]}" trace a b udp/70000
is "$rc" 2 "trace with port 70000: exit 2"
run "${C[@]}" deny 'a -> b' --audit
is "$rc" 2 "deny --audit: exit 2"
run "${C[@]}" apply -f "$T/r.rules" --expect-revision abc
is "$rc" 2 "apply --expect-revision abc: exit 2"
run "${C[@]}" frobnicate
is "$rc" 2 "unknown command: exit 2"
is "$err" "error: unknown command 'frobnicate'
Run 'netsegctl --help' for the list." "unknown command: one line to the way out, not the whole usage"
run "${C[@]}" stauts
is "$rc" 2 "typo of a command: exit 2"
like "$err" "unknown command 'stauts'; did you mean 'status'?" "typo (swapped letters): did you mean"
run "${C[@]}" lst
like "$err" "did you mean 'list'?" "typo (missing letter): did you mean"
run "${C[@]}" identity ad web
like "$err" "unknown subcommand 'ad'; did you mean 'add'?" "subcommand typo: did you mean"
like "$err" "Run 'netsegctl identity --help'" "subcommand typo: points at the command's help"
run "${C[@]}" -o bogus list
is "$(printf '%s\n' "$err" | wc -l)" 3 "unknown global option value: error, synopsis and a pointer, not the whole usage"
run "${C[@]}" identity remove
is "$(printf '%s\n' "$err" | grep -c 'netsegctl ')" 1 "identity remove without NAME: the one relevant usage line"
run "${C[@]}" -o yaml list
is "$rc" 2 "unknown output format: exit 2"
run "${C[@]}" flows --verdict sometimes
is "$rc" 2 "flows --verdict sometimes: exit 2"
like "$err" "--verdict takes allowed, denied, audit or end" "flows: says which verdicts exist"
run "${C[@]}" logs verify "$T/no-such-log"
is "$rc" 4 "logs verify of a missing file: exit 4"
like "$err" "No such file" "logs verify: says the file is missing"
run "${C[@]}" logs
is "$rc" 2 "logs without verify: exit 2"
run "${C[@]}" -o json identity remove
is "$(jget "$out" '$j->{error}')" "missing NAME" "usage error, -o json: {\"error\"} on stdout"
is "$(nreq)" "$before" "usage errors send nothing to the daemon"

# ------------------------------------------------------------ offline check
cat >"$T/good.rules" <<'EOF'
# a comment
allow frontend->api:443 --log
allow frontend to api port 80,8080-8090 --comment "web"
deny * -> db
EOF
cat >"$T/bad.rules" <<'EOF'
allow frontend->api:443
allow frontend=>api
deny * -> db:99999

allow a->b --audit --bogus
EOF
# -f -: rules from a pipe; messages name <stdin>.
run bash -c "'$W' -s '$SOCK' apply -f - --dry-run <'$T/r.rules'"
is "$(jget "$(lastreq)" 'join "|", $j->{cmd}, $j->{name}, $j->{text}, "end"')" "apply|<stdin>|allow frontend->api:443 --log
|end" "apply -f -: reads the rules from stdin"
like "$out" "dry run: <stdin> would give 4 rules" "apply -f -: names stdin"
run bash -c "'$W' -s '$SOCK' diff -f - <'$T/r.rules'"
is "$(jget "$(lastreq)" 'join "|", $j->{cmd}, $j->{name}')" "diff|<stdin>" "diff -f -: reads stdin"
run bash -c "'$W' check --offline -f - <'$T/good.rules'"
is "$rc" 0 "check -f - --offline: exit 0"
like "$out" "<stdin>: 3 rules" "check -f -: reads stdin"
run bash -c "'$W' check --offline -f - <'$T/bad.rules'"
is "$rc" 1 "check -f - of bad rules: exit 1"
like "$err" "<stdin>:2:" "check -f -: errors point at <stdin>:line"

run "$W" -s "$T/none.sock" check -f "$T/good.rules"
is "$rc" 0 "check good file: exit 0 without a daemon"
like "$out" "$T/good.rules: 3 rules" "check good file: counts the rules"
like "$out" "ok; identities not checked (no daemon at $T/none.sock); use --offline to skip this" \
	"check without a daemon says the identities were not checked"
before=$(nreq)
run "$W" -s "$SOCK" check -f "$T/good.rules" --offline
is "$rc" 0 "check --offline: exit 0 with a daemon there"
like "$out" "ok; identities not checked (--offline)" "check --offline: says so"
is "$(nreq)" "$before" "check --offline: asks no daemon"
run "$W" -s "$SOCK" check -f "$T/good.rules"
is "$rc" 0 "check with a daemon: exit 0 when it accepts the names"
like "$out" "ok; identities checked by netsegd at $SOCK" "check with a daemon: says the identities were checked"
is "$(jget "$(lastreq)" 'join "|", $j->{cmd}, $j->{dry_run} ? "dry" : "-"')" "apply|dry" \
	"check with a daemon: the daemon's dry run, nothing applied"
mode rejected
run "$W" -s "$SOCK" check -f "$T/good.rules"
is "$rc" 1 "check with a daemon that refuses the names: exit 1"
like "$err" "3 errors in the rule file" "check with a daemon: its refusal is shown"
mode ok
run "$W" -s "$SOCK" -o json check -f "$T/good.rules"
is "$(jget "$out" '$j->{identities_checked} ? "yes" : "no"')" yes "check -o json: identities_checked"

run "$W" -s "$T/none.sock" check -f "$T/bad.rules"
is "$rc" 1 "check bad file: exit 1"
is "$err" "error: $T/bad.rules: 3 errors
$T/bad.rules:2:15: expected \"->\" or \"to\" after the source, found \"=>api\"
$T/bad.rules:3:14: port 99999 out of range 1-65535
$T/bad.rules:5:20: unknown flag \"--bogus\" (expected --audit, --log or --comment)" \
	"check bad file: all three errors, each with file:line:col"

run "$W" -o json check -f "$T/bad.rules"
is "$(jget "$out" 'scalar @{$j->{errors}}')" 3 "check -o json: the errors array"

printf '{"rules":[{"id":3,"action":"allow","rule":"a -> b:443"},{"id":3,"action":"deny","rule":"a -> c"}]}' >"$T/dup.json"
run "$W" check -f "$T/dup.json"
is "$rc" 1 "check: duplicate rule ids (the compiler) fail"
like "$err" "$T/dup.json: rules[1]: rule id 3 is used by more than one rule" "check: compile error names the rule"

run "$W" check -f "$T/missing.rules"
is "$rc" 2 "check of a missing file: exit 2"

# ------------------------------------------------- shell redirection recovery
mkdir "$T/work" "$T/work/sub"
before=$(nreq)
run bash -c "cd '$T/work' && '$W' -s '$SOCK' allow frontend->api:443"
is "$rc" 0 "unquoted ->: exit 0"
is "$(jget "$(lastreq)" '$j->{rule}')" "frontend->api:443" "unquoted ->: the daemon got the whole rule"
ok "$([ ! -e "$T/work/api:443" ]; echo $?)" "unquoted ->: the stray file is gone"
like "$err" "note: the shell read '>' in frontend->api:443 as a redirection; removed the empty file 'api:443' and applied frontend->api:443 (quote rules to avoid this)" \
	"unquoted ->: the note says what happened"
like "$err" "added rule 3 (revision 8)" "unquoted ->: the output goes to stderr"

run bash -c "cd '$T/work' && '$W' -s '$SOCK' deny frontend -> db --log"
is "$(jget "$(lastreq)" '$j->{rule} . "|" . $j->{action} . "|" . ($j->{log} ? "log" : "-")')" \
	"frontend ->db|deny|log" "unquoted ' -> ' with a flag: recovered"
ok "$([ ! -e "$T/work/db" ]; echo $?)" "unquoted ' -> ': the stray file is gone"

before=$(nreq)
printf 'keep me\n' >"$T/work/api:443"
run bash -c "cd '$T/work' && '$W' -s '$SOCK' allow frontend- >>api:443"
is "$rc" 2 "non-empty stdout file: usage error"
is "$(cat "$T/work/api:443")" "keep me" "non-empty stdout file: left alone"
like "$err" "stdout is the file 'api:443', which is not empty, so nothing was changed" "non-empty stdout file: says why"
is "$(nreq)" "$before" "non-empty stdout file: nothing sent"

run bash -c "cd '$T/work' && '$W' -s '$SOCK' allow frontend->sub/api:443"
is "$rc" 2 "stray file in another directory: usage error"
ok "$([ -f "$T/work/sub/api:443" ]; echo $?)" "stray file in another directory: left alone"

run bash -o pipefail -c "'$W' -s '$SOCK' allow frontend- | cat"
is "$rc" 2 "cut rule, stdout a pipe: usage error"
like "$err" "the rule 'frontend-' looks cut short by the shell" "cut rule, stdout a pipe: explains"

is "$(nreq)" "$before" "cut rules that can't be recovered send nothing"

tap_done
