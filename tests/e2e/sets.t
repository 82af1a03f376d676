#!/usr/bin/env bash
# Changing what exists, not only removing and re-adding it: `rule set`
# turns a rule's flags and comment on and off in place, `identity set` an
# identity's audit mode and selectors while rules use it (same ids, the
# revision bumped, the state saved) and the datapath follows; a refused
# change (audit on a deny rule, an unknown id, a selector the identity
# doesn't have, another identity's CIDR) changes nothing.
. "$(dirname "$0")/../lib/netns.sh"
need_root
perl -MJSON::PP -e1 2>/dev/null || bail "missing perl JSON::PP: run 'make deps'"
json_get() { # json_get KEY...: a value of the JSON on stdin
	perl -MJSON::PP -e 'binmode STDOUT, ":utf8"; my $j = decode_json(join "", <STDIN>);
		$j = ref $j eq "ARRAY" ? $j->[$_] : $j->{$_} for @ARGV;
		print ref $j ? JSON::PP->new->canonical->encode($j) : JSON::PP::is_bool($j) ? ($j ? "true" : "false") : $j // "UNDEF"' "$@"
}
like() { # like GOT FIXED-SUBSTRING DESCRIPTION
	case "$1" in
	*"$2"*) ok 0 "$3" ;;
	*) ok 1 "$3"; diag "got: $1"; diag "does not contain: $2" ;;
	esac
}
run() { out=$(ctl "$@" 2>"$T/err"); rc=$?; err=$(cat "$T/err"); }
revision() { ctl -o json status | json_get revision; }
rules() { ctl -o json list | json_get rules; }
# nlogged ID: how many records of rule ID the flow-log file got, waiting up
# to 3 s for one (the file is flushed once a second).
nlogged() {
	local n=0
	for _ in $(seq 30); do
		n=$(grep -c "\"rule\":{\"id\":$1," "$T/flows.log" 2>/dev/null)
		[ "$n" -gt 0 ] && break
		sleep 0.1
	done
	echo "$n"
}

frontend_api_pods
cat >"$T/netsegd.json" <<EOF
{ "flow_logs": [ { "type": "file", "path": "$T/flows.log", "format": "json" } ] }
EOF
start_daemon -c "$T/netsegd.json" || bail "netsegd didn't start"
ctl identity add frontend --iface "$(pod_if frontend)" >/dev/null &&
	ctl identity add api --iface "$(pod_if api)" >/dev/null || bail "identity add"
ID=$(ctl -o json allow 'frontend->api:443' | json_get id)
DID=$(ctl -o json deny 'frontend->api:8080' | json_get id)
[ -n "$ID" ] && [ -n "$DID" ] || bail "the first rules"
for _ in $(seq 50); do reach frontend 198.18.2.2 443 && break; sleep 0.1; done

# ------------------------------------------------------- rule set --log
reach frontend 198.18.2.2 443; ok $? "frontend -> api:443 is allowed"
sleep 1.2	# a flush of the file
n=$(grep -c "\"rule\":{\"id\":$ID," "$T/flows.log")
[ "$n" -eq 0 ]; ok $? "without --log the rule's flows leave no record in the flow log ($n)"
rev=$(revision)
run rule set "$ID" --log on
[ "$rc" -eq 0 ] && [ "$out" = "rule $ID: --log: off → on (revision $((rev + 1)))" ]
ok $? "rule set $ID --log on prints the change and the new revision ($rc: $out$err)"
[ "$(rules | json_get 0 id)|$(rules | json_get 0 log)" = "$ID|true" ]
ok $? "... the rule keeps its id and has --log"
reach frontend 198.18.2.2 443; ok $? "... and still allows"
n=$(nlogged "$ID")
[ "$n" -gt 0 ]; ok $? "... and its flows now appear in the flow log ($n)"

run rule set "$ID" --comment "web to api"
like "$out" "rule $ID: --comment: none → \"web to api\"" "rule set --comment sets it"
[ "$(rules | json_get 0 comment)|$(rules | json_get 0 log)" = "web to api|true" ]
ok $? "... and leaves --log as it was"
j=$(ctl -o json-compact rule set "$ID" --comment '')
[ "$(json_get changes 0 <<<"$j")" = '--comment: "web to api" → none' ]
ok $? "rule set --comment '' clears it, -o json lists the change ($j)"

rev=$(revision)
run rule set "$ID" --log on
like "$out" "rule $ID: nothing changed (revision $rev)" "setting what is already so changes nothing"
[ "$(revision)" = "$rev" ]; ok $? "... and keeps the revision"

