#!/usr/bin/env bash
# bench-windows.sh - the Windows benchmarks: cross-builds bench_idle and bench_pingpong with
# mingw-w64 (Release, static, LTO) into build/bench-windows, runs them under Wine on reactor's
# AFD backend and on the raw AFD_POLL floor, several times with the implementations
# alternating, and writes a Markdown table of medians and ratios to the floor. Not gated:
# Wine's timings are not Windows' (every socket and AFD call is a wineserver round trip).
#
#   scripts/bench-windows.sh           full run (5 repetitions, ~4 minutes); rewrites the
#                                      generated Windows section of docs/performance.md
#   scripts/bench-windows.sh --quick   smoke run (1 repetition, short budgets); report in
#                                      build/bench-windows/results/ only, docs/ untouched
#   options: --reps N  --provisional (mark the numbers as taken on a busy machine)
#
# Needs cmake, gcc-mingw-w64-x86-64-win32 and wine (installed with apt-get when run as root and
# missing). Uses its own Wine prefix ($BENCH_WINEPREFIX, default ~/.wine-reactor-bench) so that
# it neither disturbs nor is disturbed by scripts/windows-test.sh, which kills its wineserver.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

quick=0 reps=5 provisional=0
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 reps=1 ;;
    --reps) reps=$2; shift ;;
    --provisional) provisional=1 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench-windows.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

need=""
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need="$need gcc-mingw-w64-x86-64-win32"
command -v wine >/dev/null 2>&1 || need="$need wine wine64"
command -v cmake >/dev/null 2>&1 || need="$need cmake"
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing$need"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $need >/dev/null
    else
        echo "bench-windows.sh: missing$need" >&2
        exit 2
    fi
fi

build=$root/build/bench-windows
bin=$build/bench
out=$build/results
raw=$out/raw.tsv

# ---- build ----
echo "== configure and build (mingw-w64, Release, static, LTO) in build/bench-windows"
cmake -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-mingw64.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DREACTOR_BUILD_BENCH=ON \
    -DREACTOR_BUILD_TESTS=OFF -DREACTOR_BUILD_EXAMPLES=OFF \
    -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON >/dev/null
cmake --build "$build" --target bench_idle bench_pingpong -j2 >/dev/null
mkdir -p "$out"
: >"$raw"
: >"$out/failures.txt"

# ---- Wine ----
# Booted as scripts/windows-test.sh does: a persistent wineserver and wineboot with all stdio
# on /dev/null, since Wine's background services inherit the first process's stdio and can
# hold pipes open.
export WINEPREFIX="${BENCH_WINEPREFIX:-$HOME/.wine-reactor-bench}"
export WINEDEBUG=-all
mkdir -p "$WINEPREFIX"
echo "== booting the Wine prefix $WINEPREFIX"
wineserver -p </dev/null >/dev/null 2>&1 || true
wine wineboot -i </dev/null >/dev/null 2>&1
trap 'wineserver -k </dev/null >/dev/null 2>&1 || true' EXIT

# ---- the matrix ----
# N stops at 1,000 pairs: each pair is two loopback TCP sockets, and under Wine every socket is
# a host descriptor in wineserver plus a cached one in the process, and every close leaves a
# TIME_WAIT connection behind; budgets are longer than on Linux because one event costs
# hundreds of microseconds here.
if [ "$quick" = 1 ]; then
    t1=300 t100=600 pp1=500 pp100=5
else
    t1=1000 t100=2000 pp1=2000 pp100=30
fi
cases=(
    "bench_idle.exe --pairs 100 --active 1 --time-ms $t1"
    "bench_idle.exe --pairs 100 --active 100 --time-ms $t100"
    "bench_idle.exe --pairs 1000 --active 1 --time-ms $t1"
    "bench_idle.exe --pairs 1000 --active 100 --time-ms $t100"
    "bench_pingpong.exe --conns 1 --rounds $pp1"
    "bench_pingpong.exe --conns 100 --rounds $pp100"
)
mapfile -t impls < <(wine "$bin/bench_idle.exe" --list </dev/null 2>/dev/null | tr -d '\r')
[ ${#impls[@]} -gt 0 ] || { echo "bench-windows.sh: bench_idle.exe does not run under Wine" >&2; exit 2; }
echo "== implementations: ${impls[*]}"
echo "== $reps repetition(s) x ${#cases[@]} cases x ${#impls[@]} implementations"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)
failed=0
for ((rep = 0; rep < reps; rep++)); do
    echo "-- repetition $((rep + 1)) of $reps (load $(cut -d' ' -f1 /proc/loadavg))"
    for c in "${cases[@]}"; do
        n=${#impls[@]}
        for ((k = 0; k < n; k++)); do
            impl=${impls[$(((k + rep) % n))]}
            set +e
            # shellcheck disable=SC2086
            wine "$bin"/$c --impl "$impl" </dev/null 2>"$out/stderr.txt" | tr -d '\r' >>"$raw"
            rc=${PIPESTATUS[0]}
            set -e
            if [ "$rc" != 0 ]; then
                failed=1
                echo "FAIL ($rc): $c --impl $impl: $(grep -v -e wine32 -e multiarch -e 'apt-get install' \
                    "$out/stderr.txt" | tail -n 2 | tr '\n' ' ')" | tee -a "$out/failures.txt" >&2
            fi
        done
    done
done
elapsed=$(($(date +%s) - started))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== ran in ${elapsed}s; load average $load_start at the start, $load_end at the end"

# ---- medians (and the spread) ----
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
mode="full run: $reps repetitions"
[ "$quick" = 1 ] && mode="quick smoke run: 1 repetition, short budgets (not for quoting)"
report=$out/report.md
awk -F'\t' \
    -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" \
    -v commit="$(git rev-parse --short HEAD 2>/dev/null || echo -)" \
    -v mode="$mode" -v elapsed="$elapsed" -v reps="$reps" \
    -v machine="$cpu; $(nproc) cores; Linux $(uname -r)" \
    -v wine="$(wine --version 2>/dev/null)" \
    -v cc="$(x86_64-w64-mingw32-gcc --version | head -n1)" \
    -v load="$load_start at the start, $load_end at the end" -v provisional="$provisional" \
    -f "$root/bench/report_windows.awk" "$out/medians.tsv" >"$report"
if [ -s "$out/failures.txt" ]; then
    { echo; echo "**Failed runs** (their cells are missing):"; echo
      sed 's/^/- /' "$out/failures.txt"; } >>"$report"
fi

if [ "$quick" = 1 ]; then
    echo "== quick run: report in $report; docs/ untouched"
else
    doc=$root/docs/performance.md
    begin='<!-- bench-windows:begin (generated by scripts/bench-windows.sh; do not edit by hand) -->'
    end='<!-- bench-windows:end -->'
    if [ ! -f "$doc" ] || ! grep -qF "$begin" "$doc"; then
        printf '\n## Windows (under Wine)\n\n%s\n%s\n' "$begin" "$end" >>"$doc"
    fi
    awk -v begin="$begin" -v end="$end" -v report="$report" '
        $0 == begin { print; while ((getline line < report) > 0) print line; skip = 1; next }
        $0 == end { skip = 0 }
        !skip { print }' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
    echo "== wrote the Windows section of docs/performance.md"
fi
cat "$report"
exit $failed
