#!/usr/bin/env bash
# test.sh - the one test command (README, CI): installs what is missing, then builds and runs
# every test: Debug, ASan+UBSan, clang, Release, valgrind on Linux; Debug and Release under Wine.
# Set REACTOR_SKIP_WINDOWS=1 to leave the Windows leg out on a machine without Wine.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh all
start=$SECONDS
step() { printf '\n==== %s (%ds)\n' "$*" $((SECONDS - start)); }

for preset in dev asan clang release; do
  step "cmake --workflow --preset $preset"
  cmake --workflow --preset "$preset"
done

if [ "${REACTOR_SKIP_WINDOWS:-0}" != 1 ] && [ -x scripts/windows-test.sh ]; then
  step "Windows: mingw-w64 cross build, tests under Wine"
  scripts/windows-test.sh
fi
step "all passed"
