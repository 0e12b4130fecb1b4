// --config / --input-size / --device / --precision / --model, shared by the commands.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { chooseDevice, type Device } from '../device';
import { CheckpointError, FormatError, InvalidArgumentError } from '../errors';
import { CONFIG_FIELDS, checkConfig, type ModelConfig } from '../config';
import { DMDLKNet } from '../model';
import { packageRoot } from '../package-root';
import { MATMUL_PRECISION, type Precision, setFloat32MatmulPrecision } from '../precision';
import { resolveCheckpoint } from '../train/checkpoints';
import { type TestTimeAugmentation, TTA_NAMES } from '../train/flips';
import { choiceFlag, type FlagValues, type HelpLine, UsageError } from './args';

/** The configuration reference shipped with the package. */
export const CONFIGURATION_REFERENCE = path.join(packageRoot, 'docs', 'configuration.md');

export const deviceHelp: HelpLine = ['--device auto|cpu|cuda|cuda:N', 'where to compute (default auto: the first GPU when there is one)'];

export const ttaHelp: HelpLine = ['--tta none|flips', 'test-time augmentation: the mean of the probabilities over the image\'s four flips\n(4× the work; default none)'];

export function ttaFlag(value: FlagValues[string]): TestTimeAugmentation {
  return choiceFlag(value, 'tta', TTA_NAMES, 'none');
}

export const precisionHelp: HelpLine = ['--precision fp32|tf32|bf16', 'the GPU\'s float32 matrix precision: fp32, tf32 (default) or bf16 tensor cores\n(PyTorch\'s highest, high, medium); the CPU always computes in float32'];

/** --precision as the process's matmul precision; on the CPU a notice that it changes nothing. */
export function precisionFlag(value: FlagValues[string], device: Device): void {
  if (value === undefined) return;
  const choice = choiceFlag(value, 'precision', Object.keys(MATMUL_PRECISION) as Precision[], 'tf32');
  if (device === 'cpu') console.log(`--precision ${choice}: ignored on the CPU, which computes in float32`);
  else setFloat32MatmulPrecision(MATMUL_PRECISION[choice]);
}

export function deviceFlag(value: FlagValues[string]): Device {
  const choice = typeof value === 'string' ? value : 'auto';
  if (!/^(auto|cpu|cuda|cuda:\d{1,3})$/.test(choice)) throw new UsageError(`--device must be auto, cpu, cuda or cuda:N, got '${choice}'`);
  return chooseDevice(choice, '--device');
}

/** --config as inline JSON or a JSON file; --input-size (checked as it was parsed) overrides its inputSize. */
export function configFlag(config: FlagValues[string], inputSize: number | undefined): ModelConfig {
  let c: ModelConfig = {};
  if (typeof config === 'string') {
    const text = config.trim().startsWith('{') ? config : readText(config, '--config');
    try {
      c = JSON.parse(text) as ModelConfig;
    } catch (error) {
      throw new UsageError(`--config is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (inputSize !== undefined) c.inputSize = inputSize;
  return c;
}

function readText(file: string, flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag}: cannot read '${file}': ${(error as Error).message}`);
  }
}

/** The flag that set configuration field `field` on this command line, if one did. */
export function givenConfigFlag(values: FlagValues, field: string): string | undefined {
  const flag = CONFIG_FIELDS.find((f) => f.name === field)?.flag;
  return flag && values[flag.slice(2)] !== undefined ? flag : undefined;
}

/** How a configuration field is named to the user: by its flag where one was given, else inside --config. */
export function configFieldLabel(values: FlagValues): (field: string) => string {
  return (field) => givenConfigFlag(values, field) ?? `config.${field}`;
}

/**
 * A model created from --config / --input-size. A field out of its range is
 * a usage error naming it as given (`--input-size must be a multiple of 32
 * …`, `--config: config.depths[2] must be …`), and so is a configuration the
 * network refuses (its rules between fields), found before any data is decoded.
 */
export async function createModelFlag(config: ModelConfig, values: FlagValues, device: Device,
  seed: number): Promise<DMDLKNet> {
  try {
    checkConfig(config, configFieldLabel(values));
    return await DMDLKNet.create(config, { device, seed });
  } catch (error) {
    if (!(error instanceof InvalidArgumentError && /^(config|--)/.test(error.message))) throw error;
    throw new UsageError(error.message.startsWith('--') ? error.message : `--config: ${error.message}`);
  }
}

/**
 * The checkpoint file a flag names: a file, a training run's folder (its
 * model.safetensors) or a checkpoint folder (its newest checkpoint), by
 * `resolve` (the plain rule here; --resume passes its own). A path that does
 * not exist or holds no checkpoint is a usage error.
 */
export function checkpointFlag(value: string, flag: string, resolve: (target: string) => string = newestModel): string {
  if (!fs.existsSync(value)) throw new UsageError(`${flag}: '${value}' does not exist`);
  try {
    return resolve(value);
  } catch (error) {
    if (error instanceof CheckpointError) throw new UsageError(`${flag}: ${error.message}`);
    throw error;
  }
}

function newestModel(target: string): string {
  if (!fs.statSync(target).isDirectory()) return target;
  const final = path.join(target, 'model.safetensors');
  if (fs.existsSync(final)) return final;
  const checkpoints = fs.existsSync(path.join(target, 'checkpoints')) ? path.join(target, 'checkpoints') : target;
  return resolveCheckpoint(checkpoints);
}

/** --model (or `flag`): a checkpoint (file or folder) that loads, or a usage error saying why it is none. */
export async function loadModelFlag(value: FlagValues[string], device: Device, flag = '--model'): Promise<DMDLKNet> {
  if (typeof value !== 'string') throw new UsageError(`${flag} CHECKPOINT is required`);
  const file = checkpointFlag(value, flag);
  try {
    return await DMDLKNet.load(file, { device });
  } catch (error) {
    if (error instanceof FormatError) throw new UsageError(`${flag}: '${file}' is not a safetensors checkpoint (${error.message.replace(/^'[^']*': /, '')})`);
    if (error instanceof CheckpointError) throw new UsageError(`${flag}: '${file}' is not a DMDLK-Net checkpoint (${error.message.replace(/^'[^']*': /, '')})`);
    throw error;
  }
}
