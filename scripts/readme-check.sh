#!/usr/bin/env bash
# readme-check.sh - runs every command README.md shows in its ```sh blocks, as written, in a
# fresh clone of the committed tree: each as written, the long-running ones with the short
# arguments below. Commands are read from README.md itself, so the two cannot drift apart.
# scripts/test.sh runs it; it runs on its own too: scripts/readme-check.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/reactor"
cd "$work/reactor"

# The commands: each line of a ```sh block, its comment stripped.
mapfile -t cmds < <(awk '/^```sh$/ {f = 1; next} /^```/ {f = 0} f' README.md |
    sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' -e '/^$/d')
[ ${#cmds[@]} -gt 0 ] || { echo "readme-check: no commands found in README.md" >&2; exit 1; }

# app.c, which some commands build, is README's example program.
awk '/^```c$/ {f = 1; next} /^```/ {f = 0} f' README.md >app.c

run() {
    printf '\n---- readme-check: %s\n' "$*"
    bash -euo pipefail -c "$*"
}

ran=0
for cmd in "${cmds[@]}"; do
    case "$cmd" in
    "scripts/demo.sh")
        # As written, with a load short enough for CI.
        run "$cmd --connections 20 --messages 50 --deadline-ms 60000" ;;
    "scripts/test.sh")
        echo "readme-check: $cmd is the command that runs this check (CI runs it: .ci/run)" ;;
    "cmake --workflow --preset "*)
        echo "readme-check: $cmd: every preset is a leg of scripts/test.sh" ;;
    "scripts/bench.sh")
        run "$cmd --quick" ;;
    *)
        run "$cmd" ;;
    esac
    ran=$((ran + 1))
done
printf '\nreadme-check: all %d README commands passed\n' "$ran"
