#!/usr/bin/env bash
# The native core for Linux arm64, built on this x86-64 machine and its C++
# suites run under QEMU (issue 25, a first part: the addon, Node for arm64
# and NEON kernels are still to come). Installs Debian's cross compiler and
# QEMU's user-mode emulator when they are missing (needs root or sudo, and
# Debian's package mirrors). About 2 minutes to build and 4 to test on 2 cores.
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
