#!/usr/bin/env bash
# The addon for another platform, cross-compiled on this Linux x86-64 machine
# (CPU backend; Node-API from node-api-headers, no download): prints the
# .node it built. Installs Debian's cross compiler when missing (root or
# sudo). Used by the release (scripts/release.js) and npm run test:platforms.
#   bash scripts/cross-addon.sh linux-arm64|win32-x64 [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
platform=$1
case "$platform" in
  linux-arm64) compiler=aarch64-linux-gnu-g++ packages=g++-aarch64-linux-gnu toolchain=cmake/aarch64-linux-gnu.cmake
               build=${2:-build-arm64-addon} ;;
  win32-x64) compiler=x86_64-w64-mingw32-g++-posix packages=g++-mingw-w64-x86-64-posix
             toolchain=cmake/x86_64-w64-mingw32.cmake build=${2:-build-win64-addon} ;;
  *) echo "cross-addon.sh: no cross build for '$platform' (linux-arm64, win32-x64)" >&2; exit 1 ;;
esac
if ! command -v "$compiler" > /dev/null; then
  sudo=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $sudo apt-get install -y --no-install-recommends $packages >&2
fi
napi=()
if [ "$platform" = win32-x64 ]; then
  # Node-API through delay-import libraries made from node-api-headers' .def
  # files: the addon answers for node.exe with whatever executable hosts it
  # (native/cpp/addon/win_delay_load_hook.cpp), as Electron hosts it.
  mkdir -p "$build/napi"
  for def in node_api js_native_api; do
    x86_64-w64-mingw32-dlltool -d "node_modules/node-api-headers/def/$def.def" -y "$build/napi/libdelay_$def.a"
  done
  napi=("-DCMAKE_JS_LIB=$PWD/$build/napi/libdelay_node_api.a;$PWD/$build/napi/libdelay_js_native_api.a")
fi
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DDMDLK_CUDA=off -DCMAKE_JS_VERSION=cross \
  -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" -DCMAKE_BUILD_TYPE=Release "${napi[@]}" >&2
cmake --build "$build" --target dmdlk -j 2 >&2
echo "$build/dmdlk.node"
