// dmdlk export: a trained model as an ONNX file, for runtimes this package does not reach.
import * as path from 'node:path';

import { MAX_OPSET, MIN_OPSET } from '../onnx/export';
import { type Command, integerFlag, stringFlag, UsageError } from './args';
import { loadModelFlag } from './model-flags';

export const exportCommand: Command = {
  name: 'export',
  summary: 'Write a trained model as ONNX (DeformConv, opset 19+) for onnxruntime, TensorRT and the like.',
  usage: 'dmdlk export --model CHECKPOINT --out MODEL.onnx [--batch dynamic|N] [--opset N] [--input-size N]',
  options: { model: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' }, opset: { type: 'string' }, 'input-size': { type: 'string' } },
  help: [
    ['--model CHECKPOINT', 'a checkpoint written by dmdlk train or DMDLKNet.save(), a run folder\n(its model.safetensors) or a checkpoint folder (its newest)'],
    ['--out MODEL.onnx', 'where to write the ONNX file (written whole or not at all)'],
    ['--batch dynamic|N', 'images per run: any (default) or exactly N'],
    ['--opset N', `the ONNX opset, ${MIN_OPSET}–${MAX_OPSET} (default ${MIN_OPSET}, the first with DeformConv)`],
    ['--input-size N', 'the image side the graph takes (default: the model\'s; only where the weights allow)'],
  ],
  async run(values) {
    const out = stringFlag(values.out);
    if (!out) throw new UsageError('--out MODEL.onnx is required');
    const batch = values.batch === undefined || values.batch === 'dynamic' ? 'dynamic' : integerFlag(values.batch, 'batch', 1);
    const opset = integerFlag(values.opset, 'opset', MIN_OPSET);  // below 19, the export names the module that needs more
    if (opset > MAX_OPSET) throw new UsageError(`--opset must be at most ${MAX_OPSET}, got ${opset}`);
    const model = await loadModelFlag(values.model, 'cpu');
    try {
      const inputSize = integerFlag(values['input-size'], 'input-size', model.config.inputSize, 32);
      await model.exportOnnx(out, { batch, opset, inputSize });
      console.log(`wrote ${path.resolve(out)}: input 'images' [${batch === 'dynamic' ? 'B' : batch}, ${model.config.inChannels}, ` +
        `${inputSize}, ${inputSize}] (RGB as 2·v/255 − 1), output 'logits' [.., ${model.config.numClasses}, ${inputSize}, ${inputSize}], opset ${opset}`);
    } finally {
      model.dispose();
    }
  },
};
