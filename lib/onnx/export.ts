// A model's inference graph as an ONNX file: the native graph (the same one
// the forward pass runs, in eval mode) op by op into standard ONNX ops
// (./ops.ts), every checkpoint tensor once as an initializer under its own
// name. Everything is checked before the file is written, and the file is
// written atomically (./proto.ts), so a failed export leaves no file behind.
import { binding } from '../binding';
import { InternalError, InvalidArgumentError, ShapeError, UnsupportedError } from '../errors';
import type { ResolvedModelConfig } from '../model';
import { packageVersion } from '../package-root';
import type { Tensor } from '../tensor';
import * as check from '../validate';
import { OnnxGraphBuilder } from './builder';
import { converters, type GraphNode, type InferenceGraph, type NodeContext, WITHOUT_ONNX_FORM } from './ops';
import { type ModelProto, valueInfo, writeModel } from './proto';

export interface OnnxExportOptions {
  /** The ONNX opset, 19 (the first with DeformConv; the default) to 22. */
  opset?: number | undefined;
  /** 'dynamic' (the default): any number of images per run; or a fixed batch size. */
  batch?: 'dynamic' | number | undefined;
  /** The image side the graph takes (default: the model's). Only where every weight keeps its shape. */
  inputSize?: number | undefined;
}

export const MIN_OPSET = 19;
export const MAX_OPSET = 22;

export interface ExportSettings {
  opset: number;
  batch: 'dynamic' | number;
  inputSize: number;
  /** The inputSize the model was made at, which its weights fit. */
  modelInputSize: number;
}

function resolveOptions(options: unknown, config: ResolvedModelConfig): ExportSettings {
  const o = check.options(options, 'options');
  check.knownKeys(o, ['opset', 'batch', 'inputSize'], 'options');
  const opset = check.integer(o.opset ?? MIN_OPSET, 'options.opset', 1, MAX_OPSET);
  if (typeof o.batch === 'string' && o.batch !== 'dynamic') throw new InvalidArgumentError(`options.batch must be 'dynamic' or a number, got '${o.batch}'`);
  const batch = o.batch === undefined || o.batch === 'dynamic' ? 'dynamic' : check.integer(o.batch, 'options.batch', 1, 4096);
  const inputSize = check.integer(o.inputSize ?? config.inputSize, 'options.inputSize', 32, 4096);
  return { opset, batch, inputSize, modelInputSize: config.inputSize };
}

function graphAt(config: ResolvedModelConfig, batch: number): InferenceGraph {
  return JSON.parse(binding.inferenceGraph(JSON.stringify(config), batch)) as InferenceGraph;
}

/**
 * A shape attribute of node `index`, its batch axis -1 when the batch is
 * dynamic: the axis that differs between the graphs built at batch 1 and 2.
 */
function shapeAttribute(graphs: InferenceGraph[], index: number, key: string): number[] {
  const [first, second] = graphs.map((g) => g.nodes[index].attrs[key] as number[]);
  if (!second) return first;
  const differing = first.flatMap((d, axis) => (d === second[axis] ? [] : [axis]));
  if (differing.length > 1) throw new InternalError(`ONNX export: ${graphs[0].nodes[index].label} has ${differing.length} batch axes in '${key}'`);
  return first.map((d, axis) => (differing.includes(axis) ? -1 : d));
}

/** A checkpoint tensor's shape and float32 values. */
export interface Weight {
  shape: number[];
  data: Float32Array;
}

/**
 * The ONNX model of `graphs` (one per batch size built: [batch] or [1, 2] for
 * a dynamic batch). It yields to the event loop between nodes: the default
 * model takes about 100 ms to convert, its global attention's index table
 * alone 15 ms.
 */