# ------------------------------------------------------------ refusals
before=$(rules)
run rule set "$DID" --audit on
[ "$rc" -eq 1 ]; ok $? "rule set of a deny rule --audit on is refused (exit $rc)"
like "$err" "rule $DID is a deny rule: --audit applies to allow rules only" "... saying why"
run rule set 999 --log on
[ "$rc" -eq 1 ]; ok $? "rule set of an unknown id is refused (exit $rc)"
like "$err" "no rule with id 999" "... naming the id"
[ "$(rules)" = "$before" ] && [ "$(revision)" = "$rev" ]
ok $? "refusals leave the rules and the revision ($rev) as they were"

# ------------------------------------------------------- identity set
idents() { ctl -o json identity list | json_get identities; }
serve api tcp 9090
wait_port api 9090 || bail "server on 9090"
! reach frontend 198.18.2.2 9090; ok $? "frontend -> api:9090: denied by default"
run identity set frontend --audit on
like "$out" "identity frontend: --audit: off → on (revision" "identity set frontend --audit on"
! reach frontend 198.18.2.2 9090; ok $? "... api isn't in audit mode: still denied"
run identity set api --audit on
like "$out" "identity api: --audit: off → on" "identity set api --audit on (api is used by rules)"
reach frontend 198.18.2.2 9090; ok $? "... both in audit mode: the default-denied connection passes"
n=0
for _ in $(seq 30); do
	n=$(ctl flows --verdict audit | grep -c ':9090\|"dst_port":9090')
	[ "$n" -gt 0 ] && break; sleep 0.1
done
[ "$n" -gt 0 ]; ok $? "... logged as audit ($n)"
run identity set api --audit off
like "$out" "identity api: --audit: on → off" "identity set api --audit off"
! reach frontend 198.18.2.2 9090; ok $? "... and the connection is denied again"

like "$(ctl trace frontend 198.19.5.7 443)" "198.19.5.7 → world" "198.19.5.7 is world"
run identity set api --add-cidr 198.19.5.0/24
like "$out" "identity api: +cidr 198.19.5.0/24" "identity set api --add-cidr 198.19.5.0/24"
like "$(ctl trace frontend 198.19.5.7 443)" "198.19.5.7 → api" "... trace resolves an address in it to api"
like "$(ctl trace frontend 198.19.5.7 443)" "allow by rule $ID" "... and rule $ID allows it"

before="$(idents)|$(rules)|$(revision)"
run identity set api --remove-cidr 198.19.9.0/24
[ "$rc" -eq 1 ]; ok $? "removing a CIDR the identity doesn't have is refused (exit $rc)"
like "$err" 'the identity has no cidr "198.19.9.0/24"' "... saying which"
run identity set frontend --audit off --add-cidr 198.19.5.0/24
[ "$rc" -eq 1 ]; ok $? "adding another identity's CIDR is refused (exit $rc)"
like "$err" "CIDR 198.19.5.0/24 belongs to identity api" "... naming the owner"
# A cgroup that doesn't exist yet is fine, as for identity add (it is
# attached when it appears); a path that can't be one is not.
run identity set api --add-cgroup "netseg-relative-$RUN" --audit on
[ "$rc" -eq 1 ]; ok $? "a cgroup path that isn't one is refused, with the rest (exit $rc: $err)"
run identity set nosuch --audit on
like "$err" 'no identity "nosuch"' "an unknown identity is refused"
[ "$(idents)|$(rules)|$(revision)" = "$before" ]
ok $? "refusals leave identity list, list and the revision as they were (frontend still in audit mode)"
run identity set api --remove-cidr 198.19.5.0/24
like "$out" "identity api: -cidr 198.19.5.0/24" "identity set --remove-cidr"
like "$(ctl trace frontend 198.19.5.7 443)" "198.19.5.7 → world" "... and the address is world again"
ctl identity set api --add-cidr 198.19.6.0/24 >/dev/null

# ------------------------------------------- rule set --audit, saved
ctl allow 'frontend->api:8080' --audit >/dev/null
AID=$(rules | perl -MJSON::PP -e 'print map { $_->{rule} =~ /8080/ && $_->{action} eq "allow" ? $_->{id} : () } @{decode_json(join "", <STDIN>)}')
run rule set "$AID" --audit off
like "$out" "rule $AID: --audit: on → off" "rule set --audit off"
stop_daemon TERM
start_daemon -c "$T/netsegd.json" || bail "netsegd didn't restart"
[ "$(rules | json_get 0 log)|$(rules | json_get 0 id)" = "true|$ID" ]
ok $? "the changes are in the saved state: rule $ID has --log after a restart"
[ "$(ctl -o json list | perl -MJSON::PP -e 'print map { $_->{id} == '"$AID"' ? ($_->{audit} ? "on" : "off") : () } @{decode_json(join "", <STDIN>)->{rules}}')" = off ]
ok $? "... and rule $AID has no --audit"
like "$(ctl trace frontend 198.19.6.7 443)" "198.19.6.7 → api" "... and api's added CIDR is still api's"

done_testing
