#!/usr/bin/env node
// The dmdlk command: train, eval, predict, export, info, demo.
import { DataError, DmdlkError } from '../errors';
import { packageVersion } from '../package-root';
import { info } from '../info';
import { type Command, helpText, parse, UsageError } from './args';
import { demoCommand } from './demo';
import { evalCommand } from './eval';
import { exportCommand } from './export';
import { predictCommand } from './predict';
import { trainCommand } from './train';

const infoCommand: Command = {
  name: 'info',
  summary: 'What this installation can use: the binary, CPU features, CUDA devices.',
  usage: 'dmdlk info [--json]',
  options: { json: { type: 'boolean' } },
  help: [['--json', 'print as JSON']],
  async run(values) {
    const i = info();
    if (values.json) {
      console.log(JSON.stringify(i, null, 2));
      return;
    }
    console.log(`dmdlk-native ${i.version} (N-API ${i.napiVersion}), ${i.binary}`);
    console.log(`CPU: ${i.cpu.threads} threads, ${i.cpu.simd} kernels`);
    if (i.cuda.available) for (const d of i.cuda.devices) console.log(`GPU ${d.index}: ${d.name} (sm_${d.computeCapability.replace('.', '')}, ${(d.totalMemory / 2 ** 30).toFixed(0)} GiB)`);
    else console.log(`CUDA: not used (${i.cuda.reason ?? 'unavailable'})`);
  },
};

const commands = [trainCommand, evalCommand, predictCommand, exportCommand, infoCommand, demoCommand];

function usage(): string {
  return 'dmdlk: DMDLK-Net skin-lesion segmentation\n\nUsage: dmdlk <command> [options]\n       dmdlk --version\n\nCommands:\n' +
    commands.map((c) => `  ${c.name.padEnd(9)}${c.summary}`).join('\n') + '\n\nRun dmdlk <command> --help for its options.\n';
}

/** An error's message in the CLI's terms (flags where the API would name options), its code after the first line. */
function describeError(error: unknown): string {
  if (!(error instanceof DmdlkError)) return (error as Error).stack ?? String(error);
  const message = error instanceof DataError && error.skippable ? `${error.problem} (give --on-error skip to leave such files out)` : error.message;
  const [first, ...rest] = message.split('\n');
  return [`${first} [${error.code}]`, ...rest].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageVersion}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`dmdlk: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  try {
    const { values, positionals } = parse(command, rest);
    if (values.help) {
      process.stdout.write(helpText(command));
      return 0;
    }
    await command.run(values, positionals);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`dmdlk ${name}: ${error.message}\nRun dmdlk ${name} --help for its options.\n`);
      return 2;
    }
    process.stderr.write(`dmdlk ${name}: ${describeError(error)}\n`);
    return error instanceof DmdlkError && error.code === 'ERR_CANCELLED' ? 130 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
