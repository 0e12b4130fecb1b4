// Evaluation and prediction over the native model: batches of uint8 images
// through the network in evaluation mode, the argmax of the logits, and the
// paper's metrics against the expert masks (at the dataset's input size).
import type { NativeModel } from '../../binding';
import { binding } from '../binding';
import { InvalidArgumentError, native } from '../errors';
import { Tensor } from '../tensor';
import * as check from '../validate';
import { SegmentationDataset } from '../data/dataset';
import { decodeImage } from '../data/load';
import { classScores, softmaxPlanes, type TestTimeAugmentation, TTA_NAMES } from './flips';
import { argmax, type Metrics, MetricsAccumulator } from './metrics';

export interface EvaluateOptions {
  /** Images per forward pass (default 4). */
  batchSize?: number | undefined;
  /** 'flips': each image's class probabilities averaged over its four flips (default 'none'). */
  tta?: TestTimeAugmentation | undefined;
  /** Called after each batch with the predicted masks [B, S, S] (class indices) and the batch's sample indices. */
  onBatch?: ((predicted: Uint8Array, indices: number[]) => void | Promise<void>) | undefined;
}

export async function evaluateNative(model: NativeModel, inputSize: number, data: SegmentationDataset,
  options: EvaluateOptions): Promise<Metrics> {
  const o = check.options(options, 'options');
  check.knownKeys(o, ['batchSize', 'tta', 'onBatch'], 'options');
  const tta = ttaOption(o.tta);
  if (!(data instanceof SegmentationDataset)) throw new InvalidArgumentError(`data must be a SegmentationDataset, got ${check.describe(data)}`);
  if (data.inputSize !== inputSize) {
    throw new InvalidArgumentError(`the dataset was loaded at ${data.inputSize}×${data.inputSize} but the model's inputSize is ${inputSize}`);
  }
  const batchSize = check.integer(o.batchSize ?? 4, 'options.batchSize', 1, 4096);
  const onBatch = o.onBatch as EvaluateOptions['onBatch'];
  if (onBatch !== undefined && typeof onBatch !== 'function') throw new InvalidArgumentError('options.onBatch must be a function');
  const plane = inputSize * inputSize, metrics = new MetricsAccumulator();
  for (let start = 0; start < data.length; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, data.length - start) }, (_, i) => start + i);
    const predicted = await predictStored(model, data.images.subarray(start * plane * 3, (start + indices.length) * plane * 3),
      indices.length, inputSize, tta);
    indices.forEach((index, k) => {
      metrics.add(data.samples[index].name, predicted.subarray(k * plane, (k + 1) * plane),
        data.masks.subarray(index * plane, (index + 1) * plane));
    });
    await onBatch?.(predicted, indices);
  }
  return metrics.result();
}

function ttaOption(value: unknown): TestTimeAugmentation {
  if (value !== undefined && !TTA_NAMES.includes(value as TestTimeAugmentation)) {
    throw new InvalidArgumentError(`options.tta must be ${TTA_NAMES.map((t) => `'${t}'`).join(' or ')}, got ${check.describe(value)}`);
  }
  return (value ?? 'none') as TestTimeAugmentation;
}

/** Class indices [B, S, S] for uint8 images [B, S, S, 3]. */
async function predictStored(model: NativeModel, pixels: Uint8Array, batch: number, side: number,
  tta: TestTimeAugmentation): Promise<Uint8Array> {
  const images = Tensor.from(pixels, [batch, side, side, 3]);
  const { values, classes } = await classScores(model, images, tta).finally(() => images.dispose());
  return argmax(values, batch, classes, side * side);
}

export interface Prediction {
  /** Class index per pixel at the image's original size (0 = background), row-major. */
  mask: Uint8Array;
  width: number;
  height: number;
  /** With `probabilities: true`: softmax per class, [classes, height, width]. */
  probabilities?: Float32Array;
}

export interface PredictOptions {
  probabilities?: boolean | undefined;
  /** 'flips': the probabilities averaged over the image's four flips (default 'none'). */
  tta?: TestTimeAugmentation | undefined;
}

/**
 * The segmentation of one image file or encoded image Buffer, at its
 * original size: the class scores at the input size (the logits, or the
 * flips' mean probabilities) are resized bilinearly to the image's size
 * (after EXIF orientation), then the argmax.
 */
export async function predictImage(model: NativeModel, inputSize: number, input: string | Buffer,
  options: PredictOptions): Promise<Prediction> {
  const o = check.options(options, 'options');
  check.knownKeys(o, ['probabilities', 'tta'], 'options');
  const wantProbabilities = check.boolean(o.probabilities ?? false, 'options.probabilities');
  const tta = ttaOption(o.tta);
  const decoded = await decodeImage(input, inputSize);  // an IOError or a DataError naming the file where it fails
  const images = Tensor.from(decoded.pixels, [1, inputSize, inputSize, 3]);
  const scores = await classScores(model, images, tta).finally(() => images.dispose());
  const small = Tensor.from(scores.values, [1, scores.classes, inputSize, inputSize]);
  const resized = await native(() => binding.resizeBilinear(Tensor.nativeOf(small, 'scores'), decoded.height, decoded.width))
    .finally(() => small.dispose());
  const values = resized.toArray() as Float32Array;
  resized.dispose();
  const plane = decoded.width * decoded.height;
  const mask = argmax(values, 1, scores.classes, plane);
  if (wantProbabilities && !scores.probabilities) softmaxPlanes(values, 1, scores.classes, plane);
  return { mask, width: decoded.width, height: decoded.height, ...(wantProbabilities ? { probabilities: values } : {}) };
}

/**
 * A batch already at the input size: uint8 images [B, S, S, 3] (as datasets
 * hold them) → masks uint8 [B, S, S] and, on request, probabilities [B, K, S, S].
 */
export async function predictBatch(model: NativeModel, inputSize: number, images: Tensor,
  options: PredictOptions): Promise<{ masks: Tensor; probabilities?: Tensor }> {
  const o = check.options(options, 'options');
  check.knownKeys(o, ['probabilities', 'tta'], 'options');
  const wantProbabilities = check.boolean(o.probabilities ?? false, 'options.probabilities');
  const tta = ttaOption(o.tta);
  const handle = Tensor.nativeOf(images, 'images');
  const [b, h, w, c] = handle.shape;
  if (handle.dtype !== 'uint8' || handle.shape.length !== 4 || h !== inputSize || w !== inputSize || c !== 3) {
    throw new InvalidArgumentError(`images must be uint8 [B, ${inputSize}, ${inputSize}, 3], got ${handle.dtype} [${handle.shape.join(', ')}]`);
  }
  const { values, classes, probabilities } = await classScores(model, images, tta);
  const plane = inputSize * inputSize;
  const masks = Tensor.from(argmax(values, b, classes, plane), [b, inputSize, inputSize]);
  if (!wantProbabilities) return { masks };
  if (!probabilities) softmaxPlanes(values, b, classes, plane);
  return { masks, probabilities: Tensor.from(values, [b, classes, inputSize, inputSize]) };
}
