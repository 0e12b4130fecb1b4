// Each op of DMDLK-Net's inference graph in standard ONNX ops: one converter
// per op name of the native registry (native/cpp/ops/registry.cpp), beside the
// first opset in which that form exists. An op missing here has no ONNX form
// yet, and exporting a graph that holds it fails, naming the module.
import { UnsupportedError } from '../errors';
import type { OpAttributes } from '../ops.generated';
import type { Attribute, OnnxGraphBuilder } from './builder';

export interface GraphValue {
  name: string;
  shape: number[];
  kind: 'input' | 'parameter' | 'buffer' | 'computed';
}

export interface GraphNode {
  op: string;
  attrs: Record<string, unknown>;
  label: string;
  module: string;
  inputs: number[];
  outputs: number[];
}

/** The evaluation graph as the addon's inferenceGraph() writes it (native/cpp/nn/network_json.h). */
export interface InferenceGraph {
  images: number;
  logits: number;
  values: GraphValue[];
  nodes: GraphNode[];
}

/** What a converter sees of the node it converts. */
export interface NodeContext {
  readonly builder: OnnxGraphBuilder;
  readonly node: GraphNode;
  readonly opset: number;
  /** Prefix for the names of the ONNX nodes it adds (the node's label). */
  readonly prefix: string;
  /** The ONNX name of input `i`, and of output `i` (every output a later node reads must be written). */
  input(i: number): string;
  output(i: number): string;
  /** The shape of input `i` at the exported batch size. */
  inputShape(i: number): number[];
  /** A shape attribute, with -1 on its batch axis when the batch is dynamic. */
  shapeAttribute(key: string): number[];
}

interface Converter {
  /** The first opset with the ONNX ops this converter writes. */
  since: number;
  convert(c: NodeContext): void;
}

const ints = (values: number[]): Attribute => ({ ints: values });
const int = (value: number): Attribute => ({ int: value });
const float = (value: number): Attribute => ({ float: value });

/** The eps of BatchNorm2d and LayerNorm (native/cpp/ops/normalization.h). */
const NORM_EPS = 1e-5;

function binary(opType: string): Converter {
  return { since: 13, convert: (c) => void c.builder.node(opType, [c.input(0), c.input(1)], [c.output(0)], c.prefix) };
}

function reshape(c: NodeContext, x: string, shape: number[], output?: string): string {
  const inputs = [x, c.builder.int64(shape)];
  return output ? c.builder.node('Reshape', inputs, [output], c.prefix)[0] : c.builder.op('Reshape', inputs, c.prefix);
}

function transpose(c: NodeContext, x: string, perm: number[], output?: string): string {
  return output ? c.builder.node('Transpose', [x], [output], c.prefix, { perm: ints(perm) })[0]
    : c.builder.op('Transpose', [x], c.prefix, { perm: ints(perm) });
}

/** Conv and DeformConv's shared attributes, from a kernel [kh, kw]. */
function convolutionAttributes(c: NodeContext, kernel: number[]): Record<string, Attribute> {
  const { stride, padding, dilation, groups } = c.node.attrs as OpAttributes['conv2d' | 'deform_conv2d'];
  const [ph, pw] = padding;
  return { kernel_shape: ints(kernel), strides: ints(stride), dilations: ints(dilation), pads: ints([ph, pw, ph, pw]), group: int(groups) };
}

function pool(opType: string, extra: Record<string, Attribute>): Converter {
  return {
    since: 11,
    convert(c) {
      const { kernel, stride, padding } = c.node.attrs as OpAttributes['avg_pool2d' | 'max_pool2d'];
      c.builder.node(opType, [c.input(0)], [c.output(0)], c.prefix,
        { kernel_shape: ints([kernel, kernel]), strides: ints([stride, stride]), pads: ints([padding, padding, padding, padding]), ...extra });
    },
  };
}

/** Over the channels, keeping the axis: [N, C, H, W] -> [N, 1, H, W]. Axes are an input from opset 18. */
function channelReduction(opType: string): Converter {
  return {
    since: 18,
    convert: (c) => void c.builder.node(opType, [c.input(0), c.builder.int64([1])], [c.output(0)], c.prefix, { keepdims: int(1) }),
  };
}

