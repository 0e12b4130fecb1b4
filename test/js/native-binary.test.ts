// Which binary the package loads (lib/native-binary.ts), on made-up installs:
// a user's path wins, then a build from source, then this platform's package
// where the package names it, at the same version, on a new enough glibc;
// each one passed over says why.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { chooseBinary, platformPackage } from '../../lib/native-binary';

describe('chooseBinary', () => {
  let app: string;
  let root: string;
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  };
  /** An app with dmdlk-native at `version`, naming the platform package or not, and that package installed at `installed`. */
  const install = (opts: { version: string; names: boolean; installed?: string }) => {
    app = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-choice-'));
    root = path.join(app, 'node_modules', 'dmdlk-native');
    const optionalDependencies = opts.names ? { [platformPackage]: opts.version } : {};
    write(path.join(root, 'package.json'), JSON.stringify({ name: 'dmdlk-native', version: opts.version, optionalDependencies }));
    if (opts.installed) {
      const dir = path.join(app, 'node_modules', ...platformPackage.split('/'));
      write(path.join(dir, 'package.json'), JSON.stringify({ name: platformPackage, version: opts.installed }));
      write(path.join(dir, 'dmdlk-native.node'), 'a binary');
    }
  };
  afterEach(() => fs.rmSync(app, { recursive: true, force: true }));
  const glibc = 'glibc 2.36';

  it('takes the platform package that this version names', () => {
    install({ version: '1.2.3', names: true, installed: '1.2.3' });
    const choice = chooseBinary(root, {}, glibc);
    expect(choice.file).toBe(path.join(app, 'node_modules', ...platformPackage.split('/'), 'dmdlk-native.node'));
    expect(choice.how).toBe(platformPackage);
    expect(choice.packagedPlatforms).toEqual([platformPackage.slice(14)]);
  });

  it('prefers a build from source, and DMDLK_NATIVE_BINARY over both', () => {
    install({ version: '1.2.3', names: true, installed: '1.2.3' });
    write(path.join(root, 'build', 'Release', 'dmdlk.node'), 'built here');
    expect(chooseBinary(root, {}, glibc)).toMatchObject({ file: path.join(root, 'build', 'Release', 'dmdlk.node'), how: 'a build from source' });
    expect(chooseBinary(root, { DMDLK_NATIVE_BINARY: 'mine.node' }, glibc)).toMatchObject({ file: path.resolve('mine.node'), how: 'DMDLK_NATIVE_BINARY' });
  });

  it('passes over a platform package of another version, one it does not name, one missing, and an old glibc', () => {
    const passedOver = (opts: { version: string; names: boolean; installed?: string }, libc = glibc) => {
      install(opts);
      const choice = chooseBinary(root, {}, libc);
      fs.rmSync(app, { recursive: true, force: true });
      expect(choice.file).toBeUndefined();
      return choice.passedOver.join('\n');
    };
    expect(passedOver({ version: '1.2.3', names: true, installed: '1.2.0' })).toMatch(/1\.2\.0 .* is not dmdlk-native's version 1\.2\.3/);
    expect(passedOver({ version: '1.2.3', names: false, installed: '1.2.3' })).toMatch(/names no package @dmdlk-native\//);
    expect(passedOver({ version: '1.2.3', names: true })).toMatch(/is not installed \(npm skips it where optional dependencies are omitted\)/);
    if (process.platform === 'linux') {
      expect(passedOver({ version: '1.2.3', names: true, installed: '1.2.3' }, 'glibc 2.31')).toMatch(/needs glibc >= 2\.34, and this machine has glibc 2\.31/);
      expect(passedOver({ version: '1.2.3', names: true, installed: '1.2.3' }, 'musl')).toMatch(/this machine has musl/);
    }
    install({ version: '1.2.3', names: true, installed: '1.2.3' });
    expect(chooseBinary(root, {}, 'glibc 2.34').file).toBeDefined();
  });
});
