// Builds an ISIC-2018-style folder with sharp, as real ISIC files are: JPEG
// images of varied sizes (some with an EXIF orientation), 8-bit PNG masks of
// 0/255 named <id>_segmentation.png. The images are synthetic lesions.
import * as fs from 'node:fs';
import * as path from 'node:path';

import sharp, { type Sharp } from 'sharp';

import { seededRandom } from '../../lib/data/dataset';
import { renderSyntheticLesion } from '../../lib/data/synthetic';

export const TRAIN_IMAGES = 'ISIC2018_Task1-2_Training_Input';
export const TRAIN_MASKS = 'ISIC2018_Task1_Training_GroundTruth';

export interface IsicFile {
  id: string;
  width: number;
  height: number;
  /** EXIF orientation written into the JPEG (1 = none). */
  orientation: number;
}

// Large files are drawn at most this wide and enlarged by sharp: drawing
// 30 megapixels in JavaScript would dominate the test's time.
const DRAW_LIMIT = 1200;

/**
 * Writes `sizes.length` pairs under root. With orientation 6 (rotate 90° clockwise to display), the stored
 * pixels are the displayed image turned 90° counter-clockwise, as a camera writes them.
 */
export async function writeIsicFolder(root: string, files: IsicFile[], seed = 1): Promise<void> {
  const images = path.join(root, TRAIN_IMAGES), masks = path.join(root, TRAIN_MASKS);
  fs.mkdirSync(images, { recursive: true });
  fs.mkdirSync(masks, { recursive: true });
  const random = seededRandom(seed);
  for (const f of files) {
    const shrink = Math.max(1, Math.ceil(Math.max(f.width, f.height) / DRAW_LIMIT));
    const w = Math.round(f.width / shrink), h = Math.round(f.height / shrink);
    const { rgb, mask } = renderSyntheticLesion(w, h, random);
    // sharp writes single-channel raw input back as sRGB: take the one channel again.
    const full = async (pixels: Uint8Array, channels: 1 | 3): Promise<Sharp> => {
      const resized = sharp(Buffer.from(pixels), { raw: { width: w, height: h, channels } })
        .resize(f.width, f.height, { fit: 'fill', kernel: channels === 1 ? 'nearest' : 'linear' });
      const data = await (channels === 1 ? resized.extractChannel(0) : resized).raw().toBuffer();
      return sharp(data, { raw: { width: f.width, height: f.height, channels } });
    };
    let image = await full(rgb, 3);
    let maskImage = await full(mask.map((v) => v * 255), 1);
    if (f.orientation === 6) {
      image = sharp(await image.rotate(-90).raw().toBuffer(), { raw: { width: f.height, height: f.width, channels: 3 } });
      maskImage = sharp(await maskImage.rotate(-90).extractChannel(0).raw().toBuffer(), { raw: { width: f.height, height: f.width, channels: 1 } });
    }
    await image.jpeg({ quality: 92 }).withMetadata({ orientation: f.orientation }).toFile(path.join(images, `${f.id}.jpg`));
    // Masks carry the same orientation tag, as the loader applies EXIF orientation to both.
    await maskImage.png().withMetadata({ orientation: f.orientation }).toFile(path.join(masks, `${f.id}_segmentation.png`));
  }
}
