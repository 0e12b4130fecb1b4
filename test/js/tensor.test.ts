import { DisposedError, info, InvalidArgumentError, NoGpuError, ShapeError, Tensor } from '../../lib';

describe('Tensor', () => {
  it('round-trips every dtype through typed arrays', () => {
    const cases = [
      new Float32Array([1.5, -2, 3]), new Float64Array([1e-300, 2, 3]),
      new Uint8Array([0, 255, 7]), new Int32Array([-5, 0, 2147483647]),
    ];
    for (const data of cases) {
      const t = Tensor.from(data, [3, 1]);
      expect(t.toArray()).toEqual(data);
      expect(t.toArray()).not.toBe(data);  // a copy: the tensor owns its memory
      expect(t.shape).toEqual([3, 1]);
      expect(t.device).toBe('cpu');
      expect(t.size).toBe(3);
    }
  });

  it('converts plain arrays to the requested dtype', () => {
    expect(Tensor.from([1, 2, 3, 4], [2, 2]).dtype).toBe('float32');
    const t = Tensor.from([1, 2.7], [2], { dtype: 'int32' });
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.toArray())).toEqual([1, 2]);
    expect(Tensor.zeros([2, 3], { dtype: 'float64' }).toArray()).toEqual(new Float64Array(6));
    expect(Tensor.from([5], []).shape).toEqual([]);
  });

  it('copies data off the event loop with data()', async () => {
    const t = Tensor.from(new Float32Array([1, 2, 3, 4]), [4]);
    expect(await t.data()).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(await t.toDevice('cpu')).toBeInstanceOf(Tensor);
  });

  it('rejects bad arguments with typed errors naming them', () => {
    expect(() => Tensor.from(new Float32Array(5), [2, 3])).toThrow(ShapeError);
    expect(() => Tensor.from(new Float32Array(5), [2, 3])).toThrow('shape [2, 3] needs 6 elements but data has 5');
    expect(() => Tensor.from(new Float32Array(4), [2, -2])).toThrow('shape[1] must be an integer');
    expect(() => Tensor.from(new Float32Array(4), [2, 2.5])).toThrow(InvalidArgumentError);
    expect(() => Tensor.from(new Int16Array(4) as never, [4])).toThrow('data must be a Float32Array');
    expect(() => Tensor.from([1, 'x'] as never, [2])).toThrow('data[1] must be a number');
    expect(() => Tensor.from(new Float32Array(4), [4], { dtype: 'float64' })).toThrow("data is a float32 array");
    expect(() => Tensor.from([1], [1], { dtype: 'float16' as never })).toThrow('options.dtype must be one of');
    expect(() => Tensor.from([1], [1], { device: 'gpu' as never })).toThrow("options.device must be 'auto', 'cpu', 'cuda' or 'cuda:N'");
    expect(() => Tensor.from([1], [1], { devise: 'cpu' } as never)).toThrow("unknown option 'devise'");
    expect(() => Tensor.from([1], 7 as never)).toThrow('shape must be an array');
  });

  it('fails cleanly after dispose()', async () => {
    const t = Tensor.from([1, 2], [2]);
    t.dispose();
    t.dispose();  // twice is fine
    expect(t.disposed).toBe(true);
    expect(() => t.toArray()).toThrow(DisposedError);
    expect(() => t.shape).toThrow('the tensor was disposed');
    await expect(t.data()).rejects.toThrow(DisposedError);
    expect(String(t)).toBe('Tensor(disposed)');
  });

  it('is freed by the garbage collector when not disposed', async () => {
    // 2000 × 4 MB = 8 GB of native memory in total, every page written (zeros):
    // kept, the process would grow by 8 GB; collected, by a few hundred MB.
    // Node runs an addon's finalizers on the event loop, after the collection
    // (a loop that never yields frees nothing until it does, as it grew to
    // 8.6 GB here): this one yields as every loop of async calls does.
    const before = process.memoryUsage().rss;
    let peak = before;
    for (let i = 0; i < 2000; i++) {
      Tensor.zeros([1024, 1024]);
      if (i % 100 === 99) {
        peak = Math.max(peak, process.memoryUsage().rss);
        await new Promise(setImmediate);
      }
    }
    console.log(`RSS ${(before / 1e6).toFixed(0)} MB, at most ${(peak / 1e6).toFixed(0)} MB while 8 GB were allocated`);
    expect(peak - before).toBeLessThan(2e9);
  });

  const cuda = info().cuda;
  if (cuda.available) {
    it('moves to the GPU and back', async () => {
      const t = Tensor.from([1, 2, 3], [3]);
      const g = await t.toDevice('cuda');
      expect(g.device).toBe('cuda:0');
      expect(await g.data()).toEqual(new Float32Array([1, 2, 3]));
    });
  } else {
    it('says why there is no GPU when one is asked for', async () => {
      const t = Tensor.from([1, 2, 3], [3]);
      await expect(t.toDevice('cuda')).rejects.toThrow(NoGpuError);
      await expect(t.toDevice('cuda')).rejects.toThrow(cuda.reason!);
      expect(() => Tensor.from([1], [1], { device: 'cuda' })).toThrow(NoGpuError);
    });
  }
});
