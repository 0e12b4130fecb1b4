#!/usr/bin/env bash
# The whole GPU comparison, in parts that each have their own time limit (so
# that one slow part cannot eat the others' time):
#   gpu-peak  bench/gpu_peak.py      the GPU's measured GEMM peak (cuBLAS fp32, TF32, bf16)
#   ops       bench/ops.sh cuda      every op against that machine's PyTorch, both in fp32
#                                    (no TF32), one round
#   model     bench/model.sh 2 cuda  the default network: ours at matmul precision highest,
#                                    high and medium against PyTorch eager fp32, TF32 and
#                                    bf16 autocast, forward at batch 1 and training steps at
#                                    batch 4, 16 and 32 (the GPU goal's), fastest of 2 runs
#   scaling   bench/scaling.sh cuda  time and GPU memory over batch 1–32 and input 224–768 (TF32)
# test/gpu/device-run.sh sources this file for the parts and their limits and
# runs the first three (device_bench_parts) as stages of their own: their
# limits (160 s) are its share of 5 minutes; scaling, ours alone, is left to
# a run by hand. By hand, on any machine with a GPU and a build:
#   bash bench/gpu.sh [part ...]     (every part by default)
# Logs go to $OUT/bench-<part>.log, JSON results to bench/results and $OUT (default /tmp).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bench_parts=(gpu-peak ops model scaling)
device_bench_parts=(gpu-peak ops model)
declare -A bench_limit_s=([gpu-peak]=15 [ops]=35 [model]=110 [scaling]=60)
# Command lines for `bash -c` (timeout runs programs, not shell functions).
declare -A bench_command=(
  [gpu-peak]='source bench/find_python.sh && "$python" bench/gpu_peak.py'
  [ops]='DMDLK_MATMUL_PRECISION=highest DMDLK_BENCH_ROUNDS=1 bash bench/ops.sh cuda'
  [model]='DMDLK_BENCH_TRAIN_BATCHES="4 16 32" bash bench/model.sh 2 cuda'
  [scaling]='bash bench/scaling.sh cuda'
)
# bench_copy_results MARKER DIR: the results written since MARKER was made, into DIR
# (within 10 s, like every stage of the device run).
bench_copy_results() {
  timeout -k 1 10 find bench/results -maxdepth 1 -type f -name '*-cuda.*' -newer "$1" -exec cp -L {} "$2/" \;
}
# Sourced, this file only defines the above.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

out=${OUT:-/tmp}
mkdir -p "$out"
started=$(mktemp)
trap 'rm -f "$started"' EXIT
status=0
for part in "${@:-${bench_parts[@]}}"; do
  if [ -z "${bench_command[$part]:-}" ]; then
    echo "no part '$part' (the parts: ${bench_parts[*]})" >&2
    status=1
    continue
  fi
  timeout -k 1 "${bench_limit_s[$part]}" bash -c "${bench_command[$part]}" < /dev/null 2>&1 | tee "$out/bench-$part.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
bench_copy_results "$started" "$out"
exit "$status"
