"""Reference values for deformable convolution (torchvision.ops.deform_conv2d),
forward and every gradient. Run with Debian's PyTorch and torchvision:

    /usr/bin/python3 test/reference/gen_deform_ops.py

Writes test/fixtures/deform_ops.safetensors in the layout of gen_foundation_ops.py.
Offsets are large enough that sampling points fall inside, on and beyond every
border; one case uses integer offsets, so points land exactly on pixels and on
the border lines.
"""
import torch
from torchvision.ops import deform_conv2d

from fixture_recorder import Recorder

torch.manual_seed(20261202)
recorder = Recorder()


def record(name, inputs, stride, padding, dilation, groups):
    recorder.record(name, "deform_conv2d", inputs,
                    lambda **t: deform_conv2d(t["x"], t["offset"], t["weight"], t.get("bias"), stride, padding, dilation,
                                              t.get("mask")),
                    stride=list(stride), padding=list(padding), dilation=list(dilation), groups=groups)


def case(name, n, cin, cout, h, w, k, stride, pad, dil, groups, offset_groups, mask, bias, offset_scale, integer=False):
    ho = (h + 2 * pad - dil * (k - 1) - 1) // stride + 1
    wo = (w + 2 * pad - dil * (k - 1) - 1) // stride + 1
    offset = torch.randn(n, 2 * offset_groups * k * k, ho, wo) * offset_scale
    if integer:
        offset = torch.round(offset)
    inputs = {"x": torch.randn(n, cin, h, w), "offset": offset, "weight": torch.randn(cout, cin // groups, k, k) * 0.3}
    if bias:
        inputs["bias"] = torch.randn(cout)
    if mask:
        inputs["mask"] = torch.rand(n, offset_groups * k * k, ho, wo)
    record(name, inputs, (stride, stride), (pad, pad), (dil, dil), groups)


case("ddlk_dlk1", 2, 4, 4, 9, 8, 5, 1, 2, 1, 4, 1, False, False, 2.0)     # DDLK's 5×5 depthwise
case("ddlk_dlk2", 1, 3, 3, 10, 11, 7, 1, 9, 3, 3, 1, False, False, 3.0)   # DDLK's 7×7, dilation 3
case("general", 2, 4, 6, 7, 9, 3, 2, 1, 1, 2, 2, True, True, 1.5)         # groups, offset groups, mask, stride
case("integer_offsets", 1, 2, 2, 6, 6, 3, 1, 1, 1, 1, 1, True, True, 2.0, integer=True)
case("dense", 1, 3, 5, 8, 7, 3, 1, 1, 2, 1, 3, True, False, 1.0)          # dense, 3 offset groups, dilation 2

recorder.save("deform_ops.safetensors")
