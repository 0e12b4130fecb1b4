// Synthetic dermoscopy-like images for the demo and the tests: a lesion blob
// of irregular outline, varied colour and texture on a skin tone, with hairs
// across it, the scope's vignetting and sensor noise. The mask is the blob.
// Seeded: the same seed draws the same images.
import * as check from '../validate';
import { SegmentationDataset, seededRandom } from './dataset';

export interface SyntheticOptions {
  /** Number of images (default 200). */
  count?: number;
  /** Square side (default 64). */
  size?: number;
  seed?: number;
}

export interface SyntheticImage {
  /** RGB, channels last, width × height × 3. */
  rgb: Uint8Array;
  /** 0/1, width × height. */
  mask: Uint8Array;
}

// Math's functions bound once: per-pixel calls through the global Math are
// several times slower inside vm contexts (jest, Electron sandboxes).
const { atan2, ceil, cos, floor, hypot, max, min, PI, round, sin } = Math;

const SKIN: [number, number, number][] = [[0.93, 0.78, 0.68], [0.86, 0.66, 0.54], [0.76, 0.56, 0.43], [0.6, 0.43, 0.32], [0.45, 0.31, 0.22]];
const LESION: [number, number, number][] = [[0.42, 0.26, 0.17], [0.3, 0.18, 0.12], [0.55, 0.36, 0.25], [0.22, 0.14, 0.12], [0.4, 0.33, 0.38]];

/** One image of width × height drawn from `random`. */
export function renderSyntheticLesion(width: number, height: number, random: () => number): SyntheticImage {
  const between = (lo: number, hi: number): number => lo + (hi - lo) * random();
  const pick = <T>(list: T[]): T => list[floor(random() * list.length)];
  const mix = (a: number[], b: number[], t: number): number[] => a.map((v, i) => v + (b[i] - v) * t);
  const side = min(width, height);

  const skin = mix(pick(SKIN), pick(SKIN), random());
  const lesion = mix(pick(LESION), pick(LESION), random()).map((v) => v * between(0.8, 1.2));
  const cx = width * between(0.35, 0.65), cy = height * between(0.35, 0.65);
  const radius = side * between(0.14, 0.32), aspect = between(0.7, 1.3), tilt = between(0, PI);
  const harmonics = Array.from({ length: 4 }, (_, k) => ({ k: k + 2, a: between(0, 0.16 / (k + 1)), phase: between(0, 2 * PI) }));
  const waves = Array.from({ length: 3 }, () => ({ fx: between(4, 14) / side, fy: between(4, 14) / side, phase: between(0, 6.3), a: between(0.04, 0.12) }));
  const darkCore = between(-0.25, 0.25), light = { gx: between(-0.15, 0.15), gy: between(-0.15, 0.15) };
  const vignette = between(0.1, 0.5), noise = between(0.01, 0.04);

  const rgb = new Float32Array(width * height * 3), mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x - cx, dy = y - cy;
      const u = (dx * cos(tilt) + dy * sin(tilt)) * aspect, v = (dy * cos(tilt) - dx * sin(tilt)) / aspect;
      const angle = atan2(v, u), dist = hypot(u, v);
      let edge = radius;
      for (const h of harmonics) edge *= 1 + h.a * cos(h.k * angle + h.phase);
      const inside = dist < edge;
      mask[y * width + x] = inside ? 1 : 0;
      let texture = 0;
      for (const w of waves) texture += w.a * sin(x * w.fx * 6.28 + y * w.fy * 6.28 + w.phase);
      // A soft edge over about 2% of the side, so the boundary is not a step.
      const t = min(1, max(0, (edge - dist) / (0.02 * side)));
      const core = 1 + darkCore * (1 - min(1, dist / edge));
      const shade = 1 + light.gx * (x / width - 0.5) + light.gy * (y / height - 0.5);
      const r2 = ((x / width - 0.5) ** 2 + (y / height - 0.5) ** 2) * 2;
      const falloff = 1 - vignette * r2 * r2;
      for (let c = 0; c < 3; c++) {
        const l = lesion[c] * core * (1 + texture);
        const value = (skin[c] + (l - skin[c]) * t) * shade * falloff;
        rgb[(y * width + x) * 3 + c] = value;
      }
    }
  }
  // Hairs: dark quadratic curves across the image, over lesion and skin alike.
  const hairs = floor(between(0, 7));
  for (let hIndex = 0; hIndex < hairs; hIndex++) {
    const p0 = [between(0, width), between(0, height)], p2 = [between(0, width), between(0, height)];
    const p1 = [between(0, width), between(0, height)], thick = between(0.4, 1.2) * max(1, side / 400);
    const colour = skin.map((v) => v * between(0.1, 0.3));
    const samples = ceil(2 * (width + height));
    for (let i = 0; i <= samples; i++) {
      const s = i / samples, a = (1 - s) ** 2, b = 2 * s * (1 - s), c2 = s * s;
      const hx = a * p0[0] + b * p1[0] + c2 * p2[0], hy = a * p0[1] + b * p1[1] + c2 * p2[1];
      for (let oy = -ceil(thick); oy <= ceil(thick); oy++) {
        for (let ox = -ceil(thick); ox <= ceil(thick); ox++) {
          const px = round(hx + ox), py = round(hy + oy);
          if (px < 0 || py < 0 || px >= width || py >= height || ox * ox + oy * oy > thick * thick) continue;
          for (let c = 0; c < 3; c++) rgb[(py * width + px) * 3 + c] = colour[c];
        }
      }
    }
  }
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < out.length; i++) {
    // Sum of uniforms: a cheap, roughly Gaussian sensor noise.
    const n = (random() + random() + random() - 1.5) * 2 * noise;
    out[i] = max(0, min(255, round((rgb[i] + n) * 255)));
  }
  return { rgb: out, mask };
}

/** A dataset of `count` synthetic images at size × size. */
export function syntheticLesions(options: SyntheticOptions = {}): SegmentationDataset {
  const o = check.options(options, 'options');
  check.knownKeys(o, ['count', 'size', 'seed'], 'options');
  const count = check.integer(o.count ?? 200, 'options.count', 1, 1e6);
  const size = check.integer(o.size ?? 64, 'options.size', 8, 4096);
  const random = seededRandom(check.integer(o.seed ?? 0, 'options.seed', 0, 2 ** 32 - 1));
  const px = size * size, images = new Uint8Array(count * px * 3), masks = new Uint8Array(count * px);
  const samples = [];
  for (let i = 0; i < count; i++) {
    const { rgb, mask } = renderSyntheticLesion(size, size, random);
    images.set(rgb, i * px * 3);
    masks.set(mask, i * px);
    samples.push({ name: `synthetic-${String(i + 1).padStart(4, '0')}`, width: size, height: size });
  }
  return new SegmentationDataset(size, images, masks, samples);
}
