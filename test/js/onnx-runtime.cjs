// Runs an ONNX file in onnxruntime-node on the CPU, in a process of its own:
// jest's sandbox has its own Float32Array, which onnxruntime-common rejects
// for the arrays its addon makes (onnx.test.ts calls this instead).
//   node onnx-runtime.cjs MODEL.onnx IMAGES.f32 '[B,C,H,W]' LOGITS.f32 [TIMED_RUNS]
// writes the logits as raw float32 and prints {"dims": [...], "ms": median run time}.
const fs = require('node:fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, dimsJson, output, runs = '0'] = process.argv.slice(2);
  const bytes = fs.readFileSync(input);
  const images = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const session = await ort.InferenceSession.create(model);
  const feeds = { images: new ort.Tensor('float32', images, JSON.parse(dimsJson)) };
  let result = await session.run(feeds);
  const times = [];
  for (let i = 0; i < Number(runs); i++) {
    const start = performance.now();
    result = await session.run(feeds);
    times.push(performance.now() - start);
  }
  const logits = result.logits;
  fs.writeFileSync(output, Buffer.from(logits.data.buffer, logits.data.byteOffset, logits.data.byteLength));
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ dims: logits.dims, ms: times.length ? times[times.length >> 1] : null }));
  await session.release();
}

main().catch((error) => {
  console.error(error.message);
  process.exitCode = 1;
});
