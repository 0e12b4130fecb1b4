// setFloat32MatmulPrecision: the process-wide rounding of CUDA's float32
// matrix products (tensor cores), checked here for its API, its environment
// variable and for leaving the CPU's results alone; test/gpu/parity.test.ts
// checks what it does on a GPU.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { DMDLKNet, getFloat32MatmulPrecision, InvalidArgumentError, ops, setFloat32MatmulPrecision, Tensor } from '../../lib';
import type { MatmulPrecision, ModelConfig } from '../../lib';

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

  it("is a model's own when given one, and on the CPU says once that it changes nothing", async () => {
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const tiny: ModelConfig = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };
      const plain = await DMDLKNet.create(tiny, { device: 'cpu', seed: 3 });
      const bf16 = await DMDLKNet.create(tiny, { device: 'cpu', seed: 3, precision: 'bf16' });
      expect(plain.precision).toBeNull();
      expect(bf16.precision).toBe('bf16');
      const images = Tensor.from(Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i)), [1, 3, 32, 32]);
      expect((await bf16.forward(images)).toArray()).toEqual((await plain.forward(images)).toArray());
      bf16.precision = 'fp32';
      expect(bf16.precision).toBe('fp32');
      bf16.precision = null;
      expect(bf16.precision).toBeNull();
      expect(getFloat32MatmulPrecision()).toBe('high');  // the process's is untouched
      for (const bad of ['highest', 'TF32', 3]) {
        expect(() => {
          bf16.precision = bad as never;
        }).toThrow(InvalidArgumentError);
        await expect(DMDLKNet.create(tiny, { device: 'cpu', precision: bad as never })).rejects.toThrow(
          /options\.precision must be one of fp32, tf32, bf16/);
      }
      expect(emitWarning).toHaveBeenCalledTimes(1);
      expect(emitWarning).toHaveBeenCalledWith("precision 'bf16' is ignored on the CPU, which computes in float32",
        { code: 'DMDLK_PRECISION_CPU' });
      plain.dispose();
      bf16.dispose();
    } finally {
      emitWarning.mockRestore();
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
