# shellcheck shell=bash
# nftables, with the same rules as everyone else (lib.sh: rules_awk).
#
#   nft-netdev-*  table netdev, chain on the uplink's ingress hook: the
#                 earliest nftables sees a packet (before IP input).
#   nft-inet-*    table inet, forward hook: where a host firewall filters
#                 traffic to a pod.  No ct expression, so conntrack stays off.
#   nft-ct-*      nft-inet plus `ct state established,related accept` first:
#                 the stateful firewall (conntrack on) for allowed traffic.
#   *-set         one concatenated set (saddr . daddr . dport, interval
#                 flag for the CIDRs): nftables' best case.
#   *-lin         one rule per rule, in order: a linear chain.
#
# Denied packets `goto deny`, a chain of its own whose counter we can read
# without nft fetching the (possibly 100k-rule) main chain.

nft_ruleset() {	# nft_ruleset HOOK STYLE CT N
	local hook=$1 style=$2 ct=$3 n=$4 ip=ip addr=ipv4_addr
	[ "$FAM" = 6 ] && ip=ip6 addr=ipv6_addr
	echo "table ${hook/forward/inet} nsb {"
	echo "	chain deny { counter drop; }"
	if [ "$style" = set ]; then
		echo "	set allow { type $addr . $addr . inet_service; flags interval;"
		if [ "$n" -gt 0 ]; then
			printf '		elements = { '
			rules_awk "$n" 'printf "%s%s/%d . %s . %d", (i ? ",\n\t\t\t" : ""), src, plen, dst, port'
			echo ' }'
		fi
		echo "	}"
	fi
	echo "	chain filter {"
	if [ "$hook" = netdev ]; then
		echo "		type filter hook ingress device \"$UP\" priority 0; policy accept;"
	else
		echo "		type filter hook forward priority 0; policy accept;"
	fi
	[ "$ct" = ct ] && echo "		ct state established,related accept"
	if [ "$style" = set ]; then
		echo "		$ip saddr . $ip daddr . $L4 dport @allow accept"
	else
		rules_awk "$n" "printf \"\\t\\t$ip saddr %s/%d $ip daddr %s $L4 dport %d accept\\n\", src, plen, dst, port"
	fi
	# The netdev chain also sees ARP/ND: only IP is subject to the rules.
	[ "$hook" = netdev ] && echo "		meta protocol != { ip, ip6 } accept"
	echo "		goto deny"
	echo "	}"
	echo "}"
}

nft_setup() {	# nft_setup HOOK STYLE CT N
	none_setup || return 1
	nft_ruleset "$@" >"$DIR/rules.nft"
	nsx "$N" nft -f "$DIR/rules.nft" || die "nft: loading $4 rules failed"
	NFT_TABLE="${1/forward/inet} nsb"
}

nft_drops() {
	# shellcheck disable=SC2086
	nsx "$N" nft list chain $NFT_TABLE deny | awk '/counter packets/ { print $3 }'
}
