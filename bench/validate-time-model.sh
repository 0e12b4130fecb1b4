#!/usr/bin/env bash
# The GPU time model of this checkout against the one GPU measurement so far
# (the H200, 2026-11-30, commit 039b9cf): builds commit 9768c73 — whose launch
# plans describe the kernels that ran there — with this checkout's
# native/cpp/gpu/time_model.{h,cpp}, and prints bench/time_model_vs_h200.py's
# rows, op groups and steps. CPU only, no GPU and no PyTorch; about 3 minutes
# on 2 cores.
#
#   bash bench/validate-time-model.sh [work dir, default /tmp/dmdlk-9768c73]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/dmdlk-9768c73}"
if [ ! -d "$work/.git" ] && [ ! -f "$work/.git" ]; then
  git -C "$root" worktree add --force --detach "$work" 9768c73 >/dev/null
fi
git -C "$work" checkout --quiet --force 9768c73
# 9768c73 kept the host side of the CUDA backend in native/cuda ("cuda/…").
for file in time_model.h time_model.cpp; do
  sed 's|#include "gpu/|#include "cuda/|' "$root/native/cpp/gpu/$file" > "$work/native/cuda/$file"
done
# 9768c73's LaunchPlan lacks three fields the model reads; its kernels' issue,
# registers and chains of dependent loads were not counted (0, the default 32
# and 0: no issue bound, no register limit on residency, no latency bound).
sed -i 's|^  int64_t serial_reduction = 1;$|  int64_t serial_reduction = 1;\n  double issue_slots = 0;\n  int64_t registers = 32;\n  int64_t dependent_loads = 0;|' \
  "$work/native/cuda/launch_plan.h"
cmake -S "$work" -B "$work/build-cpu" -G Ninja -DDMDLK_CUDA=off -DDMDLK_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build-cpu" --target bench_ops bench_model >/dev/null
python3 "$root/bench/time_model_vs_h200.py" "$work/build-cpu"
