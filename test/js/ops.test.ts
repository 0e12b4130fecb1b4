import {
  DisposedError, DTypeError, InvalidArgumentError, ops, ShapeError, Tensor,
} from '../../lib';
import { expectLoopFree, scaleToDuration, watchEventLoop } from './event-loop';
import { closeness, type FixtureCase, loadFixtures } from './helpers';

type Outputs = { y: Tensor; grads: Record<string, Tensor | undefined> };

/** Gradients by the names of the fixture file: "grad.<input>". */
function named(grads: Record<string, Tensor | undefined>): Record<string, Tensor | undefined> {
  return Object.fromEntries(Object.entries(grads).map(([k, v]) => [`grad.${k.slice(1)}`, v]));
}

// The ops the JavaScript API exposes one by one (the rest run inside models),
// through it, on their cases of test/op_cases.json.
const exposed = ['add', 'mul', 'matmul', 'linear', 'conv2d'];

async function run(c: FixtureCase): Promise<Outputs> {
  const t = (name: string) => c.tensors.get(name)!;
  const dy = t('dy');
  const attrs = (c.options.attrs ?? {}) as Record<string, unknown>;
  switch (c.options.op) {
    case 'add': return { y: await ops.add(t('a'), t('b')), grads: named({ ...await ops.addBackward(dy, t('a'), t('b')) }) };
    case 'mul': return { y: await ops.mul(t('a'), t('b')), grads: named({ ...await ops.mulBackward(dy, t('a'), t('b')) }) };
    case 'matmul':
      return { y: await ops.matmul(t('a'), t('b')), grads: named({ ...await ops.matmulBackward(dy, t('a'), t('b')) }) };
    case 'linear': {
      const bias = c.tensors.get('bias') ?? null;
      return { y: await ops.linear(t('x'), t('weight'), bias),
        grads: named({ ...await ops.linearBackward(dy, t('x'), t('weight'), bias !== null) }) };
    }
    case 'conv2d': {
      const bias = c.tensors.get('bias') ?? null;
      const opts = { stride: attrs.stride as [number, number], padding: attrs.padding as [number, number],
        dilation: attrs.dilation as [number, number], groups: attrs.groups as number };
      const residual = c.tensors.get('residual') ?? null;
      const grads = named({ ...await ops.conv2dBackward(dy, t('x'), t('weight'), bias !== null, opts) });
      if (residual !== null) grads['grad.residual'] = dy;  // the residual's gradient is dy itself
      return { y: await ops.conv2d(t('x'), t('weight'), bias, opts, residual), grads };
    }
    default: throw new Error(`unknown op ${c.options.op}`);
  }
}

describe('ops against PyTorch', () => {
  let cases: FixtureCase[] = [];
  beforeAll(async () => {
    cases = (await loadFixtures('op_cases.safetensors')).filter((c) => exposed.includes(c.options.op));
  });

  it('has fixtures for every op the API exposes', () => {
    const kinds = new Set(cases.map((c) => c.options.op));
    expect([...kinds].sort()).toEqual([...exposed].sort());
  });

  it('matches forward and backward for every case', async () => {
    for (const c of cases) {
      const { y, grads } = await run(c);
      expect({ case: c.name, y: y.shape }).toEqual({ case: c.name, y: c.tensors.get('y')!.shape });
      expect({ case: c.name, closeness: closeness(y.toArray(), c.tensors.get('y')!.toArray()) <= 1 })
        .toEqual({ case: c.name, closeness: true });
      for (const [name, grad] of Object.entries(grads)) {
        if (grad === undefined) continue;
        const expected = c.tensors.get(name)!;
        expect({ case: c.name, grad: name, ok: closeness(grad.toArray(), expected.toArray()) <= 1 })
          .toEqual({ case: c.name, grad: name, ok: true });
      }
    }
  });
});

