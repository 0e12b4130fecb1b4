// Which native binary this package should load, decided without loading it
// (the loader, lib/binding.ts, and the install step, scripts/install.js, ask
// the same question). In order, as sharp decides:
//   1. DMDLK_NATIVE_BINARY, a path the user gives (an unusual layout, a bundler);
//   2. a build from source in the package (build/Release): it exists only
//      where someone built one, so it wins over the packaged binary;
//   3. this platform's package, @dmdlk-native/<platform>-<arch>, an optional
//      dependency npm installs only on its platform (scripts/release.js) —
//      when this package names it, it is the same version, and on Linux the
//      glibc is new enough (npm's libc field cannot say which version).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package that carries this platform's binary. */
export const platformPackage = `@dmdlk-native/${process.platform}-${process.arch}`;

/** The oldest glibc the Linux binaries load on (native/cpp/addon/glibc_floor_linux.cpp). */
export const minimumGlibc = [2, 34];

export interface BinaryChoice {
  /** The file to load, where one fits. */
  file?: string;
  /** How it was found ('DMDLK_NATIVE_BINARY', 'a build from source', the platform package's name). */
  how?: string;
  /** What was looked at and why it did not fit, in words. */
  passedOver: string[];
  /** The platforms this package names binary packages for (none in a checkout). */
  packagedPlatforms: string[];
}

/** 'glibc 2.36', 'musl' or 'no libc tag'. */
export function libc(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (header?.glibcVersionRuntime) return `glibc ${header.glibcVersionRuntime}`;
  return process.platform === 'linux' ? 'musl' : 'no libc tag';
}

/** Whether a machine with this C library (libc()'s words) runs the platform package's binary. */
function libcFits(machineLibc: string): boolean {
  if (process.platform !== 'linux') return true;
  const found = /^glibc (\d+)\.(\d+)/.exec(machineLibc);
  if (!found) return false;
  const [major, minor] = [Number(found[1]), Number(found[2])];
  return major > minimumGlibc[0] || (major === minimumGlibc[0] && minor >= minimumGlibc[1]);
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** The package's own build from source, where one was made (build/Release, where cmake-js puts it). */
function sourceBuild(root: string): string | undefined {
  const file = path.join(root, 'build', 'Release', 'dmdlk.node');
  return fs.existsSync(file) ? file : undefined;
}

/** The binary of the package at `root` for this machine (its environment and C library, which a test may set). */
export function chooseBinary(root: string, env: NodeJS.ProcessEnv = process.env, machineLibc: string = libc()): BinaryChoice {
  const manifest = readJson(path.join(root, 'package.json'));
  const optional = (manifest.optionalDependencies ?? {}) as Record<string, string>;
  const packagedPlatforms = Object.keys(optional).filter((n) => n.startsWith('@dmdlk-native/')).map((n) => n.slice(14));
  const passedOver: string[] = [];
  const forced = env.DMDLK_NATIVE_BINARY;
  if (forced) return { file: path.resolve(forced), how: 'DMDLK_NATIVE_BINARY', passedOver, packagedPlatforms };
  const built = sourceBuild(root);
  if (built) return { file: built, how: 'a build from source', passedOver, packagedPlatforms };
  passedOver.push(`no build from source in ${path.join(root, 'build', 'Release')}`);
  if (!(platformPackage in optional)) {
    passedOver.push(`this copy of dmdlk-native names no package ${platformPackage}`);
    return { passedOver, packagedPlatforms };
  }
  let packageRoot: string;
  try {
    packageRoot = path.dirname(require.resolve(`${platformPackage}/package.json`, { paths: [root] }));
  } catch {
    passedOver.push(`${platformPackage} is not installed (npm skips it where optional dependencies are omitted)`);
    return { passedOver, packagedPlatforms };
  }
  const version = readJson(path.join(packageRoot, 'package.json')).version;
  if (version !== manifest.version) {
    passedOver.push(`${platformPackage} ${String(version)} (in ${packageRoot}) is not dmdlk-native's version ${String(manifest.version)}`);
  } else if (!libcFits(machineLibc)) {
    passedOver.push(`${platformPackage} needs glibc >= ${minimumGlibc.join('.')}, and this machine has ${machineLibc}`);
  } else {
    return { file: path.join(packageRoot, 'dmdlk-native.node'), how: platformPackage, passedOver, packagedPlatforms };
  }
  return { passedOver, packagedPlatforms };
}
