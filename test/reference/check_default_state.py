"""Checks the reference model against the checkpoint contract: the default
configuration's state holds exactly default-state.tsv's names, in order, with
its shapes, and 5,385,150 trained parameters; a forward pass runs.

    /usr/bin/python3 test/reference/check_default_state.py ../shared/design/default-state.tsv
"""
import sys

import torch

from dmdlk_model import Config, DMDLKNet

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
model = DMDLKNet(Config())
state = model.checkpoint_state()
names = list(state)
expected = [r[0] for r in rows]
assert names == expected, next((f"{i}: {a} != {b}" for i, (a, b) in enumerate(zip(names, expected)) if a != b),
                               f"{len(names)} names, expected {len(expected)}")
for name, shape, _ in rows:
    got = "x".join(map(str, state[name].shape))
    assert got == shape, f"{name}: {got} != {shape}"
params = sum(p.numel() for p in model.parameters())
assert params == 5385150, params
with torch.no_grad():
    y = model.eval()(torch.randn(1, 3, 448, 448))
assert y.shape == (1, 2, 448, 448), y.shape
print(f"ok: {len(names)} tensors in order with their shapes, {params} parameters, logits {tuple(y.shape)}")
