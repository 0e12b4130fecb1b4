// One training run as train and demo do it: fit with progress and Ctrl-C
// handling, then the held-out evaluation, and everything written to the
// output folder (checkpoints, final model, metrics.json, curves, overlays).
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { ISICSplits } from '../data/load';
import { CancelledError } from '../errors';
import type { DMDLKNet } from '../model';
import type { FitOptions, History } from '../train/fit';
import type { Metrics } from '../train/metrics';
import { printMetrics, TrainingProgress, writeCurves, writeJson, writeOverlays } from './report';

export interface RunResult {
  history: History;
  test?: Metrics;
  files: string[];
}

export async function trainAndReport(model: DMDLKNet, splits: ISICSplits, out: string,
  options: Omit<FitOptions, 'onProgress' | 'onEpoch' | 'signal' | 'validation' | 'checkpoint'>,
  overlays: number, resumeCommand?: string): Promise<RunResult> {
  fs.mkdirSync(out, { recursive: true });
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
      ...options, ...(splits.validation ? { validation: splits.validation } : {}),
      checkpoint: { dir: path.join(out, 'checkpoints'), every: 1, keep: 3 }, signal: controller.signal,
      onProgress: (p) => progress.step(p), onEpoch: (r) => progress.epoch(r),
    });
  } catch (error) {
    progress.stop();
    if (error instanceof CancelledError && resumeCommand) error.message += `\nresume with:\n  ${resumeCommand}`;
    throw error;
  } finally {
    process.off('SIGINT', interrupt);
  }
  const files: string[] = [];
  const modelPath = path.join(out, 'model.safetensors');
  // dmdlk eval splits the data with the same seed by default.
  await model.save(modelPath, { dataSeed: String(options.seed ?? 0) });
  files.push(modelPath, ...(await writeCurves(out, history.epochs)));
  let test: Metrics | undefined;
  if (splits.test) {
    test = await model.evaluate(splits.test);
    printMetrics('held-out test set', test);
    const shown = splits.test.samples.slice(0, overlays).map((_, i) => i);
    files.push(...(await writeOverlays(model, path.join(out, 'overlays'), splits.test, shown)));
  }
  const metricsPath = path.join(out, 'metrics.json');
  writeJson(metricsPath, {
    config: model.config, device: model.device, options, history: history.epochs,
    sizes: Object.fromEntries(Object.entries(splits).filter(([, d]) => d).map(([k, d]) => [k, d?.length])),
    ...(test ? { test: { pooled: test.pooled, perImage: test.perImage, thresholdedJaccard: test.thresholdedJaccard, confusion: test.confusion,
      images: test.images } } : {}),
  });
  files.push(metricsPath);
  return { history, test, files };
}
