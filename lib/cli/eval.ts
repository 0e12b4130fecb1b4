// dmdlk eval: the paper's metrics of a trained model on a labelled folder.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { SegmentationDataset } from '../data/dataset';
import { isISIC2018, loadFolders, loadISIC2018 } from '../data/load';
import type { DMDLKNet } from '../model';
import { readSafetensors } from '../safetensors';
import { choiceFlag, type Command, type FlagValues, givenNumber, numberFlag, stringFlag, UsageError } from './args';
import { checkDataFlags, dataHelp, dataOptions, onErrorFlag } from './data-flags';
import { checkpointFlag, deviceFlag, deviceHelp, loadModelFlag, precisionFlag, precisionHelp, ttaFlag, ttaHelp } from './model-flags';
import { printMetrics, writeJson, writeOverlays } from './report';

type Split = 'auto' | 'train' | 'validation' | 'test';

/** The seed a checkpoint's training run split its data with (its training state, or the final model's dataSeed), else 0. */
async function trainingSeed(file: string): Promise<number> {
  const { tensors, metadata } = await readSafetensors(file);
  for (const t of tensors.values()) t.dispose();
  const fromState = metadata.training ? (JSON.parse(metadata.training) as { seed?: number }).seed : undefined;
  return fromState ?? (metadata.dataSeed !== undefined ? Number(metadata.dataSeed) : 0);
}

/** The images to score and what to call them. */
async function chooseData(values: FlagValues, model: DMDLKNet, split: Split,
  seed: number): Promise<{ data: SegmentationDataset; label: string }> {
  const options = { inputSize: model.config.inputSize, onError: onErrorFlag(values['on-error']), ...(values['no-cache'] ? { cache: false as const } : {}) };
  if (typeof values.images === 'string' && typeof values.masks === 'string') {
    return { data: await loadFolders(values.images, values.masks, options), label: `every pair of ${values.images} and ${values.masks}` };
  }
  const root = values.data as string;
  if (!isISIC2018(root)) {
    return { data: await loadFolders(path.join(root, 'images'), path.join(root, 'masks'), options), label: `every pair of ${root}` };
  }
  const splits = await loadISIC2018(root, { ...options, seed });
  const name = split === 'auto' ? (splits.test ? 'test' : splits.validation ? 'validation' : 'train') : split;
  const chosen = splits[name];
  if (!chosen) throw new UsageError(`--split ${split}: '${root}' has no ${name} split`);
  // Without a test folder, the training folder was divided by the seed (all but a validation folder, if any).
  const has = (folder: string): boolean => fs.existsSync(path.join(root, `ISIC2018_Task1-2_${folder}_Input`));
  const seeded = name === 'validation' ? !has('Validation') : !has('Test');
  return { data: chosen, label: `the ${name} split of ${root}${seeded ? ` (seed ${seed})` : ''}` };
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Evaluate a trained model: IoU, Dice, accuracy, sensitivity, specificity (pooled and per image).',
  usage: 'dmdlk eval --model CHECKPOINT --data DIR [--out DIR] [options]',
  options: {
    ...dataOptions, model: { type: 'string' }, out: { type: 'string' }, split: { type: 'string' },
    device: { type: 'string' }, precision: { type: 'string' }, tta: { type: 'string' }, overlays: { type: 'boolean' },
  },
  help: [
    ['--model CHECKPOINT', 'a checkpoint written by dmdlk train or DMDLKNet.save(), a run folder\n(its model.safetensors) or a checkpoint folder (its newest)'],
    ...dataHelp,
    ['--split auto|train|validation|test', 'which ISIC-2018 split (default: test, else validation, else train)'],
    'seed',
    ['--out DIR', 'write metrics.json (and overlays/) there'],
    ['--overlays', 'overlay pictures (expert green, predicted magenta) at the images\' own size'],
    'batch-size',
    ttaHelp, deviceHelp, precisionHelp,
  ],
  async run(values) {
    const split = choiceFlag(values.split, 'split', ['auto', 'train', 'validation', 'test'] as const, 'auto');
    const batchSize = numberFlag(values, 'eval', 'batch-size');
    const out = stringFlag(values.out);
    if (values.overlays && !out) throw new UsageError('--overlays needs --out DIR');
    checkDataFlags(values);
    const device = deviceFlag(values.device);
    const tta = ttaFlag(values.tta);
    precisionFlag(values.precision, device);
    if (typeof values.model !== 'string') throw new UsageError('--model CHECKPOINT is required');
    const file = checkpointFlag(values.model, '--model');
    const model = await loadModelFlag(file, device);
    const seed = givenNumber(values, 'seed') ?? await trainingSeed(file);
    const { data, label } = await chooseData(values, model, split, seed);
    const metrics = await model.evaluate(data, { batchSize, tta });
    printMetrics(label, metrics);
    if (out) {
      writeJson(path.join(out, 'metrics.json'), { checkpoint: file, data: label, ...metrics });
      if (values.overlays) await writeOverlays(model, path.join(out, 'overlays'), data, data.samples.map((_, i) => i));
      console.log(`wrote ${path.join(out, 'metrics.json')}${values.overlays ? ` and ${data.length} overlays` : ''}`);
    }
    model.dispose();
  },
};
