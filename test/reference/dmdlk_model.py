"""DMDLK-Net in PyTorch, written from docs/architecture.md: the
reference our engine is checked against. Its state_dict holds exactly the
names, order and shapes of a checkpoint (default-state.tsv for the default
configuration), so our checkpoints load here and its weights load in ours.

    from dmdlk_model import DMDLKNet, Config
    model = DMDLKNet(Config())            # or Config(widths=[...], ...)
"""
from dataclasses import dataclass, field
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import deform_conv2d


@dataclass
class Config:
    in_channels: int = 3
    num_classes: int = 2
    input_size: int = 448
    stem: int = 32
    widths: List[int] = field(default_factory=lambda: [32, 64, 128, 256])
    depths: List[int] = field(default_factory=lambda: [2, 3, 7, 2])
    blocks: List[str] = field(default_factory=lambda: ["mbconv", "mbconv", "moat", "moat"])
    windows: List[int] = field(default_factory=lambda: [14, 14, 0, 0])
    head_dim: int = 32
    expansion: int = 4
    se_ratio: float = 0.25
    offsets: str = "full"
    select_kernel: int = 1


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


def up2(x):
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class SE(nn.Module):
    def __init__(self, e, s):
        super().__init__()
        self.reduce, self.expand = nn.Conv2d(e, s, 1), nn.Conv2d(s, e, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.expand(F.silu(self.reduce(x.mean((2, 3), keepdim=True)))))


class MBConv(nn.Module):
    def __init__(self, cfg, cin, cout, stride, se):
        super().__init__()
        e = cfg.expansion * cout
        self.stride = stride
        self.pre_norm = bn(cin)
        self.expand = nn.Conv2d(cin, e, 1, bias=False)
        self.expand_norm = bn(e)
        self.dw = nn.Conv2d(e, e, 3, stride, 1, groups=e, bias=False)
        self.dw_norm = bn(e)
        if se:
            self.se = SE(e, max(1, int(cfg.se_ratio * cout)))
        self.project = nn.Conv2d(e, cout, 1)
        if cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        s = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False) if self.stride == 2 else x
        if hasattr(self, "shortcut"):
            s = self.shortcut(s)
        y = F.gelu(self.expand_norm(self.expand(self.pre_norm(x))))
        y = F.gelu(self.dw_norm(self.dw(y)))
        if hasattr(self, "se"):
            y = self.se(y)
        return s + self.project(y)


