// How this process was started, as words to print in a command the user can
// run again: `npx dmdlk` in a project that installed the package (where a bare
// `dmdlk` is not on the shell's PATH), `dmdlk` where that name on PATH is this
// script (a global install), and `node path/to/main.js` otherwise.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Invocation {
  /** The script node runs: process.argv[1], as given (a bin link keeps its own path). */
  script: string;
  cwd: string;
  /** The PATH variable. */
  searchPath: string;
  /** The node binary: process.execPath. */
  node: string;
}

function realpath(file: string): string | null {
  try {
    return fs.realpathSync(file);
  } catch {
    return null;
  }
}

/** Whether `command` on the search path is `file` (the same file once links are followed). */
function onPathAs(command: string, file: string, searchPath: string): boolean {
  const target = realpath(file);
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const found = realpath(path.join(dir, command));
    if (found !== null) return found === target;  // the first match is what the shell runs
  }
  return false;
}

/** Whether `file` is inside `dir` (or is it). */
function isInside(file: string, dir: string): boolean {
  const relative = path.relative(dir, file);
  return !relative.startsWith('..') && !path.isAbsolute(relative);
}

/**
 * Whether `script` is the package as installed in the project around `cwd`: a
 * bin link in node_modules/.bin or the package in node_modules/dmdlk-native
 * of `cwd` or a folder above it, which is where npx looks.
 */
function installedLocally(script: string, cwd: string): boolean {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const modules = path.join(dir, 'node_modules');
    if (isInside(script, path.join(modules, '.bin')) || isInside(script, path.join(modules, 'dmdlk-native'))) return true;
    if (path.dirname(dir) === dir) return false;
  }
}

/** The words that start the dmdlk command again, as this process was started. */
export function commandWords({ script, cwd, searchPath, node }: Invocation = {
  script: process.argv[1], cwd: process.cwd(), searchPath: process.env.PATH ?? '', node: process.execPath,
}): string[] {
  const absolute = path.resolve(cwd, script);
  if (installedLocally(absolute, cwd)) return ['npx', 'dmdlk'];
  if (onPathAs('dmdlk', absolute, searchPath)) return ['dmdlk'];
  const shown = isInside(absolute, cwd) ? path.relative(cwd, absolute) : absolute;
  return [onPathAs('node', node, searchPath) ? 'node' : node, shown];
}
