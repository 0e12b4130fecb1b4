// The learning curves' axes label round values: a loss step of 1, 2 or 5
// times a power of ten, on the grid the validation scores share.
import { learningCurvesSvg, lossAxis } from '../../lib/viz/curves';
import type { EpochRecord } from '../../lib/train/fit';

function record(epoch: number, loss: number): EpochRecord {
  const scores = { iou: 0.5, dice: 0.6, accuracy: 0.9, sensitivity: 0.7, specificity: 0.95 };
  return { epoch, loss, imagesPerSecond: 10, seconds: 1, validation: scores } as EpochRecord;
}

/** The labels of one axis, from the bottom up. */
function ticks(svg: string, axis: 'loss' | 'score'): string[] {
  return [...svg.matchAll(new RegExp(`class="${axis}-tick">([^<]*)<`, 'g'))].map((m) => m[1]);
}

describe('learning curves', () => {
  it('label the loss axis with round steps and share the grid with the scores', () => {
    // The case: a first epoch at 0.57 gave ticks 0.14, 0.28, 0.43, 0.57.
    const svg = learningCurvesSvg([record(1, 0.57), record(2, 0.31), record(3, 0.22)]);
    expect(ticks(svg, 'loss')).toEqual(['0', '0.2', '0.4', '0.6', '0.8']);
    expect(ticks(svg, 'score')).toEqual(['0', '0.25', '0.5', '0.75', '1']);
  });

  it('choose a step of 1, 2 or 5 × 10^k for any loss, the top close above the largest', () => {
    for (const maxLoss of [0.0123, 0.057, 0.21, 0.43, 0.69, 0.999, 1, 1.3, 2.5, 7, 48, 1234]) {
      const { top, intervals } = lossAxis(maxLoss);
      const step = top / intervals, mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      expect({ maxLoss, intervals: [4, 5].includes(intervals), mantissa: [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6) })
        .toEqual({ maxLoss, intervals: true, mantissa: true });
      expect(top).toBeGreaterThanOrEqual(maxLoss);
      expect(top).toBeLessThanOrEqual(2 * maxLoss);  // the curve fills at least half the height
    }
    const svg = learningCurvesSvg([record(1, 0.21), record(2, 0.1)]);
    expect(ticks(svg, 'loss')).toEqual(['0', '0.05', '0.1', '0.15', '0.2', '0.25']);
    expect(ticks(svg, 'score')).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1']);
  });
});
