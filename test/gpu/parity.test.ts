// CUDA against the CPU: every op, forward and backward, on the same random
// inputs. Run with `npm run test:gpu`; it uses node's own test runner so that
// it runs on a machine with nothing but Node, the addon and dist/ (the lent
// GPU machine: see test/gpu/device-run.sh). Without a GPU every test is
// skipped with the reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { info, ops, setFloat32MatmulPrecision, Tensor } from '../../lib';

const cuda = info().cuda;
const skip = cuda.available ? false : `skipped: no GPU (${cuda.reason})`;
if (skip) console.log(skip);
// The suites compare float32 with float32; the tensor-core test sets its own precision.
setFloat32MatmulPrecision('highest');

let seed = 12345;
function random(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    data[i] = seed / 1073741824 - 1;
  }
  return Tensor.from(data, shape);
}

/**
 * Runs `op` on CPU tensors, on their CUDA copies and, as the truth, on float64
 * copies on the CPU. The GPU's float32 must be as close to the float64 result
 * as the CPU's float32 is, within 4× (the two sum in different orders), or
 * within 1e-5 + 1e-5·|x| of it: the tolerance comes from the float64 error,
 * not from a guess (a convolution's input gradient at 1×32×28×28 missed a
 * fixed 1e-4 by 1.9× on the H200 with both backends equally far from float64).
 */
async function parity(
  label: string, inputs: Tensor[], op: (...t: Tensor[]) => Promise<Tensor | object>,
): Promise<void> {
  const onGpu = await Promise.all(inputs.map((t) => t.toDevice('cuda')));
  const wide = inputs.map((t) => Tensor.from(Float64Array.from(t.toArray()), t.shape));
  const asRecord = (o: Tensor | object) => (o instanceof Tensor ? { y: o } : o) as Record<string, Tensor | undefined>;
  const c = asRecord(await op(...inputs)), g = asRecord(await op(...onGpu)), truth = asRecord(await op(...wide));
  assert.deepEqual(Object.keys(g).sort(), Object.keys(c).sort(), `${label}: outputs`);
  for (const key of Object.keys(c)) {
    const cpu = c[key]!.toArray(), gpu = await g[key]!.data(), exact = truth[key]!.toArray();
    assert.equal(g[key]!.device, 'cuda:0');
    const error = (values: ArrayLike<number>) => {
      let worst = 0;
      for (let i = 0; i < exact.length; i++) {
        worst = Math.max(worst, Math.abs(values[i] - exact[i]) / (1e-5 + 1e-5 * Math.abs(exact[i])));
      }
      return worst;
    };
    const cpuError = error(cpu), gpuError = error(gpu);
    assert.ok(gpuError <= Math.max(1, 4 * cpuError),
      `${label}: ${key} is ${gpuError.toFixed(2)}x (1e-5 + 1e-5·|x|) from float64, the CPU's float32 ${cpuError.toFixed(2)}x`);
  }
}

test('add and mul, with broadcasting', { skip }, async () => {
  for (const [sa, sb] of [[[2, 3, 5, 7], [3, 1, 1]], [[4, 1, 6], [5, 1]], [[64, 56, 56], [64, 56, 56]]]) {
    const a = random(sa), b = random(sb);
    await parity('add', [a, b], ops.add);
    await parity('mul', [a, b], ops.mul);
    const dy = await ops.add(a, b);
    await parity('addBackward', [dy, a, b], ops.addBackward);
    await parity('mulBackward', [dy, a, b], ops.mulBackward);
  }
});

test('matmul and linear', { skip }, async () => {
  for (const [sa, sb] of [[[5, 7], [7, 3]], [[3, 70, 90], [3, 90, 65]], [[2, 3, 13, 17], [17, 11]], [[512, 512], [512, 512]]]) {
    const a = random(sa), b = random(sb);
    await parity('matmul', [a, b], ops.matmul);
    const dy = await ops.matmul(a, b);
    await parity('matmulBackward', [dy, a, b], ops.matmulBackward);
  }
  const x = random([4, 196, 128]), w = random([384, 128]), bias = random([384]);
  await parity('linear', [x, w, bias], (x, w, b) => ops.linear(x, w, b));
  const dy = random([4, 196, 384]);
  await parity('linearBackward', [dy, x, w], (dy, x, w) => ops.linearBackward(dy, x, w, true));
});

test('setFloat32MatmulPrecision moves float products onto TF32 and BF16 tensor cores', { skip }, async () => {
  const tensorCores = Number(cuda.devices[0]?.computeCapability.split('.')[0]) >= 8;
  // 1 + 2^-12 has no TF32 or BF16 form (it rounds to 1): the product shows which units ran it.
  const justAboveOne = Math.fround(1 + 2 ** -12);
  const a = await Tensor.from(new Float32Array([justAboveOne]), [1, 1]).toDevice('cuda');
  const one = await Tensor.from(new Float32Array([1]), [1, 1]).toDevice('cuda');
  const product = async () => (await (await ops.matmul(a, one)).data())[0];
  try {
    for (const precision of ['high', 'medium'] as const) {
      setFloat32MatmulPrecision(precision);
      assert.equal(await product(), tensorCores ? 1 : justAboveOne, precision);
    }
  } finally {
    setFloat32MatmulPrecision('highest');
  }
  assert.equal(await product(), justAboveOne, 'highest');
});

test('conv2d in every form the network uses', { skip }, async () => {
  const cases: [number[], number[], { stride?: number; padding?: number; dilation?: number; groups?: number }][] = [
    [[2, 3, 64, 64], [32, 3, 3, 3], { stride: 2, padding: 1 }],
    [[2, 32, 32, 32], [128, 32, 1, 1], {}],
    [[2, 128, 32, 32], [128, 1, 3, 3], { stride: 2, padding: 1, groups: 128 }],
    [[1, 32, 28, 28], [98, 32, 7, 7], { padding: 9, dilation: 3 }],
    [[2, 16, 29, 31], [50, 16, 5, 5], { padding: 2 }],
    [[2, 2, 56, 56], [2, 2, 7, 7], { padding: 3 }],
  ];
  for (const [sx, sw, options] of cases) {
    const x = random(sx), w = random(sw), b = random([sw[0]]);
    await parity(`conv2d ${sx}`, [x, w, b], (x, w, b) => ops.conv2d(x, w, b, options));
    const dy = await ops.conv2d(x, w, b, options);
    await parity(`conv2dBackward ${sx}`, [dy, x, w], (dy, x, w) => ops.conv2dBackward(dy, x, w, true, options));
  }
  // A residual added in the product's epilogue (MBConv's projection), and after the depthwise kernel.
  const residuals: [number[], number[], { padding?: number; groups?: number }][] = [
    [[2, 128, 32, 32], [32, 128, 1, 1], {}],
    [[2, 32, 16, 16], [32, 1, 3, 3], { padding: 1, groups: 32 }],
  ];
  for (const [sx, sw, options] of residuals) {
    const x = random(sx), w = random(sw), b = random([sw[0]]), r = random([sx[0], sw[0], sx[2], sx[3]]);
    await parity(`conv2d ${sx} + residual`, [x, w, b, r], (x, w, b, r) => ops.conv2d(x, w, b, options, r));
  }
});

test('device errors are typed', { skip }, async () => {
  const onGpu = await random([4]).toDevice('cuda');
  await assert.rejects(ops.add(onGpu, random([4])), { code: 'ERR_DEVICE' });
  await assert.rejects(random([1]).toDevice('cuda:99'), { code: 'ERR_DEVICE' });
});
