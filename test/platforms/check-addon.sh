#!/usr/bin/env bash
# A platform's addon checked as users install it: the release's packages
# (scripts/release.js: dmdlk-native and @dmdlk-native/PLATFORM holding ADDON)
# installed by npm into a fresh app whose PATH holds only node, sh and npm (no
# compiler), for that platform's os, cpu and libc (npm --os/--cpu/--libc: it
# picks the platform package, and sharp's binaries for the platform from the
# registry); the platform packages come from the tarballs (package.json
# "overrides"), as they would from the registry. Then, with the platform's
# Node behind its emulator (NODE...): the package's install step, which must
# take the platform package's binary, and test/platforms/smoke.js, compared
# with this machine's x64 build (compare.js). Install scripts run there, not
# under npm here (npm here is Linux x64's). Needs `npm run build` first. Files
# named in SHARP_SHIMS (the environment) go beside sharp's libraries (a DLL
# the emulator lacks).
#   bash test/platforms/check-addon.sh PLATFORM ADDON NODE...
#   e.g. check-addon.sh linux-arm64 build-arm64-addon/dmdlk.node qemu-aarch64 -L /usr/aarch64-linux-gnu node
set -euo pipefail
cd "$(dirname "$0")/../.."
platform=$1 addon=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node scripts/release.js --out "$work/release" --platforms "$platform" --binary "$platform=$addon"
version=$(node -p "require('./package.json').version")

mkdir -p "$work/app" "$work/bin"
ln -s "$(command -v node)" "$work/bin/node"
ln -s /bin/sh "$work/bin/sh"
npm_cli=$(dirname "$(readlink -f "$(command -v node)")")/../lib/node_modules/npm/bin/npm-cli.js
printf '#!/bin/sh\nexec node %s "$@"\n' "$npm_cli" > "$work/bin/npm" && chmod +x "$work/bin/npm"
registry=$(node test/platforms/registry-overrides.js "$work/stand-ins" "$platform" \
  "$work/release/dmdlk-native-$platform-$version.tgz")
node -e "require('fs').writeFileSync('$work/app/package.json', JSON.stringify({ name: 'app', version: '1.0.0',
  private: true, overrides: ($registry).overrides }, null, 2))"
read -r -a target <<< "$(node -p "($registry).npmTarget.join(' ')")"
(cd "$work/app" && PATH="$work/bin" npm i "${target[@]}" --ignore-scripts --no-audit --no-fund \
  "$work/release/dmdlk-native-$version.tgz")
installed=$(ls "$work/app/node_modules/@dmdlk-native")
[ "$installed" = "$platform" ] || { echo "npm installed @dmdlk-native/{$installed}, not only $platform" >&2; exit 1; }
for shim in ${SHARP_SHIMS:-}; do cp "$shim" "$work/app/node_modules/@img/sharp-$platform/lib/"; done

package=$work/app/node_modules/dmdlk-native
"$@" "$package/scripts/install.js" > "$work/install.log" 2>&1 || true  # Wine's Node writes to files, not pipes
install_log=$(cat "$work/install.log")
echo "$install_log"
case "$install_log" in
  *"using the binary of @dmdlk-native/$platform"*) ;;
  *) echo "the install step on $platform did not take @dmdlk-native/$platform's binary" >&2; exit 1 ;;
esac
# A dermoscopy-like JPEG for predict, written once so both runs decode the same bytes.
node -e "require('sharp')({ create: { width: 96, height: 80, channels: 3, background: '#c8a080' } })
  .composite([{ input: Buffer.from('<svg width=\"96\" height=\"80\"><ellipse cx=\"50\" cy=\"38\" rx=\"24\" ry=\"18\" fill=\"#5a3020\"/></svg>') }])
  .jpeg({ quality: 90 }).toFile('$work/lesion.jpg')"
node test/platforms/smoke.js . "$work/scratch-x64" "$work/lesion.jpg" > "$work/x64.json"
"$@" test/platforms/smoke.js "$package" "$work/scratch" "$work/lesion.jpg" > "$work/platform.json" 2> "$work/platform.err" ||
  { cat "$work/platform.err" >&2; exit 1; }
node test/platforms/compare.js "$work/x64.json" "$work/platform.json"
