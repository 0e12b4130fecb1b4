#!/usr/bin/env node
// `npm run lint` checks, `npm run format` applies, the C++/CUDA style of
// .clang-format on every C++ and CUDA file git knows (tracked, or new and not
// ignored) under native/, test/cpp/ and bench/, with the clang-format binary
// of npm's clang-format package (no system install needed).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const write = process.argv.includes('--write');
const listed = spawnSync('git', ['ls-files', '-co', '--exclude-standard', 'native', 'test/cpp', 'bench'], { cwd: root, encoding: 'utf8' });
if (listed.status !== 0) {
  console.error(`git ls-files failed: ${listed.stderr}`);
  process.exit(2);
}
const files = listed.stdout.split('\n').filter((f) => /\.(cpp|h|cu|cuh)$/.test(f));
const binary = require('clang-format').getNativeBinary();
const args = write ? ['-i', '--style=file', ...files] : ['--dry-run', '-Werror', '--style=file', ...files];
const run = spawnSync(binary, args, { cwd: root, encoding: 'utf8' });
if (run.status !== 0) {
  process.stderr.write(run.stderr);
  console.error(`\n${files.length} files checked; the ones above differ from .clang-format: run \`npm run format\``);
  process.exit(1);
}
console.log(`clang-format: ${files.length} files ${write ? 'formatted' : 'match .clang-format'}`);
