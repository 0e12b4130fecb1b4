#!/usr/bin/env bash
# bench/model: the default DMDLK-Net at 448×448, forward (batch 1) and a
# training step (forward + backward + Adam, batch 4, or each batch size of
# DMDLK_BENCH_TRAIN_BATCHES, e.g. "4 16 32"), ours and PyTorch + torchvision
# with identical weights, each task in its own process (so peak memory is the
# task's), in the same run, with the same threads. Prints a table (ratio =
# PyTorch time / ours) and writes bench/results/model-<device>.json.
#   bash bench/model.sh [runs] [device]   (build first: npm run build)
# With device cuda, both run on the GPU in three precisions, each against its
# peer: ours at matmul precision highest / high (TF32) / medium (BF16) against
# PyTorch's fp32, TF32 and bf16 autocast.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
device=${2:-cpu}
threads=${DMDLK_NUM_THREADS:-$(nproc)}
export DMDLK_NUM_THREADS=$threads OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
work=$(mktemp -d)
model_config=${DMDLK_BENCH_CONFIG:-'{}'}  # the model to measure (default: the paper's)
trap 'rm -rf "$work"' EXIT
node -e "
const { DMDLKNet } = require('./dist/lib');
DMDLKNet.create($model_config, { seed: 1 }).then((m) => m.save('$work/model.safetensors')).then(() => process.exit(0));"
source bench/find_python.sh
precisions=fp32
[ "$device" = cpu ] || precisions="fp32 tf32 bf16"
declare -A matmul_precision=([fp32]=highest [tf32]=high [bf16]=medium)
tag() { sed "s/}\$/, \"precision\": \"$1\"}/"; }
train_batches=${DMDLK_BENCH_TRAIN_BATCHES:-4}
peer() { "$python" bench/model_torch.py "$task" "$work/model.safetensors" "$runs" "$device" "$precision" "$1"; }
mkdir -p bench/results
# The rows measured so far, into bench/results/model-<device>.json (after each
# task and precision, so that a run cut short by a time limit keeps what it
# measured) and, with --table, as a table.
summarize() {
  "$python" - "$work/ours" "$work/peer" "$threads" "$device" "${1:-}" <<'PY'
import json, sys, datetime
table = sys.argv[5] == "--table"
ours = [json.loads(l) for l in open(sys.argv[1])]
peers = [json.loads(l) for l in open(sys.argv[2])]
device = sys.argv[4]
memory_key = "peak_rss_mb" if device == "cpu" else "gpu_mb"
if not table:
    sys.stdout = open("/dev/null", "w")
print(f"DMDLK-Net on {device}, {sys.argv[3]} CPU threads (fastest run, seconds; memory: "
      f"{'peak RSS' if device == 'cpu' else 'GPU memory held'})")
print(f"{'task':24} {'peer':6} {'ours s':>8} {'img/s':>7} {'MB':>6} {'steady':>6}   {'torch s':>8} {'img/s':>7} {'MB':>6} {'steady':>6}   {'speed':>6} {'memory':>7}")
rows = []
for o in ours:
    for p in (p for p in peers if (p["task"], p["precision"], p["batch"]) == (o["task"], o["precision"], o["batch"])):
        label = f"forward, batch {o['batch']}" if o["task"] == "forward" else f"training step, batch {o['batch']}"
        speed = p["seconds"] / o["seconds"]
        memory = o[memory_key] / p[memory_key] if p[memory_key] else float("nan")
        steady = lambda r: f"{r.get('steady_rss_mb', 0):6.0f}" if device == "cpu" else f"{'-':>6}"
        print(f"{label:24} {p['precision']:6} {o['seconds']:8.2f} {o['images_per_second']:7.2f} {o[memory_key]:6.0f} {steady(o)}   "
              f"{p['seconds']:8.2f} {p['images_per_second']:7.2f} {p[memory_key]:6.0f} {steady(p)}   {speed:5.2f}x {memory:6.2f}x")
        rows.append({"task": o["task"], "batch": o["batch"], "precision": p["precision"], "ours": o, "pytorch": p,
                     "speedup": speed,
                     "memory_ratio": memory})
json.dump({"date": datetime.date.today().isoformat(), "device": device, "threads": int(sys.argv[3]), "results": rows},
          open(f"bench/results/model-{device}.json", "w"), indent=1)
PY
}
for task in forward train; do
  batches=1
  [ "$task" = forward ] || batches=$train_batches
  for precision in $precisions; do
    for batch in $batches; do
      DMDLK_MATMUL_PRECISION=${matmul_precision[$precision]} \
        build/bench_model "$task" "$work/model.safetensors" "$runs" "$device" "$batch" | tag "$precision" >> "$work/ours"
      # The CPU's memory is the process's peak RSS: one batch size per PyTorch process there.
      if [ "$device" = cpu ]; then peer "$batch" | tag "$precision" >> "$work/peer"; fi
    done
    # On the GPU one process measures every size: importing PyTorch is most of a short run.
    if [ "$device" != cpu ]; then peer "${batches// /,}" | tag "$precision" >> "$work/peer"; fi
    summarize
  done
done
summarize --table
