// The dmdlk command as a user runs it (the compiled dist/lib/cli/main.js).
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import * as protobuf from 'protobufjs';
import sharp from 'sharp';

import { readSafetensors } from '../../lib';
import { TRAIN_IMAGES, TRAIN_MASKS, writeIsicFolder } from './isic-folder';
import { cli, dmdlk } from './run-cli';

const run = promisify(execFile);
const tiny = JSON.stringify({ stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 });


/** The events of a TensorBoard event file: each record's step and summary tags (framing checked by length only). */
function readEvents(file: string): { step: number; tags: string[] }[] {
  const Event = protobuf.loadSync(path.join(__dirname, '..', '..', 'proto', 'tensorboard.proto')).lookupType('tensorboard.Event');
  const bytes = fs.readFileSync(file);
  const events: { step: number; tags: string[] }[] = [];
  for (let at = 0; at < bytes.length; ) {
    const length = Number(bytes.readBigUInt64LE(at));
    const e = Event.toObject(Event.decode(bytes.subarray(at + 12, at + 12 + length)), { longs: Number }) as {
      step?: number;
      summary?: { value: { tag: string }[] };
    };
    events.push({ step: e.step ?? 0, tags: e.summary?.value.map((v) => v.tag) ?? [] });
    at += 12 + length + 4;
  }
  return events;
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
    for (const command of ['train', 'eval', 'predict', 'export', 'info', 'demo']) {
      const r = await dmdlk(command, '--help');
      expect({ command, code: r.code }).toEqual({ command, code: 0 });
      expect(r.stdout).toMatch(new RegExp(`Usage: dmdlk ${command}`));
    }
    expect((await dmdlk('--help')).stdout).toMatch(/Commands:\n {2}train/);
    expect(await dmdlk()).toMatchObject({ code: 2 });
    expect(await dmdlk('fly')).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command 'fly'/) });
    expect(await dmdlk('train', '--epochs', 'many', '--data', data)).toMatchObject({ code: 2, stderr: expect.stringMatching(/--epochs must be an integer/) });
    expect(await dmdlk('train', '--colour')).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option '--colour'/) });
    expect(await dmdlk('train', '--out', `${out}-x`)).toMatchObject({ code: 2, stderr: expect.stringMatching(/give --data DIR/) });
    expect(await dmdlk('predict', '--model', 'm.safetensors')).toMatchObject({ code: 2, stderr: expect.stringMatching(/one or more images/) });
    expect(await dmdlk('train', '--data', data, '--augment', 'sometimes')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--augment must be one of/) });
    for (const command of ['train', 'eval', 'predict', 'demo']) {
      expect((await dmdlk(command, '--help')).stdout).toMatch(/--device auto\|cpu\|cuda\|cuda:N /);
    }
  });

  it('aligns every command\'s help and prints its version', async () => {
    for (const command of ['train', 'eval', 'predict', 'export', 'info', 'demo']) {
      const options = (await dmdlk(command, '--help')).stdout.split('Options:\n')[1].trimEnd().split('\n');
      // Every option's text, and every continuation line, starts in the same column.
      const columns = new Set(options.map((line) => line.match(/^ {2}(?:\S+(?: \S+)*)? {2,}/)![0].length));
      expect({ command, columns: [...columns] }).toEqual({ command, columns: [columns.values().next().value] });
    }
    expect(await dmdlk('--version')).toMatchObject({ code: 0, stdout: `${require('../../package.json').version}\n` });
    expect((await dmdlk('train', '--help')).stdout).toContain(path.join(__dirname, '..', '..', 'docs', 'configuration.md'));
  });

  it('exits with code 2 on every bad argument, before decoding any image', async () => {
    // A folder whose first image has no mask: decoding it would fail with a data error (exit 1), so exit 2 shows the flag was refused first.
    const broken = path.join(dir, 'broken-data');
    fs.cpSync(data, broken, { recursive: true });
    fs.rmSync(path.join(broken, TRAIN_MASKS, 'ISIC_0000000_segmentation.png'));
    const cases: [string[], RegExp][] = [
      [['train', '--data', broken, '--epochs', '0'], /--epochs must be an integer in \[1, 1000000\], got 0/],
      [['train', '--data', broken, '--input-size', '100'], /--input-size must be a multiple of 32 in \[32, 4096\], got 100/],
      [['train', '--data', broken, '--config', '{"widths":[8,16]}'], /--config: config.widths must be an array of 4 values/],
      [['train', '--data', broken, '--lr', '2'], /--lr must be a number in \(0, 1\), got 2/],
      [['train', '--data', path.join(dir, 'nowhere')], /--data: '.*nowhere' does not exist/],
      [['train', '--images', path.join(dir, 'nowhere'), '--masks', data], /--images: '.*nowhere' does not exist/],
      [['train', '--data', broken, '--resume', path.join(dir, 'nowhere')], /--resume: '.*nowhere' does not exist/],
      [['demo', '--data', path.join(dir, 'nowhere')], /--data: '.*nowhere' does not exist/],
      [['eval', '--model', path.join(dir, 'nowhere'), '--data', data], /--model: '.*nowhere' does not exist/],
      [['eval', '--model', path.join(dir, 'text.safetensors'), '--data', data], /--model: '.*text\.safetensors' is not a safetensors checkpoint \(not a safetensors file/],
      [['predict', '--model', path.join(dir, 'text.safetensors'), data], /--model: '.*text\.safetensors' is not a safetensors checkpoint/],
      [['predict', '--model', path.join(dir, 'nowhere'), data], /--model: '.*nowhere' does not exist/],
      [['predict', '--model', path.join(dir, 'text.safetensors'), '--on-error', 'maybe', data], /--on-error must be one of fail, skip/],
      [['export', '--model', path.join(dir, 'nowhere')], /--out MODEL\.onnx is required/],
      [['export', '--model', path.join(dir, 'nowhere'), '--out', path.join(dir, 'm.onnx')], /--model: '.*nowhere' does not exist/],
      [['export', '--model', path.join(dir, 'text.safetensors'), '--out', path.join(dir, 'm.onnx'), '--opset', '23'], /--opset must be an integer in \[19, 22\], got 23/],
      [['export', '--model', path.join(dir, 'text.safetensors'), '--out', path.join(dir, 'm.onnx'), '--batch', 'some'], /--batch must be dynamic or an integer in \[1, 4096\], got 'some'/],
    ];
    fs.writeFileSync(path.join(dir, 'text.safetensors'), 'a text file that is no checkpoint at all');
    for (const [args, message] of cases) {
      const r = await dmdlk(...args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 2, stderr: expect.stringMatching(message) });
    }
    // Without the bad flag the same data is decoded, and its problem is told in the CLI's terms.
    const r = await dmdlk('train', '--data', broken, '--epochs', '1');
    expect(r).toMatchObject({ code: 1, stderr: expect.stringMatching(/image without a mask: '.*ISIC_0000000\.jpg' \(give --on-error skip to leave such files out\) \[ERR_DATA\]/) });
  });

  it('writes its default outputs where git ignores them', async () => {
    const root = path.join(__dirname, '..', '..');
    for (const file of ['dmdlk-demo/metrics.json', 'dmdlk-run/checkpoints/step-00000001.safetensors', 'predictions/a_mask.png',
      'train-folder-out/model.safetensors', 'example-checkpoints/step-00000001.safetensors', 'example-overlay.png', 'prediction_mask.png',
      'prediction_overlay.png']) {
      const ignored = await run('git', ['check-ignore', '-q', file], { cwd: root }).then(() => true, () => false);
      expect({ file, ignored }).toEqual({ file, ignored: true });
    }
  });

  it('info tells what the installation uses', async () => {
    const r = await dmdlk('info');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dmdlk-native \d+\.\d+\.\d+/);
    expect(JSON.parse((await dmdlk('info', '--json')).stdout)).toHaveProperty('cpu.threads');
  });

  it('trains on an ISIC-2018 folder, writing model, checkpoints, metrics, curves and overlays; then resumes', async () => {
    const command = ['train', '--data', data, '--out', out, '--batch-size', '2', '--input-size', '32',
      '--config', tiny, '--augment', 'offline', '--expand', '2', '--device', 'cpu', '--overlays', '2'];
    const r = await dmdlk(...command, '--epochs', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/data: train 7, validation 1, test 2 images/);
    expect(r.stdout).toMatch(/epoch {3}1 {2}loss \d/);
    expect(r.stdout).toMatch(/held-out test set \(2 images\)\n {2}pooled {4}IoU/);
    for (const f of ['model.safetensors', 'metrics.json', 'curves.svg', 'curves.png']) expect(fs.existsSync(path.join(out, f))).toBe(true);
    // Overlays of real files keep the images' own size and proportions.
    for (const overlay of fs.readdirSync(path.join(out, 'overlays'))) {
      const [o, src] = await Promise.all([sharp(path.join(out, 'overlays', overlay)).metadata(),
        sharp(path.join(data, TRAIN_IMAGES, overlay.replace(/\.png$/, '.jpg'))).rotate().toBuffer({ resolveWithObject: true })]);
      expect([o.width, o.height]).toEqual([src.info.width, src.info.height]);
    }
    expect(fs.readdirSync(path.join(out, 'overlays'))).toHaveLength(2);
    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.history).toHaveLength(1);
    expect(metrics.test.pooled).toHaveProperty('dice');
    expect(metrics.sizes).toEqual({ train: 7, validation: 1, test: 2 });
    expect(fs.readFileSync(path.join(out, 'curves.svg'), 'utf8')).toMatch(/^<svg/);

    // The same command with --resume: every flag agrees with the checkpoint, so it is accepted.
    const more = await dmdlk(...command, '--epochs', '2', '--resume', path.join(out, 'checkpoints'));
    expect(more.stderr).toBe('');
    expect(more.code).toBe(0);
    expect(more.stdout).toMatch(/resuming from .*step-00000007\.safetensors \(epoch 2, 0 steps into it; batch size 2, lr 0\.0001, schedule constant --warmup 0, optimizer adam \(weight decay 0, clip none\), loss ce, seed 0, augment offline --expand 2\)/);
    expect(more.stdout).toMatch(/epoch {3}2 /);
    expect(more.stdout).not.toMatch(/epoch {3}1 /);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')).history).toHaveLength(2);
    // The logs read as one run: a line per step 1 to 14 (7 per epoch), a row per epoch.
    const steps = fs.readFileSync(path.join(out, 'steps.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    expect(steps[13]).toMatchObject({ epoch: 2, lr: 1e-4, loss: expect.any(Number), imagesPerSecond: expect.any(Number) });
    expect(fs.readFileSync(path.join(out, 'epochs.csv'), 'utf8')).toMatch(
      /^epoch,loss,lr,images_per_second,seconds,validation_dice,validation_iou\n1,[\d.e-]+,0\.0001,[\d.]+,[\d.]+,[\d.]+,[\d.]+\n2,[^\n]+\n$/);
    // TensorBoard: a training event file per run, the resumed one going on from step 8, and the overlays as images.
    const eventFiles = (kind: string) => fs.readdirSync(out).filter((f) => f.endsWith(`.${kind}.dmdlk`)).sort();
    expect(eventFiles('training')).toHaveLength(2);
    const [first, second] = eventFiles('training').map((f) => readEvents(path.join(out, f)));
    expect(first.filter((e) => e.tags.includes('train/loss')).map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(second.filter((e) => e.tags.includes('train/loss')).map((e) => e.step)).toEqual([8, 9, 10, 11, 12, 13, 14]);
    expect(second.filter((e) => e.tags.includes('validation/dice')).map((e) => e.step)).toEqual([14]);
    const overlays = readEvents(path.join(out, eventFiles('overlays').at(-1)!));
    expect(overlays.filter((e) => e.tags.some((t) => t.startsWith('overlays/'))).map((e) => e.step)).toEqual([14, 14]);

    // Only what differs is refused, naming the checkpoint's value and the new one.
    const resume = ['--data', data, '--out', out, '--resume', path.join(out, 'checkpoints'), '--device', 'cpu'];
    for (const [flags, message] of [
      [['--lr', '0.001'], /trained with --lr 0\.0001, not 0\.001; leave --lr out/],
      [['--batch-size', '4'], /trained with --batch-size 2, not 4/],
      [['--augment', 'online'], /trained with --augment offline --expand 2, not online/],
      [['--input-size', '64'], /trained with --input-size 32, not 64; leave --input-size out/],
      [['--config', '{"stem":16}'], /trained with --config stem 8, not 16; leave stem out of --config/],
      [['--epochs', '1'], /--epochs 1: the checkpoint .* has trained 2 epochs already/],
    ] as [string[], RegExp][]) {
      expect(await dmdlk('train', ...resume, ...flags)).toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
    }
    // And nothing else is needed: every setting, the configuration and the epochs come from the checkpoint.
    const minimal = await dmdlk('train', ...resume, '--epochs', '3');
    expect(minimal.code).toBe(0);
    expect(minimal.stdout).toMatch(/epoch {3}3 /);

    // A second Ctrl-C quits while a checkpoint is being written, leaving its temporary files (native/cpp/io/atomic_file.cpp
    // names them <file>.tmp-<pid>-<n>): the next run removes them, and resumes from the newest complete checkpoint.
    const deadPid = 4194305;  // above Linux's largest possible pid, 2^22: no process has it
    const interrupted = path.join(dir, 'interrupted'), checkpoints = path.join(interrupted, 'checkpoints');
    fs.mkdirSync(checkpoints, { recursive: true });
    const newest = fs.readdirSync(path.join(out, 'checkpoints')).filter((f) => /^step-\d{8}\.safetensors$/.test(f)).sort().at(-1)!;
    for (const f of [newest, newest.replace('.safetensors', '.optim.safetensors')]) fs.copyFileSync(path.join(out, 'checkpoints', f), path.join(checkpoints, f));
    const unfinished = [path.join(checkpoints, `step-00000099.optim.safetensors.tmp-${deadPid}-0`), path.join(interrupted, `model.safetensors.tmp-${deadPid}-1`)];
    for (const f of unfinished) fs.writeFileSync(f, 'the first bytes of a file never finished');
    const cleaned = await dmdlk('train', '--data', data, '--out', interrupted, '--resume', checkpoints, '--epochs', '4', '--device', 'cpu');
    expect(cleaned.stderr).toBe('');
    expect(cleaned.code).toBe(0);
    expect(cleaned.stdout).toMatch(/^removed 2 unfinished checkpoint files left by an interrupted run; resuming from the newest complete checkpoint$/m);
    expect(cleaned.stdout).toContain(`resuming from ${path.join(checkpoints, newest)} (epoch 4, 0 steps into it;`);
    expect(cleaned.stdout).toMatch(/epoch {3}4 /);
    expect(unfinished.filter((f) => fs.existsSync(f))).toEqual([]);
    // A folder with nothing but such a file holds no checkpoint to resume: said so, with what was removed.
    const lone = path.join(dir, 'lone'), loneFile = path.join(lone, `step-00000003.optim.safetensors.tmp-${deadPid}-0`);
    fs.mkdirSync(lone);
    fs.writeFileSync(loneFile, 'the first bytes of a file never finished');
    const nothing = await dmdlk('train', '--data', data, '--out', path.join(dir, 'lone-run'), '--resume', lone, '--device', 'cpu');
    expect(nothing).toMatchObject({ code: 2, stderr: expect.stringMatching(
      /^dmdlk train: --resume: removed 1 unfinished checkpoint file left by an interrupted run; '.*lone' holds no complete checkpoint\n/) });
    expect(fs.existsSync(loneFile)).toBe(false);
  }, 240000);

  it('keeps the best validation model, stops early and keeps as many checkpoints as asked', async () => {
    const run = path.join(dir, 'select-run');
    const r = await dmdlk('train', '--data', data, '--out', run, '--batch-size', '7', '--input-size', '32', '--config', tiny, '--device', 'cpu',
      '--overlays', '0', '--epochs', '5', '--patience', '1', '--min-delta', '0.5', '--save', 'best', '--keep', '1', '--schedule', 'cosine',
      '--warmup', '1', '--augment', 'offline', '--expand', '2');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/\nstopped early after epoch 2: the validation dice has not improved by 0\.5 or more for 1 epochs\n/);
    expect(r.stdout).toMatch(/\nbest validation (at the last epoch|at epoch 1): Dice [\d.]+ \(.*best\.safetensors\)\n/);
    expect(r.stdout).toMatch(/held-out test set, best validation model \(2 images\)/);
    const checkpoints = fs.readdirSync(path.join(run, 'checkpoints'));
    expect(checkpoints.filter((f) => /^step-\d+\.safetensors$/.test(f))).toHaveLength(1);
    const metrics = JSON.parse(fs.readFileSync(path.join(run, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ saved: 'best', best: { file: path.join(run, 'best.safetensors') }, stoppedEarly: expect.stringMatching(/^stopped early/) });
    expect(metrics.history).toHaveLength(2);
    // 14 images in steps of 7: the warm-up's second step runs at (1/2 + 1/2 · 1/2) lr, the cosine's second at (1 + cos(π/8)) / 2 lr.
    expect(metrics.history[0].lr).toBeCloseTo(0.75e-4, 12);
    expect(metrics.history[1].lr).toBeCloseTo((1e-4 * (1 + Math.cos(Math.PI / 8))) / 2, 12);
    expect(fs.existsSync(path.join(run, 'best.safetensors'))).toBe(true);
    const steps = fs.readFileSync(path.join(run, 'steps.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(steps.map((s) => [s.step, s.epoch])).toEqual([[1, 1], [2, 1], [3, 2], [4, 2]]);
    expect(steps[1].lr).toBeCloseTo(0.75e-4, 12);
  }, 120000);

  it('fine-tunes from a trained model with --init, refusing another configuration', async () => {
    const from = path.join(out, 'model.safetensors');
    const tuned = path.join(dir, 'tuned');
    const common = ['--data', data, '--out', tuned, '--init', from, '--batch-size', '7', '--device', 'cpu', '--overlays', '0',
      '--augment', 'offline', '--expand', '2'];
    const r = await dmdlk('train', ...common, '--epochs', '1', '--lr', '1e-9', '--precision', 'bf16');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/starting from the weights of .*model\.safetensors, with a fresh optimizer/);
    expect(r.stdout).toMatch(/--precision bf16: ignored on the CPU, which computes in float32/);
    // At lr 1e-9 an epoch leaves every trained tensor as it came (Adam's steps are about lr); BatchNorm's statistics move.
    const [before, after] = await Promise.all([readSafetensors(from), readSafetensors(path.join(tuned, 'model.safetensors'))]);
    let compared = 0;
    for (const [name, t] of before.tensors) {
      if (/running_|num_batches/.test(name)) continue;
      const a = (await t.data()) as Float32Array, b = (await after.tensors.get(name)!.data()) as Float32Array;
      expect({ name, close: a.every((v, i) => Math.abs(v - b[i]) < 1e-6) }).toEqual({ name, close: true });
      compared++;
    }
    expect(compared).toBeGreaterThan(50);
    expect(await dmdlk('train', ...common, '--input-size', '64')).toMatchObject({ code: 2,
      stderr: expect.stringMatching(/cannot start from '.*model\.safetensors': it was trained with --input-size 32, not 64; leave --input-size out/) });
    expect(await dmdlk('train', ...common, '--resume', path.join(out, 'checkpoints'))).toMatchObject({ code: 2,
      stderr: expect.stringMatching(/--init starts a new run from a model's weights, --resume continues one: give one of them/) });
  }, 120000);

  it('evaluates with overlays at the images\' own size, and predicts masks for new images', async () => {
    const model = path.join(out, 'model.safetensors'), evalOut = path.join(dir, 'eval');
    const r = await dmdlk('eval', '--model', model, '--data', data, '--split', 'train', '--out', evalOut, '--overlays', '--device', 'cpu');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^the train split of ${data} \\(seed 0\\) \\(7 images\\)\n {2}pooled {4}IoU [\\d.]+ {2}Dice`, 'm'));
    // A run folder (its model.safetensors) or a checkpoint folder (its newest checkpoint) do as well as a file.
    for (const folder of [out, path.join(out, 'checkpoints')]) {
      const f = await dmdlk('eval', '--model', folder, '--data', data, '--device', 'cpu');
      expect({ folder, code: f.code }).toEqual({ folder, code: 0 });
      expect(f.stdout).toMatch(/^the test split of .* \(seed 0\) \(2 images\)$/m);
    }
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
    for (const f of ['ISIC_0000003_mask.png', 'ISIC_0000003_prob.png']) {
      expect((await sharp(path.join(predictOut, f)).metadata()).channels).toBe(1);  // one-channel PNGs, as masks are
    }
    expect([...new Set(mask.data)].every((v) => v === 0 || v === 255)).toBe(true);
    for (const f of ['ISIC_0000003_overlay.png', 'ISIC_0000003_prob.png']) expect(fs.existsSync(path.join(predictOut, f))).toBe(true);

    // A folder with an unreadable image: stop there by default, or skip it with --on-error skip.
    const mixed = path.join(dir, 'mixed');
    fs.mkdirSync(mixed);
    fs.copyFileSync(image, path.join(mixed, 'a.jpg'));
    fs.writeFileSync(path.join(mixed, 'b.jpg'), 'not a JPEG');
    fs.copyFileSync(image, path.join(mixed, 'c.jpg'));
    const stopped = await dmdlk('predict', '--model', model, '--out', path.join(dir, 'mixed-out'), '--device', 'cpu', mixed);
    expect(stopped).toMatchObject({ code: 1, stderr: expect.stringMatching(/b\.jpg' as an image: .*\(give --on-error skip to leave such files out\) \[ERR_DATA\]/) });
    const skipped = await dmdlk('predict', '--model', model, '--out', path.join(dir, 'mixed-out'), '--device', 'cpu', '--on-error', 'skip', mixed);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toMatch(/b\.jpg: skipped \(/);
    expect(skipped.stdout).toMatch(/wrote 2 masks to .*; skipped 1 unreadable file$/m);
    expect(fs.readdirSync(path.join(dir, 'mixed-out')).filter((f) => f.endsWith('_mask.png')).sort()).toEqual(['a_mask.png', 'c_mask.png']);

    // The trained model as ONNX, run in onnxruntime-node (onnx.test.ts compares its logits with ours).
    const onnx = path.join(dir, 'model.onnx');
    const e = await dmdlk('export', '--model', out, '--out', onnx);
    expect(e).toMatchObject({ code: 0, stdout: expect.stringMatching(/^wrote .*model\.onnx: input 'images' \[batch, 3, 32, 32\] .*output 'logits' \[batch, 2, 32, 32\]/) });
    const input = path.join(dir, 'images.f32');
    fs.writeFileSync(input, new Float32Array(2 * 3 * 32 * 32).fill(0.5));
    const ran = await run(process.execPath, [path.join(__dirname, 'onnx-runtime.cjs'), onnx, input, '[2,3,32,32]', path.join(dir, 'logits.f32')]);
    expect(JSON.parse(ran.stdout).dims).toEqual([2, 2, 32, 32]);
    // Opset 18 has no DeformConv: refused as the flag's range, before the model is read.
    const old = await dmdlk('export', '--model', out, '--out', path.join(dir, 'old.onnx'), '--opset', '18');
    expect(old).toMatchObject({ code: 2, stderr: expect.stringMatching(/^dmdlk export: --opset must be an integer in \[19, 22\], got 18/) });
    expect(fs.existsSync(path.join(dir, 'old.onnx'))).toBe(false);
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

  it('stops on Ctrl-C with a checkpoint and the complete command that resumes it, as it was started', async () => {
    // A project that installed the package, as npm lays it out (npm install makes the bin executable; tsc does not).
    const project = path.join(dir, 'project'), bin = path.join(project, 'node_modules', '.bin', 'dmdlk');
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    fs.symlinkSync(path.join(__dirname, '..', '..'), path.join(project, 'node_modules', 'dmdlk-native'));
    fs.symlinkSync(path.join('..', 'dmdlk-native', 'dist', 'lib', 'cli', 'main.js'), bin);
    fs.chmodSync(cli, 0o755);
    const stopOut = path.join(dir, 'stopped run');  // a space, to show the command is quoted for the shell
    // Started as npx starts it: node runs the bin link.
    const child = spawn(process.execPath, [bin, 'train', '--data', data, '--out', stopOut, '--epochs', '6', '--batch-size', '2',
      '--input-size', '64', '--config', tiny, '--device', 'cpu', '--overlays', '0'], { cwd: project });
    let stdout = '', stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk; });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (/epoch {3}1 /.test(stdout) && child.exitCode === null && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    const stop = stderr.match(/training stopped after step (\d+) \(epoch (\d+): (\d+) of 4 steps done\); its checkpoint is '(.*)'/)!;
    expect(stop).not.toBeNull();
    expect(path.basename(stop[4])).toBe(`step-${stop[1].padStart(8, '0')}.safetensors`);  // one count for the message and the file
    expect(Number(stop[1])).toBe((Number(stop[2]) - 1) * 4 + Number(stop[3]));
    // Not `dmdlk …`, which is no command in a shell of a project that installed the package locally.
    const command = stderr.match(/resume with:\n {2}(.*)\n/)![1];
    expect(command).toMatch(/^npx dmdlk train --data /);
    expect(command).toContain(`--resume '${path.join(stopOut, 'checkpoints')}'`);
    const resumed = await run('sh', ['-c', command], { cwd: project, timeout: 600000 });  // as printed
    expect(resumed.stdout).toMatch(/epoch {3}6 /);
    expect(JSON.parse(fs.readFileSync(path.join(stopOut, 'metrics.json'), 'utf8')).history).toHaveLength(6);
    expect(fs.existsSync(path.join(stopOut, 'overlays'))).toBe(false);  // --overlays 0: none, and no empty folder
  }, 300000);

  it('runs the demo end to end', async () => {
    const demo = path.join(dir, 'demo');
    const r = await dmdlk('demo', '--out', demo, '--count', '20', '--epochs', '1', '--input-size', '32', '--device', 'cpu');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/result: IoU [\d.]+ {2}Dice/);
    const metrics = JSON.parse(fs.readFileSync(path.join(demo, 'metrics.json'), 'utf8'));
    expect(metrics.test.images).toHaveLength(4);
    expect(fs.readdirSync(path.join(demo, 'overlays')).length).toBe(4);
    // The 32² synthetic images are enlarged smoothly to 256² before the outlines are drawn: no 8×8 blocks of one colour.
    const overlay = path.join(demo, 'overlays', fs.readdirSync(path.join(demo, 'overlays'))[0]);
    const { data: rgb, info } = await sharp(overlay).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([256, 256]);
    let uniform = 0;
    for (let by = 0; by < 256; by += 8) {
      for (let bx = 0; bx < 256; bx += 8) {
        const first = rgb.readUIntBE((by * 256 + bx) * 3, 3);
        let same = true;
        for (let y = by; y < by + 8 && same; y++) for (let x = bx; x < bx + 8 && same; x++) same = rgb.readUIntBE((y * 256 + x) * 3, 3) === first;
        if (same) uniform++;
      }
    }
    expect(uniform / 1024).toBeLessThan(0.1);
  }, 120000);
});
