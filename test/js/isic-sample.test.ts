// Real ISIC dermoscopy images with expert masks, where this machine has them
// (the folder DMDLK_ISIC_SAMPLE names, else ../shared/data/isic-sample beside
// the checkout; the ISIC-2018 layout or images/ and masks/): a small
// configuration trained on part of them must learn — its loss falls and its
// Dice on the rest is clearly above a constant predictor's.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DMDLKNet, loadISIC2018, SegmentationDataset } from '../../lib';

const sample = process.env.DMDLK_ISIC_SAMPLE ?? path.join(__dirname, '..', '..', '..', 'shared', 'data', 'isic-sample');
const present = fs.existsSync(sample);
const why = process.env.DMDLK_ISIC_SAMPLE
  ? `DMDLK_ISIC_SAMPLE names '${sample}', which does not exist`
  : `no '${sample}' here, and DMDLK_ISIC_SAMPLE names no other folder`;
if (!present) console.log(`real ISIC images: skipped, ${why}`);

(present ? describe : describe.skip)(`real ISIC images (${present ? sample : `skipped: ${why}`})`, () => {
  it('a short CPU run learns', async () => {
    const splits = await loadISIC2018(sample, { inputSize: 64, split: [0.7, 0.3], seed: 1 });
    const all = [splits.train, splits.validation, splits.test].filter((d): d is SegmentationDataset => d !== undefined);
    const [train, test] = all.length === 2 ? all : [all[0], all.slice(1).reduce((a, b) => SegmentationDataset.concat(a, b))];
    const model = await DMDLKNet.create({ inputSize: 64, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 }, { seed: 1 });
    const history = await model.fit(train, { epochs: 6, batchSize: 8, lr: 3e-3, augment: true });
    expect(history.epochs.at(-1)!.loss).toBeLessThan(0.8 * history.epochs[0].loss);
    const m = await model.evaluate(test);
    const p = test.masks.reduce((s, v) => s + v, 0) / test.masks.length;
    console.log(`real ISIC sample: ${train.length} train / ${test.length} test images at 64², pooled Dice ${m.pooled.dice.toFixed(3)}, ` +
      `IoU ${m.pooled.iou.toFixed(3)}; constant predictor's Dice ${((2 * p) / (1 + p)).toFixed(3)}`);
    expect(m.pooled.dice).toBeGreaterThan((2 * p) / (1 + p) + 0.1);
    model.dispose();
  }, 600000);
});
