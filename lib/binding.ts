// Loads the addon once per JavaScript context: the prebuilt binary for this
// platform when the package ships one, else the one built from source
// (build/Release). node-gyp-build picks it and tells us which file it was;
// where none fits, the error says what was looked for, what the package
// ships and how to build one.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { NativeBinding } from '../binding';
import { packageRoot } from './package-root';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as { (dir: string): unknown; path(dir: string): string };

/** 'glibc 2.36', 'musl' or 'unknown libc', as node-gyp-build tells prebuilds apart. */
function libc(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (header?.glibcVersionRuntime) return `glibc ${header.glibcVersionRuntime}`;
  return process.platform === 'linux' ? 'musl' : 'no libc tag';
}

/** Every binary under prebuilds/, as 'platform-arch/file'. */
function shippedBinaries(root: string): string[] {
  const dir = path.join(root, 'prebuilds');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((target) => {
    const sub = path.join(dir, target);
    return fs.statSync(sub).isDirectory() ? fs.readdirSync(sub).filter((f) => f.endsWith('.node')).map((f) => `${target}/${f}`) : [];
  });
}

/** Why no binary could be loaded: what was looked for, what the package ships, how to build one. */
function loadFailureMessage(root: string, headline: string, cause: string): string {
  const shipped = shippedBinaries(root);
  return [
    `dmdlk-native: ${headline} (this machine: ${process.platform}-${process.arch}, ${libc()}, Node ${process.versions.node}).`,
    `Looked for a build in ${path.join(root, 'build', 'Release')} and a prebuild in ${path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)}.`,
    `The package ships: ${shipped.length ? shipped.join(', ') : 'no prebuilt binaries'}` +
      ' (linux-x64 binaries need glibc >= 2.34: Ubuntu 22.04+, Debian 12+, RHEL 9+).',
    'To build one from source: install CMake >= 3.25 and a C++17 compiler (and CUDA 13 nvcc for the GPU backend), then run',
    '  npm install --save-dev cmake-js node-api-headers && npm rebuild dmdlk-native --foreground-scripts',
    `(the loader said: ${cause.split('\n')[0]})`,
  ].join('\n');
}

function load(root: string): { binding: NativeBinding; binaryPath: string } {
  try {
    return { binaryPath: nodeGypBuild.path(root), binding: nodeGypBuild(root) as NativeBinding };
  } catch (error) {
    const message = (error as Error).message;
    if (/No native build was found/.test(message)) throw new Error(loadFailureMessage(root, 'no native binary matches this machine', message));
    if (/GLIBC_[\d.]+' not found/.test(message)) throw new Error(loadFailureMessage(root, 'the binary needs a newer glibc than this machine has', message));
    throw error;
  }
}

const loaded = load(packageRoot);

/** Absolute path of the .node file in use. */
export const binaryPath: string = loaded.binaryPath;

export const binding: NativeBinding = loaded.binding;
