// A training loop of your own, for research: lossAndGradients gives the loss
// and every parameter's gradient by name; here plain SGD with momentum and
// gradient clipping, written in TypeScript, updates the weights through
// setParameters. The same gradients can be saved for Python with writeSafetensors.
//
//   npx ts-node examples/custom-loop.ts [STEPS]
import { DMDLKNet, syntheticLesions, Tensor } from 'dmdlk-native';

async function main(): Promise<void> {
  const steps = Number(process.argv[2] ?? 30);
  const data = syntheticLesions({ count: 64, size: 32, seed: 3 });
  const model = await DMDLKNet.create({ inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 }, { seed: 1 });
  const velocity = new Map<string, Float32Array>();
  const lr = 0.05, momentum = 0.9, maxNorm = 5;
  for (let step = 0; step < steps; step++) {
    const indices = Array.from({ length: 8 }, (_, i) => (step * 8 + i) % data.length);
    // The network's input: NCHW float32 in [−1, 1]; masks: int32 class indices.
    const s = data.inputSize, px = s * s;
    const pixels = new Float32Array(indices.length * 3 * px), labels = new Int32Array(indices.length * px);
    indices.forEach((index, n) => {
      for (let i = 0; i < px; i++) {
        for (let c = 0; c < 3; c++) pixels[(n * 3 + c) * px + i] = (2 * data.images[(index * px + i) * 3 + c]) / 255 - 1;
        labels[n * px + i] = data.masks[index * px + i];
      }
    });
    const { loss, gradients } = await model.lossAndGradients(Tensor.from(pixels, [indices.length, 3, s, s]),
      Tensor.from(labels, [indices.length, s, s]));
    const grads = new Map([...gradients].map(([name, g]) => [name, g.toArray() as Float32Array]));
    const norm = Math.sqrt([...grads.values()].reduce((sum, g) => sum + g.reduce((a, v) => a + v * v, 0), 0));
    const scale = norm > maxNorm ? maxNorm / norm : 1;
    const params = await model.parameters();
    const updated = new Map<string, Tensor>();
    for (const [name, g] of grads) {
      const param = params.get(name);
      if (param === undefined) throw new Error(`the model has no parameter '${name}'`);
      const p = param.toArray() as Float32Array;
      const v = velocity.get(name) ?? new Float32Array(p.length);
      for (let i = 0; i < p.length; i++) {
        v[i] = momentum * v[i] + scale * g[i];
        p[i] -= lr * v[i];
      }
      velocity.set(name, v);
      updated.set(name, Tensor.from(p, param.shape));
    }
    await model.setParameters(updated);
    if (step % 10 === 0 || step === steps - 1) console.log(`step ${step}: loss ${loss.toFixed(4)}, gradient norm ${norm.toFixed(3)}`);
  }
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
