// Shared by the jest suites: PyTorch fixtures through the public API, and
// comparisons with a tolerance.
import * as path from 'node:path';

import { readSafetensors, type Tensor } from '../../lib';

export const fixtureDir = path.join(__dirname, '..', 'fixtures');

export interface FixtureCase {
  name: string;
  options: { op: string; [key: string]: unknown };  // the case of test/op_cases.json
  tensors: Map<string, Tensor>;
}

export async function loadFixtures(file: string): Promise<FixtureCase[]> {
  const { tensors, metadata } = await readSafetensors(path.join(fixtureDir, file));
  return Object.entries(metadata).map(([name, json]) => {
    const own = new Map<string, Tensor>();
    for (const [key, tensor] of tensors) if (key.startsWith(`${name}.`)) own.set(key.slice(name.length + 1), tensor);
    return { name, options: JSON.parse(json), tensors: own };
  });
}

/** The largest |a - b| / (atol + rtol·|b|); <= 1 means close. */
export function closeness(a: ArrayLike<number>, b: ArrayLike<number>, atol = 1e-4, rtol = 1e-4): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const r = Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i]));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}
