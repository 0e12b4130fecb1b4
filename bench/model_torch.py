"""The peer of bench/model_bench.cpp: the PyTorch reference model
(test/reference/dmdlk_model.py, torchvision's deform_conv2d) with the same
weights, the same task and threads, printing the same JSON.
    model_torch.py forward|train <checkpoint> [runs] [cpu|cuda] [fp32|tf32|bf16] [batch,batch,...]
One JSON line per batch size (default: 1 for forward, 4 for train), the
sizes in the order given; on CUDA each one's GPU memory is its own (the
allocator's peak reset between them), on the CPU the process's peak RSS
counts every size before it: give the CPU one size per process. On CUDA,
fp32 disables TF32 and bf16 runs under autocast (bf16 is for CUDA: PyTorch
1.13's CPU autocast fails in LayerNorm)."""
import gc
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "reference"))
from dmdlk_model import Config, DMDLKNet  # noqa: E402
from safetensors_io import load  # noqa: E402

task, checkpoint = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
device = torch.device(sys.argv[4] if len(sys.argv) > 4 else "cpu")
precision = sys.argv[5] if len(sys.argv) > 5 else "fp32"
torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
torch.set_num_threads(int(os.environ.get("DMDLK_NUM_THREADS", os.cpu_count())))
tensors, meta = load(checkpoint)
c = json.loads(meta["config"])
model = DMDLKNet(Config(in_channels=c["inChannels"], num_classes=c["numClasses"], input_size=c["inputSize"], stem=c["stem"],
                        widths=c["widths"], depths=c["depths"], blocks=c["blocks"], windows=c["windows"],
                        head_dim=c["headDim"], expansion=c["expansion"], se_ratio=c["seRatio"], offsets=c["offsets"],
                        select_kernel=c["selectKernel"]))
model.load_state_dict(tensors, strict=False)  # our checkpoints omit num_batches_tracked
model.to(device)
batches = [int(b) for b in sys.argv[6].split(",")] if len(sys.argv) > 6 else [4 if task == "train" else 1]
side = c["inputSize"]
autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
opt = torch.optim.Adam(model.parameters(), lr=1e-4)


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


def once(images, masks):
    if task == "forward":
        model.eval()
        with torch.no_grad(), autocast:
            model(images)
        sync()
        return
    model.train()
    opt.zero_grad(set_to_none=True)
    with autocast:
        loss = F.cross_entropy(model(images).float(), masks)
    loss.backward()
    opt.step()
    sync()


def steady_peak_reset():
    """Restarts the kernel's peak-RSS count (VmHWM), so the timed steps' peak excludes the warm-up."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def steady_peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0


def measure(batch):
    torch.manual_seed(1)
    images = torch.randn(batch, 3, side, side).to(device)
    masks = (images[:, 0] > 0.5).long()
    if device.type == "cuda":
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    once(images, masks)
    steady_peak_reset()
    once(images, masks)  # two warm-up steps, as bench/model_bench.cpp (its second is its first planned step)
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        once(images, masks)
        seconds.append(time.perf_counter() - t0)
    fastest = min(seconds)  # as bench/model_bench.cpp: other work on a shared machine only adds time
    steady = steady_peak_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu = torch.cuda.max_memory_reserved() / 2 ** 20 if device.type == "cuda" else 0
    print(json.dumps({"task": task, "batch": batch, "seconds": round(fastest, 3),
                      "images_per_second": round(batch / fastest, 3), "peak_rss_mb": round(peak),
                      "steady_rss_mb": round(steady), "gpu_mb": round(gpu)}), flush=True)


for batch in batches:
    measure(batch)