export async function onnxModel(graphs: InferenceGraph[], weights: Map<string, Weight>, config: ResolvedModelConfig,
  options: ExportSettings): Promise<ModelProto> {
  const graph = graphs[0];
  const builder = new OnnxGraphBuilder();
  const names = new Map<number, string>([[graph.images, builder.fresh('images')]]);
  const logitsName = builder.fresh('logits');

  const nameOf = (id: number, node: GraphNode): string => {
    const existing = names.get(id);
    if (existing !== undefined) return existing;
    const value = graph.values[id];
    if (value.kind !== 'parameter' && value.kind !== 'buffer') {
      throw new InternalError(`ONNX export: ${node.label || node.op} in ${node.module} reads a value no earlier node wrote`);
    }
    const weight = weights.get(value.name);
    if (!weight) throw new InternalError(`ONNX export: the model has no tensor '${value.name}'`);
    if (weight.shape.join() !== value.shape.join()) {
      throw new UnsupportedError(`${node.module}: '${value.name}' is [${weight.shape}] in this model but must be [${value.shape}] ` +
        `at inputSize ${options.inputSize}; export at the model's inputSize (${options.modelInputSize})`);
    }
    const name = builder.weight(value.name, value.shape, weight.data);
    names.set(id, name);
    return name;
  };

  for (const [index, node] of graph.nodes.entries()) {
    await new Promise(setImmediate);
    const prefix = node.label || `${node.module}.${node.op}`;  // activations and layout ops are unlabelled
    const converter = converters[node.op];
    if (!converter) {
      const why = WITHOUT_ONNX_FORM[node.op];
      throw new UnsupportedError(`${node.module}: ${node.op} (${prefix}) has no ONNX form in this version of dmdlk-native${why ? ` (${why})` : ''}`);
    }
    if (converter.since > options.opset) {
      throw new UnsupportedError(`${node.module}: ${node.op} (${prefix}) needs ONNX opset ${converter.since} or later; ` +
        `asked for opset ${options.opset}`);
    }
    if (node.op === 'batch_norm' && node.attrs.training !== false) throw new InternalError(`ONNX export: ${prefix} is in training mode`);
    const context: NodeContext = {
      builder, node, opset: options.opset, prefix,
      input: (i) => nameOf(node.inputs[i], node),
      output(i) {
        const id = node.outputs[i];
        if (!names.has(id)) names.set(id, id === graph.logits ? logitsName : builder.fresh(prefix));
        return names.get(id) as string;
      },
      inputShape: (i) => graph.values[node.inputs[i]].shape,
      shapeAttribute: (key) => shapeAttribute(graphs, index, key),
    };
    converter.convert(context);
  }
  if (!names.has(graph.logits)) throw new InternalError('ONNX export: no node wrote the logits');

  const batchDim = options.batch === 'dynamic' ? 'batch' : options.batch;
  const [, channels, height, width] = graph.values[graph.images].shape;
  const [, classes] = graph.values[graph.logits].shape;
  return {
    ir_version: options.opset >= 21 ? 10 : 9,
    opset_import: [{ domain: '', version: options.opset }],
    producer_name: 'dmdlk-native',
    producer_version: packageVersion,
    doc_string: 'DMDLK-Net skin-lesion segmentation. images: float32 [B, C, S, S], RGB pixels v as 2·v/255 − 1; ' +
      'logits: float32 [B, classes, S, S], the mask is the argmax over classes.',
    graph: {
      name: 'dmdlk_net',
      node: builder.nodes,
      initializer: builder.initializers,
      input: [valueInfo('images', [batchDim, channels, height, width])],
      output: [valueInfo('logits', [batchDim, classes, height, width])],
    },
    metadata_props: [{ key: 'dmdlk.config', value: JSON.stringify(config) }],
  };
}

/** Exports the model (its configuration and checkpoint tensors) as an ONNX file. */
export async function exportOnnx(config: ResolvedModelConfig, tensors: Map<string, Tensor>, file: string,
  options: OnnxExportOptions): Promise<void> {
  const resolved = resolveOptions(options, config);
  const target = { ...config, inputSize: resolved.inputSize };
  const batches = resolved.batch === 'dynamic' ? [1, 2] : [resolved.batch];
  const graphs = batches.map((b) => graphAt(target, b));
  if (graphs.length === 2 && graphs[0].nodes.length !== graphs[1].nodes.length) {
    throw new ShapeError('ONNX export: the graph depends on the batch size; pass a fixed options.batch');
  }
  const weights = new Map<string, Weight>();
  for (const [name, t] of tensors) weights.set(name, { shape: t.shape, data: new Float32Array(await t.data()) });  // one tensor at a time, off the event loop
  const model = await onnxModel(graphs, weights, target, resolved);
  await writeModel(model, file);
}
