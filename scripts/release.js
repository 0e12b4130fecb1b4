#!/usr/bin/env node
// npm run release -- --out DIR [--platforms linux-x64,linux-arm64,win32-x64] [--binary PLATFORM=FILE]...
//
// The packages of a release, made on this Linux x86-64 machine, as sharp
// ships its binaries: dmdlk-native itself (JavaScript, types, examples and
// the native sources for a fallback build; no binary), whose
// optionalDependencies name one package per platform, and
// @dmdlk-native/<platform>-<arch>, each holding that platform's binary alone
// and declaring its os, cpu and libc. npm installs only the platform package
// that matches the machine, so a user downloads one binary; lib/binding.ts
// loads it. DIR receives the tarballs (dmdlk-native-<version>.tgz,
// dmdlk-native-<platform>-<version>.tgz); each is published with `npm publish
// <tarball>`, the platform packages first.
//
// The binaries: linux-x64 built by cmake-js in build-release/ with the GPU code
// of every architecture (DMDLK_CUDA_ARCHS, default `release`); linux-arm64 and
// win32-x64 cross-compiled (scripts/cross-addon.sh); or taken as built with
// --binary (the tests pass the ones they built). Each is stripped. The
// JavaScript is compiled afresh for the package.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

// What each platform package declares and holds, and how its binary is made.
const PLATFORMS = {
  'linux-x64': { os: 'linux', cpu: 'x64', libc: 'glibc', strip: 'strip', about: 'CPU and CUDA (sm_75 to sm_120), glibc >= 2.34' },
  'linux-arm64': { os: 'linux', cpu: 'arm64', libc: 'glibc', strip: 'aarch64-linux-gnu-strip', about: 'CPU (NEON), glibc >= 2.34' },
  'win32-x64': { os: 'win32', cpu: 'x64', strip: 'x86_64-w64-mingw32-strip', about: 'CPU' },
};
const SCOPE = '@dmdlk-native';
const BINARY = 'dmdlk-native.node';

function parseArguments(argv) {
  const options = { out: null, platforms: Object.keys(PLATFORMS), binaries: {} };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!['--out', '--platforms', '--binary'].includes(flag)) throw new Error(`release: unknown argument ${flag}`);
    if (value === undefined || value.startsWith('--')) throw new Error(`release: ${flag} needs a value`);
    if (flag === '--out') options.out = path.resolve(value);
    else if (flag === '--platforms') options.platforms = value.split(',');
    else {
      const at = value.indexOf('=');
      if (at < 1) throw new Error(`release: --binary takes PLATFORM=FILE, not ${value}`);
      options.binaries[value.slice(0, at)] = path.resolve(value.slice(at + 1));
    }
  }
  if (!options.out) throw new Error('release: say where the tarballs go (--out DIR)');
  for (const p of [...options.platforms, ...Object.keys(options.binaries)]) {
    if (!PLATFORMS[p]) throw new Error(`release: no platform '${p}' (${Object.keys(PLATFORMS).join(', ')})`);
  }
  for (const [p, file] of Object.entries(options.binaries)) {
    if (!options.platforms.includes(p)) throw new Error(`release: --binary ${p}=… for a platform not in --platforms`);
    if (!fs.existsSync(file)) throw new Error(`release: no file ${file} (--binary ${p})`);
  }
  return options;
}

function run(command, args, options = {}) {
  return execFileSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'], ...options });
}

/** `npm pack` of a staged folder into DIR: the tarball's path. */
function pack(folder, out) {
  const [packed] = JSON.parse(run(process.execPath, [npmCli, 'pack', '--json', '--pack-destination', out], { cwd: folder }));
  return path.join(out, packed.filename);
}

