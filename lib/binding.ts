// Loads the addon once per JavaScript context: the prebuilt binary for this
// platform when the package ships one, else the one built from source
// (build/Release). node-gyp-build picks it and tells us which file it was.
import * as fs from 'fs';
import * as path from 'path';

import type { NativeBinding } from '../binding';

/** The package's root folder (where package.json is), from lib/ or dist/lib/. */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`dmdlk-native: no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeGypBuild = require('node-gyp-build') as { (dir: string): unknown; path(dir: string): string };

const root = packageRoot();

/** Absolute path of the .node file in use. */
export const binaryPath: string = nodeGypBuild.path(root);

export const binding: NativeBinding = nodeGypBuild(root) as NativeBinding;
