#!/usr/bin/env node
// The package's install step. Uses the prebuilt binary of this platform's
// package (@dmdlk-native/<platform>-<arch>, which npm installed with this one
// where it matches the machine: scripts/release.js) or an existing build,
// and otherwise builds from source with cmake-js — and says which. Never
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

const platformPackage = `@dmdlk-native/${process.platform}-${process.arch}`;

/** The file `find` names, or null where it throws (nothing there). */
function found(find) {
  try {
    return find();
  } catch {
    return null;
  }
}

const packaged = found(() => require.resolve(`${platformPackage}/dmdlk-native.node`, { paths: [root] }));
if (packaged) {
  console.log(`dmdlk-native: using the prebuilt binary of ${platformPackage} (${packaged})`);
  process.exit(0);
}
const built = found(() => require('node-gyp-build').path(root));
if (built) {
  console.log(`dmdlk-native: using the binary built before, ${path.relative(root, built)}`);
  process.exit(0);
}

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  require.resolve('node-api-headers/package.json');
} catch {
  console.error(`dmdlk-native: no prebuilt binary (${platformPackage}) for this machine, and building from source ` +
    'needs cmake-js and node-api-headers (npm i -D cmake-js node-api-headers), CMake >= 3.25 and a C++17 compiler ' +
    '(CUDA 13 nvcc for the GPU backend)');
  process.exit(1);
}
console.log(`dmdlk-native: no prebuilt binary (${platformPackage}) for this machine; building from source with cmake-js`);
const result = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
