"""The PyTorch reference values of every op case of test/op_cases.json that
names the 'torch' check: inputs drawn by the case's rules, the result y, an
upstream gradient dy, every operand's gradient (by autograd) and, for state
an op updates (BatchNorm's running statistics), its value after the call.
Run with Debian's PyTorch and torchvision:

    /usr/bin/python3 test/reference/gen_op_fixtures.py

Writes test/fixtures/op_cases.safetensors: tensors "<case>.<input>",
"<case>.y", "<case>.dy", "<case>.grad.<input>", "<case>.after.<input>", and
per case a metadata entry holding the case's JSON. Values are float32 (class
indices int32)."""
import json
import os
import zlib

import torch

from reference_ops import STATE, make_input, reference
from safetensors_io import save

here = os.path.dirname(__file__)
cases = json.load(open(os.path.join(here, "..", "op_cases.json")))["cases"]
tensors, meta = {}, {}
for case in cases:
    if "torch" not in case.get("checks", ["grad", "torch", "parity"]):
        continue
    name, op = case["name"], case["op"]
    generator = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    inputs = {k: make_input(spec, generator) for k, spec in case["inputs"].items()}
    for k, t in inputs.items():
        tensors[f"{name}.{k}"] = t.to(torch.int32) if not t.is_floating_point() else t.clone()
    state = STATE.get(op, ())
    leaves = {k: (t.clone().requires_grad_(True) if t.is_floating_point() and k not in state else t.clone())
              for k, t in inputs.items()}
    y = reference(op, leaves, case.get("attrs", {}))
    dy = torch.randn(y.shape, generator=generator)
    y.backward(dy)
    tensors[f"{name}.y"], tensors[f"{name}.dy"] = y.detach(), dy
    for k, t in leaves.items():
        if t.requires_grad:
            tensors[f"{name}.grad.{k}"] = t.grad
        elif k in state:
            tensors[f"{name}.after.{k}"] = t.clone()
    meta[name] = json.dumps(case)

out = os.path.join(here, "..", "fixtures", "op_cases.safetensors")
save(out, tensors, meta)
print(f"wrote {len(meta)} cases, {len(tensors)} tensors to {os.path.normpath(out)}")
