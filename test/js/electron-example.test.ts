// examples/electron without Electron (its npm package downloads the Electron
// binary from GitHub at install time, which this machine cannot reach): the
// model's side, segmenter-worker.js, runs in a worker_threads Worker exactly
// as main.js starts it, answers segment requests with a mask share and an
// overlay, reports an unreadable image as a typed error, and leaves the
// calling thread's event loop free meanwhile. The Electron files must parse,
// and the packaging config must unpack every native binary from the asar.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

import sharp from 'sharp';

import { expectLoopFree, watchEventLoop } from './event-loop';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const example = path.join(root, 'examples', 'electron');

describe('the Electron example', () => {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-electron-'));
  afterAll(() => fs.rmSync(app, { recursive: true, force: true }));

  it('keeps the window\'s process free while its worker segments images', async () => {
    // The app as installed: its files, and dmdlk-native in its node_modules (here a link to this checkout).
    fs.cpSync(example, app, { recursive: true });
    fs.mkdirSync(path.join(app, 'node_modules'));
    fs.symlinkSync(root, path.join(app, 'node_modules', 'dmdlk-native'), 'dir');
    const image = path.join(app, 'photo.jpg');
    await sharp({ create: { width: 600, height: 450, channels: 3, background: '#c89070' } }).jpeg().toFile(image);
    fs.writeFileSync(path.join(app, 'broken.jpg'), 'not a JPEG');

    const worker = new Worker(path.join(app, 'segmenter-worker.js'), { workerData: { modelPath: null } });
    try {
      const messages: Record<string, unknown>[] = [];
      const next = (): Promise<Record<string, unknown>> => new Promise((resolve) => worker.once('message', resolve));
      expect(await next()).toEqual({ type: 'ready', device: 'cpu' });
      const ask = async (id: number, file: string): Promise<void> => {
        const answer = next();
        worker.postMessage({ id, file });
        messages.push(await answer);
      };
      expectLoopFree(await watchEventLoop(() => ask(1, image)));
      await ask(2, path.join(app, 'broken.jpg'));
      const [ok, bad] = messages;
      expect(ok).toMatchObject({ type: 'result', id: 1, width: 600, height: 450 });
      expect(ok.lesionShare).toBeGreaterThanOrEqual(0);
      expect(ok.lesionShare).toBeLessThanOrEqual(1);
      const overlay = await sharp(Buffer.from(ok.overlayPng as string, 'base64')).metadata();
      expect([overlay.format, overlay.width, overlay.height]).toEqual(['png', 600, 450]);
      expect(bad).toMatchObject({ type: 'result', id: 2, error: expect.stringMatching(/broken\.jpg.*\[ERR_INVALID_ARG\]/) });
    } finally {
      await worker.terminate();
    }
  }, 120000);

  it('has Electron files that parse and a build that unpacks every native binary', async () => {
    for (const file of ['main.js', 'preload.js', 'renderer.js', 'segmenter-worker.js']) {
      await run(process.execPath, ['--check', path.join(example, file)]);
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(example, 'package.json'), 'utf8'));
    expect(pkg.main).toBe('main.js');
    expect(pkg.build.asarUnpack).toEqual(expect.arrayContaining(['node_modules/dmdlk-native/prebuilds/**', 'node_modules/sharp/**', 'node_modules/@img/**']));
    expect(fs.readFileSync(path.join(example, 'main.js'), 'utf8')).toMatch(/new Worker\(path\.join\(__dirname, 'segmenter-worker\.js'\)/);
  });
});
