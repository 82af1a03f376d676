#!/usr/bin/env bash
# Security: who may use the control socket (a member of its group
# may read and change everything; anyone else is refused by the file mode
# and again by SO_PEERCRED/SO_PEERGROUPS), the capabilities netsegd keeps
# after setup (exact sets from /proc, and the things that need them still
# work: new endpoints, cgroups, uplinks, reload, rotation, restart), the
# modes of everything netsegd creates (none world-writable; policy and logs
# not world-readable, even when started under umask 000), and hostile text
# in names, comments, interface names and paths: refused with a message
# that says what and where, or stored and escaped in every output.
# Users and a group with per-run names are created and removed.
. "$(dirname "$0")/../lib/netns.sh"
need_root
for t in useradd userdel groupadd groupdel setpriv perl stat find capsh; do
	command -v $t >/dev/null || bail "missing $t (passwd, util-linux, perl, libcap2-bin)"
done
CG_ROOT=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
[ -n "$CG_ROOT" ] || bail "no cgroup2 mount in /proc/mounts"

# ------------------------------------------------------------ users, group
GRP="nsg$RUN" MEMBER="nsm$RUN" OUTSIDER="nso$RUN"
AT_CLEANUP+=("userdel $MEMBER 2>/dev/null; userdel $OUTSIDER 2>/dev/null; groupdel $GRP 2>/dev/null")
groupadd "$GRP" || bail "groupadd $GRP failed"
useradd -M -N -g nogroup -G "$GRP" -d /nonexistent -s /usr/sbin/nologin "$MEMBER" ||
	bail "useradd $MEMBER failed"
useradd -M -N -g nogroup -d /nonexistent -s /usr/sbin/nologin "$OUTSIDER" ||
	bail "useradd $OUTSIDER failed"
GID=$(getent group "$GRP" | cut -d: -f3)

frontend_api_pods
API=198.18.2.2
UPL="u${RUN:0:8}"
nsx "$NODE" ip link add "$UPL" type veth peer name "${UPL}p" || bail "uplink veth"
nsx "$NODE" ip link set "$UPL" up

S="$T/sec"
SOCK="$S/run/netsegd.sock"
mkdir -p "$S/log"
chmod 0711 "$T"		# the test users must reach the socket
cat >"$S/netsegd.json" <<EOF
{
	"socket_group": "$GRP",
	"node_name": "node-sec",
	"deny_events": { "rate": 1000, "burst": 200 },
	"flow_logs": [
		{ "type": "file", "path": "$S/log/flows.log", "format": "json",
		  "max_bytes": 4096, "keep": 50, "chain": true },
		{ "type": "syslog", "protocol": "udp", "address": "127.0.0.1", "port": 5514,
		  "format": "cef" }
	]
}
EOF
# Syslog receiver: one hex line per datagram, so a datagram holding a
# newline would show.
nsx "$NODE" timeout 300 perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:5514", Proto => "udp") or die;
	open(my $o, ">>", $ARGV[0]) or die; $o->autoflush(1);
	while (defined $s->recv(my $b, 65535)) { print $o unpack("H*", $b), "\n"; }' \
	"$S/syslog.hex" >/dev/null 2>&1 </dev/null &
disown $!

# Started under umask 000: the daemon must set its own.
sec_start() {
	(umask 000; exec nsenter --net="/run/netns/$NODE" "$NETSEGD" -v -c "$S/netsegd.json" \
		--state-dir "$S/state" --run-dir "$S/run" --bpffs "$T/bpf/netseg") \
		>>"$S/netsegd.log" 2>&1 </dev/null &
	DAEMON_PID=$!
	disown "$DAEMON_PID"
	# Loading the programs can take seconds on a busy machine.
	for _ in $(seq 300); do
		[ -S "$SOCK" ] && sctl status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	diag "$(tail -5 "$S/netsegd.log")"
	return 1
}
sctl() { nsx "$NODE" "$NETSEGCTL" -s "$SOCK" "$@"; }
# as USER [setpriv options] -- netsegctl args
as() {
	local u=$1; shift
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	nsx "$NODE" setpriv --reuid="$u" --regid=nogroup "${opts[@]}" "$NETSEGCTL" -s "$SOCK" "$@"
}
has_ctl() { LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]' <<<"$1"; }

sec_start; ok $? "netsegd starts (config with socket_group $GRP, under umask 000)" || bail "no daemon"

