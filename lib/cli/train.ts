// dmdlk train: the paper's recipe on a folder of dermoscopy images. Every
// flag is checked before any image is decoded; with --resume, every training
// setting comes from the checkpoint, and flags repeated from the first run
// are accepted when they agree with it.
import * as path from 'node:path';

import { resolveAugment, type ResolvedAugment } from '../data/augment';
import { InvalidArgumentError } from '../errors';
import { DMDLKNet, type ModelConfig } from '../model';
import { readTrainingState, resolveCheckpoint } from '../train/checkpoints';
import type { FitOptions } from '../train/fit';
import { resumedSettings, type SettingName, type TrainingSettings } from '../train/resume';
import * as check from '../validate';
import { choiceFlag, type Command, integerFlag, learningRateFlag, shellCommand, stringFlag, UsageError } from './args';
import { checkDataFlags, dataHelp, dataOptions, describeSplits, loadFromFlags } from './data-flags';
import { checkpointFlag, CONFIGURATION_REFERENCE, configFlag, createModelFlag, deviceFlag, deviceHelp } from './model-flags';
import { trainAndReport } from './training-run';

/** Each setting's flag, as messages name it. */
const FLAG: Record<SettingName, string> = { batchSize: '--batch-size', lr: '--lr', loss: '--loss', seed: '--seed', augment: '--augment' };

/** A setting's value in the CLI's terms. */
function showFlagValue(setting: SettingName, value: unknown): string {
  if (setting !== 'augment') return String(value);
  const a = value as ResolvedAugment | null;
  if (a === null) return 'none';
  const custom = a.json !== resolveAugment(true)?.json ? ' (with options set through the API)' : '';
  return a.expand > 1 ? `offline --expand ${a.expand}${custom}` : `online${custom}`;
}

/** The augmentation the flags ask for, or undefined when --augment is absent. */
function augmentFlags(values: Record<string, string | boolean | undefined>): FitOptions['augment'] {
  const augment = values.augment === undefined ? undefined : choiceFlag(values.augment, 'augment', ['none', 'online', 'offline'] as const, 'none');
  if (values.expand !== undefined && augment !== 'offline') throw new UsageError('--expand needs --augment offline');
  if (augment === 'offline') return { expand: integerFlag(values.expand, 'expand', 3, 2) };
  return augment === undefined ? undefined : augment === 'online';
}

