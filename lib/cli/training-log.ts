// The logs of a training run in its log folder: steps.jsonl, one JSON line per
// optimizer step (step, epoch, loss, learning rate, images/s, and the gradient
// norm where clipped), and epochs.csv, one row per epoch with the validation
// scores. A resumed run keeps the lines up to its checkpoint's step and goes
// on from there, so the logs read as one unbroken run.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { EpochRecord, FitProgress } from '../train/fit';

const EPOCH_COLUMNS = 'epoch,loss,lr,images_per_second,seconds,validation_dice,validation_iou';

export class TrainingLog {
  readonly steps: string;
  readonly epochs: string;

  /** `resumedAt`: the global step of the checkpoint a resumed run starts from (its epochs done), or null for a new run. */
  constructor(dir: string, resumedAt: { step: number; epoch: number } | null) {
    fs.mkdirSync(dir, { recursive: true });
    this.steps = path.join(dir, 'steps.jsonl');
    this.epochs = path.join(dir, 'epochs.csv');
    const kept = (file: string, keep: (line: string) => boolean): string => {
      if (!resumedAt || !fs.existsSync(file)) return '';
      return fs.readFileSync(file, 'utf8').split('\n').filter((line) => line && keep(line)).map((line) => `${line}\n`).join('');
    };
    fs.writeFileSync(this.steps, kept(this.steps, (line) => (JSON.parse(line) as { step: number }).step <= (resumedAt?.step ?? 0)));
    const rows = kept(this.epochs, (line) => line !== EPOCH_COLUMNS && Number(line.split(',')[0]) <= (resumedAt?.epoch ?? 0));
    fs.writeFileSync(this.epochs, `${EPOCH_COLUMNS}\n${rows}`);
  }

  step(p: FitProgress): void {
    fs.appendFileSync(this.steps, `${JSON.stringify({ step: p.globalStep, epoch: p.epoch, loss: p.loss, lr: p.lr,
      imagesPerSecond: p.imagesPerSecond, ...(p.gradNorm !== undefined ? { gradNorm: p.gradNorm } : {}) })}\n`);
  }

  epoch(r: EpochRecord): void {
    fs.appendFileSync(this.epochs, `${[r.epoch, r.loss, r.lr, r.imagesPerSecond, r.seconds, r.validation?.dice ?? '', r.validation?.iou ?? ''].join(',')}\n`);
  }
}
