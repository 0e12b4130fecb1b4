// ONNX export, checked by running the files in onnxruntime-node (CPU) against
// our forward pass on the same input, and against PyTorch's logits where the
// model comes from the PyTorch fixtures (test/reference/gen_model.py). Inputs
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import { DMDLKNet, InvalidArgumentError, type ModelConfig, readSafetensors, Tensor, UnsupportedError } from '../../lib';
import { binding } from '../../lib/binding';
import { onnxModel } from '../../lib/onnx/export';
import { converters, type InferenceGraph, ONNX_ACTIVATIONS, ONNX_LAYER_NORM_AXES, WITHOUT_ONNX_FORM } from '../../lib/onnx/ops';
import { expectLoopFree, watchEventLoop } from './event-loop';
import { closeness, fixtureDir } from './helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-onnx-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let seed = 99;
function noise(n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return (seed / 1073741824 - 1) * scale;
  });
}

/** A model whose every path carries signal: offsets, attention biases and BatchNorm statistics are zero or one at creation. */
async function withSignal(config: ModelConfig): Promise<DMDLKNet> {
  const model = await DMDLKNet.create(config, { device: 'cpu', seed: 5 });
  const changed = new Map<string, Tensor>();
  for (const [name, t] of await model.parameters()) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (/offset|rel_pos/.test(name)) changed.set(name, Tensor.from(noise(n, 0.3), t.shape));
    else if (name.endsWith('running_mean')) changed.set(name, Tensor.from(noise(n, 0.2), t.shape));
    else if (name.endsWith('running_var')) changed.set(name, Tensor.from(noise(n, 0.5).map((v) => 1 + v), t.shape));
  }
  await model.setParameters(changed);
  return model;
}

async function fromFixture(name: string): Promise<{ model: DMDLKNet; images: Tensor; pytorch: Tensor }> {
  const fixture = await readSafetensors(path.join(fixtureDir, `model_${name}.safetensors`));
  const model = await DMDLKNet.create(JSON.parse(fixture.metadata.config) as ModelConfig, { device: 'cpu' });
  const params = new Map([...fixture.tensors].filter(([k]) => k.startsWith('param.')).map(([k, t]) => [k.slice(6), t]));
  await model.setParameters(params);
  return { model, images: fixture.tensors.get('images')!, pytorch: fixture.tensors.get('eval_logits')! };
}

/** Runs the file in onnxruntime-node (in a child process: see onnx-runtime.cjs), with `timedRuns` timed runs after the first. */
function runOnnx(file: string, images: Tensor, timedRuns = 0): { logits: Float32Array; dims: number[]; ms: number | null } {
  const input = path.join(dir, 'images.f32'), output = path.join(dir, 'logits.f32');
  fs.writeFileSync(input, Float32Array.from(images.toArray()));
  const stdout = execFileSync(process.execPath, [path.join(__dirname, 'onnx-runtime.cjs'), file, input, JSON.stringify(images.shape), output,
    String(timedRuns)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const bytes = fs.readFileSync(output);
  const { dims, ms } = JSON.parse(stdout) as { dims: number[]; ms: number | null };
  return { logits: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), dims, ms };
}

/**
 * float32 agreement: the two runtimes sum in different orders through a
 * hundred-odd layers, so allow 2^-23 · 1024 (about 1.2e-4) of the logits'
 * range, absolute and relative. Returns the worst |a − b| over that.
 */
let worstSeen = 0;  // the largest |a − b| over the logits' range in any comparison, printed at the end
afterAll(() => console.log(`onnxruntime against our forward: largest difference ${worstSeen.toExponential(1)} of the logits' range`));

function float32Closeness(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let range = 0, difference = 0;
  for (let i = 0; i < b.length; i++) range = Math.max(range, Math.abs(b[i]));
  for (let i = 0; i < b.length; i++) difference = Math.max(difference, Math.abs(a[i] - b[i]));
  worstSeen = Math.max(worstSeen, difference / range);
  const tolerance = 1024 * 2 ** -23;
  return closeness(a, b, tolerance * range, tolerance);
}

function images(batch: number, size: number, channels = 3): Tensor {
  return Tensor.from(noise(batch * channels * size * size, 1), [batch, channels, size, size]);  // in [−1, 1), as the network takes pixels
}

describe('the ONNX converters', () => {
  // Every op kind and attribute value has a case in test/op_cases.json (test_gradcheck fails otherwise).
  const cases = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'op_cases.json'), 'utf8')) as {
    cases: { op: string; attrs?: { kind?: string; axis?: string } }[];
  }).cases;

  it('cover every op, or say why it has no ONNX form', () => {
    for (const op of new Set(cases.map((c) => c.op))) {
      expect([op, op in converters || op in WITHOUT_ONNX_FORM]).toEqual([op, true]);
      expect([op, op in converters && op in WITHOUT_ONNX_FORM]).toEqual([op, false]);
    }
  });

  it('write every activation kind and LayerNorm axis the attribute declarations have', () => {
    const schema = JSON.parse(binding.opSchema()) as { op: string; attrs: { name: string; choices: string[] }[] }[];
    const choices = (op: string, attr: string) => schema.find((o) => o.op === op)?.attrs.find((a) => a.name === attr)?.choices;
    expect([...ONNX_ACTIVATIONS].sort()).toEqual([...(choices('activation', 'kind') ?? [])].sort());
    expect([...ONNX_LAYER_NORM_AXES].sort()).toEqual([...(choices('layer_norm', 'axis') ?? [])].sort());
  });
});

