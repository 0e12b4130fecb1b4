// The paper's segmentation metrics for the lesion (every class >= 1)
// against the background: IoU, Dice, pixel accuracy, sensitivity and
// specificity, pooled over every pixel of a set (one confusion matrix, as
// MALUNet and EGE-UNet compute them) and as per-image means; and the ISIC
// 2018 Task 1 challenge's score.

export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface Scores {
  iou: number;
  dice: number;
  accuracy: number;
  sensitivity: number;
  specificity: number;
}

export interface ImageScores extends Scores {
  name: string;
}

export interface Metrics {
  /** From one confusion matrix over every pixel of the set. */
  pooled: Scores;
  /** Means over images of each image's scores. */
  perImage: Scores;
  images: ImageScores[];
  confusion: Confusion;
  /**
   * ISIC 2018 Task 1's leaderboard score: each image's IoU (Jaccard), counted
   * as 0 where it is below 0.65, averaged over the images.
   */
  thresholdedJaccard: number;
}

/** Below this IoU, ISIC 2018 Task 1 scores an image 0. */
export const ISIC_JACCARD_THRESHOLD = 0.65;

/** Counts of predicted vs expert lesion pixels (class > 0) over `pixels` values. */
export function confusion(predicted: ArrayLike<number>, expert: ArrayLike<number>): Confusion {
  const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (let i = 0; i < expert.length; i++) {
    const p = predicted[i] > 0, e = expert[i] > 0;
    if (p && e) c.tp++;
    else if (p) c.fp++;
    else if (e) c.fn++;
    else c.tn++;
  }
  return c;
}

/** Ratios with 0/0 = 1: an image without lesion, predicted without lesion, is perfect. */
function ratio(num: number, den: number): number {
  return den === 0 ? 1 : num / den;
}

export function scores(c: Confusion): Scores {
  return {
    iou: ratio(c.tp, c.tp + c.fp + c.fn),
    dice: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
    accuracy: ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
    sensitivity: ratio(c.tp, c.tp + c.fn),
    specificity: ratio(c.tn, c.tn + c.fp),
  };
}

/** Accumulates images one at a time. */
export class MetricsAccumulator {
  private total: Confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  private images: ImageScores[] = [];

  add(name: string, predicted: ArrayLike<number>, expert: ArrayLike<number>): void {
    const c = confusion(predicted, expert);
    this.total.tp += c.tp;
    this.total.fp += c.fp;
    this.total.fn += c.fn;
    this.total.tn += c.tn;
    this.images.push({ name, ...scores(c) });
  }

  result(): Metrics {
    const keys = ['iou', 'dice', 'accuracy', 'sensitivity', 'specificity'] as const;
    const perImage = Object.fromEntries(keys.map((k) =>
      [k, this.images.reduce((sum, s) => sum + s[k], 0) / Math.max(1, this.images.length)])) as unknown as Scores;
    const thresholded = this.images.reduce((sum, s) => sum + (s.iou < ISIC_JACCARD_THRESHOLD ? 0 : s.iou), 0);
    return { pooled: scores(this.total), perImage, images: this.images, confusion: { ...this.total },
      thresholdedJaccard: thresholded / Math.max(1, this.images.length) };
  }
}

/** Argmax over classes of logits [B, K, H, W] (flat), as class indices [B, H, W]. */
export function argmax(logits: Float32Array, batch: number, classes: number, plane: number): Uint8Array {
  const out = new Uint8Array(batch * plane);
  for (let n = 0; n < batch; n++) {
    const base = n * classes * plane;
    for (let i = 0; i < plane; i++) {
      let best = 0, value = logits[base + i];
      for (let k = 1; k < classes; k++) {
        const v = logits[base + k * plane + i];
        if (v > value) {
          value = v;
          best = k;
        }
      }
      out[n * plane + i] = best;
    }
  }
  return out;
}
