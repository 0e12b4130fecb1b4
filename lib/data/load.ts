// Datasets from folders of images and masks. Images are decoded and resized
// with sharp (EXIF orientation applied; bilinear for images, nearest for
// masks, masks binarised at 128) to the model's input size once, and kept in
// an on-disk cache keyed by file, modification time and size, so the next
// run starts at once.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { OutputInfo } from 'sharp';

import { sharp } from '../sharp';

import { DataError, InvalidArgumentError, IOError } from '../errors';
import * as check from '../validate';
import { type DataProblem, type Sample, SegmentationDataset } from './dataset';

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp'];
const MASK_SUFFIXES = ['_segmentation', '_mask', '_Segmentation', '-mask', ''];

export interface LoadOptions {
  /** Side of the square the images are resized to (the model's inputSize; default 448). */
  inputSize?: number | undefined;
  /** What to do with a bad pair: 'fail' (default) throws a DataError naming the file; 'skip' leaves it out. */
  onError?: 'fail' | 'skip' | undefined;
  /** Folder of the decoded-image cache, or false for none (default ~/.cache/dmdlk-native). */
  cache?: string | false | undefined;
  /** Called after each decoded image. */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface ISICSplits {
  train: SegmentationDataset;
  validation?: SegmentationDataset;
  test?: SegmentationDataset;
}

interface ResolvedLoad {
  inputSize: number;
  onError: 'fail' | 'skip';
  cache: string | null;
  onProgress?: (done: number, total: number) => void;
}

function resolveLoad(options: LoadOptions | undefined): ResolvedLoad {
  const o = check.options(options, 'options');
  check.knownKeys(o, ['inputSize', 'onError', 'cache', 'onProgress'], 'options');
  const onError = o.onError ?? 'fail';
  if (onError !== 'fail' && onError !== 'skip') throw new InvalidArgumentError(`options.onError must be 'fail' or 'skip', got ${check.describe(onError)}`);
  let cache: string | null = null;
  if (o.cache !== false) {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
    cache = o.cache === undefined ? path.join(base, 'dmdlk-native') : check.string(o.cache, 'options.cache');
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new InvalidArgumentError('options.onProgress must be a function');
  return {
    inputSize: check.integer(o.inputSize ?? 448, 'options.inputSize', 8, 4096),
    onError,
    cache,
    onProgress: o.onProgress as ResolvedLoad['onProgress'],
  };
}

function isImage(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

function listImages(dir: string, what: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (error) {
    throw new DataError(`cannot read the ${what} folder '${dir}': ${(error as Error).message}`, dir);
  }
  return entries.filter((f) => isImage(f) && !f.startsWith('.')).sort();
}

/** Image stem → mask file, matching "<stem><suffix>.<ext>" for the usual suffixes. */
function matchMasks(images: string[], masks: string[]): { pairs: [string, string][]; missing: string[]; extra: string[] } {
  const byStem = new Map(masks.map((m) => [path.parse(m).name, m]));
  const used = new Set<string>();
  const pairs: [string, string][] = [], missing: string[] = [];
  for (const image of images) {
    const stem = path.parse(image).name;
    const mask = MASK_SUFFIXES.map((s) => byStem.get(stem + s)).find((m) => m !== undefined);
    if (mask === undefined) missing.push(image);
    else {
      pairs.push([image, mask]);
      used.add(mask);
    }
  }
  return { pairs, missing, extra: masks.filter((m) => !used.has(m)) };
}

/** The size sharp shows after applying EXIF orientation. */
async function orientedSize(file: string): Promise<{ width: number; height: number }> {
  const meta = await sharp(file, { failOn: 'truncated' }).metadata();
  if (!meta.width || !meta.height) throw new Error('no image size in the file');
  const swap = (meta.orientation ?? 1) >= 5;
  return swap ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

interface Decoded {
  width: number;
  height: number;
  image: Uint8Array;  // S × S × 3
  mask: Uint8Array;   // S × S, 0/1
}

/** Decodes one image (RGB, bilinear) and its mask (nearest, > 127 → 1) at side × side. */
export async function decodePair(imagePath: string, maskPath: string, side: number): Promise<Decoded> {
  let size: { width: number; height: number }, maskSize: { width: number; height: number };
  try {
    size = await orientedSize(imagePath);
  } catch (error) {
    throw new DataError(`cannot read image '${imagePath}': ${(error as Error).message}`, imagePath);
  }
  try {
    maskSize = await orientedSize(maskPath);
  } catch (error) {
    throw new DataError(`cannot read mask '${maskPath}': ${(error as Error).message}`, maskPath);
  }
  if (size.width !== maskSize.width || size.height !== maskSize.height) {
    throw new DataError(`mask '${maskPath}' is ${maskSize.width}×${maskSize.height} but its image '${imagePath}' is ` +
      `${size.width}×${size.height}`, maskPath);
  }
  try {
    const image = await decodeImage(imagePath, side);
    const mask = await sharp(maskPath, { failOn: 'truncated' }).rotate().greyscale()
      .resize(side, side, { fit: 'fill', kernel: 'nearest' }).extractChannel(0).raw().toBuffer();
    const binary = new Uint8Array(side * side);
    for (let i = 0; i < binary.length; i++) binary[i] = mask[i] > 127 ? 1 : 0;
    return { ...size, image: image.pixels, mask: binary };
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(`cannot decode '${imagePath}' or '${maskPath}': ${(error as Error).message}`, imagePath);
  }
}

/** An IOError where `file` cannot be opened for reading as a file (missing, a folder, no permission). */
async function checkReadable(file: string): Promise<void> {
  let isFolder = false;
  try {
    const handle = await fs.promises.open(file, 'r');
    isFolder = await handle.stat().then((s) => s.isDirectory()).finally(() => handle.close());
  } catch (error) {
    throw new IOError(`cannot read '${file}': ${(error as Error).message}`);
  }
  if (isFolder) throw new IOError(`cannot read '${file}': it is a folder`);
}

/**
 * An image file or buffer as RGB side × side (bilinear), with its oriented
 * original size. A file that cannot be read is an IOError; one that is no
 * image sharp decodes, a DataError naming it.
 */
export async function decodeImage(input: string | Buffer, side: number): Promise<{ pixels: Uint8Array; width: number; height: number }> {
  if (typeof input === 'string') await checkReadable(input);
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(input, { failOn: 'truncated' }).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    const file = typeof input === 'string' ? input : '';
    throw new DataError(`cannot decode ${file ? `'${file}'` : 'the buffer'} as an image: ${(error as Error).message}`, file);
  }
  const { data, info } = decoded;
  const original = { width: info.width, height: info.height };
  const resized = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .resize(side, side, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  return { pixels: new Uint8Array(resized.buffer, resized.byteOffset, side * side * 3), ...original };
}

function cacheFile(cache: string, imagePath: string, maskPath: string, side: number): string {
  const key = [imagePath, maskPath].map((p) => {
    const s = fs.statSync(p);
    return `${path.resolve(p)}:${s.size}:${s.mtimeMs}`;
  }).join('|');
  return path.join(cache, `${createHash('sha1').update(`v1|${side}|${key}`).digest('hex')}.bin`);
}

/** Cached entry: u32 width, u32 height, image bytes, mask bytes. */
function readCache(file: string, side: number): Decoded | null {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return null;
  }
  const px = side * side;
  if (buf.length !== 8 + px * 4) return null;  // foreign or torn: decode again
  return {
    width: buf.readUInt32LE(0), height: buf.readUInt32LE(4),
    image: new Uint8Array(buf.buffer, buf.byteOffset + 8, px * 3),
    mask: new Uint8Array(buf.buffer, buf.byteOffset + 8 + px * 3, px),
  };
}

function writeCache(file: string, d: Decoded): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const header = Buffer.alloc(8);
    header.writeUInt32LE(d.width, 0);
    header.writeUInt32LE(d.height, 4);
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, Buffer.concat([header, d.image, d.mask]));
    fs.renameSync(temp, file);  // atomic: a reader sees the whole entry or none
  } catch {
    // A cache that cannot be written only costs time.
  }
}

