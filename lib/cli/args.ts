// Command-line parsing shared by the commands: node's parseArgs with typed
// readers that say which flag was wrong and how.
import { parseArgs, type ParseArgsConfig } from 'node:util';

import * as check from '../validate';

/** A usage error: printed with the command's help, exit code 2. */
export class UsageError extends Error {}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Help for the options, in order: the flags, and what they do ('\n' breaks a long text). */
  help: HelpLine[];
  allowPositionals?: boolean;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<void>;
}

export function parse(command: Command, argv: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv, options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.allowPositionals ?? false, strict: true,
    });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

export type HelpLine = [flags: string, text: string];

/** The command's help, every option's text starting in one column. */
export function helpText(command: Command): string {
  const lines: HelpLine[] = [...command.help, ['-h, --help', 'this help']];
  const width = Math.max(...lines.map(([flags]) => flags.length)) + 2;
  const options = lines.map(([flags, text]) => `  ${flags.padEnd(width)}${text.split('\n').join(`\n  ${' '.repeat(width)}`)}`);
  return `${command.summary}\n\nUsage: ${command.usage}\n\nOptions:\n${options.join('\n')}\n`;
}

export function integerFlag(value: string | boolean | undefined, flag: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got '${value}'`);
  return n;
}

export function choiceFlag<T extends string>(value: string | boolean | undefined, flag: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !choices.includes(value as T)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

export function stringFlag(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A learning rate (the API's rule, lib/validate.ts), from its flag's text. */
export function learningRateFlag(value: string | boolean | undefined, flag: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!check.isLearningRate(n)) throw new UsageError(`--${flag} must be a number in (0, 1), got '${value}'`);
  return n;
}

/** A command line that a POSIX shell reads back as these words. */
export function shellCommand(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(' ');
}
