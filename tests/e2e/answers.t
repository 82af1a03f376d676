#!/usr/bin/env bash
# What netsegctl says is what happens.  trace resolves addresses as the
# datapath does (ipcache: pod IPs learned from netlink, CIDR identities, the
# node's own addresses; else world) and its verdict matches real traffic;
# diff, apply and allow show flag and comment changes, a dry run uses no
# rule ids, an apply of nothing keeps the revision; a mistyped alias is
# shown, counted and logged once; attach refuses an endpoint's veth; detach,
# stats, flows --identity say what is true; netsegd as an unprivileged user
# says it needs root and creates nothing.
. "$(dirname "$0")/../lib/netns.sh"
need_root
perl -MJSON::PP -e1 2>/dev/null || bail "missing perl JSON::PP: run 'make deps'"
json_get() { # json_get KEY...: a value of the JSON on stdin
	perl -MJSON::PP -e 'my $j = decode_json(join "", <STDIN>);
		$j = ref $j eq "ARRAY" ? $j->[$_] : $j->{$_} for @ARGV;
		print ref $j ? encode_json($j) : JSON::PP::is_bool($j) ? ($j ? "true" : "false") : $j // "UNDEF"' "$@"
}
like() { # like GOT FIXED-SUBSTRING DESCRIPTION
	case "$1" in
	*"$2"*) ok 0 "$3" ;;
	*) ok 1 "$3"; diag "got: $1"; diag "does not contain: $2" ;;
	esac
}
run() { out=$(ctl "$@" 2>"$T/err"); rc=$?; err=$(cat "$T/err"); }
revision() { ctl -o json status | json_get revision; }

make_node
make_pod web 1
make_pod api 2
make_pod db 3
make_world
serve api tcp 443
serve db tcp 443
wait_port api 443 && wait_port db 443 || bail "servers didn't start"
start_daemon || bail "netsegd didn't start"
for i in web api db; do ctl identity add $i >/dev/null || bail "identity add $i"; done
ctl allow 'web->world:tcp/443' >/dev/null && ctl allow 'web->api:443' >/dev/null ||
	bail "the first rules"
DB_IF=$(pod_if db)
for _ in $(seq 50); do
	ctl trace web 198.18.3.2 443 | grep -q "→ db" && break
	sleep 0.1
done

# ------------------------------------------------------------------ trace
run trace web 198.18.3.2/32 443
like "$out" "198.18.3.2/32 → db (endpoint $DB_IF, ipcache 198.18.3.2)" \
	"trace web 198.18.3.2/32: db's pod IP resolves to db through the ipcache"
like "$out" "web -> 198.18.3.2/32 tcp/443: deny: default-deny" \
	"... and is denied by default, not allowed by 'web -> world'"