/**
 * Image and mask folders matched by file name: a mask belongs to an image
 * when its name is the image's stem plus '', '_segmentation' or '_mask' and
 * any image extension.
 */
export async function loadFolders(imagesDir: string, masksDir: string, options?: LoadOptions): Promise<SegmentationDataset> {
  const o = resolveLoad(options);
  const images = listImages(check.string(imagesDir, 'imagesDir'), 'images');
  const masks = listImages(check.string(masksDir, 'masksDir'), 'masks');
  const { pairs, missing, extra } = matchMasks(images, masks);
  const problems: DataProblem[] = [];
  const report = (file: string, reason: string): void => {
    if (o.onError === 'fail') throw new DataError(`${reason}: '${file}'`, file, true);
    problems.push({ file, reason });
  };
  for (const m of missing) report(path.join(imagesDir, m), 'image without a mask');
  for (const m of extra) report(path.join(masksDir, m), 'mask without an image');
  if (pairs.length === 0) throw new DataError(`no image/mask pairs in '${imagesDir}' and '${masksDir}'`, imagesDir);

  const side = o.inputSize, px = side * side;
  const decoded: (Decoded | null)[] = new Array(pairs.length).fill(null);
  let next = 0, done = 0;
  const worker = async (): Promise<void> => {
    while (next < pairs.length) {
      const i = next++;
      const imagePath = path.join(imagesDir, pairs[i][0]), maskPath = path.join(masksDir, pairs[i][1]);
      const key = o.cache ? cacheFile(o.cache, imagePath, maskPath, side) : null;
      let d = key ? readCache(key, side) : null;
      if (!d) {
        try {
          d = await decodePair(imagePath, maskPath, side);
        } catch (error) {
          if (!(error instanceof DataError)) throw error;
          if (o.onError === 'fail') throw new DataError(error.problem, error.file, true);
          problems.push({ file: error.file, reason: error.message });
        }
        if (d && key) writeCache(key, d);
      }
      decoded[i] = d;
      o.onProgress?.(++done, pairs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, pairs.length) }, worker));

  const kept: { p: (typeof pairs)[number]; d: NonNullable<(typeof decoded)[number]> }[] = [];
  pairs.forEach((p, i) => {
    const d = decoded[i];
    if (d) kept.push({ p, d });
  });
  const imageBytes = new Uint8Array(kept.length * px * 3), maskBytes = new Uint8Array(kept.length * px);
  const samples: Sample[] = kept.map(({ p, d }, k) => {
    imageBytes.set(d.image, k * px * 3);
    maskBytes.set(d.mask, k * px);
    return { name: path.parse(p[0]).name, width: d.width, height: d.height,
      imagePath: path.join(imagesDir, p[0]), maskPath: path.join(masksDir, p[1]) };
  });
  if (samples.length === 0) throw new DataError(`every pair in '${imagesDir}' was unreadable`, imagesDir);
  return new SegmentationDataset(side, imageBytes, maskBytes, samples, problems);
}

