#!/usr/bin/env bash
# `make demo` as a new user sees it: tests/lib/demo.sh runs to the end, its
# matrices say default-deny before and only frontend -> api:443 after, the
# traces and readable flow lines are there, the pretty OCSF record is JSON
# of class 4001, and its own trap leaves no namespace of its run behind.
. "$(dirname "$0")/../lib/netns.sh"
need_root

out="$T/demo.out"
t0=$(date +%s%N)
DEMO_MAP="$T/map.png" "$NS_TOP/tests/lib/demo.sh" >"$out" 2>&1
st=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
diag "demo wall time: $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
ok $st "demo.sh exits 0" || sed 's/^/#   /' "$out"

# The matrix rows under a heading: "frontend blocked blocked blocked".
row() {	# row HEADING-PREFIX SOURCE
	awk -v h="$1" -v s="$2" 'index($0, h) == 1 { on = 1; next }
		on && $1 == s { $1 = $1; print; exit }' "$out"
}
before_ok=0
[ "$(row before: frontend)" = "frontend blocked blocked blocked" ] &&
[ "$(row before: api)" = "api - - blocked" ] &&
[ "$(row before: db)" = "db blocked blocked -" ] &&
[ "$(row before: world)" = "world blocked blocked blocked" ] || before_ok=1
ok $before_ok "before: every pair between pods (and from world) blocked"
after_ok=0
[ "$(row after: frontend)" = "frontend open blocked blocked" ] &&
[ "$(row after: api)" = "api - - blocked" ] &&
[ "$(row after: db)" = "db blocked blocked -" ] &&
[ "$(row after: world)" = "world blocked blocked blocked" ] || after_ok=1
ok $after_ok "after: frontend -> api:443 open, everything else blocked"

grep -q "^note: the shell read '>' in frontend->api:443 as a redirection" "$out"
ok $? "the unquoted allow is recovered from the shell redirect"
grep -q '^frontend -> api tcp/443: allow by rule 1' "$out"
ok $? "trace frontend api 443: allowed by rule 1"
grep -q '^frontend -> db tcp/5432: deny: default-deny' "$out"
ok $? "trace frontend db 5432: default-deny"

flow_re='^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} [a-z]+\(198\.18\.[0-9.]+:[0-9]+\) -> [a-z]+\(198\.18\.[0-9.]+:[0-9]+\) tcp'
grep -Eq "$flow_re ALLOWED by rule 1\$" "$out"
ok $? "a readable flow line: frontend -> api ALLOWED by rule 1"
grep -Eq "$flow_re DENIED default-deny\$" "$out"
ok $? "a readable flow line: DENIED default-deny"
! grep -q '^{"time"' "$out"
ok $? "no raw JSON flow records in the output"

# The map: its edges as text, and the picture as a PNG.
grep -Eq '^  frontend +-> api +tcp/443 +[0-9]+ allowed$' "$out" &&
	grep -Eq '^  world +-> db +tcp/5432 +[0-9]+ denied$' "$out"
ok $? "map edges: frontend -> api tcp/443 allowed, world -> db tcp/5432 denied"
[ "$(head -c 8 "$T/map.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
ok $? "map -o png wrote a PNG"

# Counters: only the ones that moved.
awk '/^COUNTER/ { on = 1; next } on && NF == 0 { exit }
	on && $2 == 0 && $3 == 0 { bad = 1 } END { exit bad }' "$out"
ok $? "stats shows only non-zero counters"

# The pretty record: from its "{" line to the first "}" line.
awk '/^\{$/ { on = 1 } on { print } on && /^\}$/ { exit }' "$out" >"$T/ocsf.json"
perl -MJSON::PP -e 'local $/; my $r = decode_json(<STDIN>);
	exit !($r->{class_uid} == 4001 && $r->{action} eq "Denied")' <"$T/ocsf.json"
ok $? "the OCSF record is pretty JSON, class_uid 4001, Denied"
[ "$(wc -l <"$T/ocsf.json")" -gt 10 ]
ok $? "the OCSF record is pretty-printed (many lines)"

grep -q '^OK: [0-9]* records' "$out"
ok $? "logs verify: the chain checks out"

# The demo's own run suffix is in its temp dir; nothing of it may remain.
run=$(sed -n 's|.*/tmp/netseg-e2e-\([0-9a-f]*\)\..*|\1|p' "$out" | head -1)
[ -n "$run" ]
ok $? "found the demo's run suffix ($run)"
left=$(ip netns list | awk '{ print $1 }' | grep -- "-$run\$")
[ -z "$run" ] || [ -z "$left" ]
ok $? "no namespace of the demo's run left${left:+: $left}"
[ -z "$run" ] || ! ls -d /tmp/netseg-e2e-"$run".* >/dev/null 2>&1
ok $? "the demo's temp dir is gone"

done_testing
