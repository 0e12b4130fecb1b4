// Segment one image with a trained model: the mask at the image's own size
// as a PNG (0/255), an overlay of the outline, and the lesion's share.
//
//   npx ts-node examples/predict-file.ts MODEL.safetensors IMAGE [OUT_PREFIX]
import * as fs from 'node:fs';

import sharp from 'sharp';

import { DMDLKNet, overlayPng } from 'dmdlk-native';

async function main(): Promise<void> {
  const [modelPath, image, prefix = 'prediction'] = process.argv.slice(2);
  if (!modelPath || !image) throw new Error('usage: predict-file.ts MODEL.safetensors IMAGE [OUT_PREFIX]');
  const model = await DMDLKNet.load(modelPath);
  const { mask, width, height, probabilities } = await model.predict(image, { probabilities: true });
  await sharp(Buffer.from(mask.map((v) => (v ? 255 : 0))), { raw: { width, height, channels: 1 } })
    .toColourspace('b-w').png().toFile(`${prefix}_mask.png`);  // one 8-bit channel, 0 or 255
  fs.writeFileSync(`${prefix}_overlay.png`, await overlayPng(image, mask));
  const lesion = mask.reduce((n, v) => n + (v ? 1 : 0), 0);
  // With `probabilities: true` they are there: the lesion class's plane follows the background's.
  const lesionProbability = (probabilities as Float32Array).subarray(width * height);
  const confidence = lesionProbability.reduce((s, p) => s + Math.max(p, 1 - p), 0) / (width * height);
  console.log(`${image}: ${width}×${height}, lesion ${((100 * lesion) / (width * height)).toFixed(1)}% of the image, ` +
    `mean confidence ${confidence.toFixed(3)}; wrote ${prefix}_mask.png and ${prefix}_overlay.png`);
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
