// Learning-rate schedules, stepped per optimizer step as PyTorch's schedulers
// are: a linear warm-up (LinearLR from 1/W to 1 over W steps), then constant
// (the paper's), cosine (CosineAnnealingLR to 0), poly (PolynomialLR, power
// 0.9, the usual one for segmentation) or step (StepLR, ×0.1 every `stepEvery`
// epochs). test/reference/gen_schedules.py writes PyTorch's rates for the
// test to compare with.
import { InvalidArgumentError } from '../errors';
import * as check from '../validate';

export const SCHEDULE_NAMES = ['constant', 'cosine', 'poly', 'step'] as const;
export type ScheduleName = typeof SCHEDULE_NAMES[number];

/** As fit takes it: the name alone, or the name with its warm-up and (for 'step') its period. */
export interface ScheduleOptions {
  name: ScheduleName;
  /** Epochs of linear warm-up from lr / W to lr (W their steps); default 0. */
  warmupEpochs?: number | undefined;
  /** 'step' only: epochs between decays by 10 (default a third of the epochs after the warm-up). */
  stepEvery?: number | undefined;
}

/** Every field given: what checkpoints store and resume compares. */
export interface ResolvedSchedule {
  name: ScheduleName;
  warmupEpochs: number;
  stepEvery: number;
}

const POLY_POWER = 0.9;
const STEP_GAMMA = 0.1;

export function resolveSchedule(value: unknown, epochs: number, name: string): ResolvedSchedule {
  const o = typeof value === 'string' ? { name: value } : check.options(value, name);
  check.knownKeys(o, ['name', 'warmupEpochs', 'stepEvery'], name);
  if (!SCHEDULE_NAMES.includes(o.name as ScheduleName)) {
    throw new InvalidArgumentError(`${typeof value === 'string' ? name : `${name}.name`} must be ` +
      `${SCHEDULE_NAMES.map((s) => `'${s}'`).join(', ')}, got ${check.describe(o.name)}`);
  }
  const warmupEpochs = check.integer(o.warmupEpochs ?? 0, `${name}.warmupEpochs`, 0, epochs - 1);
  if (o.name !== 'step') {
    if (o.stepEvery !== undefined) throw new InvalidArgumentError(`${name}.stepEvery is for the 'step' schedule only`);
    return { name: o.name as ScheduleName, warmupEpochs, stepEvery: 1 };
  }
  const stepEvery = check.integer(o.stepEvery ?? Math.max(1, Math.floor((epochs - warmupEpochs) / 3)), `${name}.stepEvery`, 1);
  return { name: 'step', warmupEpochs, stepEvery };
}

/** The rate of optimizer step `step` (from 0) of a run of `epochs` × `stepsPerEpoch` steps at base rate `lr`. */
export function scheduledRate(s: ResolvedSchedule, lr: number, step: number, stepsPerEpoch: number, epochs: number): number {
  const warmup = s.warmupEpochs * stepsPerEpoch;
  if (step < warmup) return lr * (1 / warmup + (1 - 1 / warmup) * (step / warmup));
  const t = step - warmup, rest = epochs * stepsPerEpoch - warmup;
  switch (s.name) {
    case 'constant': return lr;
    case 'cosine': return (lr * (1 + Math.cos((Math.PI * Math.min(t, rest)) / rest))) / 2;
    case 'poly': return lr * (1 - Math.min(t, rest) / rest) ** POLY_POWER;
    case 'step': return lr * STEP_GAMMA ** Math.floor(t / (s.stepEvery * stepsPerEpoch));
  }
}
