#!/usr/bin/env node
// prebuildify drives node-gyp (`node-gyp rebuild --target=... --release`);
// this package builds with cmake-js. prebuildify --node-gyp points here, and
// the N-API binary does not depend on the Node version it is built against,
// so the arguments are not needed: build (incrementally) into build/Release.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
process.exit(result.status ?? 1);
