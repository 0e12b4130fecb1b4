// The optimizer's options as fit takes them: Adam (the paper's) or AdamW
// (decoupled weight decay), each with PyTorch's defaults, and clipping of the
// gradients' global norm (torch.nn.utils.clip_grad_norm_) before the update.
import { InvalidArgumentError } from '../errors';
import * as check from '../validate';

/** Adam's learning rate in the paper's recipe: the default of fit, trainStep and dmdlk train. */
export const DEFAULT_LEARNING_RATE = 1e-4;

export const OPTIMIZER_NAMES = ['adam', 'adamw'] as const;
export type OptimizerName = typeof OPTIMIZER_NAMES[number];

/** PyTorch's default weight decay of each: Adam 0, AdamW 0.01. */
export const DEFAULT_WEIGHT_DECAY: Record<OptimizerName, number> = { adam: 0, adamw: 0.01 };

/**
 * The weight decay a run was given: its own where given, else the default of
 * the optimizer it named (undefined where it named neither: the checkpoint's
 * when resuming, Adam's 0 otherwise). fit and the CLI ask here alike.
 */
export function givenWeightDecay(weightDecay: number | undefined, optimizer: OptimizerName | undefined): number | undefined {
  return weightDecay ?? (optimizer === undefined ? undefined : DEFAULT_WEIGHT_DECAY[optimizer]);
}

export function optimizerName(value: unknown, name: string): OptimizerName {
  if (!OPTIMIZER_NAMES.includes(value as OptimizerName)) {
    throw new InvalidArgumentError(`${name} must be 'adam' or 'adamw', got ${check.describe(value)}`);
  }
  return value as OptimizerName;
}

/** A non-negative number below `max`: a weight decay or a clipping norm. */
export function nonNegative(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= max)) {
    throw new InvalidArgumentError(`${name} must be a number in [0, ${max}], got ${check.describe(value)}`);
  }
  return value;
}
