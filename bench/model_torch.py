"""The peer of bench/model_bench.cpp: the PyTorch reference model
(test/reference/dmdlk_model.py, torchvision's deform_conv2d) with the same
weights, the same task and threads, printing the same JSON."""
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
torch.set_num_threads(int(os.environ.get("DMDLK_NUM_THREADS", os.cpu_count())))
tensors, meta = load(checkpoint)
c = json.loads(meta["config"])
model = DMDLKNet(Config(in_channels=c["inChannels"], num_classes=c["numClasses"], input_size=c["inputSize"], stem=c["stem"],
                        widths=c["widths"], depths=c["depths"], blocks=c["blocks"], windows=c["windows"],
                        head_dim=c["headDim"], expansion=c["expansion"], se_ratio=c["seRatio"], offsets=c["offsets"],
                        select_kernel=c["selectKernel"]))
model.load_state_dict(tensors, strict=False)  # our checkpoints omit num_batches_tracked
batch, side = (4 if task == "train" else 1), c["inputSize"]
torch.manual_seed(1)
images = torch.randn(batch, 3, side, side)
masks = (images[:, 0] > 0.5).long()
opt = torch.optim.Adam(model.parameters(), lr=1e-4)


def once():
    if task == "forward":
        model.eval()
        with torch.no_grad():
            model(images)
        return
    model.train()
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(images), masks).backward()
    opt.step()


once()
seconds = []
for _ in range(runs):
    t0 = time.perf_counter()
    once()
    seconds.append(time.perf_counter() - t0)
median = sorted(seconds)[len(seconds) // 2]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"task": task, "seconds": round(median, 3), "images_per_second": round(batch / median, 3),
                  "peak_rss_mb": round(peak)}))
