// Learning-rate schedules: every rate against PyTorch's schedulers
// (test/fixtures/lr_schedules.json from test/reference/gen_schedules.py),
// fit running each step at the schedule's rate, and resume keeping it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DMDLKNet, InvalidArgumentError, type ModelConfig, syntheticLesions } from '../../lib';
import { resolveSchedule, type ScheduleName, scheduledRate } from '../../lib/train/schedule';
import { fixtureDir } from './helpers';

interface ScheduleCase {
  schedule: ScheduleName;
  lr: number;
  epochs: number;
  stepsPerEpoch: number;
  warmupEpochs: number;
  stepEvery: number;
  rates: number[];
}

const tiny: ModelConfig = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };

describe('learning-rate schedules', () => {
  const { torch, cases } = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'lr_schedules.json'), 'utf8')) as
    { torch: string; cases: ScheduleCase[] };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-schedule-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`gives PyTorch's rates at every step (fixtures of torch ${torch})`, () => {
    expect(new Set(cases.map((c) => c.schedule))).toEqual(new Set(['constant', 'cosine', 'poly', 'step']));
    expect(cases.some((c) => c.warmupEpochs > 0)).toBe(true);
    for (const c of cases) {
      const s = resolveSchedule({ name: c.schedule, warmupEpochs: c.warmupEpochs, ...(c.schedule === 'step' ? { stepEvery: c.stepEvery } : {}) },
        c.epochs, 'schedule');
      const ours = c.rates.map((_, step) => scheduledRate(s, c.lr, step, c.stepsPerEpoch, c.epochs));
      const worst = Math.max(...ours.map((r, i) => Math.abs(r - c.rates[i]) / c.lr));
      expect({ case: `${c.schedule} warm-up ${c.warmupEpochs}`, worst: worst < 1e-9 ? 'close' : worst }).toEqual(
        { case: `${c.schedule} warm-up ${c.warmupEpochs}`, worst: 'close' });
    }
  });

  it('checks its options', () => {
    expect(() => resolveSchedule('linear', 10, 'options.schedule')).toThrow(/^options\.schedule must be 'constant', 'cosine', 'poly', 'step', got the string 'linear'$/);
    expect(() => resolveSchedule({ name: 'cosine', warmupEpochs: 10 }, 10, 'options.schedule')).toThrow(/options\.schedule\.warmupEpochs must be an integer in \[0, 9\]/);
    expect(() => resolveSchedule({ name: 'cosine', stepEvery: 2 }, 10, 'options.schedule')).toThrow(/stepEvery is for the 'step' schedule only/);
    expect(resolveSchedule('step', 10, 's')).toEqual({ name: 'step', warmupEpochs: 0, stepEvery: 3 });
  });

  it('runs each of fit\'s steps at the schedule\'s rate, stores it in checkpoints and resumes with it', async () => {
    const data = syntheticLesions({ count: 12, size: 32 });
    const model = await DMDLKNet.create(tiny, { seed: 1, device: 'cpu' });
    const rates: number[] = [];
    const checkpoint = { dir: path.join(dir, 'run'), every: 1, keep: 5 };
    const options = { epochs: 4, batchSize: 4, lr: 1e-3, schedule: { name: 'cosine' as const, warmupEpochs: 1 }, checkpoint };
    const history = await model.fit(data, { ...options, onProgress: (p) => rates.push(p.lr) });
    const s = resolveSchedule(options.schedule, 4, 'schedule');
    expect(rates).toEqual(Array.from({ length: 12 }, (_, step) => scheduledRate(s, 1e-3, step, 3, 4)));
    expect(rates[0]).toBeCloseTo(1e-3 / 3, 12);  // warm-up from lr / W, W = 3 steps
    expect(history.epochs.map((e) => e.lr)).toEqual([rates[2], rates[5], rates[8], rates[11]]);
    model.dispose();
    // Resumed from epoch 2's checkpoint: the same rates for the rest, and another schedule refused.
    const again = await DMDLKNet.load(path.join(checkpoint.dir, 'step-00000006.safetensors'), { device: 'cpu' });
    await expect(again.fit(data, { resume: path.join(checkpoint.dir, 'step-00000006.safetensors'), schedule: 'poly' }))
      .rejects.toThrow(InvalidArgumentError);
    const resumedRates: number[] = [];
    await again.fit(data, { resume: path.join(checkpoint.dir, 'step-00000006.safetensors'), onProgress: (p) => resumedRates.push(p.lr) });
    expect(resumedRates).toEqual(rates.slice(6));
    again.dispose();
  }, 60000);
});
