import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import {
  CancelledError, CheckpointError, DMDLKNet, type FitProgress, InvalidArgumentError, type ModelConfig, NonFiniteError, syntheticLesions,
  Tensor,
} from '../../lib';
import { confusion, MetricsAccumulator, scores } from '../../lib/train/metrics';

const tiny: ModelConfig = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };
const data = syntheticLesions({ count: 24, size: 32, seed: 4 });

async function weights(model: DMDLKNet): Promise<Float32Array[]> {
  return [...(await model.parameters()).values()].map((t) => t.toArray() as Float32Array);
}

describe('fit, evaluate, predict', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-fit-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('learns: the loss falls and held-out Dice beats a constant predictor', async () => {
    const all = syntheticLesions({ count: 120, size: 32, seed: 11 });
    const [train, test] = all.split([0.8, 0.2], 1);
    const model = await DMDLKNet.create(tiny, { seed: 2 });
    const progress: FitProgress[] = [];
    const history = await model.fit(train, { epochs: 4, batchSize: 8, lr: 3e-3, augment: { hflip: 0.5, vflip: 0.5 },
      onProgress: (p) => progress.push(p) });
    expect(progress).toHaveLength(4 * 12);
    expect(progress[0]).toMatchObject({ epoch: 1, epochs: 4, step: 1, steps: 12, globalStep: 1 });
    expect(progress.at(-1)).toMatchObject({ epoch: 4, step: 12, globalStep: 48, etaSeconds: 0 });
    expect(progress.every((p) => p.imagesPerSecond > 0 && Number.isFinite(p.loss))).toBe(true);
    expect(history.epochs.at(-1)!.loss).toBeLessThan(0.6 * history.epochs[0].loss);
    const m = await model.evaluate(test);
    expect(m.images).toHaveLength(test.length);
    // A constant "all lesion" guess scores Dice 2p/(1+p) for lesion share p.
    const p = test.masks.reduce((s, v) => s + v, 0) / test.masks.length;
    expect(m.pooled.dice).toBeGreaterThan(Math.max(0.8, (2 * p) / (1 + p) + 0.2));
    model.dispose();
  }, 120000);

  it('resumes from a checkpoint exactly as if never stopped, between epochs and mid-epoch', async () => {
    const options = { batchSize: 5, lr: 2e-3, loss: 'ce+dice' as const, augment: true, seed: 9 };
    const straight = await DMDLKNet.create(tiny, { seed: 1 });
    const full = await straight.fit(data, { ...options, epochs: 3 });

    // Stopped by its AbortSignal after 7 steps (epoch 2, step 2), then resumed in a fresh model.
    const first = await DMDLKNet.create(tiny, { seed: 1 });
    const controller = new AbortController();
    const ckpt = path.join(dir, 'resume');
    const stopped = await first.fit(data, { ...options, epochs: 3, signal: controller.signal, checkpoint: { dir: ckpt, keep: 2 },
      onProgress: (p) => { if (p.globalStep === 7) controller.abort(); } }).catch((e: unknown) => e);
    expect(stopped).toBeInstanceOf(CancelledError);
    // Counted once: 7 steps done, named step 7, in the checkpoint step-00000007.
    expect((stopped as Error).message).toMatch(/stopped after step 7 \(epoch 2: 2 of 5 steps done\); its checkpoint is '.*step-00000007\.safetensors'/);
    expect(fs.readdirSync(ckpt).sort()).toEqual(['step-00000005.optim.safetensors', 'step-00000005.safetensors',
      'step-00000007.optim.safetensors', 'step-00000007.safetensors']);

    // Other weights, and no settings: the weights, batch size, lr, loss, augmentation, seed and epochs all come from the checkpoint.
    const resumed = await DMDLKNet.create(tiny, { seed: 77 });
    const rest = await resumed.fit(data, { resume: ckpt, checkpoint: { dir: ckpt, keep: 2 } });
    expect(rest.globalStep).toBe(15);
    expect(rest.epochs.map((e) => e.loss)).toEqual(full.epochs.map((e) => e.loss));
    expect(await weights(resumed)).toEqual(await weights(straight));
    expect(rest.checkpoint).toMatch(/step-00000015\.safetensors$/);

    // The final checkpoint loads as a plain model with the same outputs.
    const loaded = await DMDLKNet.load(rest.checkpoint!);
    expect(await weights(loaded)).toEqual(await weights(straight));
    for (const m of [straight, first, resumed, loaded]) m.dispose();
  }, 120000);

  it('refuses to resume with other settings or from a plain model file', async () => {
    const model = await DMDLKNet.create(tiny, { seed: 1 });
    const ckpt = path.join(dir, 'settings');
    await model.fit(data, { epochs: 1, batchSize: 6, checkpoint: { dir: ckpt } });
    await expect(model.fit(data, { epochs: 2, batchSize: 4, resume: ckpt })).rejects.toThrow(
      /trained with options.batchSize 6, not 4; leave options.batchSize out to continue with the checkpoint's/);
    await expect(model.fit(data, { epochs: 2, batchSize: 6, augment: true, resume: ckpt })).rejects.toThrow(
      /trained with options.augment none, not \{"hflip"/);
    await expect(model.fit(data.subset([0, 1, 2, 3]), { epochs: 2, resume: ckpt })).rejects.toThrow(/trained on \d+ images, this dataset has 4/);
    await model.save(path.join(dir, 'plain.safetensors'));
    await expect(model.fit(data, { epochs: 2, resume: path.join(dir, 'plain.safetensors') })).rejects.toThrow(CheckpointError);
    const other = await DMDLKNet.create({ ...tiny, offsets: 'light' });
    await expect(other.fit(data, { epochs: 2, batchSize: 6, resume: ckpt })).rejects.toThrow(/trained with configuration/);
    model.dispose();
    other.dispose();
  }, 60000);

  it('stops with ERR_NAN on a non-finite loss and keeps the weights and checkpoints as they were', async () => {
    const model = await DMDLKNet.create(tiny, { seed: 1 });
    const ckpt = path.join(dir, 'nan');
    await model.fit(data, { epochs: 1, batchSize: 6, checkpoint: { dir: ckpt } });
    const files = fs.readdirSync(ckpt).sort();
    const params = await model.parameters();
    const name = 'head.bias';
    const broken = params.get(name)!.toArray() as Float32Array;
    broken[0] = Infinity;
    await model.setParameters({ [name]: Tensor.from(broken, params.get(name)!.shape) });
    const before = await weights(model);
    const error = await model.fit(data, { epochs: 3, batchSize: 6, checkpoint: { dir: ckpt }, resume: undefined })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteError);
    expect((error as NonFiniteError).code).toBe('ERR_NAN');
    expect((error as Error).message).toMatch(/the loss is (NaN|infinite).*epoch 1, step 1; last good checkpoint: none was written yet/);
    expect(await weights(model)).toEqual(before);
    expect(fs.readdirSync(ckpt).sort()).toEqual(files);
    model.dispose();
  }, 60000);

  it('validates its options', async () => {
    const model = await DMDLKNet.create(tiny);
    await expect(model.fit(data, { epochs: 0 })).rejects.toThrow(/options.epochs must be an integer/);
    await expect(model.fit(data, { lr: 2 })).rejects.toThrow(/options.lr/);
    await expect(model.fit(data, { loss: 'dice' as 'ce' })).rejects.toThrow(/options.loss/);
    await expect(model.fit(data, { epoch: 3 } as never)).rejects.toThrow(/unknown option 'epoch'/);
    await expect(model.fit(data, { augment: { rotate: { degrees: 400 } } })).rejects.toThrow(/augment.rotate.degrees/);
    await expect(model.fit(syntheticLesions({ count: 2, size: 64 }))).rejects.toThrow(/loaded at 64×64 but the model's inputSize is 32/);
    await expect(model.fit({} as never)).rejects.toThrow(InvalidArgumentError);
    await expect(model.evaluate(data, { batchSize: 0 })).rejects.toThrow(/batchSize/);
    model.dispose();
  });

  it('computes pooled and per-image metrics as defined', () => {
    expect(confusion([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])).toEqual({ tp: 2, fp: 1, fn: 1, tn: 1 });
    expect(scores({ tp: 2, fp: 1, fn: 1, tn: 1 })).toEqual({ iou: 0.5, dice: 2 / 3, accuracy: 0.6, sensitivity: 2 / 3, specificity: 0.5 });
    const acc = new MetricsAccumulator();
    acc.add('a', [1, 1, 0, 0], [1, 0, 0, 0]);  // IoU 1/2
    acc.add('b', [0, 0, 0, 0], [0, 0, 0, 0]);  // empty and predicted empty: perfect
    const m = acc.result();
    expect(m.perImage.iou).toBe(0.75);
    expect(m.pooled.iou).toBe(0.5);
    expect(m.pooled.accuracy).toBe(7 / 8);
    expect(m.images.map((i) => i.name)).toEqual(['a', 'b']);
    // ISIC 2018 Task 1: IoU 0.5 scores 0 (below 0.65), the perfect image 1; exactly 0.65 counts.
    expect(m.thresholdedJaccard).toBe(0.5);
    const isic = new MetricsAccumulator();
    isic.add('at', Array.from({ length: 20 }, (_, i) => (i < 13 ? 1 : 0)), Array(20).fill(1));  // IoU 13/20 = 0.65
    isic.add('above', [1, 1, 0], [1, 1, 1]);  // IoU 2/3 ≈ 0.667: counts
    isic.add('far', [1, 0, 0, 0], [1, 1, 1, 1]);  // IoU 0.25: 0
    expect(isic.result().thresholdedJaccard).toBeCloseTo((0.65 + 2 / 3 + 0) / 3, 12);
  });

  it('predicts files and buffers at their original size, and batches at the input size', async () => {
    const model = await DMDLKNet.create(tiny, { seed: 3 });
    const file = path.join(dir, 'photo.jpg');
    await sharp({ create: { width: 123, height: 77, channels: 3, background: { r: 200, g: 150, b: 120 } } }).jpeg()
      .withMetadata({ orientation: 6 }).toFile(file);
    const p = await model.predict(file, { probabilities: true });
    expect([p.width, p.height]).toEqual([77, 123]);  // as displayed
    expect(p.mask).toHaveLength(77 * 123);
    expect(p.probabilities).toHaveLength(2 * 77 * 123);
    for (let i = 0; i < 77 * 123; i += 97) {
      expect(p.probabilities![i] + p.probabilities![77 * 123 + i]).toBeCloseTo(1, 5);
      expect(p.mask[i]).toBe(p.probabilities![77 * 123 + i] > p.probabilities![i] ? 1 : 0);
    }
    const fromBuffer = await model.predict(fs.readFileSync(file));
    expect(fromBuffer.mask).toEqual(p.mask);
    const batch = await model.predict(data.batch([0, 1]).images, { probabilities: true });
    expect(batch.masks.shape).toEqual([2, 32, 32]);
    expect(batch.probabilities!.shape).toEqual([2, 2, 32, 32]);
    await expect(model.predict(Buffer.from('nope'))).rejects.toThrow(/cannot decode the buffer/);
    await expect(model.predict(path.join(dir, 'missing.jpg'))).rejects.toThrow(/missing\.jpg/);
    await expect(model.predict(Tensor.zeros([1, 3, 32, 32]))).rejects.toThrow(/uint8 \[B, 32, 32, 3\]/);
    await expect(model.predict(42 as never)).rejects.toThrow(InvalidArgumentError);
    model.dispose();
  });
});
