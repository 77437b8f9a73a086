#!/usr/bin/env bash
# instructions.sh - user-space instructions per event, idle-many/active-few (bench_idle,
# N = 1000 pairs, A = 100 active), for every implementation built in, counted by callgrind:
# a repeatable figure where wall-clock times on this shared VM are not.
#
#   bench/instructions.sh                 build (if needed) and print the table
#   options: --pairs N --active A --iters I1,I2 (default 100,300) --impl NAME (repeatable)
#
# The library is linked as a user links it: the static archive of a Release build without
# LTO (build/instructions, its own build directory). Needs cmake, a C compiler and valgrind;
# peers (libuv, libevent, libev) are used when installed, and so is a libuv built from source
# by `scripts/bench.sh --libuv-source` (build/bench-libuv/prefix; implementation libuv-X.Y).
#
# Method. callgrind counts only the measured function, idle__drain in bench/idle.c
# (--toggle-collect): the loop calls of one iteration (the wait, the dispatch, the callbacks
# and their recv) and nothing else — not the A sends, not set-up or teardown. Each
# implementation runs twice, with I1 and I2 fixed iterations; the figure is
#   (Ir(I2) - Ir(I1)) / ((I2 - I1) * A)
# so any cost paid only by the first calls (lazy initialisation on a loop's first wait) cancels
# out and what remains is the steady-state cost of one event, the iteration's fixed part
# (clock reads, the wait call) shared among its A events. System calls run in the kernel and
# are not counted. Same binary, same inputs (the pairs and the random sequence are fixed):
# the numbers repeat exactly from one run to the next.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build/instructions
pairs=1000 active=100 iters=100,300
impls=()
while [ $# -gt 0 ]; do
    case "$1" in
    --pairs) pairs=$2; shift ;;
    --active) active=$2; shift ;;
    --iters) iters=$2; shift ;;
    --impl) impls+=("$2"); shift ;;
    -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "instructions.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
i1=${iters%,*} i2=${iters#*,}
if ! [ "$i1" -ge 1 ] 2>/dev/null || ! [ "$i2" -gt "$i1" ] 2>/dev/null; then
    echo "instructions.sh: --iters I1,I2 with 1 <= I1 < I2" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind not found" >&2; exit 2; }

# ---- build: Release, static, no LTO, nothing but the benchmarks ----
libuv_prefix=$root/build/bench-libuv/prefix
[ -f "$libuv_prefix/lib/libuv.a" ] || libuv_prefix=""
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DREACTOR_BENCH_LIBUV_PREFIX="$libuv_prefix" \
    -DREACTOR_BUILD_SHARED=OFF -DREACTOR_BUILD_STATIC=ON -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=OFF \
    -DREACTOR_BUILD_BENCH=ON -DREACTOR_BUILD_TESTS=OFF -DREACTOR_BUILD_EXAMPLES=OFF \
    -DREACTOR_BUILD_CONTRIB=OFF >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target bench_idle -j2 >"$build/build.log" 2>&1 ||
    { cat "$build/build.log" >&2; exit 1; }
bin=$build/bench/bench_idle

[ ${#impls[@]} -gt 0 ] || mapfile -t impls < <("$bin" --list)

# Instructions counted inside idle__drain for one run of `iters` iterations.
count() {
    local impl=$1 n=$2 out
    out=$(mktemp "$build/callgrind.XXXXXX")
    if ! valgrind --tool=callgrind --toggle-collect='idle__drain*' --callgrind-out-file="$out" \
        "$bin" --impl "$impl" --pairs "$pairs" --active "$active" --iters "$n" \
        --watchdog 600 >"$out.log" 2>&1; then
        echo "instructions.sh: $impl failed under callgrind:" >&2
        cat "$out.log" >&2
        rm -f "$out" "$out.log"
        return 1
    fi
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
    rm -f "$out" "$out.log"
}

printf 'idle N=%s A=%s: user-space instructions per event (callgrind, iterations %s..%s)\n' \
    "$pairs" "$active" "$i1" "$i2"
printf '%-14s %12s\n' implementation Ir/event
for impl in "${impls[@]}"; do
    a=$(count "$impl" "$i1")
    b=$(count "$impl" "$i2")
    awk -v impl="$impl" -v a="$a" -v b="$b" -v k=$((i2 - i1)) -v act="$active" \
        'BEGIN { printf "%-14s %12.1f\n", impl, (b - a) / (k * act) }'
done
