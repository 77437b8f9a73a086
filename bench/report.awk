# report.awk - medians.tsv (workload case impl metric median unit runs min max) to the Markdown report
# of scripts/bench.sh, plus the plot's data file. Each implementation's ratio is to its floor:
# raw-epoll for the epoll loops, raw-poll for reactor-poll; timers have no raw floor, so
# their ratio is to libuv (the target names libuv).
BEGIN {
    FS = "\t"
    nw = split("idle pingpong churn timers wakeup", word, " ")
    for (i = 1; i <= nw; i++) worder[word[i]] = i
    primary["idle"] = "iteration"; primary["pingpong"] = "round_trip"; primary["churn"] = "op"
    primary["wakeup"] = "wakeup"
    title["idle"] = "idle-many/active-few, time per iteration"
    title["pingpong"] = "TCP ping-pong, time per round trip"
    title["churn"] = "churn: remove + add, time per pair"
    title["timers"] = "timers, time per timer (fire: start + fire) or per stop+start"
    title["wakeup"] = "cross-thread wake-up, time per delivered wake-up"
    want = "raw-epoll reactor-epoll libuv libevent libev raw-poll reactor-poll"
    nc = 0
    nwant = split(want, w, " ")
    # A libuv built from source (libuv-X.Y, scripts/bench.sh --libuv-source) sits beside libuv.
    nimp = split(impls, im, " ")
    for (i = 1; i <= nwant; i++) {
        if (index(" " impls " ", " " w[i] " ")) col[++nc] = w[i]
        if (w[i] == "libuv")
            for (j = 1; j <= nimp; j++) if (im[j] ~ /^libuv-/) col[++nc] = im[j]
    }
    npeer = split("libuv libevent libev", peers, " ")
    for (j = 1; j <= nimp; j++) if (im[j] ~ /^libuv-/) peers[++npeer] = im[j]
}
{
    key = $1 SUBSEP $2
    if (!(key in seen)) { seen[key] = 1; rows[$1] = rows[$1] (rows[$1] == "" ? "" : "\034") $2 }
    m[$1, $2, $3, $4] = $5
    runs[$1, $2, $3, $4] = $7
    lo[$1, $2, $3, $4] = ($8 == "" ? $5 : $8)
    hi[$1, $2, $3, $4] = ($9 == "" ? $5 : $9)
}
function floor_of(wl, impl) {
    if (wl == "timers") return "libuv"
    if (impl == "reactor-poll" || impl == "raw-poll") return "raw-poll"
    return "raw-epoll"
}
function fmt(v, unit) {
    if (unit != "ns") return sprintf("%.3g %s", v, unit)
    if (v < 10000) return sprintf("%.0f ns", v)
    if (v < 10000000) return sprintf("%.1f µs", v / 1000)
    return sprintf("%.1f ms", v / 1000000)
}
function ratio(wl, c, impl, metric,    f) {
    f = floor_of(wl, impl)
    if (!((wl, c, f, metric) in m) || !((wl, c, impl, metric) in m) || m[wl, c, f, metric] == 0)
        return ""
    return m[wl, c, impl, metric] / m[wl, c, f, metric]
}
function header(first,    i, s, d) {
    s = "| " first " |"; d = "| --- |"
    for (i = 1; i <= nc; i++) { s = s " " col[i] " |"; d = d " ---: |" }
    print s; print d
}
function metric_of(wl, c) {
    if (wl != "timers") return primary[wl]
    return (c ~ /^fire/) ? "timer" : "op"
}
function cell(wl, c, impl, metric, unit, with_ratio,    r, s) {
    if (!((wl, c, impl, metric) in m)) return (wl == "timers" && impl ~ /^raw/) ? "n/a" : "—"
    s = fmt(m[wl, c, impl, metric], unit)
    if (with_ratio) {
        r = ratio(wl, c, impl, metric)
        if (r != "" && impl != floor_of(wl, impl)) s = s " (" sprintf("%.2f", r) "x)"
        else if (r != "") s = s " (floor)"
    }
    return s
}
END {
    print ""
    print "Generated " date " from commit " commit " (" mode ", " elapsed " s)."
    print ""
    print "- Machine: " machine
    print "- Peers: " versions
    print "- Load average (1, 5, 15 min): " load
    if (note != "") { print ""; print "**" note "**" }
    print ""
    print "Medians. In brackets: the ratio to the floor — `raw-epoll` for the epoll loops"
    print "(reactor-epoll, libuv, libevent, libev), `raw-poll` for reactor-poll; timers have no"
    print "raw floor and are given as the ratio to libuv. Lower is better everywhere."
    print ""
    header("workload / case")
    plotn = 0
    for (wi = 1; wi <= nw; wi++) {
        wl = word[wi]
        n = split(rows[wl], cs, "\034")
        for (j = 1; j <= n; j++) {
            c = cs[j]; met = metric_of(wl, c)
            s = "| " wl " " c " |"
            for (i = 1; i <= nc; i++) s = s " " cell(wl, c, col[i], met, "ns", 1) " |"
            print s
            pl = wl " " c; gsub(/"/, "", pl)
            line = "\"" pl "\""
            for (i = 1; i <= nc; i++) {
                if (col[i] ~ /^raw/) continue
                r = ratio(wl, c, col[i], met)
                line = line " " (r == "" ? "NaN" : sprintf("%.4f", r))
            }
            plotline[++plotn] = line
        }
    }
    printf "\"case\"" > plotdata
    for (i = 1; i <= nc; i++) if (col[i] !~ /^raw/) printf " \"%s\"", col[i] > plotdata
    printf "\n" > plotdata
    for (i = 1; i <= plotn; i++) print plotline[i] > plotdata

    print ""
    print "Rates (medians) and set-up time for N registrations plus the first non-blocking"
    print "iteration:"
    print ""
    header("workload / case")
    for (wi = 1; wi <= nw; wi++) {
        wl = word[wi]
        n = split(rows[wl], cs, "\034")
        for (j = 1; j <= n; j++) {
            c = cs[j]
            if (wl == "idle") { met = "setup"; unit = "µs"; label = "idle set-up " c }
            else if (wl == "timers") { if (c !~ /^fire/) continue; met = "start"; unit = "ns"; label = "timer start only, " c }
            else { met = "rate"; unit = ""; label = wl " " c }
            s = "| " label " |"
            for (i = 1; i <= nc; i++) {
                if (!((wl, c, col[i], met) in m)) { s = s " — |"; continue }
                v = m[wl, c, col[i], met]
                if (unit == "µs") s = s " " sprintf("%.0f µs", v) " |"
                else if (unit == "ns") s = s " " sprintf("%.0f ns", v) " |"
                else s = s " " sprintf("%.3g/s", v) " |"
            }
            print s
        }
    }

    print ""
    print "reactor's own heap per registered channel (`reactor_stats().bytes_live / N`, arrays at"
    print "their grown capacity; kernel memory not included):"
    print ""
    print "| N | reactor-epoll | reactor-poll |"
    print "| ---: | ---: | ---: |"
    n = split(rows["idle"], cs, "\034")
    for (j = 1; j <= n; j++) {
        c = cs[j]
        if (c !~ /A=1$/) continue
        split(c, nn, " ")
        print "| " substr(nn[1], 3) " | " \
            (("idle", c, "reactor-epoll", "bytes_per_channel") in m ? sprintf("%.1f B", m["idle", c, "reactor-epoll", "bytes_per_channel"]) : "—") " | " \
            (("idle", c, "reactor-poll", "bytes_per_channel") in m ? sprintf("%.1f B", m["idle", c, "reactor-poll", "bytes_per_channel"]) : "—") " |"
    }

    # ---- targets ----
    print ""
    print "### Targets (from these medians)"
    print ""
    print "| target | measured | verdict |"
    print "| --- | --- | --- |"
    r = ratio("idle", "N=9000 A=100", "reactor-epoll", "iteration")
    verdict("epoll backend ≤ 1.10x raw epoll per iteration, N=9000 A=100", r == "" ? "" : sprintf("%.3fx", r), r != "" && r <= 1.10)
    worst = ""; wc = ""
    n = split(rows["idle"], cs, "\034")
    for (j = 1; j <= n; j++) {
        r = ratio("idle", cs[j], "reactor-poll", "iteration")
        if (r != "" && (worst == "" || r > worst)) { worst = r; wc = cs[j] }
    }
    verdict("poll backend ≤ 1.15x raw poll per iteration (worst idle case)", worst == "" ? "" : sprintf("%.3fx at %s", worst, wc), worst != "" && worst <= 1.15)
    split("idle pingpong churn", aw, " ")
    for (a = 1; a <= 3; a++) {
        wl = aw[a]; met = primary[wl]; won = 0; tot = 0; lost = ""
        n = split(rows[wl], cs, "\034")
        for (j = 1; j <= n; j++) {
            c = cs[j]
            if (!((wl, c, "reactor-epoll", met) in m)) continue
            me = m[wl, c, "reactor-epoll", met]; ok = 1; best = ""
            for (p = 1; p <= npeer; p++) {
                peer = peers[p]
                if (!((wl, c, peer, met) in m)) continue
                if (m[wl, c, peer, met] < me) { ok = 0; best = best (best == "" ? "" : ", ") peer sprintf(" %.2fx", me / m[wl, c, peer, met]) }
            }
            tot++; if (ok) won++; else lost = lost (lost == "" ? "" : "; ") c ": behind " best
        }
        verdict("epoll backend ahead of " peerlist() ": " wl, won "/" tot " cases" (lost == "" ? "" : " (" lost ")"), tot > 0 && won == tot)
    }
    n = split(rows["timers"], cs, "\034")
    for (j = 1; j <= n; j++) {
        c = cs[j]; met = metric_of("timers", c)
        r = ratio("timers", c, "reactor-epoll", met)
        verdict("timers not slower than libuv: " c, r == "" ? "" : sprintf("%.2fx libuv", r), r != "" && r <= 1.0)
    }
    print ""
    print "Each cell is the median of the runs; runs per cell: " runs["idle", "N=9000 A=100", "raw-epoll", "iteration"] "."

    # ---- rank ----
    print ""
    print "### reactor-epoll against the peers, row by row"
    print ""
    print "The peers are " peerlist() ". First: the lowest median. Within the spread: behind the"
    print "leader's median, but reactor-epoll's fastest run was no slower than the leader's"
    print "slowest run (the two ranges of runs overlap). Behind: neither."
    print ""
    print "| row | reactor-epoll (runs' range) | leader (runs' range) | verdict |"
    print "| --- | --- | --- | --- |"
    for (wi = 1; wi <= nw; wi++) {
        wl = word[wi]
        n = split(rows[wl], cs, "\034")
        for (j = 1; j <= n; j++) {
            c = cs[j]; met = metric_of(wl, c)
            if (!((wl, c, "reactor-epoll", met) in m)) continue
            me = m[wl, c, "reactor-epoll", met]; lead = ""
            for (p = 1; p <= npeer; p++) {
                peer = peers[p]
                if ((wl, c, peer, met) in m && (lead == "" || m[wl, c, peer, met] < m[wl, c, lead, met])) lead = peer
            }
            mine = fmt(me, "ns") " (" fmt(lo[wl, c, "reactor-epoll", met], "ns") " - " fmt(hi[wl, c, "reactor-epoll", met], "ns") ")"
            if (lead == "" || me <= m[wl, c, lead, met]) {
                print "| " wl " " c " | " mine " | " (lead == "" ? "—" : lead " " fmt(m[wl, c, lead, met], "ns")) " | **first** |"
                continue
            }
            theirs = lead " " fmt(m[wl, c, lead, met], "ns") " (" fmt(lo[wl, c, lead, met], "ns") " - " fmt(hi[wl, c, lead, met], "ns") ")"
            v = (lo[wl, c, "reactor-epoll", met] <= hi[wl, c, lead, met]) ? "within the spread" : sprintf("**behind**, %.2fx", me / m[wl, c, lead, met])
            print "| " wl " " c " | " mine " | " theirs " | " v " |"
        }
    }
}
function peerlist(    p, s) {
    for (p = 1; p <= npeer; p++) s = s (p == 1 ? "" : p == npeer ? " and " : ", ") peers[p]
    return s
}
function verdict(what, measured, ok) {
    if (measured == "") print "| " what " | — | not measured |"
    else print "| " what " | " measured " | " (ok ? "**met**" : "**missed**") " |"
}
