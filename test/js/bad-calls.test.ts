// Table-driven: well over a hundred bad calls across the public API. Each
// must throw or reject with a DmdlkError of the stated code and a message
// that says what was wrong; none may crash the process.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  DmdlkError, DMDLKNet, type ErrorCodeName, learningCurvesSvg, type ModelConfig, loadFolders, loadISIC2018, ops, overlayPng, readSafetensors,
  SegmentationDataset, syntheticLesions, Tensor, writeSafetensors,
} from '../../lib';

type Call = [string, () => unknown, ErrorCodeName, RegExp];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-bad-'));
const tiny: ModelConfig = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };
let model: DMDLKNet;
let disposedModel: DMDLKNet;
const data = syntheticLesions({ count: 4, size: 32, seed: 1 });

const f32 = (shape: number[], fill = 0) => Tensor.from(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill), shape);
const i32 = (shape: number[]) => Tensor.zeros(shape, { dtype: 'int32' });
const disposed = (): Tensor => {
  const t = f32([2, 2]);
  t.dispose();
  return t;
};

function calls(): Call[] {
  const img = f32([1, 3, 32, 32]), masks = i32([1, 32, 32]);
  const x = f32([1, 3, 8, 8]), w = f32([4, 3, 3, 3]);
  const list: Call[] = [
    // Tensor construction and use
    ['Tensor.from with a string', () => Tensor.from('abc' as never, [3]), 'ERR_INVALID_ARG', /data must be a Float32Array/],
    ['Tensor.from with too few values', () => Tensor.from(new Float32Array(5), [2, 3]), 'ERR_SHAPE', /^shape \[2, 3\] needs 6 elements but data has 5$/],
    ['Tensor.from with a negative extent', () => Tensor.from(new Float32Array(0), [-1]), 'ERR_INVALID_ARG', /shape\[0\]/],
    ['Tensor.from with a fractional extent', () => Tensor.from(new Float32Array(2), [1.5]), 'ERR_INVALID_ARG', /shape\[0\] must be an integer/],
    ['Tensor.from with 9 axes', () => Tensor.from(new Float32Array(1), [1, 1, 1, 1, 1, 1, 1, 1, 1]), 'ERR_INVALID_ARG', /at most 8/],
    ['Tensor.from with a non-number element', () => Tensor.from([1, 'x'] as never, [2]), 'ERR_INVALID_ARG', /data\[1\] must be a number/],
    ['Tensor.from with an unknown dtype', () => Tensor.from([1, 2], [2], { dtype: 'int8' as never }), 'ERR_INVALID_ARG', /options.dtype/],
    ['Tensor.from with a dtype contradicting the array', () => Tensor.from(new Float32Array(2), [2], { dtype: 'int32' }), 'ERR_INVALID_ARG', /options.dtype/],
    ['Tensor.from on an unknown device', () => Tensor.from([1], [1], { device: 'tpu' as never }), 'ERR_INVALID_ARG', /options.device/],
    ['Tensor.from with an unknown option', () => Tensor.from([1], [1], { pinned: true } as never), 'ERR_INVALID_ARG', /unknown option 'pinned'/],
    ['Tensor.from on a GPU that is not there', () => Tensor.from([1], [1], { device: 'cuda:7' }), 'ERR_NO_GPU', /^CUDA is unavailable: .+|cuda:7/],
    ['Tensor.zeros with a shape that is not an array', () => Tensor.zeros(3 as never), 'ERR_INVALID_ARG', /shape must be an array/],
    ['Tensor.zeros too large', () => Tensor.zeros([2 ** 40, 2 ** 40]), 'ERR_SHAPE', /too many elements/],
    ['toDevice to an unknown device', () => f32([1]).toDevice('gpu' as never), 'ERR_INVALID_ARG', /device must be/],
    ['reading a disposed tensor', () => disposed().toArray(), 'ERR_DISPOSED', /disposed/],
    ['the shape of a disposed tensor', () => disposed().shape, 'ERR_DISPOSED', /disposed/],
    ['data() of a disposed tensor', () => disposed().data(), 'ERR_DISPOSED', /disposed/],
    ['moving a disposed tensor', () => disposed().toDevice('cpu'), 'ERR_DISPOSED', /disposed/],
    // ops
    ['add of a non-tensor', () => ops.add(3 as never, img), 'ERR_INVALID_ARG', /a must be a Tensor/],
    ['add that cannot broadcast', () => ops.add(f32([2, 3]), f32([4])), 'ERR_SHAPE', /broadcast/],
    ['add of float32 and int32', () => ops.add(f32([2]), i32([2])), 'ERR_DTYPE', /^add: b is int32 but a is float32$/],
    ['mul of a disposed tensor', () => ops.mul(disposed(), f32([2, 2])), 'ERR_DISPOSED', /disposed/],
    ['matmul with mismatched inner extents', () => ops.matmul(f32([2, 3]), f32([4, 5])), 'ERR_SHAPE', /^matmul: a \[2, 3\] has K = 3 but b \[4, 5\] has K = 4$/],
    ['matmul of a vector', () => ops.matmul(f32([3]), f32([3, 2])), 'ERR_SHAPE', /^matmul: a must have rank >= 2 \(\[\.\.\., M, K\]\), got \[3\]$/],
    ['matmul of int32', () => ops.matmul(i32([2, 2]), i32([2, 2])), 'ERR_DTYPE', /^matmul: a must be float32 or float64, got int32$/],
    ['linear with a wrong weight', () => ops.linear(f32([2, 3]), f32([4, 5])), 'ERR_SHAPE', /^linear: weight must have shape \[out, 3\] to match x \[2, 3\], got \[4, 5\]$/],
    ['linear with a wrong bias', () => ops.linear(f32([2, 3]), f32([4, 3]), f32([5])), 'ERR_SHAPE', /^linear: bias must have shape \[4\], got \[5\]$/],
    ['linear with a non-tensor bias', () => ops.linear(f32([2, 3]), f32([4, 3]), 5 as never), 'ERR_INVALID_ARG', /^bias must be a Tensor, got number 5$/],
    ['conv2d with the wrong input channels', () => ops.conv2d(x, f32([4, 2, 3, 3])), 'ERR_SHAPE', /weight must have shape/],
    ['conv2d of a 3-D input', () => ops.conv2d(f32([3, 8, 8]), w), 'ERR_SHAPE', /^conv2d: x must have rank 4 \(\[N, C, H, W\]\), got shape \[3, 8, 8\]$/],
    ['conv2d with stride 0', () => ops.conv2d(x, w, null, { stride: 0 }), 'ERR_INVALID_ARG', /stride/],
    ['conv2d with a negative padding', () => ops.conv2d(x, w, null, { padding: -1 }), 'ERR_INVALID_ARG', /padding/],
    ['conv2d with dilation 0', () => ops.conv2d(x, w, null, { dilation: [1, 0] }), 'ERR_INVALID_ARG', /dilation/],
    ['conv2d with groups not dividing channels', () => ops.conv2d(x, w, null, { groups: 2 }), 'ERR_SHAPE', /groups = 2 must divide/],
    ['conv2d with an unknown option', () => ops.conv2d(x, w, null, { pad: 1 } as never), 'ERR_INVALID_ARG', /conv2d has no attribute 'pad'/],
    ['conv2d with a kernel larger than the input', () => ops.conv2d(f32([1, 3, 2, 2]), w), 'ERR_SHAPE', /^conv2d: the kernel \(3×3 with dilation\) is larger than the padded input \(2×2\)$/],
    ['conv2d with a wrong bias', () => ops.conv2d(x, w, f32([3])), 'ERR_SHAPE', /^conv2d: bias must have shape \[4\], got \[3\]$/],
    ['conv2d with a wrong residual', () => ops.conv2d(x, w, null, { padding: 1 }, f32([1, 4, 7, 7])), 'ERR_SHAPE', /^conv2d: residual must have shape \[1, 4, 8, 8\], got \[1, 4, 7, 7\]$/],
    ['conv2d with a residual option and no tensor', () => ops.conv2d(x, w, null, { residual: true } as never), 'ERR_INVALID_ARG', /pass the residual tensor/],
    ['conv2dBackward with a wrong dy', () => ops.conv2dBackward(f32([1, 4, 7, 7]), x, w, false, { padding: 1 }), 'ERR_SHAPE', /^conv2d_backward: dy must have shape \[1, 4, 8, 8\], got \[1, 4, 7, 7\]$/],
    ['addBackward with a wrong dy', () => ops.addBackward(f32([3]), f32([2]), f32([2])), 'ERR_SHAPE', /^add_backward: dy must have shape \[2\], got \[3\]$/],
    ['matmulBackward with a wrong dy', () => ops.matmulBackward(f32([2, 3]), f32([2, 3]), f32([3, 4])), 'ERR_SHAPE', /^matmul_backward: dy must have shape \[2, 4\], got \[2, 3\]$/],
    ['linearBackward with a non-boolean hasBias', () => ops.linearBackward(f32([2, 4]), f32([2, 3]), f32([4, 3]), 1 as never), 'ERR_INVALID_ARG', /hasBias/],
    // models
    ['create with an unknown config key', () => DMDLKNet.create({ width: 3 } as never), 'ERR_INVALID_ARG', /unknown option 'width'/],
    ['create with inputSize not a multiple of 32', () => DMDLKNet.create({ inputSize: 100 }), 'ERR_INVALID_ARG', /inputSize must be a multiple of 32/],
    ['create with 3 widths', () => DMDLKNet.create({ widths: [8, 16, 32] as never }), 'ERR_INVALID_ARG', /^config\.widths must be an array of 4 values, each an integer in \[1, 4096\], got an array of 3 values$/],
    ['create with a block kind that does not exist', () => DMDLKNet.create({ blocks: ['mbconv', 'mbconv', 'moat', 'vit'] as never }), 'ERR_INVALID_ARG', /blocks\[3\]/],
    ['create with offsets: half', () => DMDLKNet.create({ offsets: 'half' as never }), 'ERR_INVALID_ARG', /offsets/],
    ['create with a zero depth', () => DMDLKNet.create({ depths: [1, 0, 1, 1] }), 'ERR_INVALID_ARG', /^config\.depths\[1\] must be an integer in \[1, 64\], got 0$/],
    ['create with an even selectKernel', () => DMDLKNet.create({ selectKernel: 4 }), 'ERR_INVALID_ARG', /selectKernel/],
    ['create with widths that heads cannot split', () => DMDLKNet.create({ ...tiny, headDim: 7 }), 'ERR_INVALID_ARG', /^config\.widths\[2\] must be a multiple of headDim \(7\) in a moat stage, got 16$/],
    ['create with a negative seed', () => DMDLKNet.create(tiny, { seed: -1 }), 'ERR_INVALID_ARG', /options.seed/],
    ['create on an unknown device', () => DMDLKNet.create(tiny, { device: 'npu' as never }), 'ERR_INVALID_ARG', /options.device/],
    ['create on a GPU that is not there', () => DMDLKNet.create(tiny, { device: 'cuda:5' }), 'ERR_NO_GPU', /^CUDA is unavailable: .+|cuda:5/],
    ['load of a missing file', () => DMDLKNet.load(path.join(dir, 'none.safetensors')), 'ERR_IO', /none\.safetensors/],
    ['load of an empty path', () => DMDLKNet.load(''), 'ERR_INVALID_ARG', /path must be a non-empty string/],
    ['load of a text file', () => DMDLKNet.load(path.join(dir, 'text.safetensors')), 'ERR_FORMAT', /text\.safetensors': not a safetensors file: its first 8 bytes give a header length of \d+, over the format's limit/],
    ['load of a safetensors file that is no checkpoint', () => DMDLKNet.load(path.join(dir, 'other.safetensors')), 'ERR_CHECKPOINT', /config/],
    ['load with a config that does not fit the file', () => DMDLKNet.load(path.join(dir, 'model.safetensors'), { config: { ...tiny, stem: 16 } }), 'ERR_CHECKPOINT', /shape/],
    ['forward of a non-tensor', () => model.forward([1, 2] as never), 'ERR_INVALID_ARG', /images must be a Tensor/],
    ['forward of the wrong size', () => model.forward(f32([1, 3, 64, 64])), 'ERR_SHAPE', /images must have shape \[B, 3, 32, 32\]/],
    ['forward of the wrong channels', () => model.forward(f32([1, 1, 32, 32])), 'ERR_SHAPE', /images must have shape/],
    ['forward of int32 images', () => model.forward(i32([1, 3, 32, 32])), 'ERR_DTYPE', /float32/],
    ['forward of NaN images', () => model.forward(f32([1, 3, 32, 32], NaN)), 'ERR_INVALID_ARG', /3072 NaN or infinite values/],
    ['forward of infinite images', () => model.forward(f32([1, 3, 32, 32], Infinity)), 'ERR_INVALID_ARG', /NaN or infinite/],
    ['forward of an empty batch', () => model.forward(f32([0, 3, 32, 32])), 'ERR_SHAPE', /images must have shape/],
    ['forward of a disposed tensor', () => model.forward(disposed()), 'ERR_DISPOSED', /disposed/],
    ['lossAndGradients with float masks', () => model.lossAndGradients(img, f32([1, 32, 32])), 'ERR_DTYPE', /masks must be int32/],
    ['lossAndGradients with masks of another size', () => model.lossAndGradients(img, i32([1, 16, 16])), 'ERR_SHAPE', /masks/],
    ['lossAndGradients with masks of another batch', () => model.lossAndGradients(img, i32([2, 32, 32])), 'ERR_SHAPE', /masks/],
    ['lossAndGradients with class 5 in the masks', () => model.lossAndGradients(f32([2, 3, 32, 32]), Tensor.from(new Int32Array(2048).fill(5), [2, 32, 32])), 'ERR_INVALID_ARG', /^cross_entropy: target 5 at pixel 0 is not a class index in \[0, 2\)$/],
    ['lossAndGradients with batch 1 where BatchNorm sees one value', () => model.lossAndGradients(img, masks), 'ERR_SHAPE', /batch_norm: training needs more than one value per channel/],
    ['lossAndGradients with an unknown option', () => model.lossAndGradients(img, masks, { logits: true } as never), 'ERR_INVALID_ARG', /unknown option 'logits'/],
    ['trainStep with lr 0', () => model.trainStep(img, masks, { lr: 0 }), 'ERR_INVALID_ARG', /options.lr/],
    ['trainStep with lr NaN', () => model.trainStep(img, masks, { lr: NaN }), 'ERR_INVALID_ARG', /options.lr/],
    ['trainStep with NaN images', () => model.trainStep(f32([1, 3, 32, 32], NaN), masks), 'ERR_INVALID_ARG', /NaN or infinite/],
    ['setParameters with an unknown name', () => model.setParameters({ 'stem.conv9.weight': f32([1]) }), 'ERR_INVALID_ARG', /no tensor 'stem.conv9.weight'/],
    ['setParameters with a wrong shape', () => model.setParameters({ 'head.bias': f32([3]) }), 'ERR_SHAPE', /head.bias.*\[2\]/],
    ['setParameters with int32 values', () => model.setParameters({ 'head.bias': i32([2]) }), 'ERR_DTYPE', /head.bias.*float32/],
    ['setParameters with a non-tensor', () => model.setParameters({ 'head.bias': [1, 2] as never }), 'ERR_INVALID_ARG', /head.bias/],
    ['save into a missing folder', () => model.save(path.join(dir, 'no', 'such', 'm.safetensors')), 'ERR_IO', /no\/such/],
    ['save with non-string metadata', () => model.save(path.join(dir, 'm2.safetensors'), { epoch: 3 as never }), 'ERR_INVALID_ARG', /metadata\['epoch'\]/],
    ['any call on a disposed model', () => disposedModel.forward(img), 'ERR_DISPOSED', /disposed/],
    ['summary of a disposed model', () => disposedModel.summary(), 'ERR_DISPOSED', /disposed/],
    ['config of a disposed model', () => disposedModel.config, 'ERR_DISPOSED', /disposed/],
    // fit, evaluate, predict
    ['fit of something that is not a dataset', () => model.fit([] as never), 'ERR_INVALID_ARG', /train must be a SegmentationDataset/],
    ['fit with epochs 0', () => model.fit(data, { epochs: 0 }), 'ERR_INVALID_ARG', /options.epochs/],
    ['fit with a fractional batch size', () => model.fit(data, { batchSize: 2.5 }), 'ERR_INVALID_ARG', /options.batchSize/],
    ['fit with lr 1', () => model.fit(data, { lr: 1 }), 'ERR_INVALID_ARG', /options.lr/],
    ['fit with an unknown loss', () => model.fit(data, { loss: 'focal' as never }), 'ERR_INVALID_ARG', /options.loss/],
    ['fit with an unknown option', () => model.fit(data, { epochz: 1 } as never), 'ERR_INVALID_ARG', /unknown option 'epochz'/],
    ['fit with a non-function onProgress', () => model.fit(data, { onProgress: 'yes' as never }), 'ERR_INVALID_ARG', /onProgress must be a function/],
    ['fit with a non-signal', () => model.fit(data, { signal: {} as never }), 'ERR_INVALID_ARG', /AbortSignal/],
    ['fit with a checkpoint without dir', () => model.fit(data, { checkpoint: {} as never }), 'ERR_INVALID_ARG', /checkpoint.dir/],
    ['fit with keep 0', () => model.fit(data, { checkpoint: { dir, keep: 0 } }), 'ERR_INVALID_ARG', /checkpoint.keep/],
    ['fit resuming from nothing', () => model.fit(data, { resume: path.join(dir, 'nothing') }), 'ERR_CHECKPOINT', /no checkpoint at/],
    ['fit resuming from an empty folder', () => model.fit(data, { resume: dir }), 'ERR_CHECKPOINT', /holds no training checkpoint/],
    ['fit with a validation set of another size', () => model.fit(data, { validation: syntheticLesions({ count: 2, size: 64 }) }), 'ERR_INVALID_ARG', /options.validation/],
    ['fit with a flip probability of 2', () => model.fit(data, { augment: { hflip: 2 } }), 'ERR_INVALID_ARG', /augment.hflip must be a probability/],
    ['fit with a scale range upside down', () => model.fit(data, { augment: { scale: { min: 1.5, max: 1.1 } } }), 'ERR_INVALID_ARG', /scale.min must not exceed/],
    ['fit with a hue shift of 0.7', () => model.fit(data, { augment: { colorJitter: { hue: 0.7 } } }), 'ERR_INVALID_ARG', /colorJitter.hue/],
    ['fit with blur sigma reversed', () => model.fit(data, { augment: { blur: { sigma: [2, 1] } } }), 'ERR_INVALID_ARG', /blur.sigma/],
    ['fit with expand 0', () => model.fit(data, { augment: { expand: 0 } }), 'ERR_INVALID_ARG', /augment.expand/],
    ['fit with an unknown augmentation', () => model.fit(data, { augment: { cutout: 1 } as never }), 'ERR_INVALID_ARG', /unknown option 'cutout'/],
    ['evaluate of a dataset of another size', () => model.evaluate(syntheticLesions({ count: 2, size: 64 })), 'ERR_INVALID_ARG', /64×64 but the model's inputSize is 32/],
    ['evaluate with batch size 0', () => model.evaluate(data, { batchSize: 0 }), 'ERR_INVALID_ARG', /options.batchSize/],
    ['predict of a number', () => model.predict(7 as never), 'ERR_INVALID_ARG', /input must be a file path, a Buffer or a Tensor/],
    ['predict of a missing file', () => model.predict(path.join(dir, 'missing.jpg')), 'ERR_IO', /missing\.jpg/],
    ['predict of an empty Buffer', () => model.predict(Buffer.alloc(0)), 'ERR_DATA', /cannot decode the buffer/],
    ['predict of a truncated PNG', () => model.predict(fs.readFileSync(path.join(dir, 'image.png')).subarray(0, 60)), 'ERR_DATA', /cannot decode/],
    ['predict of float images', () => model.predict(f32([1, 3, 32, 32])), 'ERR_INVALID_ARG', /uint8 \[B, 32, 32, 3\]/],
    ['predict with an unknown option', () => model.predict(path.join(dir, 'image.png'), { probs: true } as never), 'ERR_INVALID_ARG', /unknown option 'probs'/],
    // data
    ['a dataset with too few image bytes', () => new SegmentationDataset(32, new Uint8Array(10), new Uint8Array(1024), [{ name: 'a', width: 1, height: 1 }]), 'ERR_INVALID_ARG', /images must hold/],
    ['a dataset with too few mask bytes', () => new SegmentationDataset(32, new Uint8Array(3072), new Uint8Array(3), [{ name: 'a', width: 1, height: 1 }]), 'ERR_INVALID_ARG', /masks must hold/],
    ['split with one ratio', () => data.split([1]), 'ERR_INVALID_ARG', /two or more/],
    ['split with a negative ratio', () => data.split([1, -1]), 'ERR_INVALID_ARG', /non-negative/],
    ['split with zero ratios', () => data.split([0, 0]), 'ERR_INVALID_ARG', /must not all be zero/],
    ['subset with an index out of range', () => data.subset([9]), 'ERR_INVALID_ARG', /indices\[0\]/],
    ['syntheticLesions with count 0', () => syntheticLesions({ count: 0 }), 'ERR_INVALID_ARG', /options.count/],
    ['syntheticLesions with an unknown option', () => syntheticLesions({ colour: 'red' } as never), 'ERR_INVALID_ARG', /unknown option 'colour'/],
    ['loadFolders of a missing folder', () => loadFolders(path.join(dir, 'no-images'), path.join(dir, 'no-masks')), 'ERR_DATA', /cannot read the images folder/],
    ['loadFolders with onError maybe', () => loadFolders(dir, dir, { onError: 'maybe' as never }), 'ERR_INVALID_ARG', /onError/],
    ['loadFolders with inputSize 2', () => loadFolders(dir, dir, { inputSize: 2 }), 'ERR_INVALID_ARG', /options.inputSize/],
    ['loadFolders of a folder without pairs', () => loadFolders(path.join(dir, 'empty'), path.join(dir, 'empty'), { cache: false }), 'ERR_DATA', /no image\/mask pairs/],
    ['loadISIC2018 of a folder of neither layout', () => loadISIC2018(path.join(dir, 'empty')), 'ERR_DATA', /neither the ISIC-2018/],
    ['loadISIC2018 with a non-string root', () => loadISIC2018(42 as never), 'ERR_INVALID_ARG', /root must be a non-empty string/],
    // files and pictures
    ['readSafetensors of a missing file', () => readSafetensors(path.join(dir, 'gone.safetensors')), 'ERR_IO', /gone\.safetensors/],
    ['readSafetensors of a truncated file', () => readSafetensors(path.join(dir, 'truncated.safetensors')), 'ERR_FORMAT', /truncated\.safetensors': not a safetensors file, or a truncated one: its header length \d+ runs past the end of the file/],
    ['readSafetensors of a zero-byte file', () => readSafetensors(path.join(dir, 'zero.safetensors')), 'ERR_FORMAT', /zero\.safetensors': not a safetensors file: 0 bytes are too short for the 8-byte header length$/],
    ['readSafetensors of a huge header length', () => readSafetensors(path.join(dir, 'huge.safetensors')), 'ERR_FORMAT', /header/],
    ['writeSafetensors with a non-tensor', () => writeSafetensors(path.join(dir, 'w.safetensors'), { a: 5 as never }), 'ERR_INVALID_ARG', /a/],
    ['writeSafetensors with a disposed tensor', () => writeSafetensors(path.join(dir, 'w.safetensors'), { a: disposed() }), 'ERR_DISPOSED', /disposed/],
    ['writeSafetensors with numeric metadata', () => writeSafetensors(path.join(dir, 'w.safetensors'), { a: f32([1]) }, { n: 1 as never }), 'ERR_INVALID_ARG', /metadata\['n'\]/],
    ['writeSafetensors below a file', () => writeSafetensors(path.join(dir, 'text.safetensors', 'w.safetensors'), { a: f32([1]) }), 'ERR_IO', /text\.safetensors/],
    ['overlayPng with a mask of the wrong size', () => overlayPng({ rgb: new Uint8Array(12), width: 2, height: 2 }, new Uint8Array(3)), 'ERR_INVALID_ARG', /2×2 = 4 pixels, got 3/],
    ['overlayPng with an expert mask of the wrong size', () => overlayPng({ rgb: new Uint8Array(12), width: 2, height: 2 }, new Uint8Array(4), new Uint8Array(5)), 'ERR_INVALID_ARG', /got 4 and 5/],
  ];
  // Every op with a disposed operand in every position.
  const binary = [['add', ops.add], ['mul', ops.mul], ['matmul', ops.matmul]] as const;
  for (const [name, op] of binary) {
    list.push([`${name} with a disposed first operand`, () => op(disposed(), f32([2, 2])), 'ERR_DISPOSED', /disposed/]);
    list.push([`${name} with a disposed second operand`, () => op(f32([2, 2]), disposed()), 'ERR_DISPOSED', /disposed/]);
    list.push([`${name} with null`, () => op(null as never, f32([2, 2])), 'ERR_INVALID_ARG', /must be a Tensor/]);
  }
  void learningCurvesSvg;
  return list;
}

describe('bad calls', () => {
  beforeAll(async () => {
    model = await DMDLKNet.create(tiny, { seed: 1 });
    disposedModel = await DMDLKNet.create(tiny);
    disposedModel.dispose();
    await model.save(path.join(dir, 'model.safetensors'));
    await writeSafetensors(path.join(dir, 'other.safetensors'), { x: f32([2]) });
    fs.writeFileSync(path.join(dir, 'text.safetensors'), 'this is not a safetensors file at all');
    fs.writeFileSync(path.join(dir, 'truncated.safetensors'), fs.readFileSync(path.join(dir, 'model.safetensors')).subarray(0, 5000));
    fs.writeFileSync(path.join(dir, 'zero.safetensors'), '');
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(2n ** 62n);
    fs.writeFileSync(path.join(dir, 'huge.safetensors'), huge);
    fs.mkdirSync(path.join(dir, 'empty'));
    const { default: sharp } = await import('sharp');
    await sharp({ create: { width: 20, height: 20, channels: 3, background: '#884422' } }).png().toFile(path.join(dir, 'image.png'));
  });
  afterAll(() => {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('tries at least 100 bad calls: each is a DmdlkError with its code and a message saying why', async () => {
    const table = calls();
    expect(table.length).toBeGreaterThanOrEqual(100);
    const outcomes: { call: string; code?: string; message?: string; ok: boolean }[] = [];
    for (const [call, fn, code, message] of table) {
      let error: unknown;
      try {
        await fn();
      } catch (e) {
        error = e;
      }
      const ok = error instanceof DmdlkError && error.code === code && message.test(error.message);
      outcomes.push({ call, ok, code: (error as DmdlkError | undefined)?.code, message: (error as Error | undefined)?.message });
    }
    const failed = outcomes.filter((o) => !o.ok);
    expect(failed).toEqual([]);
    console.log(`${table.length} bad calls, each a DmdlkError with the expected code`);
    // And the model still works after all of that.
    expect((await model.forward(f32([1, 3, 32, 32]))).shape).toEqual([1, 2, 32, 32]);
  }, 120000);

  it('says a model of other than 3 input channels takes tensors, not RGB images', async () => {
    const gray = await DMDLKNet.create({ ...tiny, inChannels: 1 }, { device: 'cpu' });
    const message = (call: string) => new RegExp(`^${call} reads RGB images \\(3 channels\\) and this model takes 1: give it ` +
      '\\[B, inChannels, S, S\\] tensors through trainStep\\(\\) and forward\\(\\) instead$');
    await expect(gray.fit(data, { epochs: 1 })).rejects.toThrow(message('fit'));
    await expect(gray.evaluate(data)).rejects.toThrow(message('evaluate'));
    await expect(gray.predict(path.join(dir, 'image.png'))).rejects.toThrow(message('predict'));
    expect((await gray.forward(f32([2, 1, 32, 32]))).shape).toEqual([2, 2, 32, 32]);
    gray.dispose();
  });
});
