// Every numeric flag of the dmdlk commands, in one table: its type and range
// (checked as the command line is parsed, before anything is read), and for
// each command that takes it, its default and help text (what --help shows).
// Adding a flag is adding an entry here; the command reads its value with
// numberFlag (args.ts).

import { configField } from '../config';
import { DEFAULT_LEARNING_RATE } from '../train/optimizer';

const inputSize = configField('inputSize');

export type CommandName = 'train' | 'eval' | 'predict' | 'export' | 'info' | 'demo';

export interface NumericFlag {
  /** The flag without its dashes. */
  name: string;
  type: 'integer' | 'number';
  min: number;
  max: number;
  /** Whether the range leaves out both ends: a learning rate is in (0, 1). */
  open?: boolean;
  /** The value must be a multiple of this (an input size of 32). */
  multipleOf?: number;
  /** A word taken instead of a number ('dynamic' for --batch). */
  word?: string;
  /** The commands that take the flag, and its default and help in each. */
  commands: Partial<Record<CommandName, FlagUse>>;
}

export interface FlagUse {
  /** The value when the flag is absent: a number, or a text where it depends on other flags. */
  default: number | string;
  help: string;
}

export const NUMERIC_FLAGS: readonly NumericFlag[] = [
  {
    name: 'epochs', type: 'integer', min: 1, max: 1_000_000,
    commands: { train: { default: 200, help: 'epochs to train' }, demo: { default: 12, help: 'epochs to train' } },
  },
  {
    name: 'batch-size', type: 'integer', min: 1, max: 4096,
    commands: {
      train: { default: 4, help: 'images per training step' },
      demo: { default: 8, help: 'images per training step' },
      eval: { default: 4, help: 'images per forward pass' },
    },
  },
  {
    name: 'lr', type: 'number', min: 0, max: 1, open: true,
    commands: {
      train: { default: DEFAULT_LEARNING_RATE, help: 'Adam learning rate' },
      demo: { default: 3e-3, help: 'Adam learning rate (higher than the paper\'s 1e-4: a small model, few epochs)' },
    },
  },
  {
    name: 'warmup', type: 'integer', min: 0, max: 1_000_000,
    commands: { train: { default: 0, help: 'epochs of linear warm-up of the learning rate (PyTorch\'s LinearLR from lr/W)' } },
  },
  {
    name: 'weight-decay', type: 'number', min: 0, max: 1,
    commands: { train: { default: '0 with adam, 0.01 with adamw (PyTorch\'s)', help: 'Adam\'s L2 term or AdamW\'s decay of the weights' } },
  },
  {
    name: 'clip-grad-norm', type: 'number', min: 0, max: 1_000_000,
    commands: { train: { default: 0, help: 'scale the gradients to this global norm at most (0: no clipping)' } },
  },
  {
    name: 'patience', type: 'integer', min: 0, max: 1_000_000,
    commands: { train: { default: 0, help: 'stop after this many epochs without a better validation Dice (0: never)' } },
  },
  {
    name: 'min-delta', type: 'number', min: 0, max: 0.5,
    commands: { train: { default: 0, help: 'the least rise of the validation Dice that counts for --patience' } },
  },
  {
    name: 'keep', type: 'integer', min: 1, max: 1000,
    commands: { train: { default: 3, help: 'checkpoints kept in OUT/checkpoints, the newest (each ~3× the model file)' } },
  },
  {
    // The configuration's inputSize: its rule from the configuration's declaration.
    name: 'input-size', type: 'integer', min: inputSize.min, max: inputSize.max, multipleOf: inputSize.multipleOf,
    commands: {
      train: { default: inputSize.default as number, help: 'side the images are resized to' },
      demo: { default: '64 for synthetic data, 128 for real data', help: 'side the images are resized to' },
      export: { default: 'the model\'s', help: 'the image side the graph takes (only where the weights allow)' },
    },
  },
  {
    name: 'expand', type: 'integer', min: 2, max: 100,
    commands: { train: { default: 3, help: 'offline expansion factor (with --augment offline)' } },
  },
  {
    name: 'seed', type: 'integer', min: 0, max: 2 ** 32 - 1,
    commands: {
      train: { default: 0, help: 'data order, splits and augmentation' },
      demo: { default: 0, help: 'the synthetic images, splits, initial weights and data order' },
      eval: { default: 'the one the model was trained with', help: 'the seed the training images were split with where there is no test folder' },
    },
  },
  {
    name: 'overlays', type: 'integer', min: 0, max: 100_000,
    commands: { train: { default: 8, help: 'overlay pictures of the first N test images' } },
  },
  {
    name: 'count', type: 'integer', min: 10, max: 1_000_000,
    commands: { demo: { default: 400, help: 'synthetic images (70% train, 10% validation, 20% test)' } },
  },
  {
    name: 'batch', type: 'integer', min: 1, max: 4096, word: 'dynamic',
    commands: { export: { default: 'dynamic', help: 'images per run: any (dynamic) or exactly N' } },
  },
  {
    name: 'opset', type: 'integer', min: 19, max: 22,
    commands: { export: { default: 19, help: 'the ONNX opset (19 is the first with DeformConv)' } },
  },
];

/** The numeric flags `command` takes, in table order, each with its use there. */
export function numericFlagsOf(command: string): (NumericFlag & FlagUse)[] {
  return NUMERIC_FLAGS.flatMap((flag) => {
    const use = flag.commands[command as CommandName];
    return use ? [{ ...flag, ...use }] : [];
  });
}

/** What a flag's value must be, as --help and the error messages say it: "an integer in [1, 4096]". */
export function rule(flag: NumericFlag): string {
  const range = flag.open ? `(${flag.min}, ${flag.max})` : `[${flag.min}, ${flag.max}]`;
  const number = flag.multipleOf !== undefined ? `a multiple of ${flag.multipleOf}` : flag.type === 'integer' ? 'an integer' : 'a number';
  return `${flag.word !== undefined ? `${flag.word} or ` : ''}${number} in ${range}`;
}
