import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import { DataError, InvalidArgumentError, loadFolders, loadISIC2018, SegmentationDataset, syntheticLesions } from '../../lib';
import { type IsicFile, TRAIN_IMAGES, TRAIN_MASKS, writeIsicFolder } from './isic-folder';

const files: IsicFile[] = [
  { id: 'ISIC_0000000', width: 576, height: 542, orientation: 1 },
  { id: 'ISIC_0000001', width: 1024, height: 768, orientation: 1 },
  { id: 'ISIC_0000002', width: 800, height: 600, orientation: 6 },
  { id: 'ISIC_0000003', width: 640, height: 480, orientation: 1 },
  { id: 'ISIC_0000004', width: 6688, height: 4439, orientation: 1 },
  { id: 'ISIC_0000005', width: 700, height: 700, orientation: 1 },
];

describe('datasets', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-data-'));
  const cache = path.join(root, 'cache');
  beforeAll(() => writeIsicFolder(path.join(root, 'isic'), files));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const copy = (name: string): string => {
    const dir = path.join(root, name);
    fs.cpSync(path.join(root, 'isic'), dir, { recursive: true });
    return dir;
  };

  it('loads the ISIC-2018 layout at the input size, with original sizes after EXIF orientation', async () => {
    const { train, validation, test } = await loadISIC2018(path.join(root, 'isic'), { inputSize: 64, cache: false, split: [4, 1, 1], seed: 3 });
    expect([train.length, validation!.length, test!.length]).toEqual([4, 1, 1]);
    const all = [...train.samples, ...validation!.samples, ...test!.samples].sort((a, b) => a.name.localeCompare(b.name));
    // Sizes as displayed: ISIC_0000002's pixels are stored turned, with orientation 6.
    expect(all.map((s) => [s.name, s.width, s.height])).toEqual(files.map((f) => [f.id, f.width, f.height]));
    expect(train.images.length).toBe(4 * 64 * 64 * 3);
    expect(new Set(train.masks)).toEqual(new Set([0, 1]));
    // Each mask lies on its image: the lesion's mean colour stands apart from the skin's.
    const px = 64 * 64;
    train.samples.forEach((_, n) => {
      const mean = (lesion: number): number[] => {
        const sum = [0, 0, 0];
        let count = 0;
        for (let i = 0; i < px; i++) {
          if (train.masks[n * px + i] !== lesion) continue;
          for (let c = 0; c < 3; c++) sum[c] += train.images[(n * px + i) * 3 + c];
          count++;
        }
        return sum.map((v) => v / count);
      };
      const a = mean(1), b = mean(0);
      expect(Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2])).toBeGreaterThan(15);
    });
  });

  it('applies EXIF orientation to images and masks alike', async () => {
    // Orientation 6 stores the picture turned; decoded, it must equal the same picture stored upright.
    const dir = path.join(root, 'orient');
    await writeIsicFolder(dir, [{ id: 'a', width: 320, height: 200, orientation: 6 }], 9);
    await writeIsicFolder(path.join(root, 'upright'), [{ id: 'a', width: 320, height: 200, orientation: 1 }], 9);
    const load = (d: string) => loadFolders(path.join(d, TRAIN_IMAGES), path.join(d, TRAIN_MASKS), { inputSize: 32, cache: false });
    const [turned, upright] = await Promise.all([load(dir), load(path.join(root, 'upright'))]);
    expect(turned.samples[0]).toMatchObject({ width: 320, height: 200 });
    let differ = 0;
    for (let i = 0; i < 32 * 32; i++) differ += turned.masks[i] !== upright.masks[i] ? 1 : 0;
    expect(differ).toBeLessThan(20);  // JPEG and resampling may move an edge pixel
  });

  it('decodes once into the cache and reads it back the same', async () => {
    const first = await loadISIC2018(path.join(root, 'isic'), { inputSize: 32, cache, split: [1, 0] });
    expect(fs.readdirSync(cache).filter((f) => f.endsWith('.bin'))).toHaveLength(files.length);
    const second = await loadISIC2018(path.join(root, 'isic'), { inputSize: 32, cache, split: [1, 0] });
    expect(Buffer.compare(Buffer.from(first.train.images), Buffer.from(second.train.images))).toBe(0);
    expect(second.train.samples).toEqual(first.train.samples);
    // A torn cache entry is decoded again, not trusted.
    const entry = path.join(cache, fs.readdirSync(cache)[0]);
    fs.truncateSync(entry, 10);
    const third = await loadISIC2018(path.join(root, 'isic'), { inputSize: 32, cache, split: [1, 0] });
    expect(Buffer.compare(Buffer.from(first.train.masks), Buffer.from(third.train.masks))).toBe(0);
  });

  it('names the file of a missing mask, an extra mask, a truncated or unreadable image, a size mismatch', async () => {
    const cases: [string, (dir: string) => void, RegExp][] = [
      ['missing', (d) => fs.rmSync(path.join(d, TRAIN_MASKS, 'ISIC_0000001_segmentation.png')), /image without a mask.*ISIC_0000001\.jpg/],
      ['extra', (d) => fs.copyFileSync(path.join(d, TRAIN_MASKS, 'ISIC_0000001_segmentation.png'), path.join(d, TRAIN_MASKS, 'ISIC_0000099_segmentation.png')),
        /mask without an image.*ISIC_0000099_segmentation\.png/],
      ['truncated', (d) => {
        const f = path.join(d, TRAIN_IMAGES, 'ISIC_0000003.jpg');
        fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 3000));
      }, /ISIC_0000003\.jpg/],
      ['zero-byte', (d) => fs.writeFileSync(path.join(d, TRAIN_IMAGES, 'ISIC_0000002.jpg'), ''), /cannot read image.*ISIC_0000002\.jpg/],
      ['garbage', (d) => fs.writeFileSync(path.join(d, TRAIN_IMAGES, 'ISIC_0000004.jpg'), 'not an image'), /cannot read image.*ISIC_0000004\.jpg/],
      ['mismatch', (d) => fs.copyFileSync(path.join(d, TRAIN_MASKS, 'ISIC_0000000_segmentation.png'), path.join(d, TRAIN_MASKS, 'ISIC_0000005_segmentation.png')),
        /ISIC_0000005_segmentation\.png' is 576×542 but its image .*ISIC_0000005\.jpg' is 700×700/],
    ];
    for (const [name, spoil, message] of cases) {
      const dir = copy(`bad-${name}`);
      spoil(dir);
      const error = await loadISIC2018(dir, { inputSize: 32, cache: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataError);
      expect({ name, message: (error as Error).message }).toEqual({ name, message: expect.stringMatching(message) });
      expect((error as DataError).code).toBe('ERR_DATA');
      // With onError: 'skip' the rest loads and the problem is listed.
      const { train } = await loadISIC2018(dir, { inputSize: 32, cache: false, onError: 'skip', split: [1, 0] });
      expect({ name, problems: train.problems.length }).toEqual({ name, problems: 1 });
      expect(train.length).toBe(name === 'extra' ? files.length : files.length - 1);
    }
  });

  it('binarises masks that are not 0/255 at 128', async () => {
    const dir = copy('grey-masks');
    const file = path.join(dir, TRAIN_MASKS, 'ISIC_0000000_segmentation.png');
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    const grey = Uint8Array.from(data, (v, i) => (v > 127 ? 130 + (i % 120) : i % 120));  // 130..249 inside, 0..119 outside
    await sharp(Buffer.from(grey), { raw: { width: info.width, height: info.height, channels: info.channels } }).png().toFile(`${file}.tmp.png`);
    fs.renameSync(`${file}.tmp.png`, file);
    const [original, greyed] = await Promise.all([path.join(root, 'isic'), dir].map((d) =>
      loadISIC2018(d, { inputSize: 32, cache: false, split: [1, 0] })));
    expect(Buffer.compare(Buffer.from(greyed.train.masks), Buffer.from(original.train.masks))).toBe(0);
  });

  it('rejects bad options and folders clearly', async () => {
    await expect(loadISIC2018(path.join(root, 'nowhere'), { cache: false })).rejects.toThrow(/neither the ISIC-2018/);
    await expect(loadISIC2018(path.join(root, 'isic'), { onError: 'ignore' as 'skip' })).rejects.toThrow(InvalidArgumentError);
    await expect(loadISIC2018(path.join(root, 'isic'), { inputSize: 3 })).rejects.toThrow(/inputSize/);
    await expect(loadFolders(path.join(root, 'isic', TRAIN_IMAGES), path.join(root, 'none'))).rejects.toThrow(/cannot read the masks folder/);
  });

  it('splits by seed, every sample exactly once, and expands offline reproducibly', async () => {
    const data = syntheticLesions({ count: 30, size: 32, seed: 2 });
    const parts = data.split([0.5, 0.3, 0.2], 7);
    expect(parts.map((p) => p.length)).toEqual([15, 9, 6]);
    expect(parts.flatMap((p) => p.samples.map((s) => s.name)).sort()).toEqual(data.samples.map((s) => s.name).sort());
    expect(data.split([0.5, 0.3, 0.2], 7)[0].samples).toEqual(parts[0].samples);
    expect(data.split([0.5, 0.3, 0.2], 8)[0].samples).not.toEqual(parts[0].samples);

    const small = data.subset([0, 1, 2]);
    const a = await small.expand({ expand: 3 }, 5), b = await small.expand({ expand: 3 }, 5);
    expect(a.length).toBe(9);
    expect(Buffer.compare(Buffer.from(a.images), Buffer.from(b.images))).toBe(0);
    expect(Buffer.from(a.images.subarray(0, small.images.length))).toEqual(Buffer.from(small.images));  // originals first
    expect(Buffer.compare(Buffer.from(a.images.subarray(small.images.length, 2 * small.images.length)), Buffer.from(small.images))).not.toBe(0);
    expect(a.samples[3].name).toBe(`${small.samples[0].name}~aug1`);
    await expect(small.expand({ spin: 1 } as never)).rejects.toThrow(/unknown option 'spin'/);
    expect(() => new SegmentationDataset(32, new Uint8Array(5), new Uint8Array(0), [])).toThrow(/images must hold/);
  });

  it('masks stay {0, 255}-derived after nearest resizing', async () => {
    const m = await sharp(path.join(root, 'isic', TRAIN_MASKS, 'ISIC_0000004_segmentation.png')).raw().toBuffer();
    expect(new Set(m)).toEqual(new Set([0, 255]));
  });
});
