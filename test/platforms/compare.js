// Compares a platform's smoke.js result with the Linux x64 build's: the same
// logits (within 1e-5, relative: compilers may contract a multiply-add on one
// and not the other, and the GEMM kernels sum in their own orders), a
// reloaded model that predicts exactly as saved, a resumed fit, the same
// prediction on the JPEG (probabilities within 1e-4), the same typed error. Exit 1 with the differences otherwise.
//   node test/platforms/compare.js <x64.json> <platform.json>
'use strict';
const fs = require('node:fs');

const [want, got] = process.argv.slice(2).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const problems = [];
let worst = 0;
want.logits.forEach((v, i) => {
  worst = Math.max(worst, Math.abs(v - got.logits[i]) / (1e-6 + Math.abs(v)));
});
if (got.logits.length !== want.logits.length || !(worst <= 1e-5)) problems.push(`logits differ by ${worst} (relative)`);
if (!got.reloadedSame) problems.push('the reloaded model does not predict as the saved one');
if (got.resumedEpochs !== 2) problems.push(`the resumed fit has ${got.resumedEpochs} epochs of history, not 2`);
const wp = want.predicted, gp = got.predicted;
let worstProbability = 0;
wp.probabilities.forEach((v, i) => {
  worstProbability = Math.max(worstProbability, Math.abs(v - gp.probabilities[i]));
});
if (gp.width !== wp.width || gp.height !== wp.height || gp.probabilities.length !== wp.probabilities.length || !(worstProbability <= 1e-4)) {
  problems.push(`the JPEG's prediction differs: ${gp.width}×${gp.height}, probabilities within ${worstProbability}`);
}
if (JSON.stringify(got.error) !== JSON.stringify(want.error)) problems.push(`error ${JSON.stringify(got.error)}, not ${JSON.stringify(want.error)}`);
console.log(`${got.platform}-${got.arch} (${got.simd}): logits within ${worst.toExponential(1)} of linux-x64's, ` +
  `first epoch's loss ${got.firstLoss} (x64 ${want.firstLoss}), resumed, predicted a ${gp.width}×${gp.height} JPEG ` +
  `(${gp.lesion} lesion pixels, x64 ${wp.lesion}; probabilities within ${worstProbability.toExponential(1)}), ` +
  `${got.error?.code ?? 'no error'} from a bad call`);
if (problems.length) {
  console.error(`FAILED: ${problems.join('; ')}`);
  process.exit(1);
}
