#!/usr/bin/env bash
# A platform's addon checked where it runs: stages a package holding it as
# prebuilds/PREBUILD (as a published package would), with sharp's binaries for
# that platform (the SHARP packages, from the npm registry) beside this
# checkout's other dependencies, runs test/platforms/smoke.js with NODE (the
# platform's Node behind its emulator), and compares the result with this
# machine's x64 build (compare.js). Needs `npm run build` first. Files named
# in SHARP_SHIMS (the environment) go beside sharp's libraries (a DLL the
# emulator lacks).
#   bash test/platforms/check-addon.sh PREBUILD ADDON "SHARP…" NODE...
#   e.g. check-addon.sh linux-arm64/dmdlk-native.glibc.node build-arm64-addon/dmdlk.node \
#          "@img/sharp-linux-arm64 @img/sharp-libvips-linux-arm64" qemu-aarch64 -L /usr/aarch64-linux-gnu node
set -euo pipefail
cd "$(dirname "$0")/../.."
prebuild=$1 addon=$2 sharp_packages=$3
shift 3
app=$(mktemp -d)
trap 'rm -rf "$app"' EXIT
mkdir -p "$app/prebuilds/$(dirname "$prebuild")" "$app/node_modules/@img"
cp -r dist proto package.json "$app/"
# This checkout's dependencies, but sharp copied (Node resolves a package's
# requires from its real path) beside copies of its binaries for the platform,
# at the versions it asks for (their libraries find each other as siblings).
for entry in node_modules/* node_modules/.bin; do
  case "$entry" in
    node_modules/@img) ;;
    node_modules/sharp) cp -r "$entry" "$app/$entry" ;;
    *) ln -s "$PWD/$entry" "$app/$entry" ;;
  esac
done
ln -s "$PWD/node_modules/@img/colour" "$app/node_modules/@img/colour"
for package in $sharp_packages; do
  version=$(node -p "require('./node_modules/sharp/package.json').optionalDependencies['$package']")
  cp -r "$(bash test/platforms/fetch-package.sh "$package" "$version")" "$app/node_modules/$package"
  for shim in ${SHARP_SHIMS:-}; do cp "$shim" "$app/node_modules/$package/lib/"; done
done
cp "$addon" "$app/prebuilds/$prebuild"
# A dermoscopy-like JPEG for predict, written once so both runs decode the same bytes.
node -e "require('sharp')({ create: { width: 96, height: 80, channels: 3, background: '#c8a080' } })
  .composite([{ input: Buffer.from('<svg width=\"96\" height=\"80\"><ellipse cx=\"50\" cy=\"38\" rx=\"24\" ry=\"18\" fill=\"#5a3020\"/></svg>') }])
  .jpeg({ quality: 90 }).toFile('$app/lesion.jpg')"
node test/platforms/smoke.js . "$app/scratch-x64" "$app/lesion.jpg" > "$app/x64.json"
"$@" test/platforms/smoke.js "$app" "$app/scratch" "$app/lesion.jpg" > "$app/platform.json" 2> "$app/platform.err" || { cat "$app/platform.err" >&2; exit 1; }
node test/platforms/compare.js "$app/x64.json" "$app/platform.json"
