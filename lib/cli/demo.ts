// dmdlk demo: the whole job with no data to bring. Trains a small DMDLK-Net
// on synthetic dermoscopy-like images (or on --data), evaluates it on
// held-out images, and writes metrics.json, overlays and learning curves.
import * as path from 'node:path';

import { syntheticLesions } from '../data/synthetic';
import type { ISICSplits } from '../data/load';
import { info } from '../info';
import type { ModelConfig } from '../model';
import { type Command, givenNumber, type HelpLine, numberFlag, stringFlag } from './args';
import { checkDataFlags, dataHelp, dataOptions, describeSplits, loadFromFlags } from './data-flags';
import { createModelFlag, deviceFlag, deviceHelp } from './model-flags';
import { formatScores } from './report';
import { trainAndReport } from './training-run';

/** Small enough to train in minutes on two CPU cores; every module of the full model is there. */
export const DEMO_CONFIG: ModelConfig = { stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Train a small DMDLK-Net on synthetic dermoscopy-like images (or --data), evaluate it, write the results.',
  usage: 'dmdlk demo [--out DIR] [--data DIR] [options]',
  options: { ...dataOptions, out: { type: 'string' }, device: { type: 'string' } },
  help: [
    ['--out DIR', 'where metrics.json, overlays/, curves and the model go (default dmdlk-demo)'],
    ...dataHelp.map(([flags, text]): HelpLine => [flags, flags === '--data DIR' ? `real images: ${text}` : text]),
    'count', 'epochs', 'input-size', 'batch-size', 'lr', deviceHelp, 'seed',
  ],
  async run(values) {
    // Every flag is checked (the numeric ones as they were parsed), and the model made, before any image is decoded.
    const out = stringFlag(values.out) ?? 'dmdlk-demo';
    const device = deviceFlag(values.device);
    const seed = numberFlag(values, 'demo', 'seed');
    const real = values.data !== undefined || values.images !== undefined || values.masks !== undefined;
    if (real) checkDataFlags(values);
    const count = numberFlag(values, 'demo', 'count');
    const options = { epochs: numberFlag(values, 'demo', 'epochs'), batchSize: numberFlag(values, 'demo', 'batch-size'),
      lr: numberFlag(values, 'demo', 'lr'), seed, augment: true };
    // Two defaults, as the table says in words: synthetic images are drawn at 64², real ones resized to 128².
    const inputSize = givenNumber(values, 'input-size') ?? (real ? 128 : 64);
    const model = await createModelFlag({ ...DEMO_CONFIG, inputSize }, values, device, seed);
    const i = info();
    console.log(`dmdlk-native ${i.version}: ${model.device === 'cpu' ? `CPU, ${i.cpu.threads} threads (${i.cpu.simd})` : `GPU ${i.cuda.devices[0]?.name ?? model.device}`}`);
    let splits: ISICSplits;
    if (real) {
      splits = await loadFromFlags(values, inputSize, seed);
    } else {
      const [train, validation, test] = syntheticLesions({ count, size: inputSize, seed }).split([0.7, 0.1, 0.2], seed);
      splits = { train, validation, test };
    }
    console.log(`data: ${real ? '' : 'synthetic, '}${describeSplits(splits)}, at ${inputSize}×${inputSize}`);
    const { total } = await model.summary();
    console.log(`model: ${total.parameters.toLocaleString('en')} parameters, ${(total.macs / 1e6).toFixed(0)} MMAC per image`);
    const started = Date.now();
    const { test } = await trainAndReport(model, splits, out, options, 8);
    console.log(`trained and evaluated in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (test) console.log(`result: ${formatScores(test.pooled)} (pooled, held-out)`);
    console.log(`wrote ${path.join(out, 'metrics.json')}, ${path.join(out, 'overlays')}/, ${path.join(out, 'curves.svg')} and curves.png, ${path.join(out, 'model.safetensors')}`);
    model.dispose();
  },
};
