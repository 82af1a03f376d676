#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make install / uninstall into a DESTDIR: every file where it belongs, a
# working config that a second install doesn't overwrite, uninstall
# removing what install added but the config and the state (PURGE=1 those
# too), the unit checked by systemd-analyze verify (no systemd runs here),
# and the installed netsegd started exactly as the unit's ExecStart says
# (pin, state and run dirs moved into the test by flags) in a node
# namespace: it prints its ready line and the installed netsegctl and
# bash completion talk to it.  Then --cleanup's words about the state file.
. "$(dirname "$0")/../lib/netns.sh"
need_root
command -v systemd-analyze >/dev/null || bail "missing systemd-analyze: run 'make deps'"

D=$T/dest
V=$(sed -n 's/^#define NETSEG_VERSION "\(.*\)"/\1/p' "$NS_TOP/lib/version.h")
# A sanitized build stays sanitized: install's prerequisites must not
# rebuild the binaries the rest of the suite runs.
SAN=
grep -q fsanitize "$NS_TOP/.output/build-flags" 2>/dev/null && SAN=SANITIZE=1
mk() { make -C "$NS_TOP" --no-print-directory $SAN "$@"; }
files() { (cd "$1" && find . -type f -o -type l | sed 's|^\./||' | sort | tr '\n' ' '); }

want="etc/netseg/netsegd.json opt/cni/bin/netseg-cni usr/bin/netsegctl usr/lib/systemd/system/netsegd.service \
usr/sbin/netsegd usr/share/bash-completion/completions/netsegctl \
usr/share/man/man5/netseg.rules.5 usr/share/man/man5/netsegd.json.5 \
usr/share/man/man8/netsegctl.8 usr/share/man/man8/netsegd.8 "

mk install DESTDIR="$D" PREFIX=/usr >"$T/install1.out" 2>&1; st=$?
ok $st "make install DESTDIR PREFIX=/usr (exit $st)" || sed 's/^/#   /' "$T/install1.out"
got=$(files "$D")
[ "$got" = "$want" ]; ok $? "it installs exactly the binaries, unit, man pages, completion and config" ||
	{ echo "#   got:  $got"; echo "#   want: $want"; }
[ "$(stat -c %a "$D/usr/sbin/netsegd" "$D/usr/bin/netsegctl" "$D/etc/netseg/netsegd.json" \
	"$D/usr/lib/systemd/system/netsegd.service" | tr '\n' ' ')" = "755 755 644 644 " ]
ok $? "modes: binaries 0755, config and unit 0644"
grep -q "DESTDIR is set: not creating group netseg" "$T/install1.out"
ok $? "with DESTDIR it creates no group and says so"
cmp -s "$NS_TOP/configs/netsegd.json" "$D/etc/netseg/netsegd.json"
ok $? "the config is configs/netsegd.json, not an .example"
for f in usr/share/man/man8/netsegctl.8 usr/share/man/man5/netseg.rules.5; do
	w=$(MANWIDTH=80 man --warnings -l "$D/$f" 2>&1 >/dev/null)
	[ -z "$w" ] && MANWIDTH=80 man -l "$D/$f" 2>/dev/null | grep -q "^NAME"
	ok $? "installed $f renders without warnings"
done

# --- the unit ---
unit=$D/usr/lib/systemd/system/netsegd.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ "$exec_start" = "/usr/sbin/netsegd -c /etc/netseg/netsegd.json" ]
ok $? "ExecStart is the installed binary and config: $exec_start"
# systemd-analyze checks that ExecStart is executable and that
# Documentation=man:netsegd(8) resolves: point both into DESTDIR.
mkdir -p "$T/verify"
sed "s|^ExecStart=/usr/sbin/|ExecStart=$D/usr/sbin/|" "$unit" >"$T/verify/netsegd.service"
out=$(MANPATH=$D/usr/share/man systemd-analyze verify "$T/verify/netsegd.service" 2>&1); st=$?
[ $st -eq 0 ] && [ -z "$out" ]
ok $? "systemd-analyze verify: clean (exit $st${out:+: $(echo "$out" | head -2 | tr '\n' ' ')})"
# ... and it would say so: a misspelt key and a missing binary are reported.
mkdir -p "$T/verify/bad"
sed 's/^ProtectHome=/ProtectHom=/; s|^ExecStart=[^ ]*|ExecStart=/nonexistent/netsegd|' \
	"$T/verify/netsegd.service" >"$T/verify/bad/netsegd.service"
