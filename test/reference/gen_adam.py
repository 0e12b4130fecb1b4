"""Reference values of the Adam update, computed by torch.optim.Adam. Run
with Debian's PyTorch:

    /usr/bin/python3 test/reference/gen_adam.py

Writes test/fixtures/adam.safetensors: per case the starting parameters
"p0", three gradients "g1".."g3" and the parameters after each step
"p1".."p3"; its metadata holds lr and weight_decay."""
import json
import os

import torch

from safetensors_io import save

torch.manual_seed(20261201)
tensors, meta = {}, {}
for i, wd in enumerate([0.0, 0.01]):
    p0, grads = torch.randn(37), [torch.randn(37) for _ in range(3)]
    p = p0.clone().requires_grad_(True)
    opt = torch.optim.Adam([p], lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    tensors[f"adam{i}.p0"] = p0
    for s, g in enumerate(grads, 1):
        p.grad = g.clone()
        opt.step()
        tensors[f"adam{i}.g{s}"] = g
        tensors[f"adam{i}.p{s}"] = p.detach().clone()
    meta[f"adam{i}"] = json.dumps({"op": "adam", "lr": 1e-2, "weight_decay": wd})

out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "adam.safetensors")
save(out, tensors, meta)
print(f"wrote {len(meta)} cases, {len(tensors)} tensors to {os.path.normpath(out)}")
