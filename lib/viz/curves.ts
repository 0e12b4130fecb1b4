// Learning curves as a self-contained SVG: the training loss per epoch and,
// where there was a validation set, its pooled Dice and IoU.
import type { EpochRecord } from '../train/fit';

const W = 720, H = 420, LEFT = 60, RIGHT = 60, TOP = 64, BOTTOM = 50;

function polyline(points: [number, number][], colour: string, dash = ''): string {
  if (points.length === 0) return '';
  const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  return `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${d}"/>`;
}

/**
 * The loss axis: its top and the number of grid intervals, 4 or 5, so that
 * both axes share the grid and label round values. A loss step is 1, 2 or 5
 * times a power of ten; the scores (0–1) step by 0.25 or 0.2. Of the two
 * counts, the one whose top is nearest the largest loss wins.
 */
export function lossAxis(maxLoss: number): { top: number; intervals: number } {
  let best = { top: Infinity, intervals: 4 };
  for (const intervals of [4, 5]) {
    const rough = maxLoss / intervals, power = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 5].map((m) => m * power).find((candidate) => candidate >= rough * (1 - 1e-9)) ?? 10 * power;
    const top = step * intervals;
    if (top < best.top) best = { top, intervals };
  }
  return best;
}

/** A tick value without the float noise of multiplying a step: 0.6, not 0.6000000000000001. */
function tickLabel(value: number): string {
  return String(Number(value.toPrecision(10)));
}

export function learningCurvesSvg(history: readonly EpochRecord[], title = 'DMDLK-Net training'): string {
  const epochs = Math.max(1, history.length);
  const { top: maxLoss, intervals } = lossAxis(Math.max(1e-6, ...history.map((r) => r.loss)));
  const x = (e: number): number => LEFT + ((W - LEFT - RIGHT) * (epochs === 1 ? 0.5 : (e - 1) / (epochs - 1)));
  const yLoss = (v: number): number => TOP + (H - TOP - BOTTOM) * (1 - v / maxLoss);
  const yScore = (v: number): number => TOP + (H - TOP - BOTTOM) * (1 - v);
  const loss = history.map((r): [number, number] => [x(r.epoch), yLoss(r.loss)]);
  const validated = history.flatMap((r) => (r.validation ? [{ epoch: r.epoch, scores: r.validation }] : []));
  const dice = validated.map((r): [number, number] => [x(r.epoch), yScore(r.scores.dice)]);
  const iou = validated.map((r): [number, number] => [x(r.epoch), yScore(r.scores.iou)]);
  const ticks = Array.from({ length: intervals + 1 }, (_, i) => {
    const t = i / intervals, y = yScore(t);
    return `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y}" y2="${y}" stroke="#ddd"/>` +
      `<text x="${LEFT - 6}" y="${y + 4}" text-anchor="end" class="loss-tick">${tickLabel(t * maxLoss)}</text>` +
      `<text x="${W - RIGHT + 6}" y="${y + 4}" class="score-tick">${tickLabel(t)}</text>`;
  }).join('');
  const epochTicks = history.filter((_, i) => history.length <= 10 || i % Math.ceil(history.length / 10) === 0)
    .map((r) => `<text x="${x(r.epoch)}" y="${H - BOTTOM + 18}" text-anchor="middle">${r.epoch}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">` +
    `<rect width="${W}" height="${H}" fill="white"/>` +
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${title}</text>${ticks}${epochTicks}` +
    `<text x="${W / 2}" y="${H - 12}" text-anchor="middle">epoch</text>` +
    `<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle">training loss</text>` +
    `<text x="${W - 14}" y="${H / 2}" transform="rotate(90 ${W - 14} ${H / 2})" text-anchor="middle">validation score</text>` +
    polyline(loss, '#c0392b') + polyline(dice, '#2471a3') + polyline(iou, '#2471a3', '5,4') +
    // The legend in one row under the title, clear of the curves.
    `<g transform="translate(${LEFT},34)">` +
    `<line x1="0" x2="22" y1="8" y2="8" stroke="#c0392b" stroke-width="2"/><text x="28" y="12">training loss (left axis)</text>` +
    (dice.length ? `<line x1="210" x2="232" y1="8" y2="8" stroke="#2471a3" stroke-width="2"/><text x="238" y="12">validation Dice</text>` +
      `<line x1="360" x2="382" y1="8" y2="8" stroke="#2471a3" stroke-width="2" stroke-dasharray="5,4"/><text x="388" y="12">validation IoU (right axis)</text>` : '') +
    '</g></svg>\n';
}
