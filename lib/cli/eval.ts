// dmdlk eval: the paper's metrics of a trained model on a labelled folder.
import * as fs from 'fs';
import * as path from 'path';

import { sharp } from '../sharp';

import type { SegmentationDataset } from '../data/dataset';
import { isISIC2018, loadFolders, loadISIC2018 } from '../data/load';
import { DMDLKNet } from '../model';
import { overlayPng } from '../viz/overlay';
import { choiceFlag, Command, integerFlag, stringFlag, UsageError } from './args';
import { dataHelp, dataOptions } from './data-flags';
import { deviceFlag, deviceHelp, loadModelFlag } from './model-flags';
import { printMetrics, writeDatasetOverlays, writeJson } from './report';

/** The expert mask of a file at its original size (EXIF orientation applied), as 0/1. */
export async function expertMask(file: string): Promise<Uint8Array> {
  const data = await sharp(file).rotate().greyscale().extractChannel(0).raw().toBuffer();
  return Uint8Array.from(data, (v) => (v > 127 ? 1 : 0));
}

async function chooseData(values: Record<string, string | boolean | undefined>, model: DMDLKNet,
  split: string): Promise<SegmentationDataset> {
  const inputSize = model.config.inputSize;
  const options = { inputSize, onError: (values['on-error'] ?? 'fail') as 'fail' | 'skip', ...(values['no-cache'] ? { cache: false as const } : {}) };
  if (typeof values.images === 'string' && typeof values.masks === 'string') return loadFolders(values.images, values.masks, options);
  if (typeof values.data !== 'string') throw new UsageError('give --data DIR, or both --images DIR and --masks DIR');
  if (!isISIC2018(values.data)) return loadFolders(path.join(values.data, 'images'), path.join(values.data, 'masks'), options);
  const splits = await loadISIC2018(values.data, options);
  const chosen = split === 'auto' ? splits.test ?? splits.validation ?? splits.train : splits[split as 'train' | 'validation' | 'test'];
  if (!chosen) throw new UsageError(`'${values.data}' has no ${split} split`);
  return chosen;
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Evaluate a trained model: IoU, Dice, accuracy, sensitivity, specificity (pooled and per image).',
  usage: 'dmdlk eval --model CHECKPOINT --data DIR [--out DIR] [options]',
  options: {
    ...dataOptions, model: { type: 'string' }, out: { type: 'string' }, split: { type: 'string' },
    'batch-size': { type: 'string' }, device: { type: 'string' }, overlays: { type: 'boolean' },
  },
  help: [
    '  --model CHECKPOINT       a .safetensors checkpoint written by dmdlk train or DMDLKNet.save()',
    ...dataHelp,
    '  --split auto|train|validation|test  which ISIC-2018 split (default: test, else validation, else train)',
    '  --out DIR                write metrics.json (and overlays/) there',
    '  --overlays               overlay pictures (expert green, predicted magenta) at the images\' own size',
    '  --batch-size N           images per forward pass (default 4)',
    deviceHelp,
  ],
  async run(values) {
    const model = await loadModelFlag(values.model, deviceFlag(values.device));
    const split = choiceFlag(values.split, 'split', ['auto', 'train', 'validation', 'test'] as const, 'auto');
    const data = await chooseData(values, model, split);
    const out = stringFlag(values.out);
    if (values.overlays && !out) throw new UsageError('--overlays needs --out DIR');
    const metrics = await model.evaluate(data, { batchSize: integerFlag(values['batch-size'], 'batch-size', 4) });
    printMetrics(`${data.length} images`, metrics);
    if (out) {
      writeJson(path.join(out, 'metrics.json'), { checkpoint: values.model, ...metrics });
      if (values.overlays) {
        const dir = path.join(out, 'overlays');
        fs.mkdirSync(dir, { recursive: true });
        for (const [index, sample] of data.samples.entries()) {
          if (sample.imagePath && sample.maskPath) {
            const prediction = await model.predict(sample.imagePath);
            const png = await overlayPng(sample.imagePath, prediction.mask, await expertMask(sample.maskPath));
            fs.writeFileSync(path.join(dir, `${sample.name}.png`), png);
          } else {
            const predicted = await model.predict(data.batch([index]).images);
            await writeDatasetOverlays(dir, data, predicted.masks.toArray() as Uint8Array, [index]);
          }
        }
      }
      console.log(`wrote ${path.join(out, 'metrics.json')}${values.overlays ? ` and ${data.length} overlays` : ''}`);
    }
    model.dispose();
  },
};
