// TensorBoard event files (lib/cli/event-file.ts): CRC-32C against its
// published check value, the TFRecord framing, and the whole file against a
// committed fixture that TensorBoard's own reader parsed
// (test/reference/read_tensorboard.py wrote read-by-tensorboard.json from
// it): the writer must still write those bytes, and they say what was written.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { crc32c, EventFile, maskedCrc32c, tfRecord } from '../../lib/train/event-file';
import { IOError } from '../../lib/errors';

const fixtures = path.join(__dirname, '..', 'fixtures', 'tensorboard');
const png = fs.readFileSync(path.join(fixtures, 'tiny.png'));  // 3 × 2, RGB

/** The fixture's events, written at a fixed wall time. */
function writeFixture(dir: string): string {
  let time = 1_700_000_000;
  const events = new EventFile(dir, 'fixture', () => (time += 0.25));
  events.scalars(1, { 'train/loss': 0.5, 'train/lr': 3e-4 });
  events.scalars(2, { 'train/loss': 0.25, 'train/lr': 2.5e-4 });
  events.scalars(2, { 'validation/dice': 0.875 });
  events.image(2, 'overlays/tiny', png);
  events.close();
  return events.file;
}

describe('TensorBoard event files', () => {
  test('CRC-32C and its mask are TFRecord\'s', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);  // the CRC-32C check value
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);  // RFC 3720's 32 zero bytes
    const c = 0xe3069283;
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe(((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
    const record = tfRecord(Buffer.from('abc'));
    expect(record.length).toBe(8 + 4 + 3 + 4);
    expect(record.readBigUInt64LE(0)).toBe(3n);
    expect(record.readUInt32LE(8)).toBe(maskedCrc32c(record.subarray(0, 8)));
    expect(record.readUInt32LE(15)).toBe(maskedCrc32c(Buffer.from('abc')));
  });

  test('are the bytes TensorBoard read, holding what was written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-events-'));
    try {
      const file = writeFixture(dir);
      expect(path.basename(file)).toMatch(/^events\.out\.tfevents\.1700000000\..+\.fixture\.dmdlk$/);
      expect(fs.readFileSync(file).equals(fs.readFileSync(path.join(fixtures, 'events.out.tfevents.fixture')))).toBe(true);
      const read = JSON.parse(fs.readFileSync(path.join(fixtures, 'read-by-tensorboard.json'), 'utf8'));
      const f32 = (x: number) => Math.fround(x);
      expect(read).toEqual({
        file_version: 2,  // TensorBoard's reading of 'brain.Event:2'
        scalars: {
          'train/loss': [[1, f32(0.5)], [2, f32(0.25)]],
          'train/lr': [[1, f32(3e-4)], [2, f32(2.5e-4)]],
          'validation/dice': [[2, f32(0.875)]],
        },
        images: { 'overlays/tiny': [[2, 3, 2, png.length]] },
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refuse what is not a PNG, and never overwrite a file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-events-'));
    try {
      const events = new EventFile(dir, 'x', () => 5);
      expect(() => events.image(1, 'x', Buffer.from('not a png at all, not at all'))).toThrow(IOError);
      events.close();
      fs.renameSync(events.file, `${events.file}.kept`);
      fs.writeFileSync(events.file, 'other');  // the same name again: refused, the file left as it was
      expect(() => new EventFile(dir, 'x', () => 5)).toThrow(IOError);
      expect(fs.readFileSync(events.file, 'utf8')).toBe('other');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
