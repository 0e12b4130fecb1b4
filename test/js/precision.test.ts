// setFloat32MatmulPrecision: the process-wide rounding of CUDA's float32
// matrix products (tensor cores), checked here for its API, its environment
// variable and for leaving the CPU's results alone; test/gpu/parity.test.ts
// checks what it does on a GPU.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { getFloat32MatmulPrecision, InvalidArgumentError, ops, setFloat32MatmulPrecision, Tensor } from '../../lib';
import type { MatmulPrecision } from '../../lib';

const run = promisify(execFile);
const lib = path.join(__dirname, '..', '..', 'dist', 'lib');

describe('float32 matmul precision', () => {
  afterEach(() => setFloat32MatmulPrecision('high'));

  it("starts at 'high' (TF32 on tensor cores) and round-trips every value", () => {
    expect(getFloat32MatmulPrecision()).toBe(process.env.DMDLK_MATMUL_PRECISION || 'high');
    for (const p of ['highest', 'medium', 'high'] as const) {
      setFloat32MatmulPrecision(p);
      expect(getFloat32MatmulPrecision()).toBe(p);
    }
  });

  it('rejects anything else with a typed error and keeps the setting', () => {
    setFloat32MatmulPrecision('medium');
    for (const bad of ['tf32', 'HIGH', '', undefined, 3, null]) {
      expect(() => setFloat32MatmulPrecision(bad as unknown as MatmulPrecision)).toThrow(InvalidArgumentError);
    }
    expect(() => setFloat32MatmulPrecision('fp16' as MatmulPrecision)).toThrow(/highest, high, medium.*'fp16'/);
    expect(getFloat32MatmulPrecision()).toBe('medium');
  });

  it('leaves CPU products in full float32 at every precision', async () => {
    // 1 + 2^-12 would round to 1 as a TF32 or BF16 input.
    const a = Tensor.from(new Float32Array([1 + 2 ** -12, 3, -2, 0.1]), [2, 2]);
    const b = Tensor.from(new Float32Array([1, 0.5, 0.25, 1 + 2 ** -12]), [2, 2]);
    setFloat32MatmulPrecision('highest');
    const want = (await ops.matmul(a, b)).toArray();
    for (const p of ['high', 'medium'] as const) {
      setFloat32MatmulPrecision(p);
      expect((await ops.matmul(a, b)).toArray()).toEqual(want);
    }
  });

  it('starts from DMDLK_MATMUL_PRECISION, and names a bad value when it is first used', async () => {
    const script = `const d = require(${JSON.stringify(lib)});
      try { console.log(d.getFloat32MatmulPrecision()); } catch (e) { console.log(e.name + ': ' + e.message); }`;
    const read = async (value: string) =>
      (await run(process.execPath, ['-e', script], { env: { ...process.env, DMDLK_MATMUL_PRECISION: value } })).stdout.trim();
    expect(await read('medium')).toBe('medium');
    expect(await read('highest')).toBe('highest');
    expect(await read('tf32')).toBe("InvalidArgumentError: matmul precision must be 'highest', 'high' or 'medium', got 'tf32'");
  });
});
