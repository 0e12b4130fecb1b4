// The logs fit writes in its `logdir`: steps.jsonl, one JSON line per
// optimizer step (step, epoch, loss, learning rate, images/s, and the gradient
// norm where clipped); epochs.csv, one row per epoch with the validation
// scores; and a TensorBoard event file with the same scalars
// (`tensorboard --logdir <folder>`). A resumed run keeps the lines up to its
// checkpoint's step and goes on from there, so the logs read as one unbroken
// run; its event file is a new one, whose first step after the checkpoint
// makes TensorBoard drop the old file's later steps.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { EpochRecord, FitProgress } from './fit';
import { EventFile } from './event-file';

const EPOCH_COLUMNS = 'epoch,loss,lr,images_per_second,seconds,validation_dice,validation_iou';

export class TrainingLog {
  readonly steps: string;
  readonly epochs: string;
  readonly events: EventFile;
  private lastStep = 0;

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
    this.events = new EventFile(dir);
    this.lastStep = resumedAt?.step ?? 0;
  }

  step(p: FitProgress): void {
    fs.appendFileSync(this.steps, `${JSON.stringify({ step: p.globalStep, epoch: p.epoch, loss: p.loss, lr: p.lr,
      imagesPerSecond: p.imagesPerSecond, ...(p.gradNorm !== undefined ? { gradNorm: p.gradNorm } : {}) })}\n`);
    this.events.scalars(p.globalStep, { 'train/loss': p.loss, 'train/lr': p.lr, 'train/images_per_second': p.imagesPerSecond,
      ...(p.gradNorm !== undefined ? { 'train/grad_norm': p.gradNorm } : {}) });
    this.lastStep = p.globalStep;
  }

  epoch(r: EpochRecord): void {
    fs.appendFileSync(this.epochs, `${[r.epoch, r.loss, r.lr, r.imagesPerSecond, r.seconds, r.validation?.dice ?? '', r.validation?.iou ?? ''].join(',')}\n`);
    this.events.scalars(this.lastStep, { 'epoch/loss': r.loss, 'epoch/epoch': r.epoch,
      ...(r.validation ? { 'validation/dice': r.validation.dice, 'validation/iou': r.validation.iou } : {}) });
  }

  close(): void {
    this.events.close();
  }
}
