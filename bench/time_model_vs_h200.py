"""The GPU time model (native/cpp/gpu/time_model.h) against the H200's measured
times (bench/results/h200-2026-11-30.json): every op row of bench/ops.sh cuda
and the model rows of bench/model.sh cuda, predicted by the plans of this
checkout (build/bench_ops --plan-only, build/bench_model --plan-only) for the
same shapes and precisions. Needs no GPU and no PyTorch:

    python3 bench/time_model_vs_h200.py [build dir]

Prints predicted / measured for each row (1.0 = exact), the worst rows, the
rows added up by op group and the geometric mean of the error. The
predictions are of the build's kernels, so the comparison calibrates only
where they are the measured commit's (039b9cf): bench/validate-time-model.sh
builds commit 9768c73, whose plans describe those kernels, with this
checkout's model, and runs this script on it; on this checkout's own build
the ratios compare the new kernels with the old ones' times."""
import json
import math
import os
import subprocess
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
measured = json.load(open(os.path.join(root, "bench", "results", "h200-2026-11-30.json")))
# bench/ops.sh times each op from the host, with one cudaDeviceSynchronize
# after it: about 10 µs that the model of the kernels does not hold (the
# fastest op of the table took 0.01 ms in all).
SYNC_MS = 0.01


def run(args, precision):
    env = dict(os.environ, DMDLK_MATMUL_PRECISION=precision)
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


predicted_ops = {r["name"]: r for r in run([os.path.join(build, "bench_ops"), "--plan-only"], "highest")}
rows = []
for op in measured["ops"]:
    p = predicted_ops.get(op["name"])
    if p is None:
        continue
    for direction in ("forward", "backward"):
        rows.append((f"{op['name']} {direction}", p[f"{direction}_ms"] + SYNC_MS, op["ours"][f"{direction}_ms"]))
model_rows = []
for m in measured["model"]:
    p = run([os.path.join(build, "bench_model"), "--plan-only", m["task"], str(m["batch"])], m["precision"])[0]
    model_rows.append((f"{m['task']}, batch {m['batch']}, {m['precision']}", p["seconds"] * 1e3, m["ours"]["seconds"] * 1e3))

print("GPU time model against the H200 (2026-11-30), ms; ratio = predicted / measured")
print(f"{'row':52} {'predicted':>10} {'measured':>10} {'ratio':>6}")
for name, pred, meas in model_rows:
    print(f"{name:52} {pred:10.1f} {meas:10.1f} {pred / meas:6.2f}")
print()
errors = sorted(rows, key=lambda r: -abs(math.log(r[1] / r[2])))
for name, pred, meas in errors:
    print(f"{name:52} {pred:10.3f} {meas:10.3f} {pred / meas:6.2f}")
# Op groups: each group's rows (forward and backward) added up, predicted
# against measured.
GROUPS = [
    ("DDLK offset convolutions", ("DDLK offset conv",)),
    ("DDLK deformable convolutions", ("DDLK dlk",)),
    ("dense convolutions (1x1, stem)", ("1x1 conv", "stem conv")),
    ("depthwise convolutions", ("depthwise",)),
    ("GEMMs (linear, matmul)", ("gemm",)),
    ("attention", ("attention",)),
    ("normalization", ("batch norm", "layer norm")),
    ("element-wise and broadcast", ("mul by", "GELU", "softmax", "bilinear", "channel m")),
    ("pooling", ("max pool", "avg pool", "global avg pool")),
    ("layout", ("window partition",)),
]
print(f"\n{'op group':52} {'predicted':>10} {'measured':>10} {'ratio':>6}")
grouped = set()
for group, prefixes in GROUPS:
    members = [r for r in rows if r[0].startswith(prefixes)]
    grouped.update(r[0] for r in members)
    if members:
        pred, meas = sum(r[1] for r in members), sum(r[2] for r in members)
        print(f"{group + f' ({len(members)} rows)':52} {pred:10.3f} {meas:10.3f} {pred / meas:6.2f}")
assert len(grouped) == len(rows), f"rows in no group: {sorted(set(r[0] for r in rows) - grouped)}"
geo = math.exp(math.sqrt(sum(math.log(p / m) ** 2 for _, p, m in rows) / len(rows)))
within2 = sum(1 for _, p, m in rows if 0.5 <= p / m <= 2)
print(f"\nops: {len(rows)} rows, typical error {geo:.2f}x (geometric RMS), {within2} within 2x")