# ---------------------------------------------------------- control socket
[ "$(stat -c '%a %U %G' "$SOCK")" = "660 root $GRP" ]
ok $? "control socket is 0660 root:$GRP ($(stat -c '%a %U %G' "$SOCK"))"
[ "$(stat -c '%a %U' "$S/run")" = "755 root" ]
ok $? "run dir created 0755 root ($(stat -c '%a %U' "$S/run"))"

as "$MEMBER" --init-groups -- status >/dev/null; ok $? "a member of $GRP: status"
as "$MEMBER" --init-groups -- identity add frontend --iface "$(pod_if frontend)" >/dev/null &&
as "$MEMBER" --init-groups -- identity add api --iface "$(pod_if api)" >/dev/null &&
as "$MEMBER" --init-groups -- allow 'frontend->api:8443' >/dev/null &&
as "$MEMBER" --init-groups -- list | grep -q 'frontend -> api:tcp/8443' &&
as "$MEMBER" --init-groups -- remove 'frontend->api:8443' >/dev/null
ok $? "a member of $GRP may change the policy: identity add, allow, list, remove (no read-only role)"

list0=$(sctl list)
out=$(as "$OUTSIDER" --init-groups -- status 2>&1); st=$?
[ $st -eq 3 ] && grep -q "Permission denied" <<<"$out" && grep -q "$SOCK" <<<"$out"
ok $? "a non-member is stopped by the socket's mode (exit $st: $out)"

# Let the file mode through, so the daemon's own check is what refuses.
chmod 0666 "$SOCK"
out=$(as "$OUTSIDER" --init-groups -- status 2>&1); st=$?
[ $st -eq 1 ] && grep -q "accepts root and members of group '$GRP'" <<<"$out"
ok $? "socket 0666: the daemon refuses a non-member (exit $st: $out)"
out=$(as "$OUTSIDER" --init-groups -- allow 'frontend->api:22' 2>&1); st=$?
[ $st -eq 1 ] && grep -q "permission denied" <<<"$out" && [ "$(sctl list)" = "$list0" ]
ok $? "socket 0666: a non-member's allow is refused and changes nothing"
out=$(as "$OUTSIDER" --init-groups -- flows 2>&1); st=$?
[ $st -ne 0 ] && grep -q "permission denied" <<<"$out"
ok $? "socket 0666: a non-member's flows is refused (exit $st)"
reply=$(printf '{"cmd":"rule.add","action":"allow","rule":"frontend->api:22"}\n' |
	nsx "$NODE" setpriv --reuid="$OUTSIDER" --regid=nogroup --init-groups \
	timeout 3 socat -t2 - "UNIX-CONNECT:$SOCK")
grep -q '"ok":false' <<<"$reply" && grep -q 'permission denied' <<<"$reply" &&
	[ "$(sctl list)" = "$list0" ]
ok $? "socket 0666: a raw rule.add from a non-member is refused ($reply)"
out=$(as "$MEMBER" --clear-groups -- status 2>&1); st=$?
[ $st -eq 1 ] && grep -q "accepts root and members" <<<"$out"
ok $? "a member's process that dropped the group is refused (peer groups, not /etc/group)"
as "$OUTSIDER" --groups="$GID" -- status >/dev/null
ok $? "a process holding the group without a line in /etc/group is let in"
chmod 0660 "$SOCK"
grep -q "refused control client uid $(id -u "$OUTSIDER")" "$S/netsegd.log"
ok $? "refusals are logged with the uid"

# ------------------------------------------------------------ capabilities
# CAP_NET_ADMIN 12, CAP_PERFMON 38, CAP_BPF 39 (agentd/netsegd.h says why)
WANT=$(printf '%016x' $(( (1 << 12) | (1 << 38) | (1 << 39) )))
check_caps() {	# check_caps WHEN
	local st="/proc/$DAEMON_PID/status" f v
	for f in CapEff CapPrm CapBnd; do
		v=$(awk -v f="$f:" '$1 == f {print $2}' "$st")
		[ "$v" = "$WANT" ]; ok $? "$1: $f = $v ($(capsh --decode="$v" | cut -d= -f2))"
	done
	for f in CapInh CapAmb; do
		v=$(awk -v f="$f:" '$1 == f {print $2}' "$st")
		[ "$v" = 0000000000000000 ]; ok $? "$1: $f empty"
	done
	[ "$(awk '$1 == "NoNewPrivs:" {print $2}' "$st")" = 1 ]; ok $? "$1: NoNewPrivs 1"
}
check_caps "after start"

