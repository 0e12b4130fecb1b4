// Loads the addon once per JavaScript context: the binary of this platform's
// package (@dmdlk-native/<platform>-<arch>, an optional dependency that npm
// installs only on its platform: scripts/release.js), else one built from
// source (build/Release, found by node-gyp-build). Where none fits, the error
// says what was looked for, which platforms have packages and how to build one.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { NativeBinding } from '../binding';
import { packageRoot } from './package-root';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as { (dir: string): unknown; path(dir: string): string };

/** The package that carries this platform's binary. */
const platformPackage = `@dmdlk-native/${process.platform}-${process.arch}`;

/** 'glibc 2.36', 'musl' or 'unknown libc', as npm's libc field tells Linux systems apart. */
function libc(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (header?.glibcVersionRuntime) return `glibc ${header.glibcVersionRuntime}`;
  return process.platform === 'linux' ? 'musl' : 'no libc tag';
}

/** The platforms with a binary package, from this package's optionalDependencies (a release writes them). */
function packagedPlatforms(root: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> };
  return Object.keys(manifest.optionalDependencies ?? {}).filter((name) => name.startsWith('@dmdlk-native/')).map((name) => name.slice(14));
}

/** The binary of this platform's package, where npm installed it. */
function platformBinary(root: string): string | undefined {
  try {
    return require.resolve(`${platformPackage}/dmdlk-native.node`, { paths: [root] });
  } catch {
    return undefined;
  }
}

/** Why no binary could be loaded: what was looked for, which platforms have packages, how to build one. */
function loadFailureMessage(root: string, headline: string, cause: string): string {
  const platforms = packagedPlatforms(root);
  return [
    `dmdlk-native: ${headline} (this machine: ${process.platform}-${process.arch}, ${libc()}, Node ${process.versions.node}).`,
    `Looked for the package ${platformPackage} and a build from source in ${path.join(root, 'build', 'Release')}.`,
    platforms.length
      ? `Binaries are published for: ${platforms.join(', ')} (Linux ones need glibc >= 2.34: Ubuntu 22.04+, Debian 12+, RHEL 9+);` +
        ' npm installs the one for its machine with dmdlk-native unless optional dependencies are omitted (--omit=optional, --no-optional).'
      : 'This copy lists no binary packages (a checkout: `npm run build` builds one).',
    'To build one from source: install CMake >= 3.25 and a C++17 compiler (and CUDA 13 nvcc for the GPU backend), then run',
    '  npm install --save-dev cmake-js node-api-headers && npm rebuild dmdlk-native --foreground-scripts',
    `(the loader said: ${cause.split('\n')[0]})`,
  ].join('\n');
}

function load(root: string): { binding: NativeBinding; binaryPath: string } {
  try {
    const packaged = platformBinary(root);
    if (packaged) return { binaryPath: packaged, binding: require(packaged) as NativeBinding };
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
