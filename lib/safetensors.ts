// Tensors exchanged with Python and other tools as safetensors files.
import { binding } from './binding';
import { InvalidArgumentError, native } from './errors';
import { Tensor } from './tensor';
import * as check from './validate';

export interface SafetensorsFile {
  /** Tensors by name, in file order, on the CPU. */
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Reads a safetensors file. F32, F64, U8 and I32 load as they are, I64 as
 * int32 when every value fits. A file that breaks the format's rules is a
 * FormatError naming what is wrong; an unreadable one an IOError.
 */
export function readSafetensors(path: string): Promise<SafetensorsFile> {
  return native(async () => {
    const result = await binding.readSafetensors(check.string(path, 'path'));
    return {
      tensors: new Map(result.tensors.map(([name, handle]) => [name, Tensor.wrap(handle)])),
      metadata: result.metadata,
    };
  });
}

/**
 * Writes tensors (from any device) and string metadata atomically: the file
 * is either the old one or the complete new one, whatever happens meanwhile.
 */
export function writeSafetensors(
  path: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  return native(async () => {
    const file = check.string(path, 'path');
    const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(check.options(tensors, 'tensors'));
    const meta = check.options(metadata, 'metadata');
    for (const [key, value] of Object.entries(meta)) {
      if (typeof value !== 'string') throw new InvalidArgumentError(`metadata['${key}'] must be a string, got ${check.describe(value)}`);
    }
    const pairs = entries.map(([name, tensor]): [string, ReturnType<typeof Tensor.nativeOf>] =>
      [name, Tensor.nativeOf(tensor, `tensors['${name}']`)]);
    await binding.writeSafetensors(file, pairs, meta as Record<string, string>);
  });
}
