import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  CancelledError, CheckpointError, DisposedError, DMDLKNet, info, InvalidArgumentError, type ModelConfig, readSafetensors, ShapeError,
  Tensor,
} from '../../lib';
import { expectLoopFree, scaleToDuration, watchEventLoop } from './event-loop';
import { closeness, fixtureDir } from './helpers';

const tiny: ModelConfig = { inputSize: 64, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };

describe('DMDLKNet', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-model-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads a PyTorch state_dict and reproduces its logits, loss and gradients', async () => {
    const fixture = await readSafetensors(path.join(fixtureDir, 'model_tiny_default.safetensors'));
    const t = (name: string) => fixture.tensors.get(name)!;
    const config = JSON.parse(fixture.metadata.config) as ModelConfig;
    const model = await DMDLKNet.load(path.join(fixtureDir, 'pytorch_state_dict.safetensors'), { config });
    expect(model.config.inputSize).toBe(64);
    const logits = await model.forward(t('images'));
    expect(closeness(logits.toArray(), t('eval_logits').toArray(), 2e-4, 2e-3)).toBeLessThanOrEqual(1);
    const out = await model.lossAndGradients(t('images'), t('masks'), { returnLogits: true });
    expect(out.loss).toBeCloseTo(t('loss').toArray()[0], 5);
    expect(out.logits!.shape).toEqual([2, 2, 64, 64]);
    expect(out.gradients.size).toBe(178);
    for (const [name, grad] of out.gradients) {
      expect({ name, ok: closeness(grad.toArray(), t(`grad.${name}`).toArray(), 2e-4, 2e-3) <= 1 }).toEqual({ name, ok: true });
    }
    model.dispose();
  });

  it('creates, saves and loads models with their configuration', async () => {
    const model = await DMDLKNet.create({ ...tiny, offsets: 'light' }, { seed: 3 });
    expect(model.config).toMatchObject({ ...tiny, offsets: 'light', numClasses: 2, selectKernel: 1 });
    expect(model.device).toBe('cpu');
    const file = path.join(dir, 'm.safetensors');
    await model.save(file, { note: 'hello' });
    const back = await DMDLKNet.load(file);
    expect(back.config).toEqual(model.config);
    const [a, b] = await Promise.all([model.parameters(), back.parameters()]);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, v] of a) expect(b.get(name)!.toArray()).toEqual(v.toArray());
    expect((await readSafetensors(file)).metadata.note).toBe('hello');
    model.dispose();
    back.dispose();
  });

  it('chooses its device with \'auto\' by default and says which it chose', async () => {
    // No GPU is visible to the jest suites (cpu-only.ts), so 'auto' is the CPU; test/gpu checks the GPU side.
    expect(info().cuda.available).toBe(false);
    for (const options of [{}, { device: 'auto' as const }]) {
      const model = await DMDLKNet.create(tiny, options);
      expect(model.device).toBe('cpu');
      model.dispose();
    }
    const t = Tensor.from([1, 2], [2], { device: 'auto' });
    expect(t.device).toBe('cpu');
    expect((await t.toDevice('auto')).device).toBe('cpu');
  });

  it('sets parameters by name and reports its size', async () => {
    const model = await DMDLKNet.create(tiny);
    const head = (await model.parameters()).get('head.bias')!;
    await model.setParameters({ 'head.bias': Tensor.from([0.5, -0.5], [2]) });
    expect(Array.from((await model.parameters()).get('head.bias')!.toArray())).toEqual([0.5, -0.5]);
    expect(head.toArray()).not.toEqual(new Float32Array([0.5, -0.5]));  // parameters() gave copies
    const summary = await model.summary();
    expect(summary.modules.map((m) => m.module)).toEqual(expect.arrayContaining(['stem', 'level2', 'decoder1', 'head']));
    expect(summary.total.parameters).toBeGreaterThan(10000);
    expect(summary.total.macs).toBeGreaterThan(summary.total.offsetMacs);
    model.dispose();
  });

  it('trains with trainStep: the loss falls and the step count grows', async () => {
    const model = await DMDLKNet.create({ ...tiny, inputSize: 32 }, { seed: 4 });
    const images = Tensor.from(new Float32Array(2 * 3 * 32 * 32).map((_, i) => ((i % 32) < 16 ? -0.8 : 0.6)), [2, 3, 32, 32]);
    const masks = Tensor.from(new Int32Array(2 * 32 * 32).map((_, i) => ((i % 32) < 16 ? 1 : 0)), [2, 32, 32]);
    const first = await model.trainStep(images, masks, { lr: 3e-3 });
    let last = first;
    for (let i = 0; i < 15; i++) last = await model.trainStep(images, masks, { lr: 3e-3 });
    expect(first.step).toBe(1);
    expect(last.step).toBe(16);
    expect(last.loss).toBeLessThan(0.5 * first.loss);
    await expect(model.trainStep(images, masks, { lr: 0 })).rejects.toThrow('options.lr must be a number in (0, 1), got number 0');
    await expect(model.trainStep(images, masks, { rate: 1 } as never)).rejects.toThrow("unknown option 'rate'");
    model.dispose();
  });

  it('summarises the default model as docs/architecture.md does', async () => {
    const model = await DMDLKNet.create();
    const { total } = await model.summary();
    expect(total.parameters).toBe(5385150);
    expect(total.macs / 1e9).toBeCloseTo(19.3, 0);
    model.dispose();
  });

  it('rejects bad configurations, inputs and checkpoints with typed errors', async () => {
    await expect(DMDLKNet.create({ inputSize: 100 })).rejects.toThrow('config.inputSize must be a multiple of 32');
    await expect(DMDLKNet.create({ widht: 3 } as never)).rejects.toThrow(InvalidArgumentError);
    await expect(DMDLKNet.create(tiny, { device: 'tpu' as never })).rejects.toThrow("options.device must be 'auto', 'cpu'");
    const model = await DMDLKNet.create(tiny);
    await expect(model.forward(Tensor.zeros([1, 3, 32, 32]))).rejects.toThrow(ShapeError);
    await expect(model.forward(Tensor.zeros([1, 3, 32, 32]))).rejects.toThrow('images must have shape [B, 3, 64, 64], got [1, 3, 32, 32]');
    await expect(model.lossAndGradients(Tensor.zeros([1, 3, 64, 64]), Tensor.zeros([1, 64, 64])))
      .rejects.toThrow('masks must be int32 class indices, got float32');
    await expect(model.setParameters({ 'head.bias': Tensor.zeros([3]) })).rejects.toThrow("tensor 'head.bias' must have shape [2]");
    const bad = path.join(dir, 'bad.safetensors');
    await model.save(bad);
    await expect(DMDLKNet.load(bad, { config: { ...tiny, stem: 16 } })).rejects.toThrow(CheckpointError);
    model.dispose();
  });

  it('rejects queued calls when disposed, and every call after', async () => {
    const model = await DMDLKNet.create(tiny);
    const images = Tensor.zeros([1, 3, 64, 64]);
    const calls = [model.forward(images), model.forward(images), model.forward(images)];
    model.dispose();
    const settled = await Promise.allSettled(calls);
    for (const s of settled) {
      if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(CancelledError);
    }
    expect(settled.some((s) => s.status === 'rejected')).toBe(true);
    await expect(model.forward(images)).rejects.toThrow(DisposedError);
    expect(model.disposed).toBe(true);
    model.dispose();  // twice is fine
  });

  it('keeps the event loop responsive during fit: no delay beyond a few milliseconds', async () => {
    const { monitorEventLoopDelay } = await import('node:perf_hooks');
    const { syntheticLesions } = await import('../../lib');
    const model = await DMDLKNet.create({ ...tiny, inputSize: 128 });
    const data = syntheticLesions({ count: 8, size: 128, seed: 1 });
    const epochs = await scaleToDuration((n) => model.fit(data, { epochs: n, batchSize: 4, augment: true }), 500);
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const watch = await watchEventLoop(() => model.fit(data, { epochs, batchSize: 4, augment: true }));
    histogram.disable();
    const worst = histogram.max / 1e6;  // ms
    console.log(`fit: ${watch.elapsed.toFixed(0)} ms, ${watch.ticks} timer ticks, event-loop delay at most ${worst.toFixed(1)} ms ` +
      `(p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms)`);
    expectLoopFree(watch);
    expect(worst).toBeLessThan(25);
    model.dispose();
  });

  it('keeps the event loop free during a training step', async () => {
    const model = await DMDLKNet.create({ ...tiny, inputSize: 128 });
    const batchOf = (n: number): [Tensor, Tensor] => [Tensor.zeros([n, 3, 128, 128]), Tensor.zeros([n, 128, 128], { dtype: 'int32' })];
    const step = ([images, masks]: [Tensor, Tensor]) => model.lossAndGradients(images, masks);
    const batch = batchOf(await scaleToDuration((n) => step(batchOf(n)), 300, 64));
    expectLoopFree(await watchEventLoop(() => step(batch)));
    model.dispose();
  });

  it('takes the loss by name in lossAndGradients and trainStep, as fit does', async () => {
    const model = await DMDLKNet.create({ ...tiny, inputSize: 32 }, { device: 'cpu', seed: 3 });
    const side = 32, plane = side * side;
    const pixels = Float32Array.from({ length: 2 * 3 * plane }, (_, i) => Math.sin(i * 0.37));
    const labels = Int32Array.from({ length: 2 * plane }, (_, i) => ((i % plane) % side < 12 ? 1 : 0));
    const images = Tensor.from(pixels, [2, 3, side, side]);
    const masks = Tensor.from(labels, [2, side, side]);
    const ce = await model.lossAndGradients(images, masks, { returnLogits: true });
    const both = await model.lossAndGradients(images, masks, { loss: 'ce+dice' });
    // The Dice term from the logits, independently: 1 − (2·Σ p·t + 1) / (Σ p + Σ t + 1) for the lesion class.
    const logits = (await ce.logits!.data()) as Float32Array;
    let intersection = 0, predicted = 0, expected = 0;
    for (let b = 0; b < 2; b++)
      for (let p = 0; p < plane; p++) {
        const l0 = logits[(b * 2) * plane + p], l1 = logits[(b * 2 + 1) * plane + p];
        const lesion = 1 / (1 + Math.exp(l0 - l1)), t = labels[b * plane + p];
        intersection += lesion * t;
        predicted += lesion;
        expected += t;
      }
    const dice = 1 - (2 * intersection + 1) / (predicted + expected + 1);
    expect(dice).toBeGreaterThan(0.05);
    expect(Math.abs(both.loss - (ce.loss + dice))).toBeLessThan(1e-5);
    // trainStep reports the loss before its update: the same weights, the same loss.
    expect(Math.abs((await model.trainStep(images, masks, { loss: 'ce+dice' })).loss - both.loss)).toBeLessThan(1e-6);
    await expect(model.trainStep(images, masks, { loss: 'dice' as never })).rejects.toThrow(/^options\.loss must be 'ce' or 'ce\+dice', got the string 'dice'$/);
    await expect(model.lossAndGradients(images, masks, { loss: 'bce' as never })).rejects.toThrow(InvalidArgumentError);
    model.dispose();
  });
});
