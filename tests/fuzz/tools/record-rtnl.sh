#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Records the netlink harness's seeds: in a network namespace of our own
# (fz<pid>, removed on any exit), rtnl-topology.sh, then a full dump and the
# events of a few changes, every recv buffer one file in DIR.
#   tests/fuzz/tools/record-rtnl.sh [DIR]   (root; default tests/fuzz/corpus/netlink)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/../corpus/netlink}
ns=fz$$
bin=$(mktemp /tmp/rtnl_record.XXXXXX)
trap 'ip netns del $ns 2>/dev/null || true; rm -f "$bin" "$bin.out"' EXIT INT TERM
cc -O1 -Wall -Werror -o "$bin" "$here/rtnl_record.c" -lmnl
mkdir -p "$dir"
ip netns add $ns
ip netns exec $ns "$here/rtnl-topology.sh"
ip netns exec $ns "$bin" dump "$dir"
# Events: what an orchestrator and the kernel do to pods over their life.
ip netns exec $ns "$bin" monitor "$dir" 4 > "$bin.out" &
mon=$!
while ! grep -q listening "$bin.out" 2>/dev/null; do sleep 0.1; done
n() { ip -n $ns "$@"; }
n link add veth-fe2 type veth peer name pod-fe2
n link set veth-fe2 up
n link set pod-fe2 up
n route add 198.18.1.11/32 dev veth-fe2
n -6 route add fd00:1::11/128 dev veth-fe2
n neigh add 198.18.1.12 lladdr 02:00:00:00:01:12 dev veth-fe2 nud permanent
n neigh replace 198.18.1.12 lladdr 02:00:00:00:01:12 dev veth-fe2 nud stale
n link set vapi1 alias netseg:fe
n link set vapi1 alias netseg:api
n link set veth-fe2 name veth-xx2
n route replace 198.18.1.11/32 dev vapi1
n link set veth-xx2 down
n route del 198.18.1.20/32 dev vapi1 metric 10
# The last IPv4 address going also flushes its ARP entries (198.18.1.30).
n addr del 198.18.0.2 peer 198.18.1.40/32 dev fz2db
n addr add 198.18.0.2 peer 198.18.1.40/32 dev fz2db
n -6 neigh del fd00:1::30 dev fz2db
n link del veth-xx2
n link del vapi1
wait $mon
echo "recorded $(ls "$dir" | wc -l) files in $dir"
