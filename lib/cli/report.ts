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

export function formatScores(s: Scores): string {
  const pct = (v: number): string => (100 * v).toFixed(2);
  return `IoU ${pct(s.iou)}  Dice ${pct(s.dice)}  Acc ${pct(s.accuracy)}  Sens ${pct(s.sensitivity)}  Spec ${pct(s.specificity)}`;
}

export function printMetrics(label: string, m: Metrics): void {
  console.log(`${label} (${m.images.length} images)`);
  console.log(`  pooled    ${formatScores(m.pooled)}`);
  console.log(`  per image ${formatScores(m.perImage)}`);
}

/** Nearest-neighbour enlargement by an integer factor of `channels`-deep pixels. */
function enlarge(pixels: Uint8Array, side: number, channels: number, factor: number): Uint8Array {
  const big = side * factor, out = new Uint8Array(big * big * channels);
  for (let y = 0; y < big; y++) {
    for (let x = 0; x < big; x++) {
      const from = (Math.floor(y / factor) * side + Math.floor(x / factor)) * channels;
      out.set(pixels.subarray(from, from + channels), (y * big + x) * channels);
    }
  }
  return out;
}

/** The expert mask of a file at its original size (EXIF orientation applied), as 0/1. */
async function expertMask(file: string): Promise<Uint8Array> {
  const data = await sharp(file).rotate().greyscale().extractChannel(0).raw().toBuffer();
  return Uint8Array.from(data, (v) => (v > 127 ? 1 : 0));
}

/**
 * Overlays of the dataset's samples at `indices` (expert outline in green,
 * predicted in magenta), one PNG each named after the sample. Samples read
 * from files are predicted again at their own size and drawn on the original
 * image, in its proportions; others (synthetic) are drawn at the input size,
 * enlarged to at least 256 pixels.
 */
export async function writeOverlays(model: DMDLKNet, dir: string, data: SegmentationDataset, indices: readonly number[]): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const s = data.inputSize, px = s * s, factor = Math.max(1, Math.ceil(256 / s)), written: string[] = [];
  for (const index of indices) {
    const sample = data.samples[index];
    let png: Buffer;
    if (sample.imagePath && sample.maskPath) {
      const prediction = await model.predict(sample.imagePath);
      png = await overlayPng(sample.imagePath, prediction.mask, await expertMask(sample.maskPath));
    } else {
      const { masks } = await model.predict(data.batch([index]).images);
      const rgb = enlarge(data.images.subarray(index * px * 3, (index + 1) * px * 3), s, 3, factor);
      png = await overlayPng({ rgb, width: s * factor, height: s * factor },
        enlarge(masks.toArray() as Uint8Array, s, 1, factor), enlarge(data.masks.subarray(index * px, (index + 1) * px), s, 1, factor));
      masks.dispose();
    }
    const file = path.join(dir, `${sample.name}.png`);
    fs.writeFileSync(file, png);
    written.push(file);
  }
  return written;
}

/** A progress bar on a terminal; one line per epoch either way. */
export class TrainingProgress {
  #bar: SingleBar | null = null;
  #epoch = 0;

  step(p: FitProgress): void {
    if (!process.stderr.isTTY) return;
    if (this.#epoch !== p.epoch) {
      this.#bar?.stop();
      this.#epoch = p.epoch;
      this.#bar = new SingleBar({
        format: `epoch ${p.epoch}/${p.epochs} |{bar}| {value}/{total} steps | loss {loss} | {speed} img/s | ETA {left}`,
        hideCursor: true, stream: process.stderr, barsize: 24,
      });
      this.#bar.start(p.steps, 0, { loss: '-', speed: '-', left: '-' });
    }
    this.#bar?.update(p.step, { loss: p.loss.toFixed(4), speed: p.imagesPerSecond.toFixed(1), left: formatSeconds(p.etaSeconds) });
  }

  epoch(r: EpochRecord): void {
    this.#bar?.stop();
    this.#bar = null;
    this.#epoch = 0;
    const val = r.validation ? `  validation Dice ${(100 * r.validation.dice).toFixed(2)} IoU ${(100 * r.validation.iou).toFixed(2)}` : '';
    console.log(`epoch ${String(r.epoch).padStart(3)}  loss ${r.loss.toFixed(4)}  ${r.imagesPerSecond.toFixed(1)} img/s  ${r.seconds.toFixed(1)} s${val}`);
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = null;
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  return m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
