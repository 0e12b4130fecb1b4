#!/usr/bin/env bash
# bench/isic-demo: `dmdlk demo` on the real ISIC sample, from a cold decode
# cache, timed, as a new user first runs it. Rewrites the "demo" entry of
# bench/results/isic-sample-cpu.json (command, date, seconds, configuration,
# history, held-out metrics), where the README's row comes from.
#   bash bench/isic-demo.sh [DATA_DIR]   (build first: npm run build)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/isic-sample}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s.%N)
XDG_CACHE_HOME="$work/cache" node dist/lib/cli/main.js demo --data "$data" --out "$work/out"
end=$(date +%s.%N)
node -e "
const fs = require('fs');
const file = 'bench/results/isic-sample-cpu.json';
const results = JSON.parse(fs.readFileSync(file, 'utf8'));
const metrics = JSON.parse(fs.readFileSync('$work/out/metrics.json', 'utf8'));
results.demo = { command: 'dmdlk demo --data ../shared/data/isic-sample', measured: new Date().toISOString().slice(0, 10),
  machine: require('os').cpus().length + ' cores, ' + metrics.device, seconds: Math.round($end - $start),
  config: metrics.config, history: metrics.history, test: { pooled: metrics.test.pooled, perImage: metrics.test.perImage } };
fs.writeFileSync(file, JSON.stringify(results, null, 1) + '\n');
console.log('demo on the real sample: ' + results.demo.seconds + ' s, held-out pooled Dice ' + (100 * metrics.test.pooled.dice).toFixed(2));
"
