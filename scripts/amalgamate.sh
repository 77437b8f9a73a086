#!/bin/sh
# amalgamate.sh - the single-file drop-in: writes OUTDIR/reactor.c (every library source of src/
# in one translation unit) and OUTDIR/reactor.h (a copy of include/reactor.h).
#   scripts/amalgamate.sh out && cc -c out/reactor.c
# Options (for the build, tests/amalgamation/CMakeLists.txt):
#   --expect OS "SOURCES"  fail unless the sources compiled on OS (linux, posix or windows) are
#                          exactly SOURCES (the build's REACTOR_SOURCES, ;- or space-separated)
#   --no-compile           skip the compile check (the build compiles the file itself)
#
# The sources are every .c under src/, found by glob, never listed here: src/*.c first, then
# each subfolder; sorted by name within each. Each file is wrapped in its folder's platform
# guard (the table in guard_for); a file the table does not place, or one CMakeLists.txt does
# not mention, fails the run. Internal headers are inlined once, at their first #include, and
# their #include lines dropped; system includes stay. Every internal function and object
# becomes static (RX_PRIVATE): only reactor_* is left external. File-private macros
# (MODULE__NAME) are #undef'd at the end of their file; any other name defined at file scope in
# two files that share a translation unit is a clash and fails the run, as does the compile
# check (the host's cc, then x86_64-w64-mingw32-gcc if installed, with the project's warnings).
set -eu

usage() {
    echo "usage: scripts/amalgamate.sh [--expect OS SOURCES] [--no-compile] OUTDIR" >&2
    exit 2
}
die() {
    echo "amalgamate: $*" >&2
    exit 1
}

expect_os=""
expect_list=""
compile=1
while [ $# -gt 0 ]; do
    case $1 in
    --expect)
        [ $# -ge 3 ] || usage
        expect_os=$2
        expect_list=$3
        shift 3
        ;;
    --no-compile)
        compile=0
        shift
        ;;
    -*) usage ;;
    *) break ;;
    esac
