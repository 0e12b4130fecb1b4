// examples/electron without Electron (its npm package downloads the Electron
// binary from GitHub at install time, which this machine cannot reach). A
// copy of the example gets its runtime dependency installed by npm from the
// spec its package.json declares (dmdlk-native from this checkout), and there:
// segmenter-worker.js, in a worker_threads Worker as the app starts it,
// refuses to segment until a model has loaded, reports a model that does not
// load, and segments with the one it was given while the calling thread's
// event loop stays free; segmenter-bridge.js, main.js's non-Electron half,
// shows every status in a (fake) window and answers instead of hanging when
// the worker fails or exits; main.js and preload.js, run against a fake
// `electron` module, wire it up with a sandboxed window and a four-call API.
// The files must parse, and the packaging config must unpack every native
// binary from the asar. Nothing is written to the working tree.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as vm from 'node:vm';
import { Worker } from 'node:worker_threads';

import sharp from 'sharp';

import { DMDLKNet } from '../../lib';
import { expectLoopFree, watchEventLoop } from './event-loop';
import { npmEnvironment } from './npm-env';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const example = path.join(root, 'examples', 'electron');
const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

interface Status { state: string; modelPath: string | null; device: string | null; error: string | null; message: string }
interface Answer { type?: string; id?: number; error?: string; code?: string | null; [key: string]: unknown }
interface Bridge {
  status: Status;
  loadModel(modelPath: string): Promise<Status>;
  segment(file: string): Promise<Answer>;
  stop(): Promise<number>;
}
interface BridgeModule {
  SegmenterBridge: new (workerFile: string, webContents: FakeWebContents) => Bridge;
  modelPathFromCommandLine(argv: string[], env: Record<string, string | undefined>): string | null;
}

