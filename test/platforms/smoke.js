// The checks a platform's binary must pass where it runs (under QEMU or Wine
// here), printed as one JSON line for test/platforms/*.sh to compare with the
// Linux x64 build's: the addon loads and says what it is; a seeded model's
// logits; a short fit writing a checkpoint, reloaded and resumed; predict on
// a JPEG (decoded by sharp's binary for the platform); a typed error from a
// bad call.
//   node test/platforms/smoke.js <package dir> <scratch dir> <jpeg>
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const d = require(path.resolve(process.argv[2], 'dist', 'lib'));
const [scratch, jpeg] = process.argv.slice(3);

(async () => {
  const info = d.info();
  const tiny = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };
  const model = await d.DMDLKNet.create(tiny, { device: 'cpu', seed: 1 });
  const images = d.Tensor.from(Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i / 7)), [2, 3, 32, 32]);
  const logits = Array.from((await model.forward(images)).toArray());
  const data = d.syntheticLesions({ count: 8, size: 32, seed: 2 });
  fs.rmSync(scratch, { recursive: true, force: true });
  const checkpoint = { dir: path.join(scratch, 'checkpoints') };
  const first = await model.fit(data, { epochs: 1, batchSize: 4, checkpoint });
  const saved = path.join(scratch, 'model.safetensors');
  await model.save(saved);
  const trained = Array.from((await model.forward(images)).toArray());
  const reloaded = await d.DMDLKNet.load(saved, { device: 'cpu' });
  const same = Array.from((await reloaded.forward(images)).toArray());
  const resumed = await reloaded.fit(data, { epochs: 2, batchSize: 4, checkpoint, resume: first.checkpoint });
  const prediction = await reloaded.predict(jpeg, { probabilities: true });
  const lesion = prediction.mask.reduce((n, v) => n + v, 0);
  let error = null;
  try {
    await model.forward(d.Tensor.from(new Float32Array(4), [1, 1, 2, 2]));
  } catch (e) {
    error = { name: e.name, code: e.code };
  }
  console.log(JSON.stringify({
    arch: process.arch, platform: process.platform, simd: info.cpu.simd, cuda: info.cuda.compiled,
    logits, reloadedSame: same.length === trained.length && same.every((v, i) => v === trained[i]),
    firstLoss: first.epochs[0].loss, resumedEpochs: resumed.epochs.length, resumedLoss: resumed.epochs[1].loss,
    predicted: { width: prediction.width, height: prediction.height, lesion, probabilities: Array.from(prediction.probabilities) },
    error,
  }));
})().catch((e) => {
  console.error(`FAILED: ${e.stack}`);
  process.exit(1);
});
