#!/usr/bin/env bash
# netsegctl observe: real traffic between pods, one readable line per flow
# ("HH:MM:SS.mmm frontend(IP:PORT) -> api(IP:443) tcp ALLOWED by rule N"),
# colours only on a terminal and never with NO_COLOR or --no-color; an
# allowed flow whose rule has no --log shows up in observe (and flows) but
# not in the flow-log file; each filter (--from, --to by name, IP and
# CIDR, --port, --verdict, --since, --last) keeps what it names and drops
# the rest; --follow shows a new flow live (bounded by timeout); -o json
# and -o ocsf give parseable records; bad values are refused with what is
# wrong.
. "$(dirname "$0")/../lib/netns.sh"
need_root
for t in python3 script; do command -v $t >/dev/null || bail "missing $t: run 'make deps'"; done
frontend_api_pods
make_pod db 3
serve db tcp 5432
wait_port db 5432 || bail "db's server didn't start"

cat >"$T/netsegd.json" <<EOF
{ "node_name": "node-$RUN",
  "flow_logs": [ { "type": "file", "path": "$T/flows.log", "format": "json" } ] }
EOF
start_daemon -c "$T/netsegd.json"; ok $? "netsegd starts with a flow-log file"
for p in frontend:1 api:2 db:3; do
	ctl identity add "${p%:*}" --iface "$(pod_if "${p%:*}")" --cidr "198.18.${p#*:}.2/32" \
		>/dev/null || bail "couldn't add identity ${p%:*}"
