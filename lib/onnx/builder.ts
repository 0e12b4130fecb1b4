// The ONNX graph under construction: nodes in order, initializers (each
// weight once, under its checkpoint name) and small int64 constants, with
// fresh names for the intermediate values.
import { type AttributeProto, FLOAT, INT32, INT64, type NodeProto, type TensorProto } from './proto';

/** An attribute's value, typed as ONNX types it (an integer and a float differ in ONNX, not in JavaScript). */
export type Attribute =
  | { int: number }
  | { float: number }
  | { ints: number[] }
  | { string: string };

function attributeProto(name: string, value: Attribute): AttributeProto {
  if ('int' in value) return { name, type: 'INT', i: value.int };
  if ('float' in value) return { name, type: 'FLOAT', f: value.float };
  if ('ints' in value) return { name, type: 'INTS', ints: value.ints };
  return { name, type: 'STRING', s: new TextEncoder().encode(value.string) };
}

function bytesOf(array: Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Integers of int32 range as little-endian int64s (without a BigInt per element). */
function int64Bytes(values: ArrayLike<number>): Uint8Array {
  const words = new Int32Array(2 * values.length);
  for (let i = 0; i < values.length; i++) {
    words[2 * i] = values[i];
    words[2 * i + 1] = values[i] < 0 ? -1 : 0;
  }
  return new Uint8Array(words.buffer);
}

export class OnnxGraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();

  /** A name not used yet, from `hint`. */
  fresh(hint: string): string {
    let name = hint;
    for (let i = 1; this.used.has(name); ++i) name = `${hint}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node; returns its outputs' names (fresh ones from `prefix` when not given). */
  node(opType: string, inputs: string[], outputs: string[] | number, prefix: string,
    attributes: Record<string, Attribute> = {}): string[] {
    const names = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(`${prefix}/${opType}`)) : outputs;
    this.nodes.push({
      name: this.fresh(`${prefix}/${opType}_node`), op_type: opType, input: inputs, output: names,
      attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
    });
    return names;
  }

  /** The one output of a single-output node. */
  op(opType: string, inputs: string[], prefix: string, attributes: Record<string, Attribute> = {}): string {
    return this.node(opType, inputs, 1, prefix, attributes)[0];
  }

  /** A float32 initializer, under exactly this name (a checkpoint tensor's). */
  weight(name: string, dims: number[], data: Float32Array): string {
    if (this.used.has(name)) throw new Error(`ONNX export: '${name}' written twice`);
    this.used.add(name);
    this.initializers.push({ name, dims, data_type: FLOAT, raw_data: bytesOf(data) });
    return name;
  }

  /** An int64 constant (shapes, axes), shared by every node that uses the same values. */
  int64(values: number[], dims: number[] = [values.length]): string {
    const key = `i64 ${dims.join('x')}:${values.join(',')}`;
    return this.shared(key, () => ({ name: '', dims, data_type: INT64, raw_data: int64Bytes(values) }));
  }

  /** An int32 constant under `key`, made by `make` the first time only (index tables, which Gather takes as int32). */
  int32(key: string, dims: number[], make: () => Int32Array): string {
    return this.shared(`i32 ${key}`, () => {
      const values = make();
      return { name: '', dims, data_type: INT32, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
    });
  }

  private shared(key: string, make: () => TensorProto): string {
    const existing = this.constants.get(key);
    if (existing) return existing;
    const tensor = make();
    tensor.name = this.fresh(`const_${this.constants.size}`);
    this.initializers.push(tensor);
    this.constants.set(key, tensor.name);
    return tensor.name;
  }

  /** A float32 constant (scales), shared likewise. */
  float(values: number[], dims: number[] = [values.length]): string {
    const key = `f32 ${dims.join('x')}:${values.join(',')}`;
    return this.shared(key, () => ({ name: '', dims, data_type: FLOAT, raw_data: bytesOf(Float32Array.from(values)) }));
  }
}
