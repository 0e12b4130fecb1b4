// dmdlk predict: masks (and overlays, probabilities) for new images.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { sharp } from '../sharp';

import { overlayPng } from '../viz/overlay';
import { DataError, DisposedError, DmdlkError } from '../errors';
import type { Prediction } from '../train/evaluate';
import { type Command, stringFlag, UsageError } from './args';
import { onErrorFlag } from './data-flags';
import { deviceFlag, deviceHelp, loadModelFlag, precisionFlag, precisionHelp, ttaFlag, ttaHelp } from './model-flags';
import { plural } from './report';

const IMAGE = /\.(jpe?g|png|bmp|tiff?|webp)$/i;

function inputsOf(positionals: string[]): string[] {
  if (positionals.length === 0) throw new UsageError('give one or more images or folders of images');
  return positionals.flatMap((p) => {
    if (!fs.existsSync(p)) throw new UsageError(`no such file or folder: '${p}'`);
    if (!fs.statSync(p).isDirectory()) return [p];
    return fs.readdirSync(p).filter((f) => IMAGE.test(f)).sort().map((f) => path.join(p, f));
  });
}

/** A one-channel 8-bit PNG of `pixels` (width × height values). */
function greyPng(pixels: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

export const predictCommand: Command = {
  name: 'predict',
  summary: 'Segment images: a mask PNG (0/255) at each image\'s own size, with an overlay.',
  usage: 'dmdlk predict --model CHECKPOINT [--out DIR] IMAGE|FOLDER...',
  allowPositionals: true,
  options: {
    model: { type: 'string' }, out: { type: 'string' }, probabilities: { type: 'boolean' }, 'no-overlay': { type: 'boolean' },
    device: { type: 'string' }, precision: { type: 'string' }, tta: { type: 'string' }, 'on-error': { type: 'string' },
  },
  help: [
    ['--model CHECKPOINT', 'a checkpoint written by dmdlk train or DMDLKNet.save(), a run folder\n(its model.safetensors) or a checkpoint folder (its newest)'],
    ['--out DIR', 'output folder (default predictions)'],
    ['--probabilities', 'also write the lesion probability as a grey PNG'],
    ['--no-overlay', 'skip the overlay pictures'],
    ['--on-error fail|skip', 'an image that cannot be read: stop (default) or go on with the others'],
    ttaHelp, deviceHelp, precisionHelp,
  ],
  async run(values, positionals) {
    const onError = onErrorFlag(values['on-error']);
    const inputs = inputsOf(positionals);
    const device = deviceFlag(values.device);
    const tta = ttaFlag(values.tta);
    precisionFlag(values.precision, device);
    const model = await loadModelFlag(values.model, device);
    const out = stringFlag(values.out) ?? 'predictions';
    fs.mkdirSync(out, { recursive: true });
    const skipped: string[] = [];
    for (const input of inputs) {
      const name = path.parse(input).name;
      let p: Prediction;
      try {
        p = await model.predict(input, { probabilities: Boolean(values.probabilities), tta });
      } catch (error) {
        if (!(error instanceof DmdlkError) || error instanceof DisposedError) throw error;
        // A file that cannot be decoded is a data error that --on-error skip would pass over; one that cannot be read stays an I/O error.
        if (onError === 'fail') throw error instanceof DataError ? new DataError(error.problem, error.file, true) : error;
        console.log(`${input}: skipped (${error.message})`);
        skipped.push(input);
        continue;
      }
      fs.writeFileSync(path.join(out, `${name}_mask.png`), await greyPng(p.mask.map((v) => (v > 0 ? 255 : 0)), p.width, p.height));
      if (!values['no-overlay']) fs.writeFileSync(path.join(out, `${name}_overlay.png`), await overlayPng(input, p.mask));
      if (p.probabilities) {
        const plane = p.width * p.height, lesion = p.probabilities.subarray(plane, 2 * plane);
        fs.writeFileSync(path.join(out, `${name}_prob.png`), await greyPng(Uint8Array.from(lesion, (v) => Math.round(v * 255)), p.width, p.height));
      }
      const share = p.mask.reduce((s, v) => s + (v > 0 ? 1 : 0), 0) / (p.width * p.height);
      console.log(`${input}: ${p.width}×${p.height}, lesion ${(100 * share).toFixed(1)}% of the image`);
    }
    console.log(`wrote ${plural(inputs.length - skipped.length, 'mask')} to ${out}${skipped.length ? `; skipped ${plural(skipped.length, 'unreadable file')}` : ''}`);
    model.dispose();
  },
};
