#!/usr/bin/env bash
# Everything the lent GPU machine should run, in one call (see the device
# tool's README): it has no Node and no network. Prepare here with
#   npm run build && bash test/gpu/pack-for-device.sh
# then call the device tool with carry: [".device", "build", "dist"] and the
# command: bash test/gpu/device-run.sh   (about 6 minutes; logs in $OUT)
#   1. info() and nvidia-smi
#   2. the CUDA-vs-CPU parity suites (every op; the addon's) and training on CUDA (fit, ERR_GPU_OOM)
#   3. bench/ops.sh cuda: every op against that machine's PyTorch
#   4. bench/model.sh 3 cuda: the default network against PyTorch fp32, TF32, bf16
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp}
mkdir -p /tmp/node && xz -dc .device/node.xz > /tmp/node/node && chmod +x /tmp/node/node
export PATH=/tmp/node:$PATH NODE_PATH=$PWD/.device/node_modules
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
node -e "console.log(JSON.stringify(require('./dist/lib').info(), null, 1))"
bash test/gpu/run.sh 2>&1 | tee "$out/gpu-parity.log"
timeout 150 bash bench/ops.sh cuda 2>&1 | tee "$out/bench-ops-cuda.log"
timeout 200 bash bench/model.sh 3 cuda 2>&1 | tee "$out/bench-model-cuda.log"
cp bench/results/*.json "$out/" 2>/dev/null || true
