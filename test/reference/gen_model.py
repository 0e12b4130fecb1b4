"""Whole-network reference values from the PyTorch model of docs/architecture.md
(dmdlk_model.py) on tiny configurations: for each configuration, its
parameters, a batch of images and masks, the evaluation-mode logits, and in
training mode the loss (mean softmax cross-entropy), every parameter's
gradient and the BatchNorm running statistics after the step. Run with
Debian's PyTorch:

    /usr/bin/python3 test/reference/gen_model.py

Writes test/fixtures/model_<name>.safetensors (and, for tiny_default, its
untouched PyTorch state_dict as pytorch_state_dict.safetensors): "param.<name>" (the checkpoint
state before the step), "grad.<name>", "after.<buffer>", "images", "masks",
"eval_logits", "train_logits", "loss"; the configuration as JSON in the
metadata under "config".
"""
import json
import os

import torch
import torch.nn.functional as F

from dmdlk_model import Config, DMDLKNet
from safetensors_io import save

CONFIGS = {
    # The default block kinds (MBConv, MBConv, MOAT, MOAT) with global attention.
    "tiny_default": Config(input_size=64, stem=8, widths=[8, 16, 16, 32], depths=[1, 1, 2, 1], head_dim=8),
    # Windowed attention in every stage, light offsets, a 7×7 gate.
    "tiny_windows": Config(input_size=64, stem=8, widths=[8, 16, 16, 16], depths=[1, 2, 1, 1],
                           blocks=["moat", "moat", "moat", "moat"], windows=[4, 2, 0, 0], head_dim=8,
                           offsets="light", select_kernel=7),
}


def camel(cfg):
    return {"inChannels": cfg.in_channels, "numClasses": cfg.num_classes, "inputSize": cfg.input_size,
            "stem": cfg.stem, "widths": cfg.widths, "depths": cfg.depths, "blocks": cfg.blocks,
            "windows": cfg.windows, "headDim": cfg.head_dim, "expansion": cfg.expansion, "seRatio": cfg.se_ratio,
            "offsets": cfg.offsets, "selectKernel": cfg.select_kernel}


for name, cfg in CONFIGS.items():
    torch.manual_seed(7)
    model = DMDLKNet(cfg)
    # Non-zero offset convs, attention biases and running statistics, so that
    # every path carries signal (the default initialisation zeroes them).
    with torch.no_grad():
        for key, t in model.named_parameters():
            if "offset" in key or "rel_pos" in key:
                t.normal_(0, 0.05)
        for key, t in model.named_buffers():
            if key.endswith("running_mean"):
                t.normal_(0, 0.1)
            elif key.endswith("running_var"):
                t.uniform_(0.5, 1.5)
    tensors = {f"param.{k}": v.clone() for k, v in model.checkpoint_state().items()}
    if name == "tiny_default":
        # A checkpoint as PyTorch users write one: the whole state_dict
        # (num_batches_tracked included), no configuration in the metadata.
        save(os.path.join(os.path.dirname(__file__), "..", "fixtures", "pytorch_state_dict.safetensors"),
             model.state_dict())
    images = torch.randn(2, cfg.in_channels, cfg.input_size, cfg.input_size)
    masks = (torch.randn(2, cfg.input_size, cfg.input_size) > 0.3).to(torch.int32)
    with torch.no_grad():
        tensors["eval_logits"] = model.eval()(images)
    model.train()
    logits = model(images)
    loss = F.cross_entropy(logits, masks.long())
    loss.backward()
    tensors.update({"images": images, "masks": masks, "train_logits": logits.detach(), "loss": loss.detach()})
    for k, p in model.named_parameters():
        tensors[f"grad.{k}"] = p.grad
    for k, b in model.checkpoint_state().items():
        if k.endswith(("running_mean", "running_var")):
            tensors[f"after.{k}"] = b.clone()
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", f"model_{name}.safetensors")
    save(out, tensors, {"config": json.dumps(camel(cfg))})
    params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {params} parameters, loss {loss.item():.4f}, {len(tensors)} tensors -> {os.path.normpath(out)}")
