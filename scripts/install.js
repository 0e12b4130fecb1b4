#!/usr/bin/env node
// The package's install step: says which binary the package will load
// (dist/lib/native-binary.js decides, as the loader does: DMDLK_NATIVE_BINARY,
// a build from source, this platform's package @dmdlk-native/<platform>-<arch>),
// and builds one from source with cmake-js where none fits or where asked to
// (npm's --build-from-source, or DMDLK_NATIVE_BUILD_FROM_SOURCE=1). Never
// downloads anything. Where nothing fits and cmake-js is not installed, it
// says how to build and lets the install finish: the loader says it again
// where the package is used.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

if (fs.existsSync(path.join(root, '.git'))) {
  console.log('dmdlk-native: development checkout; build with `npm run build`');
  process.exit(0);
}

/** npm's --build-from-source (true, or a list of package names) or ours. */
function buildFromSourceAsked() {
  const npm = process.env.npm_config_build_from_source;
  if (npm && npm !== 'false' && (npm === 'true' || npm.split(',').includes('dmdlk-native'))) return true;
  return process.env.DMDLK_NATIVE_BUILD_FROM_SOURCE === '1';
}

const asked = buildFromSourceAsked();
if (!asked) {
  const choice = require('../dist/lib/native-binary.js').chooseBinary(root);
  if (choice.file) {
    console.log(`dmdlk-native: using the binary of ${choice.how} (${choice.file})`);
    process.exit(0);
  }
  console.log(`dmdlk-native: no prebuilt binary fits this machine:\n  ${choice.passedOver.join('\n  ')}`);
}

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  require.resolve('node-api-headers/package.json');
} catch {
  const how = 'building from source needs cmake-js and node-api-headers (npm i -D cmake-js node-api-headers), CMake >= 3.25 ' +
    'and a C++17 compiler (CUDA 13 nvcc for the GPU backend), then `npm rebuild dmdlk-native --build-from-source`';
  if (asked) {
    console.error(`dmdlk-native: asked to build from source, but ${how}`);
    process.exit(1);
  }
  console.warn(`dmdlk-native: ${how}; the install goes on, and loading the package will fail until then`);
  process.exit(0);
}
console.log('dmdlk-native: building from source with cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
