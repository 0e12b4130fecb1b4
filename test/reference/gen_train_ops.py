"""Reference values for the losses and the Adam update, computed by PyTorch.
Run with Debian's PyTorch:

    /usr/bin/python3 test/reference/gen_train_ops.py

Writes test/fixtures/train_ops.safetensors in the layout of gen_foundation_ops.py;
targets are int32. The Dice loss follows ops/losses.h: 1 − mean over classes
c ≥ 1 of (2 Σ p_c t_c + 1) / (Σ p_c + Σ t_c + 1). Adam cases hold the
parameters after each of three steps ("p1", "p2", "p3") for given gradients.
"""
import json
import os

import torch
import torch.nn.functional as F

from safetensors_io import save

torch.manual_seed(20261201)
tensors, meta = {}, {}


def record(case, op, inputs, fn, **options):
    leaves = {k: (v.clone().requires_grad_(True) if v.is_floating_point() else v) for k, v in inputs.items()}
    y = fn(**leaves)
    dy = torch.tensor(0.7, dtype=y.dtype)
    y.backward(dy)
    for k, v in leaves.items():
        tensors[f"{case}.{k}"] = v.detach().to(torch.int32) if not v.is_floating_point() else v.detach()
        if v.is_floating_point():
            tensors[f"{case}.d{k}"] = v.grad
    tensors[f"{case}.y"] = y.detach()
    tensors[f"{case}.dy"] = dy
    meta[case] = json.dumps({"op": op, "inputs": list(inputs), **options})


def dice(logits, targets):
    p = torch.softmax(logits, 1)
    k = logits.shape[1]
    onehot = F.one_hot(targets, k).movedim(-1, 1).to(p.dtype)
    dims = [0] + list(range(2, logits.dim()))
    inter, total = (p * onehot).sum(dims), p.sum(dims) + onehot.sum(dims) + 1
    return 1 - ((2 * inter + 1) / total)[1:].mean()


for i, (b, k, h, w) in enumerate([(2, 2, 5, 7), (3, 4, 6, 5), (1, 2, 1, 1)]):
    logits, targets = torch.randn(b, k, h, w) * 2, torch.randint(0, k, (b, h, w))
    record(f"cross_entropy{i}", "cross_entropy", {"logits": logits, "targets": targets},
           lambda logits, targets: F.cross_entropy(logits, targets))
    record(f"dice{i}", "dice_loss", {"logits": logits, "targets": targets}, dice)

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

out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "train_ops.safetensors")
save(out, tensors, meta)
print(f"wrote {len(meta)} cases, {len(tensors)} tensors to {os.path.normpath(out)}")
