"""The PyTorch (and torchvision) reference of every op of the registry,
by the name of its OpDef: reference(op, inputs, attrs) -> the op's result.
inputs maps the case's input names (in the op's order, test/op_cases.json)
to tensors; attrs is the case's attribute object. gen_op_fixtures.py records
these as the fixtures every op is compared with, and bench/ops_torch.py times
them beside ours."""
import torch
import torch.nn.functional as F


def _pair(v):
    return list(v) if isinstance(v, (list, tuple)) else [v, v]


def conv2d(t, a):
    y = F.conv2d(t["x"], t["weight"], t.get("bias"), _pair(a.get("stride", 1)), _pair(a.get("padding", 0)),
                 _pair(a.get("dilation", 1)), a.get("groups", 1))
    return y + t["residual"] if a.get("residual", False) else y


def deform_conv2d(t, a):
    from torchvision.ops import deform_conv2d as tv_deform
    return tv_deform(t["x"], t["offset"], t["weight"], t.get("bias"), tuple(_pair(a.get("stride", 1))),
                     tuple(_pair(a.get("padding", 0))), tuple(_pair(a.get("dilation", 1))), t.get("mask"))


ACTIVATIONS = {"gelu": F.gelu, "silu": F.silu, "sigmoid": torch.sigmoid, "identity": lambda x: x}


def activation(t, a):
    return ACTIVATIONS[a["kind"]](t["x"])


def batch_norm(t, a):
    # running_mean and running_var are updated in place, as ours are; the
    # activation after the normalisation, as the op's attribute says.
    y = F.batch_norm(t["x"], t["running_mean"], t["running_var"], t["weight"], t["bias"], a.get("training", True), 0.1, 1e-5)
    return ACTIVATIONS[a.get("activation", "identity")](y)


def layer_norm(t, a):
    x = t["x"]
    if a["axis"] == "last":
        return F.layer_norm(x, (x.shape[-1],), t["weight"], t["bias"], 1e-5)
    return F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), t["weight"], t["bias"], 1e-5).permute(0, 3, 1, 2)


def attention(t, a):
    """MOAT's window attention with its relative-position bias (docs/configuration.md)."""
    q, k, v, rel_pos = t["q"], t["k"], t["v"], t["rel_pos"]
    (wh, ww), heads = a["window"], a["heads"]
    w, n, c = q.shape
    d = c // heads
    scale = a["scale"]
    split = lambda x: x.reshape(w, n, heads, d).transpose(1, 2)  # [W, heads, N, D]
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)  # [2, N]
    rel = coords[:, None, :] - coords[:, :, None]  # rel[:, query, key] = key − query
    bias = rel_pos[:, rel[0] + wh - 1, rel[1] + ww - 1]  # [heads, N, N]
    s = scale * split(q) @ split(k).transpose(-1, -2) + bias
    return (torch.softmax(s, -1) @ split(v)).transpose(1, 2).reshape(w, n, c)


def window_partition(x, wh, ww):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // wh, wh, w // ww, ww).permute(0, 2, 4, 3, 5, 1).reshape(-1, wh * ww, c)


def window_merge(tokens, image, wh, ww):
    b, c, h, w = image
    return tokens.reshape(b, h // wh, w // ww, wh, ww, c).permute(0, 5, 1, 3, 2, 4).reshape(b, c, h, w)


def dice_loss(logits, targets):
    """1 − the mean over classes c ≥ 1 of (2 Σ p_c t_c + 1) / (Σ p_c + Σ t_c + 1) (ops/losses.h)."""
    p = torch.softmax(logits, 1)
    k = logits.shape[1]
    onehot = F.one_hot(targets, k).movedim(-1, 1).to(p.dtype)
    dims = [0] + list(range(2, logits.dim()))
    inter, total = (p * onehot).sum(dims), p.sum(dims) + onehot.sum(dims) + 1
    return 1 - ((2 * inter + 1) / total)[1:].mean()


OPS = {
    "add": lambda t, a: t["a"] + t["b"],
    "mul": lambda t, a: t["a"] * t["b"],
    "matmul": lambda t, a: t["a"] @ t["b"],
    "linear": lambda t, a: F.linear(t["x"], t["weight"], t.get("bias")),
    "conv2d": conv2d,
    "deform_conv2d": deform_conv2d,
    "activation": activation,
    "softmax": lambda t, a: torch.softmax(t["x"], -1),
    "batch_norm": batch_norm,
    "layer_norm": layer_norm,
    "attention": attention,
    "avg_pool2d": lambda t, a: F.avg_pool2d(t["x"], a["kernel"], a["stride"], a.get("padding", 0), count_include_pad=False),
    "max_pool2d": lambda t, a: F.max_pool2d(t["x"], a["kernel"], a["stride"]),
    "global_avg_pool": lambda t, a: t["x"].mean((2, 3), keepdim=True),
    "channel_mean": lambda t, a: t["x"].mean(1, keepdim=True),
    "channel_max": lambda t, a: t["x"].max(1, keepdim=True)[0],
    "channel_pool": lambda t, a: torch.cat([t["x"].mean(1, keepdim=True), t["x"].max(1, keepdim=True)[0]], 1),
    "upsample2x": lambda t, a: F.interpolate(t["x"], scale_factor=2, mode="bilinear", align_corners=False),
    "concat": lambda t, a: torch.cat(list(t.values()), 1),
    "slice": lambda t, a: t["x"][:, a["begin"]:a["end"]],
    "reshape": lambda t, a: t["x"].reshape(a["shape"]),
    "window_partition": lambda t, a: window_partition(t["x"], *a["window"]),
    "window_merge": lambda t, a: window_merge(t["tokens"], a["image"], *a["window"]) + (t["residual"] if a.get("residual") else 0),
    "cross_entropy": lambda t, a: F.cross_entropy(t["logits"], t["targets"]),
    "dice_loss": lambda t, a: dice_loss(t["logits"], t["targets"]),
}

# Inputs that are state the op reads (and may update), not operands with a gradient.
STATE = {"batch_norm": ("running_mean", "running_var")}


def reference(op, inputs, attrs):
    return OPS[op](inputs, attrs)


def make_input(spec, generator, device="cpu", dtype=torch.float32):
    """An input as test/op_cases.json describes it (the C++ side draws its own with the same rules)."""
    if isinstance(spec, list):
        spec = {"shape": spec}
    shape, init = spec["shape"], spec.get("init", "normal")
    scale, shift = spec.get("scale", 1.0), spec.get("shift", 0.0)
    randn = lambda: torch.randn(*shape, generator=generator).to(device=device, dtype=dtype)
    if init == "classes":
        return torch.randint(0, spec["classes"], shape, generator=generator).to(device)
    if init == "positive":
        return (torch.rand(*shape, generator=generator) + 0.5).to(device=device, dtype=dtype)
    if init == "unit":
        return torch.rand(*shape, generator=generator).to(device=device, dtype=dtype)
    if init == "ties":
        return torch.round(randn() * 2) / 2
    if init == "integer":
        return torch.round(randn() * scale)
    return randn() * scale + shift
