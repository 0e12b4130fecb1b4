"""Collects fixture cases for the op tests: for each case the inputs, a random
upstream gradient dy, the output y and every input's gradient (by autograd),
stored as "<case>.<name>" tensors, with the op and its options as JSON in the
metadata entry "<case>"."""
import json
import os

import torch

from safetensors_io import save


class Recorder:
    def __init__(self):
        self.tensors, self.meta = {}, {}

    def record(self, case, op, inputs, fn, extra=None, **options):
        """Runs fn(**inputs); `extra` tensors (state the op reads) are stored as they are."""
        leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        y = fn(**leaves)
        dy = torch.randn_like(y)
        y.backward(dy)
        for k, v in leaves.items():
            self.tensors[f"{case}.{k}"] = v.detach()
            self.tensors[f"{case}.d{k}"] = v.grad
        for k, v in (extra or {}).items():
            self.tensors[f"{case}.{k}"] = v.detach().clone()
        self.tensors[f"{case}.y"] = y.detach()
        self.tensors[f"{case}.dy"] = dy
        self.meta[case] = json.dumps({"op": op, "inputs": list(inputs), **options})

    def save(self, file):
        out = os.path.join(os.path.dirname(__file__), "..", "fixtures", file)
        save(out, self.tensors, self.meta)
        print(f"wrote {len(self.meta)} cases, {len(self.tensors)} tensors to {os.path.normpath(out)}")