out=$(MANPATH=$D/usr/share/man systemd-analyze verify "$T/verify/bad/netsegd.service" 2>&1)
grep -q "ProtectHom" <<<"$out" && grep -q "not executable" <<<"$out"
ok $? "(systemd-analyze verify does report a bad key and a missing binary)"

# --- the installed netsegd, started as ExecStart starts it ---
make_node
make_pod frontend 1
make_pod api 2
read -r -a argv <<<"$exec_start"
NETSEGD=$D${argv[0]}
NETSEGCTL=$D/usr/bin/netsegctl
args=("${argv[@]:1}")
args=("${args[@]/#\/etc\//$D/etc/}")	# the config, from DESTDIR
start_daemon "${args[@]}"; ok $? "the installed netsegd starts: ${argv[*]:1} (+ test dirs)"
ready="netsegd $V ready: pins $T/bpf/netseg, socket $T/run/netsegd.sock, 0 rules, 0 endpoints"
for _ in $(seq 50); do grep -qF "$ready" "$T/netsegd.log" && break; sleep 0.1; done
[ "$(grep -c ' ready: ' "$T/netsegd.log")" -eq 1 ] && grep -qxF "$ready" "$T/netsegd.log"
ok $? "one ready line: $(grep ' ready: ' "$T/netsegd.log")"
out=$(ctl status 2>&1); st=$?
[ $st -eq 0 ] && grep -q "$V" <<<"$out"
ok $? "the installed netsegctl gets status from it (version $V)" || sed 's/^/#   /' <<<"$out"
ctl identity add frontend --iface "$(pod_if frontend)" >/dev/null &&
	ctl identity add api --iface "$(pod_if api)" >/dev/null &&
	ctl allow 'frontend->api:443' >/dev/null
ok $? "identities and a rule through the installed netsegctl"

