#!/usr/bin/env bash
# bench/model: the default DMDLK-Net at 448×448, forward (batch 1) and a
# training step (forward + backward + Adam, batch 4), ours and PyTorch 1.13 +
# torchvision with identical weights, each task in its own process (so peak
# memory is the task's), in the same run, with the same threads. Prints a
# table (ratio = PyTorch time / ours) and writes bench/results/model-cpu.json.
#   bash bench/model.sh [runs]     (build first: npm run build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
threads=${DMDLK_NUM_THREADS:-$(nproc)}
export DMDLK_NUM_THREADS=$threads OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node -e "
const { DMDLKNet } = require('./dist/lib');
DMDLKNet.create({}, { seed: 1 }).then((m) => m.save('$work/model.safetensors')).then(() => process.exit(0));"
for task in forward train; do
  build/bench_model "$task" "$work/model.safetensors" "$runs" >> "$work/ours"
  /usr/bin/python3 bench/model_torch.py "$task" "$work/model.safetensors" "$runs" >> "$work/peer"
done
mkdir -p bench/results
/usr/bin/python3 - "$work/ours" "$work/peer" "$threads" <<'PY'
import json, sys, datetime
ours = [json.loads(l) for l in open(sys.argv[1])]
peer = {r["task"]: r for r in map(json.loads, open(sys.argv[2]))}
print(f"DMDLK-Net 448x448 on the CPU, {sys.argv[3]} threads (median seconds)")
print(f"{'task':28} {'ours s':>8} {'img/s':>7} {'MB':>6}   {'torch s':>8} {'img/s':>7} {'MB':>6}   {'speed':>6} {'memory':>7}")
rows = []
for o in ours:
    p = peer[o["task"]]
    label = "forward, batch 1" if o["task"] == "forward" else "training step, batch 4"
    speed, memory = p["seconds"] / o["seconds"], o["peak_rss_mb"] / p["peak_rss_mb"]
    print(f"{label:28} {o['seconds']:8.2f} {o['images_per_second']:7.2f} {o['peak_rss_mb']:6.0f}   {p['seconds']:8.2f} "
          f"{p['images_per_second']:7.2f} {p['peak_rss_mb']:6.0f}   {speed:5.2f}x {memory:6.2f}x")
    rows.append({"task": o["task"], "ours": o, "pytorch": p, "speedup": speed, "memory_ratio": memory})
json.dump({"date": datetime.date.today().isoformat(), "threads": int(sys.argv[3]), "results": rows},
          open("bench/results/model-cpu.json", "w"), indent=1)
PY