describe('ops reject bad arguments with a DmdlkError naming the operand', () => {
  const x = Tensor.zeros([2, 3, 8, 8]);
  const w = Tensor.zeros([4, 3, 3, 3]);
  const table: [string, () => Promise<unknown>, new (m: string) => Error, string][] = [
    ['weight of wrong rank', () => ops.conv2d(x, Tensor.zeros([4, 3, 3])), ShapeError,
      'conv2d: weight must have rank 4 ([Cout, Cin/groups, kh, kw]), got shape [4, 3, 3]'],
    ['weight of wrong Cin', () => ops.conv2d(x, Tensor.zeros([4, 2, 3, 3])), ShapeError,
      'weight must have shape [4, 3, kh, kw] for x [2, 3, 8, 8] and groups = 1, got [4, 2, 3, 3]'],
    ['bias of wrong size', () => ops.conv2d(x, w, Tensor.zeros([3])), ShapeError, 'bias must have shape [4], got [3]'],
    ['mixed dtypes', () => ops.conv2d(x, Tensor.zeros([4, 3, 3, 3], { dtype: 'float64' })), DTypeError,
      'weight is float64 but x is float32'],
    ['integer input', () => ops.add(Tensor.zeros([2], { dtype: 'int32' }), Tensor.zeros([2], { dtype: 'int32' })),
      DTypeError, 'a must be float32 or float64, got int32'],
    ['shapes that do not broadcast', () => ops.mul(Tensor.zeros([2, 3]), Tensor.zeros([2])), ShapeError,
      'shapes [2, 3] (a) and [2] (b) do not broadcast'],
    ['matmul inner sizes', () => ops.matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 2])), ShapeError,
      'a [2, 3] has K = 3 but b [4, 2] has K = 4'],
    ['linear weight', () => ops.linear(Tensor.zeros([5, 3]), Tensor.zeros([2, 4])), ShapeError,
      'weight must have shape [out, 3]'],
    ['dy of the wrong shape', () => ops.conv2dBackward(Tensor.zeros([2, 4, 7, 7]), x, w, false), ShapeError,
      'dy must have shape [2, 4, 6, 6], got [2, 4, 7, 7]'],
    ['not a tensor', () => ops.add(x, [1, 2] as never), InvalidArgumentError, 'b must be a Tensor, got an array'],
    ['missing operand', () => ops.conv2d(undefined as never, w), InvalidArgumentError, 'x must be a Tensor'],
    ['stride 0', () => ops.conv2d(x, w, null, { stride: 0 }), InvalidArgumentError, "conv2d: attribute 'stride' must be in [1, 1048576], got 0"],
    ['negative padding', () => ops.conv2d(x, w, null, { padding: [1, -1] }), InvalidArgumentError, "conv2d: attribute 'padding' must be in [0, 1048576], got -1"],
    ['groups not dividing', () => ops.conv2d(x, w, null, { groups: 2 }), ShapeError, 'groups = 2 must divide'],
    ['unknown option', () => ops.conv2d(x, w, null, { pad: 1 } as never), InvalidArgumentError, "conv2d has no attribute 'pad'"],
    ['NaN stride', () => ops.conv2d(x, w, null, { stride: [1, NaN] }), InvalidArgumentError, "conv2d: attribute 'stride' must be a finite number, got NaN"],
    ['hasBias not boolean', () => ops.linearBackward(x, x, w, 1 as never), InvalidArgumentError, 'hasBias must be a boolean'],
    ['kernel larger than input', () => ops.conv2d(Tensor.zeros([1, 3, 2, 2]), w), ShapeError, 'larger than the padded input'],
  ];
  it.each(table)('%s', async (_label, call, type, message) => {
    const promise = call();
    expect(promise).toBeInstanceOf(Promise);  // never a synchronous throw
    await expect(promise).rejects.toThrow(type);
    await expect(call()).rejects.toThrow(message);
  });

  it('rejects a disposed operand', async () => {
    const gone = Tensor.zeros([2]);
    gone.dispose();
    await expect(ops.add(gone, gone)).rejects.toThrow(DisposedError);
    await expect(ops.add(gone, gone)).rejects.toThrow('a was disposed');
  });
});

describe('ops run off the event loop', () => {
  it('tells a blocked event loop from a free one', async () => {
    const blocked = await watchEventLoop(async () => {
      const until = performance.now() + 200;
      while (performance.now() < until);  // synchronous work: no timer can fire
    });
    expect(() => expectLoopFree(blocked)).toThrow();
  });

  it('keeps timers ticking during a long convolution', async () => {
    const w = Tensor.zeros([64, 32, 3, 3]);
    const convolve = async (x: Tensor): Promise<void> => {
      const y = await ops.conv2d(x, w, null, { padding: 1 });
      expect(y.shape).toEqual([x.shape[0], 64, 112, 112]);
      y.dispose();
    };
    const input = (batch: number): Tensor => Tensor.zeros([batch, 32, 112, 112]);
    const x = input(await scaleToDuration((batch) => convolve(input(batch)), 300));
    expectLoopFree(await watchEventLoop(() => convolve(x)));
  });

  it('resolves many concurrent calls in order, each correctly', async () => {
    const a = Tensor.from([1, 2, 3], [3]);
    const calls = Array.from({ length: 200 }, (_, i) => ops.mul(a, Tensor.from([i], [1])));
    const results = await Promise.all(calls);
    results.forEach((r, i) => {
      expect(Array.from(r.toArray())).toEqual([i, 2 * i, 3 * i]);
    });
  });
});
