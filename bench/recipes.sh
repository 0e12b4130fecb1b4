#!/usr/bin/env bash
# bench/recipes: the README's recipe comparison on the real ISIC sample — the
# paper's constant-rate Adam against cosine + warm-up + AdamW + the best
# validation checkpoint, the same small model, epochs, batch, data split and
# seed — each a `dmdlk train` run; their held-out metrics go to
# bench/results/recipes-isic-cpu.json with the date.
#   bash bench/recipes.sh [DATA_DIR] [EPOCHS]   (build first: npm run build)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/isic-sample}
epochs=${2:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(--data "$data" --config '{"stem":8,"widths":[8,16,16,32],"depths":[1,1,1,1],"headDim":8}' --input-size 128
  --epochs "$epochs" --batch-size 8 --lr 3e-3 --augment online --overlays 0 --seed 0)
node dist/lib/cli/main.js train "${common[@]}" --out "$work/paper"
node dist/lib/cli/main.js train "${common[@]}" --out "$work/modern" --schedule cosine --warmup 1 --optimizer adamw --save best
node -e "
const fs = require('fs');
const read = (run) => JSON.parse(fs.readFileSync('$work/' + run + '/metrics.json', 'utf8'));
const row = (run, flags) => { const m = read(run); return { flags, best: m.best ? { epoch: m.best.epoch, value: m.best.value } : null, test: { pooled: m.test.pooled, perImage: m.test.perImage,
  thresholdedJaccard: m.test.thresholdedJaccard } }; };
const results = { measured: new Date().toISOString().slice(0, 10), data: '$data', epochs: $epochs,
  common: 'dmdlk train --config <the demo model> --input-size 128 --epochs $epochs --batch-size 8 --lr 3e-3 --augment online --seed 0',
  paper: row('paper', ''), modern: row('modern', '--schedule cosine --warmup 1 --optimizer adamw --save best') };
fs.writeFileSync('bench/results/recipes-isic-cpu.json', JSON.stringify(results, null, 1) + '\n');
for (const k of ['paper', 'modern']) console.log(k + ': held-out pooled Dice ' + (100 * results[k].test.pooled.dice).toFixed(2));
"
