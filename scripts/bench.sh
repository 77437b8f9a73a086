#!/usr/bin/env bash
# bench.sh - builds the bench preset (Release + LTO), runs every workload on every
# implementation several times, alternating implementations, and writes the medians, each
# one's ratio to the raw floor, the targets' verdicts and a plot into docs/.
#
#   scripts/bench.sh            full run (5 repetitions, ~5 minutes), updates docs/performance.md
#                               and docs/perf.svg
#   scripts/bench.sh --quick    smoke run (1 repetition, short budgets); report in build/bench/
#                               only, docs/ untouched
#   options: --reps N  --no-install  --provisional (mark the numbers provisional: busy machine)
#            --report-only (re-render the report from the last run's build/bench/results/)
#            --libuv-source PATH (or REACTOR_BENCH_LIBUV_SOURCE=PATH): a libuv release tarball
#              (or unpacked tree), built with its own CMake (static, Release) into
#              build/bench-libuv/ and benchmarked as a second libuv, column libuv-X.Y
#
# Needs: cmake, a C compiler, pkg-config; installs libuv1-dev, libevent-dev, libev-dev and
# gnuplot-nox with apt-get when run as root and they are missing (a missing peer is skipped).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
here=$PWD
cd "$root"

quick=0 reps=5 install=1 provisional=0 report_only=0
libuv_source=${REACTOR_BENCH_LIBUV_SOURCE:-}
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 reps=1 ;;
    --reps) reps=$2; shift ;;
    --no-install) install=0 ;;
    --provisional) provisional=1 ;;
    --report-only) report_only=1 install=0 ;;
    --libuv-source) libuv_source=$2; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

# ---- packages ----
need=()
for pkg in libuv1-dev libevent-dev libev-dev gnuplot-nox pkg-config; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$install" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    else
        echo "== missing ${need[*]}: those peers (or the plot) are skipped" >&2
    fi
fi

bin=$root/build/bench/bench
out=$root/build/bench/results
raw=$out/raw.tsv
if [ "$report_only" = 1 ]; then
    [ -f "$out/meta.sh" ] || { echo "bench.sh: no previous run in $out" >&2; exit 2; }
    # shellcheck disable=SC1091
    . "$out/meta.sh"
else

# ---- a libuv built from source (optional) ----
# Unpacked and built once per source (a stamp holds the source's checksum) into
# build/bench-libuv/prefix; bench/CMakeLists.txt links it into a second libuv implementation.
# Without the option the cache entry is cleared, so the bench is the packaged peers only.
libuv_prefix=""
if [ -n "$libuv_source" ]; then
    case "$libuv_source" in /*) ;; *) libuv_source=$here/$libuv_source ;; esac
    [ -e "$libuv_source" ] || { echo "bench.sh: --libuv-source: $libuv_source not found" >&2; exit 2; }
    lv=$root/build/bench-libuv
    libuv_prefix=$lv/prefix
    if [ -d "$libuv_source" ]; then
        sum=$(cd "$libuv_source" && find . -type f -name '*.[ch]' -print0 | sort -z |
            xargs -0 cat | sha256sum | cut -d' ' -f1)
    else
        sum=$(sha256sum <"$libuv_source" | cut -d' ' -f1)
    fi
    if [ "$(cat "$lv/stamp" 2>/dev/null)" != "$sum" ] || [ ! -f "$libuv_prefix/lib/libuv.a" ]; then
        echo "== building libuv from $libuv_source (static, Release) into $libuv_prefix"
        rm -rf "$lv"
        mkdir -p "$lv/src"
        if [ -d "$libuv_source" ]; then
            cp -R "$libuv_source"/. "$lv/src"
        else
            tar -xzf "$libuv_source" -C "$lv/src" --strip-components=1
        fi
        cmake -S "$lv/src" -B "$lv/build" -DCMAKE_BUILD_TYPE=Release -DLIBUV_BUILD_TESTS=OFF \
            -DLIBUV_BUILD_SHARED=OFF -DCMAKE_INSTALL_PREFIX="$libuv_prefix" \
            -DCMAKE_INSTALL_LIBDIR=lib >"$lv/configure.log" 2>&1 ||
            { cat "$lv/configure.log" >&2; exit 1; }
        if ! cmake --build "$lv/build" -j2 >"$lv/build.log" 2>&1 ||
            ! cmake --install "$lv/build" >"$lv/install.log" 2>&1; then
            tail -n 30 "$lv/build.log" "$lv/install.log" >&2
            exit 1
        fi
        echo "$sum" >"$lv/stamp"
    fi
fi

# ---- build ----
echo "== configure and build (preset bench)"
cmake --preset bench -DREACTOR_BENCH_LIBUV_PREFIX="$libuv_prefix" >/dev/null
cmake --build --preset bench >/dev/null
mkdir -p "$out"
: >"$raw"
: >"$out/failures.txt"

# ---- the matrix ----
if [ "$quick" = 1 ]; then
    t=60 pp1=3000 pp100=40 tcount=200000 wk=5000
else
    t=300 pp1=30000 pp100=300 tcount=1000000 wk=40000
fi
cases=(
    "bench_idle --pairs 100 --active 1 --time-ms $t"
    "bench_idle --pairs 100 --active 100 --time-ms $t"
    "bench_idle --pairs 1000 --active 1 --time-ms $t"
    "bench_idle --pairs 1000 --active 100 --time-ms $t"
    "bench_idle --pairs 9000 --active 1 --time-ms $t"
    "bench_idle --pairs 9000 --active 100 --time-ms $t"
    "bench_pingpong --conns 1 --rounds $pp1"
    "bench_pingpong --conns 100 --rounds $pp100"
    "bench_timers --mode fire --count $tcount"
    "bench_timers --mode churn --live 100000 --time-ms $t"
    "bench_wakeup --count $wk"
    "bench_churn --live 9000 --spare 1000 --batch 100 --time-ms $t"
)
mapfile -t impls < <("$bin/bench_idle" --list)
echo "== implementations: ${impls[*]}"
echo "== $reps repetition(s) x ${#cases[@]} cases x ${#impls[@]} implementations"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
failed=0
for ((rep = 0; rep < reps; rep++)); do
    echo "-- repetition $((rep + 1)) of $reps"
    for c in "${cases[@]}"; do
        # Rotate the order every repetition, so no implementation always runs first or last.
        n=${#impls[@]}
        for ((k = 0; k < n; k++)); do
            impl=${impls[$(((k + rep) % n))]}
            set +e
            # shellcheck disable=SC2086
            "$bin"/$c --impl "$impl" >>"$raw" 2>"$out/stderr.txt"
            rc=$?
            set -e
            if [ $rc = 3 ]; then
                continue # the implementation does not offer this (raw loops have no timers)
            elif [ $rc != 0 ]; then
                failed=1
                echo "FAIL ($rc): $c --impl $impl: $(tail -n 2 "$out/stderr.txt" | tr '\n' ' ')" |
                    tee -a "$out/failures.txt" >&2
            fi
        done
    done
done
elapsed=$(($(date +%s) - started))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== ran in ${elapsed}s; load average $load_start at the start, $load_end at the end"
run_date=$(date -u '+%Y-%m-%d %H:%M UTC')
run_commit=$(git rev-parse --short HEAD 2>/dev/null || echo -)
libuv_src_version=""
[ -n "$libuv_prefix" ] && libuv_src_version=$(sed -n 's/^Version: *//p' "$libuv_prefix/lib/pkgconfig/libuv-static.pc" 2>/dev/null || true)
printf 'run_commit=%s\nquick=%s\nreps=%s\nelapsed=%s\nload_start="%s"\nload_end="%s"\nfailed=%s\nrun_date="%s"\nlibuv_src_version="%s"\n' \
    "$run_commit" "$quick" "$reps" "$elapsed" "$load_start" "$load_end" "$failed" "$run_date" \
    "$libuv_src_version" >"$out/meta.sh"
