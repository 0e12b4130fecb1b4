#!/usr/bin/env bash
# Packs what the GPU machine needs beside the build outputs: this Node binary,
# xz-compressed (about 24 MB), node-gyp-build, and ONNX exports of small
# models for its Python onnx.checker, into .device/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device/node_modules
xz -T0 -9 -c "$(command -v node)" > .device/node.xz
# The one runtime module the tests load there (sharp and cli-progress are
# loaded only by image and CLI code, which the GPU suites do not use).
cp -r node_modules/node-gyp-build .device/node_modules/
# The three kinds of configuration onnx.test.ts runs in onnxruntime, at the first and last opset.
mkdir -p .device/onnx
node -e "
const { DMDLKNet } = require('./dist/lib');
const tiny = { inputSize: 64, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };
const configs = { default: tiny, windows: { ...tiny, blocks: ['moat', 'moat', 'moat', 'moat'], windows: [4, 2, 0, 0], widths: [8, 16, 16, 16] },
  light: { ...tiny, offsets: 'light', selectKernel: 7, numClasses: 3 } };
(async () => {
  for (const [name, config] of Object.entries(configs)) {
    const model = await DMDLKNet.create(config, { device: 'cpu' });
    for (const opset of [19, 22]) await model.exportOnnx('.device/onnx/' + name + '-opset' + opset + '.onnx', { opset });
  }
})();"
ls -la .device .device/onnx
