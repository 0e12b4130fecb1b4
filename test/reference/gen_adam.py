"""Reference values of the Adam and AdamW updates, computed by torch.optim.Adam
and torch.optim.AdamW, and of clipping the gradients' global norm before them
(torch.nn.utils.clip_grad_norm_). Run with PyTorch:

    python test/reference/gen_adam.py

Writes test/fixtures/adam.safetensors: per case the starting parameters
"p0" (and "q0", a second tensor, where the gradients are clipped together),
three gradients "g1".."g3" ("h1".."h3") and the parameters after each step
"p1".."p3" ("q1".."q3"); its metadata holds lr, weight_decay, whether the
decay is decoupled (AdamW) and the clipping norm (0: none)."""
import json
import os

import torch

from safetensors_io import save

torch.manual_seed(20261201)
tensors, meta = {}, {}
CASES = [  # optimizer, weight decay, clipping norm
    ("adam", 0.0, 0.0), ("adam", 0.01, 0.0), ("adamw", 0.01, 0.0), ("adamw", 0.1, 0.0), ("adamw", 0.01, 1.5),
]
for i, (name, wd, clip) in enumerate(CASES):
    p0, grads = torch.randn(37), [torch.randn(37) for _ in range(3)]
    q0, qgrads = torch.randn(11), [3 * torch.randn(11) for _ in range(3)]
    p, q = p0.clone().requires_grad_(True), q0.clone().requires_grad_(True)
    optimizer = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    opt = optimizer([p, q], lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    tensors[f"adam{i}.p0"], tensors[f"adam{i}.q0"] = p0, q0
    for s, (g, h) in enumerate(zip(grads, qgrads), 1):
        p.grad, q.grad = g.clone(), h.clone()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_([p, q], clip)
        opt.step()
        tensors[f"adam{i}.g{s}"], tensors[f"adam{i}.h{s}"] = g, h
        tensors[f"adam{i}.p{s}"], tensors[f"adam{i}.q{s}"] = p.detach().clone(), q.detach().clone()
    meta[f"adam{i}"] = json.dumps({"op": "adam", "lr": 1e-2, "weight_decay": wd, "decoupled": name == "adamw",
                                   "clip": clip})

out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "adam.safetensors")
save(out, tensors, meta)
print(f"wrote {len(meta)} cases, {len(tensors)} tensors to {os.path.normpath(out)}")
