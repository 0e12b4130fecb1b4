"""Reference values for pooling, upsampling and layout ops, forward and
backward, computed by PyTorch. Run with Debian's PyTorch:

    /usr/bin/python3 test/reference/gen_shape_ops.py

Writes test/fixtures/shape_ops.safetensors in the layout of gen_foundation_ops.py.
Inputs of the max cases are rounded to halves so that ties occur: PyTorch's
CPU kernels give the gradient to the first maximum, and so must we.
"""
import torch
import torch.nn.functional as F

from fixture_recorder import Recorder

torch.manual_seed(20261130)
recorder = Recorder()
record = recorder.record


def ties(*shape):
    return torch.round(torch.randn(*shape) * 2) / 2


for i, shape in enumerate([(2, 3, 9, 7), (1, 2, 8, 8), (1, 1, 2, 3)]):
    record(f"avg_pool{i}", "avg_pool2d", {"x": torch.randn(*shape)},
           lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), kernel=3, stride=2, padding=1)
for i, shape in enumerate([(2, 3, 8, 6), (1, 2, 7, 9)]):
    record(f"max_pool{i}", "max_pool2d", {"x": ties(*shape)}, lambda x: F.max_pool2d(x, 2, 2), kernel=2, stride=2)
record("global_avg_pool0", "global_avg_pool", {"x": torch.randn(2, 5, 7, 3)}, lambda x: x.mean((2, 3), keepdim=True))
record("channel_mean0", "channel_mean", {"x": torch.randn(2, 6, 5, 4)}, lambda x: x.mean(1, keepdim=True))
record("channel_max0", "channel_max", {"x": ties(2, 6, 5, 4)}, lambda x: x.max(1, keepdim=True)[0])
for i, shape in enumerate([(2, 3, 5, 7), (1, 2, 1, 3), (1, 1, 4, 4)]):
    record(f"upsample{i}", "upsample2x", {"x": torch.randn(*shape)},
           lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
record("concat0", "concat_channels", {"a": torch.randn(2, 3, 4, 5), "b": torch.randn(2, 1, 4, 5), "c": torch.randn(2, 4, 4, 5)},
       lambda a, b, c: torch.cat([a, b, c], 1))
record("slice0", "slice_channels", {"x": torch.randn(2, 7, 3, 3)}, lambda x: x[:, 2:5], begin=2, end=5)
record("permute0", "permute", {"x": torch.randn(2, 3, 4, 5)}, lambda x: x.permute(0, 2, 3, 1), perm=[0, 2, 3, 1])
for i, (shape, wh, ww) in enumerate([((2, 3, 4, 6), 2, 3), ((1, 8, 14, 14), 7, 7)]):
    b, c, h, w = shape
    record(f"window_partition{i}", "window_partition", {"x": torch.randn(*shape)},
           lambda x: x.view(b, c, h // wh, wh, w // ww, ww).permute(0, 2, 4, 3, 5, 1).reshape(-1, wh * ww, c),
           window=[wh, ww])

recorder.save("shape_ops.safetensors")
