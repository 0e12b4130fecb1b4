import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

// esm/index.mjs names each export by hand (ES modules need static names), so a
// new CommonJS export that is not added there is missing for `import` users.
// The packaging test finds that too, but only after a 20-minute build.
it('the ES module entry exports everything the CommonJS entry does', () => {
  const root = path.join(__dirname, '..', '..');
  const script = `
import * as esm from ${JSON.stringify(path.join(root, 'esm', 'index.mjs'))};
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)(${JSON.stringify(path.join(root, 'dist', 'lib', 'index.js'))});
console.log(JSON.stringify(Object.keys(cjs).filter((k) => esm[k] !== cjs[k])));`;
  const missing = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
  expect(missing).toEqual([]);
});
