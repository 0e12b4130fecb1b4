// Loads the addon once per JavaScript context: the binary chooseBinary picks
// (native-binary.ts: DMDLK_NATIVE_BINARY, a build from source, or this
// platform's package). Where none fits or it does not load, the error says
// what was looked at, which platforms have packages and how to build one.
import * as path from 'node:path';

import type { NativeBinding } from '../binding';
import { chooseBinary, libc, minimumGlibc, platformPackage } from './native-binary';
import { packageRoot } from './package-root';

/** Why no binary could be loaded: what was looked at, which platforms have packages, how to build one. */
function loadFailureMessage(root: string, headline: string, passedOver: string[], platforms: string[], cause?: string): string {
  return [
    `dmdlk-native: ${headline} (this machine: ${process.platform}-${process.arch}, ${libc()}, Node ${process.versions.node}).`,
    `Looked for a build from source in ${path.join(root, 'build', 'Release')} and the package ${platformPackage}:`,
    ...passedOver.map((p) => `  ${p}`),
    platforms.length
      ? `Binaries are published for: ${platforms.join(', ')} (Linux ones need glibc >= ${minimumGlibc.join('.')}: Ubuntu 22.04+, Debian 12+, RHEL 9+);` +
        ' npm installs the one for its machine with dmdlk-native unless optional dependencies are omitted (--omit=optional, --no-optional).'
      : 'This copy lists no binary packages (a checkout: `npm run build` builds one).',
    'To build one from source: install CMake >= 3.25 and a C++17 compiler (and CUDA 13 nvcc for the GPU backend), then run',
    '  npm install --save-dev cmake-js node-api-headers && npm rebuild dmdlk-native --build-from-source --foreground-scripts',
    ...(cause ? [`(loading it said: ${cause.split('\n')[0]})`] : []),
  ].join('\n');
}

function load(root: string): { binding: NativeBinding; binaryPath: string } {
  const choice = chooseBinary(root);
  if (!choice.file) {
    throw new Error(loadFailureMessage(root, 'no native binary fits this machine', choice.passedOver, choice.packagedPlatforms));
  }
  try {
    return { binaryPath: choice.file, binding: require(choice.file) as NativeBinding };
  } catch (error) {
    const message = (error as Error).message;
    const headline = /GLIBC_[\d.]+' not found/.test(message)
      ? `the binary (${choice.how}: ${choice.file}) needs a newer glibc than this machine has`
      : `the binary (${choice.how}: ${choice.file}) did not load`;
    throw new Error(loadFailureMessage(root, headline, choice.passedOver, choice.packagedPlatforms, message));
  }
}

const loaded = load(packageRoot);

/** Absolute path of the .node file in use. */
export const binaryPath: string = loaded.binaryPath;

export const binding: NativeBinding = loaded.binding;
