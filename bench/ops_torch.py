"""The peer of bench/ops_bench.cpp: the same cases in PyTorch (torchvision for
deformable convolution; on the CPU, numpy's OpenBLAS for plain GEMM), on the
same device (argv[2]: cpu or cuda) and, on the CPU, with the same number of
threads, printing one JSON object per case. CUDA runs use fp32 without TF32."""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import deform_conv2d

threads = int(os.environ.get("DMDLK_NUM_THREADS", os.cpu_count()))
torch.set_num_threads(threads)
torch.manual_seed(1)
device = torch.device(sys.argv[2] if len(sys.argv) > 2 else "cpu")
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
_randn = torch.randn


torch.randn = lambda *shape, **kw: _randn(*shape, device=device, **kw)


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


def fwd_bwd(make_inputs, fn):
    inputs = [t.requires_grad_(True) for t in make_inputs()]
    y = fn(*inputs)
    dy = torch.randn_like(y)
    forward_ms = time_ms(lambda: fn(*[t.detach() for t in inputs]))
    # The backward alone, as ours is timed: the graph of one forward, kept
    # (retain_graph) and differentiated again and again. (Timing forward +
    # backward and subtracting the forward gave 0 for small ops on a noisy run.)
    backward_ms = time_ms(lambda: torch.autograd.grad(y, inputs, dy, retain_graph=True))
    return forward_ms, backward_ms


def run(c):
    op = c["op"]
    if op == "gemm" and device.type == "cuda":
        a, b = torch.randn(c["m"], c["k"]), torch.randn(c["k"], c["n"])
        y = a @ b
        return time_ms(lambda: a @ b), time_ms(lambda: (y @ b.T, a.T @ y))
    if op == "gemm":
        a = np.random.randn(c["m"], c["k"]).astype(np.float32)
        b = np.random.randn(c["k"], c["n"]).astype(np.float32)
        y = a @ b
        return time_ms(lambda: a @ b), time_ms(lambda: (y @ b.T, a.T @ y))
    if op == "conv2d":
        s, p, d, g = c["stride"], c["pad"], c["dil"], c["groups"]
        return fwd_bwd(lambda: [torch.randn(c["x"]), torch.randn(c["w"]) * 0.1, torch.randn(c["w"][0])],
                       lambda x, w, b: F.conv2d(x, w, b, s, p, d, g))
    if op == "deform_conv2d":
        n, ch, h, w = c["x"]
        k, p, d = c["k"], c["pad"], c["dil"]
        return fwd_bwd(lambda: [torch.randn(c["x"]), torch.randn(n, 2 * k * k, h, w) * 2, torch.randn(ch, 1, k, k) * 0.1],
                       lambda x, off, wt: deform_conv2d(x, off, wt, None, (1, 1), (p, p), (d, d)))
    if op == "attention":
        wins, wh, ww, ch, heads = c["windows"], c["wh"], c["ww"], c["c"], c["heads"]
        n, dh = wh * ww, ch // heads
        coords = torch.stack(torch.meshgrid(torch.arange(wh, device=device), torch.arange(ww, device=device),
                                            indexing="ij")).flatten(1)
        rel = coords[:, None, :] - coords[:, :, None]

        def attention(q, k, v, table):
            split = lambda t: t.view(wins, n, heads, dh).transpose(1, 2)
            s = dh ** -0.5 * split(q) @ split(k).transpose(-1, -2) + table[:, rel[0] + wh - 1, rel[1] + ww - 1]
            return (torch.softmax(s, -1) @ split(v)).transpose(1, 2).reshape(wins, n, ch)

        return fwd_bwd(lambda: [torch.randn(wins, n, ch) for _ in range(3)] + [torch.randn(heads, 2 * wh - 1, 2 * ww - 1)],
                       attention)
    x = lambda: [torch.randn(c["x"])]
    if op == "batch_norm":
        ch = c["x"][1]
        rm, rv = torch.zeros(ch, device=device), torch.ones(ch, device=device)
        return fwd_bwd(lambda: x() + [torch.randn(ch), torch.randn(ch)],
                       lambda t, w, b: F.batch_norm(t, rm, rv, w, b, True, 0.1, 1e-5))
    if op == "layer_norm":
        ch = c["x"][1]
        return fwd_bwd(lambda: x() + [torch.randn(ch), torch.randn(ch)],
                       lambda t, w, b: F.layer_norm(t.permute(0, 2, 3, 1), (ch,), w, b).permute(0, 3, 1, 2))
    if op == "gelu":
        return fwd_bwd(x, F.gelu)
    if op == "upsample":
        return fwd_bwd(x, lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False))
    if op == "max_pool":
        return fwd_bwd(x, lambda t: F.max_pool2d(t, 2, 2))
    if op == "avg_pool":
        return fwd_bwd(x, lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False))
    if op == "channel_max":
        return fwd_bwd(x, lambda t: t.max(1, keepdim=True)[0])
    if op == "channel_mean":
        return fwd_bwd(x, lambda t: t.mean(1, keepdim=True))
    if op == "global_avg_pool":
        return fwd_bwd(x, lambda t: t.mean((2, 3), keepdim=True))
    if op == "mul":
        return fwd_bwd(lambda: x() + [torch.randn(c["y"])], torch.mul)
    if op == "window_partition":
        b, ch, h, w = c["x"]
        k = c["window"]
        return fwd_bwd(x, lambda t: t.view(b, ch, h // k, k, w // k, k).permute(0, 2, 4, 3, 5, 1).reshape(-1, k * k, ch))
    if op == "softmax":
        return fwd_bwd(x, lambda t: torch.softmax(t, -1))
    raise ValueError(op)


for case in json.load(open(sys.argv[1])):
    fwd, bwd = run(case)
    print(json.dumps({"name": case["name"], "forward_ms": round(fwd, 3), "backward_ms": round(bwd, 3)}), flush=True)
