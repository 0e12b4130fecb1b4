"""Reference values for windowed multi-head attention with the relative-position
bias of architecture.md, forward and every gradient, computed by PyTorch:

    /usr/bin/python3 test/reference/gen_attention_ops.py

Writes test/fixtures/attention_ops.safetensors in the layout of
gen_foundation_ops.py: inputs q, k, v [W, N, C] (already projected) and rel_pos.
"""
import json
import os

import torch

from safetensors_io import save

torch.manual_seed(20261203)
tensors, meta = {}, {}


def attention(q, k, v, rel_pos, wh, ww, heads, scale):
    w, n, c = q.shape
    d = c // heads
    split = lambda t: t.view(w, n, heads, d).transpose(1, 2)  # [W, heads, N, D]
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)  # [2, N]
    rel = coords[:, None, :] - coords[:, :, None]  # rel[:, query, key] = key − query
    bias = rel_pos[:, rel[0] + wh - 1, rel[1] + ww - 1]  # [heads, N, N]
    s = scale * split(q) @ split(k).transpose(-1, -2) + bias
    return (torch.softmax(s, -1) @ split(v)).transpose(1, 2).reshape(w, n, c)


for i, (w, wh, ww, c, heads) in enumerate([(3, 2, 3, 8, 2), (2, 3, 2, 6, 1), (2, 4, 4, 64, 2), (1, 7, 7, 32, 1)]):
    scale = (c // heads) ** -0.5
    inputs = {"q": torch.randn(w, wh * ww, c), "k": torch.randn(w, wh * ww, c), "v": torch.randn(w, wh * ww, c),
              "rel_pos": torch.randn(heads, 2 * wh - 1, 2 * ww - 1)}
    leaves = {k: t.clone().requires_grad_(True) for k, t in inputs.items()}
    y = attention(leaves["q"], leaves["k"], leaves["v"], leaves["rel_pos"], wh, ww, heads, scale)
    dy = torch.randn_like(y)
    y.backward(dy)
    case = f"attention{i}"
    for k, t in leaves.items():
        tensors[f"{case}.{k}"] = t.detach()
        tensors[f"{case}.d{k}"] = t.grad
    tensors[f"{case}.y"], tensors[f"{case}.dy"] = y.detach(), dy
    meta[case] = json.dumps({"op": "attention", "window": [wh, ww], "heads": heads, "scale": repr(scale)})

out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "attention_ops.safetensors")
save(out, tensors, meta)
print(f"wrote {len(meta)} cases, {len(tensors)} tensors to {os.path.normpath(out)}")
