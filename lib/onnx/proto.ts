// ONNX's protobuf messages, encoded by protobufjs from the official schema
// (proto/onnx.proto, from ONNX 1.12, Apache-2.0): a maintained encoder and the
// standard's own field numbers, so no wire format is written by hand here.
// Field names are kept as the schema spells them (raw_data, not rawData).
import * as path from 'node:path';

import * as protobuf from 'protobufjs';

import { packageRoot } from '../package-root';

export interface AttributeProto {
  name: string;
  type: 'FLOAT' | 'INT' | 'STRING' | 'INTS' | 'FLOATS';
  f?: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
  floats?: number[];
}

export interface NodeProto {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
}

/** TensorProto.DataType values used here. */
export const FLOAT = 1;
export const INT64 = 7;

export interface TensorProto {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;  // little-endian, as ONNX requires (and every platform we ship for is)
}

/** A dimension is a size, or a name for a size given at run time (the batch). */
export type Dim = number | string;

export interface ValueInfoProto {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } } };
}

export interface ModelProto {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  producer_version: string;
  doc_string: string;
  graph: { name: string; node: NodeProto[]; initializer: TensorProto[]; input: ValueInfoProto[]; output: ValueInfoProto[] };
  metadata_props: { key: string; value: string }[];
}

export function valueInfo(name: string, dims: Dim[]): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: FLOAT, shape: { dim } } } };
}

let modelType: protobuf.Type | undefined;

/** The serialized model. The schema is parsed once, on first use. */
export function encodeModel(model: ModelProto): Uint8Array {
  if (!modelType) {
    const root = new protobuf.Root();
    root.loadSync(path.join(packageRoot, 'proto', 'onnx.proto'), { keepCase: true });
    modelType = root.lookupType('onnx.ModelProto');
  }
  return modelType.encode(modelType.fromObject(model)).finish();
}