/**
 * The bias table entry of each (query, key) pair of a wh × ww window, [N, N]
 * with N = wh·ww: for query (i, j) and key (x, y), (x − i + wh − 1)·(2ww − 1)
 * + (y − j + ww − 1) (native/cpp/ops/attention.h). Query (i, j)'s row is the
 * wh × ww block of the table [2wh − 1, 2ww − 1] at (wh − 1 − i, ww − 1 − j),
 * so it is copied a window row at a time (a global 28×28 attention has
 * 614,656 entries).
 */
function relativePositions(wh: number, ww: number): Int32Array {
  const width = 2 * ww - 1, tokens = wh * ww;
  const table = Int32Array.from({ length: (2 * wh - 1) * width }, (_, k) => k);
  const values = new Int32Array(tokens * tokens);
  for (let i = 0; i < wh; i++) {
    for (let j = 0; j < ww; j++) {
      const row = (i * ww + j) * tokens;
      for (let x = 0; x < wh; x++) {
        const start = (x - i + wh - 1) * width + (ww - 1 - j);
        values.set(table.subarray(start, start + ww), row + x * ww);
      }
    }
  }
  return values;
}

/** The activation kinds and LayerNorm axes the converters below write (onnx.test.ts: every one the declarations have). */
export const ONNX_ACTIVATIONS = ['gelu', 'sigmoid', 'silu', 'identity'] as const satisfies readonly OpAttributes['activation']['kind'][];

type ActivationKind = OpAttributes['activation']['kind'];

/**
 * `out` = activation `kind` of `x`, as ONNX nodes: the activation op's and
 * BatchNorm's. GELU is the exact erf form: ONNX's Gelu from opset 20,
 * x · (1 + erf(x / √2)) / 2 before.
 */
function activate(c: NodeContext, kind: ActivationKind, x: string, out: string): void {
  const b = c.builder;
  if (!(ONNX_ACTIVATIONS as readonly string[]).includes(kind)) {
    throw new UnsupportedError(`${c.node.module}: activation '${kind}' has no ONNX form in this version of dmdlk-native`);
  }
  if (kind === 'identity') b.node('Identity', [x], [out], c.prefix);
  else if (kind === 'sigmoid') b.node('Sigmoid', [x], [out], c.prefix);
  else if (kind === 'silu') b.node('Mul', [x, b.op('Sigmoid', [x], c.prefix)], [out], c.prefix);
  else if (c.opset >= 20) b.node('Gelu', [x], [out], c.prefix);
  else {
    const erf = b.op('Erf', [b.op('Div', [x, b.float([Math.SQRT2], [])], c.prefix)], c.prefix);
    const half = b.op('Mul', [x, b.op('Add', [erf, b.float([1], [])], c.prefix)], c.prefix);
    b.node('Mul', [half, b.float([0.5], [])], [out], c.prefix);
  }
}
export const ONNX_LAYER_NORM_AXES = ['channels', 'last'] as const satisfies readonly OpAttributes['layer_norm']['axis'][];

/**
 * The ops with no ONNX form, each with why: onnx.test.ts fails for an op
 * (every op of test/op_cases.json) in neither this table nor `converters`.
 */
export const WITHOUT_ONNX_FORM: Readonly<Record<string, string>> = {
  cross_entropy: 'a training loss: the exported inference graph ends at the logits',
  dice_loss: 'a training loss: the exported inference graph ends at the logits',
};

