// Training on CUDA: fit, evaluate and predict on the GPU agree with the CPU,
// and a GPU out of memory (simulated with DMDLK_CUDA_MEMORY_LIMIT) is an
// ERR_GPU_OOM after which the model trains on at a smaller batch. Skipped,
// with the reason, where there is no GPU.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';

import { DMDLKNet, info, syntheticLesions } from '../../lib';

const cuda = info().cuda;
const skip = cuda.available ? false : `skipped: no GPU (${cuda.reason})`;
const tiny = { inputSize: 64, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 } as const;

test('a model created without a device computes on the GPU and says so', { skip }, async () => {
  const model = await DMDLKNet.create({ ...tiny, widths: [...tiny.widths], depths: [...tiny.depths] });
  assert.equal(model.device, 'cuda:0');
  const explicit = await DMDLKNet.create({ ...tiny, widths: [...tiny.widths], depths: [...tiny.depths] }, { device: 'auto' });
  assert.equal(explicit.device, 'cuda:0');
  model.dispose();
  explicit.dispose();
});

test('fit, evaluate and predict on the GPU agree with the CPU', { skip }, async () => {
  const data = syntheticLesions({ count: 16, size: 64, seed: 2 });
  const losses: number[][] = [];
  const dice: number[] = [];
  for (const device of ['cpu', 'cuda'] as const) {
    const model = await DMDLKNet.create({ ...tiny, widths: [...tiny.widths], depths: [...tiny.depths] }, { device, seed: 1 });
    const history = await model.fit(data, { epochs: 3, batchSize: 4, lr: 1e-3, augment: true, seed: 3 });
    losses.push(history.epochs.map((e) => e.loss));
    dice.push((await model.evaluate(data)).pooled.dice);
    const { masks } = await model.predict(data.batch([0]).images);
    assert.deepEqual(masks.shape, [1, 64, 64]);
    model.dispose();
  }
  for (let e = 0; e < 3; e++) assert.ok(Math.abs(losses[0][e] - losses[1][e]) < 2e-3 * Math.max(1, losses[0][e]), `epoch ${e}: ${losses[0][e]} vs ${losses[1][e]}`);
  assert.ok(Math.abs(dice[0] - dice[1]) < 0.02, `Dice ${dice[0]} vs ${dice[1]}`);
});

test('out of GPU memory is ERR_GPU_OOM, and the model trains on at a smaller batch', { skip }, () => {
  const script = `
const { DMDLKNet, syntheticLesions, GpuOutOfMemoryError } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'lib'))});
(async () => {
  const model = await DMDLKNet.create({ inputSize: 128 }, { device: 'cuda' });
  const data = syntheticLesions({ count: 32, size: 128 });
  const error = await model.fit(data, { epochs: 1, batchSize: 32 }).catch((e) => e);
  const oom = error instanceof GpuOutOfMemoryError;
  const after = await model.fit(data.subset([0, 1, 2, 3]), { epochs: 1, batchSize: 2 });
  console.log(JSON.stringify({ oom, code: error && error.code, steps: after.globalStep }));
})();`;
  const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, DMDLK_CUDA_MEMORY_LIMIT: String(1536 * 2 ** 20) } });
  assert.deepEqual(JSON.parse(out.toString()), { oom: true, code: 'ERR_GPU_OOM', steps: 2 });
});
