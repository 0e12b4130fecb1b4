#!/usr/bin/env node
// `npm test`: every stage in order, stopping at the first that fails, then a
// table of how long each took, so a stage that grows slow is seen when it
// appears (the README keeps the breakdown of a clean run).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const STAGES = [
  ['build', 'the addon and the TypeScript (`npm run build`)'],
  ['build:tests', 'the C++ test and benchmark binaries, in the build folder of the addon'],
  ['lint', 'Biome and clang-format'],
  ['test:native', 'the C++ suites under CTest'],
  ['test:sanitize', 'the CPU build under ASan + UBSan, and its suites'],
  ['test:gpu', 'CUDA against the CPU (skipped without a GPU)'],
  ['test:js', 'the API, the CLI and the package under jest'],
];

const npm = process.env.npm_execpath;  // the npm that runs this script
const times = [];
let failed = null;
for (const [script] of STAGES) {
  const start = process.hrtime.bigint();
  const result = npm
    ? spawnSync(process.execPath, [npm, 'run', script], { cwd: path.join(__dirname, '..'), stdio: 'inherit' })
    : spawnSync('npm', ['run', script], { cwd: path.join(__dirname, '..'), stdio: 'inherit' });
  times.push(Number(process.hrtime.bigint() - start) / 1e9);
  if (result.status !== 0) {
    failed = script;
    break;
  }
}

const total = times.reduce((a, b) => a + b, 0);
console.log('\nnpm test, stage by stage:');
STAGES.forEach(([script, what], i) => {
  const took = i < times.length ? `${times[i].toFixed(0).padStart(5)} s` : '    - ';
  console.log(`  ${took}  ${script.padEnd(14)} ${what}${script === failed ? '  FAILED' : ''}`);
});
console.log(`  ${total.toFixed(0).padStart(5)} s  in all`);
process.exit(failed ? 1 : 0);
