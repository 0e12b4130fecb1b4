#!/usr/bin/env node
// npm run prebuilds [-- --out DIR]: the release binary for this platform in
// DIR/prebuilds/<platform>-<arch>/ (default: the package root), made by
// prebuildify over cmake-js (scripts/cmake-js-as-node-gyp.js).
//
// prebuildify moves build/Release/dmdlk.node into prebuilds/; the addon is
// linked once more afterwards (no recompilation), so the development build
// keeps working and a packaging run leaves the working tree as it found it.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');

function run(script, args) {
  const result = spawnSync(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(require.resolve('prebuildify/bin.js'),
  ['--napi', '--strip', '--tag-libc', '--node-gyp', path.join(__dirname, 'cmake-js-as-node-gyp.js'), ...process.argv.slice(2)]);
run(require.resolve('cmake-js/bin/cmake-js'), ['compile']);
