// What a resumed run takes from its checkpoint: every setting that shapes
// the training trajectory (batch size, learning rate and its schedule, the
// optimizer, weight decay and clipping, loss, seed, augmentation) comes from the checkpoint unless given, and a setting given
// with another value is refused, naming both. The same rule serves fit()'s
// options and the CLI's flags; only the names differ.
import { InvalidArgumentError } from '../errors';
import type { ResolvedAugment } from '../data/augment';
import type { TrainingState } from './checkpoints';
import type { LossName } from '../validate';
import type { ResolvedSchedule } from './schedule';
import type { OptimizerName } from './optimizer';

/** The settings a checkpoint pins, resolved. */
export interface TrainingSettings {
  batchSize: number;
  lr: number;
  loss: LossName;
  seed: number;
  augment: ResolvedAugment | null;
  schedule: ResolvedSchedule;
  optimizer: OptimizerName;
  weightDecay: number;
  /** 0: gradients not clipped. */
  clipGradNorm: number;
}

export type SettingName = keyof TrainingSettings;

export function settingsOf(state: TrainingState): TrainingSettings {
  return {
    batchSize: state.batchSize, lr: state.lr, loss: state.loss, seed: state.seed,
    augment: state.augment === null ? null : { json: state.augment, expand: state.expand },
    // Checkpoints from before schedules trained at a constant rate.
    schedule: state.schedule ?? { name: 'constant', warmupEpochs: 0, stepEvery: 1 },
    // And with Adam, no weight decay, no clipping.
    optimizer: state.optimizer ?? 'adam', weightDecay: state.weightDecay ?? 0, clipGradNorm: state.clipGradNorm ?? 0,
  };
}

function same(a: TrainingSettings[SettingName], b: TrainingSettings[SettingName]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The settings of a run resuming from `state`: each given one must equal the
 * checkpoint's, each missing one is the checkpoint's. `nameOf` and `show`
 * say a setting and a value in the caller's terms (an option or a flag).
 */
export function resumedSettings(file: string, state: TrainingState, given: Partial<TrainingSettings>,
  nameOf: (setting: SettingName) => string, show: (setting: SettingName, value: unknown) => string): TrainingSettings {
  const pinned = settingsOf(state);
  for (const setting of Object.keys(pinned) as SettingName[]) {
    const value = given[setting];
    if (value === undefined || same(value, pinned[setting])) continue;
    throw new InvalidArgumentError(`cannot resume from '${file}': it was trained with ${nameOf(setting)} ${show(setting, pinned[setting])}, ` +
      `not ${show(setting, value)}; leave ${nameOf(setting)} out to continue with the checkpoint's`);
  }
  return pinned;
}
