#!/usr/bin/env bash
# Packs into .device/ (ignored by git) all that the lent GPU machine needs from
# this checkout's ignored paths, except dist/, which travels as it is. Each
# .device/PATH.xz is unpacked to PATH by test/gpu/device-run.sh:
#   build/bin/node                  this machine's Node (the device has none)
#   build/Release/dmdlk.node        the addon
#   build/test_gpu_parity, build/bench_ops, build/bench_model   the C++ binaries it runs
#   build/onnx/*.onnx               exports for the Python onnx.checker
# and .device/node_modules/node-gyp-build, the one runtime module the tests
# load there (sharp and cli-progress are loaded only by image and CLI code,
# which the GPU suites do not use). The device tool then carries [".device",
# "dist"]: build/ itself is ~380 MB, past the tool's 64 MiB. This fails if the
# carried size passes 40 MB.
# Build first: npm run build && npm run build:tests
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=40000000
binaries=(build/Release/dmdlk.node build/test_gpu_parity build/bench_ops build/bench_model)
for file in "${binaries[@]}" dist/lib/index.js; do
  [ -f "$file" ] || { echo "$file is missing: build first (npm run build && npm run build:tests)" >&2; exit 1; }
done
rm -rf .device
mkdir -p .device/build/bin .device/build/Release .device/build/onnx .device/node_modules
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Measured on the 2-core development machine (2026-12-07, under load): Node
# (86 MB stripped) packs to 24.1 MB in 15 s this way and to 22.1 MB in 53 s at
# xz -6; a 22 MB binary (mostly its CUDA fatbin) to 2.5 MB in 2.4 s, against
# 2.3 MB in 13 s. So LZMA2's fastest match finder with a dictionary that spans
# a whole binary, the x86 branch filter for the machine code, and blocks small
# enough that -T0 compresses Node's on both cores.
# pack FILE PATH: FILE into .device/PATH.xz.
pack() { xz -T0 --x86 --lzma2=preset=1,dict=32MiB --block-size=24MiB -c "$1" > ".device/$2.xz"; }
# Node's symbol table and debug info are 12 MB it does not need to run (addons
# link against its dynamic symbols, which strip keeps).
strip -o "$work/node" "$(command -v node)"
pack "$work/node" build/bin/node
for binary in "${binaries[@]}"; do pack "$binary" "$binary"; done
cp -r node_modules/node-gyp-build .device/node_modules/
# The three kinds of configuration onnx.test.ts runs in onnxruntime, at the first and last opset.
node -e "
const { DMDLKNet } = require('./dist/lib');
const tiny = { inputSize: 64, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };
const configs = { default: tiny, windows: { ...tiny, blocks: ['moat', 'moat', 'moat', 'moat'], windows: [4, 2, 0, 0], widths: [8, 16, 16, 16] },
  light: { ...tiny, offsets: 'light', selectKernel: 7, numClasses: 3 } };
(async () => {
  for (const [name, config] of Object.entries(configs)) {
    const model = await DMDLKNet.create(config, { device: 'cpu' });
    for (const opset of [19, 22]) await model.exportOnnx('$work/' + name + '-opset' + opset + '.onnx', { opset });
  }
})();"
# 6.1 MB as exported, 0.9 MB packed.
for model in "$work"/*.onnx; do pack "$model" "build/onnx/$(basename "$model")"; done
find .device -type f -name '*.xz' -printf '%10s %p\n' | sort -k2
du -sb .device/node_modules dist
# Apparent sizes in bytes (du -b), folders included: what the tool copies, not the disk blocks.
carried=$(du -sb .device dist | awk '{ sum += $1 } END { print sum }')
echo "carried (.device + dist): $carried bytes, limit $limit"
if [ "$carried" -gt "$limit" ]; then
  echo "over the limit: the device tool's carry must stay within $limit bytes" >&2
  exit 1
fi
