#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The man pages (docs/man/*.scd, built into .output/man by make) and the
# version: every page renders with man(1) without a warning and has the
# usual sections; every command and flag `netsegctl --help` lists has its
# place in netsegctl(8), every netsegd flag is in netsegd(8), every config
# key agentd/config.c accepts is in netsegd.json(5), so a command, flag or
# key added without documentation fails here.  Both binaries print the one
# version of lib/version.h, which the pages' footers carry too.
# No root needed.

cd "$(dirname "$0")/../.." || exit 255
CTL=$PWD/ctl/netsegctl
D=$PWD/agentd/netsegd
MAN=$PWD/.output/man
. "$PWD/tests/lib/tap.sh"

for t in man scdoc; do
	command -v $t >/dev/null || bail "missing $t: run 'make deps'"
done
[ -x "$CTL" ] && [ -x "$D" ] || bail "build first: make"

render() { MANWIDTH=80 man -l "$1" 2>/dev/null; }

pages=(netsegctl.8 netsegd.8 netseg.rules.5 netsegd.json.5)
for p in "${pages[@]}"; do
	[ -s "$MAN/$p" ]; ok $? "$p is built from docs/man/$p.scd" || continue
	w=$(MANWIDTH=80 man --warnings -l "$MAN/$p" 2>&1 >/dev/null)
	[ -z "$w" ]; ok $? "$p renders without warnings${w:+: $(echo "$w" | head -3)}"
	miss=
	for s in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
		render "$MAN/$p" | grep -qx "$s" || miss+=" $s"
	done
	[ -z "$miss" ]; ok $? "$p has NAME, SYNOPSIS, DESCRIPTION, SEE ALSO${miss:+ (missing:$miss)}"
done

# --- netsegctl(8) against `netsegctl --help` ---
# Usage lines read "  netsegctl WORD [WORD] ARGS...": the command is the
# leading lowercase words (identity add, logs verify, trace).
help=$("$CTL" --help)
ctl_page=$(render "$MAN/netsegctl.8")
cmds=$(echo "$help" | sed -n 's/^  netsegctl \(.*\)/\1/p' |
	awk '{ c = $1; if ($2 ~ /^[a-z]+$/) c = c " " $2; print c }' | sort -u)
[ "$(echo "$cmds" | wc -l)" -ge 15 ]; ok $? "netsegctl --help lists $(echo "$cmds" | wc -l) commands"
miss=
while read -r c; do
	# a subsection heading (3 spaces in) named after the command
	echo "$ctl_page" | grep -qx "   $c" || miss+=" '$c'"
done <<<"$cmds"
[ -z "$miss" ]; ok $? "netsegctl(8) has a section for every command in --help${miss:+ (missing:$miss)}"

miss=
for f in $(echo "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u) -o -s -v; do
	echo "$ctl_page" | grep -q -- "$f" || miss+=" $f"
done
[ -z "$miss" ]; ok $? "netsegctl(8) names every flag of --help${miss:+ (missing:$miss)}"
for s in 'EXIT STATUS' FILES ENVIRONMENT EXAMPLES; do
	echo "$ctl_page" | grep -qx "$s"; ok $? "netsegctl(8) has $s"
done
# The exit codes the help promises, each with its paragraph.
miss=
for code in 0 1 2 3 4; do
	echo "$ctl_page" | sed -n '/^EXIT STATUS/,/^[A-Z]/p' | grep -qx "       $code" || miss+=" $code"
done
[ -z "$miss" ]; ok $? "netsegctl(8) explains exit codes 0-4${miss:+ (missing:$miss)}"

# --- netsegd(8) against `netsegd --help` ---
d_page=$(render "$MAN/netsegd.8")
miss=
for f in $("$D" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	echo "$d_page" | grep -q -- "$f" || miss+=" $f"
done
[ -z "$miss" ]; ok $? "netsegd(8) names every flag of netsegd --help${miss:+ (missing:$miss)}"
for s in SIGNALS FILES 'EXIT STATUS'; do
	echo "$d_page" | grep -qx "$s"; ok $? "netsegd(8) has $s"
done

# --- netsegd.json(5) against the keys the config parser accepts ---
keys=$(sed -n '/known_keys\[\] = {/,/};/p' agentd/config.c | grep -o '"[a-z_]*"' | tr -d '"')
[ "$(echo "$keys" | wc -w)" -ge 10 ]; ok $? "agentd/config.c accepts $(echo "$keys" | wc -w) keys"
json_page=$(render "$MAN/netsegd.json.5")
miss=
for k in $keys; do
	echo "$json_page" | grep -q "^       $k (" || miss+=" $k"
done
[ -z "$miss" ]; ok $? "netsegd.json(5) documents every config key${miss:+ (missing:$miss)}"
miss=
for k in type format verdicts path max_bytes keep chain protocol address port facility rate burst; do
	echo "$json_page" | grep -qw "$k" || miss+=" $k"
done
[ -z "$miss" ]; ok $? "netsegd.json(5) documents the flow-log sink and deny_events keys${miss:+ (missing:$miss)}"

# --- netseg.rules(5): the grammar netsegctl --help prints ---
rules_page=$(render "$MAN/netseg.rules.5")
miss=
for w in "RULE     := SRC '->' DST [':' PORTS]" "SRC 'to' DST ['port' PORTS]" \
	 "SPEC     := PORT | PORT '-' PORT" \
	 "PROTO    := tcp | udp | sctp | icmp[/TYPE] | icmpv6[/TYPE] | any" \
	 --audit --log --comment 'deny always beats allow' default-deny; do
	echo "$rules_page" | grep -qF -- "$w" || miss+=" [$w]"
done
[ -z "$miss" ]; ok $? "netseg.rules(5) has the grammar, the flags and the semantics${miss:+ (missing:$miss)}"

# --- one version everywhere ---
v=$(sed -n 's/^#define NETSEG_VERSION "\(.*\)"/\1/p' lib/version.h)
[ -n "$v" ]; ok $? "lib/version.h defines NETSEG_VERSION ($v)"
out=$("$CTL" --version); st=$?
[ $st -eq 0 ] && [ "$out" = "netsegctl $v" ]; ok $? "netsegctl --version: '$out' (exit $st)"
out=$("$D" --version); st=$?
[ $st -eq 0 ] && [ "$out" = "netsegd $v" ]; ok $? "netsegd --version: '$out' (exit $st)"
miss=
for p in "${pages[@]}"; do
	render "$MAN/$p" | tail -1 | grep -q "^netseg $v " || miss+=" $p"
done
[ -z "$miss" ]; ok $? "every page's footer says netseg $v${miss:+ (not:$miss)}"
! grep -rn '"0\.[0-9]*\.[0-9]*"' agentd/*.c ctl/*.c >/dev/null
ok $? "no second version string in agentd/ or ctl/"

tap_done
