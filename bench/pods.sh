#!/usr/bin/env bash
# Pods coming and going: how many pods per second netsegd registers and
# removes through netseg-cni, and where a registration's time goes.
#
#   bench/pods.sh [PODS] [LABEL_SETS]	(default 1000 pods, 20 label sets)
#
# The main plugin's work is done in bulk first (PODS veth pairs made with
# one `ip -batch` in a node namespace), so what is timed is netseg-cni as a
# runtime calls it (with the prevResult ptp would hand it) and the daemon's
# commit: endpoint.register returns only once the pod is enforced.  Pods
# are added one after another, then deleted (DEL), as a node's churn is.
# The daemon runs with -v: its "commit of ..." lines give the split of each
# commit (compile, identity maps and TC attach, policy swap, state save),
# averaged per hundred pods.  One CSV line in bench/results/pods.csv.
set -u
. "$(dirname "$0")/../tests/lib/netns.sh"
. "$NS_TOP/tests/lib/cni.sh"
need_root
N=${1:-1000}
SETS=${2:-20}
[ "$N" -ge 1 ] && [ "$N" -le 20000 ] || bail "PODS must be 1-20000"
RES="$NS_TOP/bench/results"; mkdir -p "$RES"
make_node
start_daemon -v || bail "netsegd didn't start"
SOCK="$T/run/netsegd.sock"
H=${RUN:0:5}

cni() {	# cni ADD|DEL|VERSION I
	cni_plugin "$NODE" "$SOCK" "$1" "c$2-$RUN" /var/run/netns/bench bench "p$2" \
		"app=a$(($2 % SETS))" "b$2-$H" "198.18.$((100 + $2 / 250)).$(($2 % 250 + 1))/32"
}
for i in $(seq "$N"); do
	echo "link add b$i-$H type veth peer name q$i-$H"
	echo "link set b$i-$H up"
	echo "link set q$i-$H up"
done | nsx "$NODE" ip -batch - || bail "couldn't make $N veth pairs"
AT_CLEANUP+=("for i in \$(seq $N); do echo \"link del b\$i-$H\"; done | nsx $NODE ip -batch - 2>/dev/null")

now() { echo "${EPOCHREALTIME}"; }
# The harness's own cost per call (jq, ip netns exec, the plugin starting):
# VERSION runs the same pipeline without a word to netsegd.
tb=$(now)
for i in $(seq 100); do cni VERSION "$i" || bail "VERSION failed"; done
base=$(printf "%.1f" "$(echo "($(now) - $tb) * 10" | bc)")
t0=$(now)
for i in $(seq "$N"); do cni ADD "$i" || bail "ADD of pod $i failed"; done
t1=$(now)
for i in $(seq "$N"); do cni DEL "$i" || bail "DEL of pod $i failed"; done
t2=$(now)
add=$(echo "scale=1; $N / ($t1 - $t0)" | bc)
del=$(echo "scale=1; $N / ($t2 - $t1)" | bc)
echo "pods: $N added at $add/s, removed at $del/s ($SETS label sets);" \
	"the harness alone takes $base ms a call (100 VERSION calls)"

# The commits' split, per hundred registrations (the adds come first).
grep -o 'commit of .*' "$T/netsegd.log" | awk -v n="$N" '
	/compiled/ {
		k++
		if (k > n) next	# the adds, then the deletes
		for (i = 1; i <= NF; i++) {
			if ($i == "compiled") c += $(i + 1)
			if ($i == "maps") m += $(i + 1)
			if ($i == "swapped") s += $(i + 1)
			if ($i == "saved") v += $(i + 1)
		}
		j++
		if (j % 100 == 0 || j == n) {
			printf "  adds %5d-%5d: compile %6.1f ms, id maps + TC attach %6.1f ms, swap %5.1f ms, save %5.1f ms (mean per pod)\n", j - (j % 100 == 0 ? 99 : j % 100 - 1), j, c / (j % 100 == 0 ? 100 : j % 100), m / (j % 100 == 0 ? 100 : j % 100), s / (j % 100 == 0 ? 100 : j % 100), v / (j % 100 == 0 ? 100 : j % 100)
			c = m = s = v = 0
		}
	}'
echo "$(date -u +%FT%TZ),$N,$SETS,$add,$del,$base" >>"$RES/pods.csv"
done_testing
