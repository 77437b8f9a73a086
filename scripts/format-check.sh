#!/bin/sh
# format-check.sh - checks every tracked .c/.h file against .clang-format with clang-format 14
# (Debian 12's clang-format-14); exits non-zero on any difference. Changes nothing.
#   scripts/format-check.sh           check (CI)
#   scripts/format-check.sh --list    only name the files that would change
#   scripts/format-check.sh --fix     reformat them in place
set -eu
cd "$(dirname "$0")/.."

cf=""
for c in clang-format-14 clang-format; do
    if command -v "$c" >/dev/null 2>&1 && "$c" --version | grep -q 'version 14\.'; then
        cf=$c
        break
    fi
done
if [ -z "$cf" ]; then
    echo "format-check: clang-format 14 not found (apt-get install clang-format-14)" >&2
    exit 2
fi

mode=${1:-check}
files=$(git ls-files '*.c' '*.h')
case "$mode" in
check)
    # shellcheck disable=SC2086
    exec "$cf" --style=file --dry-run --Werror $files ;;
--list)
    n=0
    for f in $files; do
        if ! "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
            echo "$f"
            n=$((n + 1))
        fi
    done
    echo "format-check: $n of $(echo "$files" | wc -l) files would change" >&2
    [ "$n" -eq 0 ] ;;
--fix)
    # shellcheck disable=SC2086
    exec "$cf" --style=file -i $files ;;
*)
    echo "usage: $0 [--list|--fix]" >&2
    exit 2 ;;
esac
