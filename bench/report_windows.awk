# report_windows.awk - medians.tsv of scripts/bench-windows.sh (workload case impl metric median
# unit runs min max) to its Markdown report: reactor-afd against the raw AFD_POLL floor, with
# each median's spread, since under Wine the spread is most of the story.
BEGIN {
    FS = "\t"
    nw = split("idle pingpong", word, " ")
    primary["idle"] = "iteration"; primary["pingpong"] = "round_trip"
    nc = split("raw-afd reactor-afd", col, " ")
}
{
    key = $1 SUBSEP $2
    if (!(key in seen)) { seen[key] = 1; rows[$1] = rows[$1] (rows[$1] == "" ? "" : "\034") $2 }
    m[$1, $2, $3, $4] = $5
    runs[$1, $2, $3, $4] = $7
    lo[$1, $2, $3, $4] = $8
    hi[$1, $2, $3, $4] = $9
}
function fmt(v) {
    if (v < 10000) return sprintf("%.0f ns", v)
    if (v < 10000000) return sprintf("%.1f µs", v / 1000)
    return sprintf("%.1f ms", v / 1000000)
}
function has(wl, c, impl, met) { return (wl, c, impl, met) in m }
END {
    print ""
    print "Generated " date " from commit " commit " (" mode ", " elapsed " s)."
    print ""
    print "- Machine: " machine
    print "- Wine: " wine "; compiler: " cc
    print "- Load average (1, 5, 15 min): " load
    if (provisional) {
        print ""
        print "**PROVISIONAL: the machine was not quiet (other builds and tests ran); treat ratios"
        print "as indicative.**"
    }
    print ""
    print "Medians of " reps " run(s) per cell, implementations alternating; in brackets the ratio"
    print "to the raw AFD_POLL floor (`raw-afd`). Lower is better. Under Wine, not Windows."
    print ""
    print "| workload / case | raw-afd | reactor-afd |"
    print "| --- | ---: | ---: |"
    for (wi = 1; wi <= nw; wi++) {
        wl = word[wi]; met = primary[wl]
        n = split(rows[wl], cs, "\034")
        for (j = 1; j <= n; j++) {
            c = cs[j]; s = "| " wl " " c " |"
            for (i = 1; i <= nc; i++) {
                if (!has(wl, c, col[i], met)) { s = s " — |"; continue }
                v = fmt(m[wl, c, col[i], met])
                if (col[i] == "raw-afd") v = v " (floor)"
                else if (has(wl, c, "raw-afd", met) && m[wl, c, "raw-afd", met] > 0)
                    v = v sprintf(" (%.2fx)", m[wl, c, col[i], met] / m[wl, c, "raw-afd", met])
                s = s " " v " |"
            }
            print s
        }
    }
    print ""
    print "Spread: the fastest and slowest run of each cell (same metric):"
    print ""
    print "| workload / case | raw-afd min – max | reactor-afd min – max |"
    print "| --- | ---: | ---: |"
    for (wi = 1; wi <= nw; wi++) {
        wl = word[wi]; met = primary[wl]
        n = split(rows[wl], cs, "\034")
        for (j = 1; j <= n; j++) {
            c = cs[j]; s = "| " wl " " c " |"
            for (i = 1; i <= nc; i++) {
                if (!has(wl, c, col[i], met)) { s = s " — |"; continue }
                s = s " " fmt(lo[wl, c, col[i], met]) " – " fmt(hi[wl, c, col[i], met]) " |"
            }
            print s
        }
    }
    print ""
    print "Set-up (N loopback TCP pairs registered plus the first non-blocking iteration; the"
    print "connects and accepts are outside the timing) and ping-pong rates, medians:"
    print ""
    print "| workload / case | raw-afd | reactor-afd |"
    print "| --- | ---: | ---: |"
    for (wi = 1; wi <= nw; wi++) {
        wl = word[wi]
        met = (wl == "idle") ? "setup" : "rate"
        n = split(rows[wl], cs, "\034")
        for (j = 1; j <= n; j++) {
            c = cs[j]; s = "| " (wl == "idle" ? "idle set-up " : "pingpong ") c " |"
            for (i = 1; i <= nc; i++) {
                if (!has(wl, c, col[i], met)) { s = s " — |"; continue }
                v = m[wl, c, col[i], met]
                s = s " " (wl == "idle" ? sprintf("%.0f µs", v) : sprintf("%.3g/s", v)) " |"
            }
            print s
        }
    }
    n = split(rows["idle"], cs, "\034")
    first = 1
    for (j = 1; j <= n; j++) {
        c = cs[j]
        if (c !~ /A=1$/ || !has("idle", c, "reactor-afd", "bytes_per_channel")) continue
        if (first) {
            print ""
            print "reactor's own heap per registered channel on the AFD backend (`reactor_stats()`,"
            print "pinned states and arrays at their grown capacity; kernel memory not included):"
            print ""
            print "| N | reactor-afd |"
            print "| ---: | ---: |"
            first = 0
        }
        split(c, nn, " ")
        print "| " substr(nn[1], 3) " | " sprintf("%.1f B", m["idle", c, "reactor-afd", "bytes_per_channel"]) " |"
    }
}