describe('exportOnnx', () => {
  it('matches our forward and PyTorch in onnxruntime, for the PyTorch fixtures (default blocks; windowed attention with light offsets)', async () => {
    for (const name of ['tiny_default', 'tiny_windows']) {
      const { model, images: x, pytorch } = await fromFixture(name);
      const file = path.join(dir, `${name}.onnx`);
      await model.exportOnnx(file);
      const onnx = runOnnx(file, x);
      const ours = (await model.forward(x)).toArray();
      expect({ name, dims: onnx.dims }).toEqual({ name, dims: x.shape.map((d, i) => (i === 1 ? 2 : d)) });
      expect({ name, vsOurs: float32Closeness(onnx.logits, ours) <= 1 }).toEqual({ name, vsOurs: true });
      expect({ name, vsPyTorch: closeness(onnx.logits, pytorch.toArray(), 2e-4, 2e-3) <= 1 }).toEqual({ name, vsPyTorch: true });
      model.dispose();
    }
  }, 120000);

  it('matches for light offsets with a 7×7 selection and three classes, at batch 1 and 3 of one dynamic-batch file', async () => {
    const model = await withSignal({ inputSize: 64, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8,
      offsets: 'light', selectKernel: 7, numClasses: 3 });
    const file = path.join(dir, 'light.onnx');
    await model.exportOnnx(file);
    for (const batch of [1, 3]) {
      const x = images(batch, 64);
      const onnx = runOnnx(file, x);
      expect(onnx.dims).toEqual([batch, 3, 64, 64]);
      expect(float32Closeness(onnx.logits, (await model.forward(x)).toArray())).toBeLessThanOrEqual(1);
    }
    model.dispose();
  }, 120000);

  it('matches for the default model at 448², and both are timed', async () => {
    const model = await withSignal({});
    const file = path.join(dir, 'default.onnx');
    // Converting and encoding the 23 MB file leave the event loop free (the encoding runs in a worker).
    const watch = await watchEventLoop(() => model.exportOnnx(file, { batch: 1 }));
    expectLoopFree(watch);
    const x = images(1, 448);
    const onnx = runOnnx(file, x, 3);
    await model.forward(x);
    const times: number[] = [];
    let ours: ArrayLike<number> = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      ours = (await model.forward(x)).toArray();
      times.push(performance.now() - start);
    }
    const ortMs = onnx.ms as number, oursMs = times.sort((p, q) => p - q)[1];
    expect(float32Closeness(onnx.logits, ours)).toBeLessThanOrEqual(1);
    console.log(`default model, 448², batch 1, CPU: onnxruntime-node ${ortMs.toFixed(0)} ms, dmdlk-native ${oursMs.toFixed(0)} ms ` +
      `(${(ortMs / oursMs).toFixed(2)}x); ${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB file, exported in ` +
      `${watch.elapsed.toFixed(0)} ms with the event loop blocked ${watch.longestGap.toFixed(0)} ms at most`);
    model.dispose();
  }, 300000);

  it('uses ONNX Gelu from opset 20 and still matches at opset 22', async () => {
    const { model, images: x } = await fromFixture('tiny_default');
    const file = path.join(dir, 'opset22.onnx');
    await model.exportOnnx(file, { opset: 22 });
    expect(float32Closeness(runOnnx(file, x).logits, (await model.forward(x)).toArray())).toBeLessThanOrEqual(1);
    model.dispose();
  }, 60000);

  it('fixes the batch when asked, and exports at another input size where the weights allow it', async () => {
    const config: ModelConfig = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8,
      blocks: ['mbconv', 'mbconv', 'mbconv', 'mbconv'] };
    const model = await withSignal(config);
    const file = path.join(dir, 'fixed.onnx');
    await model.exportOnnx(file, { batch: 2, inputSize: 64 });
    const at64 = await DMDLKNet.create({ ...config, inputSize: 64 }, { device: 'cpu' });
    await at64.setParameters(await model.parameters());
    const x = images(2, 64);
    expect(float32Closeness(runOnnx(file, x).logits, (await at64.forward(x)).toArray())).toBeLessThanOrEqual(1);
    expect(() => runOnnx(file, images(1, 64))).toThrow(/Got invalid dimensions for input: images/);
    model.dispose();
    at64.dispose();
  }, 60000);

  it('fails with UnsupportedError naming the module, and writes nothing, where the export has no ONNX form', async () => {
    const { model } = await fromFixture('tiny_default');
    const file = path.join(dir, 'unsupported.onnx');
    // DeformConv came in opset 19.
    await expect(model.exportOnnx(file, { opset: 18 })).rejects.toThrow(UnsupportedError);
    await expect(model.exportOnnx(file, { opset: 18 })).rejects.toThrow(/^decoder\d: deform_conv2d \(decoder\d\.ddlk\.dlk1\.weight\) needs ONNX opset 19 or later; asked for opset 18$/);
    // Global attention's relative-position table is sized by the feature map, so it has no form at another input size.
    await expect(model.exportOnnx(file, { inputSize: 128 })).rejects.toThrow(/^level4: 'level4\.blocks\.0\.attn\.rel_pos' is \[\d+,\d+,\d+\] in this model but must be/);
    // …and it names the size the model was made at, not the one asked for.
    await expect(model.exportOnnx(file, { inputSize: 128 })).rejects.toThrow(
      new RegExp(`at inputSize 128; export at the model's inputSize \\(${model.config.inputSize}\\)$`));
    expect(fs.existsSync(file)).toBe(false);
    // A file already there is left as it was.
    fs.writeFileSync(file, 'previous');
    await expect(model.exportOnnx(file, { opset: 18 })).rejects.toThrow(UnsupportedError);
    expect(fs.readFileSync(file, 'utf8')).toBe('previous');
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    model.dispose();
  }, 60000);

  it('names the module of an op with no ONNX form', async () => {
    const graph: InferenceGraph = {
      images: 0, logits: 1,
      values: [{ name: '', shape: [1, 2, 4, 4], kind: 'input' }, { name: '', shape: [1, 2, 4, 4], kind: 'computed' }],
      nodes: [{ op: 'cross_entropy', attrs: {}, label: 'loss', module: 'head', inputs: [0], outputs: [1] }],
    };
    await expect(onnxModel([graph], new Map(), {} as never, { opset: 19, batch: 1, inputSize: 4, modelInputSize: 4 }))
      .rejects.toThrow(/^head: cross_entropy \(loss\) has no ONNX form in this version of dmdlk-native \(a training loss: the exported inference graph ends at the logits\)$/);
  });

  it('refuses an attribute value it has no form for, instead of writing another op', async () => {
    const node = (op: string, attrs: Record<string, string>) => ({
      images: 0, logits: 1,
      values: [{ name: '', shape: [1, 2, 4, 4], kind: 'input' }, { name: '', shape: [1, 2, 4, 4], kind: 'computed' }],
      nodes: [{ op, attrs, label: 'x', module: 'head', inputs: [0], outputs: [1] }],
    }) as InferenceGraph;
    const settings = { opset: 19, batch: 1, inputSize: 4, modelInputSize: 4 };
    await expect(onnxModel([node('activation', { kind: 'relu6' })], new Map(), {} as never, settings))
      .rejects.toThrow(/^head: activation 'relu6' has no ONNX form/);
    await expect(onnxModel([node('layer_norm', { axis: 'height' })], new Map(), {} as never, settings))
      .rejects.toThrow(/^head: layer_norm over 'height' has no ONNX form/);
  });

  it('the README\'s masks from the ONNX model are predict\'s masks', async () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const block = readme.match(/<!-- onnx-masks:begin -->\n```js\n([\s\S]*?)```\n<!-- onnx-masks:end -->/);
    expect(block).not.toBeNull();
    const model = await withSignal({ inputSize: 64, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 });
    const onnx = path.join(dir, 'readme.onnx'), image = path.join(dir, 'photo.jpg'), maskFile = path.join(dir, 'mask.u8');
    const [width, height] = [301, 203];
    const rgb = Buffer.from(Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7 + (i % 3) * 50 + Math.floor(i / 900) * 3) % 256));
    await sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg().toFile(image);
    // An untrained model calls every pixel one class: shift the head's bias so that half the pixels are lesion.
    const { probabilities } = await model.predict(image, { probabilities: true });
    const lesionShare = Float32Array.from(probabilities!.subarray(width * height)).sort();
    const median = lesionShare[lesionShare.length >> 1];
    const bias = (await model.parameters()).get('head.bias')!.toArray();
    await model.setParameters({ 'head.bias': Tensor.from(Float32Array.of(bias[0], bias[1] - Math.log(median / (1 - median))), [2]) });
    await model.exportOnnx(onnx);
    const script = path.join(dir, 'readme-masks.cjs');
    fs.writeFileSync(script, `${block![1]}
(async () => {
  const session = await ort.InferenceSession.create(${JSON.stringify(onnx)});
  const { mask, width, height } = await segment(session, ${JSON.stringify(image)}, 64);
  require('node:fs').writeFileSync(${JSON.stringify(maskFile)}, mask);
  console.log(JSON.stringify({ width, height }));
})();`);
    const root = path.join(__dirname, '..', '..');
    const size = JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, NODE_PATH: path.join(root, 'node_modules') } }));
    const ours = await model.predict(image);
    expect(size).toEqual({ width: ours.width, height: ours.height });
    const theirs = fs.readFileSync(maskFile);
    let differing = 0, lesion = 0;
    for (let i = 0; i < ours.mask.length; i++) {
      differing += ours.mask[i] === theirs[i] ? 0 : 1;
      lesion += ours.mask[i];
    }
    // Both classes present, so the comparison means something; a pixel may flip where two logits tie within float32 rounding.
    expect(lesion).toBeGreaterThan(ours.mask.length * 0.02);
    expect(lesion).toBeLessThan(ours.mask.length * 0.98);
    console.log(`README's ONNX masks: ${differing} of ${ours.mask.length} pixels differ from predict's`);
    expect(differing).toBeLessThanOrEqual(ours.mask.length * 1e-4);
    model.dispose();
  }, 60000);

  it('rejects bad options with typed errors', async () => {
    const { model } = await fromFixture('tiny_default');
    const file = path.join(dir, 'bad.onnx');
    for (const options of [{ opset: 'x' }, { opset: 23 }, { batch: 0 }, { batch: 'any' }, { inputSize: 33 }, { colour: true }]) {
      await expect(model.exportOnnx(file, options as never)).rejects.toThrow(InvalidArgumentError);
    }
    await expect(model.exportOnnx(path.join(dir, 'no', 'such', 'dir', 'm.onnx'))).rejects.toThrow(/ERR_IO|cannot write/);
    expect(fs.existsSync(file)).toBe(false);
    model.dispose();
  }, 60000);
});