! reach web 198.18.3.2 443; ok $? "... as the real connection is"
run trace 198.18.1.2/32 api 443
like "$out" "198.18.1.2/32 → web (endpoint $(pod_if web)" "trace 198.18.1.2/32 api: web's pod IP is web"
like "$out" "allow by rule 2 (allow web -> api:tcp/443)" "... allowed by web -> api"
reach web 198.18.2.2 443; ok $? "... as the real connection is"
run trace 198.18.3.2 web 443
[ "$rc" -eq 0 ]; ok $? "trace with a bare IPv4 address is accepted (exit $rc: $err)"
like "$out" "198.18.3.2 → db (endpoint" "bare 198.18.3.2 is the /32"
run trace web fd00::3:2 443
like "$out" "fd00::3:2 → db (endpoint $DB_IF, ipcache fd00::3:2)" "bare fd00::3:2 is the /128: db"
run trace web 198.18.0.1 443
like "$out" "198.18.0.1 → host (the node's own address" "the node's own address resolves to host"
run trace web 198.19.9.9 443
like "$out" "198.19.9.9 → world (no ipcache entry)" "an address nobody claims is world"
like "$out" "allow by rule 1 (allow web -> world:tcp/443)" "... and web -> world allows it"
j=$(ctl -o json trace web 198.18.3.2 443)
[ "$(json_get dst identity <<<"$j")|$(json_get dst input <<<"$j")|$(json_get src identity <<<"$j")" = "db|198.18.3.2|web" ]
ok $? "-o json: each side's input and identity ($(json_get dst <<<"$j"))"
like "$(json_get dst resolved_by <<<"$j")" "endpoint $DB_IF" "-o json: how it resolved"
ctl deny '198.19.1.0/24->web:22' >/dev/null && ctl deny 'web->198.19.2.0/24:22' >/dev/null
ok $? "rules naming two CIDRs (CIDR identities)"
run trace 198.19.1.5 198.19.2.5 443
like "$out" "198.19.1.5 → 198.19.1.0/24 (CIDR identity, ipcache 198.19.1.0/24)" "an address in a CIDR identity resolves to it"
like "$out" "not enforced" "trace between two CIDR identities: not enforced"
[ "$(ctl -o json trace 198.19.1.0/24 198.19.2.0/24 443 | json_get enforced)" = false ]
ok $? "the CIDR identities by name: enforced false in -o json"
run trace 198.18.0.0/16 web 443
[ "$rc" -eq 1 ]; ok $? "a range that isn't an identity is refused (exit $rc: $err)"

# ------------------------------------------- diff, apply, allow: every change
ctl allow 'web->api:8080' --log --comment "metrics" >/dev/null
ID=$(ctl -o json list | perl -MJSON::PP -e 'print map { $_->{rule} =~ /8080/ ? $_->{id} : () } @{decode_json(join "", <STDIN>)->{rules}}')
cat >"$T/f1.rules" <<'EOF'
allow web->world:tcp/443
allow web->api:443
deny 198.19.1.0/24->web:22
deny web->198.19.2.0/24:22
allow web->api:8080
EOF
run diff -f "$T/f1.rules"
[ "$rc" -eq 1 ]; ok $? "diff with a difference exits 1 (exit $rc)"
like "$out" "~ $ID allow web -> api:tcp/8080  --log: on → off, --comment: \"metrics\" → none" \
	"diff shows a dropped --log and comment"
cp "$T/f1.rules" "$T/f2.rules"; echo 'allow web->db:5432' >>"$T/f2.rules"
run apply -f "$T/f2.rules" --dry-run
like "$out" "(1 added, 0 removed, 1 changed)" "apply --dry-run counts the changed rule"
ctl apply -f "$T/f2.rules" --dry-run >/dev/null
NEW=$(ctl -o json allow 'web->db:7000' | json_get id)
[ "$NEW" -eq $((ID + 1)) ]; ok $? "two dry runs used no rule ids (next rule got $NEW, after $ID)"
ctl remove "$NEW" >/dev/null
run apply -f "$T/f1.rules"
like "$out" "1 changed" "apply changes the flag"
[ "$(ctl -o json list | json_get rules 4 log)" = false ]; ok $? "... and the rule lost --log"
rev=$(revision)
run apply -f "$T/f1.rules"
like "$out" "no changes; nothing applied (revision $rev)" "an apply that changes nothing says so"
[ "$(revision)" = "$rev" ]; ok $? "... and keeps the revision ($rev)"
run diff -f "$T/f1.rules"
[ "$rc" -eq 0 ] && [ "$out" = "no changes" ]; ok $? "diff without differences: 'no changes', exit 0 ($rc)"
run allow 'web->api:8080' --log
like "$out" "updated rule $ID: --log: off → on" "allow of an existing rule with --log updates it and says so"
[ "$(ctl -o json list | json_get rules 4 log)" = true ]; ok $? "... the flag is on"
run allow 'web->api:8080' --log
like "$out" "rule $ID already exists, nothing changed" "the same allow again changes nothing"