class Attention(nn.Module):
    def __init__(self, cfg, c, wh, ww):
        super().__init__()
        self.heads, self.wh, self.ww = c // cfg.head_dim, wh, ww
        self.scale = cfg.head_dim ** -0.5
        self.rel_pos = nn.Parameter(torch.zeros(self.heads, 2 * wh - 1, 2 * ww - 1))
        self.q, self.k, self.v, self.proj = (nn.Linear(c, c) for _ in range(4))
        for lin in (self.q, self.k, self.v, self.proj):
            nn.init.trunc_normal_(lin.weight, std=0.02)
            nn.init.zeros_(lin.bias)
        coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)
        self.register_buffer("rel", coords[:, None, :] - coords[:, :, None], persistent=False)

    def forward(self, x):  # x [B, C, H, W]
        b, c, h, w = x.shape
        wh, ww, heads, n = self.wh, self.ww, self.heads, self.wh * self.ww
        t = x.view(b, c, h // wh, wh, w // ww, ww).permute(0, 2, 4, 3, 5, 1).reshape(-1, n, c)
        split = lambda u: u.view(-1, n, heads, c // heads).transpose(1, 2)
        s = split(self.q(t) * self.scale) @ split(self.k(t)).transpose(-1, -2)
        s = s + self.rel_pos[:, self.rel[0] + wh - 1, self.rel[1] + ww - 1]
        o = (torch.softmax(s, -1) @ split(self.v(t))).transpose(1, 2).reshape(-1, n, c)
        o = self.proj(o)
        return o.view(b, h // wh, w // ww, wh, ww, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, h, w)


class MOAT(nn.Module):
    def __init__(self, cfg, cin, cout, stride, side, window):
        super().__init__()
        self.mbconv = MBConv(cfg, cin, cout, stride, se=False)
        self.attn_norm = nn.LayerNorm(cout, eps=1e-5)
        win = window if window > 0 else side
        self.attn = Attention(cfg, cout, win, win)

    def forward(self, x):
        x = self.mbconv(x)
        y = self.attn_norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return x + self.attn(y)


class Stage(nn.Module):
    def __init__(self, cfg, i, cin, side):
        super().__init__()
        cout, kind = cfg.widths[i], cfg.blocks[i]
        self.blocks = nn.ModuleList()
        for b in range(cfg.depths[i]):
            c_in, stride = (cin, 2) if b == 0 else (cout, 1)
            if kind == "mbconv":
                self.blocks.append(MBConv(cfg, c_in, cout, stride, se=True))
            else:
                self.blocks.append(MOAT(cfg, c_in, cout, stride, side, cfg.windows[i]))

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


class DeformableDepthwise(nn.Module):
    def __init__(self, cfg, c, k, dilation):
        super().__init__()
        self.k, self.dilation, self.pad = k, dilation, dilation * (k - 1) // 2
        self.weight = nn.Parameter(torch.empty(c, 1, k, k))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        if cfg.offsets == "light":
            self.offset_dw = nn.Conv2d(c, c, k, 1, self.pad, dilation, groups=c, bias=False)
            self.offset = nn.Conv2d(c, 2 * k * k, 1)
        else:
            self.offset = nn.Conv2d(c, 2 * k * k, k, 1, self.pad, dilation)
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)

    def forward(self, x):
        off = self.offset(self.offset_dw(x) if hasattr(self, "offset_dw") else x)
        return deform_conv2d(x, off, self.weight, None, 1, self.pad, self.dilation)


class DDLK(nn.Module):
    def __init__(self, cfg, c):
        super().__init__()
        self.dlk1 = DeformableDepthwise(cfg, c, 5, 1)
        self.dlk2 = DeformableDepthwise(cfg, c, 7, 3)
        self.select = nn.Conv2d(2, 2, cfg.select_kernel, padding=cfg.select_kernel // 2)

    def forward(self, g):
        m1 = self.dlk1(g)
        m2 = self.dlk2(m1)
        m = torch.cat([m1, m2], 1)
        s = torch.sigmoid(self.select(torch.cat([m.mean(1, keepdim=True), m.max(1, keepdim=True)[0]], 1)))
        return g + m1 * s[:, :1] + m2 * s[:, 1:]


class DMFF(nn.Module):
    def __init__(self, ca, cb, cout):
        super().__init__()
        c = ca + cb
        self.spatial1, self.spatial2 = nn.Conv2d(ca, 1, 1), nn.Conv2d(cb, 1, 1)
        self.query = nn.Conv2d(c, 1, 1, bias=False)
        self.value = nn.Conv2d(c, c // 2, 1, bias=False)
        self.restore = nn.Conv2d(c // 2, c, 1, bias=False)
        self.norm = nn.LayerNorm(c, eps=1e-5)
        self.out = nn.Conv2d(c, cout, 1, bias=False)

    def forward(self, g1, g2):
        ms = torch.sigmoid(self.spatial1(g1) + self.spatial2(g2))
        gc = torch.cat([g1, g2], 1)
        b, c, h, w = gc.shape
        q = torch.softmax(self.query(gc).view(b, 1, h * w), -1)       # [B, 1, HW]
        z = (self.value(gc).view(b, c // 2, h * w) * q).sum(-1)        # [B, C/2]
        wgt = torch.sigmoid(self.norm(self.restore(z[:, :, None, None]).view(b, c)))
        return ms * self.out(gc * wgt[:, :, None, None])


class Decoder(nn.Module):
    def __init__(self, cfg, ca, cb, cout):
        super().__init__()
        self.dmff, self.ddlk = DMFF(ca, cb, cout), DDLK(cfg, cout)

    def forward(self, g1, g2):
        return self.ddlk(self.dmff(g1, g2))


class DMDLKNet(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        c0, (c1, c2, c3, c4) = cfg.stem, cfg.widths
        s = cfg.input_size
        self.stem = nn.Module()
        self.stem.conv1 = nn.Conv2d(cfg.in_channels, c0, 3, 2, 1)
        self.stem.norm1 = bn(c0)
        self.stem.conv2 = nn.Conv2d(c0, c0, 3, 1, 1)
        self.level2 = Stage(cfg, 0, c0, s // 4)
        self.level3 = Stage(cfg, 1, c1, s // 8)
        self.level4 = Stage(cfg, 2, c2, s // 16)
        self.bottleneck = Stage(cfg, 3, c3, s // 32)
        self.bottleneck_up = nn.Module()
        self.bottleneck_up.conv = nn.Conv2d(c4, c3, 1, bias=False)
        self.bottleneck_up.norm = bn(c3)
        self.decoder4 = Decoder(cfg, c4 + c3 + c2, c3, c3)
        self.decoder3 = Decoder(cfg, c3 + c2 + c1, c3, c2)
        self.decoder2 = Decoder(cfg, c2 + c1 + c0, c2, c1)
        self.decoder1 = Decoder(cfg, c1 + c0, c1, c1)
        self.head = nn.Conv2d(c1, cfg.num_classes, 1)

    def forward(self, x):
        e1 = self.stem.conv2(F.gelu(self.stem.norm1(self.stem.conv1(x))))
        e2 = self.level2(e1)
        e3 = self.level3(e2)
        e4 = self.level4(e3)
        z = self.bottleneck(e4)
        zu = F.gelu(self.bottleneck_up.norm(self.bottleneck_up.conv(up2(z))))
        down = lambda t: F.max_pool2d(t, 2, 2)
        d4 = self.decoder4(torch.cat([up2(z), e4, down(e3)], 1), zu)
        d3 = self.decoder3(torch.cat([up2(e4), e3, down(e2)], 1), up2(d4))
        d2 = self.decoder2(torch.cat([up2(e3), e2, down(e1)], 1), up2(d3))
        d1 = self.decoder1(torch.cat([up2(e2), e1], 1), up2(d2))
        return up2(self.head(d1))

    def checkpoint_state(self):
        """The state_dict as a checkpoint holds it: no num_batches_tracked."""
        return {k: v for k, v in self.state_dict().items() if not k.endswith("num_batches_tracked")}
