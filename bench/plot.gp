# plot.gp - the ratios of bench/report.awk's plot data as grouped bars (lower is better).
# gnuplot -e "datafile='...'; outfile='...'" bench/plot.gp
set terminal svg size 1100,520 dynamic enhanced font "sans,11" background rgb "white"
set output outfile
set datafile missing "NaN"
set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left horizontal opaque
set grid ytics
set ylabel "time / floor (raw loop; timers: libuv), log scale"
set logscale y
set yrange [0.1:10]
set ytics ("0.1" 0.1, "0.2" 0.2, "0.5" 0.5, "1" 1, "1.5" 1.5, "2" 2, "5" 5, "10" 10)
set xtics rotate by 30 right font ",9"
set title "reactor vs libuv, libevent, libev — medians, lower is better"
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb "#444444"
plot for [i=2:*] datafile using i:xtic(1) title columnheader(i)
