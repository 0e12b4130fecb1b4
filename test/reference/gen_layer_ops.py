"""Reference values for activations, softmax and normalisation, forward and
backward, computed by PyTorch. Run with Debian's PyTorch:

    /usr/bin/python3 test/reference/gen_layer_ops.py

Writes test/fixtures/layer_ops.safetensors in the layout of gen_foundation_ops.py.
BatchNorm cases also record the running statistics before ("running_mean",
"running_var") and after ("new_running_mean", "new_running_var") the step.
"""
import torch
import torch.nn.functional as F

from fixture_recorder import Recorder

torch.manual_seed(20261129)
recorder = Recorder()
record = recorder.record


for name, fn in [("gelu", F.gelu), ("silu", F.silu), ("sigmoid", torch.sigmoid)]:
    for i, shape in enumerate([(2, 3, 5, 7), (1, 129)]):
        record(f"{name}{i}", name, {"x": torch.randn(*shape) * 3}, lambda x: fn(x))

for i, shape in enumerate([(4, 7), (2, 3, 1), (3, 2, 257)]):
    record(f"softmax{i}", "softmax", {"x": torch.randn(*shape) * 2}, lambda x: torch.softmax(x, -1))
# Over H·W, as DMFF's channel branch does: [N, 1, H, W] viewed as [N, 1, H·W].
record("softmax_hw", "softmax", {"x": torch.randn(2, 1, 9 * 11)}, lambda x: torch.softmax(x, -1))

for i, (shape, training) in enumerate([((4, 6, 5, 7), True), ((2, 3, 9, 9), True), ((3, 5, 4, 6), False), ((2, 8, 1, 1), True)]):
    c = shape[1]
    rm, rv = torch.randn(c) * 0.1, torch.rand(c) + 0.5
    bn = {"running_mean": rm.clone(), "running_var": rv.clone()}

    def run(x, weight, bias, rm=rm, rv=rv, training=training):
        return F.batch_norm(x, rm, rv, weight, bias, training, 0.1, 1e-5)

    record(f"batch_norm{i}", "batch_norm", {"x": torch.randn(*shape) * 2 + 1, "weight": torch.randn(c), "bias": torch.randn(c)},
           run, extra=bn, training=training)
    recorder.tensors[f"batch_norm{i}.new_running_mean"] = rm.clone()
    recorder.tensors[f"batch_norm{i}.new_running_var"] = rv.clone()

for i, shape in enumerate([(2, 6, 5, 7), (1, 32, 3, 4)]):
    c = shape[1]
    record(f"layer_norm_channels{i}", "layer_norm_channels",
           {"x": torch.randn(*shape) + 0.5, "weight": torch.randn(c), "bias": torch.randn(c)},
           lambda x, weight, bias: F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), weight, bias, 1e-5).permute(0, 3, 1, 2))
for i, shape in enumerate([(5, 16), (2, 3, 7)]):
    c = shape[-1]
    record(f"layer_norm_last{i}", "layer_norm_last", {"x": torch.randn(*shape), "weight": torch.randn(c), "bias": torch.randn(c)},
           lambda x, weight, bias: F.layer_norm(x, (x.shape[-1],), weight, bias, 1e-5))

recorder.save("layer_ops.safetensors")
