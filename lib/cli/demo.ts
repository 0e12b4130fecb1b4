// dmdlk demo: the whole job with no data to bring. Trains a small DMDLK-Net
// on synthetic dermoscopy-like images (or on --data), evaluates it on
// held-out images, and writes metrics.json, overlays and learning curves.
import * as path from 'path';

import { syntheticLesions } from '../data/synthetic';
import type { ISICSplits } from '../data/load';
import { info } from '../info';
import { DMDLKNet, ModelConfig } from '../model';
import { Command, integerFlag, numberFlag, stringFlag } from './args';
import { dataHelp, dataOptions, describeSplits, loadFromFlags } from './data-flags';
import { deviceFlag, deviceHelp } from './model-flags';
import { formatScores } from './report';
import { trainAndReport } from './training-run';

/** Small enough to train in minutes on two CPU cores; every module of the full model is there. */
export const DEMO_CONFIG: ModelConfig = { stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Train a small DMDLK-Net on synthetic dermoscopy-like images (or --data), evaluate it, write the results.',
  usage: 'dmdlk demo [--out DIR] [--data DIR] [options]',
  options: {
    ...dataOptions, out: { type: 'string' }, epochs: { type: 'string' }, count: { type: 'string' }, 'input-size': { type: 'string' },
    'batch-size': { type: 'string' }, lr: { type: 'string' }, device: { type: 'string' }, seed: { type: 'string' },
  },
  help: [
    '  --out DIR                where metrics.json, overlays/, curves and the model go (default dmdlk-demo)',
    ...dataHelp.map((l) => l.replace('--data DIR     ', '--data DIR real')),
    '  --count N                synthetic images (default 400: 70% train, 10% validation, 20% test)',
    '  --epochs N               default 12',
    '  --input-size N           default 64 for synthetic data, 128 for real data',
    '  --batch-size N           default 8',
    '  --lr X                   default 3e-3 (higher than the paper\'s 1e-4: a small model, few epochs)',
    deviceHelp,
    '  --seed N                 default 0',
  ],
  async run(values) {
    const out = stringFlag(values.out) ?? 'dmdlk-demo';
    const device = deviceFlag(values.device);
    const seed = integerFlag(values.seed, 'seed', 0, 0);
    const real = values.data !== undefined || values.images !== undefined;
    const inputSize = integerFlag(values['input-size'], 'input-size', real ? 128 : 64, 32);
    const i = info();
    console.log(`dmdlk-native ${i.version}: ${device === 'cpu' ? `CPU, ${i.cpu.threads} threads (${i.cpu.simd})` : `GPU ${i.cuda.devices[0]?.name ?? device}`}`);
    let splits: ISICSplits;
    if (real) {
      splits = await loadFromFlags(values, inputSize, seed);
    } else {
      const [train, validation, test] = syntheticLesions({ count: integerFlag(values.count, 'count', 400, 10), size: inputSize, seed })
        .split([0.7, 0.1, 0.2], seed);
      splits = { train, validation, test };
    }
    console.log(`data: ${real ? '' : 'synthetic, '}${describeSplits(splits)}, at ${inputSize}×${inputSize}`);
    const model = await DMDLKNet.create({ ...DEMO_CONFIG, inputSize }, { device, seed });
    const { total } = await model.summary();
    console.log(`model: ${total.parameters.toLocaleString('en')} parameters, ${(total.macs / 1e6).toFixed(0)} MMAC per image`);
    const started = Date.now();
    const { test } = await trainAndReport(model, splits, out, {
      epochs: integerFlag(values.epochs, 'epochs', 12), batchSize: integerFlag(values['batch-size'], 'batch-size', 8),
      lr: numberFlag(values.lr, 'lr', 3e-3), seed, augment: true,
    }, 8);
    console.log(`trained and evaluated in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (test) console.log(`result: ${formatScores(test.pooled)} (pooled, held-out)`);
    console.log(`wrote ${path.join(out, 'metrics.json')}, ${path.join(out, 'overlays')}/, ${path.join(out, 'curves.svg')} and curves.png, ${path.join(out, 'model.safetensors')}`);
    model.dispose();
  },
};
