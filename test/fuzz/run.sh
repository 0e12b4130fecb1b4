#!/usr/bin/env bash
# Fuzzes the safetensors parser with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer (clang from Debian: apt-get install clang).
#   bash test/fuzz/run.sh [seconds]   (default 600)
# Seeds: every safetensors fixture. Findings land in test/fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
out=build/fuzz
mkdir -p "$out/corpus" test/fuzz/findings
cp test/fuzz/seeds/*.safetensors test/fixtures/*.safetensors "$out/corpus/"
sources=(native/cpp/io/safetensors.cpp native/cpp/io/json.cpp native/cpp/io/atomic_file.cpp native/cpp/core/tensor.cpp
  native/cpp/core/error.cpp native/cpp/core/dtype.cpp native/cpp/core/device.cpp native/cpp/core/host_allocator.cpp
  native/cpp/core/cuda_absent.cpp native/cpp/core/thread_pool.cpp native/cpp/core/cpu_features.cpp)
clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Inative/cpp \
  -DDMDLK_VERSION='"fuzz"' "${sources[@]}" test/fuzz/fuzz_safetensors.cpp -o "$out/fuzz_safetensors" -lpthread
"$out/fuzz_safetensors" "$out/corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
  -artifact_prefix=test/fuzz/findings/ -print_final_stats=1
