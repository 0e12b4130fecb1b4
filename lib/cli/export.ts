// dmdlk export: a trained model as an ONNX file, for runtimes this package does not reach.
import * as path from 'node:path';

import { InvalidArgumentError } from '../errors';
import { DMDLKNet } from '../model';
import { type Command, givenNumber, numberFlag, stringFlag, UsageError } from './args';
import { loadModelFlag } from './model-flags';

/**
 * A usage error where the model's weights do not fit --input-size: global
 * attention holds a position table sized by the image. Found by making the
 * same network at that size and comparing every tensor's shape.
 */
async function checkInputSize(model: DMDLKNet, inputSize: number): Promise<void> {
  const own = model.config.inputSize;
  if (inputSize === own) return;
  let resized: DMDLKNet;
  try {
    resized = await DMDLKNet.create({ ...model.config, inputSize }, { device: 'cpu' });
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new UsageError(`--input-size ${inputSize} does not suit this model: ${error.message}`);
    throw error;
  }
  const [weights, needed] = await Promise.all([model.parameters(), resized.parameters()]).finally(() => resized.dispose());
  try {
    for (const [name, tensor] of weights) {
      const shape = tensor.shape, neededShape = needed.get(name)?.shape ?? [];
      if (shape.join() === neededShape.join()) continue;
      throw new UsageError(`--input-size ${inputSize}: this model's weights fit its own input size, ${own}, only ` +
        `('${name}' is [${shape.join(', ')}]; at ${inputSize} it would be [${neededShape.join(', ')}]); leave --input-size out`);
    }
  } finally {
    for (const tensor of [...weights.values(), ...needed.values()]) tensor.dispose();
  }
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'Write a trained model as ONNX (DeformConv, opset 19+) for onnxruntime, TensorRT and the like.',
  usage: 'dmdlk export --model CHECKPOINT --out MODEL.onnx [--batch dynamic|N] [--opset N] [--input-size N]',
  options: { model: { type: 'string' }, out: { type: 'string' } },
  help: [
    ['--model CHECKPOINT', 'a checkpoint written by dmdlk train or DMDLKNet.save(), a run folder\n(its model.safetensors) or a checkpoint folder (its newest)'],
    ['--out MODEL.onnx', 'where to write the ONNX file (written whole or not at all)'],
    'batch', 'opset', 'input-size',
  ],
  async run(values) {
    const out = stringFlag(values.out);
    if (!out) throw new UsageError('--out MODEL.onnx is required');
    const batch = givenNumber(values, 'batch') ?? 'dynamic';
    const opset = numberFlag(values, 'export', 'opset');
    const model = await loadModelFlag(values.model, 'cpu');
    try {
      const inputSize = givenNumber(values, 'input-size') ?? model.config.inputSize;
      await checkInputSize(model, inputSize);
      await model.exportOnnx(out, { batch, opset, inputSize });
      const shape = (channels: number): string => `[${batch === 'dynamic' ? 'batch' : batch}, ${channels}, ${inputSize}, ${inputSize}]`;
      console.log(`wrote ${path.resolve(out)}: input 'images' ${shape(model.config.inChannels)} (RGB as 2·v/255 − 1), ` +
        `output 'logits' ${shape(model.config.numClasses)}, opset ${opset}`);
    } finally {
      model.dispose();
    }
  },
};
