"""The GPU's measured matrix peak, the denominator of "the share of the GPU's
peak that the model's matrix work reaches": PyTorch's own large square GEMMs
(cuBLAS) in fp32, TF32 and bf16, best of 10 after a warm-up. Prints one JSON
line: TFLOP/s per precision.
    gpu_peak.py [size]"""
import json
import sys

import torch

size = int(sys.argv[1]) if len(sys.argv) > 1 else 8192
peaks = {}
for precision, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True), ("bf16", torch.bfloat16, False)):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    a = torch.randn(size, size, device="cuda", dtype=dtype)
    b = torch.randn(size, size, device="cuda", dtype=dtype)
    torch.matmul(a, b)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(10):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch.matmul(a, b)
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end) / 1e3)
    peaks[precision] = 2 * size**3 / best / 1e12
print(json.dumps({"gpu": torch.cuda.get_device_name(), "size": size, "tflops": peaks}))
