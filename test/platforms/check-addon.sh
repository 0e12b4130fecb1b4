#!/usr/bin/env bash
# A platform's addon checked where it runs: stages a package holding it as
# prebuilds/PREBUILD (as a published package would), runs test/platforms/smoke.js
# with NODE (the platform's Node behind its emulator), and compares the result
# with this machine's x64 build (compare.js). Needs `npm run build` first.
#   bash test/platforms/check-addon.sh PREBUILD ADDON NODE...
#   e.g. check-addon.sh linux-arm64/dmdlk-native.glibc.node build-arm64-addon/dmdlk.node qemu-aarch64 -L /usr/aarch64-linux-gnu node
set -euo pipefail
cd "$(dirname "$0")/../.."
prebuild=$1 addon=$2
shift 2
app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
mkdir -p "$app/prebuilds/$(dirname "$prebuild")"
cp -r dist proto package.json "$app/"
ln -s "$PWD/node_modules" "$app/node_modules"
cp "$addon" "$app/prebuilds/$prebuild"
node test/platforms/smoke.js . "$app/scratch-x64" > "$app/x64.json"
"$@" test/platforms/smoke.js "$app" "$app/scratch" > "$app/platform.json"
node test/platforms/compare.js "$app/x64.json" "$app/platform.json"
