// Train on a folder of dermoscopy images: the ISIC-2018 Task 1 layout, or
// DIR/images + DIR/masks matched by name. Saves the model and prints the
// paper's metrics on the held-out split.
//
//   npx ts-node examples/train-folder.ts DATA_DIR [OUT_DIR] [EPOCHS] [INPUT_SIZE]
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DMDLKNet, loadISIC2018 } from 'dmdlk-native';

async function main(): Promise<void> {
  const [data, out = 'train-folder-out', epochs = '20', inputSize = '128'] = process.argv.slice(2);
  if (!data) throw new Error('usage: train-folder.ts DATA_DIR [OUT_DIR] [EPOCHS] [INPUT_SIZE]');
  const { train, validation, test } = await loadISIC2018(data, { inputSize: Number(inputSize), onError: 'skip' });
  console.log(`train ${train.length}, validation ${validation?.length ?? 0}, test ${test?.length ?? 0} images` +
    (train.problems.length ? ` (${train.problems.length} skipped)` : ''));

  // A smaller model than the paper's for a quick run; drop the overrides for the full DMDLK-Net.
  const model = await DMDLKNet.create({ inputSize: Number(inputSize), stem: 16, widths: [16, 32, 48, 64], depths: [1, 1, 1, 1],
    headDim: 16 });  // on the GPU where there is one (device 'auto')
  fs.mkdirSync(out, { recursive: true });
  const history = await model.fit(train, {
    epochs: Number(epochs), batchSize: 4, lr: 1e-3, augment: true, ...(validation ? { validation } : {}),
    checkpoint: { dir: path.join(out, 'checkpoints') },
    onEpoch: (e) => console.log(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)}` +
      (e.validation ? `, validation Dice ${e.validation.dice.toFixed(3)}` : '')),
  });
  await model.save(path.join(out, 'model.safetensors'));
  if (test) {
    const m = await model.evaluate(test);
    console.log(`test: pooled Dice ${m.pooled.dice.toFixed(3)}, IoU ${m.pooled.iou.toFixed(3)}, accuracy ${m.pooled.accuracy.toFixed(3)}`);
  }
  console.log(`${history.globalStep} steps; model in ${path.join(out, 'model.safetensors')}`);
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
