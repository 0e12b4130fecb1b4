// What the commands write: metrics as JSON, learning curves as SVG and PNG,
// overlay pictures, and progress on the terminal.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { SingleBar } from 'cli-progress';
import { sharp } from '../sharp';

import type { SegmentationDataset } from '../data/dataset';
import type { DMDLKNet } from '../model';
import type { EpochRecord, FitProgress } from '../train/fit';
import type { Metrics, Scores } from '../train/metrics';
import { learningCurvesSvg } from '../viz/curves';
import { overlayPng } from '../viz/overlay';

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(temp, file);
}

/** curves.svg and curves.png in `dir`. */
export async function writeCurves(dir: string, history: readonly EpochRecord[]): Promise<string[]> {
  const svg = learningCurvesSvg(history);
  const svgPath = path.join(dir, 'curves.svg'), pngPath = path.join(dir, 'curves.png');
  fs.writeFileSync(svgPath, svg);
  await sharp(Buffer.from(svg)).png().toFile(pngPath);
  return [svgPath, pngPath];
}

/** "1 file", "2 files": a count with its noun. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatScores(s: Scores): string {
  const pct = (v: number): string => (100 * v).toFixed(2);
  return `IoU ${pct(s.iou)}  Dice ${pct(s.dice)}  Acc ${pct(s.accuracy)}  Sens ${pct(s.sensitivity)}  Spec ${pct(s.specificity)}`;
}

export function printMetrics(label: string, m: Metrics): void {
  console.log(`${label} (${m.images.length} images)`);
  console.log(`  pooled    ${formatScores(m.pooled)}`);
  console.log(`  per image ${formatScores(m.perImage)}`);
  console.log(`  ISIC 2018 thresholded Jaccard ${(100 * m.thresholdedJaccard).toFixed(2)} (per-image IoU, 0 below 0.65)`);
}

/** Pixels of `channels` values 0–255, side × side, enlarged smoothly (Catmull-Rom) to big × big. */
async function enlargeSmoothly(pixels: Uint8Array, side: number, channels: 1 | 3, big: number): Promise<Uint8Array> {
  const resized = sharp(Buffer.from(pixels), { raw: { width: side, height: side, channels } }).resize(big, big, { kernel: 'cubic' });
  const data = await (channels === 1 ? resized.extractChannel(0) : resized).raw().toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/**
 * A mask enlarged from side × side to big × big with smooth outlines: `score`
 * (0–255 per pixel, the class boundary at 127.5) is enlarged smoothly and cut
 * there, instead of each pixel becoming a block.
 */
async function enlargeMask(score: Uint8Array, side: number, big: number): Promise<Uint8Array> {
  return Uint8Array.from(await enlargeSmoothly(score, side, 1, big), (v) => (v >= 128 ? 1 : 0));
}

/** Per pixel of `probabilities` [classes, plane], how far the likeliest lesion class beats the background, [−1, 1] as 0–255. */
function lesionScore(probabilities: Float32Array, classes: number, plane: number): Uint8Array {
  const score = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) {
    let lesion = 0;
    for (let k = 1; k < classes; k++) lesion = Math.max(lesion, probabilities[k * plane + i]);
    score[i] = Math.round((lesion - probabilities[i] + 1) * 127.5);
  }
  return score;
}

/** The expert mask of a file at its original size (EXIF orientation applied), as 0/1. */
async function expertMask(file: string): Promise<Uint8Array> {
  const data = await sharp(file).rotate().greyscale().extractChannel(0).raw().toBuffer();
  return Uint8Array.from(data, (v) => (v > 127 ? 1 : 0));
}

/** Side of the overlays of samples with no file (synthetic ones): large enough to read, and to draw outlines thinner than a pixel of the input. */
const MIN_OVERLAY_SIDE = 256;

/**
 * Overlays of the dataset's samples at `indices` (expert outline in green,
 * predicted in magenta), one PNG each named after the sample. Samples read
 * from files are predicted again at their own size and drawn on the original
 * image, in its proportions; others (synthetic) are enlarged smoothly to at
 * least MIN_OVERLAY_SIDE pixels, with the masks, before the outlines are drawn.
 * Nothing is written, not even the folder, for no indices.
 */
export async function writeOverlays(model: DMDLKNet, dir: string, data: SegmentationDataset, indices: readonly number[]): Promise<string[]> {
  if (indices.length === 0) return [];
  fs.mkdirSync(dir, { recursive: true });
  const s = data.inputSize, px = s * s, big = Math.max(MIN_OVERLAY_SIDE, s), written: string[] = [];
  for (const index of indices) {
    const sample = data.samples[index];
    let png: Buffer;
    if (sample.imagePath && sample.maskPath) {
      const prediction = await model.predict(sample.imagePath);
      png = await overlayPng(sample.imagePath, prediction.mask, await expertMask(sample.maskPath));
    } else {
      const { images, masks: expert } = data.batch([index]);
      const { masks, probabilities } = await model.predict(images, { probabilities: true });
      const values = probabilities?.toArray() as Float32Array;
      for (const t of [images, expert, masks, probabilities]) t?.dispose();
      const rgb = await enlargeSmoothly(data.images.subarray(index * px * 3, (index + 1) * px * 3), s, 3, big);
      const predicted = await enlargeMask(lesionScore(values, values.length / px, px), s, big);
      const expertScore = Uint8Array.from(data.masks.subarray(index * px, (index + 1) * px), (v) => (v ? 255 : 0));
      png = await overlayPng({ rgb, width: big, height: big }, predicted, await enlargeMask(expertScore, s, big));
    }
    const file = path.join(dir, `${sample.name}.png`);
    fs.writeFileSync(file, png);
    written.push(file);
  }
  return written;
}

/** A progress bar on a terminal; one line per epoch either way. */
export class TrainingProgress {
  private bar: SingleBar | null = null;
  private barEpoch = 0;

  step(p: FitProgress): void {
    if (!process.stderr.isTTY) return;
    if (this.barEpoch !== p.epoch) {
      this.bar?.stop();
      this.barEpoch = p.epoch;
      this.bar = new SingleBar({
        format: `epoch ${p.epoch}/${p.epochs} |{bar}| {value}/{total} steps | loss {loss} | lr {lr} | {speed} img/s | ETA {left}`,
        hideCursor: true, stream: process.stderr, barsize: 24,
      });
      this.bar.start(p.steps, 0, { loss: '-', lr: '-', speed: '-', left: '-' });
    }
    this.bar?.update(p.step, { loss: p.loss.toFixed(4), lr: p.lr.toExponential(2), speed: p.imagesPerSecond.toFixed(1), left: formatSeconds(p.etaSeconds) });
  }

  epoch(r: EpochRecord): void {
    this.bar?.stop();
    this.bar = null;
    this.barEpoch = 0;
    const val = r.validation ? `  validation Dice ${(100 * r.validation.dice).toFixed(2)} IoU ${(100 * r.validation.iou).toFixed(2)}` : '';
    console.log(`epoch ${String(r.epoch).padStart(3)}  loss ${r.loss.toFixed(4)}  ${r.imagesPerSecond.toFixed(1)} img/s  ${r.seconds.toFixed(1)} s${val}`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  return m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
