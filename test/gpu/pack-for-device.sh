#!/usr/bin/env bash
# Packs what the GPU machine needs beside the build outputs: this Node binary,
# xz-compressed (about 24 MB), and node-gyp-build, into .device/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device/node_modules
xz -T0 -9 -c "$(command -v node)" > .device/node.xz
# The one runtime module the tests load there (sharp and cli-progress are
# loaded only by image and CLI code, which the GPU suites do not use).
cp -r node_modules/node-gyp-build .device/node_modules/
ls -la .device
