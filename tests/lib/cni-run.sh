#!/bin/bash
# cni-run.sh: drive a CNI plugin chain as a container runtime does, for
# tests (Debian ships no cnitool).
#
#   cni-run.sh ADD|CHECK|DEL CONFLIST CONTAINER_ID NETNS_PATH [IFNAME]
#
# CONFLIST is a network configuration list (cniVersion, name, plugins[]).
# ADD runs the plugins in order, each with the previous one's result as
# prevResult, and prints the last result; CHECK runs them in order with the
# cached result; DEL runs them in reverse order with the cached result
# (if any), as libcni does.  The first failure stops the chain: its CNI
# error object goes to stdout and the exit status is the plugin's.  After
# a failed ADD a runtime calls DEL, and so must the caller.
#
# Environment: CNI_PATH (default: this repository's cni/ and /usr/lib/cni),
# CNI_ARGS (passed on), CNI_LABELS ("k=v,k2=v2": put into every plugin's
# config as args.cni.labels, the convention for pod labels),
# CNI_CACHE_DIR (where ADD's result is kept for CHECK and DEL; default
# /run/netseg-cni-run).
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cmd=${1:-}
conflist=${2:-}
cid=${3:-}
netns=${4:-}
ifname=${5:-eth0}
: "${CNI_PATH:=$top/cni:/usr/lib/cni}"
: "${CNI_CACHE_DIR:=/run/netseg-cni-run}"
: "${CNI_ARGS:=}"
: "${CNI_LABELS:=}"

die() { echo "cni-run: $*" >&2; exit 2; }

case "$cmd" in ADD | CHECK | DEL) ;; *) die "usage: cni-run.sh ADD|CHECK|DEL CONFLIST CONTAINER_ID NETNS_PATH [IFNAME]" ;; esac
[ -r "$conflist" ] || die "can't read the network configuration list $conflist"
[ -n "$cid" ] || die "no container id"
command -v jq >/dev/null || die "jq is missing: run 'make deps'"
jq -e '.plugins | type == "array" and length > 0' "$conflist" >/dev/null 2>&1 ||
	die "$conflist: not a conflist (no plugins list)"

name=$(jq -r .name "$conflist")
version=$(jq -r .cniVersion "$conflist")
n=$(jq '.plugins | length' "$conflist")
cache="$CNI_CACHE_DIR/$name-$cid-$ifname.json"

# args.cni.labels from CNI_LABELS, as [{"key": k, "value": v}, ...]
labels='[]'
if [ -n "$CNI_LABELS" ]; then
	labels=$(printf '%s' "$CNI_LABELS" | jq -R 'split(",") | map(split("=") |
		{key: .[0], value: (.[1:] | join("="))})') || die "bad CNI_LABELS"
fi

find_plugin() {
	local d IFS=:
	for d in $CNI_PATH; do
		[ -x "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	return 1
}

# run_plugin INDEX PREVRESULT-or-empty: the plugin's stdout, its exit status
run_plugin() {
	local i=$1 prev=$2 type conf bin
	type=$(jq -r ".plugins[$i].type" "$conflist")
	bin=$(find_plugin "$type") || die "plugin $type not found in $CNI_PATH"
	conf=$(jq --arg v "$version" --arg n "$name" --argjson l "$labels" \
		--argjson p "${prev:-null}" ".plugins[$i] | .cniVersion = \$v | .name = \$n |
		(if (\$l | length) > 0 then .args.cni.labels = \$l else . end) |
		(if \$p != null then .prevResult = \$p else . end)" "$conflist") ||
		die "can't build the config of plugin $i ($type)"
	printf '%s' "$conf" | CNI_COMMAND=$cmd CNI_CONTAINERID=$cid CNI_NETNS=$netns \
		CNI_IFNAME=$ifname CNI_ARGS=$CNI_ARGS CNI_PATH=$CNI_PATH "$bin"
}

prev=
[ "$cmd" != ADD ] && [ -r "$cache" ] && prev=$(cat "$cache")
if [ "$cmd" = CHECK ] && [ -z "$prev" ]; then
	die "CHECK: no cached result for container $cid (ADD it first)"
fi

if [ "$cmd" = DEL ]; then
	for ((i = n - 1; i >= 0; i--)); do
		out=$(run_plugin "$i" "$prev"); st=$?
		[ $st -eq 0 ] || { printf '%s\n' "$out"; exit $st; }
	done
	rm -f "$cache"
	exit 0
fi

for ((i = 0; i < n; i++)); do
	out=$(run_plugin "$i" "$prev"); st=$?
	[ $st -eq 0 ] || { printf '%s\n' "$out"; exit $st; }
	[ "$cmd" = ADD ] && prev=$out
done
if [ "$cmd" = ADD ]; then
	mkdir -p "$CNI_CACHE_DIR" && printf '%s\n' "$prev" >"$cache"
	printf '%s\n' "$prev"
fi
exit 0
