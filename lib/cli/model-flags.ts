// --config / --input-size / --device / --model, shared by the commands.
import * as fs from 'fs';

import { chooseDevice, Device } from '../device';
import { DMDLKNet, ModelConfig } from '../model';
import { UsageError } from './args';

export const deviceHelp = '  --device cpu|cuda|auto   where to compute (default auto: the GPU when there is one)';

export function deviceFlag(value: string | boolean | undefined): Device {
  if (typeof value === 'string' && !/^(auto|cpu|cuda|cuda:\d{1,3})$/.test(value)) throw new UsageError(`--device must be cpu, cuda, cuda:N or auto, got '${value}'`);
  return chooseDevice(value ?? 'auto', '--device');
}

/** --config as inline JSON or a JSON file; --input-size overrides its inputSize. */
export function configFlag(config: string | boolean | undefined, inputSize: string | boolean | undefined,
  fallback: ModelConfig = {}): ModelConfig {
  let c: ModelConfig = { ...fallback };
  if (typeof config === 'string') {
    const text = config.trim().startsWith('{') ? config : readText(config, '--config');
    try {
      c = JSON.parse(text) as ModelConfig;
    } catch (error) {
      throw new UsageError(`--config is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (inputSize !== undefined) {
    const n = Number(inputSize);
    if (typeof inputSize !== 'string' || !Number.isInteger(n)) throw new UsageError(`--input-size must be an integer, got '${inputSize}'`);
    c.inputSize = n;
  }
  return c;
}

function readText(file: string, flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag}: cannot read '${file}': ${(error as Error).message}`);
  }
}

export async function loadModelFlag(value: string | boolean | undefined, device: Device): Promise<DMDLKNet> {
  if (typeof value !== 'string') throw new UsageError('--model CHECKPOINT is required');
  return DMDLKNet.load(value, { device });
}
