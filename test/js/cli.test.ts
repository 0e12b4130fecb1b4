// The dmdlk command as a user runs it (the compiled dist/lib/cli/main.js).
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';

import sharp from 'sharp';

import { TRAIN_IMAGES, writeIsicFolder } from './isic-folder';

const cli = path.join(__dirname, '..', '..', 'dist', 'lib', 'cli', 'main.js');
const run = promisify(execFile);
const tiny = JSON.stringify({ stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 });

async function dmdlk(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { timeout: 600000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('dmdlk CLI', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-cli-'));
  const data = path.join(dir, 'isic'), out = path.join(dir, 'run');
  beforeAll(async () => {
    await writeIsicFolder(data, [640, 720, 600, 800, 560, 900, 700, 650, 610, 760].map((width, i) =>
      ({ id: `ISIC_${String(i).padStart(7, '0')}`, width, height: Math.round(width * 0.75), orientation: i === 3 ? 6 : 1 })));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints help for every command and fails clearly on bad usage', async () => {
    for (const command of ['train', 'eval', 'predict', 'info', 'demo']) {
      const r = await dmdlk(command, '--help');
      expect({ command, code: r.code }).toEqual({ command, code: 0 });
      expect(r.stdout).toMatch(new RegExp(`Usage: dmdlk ${command}`));
    }
    expect((await dmdlk('--help')).stdout).toMatch(/Commands:\n {2}train/);
    expect(await dmdlk()).toMatchObject({ code: 2 });
    expect(await dmdlk('fly')).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command 'fly'/) });
    expect(await dmdlk('train', '--epochs', 'many', '--data', data)).toMatchObject({ code: 2, stderr: expect.stringMatching(/--epochs must be an integer/) });
    expect(await dmdlk('train', '--colour')).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option '--colour'/) });
    expect(await dmdlk('train', '--out', out + '-x')).toMatchObject({ code: 2, stderr: expect.stringMatching(/give --data DIR/) });
    expect(await dmdlk('predict', '--model', 'm.safetensors')).toMatchObject({ code: 2, stderr: expect.stringMatching(/one or more images/) });
    expect(await dmdlk('train', '--data', data, '--augment', 'sometimes')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--augment must be one of/) });
  });

  it('info tells what the installation uses', async () => {
    const r = await dmdlk('info');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dmdlk-native \d+\.\d+\.\d+/);
    expect(JSON.parse((await dmdlk('info', '--json')).stdout)).toHaveProperty('cpu.threads');
  });

  it('trains on an ISIC-2018 folder, writing model, checkpoints, metrics, curves and overlays; then resumes', async () => {
    const r = await dmdlk('train', '--data', data, '--out', out, '--epochs', '1', '--batch-size', '2', '--input-size', '32',
      '--config', tiny, '--augment', 'offline', '--expand', '2', '--device', 'cpu', '--overlays', '2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/data: train 7, validation 1, test 2 images/);
    expect(r.stdout).toMatch(/epoch {3}1 {2}loss \d/);
    expect(r.stdout).toMatch(/held-out test set \(2 images\)\n {2}pooled {4}IoU/);
    for (const f of ['model.safetensors', 'metrics.json', 'curves.svg', 'curves.png']) expect(fs.existsSync(path.join(out, f))).toBe(true);
    expect(fs.readdirSync(path.join(out, 'overlays'))).toHaveLength(2);
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.history).toHaveLength(1);
    expect(metrics.test.pooled).toHaveProperty('dice');
    expect(metrics.sizes).toEqual({ train: 7, validation: 1, test: 2 });
    expect(fs.readFileSync(path.join(out, 'curves.svg'), 'utf8')).toMatch(/^<svg/);

    const more = await dmdlk('train', '--data', data, '--out', out, '--epochs', '2', '--batch-size', '2', '--augment', 'offline',
      '--expand', '2', '--resume', path.join(out, 'checkpoints'), '--device', 'cpu');
    expect(more.code).toBe(0);
    expect(more.stdout).toMatch(/epoch {3}2 /);
    expect(more.stdout).not.toMatch(/epoch {3}1 /);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')).history).toHaveLength(2);
  }, 180000);

  it('evaluates with overlays at the images\' own size, and predicts masks for new images', async () => {
    const model = path.join(out, 'model.safetensors'), evalOut = path.join(dir, 'eval');
    const r = await dmdlk('eval', '--model', model, '--data', data, '--split', 'train', '--out', evalOut, '--overlays', '--device', 'cpu');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pooled {4}IoU [\d.]+ {2}Dice/);
    const metrics = JSON.parse(fs.readFileSync(path.join(evalOut, 'metrics.json'), 'utf8'));
    expect(metrics.images.length).toBe(7);
    const overlay = fs.readdirSync(path.join(evalOut, 'overlays'))[0];
    const id = path.parse(overlay).name;
    const [o, src] = await Promise.all([sharp(path.join(evalOut, 'overlays', overlay)).metadata(),
      sharp(path.join(data, TRAIN_IMAGES, `${id}.jpg`)).rotate().toBuffer({ resolveWithObject: true })]);
    expect([o.width, o.height]).toEqual([src.info.width, src.info.height]);

    const predictOut = path.join(dir, 'pred'), image = path.join(data, TRAIN_IMAGES, 'ISIC_0000003.jpg');
    const p = await dmdlk('predict', '--model', model, '--out', predictOut, '--probabilities', image);
    expect(p.code).toBe(0);
    expect(p.stdout).toMatch(/ISIC_0000003\.jpg: 800×600, lesion [\d.]+% of the image/);
    const mask = await sharp(path.join(predictOut, 'ISIC_0000003_mask.png')).raw().toBuffer({ resolveWithObject: true });
    expect([mask.info.width, mask.info.height]).toEqual([800, 600]);  // displayed size (orientation 6)
    expect([...new Set(mask.data)].every((v) => v === 0 || v === 255)).toBe(true);
    for (const f of ['ISIC_0000003_overlay.png', 'ISIC_0000003_prob.png']) expect(fs.existsSync(path.join(predictOut, f))).toBe(true);

    fs.writeFileSync(path.join(dir, 'broken.safetensors'), 'not a checkpoint at all');
    const bad = await dmdlk('eval', '--model', path.join(dir, 'broken.safetensors'), '--data', data);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/broken\.safetensors.*\[ERR_(FORMAT|IO)\]/);
  }, 120000);

  it('the default demo reaches a held-out Dice of at least 0.85 on synthetic images', async () => {
    const demo = path.join(dir, 'demo-default');
    const r = await dmdlk('demo', '--out', demo, '--device', 'cpu');
    expect(r.code).toBe(0);
    const metrics = JSON.parse(fs.readFileSync(path.join(demo, 'metrics.json'), 'utf8'));
    expect(metrics.test.pooled.dice).toBeGreaterThanOrEqual(0.85);
    expect(metrics.test.perImage.dice).toBeGreaterThanOrEqual(0.85);
    expect(metrics.history).toHaveLength(12);
    expect(fs.readdirSync(path.join(demo, 'overlays'))).toHaveLength(8);
    for (const f of ['curves.svg', 'curves.png', 'model.safetensors']) expect(fs.existsSync(path.join(demo, f))).toBe(true);
  }, 600000);

  it('runs the demo end to end', async () => {
    const demo = path.join(dir, 'demo');
    const r = await dmdlk('demo', '--out', demo, '--count', '20', '--epochs', '1', '--input-size', '32', '--device', 'cpu');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/result: IoU [\d.]+ {2}Dice/);
    const metrics = JSON.parse(fs.readFileSync(path.join(demo, 'metrics.json'), 'utf8'));
    expect(metrics.test.images).toHaveLength(4);
    expect(fs.readdirSync(path.join(demo, 'overlays')).length).toBe(4);
  }, 120000);
});
