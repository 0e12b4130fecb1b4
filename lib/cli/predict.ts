// dmdlk predict: masks (and overlays, probabilities) for new images.
import * as fs from 'fs';
import * as path from 'path';

import { sharp } from '../sharp';

import { overlayPng } from '../viz/overlay';
import { Command, stringFlag, UsageError } from './args';
import { deviceFlag, deviceHelp, loadModelFlag } from './model-flags';

const IMAGE = /\.(jpe?g|png|bmp|tiff?|webp)$/i;

function inputsOf(positionals: string[]): string[] {
  if (positionals.length === 0) throw new UsageError('give one or more images or folders of images');
  return positionals.flatMap((p) => {
    if (!fs.existsSync(p)) throw new UsageError(`no such file or folder: '${p}'`);
    if (!fs.statSync(p).isDirectory()) return [p];
    return fs.readdirSync(p).filter((f) => IMAGE.test(f)).sort().map((f) => path.join(p, f));
  });
}

export const predictCommand: Command = {
  name: 'predict',
  summary: 'Segment images: a mask PNG (0/255) at each image\'s own size, with an overlay.',
  usage: 'dmdlk predict --model CHECKPOINT [--out DIR] IMAGE|FOLDER...',
  allowPositionals: true,
  options: { model: { type: 'string' }, out: { type: 'string' }, probabilities: { type: 'boolean' }, 'no-overlay': { type: 'boolean' }, device: { type: 'string' } },
  help: [
    '  --model CHECKPOINT       a .safetensors checkpoint written by dmdlk train or DMDLKNet.save()',
    '  --out DIR                output folder (default predictions)',
    '  --probabilities          also write the lesion probability as a grey PNG',
    '  --no-overlay             skip the overlay pictures',
    deviceHelp,
  ],
  async run(values, positionals) {
    const inputs = inputsOf(positionals);
    const model = await loadModelFlag(values.model, deviceFlag(values.device));
    const out = stringFlag(values.out) ?? 'predictions';
    fs.mkdirSync(out, { recursive: true });
    for (const input of inputs) {
      const name = path.parse(input).name;
      const p = await model.predict(input, { probabilities: Boolean(values.probabilities) });
      const raw = { raw: { width: p.width, height: p.height, channels: 1 as const } };
      await sharp(Buffer.from(p.mask.map((v) => (v > 0 ? 255 : 0))), raw).png().toFile(path.join(out, `${name}_mask.png`));
      if (!values['no-overlay']) fs.writeFileSync(path.join(out, `${name}_overlay.png`), await overlayPng(input, p.mask));
      if (p.probabilities) {
        const plane = p.width * p.height, lesion = p.probabilities.subarray(plane, 2 * plane);
        await sharp(Buffer.from(Uint8Array.from(lesion, (v) => Math.round(v * 255))), raw).png().toFile(path.join(out, `${name}_prob.png`));
      }
      const share = p.mask.reduce((s, v) => s + (v > 0 ? 1 : 0), 0) / (p.width * p.height);
      console.log(`${input}: ${p.width}×${p.height}, lesion ${(100 * share).toFixed(1)}% of the image`);
    }
    console.log(`wrote ${inputs.length} masks to ${out}`);
    model.dispose();
  },
};
