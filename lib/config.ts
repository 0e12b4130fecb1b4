// The model configuration in TypeScript: its type and field table come from
// the configuration's one declaration (native/cpp/nn/config_schema.cpp,
// through config.generated.ts); checkConfig applies each field's rule with
// the native check's messages, so that a caller (the CLI) can name the
// field as its user wrote it. The rules between fields (moat widths and
// headDim, windows and the stages' sides) are the network's, checked natively.
import type { ConfigFieldRule } from './config-field';
import { CONFIG_FIELDS, type ModelConfig } from './config.generated';
import { InvalidArgumentError } from './errors';
import * as check from './validate';

export type { ConfigFieldRule } from './config-field';
export { CONFIG_FIELDS, type Four, type ModelConfig } from './config.generated';
export type BlockKind = NonNullable<ModelConfig['blocks']>[number];
export type ResolvedModelConfig = Required<ModelConfig>;

function keeps(f: ConfigFieldRule, v: unknown): boolean {
  if (f.kind === 'choice') return typeof v === 'string' && f.choices.includes(v);
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (f.kind === 'number') return v > f.min && v <= f.max;
  return Number.isInteger(v) && v >= f.min && v <= f.max && v % f.multipleOf === 0 && (!f.odd || v % 2 !== 0);
}

/** A value as the native check shows it (config.cpp). */
function shown(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `an array of ${value.length} values`;
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

/** The field `name`'s rule; throws for a name the configuration does not have. */
export function configField(name: keyof ModelConfig): ConfigFieldRule {
  const field = CONFIG_FIELDS.find((f) => f.name === name);
  if (!field) throw new Error(`the configuration has no field '${name}'`);
  return field;
}

/**
 * `config` with every field checked against its rule: an unknown field, a
 * value of the wrong kind or out of its range is an InvalidArgumentError
 * naming it by `label` (default `config.<field>`).
 */
export function checkConfig(config: unknown, label = (field: string) => `config.${field}`): ModelConfig {
  const c = check.options(config, 'config');
  check.knownKeys(c, CONFIG_FIELDS.map((f) => f.name), 'config');
  for (const f of CONFIG_FIELDS) {
    const value = c[f.name];
    if (value === undefined) continue;
    if (f.count === 1) {
      if (!keeps(f, value)) throw new InvalidArgumentError(`${label(f.name)} must be ${f.rule}, got ${shown(value)}`);
      continue;
    }
    if (!Array.isArray(value) || value.length !== f.count) {
      throw new InvalidArgumentError(`${label(f.name)} must be an array of ${f.count} values, each ${f.rule}, got ${shown(value)}`);
    }
    value.forEach((v: unknown, i) => {
      if (!keeps(f, v)) throw new InvalidArgumentError(`${label(f.name)}[${i}] must be ${f.rule}, got ${shown(v)}`);
    });
  }
  return c as ModelConfig;
}
