"""Reference values for the foundation ops (add, mul, matmul, linear, conv2d),
forward and backward, computed by PyTorch. Run with Debian's PyTorch:

    /usr/bin/python3 test/reference/gen_foundation_ops.py

Writes test/fixtures/foundation_ops.safetensors: for each case, tensors named
"<case>.<operand>" (inputs, the upstream gradient dy, the output y and every
input gradient d<operand>) and a metadata entry "<case>" holding the op and its
options as JSON. Values are float32; shapes include odd sizes and batch > 1.
"""
import torch
import torch.nn.functional as F

from fixture_recorder import Recorder

torch.manual_seed(20261128)
recorder = Recorder()
record = recorder.record


def r(*shape):
    return torch.randn(*shape)


# Broadcasting element-wise ops.
for i, (sa, sb) in enumerate([((2, 3, 5, 7), (2, 3, 5, 7)), ((2, 3, 5, 7), (3, 1, 1)), ((4, 1, 6), (5, 1)),
                              ((7,), (3, 7)), ((1, 4, 1, 3), (2, 1, 5, 1))]):
    record(f"add{i}", "add", {"a": r(*sa), "b": r(*sb)}, lambda a, b: a + b)
    record(f"mul{i}", "mul", {"a": r(*sa), "b": r(*sb)}, lambda a, b: a * b)

# Matrix products: batched, shared operands, odd sizes, and sizes past one GEMM panel.
for i, (sa, sb) in enumerate([((5, 7), (7, 3)), ((3, 4, 9), (3, 9, 6)), ((2, 3, 13, 17), (17, 11)),
                              ((19, 5), (2, 5, 8)), ((70, 300), (300, 45))]):
    record(f"matmul{i}", "matmul", {"a": r(*sa), "b": r(*sb)}, lambda a, b: a @ b)

for i, (sx, out, bias) in enumerate([((4, 10), 6, True), ((2, 5, 33), 17, False), ((3, 1, 2, 64), 96, True)]):
    inputs = {"x": r(*sx), "weight": r(out, sx[-1]) * 0.2}
    if bias:
        inputs["bias"] = r(out)
    record(f"linear{i}", "linear", inputs, lambda **t: F.linear(t["x"], t["weight"], t.get("bias")))

# Convolutions of every form the network uses, and some it does not.
conv_cases = [
    # (N, Cin, H, W), Cout, k, stride, pad, dilation, groups, bias
    ((2, 3, 17, 15), 8, 3, 2, 1, 1, 1, True),     # the stem
    ((2, 8, 9, 11), 8, 3, 1, 1, 1, 1, False),
    ((3, 6, 8, 7), 4, 1, 1, 0, 1, 1, True),       # 1×1
    ((2, 12, 11, 9), 12, 3, 1, 1, 1, 12, False),  # depthwise
    ((2, 12, 12, 13), 12, 3, 2, 1, 1, 12, False), # depthwise, stride 2
    ((1, 6, 23, 21), 98, 7, 1, 9, 3, 1, True),    # offset predictor: 7×7, dilation 3
    ((2, 4, 13, 12), 50, 5, 1, 2, 1, 1, True),    # offset predictor: 5×5
    ((2, 8, 10, 9), 6, 3, 1, 2, 2, 2, True),      # grouped, dilated
    ((1, 2, 9, 9), 2, 7, 1, 3, 1, 1, True),       # the selectKernel 7 gate
    ((2, 5, 8, 9), 3, (3, 2), (2, 1), (1, 0), (1, 2), 1, True),  # non-square everything
]
for i, (sx, cout, k, stride, pad, dil, groups, bias) in enumerate(conv_cases):
    kh, kw = (k, k) if isinstance(k, int) else k
    inputs = {"x": r(*sx), "weight": r(cout, sx[1] // groups, kh, kw) * 0.3}
    if bias:
        inputs["bias"] = r(cout)
    pair = lambda v: [v, v] if isinstance(v, int) else list(v)
    record(f"conv2d{i}", "conv2d", inputs,
           lambda **t: F.conv2d(t["x"], t["weight"], t.get("bias"), stride, pad, dil, groups),
           stride=pair(stride), padding=pair(pad), dilation=pair(dil), groups=groups)

recorder.save("foundation_ops.safetensors")
