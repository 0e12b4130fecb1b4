// How the native code depends on itself: native/cuda (the kernels) builds on
// native/cpp (the core, the ops and the GPU backend's host side in
// native/cpp/gpu), never the other way, and holds nothing but kernels (.cu,
// and the .cuh headers only kernels include).
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : [path.join(dir, e.name)]);
}

describe('the native source layout', () => {
  it('has native/cpp include nothing from native/cuda', () => {
    const includes = sources('native/cpp').flatMap((file) =>
      [...fs.readFileSync(path.join(root, file), 'utf8').matchAll(/^#include "(cuda\/[^"]+)"/gm)].map((m) => `${file}: ${m[1]}`));
    expect(includes).toEqual([]);
  });

  it('keeps only kernels in native/cuda', () => {
    expect(sources('native/cuda').filter((f) => !/\.cuh?$/.test(f))).toEqual([]);
  });
});
