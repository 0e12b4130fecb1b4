#!/usr/bin/env bash
# bench/scaling: how a training step and a forward pass of the default
# DMDLK-Net grow with the batch (1–32, at 224×224) and with the input size
# (224–768, batch 1), in time per image and memory (peak RSS of the process,
# and the step's planned arena). Each point runs in its own process. Writes
# bench/results/scaling-<device>.json and .svg (the plot in the README).
#   bash bench/scaling.sh [device]     (build first: npm run build)
set -euo pipefail
cd "$(dirname "$0")/.."
device=${1:-cpu}
export DMDLK_NUM_THREADS=${DMDLK_NUM_THREADS:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for size in 224 320 448 576 768; do
  node -e "
const { DMDLKNet } = require('./dist/lib');
DMDLKNet.create({ inputSize: $size }, { seed: 1 }).then((m) => m.save('$work/model-$size.safetensors')).then(() => process.exit(0));"
done
point() {  # sweep size task batch
  build/bench_model "$3" "$work/model-$2.safetensors" 3 "$device" "$4" 2>/dev/null |
    sed "s/^{/{\"sweep\": \"$1\", \"size\": $2, /" >> "$work/points"
}
for batch in 1 2 4 8 16 32; do point batch 224 forward $batch; point batch 224 train $batch; done
for size in 224 320 448 576 768; do point size $size forward 1; point size $size train 1; done
source bench/find_python.sh
"$python" bench/scaling_plot.py "$work/points" "$device" "$DMDLK_NUM_THREADS"