export const converters: Record<string, Converter> = {
  add: binary('Add'),
  mul: binary('Mul'),
  matmul: binary('MatMul'),

  // x [..., in] · wᵀ + b, with w [out, in] kept as the checkpoint has it.
  linear: {
    since: 13,
    convert(c) {
      const product = c.builder.op('MatMul', [c.input(0), transpose(c, c.input(1), [1, 0])], c.prefix);
      if (c.node.inputs.length > 2) c.builder.node('Add', [product, c.input(2)], [c.output(0)], c.prefix);
      else c.builder.node('Identity', [product], [c.output(0)], c.prefix);
    },
  },

  // Inputs x, weight, [bias], [residual]: the residual, where the op adds one, as an Add after the Conv.
  conv2d: {
    since: 11,
    convert(c) {
      const { residual } = c.node.attrs as OpAttributes['conv2d'];
      const inputs = c.node.inputs.map((_, i) => c.input(i));
      const added = residual ? inputs.pop() : undefined;
      const conv = added === undefined ? c.output(0) : c.builder.fresh(`${c.prefix}/Conv`);
      c.builder.node('Conv', inputs, [conv], c.prefix, convolutionAttributes(c, c.inputShape(1).slice(2)));
      if (added !== undefined) c.builder.node('Add', [conv, added], [c.output(0)], c.prefix);
    },
  },

  // Inputs x, offset, weight, [mask], [bias]; ONNX's order is X, W, offset, B, mask.
  // The offset layout (dy, dx per kernel tap, tap-major per offset group) is torchvision's, which ONNX follows.
  deform_conv2d: {
    since: 19,
    convert(c) {
      const { mask, bias } = c.node.attrs as OpAttributes['deform_conv2d'];
      const kernel = c.inputShape(2).slice(2);
      const offsetGroups = c.inputShape(1)[1] / (2 * kernel[0] * kernel[1]);
      const inputs = [c.input(0), c.input(2), c.input(1), bias ? c.input(mask ? 4 : 3) : '', ...(mask ? [c.input(3)] : [])];
      while (inputs[inputs.length - 1] === '') inputs.pop();
      c.builder.node('DeformConv', inputs, [c.output(0)], c.prefix,
        { ...convolutionAttributes(c, kernel), offset_group: int(offsetGroups) });
    },
  },

  activation: {
    since: 13,
    convert(c) {
      const { kind } = c.node.attrs as OpAttributes['activation'];
      activate(c, kind, c.input(0), c.output(0));
    },
  },

  softmax: { since: 13, convert: (c) => void c.builder.node('Softmax', [c.input(0)], [c.output(0)], c.prefix, { axis: int(-1) }) },

  // The eval form (running statistics); onnxruntime folds it into the
  // convolution before it. The op's activation follows as its own node.
  batch_norm: {
    since: 15,
    convert(c) {
      const inputs = [0, 1, 2, 3, 4].map((i) => c.input(i));
      const { activation } = c.node.attrs as OpAttributes['batch_norm'];
      const normalised = activation === 'identity' ? c.output(0) : c.builder.fresh(`${c.prefix}/BatchNormalization`);
      c.builder.node('BatchNormalization', inputs, [normalised], c.prefix, { epsilon: float(NORM_EPS) });
      if (activation !== 'identity') activate(c, activation, normalised, c.output(0));
    },
  },

  // Over the last axis, or over the channels of [N, C, H, W] (moved last and back).
  layer_norm: {
    since: 17,
    convert(c) {
      const { axis } = c.node.attrs as OpAttributes['layer_norm'];
      if (!(ONNX_LAYER_NORM_AXES as readonly string[]).includes(axis)) {
        throw new UnsupportedError(`${c.node.module}: layer_norm over '${axis}' has no ONNX form`);
      }
      const inputs = [c.input(0), c.input(1), c.input(2)];
      const attributes = { axis: int(-1), epsilon: float(NORM_EPS) };
      if (axis === 'last') {
        c.builder.node('LayerNormalization', inputs, [c.output(0)], c.prefix, attributes);
        return;
      }
      inputs[0] = transpose(c, inputs[0], [0, 2, 3, 1]);
      transpose(c, c.builder.op('LayerNormalization', inputs, c.prefix, attributes), [0, 3, 1, 2], c.output(0));
    },
  },

  // Windowed multi-head attention with the relative-position bias (native/cpp/ops/attention.h):
  // q, k, v [W, N, C] -> heads [W, h, N, D]; softmax(scale · Q Kᵀ + bias) V; heads back to [W, N, C].
  // The bias [h, N, N] is gathered from the checkpoint's table rel_pos [h, 2wh − 1, 2ww − 1].
  attention: {
    since: 13,
    convert(c) {
      const { window, heads, scale } = c.node.attrs as OpAttributes['attention'];
      const [, tokens, channels] = c.inputShape(0);
      const headDim = channels / heads, b = c.builder;
      const split = (x: string, perm: number[]): string => transpose(c, reshape(c, x, [0, 0, heads, headDim]), perm);
      const q = split(c.input(0), [0, 2, 1, 3]), k = split(c.input(1), [0, 2, 3, 1]), v = split(c.input(2), [0, 2, 1, 3]);
      const [wh, ww] = window;
      const index = b.int32(`relative positions ${wh}x${ww}`, [tokens, tokens], () => relativePositions(wh, ww));
      const table = reshape(c, c.input(3), [heads, (2 * wh - 1) * (2 * ww - 1)]);
      const bias = b.op('Gather', [table, index], c.prefix, { axis: int(1) });
      const scores = b.op('Add', [b.op('Mul', [b.op('MatMul', [q, k], c.prefix), b.float([scale], [])], c.prefix), bias], c.prefix);
      const probabilities = b.op('Softmax', [scores], c.prefix, { axis: int(-1) });
      const heads_ = transpose(c, b.op('MatMul', [probabilities, v], c.prefix), [0, 2, 1, 3]);
      reshape(c, heads_, [0, 0, channels], c.output(0));
    },
  },

  avg_pool2d: pool('AveragePool', { count_include_pad: int(0) }),
  max_pool2d: pool('MaxPool', {}),
  global_avg_pool: { since: 1, convert: (c) => void c.builder.node('GlobalAveragePool', [c.input(0)], [c.output(0)], c.prefix) },
  channel_mean: channelReduction('ReduceMean'),
  channel_max: channelReduction('ReduceMax'),
  channel_pool: {
    since: 18,
    convert(c) {
      const b = c.builder, axes = b.int64([1]);
      const mean = b.op('ReduceMean', [c.input(0), axes], c.prefix, { keepdims: int(1) });
      const max = b.op('ReduceMax', [c.input(0), axes], c.prefix, { keepdims: int(1) });
      b.node('Concat', [mean, max], [c.output(0)], c.prefix, { axis: int(1) });
    },
  },

  // Bilinear ×2 with align_corners=False: 'half_pixel', whose source positions below 0 clamp to the edge as PyTorch's.
  upsample2x: {
    since: 13,
    convert(c) {
      const scales = c.builder.float([1, 1, 2, 2]);
      c.builder.node('Resize', [c.input(0), '', scales], [c.output(0)], c.prefix,
        { mode: { string: 'linear' }, coordinate_transformation_mode: { string: 'half_pixel' } });
    },
  },

  concat: {
    since: 13,
    convert: (c) => void c.builder.node('Concat', c.node.inputs.map((_, i) => c.input(i)), [c.output(0)], c.prefix, { axis: int(1) }),
  },
  slice: {
    since: 13,
    convert(c) {
      const { begin, end } = c.node.attrs as OpAttributes['slice'];
      const b = c.builder;
      b.node('Slice', [c.input(0), b.int64([begin]), b.int64([end]), b.int64([1])], [c.output(0)], c.prefix);
    },
  },
  reshape: { since: 13, convert: (c) => void reshape(c, c.input(0), c.shapeAttribute('shape'), c.output(0)) },

  // [B, C, H, W] -> [B, C, H/wh, wh, W/ww, ww] -> [B, H/wh, W/ww, wh, ww, C] -> tokens [B·nW, wh·ww, C].
  window_partition: {
    since: 13,
    convert(c) {
      const [wh, ww] = (c.node.attrs as OpAttributes['window_partition' | 'window_merge']).window;
      const [, channels, height, width] = c.inputShape(0);
      const windows = transpose(c, reshape(c, c.input(0), [-1, channels, height / wh, wh, width / ww, ww]), [0, 2, 4, 3, 5, 1]);
      reshape(c, windows, [-1, wh * ww, channels], c.output(0));
    },
  },
  // The inverse: tokens -> [B, H/wh, W/ww, wh, ww, C] -> [B, C, H/wh, wh, W/ww, ww] -> [B, C, H, W].
  // With a residual, an Add after.
  window_merge: {
    since: 13,
    convert(c) {
      const [wh, ww] = (c.node.attrs as OpAttributes['window_partition' | 'window_merge']).window;
      const { image, residual } = c.node.attrs as OpAttributes['window_merge'];
      const [, channels, height, width] = image;
      const grid = transpose(c, reshape(c, c.input(0), [-1, height / wh, width / ww, wh, ww, channels]), [0, 5, 1, 3, 2, 4]);
      if (!residual) return void reshape(c, grid, [-1, channels, height, width], c.output(0));
      const merged = reshape(c, grid, [-1, channels, height, width]);
      c.builder.node('Add', [merged, c.input(1)], [c.output(0)], c.prefix);
    },
  },
};
