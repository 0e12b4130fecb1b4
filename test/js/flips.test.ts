// Test-time augmentation by flips: predict's and evaluate's 'flips' give the
// mean of the probabilities of the four flipped images, each flipped back,
// as the test computes it from plain predictions.
import { DMDLKNet, InvalidArgumentError, type ModelConfig, syntheticLesions, Tensor } from '../../lib';

const tiny: ModelConfig = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };
const side = 32, plane = side * side;

/** uint8 [B, S, S, 3] with rows (vertical) and/or columns (horizontal) reversed. */
function flip(pixels: Uint8Array, batch: number, horizontal: boolean, vertical: boolean): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++)
        for (let c = 0; c < 3; c++) {
          const fy = vertical ? side - 1 - y : y, fx = horizontal ? side - 1 - x : x;
          out[((n * side + y) * side + x) * 3 + c] = pixels[((n * side + fy) * side + fx) * 3 + c];
        }
  return out;
}

describe('test-time augmentation by flips', () => {
  it('averages the probabilities of the four flips, each flipped back', async () => {
    const model = await DMDLKNet.create(tiny, { seed: 4, device: 'cpu' });
    const data = syntheticLesions({ count: 3, size: side, seed: 2 });
    const pixels = data.images;
    const expected = new Float64Array(3 * 2 * plane);
    for (const [h, v] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const { probabilities } = await model.predict(Tensor.from(flip(pixels, 3, h, v), [3, side, side, 3]), { probabilities: true });
      const p = (await probabilities!.data()) as Float32Array;
      for (let q = 0; q < 3 * 2; q++)
        for (let y = 0; y < side; y++)
          for (let x = 0; x < side; x++) {
            const fy = v ? side - 1 - y : y, fx = h ? side - 1 - x : x;
            expected[q * plane + y * side + x] += p[q * plane + fy * side + fx] / 4;
          }
    }
    const tta = await model.predict(Tensor.from(pixels, [3, side, side, 3]), { probabilities: true, tta: 'flips' });
    const got = (await tta.probabilities!.data()) as Float32Array;
    expect(Math.max(...Array.from(got, (g, i) => Math.abs(g - expected[i])))).toBeLessThan(1e-6);
    // The masks are the argmax of the mean, here and in evaluate.
    const masks = (await tta.masks.data()) as Uint8Array;
    expect(Array.from(masks)).toEqual(Array.from(masks, (_, i) => {
      const n = Math.floor(i / plane), p = i % plane;
      return expected[(n * 2 + 1) * plane + p] > expected[n * 2 * plane + p] ? 1 : 0;
    }));
    const seen: number[] = [];
    await model.evaluate(data, { tta: 'flips', batchSize: 3, onBatch: (predicted) => { seen.push(...predicted); } });
    expect(seen).toEqual(Array.from(masks));
    // Without it, predict is the plain forward's.
    const plain = await model.predict(Tensor.from(pixels, [3, side, side, 3]), { probabilities: true });
    expect(Math.max(...Array.from((await plain.probabilities!.data()) as Float32Array, (g, i) => Math.abs(g - got[i])))).toBeGreaterThan(1e-4);
    await expect(model.predict(Tensor.from(pixels, [3, side, side, 3]), { tta: 'rotations' as never })).rejects.toThrow(InvalidArgumentError);
    model.dispose();
  });
});
