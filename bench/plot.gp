# gnuplot -c bench/plot.gp RESULTS.csv OUT.png
# Mpps against rule count, one line per system, one panel per scenario;
# the ceiling (bare XDP_DROP) and no firewall as flat lines.
csv = ARG1
set terminal pngcairo size 1500,640 font "sans,10"
set output ARG2
set datafile separator ","
set logscale x
set xrange [7:150000]
set xlabel "rules"
set ylabel "Mpps (64-byte IPv4 UDP)"
set grid
set key below horizontal maxrows 3 font ",8"
set format x "10^{%T}"

sel(scen, sys) = sprintf("< awk -F, '$1 == \"scale\" && $2 == \"%s\" && $3 == \"%s\" && $9 != \"\"' %s", scen, sys, csv)
systems(scen) = system(sprintf("awk -F, '$1 == \"scale\" && $2 == \"%s\" && $3 != \"none\" && $9 != \"\" && !s[$3]++ { printf \"%%s \", $3 }' %s", scen, csv))
best(scen, sys) = real(system(sprintf("awk -F, 'BEGIN { m = 0 } $1 ~ /^(scale|ceiling)$/ && $2 == \"%s\" && $3 == \"%s\" && $5 == 4 && $7 == 64 && $9 > m { m = $9 } END { print m }' %s", scen, sys, csv)))
ceil = best("ceiling", "ceiling")
# Log y: linear chains fall by orders of magnitude, sets and netseg don't.
set logscale y
set yrange [0.001:(ceil > 0 ? ceil * 2 : 10)]
set format y "%g"

set multiplot layout 1,3 title "netseg vs the kernel's firewalls (same rules; one core)"
do for [scen in "deny allow new"] {
	S = systems(scen)
	none = best(scen, "none")
	set title (scen eq "deny" ? "denied traffic dropped" : scen eq "allow" ? "allowed, established flows" : "allowed, every packet a new flow")
	if (strlen(S) > 0) {
		plot for [s in S] sel(scen, s) using 4:9 with linespoints lw 2 title s, \
			ceil with lines dt 2 lc rgb "black" title "XDP\\_DROP ceiling", \
			(none > 0 ? none : 1/0) with lines dt 3 lc rgb "gray40" title "no firewall"
	} else {
		set label 1 "not measured in this run" at graph 0.3, 0.5
		plot ceil with lines dt 2 lc rgb "black" title "XDP\\_DROP ceiling"
		unset label 1
	}
}
unset multiplot
