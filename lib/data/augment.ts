// Augmentation options: what users write, checked here, then handed to the
// native transforms (native/cpp/data/augment.h) as JSON.
import { InvalidArgumentError } from '../errors';
import * as check from '../validate';

export interface AugmentOptions {
  /** Probability of a horizontal flip (default 0.5). */
  hflip?: number | undefined;
  /** Probability of a vertical flip (default 0.5). */
  vflip?: number | undefined;
  /** Rotation by an angle uniform in ±degrees (default p 0.5, 45°). */
  rotate?: false | { p?: number | undefined; degrees?: number | undefined } | undefined;
  /** Zoom uniform in [min, max] (default p 0.5, 0.8–1.2). */
  scale?: false | { p?: number | undefined; min?: number | undefined; max?: number | undefined } | undefined;
  /** Shift uniform in ±fraction of the side on each axis (default p 0.5, 0.1). */
  translate?: false | { p?: number | undefined; fraction?: number | undefined } | undefined;
  /** Factors 1 ± brightness/contrast/saturation and a hue shift ± hue (default p 0.5, 0.2/0.2/0.2/0.05). */
  colorJitter?: false | { p?: number | undefined; brightness?: number | undefined; contrast?: number | undefined; saturation?: number | undefined; hue?: number | undefined } | undefined;
  /** Gaussian blur with σ uniform in [min, max] (default p 0.3, [0.1, 1.5]). */
  blur?: false | { p?: number | undefined; sigma?: [number, number] | undefined } | undefined;
  /**
   * The paper's offline mode: the training set becomes `expand` times as
   * large — each image once as it is and expand − 1 times augmented, drawn
   * once from the seed. Without it (or 1), every step draws afresh (online).
   */
  expand?: number | undefined;
}

/** The JSON of native Augmentation plus the offline factor. */
export interface ResolvedAugment {
  json: string;
  expand: number;
}

function probability(value: unknown, name: string, fallback: number): number {
  const p = value ?? fallback;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new InvalidArgumentError(`${name} must be a probability in [0, 1], got ${check.describe(p)}`);
  return p;
}

function range(value: unknown, name: string, fallback: number, lo: number, hi: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw new InvalidArgumentError(`${name} must be a number in [${lo}, ${hi}], got ${check.describe(v)}`);
  return v;
}

function part<T extends object>(value: unknown, name: string, keys: readonly string[]): Partial<T> | null {
  if (value === false) return null;
  const o = check.options(value, name);
  check.knownKeys(o, keys, name);
  return o as Partial<T>;
}

/** Checks `options` (true = the defaults) and turns it into what the native side reads. */
export function resolveAugment(options: boolean | AugmentOptions | undefined, name = 'augment'): ResolvedAugment | null {
  if (options === undefined || options === false) return null;
  const o = options === true ? {} : check.options(options, name);
  check.knownKeys(o, ['hflip', 'vflip', 'rotate', 'scale', 'translate', 'colorJitter', 'blur', 'expand'], name);
  const a = o as AugmentOptions;
  const out: Record<string, number> = {
    hflip: probability(a.hflip, `${name}.hflip`, 0.5),
    vflip: probability(a.vflip, `${name}.vflip`, 0.5),
  };
  const rotate = part<{ p: number; degrees: number }>(a.rotate, `${name}.rotate`, ['p', 'degrees']);
  if (rotate) {
    out.rotateP = probability(rotate.p, `${name}.rotate.p`, 0.5);
    out.rotateDegrees = range(rotate.degrees, `${name}.rotate.degrees`, 45, 0, 180);
  }
  const scale = part<{ p: number; min: number; max: number }>(a.scale, `${name}.scale`, ['p', 'min', 'max']);
  if (scale) {
    out.scaleP = probability(scale.p, `${name}.scale.p`, 0.5);
    out.scaleMin = range(scale.min, `${name}.scale.min`, 0.8, 0.1, 10);
    out.scaleMax = range(scale.max, `${name}.scale.max`, 1.2, 0.1, 10);
    if (out.scaleMin > out.scaleMax) throw new InvalidArgumentError(`${name}.scale.min must not exceed ${name}.scale.max`);
  }
  const translate = part<{ p: number; fraction: number }>(a.translate, `${name}.translate`, ['p', 'fraction']);
  if (translate) {
    out.translateP = probability(translate.p, `${name}.translate.p`, 0.5);
    out.translate = range(translate.fraction, `${name}.translate.fraction`, 0.1, 0, 1);
  }
  const jitter = part<{ p: number; brightness: number; contrast: number; saturation: number; hue: number }>(
    a.colorJitter, `${name}.colorJitter`, ['p', 'brightness', 'contrast', 'saturation', 'hue']);
  if (jitter) {
    out.jitterP = probability(jitter.p, `${name}.colorJitter.p`, 0.5);
    out.brightness = range(jitter.brightness, `${name}.colorJitter.brightness`, 0.2, 0, 1);
    out.contrast = range(jitter.contrast, `${name}.colorJitter.contrast`, 0.2, 0, 1);
    out.saturation = range(jitter.saturation, `${name}.colorJitter.saturation`, 0.2, 0, 1);
    out.hue = range(jitter.hue, `${name}.colorJitter.hue`, 0.05, 0, 0.5);
  }
  const blur = part<{ p: number; sigma: [number, number] }>(a.blur, `${name}.blur`, ['p', 'sigma']);
  if (blur) {
    out.blurP = probability(blur.p, `${name}.blur.p`, 0.3);
    const sigma = blur.sigma ?? [0.1, 1.5];
    if (!Array.isArray(sigma) || sigma.length !== 2) throw new InvalidArgumentError(`${name}.blur.sigma must be [min, max], got ${check.describe(sigma)}`);
    out.blurSigmaMin = range(sigma[0], `${name}.blur.sigma[0]`, 0.1, 0, 20);
    out.blurSigmaMax = range(sigma[1], `${name}.blur.sigma[1]`, 1.5, 0, 20);
    if (out.blurSigmaMin > out.blurSigmaMax) throw new InvalidArgumentError(`${name}.blur.sigma must be [min, max] with min <= max`);
  }
  const expand = check.integer(a.expand ?? 1, `${name}.expand`, 1, 100);
  return { json: JSON.stringify(out), expand };
}