# -------------------------------------------------- a mistyped alias (cahce)
C_IF="vc${RUN:0:6}"
nsx "$NODE" ip link add "$C_IF" type veth peer name "vx${RUN:0:6}"
nsx "$NODE" ip link set "$C_IF" alias "netseg:cahce" up
nsx "$NODE" ip route add 198.18.4.2/32 dev "$C_IF"
for m in 1400 1450 1500; do nsx "$NODE" ip link set "$C_IF" mtu $m; done
sleep 0.3
like "$(ctl endpoint list)" "alias names unknown identity cahce" "endpoint list shows the unmanaged pod"
[ "$(ctl -o json stats | json_get alias_unknown)" = 1 ]; ok $? "stats counts it"
like "$(ctl stats)" "1 interface(s) with an alias naming an unknown identity" "stats says it"
n=$(grep -c "$C_IF.*names unknown identity \"cahce\"" "$T/netsegd.log")
[ "$n" = 1 ]; ok $? "logged once for several link messages ($n)"
like "$(ctl trace web 198.18.4.2 443)" "198.18.4.2 → world" "its traffic is world"
ctl identity add cahce >/dev/null
like "$(ctl trace web 198.18.4.2 443)" "198.18.4.2 → cahce (endpoint $C_IF" \
	"the identity made later: the pod is managed"
[ "$(ctl -o json stats | json_get alias_unknown)" = 0 ]; ok $? "... and no longer counted"

# ------------------------------------------------------ attach, detach, stats
run attach "$(pod_if web)"
[ "$rc" -eq 1 ]; ok $? "attach of an endpoint's veth is refused (exit $rc)"
like "$err" "$(pod_if web) is the endpoint of identity web; uplinks are the node's external interfaces" \
	"... saying why"
like "$(ctl endpoint list)" "$(pod_if web)" "... and the endpoint is still listed"
UP_IX=$(nsx "$NODE" cat "/sys/class/net/$UPLINK/ifindex")
ctl attach "$UPLINK" >/dev/null; ok $? "attach the uplink"
run detach "$UPLINK"
like "$out" "detached $UPLINK (ifindex $UP_IX)" "detach names the interface and its ifindex"
ids=$(ctl -o json stats | perl -MJSON::PP -e 'print join ",", map { $_->{id} } @{decode_json(join "", <STDIN>)->{rules}}')
sorted=$(tr , '\n' <<<"$ids" | sort -n | paste -sd,)
[ -n "$ids" ] && [ "$ids" = "$sorted" ]; ok $? "stats: rule rows ordered by id ($ids)"
like "$(ctl stats)" "web -> api:tcp/443" "stats: the rule's text, not '-'"
run flows --identity nosuch
[ "$rc" -ne 0 ]; ok $? "flows --identity nosuch: non-zero exit ($rc)"
like "$err" 'no identity "nosuch"' "... saying the identity doesn't exist"

# ----------------------------------------- netsegd as an unprivileged user
mkdir -p "$T/np" "$T/npbpf"
mount -t bpf bpf "$T/npbpf" && AT_CLEANUP+=("umount '$T/npbpf'")
chmod 0777 "$T/np" "$T/npbpf"; chmod 0755 "$T"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
	"$NETSEGD" --state-dir "$T/np/state" --run-dir "$T/np/run" \
	--bpffs "$T/npbpf/netseg" --socket "$T/np/run/s.sock" 2>&1); st=$?
chmod 0700 "$T"
[ $st -ne 0 ]; ok $? "netsegd as nobody fails (exit $st)"
like "$out" "netsegd needs root (CAP_BPF, CAP_NET_ADMIN" "... saying it needs root"
# progs.debug and maps.debug come with every bpffs mount (bpf preload).
left=$(find "$T/np" "$T/npbpf" -mindepth 1 ! -name '*.debug' | tr '\n' ' ')
[ -z "$left" ]; ok $? "... and creates nothing ($left)"
done_testing
