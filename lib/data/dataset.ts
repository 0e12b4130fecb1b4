// A segmentation dataset held in memory as the network's input size:
// images uint8 [N, S, S, 3] (RGB, channels last, as decoded) and masks
// uint8 [N, S, S] of class indices, with each sample's name and original size.
import { binding } from '../binding';
import { InvalidArgumentError, native } from '../errors';
import { Tensor } from '../tensor';
import * as check from '../validate';
import { type AugmentOptions, type ResolvedAugment, resolveAugment } from './augment';

export interface Sample {
  /** The image's file name without extension (or a generated name). */
  name: string;
  /** Size of the original image, after EXIF orientation. */
  width: number;
  height: number;
  imagePath?: string;
  maskPath?: string;
}

/** A file that was skipped while loading (with `onError: 'skip'`). */
export interface DataProblem {
  file: string;
  reason: string;
}

// Bound once: calls through the global Math are slow inside vm contexts (jest, Electron sandboxes).
const { imul } = Math;

/** Seeded 32-bit generator (mulberry32): data order and splits are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = (seed >>> 0) ^ 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded permutation of 0 … n − 1 (Fisher–Yates). */
export function permutation(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export class SegmentationDataset {
  readonly inputSize: number;
  readonly images: Uint8Array;
  readonly masks: Uint8Array;
  readonly samples: readonly Sample[];
  /** Files skipped while loading. */
  readonly problems: readonly DataProblem[];

  constructor(inputSize: number, images: Uint8Array, masks: Uint8Array, samples: Sample[], problems: DataProblem[] = []) {
    const side = check.integer(inputSize, 'inputSize', 1, 1 << 14);
    const n = samples.length;
    if (images.length !== n * side * side * 3) {
      throw new InvalidArgumentError(`images must hold ${n} × ${side} × ${side} × 3 bytes, got ${images.length}`);
    }
    if (masks.length !== n * side * side) throw new InvalidArgumentError(`masks must hold ${n} × ${side} × ${side} bytes, got ${masks.length}`);
    this.inputSize = side;
    this.images = images;
    this.masks = masks;
    this.samples = samples;
    this.problems = problems;
  }

  get length(): number { return this.samples.length; }

  /** The samples at `indices`, in that order (copies). */
  subset(indices: readonly number[]): SegmentationDataset {
    const s = this.inputSize, px = s * s;
    const images = new Uint8Array(indices.length * px * 3), masks = new Uint8Array(indices.length * px);
    indices.forEach((index, k) => {
      check.integer(index, `indices[${k}]`, 0, this.length - 1);
      images.set(this.images.subarray(index * px * 3, (index + 1) * px * 3), k * px * 3);
      masks.set(this.masks.subarray(index * px, (index + 1) * px), k * px);
    });
    return new SegmentationDataset(s, images, masks, indices.map((i) => this.samples[i]), [...this.problems]);
  }

  /**
   * Seeded random split by ratios (which are normalised): for example
   * `split([0.8, 0.2], 1)` → [train, test]. Every sample lands in exactly one part.
   */
  split(ratios: readonly number[], seed = 0): SegmentationDataset[] {
    if (!Array.isArray(ratios) || ratios.length < 2 || ratios.some((r) => typeof r !== 'number' || !(r >= 0))) {
      throw new InvalidArgumentError(`ratios must be two or more non-negative numbers, got ${check.describe(ratios)}`);
    }
    const total = ratios.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw new InvalidArgumentError('ratios must not all be zero');
    const order = permutation(this.length, check.integer(seed, 'seed', 0, 2 ** 32 - 1));
    const parts: SegmentationDataset[] = [];
    let start = 0, cumulative = 0;
    ratios.forEach((r, i) => {
      cumulative += r;
      const end = i === ratios.length - 1 ? this.length : Math.round((cumulative / total) * this.length);
      parts.push(this.subset(order.slice(start, end)));
      start = end;
    });
    return parts;
  }

  /** The batch at `indices` as tensors: images uint8 [B, S, S, 3], masks uint8 [B, S, S]. */
  batch(indices: readonly number[]): { images: Tensor; masks: Tensor } {
    const b = this.subset(indices), s = this.inputSize;
    return {
      images: Tensor.from(b.images, [indices.length, s, s, 3]),
      masks: Tensor.from(b.masks, [indices.length, s, s]),
    };
  }

  /**
   * The paper's offline augmentation: this set once as it is plus
   * `augment.expand − 1` augmented copies of every sample, drawn from `seed`.
   */
  async expand(augment: AugmentOptions, seed = 0): Promise<SegmentationDataset> {
    const resolved = resolveAugment(augment);
    return resolved ? expandDataset(this, resolved, seed) : this;
  }

  /** Both datasets' samples in one (same input size). */
  static concat(a: SegmentationDataset, b: SegmentationDataset): SegmentationDataset {
    if (a.inputSize !== b.inputSize) throw new InvalidArgumentError(`cannot join datasets of sizes ${a.inputSize} and ${b.inputSize}`);
    const images = new Uint8Array(a.images.length + b.images.length), masks = new Uint8Array(a.masks.length + b.masks.length);
    images.set(a.images);
    images.set(b.images, a.images.length);
    masks.set(a.masks);
    masks.set(b.masks, a.masks.length);
    return new SegmentationDataset(a.inputSize, images, masks, [...a.samples, ...b.samples], [...a.problems, ...b.problems]);
  }
}

/** SegmentationDataset.expand with its options already resolved (as fit holds them). */
export async function expandDataset(data: SegmentationDataset, augment: ResolvedAugment, seed: number): Promise<SegmentationDataset> {
  if (augment.expand === 1) return data;
  const s = data.inputSize, px = s * s, n = data.length;
  const images = new Uint8Array(n * augment.expand * px * 3), masks = new Uint8Array(n * augment.expand * px);
  images.set(data.images);
  masks.set(data.masks);
  const all = Array.from({ length: n }, (_, i) => i);
  const chunk = 64;
  for (let copy = 1; copy < augment.expand; copy++) {
    for (let start = 0; start < n; start += chunk) {
      const { images: bi, masks: bm } = data.batch(all.slice(start, start + chunk));
      const out = await native(() => binding.augmentStored(
        Tensor.nativeOf(bi, 'images'), Tensor.nativeOf(bm, 'masks'), augment.json, seed * 1000003 + copy * 10007 + start));
      const offset = copy * n + start;
      images.set(out.images.toArray() as Uint8Array, offset * px * 3);
      masks.set(out.masks.toArray() as Uint8Array, offset * px);
      out.images.dispose();
      out.masks.dispose();
      bi.dispose();
      bm.dispose();
    }
  }
  const samples = Array.from({ length: augment.expand }, (_, copy) =>
    data.samples.map((sample) => (copy === 0 ? sample : { ...sample, name: `${sample.name}~aug${copy}` }))).flat();
  return new SegmentationDataset(s, images, masks, samples, [...data.problems]);
}
