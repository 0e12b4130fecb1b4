#!/usr/bin/env bash
# Runs the GPU suite on the lent GPU machine (see the device tool's README),
# which has no Node and no network. Prepare here with test/gpu/pack-for-device.sh,
# then call the device tool with carry: [".device", "build", "dist"]
# and the command: bash test/gpu/device-run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p /tmp/node && xz -dc .device/node.xz > /tmp/node/node && chmod +x /tmp/node/node
export PATH=/tmp/node:$PATH
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
node -e "console.log(JSON.stringify(require('./dist/lib').info(), null, 1))"
bash test/gpu/run.sh 2>&1 | tee "${OUT:-/tmp}/gpu-parity.log"
