// A TensorBoard event file: TensorBoard's `Event` protobuf messages
// (proto/tensorboard.proto, encoded by protobufjs) in TFRecord framing, which
// is, per record: the data's length (uint64, little-endian), the masked
// CRC-32C of those 8 bytes, the data, the masked CRC-32C of the data.
// TensorBoard reads every file named *tfevents* in a folder; a resumed run
// starts a new one beside the old, and TensorBoard shows the two as one run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { IOError } from '../errors';
import { packageRoot } from '../package-root';

// protobufjs has no types for require; the Event type is looked up once.
// biome-ignore lint/suspicious/noExplicitAny: protobufjs's reflection API
type ProtoType = any;
let eventType: ProtoType | null = null;
function event(): ProtoType {
  if (!eventType) {
    const protobuf = require('protobufjs');
    eventType = protobuf.loadSync(path.join(packageRoot, 'proto', 'tensorboard.proto')).lookupType('tensorboard.Event');
  }
  return eventType;
}

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), a byte at a time.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's mask: rotated right by 15 bits, plus a constant (so a CRC of CRCs is not a CRC). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: framing around `data`. */
export function tfRecord(data: Uint8Array): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(data.length));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(maskedCrc32c(length));
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(maskedCrc32c(data));
  return Buffer.concat([length, head, data, tail]);
}

/** Width, height and TensorBoard colorspace of a PNG, from its IHDR chunk. */
function pngHeader(png: Buffer): { width: number; height: number; colorspace: number } {
  const signature = '89504e470d0a1a0a';
  if (png.length < 26 || png.subarray(0, 8).toString('hex') !== signature || png.toString('latin1', 12, 16) !== 'IHDR')
    throw new IOError('a TensorBoard image must be a PNG');
  // PNG colour types 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA.
  const colorspace = ({ 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 } as Record<number, number>)[png[25]] ?? 3;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), colorspace };
}

export class EventFile {
  readonly file: string;
  private readonly fd: number;

  /**
   * A new event file in `dir`, its name ending in `.<kind>.dmdlk` (two files of
   * one run differ by kind); `clock` gives the wall time in seconds (a fixed one
   * makes the bytes reproducible).
   */
  constructor(dir: string, kind = 'training', private readonly clock: () => number = () => Date.now() / 1000) {
    fs.mkdirSync(dir, { recursive: true });
    const seconds = Math.floor(clock());
    this.file = path.join(dir, `events.out.tfevents.${seconds}.${os.hostname()}.${process.pid}.${kind}.dmdlk`);
    try {
      this.fd = fs.openSync(this.file, 'wx');
    } catch (error) {
      throw new IOError(`cannot create '${this.file}': ${(error as Error).message}`);
    }
    this.write({ wallTime: this.clock(), fileVersion: 'brain.Event:2' });
  }

  /** Scalars at a global step, e.g. { 'train/loss': 0.31, 'train/lr': 3e-4 }. */
  scalars(step: number, values: Record<string, number>): void {
    const value = Object.entries(values).map(([tag, simpleValue]) => ({ tag, simpleValue }));
    this.write({ wallTime: this.clock(), step, summary: { value } });
  }

  /** A PNG under `tag` at a global step (TensorBoard's Images tab). */
  image(step: number, tag: string, png: Buffer): void {
    const { width, height, colorspace } = pngHeader(png);
    const image = { width, height, colorspace, encodedImageString: png };
    this.write({ wallTime: this.clock(), step, summary: { value: [{ tag, image }] } });
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private write(message: object): void {
    const type = event();
    const data = type.encode(type.fromObject(message)).finish() as Uint8Array;
    fs.writeSync(this.fd, tfRecord(data));
  }
}
