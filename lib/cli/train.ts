// dmdlk train: the paper's recipe on a folder of dermoscopy images. Every
// flag is checked before any image is decoded; with --resume, every training
// setting comes from the checkpoint, and flags repeated from the first run
// are accepted when they agree with it.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { resolveAugment, type ResolvedAugment } from '../data/augment';
import { CheckpointError, InvalidArgumentError } from '../errors';
import { DMDLKNet, type ModelConfig } from '../model';
import { readTrainingState, removeUnfinishedCheckpointFiles, resolveCheckpoint } from '../train/checkpoints';
import type { FitOptions } from '../train/fit';
import { resumedSettings, type SettingName, type TrainingSettings } from '../train/resume';
import { givenWeightDecay, OPTIMIZER_NAMES } from '../train/optimizer';
import { type ResolvedSchedule, resolveSchedule, SCHEDULE_NAMES, type ScheduleOptions } from '../train/schedule';
import * as check from '../validate';
import { choiceFlag, type Command, type FlagValues, givenNumber, numberFlag, shellCommand, stringFlag, UsageError } from './args';
import { checkDataFlags, dataHelp, dataOptions, describeSplits, loadFromFlags } from './data-flags';
import { checkpointFlag, CONFIGURATION_REFERENCE, configFlag, createModelFlag, deviceFlag, deviceHelp, givenConfigFlag, loadModelFlag, precisionFlag,
  precisionHelp } from './model-flags';
import { commandWords } from './invocation';
import { plural } from './report';
import { trainAndReport } from './training-run';

/** Each setting's flag, as messages name it. */
const FLAG: Record<SettingName, string> = {
  batchSize: '--batch-size', lr: '--lr', schedule: '--schedule/--warmup', optimizer: '--optimizer', weightDecay: '--weight-decay',
  clipGradNorm: '--clip-grad-norm', loss: '--loss', seed: '--seed', augment: '--augment',
};

/** A setting's value in the CLI's terms. */
function showFlagValue(setting: SettingName, value: unknown): string {
  if (setting === 'schedule') {
    const s = value as ResolvedSchedule;
    return `${s.name} --warmup ${s.warmupEpochs}${s.name === 'step' ? ` (every ${s.stepEvery} epochs)` : ''}`;
  }
  if (setting !== 'augment') return String(value);
  const a = value as ResolvedAugment | null;
  if (a === null) return 'none';
  const custom = a.json !== resolveAugment(true)?.json ? ' (with options set through the API)' : '';
  return a.expand > 1 ? `offline --expand ${a.expand}${custom}` : `online${custom}`;
}

/** The augmentation the flags ask for, or undefined when --augment is absent. */
function augmentFlags(values: FlagValues): FitOptions['augment'] {
  const augment = values.augment === undefined ? undefined : choiceFlag(values.augment, 'augment', ['none', 'online', 'offline'] as const, 'none');
  if (values.expand !== undefined && augment !== 'offline') throw new UsageError('--expand needs --augment offline');
  if (augment === 'offline') return { expand: numberFlag(values, 'train', 'expand') };
  return augment === undefined ? undefined : augment === 'online';
}

/** The schedule --schedule and --warmup ask for, or undefined when both are absent. */
function scheduleFlags(values: FlagValues): ScheduleOptions | undefined {
  if (values.schedule === undefined && values.warmup === undefined) return undefined;
  return { name: choiceFlag(values.schedule, 'schedule', SCHEDULE_NAMES, 'constant'), warmupEpochs: givenNumber(values, 'warmup') ?? 0 };
}

/** Where the checkpoint's configuration and the flags disagree, a usage error naming both. */
function checkConfigFlags(file: string, checkpoint: Required<ModelConfig>, flags: ModelConfig,
  values: FlagValues, verb = 'resume from'): void {
  for (const [field, value] of Object.entries(flags) as [keyof ModelConfig, unknown][]) {
    if (JSON.stringify(value) === JSON.stringify(checkpoint[field])) continue;
    const flag = givenConfigFlag(values, field);
    throw new UsageError(`cannot ${verb} '${file}': it was trained with ${flag ?? `--config ${field}`} ` +
      `${JSON.stringify(checkpoint[field])}, not ${JSON.stringify(value)}; ` +
      `leave ${flag ? `${flag} out` : `${field} out of --config`} to go on with the checkpoint's`);
  }
}

/**
 * The checkpoint --resume names (resolveCheckpoint's rule), saying so where
 * `removal` (what an interrupted run left, removed) is not empty.
 */
