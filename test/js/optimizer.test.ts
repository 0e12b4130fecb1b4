// fit's optimizer options: AdamW and the clipping of the gradients' global
// norm (the update itself is checked against torch.optim in
// test_pytorch_fixtures), the norm reported per step as clip_grad_norm_
// computes it, and both pinned by checkpoints like every other setting.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DMDLKNet, InvalidArgumentError, type ModelConfig, syntheticLesions, Tensor } from '../../lib';

const tiny: ModelConfig = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };

describe('optimizer options', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-optimizer-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const data = syntheticLesions({ count: 8, size: 32, seed: 3 });

  it('reports the gradients\' global norm before clipping, as computed from lossAndGradients', async () => {
    const model = await DMDLKNet.create(tiny, { seed: 5, device: 'cpu' });
    // The one batch of the first step, as fit feeds it: all 8 images, 2·pixel/255 − 1, NCHW.
    const side = 32, plane = side * side;
    const input = new Float32Array(8 * 3 * plane);
    for (let n = 0; n < 8; n++)
      for (let p = 0; p < plane; p++)
        for (let c = 0; c < 3; c++) input[(n * 3 + c) * plane + p] = (2 * data.images[(n * plane + p) * 3 + c]) / 255 - 1;
    const { gradients } = await model.lossAndGradients(Tensor.from(input, [8, 3, side, side]), Tensor.from(Int32Array.from(data.masks), [8, side, side]));
    let sum = 0;
    for (const g of gradients.values()) for (const x of (await g.data()) as Float32Array) sum += x * x;
    const norms: number[] = [];
    const checkpoint = { dir: path.join(dir, 'run') };
    await model.fit(data, { epochs: 1, batchSize: 8, optimizer: 'adamw', clipGradNorm: 0.5, checkpoint,
      onProgress: (p) => norms.push(p.gradNorm ?? Number.NaN) });
    expect(norms).toHaveLength(1);
    expect(Math.abs(norms[0] - Math.sqrt(sum)) / Math.sqrt(sum)).toBeLessThan(1e-4);
    // The checkpoint pins them: AdamW with its default decay of 0.01, clipping at 0.5.
    const resume = path.join(checkpoint.dir, 'step-00000001.safetensors');
    await expect(model.fit(data, { resume, epochs: 2, optimizer: 'adam' })).rejects.toThrow(/trained with options\.optimizer "adamw", not "adam"/);
    await expect(model.fit(data, { resume, epochs: 2, weightDecay: 0.02 })).rejects.toThrow(/trained with options\.weightDecay 0\.01, not 0\.02/);
    await expect(model.fit(data, { resume, epochs: 2, clipGradNorm: 1 })).rejects.toThrow(/trained with options\.clipGradNorm 0\.5, not 1/);
    model.dispose();
  });

  it('checks the options', async () => {
    const model = await DMDLKNet.create(tiny, { device: 'cpu' });
    await expect(model.fit(data, { epochs: 1, optimizer: 'sgd' as never })).rejects.toThrow(/^options\.optimizer must be 'adam' or 'adamw', got the string 'sgd'$/);
    await expect(model.fit(data, { epochs: 1, weightDecay: -1 })).rejects.toThrow(InvalidArgumentError);
    await expect(model.fit(data, { epochs: 1, clipGradNorm: Number.NaN })).rejects.toThrow(/options\.clipGradNorm must be a number in \[0, 1000000\]/);
    model.dispose();
  });
});