/** What main.js hands the bridge: a window's webContents, here one that records the statuses it is sent. */
class FakeWebContents {
  statuses: Status[] = [];
  events = new Map<string, () => void>();
  #waiters: [(status: Status) => boolean, (status: Status) => void][] = [];
  on(event: string, listener: () => void): void {
    this.events.set(event, listener);
  }
  send(channel: string, status: Status): void {
    expect(channel).toBe('status');
    this.statuses.push(status);
    for (const [test, resolve] of this.#waiters) if (test(status)) resolve(status);
    this.#waiters = this.#waiters.filter(([test]) => !test(status));
  }
  /** The first status sent from now on that is in `state`. */
  next(state: string): Promise<Status> {
    return new Promise((resolve) => this.#waiters.push([(status) => status.state === state, resolve]));
  }
}

/** The example as a user has it, without what an `npm i` in the checkout may have left there. */
function copyExample(to: string): void {
  fs.cpSync(example, to, { recursive: true, filter: (from) => !['node_modules', 'package-lock.json'].includes(path.basename(from)) });
}

describe('the Electron example', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-electron-'));
  const app = path.join(dir, 'app');
  const workerFile = path.join(app, 'segmenter-worker.js');
  const modelFile = path.join(dir, 'model.safetensors');
  const image = path.join(dir, 'photo.jpg');
  const declared = JSON.parse(fs.readFileSync(path.join(example, 'package.json'), 'utf8'));
  let bridgeModule: BridgeModule;
  const workers: Worker[] = [];
  const bridges: Bridge[] = [];

  beforeAll(async () => {
    // The runtime dependency only: electron and electron-builder (devDependencies) download
    // binaries from GitHub. A file: spec is relative to the folder that declares it, so the
    // copy gets it as an absolute path; npm links it, as it would in examples/electron.
    copyExample(app);
    const spec = declared.dependencies['dmdlk-native'];
    const local = spec.startsWith('file:') ? `file:${path.resolve(example, spec.slice('file:'.length))}` : spec;
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ ...declared, dependencies: { 'dmdlk-native': local }, devDependencies: {} }));
    await run(process.execPath, [npmCli, 'install', '--prefer-offline', '--no-audit', '--no-fund'],
      { cwd: app, env: npmEnvironment(process.env.PATH ?? ''), timeout: 60000, maxBuffer: 1 << 26 });
    bridgeModule = require(path.join(app, 'segmenter-bridge.js'));

    // The paper's network at 256 px: a checkpoint as `dmdlk train` writes one (its
    // weights untrained, which the app cannot tell), slow enough for the event-loop check.
    const model = await DMDLKNet.create({ inputSize: 256 }, { seed: 0 });
    await model.save(modelFile);
    model.dispose();
    fs.writeFileSync(path.join(dir, 'corrupt.safetensors'), 'not a checkpoint');
    await sharp({ create: { width: 600, height: 450, channels: 3, background: '#c89070' } }).jpeg().toFile(image);
    fs.writeFileSync(path.join(dir, 'broken.jpg'), 'not a JPEG');
  }, 120000);
  afterAll(async () => {
    await Promise.all([...workers.map((w) => w.terminate()), ...bridges.map((b) => b.stop())]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** segmenter-worker.js as the bridge starts it, with a way to ask it one thing and get its answer. */
  function startWorker(): (request: Record<string, unknown>) => Promise<Answer> {
    const worker = new Worker(workerFile);
    workers.push(worker);
    return (request) => new Promise((resolve, reject) => {
      const onMessage = (answer: Answer): void => {
        if (answer.id !== request.id) return;
        worker.off('message', onMessage);
        resolve(answer);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.postMessage(request);
    });
  }

  function startBridge(file = workerFile): [Bridge, FakeWebContents] {
    const webContents = new FakeWebContents();
    const bridge = new bridgeModule.SegmenterBridge(file, webContents);
    bridges.push(bridge);
    return [bridge, webContents];
  }

  it('installs dmdlk-native from this checkout with npm, as its package.json declares', () => {
    expect(declared.dependencies).toEqual({ 'dmdlk-native': 'file:../..' });
    const installed = require.resolve('dmdlk-native', { paths: [app] });
    expect(path.relative(fs.realpathSync(root), fs.realpathSync(installed))).toBe(path.join('dist', 'lib', 'index.js'));
    expect(fs.realpathSync(path.join(app, 'node_modules', 'dmdlk-native'))).toBe(fs.realpathSync(root));
  });

  it('refuses to segment until a model has loaded, saying what to do', async () => {
    const ask = startWorker();
    expect(await ask({ type: 'segment', id: 1, file: image })).toEqual({
      type: 'result', id: 1, code: 'ERR_NO_MODEL', error: expect.stringMatching(/no trained model.*choose a trained model \(\.safetensors/),
    });
  });

  it('reports a model that does not load, and then still refuses to segment', async () => {
    const ask = startWorker();
    const missing = path.join(dir, 'none.safetensors');
    expect(await ask({ type: 'load', id: 1, path: missing })).toEqual({ type: 'model', id: 1, path: missing, code: 'ERR_IO', error: expect.stringContaining(missing) });
    const corrupt = path.join(dir, 'corrupt.safetensors');
    expect(await ask({ type: 'load', id: 2, path: corrupt })).toMatchObject({ type: 'model', id: 2, code: 'ERR_FORMAT', error: expect.any(String) });
    expect(await ask({ type: 'segment', id: 3, file: image })).toMatchObject({ id: 3, code: 'ERR_NO_MODEL' });
  });

  it('segments with the model it was given, keeping the calling thread free', async () => {
    const ask = startWorker();
    expect(await ask({ type: 'load', id: 1, path: modelFile })).toEqual({ type: 'model', id: 1, path: modelFile, device: 'cpu' });
    let ok: Answer = {};
    expectLoopFree(await watchEventLoop(async () => { ok = await ask({ type: 'segment', id: 2, file: image }); }));
    expect(ok).toMatchObject({ type: 'result', id: 2, width: 600, height: 450 });
    expect(ok.lesionShare).toBeGreaterThanOrEqual(0);
    expect(ok.lesionShare).toBeLessThanOrEqual(1);
    const overlay = await sharp(Buffer.from(ok.overlayPng as string, 'base64')).metadata();
    expect([overlay.format, overlay.width, overlay.height]).toEqual(['png', 600, 450]);
    expect(await ask({ type: 'segment', id: 3, file: path.join(dir, 'broken.jpg') }))
      .toMatchObject({ type: 'result', id: 3, code: 'ERR_DATA', error: expect.stringMatching(/broken\.jpg/) });
  });

  it('shows the window the model\'s status: none, a failed load, then the model chosen', async () => {
    const [bridge, window] = startBridge();
    expect(bridge.status).toMatchObject({ state: 'none', message: expect.stringMatching(/choose a trained model \(\.safetensors/) });
    expect(await bridge.segment(image)).toMatchObject({ code: 'ERR_NO_MODEL' });
    const missing = path.join(dir, 'none.safetensors');
    expect(await bridge.loadModel(missing)).toMatchObject({
      state: 'failed', modelPath: missing, message: expect.stringMatching(/none\.safetensors did not load: .*\[ERR_IO\]\. Choose a trained model/),
    });
    expect(await bridge.loadModel(modelFile)).toEqual({ state: 'ready', modelPath: modelFile, device: 'cpu', error: null, message: `Model ${modelFile}, on cpu` });
    expect(window.statuses.map((s) => s.state)).toEqual(['loading', 'failed', 'loading', 'ready']);
    expect(window.statuses[2].message).toBe(`Loading ${modelFile}…`);
    expect(await bridge.segment(image)).toMatchObject({ type: 'result', width: 600, height: 450 });
  });

  it('tells the window when the worker fails, and answers the calls waiting on it', async () => {
    // A copy with no node_modules: the worker's require('dmdlk-native') throws.
    const bare = path.join(dir, 'bare');
    copyExample(bare);
    const [bridge, window] = startBridge(path.join(bare, 'segmenter-worker.js'));
    const stopped = window.next('stopped');
    const waiting = bridge.segment(image);
    const message = /the segmenter failed: Cannot find module 'dmdlk-native'/;
    expect(await stopped).toMatchObject({ error: expect.stringMatching(message), message: expect.stringMatching(/Restart the app\.$/) });
    expect(await waiting).toEqual({ code: 'ERR_STOPPED', error: expect.stringMatching(message) });
    expect(await bridge.segment(image)).toMatchObject({ code: 'ERR_STOPPED' });
    expect(await bridge.loadModel(modelFile)).toMatchObject({ state: 'stopped' });
    expect(window.statuses.map((s) => s.state)).toEqual(['stopped']);  // the 'exit' after 'error' changes nothing
  });

  it('tells the window when the worker exits, and answers the calls waiting on it', async () => {
    const exits = path.join(dir, 'exits.js');
    fs.writeFileSync(exits, "require('node:worker_threads').parentPort.once('message', () => process.exit(3));\n");
    const [bridge, window] = startBridge(exits);
    expect(await bridge.segment(image)).toEqual({ code: 'ERR_STOPPED', error: 'the segmenter stopped (exit code 3)' });
    expect(window.statuses).toEqual([expect.objectContaining({ state: 'stopped', message: 'the segmenter stopped (exit code 3). Restart the app.' })]);
  });

  it('takes the model from --model or MODEL_PATH', () => {
    const { modelPathFromCommandLine } = bridgeModule;
    expect(modelPathFromCommandLine(['electron', '.', '--model', '/m/a.safetensors'], { MODEL_PATH: '/m/b.safetensors' })).toBe('/m/a.safetensors');
    expect(modelPathFromCommandLine(['app', '--no-sandbox', '--model=/m/a.safetensors'], {})).toBe('/m/a.safetensors');
    expect(modelPathFromCommandLine(['electron', '.'], { MODEL_PATH: '/m/b.safetensors' })).toBe('/m/b.safetensors');
    expect(modelPathFromCommandLine(['electron', '.', '--model', 'run/model.safetensors'], {})).toBe(path.resolve('run/model.safetensors'));
    expect(modelPathFromCommandLine(['electron', '.'], {})).toBeNull();
  });

  it('wires main.js and preload.js: a sandboxed window, a four-call API, the model from the command line', async () => {
    // main.js against a fake `electron`: the handlers it registers, the window it opens.
    const handlers = new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>();
    const windowEvents = new Map<string, () => void>();
    const webContents = new FakeWebContents();
    let ready: () => void = () => {};
    let windowOptions: { webPreferences?: Record<string, unknown> } = {};
    let dialogAnswer = { canceled: true, filePaths: [] as string[] };
    const electron = {
      app: { whenReady: () => new Promise<void>((resolve) => { ready = resolve; }), on: () => {}, quit: () => {} },
      BrowserWindow: Object.assign(function BrowserWindow(this: Record<string, unknown>, options: typeof windowOptions) {
        windowOptions = options;
        Object.assign(this, {
          webContents,
          on: (name: string, listener: () => void) => windowEvents.set(name, listener),
          loadFile: (file: string) => expect(file).toBe(path.join(app, 'index.html')),
        });
      }, { fromWebContents: () => ({}) }),
      dialog: { showOpenDialog: async () => dialogAnswer },
      ipcMain: { handle: (channel: string, handler: (event: unknown, ...args: unknown[]) => Promise<unknown>) => handlers.set(channel, handler) },
    };
    vm.runInNewContext(fs.readFileSync(path.join(app, 'main.js'), 'utf8'), {
      require: (id: string) => (id === 'electron' ? electron : require(id.startsWith('./') ? path.join(app, id) : id)),
      __dirname: app, process: { argv: ['electron', '.', '--model', modelFile], env: {} },
    }, { filename: path.join(app, 'main.js') });
    expect([...handlers.keys()].sort()).toEqual(['choose-image', 'choose-model', 'segment']);
    const loaded = webContents.next('ready');
    ready();
    expect(await loaded).toMatchObject({ modelPath: modelFile, device: 'cpu' });
    webContents.events.get('did-finish-load')?.();  // the page, once loaded, gets the status it missed
    expect(webContents.statuses.at(-1)).toBe(webContents.statuses.at(-2));
    expect(windowOptions.webPreferences).toEqual({ preload: path.join(app, 'preload.js'), contextIsolation: true, sandbox: true });
    expect(await handlers.get('segment')?.({}, image)).toMatchObject({ type: 'result', width: 600 });
    dialogAnswer = { canceled: false, filePaths: [path.join(dir, 'corrupt.safetensors')] };
    await handlers.get('choose-model')?.({});
    expect(webContents.statuses.at(-1)).toMatchObject({ state: 'failed', modelPath: path.join(dir, 'corrupt.safetensors') });
    windowEvents.get('closed')?.();

    // preload.js against a fake `electron`: what the page can call, and what its status listener gets.
    const exposed: Record<string, Record<string, (...args: unknown[]) => unknown>> = {};
    const invoked: unknown[][] = [];
    const ipcListeners: ((event: unknown, status: unknown) => void)[] = [];
    vm.runInNewContext(fs.readFileSync(path.join(app, 'preload.js'), 'utf8'), {
      require: () => ({
        contextBridge: { exposeInMainWorld: (key: string, api: Record<string, (...args: unknown[]) => unknown>) => { exposed[key] = api; } },
        ipcRenderer: { invoke: (...args: unknown[]) => invoked.push(args), on: (_channel: string, listener: (event: unknown, status: unknown) => void) => ipcListeners.push(listener) },
      }),
    });
    expect(Object.keys(exposed)).toEqual(['segmenter']);
    expect(Object.keys(exposed.segmenter).sort()).toEqual(['chooseImage', 'chooseModel', 'onStatus', 'segment']);
    exposed.segmenter.segment('a.jpg');
    exposed.segmenter.chooseModel();
    expect(invoked).toEqual([['segment', 'a.jpg'], ['choose-model']]);
    const heard: unknown[][] = [];
    exposed.segmenter.onStatus((...args: unknown[]) => heard.push(args));
    ipcListeners[0]({ sender: 'the IPC event' }, { state: 'none' });
    expect(heard).toEqual([[{ state: 'none' }]]);
  });

  it('has Electron files that parse and a build that unpacks every native binary', async () => {
    for (const file of ['main.js', 'preload.js', 'renderer.js', 'segmenter-worker.js', 'segmenter-bridge.js']) {
      await run(process.execPath, ['--check', path.join(example, file)]);
    }
    expect(declared.main).toBe('main.js');
    expect(declared.build.files).toEqual(['*.js', '*.html']);
    expect(declared.build.asarUnpack).toEqual(expect.arrayContaining(['node_modules/@dmdlk-native/**', 'node_modules/sharp/**', 'node_modules/@img/**']));
  });
});