fi
mapfile -t impls < <("$bin/bench_idle" --list)

# ---- medians ----
grep '^RESULT' "$raw" | cut -f2- |
    sort -t"$(printf '\t')" -k1,1 -k2,2 -k3,3 -k4,4 -k5,5g |
    awk -F'\t' -v OFS='\t' '
        function flush() { if (cnt) print key, v[int((cnt + 1) / 2)], unit, cnt, v[1], v[cnt] }
        { k = $1 OFS $2 OFS $3 OFS $4
          if (k != key) { flush(); key = k; cnt = 0 }
          v[++cnt] = $5; unit = $6 }
        END { flush() }' >"$out/medians.tsv"

# ---- the report ----
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
versions="libuv $(pkg-config --modversion libuv 2>/dev/null || echo -), libevent $(pkg-config --modversion libevent 2>/dev/null || echo -), libev $(dpkg-query -W -f='${Version}' libev-dev 2>/dev/null || echo -)"
[ -n "${libuv_src_version:-}" ] && versions="$versions, libuv $libuv_src_version built from source (static, Release; column libuv-${libuv_src_version%.*})"
mode="full run: $reps repetitions"
[ "$quick" = 1 ] && mode="quick smoke run: 1 repetition, short budgets (not for quoting)"
note=""
[ "$provisional" = 1 ] && note="PROVISIONAL: the machine was not quiet (other builds and tests ran); treat ratios as indicative."
report=$out/report.md
awk -F'\t' \
    -v date="$run_date" \
    -v machine="$cpu; $(nproc) cores; Linux $(uname -r); $(cc --version | head -n1)" \
    -v versions="$versions" -v mode="$mode" -v note="$note" -v elapsed="$elapsed" \
    -v load="$load_start at the start, $load_end at the end" \
    -v commit="$run_commit" \
    -v impls="${impls[*]}" -v plotdata="$out/plot.dat" \
    -f "$root/bench/report.awk" "$out/medians.tsv" >"$report"
if [ -s "$out/failures.txt" ]; then
    { echo; echo "**Failed runs** (an implementation did not do the work; its cells are missing):"
      echo; sed 's/^/- /' "$out/failures.txt"; } >>"$report"
fi

plot=""
if command -v gnuplot >/dev/null; then
    plot=$out/perf.svg
    gnuplot -e "datafile='$out/plot.dat'; outfile='$plot'" "$root/bench/plot.gp"
else
    echo "== gnuplot missing: no plot" >&2
fi

if [ "$quick" = 1 ]; then
    echo "== quick run: report in $report${plot:+ and $plot}; docs/ untouched"
else
    doc=$root/docs/performance.md
    begin='<!-- bench:begin (generated by scripts/bench.sh; do not edit by hand) -->'
    end='<!-- bench:end -->'
    if [ ! -f "$doc" ] || ! grep -qF "$begin" "$doc"; then
        printf '# Performance\n\n%s\n%s\n' "$begin" "$end" >>"$doc"
    fi
    awk -v begin="$begin" -v end="$end" -v report="$report" '
        $0 == begin { print; while ((getline line < report) > 0) print line; skip = 1; next }
        $0 == end { skip = 0 }
        !skip { print }' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
    [ -n "$plot" ] && cp "$plot" "$root/docs/perf.svg"
    echo "== wrote docs/performance.md${plot:+ and docs/perf.svg}"
fi
cat "$report"
exit "$failed"
