// How CUDA's float32 matrix products (the GEMMs of convolutions, linear layers
// and matmul) may round their inputs, as PyTorch's
// torch.set_float32_matmul_precision:
//   'highest'  float32 on the CUDA cores;
//   'high'     TF32 tensor cores (inputs rounded to 10 mantissa bits, float32
//              accumulation): the default;
//   'medium'   BF16 tensor cores (inputs rounded to 7 mantissa bits, float32
//              accumulation); weights, gradients and Adam's state stay float32.
// Tensor cores need compute capability 8.0 or newer; older GPUs, float64 and the
// CPU always compute in full precision. Process-wide; DMDLK_MATMUL_PRECISION
// in the environment sets the starting value. A model may have its own
// (DMDLKNet's `precision`, named as the CLI's --precision: fp32, tf32, bf16),
// which its work uses whatever the process's.
import type { NativeMatmulPrecision } from '../binding';
import { binding } from './binding';
import { InvalidArgumentError, nativeSync } from './errors';
import { describe } from './validate';

export type MatmulPrecision = NativeMatmulPrecision;

const precisions: readonly MatmulPrecision[] = ['highest', 'high', 'medium'];

export function setFloat32MatmulPrecision(precision: MatmulPrecision): void {
  if (!precisions.includes(precision)) {
    throw new InvalidArgumentError(`precision must be one of ${precisions.join(', ')}, got ${describe(precision)}`);
  }
  nativeSync(() => binding.setMatmulPrecision(precision));
}

/** A model's precision by the names of the CLI's --precision, and the matmul precision each is. */
export type Precision = 'fp32' | 'tf32' | 'bf16';
export const MATMUL_PRECISION: Readonly<Record<Precision, MatmulPrecision>> = { fp32: 'highest', tf32: 'high', bf16: 'medium' };

export function getFloat32MatmulPrecision(): MatmulPrecision {
  return nativeSync(() => binding.matmulPrecision());
}
