// What this installation can do: the version, the binary in use, the CPU's
// vector level and threads, and whether CUDA is usable (and if not, why).
import type { NativeInfo } from '../binding';
import { binaryPath, binding } from './binding';
import { nativeSync } from './errors';

export interface Info extends NativeInfo {
  /** Absolute path of the native binary that was loaded. */
  binary: string;
}

export function info(): Info {
  return { ...nativeSync(() => binding.info()), binary: binaryPath };
}
