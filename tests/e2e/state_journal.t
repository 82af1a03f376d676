#!/usr/bin/env bash
# The state journal: a rule change appends one fdatasync'd record to
# state.journal instead of rewriting state.json; a restart after kill -9
# replays it (and folds it into state.json); a torn last record is
# dropped, a damaged one stops the start with the line named; records of
# an older epoch (a crash between a full save and the journal's reset) are
# never replayed; a clean stop leaves state.json complete on its own.
# Node namespace only; no pods, no traffic.
. "$(dirname "$0")/../lib/netns.sh"
need_root
make_node
S="$T/state"
J="$S/state.journal"
LOG="$T/netsegd.log"

records() { tail -n +2 "$J" | wc -l; }
rules() { ctl list | sed 's/  */ /g'; }
revision() { ctl -o json status | grep -o '"revision":[[:space:]]*[0-9]*' | grep -o '[0-9]*$'; }
crash() { kill -9 "$DAEMON_PID"; sleep 0.2; DAEMON_PID=; rm -f "$T/run/netsegd.sock"; }

start_daemon -v; ok $? "netsegd starts"
ctl identity add a --cidr 198.19.1.0/24 >/dev/null && ctl identity add b --cidr 198.19.2.0/24 >/dev/null
ok $? "identities a and b (full saves)"
sum=$(md5sum <"$S/state.json")
ctl allow 'a->b:tcp/80' >/dev/null && ctl allow 'a->b:tcp/81' --log >/dev/null &&
	ctl allow 'a->b:tcp/82' --comment 'say "hi" — ü' >/dev/null &&
	ctl remove 'a->b:tcp/80' >/dev/null && ctl rule set 2 --comment 'second' >/dev/null
ok $? "3 allows, a remove, a rule set"
[ "$(records)" -eq 5 ] && [ "$(md5sum <"$S/state.json")" = "$sum" ]
ok $? "5 records in the journal, state.json not rewritten ($(records) records)"
head -1 "$J" | grep -q "\"epoch\":$(grep -o '"journal":[0-9]*' "$S/state.json" | cut -d: -f2)}"
ok $? "the journal's epoch is state.json's ($(head -1 "$J"))"

before=$(rules) rev=$(revision)
crash
start_daemon -v; ok $? "restart after kill -9"
[ "$(rules)" = "$before" ] && [ "$(revision)" = "$rev" ]
ok $? "rules (ids, flags, comments, order) and revision $rev as before the kill"
grep -q "state: 5 changes replayed from $J, revision $rev" "$LOG"
ok $? "log: $(grep -m1 'changes replayed' "$LOG")"
[ "$(records)" -eq 0 ] && grep -q '"comment":"say \\"hi\\" — ü"' "$S/state.json" &&
	grep -q "\"revision\":$rev," "$S/state.json"
ok $? "replayed changes folded into state.json, journal empty"

# A torn last record: the change it held was never answered.
ctl allow 'a->b:udp/53' >/dev/null; ok $? "one more allow (a record)"
before=$(rules) rev=$(revision)
crash
torn=$(($(wc -l <"$J") + 1))
printf '0123456789abcdef {"revision":%d,"next_rule_id":9,"n":' $((rev + 1)) >>"$J"
start_daemon -v; ok $? "restart with a torn last record"
[ "$(rules)" = "$before" ] && [ "$(revision)" = "$rev" ]
ok $? "the answered change kept, the torn one dropped (revision $rev)"
grep -q "the last record (line $torn) is incomplete, a change that was never confirmed: dropped" "$LOG"
ok $? "log: $(grep -m1 'is incomplete' "$LOG")"

# A damaged record before the last: refuse to start, name the line.
ctl allow 'a->b:udp/54' >/dev/null && ctl allow 'a->b:udp/55' >/dev/null
ok $? "two more allows"
before=$(rules)
crash
cp "$J" "$T/journal.good"
bad=$(grep -n 'udp/54' "$J" | cut -d: -f1)
sed -i 's/udp\/54/udp\/57/' "$J"
out=$(timeout 30 nsenter --net="/run/netns/$NODE" "$NETSEGD" --state-dir "$S" --run-dir "$T/run" \
	--bpffs "$T/bpf/netseg" 2>&1); st=$?
[ $st -eq 1 ] && grep -q "state journal $J is damaged at line $bad (checksum)" <<<"$out"
ok $? "a damaged record (line $bad of $(wc -l <"$J")): netsegd exits 1 naming the file and line ($st: $(head -1 <<<"$out"))"
cp "$T/journal.good" "$J"
start_daemon -v && [ "$(rules)" = "$before" ]
ok $? "the journal put back: starts with both changes"

# Crash between a full save and the journal's reset: the journal left
# holds the old epoch's records (all in state.json already): not replayed.
ctl allow 'a->b:udp/60' >/dev/null && ctl remove 'a->b:udp/53' >/dev/null
cp "$J" "$T/journal.old"
ctl identity add c --cidr 198.19.3.0/24 >/dev/null
before=$(rules) rev=$(revision)
crash
cp "$T/journal.old" "$J"
start_daemon -v; ok $? "restart with an older epoch's journal"
[ "$(rules)" = "$before" ] && [ "$(revision)" = "$rev" ]
ok $? "its records not replayed: rules and revision $rev as state.json has them"
grep -q "state journal $J is not of state.json's epoch: ignored" "$LOG"
ok $? "log: $(grep -m1 "not of state.json's epoch" "$LOG")"

# A clean stop folds the journal: state.json alone (what an older
# netsegd reads) has everything.
ctl allow 'a->c:tcp/443' >/dev/null && [ "$(records)" -eq 1 ]
ok $? "a change after the restart goes to the journal"
before=$(rules) rev=$(revision)
stop_daemon TERM
[ "$(records)" -eq 0 ]; ok $? "clean stop: journal empty"
rm -f "$J"
start_daemon -v && [ "$(rules)" = "$before" ] && [ "$(revision)" = "$rev" ]
ok $? "state.json alone: same rules, revision $rev"

# Full saves: a change of identities or an apply of many rules.
for p in $(seq 1000 1199); do echo "allow a->b:tcp/$p"; done >"$T/many.rules"
ctl apply -f "$T/many.rules" >/dev/null && [ "$(records)" -eq 0 ] &&
	grep -q '"rule":"a -> b:tcp/1199"' "$S/state.json"
ok $? "apply of 200 rules: a full save, journal reset"
ctl allow 'a->b:tcp/7' >/dev/null && [ "$(records)" -eq 1 ]
ok $? "then one allow: one record"
done_testing
