#!/usr/bin/env bash
# Everything the lent GPU machine runs, in one call of the device tool, which
# copies the working tree there and carries the ignored paths asked for. It has
# no Node and no network. Prepare here with
#   npm run build && npm run build:tests && bash test/gpu/pack-for-device.sh
# then call the device tool with carry [".device", "dist"], timeout_s 330 and
# the command: bash test/gpu/device-run.sh
# The stages, in order, each under its own time limit in seconds:
#   unpack          10  Node, the addon, the C++ binaries and the ONNX exports out of .device/
#   info            10  the GPUs nvidia-smi lists, and the addon's info()
#   gpu-parity      35  the C++ CUDA-vs-CPU parity suite of every op (build/test_gpu_parity)
#   addon-gpu       45  the addon's GPU tests: parity, training on CUDA, ERR_GPU_OOM (dist/test/gpu/)
#   onnx-check      10  onnx.checker on the ONNX exports (test/reference/check_onnx.py)
#   bench-<part>   160  bench/gpu.sh's device parts: GEMM peak 15, ops 35, model 110
#                       (training at batch 4, 16 and 32 against PyTorch)
# 270 s, plus at most 1 s each to die after the limit's TERM, 10 s of probes and
# 11 s to copy the results: within 5 minutes, so that a rerun fits a session's
# 15 minutes of device time.
# Without a GPU the GPU stages say "no GPU: skipped <stage>", and onnx-check
# skips where Python's onnx is missing; a stage that fails or runs out of time
# does not stop the later ones. Each stage's output goes to stdout and to
# $OUT/<stage>.log, the benchmarks' results to $OUT, and a table of each
# stage's status and seconds to $OUT/summary.txt, printed last. Exit status 1
# if a stage failed or ran out of time.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/dmdlk-device-run}
mkdir -p "$out"
source bench/gpu.sh  # device_bench_parts, bench_limit_s, bench_command, bench_copy_results
started=$(mktemp)
trap 'rm -f "$started"' EXIT
# The tree is a fresh copy there: Node and the binaries come out of .device/
# into build/, as the scripts and the addon's loader expect them (run in a
# checkout, this replaces its build's binaries with the packed ones).
export PATH=$PWD/build/bin:$PATH NODE_PATH=$PWD/.device/node_modules
# Where the test binaries find their fixtures and op cases.
export DMDLK_SOURCE_DIR=$PWD

# Probed once, each within 5 s: the reason to skip its stages, or nothing.
gpus=$(timeout 5 nvidia-smi -L 2>/dev/null | grep '^GPU ')
export gpus
no_gpu=
[ -n "$gpus" ] || no_gpu="no GPU"
no_onnx=
timeout 5 python3 -c 'import onnx' 2>/dev/null || no_onnx="python onnx not installed"

# Stages that are shell functions run in a child bash, since timeout runs programs.
unpack() {
  local packed target
  for packed in $(find .device -type f -name '*.xz' | sort); do
    target=${packed#.device/}
    target=${target%.xz}
    mkdir -p "$(dirname "$target")" && xz -T0 -dc "$packed" > "$target" || return 1
    [[ $target == build/onnx/* ]] || chmod +x "$target"
    echo "$target: $(stat -c %s "$target") bytes"
  done
}
device_info() {
  echo "node: $(command -v node) $(node --version)"
  if [ -n "$gpus" ]; then
    echo "$gpus"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || return 1
  fi
  node -e "console.log(JSON.stringify(require('./dist/lib').info(), null, 1))"
}
export -f unpack device_info

summary=$(printf '%-16s %-10s %7s %7s  %s' stage status seconds limit note)
failed=0
# stage NAME LIMIT_S SKIP_REASON COMMAND...: COMMAND under its time limit, or,
# where SKIP_REASON is not empty, a line saying why it is skipped.
stage() {
  local name=$1 limit=$2 skip=$3 start=$SECONDS status note= line
  shift 3
  echo "== $name (limit $limit s)"
  if [ -n "$skip" ]; then
    echo "$skip: skipped $name" | tee "$out/$name.log"
    status=skipped note=$skip
  else
    timeout -k 1 "$limit" "$@" < /dev/null 2>&1 | tee "$out/$name.log"
    case ${PIPESTATUS[0]} in
      0) status=ok ;;
      # 77, automake's "skipped": test_gpu_parity where CUDA finds no usable GPU.
      77) status=skipped note="skipped itself (see $name.log)" ;;
      124 | 137) status="timed out" failed=1 ;;
      *) status=failed failed=1 ;;
    esac
  fi
  line=$(printf '%-16s %-10s %7d %7d  %s' "$name" "$status" $((SECONDS - start)) "$limit" "$note")
  summary+=$'\n'${line%"  "}
}

stage unpack 10 "" bash -c unpack
stage info 10 "" bash -c device_info
stage gpu-parity 35 "$no_gpu" build/test_gpu_parity
stage addon-gpu 45 "$no_gpu" node --test dist/test/gpu/
stage onnx-check 10 "$no_onnx" bash -c 'python3 test/reference/check_onnx.py build/onnx/*.onnx'
for part in "${device_bench_parts[@]}"; do
  stage "bench-$part" "${bench_limit_s[$part]}" "$no_gpu" bash -c "${bench_command[$part]}"
done
bench_copy_results "$started" "$out"

echo "$summary" | tee "$out/summary.txt"
exit "$failed"
