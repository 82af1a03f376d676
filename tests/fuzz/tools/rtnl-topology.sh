#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The interfaces, addresses, routes and neighbours the netlink harness and
# its recorded seeds share, made in the CURRENT network namespace — which
# must not be the host's: the netlink harness runs this in a namespace it
# unshared, record-rtnl.sh in one it created.  198.18.0.0/15 and fd00::/8
# only.  Same commands in a fresh namespace, same ifindexes.
set -eu
if [ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ]; then
	echo "rtnl-topology.sh: refusing to touch the host's network namespace" >&2
	exit 1
fi
ip link set lo up
ip link add veth-fe1 type veth peer name pod-fe1	# glob identity "fe"
ip link add vapi1 type veth peer name pod-api1		# alias identity "api"
ip link set vapi1 alias netseg:api
ip link add fz2db type veth peer name pod-db		# glob identity "db"
ip link add uplink0 type veth peer name upeer0		# no identity
for l in veth-fe1 pod-fe1 vapi1 pod-api1 fz2db pod-db uplink0 upeer0; do
	ip link set "$l" up
done
# The node's address on each pod veth, a host route and neighbours behind them.
ip addr add 198.18.0.1/32 dev veth-fe1
ip addr add 198.18.0.1/32 dev vapi1
ip route add 198.18.1.10/32 dev veth-fe1
ip route add 198.18.1.20/32 dev vapi1 metric 10
ip -6 route add fd00:1::10/128 dev veth-fe1
ip neigh add 198.18.1.30 lladdr 02:00:00:00:01:30 dev fz2db nud permanent
ip -6 neigh add fd00:1::30 lladdr 02:00:00:00:01:30 dev fz2db nud permanent
ip addr add 198.18.0.2 peer 198.18.1.40/32 dev fz2db
# The uplink: a subnet, a gateway route, an untrusted (dynamic) neighbour.
ip addr add 198.18.200.1/24 dev uplink0
ip -6 addr add fd00:200::1/64 dev uplink0 nodad
ip route add 198.19.0.0/16 via 198.18.200.254 dev uplink0
ip neigh add 198.18.200.254 lladdr 02:00:00:00:02:54 dev uplink0 nud reachable