/** Where the checkpoint's configuration and the flags disagree, a usage error naming both. */
function checkConfigFlags(file: string, checkpoint: Required<ModelConfig>, flags: ModelConfig,
  values: Record<string, string | boolean | undefined>): void {
  for (const [field, value] of Object.entries(flags) as [keyof ModelConfig, unknown][]) {
    if (JSON.stringify(value) === JSON.stringify(checkpoint[field])) continue;
    const byFlag = field === 'inputSize' && values['input-size'] !== undefined;
    throw new UsageError(`cannot resume from '${file}': it was trained with ${byFlag ? '--input-size' : `--config ${field}`} ` +
      `${JSON.stringify(checkpoint[field])}, not ${JSON.stringify(value)}; ` +
      `leave ${byFlag ? '--input-size out' : `${field} out of --config`} to continue with the checkpoint's`);
  }
}

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
    ['--out DIR', 'where checkpoints, model, metrics.json and curves go (default dmdlk-run)'],
    ['--epochs N', 'default 200'],
    ['--batch-size N', 'default 4'],
    ['--lr X', 'Adam learning rate, default 1e-4'],
    ['--loss ce|ce+dice', 'default ce'],
    ['--config JSON|FILE', `model configuration; default: the paper's model. Every field, its default\nand range: ${CONFIGURATION_REFERENCE}`],
    ['--input-size N', 'side the images are resized to (multiple of 32; default 448)'],
    ['--augment none|online|offline', 'random flips/rotation/scale/shift/colour/blur per step, or the\npaper\'s fixed expansion of the training set (default none)'],
    ['--expand N', 'offline expansion factor (default 3)'],
    ['--resume PATH', 'continue from a checkpoint file or folder, exactly as if never stopped: the\nmodel and every training setting come from the checkpoint (flags that agree\nwith it are accepted, others refused); --epochs may extend the run'],
    deviceHelp,
    ['--seed N', 'data order, splits and augmentation (default 0)'],
    ['--overlays N', 'overlay pictures of the first N test images (default 8)'],
  ],
  async run(values) {
    const out = stringFlag(values.out) ?? 'dmdlk-run';
    const device = deviceFlag(values.device);
    const overlays = integerFlag(values.overlays, 'overlays', 8, 0);
    const epochs = values.epochs === undefined ? undefined : integerFlag(values.epochs, 'epochs', 200);
    const options: FitOptions = {
      ...(epochs !== undefined ? { epochs } : {}),
      ...(values['batch-size'] !== undefined ? { batchSize: integerFlag(values['batch-size'], 'batch-size', 4) } : {}),
      ...(values.lr !== undefined ? { lr: learningRateFlag(values.lr, 'lr') } : {}),
      ...(values.loss !== undefined ? { loss: choiceFlag(values.loss, 'loss', check.LOSS_NAMES, 'ce') } : {}),
      ...(values.seed !== undefined ? { seed: integerFlag(values.seed, 'seed', 0, 0) } : {}),
    };
    const augment = augmentFlags(values);
    if (augment !== undefined) options.augment = augment;
    const configFlags = configFlag(values.config, values['input-size']);
    checkDataFlags(values);

    let model: DMDLKNet;
    let resumeFrom = '';
    let seed = options.seed ?? 0;
    if (typeof values.resume === 'string') {
      const file = checkpointFlag(values.resume, '--resume', resolveCheckpoint);
      const { state } = await readTrainingState(file);
      const given: Partial<TrainingSettings> = {
        batchSize: options.batchSize, lr: options.lr, loss: options.loss, seed: options.seed,
        ...(augment !== undefined ? { augment: resolveAugment(augment) } : {}),
      };
      let settings: TrainingSettings;
      try {
        settings = resumedSettings(file, state, given, (setting) => FLAG[setting], showFlagValue);
      } catch (error) {
        if (error instanceof InvalidArgumentError) throw new UsageError(error.message);
        throw error;
      }
      if (epochs !== undefined && epochs < state.epoch) {
        throw new UsageError(`--epochs ${epochs}: the checkpoint '${file}' has trained ${state.epoch} epochs already`);
      }
      seed = settings.seed;  // the checkpoint's: the same splits and data order
      model = await DMDLKNet.load(file, { device });
      checkConfigFlags(file, model.config, configFlags, values);
      options.resume = values.resume;
      resumeFrom = `resuming from ${file} (epoch ${state.epoch + 1}, ${state.stepInEpoch} steps into it; ` +
        `batch size ${settings.batchSize}, lr ${settings.lr}, loss ${settings.loss}, seed ${settings.seed}, augment ${showFlagValue('augment', settings.augment)})`;
    } else {
      model = await createModelFlag(configFlags, values, device, seed);
    }
    const { total } = await model.summary();
    console.log(`DMDLK-Net: ${(total.parameters / 1e6).toFixed(2)} M parameters, input ${model.config.inputSize}², on ${model.device}`);
    if (resumeFrom) console.log(resumeFrom);
    options.seed = seed;
    const splits = await loadFromFlags(values, model.config.inputSize, seed);
    console.log(`data: ${describeSplits(splits)}`);
    // The same command with --resume continues it: every flag given here agrees with the checkpoint it will name.
    const resumeCommand = shellCommand(['dmdlk', 'train', ...Object.entries(values).filter(([flag]) => flag !== 'resume')
      .flatMap(([flag, v]) => (v === true ? [`--${flag}`] : typeof v === 'string' ? [`--${flag}`, v] : [])),
    '--resume', path.join(out, 'checkpoints')]);
    await trainAndReport(model, splits, out, options, overlays, resumeCommand);
    console.log(`wrote ${path.join(out, 'model.safetensors')}, metrics.json, curves.svg/png and checkpoints/ in ${out}`);
    model.dispose();
  },
};
