// Argument checks of the public API. Each names the argument and says what
// was expected and what came, and throws an InvalidArgumentError.
import { InvalidArgumentError } from './errors';

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  if (typeof value === 'string') return `the string '${value}'`;
  return `${typeof value} ${String(value)}`;
}

export function integer(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

export function shape(value: unknown, name: string): number[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${name} must be an array of integers, got ${describe(value)}`);
  if (value.length > 8) throw new InvalidArgumentError(`${name} has ${value.length} axes; at most 8 are supported`);
  return value.map((d, i) => integer(d, `${name}[${i}]`, 0));
}

export function options(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`${name} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Rejects option keys that are not in `known`: a typo must not be ignored silently. */
export function knownKeys(opts: Record<string, unknown>, known: readonly string[], name: string): void {
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(`${name} has an unknown option '${key}' (known: ${known.join(', ')})`);
    }
  }
}

/** Whether `value` is a learning rate we accept: a number in (0, 1). The API and the CLI both ask here. */
export function isLearningRate(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && value < 1;
}

export function learningRate(value: unknown, name: string): number {
  if (!isLearningRate(value)) throw new InvalidArgumentError(`${name} must be a number in (0, 1), got ${describe(value)}`);
  return value;
}

/** The training losses by name, as options, flags and checkpoints spell them. */
export const LOSS_NAMES = ['ce', 'ce+dice'] as const;
export type LossName = typeof LOSS_NAMES[number];

export function lossName(value: unknown, name: string): LossName {
  if (!LOSS_NAMES.includes(value as LossName)) {
    throw new InvalidArgumentError(`${name} must be ${LOSS_NAMES.map((l) => `'${l}'`).join(' or ')}, got ${describe(value)}`);
  }
  return value as LossName;
}

export function string(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(`${name} must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

export function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}
