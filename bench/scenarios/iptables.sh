# shellcheck shell=bash
# iptables (Debian's default nf_tables backend: iptables-nft), the same
# rules as everyone else, one ACCEPT per rule in order (linear is all
# iptables has without ipset), then -j NSB_DENY, a chain of its own that
# drops and counts.
#
#   ipt-raw     raw PREROUTING: before conntrack and routing.
#   ipt-filter  filter FORWARD: the classic place; no conntrack match.
#   ipt-ct      filter FORWARD with `-m conntrack --ctstate
#               ESTABLISHED,RELATED -j ACCEPT` first (conntrack on).
#
# Counters are read with `nft list chain` on NSB_DENY: `iptables -L` would
# fetch every rule of the table first (seconds at 100k rules).

ipt_rules() {	# ipt_rules TABLE CT N
	local table=$1 ct=$2 n=$3 chain=FORWARD plen=32
	[ "$table" = raw ] && chain=PREROUTING
	[ "$FAM" = 6 ] && plen=128
	echo "*$table"
	echo ":$chain ACCEPT [0:0]"
	echo ":NSB_DENY - [0:0]"
	[ "$ct" = ct ] && echo "-A $chain -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
	rules_awk "$n" "printf \"-A $chain -s %s/%d -d %s/$plen -p $L4 -m $L4 --dport %d -j ACCEPT\\n\", src, plen, dst, port"
	echo "-A $chain -j NSB_DENY"
	echo "-A NSB_DENY -j DROP"
	echo "COMMIT"
}

ipt_setup() {	# ipt_setup TABLE CT N
	local restore=iptables-restore
	[ "$FAM" = 6 ] && restore=ip6tables-restore
	none_setup || return 1
	ipt_rules "$@" >"$DIR/rules.ipt"
	nsx "$N" $restore "$DIR/rules.ipt" || die "iptables: loading $3 rules failed"
	IPT_TABLE="$1" IPT_FAM=ip
	[ "$FAM" = 6 ] && IPT_FAM=ip6
	return 0
}

ipt_drops() {
	nsx "$N" nft list chain "$IPT_FAM" "$IPT_TABLE" NSB_DENY |
		awk '/counter packets/ { print $3 }'
}
