#!/usr/bin/env bash
# bench/ops: every op case of test/op_cases.json with a bench row, at the
# network's shapes (448×448, batch 4), ours against PyTorch 1.13 + torchvision
# on this machine, in the same run, with the same threads. Prints a table of times and ratios
# (peer time / our time: > 1 means we are faster) and writes JSON to
# bench/results/ops-<device>.json.
#   bash bench/ops.sh            (build first: npm run build)
#   bash bench/ops.sh cuda       (on a GPU machine; the peer then runs on CUDA too)
set -euo pipefail
cd "$(dirname "$0")/.."
device=${1:-cpu}
threads=${DMDLK_NUM_THREADS:-$(nproc)}
export DMDLK_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
rounds=${DMDLK_BENCH_ROUNDS:-2}
ours=$(mktemp) peer=$(mktemp)
source bench/find_python.sh
# Rounds alternate ours and PyTorch, so that a noisy spell on a shared
# machine does not fall on one side only; each case keeps its fastest round.
for round in $(seq "$rounds"); do
  build/bench_ops --device "$device" >> "$ours"
  "$python" bench/ops_torch.py "$device" >> "$peer"
done
mkdir -p bench/results
"$python" - "$ours" "$peer" "$device" "$threads" <<'PY'
import json, sys, datetime
def fastest(path):  # per case, the fastest round of each direction, in first-seen order
    best = {}
    for r in map(json.loads, open(path)):
        b = best.setdefault(r["name"], dict(r))
        b["forward_ms"], b["backward_ms"] = min(b["forward_ms"], r["forward_ms"]), min(b["backward_ms"], r["backward_ms"])
    return best
ours = list(fastest(sys.argv[1]).values())
peer = fastest(sys.argv[2])
device, threads = sys.argv[3], sys.argv[4]
print(f"ops on {device}, {threads} threads; times in ms (fastest run); ratio = PyTorch / ours")
print(f"{'case':44} {'fwd':>9} {'torch':>9} {'ratio':>6}   {'bwd':>9} {'torch':>9} {'ratio':>6}")
rows = []
for o in ours:
    p = peer[o["name"]]
    rf = p["forward_ms"] / o["forward_ms"]
    rb = p["backward_ms"] / o["backward_ms"] if o["backward_ms"] > 0 else float("nan")
    print(f"{o['name']:44} {o['forward_ms']:9.2f} {p['forward_ms']:9.2f} {rf:6.2f}   {o['backward_ms']:9.2f} {p['backward_ms']:9.2f} {rb:6.2f}")
    rows.append({"name": o["name"], "ours": o, "pytorch": p, "forward_ratio": rf, "backward_ratio": rb})
json.dump({"date": datetime.date.today().isoformat(), "device": device, "threads": int(threads), "cases": rows},
          open(f"bench/results/ops-{device}.json", "w"), indent=1)
PY
rm -f "$ours" "$peer"
