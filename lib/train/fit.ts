// The training loop of DMDLKNet.fit: seeded epochs over a dataset, one native
// Adam step per batch (prepared and augmented on the model's device, on the
// model's own thread), progress after every step, validation after every
// epoch, checkpoints that resume exactly, and a stop between steps on an
// AbortSignal.
import type { NativeModel } from '../../binding';
import { CancelledError, CheckpointError, InvalidArgumentError, native, NonFiniteError } from '../errors';
import { Tensor } from '../tensor';
import * as check from '../validate';
import type { LossName } from '../validate';
import { type AugmentOptions, resolveAugment } from '../data/augment';
import { expandDataset, permutation, SegmentationDataset } from '../data/dataset';
import { readTrainingState, resolveCheckpoint, restoreCheckpoint, saveCheckpoint, type TrainingState } from './checkpoints';
import { resumedSettings, type SettingName, type TrainingSettings } from './resume';
import { evaluateNative } from './evaluate';
import { DEFAULT_LEARNING_RATE, givenWeightDecay, nonNegative, type OptimizerName, optimizerName } from './optimizer';
import { resolveSchedule, type ScheduleName, type ScheduleOptions, scheduledRate } from './schedule';
import type { Scores } from './metrics';
import { TrainingLog } from './training-log';


export interface FitProgress {
  /** From 1. */
  epoch: number;
  epochs: number;
  /** Step within the epoch, from 1. */
  step: number;
  steps: number;
  globalStep: number;
  loss: number;
  /** The learning rate this step ran at (the schedule's). */
  lr: number;
  /** With clipGradNorm: the global norm of this step's gradients, before clipping. */
  gradNorm?: number;
  imagesPerSecond: number;
  /** Seconds left for the whole run at this run's pace. */
  etaSeconds: number;
}

export interface EpochRecord {
  epoch: number;
  /** The learning rate of the epoch's last step. */
  lr: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  imagesPerSecond: number;
  seconds: number;
  /** Pooled metrics on the validation set, when one was given. */
  validation?: Scores;
}

export interface History {
  epochs: EpochRecord[];
  globalStep: number;
  /** The last checkpoint written, if any. */
  checkpoint?: string;
  /** With `best`: the epoch (from 1) whose validation metric was the best, its value, and the file holding that model. */
  best?: { epoch: number; value: number; file: string };
  /** With `earlyStop`: why training ended before its last epoch. */
  stoppedEarly?: string;
  /** With `logdir`: the files the logs went to. */
  logs?: { steps: string; epochs: string; events: string };
}

/** The validation metric that picks the best model and stops early (pooled over the validation set). */
export type ValidationMetric = 'dice' | 'iou';

export interface BestModelOptions {
  /** Where the best model goes (a model file, as `save` writes it), replaced whenever the metric improves. */
  file: string;
  /** Default 'dice'. */
  metric?: ValidationMetric | undefined;
}

export interface EarlyStopOptions {
  /** Epochs without an improvement of at least `minDelta` before stopping. */
  patience: number;
  /** Default 0: any improvement counts. */
  minDelta?: number | undefined;
  /** Default 'dice' (best's metric where both are given). */
  metric?: ValidationMetric | undefined;
}

export interface CheckpointOptions {
  dir: string;
  /** Every so many epochs (default 1); the last epoch is always saved. */
  every?: number | undefined;
  /** How many to keep, newest first (default 3). */
  keep?: number | undefined;
}

