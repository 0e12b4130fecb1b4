// The main job until the training issue brings `fit` and real datasets: train
// a small DMDLK-Net on synthetic dermoscopy-like images (elliptical lesions of
// varied size and colour on skin tones, with noise), then measure Dice and
// pixel accuracy on held-out images. Runs on the GPU when there is one.
//
//   npm run demo
import { DMDLKNet, info, Tensor } from '../lib';

const SIDE = 64;

// A seeded generator, so every run sees the same data.
let seed = 20261128;
function random(): number {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 4294967296;
}

/** `count` images [count, 3, SIDE, SIDE] in [-1, 1] and their masks [count, SIDE, SIDE]. */
function lesions(count: number): { images: Tensor; masks: Tensor } {
  const pixels = new Float32Array(count * 3 * SIDE * SIDE);
  const labels = new Int32Array(count * SIDE * SIDE);
  for (let n = 0; n < count; n++) {
    const skin = [0.55 + 0.3 * random(), 0.35 + 0.25 * random(), 0.25 + 0.2 * random()];
    const lesion = [0.15 + 0.3 * random(), 0.08 + 0.2 * random(), 0.05 + 0.15 * random()];
    const cy = SIDE * (0.3 + 0.4 * random()), cx = SIDE * (0.3 + 0.4 * random());
    const ry = SIDE * (0.1 + 0.15 * random()), rx = SIDE * (0.1 + 0.15 * random()), angle = Math.PI * random();
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const dy = y - cy, dx = x - cx;
        const u = (dx * Math.cos(angle) + dy * Math.sin(angle)) / rx, v = (dy * Math.cos(angle) - dx * Math.sin(angle)) / ry;
        const inside = u * u + v * v < 1;
        labels[(n * SIDE + y) * SIDE + x] = inside ? 1 : 0;
        for (let c = 0; c < 3; c++) {
          const base = inside ? lesion[c] : skin[c];
          pixels[((n * 3 + c) * SIDE + y) * SIDE + x] = 2 * (base + 0.08 * (random() - 0.5)) - 1;
        }
      }
    }
  }
  return {
    images: Tensor.from(pixels, [count, 3, SIDE, SIDE]),
    masks: Tensor.from(labels, [count, SIDE, SIDE]),
  };
}

async function main(): Promise<void> {
  const i = info();
  const device = i.cuda.available ? 'cuda' : 'cpu';
  console.log(`dmdlk-native ${i.version}; CPU: ${i.cpu.threads} threads (${i.cpu.simd}); ` +
    (i.cuda.available ? `GPU: ${i.cuda.devices[0].name}` : `no GPU (${i.cuda.reason})`));

  const model = await DMDLKNet.create(
    { inputSize: SIDE, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 }, { device, seed: 1 });
  const { total } = await model.summary();
  console.log(`model: ${total.parameters} parameters, ${(total.macs / 1e6).toFixed(0)} MMAC per image, on ${device}`);

  const started = Date.now();
  const steps = 80;
  for (let step = 1; step <= steps; step++) {
    const batch = lesions(4);
    const images = await batch.images.toDevice(device), masks = await batch.masks.toDevice(device);
    const { loss } = await model.trainStep(images, masks, { lr: 3e-3 });
    if (step % 10 === 0) console.log(`step ${String(step).padStart(3)}  loss ${loss.toFixed(4)}`);
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`${steps} steps in ${seconds.toFixed(1)} s (${((steps * 4) / seconds).toFixed(1)} images/s)`);

  // Held-out images: predict by argmax over the two classes, then Dice and pixel accuracy.
  const test = lesions(16);
  const logits = (await (await model.forward(await test.images.toDevice(device))).data()) as Float32Array;
  const truth = test.masks.toArray();
  let tp = 0, fp = 0, fn = 0, correct = 0;
  const plane = SIDE * SIDE;
  for (let n = 0; n < 16; n++) {
    for (let p = 0; p < plane; p++) {
      const predicted = logits[(n * 2 + 1) * plane + p] > logits[n * 2 * plane + p] ? 1 : 0;
      const actual = truth[n * plane + p];
      if (predicted && actual) tp++;
      else if (predicted) fp++;
      else if (actual) fn++;
      if (predicted === actual) correct++;
    }
  }
  console.log(`held-out: Dice ${((2 * tp) / (2 * tp + fp + fn)).toFixed(3)}, pixel accuracy ${(correct / (16 * plane)).toFixed(3)}`);
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