done
web=$(ctl -o json allow 'frontend->api:443' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
ctl allow 'frontend->db:5432' --log >/dev/null
ok $? "allow frontend->api:443 (rule $web, no --log) and frontend->db:5432 --log"

reach frontend 198.18.2.2 443; ok $? "frontend->api:443 connects (no --log)"
reach frontend 198.18.3.2 5432; ok $? "frontend->db:5432 connects (--log)"
reach frontend 198.18.2.2 8080; ok $((! $?)) "frontend->api:8080 denied"
reach api 198.18.3.2 5432; ok $((! $?)) "api->db:5432 denied"
sleep 1.5	# the 1 s tick flushes the file sink

obs() { ctl observe "$@" 2>"$T/obs.err"; }
LINE_RE='^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} '
obs >"$T/all"; ok $? "observe: exit 0 ($(wc -l <"$T/all") lines)"
grep -Eq "${LINE_RE}frontend\(198\.18\.1\.2:[0-9]+\) -> api\(198\.18\.2\.2:443\) tcp ALLOWED by rule $web\$" "$T/all"
ok $? "the unlogged allowed flow, readable: $(grep -m1 ':443) tcp' "$T/all")"
grep -Eq "${LINE_RE}frontend\(198\.18\.1\.2:[0-9]+\) -> api\(198\.18\.2\.2:8080\) tcp DENIED default-deny\$" "$T/all"
ok $? "a denied flow: $(grep -m1 '8080) tcp' "$T/all")"
grep -Eq "${LINE_RE}frontend\(198\.18\.1\.2:[0-9]+\) -> db\(198\.18\.3\.2:5432\) tcp ALLOWED by rule [0-9]+\$" "$T/all"
ok $? "the logged allowed flow"
! grep -q $'\033' "$T/all"; ok $? "no colour codes into a pipe"
[ ! -s "$T/obs.err" ]; ok $? "nothing on stderr: $(head -c 200 "$T/obs.err")"

# ---- allowed without --log: in the history, not in the sink
! grep '"verdict":"allowed"' "$T/flows.log" | grep -q '"port":443'
ok $? "the flow-log file has no allowed record of frontend->api:443 (its rule has no --log)"
grep '"verdict":"allowed"' "$T/flows.log" | grep -q '"port":5432'
ok $? "but the --log rule's allowed flow is in it"
grep -q '"verdict":"denied"' "$T/flows.log"; ok $? "and the denies"
ctl -o json flows --verdict allowed | grep -q '"port":443'
ok $? "flows (the same history) shows the unlogged allowed flow too"

# ---- colours: only a terminal gets them (script(1) gives us one)
tty_run() { script -qec "$*" /dev/null </dev/null | tr -d '\r'; }
sock="$T/run/netsegd.sock"
tty_run "ip netns exec $NODE $NETSEGCTL -s $sock observe --verdict allowed" >"$T/tty"
grep -q $'\033\[32mALLOWED' "$T/tty"; ok $? "on a terminal: ALLOWED in green"
tty_run "ip netns exec $NODE $NETSEGCTL -s $sock observe --verdict denied" >"$T/tty"
grep -q $'\033\[1;31mDENIED' "$T/tty"; ok $? "on a terminal: DENIED in red"
tty_run "NO_COLOR=1 ip netns exec $NODE $NETSEGCTL -s $sock observe" >"$T/tty"
! grep -q $'\033' "$T/tty" && grep -q 'ALLOWED by rule' "$T/tty"
ok $? "NO_COLOR=1: the same lines, no colour"
tty_run "ip netns exec $NODE $NETSEGCTL -s $sock observe --no-color" >"$T/tty"
! grep -q $'\033' "$T/tty" && grep -q 'DENIED default-deny' "$T/tty"
ok $? "--no-color: no colour"
tty_run "ip netns exec $NODE $NETSEGCTL -s $sock flows" | sed 's/\x1b\[[0-9;]*m//g' >"$T/tty"
grep -Eq "${LINE_RE}frontend\(198\.18\.1\.2:[0-9]+\) -> api\(198\.18\.2\.2:443\) tcp .*ALLOWED" "$T/tty"
ok $? "flows on a terminal: the same readable lines (colours aside)"

# ---- filters: each keeps what it names, drops the rest
# only FILE PATTERN: FILE is non-empty and every line matches PATTERN (ERE)
only() { [ -s "$1" ] && ! grep -Evq "$2" "$1"; }
for from in frontend 198.18.1.2 198.18.1.0/24; do
	obs --from "$from" >"$T/f"
	only "$T/f" ' frontend\(198\.18\.1\.2:' && grep -q ':443) tcp ALLOWED' "$T/f"
	ok $? "--from $from: only frontend's flows ($(wc -l <"$T/f")), the allowed 443 among them"
done
obs --from api >"$T/f"
only "$T/f" ' api\(198\.18\.2\.2:[0-9]+\) -> db\(' && ! grep -q 'frontend(' "$T/f"
ok $? "--from api: api's denied flow to db, none of frontend's"
for to in db 198.18.3.2 198.18.3.0/24; do
	obs --to "$to" >"$T/f"
	only "$T/f" ' -> db\(198\.18\.3\.2:5432\) ' && grep -q 'DENIED' "$T/f" && grep -q 'ALLOWED' "$T/f"
	ok $? "--to $to: the flows to db, allowed and denied ($(wc -l <"$T/f"))"
done
obs --from frontend --to db >"$T/f"
only "$T/f" ' frontend\(.* -> db\(.* ALLOWED'; ok $? "--from frontend --to db: both filters at once"
obs --port 443 >"$T/f"
only "$T/f" ':443\) tcp ALLOWED'; ok $? "--port 443: only the 443 flow ($(wc -l <"$T/f"))"
obs --port 8000-8100 >"$T/f"
only "$T/f" ':8080\) tcp DENIED'; ok $? "--port 8000-8100: only the 8080 flow"
obs --verdict denied >"$T/f"
only "$T/f" ' DENIED ' && grep -q ':8080)' "$T/f"; ok $? "--verdict denied: only denies"
obs --verdict allowed >"$T/f"
only "$T/f" ' ALLOWED by rule ' && grep -q ':443)' "$T/f"; ok $? "--verdict allowed: only allowed flows"
obs --verdict allowed,denied >"$T/f"
grep -q ' ALLOWED ' "$T/f" && grep -q ' DENIED ' "$T/f"; ok $? "--verdict allowed,denied: both"
obs --verdict audit >"$T/f"; st=$?
[ $st -eq 0 ] && [ ! -s "$T/f" ]; ok $? "--verdict audit: nothing audited, nothing shown (exit $st)"

total=$(wc -l <"$T/all")
obs --last 1 >"$T/f"
[ "$(wc -l <"$T/f")" -eq 1 ] && [ "$(cat "$T/f")" = "$(obs | tail -1)" ]
ok $? "--last 1: the newest record alone ($(cat "$T/f"))"
obs --from frontend >"$T/ff"
obs --from frontend --last 2 >"$T/f"
[ "$(wc -l <"$T/f")" -eq 2 ] && [ "$(cat "$T/f")" = "$(tail -2 "$T/ff")" ]
ok $? "--from frontend --last 2: the last two of frontend's, not of all"
obs --last 0 >"$T/f"; [ ! -s "$T/f" ]; ok $? "--last 0: no history"
obs --last 100000 >"$T/f"; [ "$(wc -l <"$T/f")" -ge "$total" ]; ok $? "--last beyond the history: all of it"

sleep 3
reach frontend 198.18.2.2 443; ok $? "frontend->api:443 again, 3 s later"
obs --since 2s >"$T/f"
only "$T/f" ':443\) tcp ALLOWED'; ok $? "--since 2s: only the new flow ($(wc -l <"$T/f"))"
obs --since 1h >"$T/f"
grep -q ':8080) tcp DENIED' "$T/f" && grep -q ':443) tcp ALLOWED' "$T/f"
ok $? "--since 1h: the older ones too"

# ---- --follow: live, bounded
# (--verdict allowed: the logged db flow's end record may come live too)
timeout 8 "$NETSEGCTL" -s "$sock" observe --follow --last 0 --to db --verdict allowed \
	>"$T/live" 2>&1 &
fpid=$!
sleep 1
reach frontend 198.18.3.2 5432; ok $? "frontend->db:5432 while following"
reach frontend 198.18.2.2 443
wait $fpid; st=$?
[ $st -eq 124 ] && [ "$(wc -l <"$T/live")" -eq 1 ] &&
	grep -Eq "${LINE_RE}frontend\(.* -> db\(198\.18\.3\.2:5432\) tcp ALLOWED" "$T/live"
ok $? "--follow --last 0 --to db --verdict allowed: the new db flow alone, live, until timeout (exit $st): $(head -2 "$T/live")"

# ---- records: -o json and -o ocsf parse
obs -o json >"$T/j"
python3 - "$T/j" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert recs, "no records"
assert all(r["verdict"] in ("allowed", "denied", "audit", "end", "lost") for r in recs)
assert any(r["verdict"] == "allowed" and r["dst"]["port"] == 443 and r["src"]["identity"] == "frontend"
           for r in recs), "no allowed 443 record"
EOF
ok $? "-o json: every line a flow record, the unlogged allowed one among them"
obs -o json --port 443 --verdict allowed >"$T/j"
python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; assert r and all(x["dst"]["port"]==443 and x["verdict"]=="allowed" for x in r)' "$T/j"
ok $? "-o json with filters: only matching records"
obs -o ocsf --to api >"$T/j"
python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; assert r and all(x["class_uid"]==4001 and x["dst_endpoint"]["ip"]=="198.18.2.2" for x in r)' "$T/j"
ok $? "-o ocsf --to api: OCSF Network Activity records to api"

# ---- bad values: exit 2 (1 for an unknown identity) and what is wrong
bad() {	# bad EXIT PATTERN ARGS...
	local want=$1 pat=$2 st; shift 2
	ctl observe "$@" >"$T/b.out" 2>"$T/b.err"; st=$?
	[ $st -eq "$want" ] && grep -q -- "$pat" "$T/b.err" && [ ! -s "$T/b.out" ]
	ok $? "observe $* refused (exit $st): $(head -1 "$T/b.err")"
}
bad 2 'host bits set in 198.18.1.2/24; did you mean 198.18.1.0/24?' --from 198.18.1.2/24
bad 2 'is not an IP address or CIDR' --to 198.18.1.0/40
bad 2 'is not an IP address or CIDR' --to fd00::zz
bad 1 'to: no identity "nosuch"' --to nosuch
bad 2 "--port takes a port (1-65535) or a range LO-HI, not '0'" --port 0
bad 2 "not '70000'" --port 70000
bad 2 "not '90-80'" --port 90-80
bad 2 "not 'https'" --port https
bad 2 "--verdict takes allowed, denied, audit or end" --verdict allowed,bogus
bad 2 "--since takes a duration" --since 5x
bad 2 "--last takes a number of flows" --last -1
bad 2 '--from needs a value' --from
bad 2 "unexpected argument 'api'" api
ctl -o yaml observe >/dev/null 2>&1; ok $((! $?)) "-o yaml: not a format of observe"

stop_daemon; ok $? "netsegd stops"
done_testing
