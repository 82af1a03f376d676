#!/usr/bin/env bash
# Throughput benchmarks: netseg against bare XDP_DROP, no firewall,
# nftables, iptables and xdp-filter, with the same rules, 10 -> 100k.
#
#   bench/run.sh quick    a few points, under a minute   (make bench-quick)
#   bench/run.sh full     everything, under ten minutes  (make bench)
#   ... --gen pktgen      kernel pktgen instead of BPF live frames: not
#                         driven; says whether /proc/net/pktgen exists, exits 3
#
# Environment: BENCH_CPU (the generator's core; default: every core in
# turn, one per repetition),
# BENCH_DUR / BENCH_REPS (seconds per repetition, repetitions per point),
# BENCH_LIN_MAX (largest linear nft/iptables chain), BENCH_SYSTEMS (only
# these systems), BENCH_RULES (rule counts), BENCH_NO_APPLY=1 (skip the
# control-plane benchmark), BENCH_VERBOSE=1.
#
# How and what it measures is in bench/README.md.  Results: a table on
# stdout and in bench/results/bench-MODE.txt, bench-MODE.csv and
# bench-MODE.png (MODE = quick or full: a quick run doesn't overwrite the
# last full one).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
for f in lib base netseg nft iptables xdpfilter; do
	# shellcheck source=/dev/null
	. "$HERE/scenarios/$f.sh"
done

DENY_ALL="netseg nft-netdev-set nft-netdev-lin nft-inet-set nft-inet-lin ipt-raw ipt-filter xdp-filter"
ALLOW_ALL="netseg nft-ct-set nft-ct-lin ipt-ct"
MODE=${1:-quick}
if [ "${2:-}" = --gen ]; then
	# Kernel pktgen isn't driven (gen says whether it even exists here).
	case ${3:-} in
	xdp) ;;
	pktgen) "$GEN" send --gen pktgen; exit ;;
	*) echo "usage: bench/run.sh quick|full [--gen xdp|pktgen]" >&2; exit 2 ;;
	esac
fi
case $MODE in
quick)
	RULES=${BENCH_RULES:-"10 10000"}
	DUR=${BENCH_DUR:-0.25} REPS=${BENCH_REPS:-2}
	DENY_SYS="netseg nft-netdev-set"
	ALLOW_SYS="netseg nft-ct-set"
	NEW_SYS=""
	LIN_MAX=${BENCH_LIN_MAX:-1000}
	APPLY_SIZES="10 10000"
	VARIANTS="" ALLOW_VARIANTS="" FLOW_SWEEP=""
	;;
full)
	RULES=${BENCH_RULES:-"10 100 1000 10000 100000"}
	DUR=${BENCH_DUR:-0.3} REPS=${BENCH_REPS:-5}
	DENY_SYS=$DENY_ALL ALLOW_SYS=$ALLOW_ALL NEW_SYS=$ALLOW_ALL
	LIN_MAX=${BENCH_LIN_MAX:-10000}
	APPLY_SIZES="10 100 1000 10000 100000"
	VARIANTS="4/udp/imix 4/tcp/64 6/udp/64 6/tcp/64 6/udp/imix"
	ALLOW_VARIANTS="6/udp/64 4/udp/imix"
	FLOW_SWEEP="1 100000"
	;;
*)
	echo "usage: bench/run.sh quick|full [--gen xdp|pktgen]" >&2
	exit 2
	;;
esac
if [ -n "${BENCH_SYSTEMS:-}" ]; then	# any of them, in any mode
	DENY_SYS=$DENY_ALL ALLOW_SYS=$ALLOW_ALL
	[ -n "$NEW_SYS" ] && NEW_SYS=$ALLOW_ALL
fi
EST_FLOWS=10000		# established flows in the allow scenario
DENY_FLOWS=10000	# distinct denied 5-tuples
VARIANT_RULES=1000
RES="$BENCH_TOP/bench/results"
ROWS="$T/rows.csv"
T0=$(date +%s)

bench_init
mkdir -p "$RES"

