// The dmdlk command as the CLI tests run it: the compiled entry under this
// Node, its exit code, standard output and standard error.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

export const cli = path.join(__dirname, '..', '..', 'dist', 'lib', 'cli', 'main.js');
const run = promisify(execFile);

export async function dmdlk(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { timeout: 600000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
