// The package as users get it: `npm run prebuilds` (prebuildify over
// cmake-js), `npm pack`, and an offline install of the tarball into a fresh
// folder whose PATH holds no compiler, cmake or nvcc; there it loads (from
// CommonJS and as an ES module), names its prebuilt binary, trains a few
// steps and predicts. Then the examples, under ts-node.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';

import { writeIsicFolder } from './isic-folder';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

describe('packaging', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-pack-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('installs offline from the packed tarball without a compiler and works from CommonJS and ESM', async () => {
    await run(process.execPath, [npmCli, 'run', 'prebuilds'], { cwd: root, timeout: 900000, maxBuffer: 1 << 26 });
    const prebuilt = path.join(root, 'prebuilds', 'linux-x64', 'dmdlk-native.glibc.node');
    expect(fs.existsSync(prebuilt)).toBe(true);

    const packed = await run(process.execPath, [npmCli, 'pack', '--json', '--pack-destination', dir], { cwd: root, maxBuffer: 1 << 26 });
    const [info] = JSON.parse(packed.stdout) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
    const files = info.files.map((f) => f.path);
    console.log(`tarball ${info.filename}: ${(info.size / 1e6).toFixed(1)} MB packed, ${(info.unpackedSize / 1e6).toFixed(1)} MB unpacked, ` +
      `${files.length} files; the binary ${(fs.statSync(prebuilt).size / 1e6).toFixed(1)} MB`);
    expect(files).toContain('prebuilds/linux-x64/dmdlk-native.glibc.node');
    expect(files).toContain('dist/lib/cli/main.js');
    expect(files).toContain('esm/index.mjs');
    expect(files.filter((f) => /^(test|build|bench|examples)\/|fixtures|\.tsbuildinfo$/.test(f))).toEqual([]);

    // A PATH with node and a shell (npm runs install scripts with sh) alone: no gcc, g++, cmake, nvcc, make.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
    const env = { HOME: process.env.HOME ?? dir, PATH: bin, npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), '.npm') };
    for (const tool of ['gcc', 'g++', 'cmake', 'nvcc', 'make']) {
      await expect(run(path.join(bin, 'sh'), ['-c', `command -v ${tool}`], { env: { PATH: bin } })).rejects.toThrow();
    }
    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const install = await run(process.execPath, [npmCli, 'install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts',
      path.join(dir, info.filename)], { cwd: app, env, timeout: 300000, maxBuffer: 1 << 26 });
    expect(install.stdout + install.stderr).toMatch(/dmdlk-native: using the prebuilt binary prebuilds\/linux-x64\/dmdlk-native\.glibc\.node/);

    fs.writeFileSync(path.join(app, 'use.cjs'), `
const { DMDLKNet, info, syntheticLesions } = require('dmdlk-native');
const sharp = require('sharp');
(async () => {
  const i = info();
  const data = syntheticLesions({ count: 8, size: 32 });
  const model = await DMDLKNet.create({ inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 });
  const history = await model.fit(data, { epochs: 1, batchSize: 4 });
  await sharp({ create: { width: 90, height: 60, channels: 3, background: '#a07050' } }).jpeg().toFile('photo.jpg');
  const p = await model.predict('photo.jpg');
  console.log(JSON.stringify({ binary: i.binary, cuda: i.cuda.available ? i.cuda.devices[0].name : i.cuda.reason,
    steps: history.globalStep, size: [p.width, p.height] }));
})().catch((e) => { console.error(e); process.exit(1); });`);
    const cjs = JSON.parse((await run(process.execPath, ['use.cjs'], { cwd: app, env })).stdout);
    expect(cjs.binary).toBe(path.join(app, 'node_modules', 'dmdlk-native', 'prebuilds', 'linux-x64', 'dmdlk-native.glibc.node'));
    expect(cjs).toMatchObject({ steps: 2, size: [90, 60] });

    fs.writeFileSync(path.join(app, 'use.mjs'), `
import { DMDLKNet, Tensor, DmdlkError } from 'dmdlk-native';
import * as esm from 'dmdlk-native';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('dmdlk-native');
const missing = Object.keys(cjs).filter((k) => esm[k] !== cjs[k]);
const model = await DMDLKNet.create({ inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 });
const logits = await model.forward(Tensor.zeros([1, 3, 32, 32]));
let typed = false;
try { await model.forward(Tensor.zeros([1, 3, 31, 32])); } catch (e) { typed = e instanceof DmdlkError && e instanceof cjs.ShapeError; }
console.log(JSON.stringify({ missing, shape: logits.shape, typed }));`);
    const esm = JSON.parse((await run(process.execPath, ['use.mjs'], { cwd: app, env })).stdout);
    expect(esm).toEqual({ missing: [], shape: [1, 2, 32, 32], typed: true });

    const cli = await run(path.join(app, 'node_modules', '.bin', 'dmdlk'), ['info'], { cwd: app, env });
    expect(cli.stdout).toMatch(/prebuilds\/linux-x64\/dmdlk-native\.glibc\.node/);
  }, 900000);

  it('declares its public API without any', () => {
    const declarations = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? declarations(path.join(dir, e.name)) : e.name.endsWith('.d.ts') ? [path.join(dir, e.name)] : []);
    const files = [...declarations(path.join(root, 'dist', 'lib')), path.join(root, 'binding.d.ts')];
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n')
      .map((line) => line.replace(/\/\/.*$|^\s*\*.*$|\/\*\*.*$/, ''))
      .filter((line) => /\bany\b/.test(line)).map((line) => `${path.basename(f)}: ${line.trim()}`));
    expect(offenders).toEqual([]);
  });

  it('lets the process exit while a model is training: no crash, no hang', async () => {
    const script = `
const { DMDLKNet, syntheticLesions } = require(${JSON.stringify(path.join(root, 'dist', 'lib'))});
(async () => {
  const model = await DMDLKNet.create({ inputSize: 64, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 });
  void model.fit(syntheticLesions({ count: 64, size: 64 }), { epochs: 100, batchSize: 8,
    onProgress: (p) => { if (p.globalStep === 2) { console.log('exiting mid-fit'); process.exit(0); } } });
})();`;
    const { stdout, stderr } = await run(process.execPath, ['-e', script], { timeout: 60000 });
    expect(stdout).toBe('exiting mid-fit\n');
    expect(stderr).toBe('');
  }, 60000);

  it('runs the examples under ts-node', async () => {
    const tsNode = path.join(root, 'node_modules', '.bin', 'ts-node');
    const data = path.join(dir, 'isic');
    await writeIsicFolder(data, [600, 640, 700, 660, 620, 680].map((width, i) => ({ id: `ISIC_${i}`, width, height: 450, orientation: 1 })));
    const ex = (name: string, ...args: string[]) => run(tsNode, ['--project', path.join(root, 'tsconfig.json'),
      path.join(root, 'examples', name), ...args], { cwd: dir, timeout: 300000 });
    const trained = await ex('train-folder.ts', data, path.join(dir, 'out'), '1', '32');
    expect(trained.stdout).toMatch(/train 4, validation 1, test 1 images[\s\S]*epoch 1: loss [\d.]+[\s\S]*test: pooled Dice/);
    const predicted = await ex('predict-file.ts', path.join(dir, 'out', 'model.safetensors'), path.join(data, 'ISIC2018_Task1-2_Training_Input', 'ISIC_0.jpg'),
      path.join(dir, 'p'));
    expect(predicted.stdout).toMatch(/ISIC_0\.jpg: 600×450, lesion [\d.]+% of the image/);
    expect(fs.existsSync(path.join(dir, 'p_mask.png')) && fs.existsSync(path.join(dir, 'p_overlay.png'))).toBe(true);
    const custom = await ex('custom-loop.ts', '4');
    expect(custom.stdout).toMatch(/step 3: loss [\d.]+, gradient norm/);
    const synthetic = await ex('train-synthetic.ts', '1');
    expect(synthetic.stdout).toMatch(/epoch 1: loss [\d.]+, validation Dice[\s\S]*held-out: pooled Dice/);
  }, 600000);
});
