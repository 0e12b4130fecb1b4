// A file that cannot be read is an I/O error (ERR_IO) and one that is no
// image a data error (ERR_DATA), from the API and the CLI alike.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import sharp from 'sharp';

import { DataError, DMDLKNet, IOError } from '../../lib';
import { dmdlk } from './run-cli';



describe('predict of files that cannot be read or decoded', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-predict-errors-'));
  const modelFile = path.join(dir, 'model.safetensors'), image = path.join(dir, 'photo.png');
  let model: DMDLKNet;
  beforeAll(async () => {
    model = await DMDLKNet.create({ stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8, inputSize: 32 }, { device: 'cpu' });
    await model.save(modelFile);
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 150, b: 120 } } }).png().toFile(image);
  });
  afterAll(() => {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('from the API: a missing file or a folder is an IOError, a file or buffer that is no image a DataError', async () => {
    const notAnImage = path.join(dir, 'notes.jpg');
    fs.writeFileSync(notAnImage, 'a text file named like a JPEG');
    const cases: [string | Buffer, typeof IOError | typeof DataError, string, RegExp][] = [
      [path.join(dir, 'nonexistent.jpg'), IOError, 'ERR_IO', /^cannot read '.*nonexistent\.jpg': ENOENT/],
      [dir, IOError, 'ERR_IO', /^cannot read '.*': it is a folder$/],
      [notAnImage, DataError, 'ERR_DATA', /^cannot decode '.*notes\.jpg' as an image: /],
      [Buffer.from('nope'), DataError, 'ERR_DATA', /^cannot decode the buffer as an image: /],
      [fs.readFileSync(image).subarray(0, 60), DataError, 'ERR_DATA', /^cannot decode the buffer as an image: /],
    ];
    if (fs.existsSync('/etc/passwd')) cases.push(['/etc/passwd', DataError, 'ERR_DATA', /^cannot decode '\/etc\/passwd' as an image: /]);
    for (const [input, type, code, message] of cases) {
      const error = await model.predict(input).then(() => null, (e: unknown) => e as Error & { code: string });
      const name = Buffer.isBuffer(input) ? `a buffer of ${input.length} bytes` : input;
      expect({ name, type: error?.constructor.name, code: error?.code, message: error?.message })
        .toEqual({ name, type: type.name, code, message: expect.stringMatching(message) });
    }
    expect((await model.predict(image)).width).toBe(40);  // and the model is fine for the next image
  });

  it('from the CLI: the same codes; --on-error skip counts what it left out', async () => {
    const folder = path.join(dir, 'folder'), out = path.join(dir, 'out');
    fs.mkdirSync(folder);
    fs.copyFileSync(image, path.join(folder, 'a.png'));
    fs.writeFileSync(path.join(folder, 'b.jpg'), 'not a JPEG');
    const corrupt = await dmdlk('predict', '--model', modelFile, '--out', out, '--device', 'cpu', folder);
    expect(corrupt).toMatchObject({ code: 1, stderr: expect.stringMatching(/^dmdlk predict: cannot decode '.*b\.jpg' as an image: .*\(give --on-error skip to leave such files out\) \[ERR_DATA\]\n$/) });
    const skipped = await dmdlk('predict', '--model', modelFile, '--out', out, '--device', 'cpu', '--on-error', 'skip', folder);
    expect(skipped).toMatchObject({ code: 0, stdout: expect.stringMatching(/^wrote 1 mask to .*; skipped 1 unreadable file$/m) });

    // A link to a file that is gone is listed with the folder, and cannot be read.
    fs.rmSync(path.join(folder, 'b.jpg'));
    fs.symlinkSync(path.join(dir, 'gone.jpg'), path.join(folder, 'c.jpg'));
    const missing = await dmdlk('predict', '--model', modelFile, '--out', out, '--device', 'cpu', folder);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/^dmdlk predict: cannot read '.*c\.jpg': ENOENT.* \[ERR_IO\]\n$/) });
  });
});
