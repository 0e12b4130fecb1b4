// Command-line parsing shared by the commands: node's parseArgs, the numeric
// flags read and checked against their table (numeric-flags.ts) as the line
// is parsed, and typed readers that say which flag was wrong and how.
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { type FlagUse, type NumericFlag, numericFlagsOf, rule } from './numeric-flags';

/** A usage error: printed with the command's help, exit code 2. */
export class UsageError extends Error {}

/** The flags as parsed: numeric flags as numbers (or their word, such as 'dynamic'), the others as given. */
export type FlagValues = Record<string, string | number | boolean | undefined>;

export type HelpLine = [flags: string, text: string];

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** The flags other than the numeric ones, which come from the table. */
  options: NonNullable<ParseArgsConfig['options']>;
  /**
   * Help for the options, in order: the flags and what they do ('\n' breaks a
   * long text), or a numeric flag's name for its line from the table. Numeric
   * flags not placed here come last.
   */
  help: (HelpLine | string)[];
  allowPositionals?: boolean;
  run(values: FlagValues, positionals: string[]): Promise<void>;
}

/** A decimal number as typed: no hex, no 'Infinity', no blanks. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A flag's text as its table entry says, or a usage error quoting the rule. */
function readNumeric(flag: NumericFlag, text: string): number | string {
  if (flag.word !== undefined && text === flag.word) return text;
  const n = NUMBER.test(text) ? Number(text) : Number.NaN;
  const inRange = flag.open ? n > flag.min && n < flag.max : n >= flag.min && n <= flag.max;
  const valid = inRange && (flag.type === 'number' || Number.isInteger(n)) && (flag.multipleOf === undefined || n % flag.multipleOf === 0);
  if (!valid) throw new UsageError(`--${flag.name} must be ${rule(flag)}, got ${Number.isNaN(n) ? `'${text}'` : text}`);
  return n;
}

/**
 * `--epochs -3` as `--epochs=-3`: parseArgs takes a value that starts with a
 * dash only after '=', and would call the other form ambiguous.
 */
function joinNegativeNumbers(argv: string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const option = argv[i].startsWith('--') ? options[argv[i].slice(2)] : undefined;
    if (option?.type === 'string' && i + 1 < argv.length && NUMBER.test(argv[i + 1]) && argv[i + 1].startsWith('-')) {
      joined.push(`${argv[i]}=${argv[++i]}`);
    } else {
      joined.push(argv[i]);
    }
  }
  return joined;
}

/** The command's flags and positionals; every numeric flag is checked here, before the command runs. */
export function parse(command: Command, argv: string[]): { values: FlagValues; positionals: string[] } {
  const numeric = numericFlagsOf(command.name);
  const options: NonNullable<ParseArgsConfig['options']> = {
    ...command.options, ...Object.fromEntries(numeric.map((flag) => [flag.name, { type: 'string' } as const])),
    help: { type: 'boolean', short: 'h' },
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: joinNegativeNumbers(argv, options), options, allowPositionals: command.allowPositionals ?? false, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  const values = parsed.values as FlagValues;  // no option is 'multiple'
  if (values.help) return { values, positionals: parsed.positionals };
  for (const flag of numeric) {
    const text = values[flag.name];
    if (typeof text === 'string') values[flag.name] = readNumeric(flag, text);
  }
  return { values, positionals: parsed.positionals };
}

/** The help line of a numeric flag: its text, rule and default from the table. */
function numericHelp(flag: NumericFlag & FlagUse): HelpLine {
  const placeholder = `${flag.word !== undefined ? `${flag.word}|` : ''}${flag.type === 'integer' ? 'N' : 'X'}`;
  const range = `${rule(flag)}, default ${flag.default}`;
  return [`--${flag.name} ${placeholder}`, `${flag.help}${flag.help.length + range.length > 76 ? '\n' : '; '}${range}`];
}

/** The command's help, every option's text starting in one column. */
export function helpText(command: Command): string {
  const numeric = new Map(numericFlagsOf(command.name).map((flag) => [flag.name, flag]));
  const lines: HelpLine[] = command.help.map((line) => {
    if (typeof line !== 'string') return line;
    const flag = numeric.get(line);
    if (!flag) throw new Error(`${command.name}'s help names --${line}, which the table does not give it`);
    numeric.delete(line);
    return numericHelp(flag);
  });
  lines.push(...[...numeric.values()].map(numericHelp), ['-h, --help', 'this help']);
  const width = Math.max(...lines.map(([flags]) => flags.length)) + 2;
  const options = lines.map(([flags, text]) => `  ${flags.padEnd(width)}${text.split('\n').join(`\n  ${' '.repeat(width)}`)}`);
  return `${command.summary}\n\nUsage: ${command.usage}\n\nOptions:\n${options.join('\n')}\n`;
}

/** A numeric flag's value (checked by parse), or its default from the table where that is a number. */
export function numberFlag(values: FlagValues, command: string, name: string): number {
  const value = values[name];
  if (typeof value === 'number') return value;
  const fallback = numericFlagsOf(command).find((flag) => flag.name === name)?.default;
  if (typeof fallback !== 'number') throw new Error(`the table gives --${name} no numeric default in ${command}`);
  return fallback;
}

/** A numeric flag's value where it was given (checked by parse), else undefined. */
export function givenNumber(values: FlagValues, name: string): number | undefined {
  const value = values[name];
  return typeof value === 'number' ? value : undefined;
}

export function choiceFlag<T extends string>(value: FlagValues[string], flag: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !choices.includes(value as T)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

export function stringFlag(value: FlagValues[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A command line that a POSIX shell reads back as these words. */
export function shellCommand(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
