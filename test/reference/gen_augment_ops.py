"""Reference values for the data transforms of native/cpp/data/augment.h:
the affine warp against grid_sample (border padding, align_corners=False),
the resize against F.interpolate, colour jitter against torchvision's
adjust_* functions and the blur against torchvision's gaussian_blur.
Cases are stored as "<case>.<name>" with {"op": ...} metadata, like the op
fixtures. Run: /usr/bin/python3 test/reference/gen_augment_ops.py"""
import json
import math
import os

import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

from safetensors_io import save

torch.manual_seed(20261129)
tensors, meta = {}, {}


def record(case, op, **named):
    for k, v in named.items():
        tensors[f"{case}.{k}"] = v
    meta[case] = json.dumps({"op": op})


def affine(angle_deg, scale, fx, fy, tx, ty, h, w):
    """The inverse map of draw_augments: output pixel -> input pixel."""
    a = math.radians(angle_deg)
    cx, cy, cs, sn = (w - 1) / 2, (h - 1) / 2, math.cos(a), math.sin(a)
    m00, m01, m10, m11 = fx * cs / scale, fx * sn / scale, -fy * sn / scale, fy * cs / scale
    return [m00, m01, cx - m00 * (cx + tx) - m01 * (cy + ty), m10, m11, cy - m10 * (cx + tx) - m11 * (cy + ty)]


def grid_for(matrices, h, w):
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    grids = []
    for m in matrices.double():
        sx = m[0] * xs + m[1] * ys + m[2]
        sy = m[3] * xs + m[4] * ys + m[5]
        grids.append(torch.stack(((2 * sx + 1) / w - 1, (2 * sy + 1) / h - 1), dim=-1))
    return torch.stack(grids).float()


# Warps: flips, rotations, zoom in and out, shifts that read far beyond the border.
h, w = 9, 11
matrices = torch.tensor([affine(0, 1, -1, 1, 0, 0, h, w), affine(31, 0.7, 1, -1, 2.5, -3.2, h, w),
                         affine(-75, 1.6, -1, -1, -6.0, 4.0, h, w),
                         [0.5, 0, 0.3, 0, 0.5, 1.2]], dtype=torch.float32)  # zoom: several outputs read one input
x = torch.rand(4, 3, h, w)
grid = grid_for(matrices, h, w)
record("warp_images", "warp_images", x=x, matrices=matrices,
       y=F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False))
masks = torch.randint(0, 4, (4, h, w), dtype=torch.uint8)
warped = F.grid_sample(masks[:, None].float(), grid, mode="nearest", padding_mode="border", align_corners=False)
record("warp_masks", "warp_masks", masks=masks, matrices=matrices, y=warped[:, 0].to(torch.int32))

# Resizes, down and up, to odd sizes.
small = torch.rand(2, 2, 7, 5)
record("resize_up", "resize_bilinear", x=small, y=F.interpolate(small, size=(13, 10), mode="bilinear", align_corners=False))
big = torch.rand(2, 3, 23, 17)
record("resize_down", "resize_bilinear", x=big, y=F.interpolate(big, size=(6, 9), mode="bilinear", align_corners=False))

# Colour jitter: brightness, contrast, saturation, hue in that order, per image.
img = torch.rand(3, 3, 8, 10)
img[0, :, :2, :2] = 0.5  # grey pixels: hue undefined
factors = torch.tensor([[1.3, 0.6, 1.4, 0.12], [0.7, 1.5, 0.5, -0.3], [1.0, 1.0, 0.0, 0.5]])
out = []
for i in range(3):
    b, c, s, hue = factors[i].tolist()
    y = TF.adjust_saturation(TF.adjust_contrast(TF.adjust_brightness(img[i], b), c), s)
    out.append(TF.adjust_hue(y, hue) if hue != 0 else y)
record("adjust_colour", "adjust_colour", x=img, factors=factors, y=torch.stack(out))

# Blur: two sigmas per batch, one image left alone.
img = torch.rand(3, 3, 14, 13)
sigmas = torch.tensor([0.8, 1.7, 0.0])
out = []
for i, sigma in enumerate(sigmas.tolist()):
    k = 2 * math.ceil(3 * sigma) + 1
    out.append(TF.gaussian_blur(img[i:i + 1], [k, k], [sigma, sigma])[0] if sigma > 0 else img[i])
record("gaussian_blur", "gaussian_blur", x=img, sigmas=sigmas, y=torch.stack(out))

path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "augment_ops.safetensors")
save(path, tensors, meta)
print(f"wrote {len(meta)} cases to {os.path.normpath(path)}")
