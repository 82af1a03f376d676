# shellcheck shell=bash
# The end of bench/run.sh: ratios, the table, the CSV, targets, the plot.
#
# Ratios use baselines measured in the same run: "x ceiling" is against
# the best bare-XDP_DROP run for the same frames (family, protocol, size);
# "x none" against the best no-firewall run of the same scenario and flows.
# "+ns/pkt" is 1e3/Mpps - 1e3/baseline (the ceiling for drops, no firewall
# for allowed traffic): what the firewall adds per packet on this core.

CSV_HDR="group,scenario,system,rules,family,proto,size,flows,mpps,sent_mpps,min_mpps,reps,x_ceiling,x_none,ns_over_base,note"

# Raw rows (point's format) -> the final CSV with the ratios.
finish_csv() {
	echo "$CSV_HDR"
	awk -F, -v OFS=, '
	{ row[NR] = $0; key = $5 "/" $6 "/" $7 }
	$2 == "ceiling" && $9 != "" && $9 + 0 > ceil[key] { ceil[key] = $9 + 0 }
	$3 == "none" && $9 != "" && $9 + 0 > none[$2 "/" key "/" $8] { none[$2 "/" key "/" $8] = $9 + 0 }
	END {
		for (i = 1; i <= NR; i++) {
			$0 = row[i]; key = $5 "/" $6 "/" $7
			c = ceil[key]; b = none[$2 "/" key "/" $8]
			xc = xn = ns = ""
			if ($9 != "" && $9 > 0) {
				if (c) xc = sprintf("%.3f", $9 / c)
				if (b && $2 != "deny") xn = sprintf("%.3f", $9 / b)
				base = ($2 == "deny" || $2 == "ceiling" || !b) ? c : b
				if (base) ns = sprintf("%.0f", 1e3 / $9 - 1e3 / base)
			}
			print $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, xc, xn, ns, $14
		}
	}' "$ROWS"
}

# The aligned table: one line per point.
print_table() {	# print_table CSV
	awk -F, '
	function label(g, s, f, p, z) {
		if (g == "scale") return s
		return s " " (g == "flows" ? "flows" : "v" f "/" p "/" z)
	}
	NR == 1 { next }
	{
		lab = label($1, $2, $5, $6, $7)
		if (lab != last) {
			printf "\n"
			last = lab
		}
		mpps = $9 == "" ? "-" : sprintf("%.3f", $9)
		printf "%-20s %-15s %7s %7s %8s %8s %7s %7s %8s  %s\n", lab, $3, $4, $8, mpps,
			$10 == "" ? "-" : sprintf("%.3f", $10), $13 == "" ? "-" : $13,
			$14 == "" ? "-" : $14, $15 == "" ? "-" : $15, $16
	}' "$1" | sed '1d'
}

table_header() {
	printf '%-20s %-15s %7s %7s %8s %8s %7s %7s %8s  %s\n' scenario system rules flows \
		Mpps sent x_ceil x_none +ns/pkt note
}