function newestComplete(target: string, removal: string): string {
  let file: string;
  try {
    file = resolveCheckpoint(target);
  } catch (error) {
    if (removal && error instanceof CheckpointError) throw new CheckpointError(`${removal}; '${target}' holds no complete checkpoint`);
    throw error;
  }
  if (removal) console.log(`${removal}; resuming from the newest complete checkpoint`);
  return file;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train DMDLK-Net on dermoscopy images and masks (Adam, lr 1e-4, batch 4, cross-entropy: the paper\'s recipe).',
  usage: 'dmdlk train --data DIR [--out DIR] [options]',
  options: {
    ...dataOptions,
    out: { type: 'string' }, loss: { type: 'string' }, schedule: { type: 'string' }, optimizer: { type: 'string' }, save: { type: 'string' }, config: { type: 'string' }, augment: { type: 'string' },
    resume: { type: 'string' }, init: { type: 'string' }, device: { type: 'string' }, precision: { type: 'string' }, logdir: { type: 'string' },
  },
  help: [
    ...dataHelp,
    ['--out DIR', 'where checkpoints, model, metrics.json and curves go (default dmdlk-run)'],
    'epochs', 'batch-size', 'lr',
    ['--schedule constant|cosine|poly|step', 'the learning rate per step: constant (the paper\'s, default), cosine to 0,\npoly (power 0.9) or step (×0.1 every third of the epochs), each after --warmup'],
    'warmup',
    ['--optimizer adam|adamw', 'Adam (the paper\'s, default) or AdamW\'s decoupled weight decay (PyTorch\'s)'],
    'weight-decay', 'clip-grad-norm',
    ['--loss ce|ce+dice', 'default ce'],
    'patience', 'min-delta',
    ['--save last|best', 'model.safetensors is the last epoch\'s model (default) or the best validation\nepoch\'s; best.safetensors is written either way where there is a validation set'],
    'keep',
    ['--logdir DIR', 'where steps.jsonl (a line per step), epochs.csv and the TensorBoard event files go (default: --out)'],
    ['--config JSON|FILE', `model configuration; default: the paper's model. Every field, its default\nand range: ${CONFIGURATION_REFERENCE}`],
    'input-size',
    ['--augment none|online|offline', 'random flips/rotation/scale/shift/colour/blur per step, or the\npaper\'s fixed expansion of the training set (default none)'],
    'expand',
    ['--resume PATH', 'continue from a checkpoint file or folder, exactly as if never stopped: the\nmodel and every training setting come from the checkpoint (flags that agree\nwith it are accepted, others refused); --epochs may extend the run. What an\ninterrupted run left half written there is removed first'],
    ['--init MODEL', 'start from a trained model\'s weights (a model file, run folder or checkpoint)\nwith a fresh optimizer and this run\'s own lr and schedule: fine-tuning'],
    deviceHelp, precisionHelp, 'seed', 'overlays',
  ],
  async run(values) {
    const out = stringFlag(values.out) ?? 'dmdlk-run';
    const device = deviceFlag(values.device);
    if (values.init !== undefined && values.resume !== undefined) {
      throw new UsageError('--init starts a new run from a model\'s weights, --resume continues one: give one of them');
    }
    const overlays = numberFlag(values, 'train', 'overlays');
    const resuming = values.resume !== undefined;
    // Resumed, a setting left out comes from the checkpoint; otherwise from the table (the paper's recipe).
    const setting = (flag: string): number | undefined => (resuming ? givenNumber(values, flag) : numberFlag(values, 'train', flag));
    const epochs = setting('epochs'), batchSize = setting('batch-size'), lr = setting('lr'), seedFlag = setting('seed');
    const options: FitOptions = {
      ...(epochs !== undefined ? { epochs } : {}),
      ...(batchSize !== undefined ? { batchSize } : {}),
      ...(lr !== undefined ? { lr } : {}),
      ...(values.loss !== undefined ? { loss: choiceFlag(values.loss, 'loss', check.LOSS_NAMES, 'ce') } : {}),
      ...(values.optimizer !== undefined ? { optimizer: choiceFlag(values.optimizer, 'optimizer', OPTIMIZER_NAMES, 'adam') } : {}),
      ...(values['weight-decay'] !== undefined ? { weightDecay: givenNumber(values, 'weight-decay') } : {}),
      ...(values['clip-grad-norm'] !== undefined ? { clipGradNorm: givenNumber(values, 'clip-grad-norm') } : {}),
      ...(seedFlag !== undefined ? { seed: seedFlag } : {}),
    };
    const augment = augmentFlags(values);
    if (augment !== undefined) options.augment = augment;
    const patience = numberFlag(values, 'train', 'patience'), minDelta = numberFlag(values, 'train', 'min-delta');
    if (values['min-delta'] !== undefined && patience === 0) throw new UsageError('--min-delta needs --patience');
    if (patience > 0) options.earlyStop = { patience, minDelta };
    const files = { keep: numberFlag(values, 'train', 'keep'), save: choiceFlag(values.save, 'save', ['last', 'best'] as const, 'last') };
    const schedule = scheduleFlags(values);
    if (schedule !== undefined && epochs !== undefined && (schedule.warmupEpochs ?? 0) >= epochs) {
      throw new UsageError(`--warmup ${schedule.warmupEpochs} must be fewer than --epochs ${epochs}`);
    }
    if (schedule !== undefined) options.schedule = schedule;
    const configFlags = configFlag(values.config, givenNumber(values, 'input-size'));
    checkDataFlags(values);
    const resumeTarget = stringFlag(values.resume);
    if (resumeTarget !== undefined && !fs.existsSync(resumeTarget)) throw new UsageError(`--resume: '${resumeTarget}' does not exist`);

    // A second Ctrl-C abandons the checkpoint being written: what it left is removed before anything reads these folders.
    const folders = [out, path.join(out, 'checkpoints')];
    if (resumeTarget !== undefined) folders.push(fs.statSync(resumeTarget).isDirectory() ? resumeTarget : path.dirname(resumeTarget));
    const removed = [...new Set(folders.map((folder) => path.resolve(folder)))].flatMap(removeUnfinishedCheckpointFiles);
    const removal = removed.length ? `removed ${plural(removed.length, 'unfinished checkpoint file')} left by an interrupted run` : '';
    if (removal && !resuming) console.log(removal);

    let model: DMDLKNet;
    let resumeFrom = '';
    let seed = options.seed ?? 0;
    if (typeof values.resume === 'string') {
      const file = checkpointFlag(values.resume, '--resume', (target) => newestComplete(target, removal));
      const { state } = await readTrainingState(file);
      let settings: TrainingSettings;
      try {
        const given: Partial<TrainingSettings> = {
          batchSize: options.batchSize, lr: options.lr, loss: options.loss, seed: options.seed, optimizer: options.optimizer,
          weightDecay: givenWeightDecay(options.weightDecay, options.optimizer),
          clipGradNorm: options.clipGradNorm,
          ...(augment !== undefined ? { augment: resolveAugment(augment) } : {}),
          ...(schedule !== undefined ? { schedule: resolveSchedule(schedule, epochs ?? state.epochs ?? 200, '--schedule') } : {}),
        };
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
        `batch size ${settings.batchSize}, lr ${settings.lr}, schedule ${showFlagValue('schedule', settings.schedule)}, ` +
        `optimizer ${settings.optimizer} (weight decay ${settings.weightDecay}, clip ${settings.clipGradNorm || 'none'}), loss ${settings.loss}, ` +
        `seed ${settings.seed}, augment ${showFlagValue('augment', settings.augment)})`;
    } else if (values.init !== undefined) {
      model = await loadModelFlag(values.init, device, '--init');
      checkConfigFlags(String(values.init), model.config, configFlags, values, 'start from');
      console.log(`starting from the weights of ${values.init}, with a fresh optimizer`);
    } else {
      model = await createModelFlag(configFlags, values, device, seed);
    }
    precisionFlag(values.precision, model.device);
    const { total } = await model.summary();
    console.log(`DMDLK-Net: ${(total.parameters / 1e6).toFixed(2)} M parameters, input ${model.config.inputSize}², on ${model.device}`);
    if (resumeFrom) console.log(resumeFrom);
    options.seed = seed;
    const splits = await loadFromFlags(values, model.config.inputSize, seed);
    console.log(`data: ${describeSplits(splits)}`);
    // The same command with --resume continues it: every flag given here agrees with the checkpoint it will name.
    // Started as this process was (npx dmdlk, dmdlk or node …/main.js), so that it runs where this did.
    const resumeCommand = shellCommand([...commandWords(), 'train', ...Object.entries(values).filter(([flag]) => flag !== 'resume')
      .flatMap(([flag, v]) => (v === true ? [`--${flag}`] : typeof v === 'string' || typeof v === 'number' ? [`--${flag}`, String(v)] : [])),
    '--resume', path.join(out, 'checkpoints')]);
    await trainAndReport(model, splits, out, options, overlays, resumeCommand, { ...files, logdir: stringFlag(values.logdir) ?? out });
    console.log(`wrote ${path.join(out, 'model.safetensors')}, metrics.json, curves.svg/png and checkpoints/ in ${out}`);
    model.dispose();
  },
};
