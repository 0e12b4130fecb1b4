// ONNX's protobuf messages, encoded by protobufjs from the official schema
// (proto/onnx.proto, from ONNX 1.12, Apache-2.0): a maintained encoder and the
// standard's own field numbers, so no wire format is written by hand here.
// Field names are kept as the schema spells them (raw_data, not rawData).
// The messages are plain objects here; protobufjs runs in the writer's worker.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { InternalError, IOError } from '../errors';
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
export const INT32 = 6;
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

/**
 * Encodes and writes the model in a worker thread (encoding the default
 * model's 23 MB takes a quarter of a second, which the event loop must not wait for). The
 * file is written through a synced temporary file beside it and renamed, so
 * it is whole or absent. The worker is plain JavaScript run with `eval`, so
 * it works the same from lib/ (ts-node, jest) and dist/.
 */
export function writeModel(model: ModelProto, file: string): Promise<void> {
  const buffers = new Set<ArrayBuffer>();
  for (const t of model.graph.initializer) buffers.add(t.raw_data.buffer as ArrayBuffer);
  const worker = new Worker(WRITER, {
    eval: true,
    workerData: { protobufjs: require.resolve('protobufjs'), schema: path.join(packageRoot, 'proto', 'onnx.proto') },
  });
  return new Promise<void>((resolve, reject) => {
    worker.once('message', (reply: { error?: string; io?: boolean }) => {
      if (reply.error === undefined) resolve();
      else reject(reply.io ? new IOError(`cannot write '${file}': ${reply.error}`) : new InternalError(`ONNX encoding failed: ${reply.error}`));
    });
    worker.once('error', (error) => reject(new InternalError(`ONNX writer: ${error.message}`)));
    worker.once('exit', () => reject(new InternalError('ONNX writer exited without a reply')));  // ignored after a reply
    worker.postMessage({ model, file }, [...buffers]);
  }).finally(() => worker.terminate());
}

const WRITER = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const protobuf = require(workerData.protobufjs);
parentPort.once('message', ({ model, file }) => {
  let bytes;
  try {
    const root = new protobuf.Root();
    root.loadSync(workerData.schema, { keepCase: true });
    const type = root.lookupType('onnx.ModelProto');
    bytes = type.encode(type.fromObject(model)).finish();
  } catch (error) {
    parentPort.postMessage({ error: error.message });
    return;
  }
  const temp = file + '.' + process.pid + '.tmp';
  try {
    const fd = fs.openSync(temp, 'w');
    try {
      fs.writeFileSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    parentPort.postMessage({});
  } catch (error) {
    fs.rmSync(temp, { force: true });
    parentPort.postMessage({ error: error.message, io: true });
  }
});
`;