# The installed completion, against this daemon.
comp() {	# comp WORD...: COMPREPLY for the last word, sorted
	COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
	_netsegctl
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
# shellcheck disable=SC1091
source "$D/usr/share/bash-completion/completions/netsegctl"
out=$(comp "$NETSEGCTL" -s "$T/run/netsegd.sock" identity remove '')
[ "$out" = "api frontend " ]; ok $? "completion: identity names from the running daemon ($out)"
id=$(ctl -o json list | grep -o '"id":[[:space:]]*[0-9]*' | grep -o '[0-9]*$')
out=$(comp "$NETSEGCTL" -s "$T/run/netsegd.sock" remove '')
[ -n "$id" ] && [ "$out" = "$id " ]; ok $? "completion: rule ids from the running daemon ($out)"

stop_daemon TERM
: >"$T/netsegd.log"
start_daemon "${args[@]}"; ok $? "restarted"
ready="netsegd $V ready: pins $T/bpf/netseg, socket $T/run/netsegd.sock, 1 rules, 2 endpoints"
for _ in $(seq 50); do grep -qF "$ready" "$T/netsegd.log" && break; sleep 0.1; done
grep -qxF "$ready" "$T/netsegd.log"
ok $? "the ready line counts the restored rule and the endpoints: $(grep ' ready: ' "$T/netsegd.log")"
stop_daemon TERM

cleanup_cmd() { nsx "$NODE" "$NETSEGD" "${args[@]}" --state-dir "$T/state" --run-dir "$T/run" \
	--bpffs "$T/bpf/netseg" --cleanup "$@"; }
out=$(cleanup_cmd 2>&1); st=$?
[ $st -eq 0 ] && grep -qF "kept $T/state/state.json" <<<"$out" &&
	grep -qF -- "--cleanup --purge-state" <<<"$out" && [ -s "$T/state/state.json" ]
ok $? "--cleanup keeps the state file and says how to forget it (exit $st: $(tail -1 <<<"$out"))"
out=$(cleanup_cmd --purge-state 2>&1); st=$?
[ $st -eq 0 ] && grep -qF "removed $T/state/state.json" <<<"$out" && [ ! -e "$T/state/state.json" ]
ok $? "--cleanup --purge-state removes it (exit $st: $(tail -1 <<<"$out"))"
out=$(nsx "$NODE" "$NETSEGD" --purge-state 2>&1); st=$?
[ $st -eq 2 ] && grep -q "goes with --cleanup" <<<"$out"
ok $? "--purge-state alone is a usage error (exit $st)"

# --- a second install keeps a changed config ---
echo '{ "ct_max": 4096 }' >"$D/etc/netseg/netsegd.json"
mk install DESTDIR="$D" PREFIX=/usr >"$T/install2.out" 2>&1; st=$?
[ $st -eq 0 ] && [ "$(cat "$D/etc/netseg/netsegd.json")" = '{ "ct_max": 4096 }' ] &&
	grep -q "kept the existing $D/etc/netseg/netsegd.json" "$T/install2.out"
ok $? "a second install keeps the changed config and says so (exit $st)"

# --- uninstall keeps config and state; PURGE=1 removes them ---
mkdir -p "$D/var/lib/netseg" && echo '{}' >"$D/var/lib/netseg/state.json"
mk uninstall DESTDIR="$D" PREFIX=/usr >"$T/uninstall.out" 2>&1; st=$?
got=$(files "$D")
[ $st -eq 0 ] && [ "$got" = "etc/netseg/netsegd.json var/lib/netseg/state.json " ] &&
	grep -q "kept $D/etc/netseg/netsegd.json" "$T/uninstall.out"
ok $? "make uninstall removes what install added, keeps config and state (left: $got)"
mk uninstall DESTDIR="$D" PREFIX=/usr PURGE=1 >"$T/purge.out" 2>&1; st=$?
got=$(files "$D")
[ $st -eq 0 ] && [ -z "$got" ] && [ ! -e "$D/etc/netseg" ]
ok $? "make uninstall PURGE=1 removes config and state too (left: ${got:-nothing})"

# --- without DESTDIR: the group is made when missing (groupadd faked, so
# the test doesn't change this machine's groups), prefix paths honoured ---
R=$T/root
printf '#!/bin/sh\necho "$*" >"%s"\n' "$T/groupadd.args" >"$T/groupadd"
chmod +x "$T/groupadd"
mk install PREFIX="$R/usr/local" SYSCONFDIR="$R/etc" STATEDIR="$R/var/lib/netseg" CNIBINDIR="$R/opt/cni/bin" GROUPADD="$T/groupadd" >"$T/install3.out" 2>&1; st=$?
if getent group netseg >/dev/null; then
	[ $st -eq 0 ] && grep -q "group netseg exists" "$T/install3.out" && [ ! -e "$T/groupadd.args" ]
	ok $? "no DESTDIR, group netseg exists: kept, said (exit $st)"
else
	[ $st -eq 0 ] && [ "$(cat "$T/groupadd.args" 2>/dev/null)" = "--system netseg" ] &&
		grep -q "created group netseg" "$T/install3.out"
	ok $? "no DESTDIR, no group netseg: groupadd --system netseg (exit $st)"
fi
[ -x "$R/usr/local/sbin/netsegd" ] && [ -x "$R/opt/cni/bin/netseg-cni" ] && [ -f "$R/usr/local/share/man/man8/netsegd.8" ] &&
	grep -qx "ExecStart=$R/usr/local/sbin/netsegd -c $R/etc/netseg/netsegd.json" \
		"$R/usr/local/lib/systemd/system/netsegd.service"
ok $? "PREFIX and SYSCONFDIR reach the files and the unit's ExecStart"
mkdir -p "$R/var/lib/netseg" && echo '{}' >"$R/var/lib/netseg/state.json"
mk uninstall PREFIX="$R/usr/local" SYSCONFDIR="$R/etc" STATEDIR="$R/var/lib/netseg" CNIBINDIR="$R/opt/cni/bin" PURGE=1 >/dev/null 2>&1
[ -z "$(files "$R")" ]; ok $? "and uninstall PURGE=1 takes them away again"

done_testing