export interface FitOptions {
  /** Default 200 (the paper's). */
  epochs?: number | undefined;
  /** Default 4 (the paper's). */
  batchSize?: number | undefined;
  /** Adam's learning rate, default 1e-4 (the paper's): the base rate of the schedule. */
  lr?: number | undefined;
  /** How the rate changes per step: 'constant' (the paper's, default), 'cosine', 'poly' or 'step', with an optional warm-up. */
  schedule?: ScheduleName | ScheduleOptions | undefined;
  /** 'adam' (the paper's, default) or 'adamw' (decoupled weight decay), with PyTorch's semantics. */
  optimizer?: OptimizerName | undefined;
  /** Adam's L2 term or AdamW's decay; default PyTorch's: 0 for Adam, 0.01 for AdamW. */
  weightDecay?: number | undefined;
  /** Scale the gradients so that their global norm is at most this (clip_grad_norm_); default none. */
  clipGradNorm?: number | undefined;
  /** 'ce' (softmax cross-entropy, the paper's, default) or 'ce+dice'. */
  loss?: LossName | undefined;
  /** Augmentation: true for the defaults; `expand` makes it the paper's offline mode. */
  augment?: boolean | AugmentOptions | undefined;
  validation?: SegmentationDataset | undefined;
  onProgress?: ((progress: FitProgress) => void) | undefined;
  onEpoch?: ((record: EpochRecord) => void) | undefined;
  /** Stops between steps, writing a checkpoint first when `checkpoint` is set. */
  signal?: AbortSignal | undefined;
  checkpoint?: CheckpointOptions | undefined;
  /** Keep the model of the best validation epoch in a file of its own (needs `validation`). */
  best?: BestModelOptions | undefined;
  /** Stop once the validation metric has not improved for `patience` epochs (needs `validation`). */
  earlyStop?: EarlyStopOptions | undefined;
  /**
   * A checkpoint file or folder (its newest) to continue from, exactly as if
   * never stopped. batchSize, lr, schedule, optimizer, weightDecay,
   * clipGradNorm, loss, seed and augment default to the checkpoint's, and
   * epochs to the run's original count; any of them given with another value
   * is refused, naming both values.
   */
  resume?: string | undefined;
  /**
   * A folder for the run's logs: steps.jsonl (a JSON line per step), epochs.csv
   * (a row per epoch) and a TensorBoard event file of the same scalars; a
   * resumed run continues them as one. Default: none.
   */
  logdir?: string | undefined;
  /** Seeds the data order and the augmentation (default 0). */
  seed?: number | undefined;
}

const fitKeys = ['epochs', 'batchSize', 'lr', 'schedule', 'optimizer', 'weightDecay', 'clipGradNorm', 'loss', 'augment', 'validation', 'onProgress', 'onEpoch', 'signal', 'checkpoint',
  'best', 'earlyStop', 'resume', 'seed', 'logdir'] as const;

function validationMetric(value: unknown, name: string): ValidationMetric {
  if (value !== 'dice' && value !== 'iou') throw new InvalidArgumentError(`${name} must be 'dice' or 'iou', got ${check.describe(value)}`);
  return value;
}

function optionalFunction<T>(value: unknown, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new InvalidArgumentError(`${name} must be a function, got ${check.describe(value)}`);
  return value as T | undefined;
}

/** A setting's value as fit's options hold it. */
function showSetting(setting: SettingName, value: unknown): string {
  if (setting !== 'augment') return JSON.stringify(value);
  const a = value as TrainingSettings['augment'];
  return a === null ? 'none' : `${a.json}${a.expand > 1 ? ` expanded ${a.expand}×` : ''}`;
}

