#!/bin/sh
# The Windows leg: cross-build with mingw-w64 and run every test under Wine, Debug (DLL) and
# Release (static). Works on a fresh Debian 12 machine as root; exits non-zero on any failure.
# Usage: scripts/windows-test.sh [preset...]   (default: windows windows-release)
set -eu

cd "$(dirname "$0")/.."
presets=${*:-"windows windows-release"}

need=""
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need="$need gcc-mingw-w64-x86-64-win32"
command -v wine >/dev/null 2>&1 || need="$need wine wine64"
command -v cmake >/dev/null 2>&1 || need="$need cmake"
if [ -n "$need" ]; then
    echo "windows-test: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $need >/dev/null
fi

# A private prefix, booted with all stdio on /dev/null: Wine's background services inherit the
# stdio of the process that starts them and would otherwise hold CTest's pipes open.
export WINEPREFIX="${WINEPREFIX:-$HOME/.wine-reactor}"
export WINEDEBUG=-all
mkdir -p "$WINEPREFIX"
wineserver -p </dev/null >/dev/null 2>&1 || true
wine wineboot -i </dev/null >/dev/null 2>&1
trap 'wineserver -k </dev/null >/dev/null 2>&1 || true' EXIT

for preset in $presets; do
    echo "windows-test: cmake --workflow --preset $preset"
    cmake --workflow --preset "$preset"
done
