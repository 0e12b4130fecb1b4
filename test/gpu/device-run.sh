#!/usr/bin/env bash
# Everything the lent GPU machine should run, in one call (see the device
# tool's README): it has no Node and no network. Prepare here with
#   npm run build && bash test/gpu/pack-for-device.sh
# then call the device tool with carry: [".device", "build", "dist"] and the
# command: bash test/gpu/device-run.sh   (about 6 minutes; logs in $OUT)
#   1. info() and nvidia-smi
#   2. the CUDA-vs-CPU parity suites (every op; the addon's) and training on CUDA (fit, ERR_GPU_OOM)
#   3. onnx.checker on the ONNX files pack-for-device.sh exported
#   4. bench/gpu.sh: every op, the default network (PyTorch fp32, TF32, bf16)
#      and the scaling study on the GPU
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp}
mkdir -p /tmp/node && xz -dc .device/node.xz > /tmp/node/node && chmod +x /tmp/node/node
export PATH=/tmp/node:$PATH NODE_PATH=$PWD/.device/node_modules
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
node -e "console.log(JSON.stringify(require('./dist/lib').info(), null, 1))"
bash test/gpu/run.sh 2>&1 | tee "$out/gpu-parity.log"
python3 test/reference/check_onnx.py .device/onnx/*.onnx 2>&1 | tee "$out/onnx-check.log"
OUT=$out bash bench/gpu.sh
