// dmdlk train: the paper's recipe on a folder of dermoscopy images.
import * as path from 'path';

import { DMDLKNet } from '../model';
import { resolveCheckpoint } from '../train/checkpoints';
import { choiceFlag, Command, integerFlag, numberFlag, stringFlag, UsageError } from './args';
import { dataHelp, dataOptions, describeSplits, loadFromFlags } from './data-flags';
import { configFlag, deviceFlag, deviceHelp } from './model-flags';
import { trainAndReport } from './training-run';

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train DMDLK-Net on dermoscopy images and masks (Adam, lr 1e-4, batch 4, cross-entropy: the paper\'s recipe).',
  usage: 'dmdlk train --data DIR [--out DIR] [options]',
  options: {
    ...dataOptions,
    out: { type: 'string' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' }, lr: { type: 'string' },
    loss: { type: 'string' }, config: { type: 'string' }, 'input-size': { type: 'string' }, augment: { type: 'string' },
    expand: { type: 'string' }, resume: { type: 'string' }, device: { type: 'string' }, seed: { type: 'string' },
    overlays: { type: 'string' },
  },
  help: [
    ...dataHelp,
    '  --out DIR                where checkpoints, model, metrics.json and curves go (default dmdlk-run)',
    '  --epochs N               default 200',
    '  --batch-size N           default 4',
    '  --lr X                   Adam learning rate, default 1e-4',
    '  --loss ce|ce+dice        default ce',
    '  --config JSON|FILE       model configuration (architecture.md fields); default: the paper\'s model',
    '  --input-size N           side the images are resized to (multiple of 32; default 448)',
    '  --augment none|online|offline  random flips/rotation/scale/shift/colour/blur per step, or the',
    '                           paper\'s fixed expansion of the training set (default none)',
    '  --expand N               offline expansion factor (default 3)',
    '  --resume PATH            continue from a checkpoint file or folder, exactly as if never stopped',
    deviceHelp,
    '  --seed N                 data order, splits and augmentation (default 0)',
    '  --overlays N             overlay pictures of the first N test images (default 8)',
  ],
  async run(values) {
    const out = stringFlag(values.out) ?? 'dmdlk-run';
    const device = deviceFlag(values.device);
    const seed = integerFlag(values.seed, 'seed', 0, 0);
    const augment = choiceFlag(values.augment, 'augment', ['none', 'online', 'offline'] as const, 'none');
    if (values.expand !== undefined && augment !== 'offline') throw new UsageError('--expand needs --augment offline');
    const expand = integerFlag(values.expand, 'expand', 3, 2);
    let model: DMDLKNet;
    if (typeof values.resume === 'string') {
      if (values.config !== undefined || values['input-size'] !== undefined) throw new UsageError('--resume takes the configuration from the checkpoint: drop --config and --input-size');
      model = await DMDLKNet.load(resolveCheckpoint(values.resume), { device });
    } else {
      model = await DMDLKNet.create(configFlag(values.config, values['input-size']), { device, seed });
    }
    const { total } = await model.summary();
    console.log(`DMDLK-Net: ${(total.parameters / 1e6).toFixed(2)} M parameters, input ${model.config.inputSize}², on ${device}`);
    const splits = await loadFromFlags(values, model.config.inputSize, seed);
    console.log(`data: ${describeSplits(splits)}`);
    await trainAndReport(model, splits, out, {
      epochs: integerFlag(values.epochs, 'epochs', 200), batchSize: integerFlag(values['batch-size'], 'batch-size', 4),
      lr: numberFlag(values.lr, 'lr', 1e-4), loss: choiceFlag(values.loss, 'loss', ['ce', 'ce+dice'] as const, 'ce'), seed,
      ...(augment === 'online' ? { augment: true } : augment === 'offline' ? { augment: { expand } } : {}),
      ...(typeof values.resume === 'string' ? { resume: values.resume } : {}),
    }, integerFlag(values.overlays, 'overlays', 8, 0));
    console.log(`wrote ${path.join(out, 'model.safetensors')}, metrics.json, curves.svg/png and checkpoints/ in ${out}`);
    model.dispose();
  },
};