# Everything that needs a kept capability still works.
sctl allow 'frontend->api:443' --log >/dev/null
reach frontend $API 443; ok $? "allow applied with reduced capabilities (new inner map): frontend -> api:443"
! reach frontend $API 8080; ok $? "default deny still: frontend -> api:8080"
make_pod late 3
sctl identity add late >/dev/null && sctl allow 'late->api:443' >/dev/null
ok $? "identity for a pod created after the daemon dropped its capabilities"
for _ in $(seq 30); do reach late $API 443 && break; sleep 0.1; done
reach late $API 443; ok $? "late pod (alias learned, TCX attached after the drop): late -> api:443"
! reach late $API 8080; ok $? "late pod is enforced: late -> api:8080 blocked"
CG="$CG_ROOT/netseg-sec-$RUN"
mkdir "$CG" && AT_CLEANUP+=("rmdir '$CG' 2>/dev/null")
sctl identity add batch --cgroup "$CG" >/dev/null
for _ in $(seq 30); do
	sctl endpoint list | grep -q "$CG .*cgroup_skb/ingress" && break
	sleep 0.1
done
sctl endpoint list | grep -q "$CG .*cgroup_skb/ingress,cgroup_skb/egress"
ok $? "a cgroup endpoint is attached after the drop"
sctl attach "$UPL" >/dev/null && nsx "$NODE" ip link show "$UPL" | grep -q xdp
ok $? "netsegctl attach: XDP + TC on an uplink after the drop"
sctl attach "$UPL" >/dev/null && nsx "$NODE" ip link show "$UPL" | grep -q xdp
ok $? "attach again: replaces ours in place"
sed -i 's/"rate": 1000/"rate": 500/' "$S/netsegd.json"
kill -HUP "$DAEMON_PID"
for _ in $(seq 30); do grep -q "SIGHUP: reloaded" "$S/netsegd.log" && break; sleep 0.1; done
grep -q "SIGHUP: reloaded" "$S/netsegd.log" && sctl status >/dev/null
ok $? "SIGHUP reloads the config with reduced capabilities"

# ---------------------------------------------------------- hostile text
HC='say "hi" | a=b \ c ] [x] caf'$'\xc3\xa9'' {"k":1} %s%n <b> $(id) `id` ;'
sctl remove 'frontend->api:443' >/dev/null
sctl allow 'frontend->api:443' --log --comment "$HC" >/dev/null
ok $? "a comment with quotes | = \\ ] UTF-8 and shell/format characters is accepted"
json_comment() {	# JSON on stdin: the comment of the rule frontend -> api:tcp/443
	perl -MJSON::PP -e 'my $d = JSON::PP->new->decode(join "", <STDIN>);
		my $r = $d->{rules}; $r = $r->{rules} if ref $r eq "HASH";	# state file
		for (@$r) { print $_->{comment} if $_->{rule} eq "frontend -> api:tcp/443" }'
}
[ "$(sctl -o json list | json_comment)" = "$HC" ]; ok $? "-o json list: the comment, byte for byte"
sctl list | grep -qF "$HC"; ok $? "list (table): the comment as typed"
# The state as saved: state.json with the records of state.journal (rule
# changes since it: one JSON object after a checksum per line) applied.
saved_state() {
	perl -MJSON::PP -e 'local $/; open my $f, "<", "$ARGV[0]/state.json" or die;
		my $js = JSON::PP->new; my $s = $js->decode(<$f>); my $r = $s->{rules}{rules};
		if (open my $j, "<", "$ARGV[0]/state.journal") {
			$/ = "\n"; <$j>;
			while (<$j>) { my $rec = $js->decode(substr $_, 17);
				$#$r = $rec->{n} - 1; $r->[$_->{i}] = $_->{rule} for @{$rec->{set}};
				$s->{revision} = $rec->{revision}; }
		}
		print $js->encode($s)' "$S/state"
}
[ "$(saved_state | json_comment)" = "$HC" ]; ok $? "state file: the comment, byte for byte"
reach frontend $API 443
sleep 1.2	# the file sinks flush on the 1 s timer
all_flows() { sctl flows -o "$1" 2>/dev/null; }
for f in json ocsf ecs; do
	all_flows $f | HC="$HC" perl -MJSON::PP -e '
		sub walk { my $v = shift; return $v eq $ENV{HC} unless ref $v;
			return grep { walk($_) } values %$v if ref $v eq "HASH";
			return grep { walk($_) } @$v if ref $v eq "ARRAY";
			return 0; }	# true, false
		my ($n, $hit) = (0, 0);
		while (<STDIN>) { $n++; my $d = eval { JSON::PP->new->decode($_) } or exit 1; $hit++ if walk($d); }
		exit !($n && $hit);'
	ok $? "flows -o $f: every line is JSON and a record carries the comment exactly" ||
		{ all_flows $f >/tmp/sec-flows-$f.out; diag "saved in /tmp/sec-flows-$f.out"; }
