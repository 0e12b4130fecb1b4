// The addon is context-aware: it loads in several worker_threads at once,
// each with its own executor, and a worker can be terminated while native
// work is queued without bringing the process down.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { info, type ModelConfig } from '../../lib';

const workerSource = `
const { parentPort, workerData } = require('worker_threads');
const b = require(workerData.binary);
const x = new b.NativeTensor(new Float32Array(2 * 8 * 32 * 32).fill(1), [2, 8, 32, 32], 'cpu');
const w = new b.NativeTensor(new Float32Array(8 * 8 * 3 * 3).fill(1), [8, 8, 3, 3], 'cpu');
const opts = JSON.stringify({ stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 });  // as lib/ops.ts passes them
(async () => {
  let sum = 0;
  for (let i = 0; i < workerData.rounds; i++) {
    const y = await b.conv2d(x, w, null, opts);
    sum = y.toArray()[33 * 32 + 1];  // an interior pixel: 8 channels × 9 taps
  }
  parentPort.postMessage(sum);
})();
`;

function runWorker(rounds: number): Worker {
  return new Worker(workerSource, { eval: true, workerData: { binary: info().binary, rounds } });
}

// Two models, each in its own worker, computing loss and gradients at once;
// each worker reports its loss, which must equal the main thread's for the same seed.
const modelWorkerSource = `
const { parentPort, workerData } = require('worker_threads');
const { DMDLKNet, Tensor } = require(workerData.lib);
(async () => {
  const model = await DMDLKNet.create(workerData.config, { seed: workerData.seed });
  const s = workerData.config.inputSize;
  const images = Tensor.from(new Float32Array(2 * 3 * s * s).map((_, i) => Math.sin(i * 0.37)), [2, 3, s, s]);
  const masks = Tensor.from(new Int32Array(2 * s * s).map((_, i) => (i % 7 < 3 ? 1 : 0)), [2, s, s]);
  let loss = 0;
  for (let i = 0; i < 3; i++) loss = (await model.lossAndGradients(images, masks)).loss;
  model.dispose();
  parentPort.postMessage(loss);
})();
`;

describe('worker_threads', () => {
  it('runs the addon in four workers at once', async () => {
    const results = await Promise.all([0, 1, 2, 3].map(() => new Promise<number>((resolve, reject) => {
      const worker = runWorker(5);
      worker.once('message', resolve);
      worker.once('error', reject);
    })));
    expect(results).toEqual([72, 72, 72, 72]);
  });

  it('survives workers terminated at any moment of their work', async () => {
    // Termination races with results being settled and tensors being read;
    // before NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS this aborted the process
    // about one run in two.
    for (let i = 0; i < 20; i++) {
      const worker = runWorker(100000);
      await new Promise((resolve) => setTimeout(resolve, 20 + (i % 7) * 9));
      // 1 when stopped while running; 0 when stopped before its script started.
      expect([0, 1]).toContain(await worker.terminate());
    }
    // The process is intact and the addon still works here.
    expect(info().version).toBeTruthy();
  });

  it('trains two models side by side, one per worker, as the main thread would', async () => {
    const config: ModelConfig = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };
    const lib = path.join(__dirname, '..', '..', 'dist', 'lib');
    const losses = await Promise.all([1, 2].map((seed) => new Promise<number>((resolve, reject) => {
      const worker = new Worker(modelWorkerSource, { eval: true, workerData: { lib, config, seed } });
      worker.once('message', resolve);
      worker.once('error', reject);
    })));
    const { DMDLKNet, Tensor } = await import('../../lib');
    for (const [i, seed] of [1, 2].entries()) {
      const model = await DMDLKNet.create(config, { seed });
      const s = config.inputSize!;
      const images = Tensor.from(new Float32Array(2 * 3 * s * s).map((_, k) => Math.sin(k * 0.37)), [2, 3, s, s]);
      const masks = Tensor.from(new Int32Array(2 * s * s).map((_, k) => (k % 7 < 3 ? 1 : 0)), [2, s, s]);
      let loss = 0;
      for (let step = 0; step < 3; step++) loss = (await model.lossAndGradients(images, masks)).loss;
      model.dispose();
      expect(losses[i]).toBe(loss);
    }
    expect(losses[0]).not.toBe(losses[1]);
  });

  it('runs fit in two workers at once, each as it would run alone, and exits cleanly mid-fit', async () => {
    const lib = path.join(__dirname, '..', '..', 'dist', 'lib');
    const source = `
const { parentPort, workerData } = require('worker_threads');
const { DMDLKNet, syntheticLesions } = require(workerData.lib);
(async () => {
  const model = await DMDLKNet.create({ inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 },
    { seed: workerData.seed });
  const history = await model.fit(syntheticLesions({ count: 16, size: 32, seed: workerData.seed }),
    { epochs: 2, batchSize: 4, lr: 1e-3, seed: workerData.seed, onProgress: (p) => parentPort.postMessage({ step: p.globalStep }) });
  parentPort.postMessage({ losses: history.epochs.map((e) => e.loss) });
})();`;
    const fitIn = (seed: number, stopAfter?: number) => new Promise<number[] | 'stopped'>((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: { lib, seed } });
      worker.on('message', (m: { step?: number; losses?: number[] }) => {
        if (m.losses) resolve(m.losses);
        if (stopAfter !== undefined && m.step === stopAfter) void worker.terminate().then(() => resolve('stopped'));
      });
      worker.once('error', reject);
    });
    const [a, b, c] = await Promise.all([fitIn(1), fitIn(2), fitIn(3, 2)]);
    expect(c).toBe('stopped');
    const { DMDLKNet, syntheticLesions } = await import('../../lib');
    for (const [seed, losses] of [[1, a], [2, b]] as const) {
      const model = await DMDLKNet.create({ inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 }, { seed });
      const alone = await model.fit(syntheticLesions({ count: 16, size: 32, seed }), { epochs: 2, batchSize: 4, lr: 1e-3, seed });
      expect(losses).toEqual(alone.epochs.map((e) => e.loss));
      model.dispose();
    }
  }, 120000);

  it('lets a worker exit on its own with nothing pending', async () => {
    const worker = runWorker(2);
    const exit = new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(await new Promise((resolve) => worker.once('message', resolve))).toBe(72);
    expect(await exit).toBe(0);
  });
});
