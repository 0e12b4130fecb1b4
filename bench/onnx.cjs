// bench/onnx: the forward pass of our CPU backend against onnxruntime-node's
// CPU run of the same model exported to ONNX (DMDLKNet.exportOnnx), in one
// process, same input, same thread count, for the default model and the three
// kinds of configuration onnx.test.ts checks, at 448² and batch 1.
//   node bench/onnx.cjs [runs]        (build first: npm run build)
// Prints a table (ratio = onnxruntime time / ours; above 1, ours is faster)
// and writes bench/results/onnx-cpu.json.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ort = require('onnxruntime-node');

const { DMDLKNet, info, Tensor } = require('../dist/lib');

const runs = Number(process.argv[2] ?? 5);
const threads = info().cpu.threads;
const small = { stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };
const configs = {
  'default (paper)': {},
  'tiny, default blocks': small,
  'tiny, windowed attention': { ...small, blocks: ['moat', 'moat', 'moat', 'moat'], windows: [14, 14, 14, 14], widths: [8, 16, 16, 16] },
  'tiny, light offsets, 7×7 selection, 3 classes': { ...small, offsets: 'light', selectKernel: 7, numClasses: 3 },
};

async function median(run) {
  await run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-bench-onnx-'));
  const rows = [];
  for (const [name, config] of Object.entries(configs)) {
    const model = await DMDLKNet.create({ ...config, inputSize: 448 }, { device: 'cpu', seed: 1 });
    const file = path.join(dir, 'model.onnx');
    await model.exportOnnx(file, { batch: 1 });
    const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const pixels = Float32Array.from({ length: 3 * 448 * 448 }, (_, i) => (i % 251) / 125.5 - 1);  // as forward takes pixels
    const images = Tensor.from(pixels, [1, 3, 448, 448]);
    const feeds = { images: new ort.Tensor('float32', pixels, [1, 3, 448, 448]) };
    const oursMs = await median(async () => (await model.forward(images)).dispose());
    const ortMs = await median(() => session.run(feeds));
    rows.push({ model: name, oursMs, onnxruntimeMs: ortMs, ratio: ortMs / oursMs });
    console.log(`${name.padEnd(48)} ours ${oursMs.toFixed(1).padStart(7)} ms   onnxruntime-node ${ortMs.toFixed(1).padStart(7)} ms   ratio ${(ortMs / oursMs).toFixed(2)}`);
    await session.release();
    model.dispose();
    images.dispose();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const result = { date: new Date().toISOString(), cpu: os.cpus()[0].model, threads, runs, onnxruntime: ort.env.versions.node, input: [1, 3, 448, 448], rows };
  const out = path.join(__dirname, 'results', 'onnx-cpu.json');
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`${threads} threads each, median of ${runs} runs after one warm-up; wrote ${path.relative(process.cwd(), out)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
