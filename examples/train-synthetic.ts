// The training API in one page: a dataset (synthetic here; loadISIC2018 or
// loadFolders for real images), fit with validation, checkpoints and Ctrl-C,
// the paper's metrics on held-out images, and a prediction written as PNG.
//
//   npx ts-node examples/train-synthetic.ts [EPOCHS]
import * as fs from 'node:fs';

import { DMDLKNet, overlayPng, syntheticLesions } from 'dmdlk-native';

async function main(): Promise<void> {
  const epochs = Number(process.argv[2] ?? 8);
  const [train, validation, test] = syntheticLesions({ count: 300, size: 64, seed: 1 }).split([0.7, 0.1, 0.2], 1);
  const model = await DMDLKNet.create({ inputSize: 64, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 },
    { seed: 1 });  // device 'auto': the GPU where there is one

  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());  // stops between steps, after writing a checkpoint
  const history = await model.fit(train, {
    epochs, batchSize: 8, lr: 3e-3, augment: true, validation, signal: controller.signal,
    checkpoint: { dir: 'example-checkpoints', keep: 2 },  // fit(..., { resume: 'example-checkpoints' }) continues
    onEpoch: (e) => console.log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, validation Dice ${e.validation?.dice.toFixed(3)}`),
  });

  const metrics = await model.evaluate(test);
  console.log(`held-out: pooled Dice ${metrics.pooled.dice.toFixed(3)}, IoU ${metrics.pooled.iou.toFixed(3)}; ` +
    `per image Dice ${metrics.perImage.dice.toFixed(3)} (${history.globalStep} steps)`);

  const first = test.batch([0]);
  const { masks } = await model.predict(first.images);
  fs.writeFileSync('example-overlay.png', await overlayPng({ rgb: test.images.subarray(0, 64 * 64 * 3), width: 64, height: 64 },
    masks.toArray() as Uint8Array, test.masks.subarray(0, 64 * 64)));
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
