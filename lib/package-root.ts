// Where the package is installed: the folder of its package.json, found from
// lib/ (ts-node in the checkout) or dist/lib/ (the compiled package) alike.
import * as fs from 'node:fs';
import * as path from 'node:path';

function find(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`dmdlk-native: no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export const packageRoot: string = find();

/** The package's version, from its package.json (no native code needed). */
export const packageVersion: string = (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
