#!/usr/bin/env bash
# The whole GPU comparison in one call, under 6 minutes on an H200 (each part
# has its own time limit, so one slow part cannot eat the others' time):
#   bench/gpu_peak.py         the GPU's measured GEMM peak (cuBLAS fp32, TF32, bf16)
#   bench/ops.sh cuda         every op against that machine's PyTorch, both in fp32 (no TF32)
#   bench/model.sh 3 cuda     the default network: ours at matmul precision highest, high and
#                             medium against PyTorch eager fp32, TF32 and bf16 autocast
#   bench/scaling.sh cuda     time and GPU memory over batch 1–32 and input 224–768 (TF32)
# Logs and JSON results go to $OUT (default /tmp). test/gpu/device-run.sh calls it
# on the lent machine; run it by hand on any machine with a GPU and a build.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp}
mkdir -p "$out"
source bench/find_python.sh
timeout 30 "$python" bench/gpu_peak.py 2>&1 | tee "$out/bench-gpu-peak.log"
DMDLK_MATMUL_PRECISION=highest DMDLK_BENCH_ROUNDS=1 timeout 80 bash bench/ops.sh cuda 2>&1 | tee "$out/bench-ops-cuda.log"
timeout 180 bash bench/model.sh 3 cuda 2>&1 | tee "$out/bench-model-cuda.log"
timeout 60 bash bench/scaling.sh cuda 2>&1 | tee "$out/bench-scaling-cuda.log"
cp bench/results/*cuda* "$out/" 2>/dev/null || true
