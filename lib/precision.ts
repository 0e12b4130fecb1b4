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
// in the environment sets the starting value.
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

export function getFloat32MatmulPrecision(): MatmulPrecision {
  return nativeSync(() => binding.matmulPrecision());
}