done
cef_hc=$(HC="$HC" perl -e '(my $c = $ENV{HC}) =~ s/([\\=])/\\$1/g; print $c')
all_flows cef | grep -qF "flexString1=$cef_hc"
ok $? "flows -o cef: the comment with \\ and = escaped"
perl -e '
	my ($n, $bad, $hit) = (0, 0, 0);
	while (<STDIN>) { chomp; my $m = pack("H*", $_); $n++;
		$bad++ if $m =~ /[\x00-\x1f\x7f]/; $hit++ if index($m, $ARGV[0]) >= 0; }
	exit !($n && !$bad && $hit);' "$cef_hc" <"$S/syslog.hex"
ok $? "syslog (UDP, CEF): $(wc -l <"$S/syslog.hex") datagrams, none with a control character, the comment escaped"

refuse_comment() {	# refuse_comment TEXT WHAT PATTERN
	local out st
	out=$(sctl allow 'frontend->api:8080' --comment "$1" 2>&1); st=$?
	[ $st -eq 1 ] && grep -q "$3" <<<"$out" && ! has_ctl "$out" &&
		! sctl list | grep -q 'api:tcp/8080'
	ok $? "comment with $2 refused: $out"
}
refuse_comment $'two\nlines' "a newline" "comment: control character 0x0a at byte 4"
refuse_comment $'\x1b[2Jred' "ESC" "comment: control character 0x1b at byte 1"
refuse_comment $'csi\xc2\x9b2J' "a C1 CSI" "comment: control character U+009B at byte 4"
refuse_comment $'bad\xff\xfe' "invalid UTF-8" "comment: not valid UTF-8 (byte 0xff at byte 4)"
refuse_comment "$(printf 'x%.0s' $(seq 256))" "256 bytes" "comment: longer than 255 bytes (256)"
reply=$(printf '%s\n' '{"cmd":"rule.add","action":"allow","rule":"frontend->api:8080","comment":"a\nb"}' |
	nsx "$NODE" timeout 3 socat -t2 - "UNIX-CONNECT:$SOCK")
grep -q '"ok":false' <<<"$reply" && grep -q 'control character 0x0a' <<<"$reply"
ok $? "control socket: a raw rule.add with a newline in its comment is refused ($reply)"

refuse_name() {	# refuse_name NAME WHAT
	local out st
	out=$(sctl identity add "$1" 2>&1); st=$?
	[ $st -eq 1 ] && grep -q "invalid identity name" <<<"$out" && ! has_ctl "$out"
	ok $? "identity name with $2 refused: $out"
}
refuse_name $'a\nb' "a newline"
refuse_name 'a"b' 'a quote'
refuse_name 'a|b' "a |"
refuse_name 'a=b' "an ="
refuse_name 'a\b' "a backslash"
refuse_name $'\x1b[31mred' "ESC"
refuse_name $'caf\xc3\xa9' "UTF-8"
refuse_name $'x\xff' "invalid UTF-8"
refuse_name '../etc' "../"
refuse_name world "a reserved name"
refuse_name "$(printf 'n%.0s' $(seq 64))" "64 characters"
out=$(sctl identity add web --iface $'veth\x1b*' 2>&1)
[ $? -eq 1 ] && grep -q "interface glob #1: character 0x1b at byte 5" <<<"$out" && ! has_ctl "$out"
ok $? "interface glob with ESC refused: $out"
out=$(sctl identity add web --cgroup "$CG_ROOT/../../etc" 2>&1)
[ $? -eq 1 ] && grep -q 'cgroup path #1: has a "." or ".." component' <<<"$out"
ok $? "cgroup path with .. refused: $out"
out=$(sctl identity add web --cgroup "netseg.slice" 2>&1)
[ $? -eq 1 ] && grep -q 'cgroup path #1: not an absolute path' <<<"$out"
ok $? "relative cgroup path refused: $out"
! sctl identity list | grep -q '^[0-9]* *web '; ok $? "none of the refused identities exists"

