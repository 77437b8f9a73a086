#!/usr/bin/env bash
# setup.sh - installs what building and testing reactor needs on Debian 12 (as root), and only
# what is missing. Usage: scripts/setup.sh [core|linux|windows|contrib|all]   (default: core)
# contrib: the libraries the adapters in contrib/ plug in (libcurl, c-ares, hiredis) and the
# servers their tests start on loopback (python3's http.server, dnsmasq, redis-server).
set -euo pipefail

want=(cmake make gcc pkg-config libcmocka-dev)
contrib=(libcurl4-openssl-dev libc-ares-dev libhiredis-dev python3 dnsmasq-base redis-server)
case "${1:-core}" in
  core) ;;
  linux) want+=(clang libclang-rt-14-dev valgrind doxygen clang-format) ;;
  windows) want=(cmake gcc-mingw-w64-x86-64-win32 wine wine64) ;;
  contrib) want+=("${contrib[@]}") ;;
  all) want+=(clang libclang-rt-14-dev valgrind doxygen clang-format
              gcc-mingw-w64-x86-64-win32 wine wine64 "${contrib[@]}") ;;
  *) echo "usage: $0 [core|linux|windows|contrib|all]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
