// One training run as train and demo do it: fit with progress and Ctrl-C
// handling, then the held-out evaluation, and everything written to the
// output folder (checkpoints, final model, metrics.json, curves, overlays).
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { ISICSplits } from '../data/load';
import { CancelledError } from '../errors';
import { DMDLKNet } from '../model';
import type { FitOptions, History } from '../train/fit';
import type { Metrics } from '../train/metrics';
import { printMetrics, TrainingProgress, writeCurves, writeJson, writeOverlays } from './report';
import { EventFile } from '../train/event-file';

export interface RunResult {
  history: History;
  test?: Metrics;
  files: string[];
}

/**
 * What a run keeps: `keep` checkpoints, as model.safetensors the last epoch's
 * model or the best validation epoch's, and its logs in `logdir` (default: the
 * run's folder), with the held-out overlays as TensorBoard images beside them.
 */
export interface RunFiles {
  keep: number;
  save: 'best' | 'last';
  logdir?: string;
}

export async function trainAndReport(model: DMDLKNet, splits: ISICSplits, out: string,
  options: Omit<FitOptions, 'onProgress' | 'onEpoch' | 'signal' | 'validation' | 'checkpoint' | 'best' | 'logdir'>,
  overlays: number, resumeCommand?: string, run: RunFiles = { keep: 3, save: 'last' }): Promise<RunResult> {
  fs.mkdirSync(out, { recursive: true });
  const logdir = run.logdir ?? out;
  const progress = new TrainingProgress();
  const controller = new AbortController();
  const interrupt = (): void => {
    if (controller.signal.aborted) process.exit(130);  // a second Ctrl-C: leave now
    console.error('\nstopping after this step (Ctrl-C again to quit at once)...');
    controller.abort();
  };
  process.on('SIGINT', interrupt);
  let history: History;
  try {
    history = await model.fit(splits.train, {
      ...options, ...(splits.validation ? { validation: splits.validation, best: { file: path.join(out, 'best.safetensors') } } : {}),
      checkpoint: { dir: path.join(out, 'checkpoints'), every: 1, keep: run.keep }, signal: controller.signal, logdir,
      onProgress: (p) => progress.step(p),
      onEpoch: (r) => progress.epoch(r),
    });
  } catch (error) {
    progress.stop();
    if (error instanceof CancelledError && resumeCommand) error.message += `\nresume with:\n  ${resumeCommand}`;
    throw error;
  } finally {
    process.off('SIGINT', interrupt);
  }
  if (history.stoppedEarly) console.log(history.stoppedEarly);
  if (history.best) console.log(`best validation ${history.best.epoch === history.epochs.length ? 'at the last epoch' : `at epoch ${history.best.epoch}`}: ` +
    `Dice ${(100 * history.best.value).toFixed(2)} (${history.best.file})`);
  // The model the run keeps, which the test set then scores: the best validation epoch's when asked for and known.
  const kept = run.save === 'best' && history.best ? await DMDLKNet.load(history.best.file, { device: model.device }) : model;
  const files: string[] = [];
  const modelPath = path.join(out, 'model.safetensors');
  // dmdlk eval splits the data with the same seed by default.
  await kept.save(modelPath, { dataSeed: String(options.seed ?? 0) });
  const logs = history.logs ? [history.logs.steps, history.logs.epochs, history.logs.events] : [];
  files.push(modelPath, ...(history.best ? [history.best.file] : []), ...logs, ...(await writeCurves(out, history.epochs)));
  let test: Metrics | undefined;
  if (splits.test) {
    test = await kept.evaluate(splits.test);
    printMetrics(kept === model ? 'held-out test set' : 'held-out test set, best validation model', test);
    const shown = splits.test.samples.slice(0, overlays).map((_, i) => i);
    const overlayFiles = await writeOverlays(kept, path.join(out, 'overlays'), splits.test, shown);
    if (overlayFiles.length > 0) {
      const events = new EventFile(logdir, 'overlays');
      for (const file of overlayFiles) events.image(history.globalStep, `overlays/${path.basename(file, '.png')}`, fs.readFileSync(file));
      events.close();
      files.push(events.file);
    }
    files.push(...overlayFiles);
  }
  if (kept !== model) kept.dispose();
  const metricsPath = path.join(out, 'metrics.json');
  writeJson(metricsPath, {
    config: model.config, device: model.device, options, saved: run.save, history: history.epochs,
    ...(history.best ? { best: history.best } : {}), ...(history.stoppedEarly ? { stoppedEarly: history.stoppedEarly } : {}),
    sizes: Object.fromEntries(Object.entries(splits).filter(([, d]) => d).map(([k, d]) => [k, d?.length])),
    ...(test ? { test: { pooled: test.pooled, perImage: test.perImage, thresholdedJaccard: test.thresholdedJaccard, confusion: test.confusion,
      images: test.images } } : {}),
  });
  files.push(metricsPath);
  return { history, test, files };
}
