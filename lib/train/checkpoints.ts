// Training checkpoints in a folder: for each, the model checkpoint
// `step-<global step>.safetensors` (the tensors of default-state.tsv, the
// configuration and, in the "training" metadata entry, where training stands)
// and Adam's state beside it in `step-<global step>.optim.safetensors`. The
// optimizer file is written first and the model file last, each atomically,
// so a model file on disk always has its optimizer state: a crash leaves the
// previous checkpoint whole.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { NativeModel, NativeTensor } from '../../binding';
import { binding } from '../binding';
import type { LossName } from '../validate';
import type { ResolvedSchedule } from './schedule';
import type { OptimizerName } from './optimizer';
import { CheckpointError, IOError, native } from '../errors';

/** Where training stands, stored in the checkpoint's metadata. */
export interface TrainingState {
  format: 1;
  /** The epoch being trained (from 0) and the steps of it already done. */
  epoch: number;
  stepInEpoch: number;
  /** Sum of the losses of those steps, so the epoch's mean comes out the same. */
  epochLossSum: number;
  globalStep: number;
  /** The epochs the run was asked for (absent in checkpoints written before 0.2). */
  epochs?: number;
  seed: number;
  batchSize: number;
  lr: number;
  /** The learning rate's schedule (absent in checkpoints written before schedules: constant). */
  schedule?: ResolvedSchedule;
  /** Absent in checkpoints written before these options: Adam, no weight decay, no clipping. */
  optimizer?: OptimizerName;
  weightDecay?: number;
  clipGradNorm?: number;
  loss: LossName;
  augment: string | null;
  expand: number;
  datasetSize: number;
  history: unknown[];
}

const MODEL_FILE = /^step-(\d{8})\.safetensors$/;

export function checkpointPath(dir: string, globalStep: number): string {
  return path.join(dir, `step-${String(globalStep).padStart(8, '0')}.safetensors`);
}

function optimizerPath(modelPath: string): string {
  return modelPath.replace(/\.safetensors$/, '.optim.safetensors');
}

/** Model checkpoints in `dir` with their optimizer files, oldest first. */
export function listCheckpoints(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => MODEL_FILE.test(f)).sort()
    .map((f) => path.join(dir, f)).filter((p) => fs.existsSync(optimizerPath(p)));
}

/** The temporary file of an atomic write (native/cpp/io/atomic_file.cpp), renamed to the file it names once whole. */
const TEMP_FILE = /^.+\.safetensors\.tmp-(\d+)-\d+$/;

/** Whether process `pid`, other than this one, runs: a temporary file of a running writer is not left over. */
function isRunningElsewhere(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes from `dir` what interrupted writes left: the temporary files of
 * safetensors writers no longer running (a second Ctrl-C abandons the
 * checkpoint being written) and optimizer files without their model file.
 * Returns the removed paths. Call it before this process writes to `dir`.
 */
export function removeUnfinishedCheckpointFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const names = fs.readdirSync(dir);
  const unfinished = names.filter((name) => {
    const temp = TEMP_FILE.exec(name);
    if (temp) return !isRunningElsewhere(Number(temp[1]));
    const optimizer = /^(step-\d{8})\.optim\.safetensors$/.exec(name);
    return optimizer !== null && !names.includes(`${optimizer[1]}.safetensors`);
  }).map((name) => path.join(dir, name));
  for (const file of unfinished) fs.rmSync(file, { force: true });
  return unfinished;
}

export async function saveCheckpoint(model: NativeModel, dir: string, state: TrainingState, keep: number): Promise<string> {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new IOError(`cannot create the checkpoint folder '${dir}': ${(error as Error).message}`);
  }
  const file = checkpointPath(dir, state.globalStep);
  const optimizer = await native(() => model.optimizerState());
  await native(() => binding.writeSafetensors(optimizerPath(file), optimizer.tensors, { step: String(optimizer.step) }));
  for (const [, t] of optimizer.tensors) t.dispose();
  await native(() => model.save(file, { training: JSON.stringify(state) }));
  const all = listCheckpoints(dir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) {
    // The model file first: a crash between the two leaves an orphan optimizer file, never a model without one.
    fs.rmSync(old, { force: true });
    fs.rmSync(optimizerPath(old), { force: true });
  }
  return file;
}

/** A checkpoint file, or the newest checkpoint of a folder. */
export function resolveCheckpoint(target: string): string {
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    const all = listCheckpoints(target);
    if (all.length === 0) throw new CheckpointError(`'${target}' holds no training checkpoint (step-*.safetensors with its .optim file)`);
    return all[all.length - 1];
  }
  if (!fs.existsSync(target)) throw new CheckpointError(`no checkpoint at '${target}'`);
  if (!fs.existsSync(optimizerPath(target))) {
    throw new CheckpointError(`'${target}' has no optimizer state beside it ('${path.basename(optimizerPath(target))}'): ` +
      'it can be loaded with DMDLKNet.load() but not resumed');
  }
  return target;
}

function trainingState(file: string, metadata: Record<string, string>): TrainingState {
  const text = metadata.training;
  if (text === undefined) throw new CheckpointError(`'${file}' is a model checkpoint without training state`);
  let state: TrainingState;
  try {
    state = JSON.parse(text) as TrainingState;
  } catch {
    throw new CheckpointError(`'${file}' holds unreadable training state`);
  }
  if (state.format !== 1) throw new CheckpointError(`'${file}' holds training state of an unknown format`);
  return state;
}

const release = (list: [string, NativeTensor][]): void => {
  for (const [, t] of list) t.dispose();
};

/** Where training stood in a checkpoint and its model configuration (JSON), without loading anything into a model. */
export async function readTrainingState(file: string): Promise<{ state: TrainingState; config: string }> {
  const contents = await native(() => binding.readSafetensors(file));
  release(contents.tensors);
  return { state: trainingState(file, contents.metadata), config: contents.metadata.config };
}

/** Loads a checkpoint's weights, BatchNorm statistics and Adam's state into `model` (read with readTrainingState first). */
export async function restoreCheckpoint(model: NativeModel, file: string, state: TrainingState): Promise<void> {
  const contents = await native(() => binding.readSafetensors(file));
  try {
    await native(() => model.setState(contents.tensors));
  } finally {
    release(contents.tensors);
  }
  const optimizer = await native(() => binding.readSafetensors(optimizerPath(file)));
  try {
    await native(() => model.setOptimizerState(Number(optimizer.metadata.step ?? state.globalStep), optimizer.tensors));
  } finally {
    release(optimizer.tensors);
  }
}
