// Overlay pictures: an image with the expert's outline and the predicted
// outline drawn over it in two colours, as PNG.
import { sharp } from '../sharp';

import { InvalidArgumentError } from '../errors';

export const EXPERT_COLOUR: [number, number, number] = [0, 220, 0];      // green
export const PREDICTED_COLOUR: [number, number, number] = [255, 0, 255]; // magenta

export interface RawImage {
  rgb: Uint8Array;  // width × height × 3
  width: number;
  height: number;
}

/** Paints the outline of `mask` (class > 0) into rgb, `thickness` pixels wide. */
function drawOutline(image: RawImage, mask: Uint8Array, colour: [number, number, number], thickness: number): void {
  const { width, height, rgb } = image;
  const r = thickness - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 ||
        !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width];
      if (!edge) continue;
      for (let oy = Math.max(0, y - r); oy <= Math.min(height - 1, y + r); oy++) {
        for (let ox = Math.max(0, x - r); ox <= Math.min(width - 1, x + r); ox++) rgb.set(colour, (oy * width + ox) * 3);
      }
    }
  }
}

/**
 * A PNG of `image` (a file, an encoded Buffer or raw RGB) with the predicted
 * outline in magenta and, when given, the expert's in green. The masks are
 * row-major class indices at the image's size (after EXIF orientation).
 */
export async function overlayPng(image: string | Buffer | RawImage, predicted: Uint8Array, expert?: Uint8Array): Promise<Buffer> {
  let raw: RawImage;
  if (typeof image === 'string' || Buffer.isBuffer(image)) {
    const { data, info } = await sharp(image).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    raw = { rgb: new Uint8Array(data), width: info.width, height: info.height };
  } else {
    raw = { ...image, rgb: new Uint8Array(image.rgb) };
  }
  const pixels = raw.width * raw.height;
  if (predicted.length !== pixels || (expert && expert.length !== pixels)) {
    throw new InvalidArgumentError(`the masks must have ${raw.width}×${raw.height} = ${pixels} pixels, got ${predicted.length}` +
      (expert ? ` and ${expert.length}` : ''));
  }
  const thickness = Math.max(1, Math.round(Math.min(raw.width, raw.height) / 250));
  if (expert) drawOutline(raw, expert, EXPERT_COLOUR, thickness);
  drawOutline(raw, predicted, PREDICTED_COLOUR, thickness);
  return sharp(Buffer.from(raw.rgb.buffer, raw.rgb.byteOffset, raw.rgb.length), { raw: { width: raw.width, height: raw.height, channels: 3 } })
    .png().toBuffer();
}
