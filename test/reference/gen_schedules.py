"""Learning rates of fit's schedules as PyTorch's schedulers give them, per
optimizer step: test/fixtures/lr_schedules.json (read by test/js/schedule.test.ts).

Each schedule is a linear warm-up (LinearLR from 1/W to 1 over W steps) then,
through SequentialLR: constant, cosine (CosineAnnealingLR to 0 over the rest),
poly (PolynomialLR, power 0.9, over the rest) or step (StepLR, ×0.1 every
step_size steps). Run: python test/reference/gen_schedules.py
"""
import json
import os

import torch

CASES = [
    # name, base lr, epochs, steps per epoch, warm-up epochs, step every (epochs)
    ("constant", 1e-4, 6, 5, 0, 2),
    ("constant", 3e-4, 6, 5, 2, 2),
    ("cosine", 1e-3, 8, 7, 0, 2),
    ("cosine", 1e-3, 8, 7, 1, 2),
    ("poly", 1e-2, 5, 9, 0, 1),
    ("poly", 1e-2, 5, 9, 2, 1),
    ("step", 1e-3, 9, 4, 0, 3),
    ("step", 1e-3, 9, 4, 1, 2),
]


def rates(name, lr, epochs, steps, warmup_epochs, step_every):
    total, warmup = epochs * steps, warmup_epochs * steps
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    rest = total - warmup
    if name == "constant":
        main = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    elif name == "cosine":
        main = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=rest, eta_min=0.0)
    elif name == "poly":
        main = torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=rest, power=0.9)
    else:
        main = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_every * steps, gamma=0.1)
    if warmup > 0:
        ramp = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0, total_iters=warmup)
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [ramp, main], milestones=[warmup])
    else:
        scheduler = main
    out = []
    for _ in range(total):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


def main():
    cases = []
    for name, lr, epochs, steps, warmup, step_every in CASES:
        cases.append({"schedule": name, "lr": lr, "epochs": epochs, "stepsPerEpoch": steps, "warmupEpochs": warmup,
                      "stepEvery": step_every, "rates": rates(name, lr, epochs, steps, warmup, step_every)})
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "lr_schedules.json")
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
