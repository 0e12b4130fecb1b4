"""The peer of bench/ops_bench.cpp: the same cases of test/op_cases.json (those
that name a bench row, at the network's shapes), through the PyTorch reference
of each op (test/reference/reference_ops.py: PyTorch, torchvision for the
deformable convolution), on the same device (argv[1]: cpu or cuda) and, on
the CPU, with the same number of threads, printing one JSON object per case.
CUDA runs use fp32 without TF32."""
import json
import os
import sys
import time
import zlib

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "test", "reference"))
from reference_ops import STATE, make_input, reference  # noqa: E402

threads = int(os.environ.get("DMDLK_NUM_THREADS", os.cpu_count()))
torch.set_num_threads(threads)
device = torch.device(sys.argv[1] if len(sys.argv) > 1 else "cpu")
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_ms(body):
    body()
    sync()
    runs, start = [], time.perf_counter()
    while len(runs) < 3 or (len(runs) < 25 and time.perf_counter() - start < 1.0):
        t0 = time.perf_counter()
        body()
        sync()
        runs.append((time.perf_counter() - t0) * 1000)
    return min(runs)  # the least disturbed run, as bench/ops_bench.cpp


def measure(case):
    op, attrs = case["op"], case.get("network_attrs", case.get("attrs", {}))
    generator = torch.Generator().manual_seed(zlib.crc32(case["name"].encode()))
    inputs = {k: make_input(spec, generator, device) for k, spec in case["network"].items()}
    state = STATE.get(op, ())
    leaves = {k: (t.requires_grad_(True) if t.is_floating_point() and k not in state else t) for k, t in inputs.items()}
    with torch.no_grad():
        forward_ms = time_ms(lambda: reference(op, leaves, attrs))
    y = reference(op, leaves, attrs)
    dy = torch.randn_like(y)
    operands = [t for t in leaves.values() if t.requires_grad]
    # The backward alone, as ours is timed: the graph of one forward, kept
    # (retain_graph) and differentiated again and again.
    backward_ms = time_ms(lambda: torch.autograd.grad(y, operands, dy, retain_graph=True))
    return forward_ms, backward_ms


cases = json.load(open(os.path.join(here, "..", "test", "op_cases.json")))["cases"]
for case in cases:
    if "bench" not in case:
        continue
    fwd, bwd = measure(case)
    print(json.dumps({"name": case["bench"], "forward_ms": round(fwd, 3), "backward_ms": round(bwd, 3)}), flush=True)
