// What the commands write: metrics as JSON, learning curves as SVG and PNG,
// overlay pictures, and progress on the terminal.
import * as fs from 'fs';
import * as path from 'path';

import { SingleBar } from 'cli-progress';
import { sharp } from '../sharp';

import type { SegmentationDataset } from '../data/dataset';
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

/**
 * Overlays of the dataset's images at its input size, enlarged to at least
 * 256 pixels: expert outline in green, predicted in magenta. `predicted`
 * holds [indices.length, S, S] class indices.
 */
export async function writeDatasetOverlays(dir: string, data: SegmentationDataset, predicted: Uint8Array,
  indices: number[]): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const s = data.inputSize, px = s * s, factor = Math.max(1, Math.ceil(256 / s)), written: string[] = [];
  for (const [k, index] of indices.entries()) {
    const rgb = enlarge(data.images.subarray(index * px * 3, (index + 1) * px * 3), s, 3, factor);
    const png = await overlayPng({ rgb, width: s * factor, height: s * factor },
      enlarge(predicted.subarray(k * px, (k + 1) * px), s, 1, factor), enlarge(data.masks.subarray(index * px, (index + 1) * px), s, 1, factor));
    const file = path.join(dir, `${data.samples[index].name}.png`);
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
