// Test-time augmentation by flips: the class probabilities of an image and
// of its horizontal, vertical and double flips (each flipped back), averaged.
import type { NativeModel } from '../../binding';
import { native } from '../errors';
import { Tensor } from '../tensor';

/** Test-time augmentation: none, or the mean of the probabilities over the four flips. */
export type TestTimeAugmentation = 'none' | 'flips';
export const TTA_NAMES: readonly TestTimeAugmentation[] = ['none', 'flips'];

const FLIPS = [[false, false], [true, false], [false, true], [true, true]] as const;

/** Pixel (y, x) of a side × side plane, read from its flip. */
function flippedIndex(y: number, x: number, side: number, horizontal: boolean, vertical: boolean): number {
  return (vertical ? side - 1 - y : y) * side + (horizontal ? side - 1 - x : x);
}

/** uint8 images [B, S, S, 3], flipped. */
function flipImages(pixels: Uint8Array, batch: number, side: number, horizontal: boolean, vertical: boolean): Uint8Array {
  const out = new Uint8Array(pixels.length), plane = side * side;
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        const to = (n * plane + y * side + x) * 3, from = (n * plane + flippedIndex(y, x, side, horizontal, vertical)) * 3;
        out[to] = pixels[from];
        out[to + 1] = pixels[from + 1];
        out[to + 2] = pixels[from + 2];
      }
  return out;
}

/** Softmax over the classes of logits [B, K, S, S], in place. */
export function softmaxPlanes(values: Float32Array, batch: number, classes: number, plane: number): void {
  for (let n = 0; n < batch; n++) {
    const base = n * classes * plane;
    for (let i = 0; i < plane; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < classes; k++) max = Math.max(max, values[base + k * plane + i]);
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += values[base + k * plane + i] = Math.exp(values[base + k * plane + i] - max);
      for (let k = 0; k < classes; k++) values[base + k * plane + i] /= sum;
    }
  }
}

async function logitsOf(model: NativeModel, images: Tensor): Promise<{ values: Float32Array; classes: number }> {
  const logits = await native(() => model.predictBatch(Tensor.nativeOf(images, 'images')));
  const values = logits.toArray() as Float32Array, classes = logits.shape[1];
  logits.dispose();
  return { values, classes };
}

/**
 * Class scores [B, K, S, S] of uint8 images [B, S, S, 3] whose argmax is the
 * prediction: the logits of the images as they are, or (with 'flips') the
 * mean of the probabilities over the four flips.
 */
export async function classScores(model: NativeModel, images: Tensor,
  tta: TestTimeAugmentation): Promise<{ values: Float32Array; classes: number; probabilities: boolean }> {
  if (tta === 'none') return { ...(await logitsOf(model, images)), probabilities: false };
  const [batch, side] = images.shape, plane = side * side;
  const pixels = (await images.data()) as Uint8Array;
  let mean: Float32Array | null = null, classes = 0;
  for (const [horizontal, vertical] of FLIPS) {
    const flipped = Tensor.from(flipImages(pixels, batch, side, horizontal, vertical), [batch, side, side, 3]);
    const logits = await logitsOf(model, flipped).finally(() => flipped.dispose());
    const values = logits.values;
    classes = logits.classes;
    softmaxPlanes(values, batch, classes, plane);
    mean ??= new Float32Array(values.length);
    const share = 1 / FLIPS.length;
    for (let p = 0; p < batch * classes; p++)  // each flip's planes, flipped back
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++) mean[p * plane + y * side + x] += share * values[p * plane + flippedIndex(y, x, side, horizontal, vertical)];
  }
  return { values: mean as Float32Array, classes, probabilities: true };
}
