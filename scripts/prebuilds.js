#!/usr/bin/env node
// npm run prebuilds [-- --out DIR]: the release binary for this platform in
// DIR/prebuilds/<platform>-<arch>/ (default: the package root), made by
// prebuildify over cmake-js (scripts/cmake-js-as-node-gyp.js), for every GPU
// architecture unless DMDLK_CUDA_ARCHS says otherwise. It builds in build/:
// make a release in a clean one (`rm -rf build` first).
//
// prebuildify moves build/Release/dmdlk.node into prebuilds/; the addon is
// linked once more afterwards (no recompilation), so the development build
// keeps working and a packaging run leaves the working tree as it found it.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');

// A release binary carries the GPU code of every architecture CUDA 13 has
// (CMakeLists.txt); a development build only its own machine's.
const env = { ...process.env, DMDLK_CUDA_ARCHS: process.env.DMDLK_CUDA_ARCHS ?? 'release' };

function run(script, args) {
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(require.resolve('prebuildify/bin.js'),
  ['--napi', '--strip', '--tag-libc', '--node-gyp', path.join(__dirname, 'cmake-js-as-node-gyp.js'), ...process.argv.slice(2)]);
run(require.resolve('cmake-js/bin/cmake-js'), ['compile']);