# The machine is shared: other work lands on one core or the other for
# seconds at a time.  Repetitions take turns on every core (the best one
# counts), so a busy core costs a point some repetitions, not all of them.
read -r -a CPUS <<<"${BENCH_CPU:-$(seq -s ' ' 0 $(($(nproc) - 1)))}"
CPU=${CPUS[0]}

wanted() {	# wanted SYSTEM: in BENCH_SYSTEMS (or no filter)
	[ -z "${BENCH_SYSTEMS:-}" ] && return 0
	case " $BENCH_SYSTEMS " in *" $1 "*) return 0 ;; esac
	return 1
}
is_linear() { case $1 in *-lin|ipt-*) return 0 ;; esac; return 1; }

sys_setup() {	# sys_setup SYSTEM N: 0, or 2 when SYSTEM can't hold N rules
	case $1 in
	ceiling) ceiling_setup ;;
	none) none_setup ;;
	netseg) netseg_setup "$2" ;;
	nft-netdev-set) nft_setup netdev set - "$2" ;;
	nft-netdev-lin) nft_setup netdev lin - "$2" ;;
	nft-inet-set) nft_setup forward set - "$2" ;;
	nft-inet-lin) nft_setup forward lin - "$2" ;;
	nft-ct-set) nft_setup forward set ct "$2" ;;
	nft-ct-lin) nft_setup forward lin ct "$2" ;;
	ipt-raw) ipt_setup raw - "$2" ;;
	ipt-filter) ipt_setup filter - "$2" ;;
	ipt-ct) ipt_setup filter ct "$2" ;;
	xdp-filter) xdpf_setup "$2" ;;
	*) die "unknown system $1" ;;
	esac
}

sys_drops() {
	case $1 in
	ceiling) ceiling_drops ;;
	netseg) netseg_drops ;;
	nft-*) nft_drops ;;
	ipt-*) ipt_drops ;;
	xdp-filter) xdpf_drops ;;
	*) echo 0 ;;
	esac
}

send() { nsx "$G" "$GEN" send --dev "g$RUN" --dmac "$UPMAC" --cpu "$CPU" --proto "$L4" "$@"; }
far() { nsx "$P" "$GEN" read "$PIN/far"; }
back() { nsx "$G" "$GEN" read "$PIN/back"; }	# replies that reached the generator

# Allowed flows become established everywhere before the clock starts:
# one packet per flow, then one reply per flow from the pod (conntrack:
# ESTABLISHED; netseg: a CT entry that saw its reply).  In chunks, each
# checked at the far end (every packet of a chunk arrived) or sent again
# slower: a linear chain creates only a few thousand flows a second.
# Sets PRIME_NOTE when some flows never got through.
prime() {	# prime N FLOWS
	local src port chunk first=0 n rate=200000 got c0 try end=$((SECONDS + 60))
	src=$(last_src "$1") port=$(last_port "$1") PRIME_NOTE=
	chunk=$(($2 / 10 > 1000 ? $2 / 10 : 1000))
	while [ $first -lt "$2" ]; do
		if [ $SECONDS -ge $end ]; then	# a minute at most
			PRIME_NOTE="only $first of $2 flows established (priming took too long)"
			return 0
		fi
		n=$(($2 - first < chunk ? $2 - first : chunk))
		for try in 1 2 3 4 5 6; do
			c0=$(far)
			send --src "$src" --dst "$(pod_addr)" --dport "$port" --flows "$2" \
				--first $first --count $n --rate $rate --duration 10 >/dev/null ||
				die "priming flows $first.. failed"
			sleep 0.02
			got=$(($(far) - c0))
			[ $got -ge $n ] && break
			log "priming: $got of $n flows at $rate pps (try $try)"
			rate=$((rate / 4 > 1000 ? rate / 4 : 1000))
		done
		[ $got -ge $n ] || PRIME_NOTE="only some flows established"
		for try in 1 2 3; do
			c0=$(back)
			nsx "$P" "$GEN" reply --src "$(pod_addr)" --sport "$port" --dst "$src" \
				--dport 1024 --flows "$2" --first $first --count $n ||
				die "replies for flows $first.. failed"
			sleep 0.02
			[ $(($(back) - c0)) -ge $n ] && break
		done
		[ $(($(back) - c0)) -ge $n ] || PRIME_NOTE="only some flows established"
		first=$((first + n))
	done
}