# Targets from the issue, met or not, from the final CSV and apply.csv.
targets() {	# targets CSV APPLY_CSV
	awk -F, -v apply="$2" '
	function get(scen, sys, n) { return v[scen "," sys "," n] }
	NR == 1 { next }
	$1 == "scale" && $9 != "" { v[$2 "," $3 "," $4] = $9 + 0; xc[$2 "," $3 "," $4] = $13; xn[$2 "," $3 "," $4] = $14 }
	$1 == "scale" && $2 == "allow" && $3 == "netseg" && $14 != "" {
		if (minx == "" || $14 + 0 < minx) { minx = $14 + 0; minn = $4 }
	}
	function verdict(ok) { return ok ? "MET   " : "MISSED" }
	function na(what) { printf "  n/a     %s\n", what }
	END {
		n = 10000
		d = get("deny", "netseg", n)
		if (d) printf "  %s  denied-traffic drop >= 90%% of the XDP_DROP ceiling at 10k rules: %.0f%%\n",
			verdict(xc["deny,netseg," n] >= 0.9), 100 * xc["deny,netseg," n]
		else na("denied-traffic drop vs ceiling (netseg at 10k rules not measured)")
		s1 = get("deny", "nft-netdev-set", n); s2 = get("deny", "nft-inet-set", n)
		nb = s1 > s2 ? s1 : s2; nbn = s1 > s2 ? "nft-netdev-set" : "nft-inet-set"
		if (d && nb) printf "  %s  denied-traffic drop >= 2x nftables with sets at 10k rules: %.2fx (vs %s, the faster nft)\n",
			verdict(d >= 2 * nb), d / nb, nbn
		else na("netseg vs nftables with sets at 10k rules (not measured)")
		if (minx != "") printf "  %s  allowed established traffic >= 90%% of no firewall: worst %.0f%% (at %d rules)\n",
			verdict(minx >= 0.9), 100 * minx, minn
		else na("allowed traffic vs no firewall (not measured)")
		split("deny allow", sc, " ")
		for (k = 1; k <= 2; k++) {
			a = get(sc[k], "netseg", 10); b = get(sc[k], "netseg", 100000)
			if (a && b) printf "  %s  %s at 100k rules >= 85%% of 10 rules: %.0f%%\n",
				verdict(b >= 0.85 * a), sc[k], 100 * b / a
			else na(sc[k] " at 100k vs 10 rules (needs both points: make bench)")
		}
		while ((getline line < apply) > 0) {
			split(line, f, ",")
			if (f[1] == 10000) a10k = f[3]
			if (f[1] == 100000) a100k = f[3]
		}
		if (a10k != "") printf "  %s  apply 10k rules < 100 ms: %.1f ms\n", verdict(a10k < 100), a10k
		else na("apply 10k rules (not measured)")
		if (a100k != "") printf "  %s  apply 100k rules < 1 s: %.1f ms\n", verdict(a100k < 1000), a100k
		else na("apply 100k rules (not measured)")
	}' "$1"
}

# Per-path cost table from bench/cost's rows.
cost_table() {	# cost_table COST_CSV
	awk -F, '
	{ if (!($2 in seen)) { seen[$2] = 1; order[++np] = $2 }
	  if (!($3 in rs)) { rs[$3] = 1; rules[++nr] = $3 }
	  v[$2 "," $3] = $4 }
	END {
		printf "%-18s", "ns/packet"
		for (j = 1; j <= nr; j++) printf " %9s", rules[j] " r"
		printf "\n"
		for (i = 1; i <= np; i++) {
			printf "%-18s", order[i]
			for (j = 1; j <= nr; j++) printf " %9s", v[order[i] "," rules[j]]
			printf "\n"
		}
	}' "$1"
}

report() {
	local csv="$RES/bench-$MODE.csv" txt="$RES/bench-$MODE.txt" png="$RES/bench-$MODE.png"
	local apply="$RES/apply.csv" ok=0 ce
	finish_csv >"$csv"
	ce=$(awk -F, '$2 == "ceiling" && $5 == 4 && $6 == "udp" && $7 == 64 && $9 != "" {
		if (min == "" || $9 < min) min = $9; if ($9 > max) max = $9; n++ }
		END { printf "%.3f Mpps (best of %d runs; worst %.3f)", max, n, min }' "$ROWS")
	{
		echo "netseg benchmark ($MODE), $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r)," \
			"$(nproc) CPUs, generator on CPU ${CPUS[*]} (in turn)"
		echo "ceiling (bare XDP_DROP, 64-byte IPv4 UDP): $ce"
		echo "throughput = packets with the scenario's outcome per second of sending (bench/README.md);"
		echo "Mpps = best of $REPS x ${DUR}s; sent = the generator's rate in that run"
		echo
		table_header
		print_table "$csv"
		echo
		if [ -s "$T/cost.csv" ]; then
			echo "per-packet cost, netseg programs (BPF_PROG_TEST_RUN, kernel-timed):"
			cost_table "$T/cost.csv"
			echo
		fi
		if [ -s "$T/apply.out" ]; then
			echo "control plane (bench/apply.sh: netsegctl apply -f, best of 3):"
			cat "$T/apply.out"
			echo
		fi
		echo "targets:"
		targets "$csv" "$([ -s "$T/apply.out" ] && echo "$apply" || echo /dev/null)"
	} | tee "$txt"
	if command -v gnuplot >/dev/null; then
		gnuplot -c "$HERE/plot.gp" "$csv" "$png" 2>"$T/gnuplot.err" && ok=1
		[ $ok = 1 ] || { echo "bench: plot failed:" >&2; cat "$T/gnuplot.err" >&2; }
	fi
	echo
	echo "results: $txt, $csv$([ $ok = 1 ] && echo ", $png") ($(($(date +%s) - T0))s)"
}
