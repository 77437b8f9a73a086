#!/usr/bin/env bash
# test.sh - the one test command (README, CI). Installs what is missing (Debian 12, as root),
# then builds and runs every test: on Linux Debug, ASan+UBSan, TSan, clang, Release and
# valgrind memcheck, the Doxygen reference (warnings as errors), a bounded libFuzzer run and the
# format check; then the mingw-w64 cross build under Wine, Debug (DLL) and Release (static);
# last, every command README.md shows, run as written in a fresh clone (scripts/readme-check.sh).
# REACTOR_SKIP_WINDOWS=1 leaves the Windows leg out (a machine without Wine).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${REACTOR_SKIP_WINDOWS:-0}" = 1 ]; then scripts/setup.sh linux; else scripts/setup.sh all; fi
start=$SECONDS
step() { printf '\n==== %s (at %ds)\n' "$*" $((SECONDS - start)); }

for preset in dev asan tsan clang release valgrind; do
  step "cmake --workflow --preset $preset"
  cmake --workflow --preset "$preset"
done

step "docs: Doxygen API reference, warnings as errors"
cmake --build --preset dev --target docs

step "cmake --workflow --preset fuzz (libFuzzer, bounded)"
cmake --workflow --preset fuzz

step "format check (clang-format 14)"
scripts/format-check.sh

if [ "${REACTOR_SKIP_WINDOWS:-0}" != 1 ]; then
  step "Windows: mingw-w64 cross build, every test under Wine"
  scripts/windows-test.sh
fi

step "README: every command it shows, as written, in a fresh clone"
scripts/readme-check.sh
step "all legs passed"
