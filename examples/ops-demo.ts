// What the foundation can do today, end to end from TypeScript: report the
// machine, then run DMDLK-Net's stem convolution forward and backward on a
// batch of 448×448 images, off the event loop, on the CPU (and on the GPU
// when one is present, checking that both agree).
//
//   npm run demo
import { info, ops, Tensor } from '../lib';

function randomImages(shape: number[]): Tensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 12.9898) * 0.5;
  return Tensor.from(data, shape);
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  const result = await work();
  console.log(`  ${label.padEnd(42)} ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1).padStart(8)} ms`);
  return result;
}

async function main(): Promise<void> {
  const i = info();
  console.log(`dmdlk-native ${i.version} (${i.binary})`);
  console.log(`CPU: ${i.cpu.threads} threads, kernels at ${i.cpu.simd}`);
  console.log(i.cuda.available
    ? `CUDA: ${i.cuda.devices.map((d) => `${d.name} (sm_${d.computeCapability.replace('.', '')})`).join(', ')}`
    : `CUDA: unavailable (${i.cuda.reason})`);

  const images = randomImages([4, 3, 448, 448]);
  const weight = randomImages([32, 3, 3, 3]);
  const bias = randomImages([32]);
  const stem = { stride: 2, padding: 1 };
  const devices = i.cuda.available ? ['cpu', 'cuda'] as const : ['cpu'] as const;
  const outputs: Float32Array[] = [];
  for (const device of devices) {
    console.log(`\nstem conv 3→32, 3×3 stride 2, batch 4 at 448×448 on ${device}:`);
    const [x, w, b] = await Promise.all([images, weight, bias].map((t) => t.toDevice(device)));
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 1);
    const y = await timed('forward', () => ops.conv2d(x, w, b, stem));
    const grads = await timed('backward (dx, dweight, dbias)', () => ops.conv2dBackward(y, x, w, true, stem));
    clearInterval(timer);
    console.log(`  output ${y.shape.join('×')}, dweight ${grads.dweight.shape.join('×')}; ` +
      `the event loop ran ${ticks} timer callbacks meanwhile`);
    outputs.push((await y.data()) as Float32Array);
  }
  if (outputs.length === 2) {
    let worst = 0;
    for (let k = 0; k < outputs[0].length; k++) worst = Math.max(worst, Math.abs(outputs[0][k] - outputs[1][k]));
    console.log(`\nCPU and CUDA outputs differ by at most ${worst.toExponential(2)}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