# One point: fresh topology, the system with N rules, REPS timed sends;
# the best repetition counts.  Throughput = packets with the scenario's
# outcome (dropped by the firewall's deny / arrived at the pod) per
# second of sending.  Appends a row to $ROWS.
point() {	# point GROUP SCENARIO SYSTEM N FLOWS
	local group=$1 scen=$2 sys=$3 n=$4 flows=$5 src port args st tn note rep
	PRIME_NOTE=
	local best=0 worst='' c0 c1 out secs sent rate bsent=0 size=${SIZE:-64}
	topo_up
	sys_setup "$sys" "$n"
	st=$?
	if [ $st -ne 0 ]; then
		topo_down
		[ $st -eq 2 ] && echo "$group,$scen,$sys,$n,$FAM,$L4,$size,$flows,,,,0,,does not hold $n rules" >>"$ROWS"
		return 0
	fi
	# Baselines have no rules: they get the 1-rule traffic.
	tn=$((n > 0 ? n : 1))
	case $scen in
	deny | ceiling) src=$(deny_src) port=$(last_port "$tn") ;;
	*) src=$(last_src "$tn") port=$(last_port "$tn") ;;
	esac
	args=(--src "$src" --dst "$(pod_addr)" --dport "$port" --size "$size" --duration "$DUR")
	[ "$L4" = tcp ] && args+=(--tcp-flags "$([ "$scen" = deny ] && echo S || echo A)")
	case $scen in
	allow) prime "$tn" "$flows"; args+=(--flows "$flows") ;;
	new) args+=(--flows new) ;;
	*) args+=(--flows "$flows") ;;
	esac
	for rep in $(seq "$REPS"); do
		CPU=${CPUS[$((rep % ${#CPUS[@]}))]}
		c0=$(outcome "$scen" "$sys")
		out=$(send "${args[@]}") || die "generator failed ($scen/$sys/$n)"
		sleep 0.05	# what is still in the rings
		c1=$(outcome "$scen" "$sys")
		secs=${out#*secs=} secs=${secs%% *} sent=${out#sent=} sent=${sent%% *}
		rate=$(awk -v a="$c0" -v b="$c1" -v s="$secs" 'BEGIN { printf "%.4f", (b - a) / s / 1e6 }')
		log "$scen $sys $n: $out outcome=$((c1 - c0)) -> $rate Mpps"
		if awk -v r="$rate" -v b="$best" 'BEGIN { exit !(r > b) }'; then
			best=$rate bsent=$(awk -v n="$sent" -v s="$secs" 'BEGIN { printf "%.4f", n / s / 1e6 }')
		fi
		[ -z "$worst" ] && worst=$rate
		awk -v r="$rate" -v w="$worst" 'BEGIN { exit !(r < w) }' && worst=$rate
	done
	topo_down
	# Single core: when the receiver falls behind, its softirq work moves
	# to ksoftirqd and the generator outruns it; the excess is lost in the
	# veth ring, not counted.  Say so: the figure is still what got through.
	note=$(awk -v b="$best" -v s="$bsent" 'BEGIN { if (s > 0 && b / s < 0.9)
		printf "receiver took %.0f%% of what was sent", 100 * b / s }')
	[ -n "$PRIME_NOTE" ] && note="${note:+$note; }$PRIME_NOTE"
	echo "$group,$scen,$sys,$n,$FAM,$L4,$size,$flows,$best,$bsent,$worst,$REPS,,$note" >>"$ROWS"
	progress "$scen" "$sys" "$n" "$best"
}

outcome() {	# outcome SCENARIO SYSTEM: the counter that throughput counts
	case $1 in
	deny | ceiling) sys_drops "$2" ;;
	*) far ;;
	esac
}

progress() { printf '  %-7s %-15s %7s rules  %8.3f Mpps   (%ds)\n' "$1" "$2" "$3" "$4" \
	$(($(date +%s) - T0)) >&2; }

ceiling() { FAM=${1:-4} L4=${2:-udp} SIZE=${3:-64} point ceiling ceiling ceiling 0 "$DENY_FLOWS"; }

# ------------------------------------------------------------- the run

echo "netseg benchmark ($MODE): generator on CPU ${CPUS[*]}, ${DUR}s x $REPS per point," \
	"kernel $(uname -r), $(nproc) CPUs" >&2
: >"$ROWS"
FAM=4 L4=udp SIZE=64
ceiling
for n in $RULES; do
	for sys in $DENY_SYS; do
		wanted "$sys" || continue
		if is_linear "$sys" && [ "$n" -gt "$LIN_MAX" ]; then
			echo "scale,deny,$sys,$n,4,udp,64,$DENY_FLOWS,,,,0,,capped at $LIN_MAX rules" >>"$ROWS"
			continue
		fi
		point scale deny "$sys" "$n" "$DENY_FLOWS"
	done
done
ceiling
wanted none && point scale allow none 0 "$EST_FLOWS"
for n in $RULES; do
	for sys in $ALLOW_SYS; do
		wanted "$sys" || continue
		if is_linear "$sys" && [ "$n" -gt "$LIN_MAX" ]; then
			echo "scale,allow,$sys,$n,4,udp,64,$EST_FLOWS,,,,0,,capped at $LIN_MAX rules" >>"$ROWS"
			continue
		fi
		point scale allow "$sys" "$n" "$EST_FLOWS"
	done
done
# Baselines twice, at both ends of their group: the best one counts.
wanted none && point scale allow none 0 "$EST_FLOWS"
if [ -n "$NEW_SYS" ]; then
	wanted none && point scale new none 0 new
	for n in $RULES; do
		for sys in $NEW_SYS; do
			wanted "$sys" || continue
			if is_linear "$sys" && [ "$n" -gt "$LIN_MAX" ]; then
				echo "scale,new,$sys,$n,4,udp,64,new,,,,0,,capped at $LIN_MAX rules" >>"$ROWS"
				continue
			fi
			point scale new "$sys" "$n" new
		done
	done
	wanted none && point scale new none 0 new
fi
for f in $FLOW_SWEEP; do
	for sys in none netseg nft-ct-set; do
		wanted "$sys" || continue
		point flows allow "$sys" "$([ $sys = none ] && echo 0 || echo 10000)" "$f"
	done
done
for v in $VARIANTS; do
	IFS=/ read -r FAM L4 SIZE <<<"$v"
	ceiling "$FAM" "$L4" "$SIZE"
	for sys in netseg nft-netdev-set; do
		wanted "$sys" || continue
		point variant deny "$sys" "$VARIANT_RULES" "$DENY_FLOWS"
	done
done
for v in $ALLOW_VARIANTS; do
	IFS=/ read -r FAM L4 SIZE <<<"$v"
	for sys in none netseg nft-ct-set; do
		wanted "$sys" || continue
		point variant allow "$sys" "$([ $sys = none ] && echo 0 || echo $VARIANT_RULES)" "$EST_FLOWS"
	done
done
FAM=4 L4=udp SIZE=64
ceiling

echo "  per-packet cost (bench/cost) ..." >&2
"$COST" -r "$RULES" >"$T/cost.csv" || echo "bench: bench/cost failed" >&2
if [ -z "${BENCH_NO_APPLY:-}" ]; then
	echo "  control plane (bench/apply.sh $APPLY_SIZES) ..." >&2
	# shellcheck disable=SC2086
	"$HERE/apply.sh" $APPLY_SIZES >"$T/apply.out" 2>"$T/apply.err" ||
		{ echo "bench: bench/apply.sh failed:" >&2; cat "$T/apply.err" >&2; : >"$T/apply.out"; }
fi

. "$HERE/scenarios/report.sh"
report
