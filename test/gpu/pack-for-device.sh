#!/usr/bin/env bash
# Packs what the GPU machine needs beside the build outputs: this Node binary,
# xz-compressed (about 24 MB), into .device/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device
xz -T0 -9 -c "$(command -v node)" > .device/node.xz
ls -la .device