/** The augmentation seed of one step: a function of (run seed, epoch, step) only, so a resumed run draws the same. */
function stepSeed(seed: number, epoch: number, step: number): number {
  let h = (Math.imul(seed, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b) ^ Math.imul(step + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) + (epoch % 2 ** 20) * 2 ** 32;
}

export async function fit(model: NativeModel, inputSize: number, data: SegmentationDataset, options: FitOptions): Promise<History> {
  const o = check.options(options, 'options');
  check.knownKeys(o, fitKeys, 'options');
  if (!(data instanceof SegmentationDataset)) throw new InvalidArgumentError(`train must be a SegmentationDataset, got ${check.describe(data)}`);
  if (data.inputSize !== inputSize) {
    throw new InvalidArgumentError(`the dataset was loaded at ${data.inputSize}×${data.inputSize} but the model's inputSize is ${inputSize}`);
  }
  // Given settings, checked; with `resume`, the missing ones come from the checkpoint.
  const given: Partial<TrainingSettings> = {};
  if (o.batchSize !== undefined) given.batchSize = check.integer(o.batchSize, 'options.batchSize', 1, 4096);
  if (o.lr !== undefined) given.lr = check.learningRate(o.lr, 'options.lr');
  if (o.loss !== undefined) given.loss = check.lossName(o.loss, 'options.loss');
  if (o.seed !== undefined) given.seed = check.integer(o.seed, 'options.seed', 0, 2 ** 32 - 1);
  if (o.augment !== undefined) given.augment = resolveAugment(o.augment as boolean | AugmentOptions, 'options.augment');
  let resumed: { file: string; state: TrainingState } | null = null;
  if (o.resume !== undefined) {
    const file = resolveCheckpoint(check.string(o.resume, 'options.resume'));
    const { state, config } = await readTrainingState(file);
    if (config !== model.config) throw new CheckpointError(`'${file}' was trained with configuration ${config}, not this model's ${model.config}`);
    resumed = { file, state };
  }
  const epochs = check.integer(o.epochs ?? resumed?.state.epochs ?? 200, 'options.epochs', 1, 1e6);
  if (resumed && epochs < resumed.state.epoch) {
    throw new InvalidArgumentError(`cannot resume from '${resumed.file}' with options.epochs ${epochs}: it has trained ${resumed.state.epoch} epochs already`);
  }
  if (o.schedule !== undefined) given.schedule = resolveSchedule(o.schedule, epochs, 'options.schedule');
  if (o.optimizer !== undefined) given.optimizer = optimizerName(o.optimizer, 'options.optimizer');
  const weightDecayGiven = givenWeightDecay(
    o.weightDecay === undefined ? undefined : nonNegative(o.weightDecay, 'options.weightDecay', 1), given.optimizer);
  if (weightDecayGiven !== undefined) given.weightDecay = weightDecayGiven;
  if (o.clipGradNorm !== undefined) given.clipGradNorm = nonNegative(o.clipGradNorm, 'options.clipGradNorm', 1e6);
  const { batchSize, lr, schedule, optimizer, weightDecay, clipGradNorm, loss, seed, augment } = resumed
    ? resumedSettings(resumed.file, resumed.state, given, (setting) => `options.${setting}`, showSetting)
    : { batchSize: 4, lr: DEFAULT_LEARNING_RATE, schedule: resolveSchedule('constant', epochs, 'options.schedule'), optimizer: 'adam' as const, weightDecay: 0,
      clipGradNorm: 0, loss: 'ce' as const, seed: 0, augment: null, ...given };
  const validation = o.validation as SegmentationDataset | undefined;
  if (validation !== undefined && !(validation instanceof SegmentationDataset && validation.inputSize === inputSize)) {
    throw new InvalidArgumentError(`options.validation must be a SegmentationDataset at the model's inputSize ${inputSize}`);
  }
  const logdir = o.logdir === undefined ? null : check.string(o.logdir, 'options.logdir');
  const onProgress = optionalFunction<(p: FitProgress) => void>(o.onProgress, 'options.onProgress');
  const onEpoch = optionalFunction<(r: EpochRecord) => void>(o.onEpoch, 'options.onEpoch');
  const signal = o.signal as AbortSignal | undefined;
  if (signal !== undefined && !(typeof signal === 'object' && signal !== null && 'aborted' in signal)) {
    throw new InvalidArgumentError('options.signal must be an AbortSignal');
  }
  let checkpoint: Required<CheckpointOptions> | null = null;
  if (o.checkpoint !== undefined) {
    const c = check.options(o.checkpoint, 'options.checkpoint');
    check.knownKeys(c, ['dir', 'every', 'keep'], 'options.checkpoint');
    checkpoint = { dir: check.string(c.dir, 'options.checkpoint.dir'), every: check.integer(c.every ?? 1, 'options.checkpoint.every', 1),
      keep: check.integer(c.keep ?? 3, 'options.checkpoint.keep', 1) };
  }
  let best: Required<BestModelOptions> | null = null;
  if (o.best !== undefined) {
    const b = check.options(o.best, 'options.best');
    check.knownKeys(b, ['file', 'metric'], 'options.best');
    best = { file: check.string(b.file, 'options.best.file'), metric: validationMetric(b.metric ?? 'dice', 'options.best.metric') };
  }
  let earlyStop: Required<EarlyStopOptions> | null = null;
  if (o.earlyStop !== undefined) {
    const e = check.options(o.earlyStop, 'options.earlyStop');
    check.knownKeys(e, ['patience', 'minDelta', 'metric'], 'options.earlyStop');
    const minDelta = e.minDelta ?? 0;
    if (typeof minDelta !== 'number' || !(minDelta >= 0 && minDelta < 1)) {
      throw new InvalidArgumentError(`options.earlyStop.minDelta must be a number in [0, 1), got ${check.describe(minDelta)}`);
    }
    earlyStop = { patience: check.integer(e.patience, 'options.earlyStop.patience', 1, 1e6), minDelta,
      metric: validationMetric(e.metric ?? best?.metric ?? 'dice', 'options.earlyStop.metric') };
  }
  if ((best || earlyStop) && !validation) throw new InvalidArgumentError(`options.${best ? 'best' : 'earlyStop'} needs options.validation`);

  // The paper's offline mode: a fixed, larger training set drawn once from the seed.
  const train = augment && augment.expand > 1 ? await expandDataset(data, augment, seed) : data;
  const online = augment && augment.expand === 1 ? augment.json : null;
  const n = train.length, steps = Math.ceil(n / batchSize);

  let epoch = 0, stepInEpoch = 0, globalStep = 0, resumedLossSum = 0;
  let historyRecords: EpochRecord[] = [];
  if (resumed) {
    const { file, state } = resumed;
    if (state.datasetSize !== n) {
      throw new InvalidArgumentError(`cannot resume from '${file}': it was trained on ${state.datasetSize} images, this dataset has ${n}`);
    }
    await restoreCheckpoint(model, file, state);
    ({ epoch, stepInEpoch, globalStep } = state);
    resumedLossSum = state.epochLossSum;
    historyRecords = state.history as EpochRecord[];
  }

  const log = logdir ? new TrainingLog(logdir, resumed ? { step: globalStep, epoch } : null) : null;
  try {
    return await trainEpochs();
  } finally {
    log?.close();
  }

  // The loop over epochs and steps, with the log open.
  async function trainEpochs(): Promise<History> {
    let lastCheckpoint: string | undefined;
    // Saves where training stands: `atEpoch` and `atStep` are the next step to run.
    const save = async (atEpoch: number, atStep: number, epochLossSum: number): Promise<void> => {
      if (!checkpoint) return;
      const state: TrainingState = { format: 1, epoch: atEpoch, stepInEpoch: atStep, epochLossSum, globalStep, epochs, seed, batchSize, lr, schedule,
        optimizer, weightDecay, clipGradNorm, loss,
        augment: augment?.json ?? null, expand: augment?.expand ?? 1, datasetSize: n, history: historyRecords };
      lastCheckpoint = await saveCheckpoint(model, checkpoint.dir, state, checkpoint.keep);
    };

    // The best epoch and the early stop follow from the history alone, so a resumed run decides as an unbroken one.
    const metricOf = (r: EpochRecord, metric: ValidationMetric): number => r.validation?.[metric] ?? Number.NEGATIVE_INFINITY;
    const bestEpoch = (metric: ValidationMetric): EpochRecord | undefined =>
      historyRecords.reduce<EpochRecord | undefined>((b, r) => (b === undefined || metricOf(r, metric) > metricOf(b, metric) ? r : b), undefined);
    const epochsWithoutImprovement = (e: Required<EarlyStopOptions>): number => {
      let reference = Number.NEGATIVE_INFINITY, at = 0;
      for (const r of historyRecords) {
        if (metricOf(r, e.metric) > reference + e.minDelta || at === 0) {
          reference = metricOf(r, e.metric);
          at = r.epoch;
        }
      }
      return historyRecords.length === 0 ? 0 : historyRecords[historyRecords.length - 1].epoch - at;
    };
    let stoppedEarly: string | undefined;

    const started = Date.now();
    let stepsThisRun = 0, stepLr = lr;
    for (; epoch < epochs; epoch++, stepInEpoch = 0) {
      const order = permutation(n, seed + epoch * 7919);
      const epochStart = Date.now();
      // A resumed epoch starts with the losses of its steps run before the stop.
      let lossSum = resumedLossSum, imagesDone = 0;
      resumedLossSum = 0;
      for (; stepInEpoch < steps; stepInEpoch++) {
        if (signal?.aborted) {
          await save(epoch, stepInEpoch, lossSum);
          // Counted as the checkpoint's name counts: steps done, globally and in this epoch.
          throw new CancelledError(`training stopped after step ${globalStep} (epoch ${epoch + 1}: ${stepInEpoch} of ${steps} steps done)` +
            (lastCheckpoint ? `; its checkpoint is '${lastCheckpoint}'` : ''));
        }
        const indices = order.slice(stepInEpoch * batchSize, (stepInEpoch + 1) * batchSize);
        const { images, masks } = train.batch(indices);
        let result: { loss: number; step: number; gradNorm?: number };
        stepLr = scheduledRate(schedule, lr, globalStep, steps, epochs);
        try {
          result = await native(() => model.trainBatch(Tensor.nativeOf(images, 'images'), Tensor.nativeOf(masks, 'masks'), online,
            stepSeed(seed, epoch, stepInEpoch), stepLr, loss, optimizer, weightDecay, clipGradNorm));
        } catch (error) {
          if (error instanceof NonFiniteError) {
            const kept = lastCheckpoint ?? (checkpoint ? 'none was written yet' : 'no checkpoint folder was given');
            throw new NonFiniteError(`${error.message} (epoch ${epoch + 1}, step ${stepInEpoch + 1}; last good checkpoint: ${kept})`);
          }
          throw error;
        } finally {
          images.dispose();
          masks.dispose();
        }
        globalStep++;
        stepsThisRun++;
        lossSum += result.loss;
        imagesDone += indices.length;
        const elapsed = (Date.now() - started) / 1000;
        const remaining = (epochs - epoch - 1) * steps + (steps - stepInEpoch - 1);
        const progress: FitProgress = { epoch: epoch + 1, epochs, step: stepInEpoch + 1, steps, globalStep, loss: result.loss, lr: stepLr,
          ...(result.gradNorm !== undefined ? { gradNorm: result.gradNorm } : {}),
          imagesPerSecond: imagesDone / Math.max(1e-9, (Date.now() - epochStart) / 1000),
          etaSeconds: (elapsed / stepsThisRun) * remaining };
        log?.step(progress);
        onProgress?.(progress);
      }
      const seconds = (Date.now() - epochStart) / 1000;
      const record: EpochRecord = { epoch: epoch + 1, lr: stepLr, loss: lossSum / steps, imagesPerSecond: imagesDone / Math.max(1e-9, seconds), seconds };
      if (validation) record.validation = (await evaluateNative(model, inputSize, validation, {})).pooled;
      historyRecords.push(record);
      if (best && bestEpoch(best.metric) === record) await native(() => model.save(best.file, { bestEpoch: String(record.epoch) }));
      if (earlyStop && epochsWithoutImprovement(earlyStop) >= earlyStop.patience) {
        stoppedEarly = `stopped early after epoch ${record.epoch}: the validation ${earlyStop.metric} has not improved by ` +
          `${earlyStop.minDelta} or more for ${earlyStop.patience} epochs`;
      }
      log?.epoch(record);
      onEpoch?.(record);
      if (checkpoint && ((epoch + 1) % checkpoint.every === 0 || epoch + 1 === epochs || stoppedEarly)) await save(epoch + 1, 0, 0);
      if (stoppedEarly) break;
    }
    const top = best ? bestEpoch(best.metric) : undefined;
    return {
      epochs: historyRecords, globalStep, ...(lastCheckpoint ? { checkpoint: lastCheckpoint } : {}),
      ...(best && top ? { best: { epoch: top.epoch, value: metricOf(top, best.metric), file: best.file } } : {}),
      ...(stoppedEarly ? { stoppedEarly } : {}),
      ...(log ? { logs: { steps: log.steps, epochs: log.epochs, events: log.events.file } } : {}),
    };
  }
}