/** The platform's release binary, built unless given. */
function buildBinary(platform, given) {
  if (given) return given;
  if (platform === 'linux-x64') {
    // The CUDA backend is required (no quiet CPU-only build where nvcc is missing), for every GPU architecture.
    const env = { ...process.env, DMDLK_CUDA: 'on', DMDLK_CUDA_ARCHS: process.env.DMDLK_CUDA_ARCHS ?? 'release' };
    run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--out', 'build-release'], { env, stdio: 'inherit' });
    return path.join(root, 'build-release', 'Release', 'dmdlk.node');
  }
  return path.join(root, run('bash', ['scripts/cross-addon.sh', platform]).trim().split('\n').pop());
}

function platformPackage(platform, binary, stage, out) {
  const spec = PLATFORMS[platform];
  const folder = path.join(stage, platform);
  fs.mkdirSync(folder, { recursive: true });
  run(spec.strip, ['--strip-unneeded', '-o', path.join(folder, BINARY), binary]);
  const name = `${SCOPE}/${platform}`;
  fs.writeFileSync(path.join(folder, 'package.json'), `${JSON.stringify({
    name,
    version: manifest.version,
    description: `The ${platform} binary of dmdlk-native (${spec.about}); installed by npm with dmdlk-native on that platform only`,
    license: manifest.license,
    repository: manifest.repository,
    os: [spec.os],
    cpu: [spec.cpu],
    ...(spec.libc ? { libc: [spec.libc] } : {}),
    main: BINARY,
    files: [BINARY],
    publishConfig: { access: 'public' },
  }, null, 2)}\n`);
  fs.writeFileSync(path.join(folder, 'README.md'), `# ${name}\n\nThe ${platform} binary of [dmdlk-native](https://www.npmjs.com/package/dmdlk-native) ` +
    `(${spec.about}). Install dmdlk-native itself: npm installs this package with it on ${platform} only.\n`);
  return pack(folder, out);
}

/**
 * dmdlk-native as `npm pack` takes it from the checkout, but with its
 * JavaScript compiled afresh (no file of an older build, no source maps to
 * sources it does not ship) and its optionalDependencies naming every
 * platform package.
 */
function mainPackage(stage, out) {
  const folder = path.join(stage, 'dmdlk-native');
  const listed = JSON.parse(run(process.execPath, [npmCli, 'pack', '--dry-run', '--json']))[0].files.map((f) => f.path);
  for (const file of listed.filter((f) => !f.startsWith('dist/') && !f.endsWith('.node') && f !== 'package.json')) {
    fs.mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(folder, file));
  }
  const compiled = path.join(stage, 'tsc');
  run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', compiled, '--sourceMap', 'false']);
  fs.cpSync(path.join(compiled, 'lib'), path.join(folder, 'dist', 'lib'), { recursive: true });
  fs.copyFileSync(path.join(root, 'binding.d.ts'), path.join(folder, 'dist', 'binding.d.ts'));
  const optionalDependencies = Object.fromEntries(Object.keys(PLATFORMS).map((p) => [`${SCOPE}/${p}`, manifest.version]));
  fs.writeFileSync(path.join(folder, 'package.json'), `${JSON.stringify({ ...manifest, optionalDependencies }, null, 2)}\n`);
  return pack(folder, out);
}

// Every tarball is made in a scratch folder and moved to DIR only when all
// are: a failed release leaves no partial set to publish.
function main() {
  const options = parseArguments(process.argv.slice(2));
  fs.mkdirSync(options.out, { recursive: true });
  const stage = fs.mkdtempSync(path.join(options.out, '.stage-'));
  try {
    const packed = path.join(stage, 'packed');
    fs.mkdirSync(packed);
    const tarballs = [mainPackage(stage, packed)];
    for (const platform of options.platforms) {
      tarballs.push(platformPackage(platform, buildBinary(platform, options.binaries[platform]), stage, packed));
    }
    for (const t of tarballs) {
      const destination = path.join(options.out, path.basename(t));
      fs.renameSync(t, destination);
      console.log(`${path.relative(process.cwd(), destination)}  ${(fs.statSync(destination).size / 1e6).toFixed(1)} MB`);
    }
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
module.exports = { PLATFORMS, SCOPE, pack };
