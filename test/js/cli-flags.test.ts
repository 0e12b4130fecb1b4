// Every numeric flag of the table (lib/cli/numeric-flags.ts) is checked
// against its range as the command line is parsed: a value just outside it
// exits with code 2, naming the flag, before any data or model is read; and
// --help shows the same range and default.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DMDLKNet } from '../../lib';
import { type NumericFlag, NUMERIC_FLAGS, rule } from '../../lib/cli/numeric-flags';
import { TRAIN_MASKS, writeIsicFolder } from './isic-folder';
import { dmdlk } from './run-cli';



/** The nearest values outside the flag's range, as typed on the command line. */
function justOutside(flag: NumericFlag): string[] {
  if (flag.open) return [String(flag.min), String(flag.max)];
  const unit = flag.multipleOf ?? (flag.type === 'integer' ? 1 : 1e-6);
  return [String(flag.min - unit), String(flag.max + unit)];
}

describe('the CLI\'s numeric flags', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-cli-flags-'));
  // Data whose first image has no mask: decoding it fails with a data error (exit 1), so exit 2 shows the flag was refused first.
  const broken = path.join(dir, 'broken'), model = path.join(dir, 'model-128.safetensors'), onnx = path.join(dir, 'model.onnx');
  beforeAll(async () => {
    await writeIsicFolder(broken, [0, 1, 2].map((i) => ({ id: `ISIC_${String(i).padStart(7, '0')}`, width: 80, height: 60, orientation: 1 })));
    fs.rmSync(path.join(broken, TRAIN_MASKS, 'ISIC_0000000_segmentation.png'));
    const small = await DMDLKNet.create({ stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8, inputSize: 128 }, { device: 'cpu' });
    await small.save(model);
    small.dispose();
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Each command with the rest of a line that would go on to read data or a model: what a bad flag must stop.
  const commandLines: Record<string, string[]> = {
    train: ['train', '--data', broken, '--out', path.join(dir, 'run'), '--device', 'cpu'],
    demo: ['demo', '--data', broken, '--out', path.join(dir, 'demo'), '--device', 'cpu'],
    eval: ['eval', '--model', model, '--data', broken, '--device', 'cpu'],
    export: ['export', '--model', model, '--out', onnx],
  };

  it('refuse a value just outside the range with exit code 2, naming the flag, before anything is read', async () => {
    const uses = NUMERIC_FLAGS.flatMap((flag) => Object.keys(flag.commands).map((command) => ({ flag, command })));
    expect(uses.length).toBeGreaterThan(10);
    for (const { flag, command } of uses) {
      expect({ command, known: command in commandLines }).toEqual({ command, known: true });
      for (const value of justOutside(flag)) {
        const r = await dmdlk(...commandLines[command], `--${flag.name}`, value);
        expect({ command, flag: flag.name, value, code: r.code, stderr: r.stderr }).toEqual({
          command, flag: flag.name, value, code: 2, stderr: `dmdlk ${command}: --${flag.name} must be ${rule(flag)}, got ${value}\nRun dmdlk ${command} --help for its options.\n`,
        });
      }
    }
    expect(fs.existsSync(onnx)).toBe(false);
    // Without a bad flag the same lines do read: the data's problem is exit 1.
    expect(await dmdlk(...commandLines.train, '--epochs', '1')).toMatchObject({ code: 1, stderr: expect.stringMatching(/image without a mask.*\[ERR_DATA\]/) });
  }, 300000);

  it('show in --help the range and default the checks use', async () => {
    for (const command of Object.keys(commandLines)) {
      const help = (await dmdlk(command, '--help')).stdout.replace(/\n {3,}/g, ' ');  // continuation lines joined
      for (const flag of NUMERIC_FLAGS) {
        const use = flag.commands[command as keyof NumericFlag['commands']];
        if (!use) continue;
        const line = help.split('\n').find((l) => l.startsWith(`  --${flag.name} `));
        expect({ command, flag: flag.name, line }).toEqual({
          command, flag: flag.name, line: expect.stringContaining(`${use.help}`) });
        expect(line).toContain(`${rule(flag)}, default ${use.default}`);
      }
    }
  });

  it('read negative numbers as numbers, and name what --config got', async () => {
    expect(await dmdlk(...commandLines.train, '--epochs', '-3')).toMatchObject({
      code: 2, stderr: expect.stringMatching(/^dmdlk train: --epochs must be an integer in \[1, 1000000\], got -3\n/) });
    expect(await dmdlk(...commandLines.train, '--epochs=-3')).toMatchObject({
      code: 2, stderr: expect.stringMatching(/^dmdlk train: --epochs must be an integer in \[1, 1000000\], got -3\n/) });
    expect(await dmdlk(...commandLines.train, '--batch-size', '100000')).toMatchObject({
      code: 2, stderr: expect.stringMatching(/^dmdlk train: --batch-size must be an integer in \[1, 4096\], got 100000\n/) });
    expect(await dmdlk(...commandLines.train, '--lr', 'fast')).toMatchObject({
      code: 2, stderr: expect.stringMatching(/^dmdlk train: --lr must be a number in \(0, 1\), got 'fast'\n/) });
    expect(await dmdlk(...commandLines.train, '--config', '{"widths":[1,2]}')).toMatchObject({
      code: 2, stderr: expect.stringMatching(/^dmdlk train: --config: config\.widths must be an array of 4 values, each an integer in \[1, 4096\], got an array of 2 values\n/) });
  });

  it('check the schedule and optimizer flags before anything is read', async () => {
    expect(await dmdlk(...commandLines.train, '--optimizer', 'sgd')).toMatchObject({
      code: 2, stderr: expect.stringMatching(/^dmdlk train: --optimizer must be one of adam, adamw, got 'sgd'\n/) });
    expect(await dmdlk(...commandLines.train, '--schedule', 'linear')).toMatchObject({
      code: 2, stderr: expect.stringMatching(/^dmdlk train: --schedule must be one of constant, cosine, poly, step, got 'linear'\n/) });
    expect(await dmdlk(...commandLines.train, '--schedule', 'cosine', '--warmup', '5', '--epochs', '5')).toMatchObject({
      code: 2, stderr: expect.stringMatching(/^dmdlk train: --warmup 5 must be fewer than --epochs 5\n/) });
  });

  it('refuse an export at an input size the model\'s weights do not fit, naming the model\'s', async () => {
    // The small model's global attention holds a position table for 128² images.
    expect(await dmdlk(...commandLines.export, '--input-size', '96')).toMatchObject({
      code: 2, stderr: expect.stringMatching(/^dmdlk export: --input-size 96: this model's weights fit its own input size, 128, only \('level4\.blocks\.0\.attn\.rel_pos' is \[2, 15, 15\]; at 96 it would be \[2, 11, 11\]\); leave --input-size out\n/) });
    expect(await dmdlk(...commandLines.export, '--opset', '18')).toMatchObject({
      code: 2, stderr: expect.stringMatching(/^dmdlk export: --opset must be an integer in \[19, 22\], got 18\n/) });
    expect(fs.existsSync(onnx)).toBe(false);
    const r = await dmdlk(...commandLines.export, '--input-size', '128', '--batch', '2');
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/input 'images' \[2, 3, 128, 128\] .*output 'logits' \[2, 2, 128, 128\], opset 19/) });
  });
});
