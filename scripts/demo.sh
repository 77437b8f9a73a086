#!/usr/bin/env bash
# demo.sh - installs what is missing, builds the release preset and runs the echo demo
# (a server and its load client in one loop over loopback TCP). Extra arguments go to echo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh core
cmake --preset release >/dev/null
cmake --build --preset release --target example_echo
exec build/release/examples/echo "$@"
