// The best validation epoch's model kept in a file of its own, and training
// stopped early when the validation metric stalls: both decided from the
// history alone (so a resumed run decides as an unbroken one).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DMDLKNet, InvalidArgumentError, type ModelConfig, syntheticLesions } from '../../lib';

const tiny: ModelConfig = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };

describe('best model and early stopping', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-select-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const train = syntheticLesions({ count: 24, size: 32, seed: 5 });
  const validation = syntheticLesions({ count: 8, size: 32, seed: 6 });

  it('keeps the model of the best validation epoch, which scores what the history says', async () => {
    const model = await DMDLKNet.create(tiny, { seed: 2, device: 'cpu' });
    const file = path.join(dir, 'best.safetensors');
    const history = await model.fit(train, { epochs: 5, batchSize: 8, lr: 3e-3, validation, best: { file } });
    const dice = history.epochs.map((r) => r.validation!.dice);
    const expected = dice.indexOf(Math.max(...dice)) + 1;  // the first of equal maxima
    expect(history.best).toEqual({ epoch: expected, value: dice[expected - 1], file });
    const kept = await DMDLKNet.load(file, { device: 'cpu' });
    expect((await kept.evaluate(validation)).pooled.dice).toBeCloseTo(history.best!.value, 6);
    kept.dispose();
    model.dispose();
  }, 60000);

  it('stops once the metric has not improved by minDelta for patience epochs, with a checkpoint', async () => {
    const model = await DMDLKNet.create(tiny, { seed: 2, device: 'cpu' });
    const checkpoint = { dir: path.join(dir, 'checkpoints') };
    // No epoch can improve Dice by 0.9 on the first: the second is one epoch without improvement.
    const history = await model.fit(train, { epochs: 6, batchSize: 8, validation, checkpoint, earlyStop: { patience: 1, minDelta: 0.9 } });
    expect(history.epochs).toHaveLength(2);
    expect(history.stoppedEarly).toBe('stopped early after epoch 2: the validation dice has not improved by 0.9 or more for 1 epochs');
    expect(history.checkpoint).toBe(path.join(checkpoint.dir, 'step-00000006.safetensors'));
    // With patience 2 and no minDelta: it ends two epochs after the last new maximum, or at its last epoch.
    const patient = await DMDLKNet.create(tiny, { seed: 2, device: 'cpu' });
    const longer = await patient.fit(train, { epochs: 6, batchSize: 8, lr: 3e-2, validation, earlyStop: { patience: 2 } });
    const dice = longer.epochs.map((r) => r.validation!.dice);
    const newMaximum = dice.map((d, i) => dice.slice(0, i).every((earlier) => d > earlier));
    const lastMaximum = newMaximum.lastIndexOf(true);
    expect(dice.length).toBe(Math.min(6, lastMaximum + 1 + 2));
    expect(longer.stoppedEarly !== undefined).toBe(dice.length < 6);
    model.dispose();
    patient.dispose();
  }, 60000);

  it('logs every step and epoch to logdir: JSON lines, CSV and a TensorBoard event file', async () => {
    const model = await DMDLKNet.create(tiny, { seed: 2, device: 'cpu' });
    const logdir = path.join(dir, 'logs');
    const history = await model.fit(train, { epochs: 2, batchSize: 8, validation, logdir });
    expect(history.logs).toEqual({ steps: path.join(logdir, 'steps.jsonl'), epochs: path.join(logdir, 'epochs.csv'),
      events: expect.stringMatching(/events\.out\.tfevents\.\d+\..+\.training\.dmdlk$/) });
    const steps = fs.readFileSync(history.logs!.steps, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(fs.readFileSync(history.logs!.epochs, 'utf8').trim().split('\n')).toHaveLength(3);
    const events = fs.readFileSync(history.logs!.events);
    for (const tag of ['train/loss', 'train/lr', 'validation/dice', 'epoch/loss']) expect(events.includes(tag)).toBe(true);
    await expect(model.fit(train, { epochs: 1, logdir: 3 as never })).rejects.toThrow(/options\.logdir must be a non-empty string, got number 3/);
    model.dispose();
  }, 60000);

  it('needs a validation set, and says so', async () => {
    const model = await DMDLKNet.create(tiny, { device: 'cpu' });
    await expect(model.fit(train, { epochs: 1, best: { file: path.join(dir, 'x.safetensors') } })).rejects.toThrow(/^options\.best needs options\.validation$/);
    await expect(model.fit(train, { epochs: 1, validation, earlyStop: { patience: 0 } })).rejects.toThrow(InvalidArgumentError);
    await expect(model.fit(train, { epochs: 1, validation, earlyStop: { patience: 2, minDelta: 1 } })).rejects.toThrow(/minDelta must be a number in \[0, 1\)/);
    model.dispose();
  });
});
