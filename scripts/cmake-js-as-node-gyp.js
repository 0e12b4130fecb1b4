#!/usr/bin/env node
// prebuildify drives node-gyp (`node-gyp rebuild --target=... --release`);
// this package builds with cmake-js. prebuildify --node-gyp points here, and
// the N-API binary does not depend on the Node version it is built against,
// so the arguments are not needed: build (incrementally) into build/Release.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);

// prebuildify strips build/Release/dmdlk.node in place next. Give it a file of
// its own first (copy, then rename over): a process that has the binary
// loaded keeps its mapping of the old file instead of having it rewritten
// under it, which would crash it.
const binary = path.join(root, 'build', 'Release', 'dmdlk.node');
const copy = `${binary}.${process.pid}.tmp`;
fs.copyFileSync(binary, copy);
fs.renameSync(copy, binary);