done
[ $# -eq 1 ] || usage
case $1 in
/*) out=$1 ;;
*) out=$(pwd)/$1 ;;
esac
cd "$(dirname "$0")/.."
mkdir -p "$out"

# The platform guard of a library source: all, posix (not Windows), linux, windows.
guard_for() {
    case $1 in
    src/posix/epoll.c) echo linux ;;
    src/posix/*.c) echo posix ;;
    src/win/*.c) echo windows ;;
    src/poll/*.c) echo all ;;
    src/*/*) echo unknown ;;
    src/*.c) echo all ;;
    *) echo unknown ;;
    esac
}

# ---- the sources: the glob, in order, each with its guard ----
list=$(mktemp)
tmp_c=$(mktemp)
trap 'rm -f "$list" "$tmp_c" "$tmp_c.o" "$tmp_c.nm"' EXIT
{
    find src -maxdepth 1 -name '*.c' | LC_ALL=C sort
    find src -mindepth 2 -name '*.c' | LC_ALL=C sort
} | while read -r f; do
    g=$(guard_for "$f")
    [ "$g" != unknown ] || die "$f: no platform guard for its folder; add one to guard_for in scripts/amalgamate.sh"
    echo "$f $g"
done >"$list"
[ -s "$list" ] || die "no sources under src/"

# Every source must be one the build compiles somewhere: CMakeLists.txt names it.
while read -r f g; do
    grep -qF "$f" CMakeLists.txt ||
        die "$f is not in CMakeLists.txt's REACTOR_*_SOURCES: the library does not build it"
done <"$list"

# --expect: the sources whose guard holds on OS are exactly the build's.
if [ -n "$expect_os" ]; then
    case $expect_os in
    linux) holds="all posix linux" ;;
    posix) holds="all posix" ;;
    windows) holds="all windows" ;;
    *) die "--expect: unknown OS $expect_os (linux, posix or windows)" ;;
    esac
    ours=$(while read -r f g; do
        case " $holds " in *" $g "*) echo "$f" ;; esac
    done <"$list" | LC_ALL=C sort)
    theirs=$(echo "$expect_list" | tr ';' ' ' | tr -s ' ' '\n' | grep . | LC_ALL=C sort -u)
    if [ "$ours" != "$theirs" ]; then
        echo "amalgamate: the sources for $expect_os differ from the build's REACTOR_SOURCES" >&2
        echo "  amalgamation: $(echo "$ours" | tr '\n' ' ')" >&2
        echo "  build:        $(echo "$theirs" | tr '\n' ' ')" >&2
        exit 1
    fi
fi

# ---- clashes: a name defined at file scope in two files that share a translation unit ----
# Private macros (MODULE__NAME) are #undef'd at the end of their file, feature macros hoisted.
# shellcheck disable=SC2046
awk '
function overlap(a, b) {
    if ((a == "windows" && (b == "posix" || b == "linux")) ||
        (b == "windows" && (a == "posix" || a == "linux")))
        return 0
    return 1
}
function lastident(s,    n, id) {
    sub(/[ \t*]+$/, "", s)
    n = s
    while (match(n, /[A-Za-z_][A-Za-z0-9_]*/)) {
        id = substr(n, RSTART, RLENGTH)
        n = substr(n, RSTART + RLENGTH)
    }
    return id
}
function note(name, kind,    i, key) {
    if (name == "")
        return
    key = name SUBSEP FILENAME
    if (key in seen)
        return
    seen[key] = 1
    for (i = 1; i <= nd; i++)
        if (dname[i] == name && dfile[i] != FILENAME && overlap(dguard[i], guard[FILENAME])) {
            printf "amalgamate: clash: %s %s is defined in %s and in %s\n", kind, name, \
                dfile[i], FILENAME > "/dev/stderr"
            bad = 1
        }
    nd++
    dname[nd] = name; dfile[nd] = FILENAME; dguard[nd] = guard[FILENAME]
}
NR == FNR { guard[$1] = $2; next }
/^[ \t]*#[ \t]*undef[ \t]/ { undefd[$2 SUBSEP FILENAME] = 1; next }
/^[ \t]*#[ \t]*define[ \t]+[A-Za-z_]/ {
    s = $0
    sub(/^[ \t]*#[ \t]*define[ \t]+/, "", s)
    match(s, /^[A-Za-z_][A-Za-z0-9_]*/)
    m = substr(s, 1, RLENGTH)
    if (m !~ /^[A-Z][A-Z0-9]*__[A-Z0-9_]+$/ && m !~ /^_[A-Z0-9_]*_SOURCE$/)
        macro[++nm] = m SUBSEP FILENAME
    next
}
/^static[ \t]/ && !/^static[ \t].*\(\*/ {
    s = $0
    sub(/[(=;[].*$/, "", s)
    note(lastident(s), "static")
    next
}
/^typedef[ \t].*;[ \t]*(\/\*.*)?$/ {
    s = $0
    if (s ~ /\([ \t]*\*/) { sub(/^[^(]*\([ \t]*\*[ \t]*/, "", s); sub(/\).*$/, "", s) }
    else sub(/;.*$/, "", s)
    note(lastident(s), "typedef")
}
/^}[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*;/ { s = $0; sub(/;.*$/, "", s); note(lastident(s), "typedef"); }
/^(typedef[ \t]+)?(struct|union|enum)[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*\{/ {
    s = $0; sub(/[ \t]*\{.*$/, "", s); note("struct " lastident(s), "tag")
}
/^(const[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t*]+(const[ \t*]+)?rx_[A-Za-z0-9_]*[ \t]*[(=]/ && !/;[ \t]*(\/\*.*)?$/ {
    s = $0; sub(/[ \t]*[(=].*$/, "", s); note(lastident(s), "shared")
}
END {
    for (i = 1; i <= nm; i++) {
        split(macro[i], p, SUBSEP)
        if (!((p[1] SUBSEP p[2]) in undefd)) {
            FILENAME = p[2]
            note(p[1], "macro")
        }
    }
    exit bad
}' "$list" $(cut -d' ' -f1 "$list") || die "names clash in one translation unit; rename one (file-private names are module__verb)"

# ---- feature-test macros (#define _GNU_SOURCE ...): hoisted above every system include ----
features=$(while read -r f g; do
    sed -n 's/^#[ \t]*define[ \t][ \t]*\(_[A-Z0-9_]*_SOURCE\)\(.*\)$/\1\2/p' "$f" |
        while read -r name value; do echo "$g $name $value"; done
done <"$list" | awk '{ g[NR] = $1; n[NR] = $2; l[NR] = $0; if ($1 == "all") all[$2] = 1 }
    END { for (i = 1; i <= NR; i++) if ((g[i] == "all" || !(n[i] in all)) && !seen[l[i]]++) print l[i] }')
# The build defines these for every POSIX source (REACTOR_PLATFORM_DEFS in CMakeLists.txt).
posix_defs=$(sed -n 's/^[ \t]*set(REACTOR_PLATFORM_DEFS[ \t]\(.*\))[ \t]*$/\1/p' CMakeLists.txt)
[ -n "$posix_defs" ] || die "CMakeLists.txt: no set(REACTOR_PLATFORM_DEFS ...) line to read"

version=$(sed -n 's/^project(reactor VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- src include 2>/dev/null; then
    commit="$commit+changes"
fi

guard_open() {
    case $1 in
    all) ;;
    posix) echo "#if !defined(_WIN32)" ;;
    linux) echo "#if defined(__linux__)" ;;
    windows) echo "#if defined(_WIN32)" ;;
    esac
}
guard_close() {
    case $1 in
    all) ;;
    *) echo "#endif /* $2 */" ;;
    esac
}

{
    cat <<EOF
/* reactor.c - reactor ${version:-?} (${commit}) as one translation unit, generated by
 * scripts/amalgamate.sh from src/: do not edit, regenerate. See README.md and reactor.h.
 *
 * Compile it on its own, with no flags needed: cc -c reactor.c (C11). Only the reactor_*
 * functions of reactor.h are external; everything else is static.
 * Windows: link ws2_32 and ntdll (MSVC: automatic, through #pragma comment), and compile the
 * files that include reactor.h with -DREACTOR_STATIC, as for the static library. To build a
 * DLL from this file instead, compile it with -DREACTOR_BUILDING. */

/* Feature-test macros, before any system header: those the sources define, and the build's. */
EOF
    echo "#if !defined(_WIN32)"
    for d in $posix_defs; do
        name=${d%%=*}
        value=${d#*=}
        [ "$name" = "$d" ] && value=""
        printf '#ifndef %s\n#define %s %s\n#endif\n' "$name" "$name" "$value" | sed 's/ $//'
    done
    echo "#endif"
    echo "$features" | while read -r g name value; do
        [ -n "$name" ] || continue
        guard_open "$g"
        printf '#ifndef %s\n#define %s %s\n#endif\n' "$name" "$name" "$value" | sed 's/ $//'
        guard_close "$g" "$name"
    done
    if grep -q '^src/posix/epoll.c ' "$list"; then
        cat <<'EOF'
#if defined(__linux__)
#define RX_BUILD_EPOLL 1 /* the build's definition where epoll.c is compiled */
#endif
EOF
    fi
    cat <<'EOF'

/* A static object: REACTOR_API neither exports nor imports (on Windows). */
#if !defined(REACTOR_STATIC) && !defined(REACTOR_BUILDING)
#define REACTOR_STATIC 1
#endif

/* Every internal function and object is static; "unused" spares a warning for the test hooks
 * (rx_iocp_*) and the fallback this platform never calls. */
#if defined(__GNUC__)
#define RX_PRIVATE static __attribute__((unused))
#else
#define RX_PRIVATE static
#endif

#if defined(_WIN32)
#if defined(_MSC_VER)
#pragma comment(lib, "ws2_32.lib")
#pragma comment(lib, "ntdll.lib")
#endif
/* One translation unit: the Windows headers once, in the order afd.c needs them (winsock2.h
 * before windows.h; the STATUS_* codes from ntstatus.h, not winnt.h's subset). */
#define WIN32_NO_STATUS
#include <winsock2.h>
#include <windows.h>
#undef WIN32_NO_STATUS
#include <ntstatus.h>
#endif

EOF
    echo "/* ==== include/reactor.h ==== */"
    cat include/reactor.h
    echo
    awk -v list="$list" '
function fail(msg) {
    printf "amalgamate: %s\n", msg > "/dev/stderr"
    failed = 1
    exit 1
}
function exists(p,    r, l) {
    r = (getline l < p)
    close(p)
    return r >= 0
}
function dirof(p) {
    sub(/\/[^\/]*$/, "", p)
    return p
}
# A guard under which a header inlined under hg is visible.
function covers(hg, g) {
    return hg == "all" || hg == g || (hg == "posix" && g == "linux")
}
function resolve(from, name,    p) {
    p = dirof(from) "/" name
    if (exists(p))
        return p
    if (exists("src/" name))
        return "src/" name
    if (exists("include/" name))
        return "include/" name
    fail(from ": #include \"" name "\" not found")
}
# Prints file path (guard g), inlining its internal headers at their first #include.
function emit(path, g, is_c,    line, r, name, h, npriv, priv, i, s, m) {
    npriv = 0
    while ((r = (getline line < path)) > 0) {
        if (line ~ /^[ \t]*#[ \t]*include[ \t]*"/) {
            name = line
            sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", name)
            sub(/".*$/, "", name)
            h = resolve(path, name)
            if (h == "include/reactor.h")
                continue
            if (h in inlined) {
                if (!covers(inlined[h], g))
                    fail(h " is inlined inside the " inlined[h] " guard of an earlier file, but " path " (" g ") needs it: include it from a file with a wider guard first")
                continue
            }
            inlined[h] = g
            print "/* ==== " h " ==== */"
            emit(h, g, 0)
            print "/* ==== " path " (continued) ==== */"
            continue
        }
        if (is_c && line ~ /^#[ \t]*define[ \t]+_[A-Z0-9_]*_SOURCE([ \t]|$)/)
            continue # hoisted to the top
        if (line ~ /^[ \t]*#[ \t]*define[ \t]+[A-Z][A-Z0-9]*__[A-Z0-9_]+/ && is_c) {
            s = line
            sub(/^[ \t]*#[ \t]*define[ \t]+/, "", s)
            match(s, /^[A-Za-z0-9_]+/)
            m = substr(s, 1, RLENGTH)
            if (!(m in privseen)) {
                privseen[m] = 1
                priv[++npriv] = m
            }
        }
        if (line ~ /^(extern[ \t]+)?(const[ \t]+)?(struct[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t*]+(const[ \t*]+)?rx_[A-Za-z0-9_]*[ \t]*[(=;[]/ &&
            line !~ /^(static|typedef|return|else|case|goto)[ \t]/) {
            sub(/^extern[ \t]+/, "", line)
            line = "RX_PRIVATE " line
        }
        print line
    }
    if (r < 0)
        fail(path ": cannot read")
    close(path)
    for (i = 1; i <= npriv; i++) {
        print "#undef " priv[i]
        delete privseen[priv[i]]
    }
}
BEGIN {
    while ((getline entry < list) > 0) {
        split(entry, e, " ")
        f = e[1]
        g = e[2]
        print ""
        print "/* ==== " f " ==== */"
        if (g == "posix")
            print "#if !defined(_WIN32)"
        else if (g == "linux")
            print "#if defined(__linux__)"
        else if (g == "windows")
            print "#if defined(_WIN32)"
        emit(f, g, 1)
        if (g != "all")
            print "#endif /* " f " */"
    }
    close(list)
}'
} >"$tmp_c" || die "generation failed"

# ---- the compile check: the project's warnings, as errors; only reactor_* external ----
warn="-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
      -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wvla -Wformat=2 -Werror"
check() { # check CC NM
    command -v "$1" >/dev/null 2>&1 || return 0
    # shellcheck disable=SC2086
    "$1" $warn -x c -c "$tmp_c" -o "$tmp_c.o" || die "$1 cannot compile the amalgamation"
    if command -v "$2" >/dev/null 2>&1; then
        "$2" -g --defined-only "$tmp_c.o" | awk '{print $NF}' | grep -v '^_\{0,1\}reactor_' \
            >"$tmp_c.nm" || true
        [ ! -s "$tmp_c.nm" ] || die "$1: symbols other than reactor_* are external: $(tr '\n' ' ' <"$tmp_c.nm")"
    fi
    echo "amalgamate: $1: compiles, only reactor_* external"
}
if [ "$compile" = 1 ]; then
    check "${CC:-cc}" nm
    check x86_64-w64-mingw32-gcc x86_64-w64-mingw32-nm
fi

mv "$tmp_c" "$out/reactor.c"
cp include/reactor.h "$out/reactor.h.tmp"
mv "$out/reactor.h.tmp" "$out/reactor.h"
echo "amalgamate: wrote $out/reactor.c ($(wc -l <"$out/reactor.c") lines) and $out/reactor.h"
