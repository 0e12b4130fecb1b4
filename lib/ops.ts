// Single ops, eager: each runs on the addon's native executor thread and
// resolves with new tensors, so the event loop never waits for the math.
// Gradients are explicit (`*Backward`) for research scripts and tests; models
// compute theirs through the planned graph.
import type { NativeTensor } from '../binding';
import { binding } from './binding';
import { InvalidArgumentError, native } from './errors';
import type { OpAttributeOptions } from './ops.generated';
import { Tensor } from './tensor';
import * as check from './validate';

const t = Tensor.nativeOf;
const wrap = Tensor.wrap;

function wrapAll<K extends string>(result: Partial<Record<K, NativeTensor>>): Record<K, Tensor> {
  const out = {} as Record<K, Tensor>;
  for (const [key, handle] of Object.entries(result) as [K, NativeTensor][]) out[key] = wrap(handle);
  return out;
}

/** a + b, with numpy broadcasting. */
export function add(a: Tensor, b: Tensor): Promise<Tensor> {
  return native(async () => wrap(await binding.add(t(a, 'a'), t(b, 'b'))));
}

/** a ⊙ b, with numpy broadcasting. */
export function mul(a: Tensor, b: Tensor): Promise<Tensor> {
  return native(async () => wrap(await binding.mul(t(a, 'a'), t(b, 'b'))));
}

export interface BinaryGradients { da: Tensor; db: Tensor }

/** Gradients of a + b given dy, each summed back to its operand's shape. */
export function addBackward(dy: Tensor, a: Tensor, b: Tensor): Promise<BinaryGradients> {
  return native(async () => wrapAll(await binding.addBackward(t(dy, 'dy'), t(a, 'a'), t(b, 'b'))));
}

/** Gradients of a ⊙ b given dy. */
export function mulBackward(dy: Tensor, a: Tensor, b: Tensor): Promise<BinaryGradients> {
  return native(async () => wrapAll(await binding.mulBackward(t(dy, 'dy'), t(a, 'a'), t(b, 'b'))));
}

/** a [..., M, K] · b [..., K, N]; equal batch axes, or one operand 2-D and shared. */
export function matmul(a: Tensor, b: Tensor): Promise<Tensor> {
  return native(async () => wrap(await binding.matmul(t(a, 'a'), t(b, 'b'))));
}

export function matmulBackward(dy: Tensor, a: Tensor, b: Tensor): Promise<BinaryGradients> {
  return native(async () => wrapAll(await binding.matmulBackward(t(dy, 'dy'), t(a, 'a'), t(b, 'b'))));
}

/** x [..., in] · weightᵀ + bias, weight [out, in], bias [out] or null. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Promise<Tensor> {
  return native(async () =>
    wrap(await binding.linear(t(x, 'x'), t(weight, 'weight'), bias === null ? null : t(bias, 'bias'))));
}

export interface LinearGradients { dx: Tensor; dweight: Tensor; dbias?: Tensor }

export function linearBackward(dy: Tensor, x: Tensor, weight: Tensor, hasBias: boolean): Promise<LinearGradients> {
  return native(async () => {
    check.boolean(hasBias, 'hasBias');
    return wrapAll(await binding.linearBackward(t(dy, 'dy'), t(x, 'x'), t(weight, 'weight'), hasBias));
  });
}

/**
 * conv2d's options, by its attribute declaration (lib/ops.generated.ts):
 * stride (default 1), padding on each side (default 0) and dilation (default
 * 1), each a number or [h, w]; groups (default 1; Cin for a depthwise
 * convolution). Its 'residual' attribute follows conv2d's residual argument.
 */
export type Conv2dOptions = Omit<OpAttributeOptions<'conv2d'>, 'residual'>;

/**
 * The options as JSON for the addon, which reads and checks them by that
 * declaration. A number JSON cannot hold (NaN, ±Infinity, which it would
 * write as null) is refused here, where it can still be named.
 */
function conv2dOptions(options: unknown, residual = false): string {
  const o = check.options(options, 'options');
  if ('residual' in o) throw new InvalidArgumentError("conv2d: pass the residual tensor, not a 'residual' option");
  for (const [key, value] of Object.entries(o)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        throw new InvalidArgumentError(`conv2d: attribute '${key}' must be a finite number, got ${v}`);
      }
    }
  }
  return JSON.stringify({ ...o, residual });
}

/**
 * PyTorch's Conv2d: x [N, Cin, H, W], weight [Cout, Cin/groups, kh, kw],
 * bias [Cout] or null -> [N, Cout, Ho, Wo]; plus `residual` [N, Cout, Ho, Wo]
 * where given, added in the same pass (its gradient is dy itself).
 */
export function conv2d(
  x: Tensor, weight: Tensor, bias: Tensor | null = null, options?: Conv2dOptions, residual: Tensor | null = null,
): Promise<Tensor> {
  return native(async () => wrap(await binding.conv2d(
    t(x, 'x'), t(weight, 'weight'), bias === null ? null : t(bias, 'bias'), conv2dOptions(options, residual !== null),
    residual === null ? null : t(residual, 'residual'))));
}

export interface Conv2dGradients { dx: Tensor; dweight: Tensor; dbias?: Tensor }

export function conv2dBackward(
  dy: Tensor, x: Tensor, weight: Tensor, hasBias: boolean, options?: Conv2dOptions,
): Promise<Conv2dGradients> {
  return native(async () => {
    check.boolean(hasBias, 'hasBias');
    return wrapAll(await binding.conv2dBackward(
      t(dy, 'dy'), t(x, 'x'), t(weight, 'weight'), hasBias, conv2dOptions(options)));
  });
}