const ISIC_FOLDERS = {
  train: ['ISIC2018_Task1-2_Training_Input', 'ISIC2018_Task1_Training_GroundTruth'],
  validation: ['ISIC2018_Task1-2_Validation_Input', 'ISIC2018_Task1_Validation_GroundTruth'],
  test: ['ISIC2018_Task1-2_Test_Input', 'ISIC2018_Task1_Test_GroundTruth'],
} as const;

/** Whether `root` has the ISIC-2018 Task 1 training folders. */
export function isISIC2018(root: string): boolean {
  return ISIC_FOLDERS.train.every((f) => fs.existsSync(path.join(root, f)));
}

/**
 * The ISIC-2018 Task 1 layout under `root` (training, and validation and test
 * where present), or, for any other folder, `images/` and `masks/` under it.
 * Without a test folder, `split` (default [0.7, 0.1, 0.2]) divides the
 * training images by a seeded shuffle into train, validation and test.
 */
export async function loadISIC2018(root: string, options: LoadOptions & { split?: number[] | undefined; seed?: number | undefined } = {}): Promise<ISICSplits> {
  const o = check.options(options, 'options');
  const { split, seed, ...load } = o as LoadOptions & { split?: number[]; seed?: number };
  const dir = check.string(root, 'root');
  const folders = (name: keyof typeof ISIC_FOLDERS) => ISIC_FOLDERS[name].map((f) => path.join(dir, f));
  const part = async (name: keyof typeof ISIC_FOLDERS): Promise<SegmentationDataset | undefined> => {
    const [images, masks] = folders(name);
    return fs.existsSync(images) ? loadFolders(images, masks, load) : undefined;
  };
  let train: SegmentationDataset;
  let validation: SegmentationDataset | undefined, test: SegmentationDataset | undefined;
  if (isISIC2018(dir)) {
    const [images, masks] = folders('train');
    train = await loadFolders(images, masks, load);
    validation = await part('validation');
    test = await part('test');
  } else if (fs.existsSync(path.join(dir, 'images')) && fs.existsSync(path.join(dir, 'masks'))) {
    train = await loadFolders(path.join(dir, 'images'), path.join(dir, 'masks'), load);
  } else {
    throw new DataError(`'${dir}' has neither the ISIC-2018 Task 1 folders (${ISIC_FOLDERS.train.join(', ')}) nor images/ and masks/`, dir);
  }
  if (test) return { train, validation, test };
  const ratios = split ?? (validation ? [0.8, 0.2] : [0.7, 0.1, 0.2]);
  const parts = train.split(ratios, seed ?? 0);
  if (validation) return { train: parts[0], validation, test: parts[1] };
  return ratios.length === 3 ? { train: parts[0], validation: parts[1], test: parts[2] } : { train: parts[0], test: parts[1] };
}
