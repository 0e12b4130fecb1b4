import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { FormatError, InvalidArgumentError, IOError, readSafetensors, Tensor, writeSafetensors } from '../../lib';
import { fixtureDir } from './helpers';

describe('safetensors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-st-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips tensors of every dtype and the metadata', async () => {
    const file = path.join(dir, 'a.safetensors');
    const tensors = new Map<string, Tensor>([
      ['stem.conv1.weight', Tensor.from(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2])],
      ['f64', Tensor.from(new Float64Array([Math.PI]), [1])],
      ['mask', Tensor.from(new Uint8Array([0, 255]), [2])],
      ['index', Tensor.from(new Int32Array([-1, 7]), [2])],
    ]);
    await writeSafetensors(file, tensors, { config: '{"inputSize":448}' });
    const back = await readSafetensors(file);
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      expect(back.tensors.get(name)!.toArray()).toEqual(t.toArray());
      expect(back.tensors.get(name)!.shape).toEqual(t.shape);
    }
    expect(back.metadata).toEqual({ config: '{"inputSize":448}' });
  });

  it('reads files written by PyTorch', async () => {
    const { tensors, metadata } = await readSafetensors(path.join(fixtureDir, 'op_cases.safetensors'));
    expect(tensors.size).toBeGreaterThan(100);
    expect(JSON.parse(metadata.conv2d_stem).op).toBe('conv2d');
  });

  it('reports missing, corrupt and truncated files with typed errors', async () => {
    await expect(readSafetensors(path.join(dir, 'missing.safetensors'))).rejects.toThrow(IOError);
    const bad = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(bad, Buffer.from('this is not a safetensors file'));
    await expect(readSafetensors(bad)).rejects.toThrow(FormatError);
    const good = path.join(dir, 'good.safetensors');
    await writeSafetensors(good, { w: Tensor.zeros([16]) });
    const bytes = fs.readFileSync(good);
    fs.writeFileSync(bad, bytes.subarray(0, bytes.length - 3));
    await expect(readSafetensors(bad)).rejects.toThrow('past the data area');
    await expect(writeSafetensors(path.join(dir, 'no', 'dir.safetensors'), { w: Tensor.zeros([1]) }))
      .rejects.toThrow(IOError);
    await expect(writeSafetensors(good, { w: Tensor.zeros([1]) }, { step: 3 as never }))
      .rejects.toThrow(InvalidArgumentError);
    await expect(readSafetensors('' as never)).rejects.toThrow('path must be a non-empty string');
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