# An interface name the kernel allows: ESC [ 2 J and a C1 CSI.
HN=$'h\x1b[2J\xc2\x9b'
nsx "$NODE" ip link add name "$HN" type veth peer name "hp${RUN:0:8}" &&
	nsx "$NODE" ip link set "$HN" alias netseg:hostile up
ok $? "an interface named h<ESC>[2J<CSI> with alias netseg:hostile"
sctl identity add hostile >/dev/null
for _ in $(seq 30); do sctl -o json endpoint list | grep -q 'h\\u001b' && break; sleep 0.1; done
out=$(sctl endpoint list)
grep -q 'h?\[2J?' <<<"$out" && ! has_ctl "$out"
ok $? "endpoint list (table): the hostile interface name with its controls as '?'" ||
	diag "$(cat -v <<<"$out"; sctl -o json endpoint list | cat -v)"
sctl -o json endpoint list | HN="$HN" perl -MJSON::PP -e '
	my $d = JSON::PP->new->decode(join "", <STDIN>);
	exit !grep { $_->{name} eq $ENV{HN} } @{$d->{endpoints}};'
ok $? "endpoint list -o json: the name exactly, escaped by JSON"
grep -q 'h\\x1b\[2J' "$S/netsegd.log" && ! has_ctl "$(cat "$S/netsegd.log")"
ok $? "daemon log: the name with \\x1b, no raw control character in the log"

# Paths: refused before anything is loaded, saying which setting and why.
refuse_start() {	# refuse_start WHAT PATTERN -- NETSEGD ARGS...
	local what=$1 pat=$2 out st; shift 3
	# In the node namespace and with our own dirs, should a check be missing.
	out=$(nsx "$NODE" timeout 10 "$NETSEGD" --state-dir "$S/xstate" --run-dir "$S/xrun" \
		--bpffs "$T/bpf/x" "$@" 2>&1 </dev/null); st=$?
	[ $st -ne 0 ] && [ $st -ne 124 ] && grep -q -- "$pat" <<<"$out" && ! has_ctl "$out"
	ok $? "netsegd refuses $what (exit $st: $(head -1 <<<"$out"))"
}
refuse_start "a newline in --state-dir" '"state_dir" (--state-dir): control character 0x0a' \
	-- --state-dir $'/tmp/a\nb'
refuse_start "a relative --state-dir" '"state_dir" (--state-dir): not an absolute path' \
	-- --state-dir "state"
refuse_start "../ in --run-dir" '"run_dir" (--run-dir): has a "." or ".." component' \
	-- --run-dir "/tmp/../etc"
refuse_start "invalid UTF-8 in --bpffs" '"pin_dir" (--bpffs): not valid UTF-8' \
	-- --bpffs $'/sys/fs/bpf/\xff'
bad_config() {	# bad_config FILE JSON
	printf '%s\n' "$2" >"$1"
}
bad_config "$S/bad1.json" "{\"flow_logs\": [{\"type\": \"file\", \"path\": \"$S/log/../x.log\"}]}"
refuse_start "../ in a flow-log path" 'must be an absolute file name: has a "." or ".." component' \
	-- -c "$S/bad1.json"
bad_config "$S/bad2.json" '{"node_name": "n\u001b[2J"}'
refuse_start "ESC in node_name" '"node_name": control character 0x1b at byte 2' \
	-- -c "$S/bad2.json"
bad_config "$S/bad3.json" '{"uplinks": ["eth0\n"]}'
refuse_start "a newline in an uplink name" '"uplinks" #1: character 0x0a at byte 5' \
	-- -c "$S/bad3.json"
bad_config "$S/bad4.json" '{"socket": "/run/netseg/../x.sock"}'
refuse_start "../ in the socket path" '"socket" (--socket): has a "." or ".." component' \
	-- -c "$S/bad4.json"
[ ! -e "$T/bpf/x" ] && [ ! -e "$S/xstate" ] && [ ! -e "$S/xrun" ]
ok $? "nothing was created by the refused starts"

