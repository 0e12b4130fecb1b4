// The shape of a configuration field's rule (the table lib/config.generated.ts
// holds, generated from native/cpp/nn/config_schema.cpp), as the native check
// (config.cpp) applies it.
import type { ModelConfig } from './config.generated';

export interface ConfigFieldRule {
  name: keyof ModelConfig;
  kind: 'integer' | 'number' | 'choice';
  /** 1, or 4 values (one per stage). */
  count: 1 | 4;
  /** Integers: in [min, max], a multiple of multipleOf, odd where odd; numbers: in (min, max]. */
  min: number;
  max: number;
  multipleOf: number;
  odd: boolean;
  choices: readonly string[];
  /** The rule in words, as the error messages say it. */
  rule: string;
  /** The CLI flag that sets the field, or ''. */
  flag: string;
  /** Its value in the paper's network. */
  default: number | string | readonly (number | string)[];
}
