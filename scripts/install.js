#!/usr/bin/env node
// The package's install step. Uses the prebuilt binary for this platform
// when the package ships one (prebuilds/, found by node-gyp-build), and
// otherwise builds from source with cmake-js — and says which. Never
// downloads anything.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

if (fs.existsSync(path.join(root, '.git'))) {
  console.log('dmdlk-native: development checkout; build with `npm run build`');
  process.exit(0);
}

try {
  const binary = require('node-gyp-build').path(root);
  console.log(`dmdlk-native: using the prebuilt binary ${path.relative(root, binary)}`);
  process.exit(0);
} catch {
  // no prebuild for this platform: build below
}

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  require.resolve('node-api-headers/package.json');
} catch {
  console.error(`dmdlk-native: no prebuilt binary for ${process.platform}-${process.arch}, and building from source ` +
    'needs cmake-js and node-api-headers (npm i -D cmake-js node-api-headers), CMake >= 3.25 and a C++17 compiler ' +
    '(CUDA 13 nvcc for the GPU backend)');
  process.exit(1);
}
console.log(`dmdlk-native: no prebuilt binary for ${process.platform}-${process.arch}; building from source with cmake-js`);
const result = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