# ---------------------------------------------- rotation, restart, file modes
# Denied UDP flows, each a record: the 4 KiB file rotates several times.
for p in $(seq 9000 9040); do
	echo x | nsx "$(pod_ns frontend)" timeout 1 socat -u - "UDP:$API:$p" 2>/dev/null
done
sleep 1.2
F=()
for i in $(seq 50 -1 1); do [ -e "$S/log/flows.log.$i" ] && F+=("$S/log/flows.log.$i"); done
F+=("$S/log/flows.log")
[ ${#F[@]} -ge 3 ]; ok $? "flow log rotated with reduced capabilities (${#F[@]} files)"
out=$(sctl logs verify "${F[@]}"); ok $? "logs verify: the chain holds across the rotations ($out)"
cat "$S/log"/flows.log* | HC="$HC" perl -MJSON::PP -e '
	my ($n, $hit) = (0, 0);
	while (<STDIN>) { $n++; my $d = eval { JSON::PP->new->decode($_) } or exit 1;
		$hit++ if ($d->{rule}{comment} // "") eq $ENV{HC} && $d->{chain}{hash}; }
	exit !($n && $hit);'
ok $? "hash-chained file: every line JSON, the comment exact in a chained record"

rev=$(sctl -o json status | perl -MJSON::PP -e 'print decode_json(join "", <STDIN>)->{revision}')
srev=$(saved_state | perl -MJSON::PP -e 'local $/; print decode_json(<STDIN>)->{revision}')
[ -n "$rev" ] && [ "$rev" = "$srev" ]; ok $? "state file saved with reduced capabilities (revision $rev = $srev)"

stop_daemon TERM
sec_start; ok $? "netsegd restarts"
check_caps "after restart"
[ "$(sctl -o json list | json_comment)" = "$HC" ]; ok $? "after restart: the comment, byte for byte"
reach frontend $API 443 && reach late $API 443 && ! reach frontend $API 8080
ok $? "after restart: enforced as before"
sctl allow 'api->frontend:443' >/dev/null && sctl remove 'api->frontend:443' >/dev/null
ok $? "after restart: changes apply"
# The uplink's prefilter was put back in place at the start; the daemon
# knows its fd, so detach needs no lookup by id (CAP_SYS_ADMIN).
nsx "$NODE" ip link show "$UPL" | grep -q xdp; ok $? "after restart: the uplink keeps its prefilter"
out=$(sctl detach "$UPL" 2>&1) && ! nsx "$NODE" ip link show "$UPL" | grep -q xdp
ok $? "netsegctl detach removes the XDP prefilter ($out$(nsx "$NODE" ip link show "$UPL" | grep -o ' xdp[a-z]*'))"
out=$(sctl attach "$UPL" 2>&1) && nsx "$NODE" ip link show "$UPL" | grep -q xdp &&
	out=$(sctl detach "$UPL" 2>&1) && ! nsx "$NODE" ip link show "$UPL" | grep -q xdp
ok $? "attach and detach again, all after the drop ($out)"

# Everything netsegd made: state, run dir, flow logs, pins.
made=("$S/state" "$S/run" "$T/bpf/netseg" "$S/log"/flows.log*)
ww=$(find "${made[@]}" -perm -o+w ! -type l -printf '%m %p\n')
[ -z "$ww" ]; ok $? "no world-writable file or dir among $(find "${made[@]}" | wc -l) made by netsegd ($ww)"
or=$(find "$S/state" "$T/bpf/netseg" "$S/log"/flows.log* -perm /o+rwx -printf '%m %p\n')
[ -z "$or" ]; ok $? "state, pins and flow logs: nothing for others at all ($or)"
[ "$(stat -c %a "$S/state")" = 700 ] && [ "$(stat -c %a "$S/state/state.json")" = 600 ]
ok $? "state dir 0700, state file 0600"
modes=$(stat -c %a "$S/log"/flows.log* | sort -u | tr '\n' ' ')
[ "$modes" = "640 " ]; ok $? "flow-log files 0640 ($modes)"
pins=$(find "$T/bpf/netseg" -type d -printf '%m\n' | sort -u | tr '\n' ' ')
[ "$pins" = "700 " ]; ok $? "bpffs pin dirs 0700 ($pins)"

stop_daemon TERM
nsx "$NODE" "$NETSEGD" --state-dir "$S/state" --run-dir "$S/run" --bpffs "$T/bpf/netseg" --cleanup >/dev/null 2>&1
ok $? "netsegd --cleanup"
done_testing
