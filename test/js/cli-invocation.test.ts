// The words that start dmdlk again (the command printed to resume a run): as
// the process was started, so that the printed command runs where it did.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { commandWords } from '../../lib/cli/invocation';

describe('commandWords', () => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-invocation-')));
  // A project that installed the package, as npm lays it out: the package in node_modules, its bin linked in node_modules/.bin.
  const project = path.join(root, 'project'), installed = path.join(project, 'node_modules', 'dmdlk-native');
  const script = path.join(installed, 'dist', 'lib', 'cli', 'main.js'), bin = path.join(project, 'node_modules', '.bin', 'dmdlk');
  const node = process.execPath, nodeDir = path.dirname(node);
  beforeAll(() => {
    fs.mkdirSync(path.dirname(script), { recursive: true });
    fs.writeFileSync(script, '#!/usr/bin/env node\n');
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(bin), script), bin);
    fs.mkdirSync(path.join(project, 'src'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('is npx dmdlk for the package installed in the project of the working folder', () => {
    expect(commandWords({ script: bin, cwd: project, searchPath: nodeDir, node })).toEqual(['npx', 'dmdlk']);
    expect(commandWords({ script: bin, cwd: path.join(project, 'src'), searchPath: nodeDir, node })).toEqual(['npx', 'dmdlk']);
    // Windows' npm shims run node with the package's own script.
    expect(commandWords({ script, cwd: project, searchPath: nodeDir, node })).toEqual(['npx', 'dmdlk']);
    // npm exec puts node_modules/.bin on PATH: still npx, as a bare dmdlk is not there in the user's shell.
    expect(commandWords({ script: bin, cwd: project, searchPath: [path.dirname(bin), nodeDir].join(path.delimiter), node })).toEqual(['npx', 'dmdlk']);
  });

  it('is dmdlk where that name on PATH is this script (a global install)', () => {
    const globalBin = path.join(root, 'global', 'bin');
    fs.mkdirSync(globalBin, { recursive: true });
    fs.symlinkSync(script, path.join(globalBin, 'dmdlk'));
    const elsewhere = path.join(root, 'elsewhere');
    fs.mkdirSync(elsewhere);
    const searchPath = [nodeDir, globalBin].join(path.delimiter);
    expect(commandWords({ script: path.join(globalBin, 'dmdlk'), cwd: elsewhere, searchPath, node })).toEqual(['dmdlk']);
    // Another dmdlk earlier on PATH is what the shell would run: not this one.
    const otherBin = path.join(root, 'other', 'bin');
    fs.mkdirSync(otherBin, { recursive: true });
    fs.writeFileSync(path.join(otherBin, 'dmdlk'), '#!/bin/sh\n');
    expect(commandWords({ script: path.join(globalBin, 'dmdlk'), cwd: elsewhere, searchPath: [otherBin, searchPath].join(path.delimiter), node }))
      .toEqual(['node', path.join(globalBin, 'dmdlk')]);
  });

  it('is node and the script otherwise: relative inside the working folder, absolute outside it', () => {
    const checkout = path.join(root, 'checkout'), main = path.join(checkout, 'dist', 'lib', 'cli', 'main.js');
    fs.mkdirSync(path.dirname(main), { recursive: true });
    fs.writeFileSync(main, '');
    expect(commandWords({ script: main, cwd: checkout, searchPath: nodeDir, node })).toEqual(['node', path.join('dist', 'lib', 'cli', 'main.js')]);
    expect(commandWords({ script: main, cwd: root, searchPath: nodeDir, node })).toEqual(['node', path.join('checkout', 'dist', 'lib', 'cli', 'main.js')]);
    expect(commandWords({ script: main, cwd: project, searchPath: nodeDir, node })).toEqual(['node', main]);
    // A node that is not the one on PATH is named by its path.
    expect(commandWords({ script: main, cwd: checkout, searchPath: '', node })).toEqual([node, path.join('dist', 'lib', 'cli', 'main.js')]);
  });
});
