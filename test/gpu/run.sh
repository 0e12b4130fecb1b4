#!/usr/bin/env bash
# `npm run test:gpu`: every op on CUDA against the CPU, through the C++ core
# (test_gpu_parity, all ops) and through the addon (node's test runner). Both
# print "skipped: no GPU (reason)" where there is none.
set -uo pipefail
cd "$(dirname "$0")/../.."
export DMDLK_SOURCE_DIR=$PWD  # the test binaries' fixtures and op cases, wherever this checkout lies
status=0
build/test_gpu_parity
code=$?
if [ "$code" -ne 0 ] && [ "$code" -ne 77 ]; then status=1; fi
node --test dist/test/gpu/ || status=1
exit "$status"
