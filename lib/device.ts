// Where work runs. 'auto' — the default for models — is the first GPU where
// CUDA is usable and the CPU otherwise; info().cuda.reason says why not.
import { binding } from './binding';
import { InvalidArgumentError, nativeSync } from './errors';
import { describe } from './validate';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
/** A device, or 'auto': the GPU where one is usable, else the CPU. */
export type DeviceChoice = Device | 'auto';

/** Checks `value` (named `name` in errors) and resolves 'auto'. */
export function chooseDevice(value: unknown, name: string): Device {
  if (typeof value !== 'string' || !/^(auto|cpu|cuda|cuda:\d{1,3})$/.test(value)) {
    throw new InvalidArgumentError(`${name} must be 'auto', 'cpu', 'cuda' or 'cuda:N', got ${describe(value)}`);
  }
  if (value !== 'auto') return value as Device;
  return nativeSync(() => binding.info()).cuda.available ? 'cuda' : 'cpu';
}
