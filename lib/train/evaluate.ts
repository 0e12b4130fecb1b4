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
import { argmax, type Metrics, MetricsAccumulator } from './metrics';

export interface EvaluateOptions {
  /** Images per forward pass (default 4). */
  batchSize?: number | undefined;
  /** Called after each batch with the predicted masks [B, S, S] (class indices) and the batch's sample indices. */
  onBatch?: ((predicted: Uint8Array, indices: number[]) => void | Promise<void>) | undefined;
}

export async function evaluateNative(model: NativeModel, inputSize: number, data: SegmentationDataset,
  options: EvaluateOptions): Promise<Metrics> {
  const o = check.options(options, 'options');
  check.knownKeys(o, ['batchSize', 'onBatch'], 'options');
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
      indices.length, inputSize);
    indices.forEach((index, k) => {
      metrics.add(data.samples[index].name, predicted.subarray(k * plane, (k + 1) * plane),
        data.masks.subarray(index * plane, (index + 1) * plane));
    });
    await onBatch?.(predicted, indices);
  }
  return metrics.result();
}

/** Class indices [B, S, S] for uint8 images [B, S, S, 3]. */
async function predictStored(model: NativeModel, pixels: Uint8Array, batch: number, side: number): Promise<Uint8Array> {
  const images = Tensor.from(pixels, [batch, side, side, 3]);
  try {
    const logits = await native(() => model.predictBatch(Tensor.nativeOf(images, 'images')));
    const values = logits.toArray() as Float32Array;
    const classes = logits.shape[1];
    logits.dispose();
    return argmax(values, batch, classes, side * side);
  } finally {
    images.dispose();
  }
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
}

function softmaxInPlace(values: Float32Array, classes: number, plane: number): void {
  for (let i = 0; i < plane; i++) {
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, values[k * plane + i]);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += values[k * plane + i] = Math.exp(values[k * plane + i] - max);
    for (let k = 0; k < classes; k++) values[k * plane + i] /= sum;
  }
}

/**
 * The segmentation of one image file or encoded image Buffer, at its
 * original size: the logits at the input size are resized bilinearly to the
 * image's size (after EXIF orientation), then the argmax.
 */
export async function predictImage(model: NativeModel, inputSize: number, input: string | Buffer,
  options: PredictOptions): Promise<Prediction> {
  const o = check.options(options, 'options');
  check.knownKeys(o, ['probabilities'], 'options');
  const wantProbabilities = check.boolean(o.probabilities ?? false, 'options.probabilities');
  const decoded = await decodeImage(input, inputSize);  // an IOError or a DataError naming the file where it fails
  const images = Tensor.from(decoded.pixels, [1, inputSize, inputSize, 3]);
  const logits = await native(() => model.predictBatch(Tensor.nativeOf(images, 'images'))).finally(() => images.dispose());
  const resized = await native(() => binding.resizeBilinear(logits, decoded.height, decoded.width)).finally(() => logits.dispose());
  const values = resized.toArray() as Float32Array;
  const classes = resized.shape[1];
  resized.dispose();
  const plane = decoded.width * decoded.height;
  const mask = argmax(values, 1, classes, plane);
  if (wantProbabilities) softmaxInPlace(values, classes, plane);
  return { mask, width: decoded.width, height: decoded.height, ...(wantProbabilities ? { probabilities: values } : {}) };
}

/**
 * A batch already at the input size: uint8 images [B, S, S, 3] (as datasets
 * hold them) → masks uint8 [B, S, S] and, on request, probabilities [B, K, S, S].
 */
export async function predictBatch(model: NativeModel, inputSize: number, images: Tensor,
  options: PredictOptions): Promise<{ masks: Tensor; probabilities?: Tensor }> {
  const o = check.options(options, 'options');
  check.knownKeys(o, ['probabilities'], 'options');
  const wantProbabilities = check.boolean(o.probabilities ?? false, 'options.probabilities');
  const handle = Tensor.nativeOf(images, 'images');
  const [b, h, w, c] = handle.shape;
  if (handle.dtype !== 'uint8' || handle.shape.length !== 4 || h !== inputSize || w !== inputSize || c !== 3) {
    throw new InvalidArgumentError(`images must be uint8 [B, ${inputSize}, ${inputSize}, 3], got ${handle.dtype} [${handle.shape.join(', ')}]`);
  }
  const logits = await native(() => model.predictBatch(handle));
  const values = logits.toArray() as Float32Array;
  const classes = logits.shape[1];
  logits.dispose();
  const plane = inputSize * inputSize;
  const masks = Tensor.from(argmax(values, b, classes, plane), [b, inputSize, inputSize]);
  if (!wantProbabilities) return { masks };
  for (let n = 0; n < b; n++) softmaxInPlace(values.subarray(n * classes * plane, (n + 1) * classes * plane), classes, plane);
  return { masks, probabilities: Tensor.from(values, [b, classes, inputSize, inputSize]) };
}
