// --data / --images / --masks, shared by train, eval and demo.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { SingleBar } from 'cli-progress';

import { loadFolders, loadISIC2018, type ISICSplits, type LoadOptions } from '../data/load';
import { choiceFlag, type FlagValues, type HelpLine, UsageError } from './args';
import { plural } from './report';

export const dataOptions = {
  data: { type: 'string' },
  images: { type: 'string' },
  masks: { type: 'string' },
  'on-error': { type: 'string' },
  'no-cache': { type: 'boolean' },
} as const;

export const dataHelp: HelpLine[] = [
  ['--data DIR', 'ISIC-2018 Task 1 folders, or DIR/images and DIR/masks'],
  ['--images DIR --masks DIR', 'image and mask folders matched by file name'],
  ['--on-error fail|skip', 'a missing/extra mask or unreadable file: stop (default) or leave it out'],
  ['--no-cache', 'decode every image again instead of using ~/.cache/dmdlk-native'],
];

/**
 * Checks the data flags before anything is decoded: a folder named must
 * exist, --on-error must be fail or skip, and some data must be named.
 */
export function checkDataFlags(values: FlagValues): void {
  onErrorFlag(values['on-error']);
  for (const flag of ['data', 'images', 'masks'] as const) {
    const dir = values[flag];
    if (typeof dir === 'string' && !fs.existsSync(dir)) throw new UsageError(`--${flag}: '${dir}' does not exist`);
  }
  if (typeof values.data !== 'string' && !(typeof values.images === 'string' && typeof values.masks === 'string')) {
    throw new UsageError('give --data DIR, or both --images DIR and --masks DIR');
  }
}

export function onErrorFlag(value: FlagValues[string]): 'fail' | 'skip' {
  return choiceFlag(value, 'on-error', ['fail', 'skip'] as const, 'fail');
}

/** Loads the splits the flags name (checked by checkDataFlags), at `inputSize`, with a progress bar on a terminal. */
export async function loadFromFlags(values: FlagValues, inputSize: number,
  seed: number): Promise<ISICSplits> {
  checkDataFlags(values);
  const bar = process.stderr.isTTY ? new SingleBar({ format: 'decoding |{bar}| {value}/{total} images', stream: process.stderr }) : null;
  let started = false;
  const options: LoadOptions = {
    inputSize, onError: onErrorFlag(values['on-error']), ...(values['no-cache'] ? { cache: false } : {}),
    onProgress: (done, total) => {
      if (!bar) return;
      if (!started) {
        bar.start(total, 0);
        started = true;
      }
      bar.update(done);
      if (done === total) {
        bar.stop();
        started = false;
      }
    },
  };
  try {
    if (typeof values.data === 'string') return await loadISIC2018(values.data, { ...options, seed });
    const all = await loadFolders(values.images as string, values.masks as string, options);
    const [train, validation, test] = all.split([0.7, 0.1, 0.2], seed);
    return { train, validation, test };
  } finally {
    bar?.stop();
  }
}

export function describeSplits(splits: ISICSplits): string {
  const parts = Object.entries(splits).filter(([, d]) => d).map(([k, d]) => `${k} ${d?.length}`);
  const skipped = splits.train.problems.length;
  return `${parts.join(', ')} images${skipped ? ` (${plural(skipped, 'file')} skipped, e.g. ${path.basename(splits.train.problems[0].file)}: ${splits.train.problems[0].reason})` : ''}`;
}
